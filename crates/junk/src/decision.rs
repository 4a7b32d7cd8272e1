//! The delivery decision of mox's SMTP server after the DMARC, mailing-list and rate checks:
//! reputation first; then, when reputation is not conclusive, SPF failures, reverse-IP
//! failures, a SubjectPass token, the content filter; then DNS blocklists. Rejections get
//! mox's replies (a temporary `451 4.3.0 error processing`, so a wrongly rejected sender
//! retries and the message can meanwhile be found in the Rejects mailbox; or `550 5.7.1` with
//! a SubjectPass explanation).
//!
//! The decision is two steps because DNSBL lookups are asynchronous and only needed when
//! everything else would accept:
//!
//! ```
//! use junk::decision::{decide, Input, Step, SubjectPass};
//! use junk::reputation::{Method, Verdict};
//!
//! let verdict = Verdict {
//!     junk: None,
//!     conclusive: false,
//!     method: Method::None,
//!     reason: "no address/spf/dkim/ip reputation".into(),
//! };
//! let input = Input { tls: true, iprev_pass: true, rcpt_in_to_or_cc: true, ..Input::new(&verdict) };
//! // The content filter is asked only if needed (classify with junk::Filter).
//! let step = decide(&input, || None);
//! let decision = match step {
//!     Step::Done(d) => d,
//!     // Look the remote IP up in the configured DNSBLs, then:
//!     Step::CheckDnsbl(pending) => pending.finish(Some("dnsbl.example")),
//! };
//! assert!(!decision.accept);
//! assert_eq!(decision.reason, "dns-blocklisted");
//! assert_eq!(decision.reply.as_ref().map(|r| r.code), Some(451));
//! ```

use crate::Classification;
use crate::reputation::{Method, Verdict};

/// Everything the decision needs besides reputation and content. [`Input::new`] gives the
/// most suspicious defaults; set what the connection and message show.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// The reputation verdict ([`crate::reputation::evaluate`]).
    pub reputation: &'a Verdict,
    /// The connection uses TLS.
    pub tls: bool,
    /// The remote IP's reverse DNS (iprev, RFC 8601 §3) passed.
    pub iprev_pass: bool,
    /// SPF for MAIL FROM was fail or softfail.
    pub spf_fail: bool,
    /// The SMTP recipient is in the message's To or Cc header (or is unknown).
    pub rcpt_in_to_or_cc: bool,
    /// The delivery matched a forwarding ruleset.
    pub is_forward: bool,
    /// The message is a DMARC or TLS report to a reporting address that verified.
    pub is_report: bool,
    /// DMARC passed (for offering a SubjectPass token).
    pub dmarc_pass: bool,
    /// SubjectPass for the account.
    pub subject_pass: SubjectPass,
    /// The junk filter's threshold ([`crate::JunkFilter::threshold`]); `None` without a filter.
    pub threshold: Option<f64>,
    /// Noise added to the threshold, -0.05 to 0.05 (mox adds `(random - 0.5) / 10`), so the
    /// filter is not an exact oracle. 0 in tests.
    pub jitter: f64,
}

impl<'a> Input<'a> {
    /// Input with a reputation verdict and no good signals: no TLS, no iprev pass, no filter.
    pub fn new(reputation: &'a Verdict) -> Input<'a> {
        Input {
            reputation,
            tls: false,
            iprev_pass: false,
            spf_fail: false,
            rcpt_in_to_or_cc: false,
            is_forward: false,
            is_report: false,
            dmarc_pass: false,
            subject_pass: SubjectPass::NotConfigured,
            threshold: None,
            jitter: 0.0,
        }
    }
}

/// SubjectPass (mox's `SubjectPass`): a first-time sender whose message is refused may resend
/// it with a token in the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectPass {
    /// Not configured for the account.
    NotConfigured,
    /// Configured; the message's subject has a valid token.
    Valid,
    /// Configured; no valid token.
    Invalid,
}

/// An SMTP reply for a refused message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// e.g. 451.
    pub code: u16,
    /// Enhanced status code (RFC 3463), e.g. `4.3.0`.
    pub enhanced: &'static str,
    /// Text. For [`Decision::give_subject_pass`], append the token to it.
    pub text: String,
}

/// The outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Deliver normally. Otherwise refuse with [`Decision::reply`], keeping a copy in the
    /// Rejects mailbox (or accept into a ruleset's AcceptRejectsToMailbox).
    pub accept: bool,
    /// mox's reason: a reputation method name, or `subjectpass`, `junk-content`,
    /// `junk-content-strict`, `dns-blocklisted`, `spf-policy`, `iprev`, `reporting`,
    /// `give-subjectpass`, `no-bad-signals`.
    pub reason: &'static str,
    /// What was considered, for the `X-Mox-Reason` header and logs.
    pub reason_text: Vec<String>,
    /// The reply for a refusal.
    pub reply: Option<Reply>,
    /// Refused with an offer of a SubjectPass token: generate one for the From address and
    /// append it to the reply text.
    pub give_subject_pass: bool,
    /// The content classification, if the filter was asked.
    pub content: Option<Classification>,
}

/// The first step: decided, or DNSBLs must be checked.
#[derive(Debug)]
pub enum Step {
    /// Decided.
    Done(Decision),
    /// Everything else accepts: look the remote IP up in the DNSBLs and call
    /// [`PendingDnsbl::finish`].
    CheckDnsbl(PendingDnsbl),
}

/// A decision waiting for DNSBL results.
#[derive(Debug)]
pub struct PendingDnsbl {
    decision: Decision,
    offer_subject_pass: bool,
}

/// Explanation mox gives with a SubjectPass token (the token follows).
pub const SUBJECT_PASS_EXPLANATION: &str = "Your message resembles spam. If your email is legitimate, please send it again with the following added to the email message subject: ";

impl PendingDnsbl {
    /// Finishes the decision with the first DNSBL zone that lists the remote IP, if any.
    pub fn finish(self, listed_in: Option<&str>) -> Decision {
        let mut d = self.decision;
        match listed_in {
            None => {
                d.reason_text.push("no known reputation and no bad signals".into());
                d
            }
            Some(zone) => {
                d.reason_text.push(format!("dnsbl: ip listed in dnsbl {zone}"));
                d.accept = false;
                d.reason = "dns-blocklisted";
                if self.offer_subject_pass {
                    give_subject_pass(&mut d);
                } else {
                    d.reply = Some(error_processing());
                }
                d
            }
        }
    }
}

fn error_processing() -> Reply {
    Reply { code: 451, enhanced: "4.3.0", text: "error processing".into() }
}

fn give_subject_pass(d: &mut Decision) {
    d.reason = "give-subjectpass";
    d.give_subject_pass = true;
    d.reason_text.push("reject with request to try again with subjectpass token in subject".into());
    d.reply = Some(Reply { code: 550, enhanced: "5.7.1", text: SUBJECT_PASS_EXPLANATION.into() });
}

/// Decides; `classify` is called only when the content must be judged, and returns `None`
/// when the account has no junk filter.
pub fn decide(input: &Input<'_>, classify: impl FnOnce() -> Option<Classification>) -> Step {
    let v = input.reputation;
    let mut d = Decision {
        accept: true,
        reason: v.method.as_str(),
        reason_text: Vec::new(),
        reply: None,
        give_subject_pass: false,
        content: None,
    };
    let junk = v.junk == Some(true);
    d.reason_text.push(format!(
        "address/dkim/spf/ip-based reputation ({}{}, {})",
        match v.junk {
            Some(true) => "junk, ",
            Some(false) => "nonjunk, ",
            None => "",
        },
        if v.conclusive { "conclusive" } else { "inconclusive" },
        v.reason
    ));
    let reject = |mut d: Decision, reason: &'static str, text: &str| {
        d.accept = false;
        d.reason = reason;
        d.reply = Some(error_processing());
        if !text.is_empty() {
            d.reason_text.push(text.into());
        }
        Step::Done(d)
    };
    if v.conclusive {
        if junk {
            return reject(d, v.method.as_str(), "");
        }
        return Step::Done(d);
    }
    if input.is_report {
        d.reason = "reporting";
        d.reason_text.push("message inconclusive reputation but with dmarc or tls report".into());
        return Step::Done(d);
    }
    let no_sender_history = !v.method.is_sender();
    if no_sender_history && input.spf_fail {
        return reject(
            d,
            "spf-policy",
            "no previous message from sender domain and spf result is (soft)fail",
        );
    }
    let suspicious_iprev = no_sender_history && !input.iprev_pass;
    if suspicious_iprev {
        d.reason_text.push("suspicious iprev failure".into());
        if junk {
            return reject(d, "iprev", "message has a mild junk signal and mismatching reverse ip");
        }
    }
    if input.subject_pass == SubjectPass::Valid {
        d.reason = "subjectpass";
        d.reason_text.push("message has valid subjectpass token in subject".into());
        return Step::Done(d);
    }

    d.reason = "no-bad-signals";
    let mut junk_subject_pass = false;
    match (input.threshold, input.threshold.and_then(|_| classify())) {
        (Some(threshold), Some(c)) => {
            let mut threshold = threshold + input.jitter;
            let mut remark = "";
            d.reason = "junk-content";
            if threshold > 0.25 {
                if suspicious_iprev {
                    remark = " (stricter due to reverse ip mismatch)";
                } else if !input.tls {
                    remark = " (stricter due to missing tls)";
                } else if !input.is_forward && !input.rcpt_in_to_or_cc {
                    remark = " (stricter due to recipient address not in to/cc header)";
                }
                if !remark.is_empty() {
                    threshold = 0.25;
                    d.reason = "junk-content-strict";
                }
            }
            let accept = c.probability <= threshold || (!c.significant && !suspicious_iprev);
            junk_subject_pass = c.probability < threshold - 0.2;
            d.reason_text.push(format!(
                "content: {}{}, spamscore {:.2}, threshold {:.2}{} (ham words: {}), (spam words: {})",
                if accept { "not junk" } else { "junk" },
                if c.significant { "" } else { " (not significant)" },
                c.probability,
                threshold,
                remark,
                c.hams.iter().map(|w| format!("{} {:.3}", w.word, w.score)).collect::<Vec<_>>().join(", "),
                c.spams.iter().map(|w| format!("{} {:.3}", w.word, w.score)).collect::<Vec<_>>().join(", "),
            ));
            d.accept = accept;
            d.content = Some(c);
        }
        _ => d.reason_text.push("no junk filter configured".into()),
    }
    let offer_subject_pass = input.subject_pass != SubjectPass::NotConfigured
        && input.dmarc_pass
        && v.method == Method::None;
    if d.accept {
        d.reason = "no-bad-signals";
        return Step::CheckDnsbl(PendingDnsbl { decision: d, offer_subject_pass });
    }
    if offer_subject_pass && junk_subject_pass {
        give_subject_pass(&mut d);
        return Step::Done(d);
    }
    d.reply = Some(error_processing());
    Step::Done(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WordScore;

    fn verdict(junk: Option<bool>, conclusive: bool, method: Method) -> Verdict {
        Verdict { junk, conclusive, method, reason: "test".into() }
    }

    fn content(p: f64, significant: bool) -> Classification {
        Classification {
            probability: p,
            significant,
            hams: vec![],
            spams: vec![WordScore { word: "viagra".into(), score: 0.99 }],
            words: 10,
            unknown: 0,
        }
    }

    fn done(s: Step) -> Decision {
        match s {
            Step::Done(d) => d,
            Step::CheckDnsbl(p) => p.finish(None),
        }
    }

    fn good<'a>(v: &'a Verdict) -> Input<'a> {
        Input {
            tls: true,
            iprev_pass: true,
            rcpt_in_to_or_cc: true,
            threshold: Some(0.95),
            ..Input::new(v)
        }
    }

    #[test]
    fn conclusive_reputation_decides_without_content() {
        let v = verdict(Some(false), true, Method::MsgFromFull);
        let d = done(decide(&good(&v), || panic!("content not needed")));
        assert!(d.accept && d.reason == "msgfromfull");
        let v = verdict(Some(true), true, Method::DkimSpf);
        let d = done(decide(&good(&v), || panic!("content not needed")));
        assert!(!d.accept && d.reason == "dkimspf");
        assert_eq!(
            d.reply,
            Some(Reply { code: 451, enhanced: "4.3.0", text: "error processing".into() })
        );
    }

    #[test]
    fn content_then_dnsbl() {
        let v = verdict(None, false, Method::None);
        let d = done(decide(&good(&v), || Some(content(0.99, true))));
        assert!(!d.accept && d.reason == "junk-content", "{d:?}");
        assert!(d.reason_text.iter().any(|t| t.contains("viagra 0.990")));
        // Below the threshold: DNSBLs are asked.
        let Step::CheckDnsbl(p) = decide(&good(&v), || Some(content(0.5, true))) else { panic!() };
        let d = p.finish(None);
        assert!(d.accept && d.reason == "no-bad-signals");
        let Step::CheckDnsbl(p) = decide(&good(&v), || Some(content(0.5, true))) else { panic!() };
        assert_eq!(p.finish(Some("zen.example")).reason, "dns-blocklisted");
        // Not significant (too little ham trained): accepted whatever the probability.
        let d = done(decide(&good(&v), || Some(content(1.0, false))));
        assert!(d.accept);
        // The threshold edge: at it is accepted, above it not.
        assert!(done(decide(&good(&v), || Some(content(0.95, true)))).accept);
        assert!(!done(decide(&good(&v), || Some(content(0.9501, true)))).accept);
    }

    #[test]
    fn stricter_threshold_without_tls_or_iprev_or_rcpt() {
        let v = verdict(None, false, Method::None);
        for (i, what) in [
            (Input { tls: false, ..good(&v) }, "missing tls"),
            (Input { iprev_pass: false, ..good(&v) }, "reverse ip"),
            (Input { rcpt_in_to_or_cc: false, ..good(&v) }, "not in to/cc"),
        ] {
            let d = done(decide(&i, || Some(content(0.3, true))));
            assert!(!d.accept && d.reason == "junk-content-strict", "{what}: {d:?}");
            assert!(d.reason_text.iter().any(|t| t.contains(what)), "{what}");
        }
        // A forward with our address not in To/Cc is not stricter.
        let i = Input { rcpt_in_to_or_cc: false, is_forward: true, ..good(&v) };
        assert!(done(decide(&i, || Some(content(0.3, true)))).accept);
    }

    #[test]
    fn spf_iprev_subjectpass_and_reports() {
        let v = verdict(None, false, Method::Ip1);
        let d = done(decide(&Input { spf_fail: true, ..good(&v) }, || None));
        assert_eq!((d.accept, d.reason), (false, "spf-policy"));
        // With sender history, an SPF fail is left to the other checks.
        let vs = verdict(None, false, Method::MsgFromDomain);
        assert!(done(decide(&Input { spf_fail: true, ..good(&vs) }, || None)).accept);
        let vj = verdict(Some(true), false, Method::Ip2);
        let d = done(decide(&Input { iprev_pass: false, ..good(&vj) }, || None));
        assert_eq!((d.accept, d.reason), (false, "iprev"));
        let d = done(decide(&Input { subject_pass: SubjectPass::Valid, ..good(&v) }, || panic!()));
        assert_eq!((d.accept, d.reason), (true, "subjectpass"));
        let d = done(decide(&Input { is_report: true, ..good(&v) }, || panic!()));
        assert_eq!((d.accept, d.reason), (true, "reporting"));
        // Moderately spammy first-time sender with DMARC pass: offered a SubjectPass token.
        let vn = verdict(None, false, Method::None);
        let i = Input {
            subject_pass: SubjectPass::Invalid,
            dmarc_pass: true,
            threshold: Some(0.5),
            ..good(&vn)
        };
        let d = done(decide(&i, || Some(content(0.6, true))));
        assert!(!d.give_subject_pass, "0.6 is not below threshold - 0.2");
        let i = Input { threshold: Some(0.95), ..i };
        let Step::CheckDnsbl(p) = decide(&i, || Some(content(0.6, true))) else { panic!() };
        let d = p.finish(Some("bl.example"));
        assert!(d.give_subject_pass && d.reply.as_ref().unwrap().code == 550, "{d:?}");
        // No filter configured: accepted on to the DNSBLs.
        let Step::CheckDnsbl(_) = decide(&Input { threshold: None, ..good(&vn) }, || panic!())
        else {
            panic!()
        };
    }
}
