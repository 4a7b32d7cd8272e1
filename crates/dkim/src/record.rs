//! DKIM key records, published as DNS TXT at `selector._domainkey.domain` (RFC 6376 §3.6.1).

use std::borrow::Cow;
use std::fmt;

use base64::Engine;

use crate::error::{KeyError, ParseError, TagProblem};
use crate::key::{KeyRef, PublicKey};
use crate::signature::{KeyType, base64_value};
use crate::tags::{Tag, for_each_tag, split_colon_list, trim_fws};

/// A DKIM key record.
///
/// ```text
/// key-v-tag    = %x76 [FWS] "=" [FWS] %x44.4B.49.4D.31        ; "DKIM1", first if present
/// key-h-tag    = %x68 [FWS] "=" [FWS] key-h-tag-alg *( [FWS] ":" [FWS] key-h-tag-alg )
/// key-k-tag    = %x6b [FWS] "=" [FWS] key-k-tag-type           ; "rsa" (default) / "ed25519"
/// key-n-tag    = %x6e [FWS] "=" [FWS] qp-section               ; notes
/// key-p-tag    = %x70 [FWS] "=" [ [FWS] base64string ]         ; empty: revoked
/// key-s-tag    = %x73 [FWS] "=" [FWS] key-s-tag-type *( [FWS] ":" [FWS] key-s-tag-type )
/// key-t-tag    = %x74 [FWS] "=" [FWS] key-t-tag-flag *( [FWS] ":" [FWS] key-t-tag-flag )
/// ```
///
/// ```
/// let record = dkim::Record::parse("v=DKIM1; k=ed25519; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")?;
/// assert_eq!(record.key_type, "ed25519");
/// assert!(record.testing() && record.strict_identity() && !record.is_revoked());
/// assert!(record.allows_service("email"));
/// assert_eq!(record.public_key().unwrap().bits(), 256);
/// # Ok::<(), dkim::ParseError>(())
/// ```
///
/// The names in it are [`Cow`]s: the ones this crate knows (`DKIM1`, `rsa`, `ed25519`,
/// `sha256`, `sha1`, `*`, `email`, `y`, `s`) are static strings, so a usual record allocates
/// no string per name; others are owned. Compare them as `&str` (`record.key_type == "rsa"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `v=`: `DKIM1` if present.
    pub version: Option<Cow<'static, str>>,
    /// `h=`: acceptable hash algorithms, lowercased; empty means all.
    pub hashes: Vec<Cow<'static, str>>,
    /// `k=`: the key type, lowercased (`rsa` when absent).
    pub key_type: Cow<'static, str>,
    /// `n=`: notes for people.
    pub notes: Option<String>,
    /// `p=`: the public key data; empty means the key is revoked.
    pub public_key_data: Vec<u8>,
    /// `s=`: service types, lowercased (`*` when absent).
    pub services: Vec<Cow<'static, str>>,
    /// `t=`: flags, lowercased: `y` testing, `s` strict identity.
    pub flags: Vec<Cow<'static, str>>,
}

impl Record {
    /// Parses a key record (the TXT record's strings concatenated).
    pub fn parse(txt: &str) -> Result<Record, ParseError> {
        // The tags of RFC 6376 §3.6.1 by name, as they are found; others are ignored.
        const NAMES: [&str; 7] = ["v", "h", "k", "n", "p", "s", "t"];
        let mut known: [Option<Tag<'_>>; 7] = Default::default();
        let mut first = None;
        for_each_tag(txt.as_bytes(), |tag| {
            first.get_or_insert(tag.name);
            if let Some(k) = NAMES.iter().position(|&n| n == tag.name) {
                known[k] = Some(tag);
            }
        })?;
        let get =
            |name: &str| NAMES.iter().position(|&n| n == name).and_then(|k| known[k].as_ref());
        let version = match get("v") {
            None => None,
            Some(v) => {
                if first != Some("v") {
                    return Err(invalid("v", TagProblem::VersionNotFirst));
                }
                if v.value != b"DKIM1" {
                    return Err(invalid(
                        "v",
                        TagProblem::Version { found: lossy(v.value), expected: "DKIM1" },
                    ));
                }
                Some(Cow::Borrowed("DKIM1"))
            }
        };
        let list = |name: &str, default: &[&'static str]| match get(name) {
            None => default.iter().map(|&s| Cow::Borrowed(s)).collect(),
            Some(t) => split_colon_list(t.value)
                .filter(|v| !v.is_empty())
                .map(lowercase)
                .collect::<Vec<_>>(),
        };
        let p = get("p").ok_or(ParseError::MissingTag { tag: "p" })?;
        let public_key_data = base64_value(p, "p")?;
        Ok(Record {
            version,
            hashes: list("h", &[]),
            key_type: get("k").map_or(Cow::Borrowed("rsa"), |k| lowercase(trim_fws(k.value))),
            notes: get("n").map(|n| lossy(n.value)),
            public_key_data,
            services: list("s", &["*"]),
            flags: list("t", &[]),
        })
    }

    /// A record for publishing a public key: `v=DKIM1`, its key type, `h=sha256` and the
    /// flag `t=s` (signatures must not use subdomains in `i=`), as mox publishes.
    pub fn for_public_key(key: &PublicKey) -> Record {
        Record {
            version: Some("DKIM1".into()),
            hashes: vec!["sha256".into()],
            key_type: key.key_type().as_str().into(),
            notes: None,
            public_key_data: key.record_data(),
            services: vec!["*".into()],
            flags: vec!["s".into()],
        }
    }

    /// An empty record that allocates nothing, left behind when a record is moved out.
    pub(crate) fn placeholder() -> Record {
        Record {
            version: None,
            hashes: Vec::new(),
            key_type: Cow::Borrowed(""),
            notes: None,
            public_key_data: Vec::new(),
            services: Vec::new(),
            flags: Vec::new(),
        }
    }

    /// The key type, if it is one this crate knows.
    pub fn known_key_type(&self) -> Option<KeyType> {
        match &*self.key_type {
            "rsa" => Some(KeyType::Rsa),
            "ed25519" => Some(KeyType::Ed25519),
            _ => None,
        }
    }

    /// The public key decoded for the record's key type.
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        self.key_ref().map(KeyRef::to_owned)
    }

    /// The public key decoded in place, borrowing from `p=`.
    pub(crate) fn key_ref(&self) -> Result<KeyRef<'_>, KeyError> {
        let key_type = self
            .known_key_type()
            .ok_or(KeyError::PublicKey { key_type: "unknown", reason: "key type not supported" })?;
        KeyRef::from_record_data(key_type, &self.public_key_data)
    }

    /// Whether `p=` is empty: the key was revoked (RFC 6376 §3.6.1).
    pub fn is_revoked(&self) -> bool {
        self.public_key_data.is_empty()
    }

    /// Flag `t=y`: the domain is testing DKIM; verifiers must treat its failures as if the
    /// message were unsigned.
    pub fn testing(&self) -> bool {
        self.flags.iter().any(|f| f == "y")
    }

    /// Flag `t=s`: the `i=` domain must equal `d=`, no subdomains.
    pub fn strict_identity(&self) -> bool {
        self.flags.iter().any(|f| f == "s")
    }

    /// Whether the key may be used for `service` (`email`): `s=` holds it or `*`.
    pub fn allows_service(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == "*" || s.eq_ignore_ascii_case(service))
    }

    /// Whether the key may be used with hash algorithm `hash` (`sha256`): `h=` is absent or
    /// holds it.
    pub fn allows_hash(&self, hash: &str) -> bool {
        self.hashes.is_empty() || self.hashes.iter().any(|h| h.eq_ignore_ascii_case(hash))
    }
}

/// The TXT record text, tags in the order `v k h s t n p` (defaults left out).
impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut tags = Vec::new();
        if let Some(v) = &self.version {
            tags.push(format!("v={v}"));
        }
        tags.push(format!("k={}", self.key_type));
        if !self.hashes.is_empty() {
            tags.push(format!("h={}", self.hashes.join(":")));
        }
        if self.services != ["*"] {
            tags.push(format!("s={}", self.services.join(":")));
        }
        if !self.flags.is_empty() {
            tags.push(format!("t={}", self.flags.join(":")));
        }
        if let Some(n) = &self.notes {
            tags.push(format!("n={n}"));
        }
        tags.push(format!(
            "p={}",
            base64::engine::general_purpose::STANDARD.encode(&self.public_key_data)
        ));
        f.write_str(&tags.join("; "))
    }
}

fn invalid(tag: &'static str, problem: TagProblem) -> ParseError {
    ParseError::InvalidTag { tag, problem }
}

/// The names a record usually holds (lowercase), kept as static strings.
const KNOWN_NAMES: [&str; 8] = ["rsa", "ed25519", "sha256", "sha1", "*", "email", "y", "s"];

/// `b` as text (invalid UTF-8 replaced), ASCII letters made small: a known name without an
/// allocation, another in one.
fn lowercase(b: &[u8]) -> Cow<'static, str> {
    match KNOWN_NAMES.iter().find(|n| n.as_bytes().eq_ignore_ascii_case(b)) {
        Some(&n) => Cow::Borrowed(n),
        None => Cow::Owned(String::from_utf8_lossy(b).to_ascii_lowercase()),
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: &str = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR\
        iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC\
        DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3\
        Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

    #[test]
    fn rfc8463_records() {
        let r = Record::parse(RSA).unwrap();
        assert_eq!(r.version.as_deref(), Some("DKIM1"));
        assert_eq!(r.known_key_type(), Some(KeyType::Rsa));
        assert_eq!(r.public_key().unwrap().bits(), 1024);
        assert_eq!(r.services, ["*"]);
        assert!(r.allows_hash("sha256") && r.allows_service("email"));
        assert!(!r.testing() && !r.strict_identity());
        // Display and parse round-trip.
        assert_eq!(Record::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn defaults_flags_and_revocation() {
        let r = Record::parse("p=").unwrap();
        assert!(r.is_revoked());
        assert_eq!(r.key_type, "rsa");
        assert_eq!(r.version, None);
        let r = Record::parse(
            "v=DKIM1; h=sha1 : SHA256; s=Email; t=Y:s:x; n=hello there; p=AAAA; future=x",
        )
        .unwrap();
        assert_eq!(r.hashes, ["sha1", "sha256"]);
        assert!(
            r.allows_hash("sha256") && !Record::parse("h=sha1; p=").unwrap().allows_hash("sha256")
        );
        assert!(r.allows_service("email"));
        assert!(!Record::parse("s=tlsrpt; p=").unwrap().allows_service("email"));
        assert!(r.testing() && r.strict_identity());
        assert_eq!(r.notes.as_deref(), Some("hello there"));
        assert_eq!(Record::parse(&r.to_string()).unwrap(), r);
        assert!(Record::parse("k=dsa; p=AAAA").unwrap().public_key().is_err());
    }

    #[test]
    fn errors_name_the_tag() {
        assert_eq!(Record::parse("v=DKIM1; k=rsa"), Err(ParseError::MissingTag { tag: "p" }));
        assert_eq!(
            Record::parse("k=rsa; v=DKIM1; p=").unwrap_err().to_string(),
            "tag v=: must be the first tag of the record"
        );
        assert_eq!(
            Record::parse("v=DKIM2; p=").unwrap_err().to_string(),
            "tag v=: unsupported version \"DKIM2\", expected \"DKIM1\""
        );
        assert_eq!(Record::parse("p=!!").unwrap_err().to_string(), "tag p=: invalid base64");
        assert!(Record::parse("v=spf1 -all").is_err());
    }
}
