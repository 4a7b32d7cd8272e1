//! SEARCH and UID SEARCH (RFC 9051 §6.4.4) with ESEARCH results (RFC 4731), SEARCHRES (RFC
//! 5182), CONDSTORE's MODSEQ key, WITHIN (RFC 5032), SAVEDATE (RFC 8514), MULTISEARCH's
//! ESEARCH command (RFC 7377) and CONTEXT=SEARCH (RFC 5267: PARTIAL, UPDATE with ADDTO and
//! REMOVEFROM, CANCELUPDATE).
//!
//! Criteria are checked cheapest first: flags, UIDs and sequence numbers from the message
//! states; sizes and dates from the message record; header fields from the header section
//! only; and the body only when a BODY or TEXT key asks for it.

use std::cell::OnceCell;

use store::{MailboxId, MessageState, SystemFlags, UidSet};

use super::{CmdResult, Failure, Session, ok};
use crate::command::{Date, MailboxFilter, SearchCommand, SearchKey, SearchReturn, SortCriterion};
use crate::response;
use crate::seqset::{SequenceSet, format_ordered, push_u32, push_u64};

/// A search kept up to date for the client (RFC 5267 §4.3).
#[derive(Debug, Clone)]
pub(crate) struct UpdateContext {
    /// The tag of the command that asked for it (responses carry it).
    pub tag: String,
    pub uid: bool,
    pub key: SearchKey,
    /// For SORT contexts, the order.
    pub sort: Option<Vec<SortCriterion>>,
    /// The result the client knows, as UIDs in result order.
    pub result: Vec<u32>,
}

/// One message being checked.
pub(crate) struct Candidate<'s, 'a> {
    pub seq: u32,
    pub state: MessageState,
    pub recent: bool,
    snap: &'s store::Snapshot<'a>,
    record: OnceCell<Option<store::Message>>,
    header: OnceCell<Vec<u8>>,
    body_text: OnceCell<String>,
}

impl<'s, 'a> Candidate<'s, 'a> {
    pub(crate) fn new(
        snap: &'s store::Snapshot<'a>,
        seq: u32,
        state: MessageState,
        recent: bool,
    ) -> Self {
        Candidate {
            seq,
            state,
            recent,
            snap,
            record: OnceCell::new(),
            header: OnceCell::new(),
            body_text: OnceCell::new(),
        }
    }

    pub(crate) fn record(&self) -> Option<&store::Message> {
        self.record.get_or_init(|| self.snap.message(self.state.id).ok().flatten()).as_ref()
    }

    /// The message's header section (of the message as served).
    pub(crate) fn header(&self) -> &[u8] {
        self.header.get_or_init(|| {
            let Some(m) = self.record() else { return Vec::new() };
            let end = m.structure().map_or(m.size, |p| p.body_offset);
            read_range(self.snap, self.state.id, 0, end)
        })
    }

    /// The decoded text of all text parts.
    fn body_text(&self) -> &str {
        self.body_text.get_or_init(|| {
            let Some(m) = self.record() else { return String::new() };
            let data = read_range(self.snap, self.state.id, 0, m.size);
            let msg = message::Message::parse(&data);
            let mut text = String::new();
            for p in msg.root().walk() {
                if p.content_type().media_type == "text" && p.parts().is_empty() {
                    text.push_str(&p.decoded_text().to_lowercase());
                    text.push('\n');
                }
            }
            text
        })
    }

    /// Decoded values of the header fields named `name`, lowercased.
    fn header_values(&self, name: &str) -> Vec<String> {
        let h = message::Header::parse(self.header());
        h.get_all(name).map(|f| f.decoded_value().to_lowercase()).collect()
    }

    fn sent_date(&self) -> Option<Date> {
        let h = message::Header::parse(self.header());
        let v = h.get("Date")?;
        let d = message::DateTime::parse(v.raw_value()).ok()?;
        Some(date_of(d.timestamp, d.offset_minutes))
    }
}

fn read_range(snap: &store::Snapshot<'_>, id: store::MessageId, start: u64, end: u64) -> Vec<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut r) = snap.open_message(id) else { return Vec::new() };
    if r.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut buf = Vec::new();
    let _ = r.take(end.saturating_sub(start)).read_to_end(&mut buf);
    buf
}

/// The calendar date of a time in its own offset.
pub(crate) fn date_of(unix: i64, offset_minutes: i32) -> Date {
    let local = unix + i64::from(offset_minutes) * 60;
    let (y, m, d) = message::calendar::civil_from_days(local.div_euclid(86400));
    Date { year: y.clamp(0, 9999) as u16, month: m as u8, day: d as u8 }
}

/// What a search needs besides the candidates: the saved result for `$`, and "now".
pub(crate) struct SearchEnv<'x> {
    pub saved: Option<&'x [u32]>,
    pub now: i64,
    /// Sequence numbers may be used (a selected mailbox's view).
    pub seqs: bool,
    /// Highest sequence number and UID, for `*`.
    pub max_seq: u32,
    pub max_uid: u32,
}

/// Whether a message matches a key.
pub(crate) fn matches(k: &SearchKey, c: &Candidate<'_, '_>, env: &SearchEnv<'_>) -> bool {
    use SearchKey as K;
    let f = c.state.flags.system;
    let contains = |values: Vec<String>, needle: &str| -> bool {
        let n = needle.to_lowercase();
        values.iter().any(|v| v.contains(&n))
    };
    match k {
        K::All | K::SaveDateSupported => true,
        K::Answered => f.contains(SystemFlags::ANSWERED),
        K::Deleted => f.contains(SystemFlags::DELETED),
        K::Draft => f.contains(SystemFlags::DRAFT),
        K::Flagged => f.contains(SystemFlags::FLAGGED),
        K::Seen => f.contains(SystemFlags::SEEN),
        K::Unanswered => !f.contains(SystemFlags::ANSWERED),
        K::Undeleted => !f.contains(SystemFlags::DELETED),
        K::Undraft => !f.contains(SystemFlags::DRAFT),
        K::Unflagged => !f.contains(SystemFlags::FLAGGED),
        K::Unseen => !f.contains(SystemFlags::SEEN),
        K::Recent => c.recent,
        K::New => c.recent && !f.contains(SystemFlags::SEEN),
        K::Old => !c.recent,
        K::Keyword(k) => keyword_set(&c.state.flags, k),
        K::Unkeyword(k) => !keyword_set(&c.state.flags, k),
        K::Not(k) => !matches(k, c, env),
        K::Or(a, b) => matches(a, c, env) || matches(b, c, env),
        K::And(ks) => ks.iter().all(|k| matches(k, c, env)),
        K::Uid(set) => in_set(set, c.state.uid, env.max_uid, env.saved, true),
        K::SeqSet(set) => {
            if matches!(set, SequenceSet::Saved) {
                in_set(set, c.state.uid, env.max_uid, env.saved, true)
            } else {
                env.seqs && in_set(set, c.seq, env.max_seq, None, false)
            }
        }
        K::ModSeq { modseq, .. } => c.state.modseq >= *modseq,
        K::Larger(n) => c.record().is_some_and(|m| m.size > *n),
        K::Smaller(n) => c.record().is_some_and(|m| m.size < *n),
        K::Before(d) => internal_date(c).is_some_and(|x| x < *d),
        K::On(d) => internal_date(c).is_some_and(|x| x == *d),
        K::Since(d) => internal_date(c).is_some_and(|x| x >= *d),
        K::Older(secs) => c.record().is_some_and(|m| m.received.unix <= env.now - i64::from(*secs)),
        K::Younger(secs) => {
            c.record().is_some_and(|m| m.received.unix >= env.now - i64::from(*secs))
        }
        K::SentBefore(d) => c.sent_date().is_some_and(|x| x < *d),
        K::SentOn(d) => c.sent_date().is_some_and(|x| x == *d),
        K::SentSince(d) => c.sent_date().is_some_and(|x| x >= *d),
        K::SavedBefore(d) => save_date(c).is_some_and(|x| x < *d),
        K::SavedOn(d) => save_date(c).is_some_and(|x| x == *d),
        K::SavedSince(d) => save_date(c).is_some_and(|x| x >= *d),
        K::From(s) => contains(address_values(c, "From"), s),
        K::To(s) => contains(address_values(c, "To"), s),
        K::Cc(s) => contains(address_values(c, "Cc"), s),
        K::Bcc(s) => contains(address_values(c, "Bcc"), s),
        K::Subject(s) => contains(c.header_values("Subject"), s),
        K::Header(name, s) => {
            let v = c.header_values(name);
            if s.is_empty() { !v.is_empty() } else { contains(v, s) }
        }
        K::Body(s) => c.body_text().contains(&s.to_lowercase()),
        K::Text(s) => {
            let n = s.to_lowercase();
            String::from_utf8_lossy(c.header()).to_lowercase().contains(&n)
                || message::decode_encoded_words(&String::from_utf8_lossy(c.header()))
                    .to_lowercase()
                    .contains(&n)
                || c.body_text().contains(&n)
        }
    }
}

/// Header values of address fields, raw and decoded, lowercased: a search for a name or an
/// address part finds both.
fn address_values(c: &Candidate<'_, '_>, name: &str) -> Vec<String> {
    let h = message::Header::parse(c.header());
    let mut v = Vec::new();
    for f in h.get_all(name) {
        v.push(f.value().to_lowercase());
        v.push(f.decoded_value().to_lowercase());
    }
    v
}

fn keyword_set(flags: &store::Flags, k: &str) -> bool {
    match store::SystemFlags::from_name(k) {
        Some(sf) => flags.system.contains(sf),
        None => flags.has_keyword(k),
    }
}

fn internal_date(c: &Candidate<'_, '_>) -> Option<Date> {
    c.record().map(|m| date_of(m.received.unix, i32::from(m.received.offset_minutes)))
}

fn save_date(c: &Candidate<'_, '_>) -> Option<Date> {
    let m = c.record()?;
    let t = c.snap.save_time(m.created_modseq).ok()??;
    Some(date_of(t.unix, 0))
}

fn in_set(set: &SequenceSet, n: u32, star: u32, saved: Option<&[u32]>, uid: bool) -> bool {
    match set {
        SequenceSet::Saved => uid && saved.is_some_and(|s| s.binary_search(&n).is_ok()),
        _ => set.resolve(star).is_some_and(|r| r.iter().any(|r| r.contains(&n))),
    }
}

/// Whether a key uses message sequence numbers (refused with UIDONLY, and in MULTISEARCH).
pub(crate) fn uses_seqs(k: &SearchKey) -> bool {
    match k {
        SearchKey::SeqSet(s) => !matches!(s, SequenceSet::Saved),
        SearchKey::Not(k) => uses_seqs(k),
        SearchKey::Or(a, b) => uses_seqs(a) || uses_seqs(b),
        SearchKey::And(ks) => ks.iter().any(uses_seqs),
        _ => false,
    }
}

/// Whether a key has MODSEQ (then results carry the highest MODSEQ, RFC 7162 §3.1.5).
pub(crate) fn has_modseq(k: &SearchKey) -> bool {
    match k {
        SearchKey::ModSeq { .. } => true,
        SearchKey::Not(k) => has_modseq(k),
        SearchKey::Or(a, b) => has_modseq(a) || has_modseq(b),
        SearchKey::And(ks) => ks.iter().any(has_modseq),
        _ => false,
    }
}

/// A match: sequence number (0 outside the selected mailbox), UID, MODSEQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub seq: u32,
    pub uid: u32,
    pub modseq: u64,
}

impl Session {
    /// Runs a search over the selected mailbox's view: the messages that match, in order.
    pub(crate) fn search_selected(
        &self,
        key: &SearchKey,
        mut visit: Option<&mut dyn FnMut(&Candidate<'_, '_>)>,
    ) -> Result<Vec<Hit>, Failure> {
        let sel = self.selected()?;
        let account = self.acct()?;
        let snap = account.snapshot()?;
        let env = SearchEnv {
            saved: sel.saved.as_deref(),
            now: store::Timestamp::now().unix,
            seqs: true,
            max_seq: sel.view.len(),
            max_uid: if sel.view.is_empty() { sel.uid_next } else { sel.view.max_uid() },
        };
        // Only the UIDs the client knows: new messages are announced first.
        let mut ranges = Vec::new();
        if sel.view.max_uid() > 0 {
            sel.view.uid_ranges_in(1..=sel.view.max_uid(), &mut ranges);
        }
        let set = UidSet::from_ranges(ranges);
        let mut states = Vec::new();
        snap.for_each_state(sel.id, &set, |s| states.push(s))?;
        let key = &*super::quick::cheapest_first(key);
        let rev1 = !self.enabled.imap4rev2;
        let mut hits = Vec::new();
        for s in states {
            let Some(seq) = sel.view.seq(s.uid) else { continue };
            if sel.pending_expunges.binary_search(&s.uid).is_ok() {
                continue;
            }
            let recent = rev1 && sel.is_recent(s.uid);
            let c = Candidate::new(&snap, seq, s, recent);
            if matches(key, &c, &env) {
                hits.push(Hit { seq, uid: c.state.uid, modseq: c.state.modseq });
                if let Some(v) = visit.as_deref_mut() {
                    v(&c);
                }
            }
        }
        Ok(hits)
    }

    pub(super) fn cmd_search(&mut self, tag: &str, s: &SearchCommand) -> CmdResult {
        if self.enabled.uidonly && uses_seqs(&s.key) {
            return Err(Failure::bad_code("UIDREQUIRED", "UIDONLY enabled: no sequence numbers"));
        }
        if has_modseq(&s.key) {
            self.enabled.condstore = true;
        }
        let hits = self.search_selected(&s.key, None)?;
        let returns = match (&s.returns, self.enabled.imap4rev2) {
            (Some(r), _) => Some(r.clone()),
            // IMAP4rev2 has only ESEARCH responses (RFC 9051 §7.3.4).
            (None, true) => Some(vec![SearchReturn::All]),
            (None, false) => None,
        };
        let uids: Vec<u32> = hits.iter().map(|h| h.uid).collect();
        self.search_results(tag, s.uid, &s.key, returns.as_deref(), &hits, None, None)?;
        if let Some(r) = &returns
            && r.contains(&SearchReturn::Update)
        {
            let ctx = UpdateContext {
                tag: tag.to_string(),
                uid: s.uid,
                key: s.key.clone(),
                sort: None,
                result: uids,
            };
            self.selected_mut()?.contexts.push(ctx);
        }
        ok(if s.uid { "UID SEARCH completed" } else { "SEARCH completed" })
    }

    /// Writes SEARCH or ESEARCH responses for `hits` (in result order) and handles SAVE.
    /// `mailbox`: the (name, UIDVALIDITY) for MULTISEARCH responses.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn search_results(
        &mut self,
        tag: &str,
        uid: bool,
        key: &SearchKey,
        returns: Option<&[SearchReturn]>,
        hits: &[Hit],
        mailbox: Option<(&str, u32)>,
        sorted: Option<&str>,
    ) -> Result<(), Failure> {
        let num = |h: &Hit| if uid { h.uid } else { h.seq };
        let max_modseq = has_modseq(key).then(|| hits.iter().map(|h| h.modseq).max()).flatten();
        let Some(returns) = returns else {
            // Plain SEARCH/SORT response (RFC 3501, RFC 5256).
            let mut line = sorted.unwrap_or("SEARCH").as_bytes().to_vec();
            for h in hits {
                line.push(b' ');
                push_u32(&mut line, num(h));
            }
            if let Some(m) = max_modseq {
                line.extend_from_slice(b" (MODSEQ ");
                push_u64(&mut line, m);
                line.push(b')');
            }
            self.untagged(&line);
            return Ok(());
        };
        // ALL is implied when no other result option is asked for (RFC 4731 §3.1: RETURN ()),
        // also with only CONTEXT/UPDATE (RFC 5267 §4).
        let all = returns.contains(&SearchReturn::All)
            || !returns.iter().any(|r| {
                matches!(
                    r,
                    SearchReturn::Min
                        | SearchReturn::Max
                        | SearchReturn::Count
                        | SearchReturn::Partial(..)
                        | SearchReturn::Save
                )
            });
        let min = returns.contains(&SearchReturn::Min);
        let max = returns.contains(&SearchReturn::Max);
        let count = returns.contains(&SearchReturn::Count);
        let save = returns.contains(&SearchReturn::Save);
        let partial = returns.iter().find_map(|r| match r {
            SearchReturn::Partial(a, b) => Some((*a, *b)),
            _ => None,
        });
        if save {
            // RFC 5182 §2.4: with MIN or MAX (and not ALL or COUNT) only those are saved.
            let saved: Vec<u32> = if (min || max) && !all && !count {
                let mut v = Vec::new();
                if min {
                    v.extend(hits.iter().map(|h| h.uid).min());
                }
                if max {
                    v.extend(hits.iter().map(|h| h.uid).max());
                }
                v
            } else {
                hits.iter().map(|h| h.uid).collect()
            };
            let mut saved = saved;
            saved.sort_unstable();
            saved.dedup();
            if let Ok(sel) = self.selected_mut() {
                sel.saved = Some(saved);
            }
            if returns.iter().all(|r| *r == SearchReturn::Save) {
                // SAVE alone: no ESEARCH response (RFC 5182 §2.4).
                return Ok(());
            }
        }
        let utf8 = self.utf8();
        let mut line = b"ESEARCH (TAG ".to_vec();
        response::quoted(&mut line, tag.as_bytes());
        if let Some((name, validity)) = mailbox {
            line.extend_from_slice(b" MAILBOX ");
            response::mailbox(&mut line, name, utf8);
            line.extend_from_slice(b" UIDVALIDITY ");
            push_u32(&mut line, validity);
        }
        line.push(b')');
        if uid {
            line.extend_from_slice(b" UID");
        }
        let nums: Vec<u32> = hits.iter().map(num).collect();
        if min && let Some(v) = nums.iter().min() {
            line.extend_from_slice(b" MIN ");
            push_u32(&mut line, *v);
        }
        if max && let Some(v) = nums.iter().max() {
            line.extend_from_slice(b" MAX ");
            push_u32(&mut line, *v);
        }
        if count {
            line.extend_from_slice(b" COUNT ");
            push_u32(&mut line, nums.len() as u32);
        }
        if all && !nums.is_empty() {
            line.extend_from_slice(b" ALL ");
            if sorted.is_some() {
                format_ordered(&nums, &mut line);
            } else if let Some(s) = SequenceSet::from_numbers(nums.iter().copied()) {
                line.extend_from_slice(s.to_string().as_bytes());
            }
        }
        if let Some((a, b)) = partial {
            line.extend_from_slice(b" PARTIAL (");
            line.extend_from_slice(partial_range_text(a, b).as_bytes());
            line.push(b' ');
            let window = partial_window(&nums, a, b);
            if window.is_empty() {
                line.extend_from_slice(b"NIL");
            } else if sorted.is_some() {
                format_ordered(&window, &mut line);
            } else if let Some(s) = SequenceSet::from_numbers(window.iter().copied()) {
                line.extend_from_slice(s.to_string().as_bytes());
            }
            line.push(b')');
        }
        if let Some(m) = max_modseq {
            line.extend_from_slice(b" MODSEQ ");
            push_u64(&mut line, m);
        }
        self.untagged(&line);
        Ok(())
    }

    pub(super) fn cmd_esearch(
        &mut self,
        tag: &str,
        source: Option<&[MailboxFilter]>,
        s: &SearchCommand,
    ) -> CmdResult {
        if uses_seqs(&s.key) {
            return Err(Failure::bad("MULTISEARCH cannot use message sequence numbers"));
        }
        // RFC 7377 §2: SAVE only when the selected mailbox is the sole source; CONTEXT is a
        // hint that may be given. UPDATE is not kept for ESEARCH.
        let selected_only =
            source.is_none_or(|f| f.iter().all(|x| matches!(x, MailboxFilter::Selected)));
        let returns = s.returns.as_deref().unwrap_or_default();
        if returns.contains(&SearchReturn::Update) {
            return Err(Failure::bad("UPDATE cannot be used with MULTISEARCH"));
        }
        let save = returns.contains(&SearchReturn::Save);
        if save && !selected_only {
            return Err(Failure::bad("SAVE needs the selected mailbox as the only source"));
        }
        if source.is_some_and(|f| f.contains(&MailboxFilter::Selected)) && self.selected().is_err()
        {
            return Err(Failure::bad("IN (selected) without a selected mailbox"));
        }
        let account = self.acct()?;
        let snap = account.snapshot()?;
        let mailboxes = self.filter_mailboxes(&snap, source)?;
        if save {
            // No matches saves the empty result (RFC 5182 §2.1).
            self.selected_mut()?.saved = Some(Vec::new());
        }
        let env = SearchEnv {
            saved: None,
            now: store::Timestamp::now().unix,
            seqs: false,
            max_seq: 0,
            max_uid: 0,
        };
        let mut results: Vec<(String, u32, Vec<Hit>)> = Vec::new();
        for mb in mailboxes {
            let mut hits = Vec::new();
            let mut env2 = SearchEnv { max_uid: mb.uid_next.saturating_sub(1).max(1), ..env };
            env2.saved = None;
            snap.for_each_state(mb.id, &UidSet::all(), |st| {
                let c = Candidate::new(&snap, 0, st, false);
                if matches(&s.key, &c, &env2) {
                    hits.push(Hit { seq: 0, uid: c.state.uid, modseq: c.state.modseq });
                }
            })?;
            if !hits.is_empty() {
                results.push((mb.name.clone(), mb.uid_validity, hits));
            }
        }
        drop(snap);
        let returns = s.returns.clone().unwrap_or_else(|| vec![SearchReturn::All]);
        for (name, validity, hits) in results {
            self.search_results(
                tag,
                true,
                &s.key,
                Some(&returns),
                &hits,
                Some((&name, validity)),
                None,
            )?;
        }
        ok("ESEARCH completed")
    }

    /// The mailboxes a MULTISEARCH or NOTIFY filter names (selectable ones, by name).
    pub(crate) fn filter_mailboxes(
        &self,
        snap: &store::Snapshot<'_>,
        source: Option<&[MailboxFilter]>,
    ) -> Result<Vec<store::Mailbox>, Failure> {
        let all = snap.mailboxes()?;
        let selected = self.selected().ok().map(|s| s.id);
        let Some(filters) = source else {
            // Without IN: the selected mailbox (RFC 7377 §2).
            let id = selected.ok_or_else(|| Failure::bad("no mailbox selected and no IN"))?;
            return Ok(all.into_iter().filter(|m| m.id == id).collect());
        };
        let mut names = Vec::new();
        for f in filters {
            match f {
                MailboxFilter::Subtree(n)
                | MailboxFilter::SubtreeOne(n)
                | MailboxFilter::Mailboxes(n) => {
                    let mut v = Vec::new();
                    for name in n {
                        v.push(self.store_name(name)?);
                    }
                    names.push(v);
                }
                _ => names.push(Vec::new()),
            }
        }
        Ok(all
            .into_iter()
            .filter(|m| m.selectable)
            .filter(|m| filters.iter().zip(&names).any(|(f, n)| filter_matches(f, n, m, selected)))
            .collect())
    }

    pub(super) fn cmd_cancel_update(&mut self, tags: &[String]) -> CmdResult {
        let sel = self.selected_mut()?;
        for t in tags {
            let before = sel.contexts.len();
            sel.contexts.retain(|c| c.tag != *t);
            if sel.contexts.len() == before {
                return Err(Failure::bad(format!("no search context with tag {t:?}")));
            }
        }
        ok("CANCELUPDATE completed")
    }

    /// Re-runs the searches the client keeps updated and reports what entered or left their
    /// results (RFC 5267 §4.3.3 ADDTO, §4.3.4 REMOVEFROM). Called after the view changed.
    pub(crate) fn update_search_contexts(&mut self) {
        let contexts = match self.selected() {
            Ok(s) if !s.contexts.is_empty() => s.contexts.clone(),
            _ => return,
        };
        let mut updated = Vec::with_capacity(contexts.len());
        for mut ctx in contexts {
            let hits = match &ctx.sort {
                Some(criteria) => self.sorted_hits(criteria, &ctx.key),
                None => self.search_selected(&ctx.key, None),
            };
            let Ok(hits) = hits else {
                updated.push(ctx);
                continue;
            };
            let new: Vec<u32> = hits.iter().map(|h| h.uid).collect();
            let removed: Vec<u32> =
                ctx.result.iter().copied().filter(|u| !new.contains(u)).collect();
            let sel = match self.selected() {
                Ok(s) => s,
                Err(_) => return,
            };
            let num = |u: u32| if ctx.uid { Some(u) } else { sel.view.seq(u) };
            let mut lines = Vec::new();
            if !removed.is_empty() {
                let mut line = b"ESEARCH (TAG ".to_vec();
                response::quoted(&mut line, ctx.tag.as_bytes());
                line.push(b')');
                if ctx.uid {
                    line.extend_from_slice(b" UID");
                }
                line.extend_from_slice(b" REMOVEFROM (0 ");
                let nums: Vec<u32> = removed.iter().copied().filter_map(num).collect();
                match SequenceSet::from_numbers(nums) {
                    Some(s) => line.extend_from_slice(s.to_string().as_bytes()),
                    // Expunged messages have no number any more: their UIDs.
                    None => line.extend_from_slice(
                        SequenceSet::from_numbers(removed.iter().copied())
                            .map(|s| s.to_string())
                            .unwrap_or_default()
                            .as_bytes(),
                    ),
                }
                line.push(b')');
                lines.push(line);
            }
            let added: Vec<(usize, u32)> = new
                .iter()
                .enumerate()
                .filter(|(_, u)| !ctx.result.contains(u))
                .map(|(i, u)| (i + 1, *u))
                .collect();
            if !added.is_empty() {
                let mut line = b"ESEARCH (TAG ".to_vec();
                response::quoted(&mut line, ctx.tag.as_bytes());
                line.push(b')');
                if ctx.uid {
                    line.extend_from_slice(b" UID");
                }
                line.extend_from_slice(b" ADDTO (");
                if ctx.sort.is_some() {
                    // Sorted results: each addition at its position in the new result.
                    for (i, (pos, u)) in added.iter().enumerate() {
                        if i > 0 {
                            line.push(b' ');
                        }
                        push_u32(&mut line, *pos as u32);
                        line.push(b' ');
                        push_u32(&mut line, num(*u).unwrap_or(*u));
                    }
                } else {
                    line.extend_from_slice(b"0 ");
                    let nums: Vec<u32> = added.iter().filter_map(|(_, u)| num(*u)).collect();
                    if let Some(s) = SequenceSet::from_numbers(nums) {
                        line.extend_from_slice(s.to_string().as_bytes());
                    }
                }
                line.push(b')');
                lines.push(line);
            }
            for l in lines {
                self.untagged(&l);
            }
            ctx.result = new;
            updated.push(ctx);
        }
        if let Ok(sel) = self.selected_mut() {
            sel.contexts = updated;
        }
    }
}

/// Whether a mailbox is named by a filter (RFC 5465 §6, RFC 7377 §2).
pub(crate) fn filter_matches(
    f: &MailboxFilter,
    names: &[String],
    m: &store::Mailbox,
    selected: Option<MailboxId>,
) -> bool {
    match f {
        MailboxFilter::Selected | MailboxFilter::SelectedDelayed => Some(m.id) == selected,
        MailboxFilter::Inboxes => m.name == "Inbox" || m.name.starts_with("Inbox/"),
        MailboxFilter::Personal => true,
        MailboxFilter::Subscribed => m.subscribed,
        MailboxFilter::Subtree(_) => {
            names.iter().any(|n| m.name == *n || m.name.starts_with(&format!("{n}/")))
        }
        MailboxFilter::SubtreeOne(_) => names.iter().any(|n| {
            m.name == *n || m.name.strip_prefix(&format!("{n}/")).is_some_and(|r| !r.contains('/'))
        }),
        MailboxFilter::Mailboxes(_) => names.contains(&m.name),
    }
}

fn partial_range_text(a: i64, b: i64) -> String {
    format!("{a}:{b}")
}

/// The results at positions `a..=b` (1-based; negative from the end, RFC 9394 §3.1).
fn partial_window(nums: &[u32], a: i64, b: i64) -> Vec<u32> {
    let n = nums.len() as i64;
    let (lo, hi) = if a < 0 {
        // -1 is the last result.
        let (x, y) = (n + a.max(b) + 1, n + a.min(b) + 1);
        (y, x)
    } else {
        (a.min(b), a.max(b))
    };
    let lo = lo.max(1);
    let hi = hi.min(n);
    if lo > hi {
        return Vec::new();
    }
    nums[(lo - 1) as usize..hi as usize].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_windows() {
        let v: Vec<u32> = (1..=10).collect();
        assert_eq!(partial_window(&v, 1, 3), [1, 2, 3]);
        assert_eq!(partial_window(&v, 9, 20), [9, 10]);
        assert_eq!(partial_window(&v, -1, -2), [9, 10]);
        assert_eq!(partial_window(&v, -3, -3), [8]);
        assert!(partial_window(&v, 11, 12).is_empty());
    }

    #[test]
    fn dates() {
        // 2024-03-01 00:30 at +0100 is still 29 Feb in UTC: the date is the local one.
        let t = message::calendar::days_from_civil(2024, 3, 1) * 86400 + 30 * 60 - 3600;
        assert_eq!(date_of(t, 60), Date { year: 2024, month: 3, day: 1 });
        assert_eq!(date_of(t, 0), Date { year: 2024, month: 2, day: 29 });
    }
}
