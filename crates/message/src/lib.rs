//! RFC 5322 and MIME messages as bytes.
//!
//! Being built in steps; available now:
//!
//! - [`Header`]: the header section of a message or MIME part (RFC 5322 §2.2, §3.6), split into
//!   [`Field`]s that keep their raw bytes and byte offsets (for DKIM), with unfolded values,
//!   case-insensitive lookup and in-order iteration. Parsing is lenient and never fails.
//! - [`Localpart`] and [`Address`]: SMTP addresses (RFC 5321 §4.1.2, RFC 6531 §3.3).
//!
//! ```
//! use message::{Address, Header};
//!
//! let msg = b"From: Jane <jane@example.org>\r\nDKIM-Signature: v=1;\r\n b=abc\r\n\r\nHi!\r\n";
//! let header = Header::parse(msg);
//! let dkim = header.get("dkim-signature").unwrap();
//! assert_eq!(dkim.raw(), b"DKIM-Signature: v=1;\r\n b=abc\r\n");
//! assert_eq!(dkim.value(), "v=1; b=abc");
//! assert_eq!(&msg[header.body_offset()..], b"Hi!\r\n");
//!
//! let addr = Address::parse("jane@Example.ORG")?;
//! assert_eq!(addr.to_string(), "jane@example.org");
//! # Ok::<(), message::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod address;
mod content;
mod date;
mod encoded_word;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod header;
mod mailbox;
mod message_id;
mod mime;
mod text;
mod transfer;

pub use address::{Address, Localpart};
pub use content::{ContentDisposition, ContentType, Param, TransferEncoding};
pub use date::DateTime;
pub use encoded_word::{decode_encoded_words, encode_encoded_words};
pub use error::Error;
pub use header::{Field, Header};
pub use mailbox::{
    Group, Mailbox, MailboxOrGroup, parse_address_list, parse_mailbox, parse_mailbox_list,
};
pub use message_id::MessageId;
pub use mime::{Body, MAX_DEPTH, MAX_PARTS, Message, Part};
pub use transfer::{decode_base64, decode_quoted_printable};
