//! The author domain of a message (RFC 7489 §6.6.1) and evaluation of a whole message.

use dns::{Domain, Resolver};
use message::Header;

use crate::Error;
use crate::evaluate::{
    Disposition, DkimOutcome, DmarcResult, Evaluation, Sampler, SpfOutcome, verify_domain,
};

/// The author domains of a message: the domains of the addresses in its From header field
/// (RFC 7489 §6.6.1), without duplicates, in order. IDN domains are held in both forms; DMARC
/// looks them up by their A-labels.
///
/// A message that DMARC cannot evaluate is an error, with the outcomes §6.6.1 describes as
/// usual practice: no From field ([`Error::NoFrom`]), several From fields
/// ([`Error::MultipleFrom`], forbidden by RFC 5322 §3.6), a From that does not parse
/// ([`Error::InvalidFrom`]), and a From without any address, such as an empty group
/// ([`Error::NoAuthorDomain`]). A single From field with several addresses gives several
/// domains; [`verify`] evaluates each.
///
/// ```
/// let header = message::Header::parse(b"From: Jane <jane@news.example.com>, joe@example.org\r\n\r\n");
/// let domains = dmarc::author_domains(&header)?;
/// assert_eq!(domains.iter().map(|d| d.to_string()).collect::<Vec<_>>(), ["news.example.com", "example.org"]);
/// # Ok::<(), dmarc::Error>(())
/// ```
pub fn author_domains(header: &Header<'_>) -> Result<Vec<Domain>, Error> {
    let mut fields = header.get_all("From");
    let Some(from) = fields.next() else {
        return Err(Error::NoFrom);
    };
    let others = fields.count();
    if others > 0 {
        return Err(Error::MultipleFrom { count: others + 1 });
    }
    // An address list rather than a mailbox list: RFC 6854 allows group syntax in From, and a
    // group's members are authors too.
    let entries = message::parse_address_list(from.raw_value())
        .map_err(|source| Error::InvalidFrom { source })?;
    let mut domains: Vec<Domain> = Vec::new();
    for mailbox in entries.iter().flat_map(|entry| entry.mailboxes()) {
        if !domains.contains(&mailbox.address.domain) {
            domains.push(mailbox.address.domain.clone());
        }
    }
    if domains.is_empty() {
        return Err(Error::NoAuthorDomain);
    }
    Ok(domains)
}

/// Evaluates DMARC for a message: finds its author domain in the From header
/// ([`author_domains`]), looks up the policy and evaluates the SPF and DKIM results against it
/// ([`verify_domain`]).
///
/// A message without a usable From gives a `permerror` evaluation without an author domain
/// (receivers typically reject such messages, §6.6.1; that decision is the caller's). A From
/// with addresses in several domains is evaluated for each domain, and the strictest outcome is
/// returned, as §6.6.1 describes ("apply the most strict policy selected among the checks that
/// fail"): a failure with the strictest disposition first, then `temperror`, a failure under
/// `p=none`, `permerror`, `pass`, `none`; the first domain wins a tie.
///
/// ```
/// use dmarc::{AlwaysApply, DmarcResult};
/// use dns::MockResolver;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let zone = MockResolver::from_zone(r#"_dmarc.example.com TXT "v=DMARC1; p=reject""#)?;
/// let msg = b"From: ceo@example.com\r\nSubject: wire the money\r\n\r\nNow.\r\n";
/// let header = message::Header::parse(msg);
/// // No SPF or DKIM pass for example.com.
/// let evaluation = dmarc::verify(&zone, &header, None, &[], &mut AlwaysApply).await;
/// assert_eq!(evaluation.result, DmarcResult::Fail);
/// assert!(evaluation.rejects());
/// # Ok(())
/// # }
/// ```
pub async fn verify(
    resolver: &dyn Resolver,
    header: &Header<'_>,
    spf: Option<&SpfOutcome>,
    dkim: &[DkimOutcome],
    sampler: &mut dyn Sampler,
) -> Evaluation {
    let domains = match author_domains(header) {
        Ok(domains) => domains,
        Err(error) => {
            tracing::debug!(%error, "no DMARC author domain");
            return Evaluation::without_author(error);
        }
    };
    let mut strictest: Option<Evaluation> = None;
    for domain in &domains {
        let evaluation = verify_domain(resolver, domain, spf, dkim, sampler).await;
        if strictest.as_ref().is_none_or(|s| strictness(&evaluation) > strictness(s)) {
            strictest = Some(evaluation);
        }
    }
    // author_domains never returns an empty list.
    strictest.unwrap_or_else(|| Evaluation::without_author(Error::NoAuthorDomain))
}

/// Orders evaluations for a From with several domains; higher is stricter.
fn strictness(evaluation: &Evaluation) -> u8 {
    match (evaluation.result, evaluation.disposition) {
        (DmarcResult::Fail, Disposition::Reject) => 6,
        (DmarcResult::Fail, Disposition::Quarantine) => 5,
        (DmarcResult::Temperror, _) => 4,
        (DmarcResult::Fail, Disposition::None) => 3,
        (DmarcResult::Permerror, _) => 2,
        (DmarcResult::Pass, _) => 1,
        (DmarcResult::None, _) => 0,
    }
}

#[cfg(test)]
mod tests {
    use dns::MockResolver;

    use super::*;
    use crate::evaluate::{AlwaysApply, DkimResult};

    fn d(s: &str) -> Domain {
        Domain::parse(s).unwrap()
    }

    fn domains(header: &str) -> Result<Vec<String>, Error> {
        let msg = format!("{header}\r\n\r\nbody\r\n");
        author_domains(&Header::parse(msg.as_bytes()))
            .map(|ds| ds.iter().map(|d| d.ascii().to_string()).collect())
    }

    #[test]
    fn author_domain_outcomes() {
        assert_eq!(domains("From: sender@example.com").unwrap(), ["example.com"]);
        assert_eq!(domains("FROM: \"Jane\" <jane@Sub.Example.COM>").unwrap(), ["sub.example.com"]);
        assert_eq!(
            domains("From: =?utf-8?q?J=C3=B6rg?= <j@bücher.example>").unwrap(),
            ["xn--bcher-kva.example"]
        );
        assert_eq!(domains("From: a@example.com,\r\n b@example.com").unwrap(), ["example.com"]);
        assert_eq!(
            domains("From: a@example.com, b@example.org").unwrap(),
            ["example.com", "example.org"]
        );
        assert_eq!(
            domains("From: team: a@example.com, b@example.net;").unwrap(),
            ["example.com", "example.net"]
        );

        assert_eq!(domains("Subject: no from"), Err(Error::NoFrom));
        assert_eq!(
            domains("From: a@example.com\r\nFrom: b@example.com"),
            Err(Error::MultipleFrom { count: 2 })
        );
        assert_eq!(domains("From: undisclosed-recipients:;"), Err(Error::NoAuthorDomain));
        assert_eq!(domains("From:"), Err(Error::NoAuthorDomain));
        assert!(matches!(domains("From: <not an address>"), Err(Error::InvalidFrom { .. })));
        assert!(matches!(domains("From: jane@[192.0.2.1]"), Err(Error::InvalidFrom { .. })));
    }

    async fn verify_header(zone: &str, header: &str, dkim: &[DkimOutcome]) -> Evaluation {
        let resolver = MockResolver::from_zone(zone).unwrap();
        let msg = format!("{header}\r\n\r\nbody\r\n");
        verify(&resolver, &Header::parse(msg.as_bytes()), None, dkim, &mut AlwaysApply).await
    }

    #[tokio::test]
    async fn missing_or_multiple_from_is_permerror() {
        let zone = r#"_dmarc.example.com TXT "v=DMARC1; p=reject""#;
        let e = verify_header(zone, "Subject: x", &[]).await;
        assert_eq!((e.result, e.disposition), (DmarcResult::Permerror, Disposition::None));
        assert_eq!(e.author_error, Some(Error::NoFrom));
        assert_eq!(e.authentication_results(), "dmarc=permerror (no From header)");
        let e = verify_header(zone, "From: a@example.com\r\nFrom: b@example.com", &[]).await;
        assert_eq!(e.authentication_results(), "dmarc=permerror (multiple From headers)");
        let e = verify_header(zone, "From: x:;", &[]).await;
        assert_eq!(e.authentication_results(), "dmarc=permerror (no address in From header)");
        let e = verify_header(zone, "From: <@>", &[]).await;
        assert_eq!(e.authentication_results(), "dmarc=permerror (invalid From header)");
    }

    #[tokio::test]
    async fn several_author_domains_strictest_wins() {
        let zone = r#"_dmarc.example.com TXT "v=DMARC1; p=reject"
                      _dmarc.example.org TXT "v=DMARC1; p=quarantine"
                      _dmarc.example.net TXT TIMEOUT"#;
        let pass_com =
            [DkimOutcome { result: DkimResult::Pass, domain: d("example.com"), selector: None }];
        // example.com passes, example.org fails with quarantine: the failure wins.
        let e = verify_header(zone, "From: a@example.com, b@example.org", &pass_com).await;
        assert_eq!((e.result, e.disposition), (DmarcResult::Fail, Disposition::Quarantine));
        assert_eq!(e.author_domain, Some(d("example.org")));
        // Both fail: reject is stricter than quarantine.
        let e = verify_header(zone, "From: b@example.org, a@example.com", &[]).await;
        assert_eq!((e.author_domain, e.disposition), (Some(d("example.com")), Disposition::Reject));
        // A pass and a temperror: temperror.
        let e = verify_header(zone, "From: a@example.com, c@example.net", &pass_com).await;
        assert_eq!(e.result, DmarcResult::Temperror);
        // A pass and no record: the pass.
        let e = verify_header(zone, "From: a@example.com, z@example.info", &pass_com).await;
        assert_eq!((e.result, e.author_domain), (DmarcResult::Pass, Some(d("example.com"))));
    }
}
