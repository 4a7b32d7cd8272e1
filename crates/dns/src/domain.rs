//! Validated DNS names in both their Unicode and ASCII (IDNA) forms.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// The longest name, in ASCII without the trailing root dot (RFC 1035 §2.3.4: 255 octets on the
/// wire, which is 253 characters in presentation form).
pub const MAX_NAME_LENGTH: usize = 253;
/// The longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LENGTH: usize = 63;

/// A DNS name that is known to be valid, held in both its ASCII form (with IDNA A-labels, as sent
/// on the wire) and its Unicode form (with U-labels, as shown to people).
///
/// Both forms are lowercased and have no trailing dot. Labels may contain letters, digits, hyphens
/// and underscores, so service names such as `_dmarc.example.com` and `s1._domainkey.example.com`
/// are domains too. Equality, ordering and hashing use the ASCII form.
///
/// Both forms live in one shared allocation (the Unicode form only if it differs), so a clone
/// costs a reference count, not a copy.
///
/// ```
/// let d = dns::Domain::parse("Bücher.Example.")?;
/// assert_eq!(d.ascii(), "xn--bcher-kva.example");
/// assert_eq!(d.unicode(), "bücher.example");
/// assert_eq!(d.to_string(), "bücher.example");
/// # Ok::<(), dns::DomainError>(())
/// ```
#[derive(Clone)]
pub struct Domain {
    /// The ASCII form, followed by the Unicode form if that differs (names with A-labels).
    text: Arc<str>,
    /// The length of the ASCII form in `text`.
    ascii_len: usize,
}

impl PartialEq for Domain {
    fn eq(&self, other: &Domain) -> bool {
        self.ascii() == other.ascii()
    }
}

impl Eq for Domain {}

impl Hash for Domain {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.ascii().hash(state);
    }
}

impl PartialOrd for Domain {
    fn partial_cmp(&self, other: &Domain) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Domain {
    fn cmp(&self, other: &Domain) -> std::cmp::Ordering {
        self.ascii().cmp(other.ascii())
    }
}

/// Why a string is not a valid domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// The name is empty (or just the root dot).
    #[error("empty domain name")]
    Empty,
    /// Two dots in a row, or a leading dot.
    #[error("empty label at position {position} in {name:?}")]
    EmptyLabel {
        /// The name as given.
        name: String,
        /// Byte offset of the empty label.
        position: usize,
    },
    /// A label longer than 63 octets.
    #[error("label {label:?} is {length} octets long, the limit is 63")]
    LabelTooLong {
        /// The offending label, in ASCII form.
        label: String,
        /// Its length in octets.
        length: usize,
    },
    /// The ASCII form is longer than 253 characters.
    #[error("name is {length} octets long, the limit is 253")]
    NameTooLong {
        /// Length of the ASCII form.
        length: usize,
    },
    /// A character that cannot appear in a domain name.
    #[error("invalid character {character:?} at position {position} in {name:?}")]
    InvalidCharacter {
        /// The name as given.
        name: String,
        /// The character.
        character: char,
        /// Byte offset of the character.
        position: usize,
    },
    /// The internationalized name could not be converted by IDNA (UTS #46), or an `xn--` label
    /// is not valid Punycode.
    #[error("invalid internationalized domain name {name:?}")]
    Idna {
        /// The name as given.
        name: String,
    },
}

impl Domain {
    /// Parses a name in Unicode or ASCII form. Case is folded, one trailing dot (the root) is
    /// removed, and IDNA (UTS #46 nontransitional processing) maps Unicode to A-labels.
    pub fn parse(name: &str) -> Result<Domain, DomainError> {
        match Domain::parse_host_name(name) {
            Some(domain) => Ok(domain),
            None => Domain::parse_any(name),
        }
    }

    /// The common case of [`Domain::parse`] done in one pass and one allocation: an ASCII
    /// name whose labels are letters, digits, `-` and `_` within the length limits, with no
    /// A-label (`xn--`), so its Unicode form is its ASCII form. `None` for any other name,
    /// valid or not, which [`Domain::parse_any`] then handles (the fuzz target `dns_domain`
    /// checks the two agree).
    fn parse_host_name(name: &str) -> Option<Domain> {
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        let bytes = trimmed.as_bytes();
        if bytes.is_empty() || bytes.len() > MAX_NAME_LENGTH {
            return None;
        }
        let plain_label = |label: &[u8]| {
            !label.is_empty()
                && label.len() <= MAX_LABEL_LENGTH
                && !label.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"xn--"))
        };
        let mut label_start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'.' {
                if !plain_label(&bytes[label_start..i]) {
                    return None;
                }
                label_start = i + 1;
            } else if !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return None;
            }
        }
        if !plain_label(&bytes[label_start..]) {
            return None;
        }
        let mut text: Arc<str> = Arc::from(trimmed);
        // A new Arc is not shared, so this always lowercases in place.
        Arc::get_mut(&mut text)?.make_ascii_lowercase();
        Some(Domain { ascii_len: text.len(), text })
    }

    /// [`Domain::parse`] for any name: Unicode, A-labels, and the errors.
    pub(crate) fn parse_any(name: &str) -> Result<Domain, DomainError> {
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        if trimmed.is_empty() {
            return Err(DomainError::Empty);
        }
        let ascii: Cow<'_, str> = if trimmed.is_ascii() {
            check_ascii_name(name, trimmed)?;
            Cow::Owned(trimmed.to_ascii_lowercase())
        } else {
            let mut converted = Uts46::new()
                .to_ascii(
                    trimmed.as_bytes(),
                    AsciiDenyList::EMPTY,
                    Hyphens::Allow,
                    DnsLength::Ignore,
                )
                .map_err(|_| DomainError::Idna { name: name.to_string() })?;
            // IDNA maps the ideographic and fullwidth full stops to dots (RFC 3490 §3.1), so
            // one at the end is the root, like a trailing ASCII dot.
            if trimmed.len() == name.len()
                && let Some(without_root) = converted.strip_suffix('.')
            {
                converted = Cow::Owned(without_root.to_string());
            }
            if converted.is_empty() {
                return Err(DomainError::Empty);
            }
            check_ascii_name(name, &converted)?;
            converted
        };
        let unicode = if ascii.split('.').any(|label| label.starts_with("xn--")) {
            let (unicode, result) =
                Uts46::new().to_unicode(ascii.as_bytes(), AsciiDenyList::EMPTY, Hyphens::Allow);
            // An A-label must decode to a U-label that encodes back to the same A-label: this
            // rejects e.g. "xn--xn--..." whose decoded form itself starts with "xn--" (UTS #46
            // §4.1 criterion 4), so both forms always parse back to the same Domain.
            let round_trip = Uts46::new().to_ascii(
                unicode.as_bytes(),
                AsciiDenyList::EMPTY,
                Hyphens::Allow,
                DnsLength::Ignore,
            );
            if result.is_err() || round_trip.ok().as_deref() != Some(&*ascii) {
                return Err(DomainError::Idna { name: name.to_string() });
            }
            Some(unicode)
        } else {
            None
        };
        Ok(Domain::from_forms(&ascii, unicode.as_deref().unwrap_or(&ascii)))
    }

    /// A domain from its two forms, which are known to be valid and to belong together.
    fn from_forms(ascii: &str, unicode: &str) -> Domain {
        let text: Arc<str> = if ascii == unicode {
            Arc::from(ascii)
        } else {
            let mut both = String::with_capacity(ascii.len() + unicode.len());
            both.push_str(ascii);
            both.push_str(unicode);
            Arc::from(both)
        };
        Domain { text, ascii_len: ascii.len() }
    }

    /// Parses a DNS name whose labels may also hold printable ASCII characters other than
    /// letters, digits, `-` and `_` (such as `:`, `/`, `%` or a space), as in
    /// `foo:bar/baz.example.com`.
    ///
    /// DNS itself allows any octet in a label (RFC 2181 §11). SPF builds names from macros and
    /// looks them up verbatim (RFC 7208 §4.8, §7.3), so it needs names that are not host names.
    /// Names that [`parse`](Domain::parse) accepts give the same `Domain`; any other name must be
    /// ASCII without control characters, and keeps its ASCII form as its Unicode form. Case is
    /// folded, one trailing dot is removed, and the label and name length limits still apply.
    ///
    /// ```
    /// let d = dns::Domain::parse_lenient("Foo:Bar/baz.Example.com.")?;
    /// assert_eq!(d.ascii(), "foo:bar/baz.example.com");
    /// assert!(dns::Domain::parse_lenient("a..example.com").is_err());
    /// # Ok::<(), dns::DomainError>(())
    /// ```
    pub fn parse_lenient(name: &str) -> Result<Domain, DomainError> {
        let strict = Domain::parse(name);
        let Err(DomainError::InvalidCharacter { .. }) = strict else {
            return strict;
        };
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        if !trimmed.is_ascii() {
            return strict;
        }
        check_name(name, trimmed, |c| (' '..='~').contains(&c) && c != '.')?;
        let ascii = trimmed.to_ascii_lowercase();
        Ok(Domain::from_forms(&ascii, &ascii))
    }

    /// The name for a reverse (PTR) lookup of `ip`: `4.3.2.1.in-addr.arpa` for `1.2.3.4`, or the
    /// 32 reversed nibbles under `ip6.arpa` for IPv6 (RFC 3596 §2.5).
    pub fn reverse_lookup_name(ip: IpAddr) -> Domain {
        let zone = match ip {
            IpAddr::V4(_) => "in-addr.arpa",
            IpAddr::V6(_) => "ip6.arpa",
        };
        let name = format!("{}.{zone}", reversed_ip_labels(ip));
        Domain { ascii_len: name.len(), text: Arc::from(name) }
    }

    /// The ASCII form with A-labels (`xn--...`), as used on the wire and in most headers.
    pub fn ascii(&self) -> &str {
        // The ASCII form ends at a character boundary: it is ASCII.
        self.text.get(..self.ascii_len).unwrap_or_default()
    }

    /// The Unicode form with U-labels, as shown to people.
    pub fn unicode(&self) -> &str {
        match self.text.get(self.ascii_len..) {
            Some(unicode) if !unicode.is_empty() => unicode,
            _ => &self.text,
        }
    }

    /// Whether the name has internationalized labels, i.e. its Unicode and ASCII forms differ.
    pub fn is_internationalized(&self) -> bool {
        self.text.len() != self.ascii_len
    }

    /// The ASCII labels from left to right.
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.ascii().split('.')
    }

    /// The name with its leftmost label removed, or `None` for a single-label name.
    pub fn parent(&self) -> Option<Domain> {
        let (_, ascii) = self.ascii().split_once('.')?;
        let unicode = self.unicode().split_once('.').map_or(ascii, |(_, rest)| rest);
        Some(Domain::from_forms(ascii, unicode))
    }

    /// Whether `self` equals `other` or lies below it: `a.b.example` is within `example`, but
    /// `notexample` is not.
    pub fn is_within(&self, other: &Domain) -> bool {
        let (ascii, other) = (self.ascii(), other.ascii());
        ascii == other
            || (ascii.len() > other.len()
                && ascii.ends_with(other)
                && ascii.as_bytes()[ascii.len() - other.len() - 1] == b'.')
    }

    /// A name with `prefix` (one or more labels, such as `_dmarc` or `sel._domainkey`) put in
    /// front of this one.
    pub fn with_prefix(&self, prefix: &str) -> Result<Domain, DomainError> {
        Domain::parse(&format!("{prefix}.{}", self.ascii()))
    }
}

/// The labels of `ip` in reverse order, without a zone: `4.3.2.1` for `1.2.3.4`, and 32
/// dot-separated nibbles for IPv6. DNS blocklists (RFC 5782 §2.1) and reverse DNS use these.
pub fn reversed_ip_labels(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}")
        }
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(63);
            for byte in v6.octets().iter().rev() {
                for nibble in [byte & 0x0f, byte >> 4] {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                }
            }
            out
        }
    }
}

fn check_ascii_name(original: &str, name: &str) -> Result<(), DomainError> {
    check_name(original, name, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_name(
    original: &str,
    name: &str,
    allowed: impl Fn(char) -> bool,
) -> Result<(), DomainError> {
    if name.len() > MAX_NAME_LENGTH {
        return Err(DomainError::NameTooLong { length: name.len() });
    }
    let mut start = 0;
    for label in name.split('.') {
        if label.is_empty() {
            return Err(DomainError::EmptyLabel { name: original.to_string(), position: start });
        }
        if label.len() > MAX_LABEL_LENGTH {
            return Err(DomainError::LabelTooLong {
                label: label.to_string(),
                length: label.len(),
            });
        }
        if let Some((offset, character)) = label.char_indices().find(|&(_, c)| !allowed(c)) {
            return Err(DomainError::InvalidCharacter {
                name: original.to_string(),
                character,
                position: start + offset,
            });
        }
        start += label.len() + 1;
    }
    Ok(())
}

impl fmt::Display for Domain {
    /// Writes the Unicode form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.unicode())
    }
}

impl fmt::Debug for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_internationalized() {
            write!(f, "Domain({:?} / {:?})", self.unicode(), self.ascii())
        } else {
            write!(f, "Domain({:?})", self.ascii())
        }
    }
}

impl FromStr for Domain {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Domain::parse(s)
    }
}

impl TryFrom<&str> for Domain {
    type Error = DomainError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Domain::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Domain {
        match Domain::parse(s) {
            Ok(d) => d,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    #[test]
    fn ascii_names_are_lowercased_without_root_dot() {
        let d = parse("Mail.Example.COM.");
        assert_eq!(d.ascii(), "mail.example.com");
        assert_eq!(d.unicode(), "mail.example.com");
        assert!(!d.is_internationalized());
        assert_eq!(d, parse("mail.example.com"));
    }

    #[test]
    fn plain_host_names_take_the_fast_path_with_the_same_result() {
        let long_label = format!("{}.com", "a".repeat(63));
        let too_long_label = format!("{}.com", "a".repeat(64));
        let just_fits = format!("{}.{}", vec!["a".repeat(63); 3].join("."), "b".repeat(61));
        let too_long = format!("{just_fits}b");
        let fast = [
            "Mail.Example.COM.",
            "s1._domainkey.example.org",
            "a-b.c_d.e",
            "x",
            "a.",
            "xn-.example",
            "xnx--a.example",
            "a.xn",
            &long_label,
            &just_fits,
        ];
        for name in fast {
            assert!(Domain::parse_host_name(name).is_some(), "{name}");
            crate::fuzzing::domain_parse(name);
        }
        let general = [
            "",
            ".",
            "..",
            "a..b",
            ".a",
            "a.b..",
            "xn--bcher-kva.example",
            "XN--BCHER-KVA.example",
            "sub.Xn--bcher-kva.example",
            "xn--zz.example",
            "bücher.example",
            "exa mple.com",
            "a.b@c",
            &too_long_label,
            &too_long,
        ];
        for name in general {
            assert!(Domain::parse_host_name(name).is_none(), "{name}");
            crate::fuzzing::domain_parse(name);
        }
    }

    #[test]
    fn equality_ordering_and_hashing_use_the_ascii_form() {
        use std::collections::HashSet;
        let (idn, ascii) = (parse("Bücher.example"), parse("xn--bcher-kva.example"));
        assert_eq!(idn, ascii);
        assert_eq!(idn.cmp(&ascii), std::cmp::Ordering::Equal);
        assert_eq!(HashSet::from([idn.clone(), ascii]).len(), 1);
        assert!(parse("a.example") < parse("b.example"));
        // A clone shares the text and keeps both forms.
        let clone = idn.clone();
        assert_eq!((clone.ascii(), clone.unicode()), ("xn--bcher-kva.example", "bücher.example"));
        assert_eq!(format!("{clone:?}"), "Domain(\"bücher.example\" / \"xn--bcher-kva.example\")");
        assert_eq!(format!("{:?}", parse("a.example")), "Domain(\"a.example\")");
    }

    #[test]
    fn unicode_and_punycode_forms_agree() {
        let from_unicode = parse("ÉXAMPLE.münchen.de");
        let from_ascii = parse("xn--xample-9ua.xn--mnchen-3ya.de");
        assert_eq!(from_unicode, from_ascii);
        assert_eq!(from_ascii.unicode(), "éxample.münchen.de");
        assert_eq!(from_unicode.ascii(), "xn--xample-9ua.xn--mnchen-3ya.de");
        assert_eq!(format!("{from_ascii}"), "éxample.münchen.de");
    }

    #[test]
    fn service_labels_with_underscores_are_allowed() {
        assert_eq!(parse("_dmarc.example.org").labels().next(), Some("_dmarc"));
        assert_eq!(parse("s1._domainkey.example.org").labels().count(), 4);
    }

    #[test]
    fn limits_are_enforced() {
        assert_eq!(Domain::parse(""), Err(DomainError::Empty));
        assert_eq!(Domain::parse("."), Err(DomainError::Empty));
        assert!(matches!(Domain::parse("a..b"), Err(DomainError::EmptyLabel { position: 2, .. })));
        assert!(matches!(Domain::parse(".a"), Err(DomainError::EmptyLabel { position: 0, .. })));
        let long_label = "a".repeat(64);
        assert!(matches!(
            Domain::parse(&format!("{long_label}.com")),
            Err(DomainError::LabelTooLong { length: 64, .. })
        ));
        assert!(Domain::parse(&format!("{}.com", "a".repeat(63))).is_ok());
        let long_name = vec!["abcdefghi"; 26].join("."); // 26*10-1 = 259
        assert!(matches!(Domain::parse(&long_name), Err(DomainError::NameTooLong { length: 259 })));
        let just_fits = format!("{}.{}", vec!["a".repeat(63); 3].join("."), "b".repeat(61));
        assert_eq!(just_fits.len(), 253);
        assert!(Domain::parse(&just_fits).is_ok());
    }

    #[test]
    fn invalid_characters_are_reported_with_position() {
        assert_eq!(
            Domain::parse("exa mple.com"),
            Err(DomainError::InvalidCharacter {
                name: "exa mple.com".into(),
                character: ' ',
                position: 3
            })
        );
        assert!(matches!(
            Domain::parse("a.b@c"),
            Err(DomainError::InvalidCharacter { character: '@', position: 3, .. })
        ));
        // A label that claims to be Punycode must decode.
        assert!(matches!(Domain::parse("xn--zz.example"), Err(DomainError::Idna { .. })));
        // A Unicode name whose IDNA mapping yields a forbidden character (ideographic space).
        assert!(matches!(
            Domain::parse("ex\u{3000}ample.com"),
            Err(DomainError::InvalidCharacter { character: ' ', .. })
        ));
        // IDNA maps the fullwidth full stop to a dot.
        assert_eq!(Domain::parse("example\u{FF0E}com"), Domain::parse("example.com"));
    }

    #[test]
    fn lenient_names_allow_printable_ascii_labels() {
        let d = Domain::parse_lenient("Foo:Bar/baz.Example.COM.").unwrap();
        assert_eq!(d.ascii(), "foo:bar/baz.example.com");
        assert_eq!(d.unicode(), d.ascii());
        assert_eq!(d.labels().next(), Some("foo:bar/baz"));
        let spaced = Domain::parse_lenient("macro%percent  space%20url-space.example.com").unwrap();
        assert_eq!(spaced.labels().count(), 3);
        // Host names parse exactly as with `parse`, IDNA included.
        assert_eq!(Domain::parse_lenient("Mail.Example.com"), Domain::parse("mail.example.com"));
        assert_eq!(Domain::parse_lenient("bücher.example"), Domain::parse("bücher.example"));
        // Structure and length limits still hold; control and non-ASCII characters do not pass.
        assert!(matches!(Domain::parse_lenient("a..b"), Err(DomainError::EmptyLabel { .. })));
        let long = format!("{}:.example", "a".repeat(63));
        assert!(matches!(Domain::parse_lenient(&long), Err(DomainError::LabelTooLong { .. })));
        assert!(matches!(
            Domain::parse_lenient("a\tb:c.example"),
            Err(DomainError::InvalidCharacter { character: '\t', .. })
        ));
        assert!(Domain::parse_lenient("ex\u{3000}:ample.com").is_err());
    }

    #[test]
    fn trailing_ideographic_full_stop_is_the_root() {
        // U+3002 is a label separator in IDNA, so at the end it is the root dot; it used to
        // leave an empty last label and the name was rejected.
        assert_eq!(parse("bücher.example\u{3002}"), parse("bücher.example."));
        assert_eq!(parse("例子\u{3002}广告\u{FF0E}"), parse("例子.广告"));
        // Two root dots are still one too many.
        assert!(matches!(
            Domain::parse("bücher.example\u{3002}."),
            Err(DomainError::EmptyLabel { .. })
        ));
        assert_eq!(Domain::parse("\u{3002}"), Err(DomainError::Empty));
    }

    #[test]
    fn a_label_decoding_to_an_a_label_is_rejected() {
        // Found by the dns_domain fuzz target: "xn--xn--t--q--miju-t--q--mijuu" decodes to a label
        // that starts with "xn--" and does not encode back, so its Unicode form did not parse.
        for name in [
            "n-xnx.xn--xn--t--q--miju-t--q--mijuu",
            "n-xnx.xn--xn--t--q--m\u{133}U-t--q--m\u{133}UU",
        ] {
            assert!(matches!(Domain::parse(name), Err(DomainError::Idna { .. })), "{name}");
        }
    }

    #[test]
    fn idna_length_limits_apply_to_the_ascii_form() {
        // 30 'ü' becomes a label over 63 octets once Punycode-encoded.
        let name = format!("{}.de", "ü".repeat(60));
        assert!(matches!(Domain::parse(&name), Err(DomainError::LabelTooLong { .. })));
    }

    #[test]
    fn hierarchy_helpers() {
        let d = parse("a.b.example.com");
        assert_eq!(d.parent(), Some(parse("b.example.com")));
        assert_eq!(parse("com").parent(), None);
        assert!(d.is_within(&parse("example.com")));
        assert!(d.is_within(&d));
        assert!(!parse("notexample.com").is_within(&parse("example.com")));
        assert!(!parse("example.com").is_within(&d));
        assert_eq!(parse("example.com").with_prefix("_dmarc"), Ok(parse("_dmarc.example.com")));
        let idn = parse("sub.münchen.de");
        assert_eq!(idn.parent().map(|p| p.unicode().to_string()), Some("münchen.de".into()));
    }

    #[test]
    fn reverse_names() {
        let v4 = Domain::reverse_lookup_name("192.0.2.10".parse().unwrap());
        assert_eq!(v4.ascii(), "10.2.0.192.in-addr.arpa");
        let v6 = Domain::reverse_lookup_name("2001:db8::567:89ab".parse().unwrap());
        assert_eq!(
            v6.ascii(),
            "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
        assert_eq!(Domain::parse(v6.ascii()), Ok(v6));
    }
}
