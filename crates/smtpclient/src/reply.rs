//! SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 3463), parsed incrementally.
//!
//! ```text
//! Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
//!                  Reply-code [ SP textstring ] CRLF
//! Reply-code     = %x32-35 %x30-35 %x30-39
//! ```

use std::fmt;

/// The longest reply line we buffer, CRLF included. RFC 5321 §4.5.3.1.5 allows 512; real
/// servers send longer texts, so we accept eight times that before calling it garbage.
pub const MAX_REPLY_LINE: usize = 4096;

/// The largest multi-line reply we accept in total.
pub const MAX_REPLY_SIZE: usize = 64 * 1024;

/// A complete server reply: the code, the enhanced status code if the first line carries one,
/// and the text of every line.
#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    enhanced: Option<EnhancedCode>,
    lines: Vec<String>,
}

/// An enhanced mail system status code `class.subject.detail` (RFC 3463 §2), e.g. `5.1.1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    /// The subject, e.g. 1 for addressing status.
    pub subject: u16,
    /// The detail within the subject.
    pub detail: u16,
}

/// What kind of answer a reply is (RFC 5321 §4.2.1, the first digit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// 2yz: the command succeeded.
    PositiveCompletion,
    /// 3yz: go on (354 after DATA, 334 during AUTH).
    PositiveIntermediate,
    /// 4yz: failed now, may work later: retry.
    TransientNegative,
    /// 5yz: failed, will fail again: do not retry.
    PermanentNegative,
}

/// Why bytes from the server are not a valid reply. Both are fatal to the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line that is not `DDD`, `DDD text` or `DDD-text` with a valid code, or a continuation
    /// line whose code differs from the first line's.
    #[error("malformed reply line {line:?}: {reason}")]
    Malformed {
        /// The offending line (shortened to 100 characters, lossily decoded).
        line: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A line longer than [`MAX_REPLY_LINE`] or a reply larger than [`MAX_REPLY_SIZE`].
    #[error("reply exceeds {limit} bytes")]
    TooLong {
        /// The limit that was exceeded.
        limit: usize,
    },
}

impl Reply {
    /// Makes a reply from parts; the enhanced code is taken from the first line if present.
    /// Mostly for tests and for servers composing replies.
    pub fn new(code: u16, lines: Vec<String>) -> Reply {
        let enhanced =
            lines.first().and_then(|l| EnhancedCode::parse_prefix(l, code).map(|(e, _)| e));
        Reply { code, enhanced, lines }
    }

    /// The three-digit code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status code, when the first line starts with one of the reply's class.
    pub fn enhanced(&self) -> Option<EnhancedCode> {
        self.enhanced
    }

    /// The text of each line, without code and separator (the enhanced code is still there).
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The text of all lines joined by spaces, without enhanced codes: for error messages.
    pub fn message(&self) -> String {
        let texts: Vec<&str> = self
            .lines
            .iter()
            .map(|line| match EnhancedCode::parse_prefix(line, self.code) {
                Some((_, rest)) => rest,
                None => line.as_str(),
            })
            .filter(|t| !t.is_empty())
            .collect();
        texts.join(" ")
    }

    /// The reply's severity, from the first digit.
    pub fn severity(&self) -> Severity {
        match self.code / 100 {
            2 => Severity::PositiveCompletion,
            3 => Severity::PositiveIntermediate,
            4 => Severity::TransientNegative,
            _ => Severity::PermanentNegative,
        }
    }

    /// 2yz.
    pub fn is_success(&self) -> bool {
        self.severity() == Severity::PositiveCompletion
    }

    /// 4yz: try again later.
    pub fn is_transient(&self) -> bool {
        self.severity() == Severity::TransientNegative
    }

    /// 5yz: do not try again.
    pub fn is_permanent(&self) -> bool {
        self.severity() == Severity::PermanentNegative
    }
}

impl fmt::Display for Reply {
    /// One line: `550 5.1.1 text of all lines`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(enhanced) = self.enhanced {
            write!(f, " {enhanced}")?;
        }
        let message = self.message();
        if !message.is_empty() {
            write!(f, " {message}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reply({self})")
    }
}

impl EnhancedCode {
    /// Parses `class.subject.detail` at the start of `text`, followed by a space or the end,
    /// if its class matches the reply code's first digit (RFC 3463 §2, RFC 2034 §4). Returns
    /// the code and the rest of the text.
    fn parse_prefix(text: &str, code: u16) -> Option<(EnhancedCode, &str)> {
        let end = text.find(' ').unwrap_or(text.len());
        let mut parts = text[..end].split('.');
        let number = |part: Option<&str>| -> Option<u16> {
            let part = part?;
            if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let class = number(parts.next())?;
        let subject = number(parts.next())?;
        let detail = number(parts.next())?;
        if parts.next().is_some() || !matches!(class, 2 | 4 | 5) || class != code / 100 {
            return None;
        }
        let rest = text[end..].trim_start_matches(' ');
        Some((EnhancedCode { class: class as u8, subject, detail }, rest))
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Parses one complete reply from the start of `input`.
///
/// Returns `Ok(None)` when more bytes are needed, and `Ok(Some((reply, consumed)))` when a
/// reply is complete. Lines end in CRLF; a bare LF is accepted too, since some servers send
/// it and nothing is ambiguous about it.
pub fn parse_reply(input: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
    let mut pos = 0;
    let mut code = None;
    let mut lines = Vec::new();
    loop {
        let rest = &input[pos..];
        let Some(newline) = memchr::memchr(b'\n', rest) else {
            if rest.len() >= MAX_REPLY_LINE {
                return Err(ReplyError::TooLong { limit: MAX_REPLY_LINE });
            }
            return Ok(None);
        };
        if newline + 1 > MAX_REPLY_LINE {
            return Err(ReplyError::TooLong { limit: MAX_REPLY_LINE });
        }
        let line = &rest[..newline];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos += newline + 1;
        if pos > MAX_REPLY_SIZE {
            return Err(ReplyError::TooLong { limit: MAX_REPLY_SIZE });
        }

        let malformed = |reason| ReplyError::Malformed { line: shorten(line), reason };
        let digits = line.get(..3).ok_or_else(|| malformed("shorter than a reply code"))?;
        let valid_code = matches!(digits[0], b'2'..=b'5')
            && matches!(digits[1], b'0'..=b'5')
            && digits[2].is_ascii_digit();
        if !valid_code {
            return Err(malformed("not a reply code 2yz-5yz"));
        }
        let this_code = u16::from(digits[0] - b'0') * 100
            + u16::from(digits[1] - b'0') * 10
            + u16::from(digits[2] - b'0');
        if code.is_some_and(|first| first != this_code) {
            return Err(malformed("continuation line with a different code"));
        }
        code = Some(this_code);
        let (last, text) = match line.get(3) {
            None => (true, &b""[..]),
            Some(b' ') => (true, &line[4..]),
            Some(b'-') => (false, &line[4..]),
            Some(_) => return Err(malformed("code not followed by space or hyphen")),
        };
        lines.push(String::from_utf8_lossy(text).into_owned());
        if last {
            return Ok(Some((Reply::new(this_code, lines), pos)));
        }
    }
}

fn shorten(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(&line[..line.len().min(100)]);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Reply {
        let (reply, consumed) = parse_reply(input).unwrap().unwrap();
        assert_eq!(consumed, input.len());
        reply
    }

    #[test]
    fn single_and_multi_line() {
        let reply = parse(b"250 OK\r\n");
        assert_eq!((reply.code(), reply.lines()), (250, &["OK".to_string()][..]));
        assert!(reply.is_success());

        let reply = parse(b"250-mx.example.org Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
        assert_eq!(reply.lines(), ["mx.example.org Hello", "PIPELINING", "SIZE 1000"]);

        // Bare code, bare LF.
        let reply = parse(b"354\n");
        assert_eq!((reply.code(), reply.lines().len()), (354, 1));
        assert_eq!(reply.severity(), Severity::PositiveIntermediate);
    }

    #[test]
    fn enhanced_codes() {
        let reply = parse(b"550-5.1.1 No such user\r\n550 5.1.1 here\r\n");
        assert_eq!(reply.enhanced(), Some(EnhancedCode { class: 5, subject: 1, detail: 1 }));
        assert_eq!(reply.message(), "No such user here");
        assert_eq!(reply.to_string(), "550 5.1.1 No such user here");
        assert!(reply.is_permanent());
        // Class must match the code.
        assert_eq!(parse(b"451 5.1.1 huh\r\n").enhanced(), None);
        assert_eq!(parse(b"250 2.0.0\r\n").enhanced().unwrap().to_string(), "2.0.0");
        assert_eq!(parse(b"250 2.0.0.1 x\r\n").enhanced(), None);
        assert_eq!(parse(b"250 2.1000.0 x\r\n").enhanced(), None);
        assert!(parse(b"421 4.7.0 Try later\r\n").is_transient());
    }

    #[test]
    fn incomplete_input_needs_more() {
        for partial in [&b""[..], b"25", b"250-first\r\n", b"250-first\r\n250 sec", b"250 OK\r"] {
            assert_eq!(parse_reply(partial), Ok(None), "{partial:?}");
        }
        // Only one reply is consumed; the rest stays for the next call.
        let (reply, consumed) = parse_reply(b"250 a\r\n354 b\r\n").unwrap().unwrap();
        assert_eq!((reply.code(), consumed), (250, 7));
    }

    #[test]
    fn malformed_replies_are_errors() {
        let cases: [(&[u8], &str); 8] = [
            (b"25\r\n", "shorter than a reply code"),
            (b"abc OK\r\n", "not a reply code 2yz-5yz"),
            (b"150 OK\r\n", "not a reply code 2yz-5yz"),
            (b"260 OK\r\n", "not a reply code 2yz-5yz"),
            (b"600 OK\r\n", "not a reply code 2yz-5yz"),
            (b"250xOK\r\n", "code not followed by space or hyphen"),
            (b"250-first\r\n251 second\r\n", "continuation line with a different code"),
            (b"250-first\r\nbroken\r\n", "not a reply code 2yz-5yz"),
        ];
        for (input, reason) in cases {
            match parse_reply(input) {
                Err(ReplyError::Malformed { reason: r, .. }) => assert_eq!(r, reason, "{input:?}"),
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn endless_lines_and_replies_are_bounded() {
        let long = vec![b'a'; MAX_REPLY_LINE];
        assert_eq!(parse_reply(&long), Err(ReplyError::TooLong { limit: MAX_REPLY_LINE }));
        let mut many = Vec::new();
        while many.len() <= MAX_REPLY_SIZE {
            many.extend_from_slice(b"250-more text on another line\r\n");
        }
        assert_eq!(parse_reply(&many), Err(ReplyError::TooLong { limit: MAX_REPLY_SIZE }));
    }
}
