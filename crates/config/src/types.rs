//! Small types used by the configuration structs.

use std::fmt;

use crate::Destination;

/// A regular expression from the configuration, with its source text.
///
/// mox's patterns are Go (RE2) syntax; the `regex` crate reads the same syntax with the same
/// linear-time matching. Two patterns are equal when their source text is.
#[derive(Clone)]
pub struct Regex(regex::Regex);

impl Regex {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Regex, regex::Error> {
        regex::Regex::new(pattern).map(Regex)
    }

    /// The pattern as written in the configuration.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the pattern matches (a substring of) `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }

    /// The compiled expression.
    pub fn regex(&self) -> &regex::Regex {
        &self.0
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Regex) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Regex({:?})", self.as_str())
    }
}

/// A TLS protocol version, as `MinVersion` names it (`TLSv1.2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// `TLSv1.0`.
    Tls10,
    /// `TLSv1.1`.
    Tls11,
    /// `TLSv1.2`, the default minimum.
    Tls12,
    /// `TLSv1.3`.
    Tls13,
}

impl TlsVersion {
    /// Parses mox's name for a version (`TLSv1.0` to `TLSv1.3`).
    pub fn parse(name: &str) -> Option<TlsVersion> {
        match name {
            "TLSv1.0" => Some(TlsVersion::Tls10),
            "TLSv1.1" => Some(TlsVersion::Tls11),
            "TLSv1.2" => Some(TlsVersion::Tls12),
            "TLSv1.3" => Some(TlsVersion::Tls13),
            _ => None,
        }
    }
}

/// A member of an alias: its address, and the account and destination it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasAddress {
    /// The member address, as parsed from the alias' `Addresses`.
    pub address: message::Address,
    /// The account the address belongs to.
    pub account_name: String,
    /// The destination of the address in that account.
    pub destination: Destination,
}

/// An alias an account is a member of, as the account sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressAlias {
    /// The member address of the account, as written in the alias.
    pub subscription_address: String,
    /// The alias, without its member list.
    pub alias: crate::Alias,
    /// The addresses of all members, only if the alias lets members see them (`ListMembers`).
    pub member_addresses: Vec<String>,
}

/// The domain in a derived field before validation fills it in.
pub(crate) fn unset_domain() -> dns::Domain {
    match dns::Domain::parse("invalid") {
        Ok(d) => d,
        // "invalid" is a valid name (RFC 2606's reserved TLD); parse cannot fail on it.
        Err(_) => unreachable!("\"invalid\" is a valid domain name"),
    }
}
