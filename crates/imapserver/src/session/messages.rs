//! Changing messages of the selected mailbox: STORE (with UNCHANGEDSINCE, RFC 7162 §3.1.3),
//! EXPUNGE and UID EXPUNGE (RFC 4315), COPY and MOVE (RFC 6851) with COPYUID.

use store::{FlagOp, Flags, UidSet};

use super::selected::write_flags_fetch;
use super::{CmdResult, Failure, Session};
use crate::command::{MailboxName, StoreOp};
use crate::seqset::{SequenceSet, format_ordered, push_u32};

impl Session {
    /// Runs a junk training step if the account has junk settings. The messages are changed
    /// already, so a failure is logged, not the command's: `mox retrain` repairs the filter.
    pub(super) fn train(
        &self,
        step: impl FnOnce(&junk::AccountJunk) -> Result<usize, junk::Error>,
    ) {
        let Some(junk) = self.junk() else { return };
        match step(&junk) {
            Ok(0) => {}
            Ok(n) => tracing::debug!(messages = n, "junk filter trained"),
            Err(e) => tracing::error!(error = %e, "junk filter training"),
        }
    }

    pub(super) fn cmd_store(
        &mut self,
        uid_cmd: bool,
        set: &crate::seqset::SequenceSet,
        unchanged_since: Option<u64>,
        op: StoreOp,
        silent: bool,
        flags: &[String],
    ) -> CmdResult {
        let sel = self.selected()?;
        if sel.read_only {
            return Err(Failure::no_code("READ-ONLY", "mailbox is read-only"));
        }
        if sel.deleted {
            return Err(Failure::no_code("NONEXISTENT", "mailbox was deleted"));
        }
        if unchanged_since.is_some() {
            self.enabled.condstore = true;
        }
        // \Recent cannot be stored (RFC 3501 §2.3.2); it is ignored rather than refused.
        let names: Vec<&str> = flags
            .iter()
            .map(String::as_str)
            .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
            .collect();
        let flags = Flags::parse(names).map_err(|e| Failure::bad(e.to_string()))?;
        let ranges = self.resolve_set(uid_cmd, set)?;
        let uids = UidSet::from_ranges(ranges);
        let account = self.acct()?;
        let mailbox = self.selected()?.id;
        let op = match op {
            StoreOp::Add => FlagOp::Add,
            StoreOp::Remove => FlagOp::Remove,
            StoreOp::Replace => FlagOp::Replace,
        };
        let outcome = account.store_flags(mailbox, &uids, op, &flags, unchanged_since)?;
        self.own_change(outcome.modseq);
        // $Junk/$NotJunk changed: train (untraining the old class first).
        let junk_flags = flags.has_keyword("$junk") || flags.has_keyword("$notjunk");
        if (junk_flags || op == FlagOp::Replace) && !outcome.changed.is_empty() {
            let changed = UidSet::from_uids(outcome.changed.iter().map(|s| s.uid));
            self.train(|junk| junk.sync_uids(&account, mailbox, &changed));
        }

        let condstore = self.enabled.condstore;
        let uidonly = self.enabled.uidonly;
        let rev1 = !self.enabled.imap4rev2;
        // Without .SILENT every message gets its FLAGS; with CONDSTORE the changed ones get
        // their new MODSEQ even with .SILENT (RFC 7162 §3.1.3).
        let report: Vec<store::MessageState> = if !silent {
            let snap = account.snapshot()?;
            let mut v = snap.message_states(mailbox, &uids)?;
            v.retain(|s| !outcome.modified.contains(&s.uid));
            v
        } else if condstore {
            outcome.changed.clone()
        } else {
            Vec::new()
        };
        self.announce_new_keywords(&account)?;
        let sel = self.selected()?;
        let mut out = Vec::new();
        for s in &report {
            let Some(seq) = sel.view.seq(s.uid) else { continue };
            if silent {
                // RFC 7162 §3.1.3: .SILENT with CONDSTORE still reports the new MODSEQ.
                let mut line = super::fetch::FetchLine::start(&mut out, uidonly, seq, s.uid, true);
                let o = line.item();
                o.extend_from_slice(b"MODSEQ (");
                crate::seqset::push_u64(o, s.modseq);
                o.push(b')');
                line.end();
                continue;
            }
            let recent = rev1 && sel.is_recent(s.uid);
            write_flags_fetch(&mut out, uidonly, seq, s, recent, condstore, uid_cmd);
        }
        let modified: Vec<u32> = if uid_cmd {
            outcome.modified.clone()
        } else {
            outcome.modified.iter().filter_map(|u| sel.view.seq(*u)).collect()
        };
        self.out.extend_from_slice(&out);
        let name = if uid_cmd { "UID STORE completed" } else { "STORE completed" };
        match SequenceSet::from_numbers(modified) {
            Some(m) => {
                // RFC 7162 §3.1.3: the messages that were not changed.
                super::ok_code(format!("MODIFIED {m}"), "some messages were changed meanwhile")
            }
            None => super::ok(name),
        }
    }

    pub(super) fn cmd_expunge(&mut self, uids: Option<&SequenceSet>) -> CmdResult {
        let sel = self.selected()?;
        if sel.read_only {
            return Err(Failure::no_code("READ-ONLY", "mailbox is read-only"));
        }
        let set = match uids {
            Some(s) => Some(UidSet::from_ranges(self.resolve_set(true, s)?)),
            None => None,
        };
        let account = self.acct()?;
        let mailbox = self.selected()?.id;
        // Untrained while they can still be read (as mox untrains expunged messages).
        self.train(|junk| junk.forget_deleted(&account, mailbox, set.as_ref()));
        let expunged = account.expunge(mailbox, set.as_ref())?;
        self.highest_modseq_in_ok = !expunged.is_empty();
        let sel = self.selected_mut()?;
        for u in expunged {
            if let Err(i) = sel.pending_expunges.binary_search(&u) {
                sel.pending_expunges.insert(i, u);
            }
        }
        sel.dirty = true;
        super::ok(if uids.is_some() { "UID EXPUNGE completed" } else { "EXPUNGE completed" })
    }

    pub(super) fn cmd_copy_move(
        &mut self,
        uid_cmd: bool,
        set: &SequenceSet,
        mailbox: &MailboxName,
        is_move: bool,
    ) -> CmdResult {
        let dest = self.store_name(mailbox)?;
        let sel = self.selected()?;
        if is_move && sel.read_only {
            return Err(Failure::no_code("READ-ONLY", "mailbox is read-only"));
        }
        let from = sel.id;
        let ranges = self.resolve_set(uid_cmd, set)?;
        let uids = UidSet::from_ranges(ranges);
        let account = self.acct()?;
        let Some(to) = account.snapshot()?.mailbox(&dest)?.filter(|m| m.selectable) else {
            return Err(Failure::no_code("TRYCREATE", format!("mailbox {dest:?} does not exist")));
        };
        let pairs = if is_move {
            account.move_messages(from, &uids, to.id)?
        } else {
            account.copy_messages(from, &uids, to.id)?
        };
        let verb = match (uid_cmd, is_move) {
            (true, true) => "UID MOVE",
            (false, true) => "MOVE",
            (true, false) => "UID COPY",
            (false, false) => "COPY",
        };
        if pairs.is_empty() {
            return super::ok(format!("{verb} completed, no messages"));
        }
        // mox's AutomaticJunkFlags on move and copy: the destination sets $Junk/$NotJunk, and
        // the messages train as those say.
        let new_uids = UidSet::from_uids(pairs.iter().map(|p| p.1));
        self.train(|junk| {
            junk.apply_mailbox_flags(&account, to.id, &new_uids)?;
            junk.sync_uids(&account, to.id, &new_uids)
        });
        // RFC 4315 COPYUID: source and destination UIDs in corresponding order.
        let mut code = Vec::from(&b"COPYUID "[..]);
        push_u32(&mut code, to.uid_validity);
        code.push(b' ');
        format_ordered(&pairs.iter().map(|p| p.0).collect::<Vec<_>>(), &mut code);
        code.push(b' ');
        format_ordered(&pairs.iter().map(|p| p.1).collect::<Vec<_>>(), &mut code);
        let code = String::from_utf8_lossy(&code).into_owned();
        if to.id == from {
            self.own_change(None);
        }
        if is_move {
            // RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
            self.out.extend_from_slice(b"* OK [");
            self.out.extend_from_slice(code.as_bytes());
            self.out.extend_from_slice(b"] moved\r\n");
            let sel = self.selected_mut()?;
            for (u, _) in &pairs {
                if let Err(i) = sel.pending_expunges.binary_search(u) {
                    sel.pending_expunges.insert(i, *u);
                }
            }
            sel.dirty = true;
            self.highest_modseq_in_ok = true;
            return super::ok(format!("{verb} completed"));
        }
        super::ok_code(code, format!("{verb} completed"))
    }
}
