//! Mailboxes: names and their hierarchy, create, rename, delete, subscriptions, special use.

use crate::account::Tx;
use crate::changes::Change;
use crate::codec::{self, MailboxCounts, MailboxRecord};
use crate::types::{MailboxId, SpecialUse};
use crate::{Account, Error};

/// The longest mailbox name we accept, in bytes (LMDB keys are at most 511 bytes).
pub const MAX_MAILBOX_NAME_LEN: usize = 400;

/// Validates a mailbox name and returns it in the form it is stored in.
///
/// Names are Unicode with `/` separating hierarchy levels. `INBOX` is case-insensitive (RFC 9051
/// §5.1), also as the first level of a child's name, and stored as `Inbox`. Rejected: empty
/// names and levels (`a//b`, `/a`, `a/`), `.` and `..` levels (names become directory names on
/// export), control characters, and the LIST wildcards `%` and `*`.
pub fn normalize_mailbox_name(name: &str) -> Result<String, Error> {
    let invalid = |reason| Error::InvalidMailboxName { name: name.to_string(), reason };
    if name.is_empty() {
        return Err(invalid("empty"));
    }
    if name.len() > MAX_MAILBOX_NAME_LEN {
        return Err(invalid("longer than 400 bytes"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(invalid("contains a control character"));
    }
    if name.contains(['%', '*']) {
        return Err(invalid("contains % or *"));
    }
    let mut out = String::with_capacity(name.len());
    for (i, level) in name.split('/').enumerate() {
        if level.is_empty() {
            return Err(invalid("empty hierarchy level (leading, trailing or double /)"));
        }
        if level == "." || level == ".." {
            return Err(invalid("hierarchy level . or .."));
        }
        if i > 0 {
            out.push('/');
            out.push_str(level);
        } else if level.eq_ignore_ascii_case("inbox") {
            out.push_str("Inbox");
        } else {
            out.push_str(level);
        }
    }
    Ok(out)
}

/// The names of the parents of `name`, outermost first: `a/b/c` gives `a`, `a/b`.
fn parents(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('/').map(move |(i, _)| &name[..i])
}

impl Tx<'_> {
    /// Adds a new selectable mailbox record and its name; the name must be free.
    pub(crate) fn create_mailbox_record(
        &mut self,
        name: &str,
        special_use: SpecialUse,
    ) -> Result<u32, Error> {
        let id = self.meta(codec::META_NEXT_MAILBOX_ID)?.max(1);
        self.put_meta(codec::META_NEXT_MAILBOX_ID, id + 1)?;
        let id = u32::try_from(id).map_err(|_| Error::InvalidMailboxName {
            name: name.to_string(),
            reason: "account has used up its 2^32 mailbox ids",
        })?;
        let uid_validity = self.next_uid_validity()?;
        let created_modseq = self.modseq()?;
        let rec = MailboxRecord {
            name: name.to_string(),
            uid_validity,
            uid_next: 1,
            special_use: special_use.bits(),
            selectable: true,
            created_modseq,
            counts: MailboxCounts::default(),
        };
        self.db()
            .mailbox_names
            .put(&mut self.txn, name.as_bytes(), &codec::u32_key(id))
            .map_err(self.err("write mailbox name"))?;
        self.set_mailbox(id, rec);
        self.changes
            .push(Change::MailboxCreated { mailbox: MailboxId(id), name: name.to_string() });
        Ok(id)
    }

    fn next_uid_validity(&mut self) -> Result<u32, Error> {
        let v = self.meta(codec::META_NEXT_UIDVALIDITY)?.max(1);
        self.put_meta(codec::META_NEXT_UIDVALIDITY, v + 1)?;
        Ok(v as u32)
    }

    /// Creates the missing parents of `name` as ordinary mailboxes (RFC 9051 §6.3.4: "the
    /// server SHOULD create any superior hierarchical names that are needed").
    fn create_parents(&mut self, name: &str) -> Result<(), Error> {
        for p in parents(name) {
            if self.mailbox_id_by_name(p)?.is_none() {
                self.create_mailbox_record(p, SpecialUse::NONE)?;
            }
        }
        Ok(())
    }

    /// Names and ids of the mailboxes below `name` (at any depth).
    fn children(&self, name: &str) -> Result<Vec<(String, u32)>, Error> {
        let prefix = format!("{name}/");
        let mut out = Vec::new();
        let iter = self
            .db()
            .mailbox_names
            .prefix_iter(&self.txn, prefix.as_bytes())
            .map_err(self.err("list mailboxes"))?;
        for item in iter {
            let (k, v) = item.map_err(self.err("list mailboxes"))?;
            let name = String::from_utf8(k.to_vec())
                .map_err(|_| self.inner.corrupt("mailbox_names", k))?;
            let id =
                codec::read_u32_be(v).ok_or_else(|| self.inner.corrupt("mailbox_names", &name))?;
            out.push((name, id));
        }
        Ok(out)
    }

    /// Removes every message of a mailbox and its change history (used when the mailbox goes
    /// away or becomes `\Noselect`: a later mailbox with the name gets a new UIDVALIDITY, so no
    /// tombstones are needed).
    fn remove_all_messages(&mut self, mailbox: u32) -> Result<(), Error> {
        let prefix = codec::u32_key(mailbox);
        let mut ids = Vec::new();
        {
            let iter = self
                .db()
                .uids
                .prefix_iter(&self.txn, &prefix)
                .map_err(self.err("list messages"))?;
            for item in iter {
                let (k, v) = item.map_err(self.err("list messages"))?;
                let (id, ..) =
                    codec::decode_state_parts(v).ok_or_else(|| self.inner.corrupt("uids", k))?;
                ids.push(id);
            }
        }
        for id in ids {
            let key = codec::u64_key(id);
            let rec = self.db().messages.get(&self.txn, &key).map_err(self.err("read message"))?;
            if let Some(rec) = rec.and_then(codec::decode::<codec::MessageRecord>) {
                self.size_delta -= rec.size as i64;
            }
            self.db().messages.delete(&mut self.txn, &key).map_err(self.err("delete message"))?;
            self.remove_message_bytes(id)?;
        }
        let end = codec::u32_key(mailbox + 1);
        let range = (std::ops::Bound::Included(&prefix[..]), std::ops::Bound::Excluded(&end[..]));
        self.db().uids.delete_range(&mut self.txn, &range).map_err(self.err("delete messages"))?;
        self.db()
            .changes
            .delete_range(&mut self.txn, &range)
            .map_err(self.err("delete changes"))?;
        Ok(())
    }
}

impl Account {
    /// Creates a mailbox, and any missing parents (RFC 9051 §6.3.4). Creating a name that
    /// exists only as `\Noselect` (a deleted mailbox that had children) makes it selectable
    /// again, with a new UIDVALIDITY.
    pub fn create_mailbox(&self, name: &str, special_use: SpecialUse) -> Result<MailboxId, Error> {
        let name = normalize_mailbox_name(name)?;
        self.inner.write(|tx| {
            tx.create_parents(&name)?;
            if let Some(id) = tx.mailbox_id_by_name(&name)? {
                let uid_validity = tx.next_uid_validity()?;
                let modseq = tx.modseq()?;
                let rec = tx.existing_mailbox(id)?;
                if rec.selectable {
                    return Err(Error::MailboxExists { name });
                }
                rec.selectable = true;
                rec.uid_validity = uid_validity;
                rec.uid_next = 1;
                rec.created_modseq = modseq;
                rec.special_use = special_use.bits();
                rec.counts = MailboxCounts::default();
                tx.changes.push(Change::MailboxCreated { mailbox: MailboxId(id), name });
                return Ok(MailboxId(id));
            }
            tx.create_mailbox_record(&name, special_use).map(MailboxId)
        })
    }

    /// Creates the mailbox unless it exists; returns its id either way.
    pub fn ensure_mailbox(&self, name: &str) -> Result<MailboxId, Error> {
        let normalized = normalize_mailbox_name(name)?;
        if let Some(mb) = self.snapshot()?.mailbox(&normalized)?.filter(|mb| mb.selectable) {
            return Ok(mb.id);
        }
        match self.create_mailbox(&normalized, SpecialUse::NONE) {
            Err(Error::MailboxExists { .. }) => self
                .snapshot()?
                .mailbox(&normalized)?
                .map(|m| m.id)
                .ok_or(Error::MailboxNotFound { name: normalized }),
            r => r,
        }
    }

    /// Renames a mailbox and all mailboxes below it; they keep their ids, UIDVALIDITY and UIDs,
    /// and their subscriptions move with them. Missing parents of the new name are created.
    ///
    /// Renaming INBOX is special (RFC 9051 §6.3.6): its messages move to a new mailbox with the
    /// new name and INBOX stays, empty; mailboxes below INBOX are not affected.
    pub fn rename_mailbox(&self, old: &str, new: &str) -> Result<(), Error> {
        let old = normalize_mailbox_name(old)?;
        let new = normalize_mailbox_name(new)?;
        if new == old || new.starts_with(&format!("{old}/")) {
            return Err(Error::RenameIntoSelf { from: old, to: new });
        }
        if old == "Inbox" {
            let target = self.inner.write(|tx| {
                if tx.mailbox_id_by_name(&new)?.is_some() {
                    return Err(Error::MailboxExists { name: new.clone() });
                }
                tx.create_parents(&new)?;
                tx.create_mailbox_record(&new, SpecialUse::NONE)
            })?;
            let inbox =
                self.snapshot()?.mailbox("Inbox")?.ok_or(Error::MailboxNotFound { name: old })?;
            self.move_messages(inbox.id, &crate::UidSet::all(), MailboxId(target))?;
            return Ok(());
        }
        self.inner.write(|tx| {
            let id = tx
                .mailbox_id_by_name(&old)?
                .ok_or_else(|| Error::MailboxNotFound { name: old.clone() })?;
            if tx.mailbox_id_by_name(&new)?.is_some() {
                return Err(Error::MailboxExists { name: new.clone() });
            }
            let mut renames = vec![(old.clone(), id)];
            renames.extend(tx.children(&old)?);
            let mut targets = Vec::with_capacity(renames.len());
            for (name, id) in renames {
                let target = format!("{new}{}", &name[old.len()..]);
                if tx.mailbox_id_by_name(&target)?.is_some() {
                    return Err(Error::MailboxExists { name: target });
                }
                targets.push((name, target, id));
            }
            tx.create_parents(&new)?;
            for (name, target, id) in targets {
                tx.db()
                    .mailbox_names
                    .delete(&mut tx.txn, name.as_bytes())
                    .map_err(tx.err("delete mailbox name"))?;
                tx.db()
                    .mailbox_names
                    .put(&mut tx.txn, target.as_bytes(), &codec::u32_key(id))
                    .map_err(tx.err("write mailbox name"))?;
                let rec = tx.existing_mailbox(id)?;
                rec.name = target.clone();
                if tx
                    .db()
                    .subscriptions
                    .delete(&mut tx.txn, name.as_bytes())
                    .map_err(tx.err("delete subscription"))?
                {
                    tx.db()
                        .subscriptions
                        .put(&mut tx.txn, target.as_bytes(), &[])
                        .map_err(tx.err("write subscription"))?;
                }
                tx.changes.push(Change::MailboxRenamed {
                    mailbox: MailboxId(id),
                    old_name: name,
                    new_name: target,
                });
            }
            Ok(())
        })
    }

    /// Deletes a mailbox and its messages (RFC 9051 §6.3.4). A mailbox with children is emptied
    /// and kept as `\Noselect` so the children stay reachable; deleting a `\Noselect` mailbox
    /// that still has children fails. Subscriptions are left alone, as IMAP expects.
    pub fn delete_mailbox(&self, name: &str) -> Result<(), Error> {
        let name = normalize_mailbox_name(name)?;
        if name == "Inbox" {
            return Err(Error::InboxNotDeletable);
        }
        self.inner.write(|tx| {
            let id = tx
                .mailbox_id_by_name(&name)?
                .ok_or_else(|| Error::MailboxNotFound { name: name.clone() })?;
            let has_children = !tx.children(&name)?.is_empty();
            let rec = tx.existing_mailbox(id)?;
            if has_children && !rec.selectable {
                return Err(Error::MailboxHasChildren { name });
            }
            tx.remove_all_messages(id)?;
            if has_children {
                let rec = tx.existing_mailbox(id)?;
                rec.selectable = false;
                rec.special_use = 0;
                rec.counts = MailboxCounts::default();
            } else {
                tx.forget_mailbox(id);
                tx.db()
                    .mailboxes
                    .delete(&mut tx.txn, &codec::u32_key(id))
                    .map_err(tx.err("delete mailbox"))?;
                tx.db()
                    .mailbox_names
                    .delete(&mut tx.txn, name.as_bytes())
                    .map_err(tx.err("delete mailbox name"))?;
            }
            tx.changes.push(Change::MailboxDeleted {
                mailbox: MailboxId(id),
                name,
                kept_as_noselect: has_children,
            });
            Ok(())
        })
    }

    /// Subscribes to a mailbox name (which need not exist, RFC 9051 §6.3.7). Returns whether it
    /// was newly subscribed.
    pub fn subscribe(&self, name: &str) -> Result<bool, Error> {
        let name = normalize_mailbox_name(name)?;
        self.inner.write(|tx| {
            if tx
                .db()
                .subscriptions
                .get(&tx.txn, name.as_bytes())
                .map_err(tx.err("read subscription"))?
                .is_some()
            {
                return Ok(false);
            }
            tx.db()
                .subscriptions
                .put(&mut tx.txn, name.as_bytes(), &[])
                .map_err(tx.err("write subscription"))?;
            tx.changes.push(Change::Subscribed { name });
            Ok(true)
        })
    }

    /// Removes a subscription. Returns whether the name was subscribed.
    pub fn unsubscribe(&self, name: &str) -> Result<bool, Error> {
        let name = normalize_mailbox_name(name)?;
        self.inner.write(|tx| {
            let removed = tx
                .db()
                .subscriptions
                .delete(&mut tx.txn, name.as_bytes())
                .map_err(tx.err("delete subscription"))?;
            if removed {
                tx.changes.push(Change::Unsubscribed { name });
            }
            Ok(removed)
        })
    }

    /// Sets the special-use attributes of a mailbox (RFC 6154), replacing earlier ones.
    pub fn set_special_use(&self, name: &str, special_use: SpecialUse) -> Result<(), Error> {
        let name = normalize_mailbox_name(name)?;
        self.inner.write(|tx| {
            let id = tx
                .mailbox_id_by_name(&name)?
                .ok_or_else(|| Error::MailboxNotFound { name: name.clone() })?;
            let rec = tx.selectable_mailbox(MailboxId(id))?;
            rec.special_use = special_use.bits();
            tx.changes.push(Change::SpecialUseChanged { mailbox: MailboxId(id), special_use });
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{account, deliver, file_account};
    use crate::{Change, UidSet};

    fn names(acc: &Account) -> Vec<(String, bool)> {
        acc.mailboxes().unwrap().into_iter().map(|m| (m.name, m.selectable)).collect()
    }

    #[test]
    fn new_account_has_inbox() {
        let (_d, acc) = account();
        let mbs = acc.mailboxes().unwrap();
        assert_eq!(mbs.len(), 1);
        assert_eq!(mbs[0].name, "Inbox");
        assert!(mbs[0].selectable);
        assert_eq!(mbs[0].uid_next, 1);
        assert!(mbs[0].uid_validity > 1_600_000_000, "UIDVALIDITY starts at the current time");
        assert_eq!(acc.mailbox("INBOX").unwrap().unwrap().id, mbs[0].id);
    }

    #[test]
    fn create_makes_parents_and_refuses_duplicates() {
        let (_d, acc) = account();
        acc.create_mailbox("a/b/c", SpecialUse::NONE).unwrap();
        assert_eq!(
            names(&acc),
            [
                ("Inbox".into(), true),
                ("a".into(), true),
                ("a/b".into(), true),
                ("a/b/c".into(), true)
            ]
        );
        assert!(matches!(
            acc.create_mailbox("a/b", SpecialUse::NONE),
            Err(Error::MailboxExists { .. })
        ));
        assert!(matches!(
            acc.create_mailbox("inbox", SpecialUse::NONE),
            Err(Error::MailboxExists { .. })
        ));
        // Every mailbox gets its own UIDVALIDITY.
        let mut v: Vec<u32> = acc.mailboxes().unwrap().iter().map(|m| m.uid_validity).collect();
        v.dedup();
        assert_eq!(v.len(), 4);
    }

    #[test]
    fn rename_keeps_uids_and_moves_children() {
        let (_d, acc) = account();
        let a = acc.create_mailbox("a", SpecialUse::NONE).unwrap();
        acc.create_mailbox("a/child", SpecialUse::NONE).unwrap();
        acc.subscribe("a/child").unwrap();
        let d1 = deliver(&acc, "a", 1);
        let d2 = deliver(&acc, "a/child", 2);
        let before = acc.mailbox("a").unwrap().unwrap();
        acc.rename_mailbox("a", "x/y").unwrap();
        assert_eq!(
            names(&acc),
            [
                ("Inbox".into(), true),
                ("x".into(), true),
                ("x/y".into(), true),
                ("x/y/child".into(), true)
            ]
        );
        let after = acc.mailbox("x/y").unwrap().unwrap();
        assert_eq!(after.id, a);
        assert_eq!(after.uid_validity, before.uid_validity);
        assert_eq!(after.uid_next, before.uid_next);
        let snap = acc.snapshot().unwrap();
        assert_eq!(snap.message_by_uid(a, d1.uid).unwrap().unwrap().id, d1.id);
        let child = snap.mailbox("x/y/child").unwrap().unwrap();
        assert_eq!(snap.message_by_uid(child.id, d2.uid).unwrap().unwrap().id, d2.id);
        assert!(child.subscribed);
        assert_eq!(snap.subscriptions().unwrap(), ["x/y/child"]);
        assert!(snap.mailbox("a").unwrap().is_none());
        drop(snap);
        assert!(matches!(acc.rename_mailbox("x", "x/y/z"), Err(Error::RenameIntoSelf { .. })));
        assert!(matches!(acc.rename_mailbox("nope", "b"), Err(Error::MailboxNotFound { .. })));
        assert!(matches!(acc.rename_mailbox("x", "Inbox"), Err(Error::MailboxExists { .. })));
    }

    #[test]
    fn rename_inbox_moves_messages() {
        let (_d, acc) = account();
        deliver(&acc, "Inbox", 1);
        deliver(&acc, "Inbox", 2);
        let inbox = acc.mailbox("Inbox").unwrap().unwrap();
        acc.rename_mailbox("INBOX", "Old").unwrap();
        let inbox2 = acc.mailbox("Inbox").unwrap().unwrap();
        assert_eq!(inbox2.id, inbox.id);
        assert_eq!(inbox2.counts.messages, 0);
        assert_eq!(inbox2.uid_next, 3, "UIDs are not reused");
        let old = acc.mailbox("Old").unwrap().unwrap();
        assert_eq!(old.counts.messages, 2);
        assert_eq!(acc.snapshot().unwrap().uids(old.id).unwrap(), [1, 2]);
    }

    #[test]
    fn delete_with_children_behaves_as_imap() {
        // RFC 9051 §6.3.4's example: blurdybloop, foo (with child foo/bar).
        let (_d, acc) = file_account();
        acc.create_mailbox("blurdybloop", SpecialUse::NONE).unwrap();
        acc.create_mailbox("foo/bar", SpecialUse::NONE).unwrap();
        deliver(&acc, "foo", 1);
        let foo_validity = acc.mailbox("foo").unwrap().unwrap().uid_validity;
        let file = acc.message_file(
            acc.snapshot()
                .unwrap()
                .message_by_uid(acc.mailbox("foo").unwrap().unwrap().id, 1)
                .unwrap()
                .unwrap()
                .id,
        );
        assert!(file.exists());

        acc.delete_mailbox("blurdybloop").unwrap();
        // foo has a child: emptied and kept as \Noselect.
        acc.delete_mailbox("foo").unwrap();
        let foo = acc.mailbox("foo").unwrap().unwrap();
        assert!(!foo.selectable);
        assert_eq!(foo.counts.messages, 0);
        acc.inner.removals.wait();
        assert!(!file.exists(), "messages of a deleted mailbox are removed");
        assert!(matches!(acc.delete_mailbox("foo"), Err(Error::MailboxHasChildren { .. })));
        assert!(matches!(
            acc.deliver_bytes("foo", b"x\r\n", Default::default()),
            Err(Error::MailboxNotSelectable { .. })
        ));
        acc.delete_mailbox("foo/bar").unwrap();
        assert_eq!(names(&acc), [("Inbox".into(), true), ("foo".into(), false)]);
        // Now foo has no children and can go.
        acc.delete_mailbox("foo").unwrap();
        assert_eq!(names(&acc), [("Inbox".into(), true)]);
        assert!(matches!(acc.delete_mailbox("Inbox"), Err(Error::InboxNotDeletable)));
        assert!(matches!(acc.delete_mailbox("foo"), Err(Error::MailboxNotFound { .. })));

        // Re-created, a name gets a new UIDVALIDITY, so its UIDs may start over.
        acc.create_mailbox("foo", SpecialUse::NONE).unwrap();
        let foo = acc.mailbox("foo").unwrap().unwrap();
        assert_ne!(foo.uid_validity, foo_validity);
    }

    #[test]
    fn create_over_noselect_makes_it_selectable() {
        let (_d, acc) = account();
        acc.create_mailbox("p/c", SpecialUse::NONE).unwrap();
        deliver(&acc, "p", 1);
        let v1 = acc.mailbox("p").unwrap().unwrap().uid_validity;
        acc.delete_mailbox("p").unwrap();
        let id = acc.create_mailbox("p", SpecialUse::SENT).unwrap();
        let p = acc.mailbox("p").unwrap().unwrap();
        assert_eq!(p.id, id);
        assert!(p.selectable);
        assert_ne!(p.uid_validity, v1);
        assert_eq!(p.special_use, SpecialUse::SENT);
        assert_eq!(acc.snapshot().unwrap().uids(id).unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn subscriptions_and_special_use() {
        let (_d, acc) = account();
        assert!(acc.subscribe("Not/There").unwrap(), "non-existent names may be subscribed");
        assert!(!acc.subscribe("Not/There").unwrap());
        assert!(acc.subscribe("inbox").unwrap());
        assert!(acc.mailbox("Inbox").unwrap().unwrap().subscribed);
        assert_eq!(acc.snapshot().unwrap().subscriptions().unwrap(), ["Inbox", "Not/There"]);
        assert!(acc.unsubscribe("Not/There").unwrap());
        assert!(!acc.unsubscribe("Not/There").unwrap());

        acc.create_mailbox("Sent", SpecialUse::SENT).unwrap();
        acc.create_mailbox("Bin", SpecialUse::NONE).unwrap();
        acc.set_special_use("Bin", SpecialUse::TRASH | SpecialUse::JUNK).unwrap();
        let snap = acc.snapshot().unwrap();
        assert_eq!(snap.mailbox_by_special_use(SpecialUse::SENT).unwrap().unwrap().name, "Sent");
        assert_eq!(snap.mailbox_by_special_use(SpecialUse::JUNK).unwrap().unwrap().name, "Bin");
        assert!(snap.mailbox_by_special_use(SpecialUse::DRAFTS).unwrap().is_none());
    }

    #[test]
    fn mailbox_changes_are_published() {
        let (_d, acc) = account();
        let mut rx = acc.watch();
        let id = acc.create_mailbox("a", SpecialUse::NONE).unwrap();
        acc.rename_mailbox("a", "b").unwrap();
        acc.delete_mailbox("b").unwrap();
        let got: Vec<Change> =
            std::iter::from_fn(|| rx.try_recv()).flat_map(|c| c.changes.clone()).collect();
        assert_eq!(
            got,
            [
                Change::MailboxCreated { mailbox: id, name: "a".into() },
                Change::MailboxRenamed { mailbox: id, old_name: "a".into(), new_name: "b".into() },
                Change::MailboxDeleted { mailbox: id, name: "b".into(), kept_as_noselect: false },
            ]
        );
        let _ = UidSet::all();
    }

    #[test]
    fn name_rules() {
        assert_eq!(normalize_mailbox_name("INBOX").unwrap(), "Inbox");
        assert_eq!(normalize_mailbox_name("inbox/Sub").unwrap(), "Inbox/Sub");
        assert_eq!(normalize_mailbox_name("Archive/inbox").unwrap(), "Archive/inbox");
        assert_eq!(normalize_mailbox_name("Entwürfe").unwrap(), "Entwürfe");
        for bad in ["", "/a", "a/", "a//b", "a/../b", ".", "a\tb", "a*", "50%", "a\u{7f}"] {
            assert!(normalize_mailbox_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(normalize_mailbox_name(&"x".repeat(401)).is_err());
        assert_eq!(parents("a/b/c").collect::<Vec<_>>(), ["a", "a/b"]);
    }
}
