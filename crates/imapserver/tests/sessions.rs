//! Two sessions on one account, driven in-process: what one changes reaches the other through
//! the change notifications: NOTIFY (RFC 5465), IDLE, the selected mailbox's updates after
//! commands, QRESYNC resynchronization (RFC 7162 §3.2.5) and the notification overflow.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

mod common;

use common::{Client, Harness, glob};

fn assert_lines(actual: &str, expected: &[&str]) {
    let lines: Vec<&str> = actual.split("\r\n").filter(|l| !l.is_empty()).collect();
    let ok = lines.len() == expected.len() && expected.iter().zip(&lines).all(|(e, a)| glob(e, a));
    assert!(ok, "expected:\n{}\nactual:\n{}", expected.join("\n"), lines.join("\n"));
}

fn logged_in(h: &Harness) -> Client {
    let mut c = h.session();
    c.login();
    c
}

#[test]
fn updates_after_commands_and_in_idle() {
    let h = Harness::new();
    let mut a = logged_in(&h);
    let mut b = logged_in(&h);
    a.cmd("s SELECT INBOX");
    b.cmd("s SELECT INBOX");
    b.cmd("a APPEND INBOX {7+}\r\nSubj: 1");
    b.cmd("a APPEND INBOX {7+}\r\nSubj: 2");
    // Not idle: nothing is sent until a command completes.
    assert_eq!(a.pump_changes(), "");
    // b saw the messages first (its own appends): they are \Recent there, not here.
    assert_lines(&a.cmd("n NOOP"), &["* 2 EXISTS", "* 0 RECENT", "n OK NOOP completed"]);
    // In IDLE, changes are sent as they happen.
    assert_lines(&a.cmd("i IDLE"), &["+ idling"]);
    b.cmd("f STORE 1 +FLAGS (\\Flagged)");
    assert_lines(&a.pump_changes(), &["* 1 FETCH (FLAGS (\\Flagged))"]);
    b.cmd("d STORE 2 +FLAGS (\\Deleted)");
    b.cmd("e EXPUNGE");
    // Flagged and expunged before a looked: only the expunge is worth telling.
    assert_lines(&a.pump_changes(), &["* 2 EXPUNGE"]);
    assert_lines(&a.cmd("DONE"), &["i OK IDLE terminated"]);
    // During FETCH (sequence numbers), an expunge waits; UID FETCH may report it.
    b.cmd("d STORE 1 +FLAGS (\\Deleted)");
    b.cmd("e EXPUNGE");
    assert_lines(
        &a.cmd("f FETCH 1 (UID)"),
        &["f OK [EXPUNGEISSUED] some messages were expunged meanwhile"],
    );
    assert_lines(&a.cmd("g UID FETCH 1:* (UID)"), &["* 1 EXPUNGE", "g OK UID FETCH completed"]);
    // The other session's own changes are not echoed back to it.
    assert_lines(&b.cmd("n NOOP"), &["n OK NOOP completed"]);
}

#[test]
fn notify_reports_other_mailboxes_and_names() {
    let h = Harness::new();
    let mut a = logged_in(&h);
    let mut b = logged_in(&h);
    b.cmd("c CREATE Lists");
    a.cmd("s SELECT INBOX");
    assert_lines(
        &a.cmd("n NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange))"),
        &["* STATUS \"Lists\" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY {*} UNSEEN 0)", "n OK NOTIFY completed"],
    );
    // A message in another mailbox: STATUS, at once (no command in progress).
    b.cmd("a APPEND Lists {7+}\r\nSubj: 1");
    assert_lines(
        &a.pump_changes(),
        &["* STATUS \"Lists\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY {*} UNSEEN 1)"],
    );
    // In the selected mailbox: EXISTS, at once, and the attributes MessageNew asked for.
    b.cmd("a APPEND INBOX {7+}\r\nSubj: 2");
    assert_lines(
        &a.pump_changes(),
        &["* 1 EXISTS", "* 1 RECENT", "* 1 FETCH (UID 1 FLAGS (\\Recent))"],
    );
    // Mailbox names, subscriptions and metadata.
    b.cmd("c CREATE Projects");
    // New mailboxes are subscribed as they are created.
    assert_lines(
        &a.pump_changes(),
        &["* LIST () \"/\" \"Projects\"", "* LIST (\\Subscribed) \"/\" \"Projects\""],
    );
    b.cmd("r RENAME Projects Work");
    assert_lines(&a.pump_changes(), &["* LIST () \"/\" \"Work\" (\"OLDNAME\" (\"Projects\"))"]);
    b.cmd("u UNSUBSCRIBE Work");
    assert_lines(&a.pump_changes(), &["* LIST () \"/\" \"Work\""]);
    b.cmd("d DELETE Work");
    assert_lines(&a.pump_changes(), &["* LIST (\\NonExistent) \"/\" \"Work\""]);
    b.cmd("m SETMETADATA Lists (/private/comment \"x\")");
    assert_lines(&a.pump_changes(), &["* METADATA \"Lists\" (/private/comment)"]);
    b.cmd("m SETMETADATA \"\" (/shared/admin \"x\")");
    assert_lines(&a.pump_changes(), &["* METADATA \"\" (/shared/admin)"]);
    // NOTIFY NONE: nothing more.
    a.cmd("n NOTIFY NONE");
    b.cmd("a APPEND Lists {7+}\r\nSubj: 3");
    assert_eq!(a.pump_changes(), "");
    // Bad event combinations (RFC 5465 §5).
    assert!(a.cmd("n NOTIFY SET (personal (MessageNew))").contains("n BAD"));
    assert!(a.cmd("n NOTIFY SET (personal (AnnotationChange))").contains("n NO [BADEVENT"));
    assert!(a.cmd("n NOTIFY SET (selected (MailboxName))").contains("n BAD"));
}

#[test]
fn qresync_select_reports_changes_since_known_modseq() {
    let h = Harness::new();
    let mut a = logged_in(&h);
    for n in 1..=4 {
        a.cmd(&format!("a APPEND INBOX {{7+}}\r\nSubj: {n}"));
    }
    let acc = h.account();
    let inbox = acc.mailbox("Inbox").unwrap().unwrap();
    let known = inbox.highest_modseq;
    a.cmd("e ENABLE QRESYNC");
    a.cmd("s SELECT INBOX");
    a.cmd("f STORE 2 +FLAGS (\\Flagged)");
    a.cmd("d STORE 3:4 +FLAGS (\\Deleted)");
    a.cmd("x EXPUNGE");
    a.cmd("u UNSELECT");
    // RFC 7162 §3.2.5.2: VANISHED (EARLIER) for the expunged UIDs among those known, and the
    // changed messages with their MODSEQ.
    let out = a.cmd(&format!("q SELECT INBOX (QRESYNC ({} {known} 1:4))", inbox.uid_validity));
    assert!(out.contains("* VANISHED (EARLIER) 3:4\r\n"), "{out}");
    assert!(glob("{*}* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ ({*}))\r\n{*}", &out), "{out}");
    assert!(!out.contains("* 1 FETCH"), "message 1 did not change: {out}");
    // Known UIDs narrow the VANISHED response.
    let out = a.cmd(&format!("q SELECT INBOX (QRESYNC ({} {known} 4))", inbox.uid_validity));
    assert!(out.contains("* VANISHED (EARLIER) 4\r\n"), "{out}");
}

#[test]
fn overflowed_notifications_resynchronize_from_the_store() {
    let h = Harness::new();
    let mut a = logged_in(&h);
    a.cmd("s SELECT INBOX");
    // More transactions than a's queue holds, nobody reading: it overflows, and a still
    // learns the exact state from the store.
    let acc = h.account();
    a.watch = Some(acc.watch_with_limit(5));
    for n in 0..10 {
        acc.deliver_bytes(
            "Inbox",
            format!("Subject: {n}\r\n\r\nx\r\n").as_bytes(),
            store::NewMessage::default(),
        )
        .unwrap();
    }
    let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
    acc.store_flags(
        inbox,
        &store::UidSet::single(3),
        store::FlagOp::Add,
        &store::Flags::system(store::SystemFlags::DELETED),
        None,
    )
    .unwrap();
    acc.expunge(inbox, None).unwrap();
    let out = a.pump_changes();
    assert_eq!(out, "", "not idle: nothing sent yet");
    assert_lines(&a.cmd("n NOOP"), &["* 9 EXISTS", "* 9 RECENT", "n OK NOOP completed"]);
    // The expunged message was never shown, so it is not reported; IDLE after an overflow
    // sends the state at once.
    assert_lines(&a.cmd("i IDLE"), &["+ idling"]);
    for n in 0..10 {
        acc.deliver_bytes(
            "Inbox",
            format!("Subject: {n}\r\n\r\nx\r\n").as_bytes(),
            store::NewMessage::default(),
        )
        .unwrap();
    }
    acc.store_flags(
        inbox,
        &store::UidSet::single(1),
        store::FlagOp::Add,
        &store::Flags::system(store::SystemFlags::DELETED),
        None,
    )
    .unwrap();
    acc.expunge(inbox, None).unwrap();
    assert_lines(&a.pump_changes(), &["* 1 EXPUNGE", "* 18 EXISTS", "* 18 RECENT"]);
}
