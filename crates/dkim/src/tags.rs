//! The `tag=value` lists of DKIM-Signature fields and key records (RFC 6376 §3.2).
//!
//! ```text
//! tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
//! tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//! tag-name  =  ALPHA *ALNUMPUNC
//! tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
//!                   ; Prohibits WSP and FWS at beginning and end
//! tval      =  1*VALCHAR
//! VALCHAR   =  %x21-3A / %x3C-7E
//!                   ; EXCLAMATION to TILDE except SEMICOLON
//! ALNUMPUNC =  ALPHA / DIGIT / "_"
//! ```
//!
//! FWS may hold a bare LF instead of CRLF (messages stored with Unix line endings), and values may
//! hold UTF-8 (internationalized mail, RFC 8616 §4).

use std::ops::Range;

use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::{char, satisfy};
use nom::combinator::{opt, recognize};
use nom::multi::{many0_count, many1_count};
use nom::{IResult, Parser};

use crate::error::ParseError;

/// One tag of a tag list, borrowing from the parsed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag<'a> {
    /// The tag name, case-sensitive (RFC 6376 §3.2).
    pub(crate) name: &'a str,
    /// The value without the whitespace around it; whitespace and folding inside are kept.
    pub(crate) value: &'a [u8],
    /// Where the value lies in the input including the whitespace around it: from just after
    /// `=` to just before `;` or the end. This is what is removed from `b=` (RFC 6376 §3.7).
    pub(crate) value_region: Range<usize>,
}

/// Parses a tag list. Tag names must be unique; unknown names are returned too (callers ignore
/// them, as RFC 6376 §3.2 requires).
pub(crate) fn parse_tag_list(input: &[u8]) -> Result<Vec<Tag<'_>>, ParseError> {
    let mut tags: Vec<Tag<'_>> = Vec::with_capacity(16);
    let pos = |rest: &[u8]| input.len() - rest.len();
    let mut rest = input;
    loop {
        let (r, _) = opt_fws(rest);
        rest = r;
        if rest.is_empty() && !tags.is_empty() {
            // Whitespace after a final ";": tolerated, as many signers emit it.
            break;
        }
        let (r, name) = tag_name(rest)
            .map_err(|_| ParseError::Syntax { position: pos(rest), expected: "a tag name" })?;
        let (r, _) = opt_fws(r);
        let (r, _) = char::<_, nom::error::Error<&[u8]>>('=').parse(r).map_err(|_| {
            ParseError::Syntax { position: pos(r), expected: "\"=\" after tag name" }
        })?;
        let region_start = pos(r);
        let (r, _) = opt_fws(r);
        let value_start = pos(r);
        let (r, value) = tag_value(r)
            .map_err(|_| ParseError::Syntax { position: pos(r), expected: "a tag value" })?;
        let (r, _) = opt_fws(r);
        let region_end = pos(r);
        // tag_name only accepts ASCII.
        let name = std::str::from_utf8(name).unwrap_or_default();
        if tags.iter().any(|t| t.name == name) {
            return Err(ParseError::DuplicateTag { tag: name.to_string() });
        }
        tags.push(Tag {
            name,
            value: &input[value_start..value_start + value.len()],
            value_region: region_start..region_end,
        });
        rest = r;
        match rest.first() {
            None => break,
            Some(b';') => rest = &rest[1..],
            Some(_) => {
                return Err(ParseError::Syntax {
                    position: pos(rest),
                    expected: "\";\" or the end of the tag list",
                });
            }
        }
        if rest.is_empty() {
            break;
        }
    }
    Ok(tags)
}

/// Removes folding whitespace from a tag value (base64 values, RFC 6376 §3.5 `b=`).
pub(crate) fn strip_fws(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    out.extend(value.iter().copied().filter(|&b| !is_fws_byte(b)));
    out
}

/// Splits a colon-separated value (`h=`, `q=`, key record `h=`, `s=`, `t=`) and trims FWS
/// around each element.
pub(crate) fn split_colon_list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b':').map(trim_fws)
}

/// Trims WSP, CR and LF at both ends.
pub(crate) fn trim_fws(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if is_fws_byte(*first) {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if is_fws_byte(*last) {
            b = rest;
        } else {
            break;
        }
    }
    b
}

fn is_fws_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_valchar(b: u8) -> bool {
    // UTF-8 bytes are accepted for internationalized identities (RFC 8616).
    matches!(b, 0x21..=0x3a | 0x3c..=0x7e) || b >= 0x80
}

type Res<'a, O> = IResult<&'a [u8], O>;

/// `FWS = ([*WSP CRLF] 1*WSP)`, with a bare LF accepted for CRLF.
fn fws(i: &[u8]) -> Res<'_, &[u8]> {
    recognize(many1_count((opt((opt(char('\r')), char('\n'))), take_while1(is_wsp)))).parse(i)
}

fn opt_fws(i: &[u8]) -> (&[u8], Option<&[u8]>) {
    match fws(i) {
        Ok((r, f)) => (r, Some(f)),
        Err(_) => (i, None),
    }
}

fn tag_name(i: &[u8]) -> Res<'_, &[u8]> {
    recognize((
        satisfy(|c: char| c.is_ascii_alphabetic()),
        take_while(|b: u8| b.is_ascii_alphanumeric() || b == b'_'),
    ))
    .parse(i)
}

/// `tag-value`: possibly empty; FWS only between tvals.
fn tag_value(i: &[u8]) -> Res<'_, &[u8]> {
    recognize(opt((take_while1(is_valchar), many0_count((fws, take_while1(is_valchar)))))).parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_values(input: &str) -> Vec<(String, String)> {
        parse_tag_list(input.as_bytes())
            .unwrap()
            .into_iter()
            .map(|t| (t.name.to_string(), String::from_utf8(t.value.to_vec()).unwrap()))
            .collect()
    }

    #[test]
    fn simple_list_with_and_without_final_semicolon() {
        let want = vec![("v".into(), "1".into()), ("a".into(), "rsa-sha256".into())];
        assert_eq!(names_values("v=1; a=rsa-sha256"), want);
        assert_eq!(names_values("v=1;a=rsa-sha256;"), want);
        assert_eq!(names_values(" v = 1 ;\r\n\ta=rsa-sha256; \r\n "), want);
    }

    #[test]
    fn folding_inside_values_is_kept_and_empty_values_allowed() {
        let tags = names_values("h=From : To\r\n :Subject; b=; p=abc\n def");
        assert_eq!(tags[0].1, "From : To\r\n :Subject");
        assert_eq!(tags[1].1, "");
        assert_eq!(tags[2].1, "abc\n def");
        assert_eq!(strip_fws(b"ab c\r\n\tde"), b"abcde");
        let h: Vec<_> = split_colon_list(b"From : To\r\n :Subject").collect();
        assert_eq!(h, [&b"From"[..], b"To", b"Subject"]);
    }

    #[test]
    fn value_region_includes_surrounding_whitespace() {
        let input = b"a=1; b = abc\r\n def ; c=2";
        let tags = parse_tag_list(input).unwrap();
        let b = &tags[1];
        assert_eq!(b.value, b"abc\r\n def");
        assert_eq!(&input[b.value_region.clone()], b" abc\r\n def ");
        let tags = parse_tag_list(b"b=xyz").unwrap();
        assert_eq!(tags[0].value_region, 2..5);
    }

    #[test]
    fn errors_say_where_and_what() {
        assert_eq!(
            parse_tag_list(b"v=1; =x"),
            Err(ParseError::Syntax { position: 5, expected: "a tag name" })
        );
        assert_eq!(
            parse_tag_list(b"v=1; a"),
            Err(ParseError::Syntax { position: 6, expected: "\"=\" after tag name" })
        );
        assert_eq!(
            parse_tag_list(b"v=1 2 x\x01"),
            Err(ParseError::Syntax { position: 7, expected: "\";\" or the end of the tag list" })
        );
        assert_eq!(parse_tag_list(b"v=1; v=2"), Err(ParseError::DuplicateTag { tag: "v".into() }));
        // A line break must be followed by whitespace to be folding.
        assert!(parse_tag_list(b"v=1;\r\na=b").is_err());
        assert!(parse_tag_list(b"").is_err());
        assert!(parse_tag_list(b"1v=2").is_err());
    }

    #[test]
    fn utf8_values_are_accepted() {
        let tags = names_values("i=jöran@example.org");
        assert_eq!(tags[0].1, "jöran@example.org");
    }
}
