//! DNS for the mail protocols: validated names and an injectable resolver.
//!
//! - [`Domain`] is a DNS name that is known to be valid, in both its Unicode and its ASCII
//!   (IDNA, RFC 5890/5891 via UTS #46) form. Protocol crates take and return `Domain`s, never
//!   strings.
//! - [`Resolver`] is the async lookup trait every protocol crate takes as `&dyn Resolver`:
//!   TXT, A, AAAA, MX, PTR, CNAME, TLSA and SRV. A successful [`Lookup`] says whether the answer was
//!   DNSSEC-authenticated; a [`LookupError`] tells NXDOMAIN, "no records of this type" and
//!   temporary failure apart, because SPF (RFC 7208 §4.3, §5), DMARC (RFC 7489 §6.6.3) and
//!   MTA-STS (RFC 8461 §3) act differently on each.
//! - [`HickoryResolver`] resolves for real, with the system configuration or one given server.
//!   Answers are cached for their TTL (negative answers for the negative TTL of their SOA, and
//!   failures not at all), and a repeated lookup is answered from a bounded cache of converted
//!   records in front of hickory's, at the cost of a hash lookup (about 130 ns).
//! - [`MockResolver`] is an in-memory zone with injectable failures, for tests.
//! - [`select_txt`] finds a protocol's one policy record (SPF, DMARC, MTA-STS, TLSRPT) among the
//!   TXT records at a name.
//!
//! ```
//! use dns::{Domain, LookupError, MockResolver, Resolver};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let zone = MockResolver::from_zone(
//!     r#"
//!     example.com        TXT  "v=spf1 mx -all"
//!     example.com        MX   10 mx.example.com
//!     mx.example.com     A    192.0.2.25
//!     broken.example.com TXT  SERVFAIL
//!     "#,
//! )?;
//! // Code under test sees only the trait.
//! let resolver: &dyn Resolver = &zone;
//!
//! let spf = resolver.lookup_txt(&Domain::parse("Example.COM")?).await?;
//! assert_eq!(spf.records, ["v=spf1 mx -all"]);
//!
//! let missing = resolver.lookup_txt(&Domain::parse("nowhere.example.com")?).await;
//! assert!(matches!(missing, Err(LookupError::NxDomain { .. })));
//!
//! let broken = resolver.lookup_txt(&Domain::parse("broken.example.com")?).await;
//! assert!(broken.unwrap_err().is_temporary());
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
mod domain;
#[doc(hidden)]
pub mod fuzzing;
mod hickory;
mod mock;
mod resolver;
mod select;

pub use async_trait::async_trait;
pub use domain::{Domain, DomainError, MAX_LABEL_LENGTH, MAX_NAME_LENGTH, reversed_ip_labels};
pub use hickory::{HickoryResolver, ResolverConfigError};
pub use mock::{Failure, MockResolver, Record, ZoneError};
pub use resolver::{
    Lookup, LookupError, LookupResult, Mx, RecordType, Resolver, Srv, TemporaryKind, Tlsa,
};
pub use select::{TxtSelection, select_txt};
