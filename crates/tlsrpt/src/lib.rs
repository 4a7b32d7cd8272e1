//! SMTP TLS Reporting, TLSRPT (RFC 8460): how domains learn whether mail to them was sent with
//! TLS, and why not when it was not.
//!
//! A domain asks for reports with a TXT [`Record`] at `_smtp._tls.<domain>`
//! (`v=TLSRPTv1; rua=mailto:...`, §3). Sending mail servers then send it a daily aggregate
//! [`Report`] in JSON (§4): per applied policy (MTA-STS, DANE, or none), how many TLS sessions
//! succeeded and which failed, how and where.
//!
//! - [`Record::parse`] parses a record, [`lookup_record`] finds it in DNS (§3: other TXT records
//!   are discarded; more than one TLSRPT record means none).
//! - [`Report`] holds every field of §4.4 with serde: [`Report::parse`] reads JSON,
//!   [`Report::parse_gzip`] gzipped JSON, and [`Report::to_json`] writes a report to send.
//!   Parsing accepts what large senders (Google, Microsoft) actually send.
//! - [`parse_report_message`] finds the report in an email message (§5.3: the
//!   `application/tlsrpt+gzip` or `+json` part of a `multipart/report`), using the `message`
//!   crate's MIME parser.
//!
//! ```
//! use tlsrpt::{PolicyType, Record, Report, ResultType};
//!
//! # fn main() -> Result<(), tlsrpt::Error> {
//! let record = Record::parse("v=TLSRPTv1;rua=mailto:reports@example.com")?;
//! assert_eq!(record.rua[0].as_str(), "mailto:reports@example.com");
//!
//! let report = Report::parse(br#"{
//!     "organization-name": "Company-X",
//!     "date-range": {
//!         "start-datetime": "2016-04-01T00:00:00Z",
//!         "end-datetime": "2016-04-01T23:59:59Z"
//!     },
//!     "contact-info": "sts-reporting@company-x.example",
//!     "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
//!     "policies": [{
//!         "policy": {
//!             "policy-type": "sts",
//!             "policy-string": ["version: STSv1", "mode: testing",
//!                 "mx: *.mail.company-y.example", "max_age: 86400"],
//!             "policy-domain": "company-y.example",
//!             "mx-host": ["*.mail.company-y.example"]
//!         },
//!         "summary": {
//!             "total-successful-session-count": 5326,
//!             "total-failure-session-count": 303
//!         },
//!         "failure-details": [{
//!             "result-type": "certificate-expired",
//!             "sending-mta-ip": "2001:db8:abcd:0012::1",
//!             "receiving-mx-hostname": "mx1.mail.company-y.example",
//!             "failed-session-count": 100
//!         }]
//!     }]
//! }"#)?;
//! let result = &report.policies[0];
//! assert_eq!(result.policy.policy_type, PolicyType::Sts);
//! assert_eq!(result.summary.total_failure_session_count, 303);
//! assert_eq!(result.failure_details[0].result_type, ResultType::CertificateExpired);
//!
//! // Written back as JSON, it reads the same.
//! assert_eq!(Report::parse(report.to_json().as_bytes())?, report);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod datetime;
mod message;
mod record;
mod report;

use dns::{Domain, LookupError, Resolver, TxtSelection};

pub use datetime::DateTime;
pub use message::{MAX_MESSAGE_SIZE, parse_report_message};
pub use record::{Extension, Record, RecordProblem, Rua, RuaScheme};
pub use report::{
    AppliedPolicy, DateRange, FailureDetails, MAX_REPORT_SIZE, PolicyResult, PolicyType, Report,
    ResultType, Summary,
};

/// Everything that can go wrong with TLSRPT records and reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A TXT record that starts as a TLSRPT record is not valid.
    #[error("TLSRPT record: {problem} (at position {position})")]
    RecordSyntax {
        /// Byte offset in the record where the problem is.
        position: usize,
        /// What is wrong.
        problem: RecordProblem,
    },
    /// The domain has no TLSRPT record: it does not want reports.
    #[error("{domain}: no TLSRPT record at _smtp._tls.{domain}")]
    NoRecord {
        /// The policy domain.
        domain: Domain,
    },
    /// The domain has more than one TLSRPT record, which counts as none (RFC 8460 §3).
    #[error("{domain}: {count} TLSRPT records, exactly one is required")]
    MultipleRecords {
        /// The policy domain.
        domain: Domain,
        /// How many records start with `v=TLSRPTv1`.
        count: usize,
    },
    /// Looking up the record failed temporarily.
    #[error("looking up the TLSRPT record: {0}")]
    RecordLookup(LookupError),
    /// A date-time is not in RFC 3339 format.
    #[error("invalid RFC 3339 date-time {value:?}")]
    InvalidDateTime {
        /// The text.
        value: String,
    },
    /// A report is not valid JSON, or not a valid report (a field missing or of the wrong
    /// type); the message names the field and the line and column.
    #[error("TLSRPT report: {0}")]
    Json(serde_json::Error),
    /// A gzipped report could not be decompressed.
    #[error("TLSRPT report: decompressing gzip: {0}")]
    Gzip(std::io::Error),
    /// A report is larger than the limit.
    #[error("TLSRPT report larger than {limit} bytes")]
    ReportTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A report message is larger than the limit.
    #[error("message larger than {limit} bytes")]
    MessageTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A message has no part that holds a TLSRPT report (no `application/tlsrpt+gzip` or
    /// `application/tlsrpt+json` part, nor a `.json`/`.json.gz` attachment).
    #[error(
        "no TLSRPT report in message (no application/tlsrpt+gzip or application/tlsrpt+json part)"
    )]
    NoReportInMessage,
}

/// A TLSRPT record found in DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLookup {
    /// The parsed record.
    pub record: Record,
    /// The TXT record as found.
    pub txt: String,
    /// Whether the answer was DNSSEC-authenticated.
    pub authentic: bool,
}

/// Looks up the TLSRPT record of `domain` at `_smtp._tls.<domain>` (RFC 8460 §3). TXT records
/// that do not start with `v=TLSRPTv1` are discarded; exactly one must remain.
///
/// Errors: [`Error::NoRecord`], [`Error::MultipleRecords`], [`Error::RecordSyntax`], and
/// [`Error::RecordLookup`] for temporary DNS failures.
pub async fn lookup_record(
    resolver: &dyn Resolver,
    domain: &Domain,
) -> Result<RecordLookup, Error> {
    let name =
        domain.with_prefix("_smtp._tls").map_err(|_| Error::NoRecord { domain: domain.clone() })?;
    let (txt, authentic) = match dns::select_txt(resolver, &name, Record::is_tlsrpt).await {
        Ok(TxtSelection::One { text, authentic }) => (text, authentic),
        Ok(TxtSelection::Absent { .. }) => return Err(Error::NoRecord { domain: domain.clone() }),
        Ok(TxtSelection::Several { texts }) => {
            return Err(Error::MultipleRecords { domain: domain.clone(), count: texts.len() });
        }
        Err(e) => return Err(Error::RecordLookup(e)),
    };
    let record = Record::parse(&txt)?;
    Ok(RecordLookup { record, txt, authentic })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dns::MockResolver;

    fn lookup(zone: &str) -> Result<RecordLookup, Error> {
        let resolver = MockResolver::from_zone(zone).unwrap();
        let domain = Domain::parse("example.com").unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(lookup_record(&resolver, &domain))
    }

    #[test]
    fn record_lookup_outcomes() {
        let found = lookup(
            "_smtp._tls.example.com TXT \"v=TLSRPTv1;\" \"rua=mailto:reports@example.com\"\n_smtp._tls.example.com TXT \"unrelated\"",
        )
        .unwrap();
        assert_eq!(found.txt, "v=TLSRPTv1;rua=mailto:reports@example.com");
        assert_eq!(found.record.rua[0].as_str(), "mailto:reports@example.com");
        assert!(!found.authentic);

        assert!(matches!(lookup("example.com TXT \"v=spf1 -all\""), Err(Error::NoRecord { .. })));
        let err = lookup(
            "_smtp._tls.example.com TXT \"v=TLSRPTv1; rua=mailto:a@example.com\"\n_smtp._tls.example.com TXT \"v=TLSRPTv1; rua=mailto:b@example.com\"",
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "example.com: 2 TLSRPT records, exactly one is required");
        assert!(matches!(
            lookup("_smtp._tls.example.com TXT \"v=TLSRPTv1; rua=reports@example.com\""),
            Err(Error::RecordSyntax { problem: RecordProblem::InvalidUri, .. })
        ));
        let err = lookup("_smtp._tls.example.com TXT TIMEOUT").unwrap_err();
        assert!(matches!(&err, Error::RecordLookup(e) if e.is_temporary()), "{err:?}");
    }
}
