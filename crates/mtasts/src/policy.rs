//! The policy file served at `https://mta-sts.<domain>/.well-known/mta-sts.txt` (RFC 8461 §3.2),
//! and MX host matching (§4.1).

use std::fmt;

use dns::Domain;

use crate::Error;
use crate::record::{Extension, is_field_name};

/// The longest `max_age` a policy may have, in seconds (about a year; RFC 8461 §3.2).
pub const MAX_MAX_AGE: u32 = 31_557_600;

/// What a sender does when a policy fails to validate (RFC 8461 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Do not deliver to MX hosts that fail validation.
    Enforce,
    /// Deliver anyway, and report the failure with TLSRPT (RFC 8460).
    Testing,
    /// Treat the domain as having no policy; used to retire MTA-STS (§8.3).
    None,
}

impl Mode {
    /// The mode as written in a policy: `enforce`, `testing` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An allowed MX host: a full name (`mail.example.com`), or `*.` and a name, which matches
/// exactly one more label (`*.example.net` matches `mx1.example.net`, but neither `example.net`
/// nor `a.b.example.net`; RFC 8461 §4.1).
///
/// ```text
/// sts-policy-mx-value = ["*."] Domain     ; Domain from RFC 5321 §4.1.2, in A-labels
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MxPattern {
    /// Whether the pattern starts with `*.`.
    pub wildcard: bool,
    /// The name after the `*.`, or the full name.
    pub domain: Domain,
}

impl MxPattern {
    /// Parses a pattern: an optional `*.` and a domain in ASCII (A-labels; a U-label is an
    /// error, RFC 8461 §3.2). Letters may be upper case; one trailing root dot is accepted.
    pub fn parse(s: &str) -> Result<MxPattern, PolicyProblem> {
        let (wildcard, name) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if !name.is_ascii() {
            return Err(PolicyProblem::MxNotAscii);
        }
        let bare = name.strip_suffix('.').unwrap_or(name);
        let valid_label = |l: &str| {
            let b = l.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        };
        if !bare.split('.').all(valid_label) {
            return Err(PolicyProblem::InvalidMx);
        }
        let domain = Domain::parse(bare).map_err(|_| PolicyProblem::InvalidMx)?;
        Ok(MxPattern { wildcard, domain })
    }

    /// Whether `host` (an MX host name) matches this pattern (RFC 8461 §4.1).
    pub fn matches(&self, host: &Domain) -> bool {
        if self.wildcard {
            host.parent().is_some_and(|parent| parent == self.domain)
        } else {
            *host == self.domain
        }
    }
}

impl fmt::Display for MxPattern {
    /// Writes the pattern in ASCII, as in a policy.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(self.domain.ascii())
    }
}

/// An MTA-STS policy.
///
/// ```text
/// sts-policy-record      = sts-policy-field *WSP *(sts-policy-term sts-policy-field *WSP)
///                          [sts-policy-term]
/// sts-policy-field       = sts-policy-version / sts-policy-mode / sts-policy-max-age /
///                          sts-policy-mx / sts-policy-extension
/// sts-policy-field-delim = ":" *WSP
/// sts-policy-version     = %s"version" sts-policy-field-delim %s"STSv1"
/// sts-policy-mode        = %s"mode" sts-policy-field-delim
///                          (%s"testing" / %s"enforce" / %s"none")
/// sts-policy-max-age     = %s"max_age" sts-policy-field-delim 1*10(DIGIT)
/// sts-policy-mx          = %s"mx" sts-policy-field-delim ["*."] Domain
/// sts-policy-extension   = sts-policy-ext-name sts-policy-field-delim sts-policy-ext-value
/// sts-policy-term        = LF / CRLF
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    /// What to do when validation fails.
    pub mode: Mode,
    /// The allowed MX hosts; at least one unless the mode is `none`.
    pub mx: Vec<MxPattern>,
    /// How long, in seconds from fetching, the policy may be cached; at most [`MAX_MAX_AGE`].
    pub max_age: u32,
    /// Fields RFC 8461 does not define, in order.
    pub extensions: Vec<Extension>,
}

/// What is wrong in a policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyProblem {
    /// A line does not start with a valid field name (letters, digits, `_`, `-`, `.`; at most
    /// 32 characters).
    #[error("invalid field name")]
    InvalidKey,
    /// A field name is not followed by `:`.
    #[error("expected \":\" after the field name")]
    ExpectedColon,
    /// `version` is not `STSv1`.
    #[error("version must be \"STSv1\"")]
    InvalidVersion,
    /// `mode` is not `enforce`, `testing` or `none` (lower case).
    #[error("mode must be \"enforce\", \"testing\" or \"none\"")]
    InvalidMode,
    /// `max_age` is not 1 to 10 digits.
    #[error("max_age must be a number of seconds")]
    InvalidMaxAge,
    /// `max_age` is larger than 31557600.
    #[error("max_age is larger than the maximum 31557600")]
    MaxAgeTooLarge,
    /// An `mx` value is not a domain name, optionally with a leading `*.`.
    #[error("mx must be a host name, optionally starting with \"*.\"")]
    InvalidMx,
    /// An `mx` value has non-ASCII characters: internationalized names must be written as
    /// A-labels (`xn--...`).
    #[error("mx must be in ASCII, with internationalized names as A-labels (xn--...)")]
    MxNotAscii,
    /// A value has a control character.
    #[error("control character in value")]
    ControlCharacter,
    /// A required field is missing.
    #[error("missing required field \"{0}\"")]
    MissingField(&'static str),
    /// The mode is `enforce` or `testing` and there is no `mx` field.
    #[error("missing mx field, required unless mode is \"none\"")]
    MissingMx,
}

impl Policy {
    /// Parses a policy file: `key: value` lines ending in CRLF or LF (RFC 8461 §3.2).
    ///
    /// Strict where the RFC requires: field names and values are case-sensitive, `version`,
    /// `mode` and `max_age` must be present and valid, `mx` must be present unless the mode
    /// is `none`, and `mx` values must be host names in A-labels. Tolerant where it allows or
    /// where nothing is at stake: unknown fields are kept as [`extensions`](Policy::extensions)
    /// and otherwise ignored, repeated fields other than `mx` are ignored after the first, spaces
    /// around values and blank lines are skipped, and a UTF-8 byte order mark is ignored.
    ///
    /// Errors are [`Error::PolicySyntax`] with the 1-based line number.
    pub fn parse(text: &str) -> Result<Policy, Error> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut version = false;
        let mut mode = None;
        let mut max_age = None;
        let mut mx = Vec::new();
        let mut extensions = Vec::new();
        let mut lines = 0;
        for (index, line) in text.split('\n').enumerate() {
            lines = index + 1;
            let err = |problem| Error::PolicySyntax { line: index + 1, problem };
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim_matches([' ', '\t']).is_empty() {
                continue;
            }
            let (key, value) = line.split_once(':').ok_or_else(|| {
                let name = line.split(|c: char| !c.is_ascii_alphanumeric() && !"_-.".contains(c));
                if name.clone().next().is_some_and(is_field_name) {
                    err(PolicyProblem::ExpectedColon)
                } else {
                    err(PolicyProblem::InvalidKey)
                }
            })?;
            if !is_field_name(key) {
                return Err(err(PolicyProblem::InvalidKey));
            }
            let value = value.trim_matches([' ', '\t']);
            if value.chars().any(|c| c.is_control()) {
                return Err(err(PolicyProblem::ControlCharacter));
            }
            match key {
                "version" if !version => {
                    if value != "STSv1" {
                        return Err(err(PolicyProblem::InvalidVersion));
                    }
                    version = true;
                }
                "mode" if mode.is_none() => {
                    mode = Some(match value {
                        "enforce" => Mode::Enforce,
                        "testing" => Mode::Testing,
                        "none" => Mode::None,
                        _ => return Err(err(PolicyProblem::InvalidMode)),
                    });
                }
                "max_age" if max_age.is_none() => {
                    if value.is_empty()
                        || value.len() > 10
                        || !value.bytes().all(|b| b.is_ascii_digit())
                    {
                        return Err(err(PolicyProblem::InvalidMaxAge));
                    }
                    let seconds: u64 =
                        value.parse().map_err(|_| err(PolicyProblem::InvalidMaxAge))?;
                    if seconds > u64::from(MAX_MAX_AGE) {
                        return Err(err(PolicyProblem::MaxAgeTooLarge));
                    }
                    max_age = Some(seconds as u32);
                }
                "mx" => mx.push(MxPattern::parse(value).map_err(err)?),
                // RFC 8461 §3.2: duplicates of other fields are ignored.
                "version" | "mode" | "max_age" => {}
                _ => extensions.push(Extension { key: key.to_string(), value: value.to_string() }),
            }
        }
        let missing = |field| Error::PolicySyntax {
            line: lines,
            problem: PolicyProblem::MissingField(field),
        };
        if !version {
            return Err(missing("version"));
        }
        let mode = mode.ok_or_else(|| missing("mode"))?;
        let max_age = max_age.ok_or_else(|| missing("max_age"))?;
        if mx.is_empty() && mode != Mode::None {
            return Err(Error::PolicySyntax { line: lines, problem: PolicyProblem::MissingMx });
        }
        Ok(Policy { mode, mx, max_age, extensions })
    }

    /// Whether `host` matches one of the `mx` patterns (RFC 8461 §4.1).
    pub fn matches(&self, host: &Domain) -> bool {
        self.mx.iter().any(|p| p.matches(host))
    }

    /// Whether a sender may deliver to the MX `host` under this policy: always in modes
    /// `testing` and `none` (a mismatch in `testing` is only reported), and in mode `enforce`
    /// only when the host matches (RFC 8461 §5).
    pub fn permits(&self, host: &Domain) -> bool {
        self.mode != Mode::Enforce || self.matches(host)
    }

    /// The policy as the lines of a TLSRPT `policy-string` (RFC 8460 §4.5): `version: STSv1`,
    /// `mode: ...`, each `mx: ...`, `max_age: ...`.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec!["version: STSv1".to_string(), format!("mode: {}", self.mode)];
        lines.extend(self.mx.iter().map(|mx| format!("mx: {mx}")));
        lines.push(format!("max_age: {}", self.max_age));
        lines.extend(self.extensions.iter().map(|e| format!("{}: {}", e.key, e.value)));
        lines
    }
}

impl fmt::Display for Policy {
    /// Writes the policy file, with CRLF line endings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.lines() {
            write!(f, "{line}\r\n")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Policy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Domain {
        Domain::parse(s).unwrap()
    }

    fn problem(text: &str) -> (usize, PolicyProblem) {
        match Policy::parse(text) {
            Err(Error::PolicySyntax { line, problem }) => (line, problem),
            other => panic!("{text:?}: expected a syntax error, got {other:?}"),
        }
    }

    const RFC8461_EXAMPLE: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

    #[test]
    fn rfc8461_example() {
        // RFC 8461 §3.2.
        let p = Policy::parse(RFC8461_EXAMPLE).unwrap();
        assert_eq!(p.mode, Mode::Enforce);
        assert_eq!(p.max_age, 604800);
        assert_eq!(
            p.mx,
            [
                MxPattern { wildcard: false, domain: d("mail.example.com") },
                MxPattern { wildcard: true, domain: d("example.net") },
                MxPattern { wildcard: false, domain: d("backupmx.example.com") },
            ]
        );
        assert!(p.extensions.is_empty());
        // Written back in the order version, mode, mx, max_age, which parses to the same policy.
        assert_eq!(
            p.to_string(),
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"
        );
        assert_eq!(Policy::parse(&p.to_string()).unwrap(), p);
        // Matching per §4.1.
        assert!(p.matches(&d("mail.example.com")));
        assert!(p.matches(&d("MX1.Example.NET")));
        assert!(!p.matches(&d("example.net")));
        assert!(!p.matches(&d("a.b.example.net")));
        assert!(!p.matches(&d("other.example.com")));
    }

    #[test]
    fn rfc8461_section_4_1_wildcard_example() {
        let p = MxPattern::parse("*.example.com").unwrap();
        assert!(p.matches(&d("mail.example.com")));
        assert!(!p.matches(&d("example.com")));
        assert!(!p.matches(&d("foo.bar.example.com")));
    }

    #[test]
    fn tolerant_where_allowed() {
        // LF endings, no final newline, spaces, blank lines, BOM, unknown and duplicate fields.
        let text = "\u{feff}version:STSv1\n\nmode:   testing  \nmx: MAIL.Example.com.\nmax_age: 86400\nmode: enforce\nmax_age: x\nversion: STSv2\nx-note: hello world, ümlaut\nmax_age: 1";
        let p = Policy::parse(text).unwrap();
        assert_eq!(p.mode, Mode::Testing);
        assert_eq!(p.max_age, 86400);
        assert_eq!(p.mx, [MxPattern { wildcard: false, domain: d("mail.example.com") }]);
        assert_eq!(
            p.extensions,
            [Extension { key: "x-note".into(), value: "hello world, ümlaut".into() }]
        );
        // Mode none needs no mx.
        let p = Policy::parse("version: STSv1\nmode: none\nmax_age: 0\n").unwrap();
        assert_eq!((p.mode, p.max_age, p.mx.len()), (Mode::None, 0, 0));
        assert!(p.permits(&d("anything.example")));
        // Upper limit is allowed.
        let p = Policy::parse("version: STSv1\nmode: none\nmax_age: 31557600").unwrap();
        assert_eq!(p.max_age, MAX_MAX_AGE);
        // IDNA names as A-labels.
        let p =
            Policy::parse("version: STSv1\nmode: enforce\nmax_age: 1\nmx: *.xn--bcher-kva.example")
                .unwrap();
        assert!(p.matches(&d("mx.bücher.example")));
    }

    #[test]
    fn strict_where_required() {
        assert_eq!(
            problem("version: STSv2\nmode: none\nmax_age: 1"),
            (1, PolicyProblem::InvalidVersion)
        );
        assert_eq!(
            problem("version: STSv1\nmode: Enforce\nmax_age: 1"),
            (2, PolicyProblem::InvalidMode)
        );
        assert_eq!(
            problem("version: STSv1\nmode: none\nmax_age: -1"),
            (3, PolicyProblem::InvalidMaxAge)
        );
        assert_eq!(
            problem("version: STSv1\nmode: none\nmax_age: 12345678901"),
            (3, PolicyProblem::InvalidMaxAge)
        );
        assert_eq!(
            problem("version: STSv1\nmode: none\nmax_age: 31557601"),
            (3, PolicyProblem::MaxAgeTooLarge)
        );
        assert_eq!(
            problem("version: STSv1\nmode: none\nmax_age:"),
            (3, PolicyProblem::InvalidMaxAge)
        );
        assert_eq!(
            problem("mode: none\nmax_age: 1\n"),
            (3, PolicyProblem::MissingField("version"))
        );
        assert_eq!(problem("version: STSv1\nmax_age: 1"), (2, PolicyProblem::MissingField("mode")));
        assert_eq!(
            problem("version: STSv1\nmode: none"),
            (2, PolicyProblem::MissingField("max_age"))
        );
        assert_eq!(
            problem("version: STSv1\nmode: enforce\nmax_age: 1"),
            (3, PolicyProblem::MissingMx)
        );
        // Names are case-sensitive: "Mode" is an unknown field, so mode is missing.
        assert_eq!(
            problem("version: STSv1\nMode: none\nmax_age: 1"),
            (3, PolicyProblem::MissingField("mode"))
        );
        assert_eq!(problem("version STSv1"), (1, PolicyProblem::ExpectedColon));
        assert_eq!(problem("<html>"), (1, PolicyProblem::InvalidKey));
        assert_eq!(problem(": x"), (1, PolicyProblem::InvalidKey));
        assert_eq!(problem("version: STSv1\nx: a\rb"), (2, PolicyProblem::ControlCharacter));
        let base = "version: STSv1\nmode: enforce\nmax_age: 1\n";
        for (mx, expected) in [
            ("mx: mail.bücher.example", PolicyProblem::MxNotAscii),
            ("mx: *", PolicyProblem::InvalidMx),
            ("mx: *.", PolicyProblem::InvalidMx),
            ("mx: a.*.example", PolicyProblem::InvalidMx),
            ("mx: **.example", PolicyProblem::InvalidMx),
            ("mx: -a.example", PolicyProblem::InvalidMx),
            ("mx: a_b.example", PolicyProblem::InvalidMx),
            ("mx: a..example", PolicyProblem::InvalidMx),
            ("mx:", PolicyProblem::InvalidMx),
            ("mx: a.example b.example", PolicyProblem::InvalidMx),
        ] {
            assert_eq!(problem(&format!("{base}{mx}")), (4, expected), "{mx}");
        }
        assert_eq!(
            Policy::parse("version: STSv1\nmode: none\nmax_age: 31557601").unwrap_err().to_string(),
            "MTA-STS policy line 3: max_age is larger than the maximum 31557600"
        );
    }

    #[test]
    fn permits_follows_mode() {
        let enforce = Policy::parse(RFC8461_EXAMPLE).unwrap();
        assert!(enforce.permits(&d("mail.example.com")));
        assert!(!enforce.permits(&d("evil.example.org")));
        let testing = Policy { mode: Mode::Testing, ..enforce.clone() };
        assert!(testing.permits(&d("evil.example.org")));
        assert!(!testing.matches(&d("evil.example.org")));
    }

    #[test]
    fn policy_lines_for_tlsrpt() {
        // RFC 8460 §4.5 sample.
        let p = Policy::parse("version: STSv1\nmode: testing\nmx: mx1.example.com\nmx: mx2.example.com\nmx: mx.backup-example.com\nmax_age: 604800").unwrap();
        assert_eq!(
            p.lines(),
            [
                "version: STSv1",
                "mode: testing",
                "mx: mx1.example.com",
                "mx: mx2.example.com",
                "mx: mx.backup-example.com",
                "max_age: 604800"
            ]
        );
    }
}
