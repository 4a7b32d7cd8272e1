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
#[derive(Debug, Clone, Default)]
pub struct Words {
    text: String,
    entries: Vec<(u64, u32, u32)>,
    seen: HashSet<u64, BuildHasherDefault<IdentityHasher>>,
}

impl Words {
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
    let mut words = Words::default();
    let mut scratch = Tokenizer::new(params);
    for field in msg.header().iter() {
        let name = field.name().to_ascii_lowercase();
        if !HEADER_FIELDS.contains(&name.as_str()) {
            continue;
        }
        scratch.prefix = Some(name);
        scratch.text(&field.decoded_value(), &mut words);
    }
    scratch.prefix = None;
    part_words(msg.root(), &mut scratch, &mut words, 0);
    words
}

/// The words of plain text (no header prefixes), for tests and tools.
pub fn text_words(text: &str, params: &Params) -> Words {
    let mut words = Words::default();
    Tokenizer::new(params).text(text, &mut words);
    words
}

/// The words of an HTML document's text.
pub fn html_words(html: &str, params: &Params) -> Words {
    let mut words = Words::default();
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

struct Tokenizer<'p> {
    params: &'p Params,
    /// Header field name, for header words.
    prefix: Option<String>,
    word: String,
    prev: String,
    prev2: String,
    gram: String,
}

impl<'p> Tokenizer<'p> {
    fn new(params: &'p Params) -> Tokenizer<'p> {
        Tokenizer {
            params,
            prefix: None,
            word: String::new(),
            prev: String::new(),
            prev2: String::new(),
            gram: String::new(),
        }
    }

    fn text(&mut self, text: &str, words: &mut Words) {
        self.prev.clear();
        self.prev2.clear();
        self.word.clear();
        let mut chars = text.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            if c.is_ascii() {
                if c.is_ascii_alphanumeric() {
                    self.word.push(c.to_ascii_lowercase());
                    continue;
                }
                if c == '\''
                    && self.word.chars().next_back().is_some_and(char::is_alphabetic)
                    && chars.peek().is_some_and(|(_, n)| n.is_alphabetic())
                {
                    self.word.push(c);
                    continue;
                }
            } else if c.is_alphanumeric() {
                self.word.extend(c.to_lowercase());
                continue;
            }
            self.end_word(words);
        }
        self.end_word(words);
    }

    fn end_word(&mut self, words: &mut Words) {
        if self.word.is_empty() {
            return;
        }
        if acceptable(&self.word) {
            let w = std::mem::take(&mut self.word);
            self.emit(&w, words);
            // prev2 <- prev <- w; the old prev2's allocation holds the next word.
            let prev = std::mem::replace(&mut self.prev, w);
            self.word = std::mem::replace(&mut self.prev2, prev);
        }
        self.word.clear();
    }

    fn emit(&mut self, w: &str, words: &mut Words) {
        let p = self.params;
        // Header words of 3 bytes or less say little (mox skips them).
        let min = if self.prefix.is_some() { 4 } else { 0 };
        let add = |gram: &str, words: &mut Words, scratch: &mut String| {
            if gram.len() < min {
                return;
            }
            match &self.prefix {
                Some(f) => {
                    scratch.clear();
                    scratch.push_str(f);
                    scratch.push(':');
                    scratch.push_str(gram);
                    words.add(scratch);
                }
                None => words.add(gram),
            }
        };
        let mut scratch = String::new();
        if p.threegrams && !self.prev2.is_empty() && !self.prev.is_empty() {
            self.gram.clear();
            self.gram.push_str(&self.prev2);
            self.gram.push(' ');
            self.gram.push_str(&self.prev);
            self.gram.push(' ');
            self.gram.push_str(w);
            add(&self.gram, words, &mut scratch);
        }
        if p.twograms && !self.prev.is_empty() {
            self.gram.clear();
            self.gram.push_str(&self.prev);
            self.gram.push(' ');
            self.gram.push_str(w);
            add(&self.gram, words, &mut scratch);
        }
        if p.onegrams {
            add(w, words, &mut scratch);
        }
    }
}

/// Whether a word is worth counting.
fn acceptable(w: &str) -> bool {
    w.len() > 2
        && w.len() <= MAX_WORD_LEN
        && !w.bytes().all(|b| b.is_ascii_digit())
        && !looks_random(w)
        && !looks_numeric(w)
}

/// Random-looking ASCII strings (`2fvu9stm9yxhnlu`): a stretch of 6 or more consonants
/// (or digits 2-9: 0 and 1 stand in for o, l and i).
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
pub(crate) fn word_hash(word: &str) -> u64 {
    static STATE: LazyLock<foldhash::quality::RandomState> = LazyLock::new(Default::default);
    STATE.hash_one(word.as_bytes())
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
}
