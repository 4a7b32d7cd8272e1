//! Verifying every DKIM-Signature of a message (RFC 6376 §6, RFC 8301, RFC 8463).
//!
//! [`Verification`] is the sans-IO core: it parses the signatures from the header section,
//! takes the body in chunks (hashing it once per distinct body canonicalization and length,
//! however many signatures there are), and only then looks up keys through a
//! [`dns::Resolver`]. [`verify`] drives it for a message held in memory.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dns::{Domain, LookupError, Resolver};
use message::Header;
use tracing::debug;

use crate::cache::{CachedKey, KeyCache};
use crate::canon::{BodyCanonicalizer, Limited, Sha256, header_into};
use crate::error::{Error, KeyError, ParseError};
use crate::key::PublicKey;
use crate::record::Record;
use crate::result::{Reason, SignatureResult, Status};
use crate::signature::{
    Algorithm, Canon, Selector, Signature, SignedHeaders, domain_and_selector_hint,
};

/// How to verify.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The verification time; `None` for the current time. For a message received earlier,
    /// RFC 6376 §3.5 (`x=`) suggests the time it was received.
    pub now: Option<SystemTime>,
    /// How far in the future a signature's `t=` may be before it is refused (clock skew
    /// between signer and verifier). Default 15 minutes.
    pub max_clock_skew: Duration,
    /// Report failures of keys in testing mode (`t=y`) as they are, instead of as `none`.
    pub ignore_test_mode: bool,
    /// Parsed key records to reuse while a domain publishes the same record text; `None`
    /// parses every record found.
    pub key_cache: Option<Arc<KeyCache>>,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            now: None,
            max_clock_skew: Duration::from_secs(15 * 60),
            ignore_test_mode: false,
            key_cache: None,
        }
    }
}

impl VerifyOptions {
    /// Options with the verification time set.
    pub fn at(now: SystemTime) -> VerifyOptions {
        VerifyOptions { now: Some(now), ..VerifyOptions::default() }
    }

    /// These options with a key record cache.
    pub fn with_key_cache(self, cache: Arc<KeyCache>) -> VerifyOptions {
        VerifyOptions { key_cache: Some(cache), ..self }
    }
}

/// Verifies every DKIM-Signature in `message` (header section and body), looking keys up
/// through `resolver`. Returns one result per signature in the order they appear, or an
/// empty list for an unsigned message; `Err` only if `message` has no header fields at all.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::{Duration, UNIX_EPOCH};
/// use dkim::{Canonicalization, PrivateKey, Record, Selector, Signer, Status};
///
/// let key = PrivateKey::generate_ed25519()?;
/// let zone = format!("sel._domainkey.example.org TXT \"{}\"", Record::for_public_key(&key.public_key()));
/// let resolver = dns::MockResolver::from_zone(&zone)?;
///
/// let message = b"From: <jane@example.org>\r\nSubject: hi\r\n\r\nHello!\r\n";
/// let signer = Signer::new(dns::Domain::parse("example.org")?, Selector::parse("sel")?, key);
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let signed = [dkim::sign(&[signer], message, now)?.as_bytes(), message].concat();
///
/// let results = dkim::verify(&resolver, &signed, &dkim::VerifyOptions::at(now)).await?;
/// assert_eq!(results.len(), 1);
/// assert_eq!(results[0].status, Status::Pass);
/// assert!(results[0].method_result().starts_with("dkim=pass header.d=example.org header.s=sel header.a=ed25519-sha256"));
///
/// let tampered = String::from_utf8(signed)?.replace("Hello!", "Hello?");
/// let results = dkim::verify(&resolver, tampered.as_bytes(), &dkim::VerifyOptions::at(now)).await?;
/// assert_eq!(results[0].status, Status::Fail);
/// # Ok(())
/// # }
/// ```
pub async fn verify(
    resolver: &dyn Resolver,
    message: &[u8],
    options: &VerifyOptions,
) -> Result<Vec<SignatureResult>, Error> {
    let mut v = Verification::new(message, options)?;
    v.update_body(&message[v.body_offset()..]);
    Ok(v.finish(resolver).await)
}

/// A verification in progress: signatures parsed, body being hashed.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let resolver = dns::MockResolver::from_zone("")?;
/// let message = b"From: a@example.org\r\n\r\nbody\r\n";
/// let mut v = dkim::Verification::new(message, &dkim::VerifyOptions::default())?;
/// for chunk in message[v.body_offset()..].chunks(2) {
///     v.update_body(chunk);
/// }
/// assert!(v.finish(&resolver).await.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Verification<'m> {
    header: Header<'m>,
    ignore_test_mode: bool,
    key_cache: Option<Arc<KeyCache>>,
    signatures: Vec<Candidate<'m>>,
    bodies: Vec<BodyHash>,
}

// One per DKIM-Signature field, made once: a pending signature kept inline saves a heap
// allocation per verification, and the size matters little in so short a list.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Candidate<'m> {
    /// Decided without the key (syntax error, expired, ...).
    Done(Box<SignatureResult>),
    /// Needs the key and body hash `body`; `lookup` is its key's index among those looked up.
    Pending {
        sig: Signature,
        lookup: Option<usize>,
        field: message::Field<'m>,
        field_index: usize,
        b_region: std::ops::Range<usize>,
        body: usize,
    },
}

#[derive(Debug)]
struct BodyHash {
    canon: Canon,
    limit: Option<u64>,
    canonicalizer: BodyCanonicalizer,
    sink: Limited<Sha256>,
}

impl<'m> Verification<'m> {
    /// Parses the DKIM-Signature fields of the header section at the start of `message`
    /// (which may go on with the body: it is not read here). `Err` if there are no header
    /// fields.
    pub fn new(message: &'m [u8], options: &VerifyOptions) -> Result<Verification<'m>, Error> {
        let header = Header::parse(message);
        if header.is_empty() {
            return Err(Error::NoHeader);
        }
        let now = unix_seconds(options.now.unwrap_or_else(SystemTime::now));
        let mut v = Verification {
            header,
            ignore_test_mode: options.ignore_test_mode,
            key_cache: options.key_cache.clone(),
            signatures: Vec::new(),
            bodies: Vec::new(),
        };
        let skew = options.max_clock_skew.as_secs();
        for field_index in 0..v.header.len() {
            // Fields borrow from `message`, not from `v.header`: a copy is free to keep.
            let field = v.header.fields()[field_index];
            if field.is("DKIM-Signature") {
                let candidate = v.check_signature(field_index, field, now, skew);
                v.signatures.push(candidate);
            }
        }
        Ok(v)
    }

    /// Where the body starts in the `message` given to [`Verification::new`].
    pub fn body_offset(&self) -> usize {
        self.header.body_offset()
    }

    /// Hashes the next part of the body.
    pub fn update_body(&mut self, chunk: &[u8]) {
        for b in &mut self.bodies {
            b.canonicalizer.update(chunk, &mut b.sink);
        }
    }

    /// Looks up the keys and checks every signature; one result per DKIM-Signature field, in
    /// message order.
    pub async fn finish(self, resolver: &dyn Resolver) -> Vec<SignatureResult> {
        let Verification { header, ignore_test_mode, key_cache, mut signatures, bodies } = self;
        let body_hashes: Vec<(ring::digest::Digest, u64)> = bodies
            .into_iter()
            .map(|mut b| {
                b.canonicalizer.finish(&mut b.sink);
                (b.sink.inner.finish(), b.sink.total)
            })
            .collect();
        // Each distinct key (selector and domain) is looked up once. With each record, how
        // many signatures use it: the last of them gets it without a copy.
        let mut lookups: Vec<(Result<Found, KeyLookupError>, usize)> = Vec::new();
        for i in 0..signatures.len() {
            let (earlier, rest) = signatures.split_at_mut(i);
            let Some(Candidate::Pending { sig, lookup, .. }) = rest.first_mut() else {
                continue;
            };
            let shared = earlier.iter().find_map(|c| match c {
                Candidate::Pending { sig: s, lookup: k, .. }
                    if s.selector == sig.selector && s.domain == sig.domain =>
                {
                    *k
                }
                _ => None,
            });
            let k = match shared {
                Some(k) => k,
                None => {
                    let cache = key_cache.as_deref();
                    let found = find_key(resolver, &sig.selector, &sig.domain, cache).await;
                    lookups.push((found, 0));
                    lookups.len() - 1
                }
            };
            if let Some((_, uses)) = lookups.get_mut(k) {
                *uses += 1;
            }
            *lookup = Some(k);
        }
        let mut results = Vec::with_capacity(signatures.len());
        for candidate in signatures {
            let (sig, field, field_index, b_region, body, k) = match candidate {
                Candidate::Done(r) => {
                    results.push(*r);
                    continue;
                }
                Candidate::Pending { sig, field, field_index, b_region, body, lookup } => {
                    (sig, field, field_index, b_region, body, lookup)
                }
            };
            let mut result = SignatureResult {
                status: Status::Permerror,
                reason: None,
                domain: Some(sig.domain.clone()),
                selector: Some(sig.selector.clone()),
                signature: None,
                record: None,
                record_authentic: false,
                testing: false,
                field_offset: field.offset(),
            };
            let outcome = match k.and_then(|k| lookups.get_mut(k)) {
                Some((Ok(Found { lookup: found, cached }), uses)) => {
                    result.record_authentic = found.authentic;
                    result.testing = found.record.testing();
                    let (hash, body_len) = &body_hashes[body];
                    let signature_field = signature_field_without_b(field.raw(), &b_region);
                    let signed = SignedData { header: &header, field_index, signature_field };
                    let key = cached.as_ref().map(|c| &c.key);
                    let outcome =
                        check_with_key(&sig, &found.record, key, &signed, hash.as_ref(), *body_len);
                    *uses -= 1;
                    result.record = Some(if *uses == 0 {
                        std::mem::replace(&mut found.record, Record::placeholder())
                    } else {
                        found.record.clone()
                    });
                    outcome
                }
                Some((Err(e), _)) => (e.status(), Some(e.reason())),
                None => (Status::Temperror, None),
            };
            result.status = outcome.0;
            result.reason = outcome.1;
            if result.testing && !ignore_test_mode && result.status != Status::Pass {
                // RFC 6376 §3.6.1 t=y: treat as unsigned.
                result.status = Status::None;
            }
            result.signature = Some(sig);
            debug!(
                status = %result.status,
                domain = ?result.domain.as_ref().map(|d| d.to_string()),
                selector = ?result.selector.as_ref().map(|s| s.to_string()),
                reason = ?result.reason.as_ref().map(|r| r.to_string()),
                "dkim signature verified"
            );
            results.push(result);
        }
        results
    }

    fn check_signature(
        &mut self,
        field_index: usize,
        field: message::Field<'m>,
        now: u64,
        skew: u64,
    ) -> Candidate<'m> {
        let done = |status, reason, sig: Option<Signature>, field: &message::Field<'_>| {
            let (domain, selector) = match &sig {
                Some(s) => (Some(s.domain.clone()), Some(s.selector.clone())),
                None => domain_and_selector_hint(field.raw_value()),
            };
            debug!(status = %status, reason = %reason_text(&reason), "dkim signature refused");
            Candidate::Done(Box::new(SignatureResult {
                status,
                reason: Some(reason),
                domain,
                selector,
                signature: sig,
                record: None,
                record_authentic: false,
                testing: false,
                field_offset: field.offset(),
            }))
        };
        let (sig, b_region) = match crate::signature::parse_with_b_region(field.raw_value()) {
            Ok(parsed) => parsed,
            Err(e) => return done(Status::Permerror, Reason::SignatureSyntax(e), None, &field),
        };
        if sig.algorithm == Algorithm::RsaSha1 {
            return done(Status::Fail, Reason::Sha1, Some(sig), &field);
        }
        if !sig.signed_headers.contains("from") {
            return done(Status::Permerror, Reason::FromNotSigned, Some(sig), &field);
        }
        if let Some(expiration) = sig.expiration
            && expiration < now
        {
            return done(Status::Permerror, Reason::Expired { expiration, now }, Some(sig), &field);
        }
        if let Some(timestamp) = sig.timestamp
            && timestamp > now.saturating_add(skew)
        {
            let reason = Reason::TimestampInFuture { timestamp, now };
            return done(Status::Permerror, reason, Some(sig), &field);
        }
        if !sig.query_methods.is_empty() && !sig.query_methods.iter().any(|m| m == "dns/txt") {
            let reason = Reason::QueryMethod { methods: sig.query_methods.clone() };
            return done(Status::Permerror, reason, Some(sig), &field);
        }
        let canon = sig.canonicalization.body;
        let limit = sig.body_length;
        let body = match self.bodies.iter().position(|b| b.canon == canon && b.limit == limit) {
            Some(i) => i,
            None => {
                self.bodies.push(BodyHash {
                    canon,
                    limit,
                    canonicalizer: BodyCanonicalizer::new(canon),
                    sink: Limited { inner: Sha256::new(), limit, total: 0 },
                });
                self.bodies.len() - 1
            }
        };
        Candidate::Pending { sig, lookup: None, field, field_index, b_region, body }
    }
}

fn reason_text(r: &Reason) -> String {
    r.to_string()
}

/// What the header signature covers: the header and the signature field without `b=`.
struct SignedData<'a, 'm> {
    header: &'a Header<'m>,
    field_index: usize,
    signature_field: Vec<u8>,
}

/// Checks a signature against its key record and the body hash (RFC 6376 §6.1.2 steps 5-8,
/// §6.1.3).
fn check_with_key(
    sig: &Signature,
    record: &Record,
    cached_key: Option<&Result<PublicKey, KeyError>>,
    signed: &SignedData<'_, '_>,
    body_hash: &[u8],
    body_len: u64,
) -> (Status, Option<Reason>) {
    let perm = |r| (Status::Permerror, Some(r));
    let hash = sig.algorithm.hash_name();
    if !record.allows_hash(hash) {
        return perm(Reason::HashNotAllowed { hash, allowed: owned(&record.hashes) });
    }
    if record.is_revoked() {
        return perm(Reason::KeyRevoked);
    }
    if record.known_key_type() != Some(sig.algorithm.key_type()) {
        return perm(Reason::KeyTypeMismatch {
            key_type: record.key_type.to_string(),
            algorithm: sig.algorithm,
        });
    }
    if !record.allows_service("email") {
        return perm(Reason::ServiceNotEmail { services: owned(&record.services) });
    }
    if record.strict_identity()
        && let Some(identity) = &sig.identity
        && identity.domain != sig.domain
    {
        return perm(Reason::StrictIdentity { identity: identity.domain.clone() });
    }
    // Without a cache the key is read where it lies in the record, not copied out.
    let key = match cached_key {
        Some(Ok(k)) => k.as_ref(),
        Some(Err(e)) => return perm(Reason::KeyData(e.clone())),
        None => match record.key_ref() {
            Ok(k) => k,
            Err(e) => return perm(Reason::KeyData(e)),
        },
    };
    if key.key_type() == crate::KeyType::Rsa {
        let bits = key.bits();
        if bits < 1024 {
            return (Status::Fail, Some(Reason::KeyTooSmall { bits }));
        }
        if bits > 8192 {
            return perm(Reason::KeyTooLarge { bits });
        }
    }
    if let Some(length) = sig.body_length
        && length > body_len
    {
        return (Status::Fail, Some(Reason::BodyTooShort { length, body: body_len }));
    }
    if body_hash != sig.body_hash.as_slice() {
        return (Status::Fail, Some(Reason::BodyHashMismatch));
    }
    let data = header_hash_input(
        signed.header,
        sig.canonicalization.header,
        &sig.signed_headers,
        Some(signed.field_index),
        &signed.signature_field,
    );
    if key.verify(sig.algorithm, &data, &sig.signature) {
        (Status::Pass, None)
    } else {
        (Status::Fail, Some(Reason::SignatureMismatch))
    }
}

fn owned(names: &[std::borrow::Cow<'static, str>]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The raw DKIM-Signature field with the `b=` value and the whitespace around it removed.
fn signature_field_without_b(raw: &[u8], b_region: &std::ops::Range<usize>) -> Vec<u8> {
    // The value (which the region is relative to) starts right after the first colon.
    let value_start = raw.iter().position(|&b| b == b':').map_or(0, |c| c + 1);
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..value_start + b_region.start]);
    out.extend_from_slice(&raw[value_start + b_region.end..]);
    out
}

/// The data the header signature is made over (RFC 6376 §3.7, §5.4.2): the fields named in
/// `h=`, each name taking the next instance from the bottom up, canonicalized with CRLF; then
/// the DKIM-Signature field itself (with an empty `b=`) without its CRLF. `exclude` is the
/// index of that field when verifying: it never counts as one of the signed fields.
pub(crate) fn header_hash_input(
    header: &Header<'_>,
    canon: Canon,
    signed: &SignedHeaders,
    exclude: Option<usize>,
    signature_field: &[u8],
) -> Vec<u8> {
    let fields = header.fields();
    // A cheap key per field name, on the stack for a usual header; the field being verified
    // never matches, nor does a field once a name has taken it.
    let mut small = [NO_KEY; 64];
    let mut large = Vec::new();
    let keys: &mut [u64] = match small.get_mut(..fields.len()) {
        Some(keys) => keys,
        None => {
            large.resize(fields.len(), NO_KEY);
            &mut large
        }
    };
    for (i, (key, field)) in keys.iter_mut().zip(fields).enumerate() {
        if Some(i) != exclude {
            *key = name_key(field.name());
        }
    }
    let mut out = Vec::with_capacity(header.raw().len() + signature_field.len() + 2);
    for name in signed.iter() {
        let key = name_key(name);
        // Keys decide for names of up to 7 bytes; longer ones are compared in full.
        let short = name.len() <= 7;
        // Each name takes the bottom-most instance not taken yet: the next from the bottom.
        // A name without (another) instance contributes nothing: it signs absence.
        let found = (0..keys.len())
            .rev()
            .find(|&i| keys[i] == key && (short || fields[i].name().eq_ignore_ascii_case(name)));
        if let Some(i) = found {
            keys[i] = NO_KEY;
            header_into(canon, fields[i].raw(), true, &mut out);
        }
    }
    header_into(canon, signature_field, false, &mut out);
    out
}

/// Never the key of a name.
const NO_KEY: u64 = u64::MAX;

/// A header field name's first 7 bytes lowercased, and its length: equal for names that are
/// equal ignoring ASCII case, and for names of up to 7 bytes only then. Header field names
/// are printable ASCII, so no key is [`NO_KEY`].
fn name_key(name: &str) -> u64 {
    // Built in a register: bytes copied into a stack array and read back as one word would
    // stall on store forwarding, once per name.
    let bytes = name.as_bytes();
    let head = match bytes.first_chunk::<8>() {
        Some(word) => u64::from_le_bytes(*word),
        None => bytes.iter().rev().fold(0u64, |w, &b| (w << 8) | u64::from(b)),
    };
    crate::swar::to_ascii_lowercase(head & 0x00ff_ffff_ffff_ffff)
        | ((name.len().min(255) as u64) << 56)
}

/// A key record found in DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLookup {
    /// The name looked up: `selector._domainkey.domain`.
    pub name: Domain,
    /// The parsed record.
    pub record: Record,
    /// The TXT record text.
    pub txt: String,
    /// Whether the answer was DNSSEC-authenticated.
    pub authentic: bool,
}

/// Why no usable key record was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLookupError {
    /// Selector and domain do not form a valid DNS name.
    #[error("invalid key record name: {0}")]
    Name(dns::DomainError),
    /// No record at the name (NXDOMAIN or no TXT records).
    #[error("no DKIM key record at {name}")]
    NotFound {
        /// The name looked up.
        name: Domain,
    },
    /// The lookup failed; it may work later.
    #[error("looking up the DKIM key record: {0}")]
    Temporary(LookupError),
    /// TXT records exist but none is a valid key record (the first one's error is given).
    #[error("invalid DKIM key record at {name}: {error} (record: {txt:?})")]
    Syntax {
        /// The name looked up.
        name: Domain,
        /// The first TXT record.
        txt: String,
        /// Why it does not parse.
        error: ParseError,
    },
}

impl KeyLookupError {
    /// The verification status this failure gives a signature: temperror for temporary DNS
    /// failures, permerror for everything else (RFC 6376 §6.1.2 steps 2, 3 and 5).
    pub fn status(&self) -> Status {
        match self {
            KeyLookupError::Temporary(_) => Status::Temperror,
            _ => Status::Permerror,
        }
    }

    fn reason(&self) -> Reason {
        match self {
            KeyLookupError::Name(e) => Reason::KeyName(e.clone()),
            KeyLookupError::NotFound { name } => Reason::NoKey { name: name.clone() },
            KeyLookupError::Temporary(e) => Reason::KeyUnavailable(e.clone()),
            KeyLookupError::Syntax { txt, error, .. } => {
                Reason::KeySyntax { txt: txt.clone(), error: error.clone() }
            }
        }
    }
}

/// Looks up and parses the key record at `selector._domainkey.domain` (RFC 6376 §3.6.2.2).
/// When several TXT records are there, the first that parses is used (§6.1.2 step 4).
pub async fn lookup_key(
    resolver: &dyn Resolver,
    selector: &Selector,
    domain: &Domain,
) -> Result<KeyLookup, KeyLookupError> {
    find_key(resolver, selector, domain, None).await.map(|found| found.lookup)
}

/// A key record found, with its cache entry when a cache is used.
struct Found {
    lookup: KeyLookup,
    cached: Option<Arc<CachedKey>>,
}

/// [`lookup_key`], reusing (and filling) a cache of parsed records.
async fn find_key(
    resolver: &dyn Resolver,
    selector: &Selector,
    domain: &Domain,
    cache: Option<&KeyCache>,
) -> Result<Found, KeyLookupError> {
    let name = selector.record_name(domain).map_err(KeyLookupError::Name)?;
    let lookup = match resolver.lookup_txt(&name).await {
        Ok(l) => l,
        Err(e) if e.is_not_found() => return Err(KeyLookupError::NotFound { name }),
        Err(e) => return Err(KeyLookupError::Temporary(e)),
    };
    let authentic = lookup.authentic;
    let mut first_error = None;
    for txt in lookup.records {
        // The same text as cached parses to the same record: a record that did not parse is
        // never cached, so earlier records here were parsed (and failed) just as without it.
        if let Some(cached) = cache.and_then(|c| c.get(&name, &txt)) {
            let record = cached.record.clone();
            let lookup = KeyLookup { name, record, txt, authentic };
            return Ok(Found { lookup, cached: Some(cached) });
        }
        match Record::parse(&txt) {
            Ok(record) => {
                let cached = cache.map(|c| c.insert(&name, &txt, &record));
                let lookup = KeyLookup { name, record, txt, authentic };
                return Ok(Found { lookup, cached });
            }
            Err(error) => {
                first_error.get_or_insert((txt, error));
            }
        }
    }
    match first_error {
        Some((txt, error)) => Err(KeyLookupError::Syntax { name, txt, error }),
        None => Err(KeyLookupError::NotFound { name }),
    }
}

pub(crate) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`header_hash_input`] the obvious way: the n-th occurrence of a name in `h=` takes the
    /// n-th instance from the bottom, comparing names in full.
    fn reference(
        header: &Header<'_>,
        signed: &SignedHeaders,
        exclude: Option<usize>,
        signature_field: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let names: Vec<&str> = signed.iter().collect();
        for (j, name) in names.iter().enumerate() {
            let skip = names[..j].iter().filter(|n| n.eq_ignore_ascii_case(name)).count();
            let instance = (0..header.len())
                .rev()
                .filter(|&i| {
                    Some(i) != exclude && header.fields()[i].name().eq_ignore_ascii_case(name)
                })
                .nth(skip);
            if let Some(i) = instance {
                out.extend(crate::canonicalize_header(Canon::Relaxed, header.fields()[i].raw()));
            }
        }
        header_into(Canon::Relaxed, signature_field, false, &mut out);
        out
    }

    #[test]
    fn header_hash_input_matches_the_reference() {
        // Names that share their first 7 bytes, differ in case, or are 7 and 8 bytes long.
        const NAMES: [&str; 8] =
            ["From", "FROM", "to", "X-Long-A", "X-Long-B", "X-Longer", "Subject", "Subjects"];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for _ in 0..5_000 {
            let mut message = String::new();
            for k in 0..next(90) {
                message.push_str(&format!("{}: v{k}\r\n", NAMES[next(NAMES.len())]));
            }
            message.push_str("\r\n");
            let header = Header::parse(message.as_bytes());
            let h: Vec<&str> = (0..1 + next(12)).map(|_| NAMES[next(NAMES.len())]).collect();
            let signed = SignedHeaders::new(&h).unwrap_or_default();
            let exclude = (!header.is_empty()).then(|| next(header.len()));
            let sig = b"DKIM-Signature: v=1; b=\r\n";
            assert_eq!(
                header_hash_input(&header, Canon::Relaxed, &signed, exclude, sig),
                reference(&header, &signed, exclude, sig),
                "{message:?} {h:?} {exclude:?}"
            );
        }
        assert_ne!(name_key("Subject"), name_key("Subjects"));
        assert_eq!(name_key("X-Long-A"), name_key("x-long-b"));
        assert_eq!(name_key("mime-version"), name_key("MIME-Version"));
    }
}
