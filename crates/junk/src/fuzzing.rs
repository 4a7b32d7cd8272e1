//! Entry points for the fuzz targets: each runs the code on arbitrary input and asserts the
//! properties its output always has (a panic is a finding).

use std::collections::HashSet;

use crate::tokenize::{MAX_WORD_LEN, html_words, message_words, text_words};
use crate::{Params, Words};

/// Tokenizes arbitrary bytes as a message with each n-gram setting (and, when they are UTF-8,
/// as plain text and as HTML), and checks the words:
///
/// - tokenizing is deterministic (the same words in the same order);
/// - words are distinct, and [`Words::contains`] and [`Words::len`] agree with the list;
/// - a word is an optional header prefix (`subject:`), then one to three words joined by
///   spaces, as many as the n-gram setting allows; each word is 3 to [`MAX_WORD_LEN`] bytes
///   of lower-case letters and digits (a `'` only between letters), not all digits, and no
///   header word is shorter than 4 bytes;
/// - the settings agree: the single words are the same whichever phrases are counted too,
///   the two-word phrases are the same with or without one-word and three-word ones, and
///   the parts of every phrase are counted (when single words are).
/// - HTML stripping never makes text longer.
pub fn tokenize(data: &[u8]) {
    let one = Params::default();
    let all = Params { twograms: true, threegrams: true, ..Params::default() };
    let two_only = Params { onegrams: false, twograms: true, ..Params::default() };
    let three_only = Params { onegrams: false, threegrams: true, ..Params::default() };
    for p in [&one, &all, &two_only, &three_only] {
        let words = message_words(data, p);
        check_words(&words, p);
        assert_eq!(list(&words), list(&message_words(data, p)), "tokenizing is deterministic");
    }

    let by_size = |p: &Params, n: usize| -> HashSet<String> {
        list(&message_words(data, p)).into_iter().filter(|w| parts(w).1.len() == n).collect()
    };
    assert_eq!(by_size(&one, 1), by_size(&all, 1), "single words independent of phrases");
    assert_eq!(by_size(&two_only, 2), by_size(&all, 2), "two-word phrases");
    assert_eq!(by_size(&three_only, 3), by_size(&all, 3), "three-word phrases");
    let all_words: HashSet<String> = list(&message_words(data, &all)).into_iter().collect();
    for w in &all_words {
        let (prefix, ws) = parts(w);
        for part in ws.iter().filter(|p| ws.len() > 1 && (prefix.is_none() || p.len() >= 4)) {
            let single = match prefix {
                Some(f) => format!("{f}:{part}"),
                None => part.to_string(),
            };
            assert!(all_words.contains(&single), "{single:?} of {w:?} not counted");
        }
    }

    if let Ok(s) = std::str::from_utf8(data) {
        for p in [&one, &all] {
            check_words(&text_words(s, p), p);
            check_words(&html_words(s, p), p);
        }
        let text = crate::html::text(s);
        assert!(text.len() <= s.len(), "HTML text {} bytes from {}", text.len(), s.len());
    }
}

fn list(words: &Words) -> Vec<String> {
    words.iter().map(str::to_string).collect()
}

/// A word's header prefix (without the colon) and its words.
fn parts(w: &str) -> (Option<&str>, Vec<&str>) {
    const FIELDS: [&str; 8] =
        ["from", "to", "cc", "bcc", "reply-to", "subject", "sender", "return-path"];
    let (prefix, rest) = match w.split_once(':') {
        Some((f, rest)) if FIELDS.contains(&f) => (Some(f), rest),
        _ => (None, w),
    };
    (prefix, rest.split(' ').collect())
}

fn check_words(words: &Words, p: &Params) {
    let list = list(words);
    assert_eq!(list.len(), words.len());
    let distinct: HashSet<&String> = list.iter().collect();
    assert_eq!(distinct.len(), list.len(), "words are distinct: {list:?}");
    for w in &list {
        assert!(words.contains(w), "{w:?}");
        let (prefix, ws) = parts(w);
        let allowed = match ws.len() {
            1 => p.onegrams,
            2 => p.twograms,
            3 => p.threegrams,
            _ => false,
        };
        assert!(allowed, "{w:?} with {p:?}");
        if prefix.is_some() {
            assert!(ws.iter().map(|w| w.len() + 1).sum::<usize>() > 4, "short header word {w:?}");
        }
        for part in ws {
            check_word(part, w);
        }
    }
}

/// One word: 3 to [`MAX_WORD_LEN`] bytes of lower-case letters and digits (with U+0307, which
/// lower-casing İ gives), an apostrophe only between letters, not all digits.
fn check_word(part: &str, w: &str) {
    assert!((3..=MAX_WORD_LEN).contains(&part.len()), "{part:?} in {w:?}");
    assert!(!part.bytes().all(|b| b.is_ascii_digit()), "{part:?} in {w:?}");
    let chars: Vec<char> = part.chars().collect();
    for (k, &c) in chars.iter().enumerate() {
        if c == '\'' {
            let between_letters = k > 0
                && chars[k - 1].is_alphabetic()
                && chars.get(k + 1).is_some_and(|n| n.is_alphabetic());
            assert!(between_letters, "apostrophe in {part:?} of {w:?}");
            continue;
        }
        assert!(c.is_alphanumeric() || c == '\u{307}', "{c:?} in {part:?} of {w:?}");
        assert!(c.to_lowercase().eq([c]), "{c:?} in {part:?} of {w:?} is not lower case");
    }
}
