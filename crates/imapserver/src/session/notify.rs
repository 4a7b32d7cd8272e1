//! NOTIFY (RFC 5465): the client names mailboxes and events, and the server reports them as
//! they happen, without IDLE: STATUS for message events in other mailboxes, LIST for mailbox
//! names and subscriptions, METADATA for annotations, and the usual EXISTS/EXPUNGE/FETCH for
//! the selected mailbox.

use std::collections::BTreeSet;

use store::{Change, Changes, MailboxId};

use super::search::filter_matches;
use super::{CmdResult, Failure, Session, ok};
use crate::command::{FetchAttr, MailboxFilter, NotifyEvent, NotifySet, StatusItem};
use crate::response;

/// Lines waiting beyond this make the session give up on notifications
/// (NOTIFICATIONOVERFLOW, RFC 5465 §5.8).
const MAX_PENDING: usize = 1000;

/// Event kinds, for matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    MessageNew,
    MessageExpunge,
    FlagChange,
    MailboxName,
    SubscriptionChange,
    MailboxMetadata,
    ServerMetadata,
}

/// The NOTIFY settings of a session and what waits to be sent.
#[derive(Debug, Default)]
pub(crate) struct Notify {
    groups: Vec<(MailboxFilter, Vec<String>, Vec<NotifyEvent>)>,
    /// Mailboxes (not the selected one) with message events, and which kinds.
    pending_status: BTreeSet<(u32, u8)>,
    /// Mailbox-level events: kind, mailbox name (store form), and the response without `* `.
    pending_lines: Vec<(Kind, Option<String>, Vec<u8>)>,
    overflow: bool,
}

fn kind_of(e: &NotifyEvent) -> Option<Kind> {
    Some(match e {
        NotifyEvent::MessageNew(_) => Kind::MessageNew,
        NotifyEvent::MessageExpunge => Kind::MessageExpunge,
        NotifyEvent::FlagChange => Kind::FlagChange,
        NotifyEvent::MailboxName => Kind::MailboxName,
        NotifyEvent::SubscriptionChange => Kind::SubscriptionChange,
        NotifyEvent::MailboxMetadataChange => Kind::MailboxMetadata,
        NotifyEvent::ServerMetadataChange => Kind::ServerMetadata,
        NotifyEvent::AnnotationChange => return None,
    })
}

impl Notify {
    /// Whether `kind` is asked for about mailbox `m` (RFC 5465 §6: the first group whose filter
    /// names the mailbox decides; NONE means no events).
    fn wants(&self, kind: Kind, m: &store::Mailbox, selected: Option<MailboxId>) -> bool {
        let message_event =
            matches!(kind, Kind::MessageNew | Kind::MessageExpunge | Kind::FlagChange);
        for (f, names, events) in &self.groups {
            let selected_filter =
                matches!(f, MailboxFilter::Selected | MailboxFilter::SelectedDelayed);
            if selected_filter {
                if Some(m.id) != selected || !message_event {
                    continue;
                }
            } else if Some(m.id) == selected && message_event {
                // Message events of the selected mailbox are only for the selected filters.
                continue;
            }
            if !filter_matches(f, names, m, selected) {
                continue;
            }
            return events.iter().any(|e| kind_of(e) == Some(kind));
        }
        false
    }

    /// The selected filter, if any: (delayed, its events).
    pub(crate) fn selected_filter(&self) -> Option<(bool, &[NotifyEvent])> {
        self.groups.iter().find_map(|(f, _, ev)| match f {
            MailboxFilter::Selected => Some((false, ev.as_slice())),
            MailboxFilter::SelectedDelayed => Some((true, ev.as_slice())),
            _ => None,
        })
    }

    /// Attributes to FETCH for new messages of the selected mailbox (`MessageNew (...)`).
    pub(crate) fn new_message_attrs(&self) -> Vec<FetchAttr> {
        match self.selected_filter() {
            Some((_, events)) => events
                .iter()
                .find_map(|e| match e {
                    NotifyEvent::MessageNew(a) => Some(a.clone()),
                    _ => None,
                })
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }

    fn push(&mut self, kind: Kind, name: Option<String>, line: Vec<u8>) {
        if self.pending_lines.len() >= MAX_PENDING {
            self.overflow = true;
            return;
        }
        self.pending_lines.push((kind, name, line));
    }

    /// Notes a committed transaction; returns whether something may be reported now.
    pub(crate) fn note_changes(&mut self, changes: &Changes, selected: Option<MailboxId>) -> bool {
        if self.groups.is_empty() && !matches!(changes.changes.first(), Some(Change::Overflow)) {
            return false;
        }
        let mut any = false;
        for c in &changes.changes {
            match c {
                Change::MessageAdded { mailbox, .. }
                | Change::Expunged { mailbox, .. }
                | Change::FlagsChanged { mailbox, .. } => {
                    let k = match c {
                        Change::MessageAdded { .. } => 0,
                        Change::Expunged { .. } => 1,
                        _ => 2,
                    };
                    if Some(*mailbox) == selected {
                        any |= self.selected_filter().is_some();
                    } else {
                        if self.pending_status.len() >= MAX_PENDING {
                            self.overflow = true;
                        }
                        self.pending_status.insert((mailbox.0, k));
                        any = true;
                    }
                }
                Change::MailboxCreated { name, .. } => {
                    let mut l = b"LIST () \"/\" ".to_vec();
                    l.extend_from_slice(name.as_bytes());
                    self.push(Kind::MailboxName, Some(name.clone()), Vec::new());
                    any = true;
                }
                Change::MailboxDeleted { name, .. } => {
                    self.push(Kind::MailboxName, Some(name.clone()), b"\\NonExistent".to_vec());
                    any = true;
                }
                Change::MailboxRenamed { old_name, new_name, .. } => {
                    self.push(
                        Kind::MailboxName,
                        Some(new_name.clone()),
                        old_name.as_bytes().to_vec(),
                    );
                    any = true;
                }
                Change::Subscribed { name } => {
                    self.push(
                        Kind::SubscriptionChange,
                        Some(name.clone()),
                        b"\\Subscribed".to_vec(),
                    );
                    any = true;
                }
                Change::Unsubscribed { name } => {
                    self.push(Kind::SubscriptionChange, Some(name.clone()), Vec::new());
                    any = true;
                }
                Change::AnnotationsChanged { mailbox, names } => {
                    let kind = if mailbox.is_some() {
                        Kind::MailboxMetadata
                    } else {
                        Kind::ServerMetadata
                    };
                    let id = mailbox.map(|m| m.0.to_string()).unwrap_or_default();
                    let mut payload = id.into_bytes();
                    for n in names {
                        payload.push(0);
                        payload.extend_from_slice(n.as_bytes());
                    }
                    self.push(kind, None, payload);
                    any = true;
                }
                Change::Overflow => {
                    self.overflow = true;
                    any = true;
                }
                _ => {}
            }
        }
        any
    }
}

impl Session {
    pub(super) fn cmd_notify(&mut self, set: Option<NotifySet>) -> CmdResult {
        let Some(set) = set else {
            if let Some(a) = self.auth_mut() {
                a.notify = Some(Notify::default());
            }
            return ok("NOTIFY completed");
        };
        let mut selected_groups = 0;
        let mut groups = Vec::new();
        for g in set.groups {
            let events = g.events.unwrap_or_default();
            let has = |f: fn(&NotifyEvent) -> bool| events.iter().any(f);
            if has(|e| matches!(e, NotifyEvent::AnnotationChange)) {
                return Err(Failure::no_code(
                    "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange)",
                    "AnnotationChange is not supported",
                ));
            }
            let new = has(|e| matches!(e, NotifyEvent::MessageNew(_)));
            let expunge = has(|e| matches!(e, NotifyEvent::MessageExpunge));
            if new != expunge {
                return Err(Failure::bad(
                    "MessageNew and MessageExpunge go together (RFC 5465 section 5)",
                ));
            }
            if has(|e| matches!(e, NotifyEvent::FlagChange)) && !new {
                return Err(Failure::bad("FlagChange needs MessageNew and MessageExpunge"));
            }
            if matches!(g.filter, MailboxFilter::Selected | MailboxFilter::SelectedDelayed) {
                selected_groups += 1;
                if has(|e| {
                    !matches!(
                        e,
                        NotifyEvent::MessageNew(_)
                            | NotifyEvent::MessageExpunge
                            | NotifyEvent::FlagChange
                    )
                }) {
                    return Err(Failure::bad("selected filters take only message events"));
                }
            }
            let names = match &g.filter {
                MailboxFilter::Subtree(n)
                | MailboxFilter::SubtreeOne(n)
                | MailboxFilter::Mailboxes(n) => {
                    n.iter().map(|n| self.store_name(n)).collect::<Result<Vec<_>, _>>()?
                }
                _ => Vec::new(),
            };
            groups.push((g.filter, names, events));
        }
        if selected_groups > 1 {
            return Err(Failure::bad("only one selected or selected-delayed filter"));
        }
        let n = Notify { groups, ..Default::default() };
        if set.status {
            // Current STATUS of the mailboxes whose new messages are to be reported.
            let account = self.acct()?;
            let snap = account.snapshot()?;
            let selected = self.selected().ok().map(|s| s.id);
            let mut lines = Vec::new();
            for m in snap.mailboxes()? {
                if m.selectable && Some(m.id) != selected && n.wants(Kind::MessageNew, &m, selected)
                {
                    lines.push(self.status_line(&snap, &m, &self.notify_status_items())?);
                }
            }
            drop(snap);
            for l in lines {
                self.untagged(&l);
            }
        }
        if let Some(a) = self.auth_mut() {
            a.notify = Some(n);
        }
        ok("NOTIFY completed")
    }

    fn notify_status_items(&self) -> Vec<StatusItem> {
        let mut items = vec![
            StatusItem::Messages,
            StatusItem::UidNext,
            StatusItem::UidValidity,
            StatusItem::Unseen,
        ];
        if self.enabled.condstore {
            items.push(StatusItem::HighestModseq);
        }
        items
    }

    /// Sends what NOTIFY collected.
    pub(crate) fn flush_notify_events(&mut self) {
        let Some(a) = self.auth_mut() else { return };
        let Some(n) = a.notify.as_mut() else { return };
        if n.overflow {
            // RFC 5465 §5.8: tell the client, and stop notifying until it asks again.
            a.notify = Some(Notify::default());
            self.out.extend_from_slice(
                b"* OK [NOTIFICATIONOVERFLOW] notifications lost; resynchronize\r\n",
            );
            return;
        }
        if n.pending_status.is_empty() && n.pending_lines.is_empty() {
            return;
        }
        let statuses = std::mem::take(&mut n.pending_status);
        let lines = std::mem::take(&mut n.pending_lines);
        let Ok(account) = self.acct() else { return };
        let Ok(snap) = account.snapshot() else { return };
        let selected = self.selected().ok().map(|s| s.id);
        let utf8 = self.utf8();
        let items = self.notify_status_items();
        let mut out: Vec<Vec<u8>> = Vec::new();
        let Some(n) = self.auth().and_then(|a| a.notify.as_ref()) else { return };
        let mut done = BTreeSet::new();
        for (id, k) in statuses {
            let kind = match k {
                0 => Kind::MessageNew,
                1 => Kind::MessageExpunge,
                _ => Kind::FlagChange,
            };
            let Ok(Some(m)) = snap.mailbox_by_id(MailboxId(id)) else { continue };
            if !done.contains(&id) && n.wants(kind, &m, selected) {
                done.insert(id);
                if let Ok(l) = self.status_line(&snap, &m, &items) {
                    out.push(l);
                }
            }
        }
        for (kind, name, payload) in lines {
            match kind {
                Kind::MailboxName | Kind::SubscriptionChange => {
                    let Some(name) = name else { continue };
                    let m = snap.mailbox(&name).ok().flatten();
                    let probe = m.clone().unwrap_or(store::Mailbox {
                        id: MailboxId(0),
                        name: name.clone(),
                        uid_validity: 0,
                        uid_next: 0,
                        special_use: store::SpecialUse::NONE,
                        selectable: false,
                        subscribed: false,
                        counts: Default::default(),
                        highest_modseq: 0,
                    });
                    if !n.wants(kind, &probe, None) {
                        continue;
                    }
                    let mut l = b"LIST (".to_vec();
                    let mut ext = None;
                    if kind == Kind::MailboxName {
                        if payload == b"\\NonExistent" {
                            l.extend_from_slice(b"\\NonExistent");
                        } else if !payload.is_empty() {
                            ext = Some(String::from_utf8_lossy(&payload).into_owned());
                        }
                    } else {
                        l.extend_from_slice(&payload);
                    }
                    l.extend_from_slice(b") \"/\" ");
                    response::mailbox(&mut l, &name, utf8);
                    if let Some(old) = ext {
                        // RFC 5465 §5.4: a rename carries the old name.
                        l.extend_from_slice(b" (\"OLDNAME\" (");
                        response::mailbox(&mut l, &old, utf8);
                        l.extend_from_slice(b"))");
                    }
                    out.push(l);
                }
                Kind::MailboxMetadata | Kind::ServerMetadata => {
                    let mut parts = payload.split(|&b| b == 0);
                    let id = parts
                        .next()
                        .and_then(|s| std::str::from_utf8(s).ok())
                        .and_then(|s| s.parse::<u32>().ok());
                    let entries: Vec<&[u8]> = parts.collect();
                    let mut l = b"METADATA ".to_vec();
                    match id {
                        Some(id) => {
                            let Ok(Some(m)) = snap.mailbox_by_id(MailboxId(id)) else { continue };
                            if !n.wants(kind, &m, None) {
                                continue;
                            }
                            response::mailbox(&mut l, &m.name, utf8);
                        }
                        None => {
                            let any = n.groups.iter().any(|(_, _, ev)| {
                                ev.iter().any(|e| kind_of(e) == Some(Kind::ServerMetadata))
                            });
                            if !any {
                                continue;
                            }
                            l.extend_from_slice(b"\"\"");
                        }
                    }
                    l.extend_from_slice(b" (");
                    for (i, e) in entries.iter().enumerate() {
                        if i > 0 {
                            l.push(b' ');
                        }
                        response::astring(&mut l, e, utf8);
                    }
                    l.push(b')');
                    out.push(l);
                }
                _ => {}
            }
        }
        drop(snap);
        for l in out {
            self.untagged(&l);
        }
    }
}
