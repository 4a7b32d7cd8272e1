//! Aggregate reports as large providers mail them (testdata/dmarc, written by generate.py in
//! their formats, compressed by Python's gzip and zipfile modules).

use std::net::IpAddr;
use std::path::PathBuf;

use dmarc::Error;
use dmarc::report::{
    AlignmentType, DispositionType, DkimResultType, DmarcResultType, Feedback, MAX_REPORT_SIZE,
    PolicyOverrideType, SpfDomainScope, SpfResultType, parse_file, parse_message, parse_xml,
};

fn testdata(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dmarc").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn sources(f: &Feedback) -> Vec<(IpAddr, u64)> {
    f.records.iter().map(|r| (r.row.source_ip, r.row.count)).collect()
}

#[test]
fn google_zip_is_the_whole_message() {
    let f = parse_message(&testdata("google-zip.eml")).unwrap();
    assert_eq!(f.version, None);
    let m = &f.report_metadata;
    assert_eq!(m.org_name, "google.com");
    assert_eq!(m.email, "noreply-dmarc-support@google.com");
    assert_eq!(
        m.extra_contact_info.as_deref(),
        Some("https://support.google.com/a/answer/2466580")
    );
    assert_eq!(m.report_id, "4312886219372894610");
    assert_eq!((m.date_range.begin, m.date_range.end), (1703721600, 1703807999));
    let p = &f.policy_published;
    assert_eq!(p.domain, "example.com");
    assert_eq!(p.adkim, Some(AlignmentType::Relaxed));
    assert_eq!(p.aspf, Some(AlignmentType::Relaxed));
    assert_eq!(p.p, DispositionType::Reject);
    assert_eq!(p.sp, Some(DispositionType::Reject));
    assert_eq!(p.pct, Some(100));
    assert_eq!(
        sources(&f),
        [(ip("192.0.2.25"), 14), (ip("2001:db8:4860:4864:20::25"), 3), (ip("203.0.113.66"), 1)]
    );
    // Google puts the selector after the result.
    let dkim = &f.records[0].auth_results.dkim[0];
    assert_eq!(dkim.domain, "example.com");
    assert_eq!(dkim.selector.as_deref(), Some("2023a"));
    assert_eq!(dkim.result, DkimResultType::Pass);
    // A record without DKIM results.
    let spoof = &f.records[2];
    assert!(spoof.auth_results.dkim.is_empty());
    assert_eq!(spoof.auth_results.spf[0].result, SpfResultType::Softfail);
    assert_eq!(spoof.row.policy_evaluated.disposition, DispositionType::Reject);
    assert_eq!(spoof.identifiers.envelope_from, None);
    // The same zip as a file.
    assert_eq!(
        parse_file(&testdata("google.com!example.com!1703721600!1703807999.zip")).unwrap(),
        f
    );
}

#[test]
fn microsoft_gzip_after_nested_multiparts() {
    let f = parse_message(&testdata("microsoft-gzip.eml")).unwrap();
    assert_eq!(f.version.as_deref(), Some("1.0"));
    assert_eq!(f.report_metadata.org_name, "Outlook.com");
    assert_eq!(f.policy_published.p, DispositionType::Quarantine);
    assert_eq!(f.policy_published.sp, Some(DispositionType::None));
    assert_eq!(f.policy_published.pct, Some(50));
    assert_eq!(f.policy_published.fo.as_deref(), Some("1"));
    assert_eq!(sources(&f), [(ip("2001:db8:a0b:12f0::1"), 2), (ip("198.51.100.7"), 5)]);
    let r = &f.records[1];
    assert_eq!(r.identifiers.envelope_to.as_deref(), Some("hotmail.com"));
    assert_eq!(r.identifiers.envelope_from.as_deref(), Some("bounce.esp.example"));
    assert_eq!(r.identifiers.header_from, "news.example.com");
    assert_eq!(r.row.policy_evaluated.reasons.len(), 1);
    assert_eq!(r.row.policy_evaluated.reasons[0].kind, PolicyOverrideType::SampledOut);
    let dkim: Vec<_> =
        r.auth_results.dkim.iter().map(|d| (d.domain.as_str(), d.result.clone())).collect();
    assert_eq!(
        dkim,
        [("esp.example", DkimResultType::Pass), ("news.example.com", DkimResultType::Fail)]
    );
    assert_eq!(r.auth_results.spf[0].scope, Some(SpfDomainScope::MailFrom));
}

#[test]
fn yahoo_gzip_after_text() {
    let f = parse_message(&testdata("yahoo-gzip.eml")).unwrap();
    assert_eq!(f.report_metadata.org_name, "Yahoo");
    assert_eq!(f.report_metadata.report_id, "1703776532.412988");
    assert_eq!(f.policy_published.adkim, Some(AlignmentType::Strict));
    // Yahoo leaves out sp and fo.
    assert_eq!(f.policy_published.sp, None);
    assert_eq!(f.policy_published.fo, None);
    assert_eq!(sources(&f), [(ip("192.0.2.25"), 7), (ip("2001:db8::2:1"), 1)]);
    // Strict DKIM alignment: mail.example.com passed DKIM but not DMARC's dkim.
    assert_eq!(f.records[1].row.policy_evaluated.dkim, DmarcResultType::Fail);
    assert_eq!(f.records[1].auth_results.dkim[0].result, DkimResultType::Pass);
    assert_eq!(
        parse_file(&testdata("yahoo.com!example.com!1703635200!1703721599.xml.gz")).unwrap(),
        f
    );
}

#[test]
fn fastmail_plain_xml_with_dmarcbis_elements() {
    let f = parse_message(&testdata("fastmail-xml.eml")).unwrap();
    assert_eq!(f.report_metadata.org_name, "Fastmail Pty Ltd");
    assert_eq!(f.policy_published.sp, Some(DispositionType::Quarantine));
    assert_eq!(sources(&f), [(ip("2001:db8:c0de::25"), 4), (ip("192.0.2.99"), 2)]);
    let reason = &f.records[0].row.policy_evaluated.reasons[0];
    assert_eq!(reason.kind, PolicyOverrideType::LocalPolicy);
    assert_eq!(reason.comment.as_deref(), Some("arc=pass as.1.lists.example.org=pass"));
    // An empty human_result is absent.
    assert_eq!(f.records[0].auth_results.dkim[0].human_result, None);
    assert_eq!(f.records[0].auth_results.dkim.len(), 2);
    assert_eq!(f.records[1].row.policy_evaluated.disposition, DispositionType::Quarantine);
}

#[test]
fn rfc7489_appendix_b5() {
    let f = parse_message(&testdata("rfc7489-appendix-b5.eml")).unwrap();
    assert_eq!(f.report_metadata.org_name, "mail.receiver.example");
    assert_eq!(f.report_metadata.report_id, "2002.02.15.1");
    let range = f.report_metadata.date_range;
    assert_eq!((range.begin, range.end), (1013662812, 1013749130));
    let dkim = &f.records[0].auth_results.dkim[0];
    assert_eq!(dkim.human_result.as_deref(), Some("body hash mismatch"));
    assert_eq!(parse_xml(&testdata("rfc7489-appendix-b5.xml")).unwrap(), f);
    assert_eq!(parse_file(&testdata("rfc7489-appendix-b5.xml")).unwrap(), f);
}

#[test]
fn messages_without_a_report() {
    assert_eq!(parse_message(&testdata("no-report.eml")), Err(Error::NoReport));
    assert_eq!(parse_message(b"From: <a@example.com>\r\n\r\nNo report.\r\n"), Err(Error::NoReport));
    assert_eq!(parse_message(b""), Err(Error::NoReport));
    // An octet-stream that is not a report.
    let msg = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n";
    assert_eq!(parse_message(msg), Err(Error::NoReport));
}

#[test]
fn broken_attachment_gives_its_error() {
    // A gzip attachment cut short.
    let eml = String::from_utf8(testdata("yahoo-gzip.eml")).unwrap();
    let start = eml.find("H4sI").unwrap();
    let end = eml.find("\r\n\r\n--_----------=_1703776532412988--").unwrap();
    let broken = format!("{}{}", &eml[..start + 40], &eml[end..]);
    match parse_message(broken.as_bytes()) {
        Err(Error::Decompress { format: "gzip", .. }) => {}
        other => panic!("{other:?}"),
    }
    // An octet-stream content type with a zip inside: recognized by content.
    let eml = String::from_utf8(testdata("google-zip.eml"))
        .unwrap()
        .replace("application/zip", "application/octet-stream");
    assert_eq!(parse_message(eml.as_bytes()).unwrap().report_metadata.org_name, "google.com");
}

#[test]
fn decompression_is_bounded() {
    use std::io::Write;
    // 21 MiB of whitespace inside a report compresses to about 21 KiB.
    let mut xml = b"<feedback>".to_vec();
    xml.resize(21 * 1024 * 1024, b' ');
    xml.extend(b"</feedback>");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&xml).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() < 100 * 1024);
    assert_eq!(parse_file(&gz), Err(Error::ReportTooLarge { limit: MAX_REPORT_SIZE }));
    assert_eq!(parse_xml(&xml), Err(Error::ReportTooLarge { limit: MAX_REPORT_SIZE }));
}
