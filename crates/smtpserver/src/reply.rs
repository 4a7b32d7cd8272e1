//! Server replies (RFC 5321 §4.2) with enhanced status codes (RFC 3463, RFC 2034).
//!
//! ```text
//! Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
//!                  Reply-code [ SP textstring ] CRLF
//! Reply-code     = %x32-35 %x30-35 %x30-39
//! ```

use std::fmt;

/// The subject and detail of an enhanced status code (RFC 3463 §2); the class (2, 4 or 5)
/// comes from the reply code, so a reply can never carry a class that contradicts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ecode(pub u16, pub u16);

impl Ecode {
    /// X.0.0 Other undefined status.
    pub const OTHER: Ecode = Ecode(0, 0);
    /// X.1.0 Other address status.
    pub const ADDR_OTHER: Ecode = Ecode(1, 0);
    /// X.1.1 Bad destination mailbox address.
    pub const ADDR_UNKNOWN_MAILBOX: Ecode = Ecode(1, 1);
    /// X.1.2 Bad destination system address.
    pub const ADDR_UNKNOWN_SYSTEM: Ecode = Ecode(1, 2);
    /// X.1.3 Bad destination mailbox address syntax.
    pub const ADDR_SYNTAX: Ecode = Ecode(1, 3);
    /// X.1.5 Destination address valid.
    pub const ADDR_VALID: Ecode = Ecode(1, 5);
    /// X.1.7 Bad sender's mailbox address syntax.
    pub const ADDR_SENDER_SYNTAX: Ecode = Ecode(1, 7);
    /// X.1.10 Recipient address has null MX (RFC 7505).
    pub const ADDR_NULL_MX: Ecode = Ecode(1, 10);
    /// X.2.0 Other or undefined mailbox status.
    pub const MAILBOX_OTHER: Ecode = Ecode(2, 0);
    /// X.2.1 Mailbox disabled, not accepting messages.
    pub const MAILBOX_DISABLED: Ecode = Ecode(2, 1);
    /// X.2.2 Mailbox full.
    pub const MAILBOX_FULL: Ecode = Ecode(2, 2);
    /// X.2.3 Message length exceeds administrative limit.
    pub const MAILBOX_MSG_TOO_BIG: Ecode = Ecode(2, 3);
    /// X.3.0 Other or undefined mail system status.
    pub const SYS_OTHER: Ecode = Ecode(3, 0);
    /// X.3.1 Mail system full.
    pub const SYS_STORAGE_FULL: Ecode = Ecode(3, 1);
    /// X.3.2 System not accepting network messages.
    pub const SYS_NOT_ACCEPTING: Ecode = Ecode(3, 2);
    /// X.3.3 System not capable of selected features.
    pub const SYS_NOT_SUPPORTED: Ecode = Ecode(3, 3);
    /// X.3.4 Message too big for system.
    pub const SYS_MSG_TOO_BIG: Ecode = Ecode(3, 4);
    /// X.4.0 Other or undefined network or routing status.
    pub const NET_OTHER: Ecode = Ecode(4, 0);
    /// X.4.6 Routing loop detected.
    pub const NET_LOOP: Ecode = Ecode(4, 6);
    /// X.5.0 Other or undefined protocol status.
    pub const PROTO_OTHER: Ecode = Ecode(5, 0);
    /// X.5.1 Invalid command.
    pub const PROTO_BAD_SEQUENCE: Ecode = Ecode(5, 1);
    /// X.5.2 Syntax error.
    pub const PROTO_SYNTAX: Ecode = Ecode(5, 2);
    /// X.5.3 Too many recipients.
    pub const PROTO_TOO_MANY_RCPTS: Ecode = Ecode(5, 3);
    /// X.5.4 Invalid command arguments.
    pub const PROTO_BAD_PARAMS: Ecode = Ecode(5, 4);
    /// X.5.6 Authentication exchange line is too long (RFC 4954).
    pub const PROTO_AUTH_TOO_LONG: Ecode = Ecode(5, 6);
    /// X.6.0 Other or undefined media error.
    pub const MSG_OTHER: Ecode = Ecode(6, 0);
    /// X.6.7 Non-ASCII addresses not permitted for that sender/recipient (RFC 6531).
    pub const MSG_NON_ASCII_ADDR: Ecode = Ecode(6, 7);
    /// X.7.0 Other or undefined security status.
    pub const POL_OTHER: Ecode = Ecode(7, 0);
    /// X.7.1 Delivery not authorized, message refused.
    pub const POL_DELIVERY_UNAUTH: Ecode = Ecode(7, 1);
    /// X.7.2 Mailing list expansion prohibited.
    pub const POL_EXPN_PROHIBITED: Ecode = Ecode(7, 2);
    /// X.7.7 Message integrity failure.
    pub const POL_MSG_INTEGRITY: Ecode = Ecode(7, 7);
    /// X.7.8 Authentication credentials invalid (RFC 4954).
    pub const POL_AUTH_BAD_CREDS: Ecode = Ecode(7, 8);
    /// X.7.10 Encryption needed (RFC 5248).
    pub const POL_ENC_NEEDED: Ecode = Ecode(7, 10);
    /// X.7.11 Encryption required for requested authentication mechanism (RFC 4954).
    pub const POL_ENC_REQ_FOR_AUTH: Ecode = Ecode(7, 11);
    /// X.7.13 User account disabled (RFC 5248).
    pub const POL_ACCOUNT_DISABLED: Ecode = Ecode(7, 13);
    /// X.7.26 Multiple authentication checks failed (RFC 7372).
    pub const POL_MULTI_AUTH_FAILS: Ecode = Ecode(7, 26);
    /// X.7.27 Sender address has null MX (RFC 7505).
    pub const POL_SENDER_NULL_MX: Ecode = Ecode(7, 27);
}

/// One reply: a three-digit code, an optional enhanced status code and text, possibly of
/// several lines (separated by `\n` in [`Reply::text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code, 200 to 599.
    pub code: u16,
    /// The enhanced status code; its class is `code / 100`.
    pub ecode: Option<Ecode>,
    /// The text; `\n` separates lines. Control characters are replaced when encoding.
    pub text: String,
}

/// Longest reply line we write, CRLF excluded (RFC 5321 §4.5.3.1.5 allows 512 with CRLF).
const MAX_LINE: usize = 510;

impl Reply {
    /// A reply with an enhanced status code.
    pub fn new(code: u16, ecode: Ecode, text: impl Into<String>) -> Reply {
        Reply { code, ecode: Some(ecode), text: text.into() }
    }

    /// A reply without an enhanced status code (greeting, EHLO, 334 and 354).
    pub fn plain(code: u16, text: impl Into<String>) -> Reply {
        Reply { code, ecode: None, text: text.into() }
    }

    /// 2xx.
    pub fn is_success(&self) -> bool {
        self.code < 400
    }

    /// 4xx.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5xx.
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The enhanced status code as text, `4.7.1`.
    pub fn ecode_text(&self) -> Option<String> {
        self.ecode.map(|Ecode(s, d)| format!("{}.{s}.{d}", self.code / 100))
    }

    /// Appends the reply in wire form: one line per text line (lines longer than 510 octets are
    /// wrapped at a space where possible), each with the code, `-` on all but the last.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let ecode = self.ecode_text();
        let prefix_len = 4 + ecode.as_ref().map_or(0, |e| e.len() + 1);
        let mut lines: Vec<String> = Vec::new();
        for line in self.text.split('\n') {
            let mut line = sanitize(line);
            while prefix_len + line.len() > MAX_LINE {
                let mut end = MAX_LINE - prefix_len;
                while !line.is_char_boundary(end) {
                    end -= 1;
                }
                // Break at a space near the end if there is one.
                if let Some(space) = line[..end].rfind(' ').filter(|&i| i > end / 2) {
                    end = space + 1;
                }
                let rest = line.split_off(end);
                lines.push(line);
                line = rest;
            }
            lines.push(line);
        }
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            out.extend_from_slice(self.code.to_string().as_bytes());
            out.push(if i == last { b' ' } else { b'-' });
            if let Some(e) = &ecode {
                out.extend_from_slice(e.as_bytes());
                if !line.is_empty() {
                    out.push(b' ');
                }
            }
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The reply in wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

impl fmt::Display for Reply {
    /// The reply on one line, for logs: `550 5.7.1 text`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = self.ecode_text() {
            write!(f, " {e}")?;
        }
        if !self.text.is_empty() {
            write!(f, " {}", self.text.replace('\n', " / "))?;
        }
        Ok(())
    }
}

/// Replaces control characters (CR, LF, NUL, ...) in reply text: text may contain strings
/// from the client or from DNS, and a CR or LF in it would break the reply framing.
fn sanitize(line: &str) -> String {
    line.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Checks that `bytes` is a sequence of well-formed replies (RFC 5321 §4.2): used by the fuzz
/// target and tests. Returns the number of complete replies.
pub fn check_replies(bytes: &[u8]) -> Result<usize, String> {
    let mut replies = 0;
    let mut current: Option<&[u8]> = None;
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some(end) = memchr::memmem::find(rest, b"\r\n") else {
            return Err(format!("line without CRLF: {:?}", String::from_utf8_lossy(rest)));
        };
        let line = &rest[..end];
        rest = &rest[end + 2..];
        if line.len() > MAX_LINE {
            return Err(format!("line of {} octets", line.len()));
        }
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
            return Err(format!("line without code: {:?}", String::from_utf8_lossy(line)));
        }
        if !(b'2'..=b'5').contains(&line[0]) {
            return Err(format!("bad code class: {:?}", String::from_utf8_lossy(line)));
        }
        if line.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
            return Err("control character in reply".into());
        }
        if let Some(code) = current
            && code != &line[..3]
        {
            return Err("code changes within a multiline reply".into());
        }
        match line.get(3) {
            Some(b'-') => current = Some(&line[..3]),
            Some(b' ') | None => {
                current = None;
                replies += 1;
            }
            Some(_) => return Err("bad separator after code".into()),
        }
    }
    if current.is_some() {
        return Err("unfinished multiline reply".into());
    }
    Ok(replies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multiline() {
        let r = Reply::new(550, Ecode::POL_DELIVERY_UNAUTH, "no\nway");
        assert_eq!(r.to_bytes(), b"550-5.7.1 no\r\n550 5.7.1 way\r\n");
        assert_eq!(Reply::plain(354, "go").to_bytes(), b"354 go\r\n");
        assert_eq!(r.to_string(), "550 5.7.1 no / way");
        assert_eq!(check_replies(&r.to_bytes()), Ok(1));
    }

    #[test]
    fn long_lines_are_wrapped() {
        let text = "word ".repeat(300);
        let bytes = Reply::new(451, Ecode::SYS_OTHER, text).to_bytes();
        assert!(check_replies(&bytes).is_ok());
        let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
        assert!(lines.len() >= 3);
        assert!(lines.iter().all(|l| l.len() <= 512));
    }

    #[test]
    fn control_characters_cannot_break_framing() {
        let bytes = Reply::new(550, Ecode::OTHER, "a\rb\0c").to_bytes();
        assert_eq!(bytes, b"550 5.0.0 a b c\r\n");
    }

    #[test]
    fn check_replies_finds_errors() {
        assert!(check_replies(b"250-a\r\n").is_err());
        assert!(check_replies(b"250-a\r\n251 b\r\n").is_err());
        assert!(check_replies(b"hello\r\n").is_err());
        assert_eq!(check_replies(b"250-a\r\n250 b\r\n221 bye\r\n"), Ok(2));
    }
}
