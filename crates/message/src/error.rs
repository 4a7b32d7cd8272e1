//! The crate's error type.

/// Why a structured header value (an address, a date, a message id) could not be parsed.
///
/// Every variant says where in the input it went wrong: `position` is a byte offset into the
/// value that was given to the parser (not into the whole message).
///
/// Parsing a message ([`Message::parse`](crate::Message::parse),
/// [`Header::parse`](crate::Header::parse)) never fails: broken messages are parsed leniently, as
/// mail software must accept what the world sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not follow the grammar: at `position` the parser needed `expected`.
    #[error("syntax error in {what} at position {position}: expected {expected}")]
    Syntax {
        /// What was being parsed ("address", "localpart", "date", ...).
        what: &'static str,
        /// What the grammar allows at this point.
        expected: &'static str,
        /// Byte offset into the parsed value.
        position: usize,
    },
    /// The domain of an address is not a valid DNS name (or is an address literal such as
    /// `[192.0.2.1]`, which [`dns::Domain`] cannot hold).
    #[error("invalid domain in address at position {position}: {source}")]
    Domain {
        /// Byte offset of the domain in the parsed value.
        position: usize,
        /// Why the domain is invalid.
        source: dns::DomainError,
    },
    /// Bytes that are not UTF-8 where text is required (for example an 8-bit localpart).
    #[error("invalid UTF-8 at position {position}")]
    Utf8 {
        /// Byte offset of the first invalid byte.
        position: usize,
    },
    /// A date whose fields are out of range (month 13, day 32, hour 25, ...).
    #[error("date {field} out of range at position {position}")]
    DateOutOfRange {
        /// Which field ("day", "month", "hour", ...).
        field: &'static str,
        /// Byte offset of the field.
        position: usize,
    },
}
