//! Canonicalization of header fields and bodies (RFC 6376 §3.4).
//!
//! Messages are canonicalized as they travel over SMTP: a bare LF (as in files with Unix line
//! endings) counts as CRLF, a lone CR is data. The body canonicalizer is a streaming state
//! machine: it takes the body in chunks of any size and passes the canonical form on to a
//! [`Sink`] (a hash), copying nothing in the common case. Where the canonical form equals the
//! input (every CRLF line of a `simple` body, clean lines of a `relaxed` body) whole runs of
//! lines go to the sink as one slice of the input.

use crate::signature::Canon;

/// Where canonical bytes go: a hash context, or a `Vec` in tests.
pub trait Sink {
    /// Takes the next canonical bytes.
    fn write(&mut self, data: &[u8]);
}

impl Sink for Vec<u8> {
    fn write(&mut self, data: &[u8]) {
        self.extend_from_slice(data);
    }
}

impl Sink for ring::digest::Context {
    fn write(&mut self, data: &[u8]) {
        self.update(data);
    }
}

/// A SHA-256 hash being computed (ring's context, which has no `Debug`).
pub(crate) struct Sha256(ring::digest::Context);

impl Sha256 {
    pub(crate) fn new() -> Sha256 {
        Sha256(ring::digest::Context::new(&ring::digest::SHA256))
    }

    pub(crate) fn finish(self) -> ring::digest::Digest {
        self.0.finish()
    }
}

impl Sink for Sha256 {
    fn write(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sha256")
    }
}

/// Canonicalizes a whole body at once; see [`BodyCanonicalizer`].
///
/// ```
/// use dkim::{Canon, canonicalize_body};
/// assert_eq!(canonicalize_body(Canon::Simple, b"Hi  there \r\n\r\n\r\n"), b"Hi  there \r\n");
/// assert_eq!(canonicalize_body(Canon::Relaxed, b"Hi \t there \r\n\r\n"), b"Hi there\r\n");
/// assert_eq!(canonicalize_body(Canon::Simple, b""), b"\r\n");
/// assert_eq!(canonicalize_body(Canon::Relaxed, b""), b"");
/// assert_eq!(canonicalize_body(Canon::Relaxed, b"bare\nLF"), b"bare\r\nLF\r\n");
/// ```
pub fn canonicalize_body(canon: Canon, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 2);
    let mut c = BodyCanonicalizer::new(canon);
    c.update(body, &mut out);
    c.finish(&mut out);
    out
}

/// Canonicalizes one raw header field (name, colon, value with folding, line ending) the way it
/// is hashed (RFC 6376 §3.4.1, §3.4.2), ending in CRLF.
///
/// ```
/// use dkim::{Canon, canonicalize_header};
/// let raw = b"SubJect :  Hello\r\n \t World \r\n";
/// assert_eq!(canonicalize_header(Canon::Relaxed, raw), b"subject:Hello World\r\n");
/// assert_eq!(canonicalize_header(Canon::Simple, raw), raw);
/// ```
pub fn canonicalize_header(canon: Canon, raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 2);
    header_into(canon, raw, true, &mut out);
    out
}

/// Appends the canonical form of a raw header field to `out`, with a final CRLF if `crlf`
/// (the DKIM-Signature field being signed or verified is hashed without one, §3.7).
pub(crate) fn header_into(canon: Canon, raw: &[u8], crlf: bool, out: &mut Vec<u8>) {
    out.reserve(raw.len() + 2);
    match canon {
        Canon::Simple => {
            // As on the wire: bare LF becomes CRLF.
            let body = strip_line_ending(raw);
            let mut start = 0;
            for i in memchr::memchr_iter(b'\n', body) {
                if i == 0 || body[i - 1] != b'\r' {
                    out.extend_from_slice(&body[start..i]);
                    out.push(b'\r');
                    start = i;
                }
            }
            out.extend_from_slice(&body[start..]);
        }
        Canon::Relaxed => {
            let colon = memchr::memchr(b':', raw).unwrap_or(raw.len());
            let name = trim_wsp_end(&raw[..colon]);
            out.extend(name.iter().map(u8::to_ascii_lowercase));
            out.push(b':');
            let value = raw.get(colon + 1..).unwrap_or_default();
            // Unfold (drop CR LF and bare LF), turn WSP runs into one SP, trim both ends. Runs
            // of other bytes are copied whole.
            let mut wsp = false;
            let mut started = false;
            let mut i = 0;
            while i < value.len() {
                let run = i;
                // Eight bytes at a time while none is a control byte or space.
                while let Some(w) = crate::swar::word_at(value, i) {
                    if crate::swar::has_below(w, 0x21) {
                        break;
                    }
                    i += 8;
                }
                while i < value.len() && !matches!(value[i], b' ' | b'\t' | b'\r' | b'\n') {
                    i += 1;
                }
                // A lone CR (not before LF) is content too.
                let lone_cr = value.get(i) == Some(&b'\r') && value.get(i + 1) != Some(&b'\n');
                let end = i + usize::from(lone_cr);
                if end > run {
                    if wsp && started {
                        out.push(b' ');
                    }
                    wsp = false;
                    started = true;
                    out.extend_from_slice(&value[run..end]);
                    if lone_cr {
                        i += 1;
                        continue;
                    }
                }
                match value.get(i) {
                    Some(b' ' | b'\t') => wsp = true,
                    Some(_) => {} // CR before LF, or LF: unfolding.
                    None => break,
                }
                i += 1;
            }
        }
    }
    if crlf {
        out.extend_from_slice(b"\r\n");
    }
}

fn strip_line_ending(raw: &[u8]) -> &[u8] {
    raw.strip_suffix(b"\r\n").or_else(|| raw.strip_suffix(b"\n")).unwrap_or(raw)
}

fn trim_wsp_end(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// Streaming body canonicalization (RFC 6376 §3.4.3, §3.4.4).
///
/// - `simple`: the body as is, but trailing empty lines removed and exactly one CRLF at the
///   end (an empty body becomes CRLF).
/// - `relaxed`: also whitespace at line ends removed and runs of WSP made one SP; an empty
///   body stays empty.
///
/// Feed the body with [`update`](Self::update) in chunks of any size, then call
/// [`finish`](Self::finish). Memory use is constant: trailing empty lines are counted, not
/// buffered.
///
/// One case differs from dkimpy and Go mox: whitespace at the end of a last line that has no
/// line ending is removed in `relaxed` mode (RFC 6376 §3.4.4 a), as it is when the same message
/// is sent over SMTP, which adds the missing CRLF; those two keep one space.
#[derive(Debug, Clone)]
pub struct BodyCanonicalizer {
    canon: Canon,
    /// Line endings seen after the last content, not yet written: they are dropped if nothing
    /// but empty lines follow.
    pending_crlf: u64,
    /// The last chunk ended in CR: a line ending if the next chunk starts with LF.
    pending_cr: bool,
    /// A line begun in an earlier chunk (or by a lone CR) is not finished yet.
    mid_line: bool,
    /// The current line has content written already.
    line_has_content: bool,
    /// Relaxed: whitespace seen in the current line after its last content.
    pending_wsp: bool,
    /// Anything but line endings was written (relaxed: an empty body stays empty).
    any_content: bool,
    /// Reused buffer for a line being rewritten.
    scratch: Vec<u8>,
}

impl BodyCanonicalizer {
    /// A canonicalizer at the start of a body.
    pub fn new(canon: Canon) -> BodyCanonicalizer {
        BodyCanonicalizer {
            canon,
            pending_crlf: 0,
            pending_cr: false,
            mid_line: false,
            line_has_content: false,
            pending_wsp: false,
            any_content: false,
            scratch: Vec::new(),
        }
    }

    /// Canonicalizes the next part of the body into `sink`.
    pub fn update(&mut self, chunk: &[u8], sink: &mut impl Sink) {
        let mut i = 0;
        if self.pending_cr {
            self.pending_cr = false;
            if chunk.first() == Some(&b'\n') {
                self.end_line();
                i = 1;
            } else {
                self.part(b"\r", sink);
            }
        }
        if self.mid_line {
            // Finish the line begun earlier, on the careful path.
            match memchr::memchr(b'\n', &chunk[i..]) {
                Some(p) => {
                    let line = &chunk[i..i + p];
                    self.part(line.strip_suffix(b"\r").unwrap_or(line), sink);
                    self.end_line();
                    i += p + 1;
                }
                None => {
                    self.tail(&chunk[i..], sink);
                    return;
                }
            }
        }
        let end = self.whole_lines(chunk, i, sink);
        self.tail(&chunk[end..], sink);
    }

    /// Writes the end of the canonical body.
    pub fn finish(mut self, sink: &mut impl Sink) {
        if self.pending_cr {
            self.pending_cr = false;
            self.part(b"\r", sink);
        }
        match self.canon {
            Canon::Simple => sink.write(b"\r\n"),
            Canon::Relaxed => {
                if self.any_content {
                    sink.write(b"\r\n");
                }
            }
        }
    }

    /// The fast path: complete lines from `start` (at a line start). Returns where the
    /// unterminated rest begins.
    ///
    /// Lines are only looked at one by one where the canonical form differs from the input
    /// ("anomalies": a bare LF; for relaxed also a tab, or a space before whitespace or a line
    /// end). Everything between is written as one slice, holding back trailing empty lines.
    fn whole_lines(&mut self, chunk: &[u8], start: usize, sink: &mut impl Sink) -> usize {
        let Some(last) = memchr::memrchr(b'\n', &chunk[start..]) else {
            return start;
        };
        let end = start + last + 1;
        let region = &chunk[start..end];
        // Relaxed: past the region's last space or tab only bare LFs can be anomalies; found
        // once here, not per block searched. A large region is left to the blocks: a pass
        // over all of it first would no longer find it in the cache.
        const WSP_SEARCH: usize = 64 * 1024;
        let wsp_end = match self.canon {
            Canon::Simple => 0,
            Canon::Relaxed if region.len() > WSP_SEARCH => region.len(),
            Canon::Relaxed => memchr::memrchr2(b' ', b'\t', region).map_or(0, |w| w + 1),
        };
        let mut clean_start = 0;
        while let Some(a) = self.next_anomaly(region, clean_start, wsp_end) {
            let line_start = memchr::memrchr(b'\n', &region[clean_start..a])
                .map_or(clean_start, |p| clean_start + p + 1);
            // The region ends with LF, so the line containing `a` ends within it.
            let line_end =
                a + memchr::memchr(b'\n', &region[a..]).map_or(region.len() - a, |p| p + 1);
            self.clean_lines(&region[clean_start..line_start], sink);
            self.line(&region[line_start..line_end - 1], sink);
            clean_start = line_end;
        }
        self.clean_lines(&region[clean_start..], sink);
        end
    }

    /// The first position at or after `from` where the canonical form differs from `region`
    /// (which ends with LF). For relaxed, `wsp_end` is where the last space or tab of
    /// `region` ends (0 if there is none).
    fn next_anomaly(&self, region: &[u8], from: usize, wsp_end: usize) -> Option<usize> {
        match self.canon {
            Canon::Simple => scan::<false>(region, from, region.len()),
            Canon::Relaxed => next_relaxed_anomaly(region, from, wsp_end),
        }
    }

    /// Complete CRLF lines that are canonical as they stand: written as one slice, except the
    /// empty lines at the end, which become pending.
    fn clean_lines(&mut self, lines: &[u8], sink: &mut impl Sink) {
        let mut k = lines.len();
        let mut empty = 0;
        while k >= 2 && &lines[k - 2..k] == b"\r\n" {
            k -= 2;
            empty += 1;
        }
        if k == 0 {
            self.pending_crlf += empty;
            return;
        }
        self.write_pending(sink);
        sink.write(&lines[..k]);
        // The first line ending after the content ends its line; the rest are empty lines.
        self.pending_crlf = empty;
        self.any_content = true;
    }

    /// One complete line (without its LF) that needs a look.
    fn line(&mut self, line: &[u8], sink: &mut impl Sink) {
        let mut content = line.strip_suffix(b"\r").unwrap_or(line);
        if self.canon == Canon::Relaxed {
            content = trim_wsp_end(content);
        }
        if content.is_empty() {
            self.pending_crlf += 1;
            return;
        }
        // One write per line: hash updates have a cost per call.
        self.scratch.clear();
        self.scratch.reserve(content.len() + 128);
        if self.pending_crlf <= 64 {
            for _ in 0..self.pending_crlf {
                self.scratch.extend_from_slice(b"\r\n");
            }
            self.pending_crlf = 0;
        } else {
            self.write_pending(sink);
        }
        match self.canon {
            Canon::Simple => self.scratch.extend_from_slice(content),
            Canon::Relaxed => relaxed_line(content, &mut self.scratch),
        }
        sink.write(&self.scratch);
        self.pending_crlf = 1;
        self.any_content = true;
    }

    /// An unterminated end of a chunk: content of a line that may go on in the next chunk.
    fn tail(&mut self, mut rest: &[u8], sink: &mut impl Sink) {
        if let Some(r) = rest.strip_suffix(b"\r") {
            self.pending_cr = true;
            rest = r;
        }
        self.part(rest, sink);
    }

    /// Part of a line (no LF in it), on the careful path that keeps state across chunks.
    fn part(&mut self, bytes: &[u8], sink: &mut impl Sink) {
        if bytes.is_empty() {
            return;
        }
        self.mid_line = true;
        match self.canon {
            Canon::Simple => {
                self.start_content(sink);
                sink.write(bytes);
            }
            Canon::Relaxed => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let n = rest.iter().position(|&b| is_wsp(b)).unwrap_or(rest.len());
                    if n == 0 {
                        let w = rest.iter().position(|&b| !is_wsp(b)).unwrap_or(rest.len());
                        self.pending_wsp = true;
                        rest = &rest[w..];
                        continue;
                    }
                    self.start_content(sink);
                    if self.pending_wsp {
                        sink.write(b" ");
                        self.pending_wsp = false;
                    }
                    sink.write(&rest[..n]);
                    rest = &rest[n..];
                }
            }
        }
    }

    fn start_content(&mut self, sink: &mut impl Sink) {
        if !self.line_has_content {
            self.write_pending(sink);
            self.line_has_content = true;
            self.any_content = true;
        }
    }

    fn write_pending(&mut self, sink: &mut impl Sink) {
        const CRLFS: &[u8; 128] = b"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
        let mut n = self.pending_crlf;
        while n > 0 {
            let k = n.min(64);
            sink.write(&CRLFS[..k as usize * 2]);
            n -= k;
        }
        self.pending_crlf = 0;
    }

    fn end_line(&mut self) {
        self.pending_crlf += 1;
        self.mid_line = false;
        self.line_has_content = false;
        self.pending_wsp = false;
    }
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The first relaxed anomaly at or after `from`, where `region` has no space or tab at or
/// after `wsp_end`. Blocks without a space or tab (base64, most of a large message) can only
/// hold bare LFs, so the cheaper check for those runs there; memchr finds whether a block has
/// whitespace much faster than the full check would. Past `wsp_end` no block is searched.
fn next_relaxed_anomaly(region: &[u8], from: usize, wsp_end: usize) -> Option<usize> {
    const BLOCK: usize = 4096;
    let wsp_end = wsp_end.min(region.len());
    let mut p = from;
    while p < wsp_end {
        let end = (p + BLOCK).min(wsp_end);
        let found = if memchr::memchr2(b' ', b'\t', &region[p..end]).is_none() {
            scan::<false>(region, p, end)
        } else {
            scan::<true>(region, p, end)
        };
        if found.is_some() {
            return found;
        }
        p = end;
    }
    scan::<false>(region, p, region.len())
}

/// The first anomaly in `from..until`: a position where the canonical form differs from the
/// input in a region of whole lines. That is a bare LF; for relaxed also a tab, or a space
/// before whitespace or a line end (judged by the byte after it, even past `until`). A cheap
/// filter runs 64 bytes at a time without branches (the compiler turns it into vector
/// instructions); only a step it flags is searched byte by byte. This keeps canonicalization a
/// small fraction of the cost of hashing.
fn scan<const RELAXED: bool>(region: &[u8], from: usize, until: usize) -> Option<usize> {
    const STEP: usize = 64;
    let mut p = from;
    while p < until {
        if p >= 1 && p + STEP <= until {
            let window = (
                <&[u8; STEP]>::try_from(&region[p - 1..p - 1 + STEP]),
                <&[u8; STEP]>::try_from(&region[p..p + STEP]),
            );
            if let (Ok(prev), Ok(cur)) = window {
                let mut acc = 0u8;
                for k in 0..STEP {
                    acc |= candidate::<RELAXED>(prev[k], cur[k]);
                }
                if acc != 0 {
                    // The filter flags a space at p - 1 through the byte after it.
                    if p > from && is_anomaly::<RELAXED>(region, p - 1) {
                        return Some(p - 1);
                    }
                    if let Some(q) = exact_in_step::<RELAXED>(region, p) {
                        return Some(q);
                    }
                }
                p += STEP;
                continue;
            }
        }
        // After a vector step, a space at its last byte is judged by the byte after it.
        if p > from && is_anomaly::<RELAXED>(region, p - 1) {
            return Some(p - 1);
        }
        if is_anomaly::<RELAXED>(region, p) {
            return Some(p);
        }
        p += 1;
    }
    // The same for the last byte before `until`.
    if RELAXED && until > from && is_anomaly::<RELAXED>(region, until - 1) {
        return Some(until - 1);
    }
    None
}

/// The first anomaly in the step of `STEP` bytes at `p` (which is at least 1).
fn exact_in_step<const RELAXED: bool>(region: &[u8], p: usize) -> Option<usize> {
    const STEP: usize = 64;
    let windows = (
        region.get(p - 1..p - 1 + STEP).and_then(|w| <&[u8; STEP]>::try_from(w).ok()),
        region.get(p..p + STEP).and_then(|w| <&[u8; STEP]>::try_from(w).ok()),
        region.get(p + 1..p + 1 + STEP).and_then(|w| <&[u8; STEP]>::try_from(w).ok()),
    );
    let (Some(prev), Some(cur), Some(next)) = windows else {
        // At the end of the region (where the byte after is taken as a line end).
        return (p..(p + STEP).min(region.len())).find(|&q| is_anomaly::<RELAXED>(region, q));
    };
    // All flags at once (vector instructions), then the first.
    let mut flags = [0u8; STEP];
    for k in 0..STEP {
        flags[k] = anomaly::<RELAXED>(prev[k], cur[k], next[k]);
    }
    flags.iter().position(|&f| f != 0).map(|k| p + k)
}

/// A superset of anomalies, looking at a byte and the one before it, as 0 or 1 without
/// branches: a bare LF, a tab, or a byte up to 0x20 after a space (the anomaly is then the
/// space).
#[inline(always)]
fn candidate<const RELAXED: bool>(prev: u8, cur: u8) -> u8 {
    let bare_lf = u8::from(cur == b'\n') & u8::from(prev != b'\r');
    if !RELAXED {
        return bare_lf;
    }
    bare_lf | u8::from(cur == b'\t') | (u8::from(prev == b' ') & u8::from(cur <= b' '))
}

fn is_anomaly<const RELAXED: bool>(region: &[u8], p: usize) -> bool {
    let prev = if p == 0 { 0 } else { region[p - 1] };
    let next = region.get(p + 1).copied().unwrap_or(b'\n');
    anomaly::<RELAXED>(prev, region[p], next) != 0
}

/// [`is_anomaly`] on bytes, as 0 or 1, without branches.
#[inline(always)]
fn anomaly<const RELAXED: bool>(prev: u8, cur: u8, next: u8) -> u8 {
    let bare_lf = u8::from(cur == b'\n') & u8::from(prev != b'\r');
    if !RELAXED {
        return bare_lf;
    }
    let next_ws = u8::from(next == b' ')
        | u8::from(next == b'\t')
        | u8::from(next == b'\r')
        | u8::from(next == b'\n');
    bare_lf | u8::from(cur == b'\t') | (u8::from(cur == b' ') & next_ws)
}

/// Writes a complete relaxed line's content (no trailing whitespace) with WSP runs made one SP.
///
/// Without branches on the bytes, and without a push per byte (which stores and reloads the
/// vector's length each time): each byte is stored (WSP as SP) at an output position that
/// advances except over a WSP after a WSP, which the next byte then overwrites.
fn relaxed_line(content: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + content.len(), 0);
    let dst = &mut out[start..];
    let mut o = 0;
    let mut prev_wsp = false;
    for &b in content {
        let wsp = is_wsp(b);
        // `o` never passes the input position, so it is in bounds.
        if let Some(slot) = dst.get_mut(o) {
            *slot = if wsp { b' ' } else { b };
        }
        o += usize::from(!(wsp & prev_wsp));
        prev_wsp = wsp;
    }
    out.truncate(start + o);
}

/// Limits what reaches a sink to the first `limit` bytes (`l=`), counting everything.
#[derive(Debug)]
pub(crate) struct Limited<S> {
    pub(crate) inner: S,
    pub(crate) limit: Option<u64>,
    pub(crate) total: u64,
}

impl<S: Sink> Sink for Limited<S> {
    fn write(&mut self, data: &[u8]) {
        let len = data.len() as u64;
        match self.limit {
            None => self.inner.write(data),
            Some(limit) if self.total < limit => {
                let n = (limit - self.total).min(len) as usize;
                self.inner.write(&data[..n]);
            }
            Some(_) => {}
        }
        self.total += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body canonicalizations written the slow, obvious way, from the RFC text.
    fn reference(canon: Canon, body: &[u8]) -> Vec<u8> {
        // Split into lines; LF or CRLF ends a line.
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut cur = Vec::new();
        let mut i = 0;
        let mut terminated = true;
        while i < body.len() {
            if body[i] == b'\n' {
                lines.push(std::mem::take(&mut cur));
                terminated = true;
            } else if body[i] == b'\r' && body.get(i + 1) == Some(&b'\n') {
                lines.push(std::mem::take(&mut cur));
                i += 1;
                terminated = true;
            } else {
                cur.push(body[i]);
                terminated = false;
            }
            i += 1;
        }
        if !terminated {
            lines.push(cur);
        }
        if canon == Canon::Relaxed {
            for line in &mut lines {
                let mut out = Vec::new();
                let mut wsp = false;
                for &b in line.iter() {
                    if is_wsp(b) {
                        wsp = true;
                    } else {
                        if wsp {
                            out.push(b' ');
                        }
                        wsp = false;
                        out.push(b);
                    }
                }
                *line = out;
            }
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let mut out = Vec::new();
        for l in &lines {
            out.extend_from_slice(l);
            out.extend_from_slice(b"\r\n");
        }
        if canon == Canon::Simple && out.is_empty() {
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Header canonicalization written byte by byte from RFC 6376 §3.4.1 and §3.4.2.
    fn header_reference(canon: Canon, raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match canon {
            Canon::Simple => {
                let body = strip_line_ending(raw);
                let mut prev = 0u8;
                for &b in body {
                    if b == b'\n' && prev != b'\r' {
                        out.push(b'\r');
                    }
                    out.push(b);
                    prev = b;
                }
            }
            Canon::Relaxed => {
                let colon = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
                let name = trim_wsp_end(&raw[..colon]);
                out.extend(name.iter().map(u8::to_ascii_lowercase));
                out.push(b':');
                let value = raw.get(colon + 1..).unwrap_or_default();
                let (mut wsp, mut started) = (false, false);
                for (i, &b) in value.iter().enumerate() {
                    match b {
                        b'\r' if value.get(i + 1) == Some(&b'\n') => {}
                        b'\n' => {}
                        b' ' | b'\t' => wsp = true,
                        _ => {
                            if wsp && started {
                                out.push(b' ');
                            }
                            wsp = false;
                            started = true;
                            out.push(b);
                        }
                    }
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    #[test]
    fn header_matches_the_reference() {
        const BYTES: &[u8] = b"aZ: \t\r\n\r\n \r\x00\xc3";
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut raw = Vec::new();
        for _ in 0..200_000 {
            raw.clear();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut r = x;
            for _ in 0..r % 24 {
                r = r.rotate_left(5) ^ 0x9e37_79b9_7f4a_7c15;
                raw.push(BYTES[(r % BYTES.len() as u64) as usize]);
            }
            for canon in [Canon::Simple, Canon::Relaxed] {
                assert_eq!(
                    canonicalize_header(canon, &raw),
                    header_reference(canon, &raw),
                    "{raw:?}"
                );
            }
        }
    }

    fn chunked(canon: Canon, body: &[u8], size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut c = BodyCanonicalizer::new(canon);
        for chunk in body.chunks(size.max(1)) {
            c.update(chunk, &mut out);
        }
        c.finish(&mut out);
        out
    }

    const CASES: &[&[u8]] = &[
        b"",
        b"\r\n",
        b"\r\n\r\n",
        b"\n\n\n",
        b"a",
        b"a\r\n",
        b"a\r\n\r\n\r\n",
        b"a\n\nb\n\n",
        b" \r\n",
        b"  a  \t b \t\r\n \r\n\t\r\n",
        b"a\rb\r\n\r",
        b"\r",
        b"\r\r\n",
        b"x\r\n\r\n \r\ny\r\n",
        b"line one\r\nline  two\t\r\n\r\n  three\r\n\r\n\r\n",
        b"mixed\nendings\r\n\n\r\nend",
        b"end with space  ",
        b"tab\tin\tline\r\n",
        b"\t leading\r\n",
    ];

    #[test]
    fn matches_the_reference_for_every_chunking() {
        for canon in [Canon::Simple, Canon::Relaxed] {
            for case in CASES {
                let want = reference(canon, case);
                for size in 1..=case.len().max(1) {
                    assert_eq!(
                        chunked(canon, case, size),
                        want,
                        "{canon:?} {:?} in chunks of {size}",
                        String::from_utf8_lossy(case)
                    );
                }
            }
        }
    }

    #[test]
    fn rfc6376_section_3_4_5_examples() {
        // The example of §3.4.5: " C \r\nD \t E\r\n\r\n\r\n".
        let body = b" C \r\nD \t E\r\n\r\n\r\n";
        assert_eq!(canonicalize_body(Canon::Relaxed, body), b" C\r\nD E\r\n");
        assert_eq!(canonicalize_body(Canon::Simple, body), b" C \r\nD \t E\r\n");
        let h1 = b"A: X\r\n";
        let h2 = b"B : Y\t\r\n\tZ  \r\n";
        assert_eq!(canonicalize_header(Canon::Relaxed, h1), b"a:X\r\n");
        assert_eq!(canonicalize_header(Canon::Relaxed, h2), b"b:Y Z\r\n");
        assert_eq!(canonicalize_header(Canon::Simple, h2), h2);
    }

    #[test]
    fn header_bare_lf_and_missing_line_ending() {
        assert_eq!(canonicalize_header(Canon::Simple, b"S: a\n b\n"), b"S: a\r\n b\r\n");
        assert_eq!(canonicalize_header(Canon::Simple, b"S: a"), b"S: a\r\n");
        assert_eq!(canonicalize_header(Canon::Relaxed, b"S:"), b"s:\r\n");
        let mut out = Vec::new();
        header_into(Canon::Simple, b"X: y\r\n", false, &mut out);
        assert_eq!(out, b"X: y");
    }

    #[test]
    fn long_bodies_match_the_reference() {
        let mut body = Vec::new();
        for i in 0..2000u32 {
            match i % 7 {
                0 => body.extend_from_slice(b"\r\n"),
                1 => body.extend_from_slice(b"plain line of text\r\n"),
                2 => body.extend_from_slice(b"two  spaces and\ttab \r\n"),
                3 => body.extend_from_slice(b"bare lf line\n"),
                4 => body.extend_from_slice(b"   \r\n"),
                5 => body.extend_from_slice(&[b'x'; 100]),
                _ => body.extend_from_slice(b"lone\rcr\r\n"),
            }
        }
        body.extend_from_slice(b"\r\n\r\n\n");
        for canon in [Canon::Simple, Canon::Relaxed] {
            let want = reference(canon, &body);
            for size in [1, 2, 3, 7, 64, 1000, 4096, body.len()] {
                assert_eq!(chunked(canon, &body, size), want, "{canon:?} chunks of {size}");
            }
        }
    }

    #[test]
    fn relaxed_unterminated_last_line_loses_trailing_whitespace() {
        // As if sent over SMTP, which adds the CRLF (dkimpy and Go mox would give "abc \r\n").
        assert_eq!(canonicalize_body(Canon::Relaxed, b"x\r\nabc \t "), b"x\r\nabc\r\n");
        assert_eq!(canonicalize_body(Canon::Simple, b"x\r\nabc \t "), b"x\r\nabc \t \r\n");
    }

    #[test]
    fn regression_space_before_lone_cr_at_a_step_boundary() {
        // Found by fuzzing: the space ending a 64-byte vector step, followed by a lone CR and
        // the region's last line ending, was not seen as trailing whitespace.
        let mut body = b" B\r\n".to_vec();
        body.extend_from_slice(&[0xff; 58]);
        body.extend_from_slice(b"@\r \r\n '' x");
        assert_eq!(canonicalize_body(Canon::Relaxed, &body), reference(Canon::Relaxed, &body));
    }

    #[test]
    fn long_bodies_with_anomalies_at_every_offset() {
        for canon in [Canon::Simple, Canon::Relaxed] {
            for offset in 0..140 {
                for anomaly in [&b" \r\n"[..], b"\t", b"  ", b"\n", b" \r", b"\r\n\r\n"] {
                    let mut body = vec![b'a'; offset];
                    body.extend_from_slice(anomaly);
                    body.extend_from_slice(&[b'b'; 70]);
                    body.extend_from_slice(b"\r\nend\r\n");
                    assert_eq!(
                        canonicalize_body(canon, &body),
                        reference(canon, &body),
                        "{canon:?} {offset} {anomaly:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn anomalies_around_the_block_boundary() {
        // Base64-like lines (no whitespace) with one anomaly placed across 4096-byte blocks.
        for offset in 4080..4110 {
            for anomaly in [&b"  "[..], b" \r\n", b"\t", b"\n", b" "] {
                let mut body = Vec::new();
                while body.len() < offset {
                    body.extend_from_slice(b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n");
                }
                body.truncate(offset);
                body.extend_from_slice(anomaly);
                body.extend_from_slice(b"tail\r\nmore\r\n");
                assert_eq!(
                    canonicalize_body(Canon::Relaxed, &body),
                    reference(Canon::Relaxed, &body),
                    "{offset} {anomaly:?}"
                );
            }
        }
    }

    #[test]
    fn limited_sink_counts_all_and_passes_the_prefix() {
        let mut l = Limited { inner: Vec::new(), limit: Some(5), total: 0 };
        l.write(b"abc");
        l.write(b"def");
        l.write(b"gh");
        assert_eq!(l.inner, b"abcde");
        assert_eq!(l.total, 8);
    }
}
