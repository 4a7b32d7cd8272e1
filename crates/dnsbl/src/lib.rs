//! DNS blocklists (DNSBLs, RFC 5782): is this IP address listed in a zone, and is the zone healthy?
//!
//! A DNSBL publishes an A record at the reversed address under its zone for every listed address
//! (RFC 5782 §2.1): `192.0.2.99` in `bl.example.org` is `99.2.0.192.bl.example.org`, and an IPv6
//! address is its 32 reversed nibbles (§2.4). A TXT record at the same name usually explains why
//! the address is listed, often with a URL.
//!
//! - [`query_name`] builds the name to look up.
//! - [`lookup`] checks one address and returns a [`Status`]: [`Status::NotListed`],
//!   [`Status::Listed`] (with the A record values and the TXT explanation) or
//!   [`Status::TempError`]. A temporary DNS failure is an outcome, not an [`Error`]: the caller
//!   decides whether to accept mail when a list cannot be asked.
//! - [`check_health`] checks the test entries every IPv4 list must have (§5): `127.0.0.2` must be
//!   listed and `127.0.0.1` must not. A list that was shut down, or that answers every query
//!   (a wildcard, or a refusal encoded as an A record), fails the check.
//!
//! The IP address is used as given: callers with an IPv4-mapped IPv6 peer address
//! (`::ffff:192.0.2.1`, as dual-stack sockets report) should pass
//! [`IpAddr::to_canonical`](std::net::IpAddr::to_canonical) to query IPv4 lists.
//!
//! ```
//! use dns::{Domain, MockResolver};
//! use dnsbl::Status;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let resolver = MockResolver::from_zone(
//!     r#"
//!     2.0.0.127.bl.example.org   A    127.0.0.2
//!     99.2.0.192.bl.example.org  A    127.0.0.2
//!     99.2.0.192.bl.example.org  TXT  "Dynamic address, see https://bl.example.org/?192.0.2.99"
//!     "#,
//! )?;
//! let zone = Domain::parse("bl.example.org")?;
//!
//! match dnsbl::lookup(&resolver, &zone, "192.0.2.99".parse()?).await? {
//!     Status::Listed(listing) => {
//!         assert_eq!(listing.addresses, ["127.0.0.2".parse::<std::net::Ipv4Addr>()?]);
//!         assert_eq!(
//!             listing.explanation.as_deref(),
//!             Some("Dynamic address, see https://bl.example.org/?192.0.2.99")
//!         );
//!     }
//!     other => panic!("expected a listing, got {other:?}"),
//! }
//! assert_eq!(dnsbl::lookup(&resolver, &zone, "192.0.2.1".parse()?).await?, Status::NotListed);
//!
//! // 127.0.0.2 is listed and 127.0.0.1 is not: the list works.
//! dnsbl::check_health(&resolver, &zone).await?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use dns::{Domain, DomainError, LookupError, Resolver};

/// What a DNSBL says about one address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// The address is not in the list: the name does not exist, or has no A records.
    NotListed,
    /// The address is in the list.
    Listed(Listing),
    /// The list could not be asked now (SERVFAIL, timeout, refused, network error); asking again
    /// later may give an answer.
    TempError(LookupError),
}

impl Status {
    /// Whether the address is listed.
    pub fn is_listed(&self) -> bool {
        matches!(self, Status::Listed(_))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::NotListed => f.write_str("not listed"),
            Status::Listed(listing) => write!(f, "listed ({listing})"),
            Status::TempError(e) => write!(f, "temporary error: {e}"),
        }
    }
}

/// The entry for a listed address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The values of the A records, conventionally `127.0.0.2`; lists with sublists encode them
    /// as several records or as bits (RFC 5782 §2.3). Never used as addresses to connect to.
    pub addresses: Vec<Ipv4Addr>,
    /// The TXT records at the entry, joined with `"; "`: why the address is listed, often with a
    /// URL. `None` when the list publishes no TXT record or it could not be looked up (the TXT
    /// record is optional, RFC 5782 §2.1).
    pub explanation: Option<String>,
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.addresses.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        if let Some(explanation) = &self.explanation {
            write!(f, ": {explanation}")?;
        }
        Ok(())
    }
}

/// Errors of this crate: a query that cannot be formed, and failed health checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The reversed address with the zone appended is not a valid DNS name, typically because the
    /// zone is too long to hold the 32 nibbles of an IPv6 address.
    #[error("cannot query {ip} in zone {zone}: {source}")]
    QueryName {
        /// The zone.
        zone: Domain,
        /// The address.
        ip: IpAddr,
        /// Why the name is invalid.
        source: DomainError,
    },
    /// Health check: the test entry `127.0.0.2` that every IPv4 list must contain (RFC 5782 §5)
    /// is missing. The list may have been shut down, or the zone name is wrong.
    #[error("dnsbl {zone} does not list the required test address 127.0.0.2")]
    MissingTestEntry {
        /// The zone.
        zone: Domain,
    },
    /// Health check: the list contains `127.0.0.1`, which no list may contain (RFC 5782 §5). The
    /// list answers every query (a wildcard), or it refuses to answer this resolver and says so
    /// with an A record (some lists return `127.255.255.x` codes for that).
    #[error("dnsbl {zone} lists the forbidden test address 127.0.0.1 ({listing})")]
    ListsForbiddenEntry {
        /// The zone.
        zone: Domain,
        /// What the list answered for 127.0.0.1.
        listing: Listing,
    },
    /// Health check: a test entry could not be looked up now.
    #[error("dnsbl {zone} health check: {source}")]
    Temporary {
        /// The zone.
        zone: Domain,
        /// The failed lookup.
        source: LookupError,
    },
}

/// The name to look up for `ip` in the list `zone`: the reversed octets of an IPv4 address
/// (RFC 5782 §2.1) or the 32 reversed nibbles of an IPv6 address (§2.4), followed by the zone.
///
/// ```
/// let zone = dns::Domain::parse("ugly.example.com")?;
/// let name = dnsbl::query_name(&zone, "2001:db8:1:2:3:4:567:89ab".parse()?)?;
/// assert_eq!(
///     name.ascii(),
///     "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn query_name(zone: &Domain, ip: IpAddr) -> Result<Domain, Error> {
    zone.with_prefix(&dns::reversed_ip_labels(ip)).map_err(|source| Error::QueryName {
        zone: zone.clone(),
        ip,
        source,
    })
}

/// Looks up `ip` in the list `zone`. The A records decide (RFC 5782 §2.1: "Client software MUST
/// check the A record"); when listed, the TXT records are looked up for the explanation, and a
/// failure to get them leaves the explanation empty.
///
/// Returns `Err` only when the query name cannot be formed ([`Error::QueryName`]).
pub async fn lookup(resolver: &dyn Resolver, zone: &Domain, ip: IpAddr) -> Result<Status, Error> {
    let name = query_name(zone, ip)?;
    let status = match resolver.lookup_a(&name).await {
        Ok(a) => {
            let explanation = match resolver.lookup_txt(&name).await {
                Ok(txt) => Some(txt.records.join("; ")),
                Err(e) => {
                    if !e.is_not_found() {
                        tracing::debug!(%name, error = %e, "dnsbl: looking up the explanation");
                    }
                    None
                }
            };
            Status::Listed(Listing { addresses: a.records, explanation })
        }
        Err(e) if e.is_not_found() => Status::NotListed,
        Err(e) => Status::TempError(e),
    };
    tracing::debug!(%zone, %ip, %status, "dnsbl lookup");
    Ok(status)
}

/// Checks that `zone` behaves as an IPv4 DNSBL must (RFC 5782 §5): the test address `127.0.0.2`
/// is listed and `127.0.0.1` is not. Users of a list should check it periodically, so a list
/// that was shut down, or that started to list everything, is noticed before it rejects mail.
///
/// A list that fails both ways reports the forbidden entry: listing everything is the more
/// harmful failure.
pub async fn check_health(resolver: &dyn Resolver, zone: &Domain) -> Result<(), Error> {
    let forbidden = lookup(resolver, zone, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))).await?;
    let required = lookup(resolver, zone, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).await?;
    match (forbidden, required) {
        (Status::Listed(listing), _) => {
            Err(Error::ListsForbiddenEntry { zone: zone.clone(), listing })
        }
        (_, Status::NotListed) => Err(Error::MissingTestEntry { zone: zone.clone() }),
        (Status::TempError(source), _) | (_, Status::TempError(source)) => {
            Err(Error::Temporary { zone: zone.clone(), source })
        }
        (Status::NotListed, Status::Listed(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dns::{Failure, MockResolver, RecordType, TemporaryKind};

    fn zone() -> Domain {
        Domain::parse("bl.example.org").unwrap()
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn query_names_follow_rfc5782_examples() {
        // RFC 5782 §2.1: 192.0.2.99 in bad.example.com.
        let bad = Domain::parse("bad.example.com").unwrap();
        let name = query_name(&bad, "192.0.2.99".parse().unwrap()).unwrap();
        assert_eq!(name.ascii(), "99.2.0.192.bad.example.com");
        // RFC 5782 §2.4: 2001:db8:1:2:3:4:567:89ab in ugly.example.com.
        let ugly = Domain::parse("ugly.example.com").unwrap();
        let name = query_name(&ugly, "2001:db8:1:2:3:4:567:89ab".parse().unwrap()).unwrap();
        assert_eq!(
            name.ascii(),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com"
        );
        // RFC 5782 §5: the IPv6 test entry is the IPv4-mapped 127.0.0.2, queried as IPv6.
        let name = query_name(&ugly, "::ffff:127.0.0.2".parse().unwrap()).unwrap();
        assert!(name.ascii().starts_with("2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0"), "{name:?}");
    }

    #[test]
    fn zone_too_long_for_ipv6_is_an_error() {
        // 3 * 63 + 3 = 192 octets, plus 64 for the nibbles exceeds 253.
        let long =
            Domain::parse(&["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".into()].join("."))
                .unwrap();
        let err = query_name(&long, "2001:db8::1".parse().unwrap()).unwrap_err();
        assert!(matches!(err, Error::QueryName { source: DomainError::NameTooLong { .. }, .. }));
        assert!(err.to_string().contains("cannot query 2001:db8::1"), "{err}");
        // IPv4 still fits.
        assert!(query_name(&long, "192.0.2.1".parse().unwrap()).is_ok());
    }

    #[test]
    fn listed_with_sublists_and_several_txt_records() {
        let resolver = MockResolver::from_zone(
            r#"
            99.2.0.192.bl.example.org A 127.0.1.1
            99.2.0.192.bl.example.org A 127.0.1.2
            99.2.0.192.bl.example.org TXT "open relay"
            99.2.0.192.bl.example.org TXT "malware"
            "#,
        )
        .unwrap();
        let status = run(lookup(&resolver, &zone(), "192.0.2.99".parse().unwrap())).unwrap();
        let Status::Listed(listing) = status else { panic!("{status:?}") };
        assert_eq!(listing.addresses, [Ipv4Addr::new(127, 0, 1, 1), Ipv4Addr::new(127, 0, 1, 2)]);
        assert_eq!(listing.explanation.as_deref(), Some("open relay; malware"));
        assert_eq!(
            Status::Listed(listing).to_string(),
            "listed (127.0.1.1, 127.0.1.2: open relay; malware)"
        );
    }

    #[test]
    fn listed_without_txt_or_with_failing_txt() {
        let mut resolver = MockResolver::from_zone(
            "99.2.0.192.bl.example.org A 127.0.0.2\n1.2.0.192.bl.example.org A 127.0.0.4",
        )
        .unwrap();
        resolver.fail(
            &Domain::parse("1.2.0.192.bl.example.org").unwrap(),
            Some(RecordType::Txt),
            Failure::Timeout,
        );
        for ip in ["192.0.2.99", "192.0.2.1"] {
            let status = run(lookup(&resolver, &zone(), ip.parse().unwrap())).unwrap();
            let Status::Listed(listing) = status else { panic!("{ip}: {status:?}") };
            assert_eq!(listing.explanation, None, "{ip}");
        }
    }

    #[test]
    fn ipv6_listing() {
        let resolver = MockResolver::from_zone(
            r#"b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com A 127.0.0.2
               b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com TXT "Spam received.""#,
        )
        .unwrap();
        let ugly = Domain::parse("ugly.example.com").unwrap();
        let status =
            run(lookup(&resolver, &ugly, "2001:db8:1:2:3:4:567:89ab".parse().unwrap())).unwrap();
        assert_eq!(
            status,
            Status::Listed(Listing {
                addresses: vec![Ipv4Addr::new(127, 0, 0, 2)],
                explanation: Some("Spam received.".into())
            })
        );
        let status =
            run(lookup(&resolver, &ugly, "2001:db8:1:2:3:4:567:89ac".parse().unwrap())).unwrap();
        assert_eq!(status, Status::NotListed);
    }

    #[test]
    fn not_listed_and_temporary_errors() {
        let resolver = MockResolver::from_zone(
            r#"
            ; an entry with only a TXT record is not a listing: the A record decides
            5.2.0.192.bl.example.org TXT "stale"
            6.2.0.192.bl.example.org A SERVFAIL
            7.2.0.192.bl.example.org * TIMEOUT
            "#,
        )
        .unwrap();
        let check = |ip: &str| run(lookup(&resolver, &zone(), ip.parse().unwrap())).unwrap();
        assert_eq!(check("192.0.2.5"), Status::NotListed);
        assert_eq!(check("192.0.2.4"), Status::NotListed);
        let Status::TempError(e) = check("192.0.2.6") else { panic!() };
        assert!(matches!(e, LookupError::Temporary { kind: TemporaryKind::ServFail, .. }));
        let Status::TempError(e) = check("192.0.2.7") else { panic!() };
        assert!(matches!(e, LookupError::Temporary { kind: TemporaryKind::Timeout, .. }));
        assert!(!check("192.0.2.7").is_listed());
    }

    #[test]
    fn health_checks() {
        let healthy = MockResolver::from_zone("2.0.0.127.bl.example.org A 127.0.0.2").unwrap();
        assert_eq!(run(check_health(&healthy, &zone())), Ok(()));

        let empty = MockResolver::from_zone("bl.example.org A 192.0.2.80").unwrap();
        assert_eq!(
            run(check_health(&empty, &zone())),
            Err(Error::MissingTestEntry { zone: zone() })
        );

        // A list refusing this resolver by answering every query with an error code.
        let refusing = MockResolver::from_zone(
            "1.0.0.127.bl.example.org A 127.255.255.254\n2.0.0.127.bl.example.org A 127.255.255.254",
        )
        .unwrap();
        let err = run(check_health(&refusing, &zone())).unwrap_err();
        assert!(matches!(err, Error::ListsForbiddenEntry { .. }));
        assert_eq!(
            err.to_string(),
            "dnsbl bl.example.org lists the forbidden test address 127.0.0.1 (127.255.255.254)"
        );

        let broken = MockResolver::from_zone(
            "1.0.0.127.bl.example.org A REFUSED\n2.0.0.127.bl.example.org A 127.0.0.2",
        )
        .unwrap();
        let err = run(check_health(&broken, &zone())).unwrap_err();
        assert!(matches!(err, Error::Temporary { .. }), "{err:?}");
        assert!(err.to_string().contains("REFUSED"), "{err}");
    }
}
