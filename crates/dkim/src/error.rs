//! The crate's error types.
//!
//! Verification outcomes are not errors: [`crate::verify`] returns a
//! [`SignatureResult`](crate::SignatureResult) per signature, with a [`Reason`](crate::Reason)
//! when it did not pass. The types here are for inputs that cannot be used at all: a
//! DKIM-Signature field or key record that does not parse ([`ParseError`]), a private key that
//! cannot be loaded ([`KeyError`]), and mistakes by the caller ([`Error`]).

/// Why a DKIM-Signature field value or a DKIM key record could not be parsed. Every variant
/// names the tag (or the position in the value) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The tag list itself is malformed (RFC 6376 §3.2).
    #[error("syntax error at position {position}: expected {expected}")]
    Syntax {
        /// Byte offset into the value.
        position: usize,
        /// What the grammar allows there.
        expected: &'static str,
    },
    /// A tag occurs twice, which makes the whole list invalid (RFC 6376 §3.2).
    #[error("tag {tag}= occurs more than once")]
    DuplicateTag {
        /// The repeated tag name.
        tag: String,
    },
    /// A required tag is absent (RFC 6376 §3.5: `v a b bh d h s`; §3.6.1: `p`).
    #[error("required tag {tag}= is missing")]
    MissingTag {
        /// The missing tag name.
        tag: &'static str,
    },
    /// A tag has a value that is not allowed.
    #[error("tag {tag}=: {problem}")]
    InvalidTag {
        /// The tag name.
        tag: &'static str,
        /// What is wrong with its value.
        problem: TagProblem,
    },
}

/// What is wrong with the value of a tag; see [`ParseError::InvalidTag`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TagProblem {
    /// Not valid base64 (after removing whitespace).
    #[error("invalid base64")]
    Base64,
    /// Not an unsigned decimal number of at most `max_digits` digits.
    #[error("expected a decimal number of at most {max_digits} digits, found {found:?}")]
    Number {
        /// The longest value allowed.
        max_digits: usize,
        /// The value found.
        found: String,
    },
    /// A version other than the one this implementation knows (`v=1`, key `v=DKIM1`).
    #[error("unsupported version {found:?}, expected {expected:?}")]
    Version {
        /// The version found.
        found: String,
        /// The only version supported.
        expected: &'static str,
    },
    /// `v=` in a key record must be the first tag (RFC 6376 §3.6.1).
    #[error("must be the first tag of the record")]
    VersionNotFirst,
    /// An algorithm that is not `rsa-sha256`, `ed25519-sha256` or `rsa-sha1`.
    #[error("unknown signing algorithm {found:?}")]
    Algorithm {
        /// The algorithm found.
        found: String,
    },
    /// A canonicalization that is not `simple` or `relaxed`.
    #[error("unknown canonicalization {found:?}")]
    Canonicalization {
        /// The value found.
        found: String,
    },
    /// Not a valid domain name.
    #[error("invalid domain name {found:?}: {source}")]
    Domain {
        /// The value found.
        found: String,
        /// Why it is not a domain.
        source: dns::DomainError,
    },
    /// The `i=` identity is not of the form `[localpart]@domain`.
    #[error("identity {found:?} is not of the form [localpart]@domain")]
    Identity {
        /// The value found.
        found: String,
    },
    /// The `i=` domain is not `d=` or a subdomain of it (RFC 6376 §3.5, §6.1.1).
    #[error("identity domain {identity} is not {domain} or a subdomain of it")]
    IdentityOutsideDomain {
        /// The domain of `i=`.
        identity: String,
        /// The `d=` domain.
        domain: String,
    },
    /// An `h=` list with an empty or invalid header field name.
    #[error("invalid header field name {found:?}")]
    HeaderName {
        /// The value found.
        found: String,
    },
    /// `x=` is not after `t=` (RFC 6376 §3.5).
    #[error("expiration {expiration} is not after the signing time {timestamp}")]
    ExpirationBeforeTimestamp {
        /// `x=`.
        expiration: u64,
        /// `t=`.
        timestamp: u64,
    },
    /// Text that must be printable ASCII or UTF-8 is neither.
    #[error("invalid characters")]
    Text,
}

/// Why a private or public key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No `-----BEGIN ...-----` / `-----END ...-----` block, or its base64 is broken.
    #[error("not a PEM file: {reason}")]
    Pem {
        /// What is wrong.
        reason: &'static str,
    },
    /// A PEM block of a type that does not hold a private key.
    #[error(
        "PEM block {label:?} is not a private key (expected \"PRIVATE KEY\" or \"RSA PRIVATE KEY\")"
    )]
    PemLabel {
        /// The label found.
        label: String,
    },
    /// The key bytes were rejected: not PKCS#8 (or PKCS#1 for RSA) of a supported algorithm, or
    /// an RSA key outside 2048..=4096 bits or with a small exponent (ring's limits for signing).
    #[error("unusable private key: {reason}")]
    Rejected {
        /// ring's description of the problem.
        reason: String,
    },
    /// A public key (a key record's `p=`) that cannot be decoded for its key type.
    #[error("invalid {key_type} public key: {reason}")]
    PublicKey {
        /// `rsa` or `ed25519`.
        key_type: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Key generation failed.
    #[error("generating a key: {reason}")]
    Generate {
        /// What went wrong.
        reason: String,
    },
}

/// A mistake by the caller or an I/O failure; verification outcomes are never errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Signing needs exactly one From header field (RFC 5322 §3.6, RFC 6376 §5.4).
    #[error("message has {count} From header fields, need exactly one to sign")]
    FromCount {
        /// How many From fields the message has.
        count: usize,
    },
    /// The header list of a signer does not include From (RFC 6376 §5.4).
    #[error("the list of header fields to sign must include From")]
    FromNotSigned,
    /// The input does not start with a header section.
    #[error("not a message: no header fields found")]
    NoHeader,
    /// A signer's `i=` identity is not in its domain (RFC 6376 §3.5).
    #[error("identity {identity} is not within signing domain {domain}")]
    IdentityOutsideDomain {
        /// The identity.
        identity: String,
        /// The signing domain.
        domain: String,
    },
    /// No signers were given.
    #[error("no signers given")]
    NoSigners,
    /// A header field name to sign is not a valid field name.
    #[error("invalid header field name to sign: {name:?}")]
    HeaderName {
        /// The name given.
        name: String,
    },
    /// The private key could not produce a signature.
    #[error("signing failed: {reason}")]
    Signing {
        /// What went wrong.
        reason: &'static str,
    },
    /// Reading the message body failed.
    #[error("reading the message: {0}")]
    Io(#[from] std::io::Error),
}
