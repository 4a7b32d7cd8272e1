//! Addresses in header fields: `mailbox`, `mailbox-list`, `address-list` (RFC 5322 §3.4, with
//! the obsolete forms of §4.4 and UTF-8 of RFC 6532).
//!
//! ```text
//! address       = mailbox / group
//! mailbox       = name-addr / addr-spec
//! name-addr     = [display-name] angle-addr
//! angle-addr    = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
//! group         = display-name ":" [group-list] ";" [CFWS]
//! display-name  = phrase
//! mailbox-list  = (mailbox *("," mailbox)) / obs-mbox-list
//! address-list  = (address *("," address)) / obs-addr-list
//! addr-spec     = local-part "@" domain
//! local-part    = dot-atom / quoted-string / obs-local-part
//! domain        = dot-atom / domain-literal / obs-domain
//! obs-angle-addr = [CFWS] "<" obs-route addr-spec ">" [CFWS]
//! obs-route     = obs-domain-list ":"
//! obs-local-part = word *("." word)
//! obs-phrase    = word *(word / "." / CFWS)
//! ```

use std::fmt;

use dns::Domain;

use crate::address::{Address, Localpart, is_atext};
use crate::encoded_word::{decode_encoded_words, encode_encoded_words};
use crate::text::bytes_to_text;
use crate::{Error, Header};

/// A mailbox in a header: an address with an optional display name.
///
/// [`Display`](fmt::Display) writes it back in header syntax: the display name as atoms, a
/// quoted-string or RFC 2047 encoded words as needed, and the domain in ASCII form unless the
/// localpart is non-ASCII.
///
/// ```
/// use message::parse_mailbox;
/// let m = parse_mailbox(b"=?utf-8?q?J=C3=B6rg?= Doe <jorg@example.org>")?;
/// assert_eq!(m.display_name.as_deref(), Some("Jörg Doe"));
/// assert_eq!(m.address.to_string(), "jorg@example.org");
/// assert_eq!(m.to_string(), "=?utf-8?q?J=C3=B6rg_Doe?= <jorg@example.org>");
/// # Ok::<(), message::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    /// The display name, decoded (quoted-pairs unescaped, encoded words decoded, folding
    /// removed). None if absent or empty.
    pub display_name: Option<String>,
    /// The address.
    pub address: Address,
}

/// A named group of mailboxes (RFC 5322 §3.4), such as `undisclosed-recipients:;`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Group {
    /// The group's display name, decoded.
    pub display_name: String,
    /// The members, possibly none.
    pub mailboxes: Vec<Mailbox>,
}

/// One entry of an `address-list`: a mailbox or a group.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum MailboxOrGroup {
    /// A single mailbox.
    Mailbox(Mailbox),
    /// A group of mailboxes.
    Group(Group),
}

impl MailboxOrGroup {
    /// The mailboxes of this entry: the mailbox itself, or a group's members.
    pub fn mailboxes(&self) -> &[Mailbox] {
        match self {
            MailboxOrGroup::Mailbox(m) => std::slice::from_ref(m),
            MailboxOrGroup::Group(g) => &g.mailboxes,
        }
    }
}

/// Parses an `address-list` (the value of To, Cc, Bcc, Reply-To, ...). The value may be folded
/// (pass [`Field::raw_value`](crate::Field::raw_value)) or unfolded. Empty list elements
/// (`a@x,,b@y`) are skipped, and an empty or whitespace-only value is an empty list.
/// Error positions are byte offsets into `value`.
///
/// ```
/// use message::{parse_address_list, MailboxOrGroup};
/// let list = parse_address_list(b"Jane <jane@example.org>, undisclosed-recipients:;")?;
/// assert_eq!(list.len(), 2);
/// assert!(matches!(&list[1], MailboxOrGroup::Group(g) if g.mailboxes.is_empty()));
/// # Ok::<(), message::Error>(())
/// ```
pub fn parse_address_list(value: &[u8]) -> Result<Vec<MailboxOrGroup>, Error> {
    Parser::new(value).list(true)
}

/// Parses a `mailbox-list` (the value of From): like [`parse_address_list`], but groups are an
/// error.
pub fn parse_mailbox_list(value: &[u8]) -> Result<Vec<Mailbox>, Error> {
    let list = Parser::new(value).list(false)?;
    Ok(list
        .into_iter()
        .filter_map(|entry| match entry {
            MailboxOrGroup::Mailbox(m) => Some(m),
            MailboxOrGroup::Group(_) => None,
        })
        .collect())
}

/// Parses a single `mailbox` (the value of Sender).
pub fn parse_mailbox(value: &[u8]) -> Result<Mailbox, Error> {
    let mut p = Parser::new(value);
    p.skip_cfws();
    let mailbox = p.mailbox()?;
    p.skip_cfws();
    if p.pos < p.s.len() {
        return Err(p.error("end of mailbox"));
    }
    Ok(mailbox)
}

impl<'a> Header<'a> {
    /// The mailboxes of all From fields, in order (normally exactly one field with one mailbox;
    /// RFC 5322 §3.6.2 allows several mailboxes with a Sender field). An empty list if there is
    /// no From field. Policy about how many there must be (DMARC, RFC 7489 §6.6.1) is the
    /// caller's; count the fields with `header.get_all("From").count()`.
    pub fn from_mailboxes(&self) -> Result<Vec<Mailbox>, Error> {
        let mut all = Vec::new();
        for field in self.get_all("From") {
            all.extend(parse_mailbox_list(field.raw_value())?);
        }
        Ok(all)
    }

    /// The entries of all fields named `name` (To, Cc, Bcc, Reply-To, ...), in order.
    pub fn address_list(&self, name: &str) -> Result<Vec<MailboxOrGroup>, Error> {
        let mut all = Vec::new();
        for field in self.get_all(name) {
            all.extend(parse_address_list(field.raw_value())?);
        }
        Ok(all)
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = &self.address;
        let ascii_domain = addr.localpart.is_ascii();
        let write_addr = |f: &mut fmt::Formatter<'_>| {
            if ascii_domain {
                write!(f, "{}@{}", addr.localpart, addr.domain.ascii())
            } else {
                write!(f, "{addr}")
            }
        };
        match &self.display_name {
            Some(name) if !name.is_empty() => {
                write_phrase(f, name)?;
                f.write_str(" <")?;
                write_addr(f)?;
                f.write_str(">")
            }
            _ => write_addr(f),
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_phrase(f, &self.display_name)?;
        f.write_str(":")?;
        for (i, m) in self.mailboxes.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{m}")?;
        }
        f.write_str(";")
    }
}

impl fmt::Display for MailboxOrGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailboxOrGroup::Mailbox(m) => m.fmt(f),
            MailboxOrGroup::Group(g) => g.fmt(f),
        }
    }
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("display_name", &self.display_name)
            .field("address", &self.address)
            .finish()
    }
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("display_name", &self.display_name)
            .field("mailboxes", &self.mailboxes)
            .finish()
    }
}

impl fmt::Debug for MailboxOrGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailboxOrGroup::Mailbox(m) => m.fmt(f),
            MailboxOrGroup::Group(g) => g.fmt(f),
        }
    }
}

/// Writes a display name as a phrase: atoms if it is simple, a quoted-string if it is printable
/// ASCII, RFC 2047 encoded words otherwise.
fn write_phrase(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let encoded = encode_encoded_words(name);
    if encoded != name {
        return f.write_str(&encoded);
    }
    let simple = !name.is_empty()
        && name.split(' ').all(|w| !w.is_empty() && w.chars().all(|c| is_atext(c) || c == '.'));
    if simple {
        return f.write_str(name);
    }
    f.write_str("\"")?;
    for c in name.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        fmt::Write::write_char(f, c)?;
    }
    f.write_str("\"")
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

/// A word of a phrase or local-part: its text and whether it was quoted.
struct Word {
    text: Vec<u8>,
}

impl<'a> Parser<'a> {
    fn new(s: &'a [u8]) -> Self {
        Parser { s, pos: 0 }
    }

    fn error(&self, expected: &'static str) -> Error {
        Error::Syntax { what: "address", expected, position: self.pos }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn list(&mut self, groups: bool) -> Result<Vec<MailboxOrGroup>, Error> {
        let mut out = Vec::new();
        loop {
            self.skip_cfws();
            match self.peek() {
                None => return Ok(out),
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            out.push(self.address(groups)?);
            self.skip_cfws();
            match self.peek() {
                None => return Ok(out),
                Some(b',') => self.pos += 1,
                _ => return Err(self.error("\",\" or end of list")),
            }
        }
    }

    /// An `address` (mailbox or group), at a non-CFWS byte.
    fn address(&mut self, groups: bool) -> Result<MailboxOrGroup, Error> {
        let start = self.pos;
        // A bare addr-spec followed by the end of the entry is the common case.
        let bare = match self.addr_spec() {
            Ok(address) => {
                self.skip_cfws();
                if matches!(self.peek(), None | Some(b',') | Some(b';')) {
                    return Ok(MailboxOrGroup::Mailbox(Mailbox { display_name: None, address }));
                }
                Err(self.error("\",\" or end of list"))
            }
            Err(e) => Err(e),
        };
        self.pos = start;
        let name = self.phrase();
        self.skip_cfws();
        match self.peek() {
            Some(b'<') => {
                let address = self.angle_addr()?;
                Ok(MailboxOrGroup::Mailbox(Mailbox { display_name: name, address }))
            }
            Some(b':') if groups && self.pos > start => {
                self.pos += 1;
                let mailboxes = self.group_list()?;
                Ok(MailboxOrGroup::Group(Group {
                    display_name: name.unwrap_or_default(),
                    mailboxes,
                }))
            }
            // Neither a display name nor an addr-spec: the addr-spec error is the most useful.
            _ => bare,
        }
    }

    fn mailbox(&mut self) -> Result<Mailbox, Error> {
        match self.address(false)? {
            MailboxOrGroup::Mailbox(m) => Ok(m),
            MailboxOrGroup::Group(_) => Err(self.error("mailbox")),
        }
    }

    /// The members of a group after its ":", through the ";" (which may be missing at the end).
    fn group_list(&mut self) -> Result<Vec<Mailbox>, Error> {
        let mut out = Vec::new();
        loop {
            self.skip_cfws();
            match self.peek() {
                None => return Ok(out),
                Some(b';') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            out.push(self.mailbox()?);
            self.skip_cfws();
            match self.peek() {
                None => return Ok(out),
                Some(b';') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b',') => self.pos += 1,
                _ => return Err(self.error("\",\" or \";\" in group")),
            }
        }
    }

    /// `"<" [obs-route] addr-spec ">"`, at the "<".
    fn angle_addr(&mut self) -> Result<Address, Error> {
        self.pos += 1;
        self.skip_cfws();
        if self.peek() == Some(b'@') {
            // obs-route: "@a.example,@b.example:" is skipped.
            while let Some(b) = self.peek() {
                self.pos += 1;
                if b == b':' {
                    break;
                }
                if b == b'>' {
                    self.pos -= 1;
                    return Err(self.error("\":\" after route"));
                }
            }
            self.skip_cfws();
        }
        let address = self.addr_spec()?;
        self.skip_cfws();
        if self.peek() != Some(b'>') {
            return Err(self.error("\">\""));
        }
        self.pos += 1;
        Ok(address)
    }

    /// `local-part "@" domain`, at a non-CFWS byte; leaves `pos` after the domain.
    fn addr_spec(&mut self) -> Result<Address, Error> {
        let localpart_start = self.pos;
        let mut value: Vec<u8> = Vec::new();
        // obs-local-part: words separated by dots with CFWS around; real mail also has empty
        // words ("a..b@", "a.@", Japanese mobile carriers), accepted here.
        loop {
            self.skip_cfws();
            match self.peek() {
                Some(b'"') => value.extend(self.quoted_string()?.text),
                Some(b) if is_atext_byte(b) => {
                    let start = self.pos;
                    while self.peek().is_some_and(is_atext_byte) {
                        self.pos += 1;
                    }
                    value.extend_from_slice(&self.s[start..self.pos]);
                }
                _ => {}
            }
            self.skip_cfws();
            if self.peek() == Some(b'.') {
                value.push(b'.');
                self.pos += 1;
            } else {
                break;
            }
        }
        if value.is_empty() {
            return Err(self.error("local-part"));
        }
        if self.peek() != Some(b'@') {
            return Err(self.error("\"@\""));
        }
        let value = String::from_utf8(value).map_err(|e| Error::Utf8 {
            position: localpart_start + e.utf8_error().valid_up_to(),
        })?;
        let localpart = Localpart::new(&value).map_err(|_| Error::Syntax {
            what: "address",
            expected: "printable local-part",
            position: localpart_start,
        })?;
        self.pos += 1;
        self.skip_cfws();
        let domain_start = self.pos;
        if self.peek() == Some(b'[') {
            let source = dns::DomainError::InvalidCharacter {
                name: String::from_utf8_lossy(&self.s[domain_start..]).into_owned(),
                character: '[',
                position: 0,
            };
            return Err(Error::Domain { position: domain_start, source });
        }
        // dot-atom, or obs-domain with CFWS around the dots.
        let mut domain = Vec::new();
        loop {
            while self.peek().is_some_and(is_atext_byte) {
                domain.push(self.s[self.pos]);
                self.pos += 1;
            }
            let before_cfws = self.pos;
            self.skip_cfws();
            if self.peek() == Some(b'.') {
                domain.push(b'.');
                self.pos += 1;
                self.skip_cfws();
            } else {
                self.pos = before_cfws;
                break;
            }
        }
        let text = String::from_utf8(domain)
            .map_err(|e| Error::Utf8 { position: domain_start + e.utf8_error().valid_up_to() })?;
        let domain = Domain::parse(&text)
            .map_err(|source| Error::Domain { position: domain_start, source })?;
        Ok(Address { localpart, domain })
    }

    /// A display name: words, dots and comments up to "<", ":", ",", ";" or the end. Lenient
    /// beyond RFC 5322: unquoted "@", "[", "]" and "\" are taken as text, since mailers write
    /// `jane@example.org <jane@example.org>`.
    fn phrase(&mut self) -> Option<String> {
        let mut words: Vec<Vec<u8>> = Vec::new();
        loop {
            self.skip_cfws();
            match self.peek() {
                Some(b'"') => match self.quoted_string() {
                    Ok(w) => words.push(w.text),
                    Err(_) => {
                        // Unterminated: take the rest as the name.
                        words.push(self.s[self.pos + 1..].to_vec());
                        self.pos = self.s.len();
                    }
                },
                Some(b) if is_phrase_byte(b) => {
                    let start = self.pos;
                    while self.peek().is_some_and(is_phrase_byte) {
                        self.pos += 1;
                    }
                    words.push(self.s[start..self.pos].to_vec());
                }
                _ => break,
            }
        }
        let joined = words.join(&b' ');
        let text = bytes_to_text(&joined);
        let decoded = decode_encoded_words(&text);
        if decoded.is_empty() { None } else { Some(decoded.into_owned()) }
    }

    /// A quoted-string at its opening quote: the unescaped content with folding removed.
    fn quoted_string(&mut self) -> Result<Word, Error> {
        let open = self.pos;
        self.pos += 1;
        let mut text = Vec::new();
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => return Ok(Word { text }),
                b'\\' => {
                    if let Some(q) = self.peek() {
                        text.push(q);
                        self.pos += 1;
                    }
                }
                b'\r' | b'\n' => {}
                _ => text.push(b),
            }
        }
        self.pos = open;
        Err(Error::Syntax { what: "address", expected: "closing '\"'", position: self.s.len() })
    }

    /// Skips whitespace (folding included) and comments, nested, with quoted-pairs. An
    /// unterminated comment runs to the end.
    fn skip_cfws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'(' => {
                    let mut depth = 0usize;
                    while let Some(c) = self.peek() {
                        self.pos += 1;
                        match c {
                            b'(' => depth += 1,
                            b')' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            b'\\' => self.pos = (self.pos + 1).min(self.s.len()),
                            _ => {}
                        }
                    }
                }
                _ => return,
            }
        }
    }
}

/// atext (RFC 5322 §3.2.3) plus the bytes of UTF-8 sequences (RFC 6532 §3.2).
fn is_atext_byte(b: u8) -> bool {
    b >= 0x80 || (b.is_ascii() && is_atext(b as char))
}

fn is_phrase_byte(b: u8) -> bool {
    is_atext_byte(b) || matches!(b, b'.' | b'@' | b'[' | b']' | b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(name: Option<&str>, addr: &str) -> Mailbox {
        Mailbox { display_name: name.map(String::from), address: Address::parse(addr).unwrap() }
    }

    fn mailboxes(value: &str) -> Vec<Mailbox> {
        parse_address_list(value.as_bytes())
            .unwrap_or_else(|e| panic!("{value:?}: {e}"))
            .iter()
            .flat_map(|e| e.mailboxes().to_vec())
            .collect()
    }

    /// RFC 5322 Appendix A.1.1, A.1.2, A.1.3 and A.6.1 address fields.
    #[test]
    fn rfc5322_appendix_a_addresses() {
        assert_eq!(
            parse_mailbox(b"John Doe <jdoe@machine.example>").unwrap(),
            mb(Some("John Doe"), "jdoe@machine.example")
        );
        assert_eq!(
            parse_mailbox(b"\"Joe Q. Public\" <john.q.public@example.com>").unwrap(),
            mb(Some("Joe Q. Public"), "john.q.public@example.com")
        );
        assert_eq!(
            mailboxes("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>"),
            [
                mb(Some("Mary Smith"), "mary@x.test"),
                mb(None, "jdoe@example.org"),
                mb(Some("Who?"), "one@y.test")
            ]
        );
        assert_eq!(
            mailboxes("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>"),
            [mb(None, "boss@nil.test"), mb(Some("Giant; \"Big\" Box"), "sysservices@example.net")]
        );
        // A.1.3: groups.
        let list =
            parse_address_list(b"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;")
                .unwrap();
        let MailboxOrGroup::Group(g) = &list[0] else { panic!("{list:?}") };
        assert_eq!(g.display_name, "A Group");
        assert_eq!(
            g.mailboxes,
            [
                mb(Some("Ed Jones"), "c@a.test"),
                mb(None, "joe@where.test"),
                mb(Some("John"), "jdoe@one.test")
            ]
        );
        let list = parse_address_list(b"Undisclosed recipients:;").unwrap();
        assert!(
            matches!(&list[..], [MailboxOrGroup::Group(g)] if g.display_name == "Undisclosed recipients" && g.mailboxes.is_empty())
        );
        // A.5: white space, comments, and other oddities.
        assert_eq!(
            parse_mailbox(b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>")
                .unwrap(),
            mb(Some("Pete"), "pete@silly.test")
        );
        let list = parse_address_list(
            b"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
        )
        .unwrap();
        let MailboxOrGroup::Group(g) = &list[0] else { panic!("{list:?}") };
        assert_eq!(g.display_name, "A Group");
        assert_eq!(
            g.mailboxes,
            [
                mb(Some("Chris Jones"), "c@public.example"),
                mb(None, "joe@example.org"),
                mb(Some("John"), "jdoe@one.test")
            ]
        );
        // A.6.1: obsolete list syntax with empty elements.
        assert_eq!(
            mailboxes("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example"),
            [mb(Some("Mary Smith"), "mary@example.net"), mb(None, "jdoe@test.example")]
        );
        // A.6.3: obsolete white space and comments.
        assert_eq!(
            parse_mailbox(b"John Doe <jdoe@machine(comment).  example>").unwrap(),
            mb(Some("John Doe"), "jdoe@machine.example")
        );
        assert_eq!(
            parse_mailbox(b"Mary Smith\r\n    \r\n <mary@example.net>").unwrap(),
            mb(Some("Mary Smith"), "mary@example.net")
        );
    }

    #[test]
    fn display_names() {
        let cases = [
            ("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>", "Keld Jørn Simonsen"),
            ("\"=?utf-8?q?quoted_encoded?=\" <a@x.test>", "quoted encoded"),
            ("=?utf-8?q?a?= =?utf-8?q?b?= c <a@x.test>", "ab c"),
            ("Jörg Müller <a@x.test>", "Jörg Müller"),
            ("jane@x.test <a@x.test>", "jane@x.test"),
            ("John Q. Public <a@x.test>", "John Q. Public"),
            ("\"Doe, Jane\" <a@x.test>", "Doe, Jane"),
            ("\"a\r\n b\" <a@x.test>", "a b"),
        ];
        for (input, name) in cases {
            let m = parse_mailbox(input.as_bytes()).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(m.display_name.as_deref(), Some(name), "{input}");
        }
        assert_eq!(parse_mailbox(b"\"\" <a@x.test>").unwrap().display_name, None);
        assert_eq!(parse_mailbox(b"<a@x.test>").unwrap().display_name, None);
        // Raw Latin-1 in a display name is read as Windows-1252.
        assert_eq!(
            parse_mailbox(b"J\xf6rg <a@x.test>").unwrap().display_name.as_deref(),
            Some("Jörg")
        );
    }

    #[test]
    fn localparts_and_domains() {
        let cases = [
            ("\"john doe\"@example.org", "john doe", "example.org"),
            ("a..b@docomo.ne.jp", "a..b", "docomo.ne.jp"),
            ("a.@docomo.ne.jp", "a.", "docomo.ne.jp"),
            ("jøran@bücher.example", "jøran", "xn--bcher-kva.example"),
            ("a . b @ Example.COM", "a.b", "example.com"),
            ("\"a\".b@x.test", "a.b", "x.test"),
        ];
        for (input, lp, domain) in cases {
            let m = parse_mailbox(input.as_bytes()).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(m.address.localpart.as_str(), lp, "{input}");
            assert_eq!(m.address.domain.ascii(), domain, "{input}");
        }
    }

    #[test]
    fn errors_with_positions() {
        let cases: [(&[u8], usize); 9] = [
            (b"nodomain", 8),
            (b"a@", 2),
            (b"Jane <jane@x.test", 17),
            (b"Jane <jane>", 10),
            (b"a@x.test b@y.test", 9),
            (b"Doe, Jane <a@x.test>", 3),
            (b"a@[192.0.2.1]", 2),
            (b"\"open@x.test", 12),
            (b"a\xff@x.test", 1),
        ];
        for (input, position) in cases {
            let err = parse_address_list(input).unwrap_err();
            let got = match err {
                Error::Syntax { position, .. }
                | Error::Domain { position, .. }
                | Error::Utf8 { position } => position,
                other => panic!("{other:?}"),
            };
            assert_eq!(got, position, "{:?}: {err}", String::from_utf8_lossy(input));
        }
        assert!(parse_mailbox_list(b"group: a@x.test;").is_err());
        assert!(parse_mailbox(b"a@x.test, b@x.test").is_err());
    }

    #[test]
    fn empty_lists() {
        assert!(parse_address_list(b"").unwrap().is_empty());
        assert!(parse_address_list(b"  , ,(comment)").unwrap().is_empty());
        assert_eq!(mailboxes(",a@x.test,"), [mb(None, "a@x.test")]);
    }

    #[test]
    fn from_mailboxes_of_header() {
        let msg = b"From: a@x.test, B <b@y.test>\r\nTo: c@z.test\r\nFrom: d@w.test\r\n\r\n";
        let h = Header::parse(msg);
        let from = h.from_mailboxes().unwrap();
        assert_eq!(from, [mb(None, "a@x.test"), mb(Some("B"), "b@y.test"), mb(None, "d@w.test")]);
        assert_eq!(h.address_list("to").unwrap().len(), 1);
        assert!(Header::parse(b"To: a@x.test\r\n\r\n").from_mailboxes().unwrap().is_empty());
        assert!(Header::parse(b"From: broken\r\n\r\n").from_mailboxes().is_err());
    }

    #[test]
    fn display_round_trips() {
        let cases = [
            ("a@x.test", "a@x.test"),
            ("Jane Doe <jane@x.test>", "Jane Doe <jane@x.test>"),
            ("\"Doe, Jane\" <jane@x.test>", "\"Doe, Jane\" <jane@x.test>"),
            ("\"a\\\"b\" <a@x.test>", "\"a\\\"b\" <a@x.test>"),
            ("Jörg <j@bücher.example>", "=?utf-8?q?J=C3=B6rg?= <j@xn--bcher-kva.example>"),
            ("jøran@bücher.example", "jøran@bücher.example"),
            ("\"a b\"@x.test", "\"a b\"@x.test"),
            ("G: a@x.test, B <b@x.test>;", "G: a@x.test, B <b@x.test>;"),
            ("\"\":;", "\"\":;"),
        ];
        for (input, display) in cases {
            let list =
                parse_address_list(input.as_bytes()).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(list.len(), 1);
            assert_eq!(list[0].to_string(), display, "{input}");
            assert_eq!(parse_address_list(display.as_bytes()).unwrap(), list, "{display}");
        }
    }
}
