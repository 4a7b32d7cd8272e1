//! The `_mta-sts` TXT record (RFC 8461 §3.1).

use std::fmt;

use crate::Error;

/// An MTA-STS TXT record, published at `_mta-sts.<domain>`: `v=STSv1; id=20160831085700Z;`.
///
/// ```text
/// sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
/// sts-field       = sts-id / sts-extension
/// sts-field-delim = *WSP ";" *WSP
/// sts-version     = %s"v=STSv1"
/// sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
/// sts-extension   = sts-ext-name "=" sts-ext-value
/// sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
/// sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// Identifies the current policy: when it changes, senders fetch the policy again.
    pub id: String,
    /// Fields other than `v` and `id`, in order; ignored by senders (RFC 8461 §3.2).
    pub extensions: Vec<Extension>,
}

/// A `key=value` field of a record or `key: value` field of a policy that RFC 8461 does not
/// define; kept so that records and policies can be written back as they were.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extension {
    /// The field name.
    pub key: String,
    /// The field value.
    pub value: String,
}

/// What is wrong in an MTA-STS TXT record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordProblem {
    /// The record does not start with `v=STSv1`.
    #[error("record does not start with \"v=STSv1\"")]
    NotStsV1,
    /// Something other than `;` follows a field.
    #[error("expected \";\" between fields")]
    ExpectedSemicolon,
    /// A field name is empty, too long (over 32 characters) or has characters other than letters,
    /// digits, `_`, `-` and `.`.
    #[error("invalid field name")]
    InvalidKey,
    /// A field name is not followed by `=`.
    #[error("expected \"=\" after the field name")]
    ExpectedEquals,
    /// The `id` is empty, longer than 32 characters, or has characters other than letters and
    /// digits.
    #[error("invalid id: 1 to 32 letters and digits are required")]
    InvalidId,
    /// An extension value is empty or has spaces, control characters, `=` or `;`.
    #[error("invalid field value")]
    InvalidValue,
    /// There is no `id` field.
    #[error("missing id field")]
    MissingId,
}

impl Record {
    /// Whether a TXT record is meant as an MTA-STS record: it starts with `v=STSv1`, followed by
    /// the end, a space or `;`. Of several TXT records at `_mta-sts`, the others are discarded
    /// (RFC 8461 §3.1); records that are meant as MTA-STS but invalid are not, so that a broken
    /// record is reported rather than silently ignored.
    pub fn is_mtasts(txt: &str) -> bool {
        txt.strip_prefix("v=STSv1")
            .is_some_and(|rest| matches!(rest.bytes().next(), None | Some(b';' | b' ' | b'\t')))
    }

    /// Parses a record, strictly per the ABNF above (the names and `STSv1` are case-sensitive).
    /// Of a repeated `id`, the first counts (RFC 8461 §3.2: other duplicates are ignored).
    pub fn parse(txt: &str) -> Result<Record, Error> {
        let mut p = Cursor { s: txt, pos: 0 };
        if !p.take("v=STSv1") || !Record::is_mtasts(txt) {
            return Err(p.error(RecordProblem::NotStsV1));
        }
        if !p.delimiter() {
            return Err(p.error(RecordProblem::ExpectedSemicolon));
        }
        let mut id: Option<String> = None;
        let mut extensions = Vec::new();
        while !p.at_end() {
            let key = p.key().ok_or_else(|| p.error(RecordProblem::InvalidKey))?;
            if !p.take("=") {
                return Err(p.error(RecordProblem::ExpectedEquals));
            }
            if key == "id" && id.is_none() {
                let value = p.take_while(|c| c.is_ascii_alphanumeric());
                if value.is_empty() || value.len() > 32 {
                    return Err(p.error_at(p.pos - value.len(), RecordProblem::InvalidId));
                }
                id = Some(value.to_string());
            } else {
                let value =
                    p.take_while(|c| matches!(c, '\x21'..='\x3a' | '\x3c' | '\x3e'..='\x7e'));
                if value.is_empty() {
                    return Err(p.error(RecordProblem::InvalidValue));
                }
                if key != "id" {
                    extensions.push(Extension { key: key.to_string(), value: value.to_string() });
                }
            }
            if p.at_end() {
                break;
            }
            if !p.delimiter() {
                return Err(p.error(RecordProblem::ExpectedSemicolon));
            }
        }
        let id = id.ok_or(Error::RecordSyntax {
            position: txt.len(),
            problem: RecordProblem::MissingId,
        })?;
        Ok(Record { id, extensions })
    }
}

impl fmt::Display for Record {
    /// Writes the record as published in DNS: `v=STSv1; id=...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v=STSv1; id={}", self.id)?;
        for e in &self.extensions {
            write!(f, "; {}={}", e.key, e.value)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Record {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Record::parse(s)
    }
}

/// Field names of records and policies: `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`.
pub(crate) fn is_field_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && key.len() <= 32
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn take(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let n = rest.find(|c| !f(c)).unwrap_or(rest.len());
        self.pos += n;
        &rest[..n]
    }

    fn skip_wsp(&mut self) {
        self.take_while(|c| c == ' ' || c == '\t');
    }

    /// `*WSP ";" *WSP`; leaves the position unchanged when there is no `;`.
    fn delimiter(&mut self) -> bool {
        let start = self.pos;
        self.skip_wsp();
        if self.take(";") {
            self.skip_wsp();
            true
        } else {
            self.pos = start;
            false
        }
    }

    fn key(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let key = self.take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if is_field_name(key) {
            Some(key)
        } else {
            self.pos = start;
            None
        }
    }

    fn error(&self, problem: RecordProblem) -> Error {
        self.error_at(self.pos, problem)
    }

    fn error_at(&self, position: usize, problem: RecordProblem) -> Error {
        Error::RecordSyntax { position, problem }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(txt: &str) -> (usize, RecordProblem) {
        match Record::parse(txt) {
            Err(Error::RecordSyntax { position, problem }) => (position, problem),
            other => panic!("{txt:?}: expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn rfc8461_example() {
        // RFC 8461 §3.1.
        let r = Record::parse("v=STSv1; id=20160831085700Z;").unwrap();
        assert_eq!(r, Record { id: "20160831085700Z".into(), extensions: vec![] });
        assert_eq!(r.to_string(), "v=STSv1; id=20160831085700Z");
        assert_eq!(Record::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn valid_variants() {
        let r = Record::parse("v=STSv1 ;\tid=abc ; ext.x_y-z=a:b/c<d>e ;").unwrap();
        assert_eq!(r.id, "abc");
        assert_eq!(
            r.extensions,
            [Extension { key: "ext.x_y-z".into(), value: "a:b/c<d>e".into() }]
        );
        assert_eq!(r.to_string(), "v=STSv1; id=abc; ext.x_y-z=a:b/c<d>e");
        // Order other than v= first is free, the first id counts.
        let r = Record::parse("v=STSv1;x=1;id=first;id=second").unwrap();
        assert_eq!(r.id, "first");
        assert_eq!(r.extensions.len(), 1);
        // 32 characters is the limit.
        let id = "a".repeat(32);
        assert_eq!(Record::parse(&format!("v=STSv1; id={id}")).unwrap().id, id);
    }

    #[test]
    fn invalid_records_name_the_problem() {
        assert_eq!(problem("v=STSv2; id=1"), (0, RecordProblem::NotStsV1));
        assert_eq!(problem("V=STSv1; id=1"), (0, RecordProblem::NotStsV1));
        assert_eq!(problem("v=STSv1"), (7, RecordProblem::ExpectedSemicolon));
        assert_eq!(problem("v=STSv1;"), (8, RecordProblem::MissingId));
        assert_eq!(problem("v=STSv1; id=1 x=2"), (13, RecordProblem::ExpectedSemicolon));
        assert_eq!(problem("v=STSv1; id=a-b"), (13, RecordProblem::ExpectedSemicolon));
        assert_eq!(problem("v=STSv1; id="), (12, RecordProblem::InvalidId));
        assert_eq!(
            problem(&format!("v=STSv1; id={}", "a".repeat(33))),
            (12, RecordProblem::InvalidId)
        );
        assert_eq!(problem("v=STSv1; id"), (11, RecordProblem::ExpectedEquals));
        assert_eq!(problem("v=STSv1; =1"), (9, RecordProblem::InvalidKey));
        assert_eq!(problem("v=STSv1; id=1; x="), (17, RecordProblem::InvalidValue));
        assert_eq!(problem("v=STSv1; id=1;; "), (14, RecordProblem::InvalidKey));
        assert_eq!(
            Record::parse("v=STSv1; id=").unwrap_err().to_string(),
            "MTA-STS record: invalid id: 1 to 32 letters and digits are required (at position 12)"
        );
    }

    #[test]
    fn is_mtasts_decides_which_records_count() {
        assert!(Record::is_mtasts("v=STSv1; id=1"));
        assert!(Record::is_mtasts("v=STSv1 ; id=1"));
        assert!(Record::is_mtasts("v=STSv1"));
        assert!(!Record::is_mtasts("v=STSv10; id=1"));
        assert!(!Record::is_mtasts("v=spf1 -all"));
        assert!(!Record::is_mtasts(""));
    }
}
