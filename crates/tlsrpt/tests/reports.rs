//! Reports from RFC 8460 and in the shapes Google and Microsoft send (testdata/tlsrpt/).
// Test helpers outside #[test] functions panic on failure like the tests do.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use tlsrpt::{
    AppliedPolicy, DateRange, DateTime, Error, FailureDetails, MAX_REPORT_SIZE, PolicyResult,
    PolicyType, Report, ResultType, Summary,
};

fn testdata(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tlsrpt").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

/// parse → JSON → parse gives the same report, compact and indented.
fn assert_round_trip(report: &Report) {
    assert_eq!(&Report::parse(report.to_json().as_bytes()).unwrap(), report);
    assert_eq!(&Report::parse(report.to_json_pretty().as_bytes()).unwrap(), report);
}

#[test]
fn rfc8460_appendix_b() {
    let report = Report::parse(&testdata("rfc8460-appendix-b.json")).unwrap();
    assert_eq!(report.organization_name, "Company-X");
    assert_eq!(report.date_range.start.to_string(), "2016-04-01T00:00:00Z");
    assert_eq!(
        report.date_range.end.unix_timestamp() - report.date_range.start.unix_timestamp(),
        86399
    );
    assert_eq!(report.contact_info, "sts-reporting@company-x.example");
    assert_eq!(report.report_id, "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
    assert_eq!(report.policies.len(), 1);
    let result = &report.policies[0];
    assert_eq!(
        result.policy,
        AppliedPolicy {
            policy_type: PolicyType::Sts,
            policy_string: vec![
                "version: STSv1".into(),
                "mode: testing".into(),
                "mx: *.mail.company-y.example".into(),
                "max_age: 86400".into()
            ],
            policy_domain: "company-y.example".into(),
            // A single string in the RFC's example, an array since erratum 6241.
            mx_host: vec!["*.mail.company-y.example".into()],
        }
    );
    assert_eq!(
        result.summary,
        Summary { total_successful_session_count: 5326, total_failure_session_count: 303 }
    );
    assert_eq!(
        result.failure_details,
        [
            FailureDetails {
                result_type: ResultType::CertificateExpired,
                sending_mta_ip: ip("2001:db8:abcd:12::1"),
                receiving_mx_hostname: Some("mx1.mail.company-y.example".into()),
                receiving_mx_helo: None,
                receiving_ip: None,
                failed_session_count: 100,
                additional_information: None,
                failure_reason_code: None,
            },
            FailureDetails {
                result_type: ResultType::StarttlsNotSupported,
                sending_mta_ip: ip("2001:db8:abcd:13::1"),
                receiving_mx_hostname: Some("mx2.mail.company-y.example".into()),
                receiving_mx_helo: None,
                receiving_ip: ip("203.0.113.56"),
                failed_session_count: 200,
                additional_information: Some(
                    "https://reports.company-x.example/report_info ? id = 5065427 c - 23 d3# StarttlsNotSupported ".into()
                ),
                failure_reason_code: None,
            },
            FailureDetails {
                result_type: ResultType::ValidationFailure,
                sending_mta_ip: ip("198.51.100.62"),
                receiving_mx_hostname: Some("mx-backup.mail.company-y.example".into()),
                receiving_mx_helo: None,
                receiving_ip: ip("203.0.113.58"),
                failed_session_count: 3,
                additional_information: None,
                failure_reason_code: Some("X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED".into()),
            },
        ]
    );
    // The failure counts add up as the RFC's text says: 100 + 200 + 3.
    let failed: u64 = result.failure_details.iter().map(|f| f.failed_session_count).sum();
    assert_eq!(failed, result.summary.total_failure_session_count);
    assert_round_trip(&report);
    // Written back, mx-host is an array.
    assert!(report.to_json().contains(r#""mx-host":["*.mail.company-y.example"]"#));
}

#[test]
fn google_success_without_mx_host_or_failure_details() {
    let report = Report::parse(&testdata("google-sts-success.json")).unwrap();
    assert_eq!(report.organization_name, "Google Inc.");
    assert_eq!(report.contact_info, "smtp-tls-reporting@google.com");
    let result = &report.policies[0];
    assert_eq!(result.policy.policy_type, PolicyType::Sts);
    assert!(result.policy.mx_host.is_empty());
    assert!(result.failure_details.is_empty());
    assert_eq!(result.summary.total_successful_session_count, 42);
    assert_round_trip(&report);
}

#[test]
fn google_gzipped_multiple_policies_with_ipv6() {
    let data = testdata("google-multiple-policies-ipv6.json.gz");
    let report = Report::parse_gzip(&data).unwrap();
    assert_eq!(Report::parse_any(&data).unwrap(), report);
    assert_eq!(report.policies.len(), 2);
    let sts = &report.policies[0];
    assert_eq!(sts.policy.policy_string[3], "mx: *.backup.example.org");
    assert_eq!(sts.failure_details[0].result_type, ResultType::CertificateHostMismatch);
    assert_eq!(sts.failure_details[0].sending_mta_ip, ip("2001:db8:4860:4864:20::2a"));
    assert_eq!(sts.failure_details[0].receiving_ip, ip("2001:db8:1::25"));
    let none = &report.policies[1];
    assert_eq!(none.policy.policy_type, PolicyType::NoPolicyFound);
    assert!(none.policy.policy_string.is_empty());
    assert_eq!(none.policy.policy_domain, "lists.example.org");
    assert_eq!(
        none.failure_details[0].failure_reason_code.as_deref(),
        Some("tls handshake: remote error: tls: protocol version not supported")
    );
    assert_round_trip(&report);
}

#[test]
fn microsoft_dates_without_offset_and_every_optional_field() {
    let report = Report::parse(&testdata("microsoft-no-offset-failures.json")).unwrap();
    assert_eq!(report.organization_name, "Microsoft Corporation");
    assert_eq!(report.report_id, "133545600000000000+example.org");
    // Taken as UTC.
    assert_eq!(report.date_range.start, "2024-03-10T00:00:00Z".parse::<DateTime>().unwrap());
    let result = &report.policies[0];
    assert_eq!(result.policy.mx_host, ["mail.example.org", "mx2.example.org"]);
    let first = &result.failure_details[0];
    assert_eq!(first.result_type, ResultType::CertificateExpired);
    assert_eq!(first.receiving_mx_helo.as_deref(), Some("mx2.example.org"));
    assert_eq!(
        first.additional_information.as_deref(),
        Some("https://tlsrpt.example.com/info?id=abc")
    );
    assert_eq!(first.failure_reason_code.as_deref(), Some("CertificateExpired"));
    assert_eq!(first.sending_mta_ip, ip("2a01:111:f403:2e08::700"));
    assert_eq!(result.failure_details[1].result_type, ResultType::StsWebpkiInvalid);
    assert_round_trip(&report);
    // Written back with an offset, as RFC 3339 requires.
    assert!(report.to_json().contains(r#""start-datetime":"2024-03-10T00:00:00Z""#));
}

#[test]
fn microsoft_gzipped_dane_and_sts() {
    let report = Report::parse_any(&testdata("microsoft-dane-and-sts.json.gz")).unwrap();
    assert_eq!(report.policies[0].policy.policy_type, PolicyType::Tlsa);
    assert_eq!(report.policies[0].failure_details[0].result_type, ResultType::TlsaInvalid);
    assert_eq!(report.policies[1].policy.policy_type, PolicyType::Sts);
    assert!(report.policies[1].failure_details.is_empty());
    assert_round_trip(&report);
}

#[test]
fn generated_report_has_the_rfc_shape() {
    let report = Report {
        organization_name: "mox-rs".into(),
        date_range: DateRange {
            start: DateTime::from_unix_timestamp(1710028800).unwrap(),
            end: DateTime::from_unix_timestamp(1710028800 + 86399).unwrap(),
        },
        contact_info: "postmaster@mail.example.com".into(),
        report_id: "20240310.example.org@mail.example.com".into(),
        policies: vec![PolicyResult {
            policy: AppliedPolicy {
                policy_type: PolicyType::Sts,
                policy_string: vec![
                    "version: STSv1".into(),
                    "mode: enforce".into(),
                    "mx: mail.example.org".into(),
                    "max_age: 86400".into(),
                ],
                policy_domain: "example.org".into(),
                mx_host: vec!["mail.example.org".into()],
            },
            summary: Summary { total_successful_session_count: 1, total_failure_session_count: 1 },
            failure_details: vec![FailureDetails {
                result_type: ResultType::Other("future-result".into()),
                sending_mta_ip: ip("2001:db8::25"),
                receiving_mx_hostname: Some("mail.example.org".into()),
                receiving_mx_helo: None,
                receiving_ip: ip("192.0.2.25"),
                failed_session_count: 1,
                additional_information: None,
                failure_reason_code: Some("timeout".into()),
            }],
        }],
    };
    assert_eq!(
        report.to_json(),
        r#"{"organization-name":"mox-rs","date-range":{"start-datetime":"2024-03-10T00:00:00Z","end-datetime":"2024-03-10T23:59:59Z"},"contact-info":"postmaster@mail.example.com","report-id":"20240310.example.org@mail.example.com","policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mail.example.org","max_age: 86400"],"policy-domain":"example.org","mx-host":["mail.example.org"]},"summary":{"total-successful-session-count":1,"total-failure-session-count":1},"failure-details":[{"result-type":"future-result","sending-mta-ip":"2001:db8::25","receiving-mx-hostname":"mail.example.org","receiving-ip":"192.0.2.25","failed-session-count":1,"failure-reason-code":"timeout"}]}]}"#
    );
    assert_round_trip(&report);
}

fn json_error(json: &str) -> String {
    match Report::parse(json.as_bytes()) {
        Err(e @ Error::Json(_)) => e.to_string(),
        other => panic!("{json}: expected a JSON error, got {other:?}"),
    }
}

#[test]
fn bad_reports_give_errors_naming_the_problem() {
    let good = String::from_utf8(testdata("google-sts-success.json")).unwrap();
    let e = json_error(&good.replace(r#""report-id":"2024-03-10T00:00:00Z_example.org","#, ""));
    assert!(e.contains("missing field `report-id`"), "{e}");
    let e = json_error(&good.replace("2024-03-10T23:59:59Z", "yesterday"));
    assert!(e.contains(r#"invalid RFC 3339 date-time "yesterday""#), "{e}");
    let e = json_error(&good.replace(
        r#""total-successful-session-count":42"#,
        r#""total-successful-session-count":-1"#,
    ));
    assert!(e.contains("invalid value: integer `-1`"), "{e}");
    let e = json_error(&good.replace(
        r#""policy-domain":"example.org""#,
        r#""policy-domain":"example.org","mx-host":7"#,
    ));
    assert!(e.contains("mx-host must be a string or an array of strings"), "{e}");
    let e = json_error(r#"{"organization-name": "x""#);
    assert!(e.contains("EOF while parsing"), "{e}");
    let e = json_error(&good.replace(r#""policies":[{"#, r#""policies":{"#).replace("}]}", "}}"));
    assert!(e.contains("invalid type: map, expected a sequence"), "{e}");
    // Every error says where.
    assert!(e.contains("line 1 column"), "{e}");

    let bad_ip = String::from_utf8(testdata("microsoft-no-offset-failures.json"))
        .unwrap()
        .replace("198.51.100.25", "198.51.100.256");
    let e = json_error(&bad_ip);
    assert!(e.contains("invalid IP address syntax"), "{e}");
}

#[test]
fn bad_gzip_and_oversized_reports() {
    let data = testdata("google-multiple-policies-ipv6.json.gz");
    let truncated = &data[..data.len() / 2];
    assert!(matches!(Report::parse_gzip(truncated), Err(Error::Gzip(_))));
    assert!(matches!(Report::parse_gzip(b"not gzip"), Err(Error::Gzip(_))));

    // A gzip bomb: 21 MiB of spaces compress to a small fraction, and are not decompressed further
    // than the limit.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..21 {
        encoder.write_all(&spaces).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1_000_000, "{}", bomb.len());
    let err = Report::parse_any(&bomb).unwrap_err();
    assert!(matches!(err, Error::ReportTooLarge { limit: MAX_REPORT_SIZE }), "{err:?}");
    assert_eq!(err.to_string(), "TLSRPT report larger than 20971520 bytes");
}

#[test]
fn report_messages() {
    // RFC 8460 §5.3.1's example message, with the Appendix B report as its content.
    let from_rfc = tlsrpt::parse_report_message(&testdata("rfc8460-section-5.3.1.eml")).unwrap();
    assert_eq!(from_rfc, Report::parse(&testdata("rfc8460-appendix-b.json")).unwrap());

    // Google: base64 application/tlsrpt+gzip with name and filename.
    let google = tlsrpt::parse_report_message(&testdata("google-report.eml")).unwrap();
    assert_eq!(
        google,
        Report::parse_gzip(&testdata("google-multiple-policies-ipv6.json.gz")).unwrap()
    );
    assert_eq!(google.policies.len(), 2);

    // Microsoft: report-type without quotes, folded parameters, a size parameter.
    let microsoft = tlsrpt::parse_report_message(&testdata("microsoft-report.eml")).unwrap();
    assert_eq!(microsoft.report_id, "133546464000000000+example.net");
    assert_eq!(microsoft.policies[0].policy.policy_type, PolicyType::Tlsa);

    // Plain application/tlsrpt+json.
    let plain = tlsrpt::parse_report_message(&testdata("plain-json-report.eml")).unwrap();
    assert_eq!(plain, Report::parse(&testdata("microsoft-no-offset-failures.json")).unwrap());
}

#[test]
fn report_message_variants_and_errors() {
    let json = String::from_utf8(testdata("google-sts-success.json")).unwrap();
    // A message that is the report itself.
    let single = format!("Subject: report\r\nContent-Type: application/tlsrpt+json\r\n\r\n{json}");
    assert_eq!(
        tlsrpt::parse_report_message(single.as_bytes()).unwrap().report_id,
        "2024-03-10T00:00:00Z_example.org"
    );

    // Mislabelled as application/octet-stream, but named .json.gz; base64 without line breaks.
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(json.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let b64 = base64_encode(&gz);
    let mislabelled = format!(
        "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nreport attached\r\n--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"s.example!example.org!1!2.json.gz\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--x--\r\n"
    );
    assert_eq!(
        tlsrpt::parse_report_message(mislabelled.as_bytes()).unwrap().organization_name,
        "Google Inc."
    );

    // A forwarded report: the report message inside message/rfc822.
    let inner = String::from_utf8(testdata("google-report.eml")).unwrap();
    let forwarded = format!(
        "Subject: Fwd: report\r\nContent-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--f\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--f--\r\n"
    );
    assert_eq!(tlsrpt::parse_report_message(forwarded.as_bytes()).unwrap().policies.len(), 2);

    // No report.
    let dmarc = "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nDMARC\r\n--x\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=\"r.zip\"\r\n\r\nPK\r\n--x--\r\n";
    let err = tlsrpt::parse_report_message(dmarc.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::NoReportInMessage), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no TLSRPT report in message (no application/tlsrpt+gzip or application/tlsrpt+json part)"
    );
    assert!(matches!(tlsrpt::parse_report_message(b""), Err(Error::NoReportInMessage)));

    // A report part that is not a valid report.
    let broken = "Content-Type: application/tlsrpt+json\r\n\r\n{\"organization-name\": 1}";
    let err = tlsrpt::parse_report_message(broken.as_bytes()).unwrap_err();
    assert!(
        err.to_string().starts_with("TLSRPT report: invalid type: integer `1`, expected a string"),
        "{err}"
    );

    // Too large.
    let huge = vec![b'a'; tlsrpt::MAX_MESSAGE_SIZE + 1];
    assert!(matches!(tlsrpt::parse_report_message(&huge), Err(Error::MessageTooLarge { .. })));
}

fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
