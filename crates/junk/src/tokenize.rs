//! Turning a message into the set of words the filter counts.
//!
//! Words come from the decoded text parts (HTML with its markup, scripts and styles removed;
//! base64 and quoted-printable undone and charsets converted by the `message` crate), from
//! embedded messages, and from the address and subject header fields, whose words are counted
//! apart: `subject:viagra` is another word than `viagra`. Words are lower-cased runs of
//! letters and digits (an apostrophe between letters stays: `don't`), at least 3 bytes, not
//! all digits, not numbers or random-looking strings (which are unique per message and teach
//! nothing), at most [`MAX_WORD_LEN`] bytes. Per [`Params`], consecutive words also make
//! two- and three-word phrases.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use message::{Message, Part};

use crate::Params;

/// Longest word kept, in bytes.
pub const MAX_WORD_LEN: usize = 100;

/// Header fields whose words count, each as its own vocabulary.
const HEADER_FIELDS: [&str; 8] =
    ["from", "to", "cc", "bcc", "reply-to", "subject", "sender", "return-path"];

/// The distinct words of a message, each with its hash (for the word table).
///
/// The words' text sits in one buffer; the set of hashes seen keeps them distinct, so adding
/// a word seen before costs one hash and one probe, and nothing is copied.
#[derive(Debug, Clone, Default)]
pub struct Words {
    text: String,
    entries: Vec<(u64, u32, u32)>,
    seen: HashSet<u64, BuildHasherDefault<IdentityHasher>>,
}

impl Words {
    /// Room for the words of about `bytes` bytes of text: a 10 KB message has a few hundred
    /// distinct words, and nearly as many distinct phrases of each length as words (one per
    /// 6 bytes or so). Reserving avoids most regrowing of the set without zeroing a large one.
    fn for_text_of(bytes: usize, params: &Params) -> Words {
        let phrases = usize::from(params.twograms) + usize::from(params.threegrams);
        let n = (bytes / 24 + phrases * bytes / 6).clamp(16, 16384);
        Words {
            text: String::with_capacity(n * 8 + phrases * bytes * 2),
            entries: Vec::with_capacity(n),
            seen: HashSet::with_capacity_and_hasher(n, BuildHasherDefault::default()),
        }
    }

    /// The words, in the order first seen.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|&(_, s, l)| &self.text[s as usize..(s + l) as usize])
    }

    /// The words with their hashes.
    pub(crate) fn hashed(&self) -> impl Iterator<Item = (u64, &str)> + '_ {
        self.entries.iter().map(|&(h, s, l)| (h, &self.text[s as usize..(s + l) as usize]))
    }

    /// Number of distinct words.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `word` is among them.
    pub fn contains(&self, word: &str) -> bool {
        self.seen.contains(&word_hash(word))
    }

    /// Adds the phrase of `words` (joined by spaces), with `prefix` and a colon before it if
    /// given. It is built where it would be kept, and dropped again if seen before.
    fn add_phrase(&mut self, prefix: Option<&str>, words: &[&str]) {
        let start = self.text.len();
        if let Some(p) = prefix {
            self.text.push_str(p);
            self.text.push(':');
        }
        for (k, w) in words.iter().enumerate() {
            if k > 0 {
                self.text.push(' ');
            }
            self.text.push_str(w);
        }
        let len = self.text.len() - start;
        let h = word_hash(&self.text[start..]);
        if len > 3 * MAX_WORD_LEN + 2 || !self.seen.insert(h) {
            self.text.truncate(start);
            return;
        }
        self.entries.push((h, start as u32, len as u32));
    }

    #[inline]
    fn add(&mut self, word: &str) {
        if word.len() > 3 * MAX_WORD_LEN + 2 {
            return;
        }
        let h = word_hash(word);
        if self.seen.insert(h) {
            let start = self.text.len() as u32;
            self.text.push_str(word);
            self.entries.push((h, start, word.len() as u32));
        }
    }
}

/// The words of a message (all of it: header and body).
pub fn message_words(data: &[u8], params: &Params) -> Words {
    let msg = Message::parse(data);
    let mut words = Words::for_text_of(data.len(), params);
    let mut scratch = Tokenizer::new(params);
    for field in msg.header().iter() {
        let name = field.name();
        let Some(prefix) = HEADER_FIELDS.iter().find(|f| f.eq_ignore_ascii_case(name)) else {
            continue;
        };
        scratch.set_prefix(Some(prefix));
        scratch.text(&field.decoded_value(), &mut words);
    }
    scratch.set_prefix(None);
    part_words(msg.root(), &mut scratch, &mut words, 0);
    words
}

/// The words of plain text (no header prefixes), for tests and tools.
pub fn text_words(text: &str, params: &Params) -> Words {
    let mut words = Words::for_text_of(text.len(), params);
    Tokenizer::new(params).text(text, &mut words);
    words
}

/// The words of an HTML document's text.
pub fn html_words(html: &str, params: &Params) -> Words {
    let mut words = Words::for_text_of(html.len() / 2, params);
    Tokenizer::new(params).text(&crate::html::text(html), &mut words);
    words
}

fn part_words(part: &Part<'_>, t: &mut Tokenizer<'_>, words: &mut Words, depth: usize) {
    if depth > message::MAX_DEPTH {
        return;
    }
    if let Some(m) = part.embedded_message() {
        // A forwarded message: its header fields are not counted as ours.
        part_words(m, t, words, depth + 1);
        return;
    }
    if part.is_multipart() {
        for p in part.parts() {
            part_words(p, t, words, depth + 1);
        }
        return;
    }
    let ct = part.content_type();
    if ct.is("text", "html") {
        t.text(&crate::html::text(&part.decoded_text()), words);
    } else if ct.essence().starts_with("text/") {
        t.text(&part.decoded_text(), words);
    }
}

/// Splits text into words and hands the acceptable ones, with their n-grams, to [`Words`].
/// Its buffers are reused from word to word and from text to text.
struct Tokenizer<'p> {
    params: &'p Params,
    /// Header field name (lower case), for header words.
    prefix: Option<&'static str>,
    /// The word being read, lower-cased.
    word: String,
    /// Whether `word`'s last character is alphabetic (an apostrophe may follow it).
    last_alphabetic: bool,
    /// The last two words counted, for phrases.
    prev: String,
    prev2: String,
    /// Short words counted already ([`short_word_key`]), by [`recent_slot`]: a word found
    /// here needs no hashing and no lookup in [`Words`]. Usable when counting a word is only
    /// adding it (no header prefix, no phrases).
    recent: Box<[u64; RECENT_SLOTS]>,
    recent_usable: bool,
}

impl<'p> Tokenizer<'p> {
    /// A tokenizer for body text (see [`Tokenizer::set_prefix`]).
    fn new(params: &'p Params) -> Tokenizer<'p> {
        let mut t = Tokenizer {
            params,
            prefix: None,
            word: String::with_capacity(32),
            last_alphabetic: false,
            prev: String::new(),
            prev2: String::new(),
            recent: Box::new([0; RECENT_SLOTS]),
            recent_usable: false,
        };
        t.set_prefix(None);
        t
    }

    /// Sets the header field whose words are read next (`None`: the body).
    fn set_prefix(&mut self, prefix: Option<&'static str>) {
        self.prefix = prefix;
        let p = self.params;
        self.recent_usable = prefix.is_none() && p.onegrams && !p.twograms && !p.threegrams;
    }

    /// Words are runs of letters and digits (Unicode's alphanumeric), lower-cased; an
    /// apostrophe between two letters stays in the word. Everything else separates words.
    fn text(&mut self, text: &str, words: &mut Words) {
        self.prev.clear();
        self.prev2.clear();
        self.word.clear();
        self.last_alphabetic = false;
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            let class = BYTE_CLASS[usize::from(c)];
            if class & ALNUM != 0 {
                // A run of ASCII letters and digits. What the word rules need is gathered on
                // the way: the classes seen, and which of the first 64 bytes are consonants.
                let start = i;
                let (len, seen, consonants) = scan_run(&b[i..]);
                i += len;
                let next = b.get(i).copied();
                if self.word.is_empty() && next.is_none_or(|n| n.is_ascii() && n != b'\'') {
                    // The common case: a whole ASCII word, ended by ASCII punctuation or
                    // space (which ends no other word: it is skipped).
                    let run = &text[start..i];
                    i += 1;
                    if !acceptable_run(run, seen, consonants) {
                        continue;
                    }
                    // Most words of a message are words it had before: a short word in the
                    // recent-words cache was counted already.
                    let short =
                        if self.recent_usable { short_word_key(b, start, run.len()) } else { None };
                    if let Some(key) = short {
                        let slot = &mut self.recent[recent_slot(key)];
                        if *slot == key {
                            continue;
                        }
                        *slot = key;
                    }
                    if seen & UPPER == 0 {
                        self.count(run, words);
                    } else {
                        let mut w = std::mem::take(&mut self.word);
                        w.push_str(run);
                        w.make_ascii_lowercase();
                        self.count(&w, words);
                        w.clear();
                        self.word = w;
                    }
                    continue;
                }
                let at = self.word.len();
                self.word.push_str(&text[start..i]);
                self.word[at..].make_ascii_lowercase();
                self.last_alphabetic = b[i - 1].is_ascii_alphabetic();
                continue;
            }
            if c.is_ascii() {
                i += 1;
                if c == b'\'' && self.last_alphabetic && starts_alphabetic(&text[i..]) {
                    self.word.push('\'');
                    self.last_alphabetic = false;
                    continue;
                }
                self.end_word(words);
                continue;
            }
            let Some(ch) = text[i..].chars().next() else { break };
            i += ch.len_utf8();
            if ch.is_alphanumeric() {
                for l in ch.to_lowercase() {
                    self.word.push(l);
                    self.last_alphabetic = l.is_alphabetic();
                }
            } else {
                self.end_word(words);
            }
        }
        self.end_word(words);
    }

    /// Ends the word being built in the buffer.
    fn end_word(&mut self, words: &mut Words) {
        self.last_alphabetic = false;
        if self.word.is_empty() {
            return;
        }
        let w = std::mem::take(&mut self.word);
        if acceptable(&w) {
            self.count(&w, words);
        }
        self.word = w;
        self.word.clear();
    }

    /// Counts an acceptable word (lower case), with the phrases it ends.
    #[inline]
    fn count(&mut self, w: &str, words: &mut Words) {
        let p = self.params;
        if !p.twograms && !p.threegrams {
            if p.onegrams {
                self.add(&[w], words);
            }
            return;
        }
        if p.threegrams && !self.prev2.is_empty() && !self.prev.is_empty() {
            self.add(&[&self.prev2, &self.prev, w], words);
        }
        if p.twograms && !self.prev.is_empty() {
            self.add(&[&self.prev, w], words);
        }
        if p.onegrams {
            self.add(&[w], words);
        }
        // prev2 <- prev <- w, in the buffers they had.
        std::mem::swap(&mut self.prev, &mut self.prev2);
        self.prev.clear();
        self.prev.push_str(w);
    }

    /// Adds a word or phrase (of 1 to 3 words), with the header field's prefix if any.
    #[inline]
    fn add(&self, phrase: &[&str], words: &mut Words) {
        match (self.prefix, phrase) {
            (None, [w]) => words.add(w),
            (None, _) => words.add_phrase(None, phrase),
            (Some(f), _) => {
                // Header words of 3 bytes or less say little (mox skips them).
                let len = phrase.iter().map(|w| w.len() + 1).sum::<usize>() - 1;
                if len >= 4 {
                    words.add_phrase(Some(f), phrase);
                }
            }
        }
    }
}

const RECENT_SLOTS: usize = 256;

/// The word of `len` (3 to 8) ASCII letters and digits at `text[start..]`, lower-cased, as a
/// number: its bytes, little-endian, zero above. Exact (words have no zero bytes), so equal
/// keys are equal words. `None` for longer words and where fewer than 8 bytes remain (the
/// key is read as 8 bytes and masked).
#[inline(always)]
fn short_word_key(text: &[u8], start: usize, len: usize) -> Option<u64> {
    if len == 0 || len > 8 {
        return None;
    }
    let bytes: [u8; 8] = text.get(start..start + 8)?.try_into().ok()?;
    let mask = u64::MAX >> (64 - 8 * len);
    // Letters and digits all have bit 5 set in lower case (0x30-0x39, 0x61-0x7a).
    Some((u64::from_le_bytes(bytes) | 0x2020_2020_2020_2020) & mask)
}

/// The slot of a [`short_word_key`] in the recent-words cache (Fibonacci hashing).
#[inline(always)]
fn recent_slot(key: u64) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - RECENT_SLOTS.trailing_zeros())) as usize
}

/// The length of the run of ASCII letters and digits that `b` starts with, the classes of its
/// bytes, and a bit per consonant (or digit 2-9) among its first 64 bytes.
#[inline(always)]
fn scan_run(b: &[u8]) -> (usize, u8, u64) {
    let (mut seen, mut consonants) = (0u8, 0u64);
    for (k, &c) in b.iter().enumerate() {
        let class = BYTE_CLASS[usize::from(c)];
        if class & ALNUM == 0 {
            return (k, seen, consonants);
        }
        seen |= class;
        consonants |= u64::from(class & RANDOM != 0) << (k & 63);
    }
    (b.len(), seen, consonants)
}

/// Whether `s` starts with an alphabetic character.
fn starts_alphabetic(s: &str) -> bool {
    match s.as_bytes().first() {
        None => false,
        Some(c) if c.is_ascii() => c.is_ascii_alphabetic(),
        Some(_) => s.chars().next().is_some_and(char::is_alphabetic),
    }
}

/// Whether a word is worth counting: 3 to [`MAX_WORD_LEN`] bytes, not all digits, not
/// random-looking (a stretch of 6 or more consonants or digits 2-9 in an ASCII word, such as
/// `2fvu9stm9yxhnlu`: 0 and 1 stand in for o, l and i), not a number (after a `0x` prefix, a
/// run of 4 or more digits, or only digits and hex letters with a run of 3 digits). Numbers
/// and random strings are unique per message and teach nothing.
fn acceptable(w: &str) -> bool {
    let b = w.as_bytes();
    if b.len() <= 2 || b.len() > MAX_WORD_LEN {
        return false;
    }
    let (mut seen, mut stretch, mut longest) = (0u8, 0u32, 0u32);
    for &c in b {
        let class = BYTE_CLASS[usize::from(c)];
        seen |= class;
        stretch = if class & RANDOM != 0 { stretch + 1 } else { 0 };
        longest = longest.max(stretch);
    }
    if seen & NON_ASCII == 0 && longest >= 6 {
        return false;
    }
    seen & DIGIT == 0 || not_a_number(b)
}

/// [`acceptable`] for a run of ASCII letters and digits (either case), with the classes of its
/// bytes and a bit per consonant (or digit 2-9) among its first 64 bytes, gathered while
/// reading it.
#[inline]
fn acceptable_run(w: &str, seen: u8, consonants: u64) -> bool {
    if w.len() <= 2 || w.len() > MAX_WORD_LEN {
        return false;
    }
    if w.len() > 64 {
        return acceptable(&w.to_ascii_lowercase());
    }
    // Six consonants in a row: bits i..i+3 set, then two such runs overlapping by 2.
    let four = consonants & consonants >> 1;
    let four = four & four >> 2;
    if four & four >> 2 != 0 {
        return false;
    }
    seen & DIGIT == 0 || not_a_number(w.as_bytes())
}

/// The number rules of [`acceptable`], for a word with digits.
fn not_a_number(b: &[u8]) -> bool {
    if b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = b.strip_prefix(b"0x").unwrap_or(b);
    let (mut run, mut max_run, mut non_hex) = (0u32, 0u32, false);
    for &c in n {
        if c.is_ascii_digit() {
            run += 1;
            max_run = max_run.max(run);
        } else {
            non_hex |= !c.is_ascii_hexdigit();
            run = 0;
        }
    }
    !(max_run >= 4 || (!non_hex && max_run >= 3))
}

/// ASCII letters and digits.
const ALNUM: u8 = 1;
/// ASCII upper-case letters.
const UPPER: u8 = 2;
const DIGIT: u8 = 4;
/// Consonants (either case) and the digits 2-9, whose long stretches make a word
/// random-looking.
const RANDOM: u8 = 8;
/// Bytes of non-ASCII characters.
const NON_ASCII: u8 = 16;

/// What the tokenizer needs to know about a byte, in one lookup.
static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() {
            t[c] |= ALNUM;
        }
        if b.is_ascii_uppercase() {
            t[c] |= UPPER;
        }
        if b.is_ascii_digit() {
            t[c] |= DIGIT;
        }
        if matches!(b.to_ascii_lowercase(), b'b'..=b'd' | b'f'..=b'h' | b'j'..=b'n' | b'p'..=b't' | b'v'..=b'z' | b'2'..=b'9')
        {
            t[c] |= RANDOM;
        }
        if !b.is_ascii() {
            t[c] |= NON_ASCII;
        }
        c += 1;
    }
    t
};

/// [`acceptable`] as its rules read, one after the other: the reference it is tested against.
#[cfg(test)]
fn acceptable_reference(w: &str) -> bool {
    w.len() > 2
        && w.len() <= MAX_WORD_LEN
        && !w.bytes().all(|b| b.is_ascii_digit())
        && !looks_random(w)
        && !looks_numeric(w)
}

/// Random-looking ASCII strings (`2fvu9stm9yxhnlu`): a stretch of 6 or more consonants
/// (or digits 2-9: 0 and 1 stand in for o, l and i).
#[cfg(test)]
fn looks_random(w: &str) -> bool {
    if !w.is_ascii() {
        return false;
    }
    let mut stretch = 0;
    for b in w.bytes() {
        let consonant = matches!(b, b'b'..=b'd' | b'f'..=b'h' | b'j'..=b'n' | b'p'..=b't' | b'v'..=b'z' | b'2'..=b'9');
        if consonant {
            stretch += 1;
            if stretch >= 6 {
                return true;
            }
        } else {
            stretch = 0;
        }
    }
    false
}

/// Numbers: a run of 4 or more digits, or only digits and hex letters with a run of 3 digits.
#[cfg(test)]
fn looks_numeric(w: &str) -> bool {
    let w = w.strip_prefix("0x").unwrap_or(w);
    let (mut run, mut max_run, mut other) = (0, 0, false);
    for c in w.chars() {
        if c.is_ascii_digit() {
            run += 1;
            max_run = max_run.max(run);
            continue;
        }
        if !c.is_ascii_hexdigit() {
            other = true;
        }
        run = 0;
    }
    max_run >= 4 || (!other && max_run >= 3)
}

/// The hash of a word in this process (randomly seeded, so words cannot be chosen to
/// collide).
#[inline]
pub(crate) fn word_hash(word: &str) -> u64 {
    static STATE: LazyLock<foldhash::quality::RandomState> = LazyLock::new(Default::default);
    // The bytes alone: foldhash mixes in their length itself.
    let mut h = STATE.build_hasher();
    h.write(word.as_bytes());
    h.finish()
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &Words) -> Vec<&str> {
        let mut v: Vec<&str> = w.iter().collect();
        v.sort();
        v
    }

    #[test]
    fn text_case_folding_and_filters() {
        let p = Params::default();
        let w = text_words(
            "Hello HELLO hello, World! It's 2024 abc1234 x1 ab 0x1234ff qwrtzpk don't 'quoted'",
            &p,
        );
        assert_eq!(words(&w), ["don't", "hello", "it's", "quoted", "world"]);
    }

    #[test]
    fn non_ascii_words() {
        let p = Params::default();
        let w = text_words("Grüße aus KÖLN — ÉCOLE, 東京タワー und ΣΟΦΙΑ", &p);
        assert_eq!(words(&w), ["aus", "grüße", "köln", "und", "école", "σοφια", "東京タワー"]);
    }

    #[test]
    fn ngrams() {
        let p = Params { twograms: true, threegrams: true, ..Params::default() };
        let w = text_words("cheap rolex watches", &p);
        assert_eq!(
            words(&w),
            ["cheap", "cheap rolex", "cheap rolex watches", "rolex", "rolex watches", "watches"]
        );
        let only_two = Params { onegrams: false, twograms: true, ..Params::default() };
        assert_eq!(
            words(&text_words("cheap rolex watches", &only_two)),
            ["cheap rolex", "rolex watches"]
        );
    }

    #[test]
    fn message_parts_decoded_html_stripped_and_headers_prefixed() {
        let msg = b"From: Lottery Office <winner@lotto.example>\r\n\
Subject: =?utf-8?q?Gl=C3=BCck_winner?=\r\n\
X-Other: ignoredheader\r\n\
Content-Type: multipart/alternative; boundary=b\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
Q2xhaW0geW91ciBwcml6ZSBub3c=\r\n\
--b\r\n\
Content-Type: text/html; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<html><head><style>.hidden{color:red}</style><script>var tracking=1;</script></head>\r\n\
<body><p>Caf=E9 <b>bonus</b>&amp;gift</p><img src=3D\"x.png\" alt=3D\"jackpot\"><!-- commentword -->\r\n\
</body></html>\r\n\
--b\r\n\
Content-Type: application/octet-stream\r\n\
\r\n\
binaryword\r\n\
--b--\r\n";
        let w = message_words(msg, &Params::default());
        let got = words(&w);
        for want in [
            "claim",
            "your",
            "prize",
            "now",
            "café",
            "bonus",
            "gift",
            "jackpot",
            "from:lottery",
            "from:office",
            "from:winner",
            "from:lotto",
            "from:example",
            "subject:glück",
            "subject:winner",
        ] {
            assert!(got.contains(&want), "{want} missing from {got:?}");
        }
        for unwanted in [
            "hidden",
            "color",
            "tracking",
            "var",
            "html",
            "body",
            "commentword",
            "binaryword",
            "ignoredheader",
            "x-other:ignoredheader",
            "png",
        ] {
            assert!(!got.iter().any(|g| g.ends_with(unwanted)), "{unwanted} in {got:?}");
        }
        // Short header words are left out.
        assert!(!got.contains(&"from:com"));
    }

    #[test]
    fn numbers_and_random_strings() {
        assert!(looks_random("2fvu9stm9yxhnlu"));
        assert!(!looks_random("strength"));
        assert!(looks_numeric("12345a"));
        assert!(looks_numeric("abc123"));
        assert!(!looks_numeric("abc12x"));
        assert!(!looks_numeric("mp3"));
    }

    /// The one-pass [`acceptable`], and [`acceptable_run`] with what the scanner gathers,
    /// agree with the rules applied one by one, on words made of the characters the rules
    /// care about.
    #[test]
    fn acceptable_matches_reference() {
        let alphabet = ["a", "e", "b", "x", "f", "0", "1", "2", "9", "é", "ß", "'", "0x", "B", "E"];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut checked = 0;
        let run_verdict = |w: &str| {
            let (mut seen, mut consonants) = (0u8, 0u64);
            for (i, &c) in w.as_bytes().iter().enumerate() {
                let class = BYTE_CLASS[usize::from(c)];
                seen |= class;
                consonants |= u64::from(class & RANDOM != 0) << (i & 63);
            }
            acceptable_run(w, seen, consonants)
        };
        let mut words: Vec<String> = Vec::new();
        for len in 0..40 {
            for _ in 0..2000 {
                let mut w = String::new();
                for _ in 0..len {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    w.push_str(alphabet[(state % alphabet.len() as u64) as usize]);
                }
                words.push(w);
            }
        }
        for n in [63, 64, 65, 99, 100, 101] {
            words.push("a".repeat(n));
            words.push(format!("{}bcdfgh", "a".repeat(n - 6)));
            words.push(format!("bcdfgh{}", "a".repeat(n - 6)));
            words.push(format!("{}bcdfg", "a".repeat(n - 5)));
            words.push(format!("{}1234", "a".repeat(n - 4)));
        }
        for w in ["0x123", "0xabc", "0x1234", "abc", "bcdfgh", "bcdfg", "é".repeat(50).as_str()] {
            words.push(w.to_string());
        }
        for w in &words {
            let lower = w.to_lowercase();
            let want = acceptable_reference(&lower);
            assert_eq!(acceptable(&lower), want, "{lower:?}");
            if w.bytes().all(|c| c.is_ascii_alphanumeric()) {
                assert_eq!(run_verdict(w), want, "{w:?}");
            }
            checked += 1;
        }
        assert!(checked > 80_000);
    }
}
