//! The selected mailbox: SELECT/EXAMINE (with CONDSTORE and QRESYNC), CLOSE, UNSELECT, and
//! keeping the client's view in step with the store.
//!
//! The client's view (which UIDs exist, at which sequence numbers) changes only when the
//! session tells the client: new messages with EXISTS, removed ones with EXPUNGE or VANISHED.
//! Other sessions' changes are not replayed from notifications but read from the store by
//! MODSEQ (`changes_since` the highest MODSEQ the client was told about), so a burst of
//! changes costs one read, and an overflowed notification queue loses nothing.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use store::{Change, Changes, MailboxId, UidSet};

use super::view::SeqMap;
use super::{CmdResult, Failure, Session, State, ok_code};
use crate::command::{MailboxName, QresyncParams};
use crate::response;
use crate::seqset::{SequenceSet, push_u32, push_u64};

/// The selected mailbox and what the client knows of it.
#[derive(Debug)]
pub(crate) struct Selected {
    pub id: MailboxId,
    /// The store's name (follows renames).
    pub name: String,
    pub uid_validity: u32,
    /// EXAMINE, or SELECT of a mailbox we may not change.
    pub read_only: bool,
    /// The client's view: UIDs by sequence number.
    pub view: SeqMap,
    /// UIDNEXT as the client knows it: messages from here on are new to it.
    pub uid_next: u32,
    /// Changes up to this MODSEQ have been told (or were made by this session).
    pub synced_modseq: u64,
    /// Something may have changed since `synced_modseq`.
    pub dirty: bool,
    /// MODSEQs of changes this session made and already answered with FETCH responses.
    pub own_modseqs: Vec<u64>,
    /// Expunged in the store, not yet told to the client (still in `view`).
    pub pending_expunges: Vec<u32>,
    /// UIDs that are `\Recent` for this session (RFC 3501 §2.3.2).
    pub recent: Vec<RangeInclusive<u32>>,
    /// The result of the last `SEARCH RETURN (SAVE)`, as UIDs (RFC 5182).
    pub saved: Option<Vec<u32>>,
    /// Account keywords the client was told about in FLAGS.
    pub keywords_told: usize,
    /// The mailbox was deleted by another session.
    pub deleted: bool,
    /// Searches kept up to date (CONTEXT=SEARCH/SORT UPDATE, RFC 5267).
    pub contexts: Vec<super::search::UpdateContext>,
}

/// Per account directory and mailbox, the highest UID some session has claimed as `\Recent`:
/// the first session to see a message gets it as recent (RFC 3501 §2.3.2). In memory: after a
/// restart the first session sees everything as recent, which is what RFC 3501 asks for when
/// the server cannot tell.
static RECENT_CLAIMED: LazyLock<Mutex<HashMap<(PathBuf, u32), u32>>> =
    LazyLock::new(Default::default);

/// The highest UID of `mailbox` a session has claimed as `\Recent` (0: none); the messages
/// above it are recent for the next session that selects the mailbox.
pub(crate) fn recent_claimed(account: &store::Account, mailbox: MailboxId) -> u32 {
    let m = RECENT_CLAIMED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    m.get(&(account.dir().to_path_buf(), mailbox.0)).copied().unwrap_or(0)
}

/// The first of the UIDs `first..=last` that are `\Recent` for this session: a read-write
/// session claims them; a read-only one (EXAMINE) sees them as recent without claiming (RFC
/// 3501 §6.3.2: EXAMINE returns the same output as SELECT, and MUST NOT take `\Recent` away).
fn recent_from(
    account: &store::Account,
    mailbox: MailboxId,
    read_only: bool,
    first: u32,
    last: u32,
) -> Option<u32> {
    if read_only {
        let from = recent_claimed(account, mailbox).saturating_add(1).max(first);
        return (from <= last).then_some(from);
    }
    claim_recent(account, mailbox, last).map(|from| from.max(first))
}

fn claim_recent(account: &store::Account, mailbox: MailboxId, up_to: u32) -> Option<u32> {
    let mut m = RECENT_CLAIMED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let e = m.entry((account.dir().to_path_buf(), mailbox.0)).or_insert(0);
    if up_to <= *e {
        return None;
    }
    let from = *e + 1;
    *e = up_to;
    Some(from)
}

impl Selected {
    /// Notes a committed transaction; returns whether it concerns this mailbox.
    pub(crate) fn note_changes(&mut self, changes: &Changes) -> bool {
        // A transaction at or below the MODSEQ synchronized last was seen by that sync (its
        // snapshot was taken after the commit): usually this session's own command, which
        // then spares the next command a synchronization.
        let seen = changes.modseq.is_some_and(|m| m <= self.synced_modseq);
        let mut relevant = false;
        for c in &changes.changes {
            match c {
                Change::MessageAdded { mailbox, .. }
                | Change::FlagsChanged { mailbox, .. }
                | Change::Expunged { mailbox, .. }
                    if *mailbox == self.id && !seen =>
                {
                    relevant = true;
                }
                Change::MailboxDeleted { mailbox, kept_as_noselect: _, .. }
                    if *mailbox == self.id =>
                {
                    relevant = true;
                }
                Change::MailboxRenamed { mailbox, new_name, .. } if *mailbox == self.id => {
                    self.name = new_name.clone();
                }
                Change::Overflow => relevant = true,
                _ => {}
            }
        }
        if relevant {
            self.dirty = true;
        }
        relevant
    }

    pub(crate) fn is_recent(&self, uid: u32) -> bool {
        self.recent.iter().any(|r| r.contains(&uid))
    }

    pub(crate) fn recent_count(&self) -> u32 {
        let mut n = 0;
        for r in &self.recent {
            self.view.for_uid_range(r.clone(), |_, _| n += 1);
        }
        n
    }
}

impl Session {
    pub(crate) fn auth(&self) -> Option<&super::Authenticated> {
        match &self.state {
            State::Authenticated(a) => Some(a),
            _ => None,
        }
    }

    pub(crate) fn auth_mut(&mut self) -> Option<&mut super::Authenticated> {
        match &mut self.state {
            State::Authenticated(a) => Some(a),
            _ => None,
        }
    }

    pub(crate) fn acct(&self) -> Result<store::Account, Failure> {
        self.auth().map(|a| a.account.clone()).ok_or_else(|| Failure::bad("not authenticated"))
    }

    /// The account's junk settings, if the server has any for it.
    pub(crate) fn junk(&self) -> Option<junk::AccountJunk> {
        self.auth().and_then(|a| a.junk.clone())
    }

    pub(crate) fn selected(&self) -> Result<&Selected, Failure> {
        self.auth()
            .and_then(|a| a.selected.as_ref())
            .ok_or_else(|| Failure::bad("no mailbox selected"))
    }

    pub(crate) fn selected_mut(&mut self) -> Result<&mut Selected, Failure> {
        self.auth_mut()
            .and_then(|a| a.selected.as_mut())
            .ok_or_else(|| Failure::bad("no mailbox selected"))
    }

    /// The store's name for a mailbox name from the client: modified UTF-7 decoded unless the
    /// client uses UTF-8, and normalized (INBOX case-insensitive).
    pub(crate) fn store_name(&self, name: &MailboxName) -> Result<String, Failure> {
        let decoded = if self.utf8() {
            name.0.clone()
        } else {
            match crate::utf7::decode(&name.0) {
                Ok(s) => s,
                // A client that sends UTF-8 without enabling it: take it as UTF-8.
                Err(crate::utf7::Utf7Error::NotAscii) => name.0.clone(),
                Err(e) => return Err(Failure::no_code("CANNOT", format!("mailbox name: {e}"))),
            }
        };
        store::normalize_mailbox_name(&decoded).map_err(Failure::from)
    }

    pub(super) fn cmd_select(
        &mut self,
        mailbox: &MailboxName,
        read_only: bool,
        condstore: bool,
        qresync: Option<QresyncParams>,
    ) -> CmdResult {
        let name = self.store_name(mailbox)?;
        if qresync.is_some() && !self.enabled.qresync {
            return Err(Failure::bad("QRESYNC parameter without ENABLE QRESYNC"));
        }
        if let Some(q) = &qresync
            && self.enabled.uidonly
            && q.seq_match.is_some()
        {
            return Err(Failure::bad_code("UIDREQUIRED", "UIDONLY enabled: no sequence numbers"));
        }
        if condstore {
            self.enabled.condstore = true;
        }
        // Deselect first: a failed SELECT leaves no mailbox selected (RFC 9051 §6.3.2).
        let had = self.auth_mut().and_then(|a| a.selected.take()).is_some();
        if had {
            self.out.extend_from_slice(b"* OK [CLOSED] previous mailbox is now closed\r\n");
        }
        let account = self.acct()?;
        let snap = account.snapshot()?;
        let mb = snap.mailbox(&name)?.ok_or_else(|| {
            Failure::no_code("NONEXISTENT", format!("mailbox {name:?} does not exist"))
        })?;
        if !mb.selectable {
            return Err(Failure::no_code(
                "NONEXISTENT",
                format!("mailbox {name:?} is not selectable"),
            ));
        }
        let mut view = SeqMap::default();
        snap.for_each_uid(mb.id, |u| view.push(u))?;
        let keywords = snap.keywords();
        let rev1 = !self.enabled.imap4rev2;
        let first_unseen = if rev1 && mb.counts.unseen > 0 {
            snap.first_unseen_uid(mb.id)?.and_then(|u| view.seq(u))
        } else {
            None
        };
        let highest_modseq = mb.highest_modseq;

        let mut recent = Vec::new();
        let last = mb.uid_next.saturating_sub(1);
        if let Some(from) = recent_from(&account, mb.id, read_only, 1, last) {
            recent.push(from..=last);
        }
        let mut sel = Selected {
            id: mb.id,
            name: mb.name.clone(),
            uid_validity: mb.uid_validity,
            read_only,
            view,
            uid_next: mb.uid_next,
            synced_modseq: highest_modseq,
            dirty: false,
            own_modseqs: Vec::new(),
            pending_expunges: Vec::new(),
            recent,
            saved: None,
            keywords_told: keywords.len(),
            deleted: false,
            contexts: Vec::new(),
        };

        let out = &mut self.out;
        write_flags_responses(out, &keywords, read_only);
        out.extend_from_slice(b"* ");
        push_u32(out, sel.view.len());
        out.extend_from_slice(b" EXISTS\r\n");
        if rev1 {
            out.extend_from_slice(b"* ");
            push_u32(out, sel.recent_count());
            out.extend_from_slice(b" RECENT\r\n");
            if let Some(seq) = first_unseen {
                out.extend_from_slice(b"* OK [UNSEEN ");
                push_u32(out, seq);
                out.extend_from_slice(b"] first unseen message\r\n");
            }
        }
        out.extend_from_slice(b"* OK [UIDVALIDITY ");
        push_u32(out, mb.uid_validity);
        out.extend_from_slice(b"] UIDs valid\r\n* OK [UIDNEXT ");
        push_u32(out, mb.uid_next);
        out.extend_from_slice(b"] predicted next UID\r\n* OK [HIGHESTMODSEQ ");
        push_u64(out, highest_modseq);
        out.extend_from_slice(b"] highest modseq\r\n");
        if self.enabled.imap4rev2 {
            out.extend_from_slice(b"* LIST (");
            out.extend_from_slice(special_use_flags(mb.special_use).as_bytes());
            out.extend_from_slice(b") \"/\" ");
            response::mailbox(out, &mb.name, true);
            out.extend_from_slice(b"\r\n");
        }

        if let Some(q) = qresync
            && q.uid_validity == mb.uid_validity
        {
            // RFC 7162 §3.2.5: what changed since the client's MODSEQ.
            let changes = snap.changes_since(mb.id, q.modseq)?;
            let known = q.known_uids.as_ref().and_then(|s| s.resolve(sel.view.max_uid().max(1)));
            let in_known = |u: u32| known.as_ref().is_none_or(|k| k.iter().any(|r| r.contains(&u)));
            let vanished: Vec<u32> =
                changes.vanished.iter().copied().filter(|&u| in_known(u)).collect();
            if let Some(set) = SequenceSet::from_numbers(vanished) {
                self.out.extend_from_slice(b"* VANISHED (EARLIER) ");
                self.out.extend_from_slice(set.to_string().as_bytes());
                self.out.extend_from_slice(b"\r\n");
            }
            let mut changed = changes.changed;
            changed.sort_by_key(|s| s.uid);
            let uidonly = self.enabled.uidonly;
            for s in changed {
                let Some(seq) = sel.view.seq(s.uid) else { continue };
                let recent = rev1 && sel.is_recent(s.uid);
                write_flags_fetch(&mut self.out, uidonly, seq, &s, recent, true, true);
            }
        }
        drop(snap);
        sel.synced_modseq = highest_modseq;
        let code = if read_only { "READ-ONLY" } else { "READ-WRITE" };
        let verb = if read_only { "EXAMINE" } else { "SELECT" };
        if let Some(a) = self.auth_mut() {
            a.selected = Some(sel);
        }
        ok_code(code, format!("{verb} completed"))
    }

    pub(super) fn cmd_close(&mut self) -> CmdResult {
        let sel = self.selected()?;
        // CLOSE expunges \Deleted messages silently (RFC 9051 §6.4.1), unless read-only.
        if !sel.read_only && !sel.deleted {
            let (id, account) = (sel.id, self.acct()?);
            self.train(|junk| junk.forget_deleted(&account, id, None));
            match account.expunge(id, None) {
                Ok(_) => {}
                Err(
                    store::Error::MailboxNotFound { .. }
                    | store::Error::MailboxNotSelectable { .. },
                ) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(a) = self.auth_mut() {
            a.selected = None;
        }
        super::ok("CLOSE completed")
    }

    pub(super) fn cmd_unselect(&mut self) -> CmdResult {
        if let Some(a) = self.auth_mut() {
            a.selected = None;
        }
        super::ok("UNSELECT completed")
    }

    /// Sends untagged responses for what changed in the selected mailbox (and NOTIFY events)
    /// since the client was last told. `expunge_allowed`: EXPUNGE/VANISHED may be sent now.
    pub(crate) fn sync_unsolicited(&mut self, expunge_allowed: bool, _idle: bool) {
        self.flush_notify_events();
        let dirty = match self.auth().and_then(|a| a.selected.as_ref()) {
            Some(s) => s.dirty || (expunge_allowed && !s.pending_expunges.is_empty()),
            None => false,
        };
        if !dirty {
            return;
        }
        if let Err(f) = self.sync_selected(expunge_allowed) {
            tracing::error!(error = %f.text, "synchronizing selected mailbox");
        }
    }

    fn sync_selected(&mut self, expunge_allowed: bool) -> Result<(), Failure> {
        let account = self.acct()?;
        let rev1 = !self.enabled.imap4rev2;
        let condstore = self.enabled.condstore;
        let vanished_style = self.enabled.qresync || self.enabled.uidonly;
        let uidonly = self.enabled.uidonly;
        let State::Authenticated(a) = &mut self.state else { return Ok(()) };
        let Some(sel) = a.selected.as_mut() else { return Ok(()) };
        let out = &mut self.out;

        if sel.dirty {
            sel.dirty = false;
            let snap = account.snapshot()?;
            let mb = snap.mailbox_by_id(sel.id)?.filter(|m| m.selectable);
            let Some(mb) = mb else {
                // Deleted by another session: everything is gone.
                sel.deleted = true;
                sel.pending_expunges = sel.view.uids().collect();
                drop(snap);
                return self.flush_expunges(expunge_allowed);
            };
            if mb.uid_validity != sel.uid_validity {
                sel.deleted = true;
                sel.pending_expunges = sel.view.uids().collect();
                drop(snap);
                return self.flush_expunges(expunge_allowed);
            }
            let changes = snap.changes_since(sel.id, sel.synced_modseq)?;
            sel.synced_modseq = mb.highest_modseq;
            for uid in changes.vanished {
                if sel.view.seq(uid).is_some()
                    && let Err(i) = sel.pending_expunges.binary_search(&uid)
                {
                    sel.pending_expunges.insert(i, uid);
                }
            }
            let keywords = snap.keywords();
            drop(snap);

            // New keywords: tell the client its flag list grew (RFC 9051 §7.3.5).
            if keywords.len() > sel.keywords_told {
                sel.keywords_told = keywords.len();
                write_flags_responses(out, &keywords, sel.read_only);
            }

            let mut new: Vec<store::MessageState> = Vec::new();
            let mut flag_changes: Vec<(u32, store::MessageState)> = Vec::new();
            for s in changes.changed {
                if s.uid >= sel.uid_next && sel.view.seq(s.uid).is_none() {
                    new.push(s);
                } else if let Some(seq) = sel.view.seq(s.uid)
                    && !sel.own_modseqs.contains(&s.modseq)
                    && sel.pending_expunges.binary_search(&s.uid).is_err()
                {
                    flag_changes.push((seq, s));
                }
            }
            sel.own_modseqs.retain(|m| *m > mb.highest_modseq);

            // Expunges first, so EXISTS and FETCH use the numbers after them.
            if expunge_allowed && !sel.pending_expunges.is_empty() {
                write_expunges(out, sel, vanished_style);
            }
            if !new.is_empty() {
                new.sort_by_key(|s| s.uid);
                let max = new.last().map_or(0, |s| s.uid);
                for s in &new {
                    sel.view.push(s.uid);
                }
                sel.uid_next = sel.uid_next.max(max + 1).max(mb.uid_next);
                let first = new.first().map_or(max, |s| s.uid);
                if let Some(from) = recent_from(&account, sel.id, sel.read_only, first, max) {
                    sel.recent.push(from..=max);
                }
                out.extend_from_slice(b"* ");
                push_u32(out, sel.view.len());
                out.extend_from_slice(b" EXISTS\r\n");
                if rev1 {
                    out.extend_from_slice(b"* ");
                    push_u32(out, sel.recent_count());
                    out.extend_from_slice(b" RECENT\r\n");
                }
                // NOTIFY's MessageNew with fetch attributes (RFC 5465 §5.2): the new
                // messages' data right away.
                let attrs = a.notify.as_ref().map(|n| n.new_message_attrs()).unwrap_or_default();
                if !attrs.is_empty() {
                    let snap = account.snapshot()?;
                    let utf8 = self.enabled.utf8();
                    let attrs: Vec<_> = attrs
                        .into_iter()
                        .filter(|a| *a != crate::command::FetchAttr::Uid)
                        .collect();
                    for s in &new {
                        let Some(seq) = sel.view.seq(s.uid) else { continue };
                        let mut line =
                            super::fetch::FetchLine::start(out, uidonly, seq, s.uid, true);
                        let recent = rev1 && sel.is_recent(s.uid);
                        let r = super::fetch::write_items(
                            &mut line, &snap, s, &attrs, recent, utf8, false,
                        );
                        line.end();
                        if let Err(f) = r {
                            tracing::debug!(error = %f.text, "NOTIFY fetch attributes");
                        }
                    }
                }
            } else {
                sel.uid_next = sel.uid_next.max(mb.uid_next);
            }
            // Flag changes of known messages (after possible expunges, looked up again).
            let mut flag_states: Vec<store::MessageState> =
                flag_changes.into_iter().map(|(_, s)| s).collect();
            flag_states.sort_by_key(|s| s.uid);
            for s in flag_states {
                let Some(seq) = sel.view.seq(s.uid) else { continue };
                let recent = rev1 && sel.is_recent(s.uid);
                write_flags_fetch(out, uidonly, seq, &s, recent, condstore, false);
            }
            self.update_search_contexts();
            return Ok(());
        }
        self.flush_expunges(expunge_allowed)
    }

    pub(crate) fn flush_expunges(&mut self, expunge_allowed: bool) -> Result<(), Failure> {
        if !expunge_allowed {
            return Ok(());
        }
        let vanished_style = self.enabled.qresync || self.enabled.uidonly;
        let State::Authenticated(a) = &mut self.state else { return Ok(()) };
        let Some(sel) = a.selected.as_mut() else { return Ok(()) };
        if !sel.pending_expunges.is_empty() {
            write_expunges(&mut self.out, sel, vanished_style);
        }
        Ok(())
    }

    /// Sends FLAGS and PERMANENTFLAGS when the account has keywords the client was not told
    /// about yet (before FETCH responses that show them).
    pub(crate) fn announce_new_keywords(
        &mut self,
        account: &store::Account,
    ) -> Result<(), Failure> {
        let keywords = account.snapshot()?.keywords();
        let State::Authenticated(a) = &mut self.state else { return Ok(()) };
        let Some(sel) = a.selected.as_mut() else { return Ok(()) };
        if keywords.len() > sel.keywords_told {
            sel.keywords_told = keywords.len();
            write_flags_responses(&mut self.out, &keywords, sel.read_only);
        }
        Ok(())
    }

    /// Records that this session changed the selected mailbox (its own responses already told
    /// the client): the next sync skips these changes.
    pub(crate) fn own_change(&mut self, modseq: Option<u64>) {
        if let Ok(sel) = self.selected_mut() {
            if let Some(m) = modseq {
                sel.own_modseqs.push(m);
            }
            sel.dirty = true;
        }
    }
}

/// Writes `* seq FETCH (UID u FLAGS (...) [MODSEQ (m)])` for a flag change.
pub(crate) fn write_flags_fetch(
    out: &mut Vec<u8>,
    uidonly: bool,
    seq: u32,
    s: &store::MessageState,
    recent: bool,
    modseq: bool,
    with_uid: bool,
) {
    let mut line = super::fetch::FetchLine::start(out, uidonly, seq, s.uid, with_uid || modseq);
    let o = line.item();
    o.extend_from_slice(b"FLAGS ");
    response::flags(o, &s.flags, recent);
    if modseq {
        let o = line.item();
        o.extend_from_slice(b"MODSEQ (");
        push_u64(o, s.modseq);
        o.push(b')');
    }
    line.end();
}

/// Writes EXPUNGE responses (highest first) or one VANISHED response for the pending
/// expunges, and removes them from the view.
fn write_expunges(out: &mut Vec<u8>, sel: &mut Selected, vanished_style: bool) {
    let uids = std::mem::take(&mut sel.pending_expunges);
    let removed = sel.view.remove(&uids);
    sel.recent.retain(|r| !r.is_empty());
    if let Some(saved) = &mut sel.saved {
        saved.retain(|u| uids.binary_search(u).is_err());
    }
    if vanished_style {
        if let Some(set) = SequenceSet::from_numbers(removed.iter().map(|(_, u)| *u)) {
            out.extend_from_slice(b"* VANISHED ");
            out.extend_from_slice(set.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    } else {
        for (seq, _) in removed {
            out.extend_from_slice(b"* ");
            push_u32(out, seq);
            out.extend_from_slice(b" EXPUNGE\r\n");
        }
    }
}

/// FLAGS and PERMANENTFLAGS responses for a mailbox with the account's keywords.
pub(crate) fn write_flags_responses(
    out: &mut Vec<u8>,
    keywords: &[store::Keyword],
    read_only: bool,
) {
    const SYSTEM: &str = "\\Seen \\Answered \\Flagged \\Deleted \\Draft";
    const WELL_KNOWN: [&str; 5] = ["$Forwarded", "$Junk", "$NotJunk", "$Phishing", "$MDNSent"];
    let mut kws: Vec<&str> = WELL_KNOWN.to_vec();
    for k in keywords {
        if !kws.iter().any(|w| w.eq_ignore_ascii_case(k.as_str())) {
            kws.push(k.as_str());
        }
    }
    out.extend_from_slice(b"* FLAGS (");
    out.extend_from_slice(SYSTEM.as_bytes());
    for k in &kws {
        out.push(b' ');
        out.extend_from_slice(k.as_bytes());
    }
    out.extend_from_slice(b")\r\n* OK [PERMANENTFLAGS (");
    if !read_only {
        out.extend_from_slice(SYSTEM.as_bytes());
        for k in &kws {
            out.push(b' ');
            out.extend_from_slice(k.as_bytes());
        }
        out.extend_from_slice(b" \\*");
    }
    out.extend_from_slice(b")] flags that can be changed permanently\r\n");
}

/// The special-use attributes as LIST flags.
pub(crate) fn special_use_flags(s: store::SpecialUse) -> String {
    s.names().collect::<Vec<_>>().join(" ")
}

/// UIDs of the view in a UID set given by the client (`*` is the highest UID, or UIDNEXT-1
/// hmm: RFC 9051 §9 says the UID of the last message, or UIDNEXT for an empty mailbox).
pub(crate) fn uid_set_in_view(
    sel: &Selected,
    set: &SequenceSet,
) -> Option<Vec<RangeInclusive<u32>>> {
    let star = if sel.view.is_empty() { sel.uid_next } else { sel.view.max_uid() };
    let ranges = match set {
        SequenceSet::Saved => {
            return Some(
                UidSet::from_uids(sel.saved.clone().unwrap_or_default()).ranges().to_vec(),
            );
        }
        _ => set.resolve(star)?,
    };
    let mut out = Vec::new();
    for r in UidSet::from_ranges(ranges).ranges() {
        sel.view.uid_ranges_in(r.clone(), &mut out);
    }
    Some(out)
}
