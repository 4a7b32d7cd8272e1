//! The `_smtp._tls` TXT record (RFC 8460 §3).

use std::fmt;

use crate::Error;

/// A TLSRPT record, published at `_smtp._tls.<domain>`:
/// `v=TLSRPTv1; rua=mailto:reports@example.com`.
///
/// ```text
/// tlsrpt-record     = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
/// field-delim       = *WSP ";" *WSP
/// tlsrpt-field      = tlsrpt-rua / tlsrpt-extension
/// tlsrpt-version    = %s"v=TLSRPTv1"
/// tlsrpt-rua        = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
/// tlsrpt-uri        = URI   ; RFC 3986, with "," "!" ";" percent-encoded
/// tlsrpt-extension  = tlsrpt-ext-name "=" tlsrpt-ext-value
/// tlsrpt-ext-name   = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
/// tlsrpt-ext-value  = 1*(%x21-3A / %x3C / %x3E-7E)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// Where to send aggregate reports, in order; never empty. Several `rua=` fields are
    /// accepted and their URIs joined.
    pub rua: Vec<Rua>,
    /// Fields other than `v` and `rua`, in order; ignored (RFC 8460 §3).
    pub extensions: Vec<Extension>,
}

/// A field of a record that RFC 8460 does not define.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extension {
    /// The field name.
    pub key: String,
    /// The field value.
    pub value: String,
}

/// A reporting URI of the `rua` field: `mailto:` (reports by email) or `https:` (reports by
/// POST), or another scheme a sender does not support. Kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rua(String);

/// How reports reach a [`Rua`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuaScheme {
    /// Email to the address (RFC 6068).
    Mailto,
    /// HTTPS POST to the URL.
    Https,
    /// A scheme RFC 8460 does not define; reports cannot be sent to it.
    Other,
}

impl Rua {
    /// Parses a URI: a scheme, `:`, and at least one more character, all of them characters a
    /// URI may contain (RFC 3986 §2) other than `,`, `!` and `;`, which must be percent-encoded
    /// in the record; `%` must start a percent-encoding.
    pub fn parse(uri: &str) -> Result<Rua, RecordProblem> {
        let (scheme, rest) = uri.split_once(':').ok_or(RecordProblem::InvalidUri)?;
        let scheme_ok = scheme.bytes().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
        if !scheme_ok || rest.is_empty() {
            return Err(RecordProblem::InvalidUri);
        }
        let b = rest.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'%' => {
                    if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                    {
                        return Err(RecordProblem::InvalidUri);
                    }
                    i += 3;
                    continue;
                }
                c if c.is_ascii_alphanumeric() => {}
                b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@' => {}
                b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b'=' => {}
                _ => return Err(RecordProblem::InvalidUri),
            }
            i += 1;
        }
        Ok(Rua(uri.to_string()))
    }

    /// The URI as written in the record.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The kind of destination, by the URI's scheme (case-insensitive).
    pub fn scheme(&self) -> RuaScheme {
        let scheme = self.0.split(':').next().unwrap_or_default();
        if scheme.eq_ignore_ascii_case("mailto") {
            RuaScheme::Mailto
        } else if scheme.eq_ignore_ascii_case("https") {
            RuaScheme::Https
        } else {
            RuaScheme::Other
        }
    }
}

impl fmt::Display for Rua {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is wrong in a TLSRPT TXT record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordProblem {
    /// The record does not start with `v=TLSRPTv1`.
    #[error("record does not start with \"v=TLSRPTv1\"")]
    NotTlsRptV1,
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
    /// A reporting URI is not a URI with a scheme, or has characters that must be encoded.
    #[error(
        "invalid reporting URI (a scheme such as mailto: or https: is required; \",\", \"!\" and \";\" must be percent-encoded)"
    )]
    InvalidUri,
    /// An extension value is empty or has spaces, control characters, `=` or `;`.
    #[error("invalid field value")]
    InvalidValue,
    /// There is no `rua` field.
    #[error("missing rua field")]
    MissingRua,
}

impl Record {
    /// Whether a TXT record is meant as a TLSRPT record: it starts with `v=TLSRPTv1`, followed
    /// by the end, a space or `;`. Of several TXT records at `_smtp._tls`, the others are
    /// discarded (RFC 8460 §3).
    pub fn is_tlsrpt(txt: &str) -> bool {
        txt.strip_prefix("v=TLSRPTv1")
            .is_some_and(|rest| matches!(rest.bytes().next(), None | Some(b';' | b' ' | b'\t')))
    }

    /// Parses a record per the ABNF above (names and `TLSRPTv1` are case-sensitive; unknown
    /// fields are kept as extensions).
    pub fn parse(txt: &str) -> Result<Record, Error> {
        let err = |position, problem| Error::RecordSyntax { position, problem };
        if !Record::is_tlsrpt(txt) {
            return Err(err(0, RecordProblem::NotTlsRptV1));
        }
        let mut pos = "v=TLSRPTv1".len();
        pos = delimiter(txt, pos).ok_or(err(pos, RecordProblem::ExpectedSemicolon))?;
        let mut rua = Vec::new();
        let mut extensions = Vec::new();
        while pos < txt.len() {
            let rest = &txt[pos..];
            let key_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
                .unwrap_or(rest.len());
            let key = &rest[..key_len];
            let key_ok =
                key.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric()) && key.len() <= 32;
            if !key_ok {
                return Err(err(pos, RecordProblem::InvalidKey));
            }
            pos += key_len;
            if !txt[pos..].starts_with('=') {
                return Err(err(pos, RecordProblem::ExpectedEquals));
            }
            pos += 1;
            if key == "rua" {
                loop {
                    let rest = &txt[pos..];
                    let n = rest.find([',', ';', ' ', '\t']).unwrap_or(rest.len());
                    rua.push(Rua::parse(&rest[..n]).map_err(|p| err(pos, p))?);
                    pos += n;
                    let after_wsp = skip_wsp(txt, pos);
                    if txt[after_wsp..].starts_with(',') {
                        pos = skip_wsp(txt, after_wsp + 1);
                    } else {
                        break;
                    }
                }
            } else {
                let rest = &txt[pos..];
                let n = rest
                    .find(|c: char| !matches!(c, '\x21'..='\x3a' | '\x3c' | '\x3e'..='\x7e'))
                    .unwrap_or(rest.len());
                if n == 0 {
                    return Err(err(pos, RecordProblem::InvalidValue));
                }
                extensions.push(Extension { key: key.to_string(), value: rest[..n].to_string() });
                pos += n;
            }
            if pos >= txt.len() {
                break;
            }
            pos = delimiter(txt, pos).ok_or(err(pos, RecordProblem::ExpectedSemicolon))?;
        }
        if rua.is_empty() {
            return Err(err(txt.len(), RecordProblem::MissingRua));
        }
        Ok(Record { rua, extensions })
    }
}

fn skip_wsp(s: &str, pos: usize) -> usize {
    pos + s[pos..].bytes().take_while(|c| matches!(c, b' ' | b'\t')).count()
}

/// `*WSP ";" *WSP` at `pos`: the position after it, or `None`.
fn delimiter(s: &str, pos: usize) -> Option<usize> {
    let p = skip_wsp(s, pos);
    s[p..].starts_with(';').then(|| skip_wsp(s, p + 1))
}

impl fmt::Display for Record {
    /// Writes the record as published in DNS: `v=TLSRPTv1; rua=...,...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v=TLSRPTv1; rua=")?;
        for (i, rua) in self.rua.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(rua.as_str())?;
        }
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
    fn rfc8460_examples() {
        // RFC 8460 §3.1.1 and Appendix A.1.
        let r = Record::parse("v=TLSRPTv1;rua=mailto:reports@example.com").unwrap();
        assert_eq!(r.rua, [Rua("mailto:reports@example.com".into())]);
        assert_eq!(r.rua[0].scheme(), RuaScheme::Mailto);
        assert_eq!(r.to_string(), "v=TLSRPTv1; rua=mailto:reports@example.com");
        // RFC 8460 §3.1.2 and Appendix A.2 (the example's line break is zone-file quoting).
        let r = Record::parse("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt").unwrap();
        assert_eq!(r.rua[0].as_str(), "https://reporting.example.com/v1/tlsrpt");
        assert_eq!(r.rua[0].scheme(), RuaScheme::Https);
    }

    #[test]
    fn lists_extensions_and_round_trip() {
        let txt = "v=TLSRPTv1 ; rua=mailto:a@example.com , HTTPS://r.example/p?x=1&y=%2C ;x.y=1:2;rua=mailto:b@example.net;";
        let r = Record::parse(txt).unwrap();
        let uris: Vec<&str> = r.rua.iter().map(Rua::as_str).collect();
        assert_eq!(
            uris,
            ["mailto:a@example.com", "HTTPS://r.example/p?x=1&y=%2C", "mailto:b@example.net"]
        );
        assert_eq!(r.rua[1].scheme(), RuaScheme::Https);
        assert_eq!(r.extensions, [Extension { key: "x.y".into(), value: "1:2".into() }]);
        let written = r.to_string();
        assert_eq!(
            written,
            "v=TLSRPTv1; rua=mailto:a@example.com,HTTPS://r.example/p?x=1&y=%2C,mailto:b@example.net; x.y=1:2"
        );
        assert_eq!(Record::parse(&written).unwrap(), r);
        let r = Record::parse("v=TLSRPTv1; rua=ftp://reports.example/").unwrap();
        assert_eq!(r.rua[0].scheme(), RuaScheme::Other);
    }

    #[test]
    fn invalid_records_name_the_problem() {
        assert_eq!(problem("v=TLSRPTv2; rua=mailto:a@b"), (0, RecordProblem::NotTlsRptV1));
        assert_eq!(problem("v=tlsrptv1; rua=mailto:a@b"), (0, RecordProblem::NotTlsRptV1));
        assert_eq!(problem("v=TLSRPTv1"), (10, RecordProblem::ExpectedSemicolon));
        assert_eq!(problem("v=TLSRPTv1;"), (11, RecordProblem::MissingRua));
        assert_eq!(problem("v=TLSRPTv1; x=1"), (15, RecordProblem::MissingRua));
        assert_eq!(problem("v=TLSRPTv1; rua=reports@example.com"), (16, RecordProblem::InvalidUri));
        assert_eq!(problem("v=TLSRPTv1; rua="), (16, RecordProblem::InvalidUri));
        assert_eq!(problem("v=TLSRPTv1; rua=mailto:"), (16, RecordProblem::InvalidUri));
        assert_eq!(problem("v=TLSRPTv1; rua=mailto:a@b!c"), (16, RecordProblem::InvalidUri));
        assert_eq!(problem("v=TLSRPTv1; rua=mailto:a@b%zz"), (16, RecordProblem::InvalidUri));
        assert_eq!(problem("v=TLSRPTv1; rua=mailto:a@b,"), (27, RecordProblem::InvalidUri));
        assert_eq!(
            problem("v=TLSRPTv1; rua=mailto:a@b x=1"),
            (26, RecordProblem::ExpectedSemicolon)
        );
        assert_eq!(problem("v=TLSRPTv1; rua"), (15, RecordProblem::ExpectedEquals));
        assert_eq!(problem("v=TLSRPTv1; rua=mailto:a@b; =x"), (28, RecordProblem::InvalidKey));
        assert_eq!(problem("v=TLSRPTv1; rua=mailto:a@b; x="), (30, RecordProblem::InvalidValue));
        assert_eq!(
            Record::parse("v=TLSRPTv1; rua=reports@example.com").unwrap_err().to_string(),
            "TLSRPT record: invalid reporting URI (a scheme such as mailto: or https: is required; \",\", \"!\" and \";\" must be percent-encoded) (at position 16)"
        );
    }

    #[test]
    fn is_tlsrpt_decides_which_records_count() {
        assert!(Record::is_tlsrpt("v=TLSRPTv1;rua=mailto:a@b"));
        assert!(Record::is_tlsrpt("v=TLSRPTv1 ;rua=mailto:a@b"));
        assert!(!Record::is_tlsrpt("v=TLSRPTv10;rua=mailto:a@b"));
        assert!(!Record::is_tlsrpt("v=spf1 -all"));
    }
}
