//! The crate's error type.

use std::path::{Path, PathBuf};

/// What went wrong opening, reading or training a filter, or reading an account's history.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file operation on the filter failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What we were doing.
        op: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The word database failed.
    #[error("junk filter database {path}: {op}: {source}")]
    Db {
        /// The filter directory.
        path: PathBuf,
        /// What we were doing.
        op: &'static str,
        /// The error.
        source: heed::Error,
    },
    /// The word database is damaged.
    #[error("junk filter database {path}: damaged {what}")]
    Corrupt {
        /// The filter directory.
        path: PathBuf,
        /// What is damaged.
        what: &'static str,
    },
    /// The word database was written by a newer version.
    #[error("junk filter database {path} has version {found}, this version reads version 1")]
    UnsupportedVersion {
        /// The filter directory.
        path: PathBuf,
        /// Its version.
        found: u64,
    },
    /// The filter is open in this process, so it cannot be removed.
    #[error("junk filter {path} is in use")]
    FilterInUse {
        /// The filter directory.
        path: PathBuf,
    },
    /// A regular expression of the AutomaticJunkFlags settings does not compile.
    #[error("{field} {regexp:?}: {reason}")]
    InvalidRegexp {
        /// The settings field.
        field: &'static str,
        /// The expression.
        regexp: String,
        /// Why it does not compile.
        reason: String,
    },
    /// Reading the account (messages, history) failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl Error {
    pub(crate) fn io(path: &Path, op: &'static str, source: std::io::Error) -> Error {
        Error::Io { path: path.to_path_buf(), op, source }
    }

    pub(crate) fn db(path: &Path, op: &'static str, source: heed::Error) -> Error {
        Error::Db { path: path.to_path_buf(), op, source }
    }
}
