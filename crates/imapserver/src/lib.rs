//! An IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) server with mox's extensions, over the
//! [`store`] crate.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod charset;
pub mod command;
pub mod compress;
pub mod encode;
pub mod error;
pub mod framing;
#[doc(hidden)]
pub mod fuzzing;
pub mod parse;
pub mod response;
pub mod seqset;
pub mod server;
pub mod session;
pub mod utf7;

pub use command::{Command, CommandBody};
pub use error::ParseError;
pub use session::{Action, Config, ConnectionInfo, Session};
