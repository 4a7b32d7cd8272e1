//! Pins the tokenizer's exact output (the words, in order) on a varied set of messages, so the
//! tokenizer can be made faster without changing what the filter counts: a changed word list
//! would silently change every trained database's meaning.
//!
//! The expected lists are in `testdata/junk/tokenize/<case>.<params>.words` (one word per
//! line); they were written by the tokenizer as it was before it was optimized. After a
//! deliberate change, rewrite them with `JUNK_PIN_UPDATE=1 cargo test -p junk --test
//! tokenize_pinned` and review the diff. Besides the handwritten cases, a digest over the
//! words of 2,000 generated corpus messages pins the common paths at scale.

#![allow(clippy::unwrap_used)]

mod corpus;

use std::fmt::Write as _;
use std::path::PathBuf;

use junk::Params;
use junk::tokenize::{html_words, message_words, text_words};

/// A word of exactly `n` bytes that passes the word filters (no consonant runs, no digits).
fn word_of_len(n: usize) -> String {
    "abe".repeat(n / 3 + 1)[..n].to_string()
}

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut v: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let mut add = |name: &'static str, m: &[u8]| v.push((name, m.to_vec()));

    add(
        "plain",
        b"From: Alice Example <alice@example.org>\r\nTo: bob@example.net\r\nSubject: Lunch tomorrow?\r\n\r\n\
Hi Bob,\r\n\r\nShall we have LUNCH tomorrow at the Italian place? It's been a while. I can't\r\n\
make it before 12:30, but don't worry, I'll book a table for 2 (or 3 if Carol comes).\r\n\
Call me at +1 555 0100 or mail alice@example.org. Order #A12345, ref 0x1F2E3D, id 2fvu9stm9yxhnlu.\r\n\
Rock'n'roll, 'quoted', o''clock, don'', x'2, 2'x, a'b, it's!\r\n\r\n-- \r\nAlice\r\n",
    );
    add(
        "plain_lf_no_header_end",
        b"Subject: no blank line\nThis line is part of the header? Maybe.\nmore text here\n",
    );
    add(
        "body_only_no_header",
        b"\r\nJust a body with Words, MORE words, and more-words_and_underscores.here\r\n",
    );
    add(
        "html",
        b"From: Shop <news@shop.example>\r\nSubject: Sale!\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<!DOCTYPE html><HTML><HEAD><TITLE>Title words</TITLE><STYLE>p{color:red} .hidden{}</STYLE>\r\n\
<script type=\"text/javascript\">var tracking = 'pixel';</script></HEAD>\r\n\
<BODY bgcolor=\"#ffffff\"><p class=\"a>b\">Great&nbsp;<b>deals</b>&amp;offers &#233;t&#xE9; wor&shy;ld</p>\r\n\
<IMG SRC=\"x.png\" ALT=\"shiny jackpot\"><img alt='single quoted alt'><img alt=unquoted>\r\n\
<!-- a hidden comment --> 1 < 2 &bogus; & <svg><text>svgtext</text></svg>\r\n\
<a href=\"http://click.example/track?id=1\">Click here</a> caf&eacute; na&iuml;ve &euro;100\r\n\
<sCrIpT>more script</ScRiPt>after<style/>selfclosed<br/>line<br>break\r\n\
<p>unterminated <b tag\r\n",
    );
    add(
        "multipart_base64_qp",
        b"From: Lottery Office <winner@lotto.example>\r\n\
Subject: =?utf-8?q?Gl=C3=BCck_winner?=\r\n\
X-Other: ignoredheader\r\n\
Content-Type: multipart/alternative; boundary=b\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
Q2xhaW0geW91ciBwcml6ZSBub3cgLSB5b3UgaGF2ZSB3b24gYSBncmVhdCBwcml6ZSBpbiBvdXIg\r\n\
bG90dGVyeSwgZG9uJ3Qgd2FpdCE=\r\n\
--b\r\n\
Content-Type: text/html; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<html><head><style>.hidden{color:red}</style><script>var tracking=3D1;</script></head>\r\n\
<body><p>Caf=E9 <b>bonus</b>&amp;gift stra=DFe Gr=FC=DFe</p><img src=3D\"x.png\" alt=3D\"jackpot\"><!-- c=\r\nommentword -->\r\n\
soft=\r\nbreak joined</body></html>\r\n\
--b\r\n\
Content-Type: application/octet-stream\r\n\
\r\n\
binaryword\r\n\
--b--\r\n",
    );
    add(
        "non_ascii",
        "From: =?iso-8859-1?q?J=FCrgen_M=FCller?= <jm@example.de>\r\n\
Subject: Grüße aus KÖLN — ÉCOLE 東京タワー ΣΟΦΙΑ\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n\
Grüße aus KÖLN — ÉCOLE, 東京タワー und ΣΟΦΙΑ. İstanbul ẞtraße ǅemal ﬁnancial ＦＵＬＬＷＩＤＴＨ\r\n\
café́ naïve (combining: cafe\u{301} nai\u{308}ve) emoji 😀smile😀 ١٢٣٤ arabic digits ٣كلمة\r\n\
Ⱥⱥ ȺȺȺȺ l'été d'Ῥόδος ΌΣΟΣ ǈ ﬀ Ω K Å ₂sub ²sup ⅷroman ⓐcircled\r\n\
Кириллица ПРИВЕТ мир, ελληνικά, עברית, हिन्दी, 한국어, ไทย\r\n"
            .as_bytes(),
    );
    add(
        "charsets",
        b"Subject: charsets\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n\
--x\r\nContent-Type: text/plain; charset=windows-1252\r\n\r\nna\xefve \x93quoted\x94 caf\xe9 \x80uro\r\n\
--x\r\nContent-Type: text/plain\r\n\r\nraw latin1 in us-ascii: d\xe9j\xe0 vu\r\n\
--x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ninvalid utf8 \xff\xfe here caf\xc3\xa9\r\n\
--x\r\nContent-Type: text/plain; charset=x-unknown-charset\r\n\r\nunknown charset text\r\n\
--x\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\n\xf0\xd2\xc9\xd7\xc5\xd4 \xcd\xc9\xd2\r\n\
--x\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nSUMMARY:Calendar meeting\r\n\
--x\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgoAAAANSUhEUg==\r\n\
--x--\r\n",
    );
    let mut long = b"Subject: long words\r\n\r\n".to_vec();
    for n in [2, 3, 4, 99, 100, 101, 150, 300] {
        long.extend_from_slice(word_of_len(n).as_bytes());
        long.extend_from_slice(b" ");
        long.extend_from_slice(word_of_len(n).to_uppercase().as_bytes());
        long.extend_from_slice(b"\r\n");
    }
    // Non-ASCII letters whose lower case is longer or shorter in UTF-8, around the limit.
    for n in [48, 49, 50, 51] {
        long.extend_from_slice("Ⱥ".repeat(n).as_bytes());
        long.extend_from_slice(b" ");
        long.extend_from_slice("İ".repeat(n / 2 + 8).as_bytes());
        long.extend_from_slice(b" ");
        long.extend_from_slice("ẞ".repeat(n / 2 + 9).as_bytes());
        long.extend_from_slice(b"\r\n");
    }
    long.extend_from_slice(format!("{}'{}\r\n", word_of_len(60), word_of_len(60)).as_bytes());
    long.extend_from_slice(format!("{}'{}\r\n", word_of_len(30), word_of_len(30)).as_bytes());
    long.extend_from_slice("x".repeat(100_000).as_bytes());
    long.extend_from_slice(b" end\r\n");
    add("long_words", &long);
    add(
        "many_headers",
        b"Return-Path: <bounce-1234@bounces.example.com>\r\n\
Received: from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; b=abcdefghijklmnop\r\n\
From: \"Marketing Team\" <marketing@example.com>\r\n\
FROM: second from field <second@example.com>\r\n\
Sender: sender-address@example.com\r\n\
Reply-To: replies@example.com, Other Person <other@example.net>\r\n\
To: undisclosed-recipients:;\r\n\
Cc: carbon copy <cc@example.org>, =?utf-8?b?SsO8cmdlbg==?= <j@example.de>\r\n\
Bcc: hidden@example.org\r\n\
Subject: =?utf-8?q?Special_offer?= just for you: FREE shipping\r\n\
\x20folded continuation of the subject\r\n\
subject: second subject field\r\n\
Message-ID: <abc@example.com>\r\n\
List-Unsubscribe: <mailto:unsub@example.com>\r\n\
X-Mailer: SuperMailer 3000\r\n\
Content-Type: text/plain\r\n\
\r\n\
Body text with free shipping and special offers.\r\n",
    );
    add(
        "embedded_and_nested",
        b"From: forwarder@example.org\r\nSubject: Fwd: nested\r\n\
Content-Type: multipart/mixed; boundary=outer\r\n\r\n\
--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n\
--inner\r\nContent-Type: text/plain\r\n\r\nInner plain alternative\r\n\
--inner\r\nContent-Type: text/html\r\n\r\n<b>Inner html alternative</b>\r\n\
--inner--\r\n\
--outer\r\nContent-Type: message/rfc822\r\n\r\n\
From: original@example.com\r\nSubject: Original subject words\r\n\r\nOriginal embedded body\r\n\
--outer\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nattached notes text\r\n\
--outer--\r\nepilogue words ignored\r\n",
    );
    add("empty", b"");
    add("header_only", b"Subject: only a subject\r\nFrom: someone@example.com\r\n");
    add("garbage", b"\x00\x01\x02 <<<>>> &&&; ;;; '''' \xff\xfe\xfd\r\n\r\n\x00abc\x00def\x00");
    v
}

fn all_grams() -> Params {
    Params { twograms: true, threegrams: true, ..Params::default() }
}

fn params() -> [(&'static str, Params); 3] {
    [
        ("one", Params::default()),
        ("ngrams", all_grams()),
        ("twoonly", Params { onegrams: false, twograms: true, ..Params::default() }),
    ]
}

fn dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/junk/tokenize");
    if std::env::var_os("JUNK_PIN_UPDATE").is_some() {
        std::fs::create_dir_all(&d).unwrap();
    }
    d
}

fn render(words: &junk::Words) -> String {
    let mut s = String::new();
    for w in words.iter() {
        assert!(!w.contains('\n'), "{w:?}");
        s.push_str(w);
        s.push('\n');
    }
    s
}

#[test]
fn tokenizer_output_is_pinned() {
    let update = std::env::var_os("JUNK_PIN_UPDATE").is_some();
    let dir = dir();
    let mut failures = Vec::new();
    for (name, msg) in cases() {
        for (pname, p) in params() {
            let got = render(&message_words(&msg, &p));
            let path = dir.join(format!("{name}.{pname}.words"));
            if update {
                std::fs::write(&path, &got).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if got != want {
                let (g, w): (Vec<&str>, Vec<&str>) =
                    (got.lines().collect(), want.lines().collect());
                let extra: Vec<&&str> = g.iter().filter(|x| !w.contains(x)).take(10).collect();
                let missing: Vec<&&str> = w.iter().filter(|x| !g.contains(x)).take(10).collect();
                failures.push(format!(
                    "{name}.{pname}: {} words, want {}; extra {extra:?}; missing {missing:?}",
                    g.len(),
                    w.len()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "tokenizer output changed:\n{}", failures.join("\n"));
}

/// The plain-text and HTML entry points, on the same texts.
#[test]
fn text_and_html_entry_points_are_pinned() {
    let texts = [
        "Hello HELLO hello, World! It's 2024 abc1234 x1 ab 0x1234ff qwrtzpk don't 'quoted'",
        "Grüße aus KÖLN — ÉCOLE, 東京タワー und ΣΟΦΙΑ; İİİ ẞ ﬁ",
        "<p>Some <b>HTML</b> &amp; entities &#65;&#x42;C</p><script>x()</script> tail",
        "cheap rolex watches, cheap rolex watches again and again",
    ];
    let mut got = String::new();
    for t in texts {
        for (pname, p) in params() {
            let _ = writeln!(got, "# text {pname}: {t}");
            got.push_str(&render(&text_words(t, &p)));
            let _ = writeln!(got, "# html {pname}: {t}");
            got.push_str(&render(&html_words(t, &p)));
        }
    }
    let path = dir().join("entry_points.words");
    if std::env::var_os("JUNK_PIN_UPDATE").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap();
    assert_eq!(got, want);
}

/// FNV-1a over the words of each message, in order.
fn digest(messages: &[Vec<u8>], p: &Params) -> (u64, usize) {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut n = 0;
    for m in messages {
        for w in message_words(m, p).iter() {
            n += 1;
            for &b in w.as_bytes().iter().chain(b"\n") {
                h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h = (h ^ 0xff).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h, n)
}

/// The generated corpus (plain, HTML, multipart, base64, quoted-printable, 8bit, German and
/// French), 1,000 ham and 1,000 spam.
#[test]
fn corpus_digest_is_pinned() {
    let (ham, spam) = corpus::corpus(0x70_696e, 1000);
    let all: Vec<Vec<u8>> = ham.into_iter().chain(spam).collect();
    let mut got = String::new();
    for (pname, p) in params() {
        let (h, n) = digest(&all, &p);
        let _ = writeln!(got, "{pname} {n} {h:016x}");
    }
    let path = dir().join("corpus.digest");
    if std::env::var_os("JUNK_PIN_UPDATE").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap();
    assert_eq!(got, want);
}

/// The properties the fuzz target checks (`junk::fuzzing::tokenize`) hold on these cases and
/// on a sample of the corpus.
#[test]
fn fuzz_properties_hold() {
    for (_, msg) in cases() {
        junk::fuzzing::tokenize(&msg);
    }
    let (ham, spam) = corpus::corpus(7, 25);
    for m in ham.iter().chain(&spam) {
        junk::fuzzing::tokenize(m);
    }
}
