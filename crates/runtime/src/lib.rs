//! What mox-rs's servers share while running, so each service (SMTP, submission, IMAP, the
//! queue, ...) plugs into `mox serve` on its own:
//!
//! - [`Shutdown`]: the stop signal every listener and connection watches, and the drain that
//!   gives connections in progress a bounded time to finish;
//! - [`ConnectionLimiter`] (connections in total and per IP) and [`AuthLimiter`] (failed
//!   logins per IP: growing delays, then a lockout; one instance shared by SMTP and IMAP), both
//!   built on the window limiter in [`ratelimit`];
//! - [`Accounts`]: accounts opened from the data directory on first use, created with their
//!   initial mailboxes, and their login credentials (derived secrets only, kept in the store);
//! - [`tls`]: rustls server configurations from key/certificate files, chosen by SNI;
//! - [`ConnectionId`]: the id in every log line of a connection (mox's cid);
//! - [`received_id`]: the encrypted public form of a cid, in Received headers (mox's `cid`);
//! - [`Outgoing`]: the hand-off of submitted messages to the queue.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use runtime::{Accounts, AuthLimiter, InitialMailboxes, Shutdown};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data = tempfile::tempdir()?;
//! let accounts = Accounts::new(data.path(), InitialMailboxes::default());
//! accounts.set_password("mjl", "test1234")?;
//! let credentials = accounts.credentials("mjl")?.expect("password was set");
//! assert!(credentials.password_hash.expect("hash").verify("test1234"));
//!
//! let limiter = AuthLimiter::new(Duration::ZERO, Duration::ZERO);
//! let ip = "192.0.2.1".parse()?;
//! limiter.check(ip)?;            // before an attempt: refused while locked out
//! let _delay = limiter.failed(ip); // after a failure: wait this long before answering
//!
//! let shutdown = Shutdown::new();
//! let conn = shutdown.clone();
//! shutdown.spawn_connection(async move { conn.wait().await });
//! shutdown.trigger();
//! assert_eq!(shutdown.drain(Duration::from_secs(3)).await, 0);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod accounts;
mod auth_limit;
mod cid;
pub mod credentials;
mod limits;
mod outgoing;
pub mod ratelimit;
pub mod received_id;
mod server;
mod shutdown;
pub mod tls;

pub use accounts::{AccountError, Accounts, InitialMailboxes};
pub use auth_limit::{AuthLimiter, LockedOut};
pub use cid::ConnectionId;
pub use limits::{ConnectionLimiter, ConnectionPermit, LimitReached};
pub use outgoing::{
    DsnNotify, DsnRet, Outgoing, OutgoingMessage, OutgoingRecipient, QueueId, SubmitError,
};
pub use server::{Login, Mode, Runtime, RuntimeOptions, initial_mailboxes};
pub use shutdown::Shutdown;
