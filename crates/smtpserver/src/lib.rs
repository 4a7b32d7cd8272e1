//! An SMTP server: incoming mail (MX, port 25) and submission (587 with STARTTLS, 465 with
//! TLS), with the checks mox makes.
//!
//! todo: crate documentation with a doctest (written once the API settled).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod backend;
mod command;
pub mod config_directory;
mod data;
pub mod directory;
mod dsn;
mod headers;
mod incoming;
pub mod iprev;
pub mod limits;
pub mod listener;
pub mod localserve;
mod mailer;
mod reply;
mod rules;
pub mod server;
mod session;
mod store_delivery;
mod submit;

pub use backend::{Backend, Target};
pub use command::{
    BodyType, Command, DsnRet, ForwardPath, FutureRelease, HelloName, MailParams, Notify, Path,
    PathDomain, RcptParams, ReversePath, address_literal, parse_command, xtext_decode,
    xtext_encode,
};
pub use data::{DataDecoder, DataSummary, MessageData};
pub use mailer::Mailer;
pub use reply::{Ecode, Reply, check_replies};
pub use runtime::{Outgoing, OutgoingMessage, OutgoingRecipient, QueueId, SubmitError};
pub use session::{
    AUTH_MECHANISMS, Action, AuthIdentity, Context, Delivery, Recipient, Request, Response,
    Service, Session, SessionConfig, TlsInfo, Transaction,
};
