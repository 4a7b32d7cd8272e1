//! The error type of the store.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The LMDB database returned an error.
    #[error("database {path}: {op}: {source}")]
    Db {
        /// The account directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The LMDB error.
        #[source]
        source: heed::Error,
    },
    /// A file operation failed.
    #[error("{path}: {op}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done ("create", "fsync", ...).
        op: &'static str,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A database record could not be decoded: the database is damaged or from a newer version.
    #[error("database {path}: damaged {table} record {key}")]
    Corrupt {
        /// The account directory.
        path: PathBuf,
        /// Which table.
        table: &'static str,
        /// The key of the record, for humans.
        key: String,
    },
    /// The database was written by a newer, incompatible version of the store.
    #[error("database {path}: format version {found}, this program reads version {supported}")]
    UnsupportedVersion {
        /// The account directory.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Version this program reads.
        supported: u32,
    },
    /// The account directory has no database.
    #[error("{path}: no account database here")]
    AccountNotFound {
        /// The account directory.
        path: PathBuf,
    },
    /// Another process has the account open for writing.
    #[error("{path}: account is in use by another process")]
    AccountLocked {
        /// The account directory.
        path: PathBuf,
    },
    /// The account was opened read-only.
    #[error("account opened read-only")]
    ReadOnly,
    /// An account name is not acceptable as a directory name.
    #[error("invalid account name {name:?}: {reason}")]
    InvalidAccountName {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A mailbox name is not acceptable.
    #[error("invalid mailbox name {name:?}: {reason}")]
    InvalidMailboxName {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The mailbox does not exist.
    #[error("mailbox {name:?} does not exist")]
    MailboxNotFound {
        /// The name (or id, for lookups by id).
        name: String,
    },
    /// The mailbox already exists.
    #[error("mailbox {name:?} already exists")]
    MailboxExists {
        /// The name.
        name: String,
    },
    /// The mailbox only holds the place of its children (IMAP `\Noselect`).
    #[error("mailbox {name:?} is not selectable (it was deleted but has children)")]
    MailboxNotSelectable {
        /// The name.
        name: String,
    },
    /// A `\Noselect` mailbox with children cannot be deleted (RFC 9051 §6.3.4).
    #[error("mailbox {name:?} has children and holds no messages; delete the children first")]
    MailboxHasChildren {
        /// The name.
        name: String,
    },
    /// INBOX cannot be deleted.
    #[error("INBOX cannot be deleted")]
    InboxNotDeletable,
    /// A mailbox cannot be renamed to within itself.
    #[error("cannot rename {from:?} to {to:?}: a mailbox cannot become its own child")]
    RenameIntoSelf {
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// A keyword or flag is not acceptable.
    #[error("invalid keyword {keyword:?}: {reason}")]
    InvalidKeyword {
        /// The keyword.
        keyword: String,
        /// Why.
        reason: &'static str,
    },
    /// The message would take the account over its quota.
    #[error("over quota: {used} of {quota} bytes used, {needed} more needed")]
    QuotaExceeded {
        /// The account's limit in bytes.
        quota: u64,
        /// Bytes in use.
        used: u64,
        /// Bytes the operation needs.
        needed: u64,
    },
    /// The message does not exist (any more).
    #[error("message {id} does not exist")]
    MessageNotFound {
        /// The message id.
        id: u64,
    },
    /// The mailbox ran out of UIDs (2^32 - 1 messages were added under this UIDVALIDITY).
    #[error("mailbox {name:?} has no UIDs left")]
    UidsExhausted {
        /// The mailbox.
        name: String,
    },
    /// An mbox or maildir could not be imported.
    #[error("{path}:{line}: {reason}")]
    Import {
        /// The file.
        path: PathBuf,
        /// Line number (1-based), or 0 where not applicable.
        line: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A backup destination exists and is not empty.
    #[error("{path}: destination exists and is not empty")]
    DestinationNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// The transaction that was to commit this delivery, together with others, failed.
    #[error("delivery not committed: {source}")]
    GroupCommitFailed {
        /// Why the transaction failed.
        #[source]
        source: std::sync::Arc<Error>,
    },
    /// The operation was not completed because a group commit it was part of failed in a way
    /// that left no result for it (a bug, reported rather than hidden).
    #[error("delivery not completed: {reason}")]
    DeliveryAborted {
        /// What happened.
        reason: &'static str,
    },
}

impl Error {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        op: &'static str,
    ) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, op, source }
    }

    pub(crate) fn db(
        path: impl Into<PathBuf>,
        op: &'static str,
    ) -> impl FnOnce(heed::Error) -> Error {
        let path = path.into();
        move |source| Error::Db { path, op, source }
    }
}
