//! Direct delivery against real MX peers on 127.0.0.x:25 (Postfix and aiosmtpd), with a
//! loopback DNS server: MX order and fallback, retries on schedule, bounces with DSNs, null MX,
//! one connection per domain, local recipients, FUTURERELEASE and source addresses.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod common;

use std::time::Duration;

use common::*;
use queue::{Clock, Filter, NewMessage, NewRecipient, Notify, Recipient, RecipientState, Ret};

fn rcpt(address: &str) -> Recipient {
    Recipient::parse(address).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mx_in_order_with_fallback_to_postfix() {
    // mx1 (preference 10) listens nowhere; mx2 (20) is Postfix.
    let postfix = PostfixMx::start("127.0.0.12", &["bob@fallback.test"]);
    let q = TestQueue::start(TestQueueOptions {
        zone: "
            fallback.test MX 20 mx2.fallback.test
            fallback.test MX 10 mx1.fallback.test
            mx1.fallback.test A 127.0.0.11
            mx2.fallback.test A 127.0.0.12
        "
        .into(),
        ..Default::default()
    })
    .await;
    let ids = q
        .queue
        .add(NewMessage::new(
            Some("alice@mox.test".parse().unwrap()),
            vec![rcpt("bob@fallback.test")],
            message("fallback", "fallback"),
        ))
        .await
        .unwrap();
    q.wait_gone(ids[0]).await;
    // Postfix accepted it; its virtual agent writes the maildir a moment later.
    let delivered = wait_for("the maildir file", Duration::from_secs(30), || {
        let d = postfix.delivered("bob@fallback.test");
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(delivered.len(), 1, "postfix log:\n{}", postfix.log());
    let text = String::from_utf8_lossy(&delivered[0]);
    assert!(text.contains("Message-ID: <fallback@mox.test>"), "{text}");
    assert!(text.contains("Return-Path: <alice@mox.test>"), "{text}");
    // mx1 refused, so the first connection that worked was the second host's.
    assert_eq!(q.queue.stats().connections, 1);
    assert_eq!(q.queue.stats().delivered, 1);
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failure_bounces_with_dsn_and_notify_is_honoured() {
    let postfix = PostfixMx::start("127.0.0.13", &["known@bounce.test"]);
    let q = TestQueue::start(TestQueueOptions {
        zone: "bounce.test MX 10 mx.bounce.test\nmx.bounce.test A 127.0.0.13".into(),
        ..Default::default()
    })
    .await;
    let mut msg = NewMessage::new(
        Some("alice@mox.test".parse().unwrap()),
        vec![rcpt("known@bounce.test"), rcpt("unknown@bounce.test"), rcpt("quiet@bounce.test")],
        message("bounce", "bounce me"),
    );
    msg.account = Some("alice".into());
    msg.envid = Some("envelope-7".into());
    msg.recipients[1].orcpt = Some("rfc822;Unknown@Bounce.test".into());
    msg.recipients[2].notify = Some(Notify::NEVER);
    let ids = q.queue.add(msg).await.unwrap();
    assert_eq!(ids.len(), 1, "one entry for the one domain");
    q.wait_gone(ids[0]).await;
    wait_for("the maildir file", Duration::from_secs(30), || {
        (postfix.delivered("known@bounce.test").len() == 1).then_some(())
    })
    .await;

    // One DSN, for the unknown recipient only (NOTIFY=NEVER for the other), in alice's account.
    let dsns = wait_for("the DSN", Duration::from_secs(30), || {
        let dsns = q.local.account_messages("alice");
        (!dsns.is_empty()).then_some(dsns)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(q.local.account_messages("alice").len(), 1);
    let dsn = &dsns[0];
    let text = String::from_utf8_lossy(dsn);
    assert!(text.starts_with("Return-Path: <>\r\n"), "{text}");
    assert!(text.contains("Subject: mail delivery failed"));
    assert!(text.contains("References: <bounce@mox.test>"));
    assert!(text.contains("Content-Type: text/rfc822-headers"));
    assert!(text.contains("Subject: bounce me"), "the original header is returned");
    assert!(!text.contains("Hello, bounce me."), "but not the body (no RET=FULL)");
    let status = dsn_status(dsn);
    assert_eq!(status.field("Original-Envelope-Id"), Some("envelope-7"));
    assert_eq!(status.field("Reporting-MTA"), Some("dns; mail.mox.test"));
    assert_eq!(status.recipients.len(), 1);
    let r = &status.recipients[0];
    assert_eq!(r.field("Final-Recipient"), Some("rfc822;unknown@bounce.test"));
    assert_eq!(r.field("Original-Recipient"), Some("rfc822;Unknown@Bounce.test"));
    assert_eq!(r.field("Action"), Some("failed"));
    assert_eq!(r.field("Status"), Some("5.1.1"));
    assert_eq!(r.field("Remote-MTA"), Some("dns;mx.bounce.test (127.0.0.13)"));
    let diagnostic = r.field("Diagnostic-Code").unwrap();
    assert!(diagnostic.starts_with("smtp; 550 5.1.1"), "{diagnostic}");
    assert!(q.queue.list(&Filter::default()).unwrap().is_empty());
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_failures_retried_on_schedule_then_delayed_and_failed_dsns() {
    // Greylisting: the first two RCPTs get 451.
    let greylist = MxPeer::start("127.0.0.14", PeerOptions { tempfail: 2, ..Default::default() });
    let never =
        MxPeer::start("127.0.0.15", PeerOptions { tempfail_always: true, ..Default::default() });
    let q = TestQueue::start(TestQueueOptions {
        zone: "
            grey.test MX 10 mx.grey.test
            mx.grey.test A 127.0.0.14
            never.test MX 10 mx.never.test
            mx.never.test A 127.0.0.15
        "
        .into(),
        manual_clock: true,
        ..Default::default()
    })
    .await;
    let mut msg = NewMessage::new(
        Some("alice@mox.test".parse().unwrap()),
        vec![rcpt("a@grey.test"), rcpt("b@never.test")],
        message("retry", "retry"),
    );
    msg.account = Some("alice".into());
    let ids = q.queue.add(msg).await.unwrap();
    let (grey, never_id) = (ids[0], ids[1]);

    // Attempt 1 at once; the next comes 7.5 minutes later (give or take 5 seconds).
    let e = q.wait_attempts(grey, 1).await.unwrap();
    let wait = e.next_attempt_at().duration_since(t0()).unwrap().as_secs();
    assert!((445..=455).contains(&wait), "{wait}");
    assert!(e.last_error().contains("451"), "{}", e.last_error());
    assert_eq!(e.recipients[0].code, 451);
    assert_eq!(e.recipients[0].secode, "4.7.1");
    assert!(greylist.messages().is_empty());

    // Nothing happens before that time.
    q.advance(Duration::from_secs(400));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(q.queue.entry(grey).unwrap().attempts, 1);

    // Attempt 2 after 7.5 minutes, still greylisted; attempt 3 after 15 more: delivered.
    q.advance(Duration::from_secs(60));
    let e = q.wait_attempts(grey, 2).await.unwrap();
    let wait = e.next_attempt_at().duration_since(e.last_attempt_at().unwrap()).unwrap().as_secs();
    assert!((890..=910).contains(&wait), "15 minutes: {wait}");
    q.advance(Duration::from_secs(910));
    q.wait_gone(grey).await;
    assert_eq!(greylist.messages().len(), 1);
    assert_eq!(greylist.messages()[0].rcpt_tos, ["a@grey.test"]);

    // The other entry goes on failing: after 6 attempts (about 4 hours) a delayed DSN, after
    // 9 (about 32 hours) a failed one, and then it is gone.
    let mut attempts = q.wait_attempts(never_id, 1).await.unwrap().attempts;
    let mut elapsed = Duration::ZERO;
    while attempts < 9 {
        let e = q.queue.entry(never_id).unwrap();
        let until_next =
            e.next_attempt_at().duration_since(q.clock.as_ref().unwrap().now()).unwrap_or_default();
        q.advance(until_next + Duration::from_secs(1));
        elapsed += until_next;
        match q.wait_attempts(never_id, attempts + 1).await {
            Some(e) => {
                attempts = e.attempts;
                if attempts < 6 {
                    assert!(
                        q.local.account_messages("alice").is_empty(),
                        "no DSN before the 6th attempt"
                    );
                    assert!(!e.delay_dsn_sent);
                } else {
                    assert!(e.delay_dsn_sent);
                    let local = q.local.clone();
                    wait_for("the delayed DSN", Duration::from_secs(20), || {
                        (!local.account_messages("alice").is_empty()).then_some(())
                    })
                    .await;
                    assert_eq!(q.local.account_messages("alice").len(), 1, "one delayed DSN");
                }
            }
            None => break,
        }
    }
    q.wait_gone(never_id).await;
    let hours = elapsed.as_secs() as f64 / 3600.0;
    assert!((30.0..34.0).contains(&hours), "9 attempts span about 32 hours: {hours}");
    let dsns = wait_for("a delayed and a failed DSN", Duration::from_secs(20), || {
        let d = q.local.account_messages("alice");
        (d.len() >= 2).then_some(d)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(q.local.account_messages("alice").len(), 2);
    let delayed = dsn_status(&dsns[0]);
    assert_eq!(delayed.recipients[0].field("Action"), Some("delayed"));
    assert_eq!(delayed.recipients[0].field("Status"), Some("4.7.1"));
    assert!(delayed.recipients[0].field("Will-Retry-Until").is_some());
    assert!(
        String::from_utf8_lossy(&dsns[0])
            .contains("Next attempts to deliver: in 4 hours, 8 hours and 16 hours.")
    );
    let failed = dsn_status(&dsns[1]);
    assert_eq!(failed.recipients[0].field("Action"), Some("failed"));
    assert_eq!(failed.recipients[0].field("Final-Recipient"), Some("rfc822;b@never.test"));
    assert!(String::from_utf8_lossy(&dsns[1]).contains("giving up after 9 attempts"));
    assert_eq!(never.connections().len(), 9, "one connection per attempt");
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_mx_and_missing_domain_fail_at_once() {
    let q = TestQueue::start(TestQueueOptions {
        zone: "nullmx.test MX 0 .\nexists.test TXT \"x\"".into(),
        ..Default::default()
    })
    .await;
    let mut msg = NewMessage::new(
        Some("alice@mox.test".parse().unwrap()),
        vec![rcpt("x@nullmx.test"), rcpt("y@nxdomain.test")],
        message("nullmx", "null mx"),
    );
    msg.account = Some("alice".into());
    let ids = q.queue.add(msg).await.unwrap();
    q.wait_gone(ids[0]).await;
    q.wait_gone(ids[1]).await;
    let dsns = wait_for("two DSNs", Duration::from_secs(20), || {
        let d = q.local.account_messages("alice");
        (d.len() == 2).then_some(d)
    })
    .await;
    let statuses: Vec<String> = dsns
        .iter()
        .map(|d| dsn_status(d).recipients[0].field("Status").unwrap().to_string())
        .collect();
    assert!(statuses.contains(&"5.1.10".to_string()), "{statuses:?}");
    assert!(statuses.contains(&"5.1.2".to_string()), "{statuses:?}");
    let texts: Vec<String> = dsns.iter().map(|d| String::from_utf8_lossy(d).into_owned()).collect();
    assert!(texts.iter().any(|t| t.contains("does not accept email (null MX record, RFC 7505)")));
    assert_eq!(q.queue.stats().connections, 0);
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_recipients_in_twenty_domains_one_connection_each() {
    let peer = MxPeer::start("127.0.0.16", PeerOptions::default());
    let mut zone = String::from("mx.many.test A 127.0.0.16\n");
    for d in 0..20 {
        zone.push_str(&format!("d{d}.many.test MX 10 mx.many.test\n"));
    }
    let q = TestQueue::start(TestQueueOptions { zone, ..Default::default() }).await;
    let recipients: Vec<Recipient> =
        (0..100).map(|i| rcpt(&format!("user{}@d{}.many.test", i / 20, i % 20))).collect();
    let ids = q
        .queue
        .add(NewMessage::new(
            Some("alice@mox.test".parse().unwrap()),
            recipients,
            message("many", "many"),
        ))
        .await
        .unwrap();
    assert_eq!(ids.len(), 20);
    for id in &ids {
        q.wait_gone(*id).await;
    }
    let messages = peer.messages();
    assert_eq!(messages.len(), 20, "one transaction per domain");
    let mut all: Vec<String> = messages.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    assert!(messages.iter().all(|m| m.rcpt_tos.len() == 5));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 100);
    assert_eq!(peer.connections().len(), 20, "one connection per domain");
    assert_eq!(q.queue.stats().connections, 20);
    assert_eq!(q.queue.stats().delivered, 100);
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_recipients_go_into_the_store() {
    let datadir = tempfile::tempdir().unwrap();
    let peer = MxPeer::start("127.0.0.17", PeerOptions::default());
    let zone = "remote.test MX 10 mx.remote.test\nmx.remote.test A 127.0.0.17";
    let dns_zone = dns::MockResolver::from_zone(zone).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = std::sync::Arc::new(queue::StoreDelivery::new(
        datadir.path(),
        vec![dns::Domain::parse("local.test").unwrap()],
        [("mjl@local.test".parse().unwrap(), "mjl".to_string())],
    ));
    let mut settings = queue::Settings::new(dns::Domain::parse("mail.local.test").unwrap());
    settings.connect_timeout = Duration::from_secs(5);
    let queue = queue::Queue::builder(dir.path().join("queue"), settings)
        .resolver(std::sync::Arc::new(dns_zone))
        .local_delivery(local)
        .open()
        .unwrap();
    let runner = queue.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        runner
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    let mut msg = NewMessage::new(
        Some("mjl@local.test".parse().unwrap()),
        vec![rcpt("MJL@local.test"), rcpt("nobody@local.test"), rcpt("x@remote.test")],
        message("local", "local"),
    );
    msg.account = Some("mjl".into());
    let ids = queue.add(msg).await.unwrap();
    assert_eq!(ids.len(), 2);
    for id in &ids {
        let q = queue.clone();
        let id = *id;
        wait_for("delivery", Duration::from_secs(30), || q.entry(id).is_err().then_some(())).await;
    }
    assert_eq!(peer.messages().len(), 1);
    // mjl gets the message, and a DSN for nobody@local.test.
    let account = store::Account::open_existing(
        &store::DataDir::new(datadir.path()).account_dir("mjl").unwrap(),
    )
    .unwrap();
    let messages = wait_for("two messages in the Inbox", Duration::from_secs(20), || {
        let snapshot = account.snapshot().unwrap();
        let inbox = snapshot.mailbox("Inbox").unwrap().unwrap();
        let uids = snapshot.uids(inbox.id).unwrap();
        (uids.len() == 2).then(|| {
            uids.iter()
                .map(|uid| {
                    let m = snapshot.message_by_uid(inbox.id, *uid).unwrap().unwrap();
                    account.read_message(m.id).unwrap()
                })
                .collect::<Vec<_>>()
        })
    })
    .await;
    let texts: Vec<String> =
        messages.iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect();
    assert!(texts[0].contains("Message-ID: <local@mox.test>"), "{}", texts[0]);
    assert!(texts[0].starts_with("Return-Path: <mjl@local.test>"));
    assert!(texts[1].contains("mail delivery failed"), "{}", texts[1]);
    assert!(texts[1].contains("no such user: nobody@local.test"), "{}", texts[1]);
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futurerelease_holds_and_connections_leave_from_listener_ip() {
    let peer = MxPeer::start("127.0.0.18", PeerOptions::default());
    let q = TestQueue::start(TestQueueOptions {
        zone: "later.test MX 10 mx.later.test\nmx.later.test A 127.0.0.18".into(),
        manual_clock: true,
        settings: Box::new(|s| s.local_ips = vec!["127.0.0.19".parse().unwrap()]),
        ..Default::default()
    })
    .await;
    let mut msg = NewMessage::new(
        Some("alice@mox.test".parse().unwrap()),
        vec![rcpt("x@later.test")],
        message("later", "later"),
    );
    msg.hold_until = Some(t0() + Duration::from_secs(3600));
    msg.future_release_request = Some("for;3600".into());
    let ids = q.queue.add(msg).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let e = q.queue.entry(ids[0]).unwrap();
    assert_eq!(e.attempts, 0);
    assert_eq!(e.future_release_request.as_deref(), Some("for;3600"));
    q.advance(Duration::from_secs(3599));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(peer.messages().is_empty());
    q.advance(Duration::from_secs(1));
    q.wait_gone(ids[0]).await;
    let m = peer.messages();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].peer_ip, "127.0.0.19", "connections leave from the listener IP");
    // Too far ahead is refused.
    let mut msg = NewMessage::new(None, vec![rcpt("x@later.test")], message("x", "x"));
    msg.hold_until = Some(t0() + Duration::from_secs(61 * 24 * 3600));
    assert!(matches!(q.queue.add(msg).await, Err(queue::Error::HoldTooLong { .. })));
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dsn_parameters_passed_on_and_success_notices() {
    let dsn_peer = MxPeer::start("127.0.0.20", PeerOptions { dsn: true, ..Default::default() });
    let plain_peer = MxPeer::start("127.0.0.21", PeerOptions::default());
    let q = TestQueue::start(TestQueueOptions {
        zone: "
            dsn.test MX 10 mx.dsn.test
            mx.dsn.test A 127.0.0.20
            nodsn.test MX 10 mx.nodsn.test
            mx.nodsn.test A 127.0.0.21
        "
        .into(),
        ..Default::default()
    })
    .await;
    let mut msg = NewMessage::new(
        Some("alice@mox.test".parse().unwrap()),
        vec![rcpt("a@dsn.test"), rcpt("b@nodsn.test")],
        message("dsnparams", "dsn params"),
    );
    msg.account = Some("alice".into());
    msg.envid = Some("id+1=2".into());
    msg.ret = Some(Ret::Full);
    let success = Notify { success: true, failure: true, delay: false };
    msg.recipients = vec![
        NewRecipient {
            address: rcpt("a@dsn.test"),
            notify: Some(success),
            orcpt: Some("rfc822;A@dsn.test".into()),
        },
        NewRecipient { address: rcpt("b@nodsn.test"), notify: Some(success), orcpt: None },
    ];
    let ids = q.queue.add(msg).await.unwrap();
    for id in &ids {
        q.wait_gone(*id).await;
    }
    let m = &dsn_peer.messages()[0];
    assert!(m.mail_options.contains(&"RET=FULL".to_string()), "{:?}", m.mail_options);
    assert!(m.mail_options.contains(&"ENVID=ID+2B1+3D2".to_string()), "{:?}", m.mail_options);
    assert_eq!(m.rcpt_options, ["NOTIFY=SUCCESS,FAILURE ORCPT=RFC822;A@DSN.TEST"]);
    assert!(plain_peer.messages()[0].mail_options.iter().all(|o| !o.starts_with("RET")));
    // The server with DSN reports success itself; for the other we send a "relayed" notice.
    let dsns = wait_for("a success DSN", Duration::from_secs(20), || {
        let d = q.local.account_messages("alice");
        (!d.is_empty()).then_some(d)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(q.local.account_messages("alice").len(), 1);
    let status = dsn_status(&dsns[0]);
    assert_eq!(status.recipients[0].field("Action"), Some("relayed"));
    assert_eq!(status.recipients[0].field("Final-Recipient"), Some("rfc822;b@nodsn.test"));
    assert_eq!(status.field("Original-Envelope-Id"), Some("id+1=2"));
    q.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_list_kick_drop_dump() {
    let q = TestQueue::start(TestQueueOptions {
        zone:
            "slow.test MX 10 mx.slow.test\nmx.slow.test A 127.0.0.22\nother.test MX 10 mx.slow.test"
                .into(),
        manual_clock: true,
        ..Default::default()
    })
    .await;
    let msg = NewMessage::new(
        Some("alice@mox.test".parse().unwrap()),
        vec![rcpt("a@slow.test"), rcpt("b@other.test")],
        message("ops", "ops"),
    );
    let ids = q.queue.add(msg).await.unwrap();
    // Nothing listens on 127.0.0.22: both fail their first attempt.
    q.wait_attempts(ids[0], 1).await;
    q.wait_attempts(ids[1], 1).await;
    let all = q.queue.list(&Filter::default()).unwrap();
    assert_eq!(all.len(), 2);
    let text = queue::format_list(&all, q.clock.as_ref().unwrap().now());
    assert!(text.starts_with("messages:\n"), "{text}");
    assert!(text.contains("from:<alice@mox.test> to:<a@slow.test> attempts 1 next 7m"), "{text}");
    assert!(text.contains("connecting to 127.0.0.22 port 25"), "{text}");

    let by_domain = Filter { to_domain: Some("other.test".into()), ..Filter::default() };
    assert_eq!(q.queue.list(&by_domain).unwrap().len(), 1);
    let by_to = Filter { to: Some("@slow.test".into()), ..Filter::default() };
    assert_eq!(q.queue.list(&by_to).unwrap()[0].id, ids[0]);

    // Kick: attempted again at once, without moving the clock.
    assert_eq!(q.queue.kick(&Filter::id(ids[0])).await.unwrap(), 1);
    q.wait_attempts(ids[0], 2).await;
    assert_eq!(q.queue.entry(ids[1]).unwrap().attempts, 1);

    assert_eq!(q.queue.dump(ids[1]).unwrap(), message("ops", "ops"));
    let by_recipient = Filter { recipient: Some("B@other.test".into()), ..Filter::default() };
    assert_eq!(q.queue.drop_entries(&by_recipient).await.unwrap(), 1);
    assert!(q.queue.entry(ids[1]).is_err());
    assert!(q.queue.dump(ids[1]).is_err());
    assert_eq!(q.queue.list(&Filter::default()).unwrap().len(), 1);
    let e = q.queue.entry(ids[0]).unwrap();
    assert_eq!(e.recipients[0].state, RecipientState::Pending);
    q.stop().await;
}
