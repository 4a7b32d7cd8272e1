//! The crate's error type.

/// An error: a record or explanation that does not parse, or a mistake in the caller's input.
///
/// Policy outcomes are not errors: a domain with a broken record gives
/// [`SpfResult::Permerror`](crate::SpfResult::Permerror) in `Ok`, with this error's text as the
/// problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text does not start with the version `v=spf1` followed by a space or the end
    /// (RFC 7208 §4.5). Such TXT records are not SPF records and are ignored during lookup.
    #[error("not an SPF record: it must start with \"v=spf1\" followed by a space or the end")]
    NotSpf,
    /// A syntax error in a record, a domain-spec or an explanation string.
    #[error("{problem} at position {position} (in {term:?})")]
    Syntax {
        /// Byte offset of the problem in the parsed text.
        position: usize,
        /// The term (or string) the problem is in.
        term: String,
        /// What is wrong.
        problem: SyntaxProblem,
    },
    /// A macro expansion grew beyond [`MAX_EXPANSION_LENGTH`](crate::MAX_EXPANSION_LENGTH)
    /// bytes, which only hostile records or inputs cause.
    #[error("macro expansion longer than {limit} bytes")]
    ExpansionTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A result name that is not one of the seven of RFC 7208 §2.6.
    #[error("unknown SPF result {name:?}")]
    UnknownResult {
        /// The name as given.
        name: String,
    },
    /// A MAIL FROM that is neither empty nor has an `@` separating local-part and domain.
    #[error("invalid MAIL FROM {mail_from:?}: expected local-part@domain or an empty reverse-path")]
    InvalidMailFrom {
        /// The MAIL FROM as given.
        mail_from: String,
    },
}

/// What is wrong in an [`Error::Syntax`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyntaxProblem {
    /// SPF records are US-ASCII only (RFC 7208 §3.1).
    #[error("non-ASCII character {0:?}")]
    NonAscii(char),
    /// Terms are separated by spaces only, not tabs, line breaks or other control characters
    /// (RFC 7208 §4.6.1).
    #[error("control character {0:?}: terms are separated by spaces only")]
    ControlCharacter(char),
    /// A term that is neither a mechanism nor a modifier, such as `=all` or `1up=foo`.
    #[error("not a mechanism or a modifier")]
    InvalidTerm,
    /// A mechanism name that RFC 7208 §5 does not define.
    #[error("unknown mechanism {0:?}")]
    UnknownMechanism(String),
    /// A qualifier (`+ - ~ ?`) in front of a modifier.
    #[error("a modifier takes no qualifier")]
    QualifiedModifier,
    /// Text after a mechanism that takes none there, such as `all:x`, `ptr/24` or `ip4:1.2.3.4//32`.
    #[error("unexpected {0:?} after the mechanism")]
    UnexpectedArgument(String),
    /// A mechanism or modifier that needs a domain-spec has none (`include`, `include:`, `exp=`).
    #[error("missing domain-spec")]
    MissingDomainSpec,
    /// A domain-spec must end in a macro or in `.` and a top label that is not all digits
    /// (RFC 7208 §7.1).
    #[error("domain-spec must end in a macro or in \".\" and a valid top-level label")]
    InvalidDomainEnd,
    /// `ip4:` without a dotted-quad address (RFC 7208 §5.6).
    #[error("invalid IPv4 network {0:?}")]
    InvalidIp4(String),
    /// `ip6:` without an IPv6 address (RFC 7208 §5.6).
    #[error("invalid IPv6 network {0:?}")]
    InvalidIp6(String),
    /// A CIDR prefix length out of range or with leading zeros.
    #[error("invalid CIDR prefix length {given:?}: expected 0 to {max} without leading zeros")]
    InvalidCidr {
        /// The length as written.
        given: String,
        /// 32 for IPv4, 128 for IPv6.
        max: u8,
    },
    /// `%` not followed by `{`, `%`, `_` or `-` (RFC 7208 §7.3).
    #[error("'%' must be followed by '{{', '%', '_' or '-'")]
    InvalidPercent,
    /// A macro `%{...}` without its closing brace, or with characters other than digits, `r` and
    /// delimiters after the letter.
    #[error("malformed macro: expected %{{letter digits r delimiters}}")]
    MalformedMacro,
    /// A macro letter that RFC 7208 §7.2 does not define.
    #[error("unknown macro letter {0:?}")]
    UnknownMacroLetter(char),
    /// The letters `c`, `r` and `t` are allowed only in explanation text (RFC 7208 §7.2).
    #[error("macro letter {0:?} is allowed only in explanation text")]
    ExplanationOnlyMacro(char),
    /// A macro with the digit transformer 0 (RFC 7208 §7.3: the value must be nonzero).
    #[error("macro digit transformer must be nonzero")]
    ZeroDigits,
    /// A character that may not appear in a macro string, such as a space in a domain-spec.
    #[error("invalid character {0:?}")]
    InvalidCharacter(char),
    /// `redirect=` or `exp=` appears more than once (RFC 7208 §6).
    #[error("modifier {0:?} appears more than once")]
    DuplicateModifier(&'static str),
}
