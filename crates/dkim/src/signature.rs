//! The DKIM-Signature header field (RFC 6376 §3.5) and the names it holds.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use base64::Engine;
use dns::Domain;

use crate::error::{ParseError, TagProblem};
use crate::tags::{Tag, decode_base64, for_each_tag, parse_tag_list, split_colon_list, trim_fws};

/// The header field name, as DKIM signers write it.
pub const HEADER_NAME: &str = "DKIM-Signature";

/// A parsed DKIM-Signature header field value (RFC 6376 §3.5).
///
/// ```text
/// sig-v-tag = %x76 [FWS] "=" [FWS] 1*DIGIT
/// sig-a-tag = %x61 [FWS] "=" [FWS] sig-a-tag-alg
/// sig-b-tag = %x62 [FWS] "=" [FWS] sig-b-tag-data          ; base64
/// sig-bh-tag = %x62 %x68 [FWS] "=" [FWS] sig-bh-tag-data   ; base64
/// sig-c-tag = %x63 [FWS] "=" [FWS] sig-c-tag-alg ["/" sig-c-tag-alg]
/// sig-d-tag = %x64 [FWS] "=" [FWS] domain-name
/// sig-h-tag = %x68 [FWS] "=" [FWS] hdr-name *( [FWS] ":" [FWS] hdr-name )
/// sig-i-tag = %x69 [FWS] "=" [FWS] [ Local-part ] "@" domain-name
/// sig-l-tag = %x6c [FWS] "=" [FWS] 1*76DIGIT
/// sig-q-tag = %x71 [FWS] "=" [FWS] sig-q-tag-method *([FWS] ":" [FWS] sig-q-tag-method)
/// sig-s-tag = %x73 [FWS] "=" [FWS] selector
/// sig-t-tag = %x74 [FWS] "=" [FWS] 1*12DIGIT
/// sig-x-tag = %x78 [FWS] "=" [FWS] 1*12DIGIT
/// sig-z-tag = %x7A [FWS] "=" [FWS] sig-z-tag-copy *( "|" [FWS] sig-z-tag-copy )
/// ```
///
/// Unknown tags are ignored, as §3.2 requires; a repeated tag makes the value invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// `a=`: the signing algorithm.
    pub algorithm: Algorithm,
    /// `b=`: the signature over the header hash.
    pub signature: Vec<u8>,
    /// `bh=`: the hash of the canonicalized body.
    pub body_hash: Vec<u8>,
    /// `c=`: header and body canonicalization (default `simple/simple`).
    pub canonicalization: Canonicalization,
    /// `d=`: the signing domain (SDID).
    pub domain: Domain,
    /// `h=`: the signed header field names, in order, as written (compare case-insensitively).
    pub signed_headers: SignedHeaders,
    /// `i=`: the agent or user identifier (AUID); absent means `@d`.
    pub identity: Option<Identity>,
    /// `l=`: the number of canonicalized body bytes that were signed; absent means all.
    /// Values too large for a `u64` are kept as `u64::MAX`.
    pub body_length: Option<u64>,
    /// `q=`: query methods, lowercased (default `dns/txt`).
    pub query_methods: Vec<String>,
    /// `s=`: the selector of the key.
    pub selector: Selector,
    /// `t=`: when the signature was made, in seconds since the Unix epoch.
    pub timestamp: Option<u64>,
    /// `x=`: when the signature expires, in seconds since the Unix epoch.
    pub expiration: Option<u64>,
    /// `z=`: copied header fields (diagnostics only), as written.
    pub copied_headers: Option<String>,
}

impl Signature {
    /// Parses a DKIM-Signature header field value: the bytes after the colon, folding included.
    ///
    /// ```
    /// let sig = dkim::Signature::parse(
    ///     b" v=1; a=ed25519-sha256; d=example.org; s=sel;\r\n h=From:To; bh=AAAA; b=BBBB",
    /// )?;
    /// assert_eq!(sig.domain.ascii(), "example.org");
    /// assert_eq!(sig.signed_headers, ["From", "To"]);
    /// assert_eq!(sig.canonicalization.to_string(), "simple/simple");
    /// # Ok::<(), dkim::ParseError>(())
    /// ```
    pub fn parse(value: &[u8]) -> Result<Signature, ParseError> {
        parse_with_b_region(value).map(|(sig, _)| sig)
    }

    /// The AUID: `i=`, or `@d` when absent (RFC 6376 §3.5).
    pub fn identity_or_default(&self) -> Identity {
        self.identity.clone().unwrap_or(Identity { localpart: None, domain: self.domain.clone() })
    }

    /// The whole header field, folded at about 78 columns, ending in CRLF. Tags are written in
    /// the order `v a c d s i t x l q h bh b`; `b=` is last so a signer can hash everything
    /// before its value (see [`Signature::header_without_signature`]).
    pub fn to_header(&self) -> String {
        let mut header = self.header_without_signature();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.signature);
        append_folded_base64(&mut header, &b64);
        header.push_str("\r\n");
        header
    }

    /// The header field up to and including `b=`, with no value and no CRLF: what a signer
    /// hashes (RFC 6376 §3.7).
    pub fn header_without_signature(&self) -> String {
        let mut f = Folder::new(HEADER_NAME);
        f.word("v=1;");
        f.word(&format!("a={};", self.algorithm));
        f.word(&format!("c={};", self.canonicalization));
        f.word(&format!("d={};", self.domain.ascii()));
        f.word(&format!("s={};", self.selector.0.ascii()));
        if let Some(i) = &self.identity {
            f.word(&format!("i={i};"));
        }
        if let Some(t) = self.timestamp {
            f.word(&format!("t={t};"));
        }
        if let Some(x) = self.expiration {
            f.word(&format!("x={x};"));
        }
        if let Some(l) = self.body_length {
            f.word(&format!("l={l};"));
        }
        if !self.query_methods.is_empty() {
            f.word(&format!("q={};", self.query_methods.join(":")));
        }
        // h= may fold after each colon.
        let n = self.signed_headers.len();
        for (i, name) in self.signed_headers.iter().enumerate() {
            let prefix = if i == 0 { "h=" } else { "" };
            let suffix = if i + 1 == n { ";" } else { ":" };
            if i == 0 {
                f.word(&format!("{prefix}{name}{suffix}"));
            } else {
                f.word_no_space(&format!("{name}{suffix}"));
            }
        }
        let bh = base64::engine::general_purpose::STANDARD.encode(&self.body_hash);
        f.word(&format!("bh={bh};"));
        f.word("b=");
        f.finish()
    }
}

/// A slot for each tag of RFC 6376 §3.5.
fn signature_tag_index(name: &str) -> Option<usize> {
    Some(match name {
        "v" => 0,
        "a" => 1,
        "b" => 2,
        "bh" => 3,
        "c" => 4,
        "d" => 5,
        "h" => 6,
        "i" => 7,
        "l" => 8,
        "q" => 9,
        "s" => 10,
        "t" => 11,
        "x" => 12,
        "z" => 13,
        _ => return None,
    })
}

/// Parses and also returns where the `b=` value (with the whitespace around it) lies in
/// `value`, for removing it before hashing (RFC 6376 §3.7).
pub(crate) fn parse_with_b_region(value: &[u8]) -> Result<(Signature, Range<usize>), ParseError> {
    // The tags by name, as they are found (names are unique; unknown ones are ignored).
    let mut known: [Option<Tag<'_>>; 14] = Default::default();
    for_each_tag(value, |tag| {
        if let Some(slot) = signature_tag_index(tag.name).and_then(|k| known.get_mut(k)) {
            *slot = Some(tag);
        }
    })?;
    let get = |name: &str| signature_tag_index(name).and_then(|k| known[k].as_ref());
    let required = |name: &'static str| get(name).ok_or(ParseError::MissingTag { tag: name });

    let v = required("v")?;
    if v.value != b"1" {
        return Err(invalid("v", TagProblem::Version { found: lossy(v.value), expected: "1" }));
    }
    let algorithm = text(required("a")?, "a")?;
    let algorithm = algorithm
        .parse::<Algorithm>()
        .map_err(|_| invalid("a", TagProblem::Algorithm { found: algorithm.to_string() }))?;
    let b = required("b")?;
    let signature = base64_value(b, "b")?;
    let body_hash = base64_value(required("bh")?, "bh")?;
    let canonicalization = match get("c") {
        None => Canonicalization::default(),
        Some(c) => {
            let s = text(c, "c")?;
            s.parse()
                .map_err(|_| invalid("c", TagProblem::Canonicalization { found: s.to_string() }))?
        }
    };
    let domain = domain_value(required("d")?, "d")?;
    let selector = Selector(domain_value(required("s")?, "s")?);
    let h = required("h")?.value;
    let signed_headers = match plain_header_list(h) {
        Some(list) => SignedHeaders(list),
        None => header_list(h)?,
    };
    let identity = match get("i") {
        None => None,
        Some(i) => {
            let s = text(i, "i")?;
            let identity: Identity =
                s.parse().map_err(|p| ParseError::InvalidTag { tag: "i", problem: p })?;
            if !identity.domain.is_within(&domain) {
                return Err(invalid(
                    "i",
                    TagProblem::IdentityOutsideDomain {
                        identity: identity.domain.to_string(),
                        domain: domain.to_string(),
                    },
                ));
            }
            Some(identity)
        }
    };
    let body_length = get("l").map(|l| number(l, "l", 76)).transpose()?;
    let query_methods = match get("q") {
        None => Vec::new(),
        Some(q) => split_colon_list(q.value).map(|m| lossy(m).to_ascii_lowercase()).collect(),
    };
    let timestamp = get("t").map(|t| number(t, "t", 12)).transpose()?;
    let expiration = get("x").map(|x| number(x, "x", 12)).transpose()?;
    if let (Some(t), Some(x)) = (timestamp, expiration)
        && x < t
    {
        return Err(invalid(
            "x",
            TagProblem::ExpirationBeforeTimestamp { expiration: x, timestamp: t },
        ));
    }
    let copied_headers = get("z").map(|z| lossy(z.value));
    let sig = Signature {
        algorithm,
        signature,
        body_hash,
        canonicalization,
        domain,
        signed_headers,
        identity,
        body_length,
        query_methods,
        selector,
        timestamp,
        expiration,
        copied_headers,
    };
    Ok((sig, b.value_region.clone()))
}

/// `h=` as signers write it, names of printable ASCII separated by colons with FWS only
/// where a long list is folded, next to a colon: then the names joined by colons, as
/// [`SignedHeaders`] keeps them, are its parts between the FWS runs. Each part is checked in a
/// pass without branches or state carried from byte to byte but the previous byte. `None`
/// for anything else: [`header_list`] then finds what is wrong.
fn plain_header_list(h: &[u8]) -> Option<String> {
    let mut list = String::with_capacity(h.len());
    let mut prev_end = b':';
    for part in h.split(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
        let (Some(&first), Some(&last)) = (part.first(), part.last()) else { continue };
        // FWS between two name bytes would be inside a name.
        if prev_end != b':' && first != b':' && !list.is_empty() {
            return None;
        }
        let mut bad = first == b':' && prev_end == b':';
        let mut prev = 0;
        for &b in part {
            bad |= !(0x21..=0x7e).contains(&b) | ((b == b':') & (prev == b':'));
            prev = b;
        }
        if bad {
            return None;
        }
        list.push_str(std::str::from_utf8(part).ok()?);
        prev_end = last;
    }
    (prev_end != b':').then_some(list)
}

/// `h=` in general: names separated by colons, with FWS around them.
fn header_list(h: &[u8]) -> Result<SignedHeaders, ParseError> {
    let bad_name = |name: &[u8]| invalid("h", TagProblem::HeaderName { found: lossy(name) });
    // Names are printable ASCII, so a valid h= is text; an invalid one has a bad name.
    let Ok(h_text) = std::str::from_utf8(h) else {
        let bad = split_colon_list(h).find(|n| std::str::from_utf8(n).is_err()).unwrap_or(h);
        return Err(bad_name(bad));
    };
    let mut signed_headers = SignedHeaders(String::with_capacity(h.len()));
    let mut rest = Some(h_text);
    while let Some(text) = rest {
        let (name, after) = split_at_colon(text);
        rest = after;
        let name = trim_fws_text(name);
        if !is_header_name(name) {
            return Err(bad_name(name.as_bytes()));
        }
        signed_headers.push(name);
    }
    Ok(signed_headers)
}

/// The `d=` and `s=` of a signature that may not parse as a whole, for reporting which
/// signature a failure is about.
pub(crate) fn domain_and_selector_hint(value: &[u8]) -> (Option<Domain>, Option<Selector>) {
    let Ok(tags) = parse_tag_list(value) else {
        return (None, None);
    };
    let get = |name: &'static str| {
        tags.iter().find(|t| t.name == name).and_then(|t| domain_value(t, name).ok())
    };
    (get("d"), get("s").map(Selector))
}

/// The header field names a signature covers (`h=`), in order and as written; compare them
/// ASCII case-insensitively. A name may repeat: each occurrence signs one more instance of the
/// field, from the bottom up, or that there is none (RFC 6376 §5.4.2).
///
/// Kept as one string of colon-separated names rather than a string per name: a verifier reads
/// a signature for every message, and signatures commonly list a dozen or more names.
///
/// ```
/// let h = dkim::SignedHeaders::new(["From", "To", "From"]).unwrap();
/// assert_eq!(h.len(), 3);
/// assert_eq!(h, ["From", "To", "From"]);
/// assert_eq!(h.to_string(), "From:To:From");
/// assert!(h.contains("FROM") && !h.contains("Subject"));
/// assert!(dkim::SignedHeaders::new(["From", "Bad:Name"]).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SignedHeaders(String);

impl SignedHeaders {
    /// The names, or `None` if one is not a header field name (printable US-ASCII except
    /// colon, RFC 5322 §3.6.8).
    pub fn new<I, S>(names: I) -> Option<SignedHeaders>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut h = SignedHeaders::default();
        for name in names {
            let name = name.as_ref();
            if !is_header_name(name) {
                return None;
            }
            h.push(name);
        }
        Some(h)
    }

    /// Appends a name, which must be valid.
    pub(crate) fn push(&mut self, name: &str) {
        if !self.0.is_empty() {
            self.0.push(':');
        }
        self.0.push_str(name);
    }

    /// The names in order.
    pub fn iter(&self) -> SignedHeadersIter<'_> {
        // Names are never empty: only an empty list would split into an empty string.
        SignedHeadersIter { rest: &self.0, done: self.0.is_empty() }
    }

    /// How many names (counting repeats).
    pub fn len(&self) -> usize {
        if self.0.is_empty() { 0 } else { self.0.bytes().filter(|&b| b == b':').count() + 1 }
    }

    /// Whether there are no names.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `name` is among them, ASCII case-insensitively.
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// The names separated by colons, as in `h=`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'a> IntoIterator for &'a SignedHeaders {
    type Item = &'a str;
    type IntoIter = SignedHeadersIter<'a>;
    fn into_iter(self) -> SignedHeadersIter<'a> {
        self.iter()
    }
}

/// The names of [`SignedHeaders`], in order.
#[derive(Debug, Clone)]
pub struct SignedHeadersIter<'a> {
    rest: &'a str,
    done: bool,
}

impl<'a> Iterator for SignedHeadersIter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.done {
            return None;
        }
        // Names are short: a byte loop beats str::split's searcher.
        let (name, rest) = split_at_colon(self.rest);
        self.done = rest.is_none();
        self.rest = rest.unwrap_or_default();
        Some(name)
    }
}

/// The text before the first colon, and after it if there is one.
fn split_at_colon(text: &str) -> (&str, Option<&str>) {
    match text.bytes().position(|b| b == b':') {
        Some(i) => (text.get(..i).unwrap_or_default(), text.get(i + 1..)),
        None => (text, None),
    }
}

/// The names separated by colons, as in `h=`.
impl fmt::Display for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const N: usize> PartialEq<[&str; N]> for SignedHeaders {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.iter().eq(other.iter().copied())
    }
}

/// `text` without FWS (WSP, CR, LF) at either end.
fn trim_fws_text(text: &str) -> &str {
    let bytes = trim_fws(text.as_bytes());
    // FWS bytes are ASCII, so what is left starts and ends at character boundaries.
    let start = bytes.as_ptr() as usize - text.as_ptr() as usize;
    text.get(start..start + bytes.len()).unwrap_or_default()
}

/// A header field name: printable US-ASCII except colon (RFC 5322 §3.6.8 `ftext`).
fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

/// A signing algorithm (`a=`, RFC 6376 §3.3, RFC 8463 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `rsa-sha256`: RSASSA-PKCS1-v1_5 with SHA-256.
    RsaSha256,
    /// `ed25519-sha256`: PureEdDSA Ed25519 over the SHA-256 header hash (RFC 8463).
    Ed25519Sha256,
    /// `rsa-sha1`: historic; parsed so it can be reported, never verified nor made (RFC 8301
    /// §3.1).
    RsaSha1,
}

impl Algorithm {
    /// The name as in `a=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "rsa-sha256",
            Algorithm::Ed25519Sha256 => "ed25519-sha256",
            Algorithm::RsaSha1 => "rsa-sha1",
        }
    }

    /// The key type the algorithm needs (a key record's `k=`).
    pub fn key_type(self) -> KeyType {
        match self {
            Algorithm::RsaSha256 | Algorithm::RsaSha1 => KeyType::Rsa,
            Algorithm::Ed25519Sha256 => KeyType::Ed25519,
        }
    }

    /// The hash algorithm name, as in a key record's `h=`.
    pub fn hash_name(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 | Algorithm::Ed25519Sha256 => "sha256",
            Algorithm::RsaSha1 => "sha1",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error from [`Algorithm::from_str`] for an unknown name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName;

impl FromStr for Algorithm {
    type Err = UnknownName;
    /// Case-insensitive.
    fn from_str(s: &str) -> Result<Algorithm, UnknownName> {
        [Algorithm::RsaSha256, Algorithm::Ed25519Sha256, Algorithm::RsaSha1]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or(UnknownName)
    }
}

/// A key type (`k=` in a key record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// RSA (the default when `k=` is absent).
    Rsa,
    /// Ed25519 (RFC 8463).
    Ed25519,
}

impl KeyType {
    /// The name as in `k=`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One canonicalization algorithm (RFC 6376 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Canon {
    /// `simple`: (almost) no changes.
    #[default]
    Simple,
    /// `relaxed`: tolerates common whitespace and case changes in transit.
    Relaxed,
}

impl Canon {
    /// The name as in `c=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Canon::Simple => "simple",
            Canon::Relaxed => "relaxed",
        }
    }
}

impl FromStr for Canon {
    type Err = UnknownName;
    /// Case-insensitive.
    fn from_str(s: &str) -> Result<Canon, UnknownName> {
        if s.eq_ignore_ascii_case("simple") {
            Ok(Canon::Simple)
        } else if s.eq_ignore_ascii_case("relaxed") {
            Ok(Canon::Relaxed)
        } else {
            Err(UnknownName)
        }
    }
}

/// Header and body canonicalization (`c=`); `simple/simple` by default, `relaxed/relaxed` is
/// what signers usually want.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Canonicalization {
    /// For the header fields.
    pub header: Canon,
    /// For the body.
    pub body: Canon,
}

impl Canonicalization {
    /// `relaxed/relaxed`.
    pub const RELAXED: Canonicalization =
        Canonicalization { header: Canon::Relaxed, body: Canon::Relaxed };
    /// `simple/simple`.
    pub const SIMPLE: Canonicalization =
        Canonicalization { header: Canon::Simple, body: Canon::Simple };
}

impl fmt::Display for Canonicalization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.header.as_str(), self.body.as_str())
    }
}

impl FromStr for Canonicalization {
    type Err = UnknownName;
    /// `header[/body]`; a missing body part means `simple` (RFC 6376 §3.5 `c=`).
    fn from_str(s: &str) -> Result<Canonicalization, UnknownName> {
        let (h, b) = s.split_once('/').unwrap_or((s, "simple"));
        Ok(Canonicalization { header: h.parse()?, body: b.parse()? })
    }
}

/// A selector (`s=`): names one of the domain's keys, at `selector._domainkey.domain`. It has
/// the syntax of a domain name (RFC 6376 §3.1), so it holds a [`Domain`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selector(Domain);

impl Selector {
    /// Parses a selector (one or more DNS labels).
    pub fn parse(s: &str) -> Result<Selector, dns::DomainError> {
        Domain::parse(s).map(Selector)
    }

    /// The selector as a domain name.
    pub fn as_domain(&self) -> &Domain {
        &self.0
    }

    /// Where its key record is published: `selector._domainkey.domain`.
    pub fn record_name(&self, domain: &Domain) -> Result<Domain, dns::DomainError> {
        let (selector, domain) = (self.0.ascii(), domain.ascii());
        // Sized at once: format! would grow the string piece by piece.
        let mut name = String::with_capacity(selector.len() + domain.len() + 12);
        name.push_str(selector);
        name.push_str("._domainkey.");
        name.push_str(domain);
        Domain::parse(&name)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The agent or user identifier (`i=`): `[localpart]@domain`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The local part as written, if any.
    pub localpart: Option<String>,
    /// The domain: `d=` or a subdomain of it.
    pub domain: Domain,
}

impl FromStr for Identity {
    type Err = TagProblem;
    fn from_str(s: &str) -> Result<Identity, TagProblem> {
        let (local, domain) =
            s.rsplit_once('@').ok_or_else(|| TagProblem::Identity { found: s.to_string() })?;
        let domain = Domain::parse(domain)
            .map_err(|source| TagProblem::Domain { found: domain.to_string(), source })?;
        let localpart = (!local.is_empty()).then(|| local.to_string());
        Ok(Identity { localpart, domain })
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.localpart.as_deref().unwrap_or(""), self.domain.ascii())
    }
}

fn invalid(tag: &'static str, problem: TagProblem) -> ParseError {
    ParseError::InvalidTag { tag, problem }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A plain-text value: UTF-8, surrounding FWS removed.
fn text<'a>(tag: &Tag<'a>, name: &'static str) -> Result<&'a str, ParseError> {
    std::str::from_utf8(trim_fws(tag.value)).map_err(|_| invalid(name, TagProblem::Text))
}

fn domain_value(tag: &Tag<'_>, name: &'static str) -> Result<Domain, ParseError> {
    let s = text(tag, name)?;
    Domain::parse(s)
        .map_err(|source| invalid(name, TagProblem::Domain { found: s.to_string(), source }))
}

pub(crate) fn base64_value(tag: &Tag<'_>, name: &'static str) -> Result<Vec<u8>, ParseError> {
    decode_base64(tag.value).ok_or_else(|| invalid(name, TagProblem::Base64))
}

/// Standard base64, with or without padding: the reference for [`decode_base64`].
#[cfg(test)]
pub(crate) const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

fn number(tag: &Tag<'_>, name: &'static str, max_digits: usize) -> Result<u64, ParseError> {
    let v = trim_fws(tag.value);
    if v.is_empty() || v.len() > max_digits || !v.iter().all(u8::is_ascii_digit) {
        return Err(invalid(name, TagProblem::Number { max_digits, found: lossy(v) }));
    }
    // Up to 76 digits for l=: saturate instead of failing, any such length exceeds the body.
    Ok(v.iter().fold(0u64, |n, d| n.saturating_mul(10).saturating_add(u64::from(d - b'0'))))
}

/// Folds a header at about 78 columns: words separated by a space, or by CRLF TAB when the
/// line would get too long.
struct Folder {
    out: String,
    line_len: usize,
}

const MAX_LINE: usize = 78;

impl Folder {
    fn new(name: &str) -> Folder {
        let out = format!("{name}:");
        Folder { line_len: out.len(), out }
    }

    fn word(&mut self, w: &str) {
        if self.line_len + 1 + w.len() > MAX_LINE && self.line_len > 1 {
            self.out.push_str("\r\n\t");
            self.line_len = 1;
        } else {
            self.out.push(' ');
            self.line_len += 1;
        }
        self.out.push_str(w);
        self.line_len += w.len();
    }

    /// A word directly after the previous one, unless the line is full (then FWS separates
    /// them, which the grammar allows there).
    fn word_no_space(&mut self, w: &str) {
        if self.line_len + w.len() > MAX_LINE {
            self.out.push_str("\r\n\t");
            self.line_len = 1;
        }
        self.out.push_str(w);
        self.line_len += w.len();
    }

    fn finish(self) -> String {
        self.out
    }
}

/// Appends base64 text to a header that ends with `b=`, folding so no line exceeds 78 columns.
pub(crate) fn append_folded_base64(header: &mut String, b64: &str) {
    let line_len = header.len() - header.rfind('\n').map_or(0, |i| i + 1);
    let mut room = MAX_LINE.saturating_sub(line_len);
    let mut rest = b64;
    while !rest.is_empty() {
        if room == 0 {
            header.push_str("\r\n\t");
            room = MAX_LINE - 1;
        }
        let n = room.min(rest.len());
        header.push_str(&rest[..n]);
        rest = &rest[n..];
        room -= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC6376_A2: &str = " v=1; a=rsa-sha256; s=brisbane; d=example.com;\r
        c=simple/simple; q=dns/txt; i=joe@football.example.com;\r
        h=Received : From : To : Subject : Date : Message-ID;\r
        bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r
        b=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB\r
        4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut\r
        KVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV\r
        4bmp/YzhwvcubU4=;";

    #[test]
    fn rfc6376_appendix_a2_signature() {
        let (sig, b) = parse_with_b_region(RFC6376_A2.as_bytes()).unwrap();
        assert_eq!(sig.algorithm, Algorithm::RsaSha256);
        assert_eq!(sig.selector.to_string(), "brisbane");
        assert_eq!(sig.domain.to_string(), "example.com");
        assert_eq!(sig.canonicalization, Canonicalization::SIMPLE);
        assert_eq!(sig.query_methods, ["dns/txt"]);
        let i = sig.identity.as_ref().unwrap();
        assert_eq!(i.localpart.as_deref(), Some("joe"));
        assert_eq!(i.domain.to_string(), "football.example.com");
        assert_eq!(sig.signed_headers, ["Received", "From", "To", "Subject", "Date", "Message-ID"]);
        assert_eq!(sig.body_hash.len(), 32);
        assert_eq!(sig.signature.len(), 128);
        let region = &RFC6376_A2[b];
        assert!(region.starts_with("AuUo") && region.ends_with("cubU4="), "{region:?}");
    }

    fn err(value: &str) -> ParseError {
        Signature::parse(value.as_bytes()).unwrap_err()
    }

    const OK: &str = "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA; b=AAAA";

    #[test]
    fn errors_name_the_tag() {
        assert!(Signature::parse(OK.as_bytes()).is_ok());
        for tag in ["v", "a", "b", "bh", "d", "h", "s"] {
            let value: Vec<_> =
                OK.split("; ").filter(|t| t.split('=').next() != Some(tag)).collect();
            assert_eq!(err(&value.join("; ")), ParseError::MissingTag { tag }, "{tag}");
        }
        assert_eq!(
            err(&OK.replace("v=1", "v=2")).to_string(),
            "tag v=: unsupported version \"2\", expected \"1\""
        );
        assert_eq!(
            err(&OK.replace("rsa-sha256", "rsa-md5")).to_string(),
            "tag a=: unknown signing algorithm \"rsa-md5\""
        );
        assert_eq!(err(&OK.replace("bh=AAAA", "bh=A*AA")).to_string(), "tag bh=: invalid base64");
        assert!(matches!(
            err(&OK.replace("d=example.org", "d=exa mple.org")),
            ParseError::InvalidTag { tag: "d", .. }
        ));
        assert!(matches!(err(&format!("{OK}; c=fancy")), ParseError::InvalidTag { tag: "c", .. }));
        assert!(matches!(err(&format!("{OK}; t=12x")), ParseError::InvalidTag { tag: "t", .. }));
        assert!(matches!(
            err(&format!("{OK}; t=1234567890123")),
            ParseError::InvalidTag { tag: "t", .. }
        ));
        assert_eq!(
            err(&format!("{OK}; t=200; x=100")).to_string(),
            "tag x=: expiration 100 is not after the signing time 200"
        );
        assert_eq!(
            err(&format!("{OK}; i=joe@example.com")).to_string(),
            "tag i=: identity domain example.com is not example.org or a subdomain of it"
        );
        assert!(matches!(err(&format!("{OK}; i=joe")), ParseError::InvalidTag { tag: "i", .. }));
        assert!(matches!(
            err(&OK.replace("h=from", "h=from::to")),
            ParseError::InvalidTag { tag: "h", .. }
        ));
        assert_eq!(err(&format!("{OK}; s=x")), ParseError::DuplicateTag { tag: "s".into() });
    }

    #[test]
    fn signed_header_names() {
        let sig =
            Signature::parse(OK.replace("h=from", "h= From :To\r\n\t:From:X-A_b ").as_bytes());
        let h = sig.unwrap().signed_headers;
        assert_eq!(h, ["From", "To", "From", "X-A_b"]);
        assert_eq!((h.len(), h.as_str()), (4, "From:To:From:X-A_b"));
        assert_eq!(h.iter().collect::<Vec<_>>(), (&h).into_iter().collect::<Vec<_>>());
        for (value, found) in
            [("from::to", ""), ("from:t\u{e9}", "t\u{e9}"), ("a:b c", "b c"), (":a", "")]
        {
            assert_eq!(
                err(&OK.replace("h=from", &format!("h={value}"))),
                invalid("h", TagProblem::HeaderName { found: found.into() }),
                "{value}"
            );
        }
        let mut raw = OK.as_bytes().to_vec();
        let at = raw.windows(6).position(|w| w == b"h=from").unwrap() + 6;
        raw.splice(at..at, [b':', b'x', 0xff]);
        assert_eq!(
            Signature::parse(&raw),
            Err(invalid("h", TagProblem::HeaderName { found: "x\u{fffd}".into() }))
        );
        assert!(SignedHeaders::default().is_empty());
        assert_eq!(SignedHeaders::default().iter().count(), 0);
        assert!(SignedHeaders::new([""]).is_none());
    }

    #[test]
    fn header_list_fast_path_agrees_with_the_general_one() {
        const BYTES: &[u8] = b"aB:: \t\r\n;\x7f\xc3-";
        let mut x: u64 = 0x0dd0_f00d_cafe_babe;
        let mut taken = 0;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut r = x;
            let h: Vec<u8> = (0..r % 14)
                .map(|_| {
                    r = r.rotate_left(7) ^ 0x9e37_79b9_7f4a_7c15;
                    BYTES[(r % BYTES.len() as u64) as usize]
                })
                .collect();
            if let Some(list) = plain_header_list(&h) {
                taken += 1;
                assert_eq!(Ok(SignedHeaders(list)), header_list(&h), "{h:?}");
            }
        }
        assert!(taken > 1000, "{taken}");
        let folded = b"From:To:\r\n\tSubject : Date:\n Message-ID";
        assert_eq!(plain_header_list(folded).as_deref(), Some("From:To:Subject:Date:Message-ID"));
        for bad in [&b"a\r\n b"[..], b"a:\r\n :b", b":a", b"a:", b"a b:c", b""] {
            assert_eq!(plain_header_list(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn optional_tags_and_defaults() {
        let sig = Signature::parse(
            format!("{OK}; c=relaxed; i=@mail.example.org; l=99999999999999999999999; x=5; t=4; q=DNS/TXT; z=From:a|To:b; unknown=tag")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            sig.canonicalization,
            Canonicalization { header: Canon::Relaxed, body: Canon::Simple }
        );
        assert_eq!(sig.identity.as_ref().unwrap().localpart, None);
        assert_eq!(sig.identity_or_default().domain.to_string(), "mail.example.org");
        assert_eq!(sig.body_length, Some(u64::MAX));
        assert_eq!((sig.timestamp, sig.expiration), (Some(4), Some(5)));
        assert_eq!(sig.query_methods, ["dns/txt"]);
        assert_eq!(sig.copied_headers.as_deref(), Some("From:a|To:b"));
        let sig = Signature::parse(OK.as_bytes()).unwrap();
        assert_eq!(sig.identity_or_default().to_string(), "@example.org");
        assert_eq!("RELAXED/Relaxed".parse(), Ok(Canonicalization::RELAXED));
    }

    #[test]
    fn header_round_trip_and_folding() {
        let mut sig = Signature::parse(RFC6376_A2.as_bytes()).unwrap();
        sig.expiration = Some(1_999_999_999);
        sig.timestamp = Some(1_000_000_000);
        let names = ["From", "To", "Subject", "Date", "Message-ID", "Content-Type"];
        sig.signed_headers = SignedHeaders::new(names.iter().cycle().take(30)).unwrap();
        let header = sig.to_header();
        assert!(header.starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple;"));
        assert!(header.ends_with("\r\n"));
        for line in header.split("\r\n") {
            assert!(line.len() <= 78, "line too long: {line:?}");
        }
        let value = header.strip_prefix("DKIM-Signature:").unwrap().strip_suffix("\r\n").unwrap();
        assert_eq!(Signature::parse(value.as_bytes()).unwrap(), sig);
        let unsigned = sig.header_without_signature();
        assert!(unsigned.ends_with(" b="), "{unsigned:?}");
        assert!(header.starts_with(&unsigned));
    }
}
