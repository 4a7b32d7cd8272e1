//! Private keys (PKCS#8 PEM in and out) and public keys as published in key records.
//!
//! All cryptography is ring's: RSASSA-PKCS1-v1_5 with SHA-256, Ed25519 and SHA-256. ring
//! cannot generate RSA keys; with the `generate-rsa` feature RustCrypto's `rsa` crate generates
//! them, and only that.

use std::fmt;

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, Ed25519KeyPair, KeyPair, RsaKeyPair};

use crate::error::{Error, KeyError};
use crate::signature::{Algorithm, KeyType};

/// A private key for signing: RSA (2048 to 4096 bits) or Ed25519.
///
/// Its `Debug` output shows the key type and the public key, never the private key.
///
/// ```
/// let key = dkim::PrivateKey::generate_ed25519()?;
/// let pem = key.to_pem();
/// assert!(pem.contains("-----BEGIN PRIVATE KEY-----"));
/// let again = dkim::PrivateKey::from_pem(&pem)?;
/// assert_eq!(again.public_key(), key.public_key());
/// assert!(!format!("{key:?}").contains(pem.lines().nth(2).unwrap()));
/// # Ok::<(), dkim::KeyError>(())
/// ```
pub struct PrivateKey {
    pair: Pair,
    // The PKCS#8 document, to write the key out again.
    pkcs8: Vec<u8>,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl PrivateKey {
    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`, RSA or Ed25519) or PKCS#1
    /// (`RSA PRIVATE KEY`). Text before the PEM block (a comment) is ignored, as are RFC 1421
    /// headers inside it (as Go mox writes).
    pub fn from_pem(text: &str) -> Result<PrivateKey, KeyError> {
        let (label, der) = pem_decode(text)?;
        match label.as_str() {
            "PRIVATE KEY" => PrivateKey::from_pkcs8_der(&der),
            "RSA PRIVATE KEY" => {
                let pair = RsaKeyPair::from_der(&der)
                    .map_err(|e| KeyError::Rejected { reason: e.to_string() })?;
                Ok(PrivateKey { pair: Pair::Rsa(pair), pkcs8: rsa_pkcs1_to_pkcs8(&der) })
            }
            _ => Err(KeyError::PemLabel { label }),
        }
    }

    /// Reads a PKCS#8 DER private key (RFC 5208, RFC 5958; v1 and v2 Ed25519 documents).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        // ring checks the algorithm identifier, so at most one of these succeeds.
        if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            return Ok(PrivateKey { pair: Pair::Ed25519(pair), pkcs8: der.to_vec() });
        }
        let pair = RsaKeyPair::from_pkcs8(der)
            .map_err(|e| KeyError::Rejected { reason: e.to_string() })?;
        Ok(PrivateKey { pair: Pair::Rsa(pair), pkcs8: der.to_vec() })
    }

    /// Generates a new Ed25519 key.
    ///
    /// It is kept (and written by [`to_pem`](Self::to_pem)) as a version 1 PKCS#8 document
    /// (RFC 8410 §7), without the public key: ring makes version 2, which OpenSSL 3.0 (and so
    /// Python's `cryptography`) cannot read.
    pub fn generate_ed25519() -> Result<PrivateKey, KeyError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| KeyError::Generate { reason: "no system randomness".into() })?;
        let seed = ed25519_seed(doc.as_ref())
            .ok_or(KeyError::Generate { reason: "unexpected PKCS#8 from ring".into() })?;
        let mut info = der::integer(&[]);
        info.extend(der::tlv(der::SEQUENCE, &der::tlv(der::OID, OID_ED25519)));
        info.extend(der::tlv(der::OCTET_STRING, &der::tlv(der::OCTET_STRING, seed)));
        PrivateKey::from_pkcs8_der(&der::tlv(der::SEQUENCE, &info))
    }

    /// Generates a new RSA key of `bits` bits (2048 to 4096; RFC 8301 §3.2 asks for at least
    /// 2048) with public exponent 65537. Slow in debug builds.
    #[cfg(feature = "generate-rsa")]
    pub fn generate_rsa(bits: usize) -> Result<PrivateKey, KeyError> {
        use rsa::pkcs8::EncodePrivateKey;
        if !(2048..=4096).contains(&bits) {
            return Err(KeyError::Generate { reason: format!("{bits} bits: need 2048 to 4096") });
        }
        let key = rsa::PrivateKey::new(&mut RingRng(SystemRandom::new()), bits)
            .map_err(|e| KeyError::Generate { reason: e.to_string() })?;
        let der = key.to_pkcs8_der().map_err(|e| KeyError::Generate { reason: e.to_string() })?;
        PrivateKey::from_pkcs8_der(der.as_bytes())
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        match self.pair {
            Pair::Rsa(_) => KeyType::Rsa,
            Pair::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// The signing algorithm this key makes: `rsa-sha256` or `ed25519-sha256`.
    pub fn algorithm(&self) -> Algorithm {
        match self.pair {
            Pair::Rsa(_) => Algorithm::RsaSha256,
            Pair::Ed25519(_) => Algorithm::Ed25519Sha256,
        }
    }

    /// The public key, for the key record.
    pub fn public_key(&self) -> PublicKey {
        match &self.pair {
            Pair::Rsa(pair) => {
                let c: signature::RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
                PublicKey::Rsa { n: strip_zeros(&c.n).to_vec(), e: strip_zeros(&c.e).to_vec() }
            }
            Pair::Ed25519(pair) => {
                let mut k = [0u8; 32];
                k.copy_from_slice(pair.public_key().as_ref());
                PublicKey::Ed25519(k)
            }
        }
    }

    /// The key as PKCS#8 PEM, with a line before the block saying what it is for (RFC 7468 §2
    /// allows text before the encapsulation boundary; OpenSSL, Python and Go skip it).
    pub fn to_pem(&self) -> String {
        let what = match self.pair {
            Pair::Rsa(_) => format!("{}-bit RSA", self.public_key().bits()),
            Pair::Ed25519(_) => "Ed25519".to_string(),
        };
        format!(
            "DKIM signing key ({what}), generated by mox. Keep it secret; publish its public key\n\
             with a DNS TXT record as printed by: mox dkim txt <this-file\n{}",
            pem_encode("PRIVATE KEY", &self.pkcs8)
        )
    }

    /// Signs canonicalized header data (RFC 6376 §3.7): RSASSA-PKCS1-v1_5 over SHA-256 of the
    /// data, or Ed25519 over the SHA-256 digest of the data (RFC 8463 §3).
    pub(crate) fn sign(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut sig)
                    .map_err(|_| Error::Signing { reason: "RSA signing failed" })?;
                Ok(sig)
            }
            Pair::Ed25519(pair) => {
                let digest = ring::digest::digest(&ring::digest::SHA256, data);
                Ok(pair.sign(digest.as_ref()).as_ref().to_vec())
            }
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("key_type", &self.key_type())
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// A public key, as published in a key record's `p=` (RFC 6376 §3.6.1, RFC 8463 §4.2).
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// An RSA key: modulus and public exponent, big-endian without leading zeros.
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: Vec<u8>,
    },
    /// An Ed25519 key (32 bytes).
    Ed25519([u8; 32]),
}

impl PublicKey {
    /// Decodes `p=` data for a key type: for RSA a SubjectPublicKeyInfo (as RFC 6376 and
    /// everyone publish) or a bare PKCS#1 RSAPublicKey (as some publish); for Ed25519 the raw 32
    /// bytes (RFC 8463 §4.2) or, leniently, a SubjectPublicKeyInfo holding them.
    pub fn from_record_data(key_type: KeyType, data: &[u8]) -> Result<PublicKey, KeyError> {
        KeyRef::from_record_data(key_type, data).map(KeyRef::to_owned)
    }

    /// The key borrowed.
    pub(crate) fn as_ref(&self) -> KeyRef<'_> {
        match self {
            PublicKey::Rsa { n, e } => KeyRef::Rsa { n, e },
            PublicKey::Ed25519(k) => KeyRef::Ed25519(k),
        }
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        match self {
            PublicKey::Rsa { .. } => KeyType::Rsa,
            PublicKey::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// The key size in bits: the modulus length for RSA, 256 for Ed25519.
    pub fn bits(&self) -> usize {
        self.as_ref().bits()
    }

    /// The `p=` data to publish: SubjectPublicKeyInfo DER for RSA, the raw key for Ed25519.
    pub fn record_data(&self) -> Vec<u8> {
        match self {
            PublicKey::Rsa { n, e } => {
                let mut rsa_key = der::integer(n);
                rsa_key.extend(der::integer(e));
                let rsa_key = der::tlv(der::SEQUENCE, &rsa_key);
                let mut bits = vec![0u8];
                bits.extend(rsa_key);
                let mut spki = der::tlv(der::SEQUENCE, &RSA_ALGORITHM_IDENTIFIER);
                spki.extend(der::tlv(der::BIT_STRING, &bits));
                der::tlv(der::SEQUENCE, &spki)
            }
            PublicKey::Ed25519(k) => k.to_vec(),
        }
    }

    /// Verifies a signature over canonicalized header data with ring; see [`KeyRef::verify`].
    #[cfg(test)]
    pub(crate) fn verify(&self, algorithm: Algorithm, data: &[u8], sig: &[u8]) -> bool {
        self.as_ref().verify(algorithm, data, sig)
    }
}

/// A public key borrowed from where it was decoded (a key record's `p=` data, or a
/// [`PublicKey`]): verifying with a key record does not copy the key out of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRef<'a> {
    /// Modulus and public exponent, big-endian without leading zeros, neither empty.
    Rsa {
        n: &'a [u8],
        e: &'a [u8],
    },
    Ed25519(&'a [u8; 32]),
}

impl<'a> KeyRef<'a> {
    /// See [`PublicKey::from_record_data`].
    pub(crate) fn from_record_data(
        key_type: KeyType,
        data: &'a [u8],
    ) -> Result<KeyRef<'a>, KeyError> {
        match key_type {
            KeyType::Rsa => {
                let pkcs1 = spki_key(data, OID_RSA_ENCRYPTION).unwrap_or(data);
                let bad = |reason| KeyError::PublicKey { key_type: "rsa", reason };
                let (seq, rest) = der::read(pkcs1, der::SEQUENCE)
                    .ok_or(bad("not a SubjectPublicKeyInfo or RSAPublicKey"))?;
                if !rest.is_empty() {
                    return Err(bad("trailing data after the key"));
                }
                let (n, seq) = der::read(seq, der::INTEGER).ok_or(bad("missing modulus"))?;
                let (e, seq) = der::read(seq, der::INTEGER).ok_or(bad("missing exponent"))?;
                if !seq.is_empty() {
                    return Err(bad("trailing data in RSAPublicKey"));
                }
                let (n, e) = (strip_zeros(n), strip_zeros(e));
                if n.is_empty() || e.is_empty() {
                    return Err(bad("zero modulus or exponent"));
                }
                Ok(KeyRef::Rsa { n, e })
            }
            KeyType::Ed25519 => {
                let raw = spki_key(data, OID_ED25519).unwrap_or(data);
                let key: &[u8; 32] = raw.try_into().map_err(|_| KeyError::PublicKey {
                    key_type: "ed25519",
                    reason: "not 32 bytes",
                })?;
                Ok(KeyRef::Ed25519(key))
            }
        }
    }

    pub(crate) fn to_owned(self) -> PublicKey {
        match self {
            KeyRef::Rsa { n, e } => PublicKey::Rsa { n: n.to_vec(), e: e.to_vec() },
            KeyRef::Ed25519(k) => PublicKey::Ed25519(*k),
        }
    }

    pub(crate) fn key_type(self) -> KeyType {
        match self {
            KeyRef::Rsa { .. } => KeyType::Rsa,
            KeyRef::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// See [`PublicKey::bits`].
    pub(crate) fn bits(self) -> usize {
        match self {
            KeyRef::Rsa { n, .. } => {
                n.first().map_or(0, |&b| (n.len() - 1) * 8 + (8 - b.leading_zeros() as usize))
            }
            KeyRef::Ed25519(_) => 256,
        }
    }

    /// Verifies a signature over canonicalized header data with ring. RSA keys of 1024 to
    /// 8192 bits are accepted here; callers reject smaller keys first (RFC 8301 §3.2).
    pub(crate) fn verify(self, algorithm: Algorithm, data: &[u8], sig: &[u8]) -> bool {
        match (self, algorithm) {
            (KeyRef::Rsa { n, e }, Algorithm::RsaSha256) => {
                signature::RsaPublicKeyComponents { n, e }
                    .verify(&signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, data, sig)
                    .is_ok()
            }
            (KeyRef::Ed25519(k), Algorithm::Ed25519Sha256) => {
                let digest = ring::digest::digest(&ring::digest::SHA256, data);
                signature::UnparsedPublicKey::new(&signature::ED25519, k)
                    .verify(digest.as_ref(), sig)
                    .is_ok()
            }
            _ => false,
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.record_data());
        write!(f, "PublicKey({}, {} bits, {b64})", self.key_type(), self.bits())
    }
}

/// ring's system randomness for the `rsa` crate's key generation.
#[cfg(feature = "generate-rsa")]
struct RingRng(SystemRandom);

#[cfg(feature = "generate-rsa")]
impl rsa::rand_core::TryRng for RingRng {
    type Error = NoRandomness;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        ring::rand::SecureRandom::fill(&self.0, dst).map_err(|_| NoRandomness)
    }
}

/// The system's random number generator failed.
#[cfg(feature = "generate-rsa")]
#[derive(Debug, thiserror::Error)]
#[error("no system randomness")]
struct NoRandomness;

#[cfg(feature = "generate-rsa")]
impl rsa::rand_core::TryCryptoRng for RingRng {}

// 1.2.840.113549.1.1.1 and 1.3.101.112, DER-encoded.
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
// AlgorithmIdentifier { rsaEncryption, NULL }, contents only.
const RSA_ALGORITHM_IDENTIFIER: [u8; 13] =
    [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

/// The key inside a SubjectPublicKeyInfo with the given algorithm, if `data` is one.
fn spki_key<'a>(data: &'a [u8], oid: &[u8]) -> Option<&'a [u8]> {
    let (spki, rest) = der::read(data, der::SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (alg, spki) = der::read(spki, der::SEQUENCE)?;
    let (found, _) = der::read(alg, der::OID)?;
    if found != oid {
        return None;
    }
    let (bits, rest) = der::read(spki, der::BIT_STRING)?;
    if !rest.is_empty() {
        return None;
    }
    match bits {
        [0, key @ ..] => Some(key),
        _ => None,
    }
}

/// The 32-byte seed in an Ed25519 PKCS#8 document (RFC 8410 §7).
fn ed25519_seed(pkcs8: &[u8]) -> Option<&[u8]> {
    let (info, _) = der::read(pkcs8, der::SEQUENCE)?;
    let (_version, info) = der::read(info, der::INTEGER)?;
    let (_algorithm, info) = der::read(info, der::SEQUENCE)?;
    let (key, _) = der::read(info, der::OCTET_STRING)?;
    let (seed, _) = der::read(key, der::OCTET_STRING)?;
    (seed.len() == 32).then_some(seed)
}

fn strip_zeros(mut b: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = b {
        b = rest;
    }
    b
}

/// PKCS#8 PrivateKeyInfo { version 0, rsaEncryption, OCTET STRING RSAPrivateKey }.
fn rsa_pkcs1_to_pkcs8(pkcs1: &[u8]) -> Vec<u8> {
    let mut info = der::integer(&[]);
    info.extend(der::tlv(der::SEQUENCE, &RSA_ALGORITHM_IDENTIFIER));
    info.extend(der::tlv(der::OCTET_STRING, pkcs1));
    der::tlv(der::SEQUENCE, &info)
}

/// Just enough DER (X.690) to read and write key containers.
mod der {
    pub(super) const INTEGER: u8 = 0x02;
    pub(super) const BIT_STRING: u8 = 0x03;
    pub(super) const OCTET_STRING: u8 = 0x04;
    pub(super) const OID: u8 = 0x06;
    pub(super) const SEQUENCE: u8 = 0x30;

    /// Reads one element with tag `tag`: its contents and what follows it.
    pub(super) fn read(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&t, rest) = input.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |l, &b| (l << 8) | usize::from(b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        Some(rest.split_at(len))
    }

    /// A tag-length-value element.
    pub(super) fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = contents.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(contents);
        out
    }

    /// A non-negative INTEGER from big-endian bytes without leading zeros.
    pub(super) fn integer(value: &[u8]) -> Vec<u8> {
        let mut contents = Vec::with_capacity(value.len() + 1);
        if value.first().is_none_or(|&b| b & 0x80 != 0) {
            contents.push(0);
        }
        contents.extend_from_slice(value);
        tlv(INTEGER, &contents)
    }
}

/// Writes a PEM block (RFC 7468), 64 base64 characters a line.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Reads the first PEM block: its label and contents.
pub(crate) fn pem_decode(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let mut lines = text.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .ok_or(KeyError::Pem { reason: "no -----BEGIN line" })?
        .to_string();
    let end = format!("-----END {label}-----");
    let mut b64 = String::new();
    let mut ended = false;
    let mut in_headers = true;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        // RFC 1421 headers ("Name: value") may precede the data, up to a blank line.
        if in_headers && line.contains(':') {
            continue;
        }
        in_headers = false;
        b64.push_str(line);
    }
    if !ended {
        return Err(KeyError::Pem { reason: "no matching -----END line" });
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| KeyError::Pem { reason: "invalid base64" })?;
    Ok((label, der))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8463 Appendix A.1: the RSA key (1024 bits, PKCS#1) and the Ed25519 seed.
    pub(crate) const RFC8463_RSA_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----
MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi
Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM
KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB
AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm
6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe
zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy
6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc
uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy
WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd
WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a
licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst
o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe
uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL
-----END RSA PRIVATE KEY-----
";

    const RFC8463_RSA_P: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    #[test]
    fn rsa_public_key_spki_and_pkcs1_forms() {
        let spki = b64(RFC8463_RSA_P);
        let key = PublicKey::from_record_data(KeyType::Rsa, &spki).unwrap();
        assert_eq!(key.bits(), 1024);
        // We write the same SubjectPublicKeyInfo back.
        assert_eq!(key.record_data(), spki);
        // The bare RSAPublicKey inside it is accepted too.
        let pkcs1 = spki_key(&spki, OID_RSA_ENCRYPTION).unwrap();
        assert_eq!(PublicKey::from_record_data(KeyType::Rsa, pkcs1).unwrap(), key);
        assert!(PublicKey::from_record_data(KeyType::Rsa, b"garbage").is_err());
        assert!(PublicKey::from_record_data(KeyType::Rsa, &spki[..spki.len() - 1]).is_err());
        assert!(PublicKey::from_record_data(KeyType::Ed25519, &spki).is_err());
    }

    #[test]
    fn ed25519_public_key_raw_and_spki() {
        // RFC 8463 A.2.
        let raw = b64("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
        let key = PublicKey::from_record_data(KeyType::Ed25519, &raw).unwrap();
        assert_eq!(key.record_data(), raw);
        let mut spki = der::tlv(der::SEQUENCE, &der::tlv(der::OID, OID_ED25519));
        let mut bits = vec![0];
        bits.extend(&raw);
        spki.extend(der::tlv(der::BIT_STRING, &bits));
        let spki = der::tlv(der::SEQUENCE, &spki);
        assert_eq!(PublicKey::from_record_data(KeyType::Ed25519, &spki).unwrap(), key);
        assert!(PublicKey::from_record_data(KeyType::Ed25519, &raw[..31]).is_err());
    }

    #[test]
    fn pkcs1_rsa_private_key_below_2048_bits_is_refused_for_signing() {
        // ring signs with 2048..=4096-bit keys only; the RFC 8463 key is 1024 bits.
        let err = PrivateKey::from_pem(RFC8463_RSA_PEM).unwrap_err();
        assert!(matches!(err, KeyError::Rejected { .. }), "{err:?}");
    }

    #[test]
    fn pem_errors() {
        assert_eq!(
            PrivateKey::from_pem("nothing here").unwrap_err(),
            KeyError::Pem { reason: "no -----BEGIN line" }
        );
        assert_eq!(
            PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n").unwrap_err(),
            KeyError::Pem { reason: "no matching -----END line" }
        );
        assert!(matches!(
            PrivateKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(KeyError::PemLabel { .. })
        ));
        assert!(matches!(
            PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Err(KeyError::Rejected { .. })
        ));
    }

    #[test]
    fn ed25519_generate_sign_verify_and_pem_with_headers() {
        let key = PrivateKey::generate_ed25519().unwrap();
        assert_eq!(key.algorithm(), Algorithm::Ed25519Sha256);
        let sig = key.sign(b"data").unwrap();
        let public = key.public_key();
        assert!(public.verify(Algorithm::Ed25519Sha256, b"data", &sig));
        assert!(!public.verify(Algorithm::Ed25519Sha256, b"datA", &sig));
        assert!(!public.verify(Algorithm::RsaSha256, b"data", &sig));
        // Go mox writes an RFC 1421 header inside the block.
        let pem = key.to_pem();
        let with_header = pem.replace(
            "-----BEGIN PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nNote: ed25519 private key for use with DKIM\n\n",
        );
        assert_eq!(PrivateKey::from_pem(&with_header).unwrap().public_key(), public);
        let debug = format!("{key:?}");
        assert!(debug.contains("Ed25519") && !debug.contains("BEGIN"), "{debug}");
    }

    #[test]
    fn der_lengths() {
        let long = vec![7u8; 300];
        let tlv = der::tlv(der::OCTET_STRING, &long);
        assert_eq!(&tlv[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (contents, rest) = der::read(&tlv, der::OCTET_STRING).unwrap();
        assert_eq!((contents.len(), rest.len()), (300, 0));
        assert!(der::read(&tlv[..100], der::OCTET_STRING).is_none());
        assert_eq!(der::integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der::integer(&[]), [0x02, 0x01, 0x00]);
    }
}
