//! The queue's error type.

use std::path::PathBuf;

/// What went wrong adding to, reading or changing the queue. Delivery failures are not errors:
/// they are recorded in the entry ([`Entry::results`](crate::Entry::results)) and reported
/// with DSNs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file of the queue failed.
    #[error("{path}: {op}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The queue database (LMDB) failed.
    #[error("queue database {path}: {op}: {source}")]
    Database {
        /// The database directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The error from LMDB.
        #[source]
        source: heed::Error,
    },
    /// A stored entry could not be decoded.
    #[error("queue database: entry {id}: {reason}")]
    Corrupt {
        /// The entry id.
        id: u64,
        /// Why.
        reason: String,
    },
    /// The database was written by a newer version.
    #[error("queue database {path}: version {found}, this program supports {supported}")]
    UnsupportedVersion {
        /// The database directory.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Version supported.
        supported: u32,
    },
    /// Another process has the queue open for delivery.
    #[error("queue {path} is in use by another process (mox serve running?)")]
    Locked {
        /// The queue directory.
        path: PathBuf,
    },
    /// A message without recipients was added.
    #[error("message has no recipients")]
    NoRecipients,
    /// An empty message was added.
    #[error("message is empty")]
    EmptyMessage,
    /// The message names a transport the configuration does not have.
    #[error("unknown transport {0:?}")]
    UnknownTransport(String),
    /// A FUTURERELEASE time further ahead than the queue allows (RFC 4865 §3).
    #[error("hold until {requested_secs}s from now exceeds the maximum of {max_secs}s")]
    HoldTooLong {
        /// Requested seconds from now.
        requested_secs: u64,
        /// The maximum.
        max_secs: u64,
    },
    /// No entry with this id.
    #[error("no queue entry with id {0}")]
    NotFound(u64),
    /// A filter or argument given to an admin operation is not valid.
    #[error("{0}")]
    InvalidFilter(String),
    /// The queue's background writer stopped (the process is shutting down).
    #[error("queue writer stopped")]
    WriterStopped,
}

impl Error {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        op: &'static str,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, op, source }
    }

    pub(crate) fn db(
        path: impl Into<PathBuf>,
        op: &'static str,
    ) -> impl FnOnce(heed::Error) -> Error {
        let path = path.into();
        move |source| Error::Database { path, op, source }
    }
}
