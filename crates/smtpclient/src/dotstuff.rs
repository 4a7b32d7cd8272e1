//! Streaming DATA encoding: dot-stuffing (RFC 5321 §4.5.2) and line-ending repair.

/// Encodes a message for the DATA command, chunk by chunk, without holding the whole message.
///
/// - A line starting with `.` gets another `.` in front (RFC 5321 §4.5.2), so the message
///   cannot end the DATA phase early.
/// - Bare LF and bare CR become CRLF. RFC 5321 §2.3.8 forbids them in SMTP; passing them on
///   lets servers that read line ends differently disagree about where the message ends
///   ("SMTP smuggling").
/// - [`finish`](DotStuffer::finish) ends the last line if needed and appends `.` CRLF.
///
/// ```
/// let mut stuffer = smtpclient::DotStuffer::new();
/// let mut out = Vec::new();
/// stuffer.encode(b"Subject: x\n\n.hidden\r\n", &mut out);
/// stuffer.encode(b"..end", &mut out);
/// stuffer.finish(&mut out);
/// assert_eq!(out, b"Subject: x\r\n\r\n..hidden\r\n...end\r\n.\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct DotStuffer {
    at_line_start: bool,
    pending_cr: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer::new()
    }
}

impl DotStuffer {
    /// A stuffer at the start of a message.
    pub fn new() -> DotStuffer {
        DotStuffer { at_line_start: true, pending_cr: false }
    }

    /// Appends the encoding of `input`, the next piece of the message, to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 64 + 2);
        let mut i = 0;
        while i < input.len() {
            if self.pending_cr {
                self.pending_cr = false;
                out.push(b'\n');
                self.at_line_start = true;
                if input[i] == b'\n' {
                    i += 1;
                    continue;
                }
            }
            if self.at_line_start {
                if input[i] == b'.' {
                    out.push(b'.');
                }
                self.at_line_start = false;
            }
            let rest = &input[i..];
            match memchr::memchr2(b'\r', b'\n', rest) {
                None => {
                    out.extend_from_slice(rest);
                    i = input.len();
                }
                Some(end) => {
                    out.extend_from_slice(&rest[..end]);
                    out.push(b'\r');
                    if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') {
                        // The common case, CRLF, in one step.
                        out.push(b'\n');
                        self.at_line_start = true;
                        i += end + 2;
                        continue;
                    }
                    if rest[end] == b'\n' {
                        out.push(b'\n');
                        self.at_line_start = true;
                    } else {
                        // CR: wait for the next byte to know whether it is CRLF or bare CR.
                        self.pending_cr = true;
                    }
                    i += end + 1;
                }
            }
        }
    }

    /// Ends the message: completes the last line and appends the `.` CRLF terminator.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr {
            out.push(b'\n');
        } else if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        *self = DotStuffer::new();
    }
}

/// The whole encoding of a message in one call.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 5);
    let mut stuffer = DotStuffer::new();
    stuffer.encode(message, &mut out);
    stuffer.finish(&mut out);
    out
}

/// Reverses [`dot_stuff`] for a message that already has CRLF line endings (test helper and
/// reference for the fuzz target): removes one leading dot per line and the terminator.
pub fn dot_unstuff(data: &[u8]) -> Option<Vec<u8>> {
    let body = data.strip_suffix(b".\r\n")?;
    let mut out = Vec::with_capacity(body.len());
    for line in body.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffing_and_terminator() {
        assert_eq!(dot_stuff(b""), b".\r\n");
        assert_eq!(dot_stuff(b"a"), b"a\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\r\n"), b"a\r\n.\r\n");
        assert_eq!(dot_stuff(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\r\n.\r\nb"), b"a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(dot_stuff(b"a.b\r\n"), b"a.b\r\n.\r\n");
    }

    #[test]
    fn bare_line_endings_become_crlf() {
        assert_eq!(dot_stuff(b"a\nb\rc\r\rd\r\n"), b"a\r\nb\r\nc\r\n\r\nd\r\n.\r\n");
        // The smuggling sequences cannot survive.
        assert_eq!(dot_stuff(b"x\n.\nMAIL FROM"), b"x\r\n..\r\nMAIL FROM\r\n.\r\n");
        assert_eq!(dot_stuff(b"x\r.\rMAIL FROM"), b"x\r\n..\r\nMAIL FROM\r\n.\r\n");
        assert_eq!(dot_stuff(b"x\r"), b"x\r\n.\r\n");
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let message = b"From: a\r\n.x\n..y\r\rz\r\n.\r\nend.\r\n.";
        let whole = dot_stuff(message);
        for split in 0..message.len() {
            for split2 in split..message.len() {
                let mut stuffer = DotStuffer::new();
                let mut out = Vec::new();
                stuffer.encode(&message[..split], &mut out);
                stuffer.encode(&message[split..split2], &mut out);
                stuffer.encode(&message[split2..], &mut out);
                stuffer.finish(&mut out);
                assert_eq!(out, whole, "split at {split}, {split2}");
            }
        }
    }

    #[test]
    fn unstuff_reverses_for_crlf_messages() {
        let message = b"a\r\n..b\r\n.\r\nc\r\n";
        assert_eq!(dot_unstuff(&dot_stuff(message)).unwrap(), message);
    }
}
