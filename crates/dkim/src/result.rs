//! Verification results: one per DKIM-Signature, with the reason when it did not pass, and
//! their Authentication-Results form (RFC 8601 §2.7.1, RFC 6008).

use std::fmt;

use base64::Engine;
use dns::{Domain, LookupError};

use crate::error::{KeyError, ParseError};
use crate::record::Record;
use crate::signature::{Algorithm, Selector, Signature};

/// The outcome of verifying one signature, as named in Authentication-Results (RFC 8601
/// §2.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// No signature (only in [`authentication_results`] for a message without any), or a
    /// failed signature whose key is in testing mode (`t=y`), which counts as unsigned.
    None,
    /// The signature verified.
    Pass,
    /// The signature did not verify: the body or header changed, or the signature is not
    /// acceptable at all (rsa-sha1, a key under 1024 bits; RFC 8301 §3).
    Fail,
    /// The signature could not be processed for a reason not covered by the others.
    Neutral,
    /// The key could not be looked up now; a later attempt may succeed.
    Temperror,
    /// The signature or its key record is broken, missing or not usable; it will never verify.
    Permerror,
}

impl Status {
    /// The name as in Authentication-Results.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::None => "none",
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Neutral => "neutral",
            Status::Temperror => "temperror",
            Status::Permerror => "permerror",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a signature did not pass. The RFC 6376 §6.1 names of the failures are in the docs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The DKIM-Signature field does not parse ("signature syntax error", "signature missing
    /// required tag", "incompatible version", "domain mismatch" for `i=` outside `d=`).
    SignatureSyntax(ParseError),
    /// `a=rsa-sha1`: historic, never valid (RFC 8301 §3.1).
    Sha1,
    /// `h=` does not include From ("From field not signed", §6.1.1).
    FromNotSigned,
    /// `x=` is in the past ("signature expired").
    Expired {
        /// `x=`.
        expiration: u64,
        /// The verification time.
        now: u64,
    },
    /// `t=` is further in the future than the allowed clock skew.
    TimestampInFuture {
        /// `t=`.
        timestamp: u64,
        /// The verification time.
        now: u64,
    },
    /// `q=` names no query method we know (only `dns/txt` is defined).
    QueryMethod {
        /// The methods given.
        methods: Vec<String>,
    },
    /// Selector and domain do not make a valid DNS name.
    KeyName(dns::DomainError),
    /// There is no key record ("no key for signature", §6.1.2 step 3).
    NoKey {
        /// The name looked up.
        name: Domain,
    },
    /// The key lookup failed temporarily ("key unavailable", §6.1.2 step 2).
    KeyUnavailable(LookupError),
    /// The key record does not parse ("key syntax error").
    KeySyntax {
        /// The record text.
        txt: String,
        /// Why it does not parse.
        error: ParseError,
    },
    /// `p=` is empty ("key revoked").
    KeyRevoked,
    /// The key record's `h=` excludes the signature's hash ("inappropriate hash algorithm").
    HashNotAllowed {
        /// The hash the signature uses.
        hash: &'static str,
        /// What the record allows.
        allowed: Vec<String>,
    },
    /// The key record's `k=` does not fit `a=` ("inappropriate key algorithm").
    KeyTypeMismatch {
        /// The record's key type.
        key_type: String,
        /// The signature's algorithm.
        algorithm: Algorithm,
    },
    /// The key data cannot be decoded for its type ("inappropriate key algorithm").
    KeyData(KeyError),
    /// The key record's `s=` does not include email.
    ServiceNotEmail {
        /// The services the record allows.
        services: Vec<String>,
    },
    /// The key record has `t=s` but `i=` is in a subdomain of `d=`.
    StrictIdentity {
        /// The `i=` domain.
        identity: Domain,
    },
    /// An RSA key under 1024 bits (RFC 8301 §3.2).
    KeyTooSmall {
        /// The key size.
        bits: usize,
    },
    /// An RSA key over 8192 bits, more than we verify.
    KeyTooLarge {
        /// The key size.
        bits: usize,
    },
    /// `l=` is larger than the canonicalized body (RFC 6376 §3.5 `l=`).
    BodyTooShort {
        /// `l=`.
        length: u64,
        /// The canonicalized body length.
        body: u64,
    },
    /// The body hash does not match `bh=` ("body hash did not verify").
    BodyHashMismatch,
    /// The signature over the header fields does not verify ("signature did not verify").
    SignatureMismatch,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::SignatureSyntax(e) => write!(f, "invalid DKIM-Signature: {e}"),
            Reason::Sha1 => f.write_str("rsa-sha1 is historic and not accepted (RFC 8301)"),
            Reason::FromNotSigned => f.write_str("From header field not signed"),
            Reason::Expired { expiration, now } => {
                write!(f, "signature expired (x={expiration}, now {now})")
            }
            Reason::TimestampInFuture { timestamp, now } => {
                write!(f, "signature timestamp in the future (t={timestamp}, now {now})")
            }
            Reason::QueryMethod { methods } => {
                write!(f, "no supported query method in q={}", methods.join(":"))
            }
            Reason::KeyName(e) => write!(f, "invalid key record name: {e}"),
            Reason::NoKey { name } => write!(f, "no key record at {name}"),
            Reason::KeyUnavailable(e) => write!(f, "key lookup failed: {e}"),
            Reason::KeySyntax { error, .. } => write!(f, "invalid key record: {error}"),
            Reason::KeyRevoked => f.write_str("key revoked (empty p=)"),
            Reason::HashNotAllowed { hash, allowed } => {
                write!(f, "key record allows h={}, not {hash}", allowed.join(":"))
            }
            Reason::KeyTypeMismatch { key_type, algorithm } => {
                write!(f, "key record has k={key_type}, signature has a={algorithm}")
            }
            Reason::KeyData(e) => write!(f, "key record: {e}"),
            Reason::ServiceNotEmail { services } => {
                write!(f, "key record is for s={}, not email", services.join(":"))
            }
            Reason::StrictIdentity { identity } => {
                write!(f, "key record has t=s but i= is in subdomain {identity}")
            }
            Reason::KeyTooSmall { bits } => {
                write!(f, "RSA key of {bits} bits is too small, need 1024 (RFC 8301)")
            }
            Reason::KeyTooLarge { bits } => write!(f, "RSA key of {bits} bits is too large"),
            Reason::BodyTooShort { length, body } => {
                write!(f, "l={length} is longer than the canonicalized body ({body} bytes)")
            }
            Reason::BodyHashMismatch => f.write_str("body hash did not verify"),
            Reason::SignatureMismatch => f.write_str("signature did not verify"),
        }
    }
}

/// The result of verifying one DKIM-Signature header field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureResult {
    /// The outcome.
    pub status: Status,
    /// Why it did not pass (also set for [`Status::None`] in testing mode).
    pub reason: Option<Reason>,
    /// The signing domain (`d=`), when it could be read.
    pub domain: Option<Domain>,
    /// The selector (`s=`), when it could be read.
    pub selector: Option<Selector>,
    /// The parsed signature, if it parsed.
    pub signature: Option<Signature>,
    /// The key record, if one was found and parsed.
    pub record: Option<Record>,
    /// Whether the key record came DNSSEC-authenticated.
    pub record_authentic: bool,
    /// Whether the key record is in testing mode (`t=y`).
    pub testing: bool,
    /// Byte offset of the DKIM-Signature field in the message.
    pub field_offset: usize,
}

impl SignatureResult {
    /// The `dkim=` part of an Authentication-Results header (RFC 8601 §2.7.1), such as
    /// `dkim=pass header.d=example.com header.s=sel header.a=rsa-sha256 header.b=abcdefgh`,
    /// with the reason as a comment after the result when it did not pass. `header.b` holds
    /// the first 8 characters of the signature (RFC 6008), to tell signatures apart.
    pub fn method_result(&self) -> String {
        let mut s = format!("dkim={}", self.status);
        if let Some(reason) = &self.reason {
            s.push_str(&format!(" ({})", comment_text(&reason.to_string())));
        }
        if let Some(d) = &self.domain {
            s.push_str(&format!(" header.d={}", value(d.ascii())));
        }
        if let Some(i) = self.signature.as_ref().and_then(|s| s.identity.as_ref()) {
            s.push_str(&format!(" header.i={}", value(&i.to_string())));
        }
        if let Some(sel) = &self.selector {
            s.push_str(&format!(" header.s={}", value(sel.as_domain().ascii())));
        }
        if let Some(sig) = &self.signature {
            s.push_str(&format!(" header.a={}", sig.algorithm));
            let b = base64::engine::general_purpose::STANDARD.encode(&sig.signature);
            if !b.is_empty() {
                s.push_str(&format!(" header.b={}", value(&b[..b.len().min(8)])));
            }
        }
        s
    }
}

/// The `dkim=` method results for Authentication-Results: one per signature, or `dkim=none`
/// for a message without signatures.
pub fn authentication_results(results: &[SignatureResult]) -> Vec<String> {
    if results.is_empty() {
        return vec!["dkim=none".to_string()];
    }
    results.iter().map(SignatureResult::method_result).collect()
}

/// A property value: a token as is, otherwise a quoted-string (RFC 8601 §2.2, RFC 2045 §5.1
/// tspecials).
fn value(v: &str) -> String {
    let token = !v.is_empty()
        && v.bytes().all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b));
    // An address (local@domain) is allowed as is too.
    let address = v.matches('@').count() == 1
        && v.bytes().all(|b| b.is_ascii_graphic() && !b"()<>,;:\\\"/[]?=".contains(&b));
    if token || address {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Text safe inside a comment: no parentheses or backslashes, one line.
fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '(' => '[',
            ')' => ']',
            '\\' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_result_format() {
        let sig = Signature::parse(
            b"v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=abcdefghijklmnop",
        )
        .unwrap();
        let mut r = SignatureResult {
            status: Status::Pass,
            reason: None,
            domain: Some(sig.domain.clone()),
            selector: Some(sig.selector.clone()),
            signature: Some(sig),
            record: None,
            record_authentic: false,
            testing: false,
            field_offset: 0,
        };
        assert_eq!(
            r.method_result(),
            "dkim=pass header.d=example.com header.s=sel header.a=rsa-sha256 header.b=abcdefgh"
        );
        r.status = Status::Fail;
        r.reason = Some(Reason::BodyHashMismatch);
        if let Some(s) = r.signature.as_mut() {
            s.signature = vec![0xff; 12];
            s.identity = Some("joe@example.com".parse().unwrap());
        }
        assert_eq!(
            r.method_result(),
            "dkim=fail (body hash did not verify) header.d=example.com header.i=joe@example.com header.s=sel header.a=rsa-sha256 header.b=\"////////\""
        );
        assert_eq!(authentication_results(&[]), ["dkim=none"]);
        assert_eq!(comment_text("a (b) \\ c\n"), "a [b] / c ");
    }
}
