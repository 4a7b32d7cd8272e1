//! Junk filter training from IMAP: a message moved or copied into a Junk mailbox trains as
//! spam, `$NotJunk` (and the not-junk mailboxes of AutomaticJunkFlags) as ham; a flag change
//! untrains the old class first; an expunge forgets. The filter then equals what a retrain
//! builds from the account.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::Harness;
use imapserver::session::{Authenticator, MemoryAuthenticator, OpenError};

/// The in-memory logins, with quickstart AutomaticJunkFlags and a junk filter per account.
struct JunkLogins(Arc<MemoryAuthenticator>);

impl Authenticator for JunkLogins {
    fn credentials(&self, username: &str) -> Option<(String, sasl::StoredCredentials)> {
        self.0.credentials(username)
    }

    fn open_account(&self, account: &str) -> Result<store::Account, OpenError> {
        self.0.open_account(account)
    }

    fn junk(&self, _account: &str, opened: &store::Account) -> Option<junk::AccountJunk> {
        let dir = junk::Filter::dir_for_account(opened.dir());
        Some(junk::AccountJunk {
            rules: junk::AutomaticJunkFlags::quickstart().compile().unwrap(),
            filter: Some(junk::Filter::open(&dir, &junk::Params::default()).unwrap()),
        })
    }
}

fn append(c: &mut common::Client, mailbox: &str, flags: &str, msg: &str) {
    let r = c.send(&format!("a APPEND {mailbox} ({flags}) {{{}+}}\r\n{msg}\r\n", msg.len()));
    assert!(r.contains("a OK"), "{r}");
}

#[test]
fn flags_moves_copies_and_expunges_train() {
    let h = Harness::new();
    let auth = h.auth.clone();
    let h = h.with_config(|c| c.authenticator = Arc::new(JunkLogins(auth)));
    let acc = h.account();
    let filter =
        junk::Filter::open(&junk::Filter::dir_for_account(acc.dir()), &junk::Params::default())
            .unwrap();
    let counts = |w: &str| {
        let c = filter.word_counts(w);
        (c.ham, c.spam)
    };
    let mut c = h.session();
    c.login();
    assert!(c.cmd("a CREATE Junk (USE (\\Junk))").contains("a OK"));
    assert!(c.cmd("a CREATE Archive").contains("a OK"));
    let spam = "From: x@spam.example\r\nSubject: lottery\r\n\r\nclaim your lottery prize\r\n";
    let ham = "From: y@ham.example\r\nSubject: garden\r\n\r\ngarden party saturday\r\n";
    append(&mut c, "INBOX", "", spam);
    append(&mut c, "INBOX", "", ham);
    // Inbox is neutral: nothing trained yet.
    assert_eq!(counts("lottery"), (0, 0));
    assert!(c.cmd("a SELECT INBOX").contains("a OK"));

    // MOVE into Junk: $Junk is set, and the message trains as spam.
    let r = c.cmd("a MOVE 1 Junk");
    assert!(r.contains("a OK"), "{r}");
    assert_eq!(counts("lottery"), (0, 1));
    let junk_mb = acc.mailbox("Junk").unwrap().unwrap();
    let states = acc.snapshot().unwrap().message_states(junk_mb.id, &store::UidSet::all()).unwrap();
    assert!(states[0].flags.has_keyword("$junk"), "{:?}", states[0].flags);

    // $NotJunk by STORE: trains as ham.
    assert!(c.cmd("a STORE 1 +FLAGS.SILENT ($NotJunk)").contains("a OK"));
    assert_eq!(counts("garden"), (1, 0));
    // Changed to $Junk: untrained as ham first, then trained as spam (never counted twice).
    assert!(c.cmd("a STORE 1 FLAGS.SILENT ($Junk)").contains("a OK"));
    assert_eq!(counts("garden"), (0, 1));
    // Both flags: neither class.
    assert!(c.cmd("a STORE 1 +FLAGS.SILENT ($NotJunk)").contains("a OK"));
    assert_eq!(counts("garden"), (0, 0));
    // A \Seen change does not touch the filter, and the class stays what the flags say.
    assert!(c.cmd("a STORE 1 -FLAGS.SILENT ($Junk)").contains("a OK"));
    assert!(c.cmd("a STORE 1 +FLAGS.SILENT (\\Seen)").contains("a OK"));
    assert_eq!(counts("garden"), (1, 0));

    // COPY into Archive (not junk by the quickstart rules): a second ham message.
    assert!(c.cmd("a COPY 1 Archive").contains("a OK"));
    assert_eq!(counts("garden"), (2, 0));

    // APPEND to Junk: $Junk set on arrival, trained as spam.
    append(&mut c, "Junk", "\\Seen", "Subject: casino\r\n\r\ncasino bonus\r\n");
    assert_eq!(counts("casino"), (0, 1));

    // Expunged: forgotten.
    assert!(c.cmd("a STORE 1 +FLAGS.SILENT (\\Deleted)").contains("a OK"));
    assert!(c.cmd("a EXPUNGE").contains("a OK"));
    assert_eq!(counts("garden"), (1, 0));

    // CLOSE expunges too: forgotten as well.
    assert!(c.cmd("a SELECT Junk").contains("a OK"));
    assert!(c.cmd("a STORE 1 +FLAGS.SILENT (\\Deleted)").contains("a OK"));
    assert!(c.cmd("a CLOSE").contains("a OK"));
    assert_eq!(counts("lottery"), (0, 0));
    assert!(c.cmd("a SELECT INBOX").contains("a OK"));

    // The filter holds exactly what a retrain builds from the account.
    let words = ["lottery", "claim", "prize", "garden", "party", "casino", "bonus"];
    let before: Vec<_> = words.iter().map(|w| counts(w)).collect();
    let stats = filter.stats().unwrap();
    assert_eq!((stats.hams, stats.spams), (1, 1));
    drop(c);
    drop(filter);
    let dir = junk::Filter::dir_for_account(acc.dir());
    let rules = junk::AutomaticJunkFlags::quickstart().compile().unwrap();
    junk::train::retrain(&acc, &dir, &junk::Params::default(), &rules, &mut |_, _| {}).unwrap();
    let filter = junk::Filter::open(&dir, &junk::Params::default()).unwrap();
    let after: Vec<_> =
        words.iter().map(|w| (filter.word_counts(w).ham, filter.word_counts(w).spam)).collect();
    assert_eq!(after, before);
    let s = filter.stats().unwrap();
    assert_eq!((s.hams, s.spams, s.words), (stats.hams, stats.spams, stats.words));
}
