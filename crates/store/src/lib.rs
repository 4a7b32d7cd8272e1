//! Accounts, mailboxes and messages for a mail server: LMDB (through heed) for the indexes,
//! one file per message.
//!
//! placeholder docs
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod account;
pub mod backup;
mod changes;
mod codec;
mod datadir;
mod deliver;
mod error;
pub mod export;
mod files;
pub mod import;
mod mailbox;
mod maildir;
mod mbox;
mod messages;
mod progress;
mod snapshot;
pub mod structure;
mod time;
mod types;
pub mod verify;

pub use account::{Account, OpenOptions};
pub use changes::{Change, ChangeReceiver, Changes};
pub use codec::MailboxCounts;
pub use datadir::{DataDir, check_account_name};
pub use deliver::{Delivered, MessageWriter, NewMessage, PreparedMessage};
pub use error::Error;
pub use files::{FILES_PER_DIR, MessageReader, message_path};
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

    pub(crate) fn msg(n: u32) -> Vec<u8> {
        format!("From: a@example.org\r\nSubject: message {n}\r\n\r\nBody {n}\r\n").into_bytes()
    }

    pub(crate) fn deliver(acc: &Account, mailbox: &str, n: u32) -> crate::Delivered {
        acc.deliver_bytes(mailbox, &msg(n), NewMessage::default()).unwrap()
    }
}
