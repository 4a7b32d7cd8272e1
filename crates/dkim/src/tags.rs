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
///
/// The grammar is regular, so this is a scanner over byte classes rather than parser
/// combinators: every DKIM-Signature of every message goes through it, and the byte loops
/// below take a fraction of the instructions nom's generic combinators did (a differential
/// test against that nom parser is in the tests).
pub(crate) fn parse_tag_list(input: &[u8]) -> Result<Vec<Tag<'_>>, ParseError> {
    let mut tags = Vec::with_capacity(16);
    for_each_tag(input, |tag| tags.push(tag))?;
    Ok(tags)
}

/// [`parse_tag_list`] handing each tag to `each` as it is found, so callers that look at a
/// few known tags keep no list. After an error, the tags before it have been handed over.
pub(crate) fn for_each_tag<'a>(
    input: &'a [u8],
    mut each: impl FnMut(Tag<'a>),
) -> Result<(), ParseError> {
    // The names seen, for refusing duplicates: on the stack for the usual dozen or so.
    let mut seen: [&str; 24] = [""; 24];
    let mut seen_more: Vec<&str> = Vec::new();
    let mut count = 0;
    let mut p = 0;
    loop {
        p = fws_end(input, p);
        if p == input.len() && count > 0 {
            // Whitespace after a final ";": tolerated, as many signers emit it.
            break;
        }
        let name_start = p;
        if !input.get(p).is_some_and(u8::is_ascii_alphabetic) {
            return Err(ParseError::Syntax { position: p, expected: "a tag name" });
        }
        p += 1;
        while input.get(p).is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_') {
            p += 1;
        }
        // Only ASCII was accepted.
        let name = std::str::from_utf8(&input[name_start..p]).unwrap_or_default();
        p = fws_end(input, p);
        if input.get(p) != Some(&b'=') {
            return Err(ParseError::Syntax { position: p, expected: "\"=\" after tag name" });
        }
        p += 1;
        let region_start = p;
        p = fws_end(input, p);
        let value_start = p;
        p = tag_value_end(input, p);
        let value = &input[value_start..p];
        p = fws_end(input, p);
        let region_end = p;
        // Compared byte by byte: names are short, a call to memcmp per pair costs more.
        let same = |t: &&str| t.len() == name.len() && t.bytes().eq(name.bytes());
        if seen[..count.min(seen.len())].iter().any(same) || seen_more.iter().any(same) {
            return Err(ParseError::DuplicateTag { tag: name.to_string() });
        }
        match seen.get_mut(count) {
            Some(slot) => *slot = name,
            None => seen_more.push(name),
        }
        count += 1;
        each(Tag { name, value, value_region: region_start..region_end });
        match input.get(p) {
            None => break,
            Some(b';') => p += 1,
            Some(_) => {
                return Err(ParseError::Syntax {
                    position: p,
                    expected: "\";\" or the end of the tag list",
                });
            }
        }
        if p == input.len() {
            break;
        }
    }
    Ok(())
}

/// Decodes a base64 tag value (`b=`, `bh=`, `p=`; RFC 6376 §3.5, §3.6.1) with the folding
/// whitespace in it ignored: standard alphabet, padding optional (some signers omit it) but
/// never more than the data needs, unused bits of the last symbol zero. `None` if invalid.
///
/// This is what the `base64` crate's decoder (with `DecodePaddingMode::Indifferent`) accepts
/// after the whitespace is removed, as a differential test checks; done here in one pass
/// because every verification decodes two or three such values, folded over several lines.
pub(crate) fn decode_base64(value: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; value.len() / 4 * 3 + 3];
    let mut o = 0;
    // Symbols of the current quantum (n of them, 6 bits each), and padding seen.
    let mut acc: u32 = 0;
    let mut n = 0;
    let mut pads = 0;
    let mut i = 0;
    loop {
        // Whole quanta of plain symbols: eight make six bytes, four three.
        if n == 0 && pads == 0 {
            while let (Some(src), Some(dst)) = (value.get(i..i + 8), out.get_mut(o..o + 6)) {
                let mut w = 0u64;
                let mut all = 0u8;
                for &c in src {
                    let v = B64[usize::from(c)];
                    all |= v;
                    w = (w << 6) | u64::from(v);
                }
                if all >= 64 {
                    break;
                }
                dst.copy_from_slice(&w.to_be_bytes()[2..]);
                i += 8;
                o += 6;
            }
            while let (Some(&[a, b, c, d]), Some(dst)) =
                (value.get(i..i + 4), out.get_mut(o..o + 3))
            {
                let (a, b, c, d) = (
                    u32::from(B64[usize::from(a)]),
                    u32::from(B64[usize::from(b)]),
                    u32::from(B64[usize::from(c)]),
                    u32::from(B64[usize::from(d)]),
                );
                if (a | b | c | d) >= 64 {
                    break;
                }
                let w = (a << 18) | (b << 12) | (c << 6) | d;
                dst.copy_from_slice(&w.to_be_bytes()[1..]);
                i += 4;
                o += 3;
            }
        }
        // One byte at a time around whitespace, padding and the end.
        let Some(&byte) = value.get(i) else { break };
        i += 1;
        match B64[usize::from(byte)] {
            t @ 0..=63 => {
                if pads > 0 {
                    return None;
                }
                acc = (acc << 6) | u32::from(t);
                n += 1;
                if n == 4 {
                    out.get_mut(o..o + 3)?.copy_from_slice(&acc.to_be_bytes()[1..]);
                    o += 3;
                    acc = 0;
                    n = 0;
                }
            }
            B64_PAD => pads += 1,
            B64_SKIP => {}
            _ => return None,
        }
    }
    match (n, pads) {
        (0, 0) => {}
        // Two symbols make one byte, the last 4 bits unused.
        (2, 0..=2) if acc & 0xf == 0 => {
            *out.get_mut(o)? = (acc >> 4) as u8;
            o += 1;
        }
        // Three make two, the last 2 bits unused.
        (3, 0..=1) if acc & 0x3 == 0 => {
            out.get_mut(o..o + 2)?.copy_from_slice(&(acc >> 2).to_be_bytes()[2..]);
            o += 2;
        }
        _ => return None,
    }
    out.truncate(o);
    Some(out)
}

const B64_PAD: u8 = 64;
const B64_SKIP: u8 = 65;
const B64_INVALID: u8 = 255;

/// Symbol values of the standard base64 alphabet, `=` and the FWS bytes marked.
static B64: [u8; 256] = {
    let mut t = [B64_INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t[b'=' as usize] = B64_PAD;
    t[b' ' as usize] = B64_SKIP;
    t[b'\t' as usize] = B64_SKIP;
    t[b'\r' as usize] = B64_SKIP;
    t[b'\n' as usize] = B64_SKIP;
    t
};

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

/// Where the run of VALCHAR starting at `p` ends. Base64 values make long runs, so eight bytes
/// are checked at a time while they are all VALCHAR: no byte below 0x21, `;` or DEL.
fn valchar_run_end(input: &[u8], mut p: usize) -> usize {
    use crate::swar::{has_below, has_byte, word_at};
    // Sixteen bytes at a time first, in a form the compiler makes vector instructions of.
    while let Some(chunk) = input.get(p..p + 16).and_then(|c| <&[u8; 16]>::try_from(c).ok()) {
        let stop = chunk
            .iter()
            .fold(0u8, |a, &b| a | u8::from(b < 0x21) | u8::from(b == b';') | u8::from(b == 0x7f));
        if stop != 0 {
            break;
        }
        p += 16;
    }
    while let Some(w) = word_at(input, p) {
        if has_below(w, 0x21) | has_byte(w, b';') | has_byte(w, 0x7f) {
            break;
        }
        p += 8;
    }
    while input.get(p).copied().is_some_and(is_valchar) {
        p += 1;
    }
    p
}

/// Where `FWS = ([*WSP CRLF] 1*WSP)` starting at `p` ends (`p` itself if there is none), with
/// a bare LF accepted for CRLF. Each repetition is an optional line break followed by at least
/// one WSP; a line break without WSP after it is not part of the FWS.
fn fws_end(input: &[u8], mut p: usize) -> usize {
    loop {
        let mut q = p;
        match input.get(q) {
            Some(b'\r') if input.get(q + 1) == Some(&b'\n') => q += 2,
            Some(b'\n') => q += 1,
            _ => {}
        }
        let wsp_start = q;
        while input.get(q).copied().is_some_and(is_wsp) {
            q += 1;
        }
        if q == wsp_start {
            return p;
        }
        p = q;
    }
}

/// Where `tag-value = [ tval *( 1*(WSP / FWS) tval ) ]` starting at `p` ends: FWS only between
/// runs of VALCHAR, never at the end.
fn tag_value_end(input: &[u8], mut p: usize) -> usize {
    loop {
        let run_start = p;
        p = valchar_run_end(input, p);
        if p == run_start {
            // Only reached at the start: after FWS a VALCHAR was checked for below.
            return p;
        }
        let q = fws_end(input, p);
        if q == p || !input.get(q).copied().is_some_and(is_valchar) {
            return p;
        }
        p = q;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tag-list parser as first written with nom combinators, straight from the grammar:
    /// the reference for the scanner above.
    mod reference {
        use nom::bytes::complete::{take_while, take_while1};
        use nom::character::complete::{char, satisfy};
        use nom::combinator::{opt, recognize};
        use nom::multi::{many0_count, many1_count};
        use nom::{IResult, Parser};

        use super::super::{Tag, is_valchar, is_wsp};
        use crate::error::ParseError;

        pub(super) fn parse_tag_list(input: &[u8]) -> Result<Vec<Tag<'_>>, ParseError> {
            let mut tags: Vec<Tag<'_>> = Vec::with_capacity(16);
            let pos = |rest: &[u8]| input.len() - rest.len();
            let mut rest = input;
            loop {
                let (r, _) = opt_fws(rest);
                rest = r;
                if rest.is_empty() && !tags.is_empty() {
                    break;
                }
                let (r, name) = tag_name(rest).map_err(|_| ParseError::Syntax {
                    position: pos(rest),
                    expected: "a tag name",
                })?;
                let (r, _) = opt_fws(r);
                let (r, _) = char::<_, nom::error::Error<&[u8]>>('=').parse(r).map_err(|_| {
                    ParseError::Syntax { position: pos(r), expected: "\"=\" after tag name" }
                })?;
                let region_start = pos(r);
                let (r, _) = opt_fws(r);
                let value_start = pos(r);
                let (r, value) = tag_value(r).map_err(|_| ParseError::Syntax {
                    position: pos(r),
                    expected: "a tag value",
                })?;
                let (r, _) = opt_fws(r);
                let region_end = pos(r);
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

        type Res<'a, O> = IResult<&'a [u8], O>;

        fn fws(i: &[u8]) -> Res<'_, &[u8]> {
            recognize(many1_count((opt((opt(char('\r')), char('\n'))), take_while1(is_wsp))))
                .parse(i)
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

        fn tag_value(i: &[u8]) -> Res<'_, &[u8]> {
            recognize(opt((take_while1(is_valchar), many0_count((fws, take_while1(is_valchar))))))
                .parse(i)
        }
    }

    #[test]
    fn long_values_match_the_nom_reference() {
        // Runs long enough for the 16- and 8-byte steps, with a byte that ends or breaks the
        // value at every position.
        const FILL: &[u8] = b"AZaz09+/=:@~\xc3\xa9!";
        for len in 0..70 {
            for at in 0..=len {
                for stop in [b';', b' ', b'\r', b'\n', b'\t', 0x7f, 0x00, 0x20, b'!'] {
                    let mut input = b"v=1; b=".to_vec();
                    input.extend((0..len).map(|i| FILL[(i * 7 + len) % FILL.len()]));
                    input.insert(7 + at, stop);
                    input.extend_from_slice(b"; x=y");
                    assert_eq!(
                        parse_tag_list(&input),
                        reference::parse_tag_list(&input),
                        "{input:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn base64_matches_the_base64_crate() {
        use base64::Engine;
        let reference = |value: &[u8]| {
            let stripped: Vec<u8> =
                value.iter().copied().filter(|b| !b" \t\r\n".contains(b)).collect();
            crate::signature::BASE64.decode(stripped).ok()
        };
        const SYMBOLS: &[u8] = b"AQgw/+9zBA==  \r\n\t;-_.\xc3";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut value = Vec::new();
        let mut valid = 0;
        for _ in 0..300_000 {
            value.clear();
            for _ in 0..next(14) {
                value.push(SYMBOLS[next(SYMBOLS.len())]);
            }
            let got = decode_base64(&value);
            valid += usize::from(got.is_some());
            assert_eq!(got, reference(&value), "{:?}", String::from_utf8_lossy(&value));
        }
        assert!(valid > 10_000, "{valid}");
        // Real sizes: every length of random data, encoded, folded, padded or not.
        for len in 0..300 {
            let data: Vec<u8> = (0..len).map(|_| next(256) as u8).collect();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
            let folded: Vec<u8> = b64
                .as_bytes()
                .chunks(1 + next(80))
                .flat_map(|c| c.iter().copied().chain(*b"\r\n\t"))
                .collect();
            assert_eq!(decode_base64(&folded).as_deref(), Some(&data[..]));
            assert_eq!(
                decode_base64(b64.trim_end_matches('=').as_bytes()).as_deref(),
                Some(&data[..])
            );
        }
    }

    #[test]
    fn valchar_runs() {
        let mut input = vec![b'A'; 40];
        assert_eq!(valchar_run_end(&input, 0), 40);
        for (i, stop) in [(0, b' '), (7, b';'), (8, 0x7f), (9, b'\t'), (31, 0), (39, b'\n')] {
            input[i] = stop;
            assert_eq!(valchar_run_end(&input, 0), i, "{stop}");
            input[i] = 0xc3;
            assert_eq!(valchar_run_end(&input, 0), 40);
        }
        for b in 0..=255u8 {
            let mut input = vec![b'='; 20];
            input[13] = b;
            let want = if is_valchar(b) { 20 } else { 13 };
            assert_eq!(valchar_run_end(&input, 0), want, "{b}");
        }
    }

    #[test]
    fn scanner_matches_the_nom_reference() {
        // Random tag lists built from pieces that matter to the grammar, now and then a piece
        // that breaks it, and sometimes one byte changed: valid lists and every error.
        const NAMES: &[&[u8]] = &[b"a", b"b", b"bh", b"v", b"z_9", b"Q1", b"d", b"s", b"t", b"h"];
        const BAD_NAMES: &[&[u8]] = &[b"1x", b"", b"_", b"\xc3\xa9"];
        const FWS: &[&[u8]] = &[b"", b"", b" ", b"\t ", b"\r\n ", b"\n\t", b" \r\n\t\t"];
        const BAD_FWS: &[&[u8]] = &[b"\r\n", b"\r ", b" \r\n", b"\n", b"\r"];
        const VALUE: &[&[u8]] =
            &[b"A", b"z", b"0", b"+", b"/", b"=", b":", b"@", b"\xc3\xa9", b"~"];
        const BAD_VALUE: &[&[u8]] = &[b";", b"\x01", b"\x7f", b"\x00", b"\r", b"\n", b" ", b"\t"];
        struct Rng(u64);
        impl Rng {
            fn below(&mut self, n: usize) -> usize {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 % n as u64) as usize
            }
            fn piece(&mut self, good: &[&'static [u8]], bad: &[&'static [u8]]) -> &'static [u8] {
                if self.below(60) == 0 {
                    bad[self.below(bad.len())]
                } else {
                    good[self.below(good.len())]
                }
            }
        }
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut input = Vec::new();
        let mut outcomes = [0usize; 3];
        for _ in 0..300_000 {
            input.clear();
            for t in 0..1 + rng.below(4) {
                if t > 0 {
                    input.push(b';');
                }
                input.extend_from_slice(rng.piece(FWS, BAD_FWS));
                input.extend_from_slice(rng.piece(NAMES, BAD_NAMES));
                input.extend_from_slice(rng.piece(FWS, BAD_FWS));
                input.push(b'=');
                for _ in 0..rng.below(5) {
                    input.extend_from_slice(rng.piece(FWS, BAD_FWS));
                    for _ in 0..rng.below(4) {
                        input.extend_from_slice(rng.piece(VALUE, BAD_VALUE));
                    }
                }
                input.extend_from_slice(rng.piece(FWS, BAD_FWS));
            }
            if rng.below(2) == 0 {
                input.push(b';');
                input.extend_from_slice(rng.piece(FWS, BAD_FWS));
            }
            if rng.below(4) == 0 && !input.is_empty() {
                let i = rng.below(input.len());
                input[i] = rng.piece(BAD_VALUE, VALUE)[0];
            }
            let got = parse_tag_list(&input);
            outcomes[match &got {
                Ok(_) => 0,
                Err(ParseError::DuplicateTag { .. }) => 1,
                Err(_) => 2,
            }] += 1;
            assert_eq!(got, reference::parse_tag_list(&input), "{input:?}");
        }
        // Each outcome is reached often.
        assert!(outcomes.iter().all(|&n| n > 20_000), "{outcomes:?}");
        for field in [
            &b" v=1; a=rsa-sha256; d=example.org; s=sel;\r\n\th=From:To; bh=AAAA; b=BB\r\n\tBB; "[..],
            b"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR\n iGs5V6",
            b"\r\n a = b \r\n ; \r\n",
        ] {
            assert_eq!(parse_tag_list(field), reference::parse_tag_list(field));
        }
    }

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
