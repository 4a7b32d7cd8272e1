//! An in-memory zone for tests and for library users who want lookups without a network.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;

use crate::resolver::{
    Lookup, LookupError, LookupResult, Mx, RecordType, Resolver, Srv, TemporaryKind, Tlsa,
};
use crate::{Domain, DomainError};

/// One record in a [`MockResolver`] zone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record {
    /// A TXT record, its strings already concatenated.
    Txt(String),
    /// An A record.
    A(Ipv4Addr),
    /// An AAAA record.
    Aaaa(Ipv6Addr),
    /// An MX record.
    Mx(Mx),
    /// A PTR record.
    Ptr(Domain),
    /// A CNAME record; lookups of other types at this name follow it.
    Cname(Domain),
    /// A TLSA record.
    Tlsa(Tlsa),
    /// An SRV record.
    Srv(Srv),
}

impl Record {
    /// The type of this record.
    pub fn record_type(&self) -> RecordType {
        match self {
            Record::Txt(_) => RecordType::Txt,
            Record::A(_) => RecordType::A,
            Record::Aaaa(_) => RecordType::Aaaa,
            Record::Mx(_) => RecordType::Mx,
            Record::Ptr(_) => RecordType::Ptr,
            Record::Cname(_) => RecordType::Cname,
            Record::Tlsa(_) => RecordType::Tlsa,
            Record::Srv(_) => RecordType::Srv,
        }
    }
}

/// A failure to inject for a name, for one record type or for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// Answer NXDOMAIN even if records exist.
    NxDomain,
    /// Answer SERVFAIL.
    ServFail,
    /// Never answer in time.
    Timeout,
    /// Refuse the query.
    Refused,
}

/// An error in zone text given to [`MockResolver::from_zone`], with its line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneError {
    /// The owner name of a line is not a valid domain.
    #[error("line {line}: invalid name: {source}")]
    Name {
        /// 1-based line number.
        line: usize,
        /// Why the name is invalid.
        source: DomainError,
    },
    /// The line does not have the shape `name TYPE data` or `name DIRECTIVE`.
    #[error("line {line}: {reason}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// How many CNAMEs a lookup follows before answering SERVFAIL, as a recursive resolver gives up
/// on long chains and loops.
const MAX_CNAME_CHAIN: usize = 8;

/// An in-memory DNS zone implementing [`Resolver`], with failures that can be injected per name
/// and record type, and a log of the queries made (to test lookup limits).
///
/// Names without records answer NXDOMAIN, unless a name below them exists (an "empty
/// non-terminal"), which answers "no records", as real DNS does. Build a zone in code with
/// [`add`](MockResolver::add) and [`fail`](MockResolver::fail), or from text with
/// [`from_zone`](MockResolver::from_zone):
///
/// ```text
/// # comments and blank lines are ignored; a trailing dot on names is optional
/// example.com.            TXT    "v=spf1 " "ip4:192.0.2.0/24 -all"   ; strings are concatenated
/// example.com             A      192.0.2.1
/// example.com             AAAA   2001:db8::1
/// example.com             MX     10 mx.example.com
/// nullmx.example          MX     0 .
/// 1.2.0.192.in-addr.arpa  PTR    mail.example.com
/// www.example.com         CNAME  example.com
/// _25._tcp.mx.example.com TLSA   3 1 1 8f2a...
/// _imaps._tcp.example.com SRV    0 1 993 mail.example.com   ; target "." is "not offered"
/// broken.example.com      TXT    SERVFAIL      ; also TIMEOUT, REFUSED, NXDOMAIN
/// down.example.com        *      TIMEOUT       ; every type
/// example.com             AUTHENTIC            ; answers for this name have the AD bit
/// ```
///
/// Quoted strings take `\"`, `\\` and `\DDD` (decimal byte) escapes; unquoted TXT data is taken as
/// one string per word.
#[derive(Debug, Default)]
pub struct MockResolver {
    records: HashMap<Domain, Vec<Record>>,
    failures: HashMap<(Domain, Option<RecordType>), Failure>,
    authentic_names: HashSet<Domain>,
    all_authentic: bool,
    queries: Mutex<Vec<(Domain, RecordType)>>,
}

impl MockResolver {
    /// An empty zone: every lookup answers NXDOMAIN.
    pub fn new() -> MockResolver {
        MockResolver::default()
    }

    /// A zone from text in the format shown above.
    pub fn from_zone(text: &str) -> Result<MockResolver, ZoneError> {
        let mut resolver = MockResolver::new();
        resolver.add_zone(text)?;
        Ok(resolver)
    }

    /// Adds the records and failures of zone text to this zone.
    pub fn add_zone(&mut self, text: &str) -> Result<(), ZoneError> {
        for (index, line) in text.lines().enumerate() {
            self.add_zone_line(index + 1, line)?;
        }
        Ok(())
    }

    /// Adds a record.
    pub fn add(&mut self, name: &Domain, record: Record) -> &mut Self {
        self.records.entry(name.clone()).or_default().push(record);
        self
    }

    /// Makes lookups of `name` fail, for one record type or (with `None`) for every type.
    pub fn fail(
        &mut self,
        name: &Domain,
        record_type: Option<RecordType>,
        failure: Failure,
    ) -> &mut Self {
        self.failures.insert((name.clone(), record_type), failure);
        self
    }

    /// Marks answers for `name` (records, "no records" and NXDOMAIN) as DNSSEC-authenticated.
    pub fn set_authentic(&mut self, name: &Domain) -> &mut Self {
        self.authentic_names.insert(name.clone());
        self
    }

    /// Marks every answer as DNSSEC-authenticated, as from a fully signed zone.
    pub fn set_all_authentic(&mut self, authentic: bool) -> &mut Self {
        self.all_authentic = authentic;
        self
    }

    /// The queries made so far, in order, as (name, type). CNAME targets that were followed
    /// are not listed: a recursive resolver would follow them in the same query.
    pub fn queries(&self) -> Vec<(Domain, RecordType)> {
        self.queries.lock().map(|q| q.clone()).unwrap_or_default()
    }

    /// Forgets the queries logged so far.
    pub fn clear_queries(&self) {
        if let Ok(mut q) = self.queries.lock() {
            q.clear();
        }
    }

    fn add_zone_line(&mut self, line_number: usize, line: &str) -> Result<(), ZoneError> {
        let syntax = |reason: String| ZoneError::Syntax { line: line_number, reason };
        let tokens = tokenize(line).map_err(syntax)?;
        let Some((name_token, rest)) = tokens.split_first() else {
            return Ok(());
        };
        let name = Domain::parse(&name_token.text)
            .map_err(|source| ZoneError::Name { line: line_number, source })?;
        let Some((type_token, data)) = rest.split_first() else {
            return Err(syntax(format!("missing record type after {:?}", name_token.text)));
        };
        let type_word = type_token.text.to_ascii_uppercase();
        match type_word.as_str() {
            "AUTHENTIC" if data.is_empty() => {
                self.set_authentic(&name);
                return Ok(());
            }
            "NXDOMAIN" if data.is_empty() => {
                self.fail(&name, None, Failure::NxDomain);
                return Ok(());
            }
            _ => {}
        }
        let record_type = if type_word == "*" {
            None
        } else {
            Some(
                RecordType::from_mnemonic(&type_word)
                    .ok_or_else(|| syntax(format!("unknown record type {:?}", type_token.text)))?,
            )
        };
        if let [word] = data
            && !word.quoted
            && let Some(failure) = failure_from_word(&word.text)
        {
            self.fail(&name, record_type, failure);
            return Ok(());
        }
        let Some(record_type) = record_type else {
            return Err(syntax(
                "`*` takes a failure: NXDOMAIN, SERVFAIL, TIMEOUT or REFUSED".into(),
            ));
        };
        let record = parse_record_data(record_type, data).map_err(syntax)?;
        self.add(&name, record);
        Ok(())
    }

    fn lookup<T>(
        &self,
        name: &Domain,
        record_type: RecordType,
        select: impl Fn(&Record) -> Option<T>,
    ) -> LookupResult<T> {
        if let Ok(mut q) = self.queries.lock() {
            q.push((name.clone(), record_type));
        }
        let mut current = name.clone();
        let mut authentic = true;
        for _ in 0..=MAX_CNAME_CHAIN {
            authentic &= self.is_authentic(&current);
            if let Some(failure) = self
                .failures
                .get(&(current.clone(), Some(record_type)))
                .or_else(|| self.failures.get(&(current.clone(), None)))
            {
                return Err(failure_error(*failure, &current, record_type, authentic));
            }
            let records = self.records.get(&current).map(Vec::as_slice).unwrap_or_default();
            let found: Vec<T> = records.iter().filter_map(&select).collect();
            if !found.is_empty() {
                return Ok(Lookup { records: found, authentic });
            }
            let cname = records.iter().find_map(|r| match r {
                Record::Cname(target) if record_type != RecordType::Cname => Some(target.clone()),
                _ => None,
            });
            match cname {
                Some(target) => current = target,
                None if !records.is_empty() || self.has_names_below(&current) => {
                    return Err(LookupError::NoRecords { name: current, record_type, authentic });
                }
                None => return Err(LookupError::NxDomain { name: current, authentic }),
            }
        }
        Err(LookupError::Temporary {
            name: name.clone(),
            record_type,
            kind: TemporaryKind::ServFail,
            detail: Some(format!("CNAME chain longer than {MAX_CNAME_CHAIN} or a loop")),
        })
    }

    fn is_authentic(&self, name: &Domain) -> bool {
        self.all_authentic || self.authentic_names.contains(name)
    }

    fn has_names_below(&self, name: &Domain) -> bool {
        self.records.keys().any(|other| other != name && other.is_within(name))
    }
}

#[async_trait::async_trait]
impl Resolver for MockResolver {
    async fn lookup_txt(&self, name: &Domain) -> LookupResult<String> {
        self.lookup(name, RecordType::Txt, |r| match r {
            Record::Txt(s) => Some(s.clone()),
            _ => None,
        })
    }

    async fn lookup_a(&self, name: &Domain) -> LookupResult<Ipv4Addr> {
        self.lookup(name, RecordType::A, |r| match r {
            Record::A(ip) => Some(*ip),
            _ => None,
        })
    }

    async fn lookup_aaaa(&self, name: &Domain) -> LookupResult<Ipv6Addr> {
        self.lookup(name, RecordType::Aaaa, |r| match r {
            Record::Aaaa(ip) => Some(*ip),
            _ => None,
        })
    }

    async fn lookup_mx(&self, name: &Domain) -> LookupResult<Mx> {
        self.lookup(name, RecordType::Mx, |r| match r {
            Record::Mx(mx) => Some(mx.clone()),
            _ => None,
        })
    }

    async fn lookup_ptr(&self, ip: IpAddr) -> LookupResult<Domain> {
        self.lookup(&Domain::reverse_lookup_name(ip), RecordType::Ptr, |r| match r {
            Record::Ptr(target) => Some(target.clone()),
            _ => None,
        })
    }

    async fn lookup_cname(&self, name: &Domain) -> LookupResult<Domain> {
        self.lookup(name, RecordType::Cname, |r| match r {
            Record::Cname(target) => Some(target.clone()),
            _ => None,
        })
    }

    async fn lookup_tlsa(&self, name: &Domain) -> LookupResult<Tlsa> {
        self.lookup(name, RecordType::Tlsa, |r| match r {
            Record::Tlsa(tlsa) => Some(tlsa.clone()),
            _ => None,
        })
    }

    async fn lookup_srv(&self, name: &Domain) -> LookupResult<Srv> {
        self.lookup(name, RecordType::Srv, |r| match r {
            Record::Srv(srv) => Some(srv.clone()),
            _ => None,
        })
    }
}

fn failure_from_word(word: &str) -> Option<Failure> {
    match word.to_ascii_uppercase().as_str() {
        "NXDOMAIN" => Some(Failure::NxDomain),
        "SERVFAIL" => Some(Failure::ServFail),
        "TIMEOUT" => Some(Failure::Timeout),
        "REFUSED" => Some(Failure::Refused),
        _ => None,
    }
}

fn failure_error(
    failure: Failure,
    name: &Domain,
    record_type: RecordType,
    authentic: bool,
) -> LookupError {
    let temporary = |kind| LookupError::Temporary {
        name: name.clone(),
        record_type,
        kind,
        detail: Some("injected by MockResolver".into()),
    };
    match failure {
        Failure::NxDomain => LookupError::NxDomain { name: name.clone(), authentic },
        Failure::ServFail => temporary(TemporaryKind::ServFail),
        Failure::Timeout => temporary(TemporaryKind::Timeout),
        Failure::Refused => temporary(TemporaryKind::Refused),
    }
}

#[derive(Debug)]
struct Token {
    text: String,
    quoted: bool,
}

/// Splits a zone line into words and quoted strings, dropping `#` and `;` comments.
fn tokenize(line: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '#' || c == ';' {
            break;
        } else if c == '"' {
            chars.next();
            let mut bytes = Vec::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => {
                        let Some((_, escaped)) = chars.next() else { break };
                        if let Some(first) = escaped.to_digit(10) {
                            let mut value = first;
                            for _ in 0..2 {
                                let digit = chars.next().and_then(|(_, d)| d.to_digit(10));
                                let Some(digit) = digit else {
                                    return Err(format!("\\DDD escape at {start} needs 3 digits"));
                                };
                                value = value * 10 + digit;
                            }
                            let byte = u8::try_from(value)
                                .map_err(|_| format!("\\DDD escape {value} is over 255"))?;
                            bytes.push(byte);
                        } else {
                            let mut buf = [0; 4];
                            bytes.extend_from_slice(escaped.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                    c => {
                        let mut buf = [0; 4];
                        bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
            }
            if !closed {
                return Err(format!("unterminated quoted string starting at column {}", start + 1));
            }
            tokens.push(Token { text: String::from_utf8_lossy(&bytes).into_owned(), quoted: true });
        } else {
            let mut text = String::new();
            while let Some(&(_, c)) = chars.peek() {
                if c.is_whitespace() || c == '"' {
                    break;
                }
                text.push(c);
                chars.next();
            }
            tokens.push(Token { text, quoted: false });
        }
    }
    Ok(tokens)
}

fn parse_record_data(record_type: RecordType, data: &[Token]) -> Result<Record, String> {
    let words: Vec<&str> = data.iter().map(|t| t.text.as_str()).collect();
    let domain = |s: &str| Domain::parse(s).map_err(|e| format!("invalid name {s:?}: {e}"));
    let number = |s: &str, what: &str| -> Result<u64, String> {
        s.parse().map_err(|_| format!("{what} {s:?} is not a number"))
    };
    let expect = |n: usize, shape: &str| -> Result<(), String> {
        if words.len() == n {
            Ok(())
        } else {
            Err(format!("{record_type} takes {shape}, got {} words", words.len()))
        }
    };
    match record_type {
        RecordType::Txt => {
            if data.is_empty() {
                return Err("TXT needs at least one string".into());
            }
            Ok(Record::Txt(words.concat()))
        }
        RecordType::A => {
            expect(1, "an IPv4 address")?;
            words[0].parse().map(Record::A).map_err(|_| format!("invalid IPv4 {:?}", words[0]))
        }
        RecordType::Aaaa => {
            expect(1, "an IPv6 address")?;
            words[0].parse().map(Record::Aaaa).map_err(|_| format!("invalid IPv6 {:?}", words[0]))
        }
        RecordType::Mx => {
            expect(2, "a preference and a host")?;
            let preference = u16::try_from(number(words[0], "MX preference")?)
                .map_err(|_| format!("MX preference {} is over 65535", words[0]))?;
            let exchange = if words[1] == "." { None } else { Some(domain(words[1])?) };
            Ok(Record::Mx(Mx { preference, exchange }))
        }
        RecordType::Ptr => {
            expect(1, "a name")?;
            Ok(Record::Ptr(domain(words[0])?))
        }
        RecordType::Cname => {
            expect(1, "a name")?;
            Ok(Record::Cname(domain(words[0])?))
        }
        RecordType::Srv => {
            expect(4, "a priority, a weight, a port and a target")?;
            let short = |s: &str, what: &str| -> Result<u16, String> {
                u16::try_from(number(s, what)?).map_err(|_| format!("{what} {s} is over 65535"))
            };
            Ok(Record::Srv(Srv {
                priority: short(words[0], "SRV priority")?,
                weight: short(words[1], "SRV weight")?,
                port: short(words[2], "SRV port")?,
                target: if words[3] == "." { None } else { Some(domain(words[3])?) },
            }))
        }
        RecordType::Tlsa => {
            if words.len() < 4 {
                return Err("TLSA takes usage, selector, matching type and hex data".into());
            }
            let small = |s: &str, what: &str| -> Result<u8, String> {
                u8::try_from(number(s, what)?).map_err(|_| format!("{what} {s} is over 255"))
            };
            let hex: String = words[3..].concat();
            Ok(Record::Tlsa(Tlsa {
                usage: small(words[0], "TLSA usage")?,
                selector: small(words[1], "TLSA selector")?,
                matching_type: small(words[2], "TLSA matching type")?,
                data: decode_hex(&hex)?,
            }))
        }
    }
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err(format!("hex data has an odd number of digits: {hex:?}"));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("invalid hex data {hex:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Domain {
        Domain::parse(s).unwrap()
    }

    const ZONE: &str = r#"
# a small zone
example.com.            TXT    "v=spf1 " "ip4:192.0.2.0/24 -all"   ; two strings
example.com             TXT    other words
example.com             A      192.0.2.1
example.com             AAAA   2001:db8::1
example.com             MX     10 mx.example.com
example.com             MX     20 mx2.example.com
nullmx.example          MX     0 .
1.2.0.192.in-addr.arpa  PTR    mail.example.com
www.example.com         CNAME  example.com
loop1.example.com       CNAME  loop2.example.com
loop2.example.com       CNAME  loop1.example.com
_25._tcp.mx.example.com TLSA   3 1 1 8f2a 00ff
deep.below.example.net  A      192.0.2.9
escaped.example.com     TXT    "a\"b\\c\065"
broken.example.com      TXT    SERVFAIL
broken.example.com      A      192.0.2.7
down.example.com        *      TIMEOUT
refused.example.com     MX     REFUSED
gone.example.com        A      192.0.2.8
gone.example.com        NXDOMAIN
example.com             AUTHENTIC
"#;

    fn zone() -> MockResolver {
        MockResolver::from_zone(ZONE).unwrap()
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn answers_each_record_type() {
        let r = zone();
        block(async {
            let txt = r.lookup_txt(&d("example.com")).await.unwrap();
            assert_eq!(txt.records, vec!["v=spf1 ip4:192.0.2.0/24 -all", "otherwords"]);
            assert!(txt.authentic);
            let a = r.lookup_a(&d("example.com")).await.unwrap();
            assert_eq!(a.records, vec![Ipv4Addr::new(192, 0, 2, 1)]);
            let aaaa = r.lookup_aaaa(&d("example.com")).await.unwrap();
            assert_eq!(aaaa.records, vec!["2001:db8::1".parse::<Ipv6Addr>().unwrap()]);
            let mx = r.lookup_mx(&d("example.com")).await.unwrap();
            assert_eq!(
                mx.records,
                vec![
                    Mx { preference: 10, exchange: Some(d("mx.example.com")) },
                    Mx { preference: 20, exchange: Some(d("mx2.example.com")) }
                ]
            );
            let null = r.lookup_mx(&d("nullmx.example")).await.unwrap();
            assert_eq!(null.records, vec![Mx { preference: 0, exchange: None }]);
            assert!(!null.authentic);
            let ptr = r.lookup_ptr("192.0.2.1".parse().unwrap()).await.unwrap();
            assert_eq!(ptr.records, vec![d("mail.example.com")]);
            let cname = r.lookup_cname(&d("www.example.com")).await.unwrap();
            assert_eq!(cname.records, vec![d("example.com")]);
            let tlsa = r.lookup_tlsa(&d("_25._tcp.mx.example.com")).await.unwrap();
            assert_eq!(
                tlsa.records,
                vec![Tlsa {
                    usage: 3,
                    selector: 1,
                    matching_type: 1,
                    data: vec![0x8f, 0x2a, 0, 255]
                }]
            );
            let escaped = r.lookup_txt(&d("escaped.example.com")).await.unwrap();
            assert_eq!(escaped.records, vec!["a\"b\\cA"]);
            let both = r.lookup_ip(&d("example.com")).await.unwrap();
            assert_eq!(both.records.len(), 2);
        });
    }

    #[test]
    fn follows_cnames_and_stops_loops() {
        let r = zone();
        block(async {
            let a = r.lookup_a(&d("www.example.com")).await.unwrap();
            assert_eq!(a.records, vec![Ipv4Addr::new(192, 0, 2, 1)]);
            assert!(!a.authentic, "www is not marked authentic, so the chain is not");
            let err = r.lookup_a(&d("loop1.example.com")).await.unwrap_err();
            assert!(matches!(err, LookupError::Temporary { kind: TemporaryKind::ServFail, .. }));
        });
    }

    #[test]
    fn distinguishes_nxdomain_nodata_and_temporary_failures() {
        let r = zone();
        block(async {
            let nx = r.lookup_txt(&d("nonexistent.example.com")).await.unwrap_err();
            assert!(matches!(nx, LookupError::NxDomain { .. }));
            let nodata = r.lookup_tlsa(&d("example.com")).await.unwrap_err();
            assert_eq!(
                nodata,
                LookupError::NoRecords {
                    name: d("example.com"),
                    record_type: RecordType::Tlsa,
                    authentic: true
                }
            );
            // An empty non-terminal exists, but has no records.
            let ent = r.lookup_a(&d("below.example.net")).await.unwrap_err();
            assert!(matches!(ent, LookupError::NoRecords { .. }), "{ent:?}");
            let servfail = r.lookup_txt(&d("broken.example.com")).await.unwrap_err();
            assert!(matches!(
                servfail,
                LookupError::Temporary { kind: TemporaryKind::ServFail, .. }
            ));
            // The failure was for TXT only.
            assert!(r.lookup_a(&d("broken.example.com")).await.is_ok());
            for result in [
                r.lookup_a(&d("down.example.com")).await.map(|_| ()),
                r.lookup_txt(&d("down.example.com")).await.map(|_| ()),
            ] {
                assert!(matches!(
                    result,
                    Err(LookupError::Temporary { kind: TemporaryKind::Timeout, .. })
                ));
            }
            let refused = r.lookup_mx(&d("refused.example.com")).await.unwrap_err();
            assert!(matches!(refused, LookupError::Temporary { kind: TemporaryKind::Refused, .. }));
            let gone = r.lookup_a(&d("gone.example.com")).await.unwrap_err();
            assert!(matches!(gone, LookupError::NxDomain { .. }));
        });
    }

    #[test]
    fn logs_queries() {
        let r = zone();
        block(async {
            let _ = r.lookup_txt(&d("example.com")).await;
            let _ = r.lookup_a(&d("www.example.com")).await;
            let _ = r.lookup_ptr("192.0.2.1".parse().unwrap()).await;
        });
        assert_eq!(
            r.queries(),
            vec![
                (d("example.com"), RecordType::Txt),
                (d("www.example.com"), RecordType::A),
                (d("1.2.0.192.in-addr.arpa"), RecordType::Ptr),
            ]
        );
        r.clear_queries();
        assert!(r.queries().is_empty());
    }

    #[test]
    fn built_in_code() {
        let mut r = MockResolver::new();
        r.add(&d("example.org"), Record::Txt("hello".into()))
            .fail(&d("example.org"), Some(RecordType::Mx), Failure::Timeout)
            .set_all_authentic(true);
        block(async {
            let txt = r.lookup_txt(&d("example.org")).await.unwrap();
            assert_eq!(txt.records, vec!["hello"]);
            assert!(txt.authentic);
            assert!(r.lookup_mx(&d("example.org")).await.unwrap_err().is_temporary());
            assert!(r.lookup_a(&d("example.org")).await.unwrap_err().is_not_found());
        });
    }

    #[test]
    fn zone_errors_name_the_line() {
        let err =
            MockResolver::from_zone("ok.example A 192.0.2.1\nbad..name A 1.2.3.4").unwrap_err();
        assert!(matches!(err, ZoneError::Name { line: 2, .. }), "{err}");
        let err = MockResolver::from_zone("x.example A notanip").unwrap_err();
        assert_eq!(err.to_string(), "line 1: invalid IPv4 \"notanip\"");
        let err = MockResolver::from_zone("x.example CAA 0 issue x").unwrap_err();
        assert_eq!(err.to_string(), "line 1: unknown record type \"CAA\"");
        let err = MockResolver::from_zone("x.example TXT \"open").unwrap_err();
        assert!(err.to_string().contains("unterminated"), "{err}");
        let err = MockResolver::from_zone("x.example MX 70000 mx.example").unwrap_err();
        assert!(err.to_string().contains("over 65535"), "{err}");
        let err = MockResolver::from_zone("x.example").unwrap_err();
        assert!(err.to_string().contains("missing record type"), "{err}");
    }
}
