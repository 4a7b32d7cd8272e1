//! Sender Policy Framework (SPF, RFC 7208): may this IP address send mail for this domain?
//!
//! A domain publishes which hosts may send its mail as a TXT record such as
//! `v=spf1 mx ip4:192.0.2.0/24 -all`. A receiving mail server evaluates the record of the
//! domain in the SMTP MAIL FROM (or the HELO name) for the client's IP address and gets one of
//! seven results, [`SpfResult`]. This crate implements:
//!
//! - [`Record`]: parsing of every term of RFC 7208 §4–§7 (mechanisms, qualifiers, dual CIDR
//!   lengths, `redirect=`, `exp=`, unknown modifiers, macro strings), with errors that say what
//!   and where, and `Display` in canonical form.
//! - [`Verifier`]: `check_host()` (§4) over the [`dns::Resolver`] trait, for the MAIL FROM and
//!   HELO identities ([`Verifier::verify_mail_from`], [`Verifier::verify_helo`]), with the limits
//!   of §4.6.4 (10 lookup terms, 2 void lookups, 10 MX and PTR names, a 20 s timeout), include
//!   and redirect recursion with loop detection, and `exp=` explanations. The outcome is an
//!   [`Evaluation`]: the result, the directive that decided it, the explanation and, for errors,
//!   the problem. Results are values; [`Error`] is only for malformed input.
//! - [`lookup_record`]: a domain's one SPF record (§4.4, §4.5), as [`RecordLookup`].
//! - [`ReceivedSpf`] (§9.1) and [`AuthenticationResult`] (RFC 8601 §2.7.2) to record results
//!   in a message header.
//! - [`MacroString`]: the macro language of §7, expandable without DNS.
//!
//! Conformance: the OpenSPF RFC 7208 test suite runs in `cargo test` (all 203 cases pass), with
//! the examples of RFC 7208 Appendix A and §7.4, and pyspf (Debian's `python3-spf`) evaluates 300
//! random policies with the same results.
//!
//! # Example
//!
//! ```
//! use dns::MockResolver;
//! use spf::{SpfResult, Verifier};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let zone = MockResolver::from_zone(
//!     r#"
//!     example.com          TXT "v=spf1 mx include:_spf.example.net -all exp=why.example.com"
//!     example.com          MX  10 mail.example.com
//!     mail.example.com     A   192.0.2.25
//!     _spf.example.net     TXT "v=spf1 ip6:2001:db8::/32 -all"
//!     why.example.com      TXT "%{i} may not send mail for %{d}"
//!     "#,
//! )?;
//! let verifier = Verifier::new(&zone).with_receiver("mx.example.org");
//!
//! // The MX host may send.
//! let ip = "192.0.2.25".parse()?;
//! let verification = verifier.verify_mail_from(ip, "mail.example.com", "alice@example.com").await?;
//! assert_eq!(verification.result(), SpfResult::Pass);
//! assert_eq!(verification.evaluation.mechanism.unwrap().to_string(), "mx");
//!
//! // Another host may not, and the domain explains why.
//! let ip = "198.51.100.7".parse()?;
//! let verification = verifier.verify_mail_from(ip, "spammer.example", "bob@example.com").await?;
//! assert_eq!(verification.result(), SpfResult::Fail);
//! assert_eq!(
//!     verification.evaluation.explanation.as_deref(),
//!     Some("198.51.100.7 may not send mail for example.com")
//! );
//! assert_eq!(
//!     verification.authentication_result().to_string(),
//!     "spf=fail smtp.mailfrom=example.com"
//! );
//! assert!(verification.received_spf(Some("mx.example.org")).value().starts_with(
//!     "fail (mx.example.org: domain of bob@example.com does not designate 198.51.100.7 as \
//!      permitted sender) receiver=mx.example.org; client-ip=198.51.100.7;"
//! ));
//!
//! // Records parse on their own, with errors that point at the problem.
//! let err = "v=spf1 ip4:192.0.2.0/33 -all".parse::<spf::Record>().unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "invalid CIDR prefix length \"33\": expected 0 to 32 without leading zeros \
//!      at position 21 (in \"ip4:192.0.2.0/33\")"
//! );
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::str::FromStr;

mod check;
mod error;
mod header;
mod macros;
mod record;

pub use check::{
    DEFAULT_TIMEOUT, Evaluation, Identity, Limits, MAX_NESTING, RecordLookup, Verification,
    Verifier, lookup_record,
};
pub use error::{Error, SyntaxProblem};
pub use header::{AuthenticationResult, ReceivedSpf};
pub use macros::{MAX_EXPANSION_LENGTH, Macro, MacroLetter, MacroPart, MacroString, MacroValues};
pub use record::{
    Directive, DomainSpec, DualCidr, Mechanism, Modifier, Qualifier, Record, Term, VERSION,
};

/// The result of an SPF check (RFC 7208 §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpfResult {
    /// No policy: no (valid) domain to check, or it publishes no SPF record.
    None,
    /// The domain states nothing about the client (`?`, or no mechanism matched).
    Neutral,
    /// The client may send for the domain.
    Pass,
    /// The client may not send for the domain (`-`).
    Fail,
    /// The client is probably not allowed to send (`~`): a weak fail.
    Softfail,
    /// A temporary error, usually DNS; trying later may give a definite result.
    Temperror,
    /// The domain's records are broken and need fixing by their owner.
    Permerror,
}

impl SpfResult {
    /// The result's name as in headers: `none`, `neutral`, `pass`, `fail`, `softfail`,
    /// `temperror`, `permerror`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::Softfail => "softfail",
            SpfResult::Temperror => "temperror",
            SpfResult::Permerror => "permerror",
        }
    }
}

impl fmt::Display for SpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SpfResult {
    type Err = Error;
    /// Parses a result name, case-insensitively.
    fn from_str(s: &str) -> Result<SpfResult, Error> {
        [
            SpfResult::None,
            SpfResult::Neutral,
            SpfResult::Pass,
            SpfResult::Fail,
            SpfResult::Softfail,
            SpfResult::Temperror,
            SpfResult::Permerror,
        ]
        .into_iter()
        .find(|r| r.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| Error::UnknownResult { name: s.to_string() })
    }
}
