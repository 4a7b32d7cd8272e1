//! The junk filter end to end: Python's imaplib trains it over IMAP (ham appended to a
//! not-junk mailbox, spam moved into Junk, a flag mistake corrected), the next similar spam
//! over SMTP is refused as mox refuses it (451, a copy in Rejects) while ham is delivered, and
//! a retrain from the account gives exactly the same word database.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod common;

use std::sync::Arc;

use common::{Options, Raw, TestServer};
use smtpserver::directory::{Destination, Directory};

const ZONE: &str = r#"
1.0.0.127.in-addr.arpa      PTR   mail.remote.example
mail.remote.example         A     127.0.0.1
remote.example              MX    10 mail.remote.example
remote.example              TXT   "v=spf1 ip4:127.0.0.0/8 -all"
spammer.example             MX    10 mail.remote.example
spammer.example             TXT   "v=spf1 ?all"
"#;

/// Logins for the IMAP server: mjl's account as the SMTP server's directory opens it, with
/// quickstart AutomaticJunkFlags and the account's filter (the same one SMTP classifies with).
struct Logins {
    directory: Arc<smtpserver::directory::StaticDirectory>,
    credentials: sasl::StoredCredentials,
}

impl imapserver::session::Authenticator for Logins {
    fn credentials(&self, username: &str) -> Option<(String, sasl::StoredCredentials)> {
        (username == "mjl@mox.example").then(|| ("mjl".to_string(), self.credentials.clone()))
    }

    fn open_account(
        &self,
        account: &str,
    ) -> Result<store::Account, imapserver::session::OpenError> {
        Ok((*self.directory.open_account(account)?).clone())
    }

    fn junk(&self, _account: &str, opened: &store::Account) -> Option<junk::AccountJunk> {
        Some(junk::AccountJunk {
            rules: junk::AutomaticJunkFlags::quickstart().compile().unwrap(),
            filter: Some(
                junk::Filter::open(
                    &junk::Filter::dir_for_account(opened.dir()),
                    &junk::Params::default(),
                )
                .unwrap(),
            ),
        })
    }
}

const TRAIN: &str = r#"
import imaplib, random, sys
port = int(sys.argv[1])
r = random.Random(7)
ham_words = "project meeting agenda tomorrow budget review quarterly report team lunch schedule draft minutes colleague invoice attached thanks regards".split()
spam_words = "lottery winner prize claim casino bonus viagra pills cheap offer unsubscribe urgent cash free guaranteed million".split()
def msg(words, i, frm):
    body = " ".join(r.choice(words) for _ in range(40))
    subj = " ".join(r.choice(words) for _ in range(3))
    return ("From: %s\r\nTo: mjl@mox.example\r\nSubject: %s\r\nMessage-Id: <t%d@x>\r\n\r\n%s\r\n" % (frm, subj, i, body)).encode()
m = imaplib.IMAP4("127.0.0.1", port)
typ, data = m.login("mjl@mox.example", "testtest")
assert typ == "OK", data
for name in ("Archive", "Junk"):
    typ, data = m.create(name)
    assert typ == "OK", data
# Ham: appended to Archive, which AutomaticJunkFlags makes not-junk.
for i in range(60):
    typ, data = m.append("Archive", None, None, msg(ham_words, i, "colleague%d@work.example" % i))
    assert typ == "OK", data
# Spam: arrives in the (neutral) Inbox, the user moves it to Junk.
for i in range(30):
    typ, data = m.append("INBOX", None, None, msg(spam_words, 100 + i, "win%d@spammy.example" % i))
    assert typ == "OK", data
typ, data = m.select("INBOX")
assert typ == "OK" and data == [b"30"], data
typ, data = m.uid("MOVE", "1:*", "Junk")
assert typ == "OK", data
# A mistake, corrected: an archived message marked junk, then not junk again.
typ, data = m.select("Archive")
assert typ == "OK", data
typ, data = m.store("1", "+FLAGS", "($Junk)")
assert typ == "OK", data
typ, data = m.store("1", "FLAGS", "($NotJunk)")
assert typ == "OK", data
typ, data = m.fetch("1", "(FLAGS)")
assert b"$NotJunk" in data[0] and b"$Junk " not in data[0], data
typ, data = m.select("Junk")
typ, data = m.fetch("1", "(FLAGS)")
assert b"$Junk" in data[0], data
m.logout()
print("trained")
"#;

fn python(script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("running /usr/bin/python3 (apt install python3)");
    assert!(
        out.status.success(),
        "python failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_training_decides_smtp_delivery_and_retrain_reproduces() {
    let configure = |d: &mut smtpserver::directory::StaticDirectory| {
        d.set_junk_filter(
            "mjl",
            junk::JunkFilter { threshold: 0.95, params: junk::Params::default() },
        );
        d.set_automatic_junk_flags("mjl", junk::AutomaticJunkFlags::quickstart());
        d.add_address("mjl", "mjl@mox.example", Destination::default());
    };
    let s = TestServer::start(Options {
        zone: ZONE.into(),
        configure: Some(Box::new(configure)),
        ..Default::default()
    })
    .await;

    // IMAP on a free port, over the same account.
    let params = sasl::DeriveParams {
        scram_iterations: std::num::NonZeroU32::new(16).unwrap(),
        argon2_memory_kib: 64,
        argon2_passes: 1,
    };
    let logins = Logins {
        directory: s.directory.clone(),
        credentials: sasl::StoredCredentials::derive_with(common::PASSWORD, &params).unwrap(),
    };
    let session = Arc::new(imapserver::Config {
        hostname: "mail.mox.example".into(),
        authenticator: Arc::new(logins),
        login_limiter: Arc::new(imapserver::session::SimpleLoginLimiter::new(
            std::time::Duration::ZERO,
            std::time::Duration::ZERO,
            1000,
            std::time::Duration::from_secs(60),
        )),
        limits: Default::default(),
        append_limit: None,
        allow_plaintext_auth: true,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let imap_port = listener.local_addr().unwrap().port();
    let (stop_imap, stopped) = tokio::sync::watch::channel(false);
    let imap = tokio::spawn(imapserver::server::serve(
        listener,
        Arc::new(imapserver::server::ListenerConfig::new(session, None, false)),
        stopped,
    ));

    let out = tokio::task::spawn_blocking(move || python(TRAIN, &[&imap_port.to_string()]))
        .await
        .unwrap();
    assert!(out.contains("trained"), "{out}");

    let acc = s.directory.open_account("mjl").unwrap();
    let fdir = junk::Filter::dir_for_account(acc.dir());
    let filter = junk::Filter::open(&fdir, &junk::Params::default()).unwrap();
    let stats = filter.stats().unwrap();
    assert_eq!((stats.hams, stats.spams, stats.trained_messages), (60, 30, 90), "{stats:?}");
    assert_eq!(filter.word_counts("lottery").ham, 0);
    assert!(filter.word_counts("lottery").spam > 20);

    // The next similar spam over SMTP: refused as junk content, kept in Rejects.
    let mut c = Raw::connect(s.smtp).await;
    assert!(c.reply().await.starts_with("220"));
    assert!(c.cmd("EHLO mail.remote.example").await.starts_with("250"));
    let spam = "From: prizes@spammer.example\r\nTo: mjl@mox.example\r\nSubject: claim your prize\r\nMessage-Id: <s1@spammer.example>\r\n\r\nUrgent: you are the lottery winner of a million cash prize, claim your free casino bonus now, guaranteed.\r\n";
    let r = c.deliver("prizes@spammer.example", &["mjl@mox.example"], spam).await;
    assert!(r.starts_with("451 4.3.0 error processing"), "{r}");
    let rejects = s.messages("mjl", "Rejects");
    assert_eq!(rejects.len(), 1);
    assert!(rejects[0].prefix.starts_with("X-Mox-Reason: junk-content"), "{}", rejects[0].prefix);
    // Ham from a sender without history is delivered.
    let ham = "From: boss@remote.example\r\nTo: mjl@mox.example\r\nSubject: budget review\r\nMessage-Id: <h1@remote.example>\r\n\r\nThe project meeting agenda for tomorrow: budget review and the quarterly report draft.\r\n";
    let r = c.deliver("boss@remote.example", &["mjl@mox.example"], ham).await;
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(s.messages("mjl", "Inbox").len(), 1);

    // Retrain from the account: the same database, word for word.
    let before = filter.dump().unwrap();
    assert!(before.len() > 30, "{}", before.len());
    drop(filter);
    let _ = stop_imap.send(true);
    imap.await.unwrap();
    let _dir = s.stop_keep_dir().await;
    let rules = junk::AutomaticJunkFlags::quickstart().compile().unwrap();
    let r = tokio::task::spawn_blocking({
        let (acc, fdir) = (acc.clone(), fdir.clone());
        move || junk::train::retrain(&acc, &fdir, &junk::Params::default(), &rules, &mut |_, _| {})
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!((r.messages, r.hams, r.spams, r.unreadable), (92, 60, 30, 0), "{r:?}");
    let filter = junk::Filter::open(&fdir, &junk::Params::default()).unwrap();
    assert_eq!(filter.dump().unwrap(), before);
    let after = filter.stats().unwrap();
    assert_eq!((after.hams, after.spams, after.words), (stats.hams, stats.spams, stats.words));
}
