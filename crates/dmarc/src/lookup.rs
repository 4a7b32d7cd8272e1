//! Policy discovery: finding the DMARC record for a From domain (RFC 7489 §6.6.3).

use dns::{Domain, LookupError, Resolver, TxtSelection};

use crate::Error;
use crate::org_domain::organizational_domain;
use crate::record::{Record, is_dmarc_record};

/// What policy discovery found for an author domain (RFC 7489 §6.6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    /// One usable DMARC record: DMARC applies.
    Found(DiscoveredRecord),
    /// Neither the author domain nor its organizational domain publishes a DMARC record: DMARC
    /// does not apply (result `none`).
    NoRecord {
        /// The names that were queried (`_dmarc.<domain>`), in order.
        queried: Vec<Domain>,
    },
    /// More than one DMARC record at one name: §6.6.3 step 5 says DMARC then does not apply
    /// (result `none`).
    MultipleRecords {
        /// The domain whose `_dmarc` name has them.
        domain: Domain,
        /// The records.
        records: Vec<String>,
    },
    /// The record is a DMARC record but unusable even after the repairs §6.6.3 step 6 allows:
    /// no DMARC processing (result `permerror`).
    Invalid {
        /// The domain whose `_dmarc` name has it.
        domain: Domain,
        /// The record text.
        txt: String,
        /// Why it is unusable.
        error: Error,
    },
    /// A DNS lookup failed temporarily (SERVFAIL, timeout): result `temperror`. §6.6.3 leaves
    /// the handling to the receiver: deliver ("fail open") or answer 4xx ("fail closed").
    TempError(LookupError),
}

/// A DMARC record found by policy discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredRecord {
    /// The domain the record was found at: the author domain, or its organizational domain.
    pub domain: Domain,
    /// The record, as a receiver applies it ([`Record::parse_lenient`]).
    pub record: Record,
    /// The TXT record's text.
    pub txt: String,
    /// What was wrong with the record and repaired or ignored (empty for a valid record).
    pub problems: Vec<Error>,
    /// Whether the DNS answer was DNSSEC-authenticated.
    pub authentic: bool,
}

impl Discovery {
    /// The record, if one was found.
    pub fn record(&self) -> Option<&DiscoveredRecord> {
        match self {
            Discovery::Found(found) => Some(found),
            _ => None,
        }
    }
}

/// Looks up the DMARC policy for mail whose From domain is `author_domain` (RFC 7489 §6.6.3):
/// the TXT records at `_dmarc.<author_domain>` that start with `v=DMARC1`; if there are none,
/// those at `_dmarc.<organizational domain>` (when that is a different name).
///
/// A temporary DNS failure at the first name ends discovery with [`Discovery::TempError`]
/// rather than falling back: the author domain may well have a record, and the organizational
/// domain's policy would be a guess.
///
/// ```
/// use dmarc::{Discovery, Policy, lookup};
/// use dns::{Domain, MockResolver};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let zone = MockResolver::from_zone(r#"_dmarc.example.com TXT "v=DMARC1; p=reject; sp=quarantine""#)?;
/// let Discovery::Found(found) = lookup(&zone, &Domain::parse("news.example.com")?).await else {
///     panic!("no record");
/// };
/// assert_eq!(found.domain.to_string(), "example.com");
/// assert_eq!(found.record.effective_subdomain_policy(), Policy::Quarantine);
/// # Ok(())
/// # }
/// ```
pub async fn lookup(resolver: &dyn Resolver, author_domain: &Domain) -> Discovery {
    let mut queried = Vec::new();
    match lookup_at(resolver, author_domain, &mut queried).await {
        AtName::Discovered(discovery) => return discovery,
        AtName::Empty => {}
    }
    // §6.6.3 step 3: "If the set is now empty, the Mail Receiver MUST query the DNS for a DMARC
    // TXT record at the DNS domain matching the Organizational Domain ... (if different)".
    let org = organizational_domain(author_domain);
    if org != *author_domain {
        match lookup_at(resolver, &org, &mut queried).await {
            AtName::Discovered(discovery) => return discovery,
            AtName::Empty => {}
        }
    }
    Discovery::NoRecord { queried }
}

enum AtName {
    Discovered(Discovery),
    /// No DMARC records at this name (no TXT records, or none starting with v=DMARC1).
    Empty,
}

async fn lookup_at(resolver: &dyn Resolver, domain: &Domain, queried: &mut Vec<Domain>) -> AtName {
    // A name too long for the "_dmarc." prefix cannot have a record.
    let Ok(name) = domain.with_prefix("_dmarc") else {
        tracing::debug!(%domain, "domain too long for a _dmarc name, no DMARC record");
        return AtName::Empty;
    };
    queried.push(name.clone());
    // §6.6.3 steps 2 and 4: "Records that do not start with a "v=" tag that identifies the
    // current version of DMARC are discarded."
    match dns::select_txt(resolver, &name, is_dmarc_record).await {
        Ok(TxtSelection::Absent { .. }) => AtName::Empty,
        Ok(TxtSelection::One { text: txt, authentic }) => {
            let discovery = match Record::parse_lenient(&txt) {
                Ok(lenient) => Discovery::Found(DiscoveredRecord {
                    domain: domain.clone(),
                    record: lenient.record,
                    txt,
                    problems: lenient.problems,
                    authentic,
                }),
                Err(error) => Discovery::Invalid { domain: domain.clone(), txt, error },
            };
            AtName::Discovered(discovery)
        }
        // §6.6.3 step 5: "If the remaining set contains multiple records ... policy discovery
        // terminates and DMARC processing is not applied to this message."
        Ok(TxtSelection::Several { texts }) => AtName::Discovered(Discovery::MultipleRecords {
            domain: domain.clone(),
            records: texts,
        }),
        Err(e) => {
            tracing::debug!(error = %e, "temporary DNS failure looking up DMARC record");
            AtName::Discovered(Discovery::TempError(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use dns::{MockResolver, RecordType};

    use super::*;
    use crate::Policy;

    fn d(s: &str) -> Domain {
        Domain::parse(s).unwrap()
    }

    async fn discover(zone: &str, from: &str) -> (Discovery, Vec<String>) {
        let resolver = MockResolver::from_zone(zone).unwrap();
        let discovery = lookup(&resolver, &d(from)).await;
        let queries = resolver
            .queries()
            .into_iter()
            .map(|(name, t)| {
                assert_eq!(t, RecordType::Txt);
                name.to_string()
            })
            .collect();
        (discovery, queries)
    }

    #[tokio::test]
    async fn found_at_author_domain() {
        let (discovery, queries) = discover(
            r#"_dmarc.example.com TXT "v=DMARC1; p=reject"
               _dmarc.example.com TXT "v=spf1 -all"
               _dmarc.example.com AUTHENTIC"#,
            "example.com",
        )
        .await;
        let found = discovery.record().unwrap();
        assert_eq!(found.domain, d("example.com"));
        assert_eq!(found.record.policy, Policy::Reject);
        assert_eq!(found.txt, "v=DMARC1; p=reject");
        assert!(found.authentic);
        assert!(found.problems.is_empty());
        assert_eq!(queries, ["_dmarc.example.com"]);
    }

    #[tokio::test]
    async fn falls_back_to_organizational_domain() {
        for (zone, why) in [
            ("", "NXDOMAIN"),
            ("_dmarc.mail.example.co.uk TXT \"v=spf1 -all\"", "only non-DMARC records"),
            ("_dmarc.mail.example.co.uk TXT \"v=DMARC2; p=none\"", "another version"),
            ("_dmarc.mail.example.co.uk A 192.0.2.1", "no TXT records"),
        ] {
            let zone =
                format!("{zone}\n_dmarc.example.co.uk TXT \"v=DMARC1; p=quarantine; sp=none\"");
            let (discovery, queries) = discover(&zone, "mail.example.co.uk").await;
            let found = discovery.record().unwrap_or_else(|| panic!("{why}: {discovery:?}"));
            assert_eq!(found.domain, d("example.co.uk"), "{why}");
            assert_eq!(found.record.subdomain_policy, Some(Policy::None));
            assert_eq!(queries, ["_dmarc.mail.example.co.uk", "_dmarc.example.co.uk"], "{why}");
        }
    }

    #[tokio::test]
    async fn no_record_anywhere() {
        let (discovery, queries) = discover("", "a.b.example.com").await;
        assert_eq!(
            discovery,
            Discovery::NoRecord {
                queried: vec![d("_dmarc.a.b.example.com"), d("_dmarc.example.com")]
            }
        );
        assert_eq!(queries.len(), 2);
        // The organizational domain itself: one query only.
        let (discovery, queries) = discover("", "example.com").await;
        assert_eq!(discovery, Discovery::NoRecord { queried: vec![d("_dmarc.example.com")] });
        assert_eq!(queries, ["_dmarc.example.com"]);
    }

    #[tokio::test]
    async fn multiple_records_mean_no_dmarc() {
        let (discovery, queries) = discover(
            r#"_dmarc.sub.example.com TXT "v=DMARC1; p=reject"
               _dmarc.sub.example.com TXT "v=DMARC1; p=none"
               _dmarc.example.com TXT "v=DMARC1; p=quarantine""#,
            "sub.example.com",
        )
        .await;
        match discovery {
            Discovery::MultipleRecords { domain, records } => {
                assert_eq!(domain, d("sub.example.com"));
                assert_eq!(records.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        // §6.6.3: the set was not empty, so the organizational domain is not consulted.
        assert_eq!(queries, ["_dmarc.sub.example.com"]);
        // The same at the organizational domain.
        let (discovery, _) = discover(
            r#"_dmarc.example.com TXT "v=DMARC1; p=reject"
               _dmarc.example.com TXT "v=DMARC1; p=reject""#,
            "sub.example.com",
        )
        .await;
        assert!(
            matches!(discovery, Discovery::MultipleRecords { domain, .. } if domain == d("example.com"))
        );
    }

    #[tokio::test]
    async fn temporary_errors() {
        for failure in ["SERVFAIL", "TIMEOUT", "REFUSED"] {
            let (discovery, queries) = discover(
                &format!(
                    "_dmarc.sub.example.com TXT {failure}\n_dmarc.example.com TXT \"v=DMARC1; p=none\""
                ),
                "sub.example.com",
            )
            .await;
            match discovery {
                Discovery::TempError(e) => {
                    assert!(e.is_temporary());
                    assert_eq!(e.name(), &d("_dmarc.sub.example.com"));
                }
                other => panic!("{failure}: {other:?}"),
            }
            // No fallback after a temporary failure.
            assert_eq!(queries, ["_dmarc.sub.example.com"], "{failure}");
        }
        // At the organizational domain.
        let (discovery, _) = discover("_dmarc.example.com TXT SERVFAIL", "sub.example.com").await;
        assert!(
            matches!(discovery, Discovery::TempError(e) if e.name() == &d("_dmarc.example.com"))
        );
    }

    #[tokio::test]
    async fn invalid_and_repaired_records() {
        let (discovery, _) =
            discover(r#"_dmarc.example.com TXT "v=DMARC1; p=bogus""#, "example.com").await;
        assert_eq!(
            discovery,
            Discovery::Invalid {
                domain: d("example.com"),
                txt: "v=DMARC1; p=bogus".into(),
                error: Error::InvalidValue {
                    tag: "p",
                    value: "bogus".into(),
                    position: 12,
                    expected: "none, quarantine or reject"
                },
            }
        );
        // Invalid p with a valid rua: treated as p=none (§6.6.3 step 6.1).
        let (discovery, _) = discover(
            r#"_dmarc.example.com TXT "v=DMARC1; p=bogus; rua=mailto:d@example.com""#,
            "example.com",
        )
        .await;
        let found = discovery.record().unwrap();
        assert_eq!(found.record.policy, Policy::None);
        assert_eq!(found.problems.len(), 1);
        // An invalid record at the author domain is not skipped for the organizational one.
        let (discovery, queries) = discover(
            r#"_dmarc.sub.example.com TXT "v=DMARC1"
               _dmarc.example.com TXT "v=DMARC1; p=reject""#,
            "sub.example.com",
        )
        .await;
        assert!(matches!(discovery, Discovery::Invalid { error: Error::MissingPolicy, .. }));
        assert_eq!(queries, ["_dmarc.sub.example.com"]);
    }

    #[tokio::test]
    async fn multi_string_txt_is_concatenated() {
        // RFC 7489 Appendix B.2.4 as published in a zone file.
        let (discovery, _) = discover(
            r#"_dmarc.test.example.com TXT "v=DMARC1; p=quarantine; " "rua=mailto:dmarc-feedback@example.com," "mailto:tld-test@thirdparty.example.net!10m; " "pct=25""#,
            "test.example.com",
        )
        .await;
        let found = discovery.record().unwrap();
        assert_eq!(found.record.aggregate_report_uris.len(), 2);
        assert_eq!(found.record.percent.get(), 25);
    }
}
