//! The `Resolver` trait, its record types and its errors.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::Domain;

/// The record types the mail protocols look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Text, used by SPF, DKIM, DMARC, MTA-STS, TLSRPT and DNSBLs.
    Txt,
    /// Mail exchanger.
    Mx,
    /// Reverse pointer.
    Ptr,
    /// Canonical name (alias).
    Cname,
    /// DANE certificate association (RFC 6698).
    Tlsa,
    /// Service location (RFC 2782), such as `_imaps._tcp` (RFC 6186).
    Srv,
}

impl RecordType {
    /// The type's mnemonic as in zone files: `A`, `AAAA`, `TXT`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Txt => "TXT",
            RecordType::Mx => "MX",
            RecordType::Ptr => "PTR",
            RecordType::Cname => "CNAME",
            RecordType::Tlsa => "TLSA",
            RecordType::Srv => "SRV",
        }
    }

    /// Parses a mnemonic, case-insensitively.
    pub fn from_mnemonic(s: &str) -> Option<RecordType> {
        [
            RecordType::A,
            RecordType::Aaaa,
            RecordType::Txt,
            RecordType::Mx,
            RecordType::Ptr,
            RecordType::Cname,
            RecordType::Tlsa,
            RecordType::Srv,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The records of one successful lookup, and whether a validating resolver vouched for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup<T> {
    /// The records; never empty (an empty answer is [`LookupError::NoRecords`]).
    pub records: Vec<T>,
    /// Whether the answer was DNSSEC-authenticated: the resolver set the AD bit (RFC 4035
    /// §3.2.3). Only meaningful when the resolver is trusted and reached over a trusted path,
    /// such as a validating resolver on localhost.
    pub authentic: bool,
}

/// An MX record (RFC 5321 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mx {
    /// Lower is preferred.
    pub preference: u16,
    /// The mail exchanger, or `None` for the null MX `.` (RFC 7505): the domain accepts no mail.
    pub exchange: Option<Domain>,
}

/// A TLSA record (RFC 6698 §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tlsa {
    /// Certificate usage: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE.
    pub usage: u8,
    /// 0: full certificate, 1: SubjectPublicKeyInfo.
    pub selector: u8,
    /// 0: exact, 1: SHA-256, 2: SHA-512.
    pub matching_type: u8,
    /// The certificate association data.
    pub data: Vec<u8>,
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Srv {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative weight among records of the same priority.
    pub weight: u16,
    /// The port of the service.
    pub port: u16,
    /// The host offering the service, or `None` for the target `.`: the service is decidedly
    /// not available at this domain (RFC 2782; RFC 6186 §3.4).
    pub target: Option<Domain>,
}

/// Why a temporary failure happened; all of them may succeed when tried again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TemporaryKind {
    /// The server answered SERVFAIL (RCODE 2): often a DNSSEC validation failure or an
    /// unreachable authoritative server.
    ServFail,
    /// No answer in time.
    Timeout,
    /// The server refused the query (RCODE 5).
    Refused,
    /// Sending or receiving failed, or the answer could not be decoded.
    Network,
}

impl fmt::Display for TemporaryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TemporaryKind::ServFail => "server failure (SERVFAIL)",
            TemporaryKind::Timeout => "timeout",
            TemporaryKind::Refused => "query refused (REFUSED)",
            TemporaryKind::Network => "network or protocol error",
        })
    }
}

/// A lookup that returned no records. The three kinds matter: SPF, DMARC and MTA-STS treat a name
/// that does not exist, a name without records of the type, and a failure to find out differently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The name does not exist (NXDOMAIN, RCODE 3).
    #[error("{name}: domain does not exist (NXDOMAIN)")]
    NxDomain {
        /// The name looked up.
        name: Domain,
        /// Whether the nonexistence was DNSSEC-authenticated.
        authentic: bool,
    },
    /// The name exists but has no records of this type (NOERROR with an empty answer, "NODATA").
    #[error("{name}: no {record_type} records")]
    NoRecords {
        /// The name looked up.
        name: Domain,
        /// The type asked for.
        record_type: RecordType,
        /// Whether the absence was DNSSEC-authenticated.
        authentic: bool,
    },
    /// The answer could not be had now; trying again later may work.
    #[error(
        "{name}: temporary failure looking up {record_type} records: {kind}{}",
        detail_suffix(detail)
    )]
    Temporary {
        /// The name looked up.
        name: Domain,
        /// The type asked for.
        record_type: RecordType,
        /// What went wrong.
        kind: TemporaryKind,
        /// The resolver's own description, when it gave one.
        detail: Option<String>,
    },
}

fn detail_suffix(detail: &Option<String>) -> String {
    detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
}

impl LookupError {
    /// True for NXDOMAIN and for "no records of this type": the name definitely has no answer.
    pub fn is_not_found(&self) -> bool {
        matches!(self, LookupError::NxDomain { .. } | LookupError::NoRecords { .. })
    }

    /// True for failures where trying again later may give an answer.
    pub fn is_temporary(&self) -> bool {
        matches!(self, LookupError::Temporary { .. })
    }

    /// The name that was looked up.
    pub fn name(&self) -> &Domain {
        match self {
            LookupError::NxDomain { name, .. }
            | LookupError::NoRecords { name, .. }
            | LookupError::Temporary { name, .. } => name,
        }
    }
}

/// The result of a lookup.
pub type LookupResult<T> = Result<Lookup<T>, LookupError>;

/// Looks up DNS records. Implemented by [`crate::HickoryResolver`] for real DNS and by
/// [`crate::MockResolver`] for tests; protocol crates take `&dyn Resolver`.
///
/// Lookups follow CNAME chains, as recursive resolvers do. Names are always fully qualified:
/// no search domains are appended.
#[async_trait::async_trait]
pub trait Resolver: Send + Sync {
    /// TXT records, each with its character-strings concatenated (as SPF, DKIM and DMARC
    /// require, RFC 7208 §3.3). Bytes that are not UTF-8 become U+FFFD.
    async fn lookup_txt(&self, name: &Domain) -> LookupResult<String>;

    /// IPv4 addresses (A records).
    async fn lookup_a(&self, name: &Domain) -> LookupResult<Ipv4Addr>;

    /// IPv6 addresses (AAAA records).
    async fn lookup_aaaa(&self, name: &Domain) -> LookupResult<Ipv6Addr>;

    /// MX records, in the order the server gave them.
    async fn lookup_mx(&self, name: &Domain) -> LookupResult<Mx>;

    /// Names for an IP address (PTR records at its reverse name).
    async fn lookup_ptr(&self, ip: IpAddr) -> LookupResult<Domain>;

    /// The target of a CNAME record at `name` (not followed further).
    async fn lookup_cname(&self, name: &Domain) -> LookupResult<Domain>;

    /// TLSA records, e.g. at `_25._tcp.mx.example.com`.
    async fn lookup_tlsa(&self, name: &Domain) -> LookupResult<Tlsa>;

    /// SRV records (RFC 2782), e.g. at `_imaps._tcp.example.com` (RFC 6186). Resolvers made
    /// before SRV lookups existed answer with a temporary failure.
    async fn lookup_srv(&self, name: &Domain) -> LookupResult<Srv> {
        Err(LookupError::Temporary {
            name: name.clone(),
            record_type: RecordType::Srv,
            kind: TemporaryKind::Network,
            detail: Some("SRV lookups are not implemented by this resolver".into()),
        })
    }

    /// IPv4 and IPv6 addresses together, IPv4 first. Succeeds when either lookup does; the
    /// answer is authentic only if both were. When both fail, a temporary failure wins over
    /// "no records", which wins over NXDOMAIN.
    async fn lookup_ip(&self, name: &Domain) -> LookupResult<IpAddr> {
        let v4 = self.lookup_a(name).await;
        let v6 = self.lookup_aaaa(name).await;
        combine_ip_lookups(v4, v6)
    }
}

fn combine_ip_lookups(
    v4: LookupResult<Ipv4Addr>,
    v6: LookupResult<Ipv6Addr>,
) -> LookupResult<IpAddr> {
    match (v4, v6) {
        (Err(e4), Err(e6)) => Err(worse_error(e4, e6)),
        (v4, v6) => {
            let mut records = Vec::new();
            let mut authentic = true;
            match v4 {
                Ok(l) => {
                    authentic &= l.authentic;
                    records.extend(l.records.into_iter().map(IpAddr::V4));
                }
                Err(e) => authentic &= error_authentic(&e),
            }
            match v6 {
                Ok(l) => {
                    authentic &= l.authentic;
                    records.extend(l.records.into_iter().map(IpAddr::V6));
                }
                Err(e) => authentic &= error_authentic(&e),
            }
            Ok(Lookup { records, authentic })
        }
    }
}

fn error_authentic(e: &LookupError) -> bool {
    match e {
        LookupError::NxDomain { authentic, .. } | LookupError::NoRecords { authentic, .. } => {
            *authentic
        }
        LookupError::Temporary { .. } => false,
    }
}

fn worse_error(a: LookupError, b: LookupError) -> LookupError {
    fn rank(e: &LookupError) -> u8 {
        match e {
            LookupError::Temporary { .. } => 2,
            LookupError::NoRecords { .. } => 1,
            LookupError::NxDomain { .. } => 0,
        }
    }
    if rank(&b) > rank(&a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain() -> Domain {
        Domain::parse("example.org").unwrap()
    }

    #[test]
    fn ip_lookups_combine() {
        let v4: LookupResult<Ipv4Addr> =
            Ok(Lookup { records: vec![Ipv4Addr::new(192, 0, 2, 1)], authentic: true });
        let v6: LookupResult<Ipv6Addr> = Err(LookupError::NoRecords {
            name: domain(),
            record_type: RecordType::Aaaa,
            authentic: false,
        });
        let combined = combine_ip_lookups(v4, v6).unwrap();
        assert_eq!(combined.records, vec![IpAddr::from([192, 0, 2, 1])]);
        assert!(!combined.authentic, "unauthenticated AAAA absence taints the answer");

        let temp = LookupError::Temporary {
            name: domain(),
            record_type: RecordType::A,
            kind: TemporaryKind::Timeout,
            detail: None,
        };
        let nodata = LookupError::NoRecords {
            name: domain(),
            record_type: RecordType::Aaaa,
            authentic: false,
        };
        let err = combine_ip_lookups(Err(temp.clone()), Err(nodata.clone())).unwrap_err();
        assert_eq!(err, temp);
        let nx = LookupError::NxDomain { name: domain(), authentic: false };
        let err = combine_ip_lookups(Err(nx), Err(nodata.clone())).unwrap_err();
        assert_eq!(err, nodata);
    }

    #[test]
    fn error_messages_name_the_problem() {
        let e = LookupError::Temporary {
            name: domain(),
            record_type: RecordType::Txt,
            kind: TemporaryKind::ServFail,
            detail: Some("upstream unreachable".into()),
        };
        assert_eq!(
            e.to_string(),
            "example.org: temporary failure looking up TXT records: server failure (SERVFAIL) (upstream unreachable)"
        );
        assert!(e.is_temporary() && !e.is_not_found());
        assert_eq!(RecordType::from_mnemonic("aaaa"), Some(RecordType::Aaaa));
        assert_eq!(RecordType::from_mnemonic("srv"), Some(RecordType::Srv));
        assert_eq!(RecordType::from_mnemonic("CAA"), None);
    }
}
