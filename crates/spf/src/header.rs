//! Recording results: the Received-SPF header field (RFC 7208 §9.1) and the `spf` result of
//! Authentication-Results (RFC 7208 §9.2, RFC 8601 §2.7.2).

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use crate::SpfResult;
use crate::check::{Identity, Verification};

/// The longest line a generated header field is folded to (RFC 5322 §2.1.1: SHOULD be 78).
const LINE_LENGTH: usize = 78;

/// The value of a Received-SPF header field (RFC 7208 §9.1).
///
/// ```text
/// header-field     = "Received-SPF:" [CFWS] result FWS [comment FWS]
///                    [ key-value-list ] CRLF
/// key-value-pair   = key [CFWS] "=" ( dot-atom / quoted-string )
/// ```
///
/// Values that came from the SMTP client (HELO name, envelope sender) are quoted or escaped,
/// and control characters are dropped, so the field cannot be used to inject header lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSpf {
    /// The result.
    pub result: SpfResult,
    /// The receiving host's name, for the comment and `receiver=`.
    pub receiver: Option<String>,
    /// `client-ip=`.
    pub client_ip: IpAddr,
    /// `envelope-from=`: the sender checked.
    pub envelope_from: String,
    /// `helo=`.
    pub helo: String,
    /// `identity=`.
    pub identity: Identity,
    /// `mechanism=`: the directive that decided, or `default`.
    pub mechanism: String,
    /// `problem=`, for none, temperror and permerror.
    pub problem: Option<String>,
}

impl ReceivedSpf {
    /// The field for a verification, naming `receiver` as the checking host.
    pub fn new(verification: &Verification, receiver: Option<&str>) -> ReceivedSpf {
        let evaluation = &verification.evaluation;
        let problem = match evaluation.result {
            SpfResult::Permerror | SpfResult::Temperror | SpfResult::None => {
                evaluation.problem.clone()
            }
            _ => None,
        };
        ReceivedSpf {
            result: evaluation.result,
            receiver: receiver.map(str::to_string),
            client_ip: verification.client_ip,
            envelope_from: verification.sender.clone(),
            helo: verification.helo.clone(),
            identity: verification.identity,
            mechanism: evaluation
                .mechanism
                .as_ref()
                .map_or_else(|| "default".to_string(), ToString::to_string),
            problem,
        }
    }

    /// The comment after the result, in the style of RFC 7208 §9.1's examples.
    pub fn comment(&self) -> String {
        let sender = &self.envelope_from;
        let ip = self.client_ip;
        let text = match self.result {
            SpfResult::Pass => format!("domain of {sender} designates {ip} as permitted sender"),
            SpfResult::Fail => {
                format!("domain of {sender} does not designate {ip} as permitted sender")
            }
            SpfResult::Softfail => format!(
                "domain of transitioning {sender} does not designate {ip} as permitted sender"
            ),
            SpfResult::Neutral => {
                format!("{ip} is neither permitted nor denied by domain of {sender}")
            }
            SpfResult::None => {
                format!("domain of {sender} does not designate permitted sender hosts")
            }
            SpfResult::Temperror => format!("temporary error in processing domain of {sender}"),
            SpfResult::Permerror => format!("permanent error in processing domain of {sender}"),
        };
        match &self.receiver {
            Some(receiver) => format!("{receiver}: {text}"),
            None => text,
        }
    }

    /// The header field's value, unfolded: `pass (comment) client-ip=...; ...`.
    pub fn value(&self) -> String {
        let mut out = format!("{} ({})", self.result, escape_comment(&self.comment()));
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(receiver) = &self.receiver {
            pairs.push(("receiver", receiver.clone()));
        }
        pairs.push(("client-ip", self.client_ip.to_string()));
        pairs.push(("envelope-from", self.envelope_from.clone()));
        pairs.push(("helo", self.helo.clone()));
        pairs.push(("identity", self.identity.to_string()));
        pairs.push(("mechanism", self.mechanism.clone()));
        if let Some(problem) = &self.problem {
            pairs.push(("problem", problem.clone()));
        }
        for (key, value) in pairs {
            let _ = write!(out, " {key}={};", dot_atom_or_quoted(&value));
        }
        out
    }

    /// The whole header field, folded to lines of at most 78 characters where spaces allow,
    /// ending in CRLF.
    pub fn to_header(&self) -> String {
        fold("Received-SPF", &self.value())
    }
}

impl fmt::Display for ReceivedSpf {
    /// Writes [`value`](ReceivedSpf::value).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value())
    }
}

/// The `spf` method result of an Authentication-Results header field (RFC 8601 §2.7.2), such as
/// `spf=pass smtp.mailfrom=example.com`. The server puts it in the full header field with the
/// other methods' results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationResult {
    /// The result.
    pub result: SpfResult,
    /// `smtp.mailfrom` or `smtp.helo`.
    pub identity: Identity,
    /// The domain checked.
    pub value: String,
    /// `reason=`, for none, temperror and permerror.
    pub reason: Option<String>,
}

impl AuthenticationResult {
    /// The result for a verification.
    pub fn new(verification: &Verification) -> AuthenticationResult {
        let evaluation = &verification.evaluation;
        let reason = match evaluation.result {
            SpfResult::Permerror | SpfResult::Temperror => evaluation.problem.clone(),
            _ => None,
        };
        AuthenticationResult {
            result: evaluation.result,
            identity: verification.identity,
            value: verification.domain.clone(),
            reason,
        }
    }
}

impl fmt::Display for AuthenticationResult {
    /// `spf=RESULT [reason="..."] smtp.PROPERTY=VALUE`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spf={}", self.result)?;
        if let Some(reason) = &self.reason {
            write!(f, " reason={}", quoted(reason))?;
        }
        let value =
            if is_domain_like(&self.value) { self.value.clone() } else { quoted(&self.value) };
        write!(f, " smtp.{}={value}", self.identity)
    }
}

impl Verification {
    /// The Received-SPF header field for this verification.
    pub fn received_spf(&self, receiver: Option<&str>) -> ReceivedSpf {
        ReceivedSpf::new(self, receiver)
    }

    /// The `spf=` part of Authentication-Results for this verification.
    pub fn authentication_result(&self) -> AuthenticationResult {
        AuthenticationResult::new(self)
    }
}

/// RFC 5322 atext, with `.` between atoms.
fn is_dot_atom(s: &str) -> bool {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    !s.is_empty() && s.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext))
}

fn is_domain_like(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn dot_atom_or_quoted(s: &str) -> String {
    if is_dot_atom(s) { s.to_string() } else { quoted(s) }
}

/// A quoted-string, with `"` and `\` escaped and control characters dropped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Comment text, with parentheses and `\` escaped and control characters dropped.
fn escape_comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| !c.is_control()) {
        if matches!(c, '(' | ')' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `Name: value` folded at spaces (RFC 5322 §2.2.3), ending in CRLF.
fn fold(name: &str, value: &str) -> String {
    let mut out = format!("{name}:");
    let mut line_length = out.len();
    for word in value.split(' ') {
        if line_length + 1 + word.len() > LINE_LENGTH && line_length > name.len() + 1 {
            out.push_str("\r\n");
            line_length = 0;
        }
        out.push(' ');
        out.push_str(word);
        line_length += 1 + word.len();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Evaluation;

    fn verification(result: SpfResult) -> Verification {
        Verification {
            identity: Identity::MailFrom,
            client_ip: "192.0.2.1".parse().unwrap(),
            helo: "foo.example.com".into(),
            sender: "myname@example.com".into(),
            domain: "example.com".into(),
            evaluation: Evaluation {
                result,
                mechanism: crate::Record::parse("v=spf1 ip4:192.0.2.1")
                    .unwrap()
                    .directives()
                    .next()
                    .cloned()
                    .filter(|_| result == SpfResult::Pass),
                explanation: None,
                problem: Some("example.com: 2 SPF records, there must be one".into())
                    .filter(|_| result == SpfResult::Permerror),
                lookup_terms: 0,
                void_lookups: 0,
            },
        }
    }

    /// The third example of RFC 7208 §9.1, with the key order we use.
    #[test]
    fn received_spf_like_rfc7208_section_9_1() {
        let header = verification(SpfResult::Pass).received_spf(Some("mybox.example.org"));
        assert_eq!(
            header.value(),
            "pass (mybox.example.org: domain of myname@example.com designates 192.0.2.1 as \
             permitted sender) receiver=mybox.example.org; client-ip=192.0.2.1; \
             envelope-from=\"myname@example.com\"; helo=foo.example.com; identity=mailfrom; \
             mechanism=\"ip4:192.0.2.1\";"
        );
        let folded = header.to_header();
        assert!(folded.starts_with("Received-SPF: pass (mybox.example.org: domain of"));
        assert!(folded.ends_with("\r\n"));
        for line in folded.trim_end().split("\r\n") {
            assert!(line.len() <= LINE_LENGTH, "{line:?}");
        }
        let unfolded = folded.trim_end().replace("\r\n", "");
        assert_eq!(unfolded, format!("Received-SPF: {}", header.value()));
    }

    #[test]
    fn problems_are_recorded_and_hostile_values_escaped() {
        let mut v = verification(SpfResult::Permerror);
        v.helo = "evil\r\nX-Injected: yes (\"quoted\")".into();
        let header = v.received_spf(None);
        let value = header.value();
        assert!(value.starts_with("permerror (permanent error in processing domain of"));
        assert!(value.contains(" mechanism=default;"));
        assert!(value.contains(" problem=\"example.com: 2 SPF records, there must be one\";"));
        assert!(value.contains(" helo=\"evilX-Injected: yes (\\\"quoted\\\")\";"), "{value}");
        assert!(!header.to_header().trim_end().contains("\r\nX-"));
        assert_eq!(
            v.authentication_result().to_string(),
            "spf=permerror reason=\"example.com: 2 SPF records, there must be one\" \
             smtp.mailfrom=example.com"
        );
    }

    #[test]
    fn authentication_results() {
        assert_eq!(
            verification(SpfResult::Pass).authentication_result().to_string(),
            "spf=pass smtp.mailfrom=example.com"
        );
        let mut helo = verification(SpfResult::None);
        helo.identity = Identity::Helo;
        helo.domain = "[192.0.2.1]".into();
        assert_eq!(helo.authentication_result().to_string(), "spf=none smtp.helo=\"[192.0.2.1]\"");
    }

    #[test]
    fn comments_escape_parentheses() {
        assert_eq!(escape_comment("a (b) \\c\n"), "a \\(b\\) \\\\c");
        assert!(is_dot_atom("foo.example.com"));
        assert!(!is_dot_atom("2001:db8::1"));
        assert!(!is_dot_atom("a..b"));
    }
}
