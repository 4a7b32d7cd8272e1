//! Errors of the parser and of the session's I/O.

use std::fmt;

/// Why a command could not be parsed. Positions are byte offsets into the command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The input does not follow the grammar: `expected` says what was expected at `position`.
    Syntax {
        /// Byte offset.
        position: usize,
        /// What the grammar wanted there.
        expected: &'static str,
    },
    /// The command name is not one we know.
    UnknownCommand {
        /// The name, uppercased.
        name: String,
    },
    /// A number does not fit (32 bits, or 63 bits for `number64`).
    NumberTooLarge {
        /// Byte offset.
        position: usize,
    },
    /// A string that must be UTF-8 is not.
    InvalidUtf8 {
        /// Byte offset of the string.
        position: usize,
    },
    /// SEARCH/SORT/THREAD with a charset we do not know (answered with `[BADCHARSET]`).
    BadCharset {
        /// The charset asked for.
        charset: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Syntax { position, expected } => {
                write!(f, "syntax error at byte {position}: expected {expected}")
            }
            ParseError::UnknownCommand { name } => write!(f, "unknown command {name:?}"),
            ParseError::NumberTooLarge { position } => {
                write!(f, "number at byte {position} too large")
            }
            ParseError::InvalidUtf8 { position } => {
                write!(f, "string at byte {position} is not valid UTF-8")
            }
            ParseError::BadCharset { charset } => write!(f, "unknown charset {charset:?}"),
        }
    }
}

impl std::error::Error for ParseError {}
