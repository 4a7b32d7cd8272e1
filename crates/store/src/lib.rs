//! Accounts, mailboxes and messages for a mail server: one LMDB environment per account
//! (through heed) for the indexes and small messages, one file per larger message. This is what the IMAP and SMTP servers
//! store mail with, and what `mox import`, `export`, `backup` and `verifydata` work on.
//!
//! # Layout
//!
//! ```text
//! <data-dir>/accounts/<name>/data.mdb      LMDB: mailboxes, message records and states, indexes,
//!                                          messages up to 64 KiB (the inline limit)
//! <data-dir>/accounts/<name>/msg/<id/4096>/<id>   larger messages' files, at most 4096 per directory
//! <data-dir>/accounts/<name>/tmp/          unused; files earlier versions left are removed
//! <data-dir>/accounts/<name>/account.lock  held by the one process that writes the account
//! ```
//!
//! # Model
//!
//! - [`Mailbox`]es have `/`-separated Unicode names, a UIDVALIDITY, UIDNEXT, special-use
//!   attributes (RFC 6154) and counts (messages, unseen, deleted, size); subscriptions are a
//!   separate set of names, as IMAP has them.
//! - Each message has a per-mailbox UID, an account-wide MODSEQ (RFC 7162: one per
//!   transaction, strictly increasing), system flags and keywords ([`Flags`]), its size,
//!   received time, the header lines added at delivery (kept in the database and served
//!   before the file, so the file is never rewritten), and its MIME structure parsed once by
//!   the `message` crate ([`structure::Part`]).
//! - Expunges leave tombstones with their MODSEQ, so [`Snapshot::changes_since`] gives what
//!   CONDSTORE/QRESYNC need (changed messages and vanished UIDs) without scanning the mailbox.
//! - Reading goes through a [`Snapshot`] (one LMDB read transaction): cheap enumeration of
//!   (UID, flags, MODSEQ) by UID range, single messages without loading the mailbox.
//! - Every committed transaction's [`Changes`] are published in commit order to the
//!   [`ChangeReceiver`]s from [`Account::watch`] (for IMAP IDLE).
//!
//! # Durability
//!
//! [`Account::deliver`] returns only when the message is on disk: the LMDB transaction holding
//! its record (and, up to the inline limit, its bytes: see [`Account::set_inline_limit`]) is
//! committed, and a larger message's file, written in place under its message id (handed out
//! when the file is created), was fsynced with its directory before that commit. Concurrent
//! deliveries share one transaction and its flushes (group commit). After a crash nothing half-written is visible:
//! every commit records the smallest id that may not be committed yet, so files of
//! interrupted writes are told apart from missing messages, and opening the account removes
//! them.
//!
//! # Example
//!
//! ```
//! use store::{Account, FlagOp, Flags, NewMessage, UidSet};
//!
//! let dir = tempfile::tempdir()?;
//! let account = Account::open_or_create(&dir.path().join("accounts/mjl"))?;
//! let mut changes = account.watch();
//!
//! let d = account.deliver_bytes("Inbox", b"Subject: hi\r\n\r\nHello!\r\n", NewMessage::default())?;
//! assert_eq!(d.uid, 1);
//! let inbox = account.mailbox("INBOX")?.expect("every account has an Inbox");
//! assert_eq!(inbox.counts.unseen, 1);
//!
//! let seen = Flags::parse(["\\Seen", "$Important"])?;
//! let out = account.store_flags(inbox.id, &UidSet::all(), FlagOp::Add, &seen, None)?;
//! assert!(out.modseq.unwrap() > d.modseq);
//!
//! let snapshot = account.snapshot()?;
//! let states = snapshot.message_states(inbox.id, &UidSet::all())?;
//! assert_eq!((states[0].uid, states[0].flags.has_keyword("$important")), (1, true));
//! assert_eq!(account.read_message(d.id)?, b"Subject: hi\r\n\r\nHello!\r\n");
//!
//! // One notification per committed transaction, in commit order.
//! assert_eq!(changes.try_recv().unwrap().modseq, Some(d.modseq));
//! assert_eq!(changes.try_recv().unwrap().modseq, out.modseq);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Unsafe code
//!
//! Denied rather than forbidden: opening an LMDB environment is `unsafe` in heed (a memory
//! map), which this crate does in exactly one function, with its safety argument.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod account;
pub mod annotations;
mod append;
pub mod backup;
mod bodies;
mod changes;
mod codec;
mod datadir;
mod deliver;
mod error;
pub mod export;
mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod history;
mod ids;
pub mod import;
mod login;
mod mailbox;
mod maildir;
mod mbox;
mod messages;
mod progress;
mod removals;
mod savedate;
mod scan;
mod snapshot;
pub mod structure;
mod time;
mod types;
pub mod verify;

pub use account::{Account, OpenOptions};
pub use append::AppendMessage;
pub use bodies::DEFAULT_INLINE_LIMIT;
pub use changes::{Change, ChangeReceiver, Changes, MAX_QUEUED_CHANGES};
pub use codec::MailboxCounts;
pub use datadir::{DataDir, check_account_name};
pub use deliver::{Delivered, MessageWriter, NewMessage, PreparedMessage};
pub use error::Error;
pub use files::{FILES_PER_DIR, MessageReader, message_path};
pub use history::{Origin, SentRecipient};
pub use mailbox::{MAX_MAILBOX_NAME_LEN, normalize_mailbox_name};
pub use messages::{FlagOp, StoreOutcome};
pub use progress::{NoProgress, Progress};
pub use snapshot::{Mailbox, MailboxChanges, Message, MessageState, Snapshot};
pub use types::{
    Flags, Keyword, LineEnding, MAX_KEYWORD_LEN, MailboxId, MessageId, SpecialUse, SystemFlags,
    Timestamp, UidSet,
};

#[cfg(test)]
mod test_util {
    use crate::{Account, NewMessage};

    pub(crate) fn account() -> (tempfile::TempDir, Account) {
        let dir = tempfile::tempdir().unwrap();
        let acc = Account::open_or_create(&dir.path().join("acc")).unwrap();
        (dir, acc)
    }

    /// An account that writes every message to a file (inline limit 0), for tests of files.
    pub(crate) fn file_account() -> (tempfile::TempDir, Account) {
        let (dir, acc) = account();
        acc.set_inline_limit(0);
        (dir, acc)
    }

    pub(crate) fn msg(n: u32) -> Vec<u8> {
        format!("From: a@example.org\r\nSubject: message {n}\r\n\r\nBody {n}\r\n").into_bytes()
    }

    pub(crate) fn deliver(acc: &Account, mailbox: &str, n: u32) -> crate::Delivered {
        acc.deliver_bytes(mailbox, &msg(n), NewMessage::default()).unwrap()
    }
}
