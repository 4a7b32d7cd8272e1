//! The JSON report (RFC 8460 §4).

use std::fmt;
use std::io::Read;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{DateTime, Error};

/// The largest report [`Report::parse`] accepts, and the most a gzipped report may decompress
/// to: 20 MiB (receivers commonly accept 10 MB compressed, RFC 8460 §5.2).
pub const MAX_REPORT_SIZE: usize = 20 * 1024 * 1024;

/// An aggregate TLS report (RFC 8460 §4.4): what a sending organization saw when it delivered
/// mail to one policy domain during a period, usually a UTC day.
///
/// Every field of §4.4 is here, with the JSON names of the RFC. Parsing ignores unknown fields
/// and accepts what large senders send: a missing `failure-details`, `mx-host` as a single string
/// (the RFC's example, corrected by erratum 6241 to an array), and date-times without an offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    /// The organization responsible for the report.
    pub organization_name: String,
    /// The period the report covers.
    pub date_range: DateRange,
    /// Contact for the report, an email address (RFC 5322 addr-spec).
    pub contact_info: String,
    /// Unique identifier of the report.
    pub report_id: String,
    /// One result per applied policy (and MX host); an array even for one (§4).
    pub policies: Vec<PolicyResult>,
}

/// The period a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    /// Start of the period.
    #[serde(rename = "start-datetime")]
    pub start: DateTime,
    /// End of the period.
    #[serde(rename = "end-datetime")]
    pub end: DateTime,
}

/// The sessions under one applied policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyResult {
    /// The policy that was applied.
    pub policy: AppliedPolicy,
    /// Session counts.
    pub summary: Summary,
    /// Failures by kind, sending and receiving address; empty when all sessions succeeded.
    #[serde(default)]
    pub failure_details: Vec<FailureDetails>,
}

/// A policy as applied by the sender (§4.4, §4.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AppliedPolicy {
    /// MTA-STS, DANE, or none found.
    pub policy_type: PolicyType,
    /// The policy: the lines of an MTA-STS policy (`"mode: enforce"`, ...) or the TLSA records
    /// (`"3 1 1 ..."`); empty for `no-policy-found`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_string: Vec<String>,
    /// The policy domain, in A-labels.
    pub policy_domain: String,
    /// For MTA-STS, the `mx` patterns of the policy, in A-labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "one_or_many")]
    pub mx_host: Vec<String>,
}

/// Session counts (§4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    /// Sessions that negotiated TLS as the policy requires.
    pub total_successful_session_count: u64,
    /// Sessions that failed to.
    pub total_failure_session_count: u64,
}

/// One kind of failure between one sending and one receiving address (§4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FailureDetails {
    /// What failed.
    pub result_type: ResultType,
    /// The address of the sending MTA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending_mta_ip: Option<IpAddr>,
    /// The MX host the sender connected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_mx_hostname: Option<String>,
    /// The name in the receiving MX's SMTP greeting or EHLO response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_mx_helo: Option<String>,
    /// The address the sender connected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_ip: Option<IpAddr>,
    /// How many sessions failed this way.
    pub failed_session_count: u64,
    /// A URI with more information, such as the certificate chain seen (`additional-info-uri`
    /// in the schema description, `additional-information` in the JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_information: Option<String>,
    /// An error code or message from the TLS stack, such as
    /// `X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason_code: Option<String>,
}

/// The kind of policy applied (§4.4 `policy-type`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyType {
    /// DANE (`tlsa`).
    Tlsa,
    /// MTA-STS (`sts`).
    Sts,
    /// Neither was found (`no-policy-found`).
    NoPolicyFound,
    /// A type not defined by RFC 8460, kept as sent.
    Other(String),
}

/// A STARTTLS validation result type (§4.3, IANA "STARTTLS Validation Result Types").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResultType {
    /// `starttls-not-supported`: the MX did not offer STARTTLS.
    StarttlsNotSupported,
    /// `certificate-host-mismatch`: the certificate is not valid for the MX host.
    CertificateHostMismatch,
    /// `certificate-expired`.
    CertificateExpired,
    /// `tlsa-invalid`: no TLSA record matched (DANE).
    TlsaInvalid,
    /// `dnssec-invalid`: no valid records from the resolver (DANE).
    DnssecInvalid,
    /// `dane-required`: DANE was required but no validated TLSA records exist.
    DaneRequired,
    /// `certificate-not-trusted`: unknown CA, broken chain and the like.
    CertificateNotTrusted,
    /// `sts-policy-invalid`: the MTA-STS policy is invalid.
    StsPolicyInvalid,
    /// `sts-webpki-invalid`: the MTA-STS policy could not be authenticated (PKIX).
    StsWebpkiInvalid,
    /// `validation-failure`: another failure; see `failure-reason-code`.
    ValidationFailure,
    /// `sts-policy-fetch-error`: the MTA-STS policy could not be fetched.
    StsPolicyFetchError,
    /// A result type registered later or not registered, kept as sent.
    Other(String),
}

const POLICY_TYPES: [(PolicyType, &str); 3] = [
    (PolicyType::Tlsa, "tlsa"),
    (PolicyType::Sts, "sts"),
    (PolicyType::NoPolicyFound, "no-policy-found"),
];

const RESULT_TYPES: [(ResultType, &str); 11] = [
    (ResultType::StarttlsNotSupported, "starttls-not-supported"),
    (ResultType::CertificateHostMismatch, "certificate-host-mismatch"),
    (ResultType::CertificateExpired, "certificate-expired"),
    (ResultType::TlsaInvalid, "tlsa-invalid"),
    (ResultType::DnssecInvalid, "dnssec-invalid"),
    (ResultType::DaneRequired, "dane-required"),
    (ResultType::CertificateNotTrusted, "certificate-not-trusted"),
    (ResultType::StsPolicyInvalid, "sts-policy-invalid"),
    (ResultType::StsWebpkiInvalid, "sts-webpki-invalid"),
    (ResultType::ValidationFailure, "validation-failure"),
    (ResultType::StsPolicyFetchError, "sts-policy-fetch-error"),
];

impl PolicyType {
    /// The name as in a report.
    pub fn as_str(&self) -> &str {
        match self {
            PolicyType::Other(s) => s,
            known => POLICY_TYPES.iter().find(|(t, _)| t == known).map_or("", |(_, s)| s),
        }
    }

    /// The type with this name (exact match, as the registry's names are lowercase).
    pub fn from_name(name: &str) -> PolicyType {
        POLICY_TYPES
            .iter()
            .find(|(_, s)| *s == name)
            .map_or_else(|| PolicyType::Other(name.to_string()), |(t, _)| t.clone())
    }
}

impl ResultType {
    /// The name as in a report.
    pub fn as_str(&self) -> &str {
        match self {
            ResultType::Other(s) => s,
            known => RESULT_TYPES.iter().find(|(t, _)| t == known).map_or("", |(_, s)| s),
        }
    }

    /// The type with this name (exact match, as the registry's names are lowercase).
    pub fn from_name(name: &str) -> ResultType {
        RESULT_TYPES
            .iter()
            .find(|(_, s)| *s == name)
            .map_or_else(|| ResultType::Other(name.to_string()), |(t, _)| t.clone())
    }
}

macro_rules! string_enum_serde {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok(<$t>::from_name(&s))
            }
        }
    };
}
string_enum_serde!(PolicyType);
string_enum_serde!(ResultType);

/// `mx-host`: an array of strings, or (as in the RFC's own example) one string.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer) {
        Ok(OneOrMany::One(s)) => vec![s],
        Ok(OneOrMany::Many(v)) => v,
        Err(_) => {
            return Err(serde::de::Error::custom(
                "mx-host must be a string or an array of strings",
            ));
        }
    })
}

impl Report {
    /// Parses a JSON report (at most [`MAX_REPORT_SIZE`] bytes). Errors say what is wrong and
    /// where (line and column).
    pub fn parse(json: &[u8]) -> Result<Report, Error> {
        if json.len() > MAX_REPORT_SIZE {
            return Err(Error::ReportTooLarge { limit: MAX_REPORT_SIZE });
        }
        serde_json::from_slice(json).map_err(Error::Json)
    }

    /// Parses a gzipped JSON report (`application/tlsrpt+gzip`, `.json.gz`), decompressing at
    /// most [`MAX_REPORT_SIZE`] bytes.
    pub fn parse_gzip(gzipped: &[u8]) -> Result<Report, Error> {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(gzipped)
            .take(MAX_REPORT_SIZE as u64 + 1)
            .read_to_end(&mut json)
            .map_err(Error::Gzip)?;
        Report::parse(&json)
    }

    /// Parses a report that is gzipped (recognized by its first two bytes, `1f 8b`, RFC 8460
    /// §6.5) or plain JSON, whatever it is labelled as.
    pub fn parse_any(data: &[u8]) -> Result<Report, Error> {
        if data.starts_with(&[0x1f, 0x8b]) { Report::parse_gzip(data) } else { Report::parse(data) }
    }

    /// The report as compact JSON, as sent.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: all map keys are strings.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The report as indented JSON, for people.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
