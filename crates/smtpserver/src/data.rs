//! Message data: the DATA decoder (dot-unstuffing, end-of-data, SMTP smuggling checks) and
//! the buffer a message is collected in.
//!
//! RFC 5321 §4.1.1.4: message data ends with `<CRLF>.<CRLF>`, and a line starting with a dot
//! has one dot removed (§4.5.2). Only that exact sequence ends the data: a bare LF or bare CR
//! never does, so an attacker cannot smuggle a second message past a server that reads line
//! endings differently from the next hop ("SMTP smuggling", CVE-2023-51764 and relatives).
//! As mox does, we reject messages with a bare CR anywhere, and with a bare LF next to a
//! dot-line (`<CRLF>.<LF>`, `<LF>.<LF>`, `<LF>.<CRLF>`), once the real end of data has
//! been seen, so the session stays in sync. Other bare LFs are accepted and written as CRLF.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::PathBuf;

/// What the DATA decoder found once the data ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataSummary {
    /// Decoded message size (after unstuffing and LF to CRLF).
    pub size: u64,
    /// The decoded message was larger than the limit; bytes past it were discarded.
    pub too_large: bool,
    /// A bare CR, or a bare LF around a dot line: possible smuggling.
    pub bad_line_ending: bool,
    /// Some bare LFs were turned into CRLF.
    pub bare_lf: bool,
    /// Some bytes had the high bit set.
    pub has_8bit: bool,
    /// The message has an empty line separating header and body.
    pub has_body: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line (the previous one ended with CRLF), or at the very start.
    LineStart,
    /// At the start of a line after a bare LF.
    AfterBareLf,
    /// `.` seen at `LineStart`.
    Dot,
    /// `.<CR>` seen at `LineStart`.
    DotCr,
    /// `.` seen at `AfterBareLf`.
    BareLfDot,
    /// Within a line.
    Mid,
    /// A CR within a line, waiting for LF.
    Cr,
}

/// Decodes DATA: feed bytes with [`DataDecoder::decode`] until it reports the end.
#[derive(Debug)]
pub struct DataDecoder {
    state: State,
    max_size: u64,
    summary: DataSummary,
    /// Tracks the header/body separator: number of consecutive line ends at line start.
    header_state: u8,
}

impl DataDecoder {
    /// A decoder that keeps at most `max_size` octets of decoded message.
    pub fn new(max_size: u64) -> DataDecoder {
        DataDecoder {
            state: State::LineStart,
            max_size,
            summary: DataSummary::default(),
            header_state: 1,
        }
    }

    /// Decodes from `input` into `out`; returns how many input bytes were consumed, and the
    /// summary when `<CRLF>.<CRLF>` was reached (the bytes after it are not consumed).
    pub fn decode(&mut self, input: &[u8], out: &mut MessageData) -> (usize, Option<DataSummary>) {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Mid => {
                    // Fast path: copy up to the next CR or LF.
                    let rest = &input[i..];
                    let n = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
                    if rest.get(n) == Some(&b'\r') && rest.get(n + 1) == Some(&b'\n') {
                        // The common case, a whole line ending in CRLF: one append.
                        self.emit_line(&rest[..n + 2], out);
                        i += n + 2;
                        self.state = State::LineStart;
                        continue;
                    }
                    if n > 0 {
                        self.emit(&rest[..n], out);
                        i += n;
                        continue;
                    }
                    let b = input[i];
                    i += 1;
                    if b == b'\r' {
                        self.state = State::Cr;
                    } else {
                        // Bare LF: accepted, written as CRLF.
                        self.summary.bare_lf = true;
                        self.line_end(out);
                        self.state = State::AfterBareLf;
                    }
                }
                State::Cr => {
                    let b = input[i];
                    if b == b'\n' {
                        i += 1;
                        self.line_end(out);
                        self.state = State::LineStart;
                    } else {
                        // Bare CR: the byte is processed again in Mid.
                        self.summary.bad_line_ending = true;
                        self.emit(b"\r", out);
                        self.state = State::Mid;
                    }
                }
                State::LineStart => {
                    let b = input[i];
                    if b == b'.' {
                        i += 1;
                        self.state = State::Dot;
                    } else {
                        self.state = State::Mid;
                    }
                }
                State::AfterBareLf => {
                    let b = input[i];
                    if b == b'.' {
                        i += 1;
                        self.state = State::BareLfDot;
                    } else {
                        self.state = State::Mid;
                    }
                }
                State::Dot => {
                    let b = input[i];
                    match b {
                        b'\r' => {
                            i += 1;
                            self.state = State::DotCr;
                        }
                        b'\n' => {
                            // <CRLF>.<LF>: not an end of data, and a smuggling attempt.
                            self.summary.bad_line_ending = true;
                            self.state = State::Mid;
                        }
                        _ => {
                            // A stuffed dot: dropped; the byte is processed again in Mid.
                            self.state = State::Mid;
                        }
                    }
                }
                State::DotCr => {
                    let b = input[i];
                    if b == b'\n' {
                        i += 1;
                        self.state = State::LineStart;
                        return (i, Some(self.summary));
                    }
                    // <CRLF>.<CR> followed by something else: bare CR after a stuffed dot.
                    self.summary.bad_line_ending = true;
                    self.emit(b"\r", out);
                    self.state = State::Mid;
                }
                State::BareLfDot => {
                    let b = input[i];
                    if b == b'\r' || b == b'\n' {
                        // <LF>.<CR> or <LF>.<LF>: what another server could take as the end.
                        self.summary.bad_line_ending = true;
                    }
                    self.emit(b".", out);
                    self.state = State::Mid;
                }
            }
        }
        (i, None)
    }

    /// The summary so far (for logging an aborted transfer).
    pub fn summary(&self) -> DataSummary {
        self.summary
    }

    fn emit(&mut self, bytes: &[u8], out: &mut MessageData) {
        self.note_text(bytes);
        self.keep(bytes, out);
    }

    /// A line with its CRLF: the same as [`DataDecoder::emit`] of its text followed by
    /// [`DataDecoder::line_end`], in one append.
    fn emit_line(&mut self, line: &[u8], out: &mut MessageData) {
        self.note_text(&line[..line.len() - 2]);
        self.note_line_end();
        self.keep(line, out);
    }

    fn line_end(&mut self, out: &mut MessageData) {
        self.note_line_end();
        self.keep(b"\r\n", out);
    }

    /// Records what text within a line tells about the message.
    fn note_text(&mut self, text: &[u8]) {
        if !text.is_empty() {
            self.header_state = 0;
        }
        if !self.summary.has_8bit && text.iter().any(|&b| b >= 0x80) {
            self.summary.has_8bit = true;
        }
    }

    /// Records a line end: an empty line (two line ends in a row, or one at the very start)
    /// ends the header.
    fn note_line_end(&mut self) {
        if !self.summary.has_body {
            if self.header_state > 0 {
                self.summary.has_body = true;
            }
            self.header_state = 1;
        }
    }

    /// Counts decoded bytes, and keeps them while the message is within its size limit.
    fn keep(&mut self, bytes: &[u8], out: &mut MessageData) {
        self.summary.size += bytes.len() as u64;
        if self.summary.size > self.max_size {
            self.summary.too_large = true;
            return;
        }
        out.append(bytes);
    }
}

/// What a message buffer reserves at its first append.
const INITIAL_CAPACITY: usize = 32 * 1024;

/// Where a message is collected while it arrives: in memory up to a threshold, then in an
/// anonymous temporary file, so a thousand slow 100 MB transfers cannot exhaust memory.
#[derive(Debug)]
pub struct MessageData {
    memory: Vec<u8>,
    file: Option<BufWriter<File>>,
    len: u64,
    spill_threshold: usize,
    spool_dir: Option<PathBuf>,
    error: Option<io::Error>,
}

impl MessageData {
    /// An empty message kept in memory up to `spill_threshold` octets, then in a temporary
    /// file in `spool_dir` (the system temporary directory for `None`).
    pub fn new(spill_threshold: usize, spool_dir: Option<PathBuf>) -> MessageData {
        MessageData {
            memory: Vec::new(),
            file: None,
            len: 0,
            spill_threshold,
            spool_dir,
            error: None,
        }
    }

    /// A message from bytes in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> MessageData {
        let len = bytes.len() as u64;
        MessageData {
            memory: bytes,
            file: None,
            len,
            spill_threshold: usize::MAX,
            spool_dir: None,
            error: None,
        }
    }

    /// Appends bytes. A write error is kept and returned by [`MessageData::into_bytes`].
    pub fn append(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.error.is_some() {
            return;
        }
        if let Some(file) = &mut self.file {
            if let Err(e) = file.write_all(bytes) {
                self.error = Some(e);
            }
            return;
        }
        if self.memory.len() + bytes.len() <= self.spill_threshold {
            if self.memory.capacity() == 0 {
                // Most messages are tens of KB: start there rather than doubling up from 8.
                self.memory.reserve(INITIAL_CAPACITY.min(self.spill_threshold).max(bytes.len()));
            }
            self.memory.extend_from_slice(bytes);
            return;
        }
        let created = match &self.spool_dir {
            Some(dir) => tempfile::tempfile_in(dir),
            None => tempfile::tempfile(),
        };
        match created {
            Ok(file) => {
                let mut w = BufWriter::with_capacity(64 * 1024, file);
                let result = w.write_all(&self.memory).and_then(|()| w.write_all(bytes));
                self.memory = Vec::new();
                self.file = Some(w);
                if let Err(e) = result {
                    self.error = Some(e);
                }
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Bytes appended so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the message went to a temporary file.
    pub fn is_spilled(&self) -> bool {
        self.file.is_some()
    }

    /// The message bytes (read back from the temporary file if it spilled).
    pub fn into_bytes(self) -> io::Result<Vec<u8>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.file {
            None => Ok(self.memory),
            Some(w) => {
                let mut file = w.into_inner().map_err(|e| e.into_error())?;
                file.rewind()?;
                let mut buf = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
                file.read_to_end(&mut buf)?;
                Ok(buf)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(chunks: &[&[u8]], max: u64) -> (Vec<u8>, Option<DataSummary>, Vec<u8>) {
        let mut d = DataDecoder::new(max);
        let mut out = MessageData::from_bytes(Vec::new());
        let mut rest = Vec::new();
        let mut summary = None;
        for chunk in chunks {
            if summary.is_some() {
                rest.extend_from_slice(chunk);
                continue;
            }
            let (n, s) = d.decode(chunk, &mut out);
            if s.is_some() {
                summary = s;
                rest.extend_from_slice(&chunk[n..]);
            } else {
                assert_eq!(n, chunk.len());
            }
        }
        (out.into_bytes().unwrap(), summary, rest)
    }

    fn one(input: &[u8]) -> (Vec<u8>, DataSummary) {
        let (out, s, rest) = decode_all(&[input], 1 << 20);
        assert!(rest.is_empty(), "rest {rest:?}");
        (out, s.expect("end of data"))
    }

    #[test]
    fn plain_message_and_unstuffing() {
        let (out, s) = one(b"Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\n");
        assert_eq!(out, b"Subject: x\r\n\r\n.dot\r\nbody\r\n");
        assert!(s.has_body && !s.bad_line_ending && !s.bare_lf && !s.has_8bit);
        assert_eq!(s.size, out.len() as u64);
    }

    #[test]
    fn empty_message() {
        let (out, s) = one(b".\r\n");
        assert!(out.is_empty());
        assert!(!s.has_body);
    }

    #[test]
    fn end_split_over_chunks_at_every_position() {
        let msg: &[u8] = b"a: b\r\n\r\nline\r\n..x\r\n.\r\nMAIL FROM:<>\r\n";
        for split in 0..msg.len() {
            let (out, s, rest) = decode_all(&[&msg[..split], &msg[split..]], 1 << 20);
            assert_eq!(out, b"a: b\r\n\r\nline\r\n.x\r\n", "split {split}");
            assert!(s.is_some());
            assert_eq!(rest, b"MAIL FROM:<>\r\n");
        }
    }

    #[test]
    fn bare_lf_never_ends_data() {
        // Each of these carries a fake end that a lenient server could take; the real end
        // follows, the message is decoded up to it and flagged.
        for fake in [&b"\n.\n"[..], b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r"] {
            let mut msg = b"Subject: a\r\n\r\nx".to_vec();
            msg.extend_from_slice(fake);
            msg.extend_from_slice(b"MAIL FROM:<evil@example>\r\n.\r\n");
            let (out, s) = one(&msg);
            assert!(s.bad_line_ending, "{fake:?} not flagged");
            assert!(out.ends_with(b"MAIL FROM:<evil@example>\r\n"), "{fake:?}: {out:?}");
        }
    }

    #[test]
    fn whole_lines_decode_as_byte_by_byte() {
        // Whole CRLF lines take the one-append path; fed a byte at a time, the decoder never
        // sees a whole line. Both must give the same message and summary, also at the size
        // limit.
        let inputs: [&[u8]; 6] = [
            b"Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\n",
            b"\r\n\r\nbody first\r\n.\r\n",
            "Subject: gr\u{fc}\u{df}e\r\nA: b\r\n\r\n\u{e9}\r\n\r\n.\r\n".as_bytes(),
            b"a\nb\r\n\n.\r\n\r\nc\r\n.\r\n",
            b"a\rb\r\n.x\r\n\r.\r\n.\r\n",
            b"0123456789\r\n0123456789\r\n0123\r\n.\r\n",
        ];
        for input in inputs {
            for max in [1 << 20, 11, 12, 13, 24, 25] {
                let whole = decode_all(&[input], max);
                let bytes: Vec<&[u8]> = input.chunks(1).collect();
                let split = decode_all(&bytes, max);
                if whole.1.is_some_and(|s| s.too_large) {
                    assert_eq!(whole.1, split.1, "{input:?} max {max}");
                    assert!(whole.0.len() as u64 <= max && split.0.len() as u64 <= max);
                } else {
                    assert_eq!(whole, split, "{input:?} max {max}");
                }
            }
        }
    }

    #[test]
    fn bare_cr_is_flagged() {
        let (_, s) = one(b"a\rb\r\n.\r\n");
        assert!(s.bad_line_ending);
    }

    #[test]
    fn bare_lf_is_fixed() {
        let (out, s) = one(b"Subject: a\n\nbody\r\n.\r\n");
        assert_eq!(out, b"Subject: a\r\n\r\nbody\r\n");
        assert!(s.bare_lf && !s.bad_line_ending && s.has_body);
    }

    #[test]
    fn size_limit_keeps_sync() {
        let (out, s, rest) = decode_all(&[b"0123456789\r\n0123456789\r\n.\r\nQUIT\r\n"], 15);
        let s = s.unwrap();
        assert!(s.too_large);
        assert!(out.len() <= 15);
        assert_eq!(rest, b"QUIT\r\n");
    }

    #[test]
    fn eight_bit() {
        let (_, s) = one("Subject: grüße\r\n\r\n.\r\n".as_bytes());
        assert!(s.has_8bit);
    }

    #[test]
    fn spills_to_file() {
        let mut m = MessageData::new(10, None);
        m.append(b"0123456789");
        assert!(!m.is_spilled());
        m.append(b"abc");
        assert!(m.is_spilled());
        m.append(b"def");
        assert_eq!(m.len(), 16);
        assert_eq!(m.into_bytes().unwrap(), b"0123456789abcdef");
    }
}
