//! The mbox format, mboxrd flavour (RFC 4155 and the mboxrd convention), with the flag headers
//! mail programs keep in it (`Status`, `X-Status`, `X-Keywords`).
//!
//! A message starts at a `From sender date` line that follows an empty line (or starts the
//! file) and ends before the empty line that precedes the next one. In the message, lines
//! `>From `, `>>From `, ... lose one `>` (mboxrd unescaping); writing, every line matching
//! `>*From ` gains one, so any message survives the round trip.

use std::io::BufRead;
use std::path::Path;

use crate::types::{Flags, Keyword, LineEnding, SystemFlags, Timestamp};
use crate::{Error, time};

/// One message read from an mbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MboxMessage {
    /// The sender of the `From ` line.
    pub sender: String,
    /// The date of the `From ` line, if it could be parsed.
    pub date: Option<Timestamp>,
    /// The message, unescaped, without the separator line.
    pub data: Vec<u8>,
    /// Line number of the `From ` line.
    pub line: u64,
}

/// Reads messages one at a time; memory use is that of the largest message.
pub(crate) struct MboxReader<R> {
    r: R,
    path: std::path::PathBuf,
    line: u64,
    /// The `From ` line of the next message, once read.
    next_from: Option<(Vec<u8>, u64)>,
    started: bool,
    bytes_read: u64,
}

impl<R: BufRead> MboxReader<R> {
    pub(crate) fn new(r: R, path: &Path) -> MboxReader<R> {
        MboxReader {
            r,
            path: path.to_path_buf(),
            line: 0,
            next_from: None,
            started: false,
            bytes_read: 0,
        }
    }

    /// Bytes consumed from the input so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    fn read_line(&mut self, buf: &mut Vec<u8>) -> Result<bool, Error> {
        buf.clear();
        let n = self.r.read_until(b'\n', buf).map_err(Error::io(&self.path, "read mbox"))?;
        self.bytes_read += n as u64;
        if n > 0 {
            self.line += 1;
        }
        Ok(n > 0)
    }

    /// The next message, or `None` at the end.
    pub(crate) fn next_message(&mut self) -> Result<Option<MboxMessage>, Error> {
        let mut line = Vec::new();
        if !self.started {
            self.started = true;
            if !self.read_line(&mut line)? {
                return Ok(None);
            }
            if !line.starts_with(b"From ") {
                return Err(Error::Import {
                    path: self.path.clone(),
                    line: 1,
                    reason: "mbox does not start with a \"From \" line",
                });
            }
            self.next_from = Some((line.clone(), self.line));
        }
        let Some((from, from_line)) = self.next_from.take() else { return Ok(None) };
        let mut data = Vec::new();
        let mut last_line_start = 0;
        let mut prev_empty = false;
        while self.read_line(&mut line)? {
            if prev_empty && line.starts_with(b"From ") {
                self.next_from = Some((line.clone(), self.line));
                break;
            }
            prev_empty = line == b"\n" || line == b"\r\n";
            last_line_start = data.len();
            let gt = line.iter().take_while(|&&c| c == b'>').count();
            if gt > 0 && line[gt..].starts_with(b"From ") {
                data.extend_from_slice(&line[1..]);
            } else {
                data.extend_from_slice(&line);
            }
        }
        // The empty line before the next "From " line (or at the end of the file) separates
        // messages; it is not part of the message.
        if matches!(&data[last_line_start..], b"\n" | b"\r\n") {
            data.truncate(last_line_start);
        }
        let from = String::from_utf8_lossy(&from);
        let rest = from.trim_end().strip_prefix("From ").unwrap_or_default().trim_start();
        let (sender, date) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        Ok(Some(MboxMessage {
            sender: sender.to_string(),
            date: time::parse_from_line_date(date),
            data,
            line: from_line,
        }))
    }
}

/// Flags found in the mbox flag headers of a message.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct HeaderFlags {
    pub flags: Flags,
    /// Keywords in `X-Keywords` that are not valid IMAP keywords, skipped.
    pub invalid_keywords: usize,
}

/// Takes the flag headers out of a message's header section: `Status` (`R`: seen), `X-Status`
/// (`A`nswered, `F`lagged, `T` draft, `D`eleted) and `X-Keywords` (keywords separated by spaces
/// or commas). They are mbox bookkeeping rather than message content (Dovecot hides them too),
/// and export writes them anew from the flags.
pub(crate) fn take_flag_headers(data: &mut Vec<u8>) -> HeaderFlags {
    let mut out = HeaderFlags::default();
    let mut ranges = Vec::new();
    {
        let header = message::Header::parse(data);
        for field in header.iter() {
            // Only well-formed fields: a field the parser leniently built from malformed lines
            // (such as a leading indented line) stays in the message untouched.
            if !starts_field(field.raw(), field.name()) {
                continue;
            }
            let value = field.value();
            if field.is("Status") {
                if value.contains('R') {
                    out.flags.system.insert(SystemFlags::SEEN);
                }
            } else if field.is("X-Status") {
                for (c, f) in [
                    ('A', SystemFlags::ANSWERED),
                    ('F', SystemFlags::FLAGGED),
                    ('T', SystemFlags::DRAFT),
                    ('D', SystemFlags::DELETED),
                ] {
                    if value.contains(c) {
                        out.flags.system.insert(f);
                    }
                }
            } else if field.is("X-Keywords") {
                for word in
                    value.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty())
                {
                    match Keyword::new(word) {
                        Ok(k) if !out.flags.keywords.contains(&k) => out.flags.keywords.push(k),
                        Ok(_) => {}
                        Err(_) => out.invalid_keywords += 1,
                    }
                }
            } else {
                continue;
            }
            ranges.push(field.offset()..field.offset() + field.raw().len());
        }
    }
    for r in ranges.into_iter().rev() {
        data.drain(r);
    }
    out
}

/// Converts a message to how it is stored: CRLF line endings. A message with bare LF line
/// endings only is converted, and reported as [`LineEnding::Lf`] so export can convert it back
/// exactly. A message with CRLF endings is kept as is; if it also has bare LFs, those become
/// CRLF (the one case export cannot undo), reported by the `bool`.
pub(crate) fn to_stored(data: Vec<u8>) -> (Vec<u8>, LineEnding, bool) {
    let lf = memchr::memchr_iter(b'\n', &data).count();
    if lf == 0 {
        return (data, LineEnding::Crlf, false);
    }
    let crlf = memchr::memmem::find_iter(&data, b"\r\n").count();
    if crlf == lf {
        return (data, LineEnding::Crlf, false);
    }
    // Copied a line at a time (byte by byte was 9% of an import's CPU time).
    let mut out = Vec::with_capacity(data.len() + lf - crlf);
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', &data) {
        if i == 0 || data[i - 1] != b'\r' {
            out.extend_from_slice(&data[start..i]);
            out.extend_from_slice(b"\r\n");
            start = i + 1;
        }
    }
    out.extend_from_slice(&data[start..]);
    if crlf == 0 { (out, LineEnding::Lf, false) } else { (out, LineEnding::Crlf, true) }
}

/// Converts a stored message back to the line endings it came with.
pub(crate) fn from_stored(data: &[u8], line_ending: LineEnding) -> std::borrow::Cow<'_, [u8]> {
    if line_ending == LineEnding::Crlf || memchr::memmem::find(data, b"\r\n").is_none() {
        return std::borrow::Cow::Borrowed(data);
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\r' && data.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// Appends one message to an mbox: the `From ` line, the message (in its original line
/// endings) with the flag headers added at the end of its header section, every `>*From ` line
/// escaped, a line ending if the message lacks a final one, and the separating empty line.
pub(crate) fn write_message(
    out: &mut Vec<u8>,
    sender: &str,
    received: Timestamp,
    flags: &Flags,
    data: &[u8],
    line_ending: LineEnding,
) {
    let eol: &[u8] = if line_ending == LineEnding::Lf { b"\n" } else { b"\r\n" };
    let sender = if sender.is_empty() || sender.contains(char::is_whitespace) {
        "MAILER-DAEMON"
    } else {
        sender
    };
    out.extend_from_slice(format!("From {sender} {}\n", time::format_asctime(received)).as_bytes());

    let mut flag_headers = Vec::new();
    if flags.system.contains(SystemFlags::SEEN) {
        flag_headers.extend_from_slice(b"Status: R");
        flag_headers.extend_from_slice(eol);
    }
    let xstatus: String = [
        ('A', SystemFlags::ANSWERED),
        ('F', SystemFlags::FLAGGED),
        ('T', SystemFlags::DRAFT),
        ('D', SystemFlags::DELETED),
    ]
    .iter()
    .filter(|(_, f)| flags.system.contains(*f))
    .map(|(c, _)| *c)
    .collect();
    if !xstatus.is_empty() {
        flag_headers.extend_from_slice(format!("X-Status: {xstatus}").as_bytes());
        flag_headers.extend_from_slice(eol);
    }
    if !flags.keywords.is_empty() {
        let kws: Vec<&str> = flags.keywords.iter().map(Keyword::as_str).collect();
        // Comma-separated, as mox writes them: mox v0.0.17's import splits on commas only (a
        // space-separated list reaches it as one invalid keyword, and is dropped).
        flag_headers.extend_from_slice(format!("X-Keywords: {}", kws.join(",")).as_bytes());
        flag_headers.extend_from_slice(eol);
    }
    let split = match flag_headers_position(data) {
        Some(split) => split,
        None => {
            flag_headers.clear();
            0
        }
    };

    let start = out.len();
    write_escaped(out, &data[..split]);
    out.extend_from_slice(&flag_headers);
    write_escaped(out, &data[split..]);
    if out.len() > start && out.last() != Some(&b'\n') {
        out.extend_from_slice(eol);
    }
    out.push(b'\n');
}

/// Where flag header fields can go in a message: at the end of its header section, where mail
/// programs put them, or at the top if the last field has no line ending to follow. `None` for
/// a message starting with an indented line, which would fold into a field put before it: such a
/// message is written without flags.
pub(crate) fn flag_headers_position(data: &[u8]) -> Option<usize> {
    let end = message::Header::parse(data).fields_end();
    let split = if end > 0 && data[end - 1] == b'\n' { end } else { 0 };
    if split == 0 && matches!(data.first(), Some(b' ' | b'\t')) {
        return None;
    }
    Some(split)
}

/// Whether a field's raw bytes start with its name and a colon (after optional blanks).
fn starts_field(raw: &[u8], name: &str) -> bool {
    raw.len() > name.len()
        && raw[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        && raw[name.len()..].iter().find(|c| !matches!(c, b' ' | b'\t')) == Some(&b':')
}

fn write_escaped(out: &mut Vec<u8>, data: &[u8]) {
    for line in data.split_inclusive(|&c| c == b'\n') {
        let gt = line.iter().take_while(|&&c| c == b'>').count();
        if line[gt..].starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(mbox: &[u8]) -> Vec<MboxMessage> {
        let mut r = MboxReader::new(mbox, Path::new("test.mbox"));
        std::iter::from_fn(|| r.next_message().unwrap()).collect()
    }

    #[test]
    fn reads_and_unescapes() {
        let mbox = b"From a@example.org Mon Nov 24 18:22:48 1986\n\
Subject: one\n\nHello\n\
From the start\n>From here\n>>From there\nnot From\n\n\
From b@example.org Mon Nov 24 18:22:49 1986\n\
Subject: two\n\nbody\n\n\n";
        let msgs = read_all(mbox);
        assert_eq!(msgs.len(), 2, "an unescaped From line not after an empty line is content");
        assert_eq!(msgs[0].sender, "a@example.org");
        assert_eq!(msgs[0].date, Some(Timestamp::from_unix(533_240_568)));
        assert_eq!(
            msgs[0].data,
            b"Subject: one\n\nHello\nFrom the start\nFrom here\n>From there\nnot From\n"
        );
        assert_eq!(msgs[1].data, b"Subject: two\n\nbody\n\n", "only the separator line is dropped");
        assert_eq!(msgs[1].line, 10);
        assert!(read_all(b"").is_empty());
        let mut r = MboxReader::new(&b"Subject: x\n"[..], Path::new("x"));
        assert!(matches!(r.next_message(), Err(Error::Import { line: 1, .. })));
    }

    #[test]
    fn write_then_read_is_identity() {
        let messages: Vec<(&[u8], LineEnding)> = vec![
            (b"Subject: lf\n\nFrom me\n>From you\n\n", LineEnding::Lf),
            (b"Subject: crlf\r\n\r\nFrom me\r\n\r\n>>From x\r\n", LineEnding::Crlf),
            (b"Subject: 8bit \xe9\xff\n\nno final newline\n", LineEnding::Lf),
        ];
        let mut flags = Flags::parse(["\\Seen", "\\Flagged", "$Label1"]).unwrap();
        let mut out = Vec::new();
        for (m, le) in &messages {
            write_message(
                &mut out,
                "s@example.org",
                Timestamp::from_unix(533_240_568),
                &flags,
                m,
                *le,
            );
            flags = Flags::default();
        }
        let read = read_all(&out);
        assert_eq!(read.len(), 3);
        let mut data0 = read[0].data.clone();
        let hf = take_flag_headers(&mut data0);
        assert_eq!(hf.flags, Flags::parse(["\\Seen", "\\Flagged", "$Label1"]).unwrap());
        assert_eq!(data0, messages[0].0);
        for i in 1..3 {
            assert_eq!(read[i].data, messages[i].0);
            assert_eq!(read[i].sender, "s@example.org");
        }
    }

    #[test]
    fn keywords_are_written_comma_separated_as_mox_reads_them() {
        let flags = Flags::parse(["\\Seen", "$Forwarded", "project-x"]).unwrap();
        let mut out = Vec::new();
        let received = Timestamp::from_unix(533_240_568);
        write_message(
            &mut out,
            "s@example.org",
            received,
            &flags,
            b"Subject: s\n\nx\n",
            LineEnding::Lf,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\nStatus: R\nX-Keywords: $Forwarded,project-x\n"), "{text}");
    }

    #[test]
    fn flag_headers() {
        let mut m = b"From: x\nStatus: RO\nX-Status: AF\nX-Keywords: $Junk, work bad(kw\nSubject: s\n\nStatus: R\n".to_vec();
        let hf = take_flag_headers(&mut m);
        assert_eq!(
            hf.flags,
            Flags::parse(["\\Seen", "\\Answered", "\\Flagged", "$Junk", "work"]).unwrap()
        );
        assert_eq!(hf.invalid_keywords, 1);
        assert_eq!(m, b"From: x\nSubject: s\n\nStatus: R\n", "only header fields are taken");
    }

    #[test]
    fn line_endings() {
        assert_eq!(to_stored(b"a\nb\n".to_vec()), (b"a\r\nb\r\n".to_vec(), LineEnding::Lf, false));
        assert_eq!(
            to_stored(b"a\r\nb\r\n".to_vec()),
            (b"a\r\nb\r\n".to_vec(), LineEnding::Crlf, false)
        );
        assert_eq!(
            to_stored(b"a\r\nb\n".to_vec()),
            (b"a\r\nb\r\n".to_vec(), LineEnding::Crlf, true)
        );
        assert_eq!(to_stored(b"a\rb".to_vec()), (b"a\rb".to_vec(), LineEnding::Crlf, false));
        assert_eq!(
            to_stored(b"\n\r\n\r\r\n\n\rx\n".to_vec()),
            (b"\r\n\r\n\r\r\n\r\n\rx\r\n".to_vec(), LineEnding::Crlf, true)
        );
        assert_eq!(to_stored(b"\n".to_vec()).0, b"\r\n");
        for m in [&b"a\nb\rc\n"[..], b"x", b"\n\n", b"a\r\rb\n"] {
            let (s, le, _) = to_stored(m.to_vec());
            assert_eq!(from_stored(&s, le), m);
        }
    }
}
