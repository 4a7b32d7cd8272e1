//! DMARC: Domain-based Message Authentication, Reporting, and Conformance (RFC 7489).
//!
//! DMARC lets the owner of the domain in a message's From header say what receivers should do
//! with mail that does not authenticate: mail passes DMARC when SPF or DKIM passed for a domain
//! *aligned* with the From domain. This crate has:
//!
//! - [`Record`]: the policy record at `_dmarc.<domain>` (§6.3, §6.4), parsed strictly or as a
//!   receiver must ([`Record::parse_lenient`]), and written back with `Display`.
//! - [`lookup`]: policy discovery (§6.6.3) at the From domain, then its
//!   [`organizational_domain`] (§3.2, found with the Public Suffix List), giving a
//!   [`Discovery`].
//! - [`evaluate`] and [`verify_domain`]: identifier alignment (§3.1), the DMARC result, the
//!   applicable policy (`p=` or `sp=`) and the [`Disposition`] after `pct=` sampling (§6.6.4,
//!   with an injectable [`Sampler`]), in an [`Evaluation`] that also writes the
//!   Authentication-Results `dmarc=` method (§11.2).
//! - [`verify`] does all of that for a message: it takes the author domain from the From header
//!   ([`author_domains`], §6.6.1), with defined outcomes for a missing, repeated or empty From.
//! - [`report`]: aggregate reports (§7.2, Appendix C) parsed from XML, from gzip or zip files,
//!   or from the message they were mailed in ([`report::parse_message`]).
//!
//! SPF and DKIM results come in as the small types [`SpfOutcome`] and [`DkimOutcome`], so any
//! SPF or DKIM implementation can feed this crate. With the `spf` and `dkim` features,
//! `SpfOutcome::from_spf` and `DkimOutcome::from_dkim` convert the results of this workspace's
//! `spf` and `dkim` crates.
//!
//! ```
//! use dmarc::{AlwaysApply, Disposition, DkimOutcome, DkimResult, DmarcResult, SpfOutcome, SpfResult};
//! use dns::{Domain, MockResolver};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Any dns::Resolver: dns::HickoryResolver for real DNS, an in-memory zone here.
//! let resolver = MockResolver::from_zone(
//!     r#"_dmarc.example.com TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com""#,
//! )?;
//!
//! // A message "From: alerts@news.example.com", where SPF passed for a third party's bounce
//! // domain, and the only DKIM signature is the mailing list's.
//! let from = Domain::parse("news.example.com")?;
//! let spf = SpfOutcome { result: SpfResult::Pass, domain: Domain::parse("bounce.esp.example")? };
//! let dkim = [DkimOutcome {
//!     result: DkimResult::Pass,
//!     domain: Domain::parse("lists.example.org")?,
//!     selector: Some("sel".into()),
//! }];
//!
//! let evaluation = dmarc::verify_domain(&resolver, &from, Some(&spf), &dkim, &mut AlwaysApply).await;
//! assert_eq!(evaluation.result, DmarcResult::Fail);
//! assert_eq!(evaluation.disposition, Disposition::Reject);
//! assert_eq!(
//!     evaluation.authentication_results(),
//!     "dmarc=fail (p=reject dis=reject) header.from=news.example.com"
//! );
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod author;
mod conversions;
mod error;
mod evaluate;
pub mod fuzzing;
mod lookup;
mod org_domain;
mod record;
pub mod report;

pub use author::{author_domains, verify};
pub use error::Error;
pub use evaluate::{
    AlignedResult, AlwaysApply, Disposition, DkimOutcome, DkimResult, DmarcResult, Evaluation,
    RandomSampler, Sampler, SpfOutcome, SpfResult, evaluate, verify_domain,
};
pub use lookup::{DiscoveredRecord, Discovery, lookup};
pub use org_domain::{is_aligned, organizational_domain};
pub use record::{
    Alignment, DEFAULT_REPORT_INTERVAL, FailureOption, LenientRecord, MaxSize, Percent, Policy,
    Record, ReportFormat, ReportUri, SizeUnit, VERSION, is_dmarc_record,
};
