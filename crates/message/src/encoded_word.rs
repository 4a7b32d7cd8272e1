//! RFC 2047 encoded words: `=?charset?B?...?=` and `=?charset?Q?...?=` in header text.
//!
//! ```text
//! encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
//! charset      = token    ; RFC 2231 §5 adds "*" language
//! encoding     = "B" / "Q"
//! ```

use std::borrow::Cow;

use encoding_rs::Encoding;

use crate::transfer::{decode_base64, decode_q};

/// Decodes the encoded words in header text (RFC 2047 §6).
///
/// Whitespace between two adjacent encoded words is removed (§6.2), and adjacent words in the
/// same charset are joined before charset decoding, so a multi-byte character split over two
/// words decodes correctly. As mail readers do, encoded words are also recognized inside
/// other text and quoted strings. A word with an unknown charset, or that is malformed, is kept
/// as it is. Charsets are those of the WHATWG Encoding Standard (UTF-8, ISO-8859-x,
/// Windows-125x, KOI8, GB18030, Big5, Shift_JIS, EUC-JP/KR, ISO-2022-JP, ...).
///
/// ```
/// use message::decode_encoded_words;
/// assert_eq!(decode_encoded_words("=?UTF-8?B?Y2Fmw6k=?= =?iso-8859-1?q?cr=E8me?= ok"), "cafécrème ok");
/// assert_eq!(decode_encoded_words("no words"), "no words");
/// ```
pub fn decode_encoded_words(text: &str) -> Cow<'_, str> {
    if !text.contains("=?") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    // Bytes of the current run of adjacent encoded words in one charset, not yet decoded.
    let mut pending: Option<(&'static Encoding, Vec<u8>)> = None;
    // Text after the last encoded word that may be only whitespace between two words.
    let mut gap_start: Option<usize> = None;
    let mut pos = 0;
    let mut literal_start = 0;
    let mut scan = Scan::default();
    while let Some(found) = text[pos..].find("=?") {
        let start = pos + found;
        let Some((encoding, bytes, end)) = parse_word(text, start, &mut scan) else {
            pos = start + 2;
            continue;
        };
        let between = &text[literal_start..start];
        let adjacent = gap_start.is_some() && between.bytes().all(|b| b.is_ascii_whitespace());
        if !adjacent {
            flush(&mut out, &mut pending);
            out.push_str(between);
        }
        match &mut pending {
            Some((enc, buf)) if *enc == encoding => buf.extend_from_slice(&bytes),
            _ => {
                flush(&mut out, &mut pending);
                pending = Some((encoding, bytes));
            }
        }
        gap_start = Some(end);
        pos = end;
        literal_start = end;
    }
    flush(&mut out, &mut pending);
    out.push_str(&text[literal_start..]);
    Cow::Owned(out)
}

/// Encodes `text` for an unstructured header value or a display name (RFC 2047 §5): returned
/// unchanged if it is printable ASCII without `=?`, otherwise as UTF-8 Q encoded words of at
/// most 75 characters each, separated by spaces (which decoding removes).
///
/// ```
/// use message::{decode_encoded_words, encode_encoded_words};
/// assert_eq!(encode_encoded_words("plain"), "plain");
/// assert_eq!(encode_encoded_words("café"), "=?utf-8?q?caf=C3=A9?=");
/// let long = "ü".repeat(100);
/// assert_eq!(decode_encoded_words(&encode_encoded_words(&long)), long);
/// ```
pub fn encode_encoded_words(text: &str) -> Cow<'_, str> {
    let printable = text.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
    if printable && !text.contains("=?") {
        return Cow::Borrowed(text);
    }
    const PREFIX: &str = "=?utf-8?q?";
    const MAX_TEXT: usize = 75 - PREFIX.len() - 2;
    let mut out = String::new();
    let mut word = String::new();
    for c in text.chars() {
        let mut buf = [0u8; 4];
        let mut encoded = String::new();
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            if b.is_ascii_alphanumeric() || b"!*+-/".contains(&b) {
                encoded.push(b as char);
            } else if b == b' ' {
                encoded.push('_');
            } else {
                encoded.push_str(&format!("={b:02X}"));
            }
        }
        if word.len() + encoded.len() > MAX_TEXT {
            push_word(&mut out, &word);
            word.clear();
        }
        word.push_str(&encoded);
    }
    push_word(&mut out, &word);
    Cow::Owned(out)
}

fn push_word(out: &mut String, word: &str) {
    if word.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str("=?utf-8?q?");
    out.push_str(word);
    out.push_str("?=");
}

fn flush(out: &mut String, pending: &mut Option<(&'static Encoding, Vec<u8>)>) {
    if let Some((encoding, bytes)) = pending.take() {
        out.push_str(&encoding.decode_without_bom_handling(&bytes).0);
    }
}

/// Parses the encoded word at `text[start..]` (which starts with "=?"): its charset, decoded
/// bytes, and the offset after it.
fn parse_word(
    text: &str,
    start: usize,
    scan: &mut Scan,
) -> Option<(&'static Encoding, Vec<u8>, usize)> {
    let rest = &text[start + 2..];
    let q1 = rest.find('?')?;
    let charset = &rest[..q1];
    // RFC 2231 §5: a language after "*".
    let charset = charset.split('*').next().unwrap_or(charset);
    if charset.is_empty() || !charset.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let kind = *rest.as_bytes().get(q1 + 1)?;
    if rest.as_bytes().get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = start + 2 + q1 + 3;
    let text_end = scan.next_end(text, text_start)?;
    if scan.next_bad(text, text_start).is_some_and(|bad| bad < text_end) {
        return None;
    }
    let encoding = charset_encoding(charset)?;
    let encoded = &text.as_bytes()[text_start..text_end];
    let bytes = match kind {
        b'B' | b'b' => decode_base64(encoded),
        b'Q' | b'q' => decode_q(encoded),
        _ => return None,
    };
    Some((encoding, bytes, text_end + 2))
}

/// Cached forward searches, so that many "=?" in a long value cost linear time, not quadratic:
/// positions only grow, and a search result stays valid until the position passes it.
#[derive(Default)]
struct Scan {
    /// (searched from, first "?=" at or after it).
    end: Option<(usize, Option<usize>)>,
    /// (searched from, first whitespace or non-ASCII byte at or after it).
    bad: Option<(usize, Option<usize>)>,
}

impl Scan {
    fn next_end(&mut self, text: &str, from: usize) -> Option<usize> {
        cached(&mut self.end, from, || {
            memchr::memmem::find(&text.as_bytes()[from..], b"?=").map(|i| from + i)
        })
    }

    fn next_bad(&mut self, text: &str, from: usize) -> Option<usize> {
        cached(&mut self.bad, from, || {
            text.as_bytes()[from..]
                .iter()
                .position(|b| b.is_ascii_whitespace() || !b.is_ascii())
                .map(|i| from + i)
        })
    }
}

fn cached(
    cache: &mut Option<(usize, Option<usize>)>,
    from: usize,
    search: impl FnOnce() -> Option<usize>,
) -> Option<usize> {
    if let Some((searched_from, found)) = *cache
        && from >= searched_from
        && found.is_none_or(|at| from <= at)
    {
        return found;
    }
    let found = search();
    *cache = Some((from, found));
    found
}

/// The encoding for a MIME charset name. WHATWG maps ISO-8859-1 and US-ASCII to
/// Windows-1252, a superset, which is what mail in those charsets needs in practice.
pub(crate) fn charset_encoding(charset: &str) -> Option<&'static Encoding> {
    Encoding::for_label_no_replacement(charset.trim().as_bytes()).or_else(|| {
        // A few aliases seen in mail that WHATWG does not list.
        let lower = charset.trim().to_ascii_lowercase();
        match lower.as_str() {
            "utf8" | "unicode-1-1-utf-8" | "x-unicode20utf8" => Some(encoding_rs::UTF_8),
            "cp1252" | "ansi_x3.4-1968" | "646" | "ascii" => Some(encoding_rs::WINDOWS_1252),
            "cp1250" => Some(encoding_rs::WINDOWS_1250),
            "cp1251" => Some(encoding_rs::WINDOWS_1251),
            "cp932" | "ms932" | "windows-31j" => Some(encoding_rs::SHIFT_JIS),
            "cp936" => Some(encoding_rs::GBK),
            "cp949" | "ks_c_5601" => Some(encoding_rs::EUC_KR),
            "iso-8859-8-i" => Some(encoding_rs::ISO_8859_8_I),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2047_section8_examples() {
        let cases = [
            ("(=?ISO-8859-1?Q?a?=)", "(a)"),
            ("(=?ISO-8859-1?Q?a?= b)", "(a b)"),
            ("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
            ("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"),
            ("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"),
            ("(=?ISO-8859-1?Q?a_b?=)", "(a b)"),
            ("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"),
            ("=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"),
            ("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld Jørn Simonsen"),
            ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
            (
                "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
                "If you can read this you understand the example.",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(decode_encoded_words(input), want, "{input:?}");
        }
    }

    #[test]
    fn charsets() {
        let cases = [
            ("=?windows-1251?B?8e/g8ejh7g==?=", "спасибо"),
            ("=?iso-8859-15?q?=A4?=", "€"),
            ("=?iso-8859-2?q?=B1?=", "ą"),
            ("=?windows-1252?q?=80?=", "€"),
            ("=?koi8-r?b?8NLJ18XU?=", "Привет"),
            ("=?utf-8*en?q?hi?=", "hi"),
            ("=?UTF8?Q?=C3=A9?=", "é"),
            ("=?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは"),
            ("=?shift_jis?B?grGC8YLJgr+CzQ==?=", "こんにちは"),
        ];
        for (input, want) in cases {
            assert_eq!(decode_encoded_words(input), want, "{input:?}");
        }
    }

    #[test]
    fn split_multibyte_character_across_words() {
        // "é" is C3 A9, split over two words.
        assert_eq!(decode_encoded_words("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?="), "café");
    }

    #[test]
    fn malformed_words_kept() {
        for input in [
            "=?unknown-charset?q?x?=",
            "=?utf-8?x?abc?=",
            "=?utf-8?q?no end",
            "=??q?x?=",
            "=?utf-8?q?has space?=",
            "a =? b",
            "=?",
        ] {
            assert_eq!(decode_encoded_words(input), input);
        }
        // A malformed word does not hide a good one after it.
        assert_eq!(decode_encoded_words("=?x?y =?utf-8?q?ok?="), "=?x?y ok");
    }

    #[test]
    fn many_unfinished_words_take_linear_time() {
        for unit in ["=?cs?q?a", "=?utf-8?q?a =?", "=?zz?q?a=?zz?q?b"] {
            let text = unit.repeat(200_000) + "?=";
            let started = std::time::Instant::now();
            let _ = decode_encoded_words(&text);
            assert!(started.elapsed().as_secs() < 5, "{unit:?}: {:?}", started.elapsed());
        }
    }

    #[test]
    fn words_inside_other_text() {
        assert_eq!(decode_encoded_words("pre=?utf-8?q?mid?=post"), "premidpost");
        assert_eq!(decode_encoded_words("a =?utf-8?q?b?= c"), "a b c");
    }

    #[test]
    fn encode_round_trips() {
        for text in [
            "",
            "a",
            "café au lait",
            "=?utf-8?q?x?=",
            "tab\there",
            "日本語のテキスト".repeat(10).as_str(),
        ] {
            let encoded = encode_encoded_words(text);
            assert!(encoded.split(' ').all(|w| w.len() <= 75), "{encoded}");
            assert_eq!(decode_encoded_words(&encoded), text, "{encoded}");
        }
    }
}
