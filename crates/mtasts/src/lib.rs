//! MTA-STS, SMTP MTA Strict Transport Security (RFC 8461): a domain's promise that its mail
//! servers accept TLS with a valid certificate, so senders can refuse to deliver in plain text or
//! to impostors.
//!
//! A domain that implements MTA-STS publishes a TXT [`Record`] at `_mta-sts.<domain>`
//! (`v=STSv1; id=...`, §3.1) and serves a [`Policy`] (§3.2) at
//! `https://mta-sts.<domain>/.well-known/mta-sts.txt`: a [`Mode`], the MX host patterns
//! ([`MxPattern`]) allowed to receive its mail, and how long the policy may be cached.
//!
//! - [`Record::parse`] and [`Policy::parse`] parse both, strictly where the RFC requires and
//!   tolerantly where it allows; [`Display`](std::fmt::Display) writes them back.
//! - [`lookup_record`] finds the record in DNS (§3.1: other TXT records are discarded, and more
//!   than one MTA-STS record means none).
//! - [`Fetcher`] fetches a policy over HTTPS (hyper and rustls) as §3.3 requires: a certificate
//!   valid for `mta-sts.<domain>` from a trusted root, status 200 without following redirects,
//!   `text/plain`, at most 64 KiB, within one minute. Its [`Connector`] and trust roots are
//!   injectable, so tests serve policies from a loopback server with their own CA.
//! - [`Policy::matches`] checks an MX host against the patterns (§4.1), and [`Policy::permits`]
//!   says whether delivery to it is allowed (§5: not when an `enforce` policy does not match).
//! - [`PolicyCache`] decides which policy applies now (§3.3, §5.1): a cached policy is used
//!   without fetching while it is valid and the record `id` is unchanged, and still applies when
//!   a lookup or fetch fails.
//!
//! ```
//! use dns::{Domain, MockResolver};
//! use mtasts::{Mode, Policy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let resolver = MockResolver::from_zone(
//!     r#"
//!     _mta-sts.example.com  TXT  "v=STSv1; id=20160831085700Z;"
//!     _mta-sts.example.com  TXT  "v=spf1 -all"
//!     "#,
//! )?;
//! let domain = Domain::parse("example.com")?;
//! let found = mtasts::lookup_record(&resolver, &domain).await?;
//! assert_eq!(found.record.id, "20160831085700Z");
//!
//! // What mtasts::Fetcher::new().fetch(&resolver, &domain) would return from
//! // https://mta-sts.example.com/.well-known/mta-sts.txt:
//! let policy = Policy::parse(
//!     "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
//! )?;
//! assert_eq!(policy.mode, Mode::Enforce);
//! assert!(policy.permits(&Domain::parse("mail.example.com")?));
//! assert!(policy.permits(&Domain::parse("mx1.example.net")?));
//! assert!(!policy.permits(&Domain::parse("mx.attacker.example")?));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
mod fetch;
mod policy;
mod record;

use std::net::SocketAddr;
use std::time::Duration;

use dns::{Domain, DomainError, LookupError, Resolver, TxtSelection};

pub use cache::{CachedPolicy, FETCH_BACKOFF, PolicyCache, Resolution, Source};
pub use fetch::{
    CONNECT_TIMEOUT, Connector, DEFAULT_MAX_SIZE, DEFAULT_TIMEOUT, DnsConnector, Fetcher,
    FixedConnector, WELL_KNOWN_PATH,
};
pub use policy::{MAX_MAX_AGE, Mode, MxPattern, Policy, PolicyProblem};
pub use record::{Extension, Record, RecordProblem};
/// The rustls types to build trust roots for [`Fetcher::with_roots`].
pub use rustls::RootCertStore;

/// Everything that can go wrong looking up, fetching or parsing MTA-STS records and policies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A TXT record that starts as an MTA-STS record is not valid.
    #[error("MTA-STS record: {problem} (at position {position})")]
    RecordSyntax {
        /// Byte offset in the record where the problem is.
        position: usize,
        /// What is wrong.
        problem: RecordProblem,
    },
    /// A policy file is not valid.
    #[error("MTA-STS policy line {line}: {problem}")]
    PolicySyntax {
        /// 1-based line number (for a missing field, the last line).
        line: usize,
        /// What is wrong.
        problem: PolicyProblem,
    },
    /// The domain has no MTA-STS record: it does not implement MTA-STS.
    #[error("{domain}: no MTA-STS record at _mta-sts.{domain}")]
    NoRecord {
        /// The policy domain.
        domain: Domain,
    },
    /// The domain has more than one MTA-STS record, which counts as none (RFC 8461 §3.1).
    #[error("{domain}: {count} MTA-STS records, exactly one is required")]
    MultipleRecords {
        /// The policy domain.
        domain: Domain,
        /// How many records start with `v=STSv1`.
        count: usize,
    },
    /// Looking up the record failed temporarily.
    #[error("looking up the MTA-STS record: {0}")]
    RecordLookup(LookupError),
    /// `mta-sts.<domain>` is not a valid name (the domain is too long).
    #[error("{domain}: no valid policy host name: {source}")]
    PolicyHostName {
        /// The policy domain.
        domain: Domain,
        /// Why.
        source: DomainError,
    },
    /// The policy host name cannot be used for TLS or HTTP.
    #[error("{host}: not usable as a TLS server name or HTTP host")]
    InvalidHostName {
        /// The policy host.
        host: Domain,
    },
    /// The policy host's addresses could not be looked up; when it does not exist, the domain
    /// serves no policy.
    #[error("looking up policy host {host}: {source}")]
    PolicyHostLookup {
        /// The policy host.
        host: Domain,
        /// The failed lookup.
        source: LookupError,
    },
    /// The TCP connection to the policy host failed.
    #[error("connecting to policy host {host} at {address}: {source}")]
    Connect {
        /// The policy host.
        host: Domain,
        /// The last address tried.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS handshake failed, for example because the certificate is not trusted, has expired
    /// or is not valid for the policy host (TLSRPT calls this `sts-webpki-invalid`).
    #[error("TLS with policy host {host}: {source}")]
    Tls {
        /// The policy host.
        host: Domain,
        /// Why; rustls' error is inside.
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("HTTP with policy host {host}: {source}")]
    Http {
        /// The policy host.
        host: Domain,
        /// Why.
        source: hyper::Error,
    },
    /// The server answered with a redirect, which must not be followed (RFC 8461 §3.3).
    #[error("policy host {host} answered with redirect {status}{}, which is not followed", location.as_ref().map(|l| format!(" to {l}")).unwrap_or_default())]
    Redirect {
        /// The policy host.
        host: Domain,
        /// The HTTP status.
        status: u16,
        /// The `Location` header, if any.
        location: Option<String>,
    },
    /// The server answered with a status other than 200 (404: no policy).
    #[error("policy host {host} answered with HTTP status {status}, 200 is required")]
    HttpStatus {
        /// The policy host.
        host: Domain,
        /// The HTTP status.
        status: u16,
    },
    /// The policy is not served as `text/plain` (RFC 8461 §3.2).
    #[error("policy host {host} served the policy as {}, text/plain is required", content_type.as_deref().unwrap_or("no content type"))]
    ContentType {
        /// The policy host.
        host: Domain,
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
    },
    /// The policy is larger than the limit.
    #[error("policy from {host} is larger than {limit} bytes")]
    PolicyTooLarge {
        /// The policy host.
        host: Domain,
        /// The limit in bytes.
        limit: usize,
    },
    /// The policy is not UTF-8.
    #[error("policy from {host} is not UTF-8 (invalid byte at offset {position})")]
    PolicyNotUtf8 {
        /// The policy host.
        host: Domain,
        /// Byte offset of the first invalid byte.
        position: usize,
    },
    /// The fetch took longer than the timeout.
    #[error("fetching the policy from {host} took longer than {timeout:?}")]
    Timeout {
        /// The policy host.
        host: Domain,
        /// The limit.
        timeout: Duration,
    },
    /// [`PolicyCache`]: fetching this record id failed less than [`FETCH_BACKOFF`] ago, so it
    /// was not tried again.
    #[error(
        "{domain}: fetching the policy for record id {record_id} failed recently, not trying again yet"
    )]
    FetchBackoff {
        /// The policy domain.
        domain: Domain,
        /// The record id.
        record_id: String,
    },
}

impl Error {
    /// Whether the error means the domain does not implement MTA-STS (no record, several
    /// records, or no policy host or file), as opposed to a failure to find out.
    pub fn is_not_implemented(&self) -> bool {
        match self {
            Error::NoRecord { .. } | Error::MultipleRecords { .. } => true,
            Error::PolicyHostLookup { source, .. } => source.is_not_found(),
            Error::HttpStatus { status, .. } => *status == 404,
            _ => false,
        }
    }
}

/// An MTA-STS record found in DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLookup {
    /// The parsed record.
    pub record: Record,
    /// The TXT record as found.
    pub txt: String,
    /// Whether the answer was DNSSEC-authenticated.
    pub authentic: bool,
}

/// Looks up the MTA-STS record of `domain` at `_mta-sts.<domain>`, following CNAMEs (RFC 8461
/// §3.1). TXT records that do not start with `v=STSv1` are discarded; exactly one must remain.
///
/// Errors: [`Error::NoRecord`], [`Error::MultipleRecords`], [`Error::RecordSyntax`], and
/// [`Error::RecordLookup`] for temporary DNS failures.
pub async fn lookup_record(
    resolver: &dyn Resolver,
    domain: &Domain,
) -> Result<RecordLookup, Error> {
    let name =
        domain.with_prefix("_mta-sts").map_err(|_| Error::NoRecord { domain: domain.clone() })?;
    let (txt, authentic) = match dns::select_txt(resolver, &name, Record::is_mtasts).await {
        Ok(TxtSelection::One { text, authentic }) => (text, authentic),
        Ok(TxtSelection::Absent { .. }) => return Err(Error::NoRecord { domain: domain.clone() }),
        Ok(TxtSelection::Several { texts }) => {
            return Err(Error::MultipleRecords { domain: domain.clone(), count: texts.len() });
        }
        Err(e) => return Err(Error::RecordLookup(e)),
    };
    let record = Record::parse(&txt)?;
    Ok(RecordLookup { record, txt, authentic })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dns::MockResolver;

    fn lookup(zone: &str) -> Result<RecordLookup, Error> {
        let resolver = MockResolver::from_zone(zone).unwrap();
        let domain = Domain::parse("example.com").unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(lookup_record(&resolver, &domain))
    }

    #[test]
    fn record_lookup_outcomes() {
        let found = lookup(
            "_mta-sts.example.com TXT \"v=STSv1; \" \"id=20160831085700Z;\"\n_mta-sts.example.com TXT \"other\"\n_mta-sts.example.com AUTHENTIC",
        )
        .unwrap();
        assert_eq!(found.record.id, "20160831085700Z");
        assert_eq!(found.txt, "v=STSv1; id=20160831085700Z;");
        assert!(found.authentic);

        // CNAME delegation (RFC 8461 §8.2).
        let found = lookup(
            "_mta-sts.example.com CNAME _mta-sts.provider.example\n_mta-sts.provider.example TXT \"v=STSv1; id=abc\"",
        )
        .unwrap();
        assert_eq!(found.record.id, "abc");

        assert!(matches!(lookup("example.com TXT \"v=spf1 -all\""), Err(Error::NoRecord { .. })));
        assert!(matches!(
            lookup("_mta-sts.example.com TXT \"v=spf1\""),
            Err(Error::NoRecord { .. })
        ));
        let err = lookup("_mta-sts.example.com TXT \"v=STSv1; id=1\"\n_mta-sts.example.com TXT \"v=STSv1; id=2\"")
            .unwrap_err();
        assert!(matches!(err, Error::MultipleRecords { count: 2, .. }));
        assert!(err.is_not_implemented());
        assert_eq!(err.to_string(), "example.com: 2 MTA-STS records, exactly one is required");
        assert!(matches!(
            lookup("_mta-sts.example.com TXT \"v=STSv1; id=\""),
            Err(Error::RecordSyntax { problem: RecordProblem::InvalidId, .. })
        ));
        let err = lookup("_mta-sts.example.com TXT SERVFAIL").unwrap_err();
        assert!(matches!(&err, Error::RecordLookup(e) if e.is_temporary()), "{err:?}");
        assert!(!err.is_not_implemented());
    }
}
