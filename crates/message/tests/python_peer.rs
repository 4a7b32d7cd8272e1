//! Python's `email` package as an independent peer: it generates random MIME messages (nested
//! multiparts, text in several charsets with quoted-printable and base64, binary attachments
//! with RFC 2231 file names, message/rfc822 parts), and both parsers describe every message of
//! the corpus and of the generated set. The descriptions must be equal: the same parts in the
//! same order, the same content types and file names, the same decoded payloads and texts.
//!
//! Needs Python 3 (only its standard library): `python3` on PATH, or `/usr/bin/python3`.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use message::{Body, Message};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/message")
}

fn python(args: &[&str]) -> String {
    let script = testdata().join("python_email_peer.py");
    // Any Python 3 will do (standard library only): the one on PATH, else Debian's.
    let interpreter = ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("python3 is needed as the peer for this test");
    let out = Command::new(interpreter)
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{interpreter}: {e}"));
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    })
}

/// Our description, in the format of python_email_peer.py's `describe`.
fn describe(path: &Path) -> String {
    let data = std::fs::read(path).unwrap();
    message::fuzzing::message_parse(&data);
    let msg = Message::parse(&data);
    let mut out = format!("file {}\n", path.file_name().unwrap().to_string_lossy());
    for part in msg.parts() {
        let mut fields = vec![part.content_type().essence(), part.filename().unwrap_or_default()];
        if matches!(part.body_structure(), Body::Single) {
            fields.push(hex(&part.decoded_body()));
            if part.content_type().media_type == "text" {
                fields.push(hex(part.decoded_text().as_bytes()));
            }
        }
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    out
}

fn compare(paths: &[PathBuf]) -> (usize, usize) {
    let args: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
    let theirs = python(&[&["describe"], &args[..]].concat());
    let ours: String = paths.iter().map(|p| describe(p)).collect();
    let (mut files, mut parts) = (0, 0);
    for (file_ours, file_theirs) in ours.split("file ").zip(theirs.split("file ")).skip(1) {
        let name = file_ours.lines().next().unwrap_or_default();
        for (line_ours, line_theirs) in file_ours.lines().zip(file_theirs.lines()) {
            assert_eq!(line_ours, line_theirs, "{name}: part differs (ours left, Python right)");
        }
        assert_eq!(
            file_ours.lines().count(),
            file_theirs.lines().count(),
            "{name}: number of parts differs"
        );
        files += 1;
        parts += file_ours.lines().count() - 1;
    }
    assert_eq!(files, paths.len());
    (files, parts)
}

#[test]
fn corpus_agrees_with_python_email() {
    // Not compared: deep-nesting.eml (we stop at MAX_DEPTH by design, Python does not) and
    // broken-boundary.eml (when the close delimiter is missing, Python drops the last line
    // ending of the last part; we keep every byte of it), and rfc5322-a.6.3.eml (Python ends the
    // header at "To    : ...", the obsolete spacing of RFC 5322 §4.5.8; we read all fields).
    // corpus.rs checks those three exactly.
    let mut paths: Vec<PathBuf> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .filter(|p| {
            !["deep-nesting.eml", "broken-boundary.eml", "rfc5322-a.6.3.eml"]
                .iter()
                .any(|skip| p.ends_with(skip))
        })
        .collect();
    paths.sort();
    let (files, parts) = compare(&paths);
    println!("{files} corpus messages, {parts} parts: same as Python's email");
    assert!(files >= 18);
}

#[test]
fn generated_messages_agree_with_python_email() {
    let dir = tempfile::tempdir().unwrap();
    let dir_str = dir.path().to_str().unwrap();
    python(&["generate", dir_str, "200", "20261125"]);
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    assert_eq!(paths.len(), 200);
    let (files, parts) = compare(&paths);
    println!("{files} generated messages, {parts} parts: same as Python's email");
    assert!(parts > 600, "only {parts} parts");
}

/// One address: display name ("" if none), localpart, ASCII domain.
type AddressParts = (String, String, String);

/// The peer script's address output: each field's value and its addresses.
fn peer_addresses(output: &str) -> Vec<(String, Vec<AddressParts>)> {
    let unhex = |h: &str| {
        let bytes: Vec<u8> = (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect();
        String::from_utf8(bytes).unwrap()
    };
    let mut fields: Vec<(String, Vec<AddressParts>)> = Vec::new();
    for line in output.lines() {
        if let Some(value) = line.strip_prefix("field ") {
            fields.push((unhex(value), Vec::new()));
        } else {
            let cols: Vec<&str> = line.split('\t').collect();
            let domain = dns::Domain::parse(cols[2]).unwrap().ascii().to_string();
            fields.last_mut().unwrap().1.push((unhex(cols[0]), unhex(cols[1]), domain));
        }
    }
    fields
}

fn ours(list: &[message::MailboxOrGroup]) -> Vec<AddressParts> {
    list.iter()
        .flat_map(|e| e.mailboxes().to_vec())
        .map(|m| {
            (
                m.display_name.unwrap_or_default(),
                m.address.localpart.as_str().to_string(),
                m.address.domain.ascii().to_string(),
            )
        })
        .collect()
}

/// Python's email writes To fields (quoting, RFC 2047 or raw UTF-8, folding); we read them. Then
/// we write the same addresses, and Python reads what we wrote.
#[test]
fn addresses_agree_with_python_email_both_ways() {
    let fields = peer_addresses(&python(&["addresses", "500", "20261125"]));
    assert_eq!(fields.len(), 500);
    let mut ours_written = String::new();
    let mut count = 0;
    for (value, theirs) in &fields {
        let list = message::parse_address_list(value.as_bytes())
            .unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(&ours(&list), theirs, "{value:?}");
        count += theirs.len();
        let written: Vec<String> = list.iter().map(ToString::to_string).collect();
        ours_written.push_str(&hex(written.join(", ").as_bytes()));
        ours_written.push('\n');
    }

    // Python reads what we wrote.
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("written.hex");
    std::fs::write(&written, &ours_written).unwrap();
    let out = python(&["parse-addresses", written.to_str().unwrap()]);
    let reread = peer_addresses(&out);
    assert_eq!(reread.len(), fields.len());
    for ((written, theirs), (_, original)) in reread.iter().zip(&fields) {
        assert_eq!(theirs, original, "Python reads {written:?} differently");
    }
    println!(
        "{} To fields, {count} addresses: read and written the same as Python's email",
        fields.len()
    );
}
