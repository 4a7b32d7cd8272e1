//! RFC 5322 and MIME messages as bytes.
//!
//! This crate reads email messages the way a mail server needs them: it keeps every header
//! field's raw bytes and every MIME part's byte offsets (for DKIM, IMAP `FETCH BODY[...]` and
//! `BODYSTRUCTURE`), borrows from the message instead of copying bodies, and parses broken
//! messages leniently without ever panicking. Structured values (addresses, dates, message ids)
//! are parsed on demand, with errors that say where the input went wrong.
//!
//! # Main types and how they connect
//!
//! - [`Message::parse`] takes the message bytes and gives a tree of [`Part`]s; the root part is
//!   the message itself. Each part has a [`Header`], a [`ContentType`], a [`TransferEncoding`],
//!   its offsets ([`Part::header_offset`], [`Part::body_offset`], [`Part::body_end`]) and a
//!   [`Body`]: a leaf, a multipart with its parts, preamble and epilogue, or an embedded
//!   message/rfc822 message. [`Message::part_at`] finds a part by IMAP section number;
//!   [`Part::decoded_body`] and [`Part::decoded_text`] undo the transfer encoding and charset.
//! - [`Header::parse`] alone splits a header section into [`Field`]s (raw bytes, offset, name,
//!   raw and unfolded values) and finds where the body starts; it is all DKIM needs.
//! - [`Address`] (a [`Localpart`] and a [`dns::Domain`]) is an SMTP address;
//!   [`parse_address_list`], [`parse_mailbox_list`] and [`parse_mailbox`] read header
//!   addresses into [`Mailbox`]es (display name + address) and [`Group`]s;
//!   [`Header::from_mailboxes`] gives the From addresses.
//! - [`decode_encoded_words`] decodes RFC 2047 words in header text ([`Field::decoded_value`]
//!   does it for a field); [`DateTime`] parses and formats the Date field; [`MessageId`] reads
//!   Message-ID, References and In-Reply-To; [`ContentDisposition`] and [`Param`] cover the
//!   remaining MIME fields.
//! - [`Error`] is the one error type, for structured values; parsing a message never fails.
//!
//! # Standards
//!
//! - RFC 5322: header fields and folding (§2.2, §3.6, §4.5 obsolete syntax: `Name : value`),
//!   addresses (§3.4, §4.4 obsolete routes, CFWS and empty list elements), dates (§3.3, §4.3
//!   obsolete zones and two-digit years), message ids (§3.6.4, §4.5.4). All of Appendix A is
//!   in the tests.
//! - RFC 5321 §4.1.2 and RFC 6531 §3.3: SMTP localparts (dot-string, quoted-string, UTF-8).
//! - RFC 6532: UTF-8 in header fields.
//! - RFC 2045: Content-Type (§5), Content-Transfer-Encoding (§6, quoted-printable §6.7 and base64
//!   §6.8 decoding), Content-ID (§7), Content-Description (§8).
//! - RFC 2046: multipart bodies (§5.1.1 boundaries, preamble, epilogue, transport padding),
//!   multipart/digest defaults (§5.1.5), message/rfc822 (§5.2.1).
//! - RFC 2047: encoded words (B and Q; charsets of the WHATWG Encoding Standard via
//!   `encoding_rs`).
//! - RFC 2183: Content-Disposition. RFC 2231: parameter continuations, charsets and languages.
//!
//! # Example
//!
//! ```
//! use message::{Address, Header, Message};
//!
//! let data = b"From: =?utf-8?q?J=C3=B6rg?= <jorg@example.org>\r\n\
//! DKIM-Signature: v=1; d=example.org;\r\n b=abc\r\n\
//! Content-Type: multipart/mixed; boundary=sep\r\n\
//! \r\n\
//! --sep\r\n\
//! Content-Type: text/plain; charset=iso-8859-1\r\n\
//! Content-Transfer-Encoding: quoted-printable\r\n\
//! \r\n\
//! Gr=FC=DFe\r\n\
//! --sep\r\n\
//! Content-Type: application/pdf\r\n\
//! Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\
//! Content-Transfer-Encoding: base64\r\n\
//! \r\n\
//! JVBERi0=\r\n\
//! --sep--\r\n";
//!
//! // The header alone, raw bytes kept (as DKIM needs).
//! let header = Header::parse(data);
//! let dkim = header.get("dkim-signature").unwrap();
//! assert_eq!(dkim.raw(), b"DKIM-Signature: v=1; d=example.org;\r\n b=abc\r\n");
//! assert_eq!(dkim.value(), "v=1; d=example.org; b=abc");
//!
//! // Addresses.
//! let from = header.from_mailboxes()?;
//! assert_eq!(from[0].display_name.as_deref(), Some("Jörg"));
//! assert_eq!(from[0].address, Address::parse("jorg@example.org")?);
//!
//! // The MIME tree, with offsets into `data`.
//! let msg = Message::parse(data);
//! let [text, pdf] = msg.root().parts() else { panic!("two parts") };
//! assert_eq!(text.body(), b"Gr=FC=DFe");
//! assert_eq!(&data[text.body_offset()..text.body_end()], b"Gr=FC=DFe");
//! assert_eq!(text.decoded_text(), "Grüße");
//! assert_eq!(pdf.filename().as_deref(), Some("résumé.pdf"));
//! assert_eq!(pdf.decoded_body().as_ref(), b"%PDF-");
//! assert_eq!(msg.part_at(&[2]).unwrap().raw_header(), pdf.raw_header());
//! # Ok::<(), message::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod address;
pub mod calendar;
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
