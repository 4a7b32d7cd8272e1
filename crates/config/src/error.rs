//! Errors: every problem in a configuration, each with its file, line and key path.

use std::fmt;
use std::sync::Arc;

/// One problem in a configuration file: where it is, and what is wrong.
///
/// Displayed as `file:line: Key.Path: message`, for example
/// `mox.conf:14: Listeners.public.SMTP.Port: "notaport" is not a number`. The line is absent
/// when the problem has no single line (a required key that is missing at the top level, or a
/// configuration that was built in memory rather than read from a file); the key path is absent
/// for problems with the file as a whole. List items are numbered from 1 in key paths:
/// `Accounts.mjl.Destinations.mjl@example.com.Rulesets[1].Mailbox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as it was named to the loader (`mox.conf`, `/etc/mox/domains.conf`).
    pub file: String,
    /// The line number (from 1) the problem is on, if it is on one line.
    pub line: Option<usize>,
    /// The key path, such as `Listeners.public.SMTP.Port`; empty for the file as a whole.
    pub path: String,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// What is wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read (or a file it names: a key, a certificate).
    #[error("{what} {file:?}: {message}")]
    Io {
        /// What the file is (`reading config file`, `reading DKIM private key`).
        what: &'static str,
        /// The file as named.
        file: String,
        /// The operating system's message.
        message: String,
    },
    /// A line indented deeper than its place allows.
    #[error("unexpected indentation (indent with one tab per level)")]
    UnexpectedIndent,
    /// A line with only whitespace.
    #[error("line with only whitespace (perhaps stray whitespace)")]
    WhitespaceLine,
    /// A line that should be `Key: value` has no colon.
    #[error("missing colon in key/value line {line:?}")]
    MissingColon {
        /// The line, without its indentation.
        line: String,
    },
    /// A key that is empty (the line starts with a colon).
    #[error("empty key")]
    EmptyKey,
    /// A key that starts or ends with a space: mixed tab/space indentation, or stray spaces.
    #[error("key {key:?} starts or ends with a space (perhaps mixed tab/space indenting)")]
    SpaceInKey {
        /// The key as written.
        key: String,
    },
    /// `Key:value` instead of `Key: value`.
    #[error("missing space after colon")]
    MissingSpaceAfterColon,
    /// `-value` instead of `- value`.
    #[error("missing space after -")]
    MissingSpaceAfterDash,
    /// A line in a list that does not start with `-`.
    #[error("expected a list item starting with \"-\", found {line:?}")]
    ExpectedListItem {
        /// The line, without its indentation.
        line: String,
    },
    /// A value on the key's line where nested lines (a struct, map or list) are expected.
    #[error("expected nested lines, one tab deeper, instead of the value {value:?}")]
    ExpectedBlock {
        /// The value that was written on the key's line.
        value: String,
    },
    /// A struct, map or list without any nested line.
    #[error("expected nested lines, one tab deeper")]
    EmptyBlock,
    /// A key given twice in one struct or map.
    #[error("duplicate key {key:?}")]
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// A key that this struct does not have (a typo must not pass).
    #[error("unknown key {key:?}")]
    UnknownKey {
        /// The key as written.
        key: String,
    },
    /// A required key that is absent.
    #[error("missing required key {key:?}")]
    MissingKey {
        /// The key.
        key: String,
    },
    /// A value of the wrong form: `"notaport" is not a number`.
    #[error("{value:?} is not {expected}")]
    InvalidValue {
        /// The value as written.
        value: String,
        /// What it should be (`a number`, `a port number (0 to 65535)`, `true or false`).
        expected: &'static str,
    },
    /// A value that is well-formed but breaks one of mox's rules, or a reference to something
    /// that does not exist (an account's domain, a route's transport, a DKIM selector).
    #[error("{message}")]
    Invalid {
        /// What is wrong, in words.
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn new(file: &str, line: Option<usize>, path: String, kind: ErrorKind) -> Self {
        ConfigError { file: file.to_string(), line, path, kind }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one run over the configuration; never empty.
///
/// `Display` prints one problem per line, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The problems.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    pub(crate) fn one(error: ConfigError) -> ConfigErrors {
        ConfigErrors(vec![error])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Why writing a configuration failed: a value that sconf cannot hold.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A string with a line break (sconf has no multi-line strings).
    #[error("{path}: value {value:?} has a line break, which the file format cannot hold")]
    MultilineValue {
        /// Where.
        path: String,
        /// The value.
        value: String,
    },
    /// A map key that would not read back as the same key.
    #[error(
        "{path}: key {key:?} cannot be written (empty, has a colon, line break or \
             leading \"#\", or starts or ends with a space)"
    )]
    BadKey {
        /// Where.
        path: String,
        /// The key.
        key: String,
    },
    /// A required list or map that is empty (it would not read back).
    #[error("{path}: is empty, but must have at least one entry")]
    EmptyBlock {
        /// Where.
        path: String,
    },
    /// The map value `nil`, which reads back as an empty value.
    #[error("{path}: the value \"nil\" cannot be written in a map (it reads back as empty)")]
    NilValue {
        /// Where.
        path: String,
    },
    /// Writing the file failed.
    #[error("writing {file}: {message}")]
    Io {
        /// The file.
        file: String,
        /// The operating system's message.
        message: String,
        /// The error itself.
        #[source]
        source: Arc<std::io::Error>,
    },
}
