//! Submission through the real server, driven by independent clients: Python's smtplib
//! (STARTTLS, implicit TLS, AUTH PLAIN, LOGIN and CRAM-MD5) and swaks; what submission signs is
//! verified by dkimpy; remote recipients go to the queue.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::{Options, Raw, TestServer};
use runtime::{Outgoing, OutgoingMessage, QueueId, SubmitError};

fn python() -> &'static str {
    // Debian's Python has dkimpy; smtplib is in every Python.
    assert!(
        std::path::Path::new("/usr/bin/python3").exists(),
        "/usr/bin/python3 is needed (apt-get install python3)"
    );
    "/usr/bin/python3"
}

/// Signing keys for mox.example: RSA 2048 and Ed25519, in that order, and their records.
fn signing_keys() -> (Vec<(String, dkim::PrivateKey)>, String) {
    static KEYS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        vec![
            ("rsa".to_string(), dkim::PrivateKey::generate_rsa(2048).unwrap().to_pem()),
            ("ed".to_string(), dkim::PrivateKey::generate_ed25519().unwrap().to_pem()),
        ]
    });
    let keys: Vec<(String, dkim::PrivateKey)> =
        keys.iter().map(|(s, pem)| (s.clone(), dkim::PrivateKey::from_pem(pem).unwrap())).collect();
    let mut zone = String::new();
    for (sel, key) in &keys {
        zone.push_str(&format!(
            "{sel}._domainkey.mox.example TXT \"{}\"\n",
            dkim::Record::for_public_key(&key.public_key())
        ));
    }
    (keys, zone)
}

#[derive(Debug, Default)]
struct Queue(Mutex<Vec<OutgoingMessage>>);

#[async_trait]
impl Outgoing for Queue {
    async fn submit(&self, message: OutgoingMessage) -> Result<Vec<QueueId>, SubmitError> {
        let mut q = self.0.lock().unwrap();
        q.push(message);
        Ok(vec![QueueId(q.len() as u64)])
    }
}

async fn server(queue: Option<Arc<Queue>>) -> TestServer {
    let configure = |d: &mut smtpserver::directory::StaticDirectory| {
        let (keys, _) = signing_keys();
        let domain = dns::Domain::parse("mox.example").unwrap();
        for (sel, key) in keys {
            d.add_dkim_signer(
                &domain,
                dkim::Signer::new(domain.clone(), dkim::Selector::parse(&sel).unwrap(), key),
            );
        }
    };
    TestServer::start(Options {
        configure: Some(Box::new(configure)),
        outgoing: queue.map(|q| q as Arc<dyn Outgoing>),
        ..Default::default()
    })
    .await
}

fn run_python(script: &str) -> String {
    let out = Command::new(python()).arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_every_mechanism_starttls_and_implicit_tls() {
    let s = server(None).await;
    let ca = s.dir.path().join("ca.pem");
    std::fs::write(&ca, &s.cert_pem).unwrap();
    let script = format!(
        r#"
import smtplib, ssl
ctx = ssl.create_default_context(cafile="{ca}")
ctx.check_hostname = False
msg = "From: mjl@mox.example\r\nTo: other@mox.example\r\nSubject: via {{}}\r\n\r\nhello\r\n"
for mech in ["PLAIN", "LOGIN", "CRAM-MD5"]:
    with smtplib.SMTP("127.0.0.1", {sub_port}) as c:
        c.ehlo("client.example")
        assert "auth" not in c.esmtp_features, "AUTH offered before TLS"
        c.starttls(context=ctx)
        c.ehlo("client.example")
        c.user, c.password = "mjl@mox.example", "{pw}"
        code, resp = c.auth(mech, getattr(c, "auth_" + mech.lower().replace("-", "_")))
        assert code == 235, (code, resp)
        refused = c.sendmail("mjl@mox.example", ["other@mox.example"], msg.format(mech))
        assert refused == {{}}, refused
        print(mech, "ok")
with smtplib.SMTP_SSL("127.0.0.1", {subs_port}, context=ctx) as c:
    c.login("mjl@mox.example", "{pw}")
    c.sendmail("mjl@mox.example", ["other@mox.example"], msg.format("implicit tls"))
    print("implicit ok")
with smtplib.SMTP_SSL("127.0.0.1", {subs_port}, context=ctx) as c:
    try:
        c.login("mjl@mox.example", "wrong")
        print("login with wrong password succeeded")
    except smtplib.SMTPAuthenticationError as e:
        print("refused", e.smtp_code)
"#,
        ca = ca.display(),
        sub_port = s.submission.port(),
        subs_port = s.submissions.port(),
        pw = common::PASSWORD,
    );
    let out = tokio::task::spawn_blocking(move || run_python(&script)).await.unwrap();
    assert_eq!(out, "PLAIN ok\nLOGIN ok\nCRAM-MD5 ok\nimplicit ok\nrefused 535\n");
    let m = s.messages("other", "Inbox");
    assert_eq!(m.len(), 4);
    let p = m[3].prefix.replace("\r\n\t", " ");
    assert!(p.contains("with ESMTPSA id"), "{p}");
    assert!(
        p.contains(
            "Authentication-Results: mail.mox.example; auth=pass smtp.mailfrom=mjl@mox.example"
        ),
        "{p}"
    );
    assert!(p.contains("Message-Id: <"), "Message-Id added: {p}");
    assert!(p.contains("Date: "), "Date added: {p}");
    // Submission hides the client's address.
    assert!(!p.contains("[127.0.0.1]) by"), "{p}");
    s.stop().await;
}

/// dkimpy verifies both signatures submission added (RSA first, then Ed25519).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dkimpy_verifies_what_submission_signed() {
    let s = server(None).await;
    // Submit with swaks over implicit TLS (an independent client).
    let out = Command::new("swaks")
        .args([
            "--server",
            &format!("127.0.0.1:{}", s.submissions.port()),
            "--tlsc",
            "--auth",
            "PLAIN",
        ])
        .args(["--auth-user", "mjl@mox.example", "--auth-password", common::PASSWORD])
        .args(["--from", "mjl@mox.example", "--to", "other@mox.example", "--h-Subject", "signed"])
        .args(["--body", "Signed by submission.\n.leading dot line\n"])
        .output()
        .expect("swaks is needed: apt-get install swaks");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let m = s.wait_messages("other", "Inbox", 1).await;
    let mut full = m[0].prefix.as_bytes().to_vec();
    full.extend_from_slice(&m[0].data);
    let path = s.dir.path().join("signed.eml");
    std::fs::write(&path, &full).unwrap();
    let (_, zone) = signing_keys();
    let records: Vec<(String, String)> = zone
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(" TXT ")?;
            Some((name.to_string(), rest.trim_matches('"').to_string()))
        })
        .collect();
    let dns_map: String = records.iter().map(|(n, v)| format!("{n:?}: {v:?},")).collect();
    let script = format!(
        r#"
import dkim
records = {{{dns_map}}}
def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    return records.get(name.rstrip("."), "").encode()
msg = open("{path}", "rb").read()
d = dkim.DKIM(msg)
n = 0
for i in range(2):
    ok = d.verify(idx=i, dnsfunc=dnsfunc)
    print(d.domain.decode(), d.selector.decode(), ok)
"#,
        path = path.display()
    );
    let out = tokio::task::spawn_blocking(move || run_python(&script)).await.unwrap();
    assert_eq!(out, "mox.example rsa True\nmox.example ed True\n");
    s.stop().await;
}

#[tokio::test]
async fn from_must_belong_to_user_and_remote_goes_to_queue() {
    let queue = Arc::new(Queue::default());
    let s = server(Some(queue.clone())).await;
    let ca = s.dir.path().join("ca.pem");
    std::fs::write(&ca, &s.cert_pem).unwrap();
    let script = format!(
        r#"
import smtplib, ssl
ctx = ssl.create_default_context(cafile="{ca}")
ctx.check_hostname = False
with smtplib.SMTP_SSL("127.0.0.1", {port}, context=ctx) as c:
    c.login("mjl@mox.example", "{pw}")
    for frm, hdr in [("other@mox.example", "mjl@mox.example"), ("mjl@mox.example", "other@mox.example")]:
        try:
            c.sendmail(frm, ["friend@remote.example"], "From: " + hdr + "\r\nSubject: x\r\n\r\nx\r\n")
            print("accepted")
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            print(e.smtp_code, e.smtp_error.decode())
        c.rset()
    c.sendmail("mjl+tag@mox.example", ["friend@remote.example", "other@mox.example"], "From: Mjl <mjl@mox.example>\r\nSubject: x\r\n\r\nhello\r\n", mail_options=["RET=HDRS", "ENVID=abc"], rcpt_options=["NOTIFY=FAILURE"])
    print("sent")
"#,
        ca = ca.display(),
        port = s.submissions.port(),
        pw = common::PASSWORD,
    );
    let out = tokio::task::spawn_blocking(move || run_python(&script)).await.unwrap();
    assert_eq!(
        out,
        "550 5.7.1 must match authenticated user\n550 5.7.1 message from address must belong to authenticated user\nsent\n"
    );
    let q = queue.0.lock().unwrap().clone();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].mail_from, "mjl+tag@mox.example");
    assert_eq!(q[0].recipients.len(), 1);
    assert_eq!(q[0].recipients[0].address, "friend@remote.example");
    assert!(q[0].recipients[0].notify.unwrap().failure);
    assert_eq!(q[0].ret, Some(runtime::DsnRet::Headers));
    assert_eq!(q[0].envid.as_deref(), Some("abc"));
    assert_eq!(q[0].account, "mjl");
    // What is queued starts with our header fields (Received, Message-Id, Date, DKIM
    // signatures) and ends with the message as submitted.
    let data = String::from_utf8_lossy(&q[0].data);
    assert!(data.starts_with("Received: from mail.mox.example"), "{data}");
    assert!(data.contains("DKIM-Signature: v=1;"));
    assert!(data.ends_with("From: Mjl <mjl@mox.example>\r\nSubject: x\r\n\r\nhello\r\n"));
    // The local recipient got it directly.
    assert_eq!(s.messages("other", "Inbox").len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn without_queue_remote_recipients_get_451() {
    let s = server(None).await;
    let mut c = Raw::connect(s.submission).await;
    c.reply().await;
    c.cmd("EHLO client.example").await;
    // Over plaintext (NoRequireSTARTTLS is not set): no AUTH, so no transaction.
    assert_eq!(
        c.cmd("AUTH PLAIN AG1qbEBtb3guZXhhbXBsZQB0ZXN0dGVzdA==").await,
        "538 5.7.11 authentication requires tls"
    );
    assert_eq!(c.cmd("MAIL FROM:<mjl@mox.example>").await, "530 5.7.0 authentication required");
    s.stop().await;

    let s = TestServer::start(Options {
        configure_session: Some(Box::new(|c: &mut smtpserver::SessionConfig| {
            c.require_tls_for_auth = false;
            c.require_tls_for_delivery = false;
        })),
        ..Default::default()
    })
    .await;
    let mut c = Raw::connect(s.submission).await;
    c.reply().await;
    c.cmd("EHLO client.example").await;
    assert_eq!(c.cmd("AUTH PLAIN AG1qbEBtb3guZXhhbXBsZQB0ZXN0dGVzdA==").await, "235 2.7.0 nice");
    assert_eq!(c.cmd("MAIL FROM:<mjl@mox.example>").await, "250 2.1.0 looking good");
    assert_eq!(
        c.cmd("RCPT TO:<friend@remote.example>").await,
        "451 4.3.0 remote delivery not available: this server has no queue running"
    );
    assert!(c.cmd("RCPT TO:<other@mox.example>").await.starts_with("250"));
    s.stop().await;
}
