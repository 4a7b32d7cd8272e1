//! Signing a message with one or more keys (RFC 6376 §5).
//!
//! [`Signing`] is the sans-IO core: it reads the header section, takes the body in chunks
//! (hashing it once per body canonicalization, however many keys sign), then makes one
//! DKIM-Signature field per [`Signer`]. [`sign`] drives it for a message in memory.

use std::time::{Duration, SystemTime};

use dns::Domain;
use message::Header;

use crate::canon::{BodyCanonicalizer, Sha256};
use crate::error::Error;
use crate::key::PrivateKey;
use crate::signature::{Canon, Canonicalization, Identity, Selector, Signature, SignedHeaders};
use crate::verify::{header_hash_input, unix_seconds};

/// The header fields signed by default, as mox signs them. With oversigning (the default)
/// each is listed once more than it occurs, so none can be added after signing.
pub const DEFAULT_HEADERS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "References",
    "In-Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
];

/// One key to sign with, and how.
#[derive(Debug)]
pub struct Signer {
    domain: Domain,
    selector: Selector,
    key: PrivateKey,
    headers: Vec<String>,
    oversign: bool,
    canonicalization: Canonicalization,
    expiration: Option<Duration>,
    identity: Option<Identity>,
}

impl Signer {
    /// A signer for `domain` with the key published at `selector`: signs
    /// [`DEFAULT_HEADERS`] with oversigning, `relaxed/relaxed`, no expiration and no `i=`.
    pub fn new(domain: Domain, selector: Selector, key: PrivateKey) -> Signer {
        Signer {
            domain,
            selector,
            key,
            headers: DEFAULT_HEADERS.iter().map(|s| s.to_string()).collect(),
            oversign: true,
            canonicalization: Canonicalization::RELAXED,
            expiration: None,
            identity: None,
        }
    }

    /// The header field names to sign (must include From), in this order.
    pub fn headers<I, S>(mut self, names: I) -> Signer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.headers = names.into_iter().map(Into::into).collect();
        self
    }

    /// Whether to list each header name once more than it occurs (RFC 6376 §8.15), so that
    /// adding another instance breaks the signature. On by default.
    pub fn oversign(mut self, oversign: bool) -> Signer {
        self.oversign = oversign;
        self
    }

    /// The canonicalization (default `relaxed/relaxed`).
    pub fn canonicalization(mut self, c: Canonicalization) -> Signer {
        self.canonicalization = c;
        self
    }

    /// Adds `x=`: the signature expires this long after signing.
    pub fn expiration(mut self, valid_for: Duration) -> Signer {
        self.expiration = Some(valid_for);
        self
    }

    /// Adds `i=` (must be within the signing domain).
    pub fn identity(mut self, identity: Identity) -> Signer {
        self.identity = Some(identity);
        self
    }

    /// The signing domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The selector.
    pub fn selector(&self) -> &Selector {
        &self.selector
    }

    /// The key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }
}

/// Signs `message` with every signer, returning the DKIM-Signature header fields (each ending
/// in CRLF) to put in front of it; first signer first. The body is hashed straight from
/// `message`, once per body canonicalization. `now` is the signing time (`t=`).
///
/// ```
/// use std::time::SystemTime;
/// use dkim::{PrivateKey, Selector, Signer};
///
/// let domain = dns::Domain::parse("example.org")?;
/// let signers = [
///     Signer::new(domain.clone(), Selector::parse("ed")?, PrivateKey::generate_ed25519()?),
///     Signer::new(domain, Selector::parse("ed2")?, PrivateKey::generate_ed25519()?)
///         .canonicalization("simple/simple".parse().unwrap())
///         .headers(["From", "Subject"]),
/// ];
/// let headers = dkim::sign(&signers, b"From: a@example.org\r\n\r\nHi\r\n", SystemTime::now())?;
/// assert_eq!(headers.matches("DKIM-Signature:").count(), 2);
/// assert!(headers.contains("h=From:From:Subject;"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sign(signers: &[Signer], message: &[u8], now: SystemTime) -> Result<String, Error> {
    let mut s = Signing::new(signers, message, now)?;
    s.update_body(&message[s.body_offset()..]);
    s.finish()
}

/// A signing in progress: header read, body being hashed.
#[derive(Debug)]
pub struct Signing<'a> {
    signers: &'a [Signer],
    header: Header<'a>,
    now: u64,
    // One body hash per canonicalization used: [simple, relaxed].
    bodies: [Option<(BodyCanonicalizer, Sha256)>; 2],
}

impl<'a> Signing<'a> {
    /// Reads the header section at the start of `message` (which may go on with the body: it
    /// is not read here). Fails if there are no signers, a signer's header list lacks From, or
    /// the message does not have exactly one From field.
    pub fn new(signers: &'a [Signer], message: &'a [u8], now: SystemTime) -> Result<Self, Error> {
        if signers.is_empty() {
            return Err(Error::NoSigners);
        }
        let header = Header::parse(message);
        if header.is_empty() {
            return Err(Error::NoHeader);
        }
        for s in signers {
            if !s.headers.iter().any(|h| h.eq_ignore_ascii_case("from")) {
                return Err(Error::FromNotSigned);
            }
            if let Some(identity) = &s.identity
                && !identity.domain.is_within(&s.domain)
            {
                return Err(Error::IdentityOutsideDomain {
                    identity: identity.to_string(),
                    domain: s.domain.to_string(),
                });
            }
            if let Some(bad) = s
                .headers
                .iter()
                .find(|h| h.is_empty() || !h.bytes().all(|b| (33..=126).contains(&b) && b != b':'))
            {
                return Err(Error::HeaderName { name: bad.clone() });
            }
        }
        let froms = header.get_all("from").count();
        if froms != 1 {
            return Err(Error::FromCount { count: froms });
        }
        let mut bodies = [None, None];
        for s in signers {
            let i = canon_index(s.canonicalization.body);
            bodies[i].get_or_insert_with(|| {
                (BodyCanonicalizer::new(s.canonicalization.body), Sha256::new())
            });
        }
        Ok(Signing { signers, header, now: unix_seconds(now), bodies })
    }

    /// Where the body starts in the `message` given to [`Signing::new`].
    pub fn body_offset(&self) -> usize {
        self.header.body_offset()
    }

    /// Hashes the next part of the body.
    pub fn update_body(&mut self, chunk: &[u8]) {
        for (canonicalizer, ctx) in self.bodies.iter_mut().flatten() {
            canonicalizer.update(chunk, ctx);
        }
    }

    /// Makes the DKIM-Signature header fields, one per signer in order, each ending in CRLF.
    pub fn finish(self) -> Result<String, Error> {
        let Signing { signers, header, now, bodies } = self;
        let body_hashes: Vec<Option<Vec<u8>>> = bodies
            .into_iter()
            .map(|b| {
                b.map(|(c, mut ctx)| {
                    c.finish(&mut ctx);
                    ctx.finish().as_ref().to_vec()
                })
            })
            .collect();
        let mut out = String::new();
        for s in signers {
            let mut signed_headers = SignedHeaders::default();
            let mut seen: Vec<String> = Vec::new();
            for name in &s.headers {
                let lower = name.to_ascii_lowercase();
                if seen.contains(&lower) {
                    continue;
                }
                let count = header.get_all(name).count();
                let times = count + usize::from(s.oversign);
                // Names were checked when signing began.
                for _ in 0..times {
                    signed_headers.push(name);
                }
                seen.push(lower);
            }
            let body_hash =
                body_hashes[canon_index(s.canonicalization.body)].clone().unwrap_or_default();
            let mut sig = Signature {
                algorithm: s.key.algorithm(),
                signature: Vec::new(),
                body_hash,
                canonicalization: s.canonicalization,
                domain: s.domain.clone(),
                signed_headers,
                identity: s.identity.clone(),
                body_length: None,
                query_methods: Vec::new(),
                selector: s.selector.clone(),
                timestamp: Some(now),
                expiration: s.expiration.map(|d| now.saturating_add(d.as_secs().max(1))),
                copied_headers: None,
            };
            let unsigned = sig.header_without_signature();
            let data = header_hash_input(
                &header,
                s.canonicalization.header,
                &sig.signed_headers,
                None,
                unsigned.as_bytes(),
            );
            sig.signature = s.key.sign(&data)?;
            tracing::debug!(
                domain = %s.domain,
                selector = %s.selector,
                algorithm = %sig.algorithm,
                "dkim signature made"
            );
            out.push_str(&sig.to_header());
        }
        Ok(out)
    }
}

fn canon_index(c: Canon) -> usize {
    match c {
        Canon::Simple => 0,
        Canon::Relaxed => 1,
    }
}
