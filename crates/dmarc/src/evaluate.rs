//! Evaluation: identifier alignment, the DMARC result, the policy and its disposition (RFC 7489
//! §3.1, §6.6.2, §6.6.4), and the `dmarc=` Authentication-Results method (§11.2).

use std::fmt;
use std::hash::{BuildHasher, RandomState};

use dns::{Domain, Resolver};

use crate::Error;
use crate::lookup::{Discovery, lookup};
use crate::org_domain::is_aligned;
use crate::record::{Alignment, Percent, Policy};

/// An SPF result as DMARC needs it: the result, and the domain it was evaluated for (§6.6.2 step
/// 4: the results "MUST include the domain name used to complete the SPF check"), which is the
/// MAIL FROM domain, or the HELO domain when MAIL FROM was empty (RFC 7208 §2.4).
///
/// DMARC only takes these values, so any SPF implementation can supply them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpfOutcome {
    /// The SPF result.
    pub result: SpfResult,
    /// The domain SPF evaluated.
    pub domain: Domain,
}

/// An SPF result (RFC 7208 §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpfResult {
    /// No SPF record.
    None,
    /// The record makes no assertion.
    Neutral,
    /// The host is authorized.
    Pass,
    /// The host is not authorized.
    Fail,
    /// The host is probably not authorized.
    Softfail,
    /// A temporary error, usually DNS.
    Temperror,
    /// The record could not be interpreted.
    Permerror,
}

impl SpfResult {
    /// The result as written in Authentication-Results and reports.
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

/// The result of verifying one DKIM signature, with its signing domain (§6.6.2 step 3: the
/// results "MUST include the value of the "d=" tag from each checked DKIM signature").
///
/// DMARC only takes these values, so any DKIM implementation can supply them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DkimOutcome {
    /// The verification result.
    pub result: DkimResult,
    /// The signing domain, the signature's `d=` tag.
    pub domain: Domain,
    /// The selector, the signature's `s=` tag (for reports).
    pub selector: Option<String>,
}

/// A DKIM verification result (RFC 8601 §2.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DkimResult {
    /// The message was not signed.
    None,
    /// The signature verified.
    Pass,
    /// The signature did not verify.
    Fail,
    /// The signature verified but is not acceptable by local policy.
    Policy,
    /// The signature could not be processed (for example a syntax error).
    Neutral,
    /// A temporary error, usually a DNS failure fetching the key.
    Temperror,
    /// A permanent error, such as a missing key record.
    Permerror,
}

impl DkimResult {
    /// The result as written in Authentication-Results and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DkimResult::None => "none",
            DkimResult::Pass => "pass",
            DkimResult::Fail => "fail",
            DkimResult::Policy => "policy",
            DkimResult::Neutral => "neutral",
            DkimResult::Temperror => "temperror",
            DkimResult::Permerror => "permerror",
        }
    }
}

impl fmt::Display for DkimResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The DMARC result, as registered for Authentication-Results (RFC 7489 §11.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DmarcResult {
    /// No DMARC policy applies (no record, or several).
    None,
    /// SPF or DKIM passed for an aligned identifier.
    Pass,
    /// No aligned identifier passed.
    Fail,
    /// A temporary error: DNS failed looking up the policy, or SPF or DKIM failed temporarily
    /// for an aligned identifier and nothing else passed.
    Temperror,
    /// A permanent error: an unusable DMARC record, or a message without a usable From.
    Permerror,
}

impl DmarcResult {
    /// The result as written in Authentication-Results.
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcResult::None => "none",
            DmarcResult::Pass => "pass",
            DmarcResult::Fail => "fail",
            DmarcResult::Temperror => "temperror",
            DmarcResult::Permerror => "permerror",
        }
    }
}

impl fmt::Display for DmarcResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do with the message because of DMARC (the aggregate report's `disposition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Disposition {
    /// Deliver as usual.
    None,
    /// Treat as suspicious: deliver to the junk folder, for example.
    Quarantine,
    /// Reject, preferably during the SMTP transaction.
    Reject,
}

impl Disposition {
    /// The disposition as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::None => "none",
            Disposition::Quarantine => "quarantine",
            Disposition::Reject => "reject",
        }
    }
}

impl From<Policy> for Disposition {
    fn from(policy: Policy) -> Disposition {
        match policy {
            Policy::None => Disposition::None,
            Policy::Quarantine => Disposition::Quarantine,
            Policy::Reject => Disposition::Reject,
        }
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SPF or DKIM as DMARC sees it: did it pass for an identifier aligned with the From domain?
/// (The aggregate report's `policy_evaluated` `spf`/`dkim`, plus temporary errors.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlignedResult {
    /// Passed for an aligned identifier.
    Pass,
    /// Did not pass for an aligned identifier.
    Fail,
    /// Failed temporarily for an aligned identifier, and did not pass for another.
    Temperror,
}

impl AlignedResult {
    /// `pass`, `fail` or `temperror`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlignedResult::Pass => "pass",
            AlignedResult::Fail => "fail",
            AlignedResult::Temperror => "temperror",
        }
    }
}

impl fmt::Display for AlignedResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decides whether a message falls within a record's `pct=` share (RFC 7489 §6.6.4). Injectable
/// so tests (and receivers with their own statistics) decide; [`RandomSampler`] is the usual
/// choice, [`AlwaysApply`] ignores `pct=`.
///
/// Closures `FnMut(Percent) -> bool` are samplers too.
pub trait Sampler: Send {
    /// Whether to apply the policy to this message, given the record's `pct=`. Called only for
    /// messages that fail DMARC under a policy other than `none`, with `pct` below 100.
    fn apply_policy(&mut self, pct: Percent) -> bool;
}

impl<F: FnMut(Percent) -> bool + Send> Sampler for F {
    fn apply_policy(&mut self, pct: Percent) -> bool {
        self(pct)
    }
}

/// Applies the policy to a random `pct` percent of messages, as §6.3 suggests: "if (random mod
/// 100) < pct then selected".
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSampler;

impl Sampler for RandomSampler {
    fn apply_policy(&mut self, pct: Percent) -> bool {
        // Each RandomState has fresh SipHash keys: a random number without a dependency. The
        // sampling needs no cryptographic quality, only independence between messages.
        let random = RandomState::new().hash_one(0u8);
        random % 100 < u64::from(pct.get())
    }
}

/// Applies the policy to every failing message, ignoring `pct=`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysApply;

impl Sampler for AlwaysApply {
    fn apply_policy(&mut self, _pct: Percent) -> bool {
        true
    }
}

/// The outcome of DMARC for one message and author domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The DMARC result, for Authentication-Results.
    pub result: DmarcResult,
    /// What to do with the message: the applicable policy for a `fail`, after `pct=` sampling;
    /// [`Disposition::None`] for every other result. (What to do on `temperror` and
    /// `permerror` is the receiver's decision, RFC 7489 §6.6.2, §6.6.3.)
    pub disposition: Disposition,
    /// The From domain that was evaluated. None when the message has no usable From; then
    /// `author_error` says why and the result is `permerror`.
    pub author_domain: Option<Domain>,
    /// Why the message has no usable author domain.
    pub author_error: Option<Error>,
    /// What policy discovery found; None without an author domain.
    pub discovery: Option<Discovery>,
    /// The policy that applies to the author domain: `p=`, or `sp=` (if present) when the
    /// record was found at the organizational domain of a subdomain. None without a record.
    pub policy: Option<Policy>,
    /// Whether the message failed and was exempted from the policy by `pct=` sampling (the
    /// report's `sampled_out` override): the disposition is then one step milder
    /// (§6.6.4: reject becomes quarantine, quarantine becomes none).
    pub sampled_out: bool,
    /// SPF with alignment (strict or relaxed per `aspf=`; relaxed without a record).
    pub spf: AlignedResult,
    /// DKIM with alignment (per `adkim=`): pass if any signature passed for an aligned domain.
    pub dkim: AlignedResult,
    /// The `d=` domain of the first aligned signature that passed.
    pub dkim_domain: Option<Domain>,
}

impl Evaluation {
    /// An evaluation for a message without a usable author domain: `permerror`.
    pub fn without_author(error: Error) -> Evaluation {
        Evaluation {
            result: DmarcResult::Permerror,
            disposition: Disposition::None,
            author_domain: None,
            author_error: Some(error),
            discovery: None,
            policy: None,
            sampled_out: false,
            spf: AlignedResult::Fail,
            dkim: AlignedResult::Fail,
            dkim_domain: None,
        }
    }

    /// Whether DMARC asks to reject the message.
    pub fn rejects(&self) -> bool {
        self.disposition == Disposition::Reject
    }

    /// The `dmarc` method result for an Authentication-Results header field (RFC 8601, RFC 7489
    /// §11.2), such as `dmarc=pass (p=reject dis=none) header.from=example.com`. The comment
    /// gives the applicable policy and the disposition when a record applied, or the reason for
    /// `temperror`, `permerror` and some `none` results. The domain is in ASCII form.
    pub fn authentication_results(&self) -> String {
        let mut s = format!("dmarc={}", self.result);
        if let Some(comment) = self.comment() {
            s.push_str(" (");
            s.push_str(&comment);
            s.push(')');
        }
        if let Some(domain) = &self.author_domain {
            s.push_str(" header.from=");
            s.push_str(domain.ascii());
        }
        s
    }

    fn comment(&self) -> Option<String> {
        if let Some(error) = &self.author_error {
            return Some(
                match error {
                    Error::NoFrom => "no From header",
                    Error::MultipleFrom { .. } => "multiple From headers",
                    Error::NoAuthorDomain => "no address in From header",
                    _ => "invalid From header",
                }
                .into(),
            );
        }
        match (&self.discovery, self.policy) {
            (Some(Discovery::TempError(_)), _) => Some("DMARC record lookup failed".into()),
            (Some(Discovery::Invalid { .. }), _) => Some("invalid DMARC record".into()),
            (Some(Discovery::MultipleRecords { .. }), _) => Some("multiple DMARC records".into()),
            (_, Some(_)) if self.result == DmarcResult::Temperror => {
                Some("temporary SPF or DKIM error".into())
            }
            (_, Some(policy)) => Some(format!("p={policy} dis={}", self.disposition)),
            _ => None,
        }
    }
}

/// Evaluates DMARC for a message from `author_domain`, given what policy discovery found and
/// the SPF and DKIM results (RFC 7489 §6.6.2 steps 5 and 6). No I/O: [`verify_domain`] does the
/// lookup first.
///
/// - `spf`: None when SPF was not checked.
/// - `dkim`: one entry per verified signature (empty for an unsigned message).
///
/// An SPF or DKIM temperror makes the result `temperror` only for an identifier that is
/// aligned and only when nothing else passed (§6.6.2: "If neither passes and one or both of
/// them fail due to a temporary error, the Receiver ... cannot apply the advertised DMARC
/// policy"): a sender cannot escape a `p=reject` by adding a signature from a domain of its own
/// whose key lookup fails.
pub fn evaluate(
    author_domain: &Domain,
    discovery: Discovery,
    spf: Option<&SpfOutcome>,
    dkim: &[DkimOutcome],
    sampler: &mut dyn Sampler,
) -> Evaluation {
    let record = discovery.record().map(|found| (found, &found.record));
    let (spf_mode, dkim_mode) = record
        .map(|(_, r)| (r.spf_alignment, r.dkim_alignment))
        .unwrap_or((Alignment::Relaxed, Alignment::Relaxed));

    // §3.1.2, §6.6.2 step 5.
    let spf_aligned = match spf {
        Some(outcome) if is_aligned(spf_mode, author_domain, &outcome.domain) => {
            match outcome.result {
                SpfResult::Pass => AlignedResult::Pass,
                SpfResult::Temperror => AlignedResult::Temperror,
                _ => AlignedResult::Fail,
            }
        }
        _ => AlignedResult::Fail,
    };
    // §3.1.1: "it is considered to be a DMARC "pass" if any DKIM signature is aligned and
    // verifies."
    let mut dkim_aligned = AlignedResult::Fail;
    let mut dkim_domain = None;
    for signature in dkim {
        if !matches!(signature.result, DkimResult::Pass | DkimResult::Temperror)
            || !is_aligned(dkim_mode, author_domain, &signature.domain)
        {
            continue;
        }
        if signature.result == DkimResult::Pass {
            dkim_aligned = AlignedResult::Pass;
            dkim_domain = Some(signature.domain.clone());
            break;
        }
        dkim_aligned = AlignedResult::Temperror;
    }

    let mut evaluation = Evaluation {
        result: DmarcResult::None,
        disposition: Disposition::None,
        author_domain: Some(author_domain.clone()),
        author_error: None,
        discovery: None,
        policy: None,
        sampled_out: false,
        spf: spf_aligned,
        dkim: dkim_aligned,
        dkim_domain,
    };
    match &discovery {
        Discovery::NoRecord { .. } | Discovery::MultipleRecords { .. } => {}
        Discovery::Invalid { .. } => evaluation.result = DmarcResult::Permerror,
        Discovery::TempError(_) => evaluation.result = DmarcResult::Temperror,
        Discovery::Found(found) => {
            let record = &found.record;
            // §6.3 sp: "It applies only to subdomains of the domain queried and not to the
            // domain itself."
            let policy = if found.domain == *author_domain {
                record.policy
            } else {
                record.effective_subdomain_policy()
            };
            evaluation.policy = Some(policy);
            let results = [spf_aligned, dkim_aligned];
            if results.contains(&AlignedResult::Pass) {
                evaluation.result = DmarcResult::Pass;
            } else if results.contains(&AlignedResult::Temperror) {
                evaluation.result = DmarcResult::Temperror;
            } else {
                evaluation.result = DmarcResult::Fail;
                let mut disposition = Disposition::from(policy);
                // §6.6.4: not selected by pct, reject becomes quarantine and quarantine none.
                if policy != Policy::None
                    && record.percent != Percent::ALL
                    && !sampler.apply_policy(record.percent)
                {
                    evaluation.sampled_out = true;
                    disposition = match disposition {
                        Disposition::Reject => Disposition::Quarantine,
                        _ => Disposition::None,
                    };
                }
                evaluation.disposition = disposition;
            }
        }
    }
    evaluation.discovery = Some(discovery);
    evaluation
}

/// Looks up the DMARC policy for `author_domain` and evaluates the message against it: policy
/// discovery ([`lookup`]) followed by [`evaluate`].
///
/// ```
/// use dmarc::{
///     AlwaysApply, DkimOutcome, DkimResult, DmarcResult, SpfOutcome, SpfResult, verify_domain,
/// };
/// use dns::{Domain, MockResolver};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let zone = MockResolver::from_zone(r#"_dmarc.example.com TXT "v=DMARC1; p=reject""#)?;
/// let from = Domain::parse("example.com")?;
/// // SPF passed for a bounce domain and a DKIM signature verified for the organization.
/// let spf = SpfOutcome { result: SpfResult::Pass, domain: Domain::parse("bounces.example.com")? };
/// let dkim = [DkimOutcome {
///     result: DkimResult::Pass,
///     domain: Domain::parse("example.com")?,
///     selector: Some("s1".into()),
/// }];
/// let evaluation = verify_domain(&zone, &from, Some(&spf), &dkim, &mut AlwaysApply).await;
/// assert_eq!(evaluation.result, DmarcResult::Pass);
/// assert_eq!(
///     evaluation.authentication_results(),
///     "dmarc=pass (p=reject dis=none) header.from=example.com"
/// );
/// # Ok(())
/// # }
/// ```
pub async fn verify_domain(
    resolver: &dyn Resolver,
    author_domain: &Domain,
    spf: Option<&SpfOutcome>,
    dkim: &[DkimOutcome],
    sampler: &mut dyn Sampler,
) -> Evaluation {
    let discovery = lookup(resolver, author_domain).await;
    let evaluation = evaluate(author_domain, discovery, spf, dkim, sampler);
    tracing::debug!(
        author_domain = %author_domain,
        result = %evaluation.result,
        disposition = %evaluation.disposition,
        spf = %evaluation.spf,
        dkim = %evaluation.dkim,
        sampled_out = evaluation.sampled_out,
        "dmarc evaluation"
    );
    evaluation
}

#[cfg(test)]
mod tests {
    use dns::MockResolver;

    use super::*;

    fn d(s: &str) -> Domain {
        Domain::parse(s).unwrap()
    }

    fn spf(result: SpfResult, domain: &str) -> SpfOutcome {
        SpfOutcome { result, domain: d(domain) }
    }

    fn dkim(result: DkimResult, domain: &str) -> DkimOutcome {
        DkimOutcome { result, domain: d(domain), selector: None }
    }

    async fn run(
        zone: &str,
        from: &str,
        spf: Option<SpfOutcome>,
        dkim: &[DkimOutcome],
        sampler: &mut dyn Sampler,
    ) -> Evaluation {
        let resolver = MockResolver::from_zone(zone).unwrap();
        verify_domain(&resolver, &d(from), spf.as_ref(), dkim, sampler).await
    }

    const REJECT: &str = r#"_dmarc.example.com TXT "v=DMARC1; p=reject""#;

    #[tokio::test]
    async fn rfc7489_appendix_b1_spf() {
        let strict = r#"_dmarc.example.com TXT "v=DMARC1; p=reject; aspf=s"
                        _dmarc.child.example.com TXT "v=DMARC1; p=reject; aspf=s""#;
        // Example 1: identical domains, aligned in either mode.
        for zone in [REJECT, strict] {
            let e = run(
                zone,
                "example.com",
                Some(spf(SpfResult::Pass, "example.com")),
                &[],
                &mut AlwaysApply,
            )
            .await;
            assert_eq!(
                (e.result, e.spf, e.disposition),
                (DmarcResult::Pass, AlignedResult::Pass, Disposition::None)
            );
        }
        // Example 2: MAIL FROM child.example.com, From example.com: relaxed only.
        let e = run(
            REJECT,
            "example.com",
            Some(spf(SpfResult::Pass, "child.example.com")),
            &[],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!(e.result, DmarcResult::Pass);
        let e = run(
            strict,
            "example.com",
            Some(spf(SpfResult::Pass, "child.example.com")),
            &[],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!(
            (e.result, e.spf, e.disposition),
            (DmarcResult::Fail, AlignedResult::Fail, Disposition::Reject)
        );
        // Example 3: MAIL FROM example.net, From child.example.com: never aligned.
        let e = run(
            REJECT,
            "child.example.com",
            Some(spf(SpfResult::Pass, "example.net")),
            &[],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!((e.result, e.disposition), (DmarcResult::Fail, Disposition::Reject));
    }

    #[tokio::test]
    async fn rfc7489_appendix_b1_dkim() {
        let strict = r#"_dmarc.example.com TXT "v=DMARC1; p=reject; adkim=s""#;
        // Example 1.
        let e = run(
            strict,
            "example.com",
            None,
            &[dkim(DkimResult::Pass, "example.com")],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!((e.result, e.dkim), (DmarcResult::Pass, AlignedResult::Pass));
        assert_eq!(e.dkim_domain, Some(d("example.com")));
        // Example 2: d=example.com, From child.example.com: relaxed only.
        let e = run(
            REJECT,
            "child.example.com",
            None,
            &[dkim(DkimResult::Pass, "example.com")],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!(e.result, DmarcResult::Pass);
        let e = run(
            strict,
            "child.example.com",
            None,
            &[dkim(DkimResult::Pass, "example.com")],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!((e.result, e.dkim), (DmarcResult::Fail, AlignedResult::Fail));
        // Example 3: d=sample.net.
        let e = run(
            REJECT,
            "child.example.com",
            None,
            &[dkim(DkimResult::Pass, "sample.net")],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!(e.result, DmarcResult::Fail);
        // An aligned signature that does not verify does not count.
        let e = run(
            REJECT,
            "example.com",
            None,
            &[dkim(DkimResult::Fail, "example.com")],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!(e.result, DmarcResult::Fail);
    }

    #[tokio::test]
    async fn rfc7489_appendix_b3_receiver_example() {
        let zone = r#"_dmarc.example.com TXT "v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com""#;
        let e = run(
            zone,
            "example.com",
            Some(spf(SpfResult::Pass, "mail.example.com")),
            &[dkim(DkimResult::Pass, "example.com")],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!(
            (e.result, e.spf, e.dkim),
            (DmarcResult::Pass, AlignedResult::Pass, AlignedResult::Pass)
        );
        assert!(!e.rejects());
        assert_eq!(
            e.authentication_results(),
            "dmarc=pass (p=reject dis=none) header.from=example.com"
        );
    }

    #[tokio::test]
    async fn any_aligned_signature_passes() {
        let e = run(
            REJECT,
            "example.com",
            Some(spf(SpfResult::Fail, "example.com")),
            &[
                dkim(DkimResult::Pass, "mailinglist.example"),
                dkim(DkimResult::Fail, "example.com"),
                dkim(DkimResult::Pass, "mail.example.com"),
            ],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!(
            (e.result, e.spf, e.dkim),
            (DmarcResult::Pass, AlignedResult::Fail, AlignedResult::Pass)
        );
        assert_eq!(e.dkim_domain, Some(d("mail.example.com")));
    }

    #[tokio::test]
    async fn spf_results_other_than_pass_fail() {
        for result in [
            SpfResult::None,
            SpfResult::Neutral,
            SpfResult::Fail,
            SpfResult::Softfail,
            SpfResult::Permerror,
        ] {
            let e =
                run(REJECT, "example.com", Some(spf(result, "example.com")), &[], &mut AlwaysApply)
                    .await;
            assert_eq!(
                (e.result, e.disposition),
                (DmarcResult::Fail, Disposition::Reject),
                "{result}"
            );
            assert_eq!(
                e.authentication_results(),
                "dmarc=fail (p=reject dis=reject) header.from=example.com"
            );
        }
        for result in
            [DkimResult::None, DkimResult::Policy, DkimResult::Neutral, DkimResult::Permerror]
        {
            let e =
                run(REJECT, "example.com", None, &[dkim(result, "example.com")], &mut AlwaysApply)
                    .await;
            assert_eq!(e.result, DmarcResult::Fail, "{result}");
        }
    }

    #[tokio::test]
    async fn temperror_only_for_aligned_identifiers() {
        // Aligned SPF temperror, nothing passes: temperror, policy not applied.
        let e = run(
            REJECT,
            "example.com",
            Some(spf(SpfResult::Temperror, "example.com")),
            &[],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!(
            (e.result, e.disposition, e.spf),
            (DmarcResult::Temperror, Disposition::None, AlignedResult::Temperror)
        );
        assert_eq!(
            e.authentication_results(),
            "dmarc=temperror (temporary SPF or DKIM error) header.from=example.com"
        );
        // Aligned DKIM temperror.
        let e = run(
            REJECT,
            "example.com",
            None,
            &[dkim(DkimResult::Temperror, "example.com")],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!((e.result, e.dkim), (DmarcResult::Temperror, AlignedResult::Temperror));
        // A temperror for an unaligned domain (say the attacker's own, made to SERVFAIL) does
        // not stop the policy.
        let e = run(
            REJECT,
            "example.com",
            Some(spf(SpfResult::Temperror, "attacker.example")),
            &[dkim(DkimResult::Temperror, "attacker.example")],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!((e.result, e.disposition), (DmarcResult::Fail, Disposition::Reject));
        // A pass wins over a temperror.
        let e = run(
            REJECT,
            "example.com",
            Some(spf(SpfResult::Temperror, "example.com")),
            &[dkim(DkimResult::Pass, "example.com")],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!(e.result, DmarcResult::Pass);
    }

    #[tokio::test]
    async fn subdomain_policy() {
        let zone = r#"_dmarc.example.com TXT "v=DMARC1; p=reject; sp=quarantine""#;
        let e = run(zone, "example.com", None, &[], &mut AlwaysApply).await;
        assert_eq!((e.policy, e.disposition), (Some(Policy::Reject), Disposition::Reject));
        let e = run(zone, "news.example.com", None, &[], &mut AlwaysApply).await;
        assert_eq!((e.policy, e.disposition), (Some(Policy::Quarantine), Disposition::Quarantine));
        assert_eq!(
            e.authentication_results(),
            "dmarc=fail (p=quarantine dis=quarantine) header.from=news.example.com"
        );
        // Without sp, p applies to subdomains.
        let e = run(REJECT, "news.example.com", None, &[], &mut AlwaysApply).await;
        assert_eq!(e.policy, Some(Policy::Reject));
        // A record at the subdomain itself: its p applies, the org's sp does not.
        let zone = r#"_dmarc.example.com TXT "v=DMARC1; p=reject; sp=reject"
                      _dmarc.news.example.com TXT "v=DMARC1; p=none; sp=reject""#;
        let e = run(zone, "news.example.com", None, &[], &mut AlwaysApply).await;
        assert_eq!(
            (e.result, e.policy, e.disposition),
            (DmarcResult::Fail, Some(Policy::None), Disposition::None)
        );
    }

    #[tokio::test]
    async fn pct_sampling() {
        let reject25 = r#"_dmarc.example.com TXT "v=DMARC1; p=reject; pct=25""#;
        let mut asked = Vec::new();
        let mut no = |pct: Percent| {
            asked.push(pct.get());
            false
        };
        let e = run(reject25, "example.com", None, &[], &mut no).await;
        assert_eq!(
            (e.result, e.disposition, e.sampled_out),
            (DmarcResult::Fail, Disposition::Quarantine, true)
        );
        assert_eq!(
            e.authentication_results(),
            "dmarc=fail (p=reject dis=quarantine) header.from=example.com"
        );
        assert_eq!(asked, [25]);
        let e = run(reject25, "example.com", None, &[], &mut |_: Percent| true).await;
        assert_eq!((e.disposition, e.sampled_out), (Disposition::Reject, false));

        let quarantine = r#"_dmarc.example.com TXT "v=DMARC1; p=quarantine; pct=0""#;
        let e = run(quarantine, "example.com", None, &[], &mut RandomSampler).await;
        assert_eq!((e.disposition, e.sampled_out), (Disposition::None, true));

        // Not consulted for pct=100, p=none, or a pass.
        let mut never = |_: Percent| -> bool { panic!("sampler called") };
        run(REJECT, "example.com", None, &[], &mut never).await;
        run(
            r#"_dmarc.example.com TXT "v=DMARC1; p=none; pct=10""#,
            "example.com",
            None,
            &[],
            &mut never,
        )
        .await;
        run(reject25, "example.com", None, &[dkim(DkimResult::Pass, "example.com")], &mut never)
            .await;
    }

    #[test]
    fn random_sampler_follows_pct() {
        let mut sampler = RandomSampler;
        let selected =
            (0..4000).filter(|_| sampler.apply_policy(Percent::new(25).unwrap())).count();
        // 1000 expected; the binomial standard deviation is about 27.
        assert!((850..1150).contains(&selected), "{selected}");
        assert!((0..1000).all(|_| !sampler.apply_policy(Percent::new(0).unwrap())));
        assert!((0..1000).all(|_| sampler.apply_policy(Percent::ALL)));
    }

    #[tokio::test]
    async fn no_policy_results() {
        let e = run(
            "",
            "example.com",
            Some(spf(SpfResult::Pass, "example.com")),
            &[],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!(
            (e.result, e.policy, e.disposition),
            (DmarcResult::None, None, Disposition::None)
        );
        // Alignment is still reported (relaxed).
        assert_eq!(e.spf, AlignedResult::Pass);
        assert_eq!(e.authentication_results(), "dmarc=none header.from=example.com");

        let multiple = r#"_dmarc.example.com TXT "v=DMARC1; p=reject"
                          _dmarc.example.com TXT "v=DMARC1; p=none""#;
        let e = run(multiple, "example.com", None, &[], &mut AlwaysApply).await;
        assert_eq!((e.result, e.disposition), (DmarcResult::None, Disposition::None));
        assert_eq!(
            e.authentication_results(),
            "dmarc=none (multiple DMARC records) header.from=example.com"
        );

        let e = run(
            r#"_dmarc.example.com TXT "v=DMARC1; p=bogus""#,
            "example.com",
            None,
            &[],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!((e.result, e.disposition), (DmarcResult::Permerror, Disposition::None));
        assert_eq!(
            e.authentication_results(),
            "dmarc=permerror (invalid DMARC record) header.from=example.com"
        );

        let e =
            run("_dmarc.example.com TXT TIMEOUT", "example.com", None, &[], &mut AlwaysApply).await;
        assert_eq!((e.result, e.disposition), (DmarcResult::Temperror, Disposition::None));
        assert_eq!(
            e.authentication_results(),
            "dmarc=temperror (DMARC record lookup failed) header.from=example.com"
        );
    }

    #[test]
    fn without_author() {
        let e = Evaluation::without_author(Error::MultipleFrom { count: 2 });
        assert_eq!(e.result, DmarcResult::Permerror);
        assert_eq!(e.authentication_results(), "dmarc=permerror (multiple From headers)");
        assert_eq!(
            Evaluation::without_author(Error::NoFrom).authentication_results(),
            "dmarc=permerror (no From header)"
        );
    }

    #[tokio::test]
    async fn idn_author_domain_in_ascii() {
        let zone = r#"_dmarc.xn--bcher-kva.example TXT "v=DMARC1; p=quarantine""#;
        let e = run(
            zone,
            "bücher.example",
            None,
            &[dkim(DkimResult::Pass, "Bücher.example")],
            &mut AlwaysApply,
        )
        .await;
        assert_eq!(
            e.authentication_results(),
            "dmarc=pass (p=quarantine dis=none) header.from=xn--bcher-kva.example"
        );
    }
}
