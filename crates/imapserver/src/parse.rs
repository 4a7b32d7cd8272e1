//! The command parser: a complete command (its line and any literals inline, as
//! [`crate::framing`] collects them) in, a [`Command`] out.
//!
//! Hand-written recursive descent over bytes, following the ABNF of RFC 9051 §9 and of the
//! extensions. Keywords are case-insensitive; `SP` is exactly one space (§9 note 2).

use crate::command::*;
use crate::error::ParseError;
use crate::seqset::SequenceSet;

/// Parses one complete command. On error, the tag (when it could be read) comes with the error
/// so the session can answer `tag BAD ...`.
///
/// ```
/// use imapserver::command::{CommandBody, FetchAttr};
/// let c = imapserver::parse::parse_command(b"a1 UID FETCH 1:* (UID FLAGS)\r\n").unwrap();
/// assert_eq!(c.tag, "a1");
/// let CommandBody::Fetch { uid: true, items, .. } = c.body else { panic!() };
/// assert_eq!(items, [FetchAttr::Uid, FetchAttr::Flags]);
/// ```
pub fn parse_command(buf: &[u8]) -> Result<Command, (Option<String>, ParseError)> {
    let mut p = Parser::new(buf);
    let tag = p.tag().map_err(|e| (None, e))?;
    let r = (|| {
        p.sp()?;
        let body = p.command_body()?;
        p.crlf()?;
        if p.pos != p.buf.len() {
            return Err(p.err("end of command"));
        }
        Ok(body)
    })();
    match r {
        Ok(body) => Ok(Command { tag, body }),
        Err(e) => Err((Some(tag), e)),
    }
}

/// The tag of a command line, if it has a valid one (for answering commands that failed to
/// parse, or were refused before parsing).
pub fn parse_tag(buf: &[u8]) -> Option<String> {
    let mut p = Parser::new(buf);
    let tag = p.tag().ok()?;
    (p.peek() == Some(b' ')).then_some(tag)
}

/// The start of an APPEND or REPLACE command up to the literal of its (first) message:
/// `tag APPEND mailbox [flags] [date] {n}` or `tag UID REPLACE n mailbox [flags] [date] {n}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendPrefix {
    /// The tag.
    pub tag: String,
    /// REPLACE: whether UID REPLACE, and the message number.
    pub replace: Option<(bool, u32)>,
    /// The mailbox.
    pub mailbox: MailboxName,
    /// The first message's parameters and literal.
    pub message: AppendStart,
}

/// The parameters of one APPEND message and the announcement of its literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendStart {
    /// Flags.
    pub flags: Vec<String>,
    /// INTERNALDATE.
    pub date: Option<store::Timestamp>,
    /// The literal's size.
    pub size: u64,
    /// A synchronizing literal (the client waits for a continuation request).
    pub sync: bool,
    /// Inside `UTF8 (` ... `)` (RFC 6855).
    pub utf8: bool,
}

/// Parses `buf` (a command line ending in a literal announcement and CRLF) as the start of an
/// APPEND or REPLACE; `Ok(None)` if it is some other command.
pub fn parse_append_prefix(buf: &[u8]) -> Result<Option<AppendPrefix>, ParseError> {
    let mut p = Parser::new(buf);
    let Ok(tag) = p.tag() else { return Ok(None) };
    if p.sp().is_err() {
        return Ok(None);
    }
    let save = p.pos;
    let mut replace = None;
    if p.keyword("APPEND") && p.peek() == Some(b' ') {
        p.sp()?;
    } else {
        p.pos = save;
        let uid = p.keyword("UID ");
        if !(p.keyword("REPLACE") && p.peek() == Some(b' ')) {
            return Ok(None);
        }
        p.sp()?;
        let n = p.nz_number()?;
        p.sp()?;
        replace = Some((uid, n));
    }
    let mailbox = p.mailbox()?;
    p.sp()?;
    let message = p.append_message_start()?;
    if p.pos != buf.len() {
        return Err(p.err("end of line after literal announcement"));
    }
    Ok(Some(AppendPrefix { tag, replace, mailbox, message }))
}

/// What follows a streamed APPEND literal: the end of the command, or (MULTIAPPEND, RFC 3502)
/// the next message. `buf` starts right after the literal's data and ends with CRLF.
pub fn parse_append_continuation(
    buf: &[u8],
    after_utf8: bool,
) -> Result<Option<AppendStart>, ParseError> {
    let mut p = Parser::new(buf);
    if after_utf8 {
        p.expect(b")")?;
    }
    if p.rest() == b"\r\n" || p.rest() == b"\n" {
        return Ok(None);
    }
    p.sp()?;
    let m = p.append_message_start()?;
    if p.pos != buf.len() {
        return Err(p.err("end of line after literal announcement"));
    }
    Ok(Some(m))
}

pub(crate) struct Parser<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

pub(crate) type PResult<T> = Result<T, ParseError>;

/// ID parameters: names and values.
type IdParams = Vec<(String, Option<String>)>;

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

pub(crate) fn is_atom_char(c: u8) -> bool {
    c > 0x20 && c < 0x7f && !matches!(c, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

pub(crate) fn is_astring_char(c: u8) -> bool {
    is_atom_char(c) || c == b']'
}

fn is_list_char(c: u8) -> bool {
    is_astring_char(c) || c == b'%' || c == b'*'
}

impl<'a> Parser<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Parser<'a> {
        Parser { buf, pos: 0 }
    }

    fn err(&self, expected: &'static str) -> ParseError {
        ParseError::Syntax { position: self.pos, expected }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos.min(self.buf.len())..]
    }

    /// Consumes `s` (case-insensitive) if it is next.
    fn keyword(&mut self, s: &str) -> bool {
        let r = self.rest();
        if r.len() >= s.len() && r[..s.len()].eq_ignore_ascii_case(s.as_bytes()) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, s: &'static [u8]) -> PResult<()> {
        let r = self.rest();
        if r.len() >= s.len() && r[..s.len()].eq_ignore_ascii_case(s) {
            self.pos += s.len();
            Ok(())
        } else {
            Err(self.err(match s {
                b" " => "space",
                b"(" => "(",
                b")" => ")",
                b"[" => "[",
                b"]" => "]",
                b"\"" => "quote",
                _ => "keyword",
            }))
        }
    }

    fn take(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn sp(&mut self) -> PResult<()> {
        if self.take(b' ') { Ok(()) } else { Err(self.err("space")) }
    }

    fn crlf(&mut self) -> PResult<()> {
        // Bare LF is tolerated: some clients and test tools send it.
        self.take(b'\r');
        if self.take(b'\n') { Ok(()) } else { Err(self.err("end of line")) }
    }

    fn at_line_end(&self) -> bool {
        matches!(self.peek(), Some(b'\r' | b'\n') | None)
    }

    fn tag(&mut self) -> PResult<String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if is_astring_char(c) && c != b'+' {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == start {
            return Err(self.err("tag"));
        }
        Ok(String::from_utf8_lossy(&self.buf[start..self.pos]).into_owned())
    }

    /// `atom`, as a string.
    pub(crate) fn atom(&mut self) -> PResult<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(is_atom_char) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err("atom"));
        }
        // Atom characters are ASCII.
        std::str::from_utf8(&self.buf[start..self.pos]).map_err(|_| self.err("atom"))
    }

    fn number64(&mut self) -> PResult<u64> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err("number"));
        }
        let s = std::str::from_utf8(&self.buf[start..self.pos]).map_err(|_| self.err("number"))?;
        s.parse::<u64>()
            .ok()
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or(ParseError::NumberTooLarge { position: start })
    }

    fn number(&mut self) -> PResult<u32> {
        let start = self.pos;
        let n = self.number64()?;
        u32::try_from(n).map_err(|_| ParseError::NumberTooLarge { position: start })
    }

    fn nz_number(&mut self) -> PResult<u32> {
        let start = self.pos;
        let n = self.number()?;
        if n == 0 {
            return Err(ParseError::Syntax { position: start, expected: "non-zero number" });
        }
        Ok(n)
    }

    fn nz_number64(&mut self) -> PResult<u64> {
        let start = self.pos;
        let n = self.number64()?;
        if n == 0 {
            return Err(ParseError::Syntax { position: start, expected: "non-zero number" });
        }
        Ok(n)
    }

    /// `quoted`: the bytes between the quotes, unescaped.
    fn quoted(&mut self) -> PResult<Vec<u8>> {
        self.expect(b"\"")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r' | b'\n') => return Err(self.err("closing quote")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        _ => return Err(self.err("\\\" or \\\\ after backslash in quoted string")),
                    }
                }
                Some(0) => return Err(self.err("no NUL in quoted string")),
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `literal` or (`binary`) `literal8`, with its data inline.
    fn literal(&mut self, allow_binary: bool) -> PResult<Vec<u8>> {
        let binary = allow_binary && self.take(b'~');
        self.expect(b"{")?;
        let size = self.number64()?;
        self.take(b'+');
        self.expect(b"}")?;
        self.crlf()?;
        let size = usize::try_from(size).map_err(|_| self.err("literal within the command"))?;
        let end = self.pos.checked_add(size).filter(|&e| e <= self.buf.len());
        let Some(end) = end else { return Err(self.err("literal data")) };
        let data = self.buf[self.pos..end].to_vec();
        if !binary && data.contains(&0) {
            return Err(ParseError::Syntax { position: self.pos, expected: "no NUL in literal" });
        }
        self.pos = end;
        Ok(data)
    }

    /// `string` (quoted or literal), as bytes.
    fn string_bytes(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal(false),
            _ => Err(self.err("string")),
        }
    }

    fn utf8(&self, b: Vec<u8>, start: usize) -> PResult<String> {
        String::from_utf8(b).map_err(|_| ParseError::InvalidUtf8 { position: start })
    }

    /// `string`, as UTF-8.
    fn string(&mut self) -> PResult<String> {
        let start = self.pos;
        let b = self.string_bytes()?;
        self.utf8(b, start)
    }

    /// `astring` as bytes.
    fn astring_bytes(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string_bytes(),
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(is_astring_char) {
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err(self.err("astring"));
                }
                Ok(self.buf[start..self.pos].to_vec())
            }
        }
    }

    /// `astring`, as UTF-8.
    pub(crate) fn astring(&mut self) -> PResult<String> {
        let start = self.pos;
        let b = self.astring_bytes()?;
        self.utf8(b, start)
    }

    fn nstring_bytes(&mut self) -> PResult<Option<Vec<u8>>> {
        if self.rest().len() >= 3 && self.rest()[..3].eq_ignore_ascii_case(b"NIL") {
            let after = self.rest().get(3).copied();
            if !after.is_some_and(is_astring_char) {
                self.pos += 3;
                return Ok(None);
            }
        }
        self.string_bytes().map(Some)
    }

    fn mailbox(&mut self) -> PResult<MailboxName> {
        let name = self.astring()?;
        Ok(MailboxName(if name.eq_ignore_ascii_case("INBOX") { "INBOX".into() } else { name }))
    }

    /// `list-mailbox = 1*list-char / string`
    fn list_mailbox(&mut self) -> PResult<MailboxName> {
        if matches!(self.peek(), Some(b'"' | b'{')) {
            return Ok(MailboxName(self.string()?));
        }
        let start = self.pos;
        while self.peek().is_some_and(is_list_char) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err("mailbox pattern"));
        }
        let b = self.buf[start..self.pos].to_vec();
        Ok(MailboxName(self.utf8(b, start)?))
    }

    fn sequence_set(&mut self) -> PResult<SequenceSet> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b':' | b',' | b'*' | b'$'))
        {
            self.pos += 1;
        }
        let s = std::str::from_utf8(&self.buf[start..self.pos])
            .map_err(|_| self.err("sequence set"))?;
        SequenceSet::parse(s)
            .ok_or(ParseError::Syntax { position: start, expected: "sequence set" })
    }

    /// `flag`: a system flag (`\Seen`), a keyword, or `\*` when `perm`.
    fn flag(&mut self) -> PResult<String> {
        let start = self.pos;
        let backslash = self.take(b'\\');
        let atom =
            self.atom().map_err(|_| ParseError::Syntax { position: start, expected: "flag" })?;
        Ok(if backslash { format!("\\{atom}") } else { atom.to_string() })
    }

    fn flag_list(&mut self) -> PResult<Vec<String>> {
        self.expect(b"(")?;
        let mut flags = Vec::new();
        if self.take(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag()?);
            if self.take(b')') {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    fn month(&mut self) -> PResult<u8> {
        for (i, m) in MONTHS.iter().enumerate() {
            if self.keyword(m) {
                return Ok(i as u8 + 1);
            }
        }
        Err(self.err("month"))
    }

    fn digits(&mut self, min: usize, max: usize) -> PResult<u32> {
        let start = self.pos;
        while self.pos - start < max && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos - start < min {
            return Err(self.err("digits"));
        }
        let s = std::str::from_utf8(&self.buf[start..self.pos]).map_err(|_| self.err("digits"))?;
        s.parse().map_err(|_| self.err("digits"))
    }

    /// `date = date-text / DQUOTE date-text DQUOTE`
    fn date(&mut self) -> PResult<Date> {
        let quoted = self.take(b'"');
        let start = self.pos;
        let day = self.digits(1, 2)?;
        self.expect(b"-")?;
        let month = self.month()?;
        self.expect(b"-")?;
        let year = self.digits(4, 4)?;
        if quoted {
            self.expect(b"\"")?;
        }
        if day == 0 || day > u32::from(days_in_month(year as u16, month)) {
            return Err(ParseError::Syntax { position: start, expected: "valid date" });
        }
        Ok(Date { year: year as u16, month, day: day as u8 })
    }

    /// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`
    fn date_time(&mut self) -> PResult<store::Timestamp> {
        self.expect(b"\"")?;
        let start = self.pos;
        self.take(b' ');
        let day = self.digits(1, 2)?;
        self.expect(b"-")?;
        let month = self.month()?;
        self.expect(b"-")?;
        let year = self.digits(4, 4)?;
        self.sp()?;
        let h = self.digits(2, 2)?;
        self.expect(b":")?;
        let mi = self.digits(2, 2)?;
        self.expect(b":")?;
        let s = self.digits(2, 2)?;
        self.sp()?;
        let sign: i64 = if self.take(b'+') {
            1
        } else if self.take(b'-') {
            -1
        } else {
            return Err(self.err("zone"));
        };
        let zone = self.digits(4, 4)?;
        self.expect(b"\"")?;
        let bad = ParseError::Syntax { position: start, expected: "valid date-time" };
        if day == 0
            || day > u32::from(days_in_month(year as u16, month))
            || h > 23
            || mi > 59
            || s > 60
        {
            return Err(bad);
        }
        let (zh, zm) = (i64::from(zone / 100), i64::from(zone % 100));
        if zm > 59 {
            return Err(bad);
        }
        let offset = sign * (zh * 60 + zm);
        let days = message::calendar::days_from_civil(i64::from(year), month.into(), day);
        let unix =
            days * 86400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s) - offset * 60;
        Ok(store::Timestamp { unix, offset_minutes: offset as i16 })
    }

    fn command_body(&mut self) -> PResult<CommandBody> {
        let start = self.pos;
        let name = self.atom()?.to_ascii_uppercase();
        let b = match name.as_str() {
            "CAPABILITY" => CommandBody::Capability,
            "NOOP" => CommandBody::Noop,
            "LOGOUT" => CommandBody::Logout,
            "STARTTLS" => CommandBody::StartTls,
            "NAMESPACE" => CommandBody::Namespace,
            "IDLE" => CommandBody::Idle,
            "CHECK" => CommandBody::Check,
            "CLOSE" => CommandBody::Close,
            "UNSELECT" => CommandBody::Unselect,
            "EXPUNGE" => CommandBody::Expunge { uids: None },
            "ID" => {
                self.sp()?;
                CommandBody::Id(self.id_params()?)
            }
            "AUTHENTICATE" => {
                self.sp()?;
                let mechanism = self.atom()?.to_ascii_uppercase();
                let initial_response = if self.take(b' ') {
                    let s = self.pos;
                    while self
                        .peek()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c))
                    {
                        self.pos += 1;
                    }
                    let b64 = &self.buf[s..self.pos];
                    Some(crate::command::Secret::new(decode_sasl_base64(b64).ok_or(
                        ParseError::Syntax { position: s, expected: "base64 initial response" },
                    )?))
                } else {
                    None
                };
                CommandBody::Authenticate { mechanism, initial_response }
            }
            "LOGIN" => {
                self.sp()?;
                let username = self.astring()?;
                self.sp()?;
                let password = crate::command::Secret::new(self.astring()?);
                CommandBody::Login { username, password }
            }
            "ENABLE" => {
                let mut caps = Vec::new();
                while self.take(b' ') {
                    caps.push(self.atom()?.to_string());
                }
                if caps.is_empty() {
                    return Err(self.err("capability"));
                }
                CommandBody::Enable(caps)
            }
            "SELECT" | "EXAMINE" => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                let (condstore, qresync) = self.select_params()?;
                CommandBody::Select { mailbox, read_only: name == "EXAMINE", condstore, qresync }
            }
            "CREATE" => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                let mut special_use = Vec::new();
                if self.take(b' ') {
                    // create-param = "USE" SP "(" [use-attr *(SP use-attr)] ")" (RFC 6154 §6)
                    self.expect(b"(")?;
                    loop {
                        if !self.keyword("USE") {
                            return Err(self.err("USE"));
                        }
                        self.sp()?;
                        special_use.extend(self.flag_list()?);
                        if self.take(b')') {
                            break;
                        }
                        self.sp()?;
                    }
                }
                CommandBody::Create { mailbox, special_use }
            }
            "DELETE" => {
                self.sp()?;
                CommandBody::Delete(self.mailbox()?)
            }
            "RENAME" => {
                self.sp()?;
                let from = self.mailbox()?;
                self.sp()?;
                let to = self.mailbox()?;
                CommandBody::Rename { from, to }
            }
            "SUBSCRIBE" => {
                self.sp()?;
                CommandBody::Subscribe(self.mailbox()?)
            }
            "UNSUBSCRIBE" => {
                self.sp()?;
                CommandBody::Unsubscribe(self.mailbox()?)
            }
            "LIST" => CommandBody::List(self.list()?),
            "LSUB" => {
                self.sp()?;
                let reference = self.mailbox()?;
                self.sp()?;
                let pattern = self.list_mailbox()?;
                CommandBody::Lsub { reference, pattern }
            }
            "STATUS" => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                self.sp()?;
                let items = self.status_items()?;
                CommandBody::Status { mailbox, items }
            }
            "APPEND" => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                let mut messages = Vec::new();
                loop {
                    self.sp()?;
                    messages.push(self.append_message()?);
                    if self.at_line_end() {
                        break;
                    }
                }
                CommandBody::Append { mailbox, messages }
            }
            "REPLACE" => self.replace(false)?,
            "SEARCH" => CommandBody::Search(self.search(false)?),
            "FETCH" => self.fetch(false)?,
            "STORE" => self.store(false)?,
            "COPY" | "MOVE" => self.copy_move(false, name == "MOVE")?,
            "SORT" => self.sort(false)?,
            "THREAD" => self.thread(false)?,
            "ESEARCH" => self.esearch()?,
            "UID" => {
                self.sp()?;
                let sub = self.atom()?.to_ascii_uppercase();
                match sub.as_str() {
                    "FETCH" => self.fetch(true)?,
                    "STORE" => self.store(true)?,
                    "COPY" | "MOVE" => self.copy_move(true, sub == "MOVE")?,
                    "SEARCH" => CommandBody::Search(self.search(true)?),
                    "SORT" => self.sort(true)?,
                    "THREAD" => self.thread(true)?,
                    "REPLACE" => self.replace(true)?,
                    "EXPUNGE" => {
                        self.sp()?;
                        CommandBody::Expunge { uids: Some(self.sequence_set()?) }
                    }
                    _ => return Err(ParseError::UnknownCommand { name: format!("UID {sub}") }),
                }
            }
            "CANCELUPDATE" => {
                let mut tags = Vec::new();
                while self.take(b' ') {
                    tags.push(self.string()?);
                }
                if tags.is_empty() {
                    return Err(self.err("tag string"));
                }
                CommandBody::CancelUpdate(tags)
            }
            "GETMETADATA" => self.getmetadata()?,
            "SETMETADATA" => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                self.sp()?;
                self.expect(b"(")?;
                let mut entries = Vec::new();
                loop {
                    let name = self.astring()?;
                    self.sp()?;
                    let value = self.nstring_bytes_or_literal8()?;
                    entries.push((name, value));
                    if self.take(b')') {
                        break;
                    }
                    self.sp()?;
                }
                CommandBody::SetMetadata { mailbox, entries }
            }
            "GETQUOTA" => {
                self.sp()?;
                CommandBody::GetQuota(self.astring()?)
            }
            "GETQUOTAROOT" => {
                self.sp()?;
                CommandBody::GetQuotaRoot(self.mailbox()?)
            }
            "SETQUOTA" => {
                self.sp()?;
                let root = self.astring()?;
                self.sp()?;
                self.expect(b"(")?;
                let mut limits = Vec::new();
                if !self.take(b')') {
                    loop {
                        let res = self.atom()?.to_ascii_uppercase();
                        self.sp()?;
                        limits.push((res, self.number64()?));
                        if self.take(b')') {
                            break;
                        }
                        self.sp()?;
                    }
                }
                CommandBody::SetQuota { root, limits }
            }
            "NOTIFY" => self.notify()?,
            "COMPRESS" => {
                self.sp()?;
                CommandBody::Compress(self.atom()?.to_ascii_uppercase())
            }
            _ => {
                let _ = start;
                return Err(ParseError::UnknownCommand { name });
            }
        };
        Ok(b)
    }

    fn id_params(&mut self) -> PResult<Option<IdParams>> {
        if self.keyword("NIL") {
            return Ok(None);
        }
        self.expect(b"(")?;
        let mut params = Vec::new();
        if self.take(b')') {
            return Ok(Some(params));
        }
        loop {
            let k = self.string()?;
            self.sp()?;
            let start = self.pos;
            let v = match self.nstring_bytes()? {
                Some(b) => Some(self.utf8(b, start)?),
                None => None,
            };
            params.push((k, v));
            if self.take(b')') {
                return Ok(Some(params));
            }
            self.sp()?;
        }
    }

    fn select_params(&mut self) -> PResult<(bool, Option<QresyncParams>)> {
        let mut condstore = false;
        let mut qresync = None;
        if !self.take(b' ') {
            return Ok((condstore, qresync));
        }
        self.expect(b"(")?;
        loop {
            let w = self.atom()?.to_ascii_uppercase();
            match w.as_str() {
                "CONDSTORE" => condstore = true,
                "QRESYNC" => {
                    self.sp()?;
                    self.expect(b"(")?;
                    let uid_validity = self.nz_number()?;
                    self.sp()?;
                    let modseq = self.nz_number64()?;
                    let mut known_uids = None;
                    let mut seq_match = None;
                    if self.take(b' ') {
                        if self.peek() != Some(b'(') {
                            known_uids = Some(self.sequence_set()?);
                            if self.take(b' ') {
                                seq_match = Some(self.seq_match()?);
                            }
                        } else {
                            seq_match = Some(self.seq_match()?);
                        }
                    }
                    self.expect(b")")?;
                    qresync = Some(QresyncParams { uid_validity, modseq, known_uids, seq_match });
                }
                _ => return Err(self.err("CONDSTORE or QRESYNC")),
            }
            if self.take(b')') {
                return Ok((condstore, qresync));
            }
            self.sp()?;
        }
    }

    fn seq_match(&mut self) -> PResult<(SequenceSet, SequenceSet)> {
        self.expect(b"(")?;
        let seqs = self.sequence_set()?;
        self.sp()?;
        let uids = self.sequence_set()?;
        self.expect(b")")?;
        Ok((seqs, uids))
    }

    fn list(&mut self) -> PResult<ListCommand> {
        let mut l = ListCommand::default();
        self.sp()?;
        if self.take(b'(') {
            l.extended = true;
            let mut base = false;
            if !self.take(b')') {
                loop {
                    let w = self.atom()?.to_ascii_uppercase();
                    match w.as_str() {
                        "SUBSCRIBED" => {
                            l.select_subscribed = true;
                            base = true;
                        }
                        "SPECIAL-USE" => {
                            l.select_special_use = true;
                            base = true;
                        }
                        "REMOTE" => l.remote = true,
                        "RECURSIVEMATCH" => l.recursive_match = true,
                        _ => return Err(self.err("LIST selection option")),
                    }
                    if self.take(b')') {
                        break;
                    }
                    self.sp()?;
                }
            }
            if l.recursive_match && !base {
                return Err(ParseError::Syntax {
                    position: self.pos,
                    expected: "RECURSIVEMATCH with a base selection option",
                });
            }
            self.sp()?;
        }
        l.reference = self.mailbox_raw()?;
        self.sp()?;
        if self.take(b'(') {
            l.pattern_list = true;
            loop {
                l.patterns.push(self.list_mailbox()?);
                if self.take(b')') {
                    break;
                }
                self.sp()?;
            }
        } else {
            l.patterns.push(self.list_mailbox()?);
        }
        if self.take(b' ') {
            if !self.keyword("RETURN") {
                return Err(self.err("RETURN"));
            }
            self.sp()?;
            self.expect(b"(")?;
            l.has_return = true;
            if !self.take(b')') {
                loop {
                    let w = self.atom()?.to_ascii_uppercase();
                    match w.as_str() {
                        "SUBSCRIBED" => l.return_subscribed = true,
                        "CHILDREN" => l.return_children = true,
                        "SPECIAL-USE" => l.return_special_use = true,
                        "STATUS" => {
                            self.sp()?;
                            l.return_status = Some(self.status_items()?);
                        }
                        "METADATA" => {
                            self.sp()?;
                            self.expect(b"(")?;
                            let mut v = Vec::new();
                            loop {
                                v.push(self.astring()?);
                                if self.take(b')') {
                                    break;
                                }
                                self.sp()?;
                            }
                            l.return_metadata = Some(v);
                        }
                        _ => return Err(self.err("LIST return option")),
                    }
                    if self.take(b')') {
                        break;
                    }
                    self.sp()?;
                }
            }
        }
        Ok(l)
    }

    /// A mailbox name kept as written (the LIST reference is not INBOX-normalized).
    fn mailbox_raw(&mut self) -> PResult<MailboxName> {
        Ok(MailboxName(self.astring_or_empty()?))
    }

    fn astring_or_empty(&mut self) -> PResult<String> {
        self.astring()
    }

    fn status_items(&mut self) -> PResult<Vec<StatusItem>> {
        self.expect(b"(")?;
        let mut items = Vec::new();
        loop {
            let start = self.pos;
            let w = self.atom()?;
            items.push(
                StatusItem::from_name(w)
                    .ok_or(ParseError::Syntax { position: start, expected: "status item" })?,
            );
            if self.take(b')') {
                return Ok(items);
            }
            self.sp()?;
        }
    }

    /// `[flag-list SP] [date-time SP] literal`, or `UTF8 (literal8)`, with the data inline.
    fn append_message(&mut self) -> PResult<AppendMessage> {
        let mut flags = Vec::new();
        let mut date = None;
        if self.peek() == Some(b'(') {
            flags = self.flag_list()?;
            self.sp()?;
        }
        if self.peek() == Some(b'"') {
            date = Some(self.date_time()?);
            self.sp()?;
        }
        let utf8 = self.keyword("UTF8 (");
        let data = self.literal(true)?;
        if utf8 {
            self.expect(b")")?;
        }
        Ok(AppendMessage { flags, date, data, utf8 })
    }

    /// Like [`Parser::append_message`], up to and including the literal's announcement.
    fn append_message_start(&mut self) -> PResult<AppendStart> {
        let mut flags = Vec::new();
        let mut date = None;
        if self.peek() == Some(b'(') {
            flags = self.flag_list()?;
            self.sp()?;
        }
        if self.peek() == Some(b'"') {
            date = Some(self.date_time()?);
            self.sp()?;
        }
        let utf8 = self.keyword("UTF8 (");
        let binary = self.take(b'~');
        if utf8 && !binary {
            return Err(self.err("~{ literal8 in UTF8 (...)"));
        }
        self.expect(b"{")?;
        let size = self.number64()?;
        let sync = !self.take(b'+');
        self.expect(b"}")?;
        self.crlf()?;
        Ok(AppendStart { flags, date, size, sync, utf8 })
    }

    fn replace(&mut self, uid: bool) -> PResult<CommandBody> {
        self.sp()?;
        let number = self.nz_number()?;
        self.sp()?;
        let mailbox = self.mailbox()?;
        self.sp()?;
        let message = self.append_message()?;
        Ok(CommandBody::Replace { uid, number, mailbox, message })
    }

    fn fetch(&mut self, uid: bool) -> PResult<CommandBody> {
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let items = if self.keyword("ALL") {
            vec![
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
            ]
        } else if self.keyword("FAST") {
            vec![FetchAttr::Flags, FetchAttr::InternalDate, FetchAttr::Rfc822Size]
        } else if self.keyword("FULL") {
            vec![
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
                FetchAttr::Body,
            ]
        } else if self.take(b'(') {
            let mut v = Vec::new();
            loop {
                v.push(self.fetch_attr()?);
                if self.take(b')') {
                    break;
                }
                self.sp()?;
            }
            v
        } else {
            vec![self.fetch_attr()?]
        };
        let mut changed_since = None;
        let mut vanished = false;
        if self.take(b' ') {
            self.expect(b"(")?;
            loop {
                let w = self.atom()?.to_ascii_uppercase();
                match w.as_str() {
                    "CHANGEDSINCE" => {
                        self.sp()?;
                        changed_since = Some(self.number64()?);
                    }
                    "VANISHED" => vanished = true,
                    _ => return Err(self.err("CHANGEDSINCE or VANISHED")),
                }
                if self.take(b')') {
                    break;
                }
                self.sp()?;
            }
        }
        Ok(CommandBody::Fetch { uid, set, items, changed_since, vanished })
    }

    pub(crate) fn fetch_attr(&mut self) -> PResult<FetchAttr> {
        let start = self.pos;
        // Longest names first where one is a prefix of another.
        let a = if self.keyword("ENVELOPE") {
            FetchAttr::Envelope
        } else if self.keyword("FLAGS") {
            FetchAttr::Flags
        } else if self.keyword("INTERNALDATE") {
            FetchAttr::InternalDate
        } else if self.keyword("RFC822.SIZE") {
            FetchAttr::Rfc822Size
        } else if self.keyword("RFC822.HEADER") {
            FetchAttr::Rfc822Header
        } else if self.keyword("RFC822.TEXT") {
            FetchAttr::Rfc822Text
        } else if self.keyword("RFC822") {
            FetchAttr::Rfc822
        } else if self.keyword("BODYSTRUCTURE") {
            FetchAttr::BodyStructure
        } else if self.keyword("BODY.PEEK") {
            let section = self.section()?;
            let partial = self.partial()?;
            FetchAttr::BodySection { peek: true, section, partial }
        } else if self.keyword("BODY") {
            if self.peek() == Some(b'[') {
                let section = self.section()?;
                let partial = self.partial()?;
                FetchAttr::BodySection { peek: false, section, partial }
            } else {
                FetchAttr::Body
            }
        } else if self.keyword("BINARY.SIZE") {
            FetchAttr::BinarySize { part: self.section_binary()? }
        } else if self.keyword("BINARY.PEEK") {
            let part = self.section_binary()?;
            FetchAttr::Binary { peek: true, part, partial: self.partial()? }
        } else if self.keyword("BINARY") {
            let part = self.section_binary()?;
            FetchAttr::Binary { peek: false, part, partial: self.partial()? }
        } else if self.keyword("UID") {
            FetchAttr::Uid
        } else if self.keyword("MODSEQ") {
            FetchAttr::ModSeq
        } else if self.keyword("SAVEDATE") {
            FetchAttr::SaveDate
        } else if self.keyword("PREVIEW") {
            let lazy = self.keyword(" (LAZY)");
            FetchAttr::Preview { lazy }
        } else {
            return Err(ParseError::Syntax { position: start, expected: "fetch item" });
        };
        // The name must end here (no "FLAGSX").
        if self.peek().is_some_and(|c| is_atom_char(c) && c != b'[' && c != b'<') {
            return Err(ParseError::Syntax { position: start, expected: "fetch item" });
        }
        Ok(a)
    }

    fn section(&mut self) -> PResult<Section> {
        self.expect(b"[")?;
        let mut s = Section::default();
        if self.take(b']') {
            return Ok(s);
        }
        loop {
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                s.part.push(self.nz_number()?);
                if self.take(b'.') {
                    continue;
                }
            } else {
                s.text = Some(self.section_text(!s.part.is_empty())?);
            }
            break;
        }
        self.expect(b"]")?;
        Ok(s)
    }

    fn section_text(&mut self, mime_allowed: bool) -> PResult<SectionText> {
        if self.keyword("HEADER.FIELDS") {
            let not = self.keyword(".NOT");
            self.sp()?;
            self.expect(b"(")?;
            let mut fields = Vec::new();
            loop {
                fields.push(self.astring()?);
                if self.take(b')') {
                    break;
                }
                self.sp()?;
            }
            Ok(SectionText::HeaderFields { not, fields })
        } else if self.keyword("HEADER") {
            Ok(SectionText::Header)
        } else if self.keyword("TEXT") {
            Ok(SectionText::Text)
        } else if mime_allowed && self.keyword("MIME") {
            Ok(SectionText::Mime)
        } else {
            Err(self.err("section text"))
        }
    }

    fn section_binary(&mut self) -> PResult<Vec<u32>> {
        self.expect(b"[")?;
        let mut part = Vec::new();
        if !self.take(b']') {
            loop {
                part.push(self.nz_number()?);
                if !self.take(b'.') {
                    break;
                }
            }
            self.expect(b"]")?;
        }
        Ok(part)
    }

    fn partial(&mut self) -> PResult<Option<(u64, u64)>> {
        if !self.take(b'<') {
            return Ok(None);
        }
        let offset = self.number64()?;
        self.expect(b".")?;
        let len = self.nz_number64()?;
        self.expect(b">")?;
        Ok(Some((offset, len)))
    }

    fn store(&mut self, uid: bool) -> PResult<CommandBody> {
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let mut unchanged_since = None;
        if self.take(b'(') {
            if !self.keyword("UNCHANGEDSINCE ") {
                return Err(self.err("UNCHANGEDSINCE"));
            }
            unchanged_since = Some(self.number64()?);
            self.expect(b")")?;
            self.sp()?;
        }
        let op = if self.take(b'+') {
            StoreOp::Add
        } else if self.take(b'-') {
            StoreOp::Remove
        } else {
            StoreOp::Replace
        };
        if !self.keyword("FLAGS") {
            return Err(self.err("FLAGS"));
        }
        let silent = self.keyword(".SILENT");
        self.sp()?;
        let flags = if self.peek() == Some(b'(') {
            self.flag_list()?
        } else {
            let mut v = vec![self.flag()?];
            while self.take(b' ') {
                v.push(self.flag()?);
            }
            v
        };
        Ok(CommandBody::Store { uid, set, unchanged_since, op, silent, flags })
    }

    fn copy_move(&mut self, uid: bool, is_move: bool) -> PResult<CommandBody> {
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let mailbox = self.mailbox()?;
        Ok(if is_move {
            CommandBody::Move { uid, set, mailbox }
        } else {
            CommandBody::Copy { uid, set, mailbox }
        })
    }

    fn search_returns(&mut self) -> PResult<Option<Vec<SearchReturn>>> {
        let save = self.pos;
        if !self.keyword("RETURN ") {
            self.pos = save;
            return Ok(None);
        }
        self.expect(b"(")?;
        let mut v = Vec::new();
        if !self.take(b')') {
            loop {
                let w = self.atom()?.to_ascii_uppercase();
                v.push(match w.as_str() {
                    "MIN" => SearchReturn::Min,
                    "MAX" => SearchReturn::Max,
                    "ALL" => SearchReturn::All,
                    "COUNT" => SearchReturn::Count,
                    "SAVE" => SearchReturn::Save,
                    "CONTEXT" => SearchReturn::Context,
                    "UPDATE" => SearchReturn::Update,
                    "PARTIAL" => {
                        self.sp()?;
                        let (a, b) = self.partial_range()?;
                        SearchReturn::Partial(a, b)
                    }
                    _ => return Err(self.err("search return option")),
                });
                if self.take(b')') {
                    break;
                }
                self.sp()?;
            }
        }
        self.sp()?;
        Ok(Some(v))
    }

    /// `partial-range-first / partial-range-last` (RFC 9394): `1:100` or `-1:-100`.
    fn partial_range(&mut self) -> PResult<(i64, i64)> {
        let start = self.pos;
        let neg = self.take(b'-');
        let a = self.nz_number()?;
        self.expect(b":")?;
        let neg2 = self.take(b'-');
        let b = self.nz_number()?;
        if neg != neg2 {
            return Err(ParseError::Syntax { position: start, expected: "partial range" });
        }
        let s = if neg { -1 } else { 1 };
        Ok((s * i64::from(a), s * i64::from(b)))
    }

    fn charset(&mut self) -> PResult<String> {
        if self.peek() == Some(b'"') {
            let start = self.pos;
            let b = self.quoted()?;
            return self.utf8(b, start);
        }
        Ok(self.atom()?.to_string())
    }

    fn search(&mut self, uid: bool) -> PResult<SearchCommand> {
        self.sp()?;
        let returns = self.search_returns()?;
        let mut charset = None;
        let save = self.pos;
        if self.keyword("CHARSET ") {
            charset = Some(self.charset()?);
            self.sp()?;
        } else {
            self.pos = save;
        }
        let key = self.search_program(charset.as_deref())?;
        Ok(SearchCommand { uid, returns, charset, key })
    }

    fn search_program(&mut self, charset: Option<&str>) -> PResult<SearchKey> {
        let decoder = crate::charset::decoder(charset.unwrap_or("UTF-8"))
            .ok_or_else(|| ParseError::BadCharset { charset: charset.unwrap_or("").to_string() })?;
        let mut keys = vec![self.search_key(decoder)?];
        while self.take(b' ') {
            keys.push(self.search_key(decoder)?);
        }
        Ok(if keys.len() == 1 { keys.remove(0) } else { SearchKey::And(keys) })
    }

    fn search_string(&mut self, decoder: crate::charset::Decoder) -> PResult<String> {
        let b = self.astring_bytes()?;
        Ok(decoder.decode(&b))
    }

    fn search_key(&mut self, dec: crate::charset::Decoder) -> PResult<SearchKey> {
        if self.take(b'(') {
            let mut keys = vec![self.search_key(dec)?];
            loop {
                if self.take(b')') {
                    break;
                }
                self.sp()?;
                keys.push(self.search_key(dec)?);
            }
            return Ok(SearchKey::And(keys));
        }
        if self.peek().is_some_and(|c| c.is_ascii_digit() || c == b'*' || c == b'$') {
            return Ok(SearchKey::SeqSet(self.sequence_set()?));
        }
        let start = self.pos;
        let w = self.atom()?.to_ascii_uppercase();
        use SearchKey as K;
        let k = match w.as_str() {
            "ALL" => K::All,
            "ANSWERED" => K::Answered,
            "DELETED" => K::Deleted,
            "DRAFT" => K::Draft,
            "FLAGGED" => K::Flagged,
            "NEW" => K::New,
            "OLD" => K::Old,
            "RECENT" => K::Recent,
            "SEEN" => K::Seen,
            "UNANSWERED" => K::Unanswered,
            "UNDELETED" => K::Undeleted,
            "UNDRAFT" => K::Undraft,
            "UNFLAGGED" => K::Unflagged,
            "UNSEEN" => K::Unseen,
            "SAVEDATESUPPORTED" => K::SaveDateSupported,
            "BCC" | "BODY" | "CC" | "FROM" | "SUBJECT" | "TEXT" | "TO" => {
                self.sp()?;
                let s = self.search_string(dec)?;
                match w.as_str() {
                    "BCC" => K::Bcc(s),
                    "BODY" => K::Body(s),
                    "CC" => K::Cc(s),
                    "FROM" => K::From(s),
                    "SUBJECT" => K::Subject(s),
                    "TEXT" => K::Text(s),
                    _ => K::To(s),
                }
            }
            "KEYWORD" | "UNKEYWORD" => {
                self.sp()?;
                let k = self.flag()?;
                if w == "KEYWORD" { K::Keyword(k) } else { K::Unkeyword(k) }
            }
            "HEADER" => {
                self.sp()?;
                let name = self.astring()?;
                self.sp()?;
                K::Header(name, self.search_string(dec)?)
            }
            "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE" | "SAVEDBEFORE"
            | "SAVEDON" | "SAVEDSINCE" => {
                self.sp()?;
                let d = self.date()?;
                match w.as_str() {
                    "BEFORE" => K::Before(d),
                    "ON" => K::On(d),
                    "SINCE" => K::Since(d),
                    "SENTBEFORE" => K::SentBefore(d),
                    "SENTON" => K::SentOn(d),
                    "SENTSINCE" => K::SentSince(d),
                    "SAVEDBEFORE" => K::SavedBefore(d),
                    "SAVEDON" => K::SavedOn(d),
                    _ => K::SavedSince(d),
                }
            }
            "LARGER" => {
                self.sp()?;
                K::Larger(self.number64()?)
            }
            "SMALLER" => {
                self.sp()?;
                K::Smaller(self.number64()?)
            }
            "OLDER" => {
                self.sp()?;
                K::Older(self.nz_number()?)
            }
            "YOUNGER" => {
                self.sp()?;
                K::Younger(self.nz_number()?)
            }
            "NOT" => {
                self.sp()?;
                K::Not(Box::new(self.search_key(dec)?))
            }
            "OR" => {
                self.sp()?;
                let a = self.search_key(dec)?;
                self.sp()?;
                let b = self.search_key(dec)?;
                K::Or(Box::new(a), Box::new(b))
            }
            "UID" => {
                self.sp()?;
                K::Uid(self.sequence_set()?)
            }
            "MODSEQ" => {
                self.sp()?;
                let mut entry = None;
                if self.peek() == Some(b'"') {
                    let s = self.pos;
                    let name = self.quoted()?;
                    let name = self.utf8(name, s)?;
                    self.sp()?;
                    let t = self.atom()?.to_ascii_lowercase();
                    if !matches!(t.as_str(), "priv" | "shared" | "all") {
                        return Err(self.err("priv, shared or all"));
                    }
                    self.sp()?;
                    entry = Some((name, t));
                }
                K::ModSeq { entry, modseq: self.number64()? }
            }
            _ => return Err(ParseError::Syntax { position: start, expected: "search key" }),
        };
        Ok(k)
    }

    fn sort(&mut self, uid: bool) -> PResult<CommandBody> {
        self.sp()?;
        let returns = self.search_returns()?;
        self.expect(b"(")?;
        let mut criteria = Vec::new();
        loop {
            let reverse = self.keyword("REVERSE ");
            let start = self.pos;
            let w = self.atom()?;
            let key = SortKey::ALL
                .iter()
                .find(|(_, n)| n.eq_ignore_ascii_case(w))
                .map(|(k, _)| *k)
                .ok_or(ParseError::Syntax { position: start, expected: "sort key" })?;
            criteria.push(SortCriterion { reverse, key });
            if self.take(b')') {
                break;
            }
            self.sp()?;
        }
        self.sp()?;
        let charset = self.charset()?;
        self.sp()?;
        let key = self.search_program(Some(&charset))?;
        Ok(CommandBody::Sort {
            criteria,
            search: SearchCommand { uid, returns, charset: Some(charset), key },
        })
    }

    fn thread(&mut self, uid: bool) -> PResult<CommandBody> {
        self.sp()?;
        let start = self.pos;
        let algorithm = match self.atom()?.to_ascii_uppercase().as_str() {
            "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
            "REFERENCES" => ThreadAlgorithm::References,
            _ => return Err(ParseError::Syntax { position: start, expected: "thread algorithm" }),
        };
        self.sp()?;
        let charset = self.charset()?;
        self.sp()?;
        let key = self.search_program(Some(&charset))?;
        Ok(CommandBody::Thread { uid, algorithm, charset, key })
    }

    fn esearch(&mut self) -> PResult<CommandBody> {
        // esearch = "ESEARCH" [SP esearch-source-opts] [SP search-return-opts] SP search-program
        self.sp()?;
        let mut source = None;
        if self.keyword("IN (") {
            let mut filters = Vec::new();
            loop {
                filters.push(self.mailbox_filter(true)?);
                if self.take(b')') {
                    break;
                }
                self.sp()?;
            }
            source = Some(filters);
            self.sp()?;
        }
        let returns = self.search_returns()?;
        let mut charset = None;
        let save = self.pos;
        if self.keyword("CHARSET ") {
            charset = Some(self.charset()?);
            self.sp()?;
        } else {
            self.pos = save;
        }
        let key = self.search_program(charset.as_deref())?;
        Ok(CommandBody::Esearch {
            source,
            search: SearchCommand { uid: true, returns, charset, key },
        })
    }

    fn mailbox_list(&mut self) -> PResult<Vec<MailboxName>> {
        if self.take(b'(') {
            let mut v = Vec::new();
            loop {
                v.push(self.mailbox()?);
                if self.take(b')') {
                    return Ok(v);
                }
                self.sp()?;
            }
        }
        Ok(vec![self.mailbox()?])
    }

    fn mailbox_filter(&mut self, multisearch: bool) -> PResult<MailboxFilter> {
        let start = self.pos;
        let w = self.atom()?.to_ascii_lowercase();
        Ok(match w.as_str() {
            // RFC 7377 §4 keeps "selected" for ESEARCH and forbids "selected-delayed".
            "selected" => MailboxFilter::Selected,
            "selected-delayed" if !multisearch => MailboxFilter::SelectedDelayed,
            "inboxes" => MailboxFilter::Inboxes,
            "personal" => MailboxFilter::Personal,
            "subscribed" => MailboxFilter::Subscribed,
            "subtree" => {
                self.sp()?;
                MailboxFilter::Subtree(self.mailbox_list()?)
            }
            "subtree-one" if multisearch => {
                self.sp()?;
                MailboxFilter::SubtreeOne(self.mailbox_list()?)
            }
            "mailboxes" => {
                self.sp()?;
                MailboxFilter::Mailboxes(self.mailbox_list()?)
            }
            _ => return Err(ParseError::Syntax { position: start, expected: "mailbox filter" }),
        })
    }

    fn getmetadata(&mut self) -> PResult<CommandBody> {
        self.sp()?;
        let mut max_size = None;
        let mut depth = MetadataDepth::Zero;
        if self.take(b'(') {
            loop {
                let w = self.atom()?.to_ascii_uppercase();
                self.sp()?;
                match w.as_str() {
                    "MAXSIZE" => max_size = Some(self.number()?),
                    "DEPTH" => {
                        depth = if self.take(b'0') {
                            MetadataDepth::Zero
                        } else if self.take(b'1') {
                            MetadataDepth::One
                        } else if self.keyword("infinity") {
                            MetadataDepth::Infinity
                        } else {
                            return Err(self.err("0, 1 or infinity"));
                        }
                    }
                    _ => return Err(self.err("MAXSIZE or DEPTH")),
                }
                if self.take(b')') {
                    break;
                }
                self.sp()?;
            }
            self.sp()?;
        }
        let mailbox = self.mailbox()?;
        self.sp()?;
        let mut entries = Vec::new();
        if self.take(b'(') {
            loop {
                entries.push(self.astring()?);
                if self.take(b')') {
                    break;
                }
                self.sp()?;
            }
        } else {
            entries.push(self.astring()?);
        }
        Ok(CommandBody::GetMetadata { max_size, depth, mailbox, entries })
    }

    fn nstring_bytes_or_literal8(&mut self) -> PResult<Option<Vec<u8>>> {
        if self.peek() == Some(b'~') {
            return self.literal(true).map(Some);
        }
        self.nstring_bytes()
    }

    fn notify(&mut self) -> PResult<CommandBody> {
        self.sp()?;
        if self.keyword("NONE") {
            return Ok(CommandBody::Notify(None));
        }
        if !self.keyword("SET") {
            return Err(self.err("SET or NONE"));
        }
        let mut status = false;
        let mut groups = Vec::new();
        while self.take(b' ') {
            if groups.is_empty() && !status && self.keyword("STATUS") {
                status = true;
                continue;
            }
            self.expect(b"(")?;
            let filter = self.mailbox_filter(false)?;
            self.sp()?;
            let events = if self.keyword("NONE") {
                None
            } else {
                self.expect(b"(")?;
                let mut evs = Vec::new();
                loop {
                    evs.push(self.notify_event()?);
                    if self.take(b')') {
                        break;
                    }
                    self.sp()?;
                }
                Some(evs)
            };
            self.expect(b")")?;
            groups.push(NotifyGroup { filter, events });
        }
        if groups.is_empty() {
            return Err(self.err("event group"));
        }
        Ok(CommandBody::Notify(Some(NotifySet { status, groups })))
    }

    fn notify_event(&mut self) -> PResult<NotifyEvent> {
        let start = self.pos;
        let w = self.atom()?.to_ascii_lowercase();
        Ok(match w.as_str() {
            "messagenew" => {
                let mut atts = Vec::new();
                let save = self.pos;
                if self.keyword(" (") {
                    loop {
                        atts.push(self.fetch_attr()?);
                        if self.take(b')') {
                            break;
                        }
                        self.sp()?;
                    }
                } else {
                    self.pos = save;
                }
                NotifyEvent::MessageNew(atts)
            }
            "messageexpunge" => NotifyEvent::MessageExpunge,
            "flagchange" => NotifyEvent::FlagChange,
            "annotationchange" => NotifyEvent::AnnotationChange,
            "mailboxname" => NotifyEvent::MailboxName,
            "subscriptionchange" => NotifyEvent::SubscriptionChange,
            "mailboxmetadatachange" => NotifyEvent::MailboxMetadataChange,
            "servermetadatachange" => NotifyEvent::ServerMetadataChange,
            _ => return Err(ParseError::Syntax { position: start, expected: "notify event" }),
        })
    }
}

/// Days in a month of a (proleptic Gregorian) year.
pub(crate) fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// Decodes SASL base64 (`=` alone is an empty response, RFC 4959 §3).
pub fn decode_sasl_base64(b: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    if b == b"=" {
        return Some(Vec::new());
    }
    base64::engine::general_purpose::STANDARD.decode(b).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> CommandBody {
        match parse_command(s.as_bytes()) {
            Ok(c) => c.body,
            Err(e) => panic!("{s:?}: {e:?}"),
        }
    }

    fn fails(s: &str) -> ParseError {
        parse_command(s.as_bytes()).expect_err(s).1
    }

    #[test]
    fn basic_commands() {
        assert_eq!(parse("a CAPABILITY\r\n"), CommandBody::Capability);
        assert_eq!(parse("a noop\r\n"), CommandBody::Noop);
        let CommandBody::Login { username, password } = parse("a LOGIN \"mjl\" {4}\r\ntest\r\n")
        else {
            panic!()
        };
        assert_eq!((username.as_str(), password.expose().as_str()), ("mjl", "test"));
        assert_eq!(
            parse("a select inbox (CONDSTORE)\r\n"),
            CommandBody::Select {
                mailbox: MailboxName("INBOX".into()),
                read_only: false,
                condstore: true,
                qresync: None
            }
        );
        assert!(matches!(fails("a FOO\r\n"), ParseError::UnknownCommand { .. }));
        assert!(matches!(fails("a  NOOP\r\n"), ParseError::Syntax { .. }), "two spaces");
        assert!(matches!(fails("a NOOP x\r\n"), ParseError::Syntax { .. }));
        assert_eq!(parse_command(b"+x NOOP\r\n").unwrap_err().0, None, "no + in tags");
    }

    #[test]
    fn qresync_select() {
        // RFC 7162 §3.2.5.2 example.
        let b = parse(
            "A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1:5,9 3,6,9:11)))\r\n",
        );
        let CommandBody::Select { qresync: Some(q), .. } = b else { panic!() };
        assert_eq!(q.uid_validity, 67890007);
        assert_eq!(q.modseq, 20050715194045000);
        assert_eq!(q.known_uids.unwrap().to_string(), "41,43:211,214:541");
        let (s, u) = q.seq_match.unwrap();
        assert_eq!((s.to_string(), u.to_string()), ("1:5,9".into(), "3,6,9:11".into()));
    }

    #[test]
    fn fetch_items() {
        let CommandBody::Fetch { items, changed_since, vanished, .. } = parse(
            "a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (DATE FROM)] BODY[1.2.MIME]<0.100> BINARY[2] RFC822.SIZE PREVIEW (LAZY)) (CHANGEDSINCE 12345 VANISHED)\r\n",
        ) else {
            panic!()
        };
        assert_eq!(
            items,
            [
                FetchAttr::Flags,
                FetchAttr::BodySection {
                    peek: true,
                    section: Section {
                        part: vec![],
                        text: Some(SectionText::HeaderFields {
                            not: false,
                            fields: vec!["DATE".into(), "FROM".into()]
                        })
                    },
                    partial: None
                },
                FetchAttr::BodySection {
                    peek: false,
                    section: Section { part: vec![1, 2], text: Some(SectionText::Mime) },
                    partial: Some((0, 100))
                },
                FetchAttr::Binary { peek: false, part: vec![2], partial: None },
                FetchAttr::Rfc822Size,
                FetchAttr::Preview { lazy: true },
            ]
        );
        assert_eq!((changed_since, vanished), (Some(12345), true));
        let CommandBody::Fetch { items, .. } = parse("a FETCH 1 FULL\r\n") else { panic!() };
        assert_eq!(items.len(), 5);
        assert!(matches!(fails("a FETCH 1 (BODY[MIME])\r\n"), ParseError::Syntax { .. }));
        assert!(matches!(fails("a FETCH 1 FLAGSX\r\n"), ParseError::Syntax { .. }));
    }

    #[test]
    fn search_keys() {
        let CommandBody::Search(s) = parse(
            "a UID SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 OR (FROM \"x\" SINCE 1-Feb-1994) NOT 1:5 MODSEQ \"/flags/\\\\draft\" all 620162338 younger 60\r\n",
        ) else {
            panic!()
        };
        assert!(s.uid);
        assert_eq!(
            s.returns,
            Some(vec![SearchReturn::Min, SearchReturn::Count, SearchReturn::Save])
        );
        let SearchKey::And(keys) = s.key else { panic!() };
        // OR takes the parenthesized list and NOT 1:5.
        assert_eq!(keys.len(), 3);
        assert_eq!(
            keys[1],
            SearchKey::ModSeq {
                entry: Some(("/flags/\\draft".into(), "all".into())),
                modseq: 620162338
            }
        );
        assert!(matches!(fails("a SEARCH CHARSET X-NONE ALL\r\n"), ParseError::BadCharset { .. }));
        // Latin-1 strings are decoded.
        let CommandBody::Search(s) =
            parse_command(b"a SEARCH CHARSET ISO-8859-1 SUBJECT {1}\r\n\xe9\r\n").unwrap().body
        else {
            panic!()
        };
        assert_eq!(s.key, SearchKey::Subject("é".into()));
        assert!(matches!(fails("a SEARCH ON 30-Feb-2020\r\n"), ParseError::Syntax { .. }));
    }

    #[test]
    fn append_prefix_and_continuation() {
        let p = parse_append_prefix(
            b"a APPEND INBOX (\\Seen) \" 5-Nov-2024 10:00:00 +0100\" {310}\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.mailbox.0, "INBOX");
        assert_eq!(p.message.flags, ["\\Seen"]);
        assert_eq!(p.message.size, 310);
        assert!(p.message.sync);
        assert_eq!(p.message.date.unwrap().offset_minutes, 60);
        assert_eq!(parse_append_continuation(b"\r\n", false).unwrap(), None);
        let m = parse_append_continuation(b" {5+}\r\n", false).unwrap().unwrap();
        assert!(!m.sync && m.size == 5);
        assert!(parse_append_prefix(b"a SEARCH {3}\r\n").unwrap().is_none());
        // BINARY (RFC 3516 §4.4): APPEND data may be a literal8.
        let r = parse_append_prefix(b"a UID REPLACE 4 Drafts ~{3}\r\n").unwrap().unwrap();
        assert_eq!(r.message.size, 3);
        assert!(parse_append_prefix(b"a APPEND x UTF8 ({3}\r\n").is_err(), "UTF8 needs literal8");
        let r = parse_append_prefix(b"a UID REPLACE 4 Drafts UTF8 (~{3}\r\n").unwrap().unwrap();
        assert_eq!(r.replace, Some((true, 4)));
        assert!(r.message.utf8);
        assert_eq!(parse_append_continuation(b")\r\n", true).unwrap(), None);
    }

    #[test]
    fn list_extended() {
        let CommandBody::List(l) = parse(
            "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"%\" \"Archive/*\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN) SPECIAL-USE)\r\n",
        ) else {
            panic!()
        };
        assert!(l.extended && l.select_subscribed && l.recursive_match && l.pattern_list);
        assert_eq!(l.patterns.len(), 2);
        assert_eq!(l.return_status, Some(vec![StatusItem::Messages, StatusItem::Unseen]));
        assert!(matches!(fails("a LIST (RECURSIVEMATCH) \"\" *\r\n"), ParseError::Syntax { .. }));
    }

    #[test]
    fn notify_and_metadata() {
        let b = parse(
            "a NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (subtree (INBOX Lists) (MessageNew)) (personal NONE)\r\n",
        );
        let CommandBody::Notify(Some(n)) = b else { panic!() };
        assert!(n.status);
        assert_eq!(n.groups.len(), 3);
        assert_eq!(n.groups[2].events, None);
        let b = parse(
            "a GETMETADATA (DEPTH infinity MAXSIZE 1024) \"\" (/shared/comment /private/x)\r\n",
        );
        assert!(matches!(
            b,
            CommandBody::GetMetadata { depth: MetadataDepth::Infinity, max_size: Some(1024), .. }
        ));
        let b = parse("a SETMETADATA INBOX (/private/comment {3}\r\nabc /shared/x NIL)\r\n");
        let CommandBody::SetMetadata { entries, .. } = b else { panic!() };
        assert_eq!(entries[0].1.as_deref(), Some(&b"abc"[..]));
        assert_eq!(entries[1].1, None);
    }
}
