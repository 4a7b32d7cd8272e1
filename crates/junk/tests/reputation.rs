//! Reputation from an account's real history: each signal of mox's rules, through deliveries
//! and flag changes in a store account.

#![allow(clippy::unwrap_used)]

use junk::reputation::{Method, evaluate};
use store::{
    Account, FlagOp, Flags, MailboxId, NewMessage, Origin, SentRecipient, SpecialUse, UidSet,
};

fn now() -> i64 {
    store::Timestamp::now().unix
}

fn account() -> (tempfile::TempDir, Account, MailboxId) {
    let d = tempfile::tempdir().unwrap();
    let acc = Account::open_or_create(&d.path().join("acc")).unwrap();
    let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
    (d, acc, inbox)
}

/// An origin with only the given parts set.
fn from(addr: &str, validated: bool) -> Origin {
    let (lp, dom) = addr.split_once('@').unwrap();
    Origin {
        msg_from_localpart: lp.into(),
        msg_from_domain: dom.into(),
        msg_from_org_domain: dom
            .rsplitn(3, '.')
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("."),
        msg_from_validated: validated,
        ..Default::default()
    }
}

/// Delivers a message with `origin` to Inbox, flagged `$Junk` or `$NotJunk`.
fn deliver(acc: &Account, origin: Origin, junk: bool) {
    let flags = Flags::parse([if junk { "$Junk" } else { "$NotJunk" }]).unwrap();
    let new = NewMessage { origin: Some(origin), flags, ..Default::default() };
    acc.deliver_bytes("Inbox", b"Subject: x\r\n\r\nx\r\n", new).unwrap();
}

fn verdict(acc: &Account, inbox: MailboxId, o: &Origin) -> junk::reputation::Verdict {
    evaluate(&acc.snapshot().unwrap(), inbox, o, now()).unwrap()
}

#[test]
fn exact_from_address() {
    let (_d, acc, inbox) = account();
    let o = from("alice@example.org", true);
    assert_eq!(verdict(&acc, inbox, &o).method, Method::None);
    deliver(&acc, o.clone(), false);
    let v = verdict(&acc, inbox, &o);
    assert_eq!((v.junk, v.conclusive, v.method), (Some(false), true, Method::MsgFromFull));
    // The last one junk, the one before not: still accepted (one mistake may be accidental).
    deliver(&acc, o.clone(), true);
    assert_eq!(verdict(&acc, inbox, &o).junk, Some(false));
    deliver(&acc, o.clone(), true);
    let v = verdict(&acc, inbox, &o);
    assert_eq!((v.junk, v.conclusive), (Some(true), true));
    // Unvalidated: same address, but not conclusive; and only counts unvalidated history.
    let u = from("alice@example.org", false);
    let v = verdict(&acc, inbox, &u);
    assert_eq!((v.junk, v.method), (Some(true), Method::MsgFromFull));
    assert!(v.reason.contains("unvalidated message with validated historic"), "{}", v.reason);
    // Other mailboxes have their own reputation.
    let other = acc.create_mailbox("Lists", SpecialUse::NONE).unwrap();
    assert_eq!(verdict(&acc, other, &o).method, Method::None);
}

#[test]
fn sent_to_address_and_domains() {
    let (_d, acc, inbox) = account();
    acc.create_mailbox("Sent", SpecialUse::SENT).unwrap();
    let r = SentRecipient {
        localpart: "bob".into(),
        domain: "mail.example.com".into(),
        org_domain: "example.com".into(),
    };
    acc.deliver_bytes(
        "Sent",
        b"To: bob\r\n\r\nhi\r\n",
        NewMessage { sent_to: vec![r], ..Default::default() },
    )
    .unwrap();
    let v = verdict(&acc, inbox, &from("bob@mail.example.com", false));
    assert_eq!((v.junk, v.conclusive, v.method), (Some(false), true, Method::MsgToFull));
    let v = verdict(&acc, inbox, &from("carol@mail.example.com", true));
    assert_eq!((v.junk, v.conclusive, v.method), (Some(false), true, Method::MsgToDomain));
    let mut o = from("dave@other.example.com", true);
    o.msg_from_org_domain = "example.com".into();
    let v = verdict(&acc, inbox, &o);
    assert_eq!((v.junk, v.conclusive, v.method), (Some(false), true, Method::MsgToOrgDomain));
}

#[test]
fn from_domain_and_org_domain() {
    let (_d, acc, inbox) = account();
    // Mostly good messages from a domain: a new sender there is accepted.
    for i in 0..9 {
        deliver(&acc, from(&format!("u{i}@good.example"), true), false);
    }
    deliver(&acc, from("u9@good.example", true), true);
    let v = verdict(&acc, inbox, &from("new@good.example", true));
    assert_eq!((v.junk, v.conclusive, v.method), (Some(false), true, Method::MsgFromDomain));
    // All junk from two addresses: junk but not conclusive; from three: conclusive.
    deliver(&acc, from("a@bad.example", true), true);
    deliver(&acc, from("b@bad.example", true), true);
    let v = verdict(&acc, inbox, &from("c@bad.example", true));
    assert_eq!((v.junk, v.conclusive), (Some(true), false));
    deliver(&acc, from("c@bad.example", true), true);
    let v = verdict(&acc, inbox, &from("d@bad.example", true));
    assert_eq!((v.junk, v.conclusive, v.method), (Some(true), true, Method::MsgFromDomain));
    // Mixed: no opinion.
    deliver(&acc, from("a@mixed.example", true), true);
    deliver(&acc, from("b@mixed.example", true), false);
    let v = verdict(&acc, inbox, &from("c@mixed.example", true));
    assert_eq!((v.junk, v.method), (None, Method::MsgFromDomain));
    // Organizational domain: another subdomain of a known good organization.
    let mut o = from("x@a.org.example", true);
    o.msg_from_org_domain = "org.example".into();
    deliver(&acc, o, false);
    let mut o = from("y@b.org.example", true);
    o.msg_from_org_domain = "org.example".into();
    let v = verdict(&acc, inbox, &o);
    assert_eq!((v.junk, v.conclusive, v.method), (Some(false), true, Method::MsgFromOrgDomain));
}

#[test]
fn dkim_and_spf_domains() {
    let (_d, acc, inbox) = account();
    let dkim = |d: &str| Origin { dkim_domains: vec![d.into()], ..Default::default() };
    deliver(&acc, dkim("esp.example"), false);
    let v = verdict(&acc, inbox, &dkim("esp.example"));
    assert_eq!((v.junk, v.conclusive, v.method), (Some(false), true, Method::DkimSpf));
    // Negative: conclusive only with more than one message.
    deliver(&acc, dkim("spammy.example"), true);
    let v = verdict(&acc, inbox, &dkim("spammy.example"));
    assert_eq!((v.junk, v.conclusive), (Some(true), false));
    deliver(&acc, dkim("spammy.example"), true);
    assert!(verdict(&acc, inbox, &dkim("spammy.example")).conclusive);
    // Mixed signals from two domains: no opinion.
    let both = Origin {
        dkim_domains: vec!["esp.example".into(), "spammy.example".into()],
        ..Default::default()
    };
    assert_eq!(verdict(&acc, inbox, &both).junk, None);
    // SPF: the MAIL FROM domain counts only when verified.
    let spf = |verified| Origin {
        mail_from_localpart: "bounce".into(),
        mail_from_domain: "bulk.example".into(),
        mail_from_validated: verified,
        ..Default::default()
    };
    deliver(&acc, spf(true), true);
    assert_eq!(verdict(&acc, inbox, &spf(false)).method, Method::None);
    let v = verdict(&acc, inbox, &spf(true));
    assert_eq!((v.junk, v.method), (Some(true), Method::DkimSpf));
    // EHLO, when verified and MAIL FROM has no history.
    let ehlo = Origin {
        ehlo_domain: "mx.good.example".into(),
        ehlo_validated: true,
        ..Default::default()
    };
    deliver(&acc, ehlo.clone(), false);
    assert_eq!(verdict(&acc, inbox, &ehlo).junk, Some(false));
}

#[test]
fn ip_networks() {
    let (_d, acc, inbox) = account();
    let ip = |s: &str| Origin { remote_ip: Some(s.parse().unwrap()), ..Default::default() };
    deliver(&acc, ip("192.0.2.10"), true);
    let v = verdict(&acc, inbox, &ip("192.0.2.10"));
    assert_eq!(
        (v.junk, v.conclusive, v.method),
        (Some(true), false, Method::Ip1),
        "one message is not enough"
    );
    deliver(&acc, ip("192.0.2.10"), true);
    let v = verdict(&acc, inbox, &ip("192.0.2.10"));
    assert_eq!((v.junk, v.conclusive), (Some(true), true));
    assert!(v.reason.contains("192.0.2.10/32"), "{}", v.reason);
    // A neighbour in the /26: needs 5 messages.
    let v = verdict(&acc, inbox, &ip("192.0.2.20"));
    assert_eq!((v.junk, v.conclusive, v.method), (Some(true), false, Method::Ip2));
    for _ in 0..3 {
        deliver(&acc, ip("192.0.2.30"), true);
    }
    assert!(verdict(&acc, inbox, &ip("192.0.2.20")).conclusive);
    // The /21, and IPv6 /64.
    assert_eq!(verdict(&acc, inbox, &ip("192.0.7.1")).method, Method::Ip3);
    assert_eq!(verdict(&acc, inbox, &ip("192.0.8.1")).method, Method::None);
    deliver(&acc, ip("2001:db8:1:2::5"), false);
    let v = verdict(&acc, inbox, &ip("2001:db8:1:2::99"));
    assert_eq!((v.junk, v.method), (Some(false), Method::Ip1));
    assert!(v.reason.contains("/64"), "{}", v.reason);
}

#[test]
fn trash_unread_and_answered_count() {
    let (_d, acc, inbox) = account();
    let trash = acc.create_mailbox("Trash", SpecialUse::TRASH).unwrap();
    let o = from("promo@shop.example", true);
    acc.deliver_bytes("Inbox", b"x", NewMessage { origin: Some(o.clone()), ..Default::default() })
        .unwrap();
    assert_eq!(verdict(&acc, inbox, &o).method, Method::None, "unclassified");
    acc.move_messages(inbox, &UidSet::all(), trash).unwrap();
    let v = verdict(&acc, inbox, &o);
    assert_eq!((v.junk, v.method), (Some(true), Method::MsgFromFull), "moved to Trash unread");
    let o2 = from("friend@home.example", true);
    acc.deliver_bytes("Inbox", b"y", NewMessage { origin: Some(o2.clone()), ..Default::default() })
        .unwrap();
    acc.store_flags(
        inbox,
        &UidSet::all(),
        FlagOp::Add,
        &Flags::parse(["\\Answered"]).unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(verdict(&acc, inbox, &o2).junk, Some(false), "replied to");
}
