//! A generated corpus of ham and spam messages, the same on every run (fixed seed), so the
//! accuracy test and the benchmark need no downloaded data. See testdata/junk/README.md.
//!
//! It is made to be hard in the ways real mail is: ham and spam share the common words of
//! English; legitimate newsletters and order confirmations use sales words ("offer", "order",
//! "unsubscribe", "free shipping"); phishing copies the vocabulary of account notices; spam
//! carries paragraphs of innocent text ("Bayesian poisoning"); both come as plain text,
//! HTML, quoted-printable and base64, some in German or French; every message has its own
//! names, numbers and random tokens.
#![allow(dead_code, unreachable_pub)]

/// splitmix64: small, fast, and the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a>(&mut self, l: &[&'a str]) -> &'a str {
        l[self.below(l.len())]
    }
}

const COMMON: &[&str] = &[
    "the",
    "and",
    "for",
    "you",
    "your",
    "with",
    "this",
    "that",
    "have",
    "will",
    "are",
    "from",
    "not",
    "can",
    "all",
    "about",
    "more",
    "our",
    "please",
    "just",
    "time",
    "today",
    "now",
    "here",
    "there",
    "would",
    "could",
    "should",
    "also",
    "what",
    "when",
    "which",
    "know",
    "get",
    "make",
    "new",
    "one",
    "some",
    "any",
    "need",
    "want",
    "like",
    "good",
    "great",
    "thanks",
    "thank",
    "hello",
    "regards",
    "best",
    "information",
    "email",
    "message",
    "week",
    "day",
    "year",
    "people",
    "work",
    "help",
    "first",
    "last",
    "next",
    "back",
    "very",
    "well",
    "still",
    "only",
];

const WORK: &[&str] = &[
    "meeting",
    "agenda",
    "project",
    "deadline",
    "review",
    "draft",
    "report",
    "budget",
    "quarterly",
    "team",
    "schedule",
    "presentation",
    "slides",
    "client",
    "proposal",
    "contract",
    "milestone",
    "roadmap",
    "sprint",
    "standup",
    "minutes",
    "action",
    "items",
    "feedback",
    "colleague",
    "office",
    "conference",
    "room",
    "calendar",
    "invite",
    "spreadsheet",
    "analysis",
    "figures",
    "forecast",
    "hiring",
    "interview",
    "candidate",
    "onboarding",
];

const PERSONAL: &[&str] = &[
    "dinner",
    "weekend",
    "kids",
    "school",
    "birthday",
    "party",
    "holiday",
    "trip",
    "flight",
    "hotel",
    "photos",
    "family",
    "mom",
    "dad",
    "sister",
    "brother",
    "garden",
    "recipe",
    "cake",
    "soccer",
    "practice",
    "concert",
    "tickets",
    "movie",
    "lunch",
    "coffee",
    "visit",
    "grandma",
    "wedding",
    "anniversary",
    "vacation",
    "beach",
    "camping",
    "hiking",
    "dog",
    "cat",
    "vet",
];

const TECH: &[&str] = &[
    "patch",
    "commit",
    "branch",
    "merge",
    "kernel",
    "compiler",
    "build",
    "test",
    "release",
    "bug",
    "regression",
    "stack",
    "trace",
    "segfault",
    "memory",
    "leak",
    "thread",
    "mutex",
    "config",
    "debian",
    "package",
    "upstream",
    "maintainer",
    "changelog",
    "rebase",
    "review",
    "function",
    "struct",
    "pointer",
    "library",
    "dependency",
    "version",
    "tarball",
    "mirror",
    "benchmark",
    "latency",
    "throughput",
    "server",
    "cluster",
    "deploy",
    "rollback",
    "issue",
];

/// Legitimate commercial mail: receipts, shipping, newsletters. Overlaps with spam.
const TRANSACTIONAL: &[&str] = &[
    "order",
    "shipped",
    "tracking",
    "delivery",
    "invoice",
    "receipt",
    "payment",
    "received",
    "account",
    "subscription",
    "renewal",
    "newsletter",
    "unsubscribe",
    "preferences",
    "offer",
    "sale",
    "discount",
    "free",
    "shipping",
    "store",
    "products",
    "customer",
    "service",
    "returns",
    "warranty",
    "confirm",
    "confirmation",
    "purchase",
    "total",
    "items",
    "cart",
    "membership",
    "points",
    "rewards",
    "catalog",
    "season",
    "collection",
    "webinar",
    "event",
];

const PHARMA: &[&str] = &[
    "viagra",
    "cialis",
    "pills",
    "pharmacy",
    "prescription",
    "medication",
    "generic",
    "dosage",
    "erectile",
    "enhancement",
    "weight",
    "loss",
    "diet",
    "supplement",
    "miracle",
    "cure",
    "doctor",
    "approved",
    "fda",
    "shipping",
    "discreet",
    "packaging",
    "cheap",
    "lowest",
];

const MONEY: &[&str] = &[
    "lottery",
    "winner",
    "prize",
    "claim",
    "million",
    "inheritance",
    "beneficiary",
    "transfer",
    "bank",
    "funds",
    "barrister",
    "deceased",
    "compensation",
    "urgent",
    "confidential",
    "fee",
    "processing",
    "western",
    "union",
    "investment",
    "bitcoin",
    "crypto",
    "profit",
    "guaranteed",
    "returns",
    "trading",
    "opportunity",
    "income",
    "rich",
    "earn",
    "cash",
    "loan",
    "credit",
];

const PHISH: &[&str] = &[
    "account",
    "suspended",
    "verify",
    "password",
    "login",
    "security",
    "alert",
    "unusual",
    "activity",
    "confirm",
    "identity",
    "click",
    "link",
    "update",
    "billing",
    "information",
    "locked",
    "restore",
    "access",
    "immediately",
    "expire",
    "mailbox",
    "quota",
    "exceeded",
];

const MARKETING_SPAM: &[&str] = &[
    "offer",
    "limited",
    "exclusive",
    "deal",
    "discount",
    "save",
    "free",
    "bonus",
    "gift",
    "act",
    "hurry",
    "expires",
    "amazing",
    "incredible",
    "guarantee",
    "risk",
    "order",
    "buy",
    "best",
    "price",
    "subscribers",
    "unsubscribe",
    "click",
    "casino",
    "spins",
    "jackpot",
    "dating",
    "singles",
    "hot",
    "meet",
    "replica",
    "watches",
    "luxury",
    "rolex",
    "bargain",
];

const GERMAN: &[&str] = &[
    "grüße",
    "vielen",
    "dank",
    "für",
    "nachricht",
    "termin",
    "woche",
    "morgen",
    "über",
    "bitte",
    "möchten",
    "schöne",
    "straße",
    "größe",
    "geschäft",
    "angebot",
    "kostenlos",
];

const FRENCH: &[&str] = &[
    "bonjour",
    "merci",
    "réunion",
    "été",
    "demain",
    "très",
    "déjà",
    "à",
    "bientôt",
    "cordialement",
    "offre",
    "gratuit",
    "félicitations",
    "gagné",
    "prix",
];

const FIRST: &[&str] = &[
    "anna", "bert", "carla", "dirk", "eva", "frank", "greta", "hans", "ines", "jan", "karin",
    "lars", "maria", "nils", "olga", "peter", "rosa", "sven", "tina", "ulrich", "vera", "wim",
];

const DOMAINS_HAM: &[&str] = &[
    "example.org",
    "work.example",
    "family.example",
    "lists.example.net",
    "shop.example.com",
    "university.example.edu",
    "news.example.com",
    "bank.example",
];

const DOMAINS_SPAM: &[&str] = &[
    "deals-4u.example",
    "pharma-direct.example",
    "winners.example.biz",
    "secure-login.example",
    "cheap-meds.example.ru",
    "promo.example.top",
    "mailer.example.xyz",
    "bank.example",
];

fn sentence(r: &mut Rng, topic: &[&str], topic_share: u64, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        let w = if r.chance(topic_share) { r.pick(topic) } else { r.pick(COMMON) };
        if i == 0 {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                s.extend(f.to_uppercase());
                s.push_str(c.as_str());
            }
        } else {
            s.push_str(w);
        }
        if r.chance(4) {
            // Per-message unique tokens: numbers, codes.
            s.push_str(&format!(" {}", r.next() % 100_000));
        }
    }
    s.push('.');
    s
}

fn paragraph(r: &mut Rng, topic: &[&str], share: u64) -> String {
    let n = 2 + r.below(4);
    (0..n)
        .map(|_| {
            let words = 6 + r.below(10);
            sentence(r, topic, share, words)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One message: ham (`spam == false`) or spam, number `i`.
pub fn message(r: &mut Rng, spam: bool, i: usize) -> Vec<u8> {
    let (topic, share, domain): (&[&str], u64, &str) = if spam {
        match r.below(5) {
            0 => (PHARMA, 45, r.pick(DOMAINS_SPAM)),
            1 => (MONEY, 45, r.pick(DOMAINS_SPAM)),
            2 => (PHISH, 40, r.pick(DOMAINS_SPAM)),
            3 => (MARKETING_SPAM, 45, r.pick(DOMAINS_SPAM)),
            _ => (MARKETING_SPAM, 25, r.pick(DOMAINS_SPAM)),
        }
    } else {
        match r.below(5) {
            0 => (WORK, 35, r.pick(DOMAINS_HAM)),
            1 => (PERSONAL, 35, r.pick(DOMAINS_HAM)),
            2 => (TECH, 40, r.pick(DOMAINS_HAM)),
            // Legitimate commercial mail: the hard part.
            _ => (TRANSACTIONAL, 35, r.pick(DOMAINS_HAM)),
        }
    };
    let n = 1 + r.below(4);
    let mut paras: Vec<String> = (0..n).map(|_| paragraph(r, topic, share)).collect();
    if spam && r.chance(30) {
        // Bayesian poisoning: innocent text to dilute the spam words.
        let innocent = [WORK, PERSONAL, TECH][r.below(3)];
        paras.push(paragraph(r, innocent, 30));
    }
    if !spam && r.chance(10) {
        // Ham that mentions spammy things (a friend forwarding a joke, a security notice).
        let topic = [PHISH, MARKETING_SPAM, MONEY][r.below(3)];
        paras.push(paragraph(r, topic, 20));
    }
    if r.chance(12) {
        let lang = if r.chance(50) { GERMAN } else { FRENCH };
        paras.push(paragraph(r, lang, 60));
    }
    let from_name = r.pick(FIRST);
    let n = 3 + r.below(4);
    let subject = sentence(r, topic, share + 10, n);
    let subject = subject.trim_end_matches('.');
    let mut body = paras.join("\r\n\r\n");
    body.push_str("\r\n");
    let mut h = format!(
        "From: {from_name} <{from_name}{}@{domain}>\r\nTo: someone@example.org\r\nSubject: {subject}\r\nMessage-ID: <{i}.{}@{domain}>\r\nMIME-Version: 1.0\r\n",
        r.next() % 100,
        r.next() % 1_000_000
    );
    let html = r.chance(if spam { 55 } else { 25 });
    let encoding = r.below(10);
    let mut out = Vec::new();
    if html {
        let mut hb =
            String::from("<html><head><style>p { font-family: arial; }</style></head><body>");
        for p in &paras {
            hb.push_str("<p>");
            hb.push_str(p);
            hb.push_str("</p>\r\n");
        }
        if spam && r.chance(50) {
            hb.push_str("<a href=\"http://click.example/track\"><img src=\"http://img.example/x.gif\" alt=\"Click here\"></a>");
        }
        hb.push_str("</body></html>\r\n");
        if r.chance(50) {
            h.push_str("Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(body.as_bytes());
            out.extend_from_slice(b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n");
            encode_body(&mut out, &hb, encoding);
            out.extend_from_slice(b"--b1--\r\n");
            return out;
        }
        h.push_str("Content-Type: text/html; charset=utf-8\r\n");
        out.extend_from_slice(h.as_bytes());
        encode_body(&mut out, &hb, encoding);
        return out;
    }
    h.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    out.extend_from_slice(h.as_bytes());
    encode_body(&mut out, &body, encoding);
    out
}

/// Writes the Content-Transfer-Encoding field, the blank line and the encoded body.
fn encode_body(out: &mut Vec<u8>, body: &str, which: usize) {
    match which {
        0..=1 => {
            out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\n");
            let b = base64(body.as_bytes());
            for chunk in b.as_bytes().chunks(76) {
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
        }
        2..=3 => {
            out.extend_from_slice(b"Content-Transfer-Encoding: quoted-printable\r\n\r\n");
            let mut line = 0;
            for &b in body.as_bytes() {
                let enc = if b == b'\r' || b == b'\n' {
                    if b == b'\n' {
                        line = 0;
                    }
                    out.push(b);
                    continue;
                } else if b == b'=' || b >= 0x80 {
                    format!("={b:02X}")
                } else {
                    (b as char).to_string()
                };
                if line + enc.len() > 74 {
                    out.extend_from_slice(b"=\r\n");
                    line = 0;
                }
                line += enc.len();
                out.extend_from_slice(enc.as_bytes());
            }
        }
        _ => {
            out.extend_from_slice(b"Content-Transfer-Encoding: 8bit\r\n\r\n");
            out.extend_from_slice(body.as_bytes());
        }
    }
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        s.push(if c.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    s
}

/// `n` hams and `n` spams, interleaved by the generator; the same for the same seed.
pub fn corpus(seed: u64, n: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut r = Rng::new(seed);
    let mut ham = Vec::with_capacity(n);
    let mut spam = Vec::with_capacity(n);
    for i in 0..n {
        ham.push(message(&mut r, false, 2 * i));
        spam.push(message(&mut r, true, 2 * i + 1));
    }
    (ham, spam)
}

/// A plain text message of about `size` bytes (for benchmarks).
pub fn message_of_size(r: &mut Rng, spam: bool, size: usize) -> Vec<u8> {
    let topic = if spam { MARKETING_SPAM } else { WORK };
    let mut m = format!(
        "From: Someone <someone@example.org>\r\nTo: you@example.org\r\nSubject: {}\r\n\r\n",
        sentence(r, topic, 40, 6).trim_end_matches('.')
    )
    .into_bytes();
    while m.len() < size {
        m.extend_from_slice(paragraph(r, topic, 30).as_bytes());
        m.extend_from_slice(b"\r\n\r\n");
    }
    m
}
