//! What a recursive resolver serving a [`MockResolver`] zone answers to one question, as DNS
//! records. Kept apart from the server so the mapping from the `dns::Resolver` trait's results
//! to wire responses can be read (and changed) in one place.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dns::{Domain, LookupError, LookupResult, MockResolver, Resolver, TemporaryKind};
use hickory_server::proto::op::ResponseCode;
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, SOA, SRV, TLSA, TXT};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};

/// TTL of the records served. Short, so a client's cache does not outlive a test's intent, but
/// not zero, since a zero TTL is a special case some caches treat differently.
const RECORD_TTL: u32 = 60;

/// How many CNAMEs are put in an answer before giving up, as the zone does (`MockResolver`
/// answers SERVFAIL for longer chains and loops).
const MAX_CNAME_CHAIN: usize = 8;

/// The longest character-string in a TXT record (RFC 1035 §3.3: one length octet).
const MAX_CHARACTER_STRING: usize = 255;

/// A response to one question, before header flags and EDNS are added.
#[derive(Debug)]
pub(crate) enum ZoneAnswer {
    /// Send a response with this code and these sections.
    Respond {
        response_code: ResponseCode,
        /// CNAMEs followed, then the records of the type asked for.
        answers: Vec<Record>,
        /// The SOA record of a negative answer (NXDOMAIN or NODATA), RFC 2308 §3.
        soa: Option<Box<Record>>,
        /// Whether the zone says the answer is DNSSEC-authenticated.
        authentic: bool,
    },
    /// Send nothing: the client's query times out.
    Silence,
}

/// Answers `query_name`/`query_type` from `zone`, going only through the `dns::Resolver` trait
/// (so the server has exactly the zone's semantics: CNAME following, NXDOMAIN versus NODATA,
/// injected failures, authentic names). `query_name` is the name as the client wrote it; it is
/// the owner of the first answer record, so a client's 0x20 case randomization is echoed.
pub(crate) async fn answer(
    zone: &MockResolver,
    query_name: &Name,
    query_type: RecordType,
) -> ZoneAnswer {
    // From the raw labels: `to_ascii` would escape characters such as `:` or a space, which
    // SPF macros put in names (RFC 7208 §7.3) and a zone can hold (`Domain::parse_lenient`).
    let labels: Vec<String> =
        query_name.iter().map(|label| String::from_utf8_lossy(label).into_owned()).collect();
    let Ok(domain) = Domain::parse_lenient(&labels.join(".")) else {
        // The root, or a name the zone cannot hold (a control character, non-ASCII octets).
        return negative(ResponseCode::NXDomain, Vec::new(), None, false);
    };
    let chain = if query_type == RecordType::CNAME {
        Vec::new()
    } else {
        cname_chain(zone, query_name, &domain).await
    };
    let final_owner = chain.last().and_then(|r| match &r.data {
        RData::CNAME(target) => Some(target.0.clone()),
        _ => None,
    });
    let owner = final_owner.unwrap_or_else(|| query_name.clone());
    let result = match query_type {
        RecordType::A => records(zone.lookup_a(&domain).await, &owner, |ip| RData::A(A(ip))),
        RecordType::AAAA => {
            records(zone.lookup_aaaa(&domain).await, &owner, |ip| RData::AAAA(AAAA(ip)))
        }
        RecordType::TXT => records(zone.lookup_txt(&domain).await, &owner, |text| {
            RData::TXT(TXT::from_bytes(character_strings(text.as_bytes())))
        }),
        RecordType::MX => records(zone.lookup_mx(&domain).await, &owner, |mx| {
            let exchange = mx.exchange.as_ref().map_or_else(Name::root, wire_name);
            RData::MX(MX::new(mx.preference, exchange))
        }),
        RecordType::CNAME => records(zone.lookup_cname(&domain).await, &owner, |target| {
            RData::CNAME(CNAME(wire_name(&target)))
        }),
        RecordType::TLSA => records(zone.lookup_tlsa(&domain).await, &owner, |tlsa| {
            RData::TLSA(TLSA::new(
                tlsa.usage.into(),
                tlsa.selector.into(),
                tlsa.matching_type.into(),
                tlsa.data,
            ))
        }),
        RecordType::SRV => records(zone.lookup_srv(&domain).await, &owner, |srv| {
            let target = srv.target.as_ref().map_or_else(Name::root, wire_name);
            RData::SRV(SRV::new(srv.priority, srv.weight, srv.port, target))
        }),
        RecordType::PTR => match ip_from_reverse_name(&domain) {
            Some(ip) => records(zone.lookup_ptr(ip).await, &owner, |target| {
                RData::PTR(PTR(wire_name(&target)))
            }),
            None => existence(zone, &domain).await,
        },
        // Types the zone cannot hold: the name exists or not, but has no such records.
        _ => existence(zone, &domain).await,
    };
    match result {
        Ok((records, authentic)) => {
            let mut answers = chain;
            answers.extend(records);
            ZoneAnswer::Respond {
                response_code: ResponseCode::NoError,
                answers,
                soa: None,
                authentic,
            }
        }
        Err(LookupError::NxDomain { name, authentic }) => {
            negative(ResponseCode::NXDomain, chain, Some(&name), authentic)
        }
        Err(LookupError::NoRecords { name, authentic, .. }) => {
            negative(ResponseCode::NoError, chain, Some(&name), authentic)
        }
        Err(LookupError::Temporary { kind, .. }) => match kind {
            TemporaryKind::Timeout => ZoneAnswer::Silence,
            TemporaryKind::Refused => failure(ResponseCode::Refused),
            _ => failure(ResponseCode::ServFail),
        },
        Err(_) => failure(ResponseCode::ServFail),
    }
}

/// The CNAME records from `query_name` onwards, as a recursive resolver puts them before the
/// answer. Stops at the first name without a CNAME (or with a failure: the main lookup will
/// report it).
async fn cname_chain(zone: &MockResolver, query_name: &Name, domain: &Domain) -> Vec<Record> {
    let mut chain = Vec::new();
    let mut owner = query_name.clone();
    let mut current = domain.clone();
    while chain.len() < MAX_CNAME_CHAIN {
        let Ok(lookup) = zone.lookup_cname(&current).await else { break };
        let Some(target) = lookup.records.into_iter().next() else { break };
        let target_name = wire_name(&target);
        chain.push(Record::from_rdata(owner, RECORD_TTL, RData::CNAME(CNAME(target_name.clone()))));
        owner = target_name;
        current = target;
    }
    chain
}

/// Converts a successful lookup to records at `owner`, keeping errors as they are.
fn records<T>(
    result: LookupResult<T>,
    owner: &Name,
    rdata: impl Fn(T) -> RData,
) -> Result<(Vec<Record>, bool), LookupError> {
    let lookup = result?;
    let records = lookup
        .records
        .into_iter()
        .map(|record| Record::from_rdata(owner.clone(), RECORD_TTL, rdata(record)))
        .collect();
    Ok((records, lookup.authentic))
}

/// For a question the zone holds no records of: whether the name exists at all, asked as a
/// CNAME lookup (which the zone never follows), so the answer is NODATA or NXDOMAIN.
async fn existence(
    zone: &MockResolver,
    domain: &Domain,
) -> Result<(Vec<Record>, bool), LookupError> {
    match zone.lookup_cname(domain).await {
        // A CNAME at the name: the chain already holds it, and there are no other records.
        Ok(lookup) => Ok((Vec::new(), lookup.authentic)),
        Err(LookupError::NoRecords { name, authentic, .. }) => {
            Err(LookupError::NoRecords { name, record_type: dns::RecordType::Cname, authentic })
        }
        Err(other) => Err(other),
    }
}

fn negative(
    response_code: ResponseCode,
    chain: Vec<Record>,
    name: Option<&Domain>,
    authentic: bool,
) -> ZoneAnswer {
    ZoneAnswer::Respond {
        response_code,
        answers: chain,
        soa: Some(Box::new(soa_for(name))),
        authentic,
    }
}

fn failure(response_code: ResponseCode) -> ZoneAnswer {
    ZoneAnswer::Respond { response_code, answers: Vec::new(), soa: None, authentic: false }
}

/// An SOA record for a negative answer about `name`, at a made-up zone apex: its last two
/// labels (the zone has no notion of zone cuts). The SOA minimum is the negative-caching TTL
/// (RFC 2308 §5).
fn soa_for(name: Option<&Domain>) -> Record {
    let apex = name
        .map(|name| {
            let labels: Vec<&str> = name.labels().collect();
            let start = labels.len().saturating_sub(2);
            format!("{}.", labels[start..].join("."))
        })
        .and_then(|apex| Name::from_ascii(apex).ok())
        .unwrap_or_else(Name::root);
    let host = |label: &str| {
        Name::from_ascii(label)
            .and_then(|l| l.append_domain(&apex))
            .unwrap_or_else(|_| apex.clone())
    };
    let soa = SOA::new(host("ns"), host("hostmaster"), 1, 3600, 600, 86400, RECORD_TTL);
    Record::from_rdata(apex.clone(), RECORD_TTL, RData::SOA(soa))
}

/// Splits TXT data into character-strings of at most 255 octets (RFC 1035 §3.3.14). Empty
/// data is one empty string.
fn character_strings(data: &[u8]) -> Vec<&[u8]> {
    if data.is_empty() {
        return vec![data];
    }
    data.chunks(MAX_CHARACTER_STRING).collect()
}

/// The fully qualified wire name of a domain.
fn wire_name(domain: &Domain) -> Name {
    // A `Domain` is always a valid DNS name, so this cannot fail; the root is a harmless fallback.
    Name::from_ascii(format!("{}.", domain.ascii())).unwrap_or_else(|_| Name::root())
}

/// The address a reverse name (`4.3.2.1.in-addr.arpa`, 32 nibbles under `ip6.arpa`) stands
/// for, or `None` for other names under those zones (and every other name).
pub(crate) fn ip_from_reverse_name(name: &Domain) -> Option<IpAddr> {
    let ascii = name.ascii();
    if let Some(labels) = ascii.strip_suffix(".in-addr.arpa") {
        let mut octets = [0u8; 4];
        let parts: Vec<&str> = labels.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        for (octet, part) in octets.iter_mut().rev().zip(&parts) {
            if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            *octet = part.parse().ok()?;
        }
        return Some(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    if let Some(labels) = ascii.strip_suffix(".ip6.arpa") {
        let nibbles: Vec<&str> = labels.split('.').collect();
        if nibbles.len() != 32 {
            return None;
        }
        let mut value: u128 = 0;
        for nibble in nibbles.iter().rev() {
            let [digit] = nibble.as_bytes() else { return None };
            value = (value << 4) | u128::from(char::from(*digit).to_digit(16)?);
        }
        return Some(IpAddr::V6(Ipv6Addr::from(value)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names_map_back_to_addresses() {
        for ip in ["192.0.2.10", "10.0.0.1", "2001:db8::567:89ab", "::1", "ffff::"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_from_reverse_name(&Domain::reverse_lookup_name(ip)), Some(ip), "{ip}");
        }
        for name in [
            "2.0.192.in-addr.arpa",
            "256.2.0.192.in-addr.arpa",
            "x.2.0.192.in-addr.arpa",
            "1.ip6.arpa",
            "example.com",
        ] {
            assert_eq!(ip_from_reverse_name(&Domain::parse(name).unwrap()), None, "{name}");
        }
    }

    #[test]
    fn long_txt_is_split_into_character_strings() {
        let data = vec![b'x'; 600];
        let strings = character_strings(&data);
        assert_eq!(strings.iter().map(|s| s.len()).collect::<Vec<_>>(), [255, 255, 90]);
        assert_eq!(character_strings(b""), [b"" as &[u8]]);
    }

    #[test]
    fn negative_answers_carry_an_soa_at_a_plausible_apex() {
        let soa = soa_for(Some(&Domain::parse("_dmarc.mail.example.com").unwrap()));
        assert_eq!(soa.name.to_ascii(), "example.com.");
        assert_eq!(soa.record_type(), RecordType::SOA);
        assert_eq!(soa_for(None).name, Name::root());
    }
}
