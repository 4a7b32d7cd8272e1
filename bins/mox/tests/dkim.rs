//! `mox dkim` end to end: keys made by `gened25519` and `genrsa` (read by OpenSSL through
//! Python's `cryptography`), their records from `txt` served by a loopback DNS server
//! (`test_support::DnsTestServer`, given with `--dns-server`), `lookup`, `sign` with both keys
//! and `verify`; dkimpy (Debian python3-dkim) verifies what the command signed.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use dns::MockResolver;
use test_support::DnsTestServer;

fn mox(server: Option<&DnsTestServer>, args: &[&str], stdin: &[u8]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mox"));
    for name in ["MOXCONF", "MOX_LOG", "MOX_DNS_SERVER", "NO_COLOR"] {
        command.env_remove(name);
    }
    if let Some(server) = server {
        command.arg(format!("--dns-server={}", server.addr()));
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running mox");
    child.stdin.take().expect("stdin").write_all(stdin).expect("writing stdin");
    child.wait_with_output().expect("mox output")
}

fn ok(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "mox failed: {stderr}");
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}

const MESSAGE: &str = "From: Jane Doe <jane@example.org>\r\nTo: bob@example.net\r\n\
    Subject: Signed by the command\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n\
    Hello Bob,\r\n\r\nthis message was signed by mox dkim sign.\r\n";

#[test]
fn keys_records_lookup_sign_and_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("rsa.pem"), ok(mox(None, &["dkim", "genrsa"], b""))).expect("write");
    std::fs::write(path("ed.pem"), ok(mox(None, &["dkim", "gened25519"], b""))).expect("write");

    // An independent reader (OpenSSL, through Python's cryptography) accepts both keys.
    let check = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(
            "import sys\n\
             from cryptography.hazmat.primitives import serialization as s\n\
             for f in sys.argv[1:]:\n\
             \x20   k = s.load_pem_private_key(open(f, 'rb').read(), None)\n\
             \x20   print(type(k).__name__.strip('_'), getattr(k, 'key_size', 256))\n",
        )
        .arg(path("rsa.pem"))
        .arg(path("ed.pem"))
        .output()
        .expect("python3 (install python3-cryptography, see .ci/deps)");
    assert_eq!(
        String::from_utf8_lossy(&check.stdout),
        "RSAPrivateKey 2048\nEd25519PrivateKey 256\n"
    );

    // Records from `mox dkim txt`, served over DNS.
    let mut zone = String::new();
    for sel in ["rsa", "ed"] {
        let pem = std::fs::read(path(&format!("{sel}.pem"))).expect("key");
        let line = ok(mox(None, &["dkim", "txt"], &pem));
        let line =
            line.strip_prefix("<selector>._domainkey.<your.domain.> TXT ").expect("zone line");
        zone.push_str(&format!("{sel}._domainkey.example.org TXT {line}"));
    }
    let server = DnsTestServer::start_on_thread(MockResolver::from_zone(&zone).expect("zone"))
        .expect("dns server");

    let lookup = ok(mox(Some(&server), &["dkim", "lookup", "rsa", "example.org"], b""));
    assert!(lookup.starts_with("v=DKIM1; k=rsa; h=sha256; t=s; p=MIIBIjAN"), "{lookup}");
    assert!(lookup.contains("\nkey: rsa (2048 bits)\n"), "{lookup}");
    let missing = mox(Some(&server), &["dkim", "lookup", "other", "example.org"], b"");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .starts_with("mox: dkim lookup for other at example.org: no DKIM key record")
    );

    std::fs::write(path("message.eml"), MESSAGE).expect("write");
    let rsa_key = path("rsa.pem").display().to_string();
    let ed_key = path("ed.pem").display().to_string();
    let message_path = path("message.eml").display().to_string();
    let sign_args = [
        "dkim",
        "sign",
        "--selector",
        "rsa",
        "--key",
        &rsa_key,
        "--selector",
        "ed",
        "--key",
        &ed_key,
        &message_path,
    ];
    let signed = ok(mox(None, &sign_args, b""));
    assert!(signed.ends_with(MESSAGE));
    std::fs::write(path("signed.eml"), &signed).expect("write");

    let signed_path = path("signed.eml").display().to_string();
    let verified = ok(mox(Some(&server), &["dkim", "verify", &signed_path], b""));
    assert!(verified.starts_with("signature 1 of 2: pass\n"), "{verified}");
    assert!(verified.contains("signature 2 of 2: pass\n"), "{verified}");
    assert!(verified.contains("\tauthentication-results: dkim=pass header.d=example.org header.s=ed header.a=ed25519-sha256"), "{verified}");

    let tampered = signed.replace("Hello Bob", "Hello Rob");
    let verified = ok(mox(Some(&server), &["dkim", "verify", "-"], tampered.as_bytes()));
    assert_eq!(
        verified.matches(": fail\n\treason: body hash did not verify\n").count(),
        2,
        "{verified}"
    );

    // dkimpy verifies both signatures the command made.
    dkimpy_verifies(&path("signed.eml"), &zone);
}

fn dkimpy_verifies(signed: &Path, zone: &str) {
    let records = zone_json(zone);
    let script = "import sys, json, dkim\n\
        zone = {k.encode(): v.encode() for k, v in json.loads(sys.argv[2]).items()}\n\
        msg = open(sys.argv[1], 'rb').read()\n\
        d = dkim.DKIM(msg)\n\
        print([d.verify(idx=i, dnsfunc=lambda n, timeout=5: zone.get(n)) for i in (0, 1)])\n";
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(signed)
        .arg(records)
        .output()
        .expect("python3 (install python3-dkim, see .ci/deps)");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[True, True]\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The zone's TXT records as a JSON object {"name.": "concatenated strings"}.
fn zone_json(zone: &str) -> String {
    let entries: Vec<String> = zone
        .lines()
        .map(|line| {
            let (name, rest) = line.split_once(" TXT ").expect("TXT line");
            let txt: String = rest.split('"').skip(1).step_by(2).collect();
            format!("\"{name}.\": \"{txt}\"")
        })
        .collect();
    format!("{{{}}}", entries.join(", "))
}
