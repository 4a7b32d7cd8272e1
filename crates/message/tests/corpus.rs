//! The message corpus in `testdata/message/`: each file's exact structure, with offsets checked
//! against the bytes, plus the invariants every parse must keep.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::fmt::Write;
use std::path::PathBuf;

use message::{Body, DateTime, Header, Mailbox, MailboxOrGroup, Message, MessageId, Part};

fn testdata(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/message").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Renders the MIME tree, one line per part: type, transfer encoding, header field names, and
/// the raw body (escaped; long bodies by length). Preambles and epilogues too.
fn tree(msg: &Message<'_>) -> String {
    let mut out = String::new();
    render(&mut out, msg.data(), msg.root(), 0);
    out
}

fn render(out: &mut String, data: &[u8], part: &Part<'_>, depth: usize) {
    let indent = "  ".repeat(depth);
    let names: Vec<&str> = part.header().iter().map(|f| f.name()).collect();
    let body = part.body();
    let shown = if body.len() <= 60 {
        format!("{:?}", String::from_utf8_lossy(body))
    } else {
        format!("<{} bytes>", body.len())
    };
    writeln!(
        out,
        "{indent}{} {} [{}] {shown}",
        part.content_type().essence(),
        part.transfer_encoding().as_str(),
        names.join(",")
    )
    .unwrap();
    match part.body_structure() {
        Body::Single => {}
        Body::Message(inner) => render(out, data, inner, depth + 1),
        Body::Multipart { parts, preamble, epilogue, closed } => {
            writeln!(
                out,
                "{indent}  preamble {:?}",
                String::from_utf8_lossy(&data[preamble.clone()])
            )
            .unwrap();
            for p in parts {
                render(out, data, p, depth + 1);
            }
            writeln!(
                out,
                "{indent}  epilogue {:?}{}",
                String::from_utf8_lossy(&data[epilogue.clone()]),
                if *closed { "" } else { " (not closed)" }
            )
            .unwrap();
        }
        _ => unreachable!(),
    }
}

fn assert_tree(name: &str, want: &str) -> Vec<u8> {
    let data = testdata(name);
    message::fuzzing::message_parse(&data);
    let msg = Message::parse(&data);
    let got = tree(&msg);
    let want: String = want.lines().map(str::trim_start).map(|l| format!("{l}\n")).collect();
    let got_trimmed: String = got.lines().map(str::trim_start).map(|l| format!("{l}\n")).collect();
    assert_eq!(got_trimmed, want, "{name}:\n{got}");
    data
}

fn mailbox(name: Option<&str>, addr: &str) -> Mailbox {
    Mailbox { display_name: name.map(String::from), address: addr.parse().unwrap() }
}

/// Offset of `needle` in `data`.
fn find(data: &[u8], needle: &[u8]) -> usize {
    data.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn plain() {
    let data = assert_tree(
        "plain.eml",
        r#"text/plain 7bit [Return-Path,Received,From,To,Subject,Date,Message-ID,MIME-Version,Content-Type] "Hello,\r\n\r\nthis is a plain text message.\r\n--\r\nSender\r\n""#,
    );
    let msg = Message::parse(&data);
    let h = msg.header();
    let received = h.get("received").unwrap();
    assert_eq!(received.offset(), find(&data, b"Received:"));
    assert!(received.raw().ends_with(b"Wed, 25 Nov 2026 18:30:25 +0000\r\n"));
    assert_eq!(received.raw().iter().filter(|&&b| b == b'\n').count(), 3);
    assert_eq!(msg.root().body_offset(), find(&data, b"Hello,"));
    assert_eq!(msg.root().line_count(), 5);
    assert_eq!(h.from_mailboxes().unwrap(), [mailbox(Some("Sender"), "sender@example.org")]);
    assert_eq!(
        DateTime::parse(h.get("date").unwrap().raw_value()).unwrap().to_string(),
        "Wed, 25 Nov 2026 18:30:00 +0000"
    );
    assert_eq!(msg.root().content_type().charset(), Some("us-ascii"));
}

#[test]
fn multipart_mixed_with_attachment() {
    let data = assert_tree(
        "multipart-mixed-attachment.eml",
        r#"multipart/mixed 7bit [From,To,Subject,MIME-Version,Content-Type] <1432 bytes>
          preamble "This is a multi-part message in MIME format."
          text/plain 8bit [Content-Type,Content-Transfer-Encoding] "See the attached report. Grüße!"
          application/pdf base64 [Content-Type,Content-Transfer-Encoding,Content-Disposition] <1074 bytes>
          epilogue "epilogue text\r\n""#,
    );
    let msg = Message::parse(&data);
    let parts = msg.root().parts();
    assert_eq!(parts[0].header_offset(), find(&data, b"Content-Type: text/plain"));
    assert_eq!(
        parts[0].raw_header(),
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    );
    assert_eq!(parts[0].decoded_text(), "See the attached report. Grüße!");
    let pdf = &parts[1];
    assert_eq!(pdf.decoded_body().as_ref(), testdata("attachment.pdf.bin").as_slice());
    assert_eq!(pdf.filename().as_deref(), Some("report.pdf"));
    assert!(pdf.content_disposition().unwrap().is_attachment());
    // The body ends before the CRLF that belongs to the close delimiter.
    assert_eq!(pdf.body_end(), find(&data, b"\r\n--==mixed==--"));
    assert_eq!(pdf.line_count(), 14);
    assert_eq!(msg.part_at(&[2]).map(Part::header_offset), Some(pdf.header_offset()));
}

#[test]
fn multipart_alternative() {
    let data = assert_tree(
        "multipart-alternative.eml",
        r#"multipart/alternative 7bit [From,To,Subject,MIME-Version,Content-Type] <351 bytes>
          preamble ""
          text/plain quoted-printable [Content-Type,Content-Transfer-Encoding] <89 bytes>
          text/html quoted-printable [Content-Type,Content-Transfer-Encoding] "<p>Caf=C3=A9 au lait</p>"
          epilogue """#,
    );
    let msg = Message::parse(&data);
    let parts = msg.root().parts();
    assert_eq!(
        parts[0].decoded_text(),
        "Café au lait, a very long line that is soft-broken by the quoted-printable encoding."
    );
    assert_eq!(parts[1].decoded_text(), "<p>Café au lait</p>");
    assert_eq!(msg.root().content_type().boundary(), Some("alt-boundary"));
}

#[test]
fn nested_message_rfc822() {
    let data = assert_tree(
        "nested-rfc822.eml",
        r#"multipart/mixed 7bit [From,To,Subject,MIME-Version,Content-Type] <378 bytes>
          preamble ""
          text/plain 7bit [Content-Type] "See the forwarded message."
          message/rfc822 7bit [Content-Type,Content-Description] <219 bytes>
            multipart/alternative 7bit [From,Subject,Content-Type] <115 bytes>
              preamble ""
              text/plain 7bit [Content-Type] "inner text"
              text/html 7bit [Content-Type] "<b>inner html</b>"
              epilogue ""
          epilogue """#,
    );
    let msg = Message::parse(&data);
    let forwarded = &msg.root().parts()[1];
    assert_eq!(forwarded.content_description().as_deref(), Some("forwarded message"));
    let inner = forwarded.embedded_message().unwrap();
    assert_eq!(inner.header_offset(), find(&data, b"From: original@"));
    assert_eq!(inner.header_offset(), forwarded.body_offset());
    assert_eq!(inner.header().value("subject").as_deref(), Some("original"));
    // IMAP numbering: 2 is the message/rfc822 part, 2.1 and 2.2 the embedded alternatives.
    assert_eq!(msg.part_at(&[2, 1]).unwrap().body(), b"inner text");
    assert_eq!(msg.part_at(&[2, 2]).unwrap().body(), b"<b>inner html</b>");
    assert_eq!(
        msg.part_at(&[2]).unwrap().raw_header(),
        b"Content-Type: message/rfc822\r\nContent-Description: forwarded message\r\n\r\n"
    );
    assert_eq!(msg.parts().count(), 6);
}

#[test]
fn eight_bit_body() {
    let data = assert_tree(
        "8bit-body.eml",
        r#"text/plain 8bit [From,Subject,MIME-Version,Content-Type,Content-Transfer-Encoding] "Gr��e aus K�ln\r\n�t�\r\n""#,
    );
    let msg = Message::parse(&data);
    assert_eq!(msg.root().decoded_text(), "Grüße aus Köln\r\nété\r\n");
    assert_eq!(msg.root().line_count(), 2);
}

#[test]
fn broken_boundaries() {
    let data = assert_tree(
        "broken-boundary.eml",
        r#"multipart/mixed 7bit [From,Subject,Content-Type] <264 bytes>
          preamble "preamble"
          multipart/alternative 7bit [Content-Type] "--b2\r\nContent-Type: text/plain\r\n\r\nnever closed inner"
            preamble ""
            text/plain 7bit [Content-Type] "never closed inner"
            epilogue "" (not closed)
          text/plain 7bit [Content-Type] <106 bytes>
          epilogue "" (not closed)"#,
    );
    let msg = Message::parse(&data);
    assert_eq!(
        msg.part_at(&[2]).unwrap().body(),
        b"--b1x is not a delimiter\r\n--b1 trailing garbage is not a delimiter either\r\nlast part, no close delimiter\r\n"
    );
}

#[test]
fn missing_headers() {
    let data = assert_tree("missing-headers.eml", "text/plain 7bit [X-Only] <86 bytes>");
    let msg = Message::parse(&data);
    assert!(!msg.header().has_separator());
    assert!(msg.header().from_mailboxes().unwrap().is_empty());
    assert!(msg.header().get("Date").is_none());
    assert_eq!(msg.root().content_type().essence(), "text/plain");
}

#[test]
fn bare_lf_line_endings() {
    let data = assert_tree(
        "bare-lf.eml",
        r#"multipart/mixed 7bit [From,Subject,Content-Type] <139 bytes>
          preamble ""
          text/plain 7bit [Content-Type] "one\ntwo"
          text/plain base64 [Content-Type,Content-Transfer-Encoding] "w6lsw6h2ZQ=="
          epilogue """#,
    );
    let msg = Message::parse(&data);
    let parts = msg.root().parts();
    assert_eq!(parts[0].raw_header(), b"Content-Type: text/plain\n\n");
    assert_eq!(parts[0].line_count(), 2);
    assert_eq!(parts[1].decoded_text(), "élève");
}

#[test]
fn rfc2231_filenames() {
    let data = assert_tree(
        "rfc2231-filename.eml",
        r#"multipart/mixed 7bit [From,Subject,MIME-Version,Content-Type] <371 bytes>
          preamble ""
          application/octet-stream 7bit [Content-Type,Content-Disposition] "data"
          text/plain 7bit [Content-Type,Content-Disposition] "plain"
          epilogue """#,
    );
    let msg = Message::parse(&data);
    let parts = msg.root().parts();
    assert_eq!(parts[0].filename().as_deref(), Some("日本語 file.txt"));
    assert_eq!(parts[0].content_type().param("name"), Some("日本語 file.txt"));
    assert_eq!(parts[1].filename().as_deref(), Some("résumé.txt"));
    assert_eq!(parts[1].content_type().params[0].language.as_deref(), Some("fr"));
    assert_eq!(parts[1].content_disposition().unwrap().kind, "inline");
}

#[test]
fn encoded_word_subject() {
    let data = testdata("encoded-word-subject.eml");
    message::fuzzing::message_parse(&data);
    let h = Header::parse(&data);
    assert_eq!(h.get("subject").unwrap().decoded_value(), "Élève — 📦 and “quotes”");
    assert_eq!(h.from_mailboxes().unwrap(), [mailbox(Some("Jörg Müller"), "jorg@example.org")]);
    let to = h.address_list("to").unwrap();
    assert_eq!(to, [MailboxOrGroup::Mailbox(mailbox(Some("François"), "francois@example.net"))]);
    assert_eq!(DateTime::parse(h.get("date").unwrap().raw_value()).unwrap().offset_minutes, 60);
}

#[test]
fn deep_nesting_stops_at_the_limit() {
    let data = testdata("deep-nesting.eml");
    message::fuzzing::message_parse(&data);
    let msg = Message::parse(&data);
    assert_eq!(msg.parts().count(), message::MAX_DEPTH + 1);
    let deepest = msg.parts().last().unwrap();
    assert!(matches!(deepest.body_structure(), Body::Single));
    assert!(deepest.content_type().is("multipart", "mixed"));
    // The content below the limit is still there, unparsed, in the deepest part's body.
    assert!(deepest.body().windows(7).any(|w| w == b"deepest"));
}

#[test]
fn rfc5322_appendix_a() {
    let a111 = testdata("rfc5322-a.1.1.eml");
    let h = Header::parse(&a111);
    assert_eq!(h.from_mailboxes().unwrap(), [mailbox(Some("John Doe"), "jdoe@machine.example")]);
    assert_eq!(
        message::parse_mailbox(h.get("sender").unwrap().raw_value()).unwrap(),
        mailbox(Some("Michael Jones"), "mjones@machine.example")
    );
    assert_eq!(
        &a111[h.body_offset()..],
        b"This is a message just to say hello.\r\nSo, \"Hello\".\r\n"
    );
    assert_eq!(
        MessageId::parse(h.get("message-id").unwrap().raw_value()).unwrap().as_str(),
        "1234@local.machine.example"
    );

    let a112 = testdata("rfc5322-a.1.2.eml");
    let h = Header::parse(&a112);
    assert_eq!(
        h.from_mailboxes().unwrap(),
        [mailbox(Some("Joe Q. Public"), "john.q.public@example.com")]
    );
    let to: Vec<Mailbox> =
        h.address_list("to").unwrap().iter().flat_map(|e| e.mailboxes().to_vec()).collect();
    assert_eq!(
        to,
        [
            mailbox(Some("Mary Smith"), "mary@x.test"),
            mailbox(None, "jdoe@example.org"),
            mailbox(Some("Who?"), "one@y.test")
        ]
    );
    let cc: Vec<Mailbox> =
        h.address_list("cc").unwrap().iter().flat_map(|e| e.mailboxes().to_vec()).collect();
    assert_eq!(
        cc,
        [
            mailbox(None, "boss@nil.test"),
            mailbox(Some("Giant; \"Big\" Box"), "sysservices@example.net")
        ]
    );

    let a113 = testdata("rfc5322-a.1.3.eml");
    let h = Header::parse(&a113);
    let to = h.address_list("to").unwrap();
    let [MailboxOrGroup::Group(g)] = &to[..] else { panic!("{to:?}") };
    assert_eq!(g.display_name, "A Group");
    assert_eq!(g.mailboxes.len(), 3);
    let cc = h.address_list("cc").unwrap();
    assert!(
        matches!(&cc[..], [MailboxOrGroup::Group(g)] if g.display_name == "Undisclosed recipients" && g.mailboxes.is_empty())
    );
    assert_eq!(
        DateTime::parse(h.get("date").unwrap().raw_value()).unwrap(),
        DateTime::new(-27723426, -210)
    );

    let a2 = testdata("rfc5322-a.2.eml");
    let h = Header::parse(&a2);
    let to = h.address_list("to").unwrap();
    assert_eq!(
        to,
        [MailboxOrGroup::Mailbox(mailbox(
            Some("Mary Smith: Personal Account"),
            "smith@home.example"
        ))]
    );
    let refs = MessageId::parse_list(h.get("references").unwrap().raw_value());
    assert_eq!(
        refs.iter().map(MessageId::as_str).collect::<Vec<_>>(),
        ["1234@local.machine.example", "3456@example.net"]
    );
    let irt = MessageId::parse_list(h.get("in-reply-to").unwrap().raw_value());
    assert_eq!(irt.iter().map(MessageId::as_str).collect::<Vec<_>>(), ["3456@example.net"]);

    let a3 = testdata("rfc5322-a.3.eml");
    let h = Header::parse(&a3);
    let names: Vec<&str> = h.iter().map(|f| f.name()).collect();
    assert_eq!(&names[..4], ["Resent-From", "Resent-To", "Resent-Date", "Resent-Message-ID"]);
    assert_eq!(
        DateTime::parse(h.get("resent-date").unwrap().raw_value()).unwrap().offset_minutes,
        -480
    );

    let a4 = testdata("rfc5322-a.4.eml");
    let h = Header::parse(&a4);
    let received: Vec<_> = h.get_all("received").rev().collect();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].value(), "from node.example by x.y.test; 21 Nov 1997 10:01:22 -0600");
    assert_eq!(received[1].raw().iter().filter(|&&b| b == b'\n').count(), 6);
    assert_eq!(received[1].offset(), 0);

    let a5 = testdata("rfc5322-a.5.eml");
    let h = Header::parse(&a5);
    assert_eq!(h.from_mailboxes().unwrap(), [mailbox(Some("Pete"), "pete@silly.test")]);
    let to = h.address_list("to").unwrap();
    let [MailboxOrGroup::Group(g)] = &to[..] else { panic!("{to:?}") };
    assert_eq!(g.display_name, "A Group");
    assert_eq!(
        g.mailboxes,
        [
            mailbox(Some("Chris Jones"), "c@public.example"),
            mailbox(None, "joe@example.org"),
            mailbox(Some("John"), "jdoe@one.test")
        ]
    );
    let cc = h.address_list("cc").unwrap();
    assert!(
        matches!(&cc[..], [MailboxOrGroup::Group(g)] if g.display_name == "Hidden recipients" && g.mailboxes.is_empty()),
        "{cc:?}"
    );
    assert_eq!(
        DateTime::parse(h.get("date").unwrap().raw_value()).unwrap(),
        DateTime::new(-27723480, -210)
    );
    assert_eq!(
        MessageId::parse(h.get("message-id").unwrap().raw_value()).unwrap().as_str(),
        "testabcd.1234@silly.test"
    );

    let a61 = testdata("rfc5322-a.6.1.eml");
    let h = Header::parse(&a61);
    assert_eq!(
        h.from_mailboxes().unwrap(),
        [mailbox(Some("Joe Q. Public"), "john.q.public@example.com")]
    );
    let to: Vec<Mailbox> =
        h.address_list("to").unwrap().iter().flat_map(|e| e.mailboxes().to_vec()).collect();
    assert_eq!(
        to,
        [mailbox(Some("Mary Smith"), "mary@example.net"), mailbox(None, "jdoe@test.example")]
    );

    let a62 = testdata("rfc5322-a.6.2.eml");
    let h = Header::parse(&a62);
    assert_eq!(
        DateTime::parse(h.get("date").unwrap().raw_value()).unwrap(),
        DateTime::new(880106106, 0)
    );

    let a63 = testdata("rfc5322-a.6.3.eml");
    let h = Header::parse(&a63);
    let names: Vec<&str> = h.iter().map(|f| f.name()).collect();
    assert_eq!(names, ["From", "To", "Subject", "Date", "Message-ID"]);
    assert_eq!(
        h.get("to").unwrap().raw(),
        b"To    : Mary Smith\r\n  \r\n          <mary@example.net>\r\n"
    );
    assert_eq!(h.from_mailboxes().unwrap(), [mailbox(Some("John Doe"), "jdoe@machine.example")]);
    assert_eq!(
        h.address_list("to").unwrap(),
        [MailboxOrGroup::Mailbox(mailbox(Some("Mary Smith"), "mary@example.net"))]
    );
    assert_eq!(h.value("subject").as_deref(), Some("Saying Hello"));
    assert_eq!(DateTime::parse(h.get("date").unwrap().raw_value()).unwrap().timestamp, 880127706);
    assert_eq!(
        MessageId::parse(h.get("message-id").unwrap().raw_value()).unwrap().as_str(),
        "1234@local.machine.example"
    );
    assert_eq!(
        &a63[h.body_offset()..],
        b"This is a message just to say hello.\r\nSo, \"Hello\".\r\n"
    );
}

/// Every corpus file keeps the parser's invariants and survives every decoder.
#[test]
fn corpus_invariants() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/message");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eml") {
            let data = std::fs::read(&path).unwrap();
            message::fuzzing::message_parse(&data);
            // Truncated at every length, the invariants still hold.
            for end in (0..data.len()).step_by(7) {
                message::fuzzing::message_parse(&data[..end]);
            }
            n += 1;
        }
    }
    assert!(n >= 20, "only {n} corpus files");
}
