//! Mailbox commands: LIST (with LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, LIST-METADATA), LSUB,
//! CREATE (CREATE-SPECIAL-USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, and QUOTA
//! (RFC 9208).

use std::collections::{BTreeMap, BTreeSet};

use store::{MailboxId, SpecialUse};

use super::selected::special_use_flags;
use super::{CmdResult, Failure, Session, ok};
use crate::command::{ListCommand, MailboxName, StatusItem};
use crate::response;
use crate::seqset::{push_u32, push_u64};

/// A mailbox pattern (`*` anything, `%` anything but the separator) matched against names as
/// shown to the client.
pub(crate) struct Pattern {
    parts: Vec<PatternPart>,
}

#[derive(Debug, PartialEq)]
enum PatternPart {
    Literal(String),
    Star,
    Percent,
}

impl Pattern {
    /// `reference` and `pattern` combined (RFC 9051 §6.3.9: the pattern is interpreted
    /// relative to the reference), with a leading INBOX case-insensitive.
    pub(crate) fn new(reference: &str, pattern: &str) -> Pattern {
        let mut full = String::new();
        if !reference.is_empty() && !pattern.starts_with('/') {
            full.push_str(reference);
        }
        full.push_str(pattern);
        // INBOX is case-insensitive, also as the first level of a child's name.
        if full.is_char_boundary(5) && full.len() >= 5 && full[..5].eq_ignore_ascii_case("inbox") {
            let rest = &full[5..];
            if rest.is_empty() || rest.starts_with('/') {
                full = format!("INBOX{rest}");
            }
        }
        let mut parts = Vec::new();
        let mut lit = String::new();
        for c in full.chars() {
            match c {
                '*' | '%' => {
                    if !lit.is_empty() {
                        parts.push(PatternPart::Literal(std::mem::take(&mut lit)));
                    }
                    parts.push(if c == '*' { PatternPart::Star } else { PatternPart::Percent });
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(PatternPart::Literal(lit));
        }
        Pattern { parts }
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        matches(&self.parts, name)
    }
}

fn matches(parts: &[PatternPart], name: &str) -> bool {
    match parts.first() {
        None => name.is_empty(),
        Some(PatternPart::Literal(l)) => {
            name.starts_with(l.as_str()) && matches(&parts[1..], &name[l.len()..])
        }
        Some(PatternPart::Star) => name
            .char_indices()
            .map(|(i, _)| i)
            .chain([name.len()])
            .any(|i| matches(&parts[1..], &name[i..])),
        Some(PatternPart::Percent) => {
            let end = name.find('/').unwrap_or(name.len());
            name[..end]
                .char_indices()
                .map(|(i, _)| i)
                .chain([end])
                .any(|i| matches(&parts[1..], &name[i..]))
        }
    }
}

/// What LIST knows of one name.
#[derive(Default)]
struct Entry {
    mailbox: Option<store::Mailbox>,
    subscribed: bool,
    has_children: bool,
    has_subscribed_child: bool,
}

impl Session {
    pub(super) fn cmd_list(&mut self, l: &ListCommand) -> CmdResult {
        let utf8 = self.utf8();
        let decode = |n: &MailboxName| -> String {
            if utf8 {
                n.0.clone()
            } else {
                crate::utf7::decode(&n.0).unwrap_or_else(|_| n.0.clone())
            }
        };
        let reference = decode(&l.reference);
        // Basic LIST with an empty pattern: the hierarchy delimiter (RFC 9051 §6.3.9).
        if !l.extended && !l.pattern_list && l.patterns.len() == 1 && l.patterns[0].0.is_empty() {
            self.untagged(b"LIST (\\Noselect) \"/\" \"\"");
            return ok("LIST completed");
        }
        let patterns: Vec<Pattern> = l
            .patterns
            .iter()
            .filter(|p| !p.0.is_empty())
            .map(|p| Pattern::new(&reference, &decode(p)))
            .collect();
        let account = self.acct()?;
        let snap = account.snapshot()?;
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        for mb in snap.mailboxes()? {
            let shown = response::mailbox_display(&mb.name, true);
            for p in parents(&shown) {
                entries.entry(p.to_string()).or_default().has_children = true;
            }
            let e = entries.entry(shown).or_default();
            e.subscribed = mb.subscribed;
            e.mailbox = Some(mb);
        }
        for name in snap.subscriptions()? {
            let shown = response::mailbox_display(&name, true);
            for p in parents(&shown) {
                entries.entry(p.to_string()).or_default().has_subscribed_child = true;
            }
            entries.entry(shown).or_default().subscribed = true;
        }
        let mut lines: Vec<Vec<u8>> = Vec::new();
        // INBOX (and below it) first, then by name.
        let mut ordered: Vec<(&String, &Entry)> = entries.iter().collect();
        ordered.sort_by_key(|(n, _)| {
            (!(n.as_str() == "INBOX" || n.starts_with("INBOX/")), n.as_str())
        });
        for (name, e) in ordered {
            if !patterns.iter().any(|p| p.matches(name)) {
                continue;
            }
            let mut flags: Vec<&str> = Vec::new();
            let mut childinfo = false;
            if l.select_subscribed {
                if e.subscribed {
                    flags.push("\\Subscribed");
                } else if l.recursive_match && e.has_subscribed_child {
                    childinfo = true;
                } else {
                    continue;
                }
            } else if e.mailbox.is_none() {
                continue;
            }
            if l.select_special_use && e.mailbox.as_ref().is_none_or(|m| m.special_use.is_empty()) {
                continue;
            }
            match &e.mailbox {
                None => flags.push("\\NonExistent"),
                Some(m) if !m.selectable => flags.push("\\Noselect"),
                Some(_) => {}
            }
            if e.mailbox.is_some() {
                flags.push(if e.has_children { "\\HasChildren" } else { "\\HasNoChildren" });
            }
            if l.return_subscribed && !l.select_subscribed && e.subscribed {
                flags.push("\\Subscribed");
            }
            let special =
                e.mailbox.as_ref().map(|m| special_use_flags(m.special_use)).unwrap_or_default();
            let mut line = b"LIST (".to_vec();
            line.extend_from_slice(flags.join(" ").as_bytes());
            if !special.is_empty() {
                if !flags.is_empty() {
                    line.push(b' ');
                }
                line.extend_from_slice(special.as_bytes());
            }
            line.extend_from_slice(b") \"/\" ");
            let store_name =
                e.mailbox.as_ref().map(|m| m.name.clone()).unwrap_or_else(|| name.clone());
            response::mailbox(&mut line, &store_name, utf8);
            if childinfo {
                line.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
            }
            lines.push(line);
            if let Some(m) = &e.mailbox
                && m.selectable
            {
                if let Some(items) = &l.return_status {
                    let status = self.status_line(&snap, m, items)?;
                    lines.push(status);
                }
                if let Some(names) = &l.return_metadata {
                    lines.push(self.metadata_line(&snap, Some(m), names)?);
                }
            }
        }
        drop(snap);
        for line in lines {
            self.untagged(&line);
        }
        ok("LIST completed")
    }

    pub(super) fn cmd_lsub(&mut self, reference: &MailboxName, pattern: &MailboxName) -> CmdResult {
        let utf8 = self.utf8();
        let decode = |n: &MailboxName| -> String {
            if utf8 {
                n.0.clone()
            } else {
                crate::utf7::decode(&n.0).unwrap_or_else(|_| n.0.clone())
            }
        };
        let pat = Pattern::new(&decode(reference), &decode(pattern));
        let account = self.acct()?;
        let snap = account.snapshot()?;
        let subs: BTreeSet<String> = snap
            .subscriptions()?
            .into_iter()
            .map(|n| response::mailbox_display(&n, true))
            .collect();
        let mut out: BTreeMap<String, bool> = BTreeMap::new();
        for name in &subs {
            if pat.matches(name) {
                let selectable = snap.mailbox(name)?.is_some_and(|m| m.selectable);
                out.insert(name.clone(), selectable);
            } else {
                // RFC 3501 §6.3.9: with %, a parent of a subscribed name is listed as
                // \Noselect when the name itself does not match.
                for p in parents(name) {
                    if pat.matches(p) && !subs.contains(p) {
                        out.entry(p.to_string()).or_insert(false);
                    }
                }
            }
        }
        drop(snap);
        for (name, selectable) in out {
            let mut line = b"LSUB (".to_vec();
            if !selectable {
                line.extend_from_slice(b"\\Noselect");
            }
            line.extend_from_slice(b") \"/\" ");
            response::mailbox(&mut line, &name, utf8);
            self.untagged(&line);
        }
        ok("LSUB completed")
    }

    pub(super) fn cmd_create(
        &mut self,
        mailbox: &MailboxName,
        special_use: &[String],
    ) -> CmdResult {
        // A trailing separator says the name will have children (RFC 9051 §6.3.4).
        let trimmed = MailboxName(mailbox.0.strip_suffix('/').unwrap_or(&mailbox.0).to_string());
        let name = self.store_name(&trimmed)?;
        if name == "Inbox" {
            return Err(Failure::no_code("ALREADYEXISTS", "INBOX always exists"));
        }
        let mut su = SpecialUse::NONE;
        for s in special_use {
            su = su
                | SpecialUse::from_name(s).ok_or_else(|| {
                    Failure::no_code("USEATTR", format!("unsupported special-use attribute {s}"))
                })?;
        }
        let account = self.acct()?;
        account.create_mailbox(&name, su)?;
        // New mailboxes are subscribed, so clients that show subscribed ones see them.
        account.subscribe(&name)?;
        ok("CREATE completed")
    }

    pub(super) fn cmd_delete(&mut self, mailbox: &MailboxName) -> CmdResult {
        let name = self.store_name(mailbox)?;
        let account = self.acct()?;
        let id = account.snapshot()?.mailbox(&name)?.map(|m| m.id);
        if let Some(id) = id {
            // Its messages go: untrained first, as for an expunge.
            self.train(|junk| junk.forget_uids(&account, id, &store::UidSet::all()));
        }
        account.delete_mailbox(&name)?;
        if let Some(id) = id {
            account.remove_annotations(id)?;
        }
        ok("DELETE completed")
    }

    pub(super) fn cmd_rename(&mut self, from: &MailboxName, to: &MailboxName) -> CmdResult {
        let from = self.store_name(from)?;
        let to = self.store_name(to)?;
        if to == "Inbox" {
            return Err(Failure::no_code("ALREADYEXISTS", "cannot rename to INBOX"));
        }
        self.acct()?.rename_mailbox(&from, &to)?;
        ok("RENAME completed")
    }

    pub(super) fn cmd_subscribe(&mut self, mailbox: &MailboxName, subscribe: bool) -> CmdResult {
        let name = self.store_name(mailbox)?;
        let account = self.acct()?;
        if subscribe {
            account.subscribe(&name)?;
            ok("SUBSCRIBE completed")
        } else {
            account.unsubscribe(&name)?;
            ok("UNSUBSCRIBE completed")
        }
    }

    pub(super) fn cmd_status(&mut self, mailbox: &MailboxName, items: &[StatusItem]) -> CmdResult {
        let name = self.store_name(mailbox)?;
        let account = self.acct()?;
        let snap = account.snapshot()?;
        let mb = snap.mailbox(&name)?.filter(|m| m.selectable).ok_or_else(|| {
            Failure::no_code("NONEXISTENT", format!("mailbox {name:?} does not exist"))
        })?;
        let line = self.status_line(&snap, &mb, items)?;
        drop(snap);
        self.untagged(&line);
        ok("STATUS completed")
    }

    /// `STATUS mailbox (item value ...)`, without `* `.
    pub(crate) fn status_line(
        &self,
        snap: &store::Snapshot<'_>,
        mb: &store::Mailbox,
        items: &[StatusItem],
    ) -> Result<Vec<u8>, Failure> {
        let mut line = b"STATUS ".to_vec();
        response::mailbox(&mut line, &mb.name, self.utf8());
        line.extend_from_slice(b" (");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            line.extend_from_slice(item.name().as_bytes());
            line.push(b' ');
            match item {
                StatusItem::Messages => push_u64(&mut line, mb.counts.messages),
                StatusItem::UidNext => push_u32(&mut line, mb.uid_next),
                StatusItem::UidValidity => push_u32(&mut line, mb.uid_validity),
                StatusItem::Unseen => push_u64(&mut line, mb.counts.unseen),
                StatusItem::Deleted => push_u64(&mut line, mb.counts.deleted),
                StatusItem::Size => push_u64(&mut line, mb.counts.size),
                StatusItem::HighestModseq => push_u64(&mut line, mb.highest_modseq),
                StatusItem::AppendLimit => match self.config.append_limit {
                    Some(l) => push_u64(&mut line, l),
                    None => line.extend_from_slice(b"NIL"),
                },
                StatusItem::Recent => push_u32(&mut line, recent_count(snap, mb, self)?),
                StatusItem::DeletedStorage => push_u64(&mut line, deleted_storage(snap, mb.id)?),
            }
        }
        line.push(b')');
        Ok(line)
    }

    pub(super) fn cmd_getquotaroot(&mut self, mailbox: &MailboxName) -> CmdResult {
        let name = self.store_name(mailbox)?;
        let account = self.acct()?;
        if account.snapshot()?.mailbox(&name)?.is_none() {
            return Err(Failure::no_code(
                "NONEXISTENT",
                format!("mailbox {name:?} does not exist"),
            ));
        }
        let mut line = b"QUOTAROOT ".to_vec();
        response::mailbox(&mut line, &name, self.utf8());
        // One quota root, "", for the whole account (RFC 9208 §4.3).
        line.extend_from_slice(b" \"\"");
        self.untagged(&line);
        let q = self.quota_line(&account)?;
        self.untagged(&q);
        ok("GETQUOTAROOT completed")
    }

    pub(super) fn cmd_getquota(&mut self, root: &str) -> CmdResult {
        if !root.is_empty() {
            return Err(Failure::no_code("NONEXISTENT", "no such quota root; the root is \"\""));
        }
        let account = self.acct()?;
        let q = self.quota_line(&account)?;
        self.untagged(&q);
        ok("GETQUOTA completed")
    }

    /// `QUOTA "" (STORAGE used limit)`, in KiB (RFC 9208 §5.1); no resources without a quota.
    fn quota_line(&self, account: &store::Account) -> Result<Vec<u8>, Failure> {
        let mut line = b"QUOTA \"\" (".to_vec();
        if let Some(limit) = account.quota() {
            let used = account.snapshot()?.usage()?;
            line.extend_from_slice(b"STORAGE ");
            push_u64(&mut line, used.div_ceil(1024));
            line.push(b' ');
            push_u64(&mut line, limit / 1024);
        }
        line.push(b')');
        Ok(line)
    }
}

/// `a/b/c` → `a`, `a/b`.
fn parents(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('/').map(move |(i, _)| &name[..i])
}

fn recent_count(
    snap: &store::Snapshot<'_>,
    mb: &store::Mailbox,
    s: &Session,
) -> Result<u32, Failure> {
    // For the selected mailbox, what this session holds as recent; elsewhere, messages no
    // session has claimed yet.
    if let Ok(sel) = s.selected()
        && sel.id == mb.id
    {
        return Ok(sel.recent_count());
    }
    let claimed = super::selected::recent_claimed(&s.acct()?, mb.id);
    if claimed == 0 {
        return Ok(u32::try_from(mb.counts.messages).unwrap_or(u32::MAX));
    }
    // Only the tail above the claimed UIDs is read (usually a few new messages).
    let mut n = 0;
    let tail = store::UidSet::from_ranges([claimed.saturating_add(1)..=u32::MAX]);
    snap.for_each_state(mb.id, &tail, |_| n += 1)?;
    Ok(n)
}

fn deleted_storage(snap: &store::Snapshot<'_>, id: MailboxId) -> Result<u64, Failure> {
    let mut ids = Vec::new();
    snap.for_each_state(id, &store::UidSet::all(), |s| {
        if s.flags.system.contains(store::SystemFlags::DELETED) {
            ids.push(s.id);
        }
    })?;
    let mut total = 0;
    for i in ids {
        if let Some(m) = snap.message(i)? {
            total += m.size;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = Pattern::new("", "*");
        assert!(p.matches("INBOX") && p.matches("a/b/c"));
        let p = Pattern::new("", "%");
        assert!(p.matches("INBOX") && !p.matches("a/b"));
        let p = Pattern::new("a/", "%");
        assert!(p.matches("a/b") && !p.matches("a/b/c") && !p.matches("a"));
        let p = Pattern::new("", "inbox");
        assert!(p.matches("INBOX"));
        let p = Pattern::new("", "Inbox/%");
        assert!(p.matches("INBOX/Sub"));
        let p = Pattern::new("", "a*z");
        assert!(p.matches("a/x/z") && !p.matches("a/x/y"));
        let p = Pattern::new("", "a%z");
        assert!(p.matches("axz") && !p.matches("a/z"));
        assert!(!Pattern::new("", "Entwürfe").matches("Entwurfe"));
        assert!(Pattern::new("", "Entw%").matches("Entwürfe"));
        assert!(Pattern::new("", "").matches(""));
    }
}
