//! DKIM: DomainKeys Identified Mail signatures (RFC 6376), with the RFC 8301 algorithm and
//! key size rules and Ed25519 keys (RFC 8463).
//!
//! A domain signs a message by adding a `DKIM-Signature` header field: a signature over
//! selected header fields and a hash of the body, made with a private key whose public half
//! is published in DNS at `selector._domainkey.domain`. A receiver verifies each signature
//! and reports the results, for DMARC and in `Authentication-Results`.
//!
//! - Signing: [`Signer`] (domain, selector, [`PrivateKey`], header list with oversigning,
//!   [`Canonicalization`], optional expiration) and [`sign`], which signs with several keys at
//!   once (mox signs with an RSA and an Ed25519 key). [`Signing`] is the streaming form: feed
//!   the body in chunks, so a 50 MB message is never copied.
//! - Verifying: [`verify`] returns one [`SignatureResult`] per signature ([`Status`] pass,
//!   fail, neutral, temperror, permerror or none, with domain, selector and a [`Reason`]);
//!   [`Verification`] is its streaming form. Keys are looked up through a
//!   [`dns::Resolver`]: [`lookup_key`]; a [`KeyCache`] in the [`VerifyOptions`] keeps parsed
//!   key records while their text stays the same. [`authentication_results`] gives the
//!   `dkim=` results.
//! - Parsing: [`Signature`] (RFC 6376 §3.5) and [`Record`] (the key record, §3.6.1), with
//!   [`ParseError`]s that name the tag. Canonicalization (§3.4) is
//!   [`canonicalize_header`], [`canonicalize_body`] and the streaming [`BodyCanonicalizer`].
//! - Keys: [`PrivateKey`] reads and writes PKCS#8 PEM and generates Ed25519 keys (RSA keys
//!   with the `generate-rsa` feature); [`PublicKey`] is what a key record publishes.
//!
//! All cryptography is done by ring. rsa-sha1 signatures are reported as failures, as are
//! RSA keys under 1024 bits (RFC 8301). Keys never appear in logs or `Debug` output.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::SystemTime;
//! use dkim::{PrivateKey, Record, Selector, Signer, Status, VerifyOptions};
//!
//! // The signer's side: a key, and its public key record for DNS.
//! let key = PrivateKey::generate_ed25519()?;
//! let txt = Record::for_public_key(&key.public_key()).to_string();
//! assert!(txt.starts_with("v=DKIM1; k=ed25519; h=sha256; t=s; p="));
//! let signer = Signer::new(dns::Domain::parse("example.com")?, Selector::parse("sel")?, key);
//!
//! let message = b"From: Jane <jane@example.com>\r\nTo: bob@example.org\r\nSubject: Hi\r\n\r\nHello Bob.\r\n";
//! let headers = dkim::sign(&[signer], message, SystemTime::now())?;
//! let signed = [headers.as_bytes(), message].concat();
//!
//! // The receiver's side, with the record served by an in-memory zone.
//! let resolver = dns::MockResolver::from_zone(&format!("sel._domainkey.example.com TXT \"{txt}\""))?;
//! let results = dkim::verify(&resolver, &signed, &VerifyOptions::default()).await?;
//! assert_eq!(results[0].status, Status::Pass);
//! let ar = dkim::authentication_results(&results);
//! assert!(ar[0].starts_with("dkim=pass header.d=example.com header.s=sel header.a=ed25519-sha256 header.b="));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
mod canon;
mod error;
mod key;
mod record;
mod result;
mod sign;
mod signature;
mod swar;
mod tags;
mod verify;

pub use cache::KeyCache;
pub use canon::{BodyCanonicalizer, Sink, canonicalize_body, canonicalize_header};
pub use error::{Error, KeyError, ParseError, TagProblem};
pub use key::{PrivateKey, PublicKey};
pub use record::Record;
pub use result::{Reason, SignatureResult, Status, authentication_results};
pub use sign::{DEFAULT_HEADERS, Signer, Signing, sign};
pub use signature::{
    Algorithm, Canon, Canonicalization, HEADER_NAME, Identity, KeyType, Selector, Signature,
    SignedHeaders, SignedHeadersIter, UnknownName,
};
pub use verify::{KeyLookup, KeyLookupError, Verification, VerifyOptions, lookup_key, verify};
