//! [`Resolver`] over hickory-resolver, talking to the system's or a given recursive resolver,
//! with an answer cache (`cache.rs`) in front of hickory's own for the lookups a mail server
//! repeats for every message.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::config::ResolveHosts;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::xfer::{DnsExchange, DnsHandle};
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::{DnsRequest, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, RecordType as HickoryType};
use hickory_resolver::{ConnectionProvider, MAX_TTL, PoolContext};

use crate::cache::{Answer, AnswerCache, DEFAULT_CAPACITY};
use crate::resolver::{
    Lookup, LookupError, LookupResult, Mx, RecordType, Resolver, Srv, TemporaryKind, Tlsa,
};
use crate::{Domain, DomainError};

/// How long one attempt at one server may take before it counts as a timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How many times a query is sent in all before a timeout, SERVFAIL or REFUSED is final: two,
/// as glibc's and Go's default `attempts:2`. hickory's `ResolverOpts::attempts` counts the
/// retries after the first try, so it is one less.
const DEFAULT_TRIES: usize = 2;

/// Real DNS through [hickory-resolver](https://docs.rs/hickory-resolver), as a stub resolver
/// asking a recursive resolver: those in `/etc/resolv.conf`, or one given server.
///
/// Queries set the AD bit (RFC 6840 §5.7), so a validating resolver (such as unbound on
/// localhost) reports DNSSEC-authenticated answers, which show as [`Lookup::authentic`].
/// Hickory does not expose the header of negative answers, so NXDOMAIN and "no records" are
/// always reported as not authentic. `/etc/hosts` is not consulted: mail routing follows DNS.
///
/// Answers are cached for their TTL, in two layers. hickory caches each response until its
/// lowest TTL runs out (clamped by hickory's `ResolverOpts` TTL bounds). In front of it, this
/// resolver keeps the records already converted to the trait's types, keyed by the name's
/// ASCII form and the record type, until the same moment (hickory's `Lookup::valid_until`), so
/// a repeated lookup costs a hash lookup and a clone of the records (about 130 ns) instead of a
/// trip through hickory's cache (over a microsecond). NXDOMAIN and "no records" are kept only
/// when the server sent a negative TTL (an SOA in the authority section, RFC 2308 §5), for that
/// TTL; timeouts, SERVFAIL, REFUSED and network errors are never kept. A repeated lookup returns
/// exactly what the first did: the same records, `authentic` flag and error. The front cache
/// holds at most 10,000 answers (see [`set_cache_capacity`](Self::set_cache_capacity)) and is
/// shared by all clones of a resolver.
#[derive(Debug, Clone)]
pub struct HickoryResolver {
    inner: hickory_resolver::Resolver<AdBitProvider>,
    servers: Vec<SocketAddr>,
    answers: Arc<AnswerCache>,
    /// hickory's bounds on negative TTLs (`ResolverOpts::negative_min_ttl`/`_max_ttl`), which
    /// it applies when caching a negative answer; the front cache applies them the same way.
    negative_ttl_bounds: (Duration, Duration),
}

/// Why a resolver could not be configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolverConfigError {
    /// `/etc/resolv.conf` could not be read or names no server.
    #[error("reading the system DNS configuration (/etc/resolv.conf): {detail}")]
    SystemConfig {
        /// What hickory reported.
        detail: String,
    },
    /// A server given as `IP[:PORT]` is not an IP address with an optional port.
    #[error("invalid DNS server {given:?}: expected IP or IP:PORT (IPv6 with a port as [IP]:PORT)")]
    InvalidServer {
        /// The text as given.
        given: String,
    },
    /// hickory could not build the resolver.
    #[error("setting up the DNS resolver: {detail}")]
    Build {
        /// What hickory reported.
        detail: String,
    },
}

impl HickoryResolver {
    /// Uses the name servers and options (timeout, attempts) of `/etc/resolv.conf`. Search
    /// domains are ignored: every name is looked up as fully qualified. EDNS0 is always used.
    pub fn from_system_conf() -> Result<HickoryResolver, ResolverConfigError> {
        let (config, mut options) = hickory_resolver::system_conf::read_system_conf()
            .map_err(|e| ResolverConfigError::SystemConfig { detail: e.to_string() })?;
        let servers = config
            .name_servers()
            .iter()
            .flat_map(|ns| ns.connections.iter().map(|c| SocketAddr::new(ns.ip, c.port)))
            .collect::<Vec<_>>();
        let (_, _, name_servers) = config.into_parts();
        options.use_hosts_file = ResolveHosts::Never;
        // resolv.conf's `attempts:n` is the number of tries in all (resolv.conf(5)); hickory
        // takes it as the number of retries, which would send each query once more.
        options.attempts = options.attempts.saturating_sub(1);
        // glibc sends EDNS0 only with `options edns0`; a mail server wants it regardless, so
        // DKIM keys and long TXT records fit in one UDP answer (Go's resolver always sends it).
        options.edns0 = true;
        HickoryResolver::build(ResolverConfig::from_name_servers(name_servers), options, servers)
    }

    /// Sends every query to one server, over UDP with TCP fallback for truncated answers. A
    /// query that times out or gets SERVFAIL or REFUSED is sent once more before the lookup
    /// fails; each try may take 5 seconds (see [`set_timeout`](Self::set_timeout)).
    pub fn with_server(server: SocketAddr) -> Result<HickoryResolver, ResolverConfigError> {
        let mut name_server = NameServerConfig::udp_and_tcp(server.ip());
        for connection in &mut name_server.connections {
            connection.port = server.port();
        }
        let mut options = ResolverOpts::default();
        options.timeout = DEFAULT_TIMEOUT;
        options.attempts = DEFAULT_TRIES - 1;
        options.use_hosts_file = ResolveHosts::Never;
        HickoryResolver::build(
            ResolverConfig::from_name_servers(vec![name_server]),
            options,
            vec![server],
        )
    }

    /// Like [`with_server`](Self::with_server) for a server written as `IP`, `IP:PORT` or
    /// `[IPv6]:PORT`; port 53 when none is given. This is the syntax of mox's `--dns-server`
    /// option and `MOX_DNS_SERVER` variable.
    pub fn with_server_spec(spec: &str) -> Result<HickoryResolver, ResolverConfigError> {
        HickoryResolver::with_server(parse_server_spec(spec)?)
    }

    /// The server given (`Some`), or the system configuration (`None`).
    pub fn new(server: Option<&str>) -> Result<HickoryResolver, ResolverConfigError> {
        match server {
            Some(spec) => HickoryResolver::with_server_spec(spec),
            None => HickoryResolver::from_system_conf(),
        }
    }

    /// Sets how long one attempt at one server may take.
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), ResolverConfigError> {
        let mut options = self.inner.options().clone();
        options.timeout = timeout;
        let config = ResolverConfig::from_name_servers(
            self.servers
                .iter()
                .map(|s| {
                    let mut ns = NameServerConfig::udp_and_tcp(s.ip());
                    for c in &mut ns.connections {
                        c.port = s.port();
                    }
                    ns
                })
                .collect(),
        );
        let answers = self.answers.clone();
        *self = HickoryResolver::build(config, options, self.servers.clone())?;
        // The answers are as good as before, and clones keep sharing them.
        self.answers = answers;
        Ok(())
    }

    /// The servers queries go to.
    pub fn servers(&self) -> &[SocketAddr] {
        &self.servers
    }

    /// Sets how many answers the front cache (see the type's documentation) holds; 0 turns it
    /// off, leaving hickory's cache. When a new answer finds the cache full, expired answers are
    /// dropped, and if that frees less than a quarter of the room, all answers are: those still
    /// in use come back from hickory's cache on their next lookup. This resolver gets a new,
    /// empty cache; clones made before keep sharing the old one.
    pub fn set_cache_capacity(&mut self, answers: usize) {
        self.answers = Arc::new(AnswerCache::new(answers));
    }

    /// How many answers the front cache holds now (expired ones included until they are
    /// dropped), and at most: for monitoring.
    pub fn cached_answers(&self) -> (usize, usize) {
        (self.answers.len(), self.answers.capacity())
    }

    fn build(
        config: ResolverConfig,
        options: ResolverOpts,
        mut servers: Vec<SocketAddr>,
    ) -> Result<HickoryResolver, ResolverConfigError> {
        servers.dedup();
        let negative_ttl_bounds = (
            options.negative_min_ttl.unwrap_or(Duration::ZERO),
            options.negative_max_ttl.unwrap_or(Duration::from_secs(u64::from(MAX_TTL))),
        );
        let inner = hickory_resolver::Resolver::builder_with_config(
            config,
            AdBitProvider(TokioRuntimeProvider::default()),
        )
        .with_options(options)
        .build()
        .map_err(|e| ResolverConfigError::Build { detail: e.to_string() })?;
        Ok(HickoryResolver {
            inner,
            servers,
            answers: Arc::new(AnswerCache::new(DEFAULT_CAPACITY)),
            negative_ttl_bounds,
        })
    }

    /// Asks hickory. Besides the answer, says until when it may be reused: hickory's
    /// `valid_until` for records, the negative TTL for NXDOMAIN and "no records" when the server
    /// sent one, and never (`None`) otherwise.
    async fn query(
        &self,
        name: &Domain,
        record_type: RecordType,
    ) -> (Result<(Vec<RData>, bool), LookupError>, Option<Instant>) {
        let fqdn = match query_name(name) {
            Ok(fqdn) => fqdn,
            Err(e) => {
                let error = LookupError::Temporary {
                    name: name.clone(),
                    record_type,
                    kind: TemporaryKind::Network,
                    detail: Some(format!("name rejected by resolver: {e}")),
                };
                return (Err(error), None);
            }
        };
        let hickory_type = hickory_type(record_type);
        let result = self.inner.lookup(fqdn, hickory_type).await;
        tracing::trace!(name = %name.ascii(), %record_type, ok = result.is_ok(), "dns lookup");
        match result {
            Ok(lookup) => {
                let authentic = lookup.message().metadata.authentic_data;
                let records: Vec<RData> = lookup
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == hickory_type)
                    .map(|r| r.data.clone())
                    .collect();
                if records.is_empty() {
                    // No negative TTL comes with this (answers of other types only): not kept.
                    let error =
                        LookupError::NoRecords { name: name.clone(), record_type, authentic };
                    return (Err(error), None);
                }
                (Ok((records, authentic)), Some(lookup.valid_until()))
            }
            Err(e) => {
                let reuse_until = match &e {
                    NetError::Dns(DnsError::NoRecordsFound(no_records)) => {
                        no_records.negative_ttl.map(|ttl| {
                            let (min, max) = self.negative_ttl_bounds;
                            let ttl = Duration::from_secs(u64::from(ttl)).max(min).min(max);
                            Instant::now() + ttl
                        })
                    }
                    _ => None,
                };
                (Err(map_error(e, name, record_type)), reuse_until)
            }
        }
    }

    async fn lookup_mapped<T: Clone + Send + Sync + 'static>(
        &self,
        name: &Domain,
        record_type: RecordType,
        convert: impl Fn(&RData) -> Option<T>,
    ) -> LookupResult<T> {
        // The ASCII form of a `Domain` is in lower case: it is the key as it is.
        let key = name.ascii();
        if let Some(answer) = self.answers.get(key, record_type, Instant::now()) {
            match answer {
                Answer::Records { records, authentic } => {
                    // The record type decides `T`, so this always matches; if it did not, the
                    // lookup below would replace the entry.
                    if let Some(records) = records.downcast_ref::<Vec<T>>() {
                        return Ok(Lookup { records: records.clone(), authentic });
                    }
                }
                // hickory reports negative answers as not authentic (see the type's docs).
                Answer::NxDomain => {
                    return Err(LookupError::NxDomain { name: name.clone(), authentic: false });
                }
                Answer::NoRecords => {
                    return Err(LookupError::NoRecords {
                        name: name.clone(),
                        record_type,
                        authentic: false,
                    });
                }
            }
        }

        let (result, reuse_until) = self.query(name, record_type).await;
        let cache = |answer| {
            if let Some(until) = reuse_until {
                self.answers.insert(key, record_type, answer, until, Instant::now());
            }
        };
        let (data, authentic) = match result {
            Ok(answer) => answer,
            Err(error) => {
                match &error {
                    LookupError::NxDomain { authentic: false, .. } => cache(Answer::NxDomain),
                    LookupError::NoRecords { authentic: false, .. } => cache(Answer::NoRecords),
                    _ => {}
                }
                return Err(error);
            }
        };
        let mut records = Vec::with_capacity(data.len());
        for rdata in &data {
            match convert(rdata) {
                Some(record) => records.push(record),
                None => {
                    return Err(LookupError::Temporary {
                        name: name.clone(),
                        record_type,
                        kind: TemporaryKind::Network,
                        detail: Some(format!("unusable {record_type} record: {rdata}")),
                    });
                }
            }
        }
        cache(Answer::Records { records: Arc::new(records.clone()), authentic });
        Ok(Lookup { records, authentic })
    }
}

#[async_trait::async_trait]
impl Resolver for HickoryResolver {
    async fn lookup_txt(&self, name: &Domain) -> LookupResult<String> {
        self.lookup_mapped(name, RecordType::Txt, |rdata| match rdata {
            RData::TXT(txt) => {
                let joined: Vec<u8> = txt.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
                Some(String::from_utf8_lossy(&joined).into_owned())
            }
            _ => None,
        })
        .await
    }

    async fn lookup_a(&self, name: &Domain) -> LookupResult<Ipv4Addr> {
        self.lookup_mapped(name, RecordType::A, |rdata| match rdata {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .await
    }

    async fn lookup_aaaa(&self, name: &Domain) -> LookupResult<Ipv6Addr> {
        self.lookup_mapped(name, RecordType::Aaaa, |rdata| match rdata {
            RData::AAAA(aaaa) => Some(aaaa.0),
            _ => None,
        })
        .await
    }

    async fn lookup_mx(&self, name: &Domain) -> LookupResult<Mx> {
        self.lookup_mapped(name, RecordType::Mx, |rdata| match rdata {
            RData::MX(mx) => {
                let exchange = if mx.exchange.is_root() {
                    None
                } else {
                    Some(name_to_domain(&mx.exchange).ok()?)
                };
                Some(Mx { preference: mx.preference, exchange })
            }
            _ => None,
        })
        .await
    }

    async fn lookup_ptr(&self, ip: IpAddr) -> LookupResult<Domain> {
        let name = Domain::reverse_lookup_name(ip);
        self.lookup_mapped(&name, RecordType::Ptr, |rdata| match rdata {
            RData::PTR(ptr) => name_to_domain(&ptr.0).ok(),
            _ => None,
        })
        .await
    }

    async fn lookup_cname(&self, name: &Domain) -> LookupResult<Domain> {
        self.lookup_mapped(name, RecordType::Cname, |rdata| match rdata {
            RData::CNAME(cname) => name_to_domain(&cname.0).ok(),
            _ => None,
        })
        .await
    }

    async fn lookup_srv(&self, name: &Domain) -> LookupResult<Srv> {
        self.lookup_mapped(name, RecordType::Srv, |rdata| match rdata {
            RData::SRV(srv) => {
                let target = if srv.target.is_root() {
                    None
                } else {
                    Some(name_to_domain(&srv.target).ok()?)
                };
                Some(Srv { priority: srv.priority, weight: srv.weight, port: srv.port, target })
            }
            _ => None,
        })
        .await
    }

    async fn lookup_tlsa(&self, name: &Domain) -> LookupResult<Tlsa> {
        self.lookup_mapped(name, RecordType::Tlsa, |rdata| match rdata {
            RData::TLSA(tlsa) => Some(Tlsa {
                usage: tlsa.cert_usage.into(),
                selector: tlsa.selector.into(),
                matching_type: tlsa.matching.into(),
                data: tlsa.cert_data.clone(),
            }),
            _ => None,
        })
        .await
    }
}

/// Parses `IP`, `IP:PORT` or `[IPv6]:PORT`.
fn parse_server_spec(spec: &str) -> Result<SocketAddr, ResolverConfigError> {
    let spec = spec.trim();
    if let Ok(ip) = spec.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    if let Some(inner) = spec.strip_prefix('[').and_then(|s| s.strip_suffix(']'))
        && let Ok(ip) = inner.parse::<Ipv6Addr>()
    {
        return Ok(SocketAddr::new(IpAddr::V6(ip), 53));
    }
    spec.parse::<SocketAddr>()
        .map_err(|_| ResolverConfigError::InvalidServer { given: spec.to_string() })
}

/// The fully qualified name to query. Built from raw labels rather than parsed from text, so
/// names from [`Domain::parse_lenient`] (with `:`, `/`, `%` or spaces in labels) are sent as they
/// are instead of being rejected as malformed presentation syntax.
fn query_name(name: &Domain) -> Result<Name, hickory_resolver::proto::ProtoError> {
    Name::from_labels(name.labels().map(str::as_bytes))
}

fn name_to_domain(name: &Name) -> Result<Domain, DomainError> {
    Domain::parse(&name.to_ascii())
}

fn hickory_type(record_type: RecordType) -> HickoryType {
    match record_type {
        RecordType::A => HickoryType::A,
        RecordType::Aaaa => HickoryType::AAAA,
        RecordType::Txt => HickoryType::TXT,
        RecordType::Mx => HickoryType::MX,
        RecordType::Ptr => HickoryType::PTR,
        RecordType::Cname => HickoryType::CNAME,
        RecordType::Tlsa => HickoryType::TLSA,
        RecordType::Srv => HickoryType::SRV,
    }
}

fn map_error(error: NetError, name: &Domain, record_type: RecordType) -> LookupError {
    let temporary = |kind, detail: String| LookupError::Temporary {
        name: name.clone(),
        record_type,
        kind,
        detail: Some(detail),
    };
    match &error {
        NetError::Dns(DnsError::NoRecordsFound(no_records)) => {
            if no_records.response_code == ResponseCode::NXDomain {
                LookupError::NxDomain { name: name.clone(), authentic: false }
            } else {
                LookupError::NoRecords { name: name.clone(), record_type, authentic: false }
            }
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => {
            temporary(TemporaryKind::ServFail, error.to_string())
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => {
            temporary(TemporaryKind::Refused, error.to_string())
        }
        NetError::Timeout => temporary(TemporaryKind::Timeout, error.to_string()),
        _ => temporary(TemporaryKind::Network, error.to_string()),
    }
}

/// Makes connections whose queries carry the AD bit, asking a validating resolver to tell
/// whether the answer is DNSSEC-authenticated (RFC 6840 §5.7), which hickory's stub resolver
/// does not do by itself.
#[derive(Clone)]
struct AdBitProvider(TokioRuntimeProvider);

impl std::fmt::Debug for AdBitProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdBitProvider")
    }
}

impl ConnectionProvider for AdBitProvider {
    type Conn = AdBitHandle;
    type FutureConn = Pin<Box<dyn Future<Output = Result<AdBitHandle, NetError>> + Send>>;
    type RuntimeProvider = TokioRuntimeProvider;

    fn new_connection(
        &self,
        ip: IpAddr,
        config: &ConnectionConfig,
        cx: &PoolContext,
    ) -> Result<Self::FutureConn, NetError> {
        let connecting = self.0.new_connection(ip, config, cx)?;
        Ok(Box::pin(async move { connecting.await.map(AdBitHandle) }))
    }

    fn runtime_provider(&self) -> &TokioRuntimeProvider {
        &self.0
    }
}

#[derive(Clone)]
struct AdBitHandle(DnsExchange<TokioRuntimeProvider>);

impl DnsHandle for AdBitHandle {
    type Response = <DnsExchange<TokioRuntimeProvider> as DnsHandle>::Response;
    type Runtime = TokioRuntimeProvider;

    fn send(&self, request: DnsRequest) -> Self::Response {
        let original_query = request.original_query().cloned();
        let (mut message, options) = request.into_parts();
        message.metadata.authentic_data = true;
        self.0.send(DnsRequest::new(message, options).with_original_query(original_query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names_carry_labels_verbatim() {
        let plain = query_name(&Domain::parse("_spf.Example.com").unwrap()).unwrap();
        assert_eq!(plain, Name::from_ascii("_spf.example.com.").unwrap());
        assert!(plain.is_fqdn());
        let odd = query_name(&Domain::parse_lenient("foo:bar/baz.example.com").unwrap()).unwrap();
        assert_eq!(odd.num_labels(), 3);
        assert_eq!(odd.iter().next(), Some(&b"foo:bar/baz"[..]));
        assert!(odd.is_fqdn());
    }

    #[test]
    fn server_specs() {
        assert_eq!(parse_server_spec("127.0.0.1").unwrap(), "127.0.0.1:53".parse().unwrap());
        assert_eq!(parse_server_spec("127.0.0.1:5353").unwrap(), "127.0.0.1:5353".parse().unwrap());
        assert_eq!(parse_server_spec("::1").unwrap(), "[::1]:53".parse().unwrap());
        assert_eq!(parse_server_spec("[::1]").unwrap(), "[::1]:53".parse().unwrap());
        assert_eq!(parse_server_spec("[::1]:53000").unwrap(), "[::1]:53000".parse().unwrap());
        let err = parse_server_spec("dns.example:53").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid DNS server \"dns.example:53\": expected IP or IP:PORT (IPv6 with a port as [IP]:PORT)"
        );
    }
}
