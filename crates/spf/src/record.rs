//! SPF records: types, parsing (RFC 7208 §4.5, §4.6.1, §5, §6, §12) and canonical display.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use nom::Parser;
use nom::bytes::complete::take_while;
use nom::character::complete::{char, digit1, one_of, satisfy};
use nom::combinator::{all_consuming, opt, recognize};

use crate::SpfResult;
use crate::error::{Error, SyntaxProblem};
use crate::macros::{MacroContext, MacroPart, MacroString, parse_macro_string};

/// The version section every SPF record starts with (RFC 7208 §4.5).
pub const VERSION: &str = "v=spf1";

/// A parsed SPF record.
///
/// ```text
/// record           = version terms *SP
/// version          = "v=spf1"
/// terms            = *( 1*SP ( directive / modifier ) )
/// ```
///
/// `Display` writes the canonical form: `v=spf1`, then the terms in their order separated by
/// one space, with lowercase mechanism names and without the default `+` qualifier.
///
/// ```
/// let record: spf::Record = "V=SPF1  +MX  ip4:192.0.2.0/24 ~ALL".parse()?;
/// assert_eq!(record.to_string(), "v=spf1 mx ip4:192.0.2.0/24 ~all");
/// assert_eq!(record.directives().count(), 3);
/// # Ok::<(), spf::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    terms: Vec<Term>,
}

/// A term: a directive (mechanism with qualifier) or a modifier (RFC 7208 §4.6.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// `[qualifier] mechanism`.
    Directive(Directive),
    /// `name=value`.
    Modifier(Modifier),
}

/// A mechanism with its qualifier.
///
/// ```text
/// directive        = [ qualifier ] mechanism
/// qualifier        = "+" / "-" / "?" / "~"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Directive {
    /// The result when the mechanism matches.
    pub qualifier: Qualifier,
    /// What to match.
    pub mechanism: Mechanism,
}

/// The result a matching mechanism gives (RFC 7208 §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qualifier {
    /// `+`, the default: pass.
    Pass,
    /// `-`: fail.
    Fail,
    /// `~`: softfail.
    Softfail,
    /// `?`: neutral.
    Neutral,
}

/// A mechanism (RFC 7208 §5).
///
/// ```text
/// mechanism        = ( all / include / a / mx / ptr / ip4 / ip6 / exists )
/// all              = "all"
/// include          = "include"  ":" domain-spec
/// a                = "a"      [ ":" domain-spec ] [ dual-cidr-length ]
/// mx               = "mx"     [ ":" domain-spec ] [ dual-cidr-length ]
/// ptr              = "ptr"    [ ":" domain-spec ]
/// ip4              = "ip4"      ":" ip4-network   [ ip4-cidr-length ]
/// ip6              = "ip6"      ":" ip6-network   [ ip6-cidr-length ]
/// exists           = "exists"   ":" domain-spec
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// Always matches.
    All,
    /// Matches when the record of the target domain passes.
    Include(DomainSpec),
    /// Matches the addresses of the target (or the current) domain.
    A {
        /// The target; `None` is the current domain.
        domain: Option<DomainSpec>,
        /// Prefix lengths to compare with.
        cidr: DualCidr,
    },
    /// Matches the addresses of the MX hosts of the target (or the current) domain.
    Mx {
        /// The target; `None` is the current domain.
        domain: Option<DomainSpec>,
        /// Prefix lengths to compare with.
        cidr: DualCidr,
    },
    /// Matches when a validated reverse name of the client is within the target domain.
    Ptr(Option<DomainSpec>),
    /// Matches an IPv4 network.
    Ip4 {
        /// The network address.
        network: Ipv4Addr,
        /// The prefix length as written (absent means /32).
        prefix: Option<u8>,
    },
    /// Matches an IPv6 network.
    Ip6 {
        /// The network address.
        network: Ipv6Addr,
        /// The prefix length as written (absent means /128).
        prefix: Option<u8>,
    },
    /// Matches when the target name has an A record.
    Exists(DomainSpec),
}

/// The prefix lengths of `a` and `mx` (RFC 7208 §5.6).
///
/// ```text
/// dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DualCidr {
    /// For IPv4 clients; absent means 32.
    pub ip4: Option<u8>,
    /// For IPv6 clients; absent means 128.
    pub ip6: Option<u8>,
}

/// A modifier (RFC 7208 §6).
///
/// ```text
/// modifier         = redirect / explanation / unknown-modifier
/// redirect         = "redirect" "=" domain-spec
/// explanation      = "exp" "=" domain-spec
/// unknown-modifier = name "=" macro-string
/// name             = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Modifier {
    /// `redirect=`: evaluate this domain's record when no mechanism matched.
    Redirect(DomainSpec),
    /// `exp=`: where to fetch the explanation for a fail result.
    Explanation(DomainSpec),
    /// Any other modifier; ignored during evaluation.
    Unknown {
        /// The name as written.
        name: String,
        /// The value, a valid macro string.
        value: MacroString,
    },
}

/// A domain-spec: a macro string that ends in a macro or in a valid top label (RFC 7208 §7.1).
///
/// ```text
/// domain-spec      = macro-string domain-end
/// domain-end       = ( "." toplabel [ "." ] ) / macro-expand
/// toplabel         = ( *alphanum ALPHA *alphanum ) /
///                    ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainSpec(MacroString);

impl DomainSpec {
    /// Parses a domain-spec as it appears after `include:`, `redirect=` and the like.
    pub fn parse(text: &str) -> Result<DomainSpec, Error> {
        parse_domain_spec(text).map_err(|(position, problem)| Error::Syntax {
            position,
            term: text.into(),
            problem,
        })
    }

    /// The macro string.
    pub fn macro_string(&self) -> &MacroString {
        &self.0
    }
}

impl fmt::Display for DomainSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Record {
    /// Whether a TXT record is an SPF record: it starts with `v=spf1` (in any case) followed by
    /// a space or its end (RFC 7208 §4.5). Records that are, count when selecting the one record
    /// of a domain even if they do not parse.
    pub fn is_spf(text: &str) -> bool {
        let bytes = text.as_bytes();
        bytes.len() >= VERSION.len()
            && bytes[..VERSION.len()].eq_ignore_ascii_case(VERSION.as_bytes())
            && bytes.get(VERSION.len()).is_none_or(|&b| b == b' ')
    }

    /// Parses a record. Every term is checked, so a syntax error anywhere is found before
    /// evaluation starts (RFC 7208 §4.6).
    pub fn parse(text: &str) -> Result<Record, Error> {
        if !Record::is_spf(text) {
            return Err(Error::NotSpf);
        }
        let mut terms = Vec::new();
        let mut has_redirect = false;
        let mut has_explanation = false;
        let mut offset = VERSION.len();
        for token in text[VERSION.len()..].split(' ') {
            let position = offset;
            offset += token.len() + 1;
            if token.is_empty() {
                continue;
            }
            let syntax = |(at, problem): (usize, SyntaxProblem)| Error::Syntax {
                position: position + at,
                term: token.to_string(),
                problem,
            };
            let term = parse_term(token).map_err(syntax)?;
            let duplicate = match &term {
                Term::Modifier(Modifier::Redirect(_)) => {
                    std::mem::replace(&mut has_redirect, true).then_some("redirect")
                }
                Term::Modifier(Modifier::Explanation(_)) => {
                    std::mem::replace(&mut has_explanation, true).then_some("exp")
                }
                _ => None,
            };
            if let Some(name) = duplicate {
                return Err(syntax((0, SyntaxProblem::DuplicateModifier(name))));
            }
            terms.push(term);
        }
        Ok(Record { terms })
    }

    /// The terms in order.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The directives in order.
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        self.terms.iter().filter_map(|t| match t {
            Term::Directive(d) => Some(d),
            Term::Modifier(_) => None,
        })
    }

    /// The `redirect=` target, if any.
    pub fn redirect(&self) -> Option<&DomainSpec> {
        self.terms.iter().find_map(|t| match t {
            Term::Modifier(Modifier::Redirect(spec)) => Some(spec),
            _ => None,
        })
    }

    /// The `exp=` target, if any.
    pub fn explanation(&self) -> Option<&DomainSpec> {
        self.terms.iter().find_map(|t| match t {
            Term::Modifier(Modifier::Explanation(spec)) => Some(spec),
            _ => None,
        })
    }
}

impl FromStr for Record {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Record::parse(s)
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(VERSION)?;
        for term in &self.terms {
            match term {
                Term::Directive(d) => write!(f, " {d}")?,
                Term::Modifier(m) => write!(f, " {m}")?,
            }
        }
        Ok(())
    }
}

impl Directive {
    /// Whether evaluating this directive causes DNS lookups, and so counts against the limit of
    /// 10 such terms (RFC 7208 §4.6.4).
    pub fn causes_lookup(&self) -> bool {
        matches!(
            self.mechanism,
            Mechanism::Include(_)
                | Mechanism::A { .. }
                | Mechanism::Mx { .. }
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.qualifier {
            Qualifier::Pass => {}
            q => write!(f, "{}", q.as_char())?,
        }
        write!(f, "{}", self.mechanism)
    }
}

impl Qualifier {
    /// `+`, `-`, `~` or `?`.
    pub fn as_char(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::Softfail => '~',
            Qualifier::Neutral => '?',
        }
    }

    /// The result of a matching mechanism with this qualifier.
    pub fn result(self) -> SpfResult {
        match self {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::Softfail => SpfResult::Softfail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn target(f: &mut fmt::Formatter<'_>, spec: &Option<DomainSpec>) -> fmt::Result {
            match spec {
                Some(spec) => write!(f, ":{spec}"),
                None => Ok(()),
            }
        }
        match self {
            Mechanism::All => f.write_str("all"),
            Mechanism::Include(spec) => write!(f, "include:{spec}"),
            Mechanism::A { domain, cidr } => {
                f.write_str("a")?;
                target(f, domain)?;
                write!(f, "{cidr}")
            }
            Mechanism::Mx { domain, cidr } => {
                f.write_str("mx")?;
                target(f, domain)?;
                write!(f, "{cidr}")
            }
            Mechanism::Ptr(domain) => {
                f.write_str("ptr")?;
                target(f, domain)
            }
            Mechanism::Ip4 { network, prefix } => {
                write!(f, "ip4:{network}")?;
                prefix.map_or(Ok(()), |p| write!(f, "/{p}"))
            }
            Mechanism::Ip6 { network, prefix } => {
                write!(f, "ip6:{network}")?;
                prefix.map_or(Ok(()), |p| write!(f, "/{p}"))
            }
            Mechanism::Exists(spec) => write!(f, "exists:{spec}"),
        }
    }
}

impl fmt::Display for DualCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ip4) = self.ip4 {
            write!(f, "/{ip4}")?;
        }
        if let Some(ip6) = self.ip6 {
            write!(f, "//{ip6}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Modifier::Redirect(spec) => write!(f, "redirect={spec}"),
            Modifier::Explanation(spec) => write!(f, "exp={spec}"),
            Modifier::Unknown { name, value } => write!(f, "{name}={value}"),
        }
    }
}

type Parsed<T> = Result<T, (usize, SyntaxProblem)>;

/// Parses one space-free term; error positions are relative to the term.
fn parse_term(token: &str) -> Parsed<Term> {
    if let Some((at, c)) = token.char_indices().find(|&(_, c)| !c.is_ascii_graphic()) {
        let problem = if !c.is_ascii() {
            SyntaxProblem::NonAscii(c)
        } else {
            SyntaxProblem::ControlCharacter(c)
        };
        return Err((at, problem));
    }
    let mut head = (
        opt(one_of::<_, _, nom::error::Error<&str>>("+-~?")),
        recognize((
            satisfy(|c| c.is_ascii_alphabetic()),
            take_while(|c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
        )),
    );
    let Ok((rest, (qualifier, name))) = head.parse(token) else {
        return Err((0, SyntaxProblem::InvalidTerm));
    };
    let name_end = token.len() - rest.len();
    if let Some(value) = rest.strip_prefix('=') {
        if qualifier.is_some() {
            return Err((0, SyntaxProblem::QualifiedModifier));
        }
        let value_at = name_end + 1;
        let shift = |(at, problem): (usize, SyntaxProblem)| (value_at + at, problem);
        let modifier = if name.eq_ignore_ascii_case("redirect") {
            Modifier::Redirect(parse_domain_spec(value).map_err(shift)?)
        } else if name.eq_ignore_ascii_case("exp") {
            Modifier::Explanation(parse_domain_spec(value).map_err(shift)?)
        } else {
            let value = parse_macro_string(value, MacroContext::ModifierValue).map_err(shift)?;
            Modifier::Unknown { name: name.to_string(), value }
        };
        return Ok(Term::Modifier(modifier));
    }
    let qualifier = match qualifier {
        None | Some('+') => Qualifier::Pass,
        Some('-') => Qualifier::Fail,
        Some('~') => Qualifier::Softfail,
        _ => Qualifier::Neutral,
    };
    let name_start = name_end - name.len();
    let mechanism = parse_mechanism(name, rest).map_err(|(at, problem)| match problem {
        SyntaxProblem::UnknownMechanism(_) => (name_start, problem),
        _ => (name_end + at, problem),
    })?;
    Ok(Term::Directive(Directive { qualifier, mechanism }))
}

/// Parses a mechanism's arguments; error positions are relative to `rest`.
fn parse_mechanism(name: &str, rest: &str) -> Parsed<Mechanism> {
    let unexpected = |at: usize| Err((at, SyntaxProblem::UnexpectedArgument(rest[at..].into())));
    match name.to_ascii_lowercase().as_str() {
        "all" if rest.is_empty() => Ok(Mechanism::All),
        "all" => unexpected(0),
        "include" => required_domain_spec(rest).map(Mechanism::Include),
        "exists" => required_domain_spec(rest).map(Mechanism::Exists),
        mechanism @ ("a" | "mx") => {
            let (target, cidr) = split_dual_cidr(rest)?;
            let domain = optional_domain_spec(target)?;
            Ok(if mechanism == "a" {
                Mechanism::A { domain, cidr }
            } else {
                Mechanism::Mx { domain, cidr }
            })
        }
        "ptr" => optional_domain_spec(rest).map(Mechanism::Ptr),
        "ip4" => {
            let Some(arg) = rest.strip_prefix(':') else {
                return Err((0, SyntaxProblem::InvalidIp4(rest.into())));
            };
            let (network_text, prefix_text) = split_prefix(arg);
            let network: Option<Ipv4Addr> = all_consuming(ip4_network)
                .parse(network_text)
                .ok()
                .map(|(_, octets)| Ipv4Addr::from(octets));
            let network = network.ok_or((1, SyntaxProblem::InvalidIp4(network_text.into())))?;
            let prefix = prefix_text.map(|p| cidr_length(p, 32)).transpose();
            let prefix = prefix.map_err(|problem| (2 + network_text.len(), problem))?;
            Ok(Mechanism::Ip4 { network, prefix })
        }
        "ip6" => {
            let Some(arg) = rest.strip_prefix(':') else {
                return Err((0, SyntaxProblem::InvalidIp6(rest.into())));
            };
            let (network_text, prefix_text) = split_prefix(arg);
            let network = Ipv6Addr::from_str(network_text)
                .map_err(|_| (1, SyntaxProblem::InvalidIp6(network_text.into())))?;
            let prefix = prefix_text.map(|p| cidr_length(p, 128)).transpose();
            let prefix = prefix.map_err(|problem| (2 + network_text.len(), problem))?;
            Ok(Mechanism::Ip6 { network, prefix })
        }
        _ => Err((0, SyntaxProblem::UnknownMechanism(name.into()))),
    }
}

/// `":" domain-spec`; positions relative to `rest`.
fn required_domain_spec(rest: &str) -> Parsed<DomainSpec> {
    match rest.strip_prefix(':') {
        Some(spec) => parse_domain_spec(spec).map_err(|(at, p)| (at + 1, p)),
        None if rest.is_empty() => Err((0, SyntaxProblem::MissingDomainSpec)),
        None => Err((0, SyntaxProblem::UnexpectedArgument(rest.into()))),
    }
}

/// `[ ":" domain-spec ]`; positions relative to `rest`.
fn optional_domain_spec(rest: &str) -> Parsed<Option<DomainSpec>> {
    if rest.is_empty() {
        return Ok(None);
    }
    required_domain_spec(rest).map(Some)
}

/// Splits a trailing dual-cidr-length off `a` and `mx` arguments. A domain-spec may contain
/// `/`, so only a final `/digits` and `//digits` are prefix lengths.
fn split_dual_cidr(rest: &str) -> Parsed<(&str, DualCidr)> {
    let mut target = rest;
    let mut cidr = DualCidr::default();
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(at) = target.rfind("//")
        && all_digits(&target[at + 2..])
    {
        cidr.ip6 = Some(cidr_length(&target[at + 2..], 128).map_err(|p| (at + 2, p))?);
        target = &target[..at];
    }
    if let Some(at) = target.rfind('/')
        && all_digits(&target[at + 1..])
    {
        cidr.ip4 = Some(cidr_length(&target[at + 1..], 32).map_err(|p| (at + 1, p))?);
        target = &target[..at];
    }
    Ok((target, cidr))
}

/// Splits `network[/prefix]` at the first `/`.
fn split_prefix(arg: &str) -> (&str, Option<&str>) {
    match arg.split_once('/') {
        Some((network, prefix)) => (network, Some(prefix)),
        None => (arg, None),
    }
}

/// `"0" / %x31-39 0*2DIGIT`, at most `max` (RFC 7208 §5.6).
fn cidr_length(text: &str, max: u8) -> Result<u8, SyntaxProblem> {
    let invalid = || SyntaxProblem::InvalidCidr { given: text.into(), max };
    let parsed = all_consuming(digit1::<_, nom::error::Error<&str>>).parse(text);
    let Ok((_, digits)) = parsed else {
        return Err(invalid());
    };
    if digits.len() > 3 || (digits.len() > 1 && digits.starts_with('0')) {
        return Err(invalid());
    }
    digits.parse::<u8>().ok().filter(|&n| n <= max).ok_or_else(invalid)
}

/// `qnum "." qnum "." qnum "." qnum`, without leading zeros.
fn ip4_network(input: &str) -> nom::IResult<&str, [u8; 4]> {
    let (rest, (a, _, b, _, c, _, d)) =
        (qnum, char('.'), qnum, char('.'), qnum, char('.'), qnum).parse(input)?;
    Ok((rest, [a, b, c, d]))
}

fn qnum(input: &str) -> nom::IResult<&str, u8> {
    let (rest, digits) = digit1(input)?;
    let valid = digits.len() <= 3 && (digits.len() == 1 || !digits.starts_with('0'));
    match digits.parse::<u8>() {
        Ok(n) if valid => Ok((rest, n)),
        _ => Err(nom::Err::Error(nom::error::Error::new(input, nom::error::ErrorKind::Digit))),
    }
}

/// Parses a domain-spec; positions relative to `text`.
pub(crate) fn parse_domain_spec(text: &str) -> Parsed<DomainSpec> {
    let macro_string = parse_macro_string(text, MacroContext::DomainSpec)?;
    match macro_string.parts().last() {
        None => Err((0, SyntaxProblem::MissingDomainSpec)),
        Some(MacroPart::Literal(literal)) => {
            let without_dot = literal.strip_suffix('.').unwrap_or(literal);
            let valid =
                without_dot.rsplit_once('.').is_some_and(|(_, toplabel)| is_toplabel(toplabel));
            if valid {
                Ok(DomainSpec(macro_string))
            } else {
                Err((0, SyntaxProblem::InvalidDomainEnd))
            }
        }
        Some(_) => Ok(DomainSpec(macro_string)),
    }
}

/// `( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`
fn is_toplabel(label: &str) -> bool {
    let bytes = label.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        return false;
    }
    if bytes.contains(&b'-') {
        first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric()
    } else {
        bytes.iter().any(u8::is_ascii_alphabetic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(record: &str) -> (usize, SyntaxProblem) {
        match Record::parse(record) {
            Err(Error::Syntax { position, problem, .. }) => (position, problem),
            other => panic!("{record:?}: expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn version_selection() {
        assert!(Record::is_spf("v=spf1"));
        assert!(Record::is_spf("V=SpF1 -all"));
        assert!(!Record::is_spf("v=spf10"));
        assert!(!Record::is_spf("v=spf1\t-all"));
        assert!(!Record::is_spf("spf2.0/pra"));
        assert!(!Record::is_spf("v=spé"));
        assert_eq!(Record::parse("v=spf10"), Err(Error::NotSpf));
        assert_eq!(Record::parse("v=spf1").unwrap().terms().len(), 0);
        assert_eq!(Record::parse("v=spf1  a  -all ").unwrap().terms().len(), 2);
    }

    #[test]
    fn every_mechanism_and_modifier_parses_and_displays() {
        let text = "v=spf1 all -include:_spf.example.com ~a ?a:%{d}/24 a:x.example//64 \
                    mx/24//64 mx:example.org ptr ptr:example.com ip4:192.0.2.0/24 \
                    ip4:192.0.2.1 ip6:2001:db8::/32 ip6:2001:db8::1 exists:%{ir}.%{l1r+-}._spf.%{d} \
                    redirect=_spf.example.com exp=explain._spf.%{d} moo.cow-far_out=man:dog/cat";
        let record = Record::parse(text).unwrap();
        assert_eq!(record.to_string(), text);
        assert_eq!(record.directives().count(), 14);
        assert_eq!(record.redirect().map(ToString::to_string).as_deref(), Some("_spf.example.com"));
        assert_eq!(
            record.explanation().map(ToString::to_string).as_deref(),
            Some("explain._spf.%{d}")
        );
        let a = record.directives().nth(3).unwrap();
        assert_eq!(a.qualifier, Qualifier::Neutral);
        assert!(matches!(
            &a.mechanism,
            Mechanism::A { domain: Some(_), cidr: DualCidr { ip4: Some(24), ip6: None } }
        ));
        assert!(a.causes_lookup());
        assert_eq!(Record::parse(&record.to_string()), Ok(record));
    }

    #[test]
    fn canonical_form() {
        let record = Record::parse("V=SPF1 +MX IP4:192.0.2.1 Include:Example.com ~ALL").unwrap();
        assert_eq!(record.to_string(), "v=spf1 mx ip4:192.0.2.1 include:Example.com ~all");
    }

    #[test]
    fn domain_specs_need_a_valid_end() {
        for bad in [
            "a:foo-bar",
            "a:museum",
            "a:museum.",
            "a:111.222.33.44",
            "a:abc.123",
            "a:example.-com",
            "mx:example.com:8080",
            "include:ip5.example.com/24",
            "exists:mail.example.com/24",
            "exp=-all",
            "redirect=-all",
            "a:%{d}.",
        ] {
            let (_, p) = problem(&format!("v=spf1 {bad}"));
            assert_eq!(p, SyntaxProblem::InvalidDomainEnd, "{bad}");
        }
        for good in [
            "a:foo:bar/baz.example.com",
            "a:foo.example.xn--zckzah",
            "a:museum.example.",
            "a:%{d}",
            "a:x.1-2",
            "a:%{d}.d.spf.example.com.",
            "a:%%",
            "a:x.%{d}",
        ] {
            assert!(Record::parse(&format!("v=spf1 {good}")).is_ok(), "{good}");
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(
            problem("v=spf1 ip4:1.2.3.4 -all moo"),
            (24, SyntaxProblem::UnknownMechanism("moo".into()))
        );
        assert_eq!(problem("v=spf1 -all."), (8, SyntaxProblem::UnknownMechanism("all.".into())));
        assert_eq!(
            problem("v=spf1 -all:foobar"),
            (11, SyntaxProblem::UnexpectedArgument(":foobar".into()))
        );
        assert_eq!(problem("v=spf1 =all"), (7, SyntaxProblem::InvalidTerm));
        assert_eq!(problem("v=spf1 1up=foo"), (7, SyntaxProblem::InvalidTerm));
        assert_eq!(problem("v=spf1 -exp=x.example"), (7, SyntaxProblem::QualifiedModifier));
        assert_eq!(problem("v=spf1 include"), (14, SyntaxProblem::MissingDomainSpec));
        assert_eq!(problem("v=spf1 include:"), (15, SyntaxProblem::MissingDomainSpec));
        assert_eq!(problem("v=spf1 exp="), (11, SyntaxProblem::MissingDomainSpec));
        assert_eq!(problem("v=spf1 ptr/0"), (10, SyntaxProblem::UnexpectedArgument("/0".into())));
        assert_eq!(
            problem("v=spf1 a/33"),
            (9, SyntaxProblem::InvalidCidr { given: "33".into(), max: 32 })
        );
        assert_eq!(
            problem("v=spf1 a//129"),
            (10, SyntaxProblem::InvalidCidr { given: "129".into(), max: 128 })
        );
        assert_eq!(
            problem("v=spf1 a/24/64"),
            (12, SyntaxProblem::InvalidCidr { given: "64".into(), max: 32 })
        );
        assert_eq!(
            problem("v=spf1 ip4:1.2.3.4/032"),
            (19, SyntaxProblem::InvalidCidr { given: "032".into(), max: 32 })
        );
        assert_eq!(
            problem("v=spf1 ip4:1.2.3.4//32"),
            (19, SyntaxProblem::InvalidCidr { given: "/32".into(), max: 32 })
        );
        assert_eq!(problem("v=spf1 ip4:1.2.3"), (11, SyntaxProblem::InvalidIp4("1.2.3".into())));
        assert_eq!(
            problem("v=spf1 ip4:01.2.3.4"),
            (11, SyntaxProblem::InvalidIp4("01.2.3.4".into()))
        );
        assert_eq!(problem("v=spf1 ip4"), (10, SyntaxProblem::InvalidIp4("".into())));
        assert_eq!(
            problem("v=spf1 ip6::CAFE::BABE"),
            (11, SyntaxProblem::InvalidIp6(":CAFE::BABE".into()))
        );
        assert_eq!(
            problem("v=spf1 a:ctrl.example.com\rptr"),
            (25, SyntaxProblem::ControlCharacter('\r'))
        );
        assert_eq!(problem("v=spf1 \u{80}a"), (7, SyntaxProblem::NonAscii('\u{80}')));
        assert_eq!(
            problem("v=spf1 exists:%(ir).sbl.example.com"),
            (14, SyntaxProblem::InvalidPercent)
        );
        assert_eq!(
            problem("v=spf1 redirect=a.example exp=b.example redirect=a.example"),
            (40, SyntaxProblem::DuplicateModifier("redirect"))
        );
        assert_eq!(
            problem("v=spf1 redirect:t2.example.com"),
            (7, SyntaxProblem::UnknownMechanism("redirect".into()))
        );
        let err = Record::parse("v=spf1 a/33").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid CIDR prefix length \"33\": expected 0 to 32 without leading zeros at position 9 (in \"a/33\")"
        );
    }

    #[test]
    fn cidr_lengths() {
        assert_eq!(cidr_length("0", 32), Ok(0));
        assert_eq!(cidr_length("32", 32), Ok(32));
        assert_eq!(cidr_length("128", 128), Ok(128));
        assert!(cidr_length("00", 32).is_err());
        assert!(cidr_length("1000", 128).is_err());
        assert!(cidr_length("", 32).is_err());
        assert!(cidr_length("+1", 32).is_err());
    }
}
