//! FETCH and UID FETCH (RFC 9051 §6.4.5, CONDSTORE/QRESYNC modifiers RFC 7162, BINARY RFC
//! 3516, PREVIEW RFC 8970, SAVEDATE RFC 8514), produced in pieces: a FETCH over a million
//! messages never holds more than about [`super::OUTPUT_HIGH_WATER`] of output.

use std::io::{Read, Seek, SeekFrom};
use std::ops::RangeInclusive;

use store::{FlagOp, Flags, MessageState, SystemFlags, UidSet};

use super::mime::{self, SectionData};
use super::selected::uid_set_in_view;
use super::{CmdResult, Failure, Job, Session, State};
use crate::command::{FetchAttr, Section, SectionText};
use crate::response;
use crate::seqset::{SequenceSet, push_u32, push_u64};

/// Messages handled per step when only their state (UID, FLAGS, MODSEQ) is fetched.
const STATE_CHUNK: u32 = 5000;
/// Messages handled per step when their records or contents are read.
const CONTENT_CHUNK: u32 = 100;

/// A FETCH in progress.
pub(crate) struct FetchJob {
    tag: String,
    uid_cmd: bool,
    items: Vec<FetchAttr>,
    /// UID ranges (of the client's view) still to do, in order.
    ranges: Vec<RangeInclusive<u32>>,
    /// Next range, and the next UID within it.
    next: usize,
    next_uid: u32,
    changed_since: Option<u64>,
    include_modseq: bool,
    include_uid: bool,
    mark_seen: bool,
    needs_record: bool,
    expunge_allowed: bool,
    /// Some requested messages no longer exist.
    missing: bool,
}

/// A `* n FETCH (...)` response being written: items separated by spaces.
pub(crate) struct FetchLine<'a> {
    pub out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> FetchLine<'a> {
    /// Starts `* seq FETCH (` (or `* uid UIDFETCH (` with UIDONLY), with `UID n` first when
    /// `with_uid` (never with UIDONLY, where the UID leads the response).
    pub(crate) fn start(
        out: &'a mut Vec<u8>,
        uidonly: bool,
        seq: u32,
        uid: u32,
        with_uid: bool,
    ) -> Self {
        out.extend_from_slice(b"* ");
        if uidonly {
            push_u32(out, uid);
            out.extend_from_slice(b" UIDFETCH (");
            return FetchLine { out, first: true };
        }
        push_u32(out, seq);
        out.extend_from_slice(b" FETCH (");
        if with_uid {
            out.extend_from_slice(b"UID ");
            push_u32(out, uid);
            return FetchLine { out, first: false };
        }
        FetchLine { out, first: true }
    }

    /// The buffer, after the separator for the next item.
    pub(crate) fn item(&mut self) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b' ');
        }
        self.first = false;
        self.out
    }

    pub(crate) fn end(self) {
        self.out.extend_from_slice(b")\r\n");
    }
}

impl Session {
    pub(super) fn cmd_fetch(
        &mut self,
        tag: &str,
        uid_cmd: bool,
        set: &SequenceSet,
        items: Vec<FetchAttr>,
        changed_since: Option<u64>,
        vanished: bool,
    ) -> CmdResult {
        if vanished && (!uid_cmd || changed_since.is_none()) {
            return Err(Failure::bad("VANISHED needs UID FETCH with CHANGEDSINCE"));
        }
        if vanished && !self.enabled.qresync {
            return Err(Failure::bad("VANISHED needs ENABLE QRESYNC"));
        }
        if changed_since.is_some() || items.contains(&FetchAttr::ModSeq) {
            // A CONDSTORE-enabling command (RFC 7162 §3.1).
            self.enabled.condstore = true;
        }
        let ranges = self.resolve_set(uid_cmd, set)?;
        let sel = self.selected()?;
        let read_only = sel.read_only;
        let mut job = FetchJob {
            tag: tag.to_string(),
            uid_cmd,
            mark_seen: !read_only && items.iter().any(sets_seen),
            needs_record: items
                .iter()
                .any(|i| !matches!(i, FetchAttr::Flags | FetchAttr::Uid | FetchAttr::ModSeq)),
            include_modseq: changed_since.is_some() || items.contains(&FetchAttr::ModSeq),
            include_uid: uid_cmd || items.contains(&FetchAttr::Uid),
            items,
            next_uid: ranges.first().map_or(0, |r| *r.start()),
            ranges,
            next: 0,
            changed_since,
            expunge_allowed: uid_cmd,
            missing: false,
        };
        if let (true, Some(since)) = (vanished, changed_since) {
            // RFC 7162 §3.2.6: UIDs in the set expunged since the given MODSEQ.
            let account = self.acct()?;
            let snap = account.snapshot()?;
            let star = self.selected()?.uid_next.saturating_sub(1).max(1);
            let requested = set.resolve(star).unwrap_or_default();
            let gone: Vec<u32> = snap
                .changes_since(self.selected()?.id, since)?
                .vanished
                .into_iter()
                .filter(|u| requested.iter().any(|r| r.contains(u)))
                .collect();
            if let Some(s) = SequenceSet::from_numbers(gone) {
                self.out.extend_from_slice(b"* VANISHED (EARLIER) ");
                self.out.extend_from_slice(s.to_string().as_bytes());
                self.out.extend_from_slice(b"\r\n");
            }
        }
        job.items.retain(|i| *i != FetchAttr::Uid || !job.include_uid);
        self.fetch_step(Box::new(job));
        Ok(None)
    }

    /// The UID ranges of the client's view a set stands for: UIDs for UID commands, sequence
    /// numbers otherwise (out-of-range numbers are a BAD, RFC 9051 §9 `seq-number`).
    pub(crate) fn resolve_set(
        &self,
        uid_cmd: bool,
        set: &SequenceSet,
    ) -> Result<Vec<RangeInclusive<u32>>, Failure> {
        let sel = self.selected()?;
        if uid_cmd || matches!(set, SequenceSet::Saved) {
            return uid_set_in_view(sel, set).ok_or_else(|| Failure::bad("bad set"));
        }
        let n = sel.view.len();
        if n == 0 && set.has_star() || set.max_value() > n {
            return Err(Failure::bad(format!(
                "message sequence number out of range: mailbox has {n} messages"
            )));
        }
        let ranges = set.resolve(n).unwrap_or_default();
        let mut out = Vec::new();
        for r in UidSet::from_ranges(ranges).ranges() {
            sel.view.seq_range_to_uid_ranges(r.clone(), &mut out);
        }
        Ok(normalize(out))
    }

    pub(super) fn fetch_step(&mut self, mut job: Box<FetchJob>) {
        match self.fetch_some(&mut job) {
            Ok(true) => {
                self.job = Some(Job::Fetch(job));
            }
            Ok(false) => {
                let r: CmdResult = if job.missing {
                    super::ok_code("EXPUNGEISSUED", "some messages were expunged meanwhile")
                } else {
                    super::ok(if job.uid_cmd { "UID FETCH completed" } else { "FETCH completed" })
                };
                let tag = job.tag.clone();
                self.finish_command(&tag, "FETCH", r, job.expunge_allowed);
            }
            Err(f) => {
                let tag = job.tag.clone();
                self.finish_command(&tag, "FETCH", Err(f), job.expunge_allowed);
            }
        }
    }

    /// Produces responses for the next chunk; Ok(true) when there is more to do.
    fn fetch_some(&mut self, job: &mut FetchJob) -> Result<bool, Failure> {
        let account = self.acct()?;
        let uidonly = self.enabled.uidonly;
        let rev1 = !self.enabled.imap4rev2;
        let utf8 = self.utf8();
        loop {
            let Some(range) = job.ranges.get(job.next).cloned() else { return Ok(false) };
            let chunk = if job.needs_record { CONTENT_CHUNK } else { STATE_CHUNK };
            let start = job.next_uid.max(*range.start());
            let end = start.saturating_add(chunk - 1).min(*range.end());
            let chunk_set = UidSet::from_ranges([start..=end]);
            if end == *range.end() {
                job.next += 1;
                job.next_uid = job.ranges.get(job.next).map_or(0, |r| *r.start());
            } else {
                job.next_uid = end + 1;
            }

            let mailbox = self.selected()?.id;
            let mut seen_set: Vec<u32> = Vec::new();
            if job.mark_seen {
                let seen = Flags::system(SystemFlags::SEEN);
                let outcome = account.store_flags(mailbox, &chunk_set, FlagOp::Add, &seen, None)?;
                self.own_change(outcome.modseq);
                seen_set = outcome.changed.iter().map(|s| s.uid).collect();
            }
            let snap = account.snapshot()?;
            let mut states: Vec<MessageState> = Vec::new();
            snap.for_each_state(mailbox, &chunk_set, |s| states.push(s))?;
            let expected = {
                let sel = self.selected()?;
                let mut n = 0u32;
                sel.view.for_uid_range(start..=end, |_, _| n += 1);
                n
            };
            if (states.len() as u32) < expected {
                job.missing = true;
            }
            let State::Authenticated(a) = &mut self.state else { return Ok(false) };
            let Some(sel) = a.selected.as_ref() else { return Ok(false) };
            for s in &states {
                if job.changed_since.is_some_and(|m| s.modseq <= m) {
                    continue;
                }
                let Some(seq) = sel.view.seq(s.uid) else { continue };
                let line_start = self.out.len();
                let mut line =
                    FetchLine::start(&mut self.out, uidonly, seq, s.uid, job.include_uid);
                let recent = rev1 && sel.is_recent(s.uid);
                let flags_changed = seen_set.binary_search(&s.uid).is_ok();
                let r = write_items(&mut line, &snap, s, &job.items, recent, utf8, flags_changed);
                if job.include_modseq && !job.items.contains(&FetchAttr::ModSeq) {
                    let o = line.item();
                    o.extend_from_slice(b"MODSEQ (");
                    push_u64(o, s.modseq);
                    o.push(b')');
                }
                line.end();
                if r.is_err() {
                    // No half response (and never an empty `FETCH ()`, which msg-att does
                    // not allow): the tagged NO says why this message failed.
                    self.out.truncate(line_start);
                }
                r?;
            }
            drop(snap);
            if self.out.len() >= super::OUTPUT_HIGH_WATER {
                return Ok(job.next < job.ranges.len());
            }
        }
    }
}

fn sets_seen(i: &FetchAttr) -> bool {
    matches!(
        i,
        FetchAttr::BodySection { peek: false, .. }
            | FetchAttr::Binary { peek: false, .. }
            | FetchAttr::Rfc822
            | FetchAttr::Rfc822Text
    )
}

/// Sorted, merged ranges.
fn normalize(ranges: Vec<RangeInclusive<u32>>) -> Vec<RangeInclusive<u32>> {
    UidSet::from_ranges(ranges).ranges().to_vec()
}

/// A message's bytes, read as needed: ranges by seeking, or the whole at once.
struct Content {
    reader: Option<store::MessageReader>,
    whole: Option<Vec<u8>>,
}

impl Content {
    fn reader<'s>(
        &'s mut self,
        snap: &store::Snapshot<'_>,
        id: store::MessageId,
    ) -> Result<&'s mut store::MessageReader, Failure> {
        if self.reader.is_none() {
            self.reader = Some(snap.open_message(id)?);
        }
        self.reader.as_mut().ok_or_else(|| Failure::no("message unavailable"))
    }

    fn range(
        &mut self,
        snap: &store::Snapshot<'_>,
        id: store::MessageId,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>, Failure> {
        if let Some(w) = &self.whole {
            let s = (start as usize).min(w.len());
            let e = (end as usize).min(w.len()).max(s);
            return Ok(w[s..e].to_vec());
        }
        let r = self.reader(snap, id)?;
        let io = |e: std::io::Error| {
            tracing::error!(error = %e, "reading message");
            Failure::no_code("SERVERBUG", "reading message failed")
        };
        r.seek(SeekFrom::Start(start)).map_err(io)?;
        let mut buf = Vec::with_capacity(end.saturating_sub(start) as usize);
        r.take(end.saturating_sub(start)).read_to_end(&mut buf).map_err(io)?;
        Ok(buf)
    }

    fn whole(
        &mut self,
        snap: &store::Snapshot<'_>,
        id: store::MessageId,
    ) -> Result<&[u8], Failure> {
        if self.whole.is_none() {
            let r = self.reader(snap, id)?;
            r.seek(SeekFrom::Start(0))
                .map_err(|_| Failure::no_code("SERVERBUG", "reading message failed"))?;
            let mut buf = Vec::with_capacity(r.size() as usize);
            r.read_to_end(&mut buf)
                .map_err(|_| Failure::no_code("SERVERBUG", "reading message failed"))?;
            self.whole = Some(buf);
        }
        Ok(self.whole.as_deref().unwrap_or(&[]))
    }
}

/// Writes the requested items of one message.
pub(crate) fn write_items(
    line: &mut FetchLine<'_>,
    snap: &store::Snapshot<'_>,
    s: &MessageState,
    items: &[FetchAttr],
    recent: bool,
    utf8: bool,
    flags_changed: bool,
) -> Result<(), Failure> {
    let needs_record =
        items.iter().any(|i| !matches!(i, FetchAttr::Flags | FetchAttr::Uid | FetchAttr::ModSeq));
    let msg = if needs_record {
        Some(snap.message(s.id)?.ok_or(Failure::no_code("EXPUNGEISSUED", "message was expunged"))?)
    } else {
        None
    };
    let structure = msg.as_ref().and_then(|m| {
        items
            .iter()
            .any(|i| {
                !matches!(
                    i,
                    FetchAttr::Flags
                        | FetchAttr::Uid
                        | FetchAttr::ModSeq
                        | FetchAttr::InternalDate
                        | FetchAttr::Rfc822Size
                        | FetchAttr::SaveDate
                )
            })
            .then(|| m.structure())
            .flatten()
    });
    let mut content = Content { reader: None, whole: None };
    let mut wrote_flags = false;
    for item in items {
        match item {
            FetchAttr::Flags => {
                let o = line.item();
                o.extend_from_slice(b"FLAGS ");
                response::flags(o, &s.flags, recent);
                wrote_flags = true;
            }
            FetchAttr::Uid => {
                let o = line.item();
                o.extend_from_slice(b"UID ");
                push_u32(o, s.uid);
            }
            FetchAttr::ModSeq => {
                let o = line.item();
                o.extend_from_slice(b"MODSEQ (");
                push_u64(o, s.modseq);
                o.push(b')');
            }
            _ => {
                let Some(m) = &msg else { continue };
                write_record_item(line, snap, s, m, structure.as_ref(), &mut content, item, utf8)?;
            }
        }
    }
    if flags_changed && !wrote_flags {
        // RFC 9051 §6.4.5: \Seen set by this FETCH is reported.
        let o = line.item();
        o.extend_from_slice(b"FLAGS ");
        response::flags(o, &s.flags, recent);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn write_record_item(
    line: &mut FetchLine<'_>,
    snap: &store::Snapshot<'_>,
    s: &MessageState,
    m: &store::Message,
    structure: Option<&store::structure::Part>,
    content: &mut Content,
    item: &FetchAttr,
    utf8: bool,
) -> Result<(), Failure> {
    let id = s.id;
    // A message stored without a structure is parsed now (rare: imports that skipped it).
    let parsed;
    let structure = match structure {
        Some(p) => Some(p),
        None if !matches!(
            item,
            FetchAttr::InternalDate | FetchAttr::Rfc822Size | FetchAttr::SaveDate
        ) =>
        {
            parsed = store::structure::Part::parse(content.whole(snap, id)?);
            Some(&parsed)
        }
        None => None,
    };
    let root_header_end = structure.map_or(0, |p| p.body_offset);
    match item {
        FetchAttr::InternalDate => {
            let o = line.item();
            o.extend_from_slice(b"INTERNALDATE ");
            response::date_time(o, m.received);
        }
        FetchAttr::Rfc822Size => {
            let o = line.item();
            o.extend_from_slice(b"RFC822.SIZE ");
            push_u64(o, m.size);
        }
        FetchAttr::SaveDate => {
            let t = snap.save_time(m.created_modseq)?;
            let o = line.item();
            o.extend_from_slice(b"SAVEDATE ");
            match t {
                Some(t) => response::date_time(o, t),
                None => o.extend_from_slice(b"NIL"),
            }
        }
        FetchAttr::Envelope => {
            let h = content.range(snap, id, 0, root_header_end)?;
            let o = line.item();
            o.extend_from_slice(b"ENVELOPE ");
            mime::envelope(o, &h, utf8);
        }
        FetchAttr::BodyStructure | FetchAttr::Body => {
            let Some(p) = structure else { return Ok(()) };
            let mut headers = |inner: &store::structure::Part| {
                content.range(snap, id, inner.header_offset, inner.body_offset).unwrap_or_default()
            };
            let mut buf = Vec::new();
            mime::body_structure(
                &mut buf,
                p,
                matches!(item, FetchAttr::BodyStructure),
                utf8,
                &mut headers,
            );
            let o = line.item();
            o.extend_from_slice(if matches!(item, FetchAttr::BodyStructure) {
                b"BODYSTRUCTURE "
            } else {
                b"BODY "
            });
            o.extend_from_slice(&buf);
        }
        FetchAttr::Rfc822 | FetchAttr::Rfc822Header | FetchAttr::Rfc822Text => {
            let (name, text): (&[u8], Option<SectionText>) = match item {
                FetchAttr::Rfc822 => (b"RFC822", None),
                FetchAttr::Rfc822Header => (b"RFC822.HEADER", Some(SectionText::Header)),
                _ => (b"RFC822.TEXT", Some(SectionText::Text)),
            };
            let Some(p) = structure else { return Ok(()) };
            let data = section_bytes(snap, id, content, p, &Section { part: vec![], text })?;
            let o = line.item();
            o.extend_from_slice(name);
            o.push(b' ');
            match data {
                Some(d) => response::literal(o, &d, false),
                None => o.extend_from_slice(b"NIL"),
            }
        }
        FetchAttr::BodySection { section, partial, .. } => {
            let Some(p) = structure else { return Ok(()) };
            let data = section_bytes(snap, id, content, p, section)?;
            let o = line.item();
            o.extend_from_slice(b"BODY[");
            write_section(o, section, utf8);
            o.push(b']');
            write_partial_data(o, data, *partial, false);
        }
        FetchAttr::Binary { part, partial, .. } => {
            let Some(p) = structure else { return Ok(()) };
            let data = binary_bytes(snap, id, content, p, part)?;
            let o = line.item();
            o.extend_from_slice(b"BINARY[");
            write_part(o, part);
            o.push(b']');
            write_partial_data(o, data, *partial, true);
        }
        FetchAttr::BinarySize { part } => {
            let Some(p) = structure else { return Ok(()) };
            let data = binary_bytes(snap, id, content, p, part)?;
            let o = line.item();
            o.extend_from_slice(b"BINARY.SIZE[");
            write_part(o, part);
            o.extend_from_slice(b"] ");
            match data {
                Some(d) => push_u64(o, d.len() as u64),
                None => o.extend_from_slice(b"NIL"),
            }
        }
        FetchAttr::Preview { .. } => {
            let Some(p) = structure else { return Ok(()) };
            let text = match mime::preview_part(p) {
                Some(tp) => {
                    // The start of the part is enough for 200 characters of preview.
                    let end = tp.body_end.min(tp.body_offset + 16 * 1024);
                    let body = content.range(snap, id, tp.body_offset, end)?;
                    Some(mime::preview_text(tp, &body))
                }
                None => None,
            };
            let o = line.item();
            o.extend_from_slice(b"PREVIEW ");
            match text {
                Some(t) => response::string(o, t.as_bytes(), utf8),
                None => o.extend_from_slice(b"NIL"),
            }
        }
        FetchAttr::Flags | FetchAttr::Uid | FetchAttr::ModSeq => {}
    }
    Ok(())
}

fn section_bytes(
    snap: &store::Snapshot<'_>,
    id: store::MessageId,
    content: &mut Content,
    root: &store::structure::Part,
    section: &Section,
) -> Result<Option<Vec<u8>>, Failure> {
    Ok(match mime::section_data(root, section) {
        SectionData::Range(r) => Some(content.range(snap, id, r.start, r.end)?),
        SectionData::HeaderFields { range, not, fields } => {
            let h = content.range(snap, id, range.start, range.end)?;
            Some(mime::header_fields(&h, &fields, not))
        }
        SectionData::Missing => None,
    })
}

fn binary_bytes(
    snap: &store::Snapshot<'_>,
    id: store::MessageId,
    content: &mut Content,
    root: &store::structure::Part,
    part: &[u32],
) -> Result<Option<Vec<u8>>, Failure> {
    if part.is_empty() {
        // BINARY[] is the whole message (no transfer encoding at the top).
        return Ok(Some(content.whole(snap, id)?.to_vec()));
    }
    let Some(p) = root.part_at(part) else { return Ok(None) };
    if matches!(p.body, store::structure::PartBody::Multipart(_)) {
        return Ok(None);
    }
    let body = content.range(snap, id, p.body_offset, p.body_end)?;
    mime::decode_binary(p, &body).map(Some).map_err(|_| {
        Failure::no_code(
            "UNKNOWN-CTE",
            format!("unknown content-transfer-encoding {:?}", p.transfer_encoding),
        )
    })
}

/// `<origin>` and the data: the partial range of it when asked (RFC 9051 §6.4.5: the
/// response names only the origin).
fn write_partial_data(
    o: &mut Vec<u8>,
    data: Option<Vec<u8>>,
    partial: Option<(u64, u64)>,
    binary: bool,
) {
    let Some(data) = data else {
        o.extend_from_slice(b" NIL");
        return;
    };
    let slice: &[u8] = match partial {
        Some((off, len)) => {
            o.push(b'<');
            push_u64(o, off);
            o.push(b'>');
            let s = (off as usize).min(data.len());
            let e = s.saturating_add(len as usize).min(data.len());
            &data[s..e]
        }
        None => &data,
    };
    o.push(b' ');
    if slice.is_empty() {
        o.extend_from_slice(b"\"\"");
    } else {
        response::literal(o, slice, binary && slice.contains(&0));
    }
}

fn write_part(o: &mut Vec<u8>, part: &[u32]) {
    for (i, n) in part.iter().enumerate() {
        if i > 0 {
            o.push(b'.');
        }
        push_u32(o, *n);
    }
}

/// The section spec as the client wrote it (RFC 9051 §7.5.2: echoed in the response).
pub(crate) fn write_section(o: &mut Vec<u8>, section: &Section, utf8: bool) {
    write_part(o, &section.part);
    let Some(t) = &section.text else { return };
    if !section.part.is_empty() {
        o.push(b'.');
    }
    match t {
        SectionText::Header => o.extend_from_slice(b"HEADER"),
        SectionText::Text => o.extend_from_slice(b"TEXT"),
        SectionText::Mime => o.extend_from_slice(b"MIME"),
        SectionText::HeaderFields { not, fields } => {
            o.extend_from_slice(if *not { b"HEADER.FIELDS.NOT (" } else { b"HEADER.FIELDS (" });
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    o.push(b' ');
                }
                response::astring(o, f.to_ascii_uppercase().as_bytes(), utf8);
            }
            o.push(b')');
        }
    }
}
