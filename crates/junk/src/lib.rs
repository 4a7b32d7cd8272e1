//! Junk filtering for a mail server: a per-account Bayesian word filter, training it from the
//! flags and mailboxes of an account's messages, and mox's delivery decision, which asks the
//! account's history (reputation) first and the word filter only when history says nothing.
//!
//! # Main types and how they connect
//!
//! - [`Filter`]: an account's word database (`<account>/junkfilter/`, its own LMDB
//!   environment) with an in-memory table for fast classification. [`Filter::classify`] gives
//!   a [`Classification`]: the spam probability and the words it is based on.
//! - [`tokenize`]: a message's words: decoded text parts, HTML stripped, address and subject
//!   header fields, lower-cased, optionally in two- and three-word phrases ([`Params`]).
//! - [`train`]: what a message's `$Junk`/`$NotJunk` flags ask for ([`train::class_of`]), the
//!   flags a mailbox implies ([`AutomaticJunkFlags`]), training a message of an account
//!   ([`train::sync_message`], never counted twice) and rebuilding a filter
//!   ([`train::retrain`]).
//! - [`reputation`]: mox's reputation rules over the store's indexed history
//!   ([`store::history`]): the same cost with 10 or 10 million earlier messages.
//! - [`decision`]: reputation, then content, then DNSBLs, as mox's SMTP server decides, with
//!   mox's replies for rejections.
//! - [`subjectpass`]: mox's SubjectPass tokens, for first-time senders refused as spam.
//!
//! # Example
//!
//! ```
//! use junk::{Class, Filter, Params};
//! use store::MessageId;
//!
//! let dir = tempfile::tempdir()?;
//! let filter = Filter::open(&dir.path().join("junkfilter"), &Params::default())?;
//!
//! // Train: messages of an account, by id, so a later flag change can untrain them.
//! let mut training = filter.training()?;
//! for i in 0..60u64 {
//!     let ham = format!("Subject: meeting\r\n\r\nThe project meeting agenda for tomorrow {i}\r\n");
//!     let spam = format!("Subject: winner\r\n\r\nYou are a lottery winner, claim your prize {i}\r\n");
//!     training.set_class(MessageId(2 * i), Some(Class::Ham), || Ok(filter.words(ham.as_bytes())))?;
//!     training.set_class(MessageId(2 * i + 1), Some(Class::Spam), || Ok(filter.words(spam.as_bytes())))?;
//! }
//! training.commit()?;
//!
//! let c = filter.classify_message(b"Subject: claim now\r\n\r\nClaim your lottery prize!\r\n");
//! assert!(c.is_spam(0.95), "{c}");
//! assert!(c.spams.iter().any(|w| w.word == "lottery"));
//! let c = filter.classify_message(b"Subject: agenda\r\n\r\nAgenda for the project meeting\r\n");
//! assert!(c.probability < 0.05, "{c}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The delivery decision, as the SMTP server makes it, is one call; see [`decision`].
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod decision;
mod error;
mod filter;
mod html;
mod params;
pub mod reputation;
pub mod subjectpass;
pub mod tokenize;
pub mod train;

pub use error::Error;
pub use filter::{Class, Classification, Counts, Filter, Stats, TrainOutcome, Training, WordScore};
pub use params::{AutomaticJunkFlags, Combining, JunkFilter, JunkFlagRules, MailboxClass, Params};
pub use tokenize::Words;
pub use train::AccountJunk;

#[doc(hidden)]
pub mod fuzzing;
