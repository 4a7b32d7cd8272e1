//! Macro strings (RFC 7208 §7): parsing, display and expansion.
//!
//! Expansion is a pure function of [`MacroValues`]; the evaluator looks up what the `p` macro
//! needs before expanding.

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use nom::Parser;
use nom::bytes::complete::{tag, take_while};
use nom::character::complete::{char, digit0, one_of, satisfy};
use nom::combinator::opt;
use nom::sequence::delimited;

use crate::error::{Error, SyntaxProblem};

/// The longest expansion of one macro string, in bytes. Expansions only grow this large from
/// hostile records or inputs (domain names are at most 253 characters, and RFC 7208 §6.2 allows
/// limiting explanations); stopping early bounds memory and time.
pub const MAX_EXPANSION_LENGTH: usize = 4096;

/// A string with macros: a domain-spec, an explanation string, or the value of an unknown
/// modifier (RFC 7208 §7.1).
///
/// ```text
/// macro-string     = *( macro-expand / macro-literal )
/// macro-expand     = ( "%{" macro-letter transformers *delimiter "}" )
///                    / "%%" / "%_" / "%-"
/// macro-literal    = %x21-24 / %x26-7E ; visible characters except "%"
/// explain-string   = *( macro-string / SP )
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MacroString {
    parts: Vec<MacroPart>,
}

/// One piece of a [`MacroString`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MacroPart {
    /// Text taken as is.
    Literal(String),
    /// A `%{...}` macro.
    Macro(Macro),
    /// `%%`: a percent sign.
    Percent,
    /// `%_`: a space.
    Space,
    /// `%-`: a URL-encoded space, `%20`.
    UrlSpace,
}

/// A `%{...}` macro: a letter, transformers and delimiters (RFC 7208 §7.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Macro {
    /// What the macro expands to.
    pub letter: MacroLetter,
    /// Written in upper case: the expansion is URL-escaped.
    pub url_escape: bool,
    /// Keep only this many right-hand parts (after reversal); `None` keeps all. Never zero.
    pub keep: Option<u32>,
    /// The `r` transformer: reverse the parts.
    pub reverse: bool,
    /// The characters to split on; empty means `.`.
    pub delimiters: String,
}

/// The macro letters of RFC 7208 §7.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MacroLetter {
    /// `s`: the sender, `local-part@domain`.
    Sender,
    /// `l`: the sender's local-part.
    LocalPart,
    /// `o`: the sender's domain.
    SenderDomain,
    /// `d`: the domain being checked.
    Domain,
    /// `i`: the client IP, dotted (IPv6 as 32 dot-separated nibbles).
    Ip,
    /// `p`: the validated reverse-DNS name of the client IP.
    ValidatedName,
    /// `v`: `in-addr` for IPv4, `ip6` for IPv6.
    IpVersion,
    /// `h`: the HELO/EHLO name.
    Helo,
    /// `c`: the client IP in its readable form (explanations only).
    ClientIp,
    /// `r`: the name of the receiving host (explanations only).
    Receiver,
    /// `t`: the current time in seconds since the epoch (explanations only).
    Timestamp,
}

impl MacroLetter {
    /// The letter from its lowercase character.
    pub fn from_char(c: char) -> Option<MacroLetter> {
        Some(match c.to_ascii_lowercase() {
            's' => MacroLetter::Sender,
            'l' => MacroLetter::LocalPart,
            'o' => MacroLetter::SenderDomain,
            'd' => MacroLetter::Domain,
            'i' => MacroLetter::Ip,
            'p' => MacroLetter::ValidatedName,
            'v' => MacroLetter::IpVersion,
            'h' => MacroLetter::Helo,
            'c' => MacroLetter::ClientIp,
            'r' => MacroLetter::Receiver,
            't' => MacroLetter::Timestamp,
            _ => return None,
        })
    }

    /// The lowercase letter.
    pub fn as_char(self) -> char {
        match self {
            MacroLetter::Sender => 's',
            MacroLetter::LocalPart => 'l',
            MacroLetter::SenderDomain => 'o',
            MacroLetter::Domain => 'd',
            MacroLetter::Ip => 'i',
            MacroLetter::ValidatedName => 'p',
            MacroLetter::IpVersion => 'v',
            MacroLetter::Helo => 'h',
            MacroLetter::ClientIp => 'c',
            MacroLetter::Receiver => 'r',
            MacroLetter::Timestamp => 't',
        }
    }

    /// Whether the letter is allowed only in explanation text (`c`, `r`, `t`).
    pub fn is_explanation_only(self) -> bool {
        matches!(self, MacroLetter::ClientIp | MacroLetter::Receiver | MacroLetter::Timestamp)
    }
}

/// The values macros expand to, for one evaluation of `check_host()`.
#[derive(Debug, Clone)]
pub struct MacroValues<'a> {
    /// `s`: `local-part@domain`.
    pub sender: &'a str,
    /// `l`: the sender's local-part (`postmaster` when it had none).
    pub local_part: &'a str,
    /// `o`: the sender's domain.
    pub sender_domain: &'a str,
    /// `d`: the domain whose record is evaluated.
    pub domain: &'a str,
    /// `i`, `c`, `v`: the client IP (an IPv4-mapped IPv6 address is expanded as IPv4).
    pub ip: IpAddr,
    /// `p`: the validated name of the client IP, or `unknown`.
    pub validated_name: &'a str,
    /// `h`: the HELO/EHLO argument as given.
    pub helo: &'a str,
    /// `r`: the receiving host's name, or `unknown`.
    pub receiver: &'a str,
    /// `t`: seconds since the Unix epoch.
    pub timestamp: u64,
}

/// Where a macro string appears; decides which characters and letters are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacroContext {
    /// A domain-spec: no spaces; no `c`, `r`, `t`.
    DomainSpec,
    /// An explanation string fetched by `exp=`: spaces and all letters allowed.
    Explanation,
    /// The value of an unknown modifier: no spaces; all letters (it is never expanded).
    ModifierValue,
}

impl MacroString {
    /// Parses an explanation string, the text of the TXT record that `exp=` points to
    /// (RFC 7208 §6.2).
    pub fn parse_explanation(text: &str) -> Result<MacroString, Error> {
        parse_macro_string(text, MacroContext::Explanation)
            .map_err(|(position, problem)| Error::Syntax { position, term: text.into(), problem })
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[MacroPart] {
        &self.parts
    }

    /// Whether any macro uses `letter`.
    pub fn uses(&self, letter: MacroLetter) -> bool {
        self.parts.iter().any(|p| matches!(p, MacroPart::Macro(m) if m.letter == letter))
    }

    /// Expands the macros. Fails only when the expansion would exceed
    /// [`MAX_EXPANSION_LENGTH`] bytes.
    pub fn expand(&self, values: &MacroValues<'_>) -> Result<String, Error> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                MacroPart::Literal(text) => out.push_str(text),
                MacroPart::Percent => out.push('%'),
                MacroPart::Space => out.push(' '),
                MacroPart::UrlSpace => out.push_str("%20"),
                MacroPart::Macro(m) => expand_macro(m, values, &mut out),
            }
            if out.len() > MAX_EXPANSION_LENGTH {
                return Err(Error::ExpansionTooLong { limit: MAX_EXPANSION_LENGTH });
            }
        }
        Ok(out)
    }
}

impl fmt::Display for MacroString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                MacroPart::Literal(text) => f.write_str(text)?,
                MacroPart::Percent => f.write_str("%%")?,
                MacroPart::Space => f.write_str("%_")?,
                MacroPart::UrlSpace => f.write_str("%-")?,
                MacroPart::Macro(m) => write!(f, "{m}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Macro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = self.letter.as_char();
        let letter = if self.url_escape { letter.to_ascii_uppercase() } else { letter };
        write!(f, "%{{{letter}")?;
        if let Some(keep) = self.keep {
            write!(f, "{keep}")?;
        }
        if self.reverse {
            f.write_char('r')?;
        }
        write!(f, "{}}}", self.delimiters)
    }
}

/// Parses a macro string; errors carry the byte offset within `text`.
pub(crate) fn parse_macro_string(
    text: &str,
    context: MacroContext,
) -> Result<MacroString, (usize, SyntaxProblem)> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let position = text.len() - rest.len();
        if c == '%' {
            let (after, part) = macro_expand(rest, context).map_err(|p| (position, p))?;
            if !literal.is_empty() {
                parts.push(MacroPart::Literal(std::mem::take(&mut literal)));
            }
            parts.push(part);
            rest = after;
            continue;
        }
        let allowed = matches!(c, '!'..='~') || (c == ' ' && context == MacroContext::Explanation);
        if !allowed {
            let problem = if !c.is_ascii() {
                SyntaxProblem::NonAscii(c)
            } else if c.is_ascii_control() {
                SyntaxProblem::ControlCharacter(c)
            } else {
                SyntaxProblem::InvalidCharacter(c)
            };
            return Err((position, problem));
        }
        literal.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !literal.is_empty() {
        parts.push(MacroPart::Literal(literal));
    }
    Ok(MacroString { parts })
}

/// `rest` starts with `%`.
fn macro_expand(rest: &str, context: MacroContext) -> Result<(&str, MacroPart), SyntaxProblem> {
    for (escape, part) in
        [("%%", MacroPart::Percent), ("%_", MacroPart::Space), ("%-", MacroPart::UrlSpace)]
    {
        if let Some(after) = rest.strip_prefix(escape) {
            return Ok((after, part));
        }
    }
    if !rest.starts_with("%{") {
        return Err(SyntaxProblem::InvalidPercent);
    }
    let mut body = delimited(
        tag("%{"),
        (
            satisfy(|c| c.is_ascii_alphabetic()),
            digit0,
            opt(one_of("rR")),
            take_while(|c| ".-+,/_=".contains(c)),
        ),
        char('}'),
    );
    let (after, (letter_char, digits, reverse, delimiters)) = body
        .parse(rest)
        .map_err(|_: nom::Err<nom::error::Error<&str>>| SyntaxProblem::MalformedMacro)?;
    let letter = MacroLetter::from_char(letter_char)
        .ok_or(SyntaxProblem::UnknownMacroLetter(letter_char))?;
    if context == MacroContext::DomainSpec && letter.is_explanation_only() {
        return Err(SyntaxProblem::ExplanationOnlyMacro(letter_char));
    }
    let keep = if digits.is_empty() {
        None
    } else {
        // Any count above the number of parts means "all"; saturate rather than overflow.
        let value = digits
            .bytes()
            .fold(0u32, |acc, d| acc.saturating_mul(10).saturating_add(u32::from(d - b'0')));
        if value == 0 {
            return Err(SyntaxProblem::ZeroDigits);
        }
        Some(value)
    };
    let m = Macro {
        letter,
        url_escape: letter_char.is_ascii_uppercase(),
        keep,
        reverse: reverse.is_some(),
        delimiters: delimiters.to_string(),
    };
    Ok((after, MacroPart::Macro(m)))
}

fn expand_macro(m: &Macro, values: &MacroValues<'_>, out: &mut String) {
    let owned;
    let value: &str = match m.letter {
        MacroLetter::Sender => values.sender,
        MacroLetter::LocalPart => values.local_part,
        MacroLetter::SenderDomain => values.sender_domain,
        MacroLetter::Domain => values.domain,
        MacroLetter::Ip => {
            owned = dotted_ip(values.ip);
            &owned
        }
        MacroLetter::ValidatedName => values.validated_name,
        MacroLetter::IpVersion => match values.ip {
            IpAddr::V4(_) => "in-addr",
            IpAddr::V6(_) => "ip6",
        },
        MacroLetter::Helo => values.helo,
        MacroLetter::ClientIp => {
            owned = values.ip.to_string();
            &owned
        }
        MacroLetter::Receiver => values.receiver,
        MacroLetter::Timestamp => {
            owned = values.timestamp.to_string();
            &owned
        }
    };
    let transformed;
    let value = if m.keep.is_none() && !m.reverse && m.delimiters.is_empty() {
        value
    } else {
        transformed = transform(value, m);
        &transformed
    };
    if m.url_escape {
        url_escape(value, out);
    } else {
        out.push_str(value);
    }
}

/// Splits on the delimiters, reverses, keeps the right-hand parts and joins with dots
/// (RFC 7208 §7.3).
fn transform(value: &str, m: &Macro) -> String {
    let delimiters = if m.delimiters.is_empty() { "." } else { m.delimiters.as_str() };
    let mut parts: Vec<&str> = value.split(|c| delimiters.contains(c)).collect();
    if m.reverse {
        parts.reverse();
    }
    let keep = m.keep.map_or(parts.len(), |k| parts.len().min(k as usize));
    parts[parts.len() - keep..].join(".")
}

/// `i` for IPv6 is the 32 nibbles in order, dot-separated, lower case (RFC 7208 §7.3, §7.4).
fn dotted_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(63);
            for byte in v6.octets() {
                for nibble in [byte >> 4, byte & 0x0f] {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                }
            }
            out
        }
    }
}

/// Escapes everything outside RFC 3986's "unreserved" set as `%XX` per UTF-8 byte.
fn url_escape(value: &str, out: &mut String) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(ip: &str) -> MacroValues<'static> {
        MacroValues {
            sender: "strong-bad@email.example.com",
            local_part: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip: ip.parse().unwrap(),
            validated_name: "mx.example.org",
            helo: "mx.example.org",
            receiver: "receiver.example.net",
            timestamp: 1_400_000_000,
        }
    }

    fn expand(spec: &str, ip: &str) -> String {
        let parsed = parse_macro_string(spec, MacroContext::Explanation).unwrap();
        assert_eq!(parsed.to_string(), spec, "display round-trips");
        parsed.expand(&values(ip)).unwrap()
    }

    /// RFC 7208 §7.4, every row.
    #[test]
    fn rfc7208_section_7_4_examples() {
        let v4 = "192.0.2.3";
        for (spec, expected) in [
            ("%{s}", "strong-bad@email.example.com"),
            ("%{o}", "email.example.com"),
            ("%{d}", "email.example.com"),
            ("%{d4}", "email.example.com"),
            ("%{d3}", "email.example.com"),
            ("%{d2}", "example.com"),
            ("%{d1}", "com"),
            ("%{dr}", "com.example.email"),
            ("%{d2r}", "example.email"),
            ("%{l}", "strong-bad"),
            ("%{l-}", "strong.bad"),
            ("%{lr}", "strong-bad"),
            ("%{lr-}", "bad.strong"),
            ("%{l1r-}", "strong"),
            ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
            ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
            ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
            ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
            ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
        ] {
            assert_eq!(expand(spec, v4), expected, "{spec}");
        }
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
    }

    #[test]
    fn escapes_and_explanation_letters() {
        assert_eq!(expand("a%%b%_c%-d", "192.0.2.3"), "a%b c%20d");
        assert_eq!(
            expand("%{c} %{r} %{t} %{p}", "2001:db8::1"),
            "2001:db8::1 receiver.example.net 1400000000 mx.example.org"
        );
        assert_eq!(expand("%{S}", "192.0.2.3"), "strong-bad%40email.example.com");
        assert_eq!(expand("%{h2}", "192.0.2.3"), "example.org");
        // A digit count beyond the parts, or one that would overflow, keeps everything.
        let huge = parse_macro_string("%{d99999999999999}", MacroContext::DomainSpec).unwrap();
        assert_eq!(huge.to_string(), "%{d4294967295}");
        assert_eq!(huge.expand(&values("192.0.2.3")).unwrap(), "email.example.com");
        // Splitting on several delimiters, with empty parts kept.
        let mut v = values("192.0.2.3");
        v.local_part = "a+b--c";
        let parsed = parse_macro_string("%{l+-}|%{lr+-}", MacroContext::DomainSpec).unwrap();
        assert_eq!(parsed.expand(&v).unwrap(), "a.b..c|c..b.a");
    }

    #[test]
    fn syntax_errors_name_the_problem() {
        let err = |s, ctx| parse_macro_string(s, ctx).unwrap_err();
        assert_eq!(err("foo%(ir)", MacroContext::DomainSpec), (3, SyntaxProblem::InvalidPercent));
        assert_eq!(err("x%", MacroContext::DomainSpec), (1, SyntaxProblem::InvalidPercent));
        assert_eq!(
            err("%{a}", MacroContext::DomainSpec),
            (0, SyntaxProblem::UnknownMacroLetter('a'))
        );
        assert_eq!(err("%{d", MacroContext::DomainSpec), (0, SyntaxProblem::MalformedMacro));
        assert_eq!(err("%{d2x}", MacroContext::DomainSpec), (0, SyntaxProblem::MalformedMacro));
        assert_eq!(err("%{d0}", MacroContext::DomainSpec), (0, SyntaxProblem::ZeroDigits));
        assert_eq!(
            err("%{r}.example.com", MacroContext::DomainSpec),
            (0, SyntaxProblem::ExplanationOnlyMacro('r'))
        );
        assert_eq!(err("a b", MacroContext::DomainSpec), (1, SyntaxProblem::InvalidCharacter(' ')));
        assert_eq!(err("é", MacroContext::Explanation), (0, SyntaxProblem::NonAscii('é')));
        assert_eq!(
            err("a\tb", MacroContext::Explanation),
            (1, SyntaxProblem::ControlCharacter('\t'))
        );
        assert!(parse_macro_string("%{r} %{c}", MacroContext::Explanation).is_ok());
        assert!(parse_macro_string("%{r}", MacroContext::ModifierValue).is_ok());
    }

    #[test]
    fn expansion_is_bounded() {
        let spec = "%{s}".repeat(1000);
        let parsed = parse_macro_string(&spec, MacroContext::DomainSpec).unwrap();
        assert_eq!(
            parsed.expand(&values("192.0.2.3")),
            Err(Error::ExpansionTooLong { limit: MAX_EXPANSION_LENGTH })
        );
    }
}
