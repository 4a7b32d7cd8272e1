//! Incoming mail through the real server (tokio driver, Mailer, store): the checks and what
//! they leave in the stored message, delivery decisions, and special recipients.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Options, Raw, TestServer};
use smtpserver::directory::{Destination, Ruleset};

/// The zone every test uses; `KEY` is replaced by the DKIM record of [`key`].
const ZONE: &str = r#"
1.0.0.127.in-addr.arpa      PTR   mail.remote.example
mail.remote.example         A     127.0.0.1
mail.remote.example         TXT   "v=spf1 ip4:127.0.0.0/8 -all"
remote.example              MX    10 mail.remote.example
remote.example              TXT   "v=spf1 ip4:127.0.0.0/8 -all"
sel._domainkey.remote.example TXT "KEY"
_dmarc.remote.example       TXT   "v=DMARC1; p=reject"
neutral.example             MX    10 mail.remote.example
neutral.example             TXT   "v=spf1 ?all"
sel._domainkey.neutral.example TXT "KEY"
_dmarc.neutral.example      TXT   "v=DMARC1; p=none"
strict.example              MX    10 mail.remote.example
strict.example              TXT   "v=spf1 -all"
_dmarc.strict.example       TXT   "v=DMARC1; p=reject"
quarantine.example          MX    10 mail.remote.example
quarantine.example          TXT   "v=spf1 ?all"
_dmarc.quarantine.example   TXT   "v=DMARC1; p=quarantine"
nospf.example               MX    10 mail.remote.example
nullmx.example              MX    0 .
2.0.0.127.bl.example        A     127.0.0.2
3.0.0.127.bl.example        A     127.0.0.2
3.0.0.127.in-addr.arpa      PTR   mail.remote.example
mail.remote.example         A     127.0.0.3
"#;

fn key() -> dkim::PrivateKey {
    // One Ed25519 key per test process, so the record in the zone matches.
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let pem = PEM.get_or_init(|| dkim::PrivateKey::generate_ed25519().unwrap().to_pem());
    dkim::PrivateKey::from_pem(pem).unwrap()
}

fn zone() -> String {
    let record = dkim::Record::for_public_key(&key().public_key()).to_string();
    ZONE.replace("KEY", &record)
}

fn signed(domain: &str, body: &str) -> String {
    let msg = format!(
        "From: Alice <alice@{domain}>\r\nTo: mjl@mox.example\r\nSubject: test\r\nMessage-Id: <{}@{domain}>\r\n\r\n{body}\r\n",
        body.len()
    );
    let signer = dkim::Signer::new(
        dns::Domain::parse(domain).unwrap(),
        dkim::Selector::parse("sel").unwrap(),
        key(),
    );
    let headers = dkim::sign(&[signer], msg.as_bytes(), std::time::SystemTime::now()).unwrap();
    format!("{headers}{msg}")
}

async fn server() -> TestServer {
    TestServer::start(Options { zone: zone(), ..Default::default() }).await
}

async fn ehlo(addr: std::net::SocketAddr) -> Raw {
    let mut c = Raw::connect(addr).await;
    assert!(c.reply().await.starts_with("220 mail.mox.example ESMTP"));
    assert!(c.cmd("EHLO mail.remote.example").await.starts_with("250-mail.mox.example"));
    c
}

#[tokio::test]
async fn authenticated_message_passes_all_checks() {
    let s = server().await;
    let mut c = ehlo(s.smtp).await;
    let msg = signed("remote.example", "Hello mjl.");
    let r = c.deliver("alice@remote.example", &["mjl@mox.example"], &msg).await;
    assert_eq!(r, "250 2.2.0 it is done");
    let m = s.messages("mjl", "Inbox");
    assert_eq!(m.len(), 1);
    // Stored as sent; the added header fields are in the prefix only.
    assert_eq!(m[0].data, msg.as_bytes());
    // Unfolded (RFC 5322 §2.2.3).
    let p = &m[0].prefix.replace("\r\n\t", " ").replace("\r\n ", "  ");
    for want in [
        "Delivered-To: mjl@mox.example\r\n",
        "Return-Path: <alice@remote.example>\r\n",
        "Authentication-Results: mail.mox.example;",
        "iprev=pass (without dnssec) policy.iprev=127.0.0.1;",
        "dkim=pass header.d=remote.example header.s=sel header.a=ed25519-sha256 header.b=",
        "spf=pass smtp.mailfrom=remote.example;",
        "spf=pass smtp.helo=mail.remote.example;",
        "dmarc=pass (p=reject dis=none) header.from=remote.example",
        "Received-SPF: pass",
        "Received: from mail.remote.example ([127.0.0.1]) by mail.mox.example ([127.0.0.1]) via tcp with ESMTP id",
        "for <mjl@mox.example>;",
    ] {
        assert!(p.contains(want), "prefix lacks {want:?}:\n{p}");
    }
    // Received-SPF precedes Received (RFC 7208 §9.1), and all lines are folded.
    assert!(p.find("Received-SPF").unwrap() < p.find("Received: ").unwrap());
    assert!(m[0].prefix.split("\r\n").all(|l| l.len() <= 78), "{}", m[0].prefix);
    assert_eq!(m[0].mail_from, "alice@remote.example");
    s.stop().await;
}

#[tokio::test]
async fn tampered_message_has_dkim_fail() {
    let s = server().await;
    let mut c = ehlo(s.smtp).await;
    let msg =
        signed("neutral.example", "Original text.").replace("Original text.", "Tampered text.");
    let r = c.deliver("alice@neutral.example", &["mjl@mox.example"], &msg).await;
    assert_eq!(r, "250 2.2.0 it is done");
    let p = &s.messages("mjl", "Inbox")[0].prefix;
    assert!(p.contains("dkim=fail (body hash did not verify)"), "{p}");
    assert!(p.contains("header.d=neutral.example"), "{p}");
    assert!(p.contains("spf=neutral"), "{p}");
    assert!(p.contains("dmarc=fail (p=none dis=none)"), "{p}");
    s.stop().await;
}

#[tokio::test]
async fn dmarc_reject_and_rejects_mailbox() {
    let s = server().await;
    let mut c = ehlo(s.smtp).await;
    let msg = "From: ceo@strict.example\r\nSubject: wire the money\r\n\r\nNow.\r\n";
    let r = c.deliver("ceo@strict.example", &["mjl@mox.example"], msg).await;
    assert_eq!(
        r,
        "550 5.7.1 rejecting per dmarc policy (ID)"
            .replace("ID", &r[r.rfind('(').unwrap() + 1..r.len() - 1])
    );
    assert!(s.messages("mjl", "Inbox").is_empty());
    // A copy in Rejects, seen, with the reason; sending it again adds no second copy.
    let rejects = s.messages("mjl", "Rejects");
    assert_eq!(rejects.len(), 1);
    assert!(rejects[0].flags.system.contains(store::SystemFlags::SEEN));
    assert!(rejects[0].prefix.starts_with("X-Mox-Reason: dmarc-policy;"), "{}", rejects[0].prefix);
    let r = c.deliver("ceo@strict.example", &["mjl@mox.example"], msg).await;
    assert!(r.starts_with("550 5.7.1"));
    assert_eq!(s.messages("mjl", "Rejects").len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn dmarc_quarantine_goes_to_junk() {
    let s = server().await;
    let mut c = ehlo(s.smtp).await;
    let msg = "From: news@quarantine.example\r\nSubject: offer\r\n\r\nBuy.\r\n";
    let r = c.deliver("news@quarantine.example", &["mjl@mox.example"], msg).await;
    assert_eq!(r, "250 2.2.0 it is done");
    assert!(s.messages("mjl", "Inbox").is_empty());
    let junk = s.messages("mjl", "Junk");
    assert_eq!(junk.len(), 1);
    assert!(junk[0].flags.has_keyword("$junk"));
    assert!(
        junk[0].prefix.contains("dmarc=fail (p=quarantine dis=quarantine)"),
        "{}",
        junk[0].prefix
    );
    s.stop().await;
}

#[tokio::test]
async fn spf_fail_without_reputation_is_refused() {
    let s = server().await;
    let mut c = ehlo(s.smtp).await;
    // strict.example has "-all"; no DMARC policy applies because From is another domain.
    let msg = "From: someone@neutral.example\r\nSubject: hi\r\n\r\nhi\r\n";
    let r = c.deliver("bounce@strict.example", &["mjl@mox.example"], msg).await;
    assert!(r.starts_with("451 4.3.0 error processing"), "{r}");
    let rejects = s.messages("mjl", "Rejects");
    assert!(rejects[0].prefix.starts_with("X-Mox-Reason: spf-policy;"), "{}", rejects[0].prefix);
    s.stop().await;
}

#[tokio::test]
async fn dnsbl_listed_is_refused() {
    let s = TestServer::start(Options {
        zone: zone(),
        dnsbl_zones: vec!["bl.example".into()],
        ..Default::default()
    })
    .await;
    // 127.0.0.1 is a DNSBL's test entry that must never be listed (RFC 5782 §5): come from
    // 127.0.0.3, which the list has.
    let mut c = Raw::connect_from(s.smtp, Some("127.0.0.3".parse().unwrap())).await;
    assert!(c.reply().await.starts_with("220"));
    assert!(c.cmd("EHLO mail.remote.example").await.starts_with("250"));
    let r = c
        .deliver("alice@remote.example", &["mjl@mox.example"], &signed("remote.example", "x"))
        .await;
    assert!(r.starts_with("451 4.3.0"), "{r}");
    let rejects = s.messages("mjl", "Rejects");
    assert!(
        rejects[0].prefix.starts_with("X-Mox-Reason: dns-blocklisted;"),
        "{}",
        rejects[0].prefix
    );
    s.stop().await;
}

/// A ruleset with AcceptRejectsToMailbox takes what would be refused (here: a DNSBL listing)
/// into its mailbox with a 250, as mox does; the same message to another address is refused.
#[tokio::test]
async fn ruleset_accepts_rejects_to_its_mailbox() {
    let configure = |d: &mut smtpserver::directory::StaticDirectory| {
        let rs = Ruleset {
            smtp_mail_from: Some(regex::Regex::new(r"@remote\.example$").unwrap()),
            msg_from: None,
            verified_domain: None,
            headers: vec![],
            is_forward: false,
            list_allow_domain: None,
            accept_rejects_to_mailbox: Some("Accepted".into()),
            mailbox: "Remote".into(),
        };
        d.add_address(
            "mjl",
            "take-all@mox.example",
            Destination { rulesets: vec![rs], ..Default::default() },
        );
    };
    let s = TestServer::start(Options {
        zone: zone(),
        dnsbl_zones: vec!["bl.example".into()],
        configure: Some(Box::new(configure)),
        ..Default::default()
    })
    .await;
    let mut c = Raw::connect_from(s.smtp, Some("127.0.0.3".parse().unwrap())).await;
    assert!(c.reply().await.starts_with("220"));
    assert!(c.cmd("EHLO mail.remote.example").await.starts_with("250"));
    let r = c
        .deliver("alice@remote.example", &["take-all@mox.example"], &signed("remote.example", "x"))
        .await;
    assert!(r.starts_with("250"), "{r}");
    let r = c
        .deliver("alice@remote.example", &["mjl@mox.example"], &signed("remote.example", "y"))
        .await;
    assert!(r.starts_with("451 4.3.0"), "{r}");
    assert_eq!(s.messages("mjl", "Accepted").len(), 1);
    assert!(
        s.messages("mjl", "Remote").is_empty(),
        "the reject goes to the ruleset's reject mailbox"
    );
    assert!(s.messages("mjl", "Inbox").is_empty());
    s.stop().await;
}

#[tokio::test]
async fn rulesets_pick_mailboxes() {
    let configure = |d: &mut smtpserver::directory::StaticDirectory| {
        let rs = Ruleset {
            smtp_mail_from: Some(regex::Regex::new(r"@remote\.example$").unwrap()),
            msg_from: None,
            verified_domain: Some(dns::Domain::parse("remote.example").unwrap()),
            headers: vec![(
                regex::Regex::new("^list-id$").unwrap(),
                regex::Regex::new("<dev\\.remote").unwrap(),
            )],
            is_forward: false,
            list_allow_domain: None,
            accept_rejects_to_mailbox: None,
            mailbox: "Lists/Dev".into(),
        };
        d.add_address(
            "mjl",
            "lists@mox.example",
            Destination { rulesets: vec![rs], ..Default::default() },
        );
    };
    let s = TestServer::start(Options {
        zone: zone(),
        configure: Some(Box::new(configure)),
        ..Default::default()
    })
    .await;
    let mut c = ehlo(s.smtp).await;
    let with_list = signed("remote.example", "x")
        .replace("Subject: test", "Subject: test\r\nList-Id: <dev.remote.example>");
    assert!(
        c.deliver("alice@remote.example", &["lists@mox.example"], &with_list)
            .await
            .starts_with("250")
    );
    assert!(
        c.deliver("alice@remote.example", &["lists@mox.example"], &signed("remote.example", "y"))
            .await
            .starts_with("250")
    );
    assert_eq!(s.messages("mjl", "Lists/Dev").len(), 1);
    assert_eq!(s.messages("mjl", "Inbox").len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn first_time_sender_delay() {
    let s = TestServer::start(Options {
        zone: zone(),
        first_time_sender_delay: Duration::from_millis(700),
        ..Default::default()
    })
    .await;
    let mut c = ehlo(s.smtp).await;
    let start = Instant::now();
    assert!(
        c.deliver("alice@remote.example", &["mjl@mox.example"], &signed("remote.example", "x"))
            .await
            .starts_with("250")
    );
    assert!(start.elapsed() >= Duration::from_millis(700), "{:?}", start.elapsed());
    s.stop().await;
}

#[tokio::test]
async fn recipients() {
    let configure = |d: &mut smtpserver::directory::StaticDirectory| {
        d.add_alias("team@mox.example", &["mjl@mox.example", "other@mox.example"], true, true);
        d.add_address(
            "mjl",
            "closed@mox.example",
            Destination {
                smtp_error: Some(smtpserver::Reply::new(
                    550,
                    smtpserver::Ecode::ADDR_UNKNOWN_MAILBOX,
                    "address closed",
                )),
                ..Default::default()
            },
        );
    };
    let s = TestServer::start(Options {
        zone: zone(),
        configure: Some(Box::new(configure)),
        ..Default::default()
    })
    .await;
    let mut c = ehlo(s.smtp).await;
    assert_eq!(c.cmd("MAIL FROM:<alice@remote.example>").await, "250 2.1.0 looking good");
    assert_eq!(c.cmd("RCPT TO:<nobody@mox.example>").await, "550 5.1.1 no such user");
    assert_eq!(
        c.cmd("RCPT TO:<victim@elsewhere.example>").await,
        "550 5.1.1 not accepting email for domain"
    );
    assert_eq!(c.cmd("RCPT TO:<closed@mox.example>").await, "550 5.1.1 address closed");
    // Case and catchall separator; postmaster in every form; our own address literal.
    assert_eq!(c.cmd("RCPT TO:<MJL+tag@Mox.Example>").await, "250 2.1.0 now on the list");
    assert_eq!(c.cmd("RCPT TO:<Postmaster>").await, "250 2.1.0 now on the list");
    assert_eq!(c.cmd("RCPT TO:<postmaster@mox.example>").await, "250 2.1.0 now on the list");
    assert_eq!(c.cmd("RCPT TO:<postmaster@[127.0.0.1]>").await, "250 2.1.0 now on the list");
    assert_eq!(c.cmd("RCPT TO:<team@mox.example>").await, "250 2.1.0 now on the list");
    assert_eq!(c.cmd("DATA").await, "354 see you at the bare dot");
    c.send(&signed("remote.example", "to many")).await;
    assert_eq!(c.cmd(".").await, "250 2.2.0 it is done");
    // mjl+tag, three postmaster forms, and the alias to both members (mjl's address was
    // not given explicitly, mjl+tag was).
    assert_eq!(s.messages("mjl", "Inbox").len(), 5);
    let other = s.messages("other", "Inbox");
    assert_eq!(other.len(), 1);
    assert!(other[0].prefix.contains("Delivered-To: other@mox.example"));
    s.stop().await;
}

#[tokio::test]
async fn sender_checks() {
    let s = server().await;
    let mut c = ehlo(s.smtp).await;
    assert_eq!(
        c.cmd("MAIL FROM:<a@nullmx.example>").await,
        "550 5.7.27 mailfrom domain not configured for mail"
    );
    // A second recipient needs an SPF pass for MAIL FROM.
    assert_eq!(c.cmd("MAIL FROM:<a@nospf.example>").await, "250 2.1.0 looking good");
    assert!(c.cmd("RCPT TO:<mjl@mox.example>").await.starts_with("250"));
    assert_eq!(
        c.cmd("RCPT TO:<other@mox.example>").await,
        "452 4.5.3 only one recipient allowed without spf pass"
    );
    assert_eq!(c.cmd("RSET").await, "250 2.0.0 all clear");
    assert_eq!(c.cmd("MAIL FROM:<a@remote.example>").await, "250 2.1.0 looking good");
    assert!(c.cmd("RCPT TO:<mjl@mox.example>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<other@mox.example>").await.starts_with("250"));
    s.stop().await;
}

#[tokio::test]
async fn loop_detection() {
    let s = server().await;
    let mut c = ehlo(s.smtp).await;
    let msg = format!(
        "{}{}",
        "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n".repeat(101),
        signed("remote.example", "x")
    );
    let r = c.deliver("alice@remote.example", &["mjl@mox.example"], &msg).await;
    assert_eq!(r, "550 5.4.6 loop detected, more than 100 Received headers");
    s.stop().await;
}

#[tokio::test]
async fn localserve_special_localparts() {
    let s =
        TestServer::start(Options { zone: zone(), localserve: true, ..Default::default() }).await;
    let mut c = ehlo(s.smtp).await;
    assert_eq!(
        c.cmd("MAIL FROM:<mailfromtemperror@remote.example>").await,
        "451 4.0.0 failure with code 451 due to special localpart"
    );
    assert_eq!(
        c.cmd("MAIL FROM:<mailfrom552@remote.example>").await,
        "552 5.0.0 failure with code 552 due to special localpart"
    );
    assert_eq!(c.cmd("MAIL FROM:<alice@remote.example>").await, "250 2.1.0 looking good");
    assert_eq!(
        c.cmd("RCPT TO:<rcpttopermerror@mox.example>").await,
        "550 5.0.0 failure with code 550 due to special localpart"
    );
    // Unknown addresses go to the fallback account; a special local part fails at DATA.
    assert!(c.cmd("RCPT TO:<unknown@elsewhere.example>").await.starts_with("250"));
    assert_eq!(c.cmd("DATA").await, "354 see you at the bare dot");
    c.send(&signed("remote.example", "x")).await;
    assert_eq!(c.cmd(".").await, "250 2.2.0 it is done");
    assert_eq!(s.messages("mjl", "Inbox").len(), 1);
    assert!(c.cmd("MAIL FROM:<alice@remote.example>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<user451@mox.example>").await.starts_with("250"));
    assert_eq!(c.cmd("DATA").await, "354 see you at the bare dot");
    c.send(&signed("remote.example", "x")).await;
    let r = c.cmd(".").await;
    assert!(r.starts_with("451 4.0.0 failure with code 451 due to special localpart"), "{r}");
    s.stop().await;
}

/// Many concurrent sessions share the store's group commit; every 250 is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions() {
    let s = Arc::new(server().await);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let addr = s.smtp;
        tasks.push(tokio::spawn(async move {
            let mut c = ehlo(addr).await;
            for j in 0..5 {
                let r = c
                    .deliver(
                        "alice@remote.example",
                        &["mjl@mox.example"],
                        &signed("remote.example", &format!("{i}-{j}")),
                    )
                    .await;
                assert!(r.starts_with("250"), "{r}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.messages("mjl", "Inbox").len(), 40);
}

fn flag(s: &TestServer, account: &str, mailbox: &str, keyword: &str) {
    use smtpserver::directory::Directory;
    let acc = s.directory.open_account(account).unwrap();
    let mb = acc.mailbox(mailbox).unwrap().unwrap();
    let flags = store::Flags::parse([keyword]).unwrap();
    acc.store_flags(mb.id, &store::UidSet::all(), store::FlagOp::Add, &flags, None).unwrap();
}

/// Earlier messages from the same address that the user marked decide (mox's reputation, from
/// the account's indexed history): not junk → accepted at once (no first-time delay); junk →
/// refused and kept in Rejects.
#[tokio::test]
async fn reputation_from_history() {
    let s = TestServer::start(Options {
        zone: zone(),
        first_time_sender_delay: Duration::from_millis(1500),
        ..Default::default()
    })
    .await;
    let mut c = ehlo(s.smtp).await;
    let start = Instant::now();
    assert!(
        c.deliver("alice@remote.example", &["mjl@mox.example"], &signed("remote.example", "first"))
            .await
            .starts_with("250")
    );
    assert!(start.elapsed() >= Duration::from_millis(1500), "first-time sender is delayed");
    flag(&s, "mjl", "Inbox", "$NotJunk");
    let start = Instant::now();
    assert!(
        c.deliver(
            "alice@remote.example",
            &["mjl@mox.example"],
            &signed("remote.example", "second")
        )
        .await
        .starts_with("250")
    );
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "known sender is not delayed: {:?}",
        start.elapsed()
    );
    let m = s.messages("mjl", "Inbox");
    assert!(m[1].prefix.starts_with("X-Mox-Reason: msgfromfull;"), "{}", m[1].prefix);

    // Now the user calls this sender's messages junk.
    flag(&s, "mjl", "Inbox", "$Junk");
    let r = c
        .deliver("alice@remote.example", &["mjl@mox.example"], &signed("remote.example", "third"))
        .await;
    assert!(r.starts_with("451 4.3.0 error processing"), "{r}");
    let rejects = s.messages("mjl", "Rejects");
    assert_eq!(rejects.len(), 1);
    assert!(rejects[0].prefix.starts_with("X-Mox-Reason: msgfromfull;"), "{}", rejects[0].prefix);
    s.stop().await;
}

/// The account's junk filter judges content from senders without reputation.
#[tokio::test]
async fn junk_filter_content() {
    let configure = |d: &mut smtpserver::directory::StaticDirectory| {
        d.set_junk_filter(
            "mjl",
            junk::JunkFilter { threshold: 0.95, params: junk::Params::default() },
        );
    };
    let s = TestServer::start(Options {
        zone: zone(),
        configure: Some(Box::new(configure)),
        ..Default::default()
    })
    .await;
    {
        use smtpserver::directory::Directory;
        let acc = s.directory.open_account("mjl").unwrap();
        let filter =
            junk::Filter::open(&acc.dir().join("junkfilter"), &junk::Params::default()).unwrap();
        let mut training = filter.training().unwrap();
        for i in 0..60u64 {
            let ham =
                format!("Subject: meeting\r\n\r\nThe project meeting agenda for tomorrow {i}\r\n");
            let spam = format!(
                "Subject: winner\r\n\r\nYou are a lottery winner, claim your prize {i}\r\n"
            );
            training
                .set_class(store::MessageId(1_000_000 + 2 * i), Some(junk::Class::Ham), || {
                    Ok(filter.words(ham.as_bytes()))
                })
                .unwrap();
            training
                .set_class(store::MessageId(1_000_001 + 2 * i), Some(junk::Class::Spam), || {
                    Ok(filter.words(spam.as_bytes()))
                })
                .unwrap();
        }
        training.commit().unwrap();
    }
    let mut c = ehlo(s.smtp).await;
    let spam = signed("remote.example", "You are a lottery winner, claim your prize now.");
    let r = c.deliver("alice@remote.example", &["mjl@mox.example"], &spam).await;
    assert!(r.starts_with("451 4.3.0"), "{r}");
    let rejects = s.messages("mjl", "Rejects");
    assert!(rejects[0].prefix.starts_with("X-Mox-Reason: junk-content"), "{}", rejects[0].prefix);
    let ham = signed("remote.example", "The agenda for the project meeting tomorrow.");
    assert!(c.deliver("alice@remote.example", &["mjl@mox.example"], &ham).await.starts_with("250"));
    s.stop().await;
}

/// Delivery rates per network and account come from the account's history index.
#[tokio::test]
async fn delivery_rate_limits() {
    let limits = smtpserver::limits::LimitSettings {
        messages_per_minute: [2, 100, 100],
        ..smtpserver::limits::LimitSettings::unlimited()
    };
    let s = TestServer::start(Options { zone: zone(), limits, ..Default::default() }).await;
    let mut c = ehlo(s.smtp).await;
    for i in 0..2 {
        let r = c
            .deliver(
                "alice@remote.example",
                &["mjl@mox.example"],
                &signed("remote.example", &format!("{i}")),
            )
            .await;
        assert!(r.starts_with("250"), "{r}");
    }
    let r = c
        .deliver("alice@remote.example", &["mjl@mox.example"], &signed("remote.example", "3"))
        .await;
    assert!(r.starts_with("452 4.2.2 too many messages from your ip/network recently"), "{r}");
    // Another account is counted on its own.
    assert!(
        c.deliver("alice@remote.example", &["other@mox.example"], &signed("remote.example", "x"))
            .await
            .starts_with("250")
    );
    s.stop().await;
}

/// Delivered messages train the account's filter as mox's AutomaticJunkFlags say: a message
/// delivered to a not-junk mailbox gets $NotJunk and trains as ham, one delivered to Inbox
/// (neutral) trains nothing.
#[tokio::test]
async fn delivery_trains_the_filter() {
    let configure = |d: &mut smtpserver::directory::StaticDirectory| {
        d.set_junk_filter(
            "mjl",
            junk::JunkFilter { threshold: 0.95, params: junk::Params::default() },
        );
        d.set_automatic_junk_flags("mjl", junk::AutomaticJunkFlags::quickstart());
        d.add_address(
            "mjl",
            "archive@mox.example",
            Destination { mailbox: Some("Archive".into()), ..Default::default() },
        );
    };
    let s = TestServer::start(Options {
        zone: zone(),
        configure: Some(Box::new(configure)),
        ..Default::default()
    })
    .await;
    let mut c = ehlo(s.smtp).await;
    let msg = signed("remote.example", "quarterly gardening newsletter");
    assert!(
        c.deliver("alice@remote.example", &["archive@mox.example"], &msg).await.starts_with("250")
    );
    let archived = s.messages("mjl", "Archive");
    assert_eq!(archived.len(), 1);
    assert!(archived[0].flags.has_keyword("$notjunk"), "{:?}", archived[0].flags);
    let msg = signed("remote.example", "gardening tips inbox");
    assert!(c.deliver("alice@remote.example", &["mjl@mox.example"], &msg).await.starts_with("250"));
    let inbox = s.messages("mjl", "Inbox");
    assert!(!inbox[0].flags.has_keyword("$notjunk") && !inbox[0].flags.has_keyword("$junk"));
    {
        use smtpserver::directory::Directory;
        let acc = s.directory.open_account("mjl").unwrap();
        let filter =
            junk::Filter::open(&acc.dir().join("junkfilter"), &junk::Params::default()).unwrap();
        assert_eq!(filter.word_counts("newsletter"), junk::Counts { ham: 1, spam: 0 });
        assert_eq!(filter.word_counts("gardening"), junk::Counts { ham: 1, spam: 0 });
        assert_eq!(filter.word_counts("inbox"), junk::Counts::default());
        let stats = filter.stats().unwrap();
        assert_eq!((stats.hams, stats.spams, stats.trained_messages), (1, 0, 1));
    }
    s.stop().await;
}

/// Rejected messages older than 14 days leave the Rejects mailbox when the next one is kept
/// (mox's TidyRejectsMailbox); with KeepRejects they stay.
#[tokio::test]
async fn old_rejects_are_removed() {
    for keep in [false, true] {
        let configure = move |d: &mut smtpserver::directory::StaticDirectory| {
            d.add_account(
                "mjl",
                None,
                smtpserver::directory::AccountSettings {
                    rejects_mailbox: Some("Rejects".into()),
                    keep_rejects: keep,
                    ..Default::default()
                },
            );
        };
        let s = TestServer::start(Options {
            zone: zone(),
            configure: Some(Box::new(configure)),
            ..Default::default()
        })
        .await;
        {
            use smtpserver::directory::Directory;
            let acc = s.directory.open_account("mjl").unwrap();
            acc.ensure_mailbox("Rejects").unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            for (i, age_days) in [20, 15, 1].iter().enumerate() {
                let new = store::NewMessage {
                    received: Some(store::Timestamp {
                        unix: now - age_days * 24 * 3600,
                        offset_minutes: 0,
                    }),
                    ..Default::default()
                };
                acc.deliver_bytes(
                    "Rejects",
                    format!("Subject: old {i}\r\n\r\nx\r\n").as_bytes(),
                    new,
                )
                .unwrap();
            }
        }
        // An SPF fail from a sender without history: rejected, kept in Rejects.
        let mut c = ehlo(s.smtp).await;
        let r = c
            .deliver(
                "bounce@strict.example",
                &["mjl@mox.example"],
                "From: someone@neutral.example\r\nSubject: hi\r\n\r\nhi\r\n",
            )
            .await;
        assert!(r.starts_with("451"), "{r}");
        let rejects = s.messages("mjl", "Rejects");
        assert_eq!(rejects.len(), if keep { 4 } else { 2 }, "keep {keep}");
        s.stop().await;
    }
}

/// SubjectPass: a first-time sender with DMARC pass from a blocklisted IP is refused
/// permanently with a token; the same message sent again with the token in its subject is
/// delivered (reason `subjectpass`), and a token for another sender does not work.
#[tokio::test]
async fn subject_pass_token_lets_a_retry_through() {
    let configure = |d: &mut smtpserver::directory::StaticDirectory| {
        d.add_account(
            "mjl",
            None,
            smtpserver::directory::AccountSettings {
                rejects_mailbox: Some("Rejects".into()),
                subject_pass_period: Some(Duration::from_secs(12 * 3600)),
                ..Default::default()
            },
        );
    };
    let s = TestServer::start(Options {
        zone: zone(),
        dnsbl_zones: vec!["bl.example".into()],
        configure: Some(Box::new(configure)),
        ..Default::default()
    })
    .await;
    // Signed after the subject is set: DKIM (and so DMARC) must pass.
    let signed_with_subject = |subject: &str| {
        let msg = format!(
            "From: Alice <alice@remote.example>\r\nTo: mjl@mox.example\r\nSubject: {subject}\r\nMessage-Id: <sp{}@remote.example>\r\n\r\nplease read\r\n",
            subject.len()
        );
        let signer = dkim::Signer::new(
            dns::Domain::parse("remote.example").unwrap(),
            dkim::Selector::parse("sel").unwrap(),
            key(),
        );
        let headers = dkim::sign(&[signer], msg.as_bytes(), std::time::SystemTime::now()).unwrap();
        format!("{headers}{msg}")
    };
    let mut c = Raw::connect_from(s.smtp, Some("127.0.0.3".parse().unwrap())).await;
    assert!(c.reply().await.starts_with("220"));
    assert!(c.cmd("EHLO mail.remote.example").await.starts_with("250"));
    let r = c
        .deliver("alice@remote.example", &["mjl@mox.example"], &signed_with_subject("hello"))
        .await;
    assert!(r.starts_with("550 5.7.1 Your message resembles spam."), "{r}");
    let token = regex::Regex::new(r"\(pass:[A-Za-z0-9_-]+\)")
        .unwrap()
        .find(&r)
        .unwrap()
        .as_str()
        .to_string();
    // A token that was tampered with does not pass.
    let mut bad = token.clone();
    bad.replace_range(7..8, if &token[7..8] == "A" { "B" } else { "A" });
    let r = c
        .deliver(
            "alice@remote.example",
            &["mjl@mox.example"],
            &signed_with_subject(&format!("hello {bad}")),
        )
        .await;
    assert!(r.starts_with("550 5.7.1"), "{r}");
    let r = c
        .deliver(
            "alice@remote.example",
            &["mjl@mox.example"],
            &signed_with_subject(&format!("hello {token}")),
        )
        .await;
    assert!(r.starts_with("250"), "{r}");
    let inbox = s.messages("mjl", "Inbox");
    assert_eq!(inbox.len(), 1);
    assert!(inbox[0].prefix.starts_with("X-Mox-Reason: subjectpass;"), "{}", inbox[0].prefix);
    s.stop().await;
}
