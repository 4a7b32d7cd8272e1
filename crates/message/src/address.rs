//! SMTP addresses: [`Localpart`] and [`Address`] (RFC 5321 §4.1.2, RFC 6531 §3.3).
//!
//! ```text
//! Mailbox        = Local-part "@" ( Domain / address-literal )
//! Local-part     = Dot-string / Quoted-string
//! Dot-string     = Atom *("."  Atom)
//! Atom           = 1*atext
//! Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
//! QcontentSMTP   = qtextSMTP / quoted-pairSMTP
//! quoted-pairSMTP = %d92 %d32-126
//! qtextSMTP      = %d32-33 / %d35-91 / %d93-126
//! ; RFC 6531 §3.3: atext =/ UTF8-non-ascii, qtextSMTP =/ UTF8-non-ascii
//! ```

use std::fmt;
use std::str::FromStr;

use dns::Domain;

use crate::Error;

/// The part of an address before the `@`, held in its unquoted form: `"john doe"@example.org`
/// has the localpart value `john doe`.
///
/// Any value of printable ASCII (space included) and non-ASCII UTF-8 (SMTPUTF8, RFC 6531) can be
/// held; [`Display`](fmt::Display) writes it as a dot-string when it is one and as a
/// quoted-string otherwise, so parsing the displayed form gives the same value.
///
/// Equality is byte-exact on the unquoted value: `"a"` and `a` are equal, `A` and `a` are not.
/// RFC 5321 §2.4 makes the local part case-sensitive and leaves its interpretation to the
/// receiving domain; case folding or catch-all separators for account lookup are the caller's
/// choice. No length limit is enforced (RFC 5321 §4.5.3.1.1's 64 octets is exceeded by real
/// mail, e.g. SRS and VERP addresses).
///
/// ```
/// use message::Localpart;
/// let lp = Localpart::parse(r#""john \"j\" doe""#)?;
/// assert_eq!(lp.as_str(), r#"john "j" doe"#);
/// assert_eq!(lp.to_string(), r#""john \"j\" doe""#);
/// assert_eq!(Localpart::parse("first.last")?.to_string(), "first.last");
/// assert_eq!(Localpart::new("a..b")?.to_string(), r#""a..b""#);
/// # Ok::<(), message::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Localpart(Box<str>);

/// An SMTP address `localpart@domain`, as used in `MAIL FROM`/`RCPT TO` and as the address of
/// a mailbox in a header.
///
/// Equality, hashing and ordering compare the localpart exactly (see [`Localpart`]) and the
/// domain by its lowercased ASCII form, so `a@EXAMPLE.org` equals `a@example.org` and
/// `a@bücher.example` equals `a@xn--bcher-kva.example`, but `A@example.org` does not equal
/// `a@example.org`.
///
/// [`Display`](fmt::Display) writes the localpart (quoted if needed) and the domain in its
/// Unicode form; for a peer without SMTPUTF8 use
/// `format!("{}@{}", addr.localpart, addr.domain.ascii())`.
///
/// Address literals (`user@[192.0.2.1]`) are not supported: the domain is always a
/// [`dns::Domain`].
///
/// ```
/// use message::Address;
/// let a = Address::parse("Jane.Doe@Example.ORG")?;
/// assert_eq!(a.localpart.as_str(), "Jane.Doe");
/// assert_eq!(a.domain.ascii(), "example.org");
/// assert_eq!(a.to_string(), "Jane.Doe@example.org");
/// assert_eq!(Address::parse(r#""jane doe"@example.org"#)?.to_string(), r#""jane doe"@example.org"#);
/// # Ok::<(), message::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    /// The part before the `@`.
    pub localpart: Localpart,
    /// The domain after the `@`.
    pub domain: Domain,
}

impl Localpart {
    /// Makes a localpart from its unquoted value. Fails on control characters (including CR,
    /// LF, TAB and DEL), which no localpart can contain.
    pub fn new(value: &str) -> Result<Localpart, Error> {
        if let Some(position) = value.bytes().position(|b| b < 0x20 || b == 0x7f) {
            return Err(Error::Syntax {
                what: "localpart",
                expected: "printable character",
                position,
            });
        }
        Ok(Localpart(value.into()))
    }

    /// Parses a localpart in SMTP syntax: a dot-string (`first.last`) or a quoted-string
    /// (`"first last"`), UTF-8 allowed (RFC 6531). The whole input must be the localpart.
    pub fn parse(text: &str) -> Result<Localpart, Error> {
        let (value, len) = parse_smtp_localpart(text)?;
        if len != text.len() {
            return Err(Error::Syntax {
                what: "localpart",
                expected: "end of localpart",
                position: len,
            });
        }
        Ok(Localpart(value.into_boxed_str()))
    }

    /// The unquoted value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the value is ASCII-only (if not, sending needs SMTPUTF8).
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }

    /// Whether the value must be written as a quoted-string: it is not a dot-string (empty, has
    /// a leading, trailing or doubled dot, or a character outside atext).
    pub fn needs_quoting(&self) -> bool {
        !is_dot_string(&self.0)
    }
}

impl fmt::Display for Localpart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.needs_quoting() {
            return f.write_str(&self.0);
        }
        f.write_str("\"")?;
        for c in self.0.chars() {
            if c == '"' || c == '\\' {
                f.write_str("\\")?;
            }
            fmt::Write::write_char(f, c)?;
        }
        f.write_str("\"")
    }
}

impl fmt::Debug for Localpart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Localpart({:?})", &*self.0)
    }
}

impl FromStr for Localpart {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Localpart::parse(s)
    }
}

impl AsRef<str> for Localpart {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Address {
    /// Makes an address from its parts.
    pub fn new(localpart: Localpart, domain: Domain) -> Address {
        Address { localpart, domain }
    }

    /// Parses `localpart@domain` in SMTP syntax (RFC 5321 §4.1.2 `Mailbox`, with RFC 6531 UTF-8),
    /// without angle brackets. The domain may be Unicode or ASCII (IDNA) and is normalized by
    /// [`Domain::parse`].
    pub fn parse(text: &str) -> Result<Address, Error> {
        let (value, len) = parse_smtp_localpart(text)?;
        if text.as_bytes().get(len) != Some(&b'@') {
            return Err(Error::Syntax { what: "address", expected: "\"@\"", position: len });
        }
        let domain_text = &text[len + 1..];
        let domain = Domain::parse(domain_text)
            .map_err(|source| Error::Domain { position: len + 1, source })?;
        Ok(Address { localpart: Localpart(value.into_boxed_str()), domain })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.localpart, self.domain)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

/// RFC 5322 §3.2.3 atext, extended with non-ASCII (RFC 6531 §3.3, RFC 6532 §3.2).
pub(crate) fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

fn is_dot_string(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// Parses a localpart at the start of `text`; returns the unquoted value and the bytes consumed.
fn parse_smtp_localpart(text: &str) -> Result<(String, usize), Error> {
    let err = |expected, position| Error::Syntax { what: "localpart", expected, position };
    if let Some(rest) = text.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((value, i + 2)),
                '\\' => match chars.next() {
                    Some((_, q)) if q == ' ' || q.is_ascii_graphic() || !q.is_ascii() => {
                        value.push(q)
                    }
                    Some((j, _)) => return Err(err("printable character after \"\\\"", j + 1)),
                    None => return Err(err("character after \"\\\"", text.len())),
                },
                c if c == ' ' || c.is_ascii_graphic() || !c.is_ascii() => value.push(c),
                _ => return Err(err("printable character or '\"'", i + 1)),
            }
        }
        return Err(err("closing '\"'", text.len()));
    }
    let mut len = 0;
    let mut atom_start = true;
    for (i, c) in text.char_indices() {
        if c == '.' {
            if atom_start {
                return Err(err("atext before \".\"", i));
            }
            atom_start = true;
        } else if is_atext(c) {
            atom_start = false;
        } else {
            break;
        }
        len = i + c.len_utf8();
    }
    if atom_start {
        return Err(err("atext", len));
    }
    Ok((text[..len].to_string(), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_strings() {
        for lp in ["a", "first.last", "x+tag", "!#$%&'*+-/=?^_`{|}~", "jøran", "用户"] {
            let parsed = Localpart::parse(lp).unwrap();
            assert_eq!(parsed.as_str(), lp);
            assert_eq!(parsed.to_string(), lp);
            assert!(!parsed.needs_quoting());
        }
        assert!(Localpart::parse("jøran").is_ok_and(|l| !l.is_ascii()));
    }

    #[test]
    fn quoted_strings() {
        let cases = [
            (r#""a b""#, "a b", r#""a b""#),
            (r#""a""#, "a", "a"),
            (r#""""#, "", r#""""#),
            (r#""a\\b""#, r"a\b", r#""a\\b""#),
            (r#""a\"b""#, r#"a"b"#, r#""a\"b""#),
            (r#"".a""#, ".a", r#"".a""#),
            (r#""a..b""#, "a..b", r#""a..b""#),
            (r#""a@b""#, "a@b", r#""a@b""#),
            (r#""\a""#, "a", "a"),
        ];
        for (input, value, display) in cases {
            let lp = Localpart::parse(input).unwrap();
            assert_eq!(lp.as_str(), value, "{input}");
            assert_eq!(lp.to_string(), display, "{input}");
            assert_eq!(Localpart::parse(display).unwrap(), lp);
        }
    }

    #[test]
    fn invalid_localparts() {
        let cases = [
            ("", 0),
            (".a", 0),
            ("a.", 2),
            ("a..b", 2),
            ("a b", 1),
            ("a@b", 1),
            ("\"a", 2),
            ("\"a\"b", 3),
            ("\"a\tb\"", 2),
            ("\"a\\", 3),
        ];
        for (input, position) in cases {
            match Localpart::parse(input) {
                Err(Error::Syntax { position: p, .. }) => assert_eq!(p, position, "{input:?}"),
                other => panic!("{input:?}: {other:?}"),
            }
        }
        assert!(Localpart::new("a\r\nb").is_err());
        assert!(Localpart::new("a\u{7f}").is_err());
    }

    #[test]
    fn addresses() {
        let a = Address::parse("Mjl@Bücher.Example").unwrap();
        assert_eq!(a.localpart.as_str(), "Mjl");
        assert_eq!(a.domain.ascii(), "xn--bcher-kva.example");
        assert_eq!(a.to_string(), "Mjl@bücher.example");
        assert_eq!(a, Address::parse("Mjl@xn--bcher-kva.EXAMPLE").unwrap());
        assert_ne!(a, Address::parse("mjl@bücher.example").unwrap());
        assert_eq!(
            Address::parse(r#""a"@example.org"#).unwrap(),
            Address::parse("a@example.org").unwrap()
        );
        let q = Address::parse(r#""a@b c"@example.org"#).unwrap();
        assert_eq!(q.localpart.as_str(), "a@b c");
        assert_eq!(q.to_string(), r#""a@b c"@example.org"#);
        assert_eq!(Address::parse(&q.to_string()).unwrap(), q);
        assert_eq!(Address::parse("用户@例子.广告").unwrap().to_string(), "用户@例子.广告");
    }

    #[test]
    fn invalid_addresses() {
        assert!(matches!(
            Address::parse("nodomain"),
            Err(Error::Syntax { expected: "\"@\"", position: 8, .. })
        ));
        assert!(matches!(Address::parse("a@"), Err(Error::Domain { position: 2, .. })));
        assert!(matches!(Address::parse("a@[192.0.2.1]"), Err(Error::Domain { .. })));
        assert!(matches!(Address::parse("a@b@c"), Err(Error::Domain { .. })));
        assert!(matches!(Address::parse("@example.org"), Err(Error::Syntax { position: 0, .. })));
        assert!(matches!(
            Address::parse("a b@example.org"),
            Err(Error::Syntax { position: 1, .. })
        ));
    }
}
