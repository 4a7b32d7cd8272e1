//! Finding where a command ends in buffered input: lines, and literals announced at their ends
//! (`{n}`, `{n+}`, `~{n}`), with limits enforced before anything is buffered.
//!
//! ```text
//! literal   = "{" number64 ["+"] "}" CRLF *CHAR8    ; "+": non-synchronizing (RFC 7888)
//! literal8  = "~{" number64 "}" CRLF *OCTET         ; RFC 3516
//! ```
//!
//! The framer never copies: it reports offsets into the caller's buffer. "Not enough bytes
//! yet" is the value [`Frame::Incomplete`], not an error. When a line ends with a literal
//! announcement, [`Frame::Literal`] gives the caller (the session) the choice: take the literal
//! into the command ([`Framer::accept_literal`], after sending a continuation request for a
//! synchronizing one), stream it elsewhere (APPEND data goes straight to a message file), or
//! refuse it. A line longer than [`Limits::max_line`] is reported as soon as that many bytes
//! are buffered without a line end, so a client cannot make the server buffer without bound.

/// Size limits of the framing layer.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest command line (each line of a command with literals) in bytes.
    pub max_line: usize,
    /// Largest literal taken into a command in memory (APPEND data is streamed instead).
    pub max_literal: u64,
    /// Largest command in memory: lines plus literals.
    pub max_command: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_line: 64 * 1024, max_literal: 1024 * 1024, max_command: 2 * 1024 * 1024 }
    }
}

/// What the buffered input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// No complete command yet: read more.
    Incomplete,
    /// `buf[..len]` is a complete command (its last line ends with LF).
    Complete(usize),
    /// The line ending at `line_end` (just past its LF) announces a literal.
    Literal(LiteralAnnouncement),
    /// A line grew past [`Limits::max_line`] without ending.
    LineTooLong,
}

/// A literal announced at the end of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiteralAnnouncement {
    /// Offset just past the announcing line's LF: the command so far is `buf[..line_end]`.
    pub line_end: usize,
    /// Offset of the `{` (or `~`) of the announcement.
    pub start: usize,
    /// Announced size in bytes.
    pub size: u64,
    /// Synchronizing (`{n}`): the client waits for a continuation request.
    pub sync: bool,
    /// `~{n}`: literal8, may hold NUL bytes.
    pub binary: bool,
}

/// Scans a buffer for command boundaries, remembering how far it got between calls so bytes
/// are looked at once.
#[derive(Debug, Default, Clone)]
pub struct Framer {
    /// Offset up to which the current command is known to be complete lines and literals.
    checked: usize,
}

impl Framer {
    /// A framer at the start of a command.
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Looks at `buf` (the buffered input, starting at the current command) for the next
    /// boundary.
    pub fn next(&mut self, buf: &[u8], limits: &Limits) -> Frame {
        if self.checked > buf.len() {
            return Frame::Incomplete;
        }
        let line_start = self.checked;
        let Some(lf) = memchr::memchr(b'\n', &buf[line_start..]) else {
            return if buf.len() - line_start > limits.max_line {
                Frame::LineTooLong
            } else {
                Frame::Incomplete
            };
        };
        if lf > limits.max_line {
            return Frame::LineTooLong;
        }
        let line_end = line_start + lf + 1;
        let line = &buf[line_start..line_end];
        match literal_at_end(line) {
            Some((start, size, sync, binary)) => {
                self.checked = line_end;
                Frame::Literal(LiteralAnnouncement {
                    line_end,
                    start: line_start + start,
                    size,
                    sync,
                    binary,
                })
            }
            None => {
                self.checked = 0;
                Frame::Complete(line_end)
            }
        }
    }

    /// Takes the literal just announced into the command: its bytes follow the announcing
    /// line. Returns false if that would make the command larger than allowed (the caller
    /// then refuses the literal).
    pub fn accept_literal(&mut self, size: u64, limits: &Limits) -> bool {
        let Ok(size) = usize::try_from(size) else { return false };
        if size as u64 > limits.max_literal {
            return false;
        }
        match self.checked.checked_add(size) {
            Some(end) if end <= limits.max_command => {
                self.checked = end;
                true
            }
            _ => false,
        }
    }

    /// Starts over at a new command (after the caller removed the previous one from its
    /// buffer, or dropped a refused one).
    pub fn reset(&mut self) {
        self.checked = 0;
    }
}

/// If `line` ends with a literal announcement (`{n}`, `{n+}` or `~{n}` before CRLF or LF),
/// its offset in the line, size, whether synchronizing, and whether literal8.
fn literal_at_end(line: &[u8]) -> Option<(usize, u64, bool, bool)> {
    let mut end = line.len().checked_sub(1)?; // the LF
    if end > 0 && line[end - 1] == b'\r' {
        end -= 1;
    }
    if end == 0 || line[end - 1] != b'}' {
        return None;
    }
    let close = end - 1;
    let open = line[..close].iter().rposition(|&c| c == b'{')?;
    let mut digits = &line[open + 1..close];
    let sync = digits.last() != Some(&b'+');
    if !sync {
        digits = &digits[..digits.len() - 1];
    }
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let size: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let binary = open > 0 && line[open - 1] == b'~';
    let start = if binary { open - 1 } else { open };
    Some((start, size, sync, binary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_lines_and_literals() {
        let limits = Limits::default();
        let mut f = Framer::new();
        assert_eq!(f.next(b"a NOOP", &limits), Frame::Incomplete);
        assert_eq!(f.next(b"a NOOP\r\nb NOOP\r\n", &limits), Frame::Complete(8));

        let buf = b"a LOGIN {3}\r\nmjl {4+}\r\ntest\r\n";
        let Frame::Literal(a) = f.next(&buf[..13], &limits) else { panic!() };
        assert_eq!((a.line_end, a.start, a.size, a.sync, a.binary), (13, 8, 3, true, false));
        assert!(f.accept_literal(a.size, &limits));
        assert_eq!(f.next(&buf[..14], &limits), Frame::Incomplete, "literal data not all there");
        let Frame::Literal(b) = f.next(buf, &limits) else { panic!() };
        assert!(!b.sync);
        assert!(f.accept_literal(b.size, &limits));
        assert_eq!(f.next(buf, &limits), Frame::Complete(buf.len()));
        // Literal data may contain line ends and braces: it is skipped, not scanned.
        f.reset();
        let buf = b"a X {5}\r\n{1}\r\n\r\n";
        let Frame::Literal(a) = f.next(buf, &limits) else { panic!() };
        f.accept_literal(a.size, &limits);
        assert_eq!(f.next(buf, &limits), Frame::Complete(buf.len()));
    }

    #[test]
    fn limits_apply_before_buffering() {
        let limits = Limits { max_line: 10, max_literal: 100, max_command: 50 };
        let mut f = Framer::new();
        assert_eq!(f.next(b"a 123456789", &limits), Frame::LineTooLong);
        assert_eq!(f.next(b"a 1234567", &limits), Frame::Incomplete);
        let Frame::Literal(a) = f.next(b"a {101}\r\n", &limits) else { panic!() };
        assert!(!f.accept_literal(a.size, &limits), "over max_literal");
        f.reset();
        let Frame::Literal(a) = f.next(b"a {99}\r\n", &limits) else { panic!() };
        assert!(!f.accept_literal(a.size, &limits), "over max_command");
        f.reset();
        let Frame::Literal(a) = f.next(b"a ~{5}\n", &limits) else { panic!() };
        assert!(a.binary && a.sync && a.start == 2);
        for no in [&b"a {x}\r\n"[..], b"a {}\r\n", b"a }\r\n", b"a {12345678901234567890}\r\n"] {
            f.reset();
            assert!(matches!(f.next(no, &Limits::default()), Frame::Complete(_)), "{no:?}");
        }
    }
}
