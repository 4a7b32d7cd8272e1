//! The outgoing mail queue of mox-rs: messages submitted for delivery are stored durably and
//! delivered with retries, directly to the recipient domains' mail servers or through
//! configured transports, with DSNs to the sender when delivery fails or is delayed.
//!
//! # How it fits together
//!
//! - [`Queue`] is opened with [`Queue::builder`] on a directory (`<datadir>/queue`): an LMDB
//!   environment with the entries beside the message files (see the `db` module docs in the
//!   source). [`Queue::add`] stores a [`NewMessage`] as one [`Entry`] per recipient domain, with
//!   per-recipient state, and returns only when it is on disk, so an SMTP server may answer 250.
//!   [`Queue::run`] delivers until told to stop.
//! - Delivery attempts follow mox's [`schedule`]: at once, then after 7.5 minutes doubling to
//!   16 hours, a "delayed" DSN after about 4 hours and a "failed" DSN after the last attempt.
//!   Time comes from a [`Clock`]; tests use a [`ManualClock`].
//! - Each attempt picks a transport ([`Transport`]): the message's own, else the first matching
//!   [`Route`] of the account, the sender domain and the global routes, else direct delivery:
//!   MX lookup (null MX, RFC 7505; implicit MX; address literals), MTA-STS (RFC 8461), DANE
//!   (RFC 7672, via [`dane`]), REQUIRETLS and `TLS-Required: No` (RFC 8689), STARTTLS
//!   whenever offered. The other transports are smarthosts with SASL (SCRAM first), a SOCKS5
//!   proxy, and failing on purpose. One connection per recipient domain carries all its due
//!   entries, one transaction each.
//! - The SMTP server hands messages over through [`runtime::Outgoing`], which [`Queue`]
//!   implements; [`Settings::from_config`] and [`pkix_roots`] take the settings from mox.conf
//!   and domains.conf as the `config` crate loads them.
//! - Entries for local domains, and DSNs for local senders, go into the store through
//!   [`LocalDelivery`] ([`StoreDelivery`] is a small implementation over `store`).
//! - DSNs ([`dsn`], RFC 3464) honour NOTIFY, RET and ENVID (RFC 3461); DSN parameters are passed
//!   on to servers that announce DSN. No DSN is ever sent to the null sender.
//! - TLS outcomes are kept per day and policy as TLSRPT (RFC 8460) needs them
//!   ([`Queue::tls_results`]).
//! - The operator's operations ([`Queue::list`], [`Queue::kick`], [`Queue::drop_entries`],
//!   [`Queue::dump`]) take a [`Filter`]; [`format_list`] prints what `mox queue list` shows.
//!
//! # Example
//!
//! A message to a domain whose MX does not answer stays queued, with its first attempt's
//! error recorded (here with an in-memory DNS zone and a clock that does not move):
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, UNIX_EPOCH};
//! use queue::{Clock, Filter, ManualClock, NewMessage, Queue, Recipient, Settings};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! // The MX has an address nothing listens on; 127.0.0.1 port 9 (discard) refuses.
//! let zone = dns::MockResolver::from_zone("example.net MX 10 mx.example.net\nmx.example.net A 127.0.0.1")?;
//! let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
//! let mut settings = Settings::new(dns::Domain::parse("mail.example.org")?);
//! settings.smtp_port = 9;
//! let queue = Queue::builder(dir.path().join("queue"), settings)
//!     .resolver(Arc::new(zone))
//!     .clock(clock.clone())
//!     .open()?;
//!
//! let message = NewMessage::new(
//!     Some("me@example.org".parse()?),
//!     vec![Recipient::parse("you@example.net")?],
//!     b"Subject: hi\r\n\r\nHello!\r\n".to_vec(),
//! );
//! let ids = queue.add(message).await?;
//! assert_eq!(ids.len(), 1);
//!
//! // Deliver until the first attempt is recorded.
//! let runner = queue.clone();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let task = tokio::spawn(async move { runner.run(async { let _ = stopped.await; }).await });
//! while queue.entry(ids[0])?.attempts == 0 {
//!     tokio::time::sleep(Duration::from_millis(10)).await;
//! }
//! let entry = queue.entry(ids[0])?;
//! assert!(entry.last_error().contains("connecting to 127.0.0.1 port 9"), "{}", entry.last_error());
//! let wait = entry.next_attempt_at().duration_since(clock.now())?.as_secs();
//! assert!((445..=455).contains(&wait), "7.5 minutes, give or take 5 seconds: {wait}");
//! println!("{}", queue::format_list(&queue.list(&Filter::default())?, clock.now()));
//! let _ = stop.send(());
//! task.await?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod admin;
mod clock;
pub mod dane;
mod db;
mod deliver;
mod direct;
pub mod dsn;
mod entry;
mod error;
mod from_config;
#[doc(hidden)]
pub mod fuzzing;
mod local;
mod outgoing;
mod queue;
pub mod schedule;
mod settings;
mod smarthost;
mod tls;
mod tlsresults;

pub use admin::{Filter, format_list};
pub use clock::{Clock, ManualClock, Sleep, SystemClock};
pub use entry::{
    AttemptResult, Destination, Entry, EntryRecipient, NewMessage, NewRecipient, Notify, QueueId,
    Recipient, RecipientState, Ret,
};
pub use error::Error;
pub use from_config::{SettingsError, pkix_roots};
pub use local::{LocalDelivery, LocalDeliveryError, StoreDelivery};
pub use queue::{Queue, QueueBuilder, Stats};
pub use schedule::backoff;
pub use settings::{
    Route, Settings, SmtpAuth, Transport, TransportDirect, TransportFail, TransportSmtp,
    TransportSocks,
};
pub use tlsresults::TlsResultRecord;
