//! Changing messages: flags and keywords (optionally conditional on MODSEQ), copy, move,
//! expunge.

use std::fs;
use std::io;
use std::ops::Bound;
use std::sync::PoisonError;

use crate::account::Tx;
use crate::changes::Change;
use crate::codec::{self, MessageRecord, RawState};
use crate::files;
use crate::types::{Flags, MailboxId, MessageId, SpecialUse, SystemFlags, UidSet};
use crate::{Account, Error, MessageState};

/// How [`Account::store_flags`] combines the given flags with a message's flags (IMAP STORE
/// `+FLAGS`, `-FLAGS`, `FLAGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    /// Set the given flags, keep the others.
    Add,
    /// Clear the given flags, keep the others.
    Remove,
    /// Make the flags exactly the given ones.
    Replace,
}

/// The result of [`Account::store_flags`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreOutcome {
    /// The MODSEQ given to changed messages; `None` if nothing changed.
    pub modseq: Option<u64>,
    /// The messages whose flags changed, with their new state, in UID order.
    pub changed: Vec<MessageState>,
    /// UIDs not changed because their MODSEQ was above `unchanged_since` (RFC 7162 §3.1.3: the
    /// `MODIFIED` response code).
    pub modified: Vec<u32>,
}

impl Tx<'_> {
    /// The states of the messages of `mailbox` in `uids`, in UID order.
    pub(crate) fn states(
        &self,
        mailbox: MailboxId,
        uids: &UidSet,
    ) -> Result<Vec<(u32, RawState)>, Error> {
        let mut out = Vec::new();
        for r in uids.ranges() {
            let start = codec::uid_key(mailbox.0, *r.start());
            let end = codec::uid_key(mailbox.0, *r.end());
            let range = (Bound::Included(&start[..]), Bound::Included(&end[..]));
            for item in
                self.db().uids.range(&self.txn, &range).map_err(self.err("list messages"))?
            {
                let (k, v) = item.map_err(self.err("list messages"))?;
                let (_, uid) =
                    codec::parse_uid_key(k).ok_or_else(|| self.inner.corrupt("uids", k))?;
                let state = codec::decode_state(v).ok_or_else(|| self.inner.corrupt("uids", k))?;
                out.push((uid, state));
            }
        }
        Ok(out)
    }

    pub(crate) fn message_record(&self, id: u64) -> Result<MessageRecord, Error> {
        let v = self
            .db()
            .messages
            .get(&self.txn, &codec::u64_key(id))
            .map_err(self.err("read message"))?;
        v.and_then(codec::decode).ok_or_else(|| self.inner.corrupt("messages", id))
    }

    pub(crate) fn put_message_record(&mut self, id: u64, rec: &MessageRecord) -> Result<(), Error> {
        self.db()
            .messages
            .put(&mut self.txn, &codec::u64_key(id), &codec::encode(rec))
            .map_err(self.err("write message"))
    }

    /// The next UID of a mailbox, advancing UIDNEXT.
    pub(crate) fn allocate_uid(&mut self, mailbox: MailboxId) -> Result<u32, Error> {
        let rec = self.selectable_mailbox(mailbox)?;
        if rec.uid_next == u32::MAX {
            return Err(Error::UidsExhausted { name: rec.name.clone() });
        }
        let uid = rec.uid_next;
        rec.uid_next += 1;
        Ok(uid)
    }

    /// Writes a message's state in its mailbox and its entry in the change index.
    pub(crate) fn put_state(
        &mut self,
        mailbox: MailboxId,
        uid: u32,
        id: u64,
        modseq: u64,
        flags: SystemFlags,
        keywords: &[u32],
    ) -> Result<(), Error> {
        let db = self.db();
        db.uids
            .put(
                &mut self.txn,
                &codec::uid_key(mailbox.0, uid),
                &codec::encode_state(id, modseq, flags, keywords),
            )
            .map_err(self.err("write message state"))?;
        db.changes
            .put(
                &mut self.txn,
                &codec::change_key(mailbox.0, modseq, uid),
                &[codec::CHANGE_PRESENT],
            )
            .map_err(self.err("write change"))
    }

    /// Removes a message's state from its mailbox, leaving a tombstone at `modseq`.
    pub(crate) fn remove_state(
        &mut self,
        mailbox: MailboxId,
        uid: u32,
        old_modseq: u64,
        modseq: u64,
    ) -> Result<(), Error> {
        let db = self.db();
        db.uids
            .delete(&mut self.txn, &codec::uid_key(mailbox.0, uid))
            .map_err(self.err("delete message state"))?;
        db.changes
            .delete(&mut self.txn, &codec::change_key(mailbox.0, old_modseq, uid))
            .map_err(self.err("delete change"))?;
        db.changes
            .put(
                &mut self.txn,
                &codec::change_key(mailbox.0, modseq, uid),
                &[codec::CHANGE_EXPUNGED],
            )
            .map_err(self.err("write tombstone"))
    }

    /// Fails if adding `needed` bytes would exceed the quota.
    pub(crate) fn check_quota(&self, needed: u64) -> Result<(), Error> {
        let Some(quota) = self.inner.quota() else { return Ok(()) };
        let used = self.meta(codec::META_SIZE)?.saturating_add_signed(self.size_delta);
        if used.saturating_add(needed) > quota {
            return Err(Error::QuotaExceeded { quota, used, needed });
        }
        Ok(())
    }

    fn flags_of(&self, system: SystemFlags, keywords: &[u32]) -> Flags {
        let bytes: Vec<u8> = keywords.iter().flat_map(|k| k.to_le_bytes()).collect();
        let keywords =
            self.inner.keywords.read().unwrap_or_else(PoisonError::into_inner).decode(&bytes);
        Flags { system, keywords }
    }

    /// Removes messages from a mailbox (leaving tombstones) and deletes them.
    pub(crate) fn expunge_states(
        &mut self,
        mailbox: MailboxId,
        states: Vec<(u32, RawState)>,
    ) -> Result<Vec<u32>, Error> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let modseq = self.modseq()?;
        let mut uids = Vec::with_capacity(states.len());
        for (uid, s) in states {
            let rec = self.message_record(s.message_id)?;
            self.remove_state(mailbox, uid, s.modseq, modseq)?;
            self.history_on_remove(s.message_id)?;
            self.db()
                .messages
                .delete(&mut self.txn, &codec::u64_key(s.message_id))
                .map_err(self.err("delete message"))?;
            self.remove_message_bytes(s.message_id)?;
            self.existing_mailbox(mailbox.0)?.counts.sub(s.flags, rec.size);
            self.size_delta -= rec.size as i64;
            uids.push(uid);
        }
        self.changes.push(Change::Expunged { mailbox, uids: uids.clone(), modseq });
        Ok(uids)
    }
}

impl Account {
    /// Changes flags and keywords of the messages of `mailbox` in `uids` (IMAP STORE).
    ///
    /// Messages whose flags end up as they were are left alone: their MODSEQ does not change.
    /// With `unchanged_since` (CONDSTORE, RFC 7162 §3.1.3), messages whose MODSEQ is higher are
    /// not changed and are listed in [`StoreOutcome::modified`]. All changed messages get one new
    /// MODSEQ. Keywords are added to the account as needed.
    pub fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &UidSet,
        op: FlagOp,
        flags: &Flags,
        unchanged_since: Option<u64>,
    ) -> Result<StoreOutcome, Error> {
        self.inner.write(|tx| {
            tx.selectable_mailbox(mailbox)?;
            let given: Vec<u32> = match op {
                FlagOp::Remove => {
                    // Removing a keyword the account never had must not add it.
                    let table = tx.inner.keywords.read().unwrap_or_else(PoisonError::into_inner);
                    flags.keywords.iter().filter_map(|k| table.id_of(k)).collect()
                }
                FlagOp::Add | FlagOp::Replace => tx.keyword_ids(&flags.keywords)?,
            };
            let mut out = StoreOutcome::default();
            for (uid, old) in tx.states(mailbox, uids)? {
                let mut system = old.flags;
                let mut keywords = old.keywords.clone();
                match op {
                    FlagOp::Add => {
                        system.insert(flags.system);
                        for k in &given {
                            if !keywords.contains(k) {
                                keywords.push(*k);
                            }
                        }
                    }
                    FlagOp::Remove => {
                        system.remove(flags.system);
                        keywords.retain(|k| !given.contains(k));
                    }
                    FlagOp::Replace => {
                        system = flags.system;
                        keywords = given.clone();
                    }
                }
                if unchanged_since.is_some_and(|u| old.modseq > u) {
                    out.modified.push(uid);
                    continue;
                }
                if system == old.flags && same_set(&keywords, &old.keywords) {
                    continue;
                }
                let modseq = tx.modseq()?;
                let db = tx.db();
                db.uids
                    .put(
                        &mut tx.txn,
                        &codec::uid_key(mailbox.0, uid),
                        &codec::encode_state(old.message_id, modseq, system, &keywords),
                    )
                    .map_err(tx.err("write message state"))?;
                db.changes
                    .delete(&mut tx.txn, &codec::change_key(mailbox.0, old.modseq, uid))
                    .map_err(tx.err("delete change"))?;
                db.changes
                    .put(
                        &mut tx.txn,
                        &codec::change_key(mailbox.0, modseq, uid),
                        &[codec::CHANGE_PRESENT],
                    )
                    .map_err(tx.err("write change"))?;
                tx.existing_mailbox(mailbox.0)?.counts.change_flags(old.flags, system);
                let flags = tx.flags_of(system, &keywords);
                tx.history_on_flags(old.message_id, &flags)?;
                tx.changes.push(Change::FlagsChanged {
                    mailbox,
                    uid,
                    modseq,
                    flags: flags.clone(),
                });
                out.changed.push(MessageState {
                    uid,
                    id: MessageId(old.message_id),
                    modseq,
                    flags,
                });
                out.modseq = Some(modseq);
            }
            Ok(out)
        })
    }

    /// Expunges the messages of `mailbox` that have `\Deleted` set, all of them or only those in
    /// `uids` (IMAP EXPUNGE and UID EXPUNGE). Returns the expunged UIDs, ascending. Tombstones
    /// with the expunge's MODSEQ are kept for QRESYNC.
    pub fn expunge(&self, mailbox: MailboxId, uids: Option<&UidSet>) -> Result<Vec<u32>, Error> {
        let all = UidSet::all();
        let uids = uids.unwrap_or(&all);
        self.inner.write(|tx| {
            tx.selectable_mailbox(mailbox)?;
            let mut states = tx.states(mailbox, uids)?;
            states.retain(|(_, s)| s.flags.contains(SystemFlags::DELETED));
            tx.expunge_states(mailbox, states)
        })
    }

    /// Removes the messages of `mailbox` in `uids` whatever their flags (for clients that
    /// delete directly, such as POP3 or webmail). Returns the removed UIDs.
    pub fn remove_messages(&self, mailbox: MailboxId, uids: &UidSet) -> Result<Vec<u32>, Error> {
        self.inner.write(|tx| {
            tx.selectable_mailbox(mailbox)?;
            let states = tx.states(mailbox, uids)?;
            tx.expunge_states(mailbox, states)
        })
    }

    /// Copies the messages of `from` in `uids` to `to` (IMAP COPY), with their flags. Each copy
    /// is a new message whose file is a hard link to the original's. Returns (source UID, new
    /// UID) pairs for COPYUID (RFC 4315), in source UID order.
    pub fn copy_messages(
        &self,
        from: MailboxId,
        uids: &UidSet,
        to: MailboxId,
    ) -> Result<Vec<(u32, u32)>, Error> {
        self.inner.write(|tx| {
            tx.selectable_mailbox(from)?;
            let to_special_use = SpecialUse::from_bits(tx.selectable_mailbox(to)?.special_use);
            let states = tx.states(from, uids)?;
            if states.is_empty() {
                return Ok(Vec::new());
            }
            let mut records = Vec::with_capacity(states.len());
            let mut total = 0u64;
            for (_, s) in &states {
                let rec = tx.message_record(s.message_id)?;
                total += rec.size;
                records.push(rec);
            }
            tx.check_quota(total)?;
            let modseq = tx.modseq()?;
            let mut pairs = Vec::with_capacity(states.len());
            for ((uid, s), mut rec) in states.into_iter().zip(records) {
                let new_uid = tx.allocate_uid(to)?;
                let new_id = tx.new_message_id();
                link_message_file(tx, s.message_id, new_id)?;
                rec.mailbox = to.0;
                rec.uid = new_uid;
                rec.created_modseq = modseq;
                tx.put_message_record(new_id, &rec)?;
                tx.put_state(to, new_uid, new_id, modseq, s.flags, &s.keywords)?;
                tx.existing_mailbox(to.0)?.counts.add(s.flags, rec.size);
                tx.size_delta += rec.size as i64;
                let flags = tx.flags_of(s.flags, &s.keywords);
                tx.history_on_copy(s.message_id, new_id, to_special_use, &flags)?;
                tx.changes.push(Change::MessageAdded {
                    mailbox: to,
                    uid: new_uid,
                    message: MessageId(new_id),
                    modseq,
                    flags,
                });
                pairs.push((uid, new_uid));
            }
            Ok(pairs)
        })
    }

    /// Moves the messages of `from` in `uids` to `to` (IMAP MOVE, RFC 6851): they get new UIDs
    /// in `to`, keep their message ids and files, and leave tombstones in `from`. Returns
    /// (source UID, new UID) pairs, in source UID order.
    pub fn move_messages(
        &self,
        from: MailboxId,
        uids: &UidSet,
        to: MailboxId,
    ) -> Result<Vec<(u32, u32)>, Error> {
        self.inner.write(|tx| {
            tx.selectable_mailbox(from)?;
            let to_special_use = SpecialUse::from_bits(tx.selectable_mailbox(to)?.special_use);
            let states = tx.states(from, uids)?;
            if states.is_empty() {
                return Ok(Vec::new());
            }
            let modseq = tx.modseq()?;
            let mut pairs = Vec::with_capacity(states.len());
            let mut added = Vec::with_capacity(states.len());
            for (uid, s) in states {
                let mut rec = tx.message_record(s.message_id)?;
                tx.remove_state(from, uid, s.modseq, modseq)?;
                tx.existing_mailbox(from.0)?.counts.sub(s.flags, rec.size);
                let new_uid = tx.allocate_uid(to)?;
                rec.mailbox = to.0;
                rec.uid = new_uid;
                rec.created_modseq = modseq;
                tx.put_message_record(s.message_id, &rec)?;
                tx.put_state(to, new_uid, s.message_id, modseq, s.flags, &s.keywords)?;
                tx.existing_mailbox(to.0)?.counts.add(s.flags, rec.size);
                let flags = tx.flags_of(s.flags, &s.keywords);
                tx.history_on_move(s.message_id, to_special_use, &flags)?;
                added.push(Change::MessageAdded {
                    mailbox: to,
                    uid: new_uid,
                    message: MessageId(s.message_id),
                    modseq,
                    flags,
                });
                pairs.push((uid, new_uid));
            }
            tx.changes.push(Change::Expunged {
                mailbox: from,
                uids: pairs.iter().map(|p| p.0).collect(),
                modseq,
            });
            tx.changes.extend(added);
            Ok(pairs)
        })
    }
}

fn same_set(a: &[u32], b: &[u32]) -> bool {
    a.len() == b.len() && a.iter().all(|k| b.contains(k))
}

/// Gives message `new_id` the bytes of `old_id`: a copy in the database for a message kept
/// there, else a hard link of its file, or a durable copy where the file system cannot link.
fn link_message_file(tx: &mut Tx<'_>, old_id: u64, new_id: u64) -> Result<(), Error> {
    // A message kept in the database is copied there.
    if let Some(body) = tx.body(old_id)? {
        return tx.put_body(new_id, &body);
    }
    let inner = tx.inner;
    let dir = &inner.dir;
    let old = dir.join(files::message_path(old_id));
    let new = dir.join(files::message_path(new_id));
    let subdir = tx.message_dir(new_id)?;
    tx.created_file(new.clone());
    match fs::hard_link(&old, &new) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::io(&old, "link message file")(e));
        }
        Err(_) => {
            fs::copy(&old, &new).map_err(Error::io(&new, "copy message file"))?;
            fs::File::open(&new)
                .and_then(|f| f.sync_all())
                .map_err(Error::io(&new, "fsync message file"))?;
        }
    }
    tx.sync_dir_before_commit(subdir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{account, deliver, file_account, msg};
    use crate::{Keyword, NewMessage, SpecialUse};

    fn flags(names: &[&str]) -> Flags {
        Flags::parse(names.iter().copied()).unwrap()
    }

    #[test]
    fn store_flags_add_remove_replace() {
        let (_d, acc) = account();
        for n in 1..=3 {
            deliver(&acc, "Inbox", n);
        }
        let inbox = acc.mailbox("Inbox").unwrap().unwrap();
        assert_eq!(inbox.counts.unseen, 3);
        let m0 = acc.snapshot().unwrap().account_modseq().unwrap();

        let out = acc
            .store_flags(
                inbox.id,
                &UidSet::from_ranges([1..=2]),
                FlagOp::Add,
                &flags(&["\\Seen", "$Junk"]),
                None,
            )
            .unwrap();
        assert_eq!(out.changed.iter().map(|s| s.uid).collect::<Vec<_>>(), [1, 2]);
        let m1 = out.modseq.unwrap();
        assert!(m1 > m0);
        assert!(
            out.changed.iter().all(|s| s.modseq == m1 && s.flags == flags(&["\\Seen", "$Junk"]))
        );
        assert_eq!(acc.mailbox("Inbox").unwrap().unwrap().counts.unseen, 1);

        // Adding what is there already changes nothing, and MODSEQ stays.
        let out = acc
            .store_flags(
                inbox.id,
                &UidSet::single(1),
                FlagOp::Add,
                &flags(&["\\seen", "$JUNK"]),
                None,
            )
            .unwrap();
        assert!(out.changed.is_empty() && out.modseq.is_none());
        assert_eq!(acc.snapshot().unwrap().message_state(inbox.id, 1).unwrap().unwrap().modseq, m1);

        let out = acc
            .store_flags(
                inbox.id,
                &UidSet::all(),
                FlagOp::Remove,
                &flags(&["$junk", "never-used"]),
                None,
            )
            .unwrap();
        assert_eq!(out.changed.len(), 2);
        assert!(
            !acc.snapshot().unwrap().keywords().iter().any(|k| k.as_str() == "never-used"),
            "removing does not add keywords"
        );
        let out = acc
            .store_flags(
                inbox.id,
                &UidSet::single(3),
                FlagOp::Replace,
                &flags(&["\\Deleted", "\\Flagged", "x"]),
                None,
            )
            .unwrap();
        assert_eq!(out.changed[0].flags, flags(&["\\Deleted", "\\Flagged", "x"]));
        let states = acc.snapshot().unwrap().message_states(inbox.id, &UidSet::all()).unwrap();
        assert_eq!(
            states.iter().map(|s| s.flags.clone()).collect::<Vec<_>>(),
            [flags(&["\\Seen"]), flags(&["\\Seen"]), flags(&["\\Deleted", "\\Flagged", "x"])]
        );
        let counts = acc.mailbox("Inbox").unwrap().unwrap().counts;
        assert_eq!((counts.messages, counts.unseen, counts.deleted), (3, 1, 1));
        // The first spelling of a keyword is kept.
        acc.store_flags(inbox.id, &UidSet::single(1), FlagOp::Add, &flags(&["X"]), None).unwrap();
        assert_eq!(
            acc.snapshot().unwrap().message_state(inbox.id, 1).unwrap().unwrap().flags.keywords[0]
                .as_str(),
            "x"
        );
    }

    #[test]
    fn store_flags_unchanged_since() {
        let (_d, acc) = account();
        deliver(&acc, "Inbox", 1);
        deliver(&acc, "Inbox", 2);
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let m = acc
            .store_flags(inbox, &UidSet::single(1), FlagOp::Add, &flags(&["\\Flagged"]), None)
            .unwrap()
            .modseq
            .unwrap();
        // Message 1 changed at m, message 2 before: UNCHANGEDSINCE m-1 only changes 2.
        let out = acc
            .store_flags(inbox, &UidSet::all(), FlagOp::Add, &flags(&["\\Seen"]), Some(m - 1))
            .unwrap();
        assert_eq!(out.modified, [1]);
        assert_eq!(out.changed.iter().map(|s| s.uid).collect::<Vec<_>>(), [2]);
        assert!(
            !acc.snapshot()
                .unwrap()
                .message_state(inbox, 1)
                .unwrap()
                .unwrap()
                .flags
                .system
                .contains(SystemFlags::SEEN)
        );
        let out = acc
            .store_flags(
                inbox,
                &UidSet::all(),
                FlagOp::Add,
                &flags(&["\\Seen"]),
                Some(out.modseq.unwrap()),
            )
            .unwrap();
        assert!(out.modified.is_empty());
        assert_eq!(out.changed.len(), 1);
    }

    #[test]
    fn expunge_only_deleted_and_keeps_tombstones() {
        let (_d, acc) = file_account();
        let ds: Vec<_> = (1..=4).map(|n| deliver(&acc, "Inbox", n)).collect();
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let before = acc.snapshot().unwrap().highest_modseq(inbox).unwrap();
        let usage = acc.snapshot().unwrap().usage().unwrap();
        acc.store_flags(
            inbox,
            &UidSet::from_uids([2, 3, 4]),
            FlagOp::Add,
            &flags(&["\\Deleted"]),
            None,
        )
        .unwrap();
        assert_eq!(acc.expunge(inbox, Some(&UidSet::from_uids([1, 2, 3]))).unwrap(), [2, 3]);
        // Files go in the background, after the expunge is answered.
        acc.inner.removals.wait();
        assert!(!acc.message_file(ds[1].id).exists());
        assert!(acc.message_file(ds[3].id).exists());
        assert_eq!(acc.expunge(inbox, None).unwrap(), [4]);
        assert_eq!(acc.expunge(inbox, None).unwrap(), Vec::<u32>::new());
        let snap = acc.snapshot().unwrap();
        assert_eq!(snap.uids(inbox).unwrap(), [1]);
        assert!(snap.message(ds[1].id).unwrap().is_none());
        assert_eq!(snap.usage().unwrap(), usage / 4);
        let ch = snap.changes_since(inbox, before).unwrap();
        assert_eq!(ch.vanished, [2, 3, 4]);
        assert!(ch.changed.is_empty());
        let inb = snap.mailbox_by_id(inbox).unwrap().unwrap();
        assert_eq!((inb.counts.messages, inb.counts.deleted, inb.uid_next), (1, 0, 5));
        assert!(inb.highest_modseq > before, "expunges raise HIGHESTMODSEQ");
        drop(snap);
        // UIDs are not reused after an expunge.
        assert_eq!(deliver(&acc, "Inbox", 5).uid, 5);
    }

    #[test]
    fn copy_links_files_and_keeps_flags() {
        let (_d, acc) = account();
        let d = acc
            .deliver_bytes(
                "Inbox",
                &msg(1),
                NewMessage {
                    flags: flags(&["\\Seen", "kw"]),
                    prefix: b"X-Added: 1\r\n".to_vec(),
                    ..Default::default()
                },
            )
            .unwrap();
        deliver(&acc, "Inbox", 2);
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let arch = acc.create_mailbox("Archive", SpecialUse::ARCHIVE).unwrap();
        deliver(&acc, "Archive", 9);
        let pairs = acc.copy_messages(inbox, &UidSet::all(), arch).unwrap();
        assert_eq!(pairs, [(1, 2), (2, 3)]);
        let snap = acc.snapshot().unwrap();
        let copy = snap.message_state(arch, 2).unwrap().unwrap();
        assert_eq!(copy.flags, flags(&["\\Seen", "kw"]));
        assert_ne!(copy.id, d.id);
        drop(snap);
        assert_eq!(acc.read_message(copy.id).unwrap(), [&b"X-Added: 1\r\n"[..], &msg(1)].concat());
        // The original stays.
        assert_eq!(acc.snapshot().unwrap().uids(inbox).unwrap(), [1, 2]);
        let a = acc.mailbox("Archive").unwrap().unwrap();
        assert_eq!((a.counts.messages, a.counts.unseen), (3, 2));
        // Removing the original keeps the copy's file.
        acc.remove_messages(inbox, &UidSet::single(1)).unwrap();
        assert_eq!(
            acc.read_message(copy.id).unwrap().len() as u64,
            acc.snapshot().unwrap().message(copy.id).unwrap().unwrap().size
        );
    }

    #[test]
    fn move_gives_new_uids_and_tombstones() {
        let (_d, acc) = account();
        let ds: Vec<_> = (1..=3).map(|n| deliver(&acc, "Inbox", n)).collect();
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let t = acc.create_mailbox("Trash", SpecialUse::TRASH).unwrap();
        let m0 = acc.snapshot().unwrap().account_modseq().unwrap();
        let pairs = acc.move_messages(inbox, &UidSet::from_uids([1, 3]), t).unwrap();
        assert_eq!(pairs, [(1, 1), (3, 2)]);
        let snap = acc.snapshot().unwrap();
        assert_eq!(snap.uids(inbox).unwrap(), [2]);
        let moved = snap.message_state(t, 2).unwrap().unwrap();
        assert_eq!(moved.id, ds[2].id, "a move keeps the message id");
        assert_eq!(snap.message(ds[2].id).unwrap().unwrap().uid, 2);
        assert_eq!(snap.changes_since(inbox, m0).unwrap().vanished, [1, 3]);
        let ch = snap.changes_since(t, m0).unwrap();
        assert_eq!(ch.changed.iter().map(|s| s.uid).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(snap.mailbox_by_id(inbox).unwrap().unwrap().counts.messages, 1);
        assert_eq!(snap.mailbox_by_id(t).unwrap().unwrap().counts.messages, 2);
        drop(snap);
        assert_eq!(acc.read_message(ds[2].id).unwrap(), msg(3));
        // Moving back gives yet newer UIDs: never reused.
        assert_eq!(acc.move_messages(t, &UidSet::all(), inbox).unwrap(), [(1, 4), (2, 5)]);
    }

    #[test]
    fn changes_since_lists_changed_and_vanished() {
        let (_d, acc) = account();
        for n in 1..=5 {
            deliver(&acc, "Inbox", n);
        }
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let m = acc.snapshot().unwrap().highest_modseq(inbox).unwrap();
        acc.store_flags(inbox, &UidSet::single(4), FlagOp::Add, &flags(&["\\Answered"]), None)
            .unwrap();
        acc.store_flags(inbox, &UidSet::single(2), FlagOp::Add, &flags(&["\\Deleted"]), None)
            .unwrap();
        acc.expunge(inbox, None).unwrap();
        deliver(&acc, "Inbox", 6);
        let ch = acc.snapshot().unwrap().changes_since(inbox, m).unwrap();
        assert_eq!(ch.changed.iter().map(|s| s.uid).collect::<Vec<_>>(), [4, 6], "in MODSEQ order");
        assert_eq!(ch.vanished, [2]);
        let all = acc.snapshot().unwrap().changes_since(inbox, 0).unwrap();
        assert_eq!(all.changed.len(), 5);
    }

    #[test]
    fn quota_limits_delivery_and_copy() {
        let (_d, acc) = account();
        let one = msg(1).len() as u64;
        acc.set_quota(Some(2 * one + 1));
        deliver(&acc, "Inbox", 1);
        deliver(&acc, "Inbox", 2);
        let e = acc.deliver_bytes("Inbox", &msg(3), NewMessage::default()).unwrap_err();
        assert!(matches!(e, Error::QuotaExceeded { used, .. } if used == 2 * one), "{e}");
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        assert!(matches!(
            acc.copy_messages(inbox, &UidSet::single(1), inbox),
            Err(Error::QuotaExceeded { .. })
        ));
        // No file is left behind by the refused delivery.
        assert_eq!(std::fs::read_dir(acc.dir().join("tmp")).unwrap().count(), 0);
        acc.set_quota(None);
        assert_eq!(deliver(&acc, "Inbox", 3).uid, 3);
    }

    #[test]
    fn modseq_strictly_increases_across_operations() {
        let (_d, acc) = account();
        let mut rx = acc.watch();
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let other = acc.create_mailbox("Other", SpecialUse::NONE).unwrap();
        deliver(&acc, "Inbox", 1);
        deliver(&acc, "Inbox", 2);
        acc.store_flags(inbox, &UidSet::all(), FlagOp::Add, &flags(&["\\Deleted"]), None).unwrap();
        acc.copy_messages(inbox, &UidSet::single(1), other).unwrap();
        acc.move_messages(inbox, &UidSet::single(2), other).unwrap();
        acc.expunge(other, None).unwrap();
        let mut last = 0;
        let mut n = 0;
        while let Some(c) = rx.try_recv() {
            let m = c.modseq.unwrap();
            assert!(m > last, "modseq {m} after {last}");
            last = m;
            n += 1;
        }
        assert_eq!(n, 7);
        assert_eq!(acc.snapshot().unwrap().account_modseq().unwrap(), last);
        let _ = Keyword::new("x");
    }
}
