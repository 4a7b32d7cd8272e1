//! TLS outcomes of delivery attempts, kept in the form a TLSRPT report (RFC 8460) needs:
//! per UTC day, policy domain and applied policy, the successful and failed session counts and
//! the failure details. Sending the reports is for a later reporter; it reads them with
//! [`Queue::tls_results`](crate::Queue::tls_results).

use serde::{Deserialize, Serialize};
use tlsrpt::{AppliedPolicy, FailureDetails, PolicyResult, PolicyType, ResultType, Summary};

/// The TLS results of one day for one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsResultRecord {
    /// The UTC day, `YYYYMMDD`.
    pub day_utc: String,
    /// The policy domain, ASCII: the recipient domain for MTA-STS and "no policy", the TLSA
    /// base domain (an MX host) for DANE.
    pub policy_domain: String,
    /// The recipient domain of the messages.
    pub recipient_domain: String,
    /// Whether the result is about an MX host (DANE) rather than the recipient domain.
    pub is_host: bool,
    /// Whether a report should go out for this result (not for deliveries of TLS reports
    /// themselves, to avoid report loops).
    pub send_report: bool,
    /// The policy, counts and failures, as they go into a report.
    pub result: PolicyResult,
}

impl TlsResultRecord {
    pub(crate) fn key(&self) -> String {
        format!(
            "{}\0{}\0{}\0{}\0{}",
            self.day_utc,
            self.policy_domain,
            self.recipient_domain,
            u8::from(self.is_host),
            self.result.policy.policy_type.as_str()
        )
    }

    /// Adds `other`'s counts and failures to these.
    pub(crate) fn merge(&mut self, other: &TlsResultRecord) {
        let s = &mut self.result.summary;
        s.total_successful_session_count += other.result.summary.total_successful_session_count;
        s.total_failure_session_count += other.result.summary.total_failure_session_count;
        self.send_report |= other.send_report;
        if other.result.policy.policy_string != self.result.policy.policy_string
            && !other.result.policy.policy_string.is_empty()
        {
            self.result.policy = other.result.policy.clone();
        }
        for detail in &other.result.failure_details {
            add_failure(&mut self.result, detail.clone());
        }
    }
}

/// A result for `policy` with no sessions yet.
pub(crate) fn new_result(policy: AppliedPolicy) -> PolicyResult {
    PolicyResult { policy, summary: Summary::default(), failure_details: Vec::new() }
}

/// The applied policy for "no policy found" at `domain`.
pub(crate) fn no_policy(domain: &str) -> AppliedPolicy {
    AppliedPolicy {
        policy_type: PolicyType::NoPolicyFound,
        policy_string: Vec::new(),
        policy_domain: domain.to_string(),
        mx_host: Vec::new(),
    }
}

/// Adds a failure detail, merging with an equal one (same kind, addresses and reason).
pub(crate) fn add_failure(result: &mut PolicyResult, detail: FailureDetails) {
    let same = |d: &FailureDetails| {
        d.result_type == detail.result_type
            && d.sending_mta_ip == detail.sending_mta_ip
            && d.receiving_mx_hostname == detail.receiving_mx_hostname
            && d.receiving_ip == detail.receiving_ip
            && d.failure_reason_code == detail.failure_reason_code
    };
    match result.failure_details.iter_mut().find(|d| same(d)) {
        Some(d) => d.failed_session_count += detail.failed_session_count,
        None => result.failure_details.push(detail),
    }
}

/// A failure detail with the given kind and reason.
pub(crate) fn failure(
    result_type: ResultType,
    reason: Option<String>,
    mx_host: Option<String>,
    sending_ip: Option<std::net::IpAddr>,
    receiving_ip: Option<std::net::IpAddr>,
    count: u64,
) -> FailureDetails {
    FailureDetails {
        result_type,
        sending_mta_ip: sending_ip,
        receiving_mx_hostname: mx_host,
        receiving_mx_helo: None,
        receiving_ip,
        failed_session_count: count,
        additional_information: None,
        failure_reason_code: reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_counts_and_details() {
        let mut a = TlsResultRecord {
            day_utc: "20240101".into(),
            policy_domain: "example.com".into(),
            recipient_domain: "example.com".into(),
            is_host: false,
            send_report: false,
            result: new_result(no_policy("example.com")),
        };
        a.result.summary.total_successful_session_count = 2;
        let mut b = a.clone();
        b.send_report = true;
        b.result.summary.total_successful_session_count = 1;
        b.result.summary.total_failure_session_count = 1;
        let f = failure(ResultType::CertificateExpired, None, Some("mx".into()), None, None, 1);
        add_failure(&mut b.result, f.clone());
        a.merge(&b);
        a.merge(&b);
        assert_eq!(a.result.summary.total_successful_session_count, 4);
        assert_eq!(a.result.summary.total_failure_session_count, 2);
        assert_eq!(a.result.failure_details.len(), 1);
        assert_eq!(a.result.failure_details[0].failed_session_count, 2);
        assert!(a.send_report);
        assert_eq!(a.key(), "20240101\0example.com\0example.com\x000\0no-policy-found");
    }
}
