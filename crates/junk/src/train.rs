//! Training from an account's messages: what a message's flags and mailbox say it is, keeping
//! the filter in step when that changes, and rebuilding the filter from scratch.
//!
//! A message is spam when it has `$Junk` and not `$NotJunk`, ham when it has `$NotJunk` and
//! not `$Junk` (as mox trains); with neither, its mailbox decides ([`MailboxClass`] from
//! [`AutomaticJunkFlags`](crate::AutomaticJunkFlags)): a Junk mailbox means spam, a not-junk
//! mailbox ham. The IMAP and SMTP servers call [`sync_message`] after delivering, changing
//! flags, moving or copying a message, and [`forget_message`] before expunging it, so the
//! filter always holds exactly the messages the account classifies; [`retrain`] rebuilds the
//! same database from the account alone.

use std::path::Path;

use store::{Account, FlagOp, Flags, Keyword, MailboxId, MessageId, SpecialUse, UidSet};

use crate::{Class, Error, Filter, JunkFlagRules, MailboxClass, Params, TrainOutcome};

/// The class a message's flags ask for.
pub fn class_of(flags: &Flags) -> Option<Class> {
    match (flags.has_keyword("$junk"), flags.has_keyword("$notjunk")) {
        (true, false) => Some(Class::Spam),
        (false, true) => Some(Class::Ham),
        _ => None,
    }
}

/// The class of a message with `flags` in a mailbox of class `mailbox`: the flags, else the
/// mailbox.
pub fn desired_class(flags: &Flags, mailbox: MailboxClass) -> Option<Class> {
    if flags.has_keyword("$junk") || flags.has_keyword("$notjunk") {
        return class_of(flags);
    }
    match mailbox {
        MailboxClass::Junk => Some(Class::Spam),
        MailboxClass::NotJunk => Some(Class::Ham),
        MailboxClass::Neutral | MailboxClass::Unchanged => None,
    }
}

impl MailboxClass {
    /// Sets `$Junk`/`$NotJunk` on `flags` as the mailbox asks (mox's AutomaticJunkFlags on
    /// delivery, move and copy). Returns whether the flags changed.
    pub fn apply(self, flags: &mut Flags) -> bool {
        let (set, clear): (&[&str], &[&str]) = match self {
            MailboxClass::Junk => (&["$Junk"], &["$notjunk"]),
            MailboxClass::NotJunk => (&["$NotJunk"], &["$junk"]),
            MailboxClass::Neutral => (&[], &["$junk", "$notjunk"]),
            MailboxClass::Unchanged => return false,
        };
        let before = flags.keywords.len();
        flags.keywords.retain(|k| !clear.iter().any(|c| k.as_str().eq_ignore_ascii_case(c)));
        let mut changed = flags.keywords.len() != before;
        for s in set {
            if !flags.has_keyword(s)
                && let Ok(k) = Keyword::new(s)
            {
                flags.keywords.push(k);
                changed = true;
            }
        }
        changed
    }
}

/// Brings the training of message `id` of `account` to `class` (see [`desired_class`]):
/// untrains what it was trained as, if different, then trains it. The message is read only
/// if something changes. Call it after delivering, flagging, moving or copying.
pub fn sync_message(
    filter: &Filter,
    account: &Account,
    id: MessageId,
    class: Option<Class>,
) -> Result<TrainOutcome, Error> {
    filter.set_class(id, class, || Ok(filter.words(&account.read_message(id)?)))
}

/// Untrains message `id` before it is expunged (while it can still be read).
pub fn forget_message(
    filter: &Filter,
    account: &Account,
    id: MessageId,
) -> Result<TrainOutcome, Error> {
    sync_message(filter, account, id, None)
}

/// An account's junk settings as the servers apply them: the compiled AutomaticJunkFlags
/// rules, and the word filter when the account has one (`JunkFilter`). The IMAP and SMTP
/// servers call it at each change that can change a message's class, so the filter holds
/// exactly what [`retrain`] would build from the account:
///
/// - a message arrives (delivery, APPEND): [`AccountJunk::arrival_flags`] before storing it,
///   [`AccountJunk::sync_uids`] after;
/// - a message is moved or copied: [`AccountJunk::apply_mailbox_flags`] on the new UIDs,
///   then [`AccountJunk::sync_uids`];
/// - flags change (STORE): [`AccountJunk::sync_uids`];
/// - before an expunge: [`AccountJunk::forget_deleted`].
#[derive(Debug, Clone)]
pub struct AccountJunk {
    /// Which mailboxes imply which flags.
    pub rules: JunkFlagRules,
    /// The word filter; `None` when the account has no `JunkFilter` (flags are still set).
    pub filter: Option<Filter>,
}

impl AccountJunk {
    /// What `mailbox` says about the messages in it.
    pub fn mailbox_class(&self, mailbox: &store::Mailbox) -> MailboxClass {
        self.rules.mailbox_class(&mailbox.name, mailbox.special_use.contains(SpecialUse::JUNK))
    }

    /// Sets `$Junk`/`$NotJunk` on the flags of a message arriving in the mailbox named `name`
    /// (`None` if it does not exist yet: its name decides). Returns whether flags changed.
    pub fn arrival_flags(
        &self,
        mailbox: Option<&store::Mailbox>,
        name: &str,
        flags: &mut Flags,
    ) -> bool {
        let class = match mailbox {
            Some(mb) => self.mailbox_class(mb),
            None => self.rules.mailbox_class(name, false),
        };
        class.apply(flags)
    }

    /// Sets `$Junk`/`$NotJunk` on the messages `uids` of `mailbox` as the mailbox asks (after
    /// a MOVE or COPY into it). Returns the highest MODSEQ given, if anything changed.
    pub fn apply_mailbox_flags(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &UidSet,
    ) -> Result<Option<u64>, Error> {
        let Some(mb) = account.snapshot()?.mailbox_by_id(mailbox)? else { return Ok(None) };
        let (add, remove): (&[&str], &[&str]) = match self.mailbox_class(&mb) {
            MailboxClass::Junk => (&["$Junk"], &["$NotJunk"]),
            MailboxClass::NotJunk => (&["$NotJunk"], &["$Junk"]),
            MailboxClass::Neutral => (&[], &["$Junk", "$NotJunk"]),
            MailboxClass::Unchanged => return Ok(None),
        };
        let mut modseq = None;
        for (op, names) in [(FlagOp::Add, add), (FlagOp::Remove, remove)] {
            if names.is_empty() {
                continue;
            }
            let flags = Flags::parse(names.iter().copied())?;
            let out = account.store_flags(mailbox, uids, op, &flags, None)?;
            modseq = modseq.max(out.modseq);
        }
        Ok(modseq)
    }

    /// Brings the training of the messages `uids` of `mailbox` to what their flags and the
    /// mailbox say ([`desired_class`]), in one commit: a message whose class changed is
    /// untrained first, so it is never counted twice. Returns the messages (un)trained.
    pub fn sync_uids(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &UidSet,
    ) -> Result<usize, Error> {
        let Some(filter) = &self.filter else { return Ok(0) };
        let snap = account.snapshot()?;
        let Some(mb) = snap.mailbox_by_id(mailbox)? else { return Ok(0) };
        let class = self.mailbox_class(&mb);
        let states = snap.message_states(mailbox, uids)?;
        drop(snap);
        let mut training = filter.training()?;
        let mut changed = 0;
        for s in &states {
            let out = training.set_class(s.id, desired_class(&s.flags, class), || {
                Ok(filter.words(&account.read_message(s.id)?))
            })?;
            if out != TrainOutcome::default() {
                tracing::debug!(message = %s.id, ?out, "junk filter (re)trained message");
                changed += 1;
            }
        }
        training.commit()?;
        Ok(changed)
    }

    /// Untrains the messages of `mailbox` in `uids` (all when `None`) that have `\Deleted`,
    /// before they are expunged (while they can still be read). Returns how many.
    pub fn forget_deleted(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: Option<&UidSet>,
    ) -> Result<usize, Error> {
        self.forget(account, mailbox, uids.unwrap_or(&UidSet::all()), true)
    }

    /// Untrains the messages of `mailbox` in `uids`, before they are removed whatever their
    /// flags. Returns how many.
    pub fn forget_uids(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &UidSet,
    ) -> Result<usize, Error> {
        self.forget(account, mailbox, uids, false)
    }

    fn forget(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &UidSet,
        only_deleted: bool,
    ) -> Result<usize, Error> {
        let Some(filter) = &self.filter else { return Ok(0) };
        let mut states = account.snapshot()?.message_states(mailbox, uids)?;
        if only_deleted {
            states.retain(|s| s.flags.system.contains(store::SystemFlags::DELETED));
        }
        let mut training = filter.training()?;
        let mut changed = 0;
        for s in &states {
            let out = training
                .set_class(s.id, None, || Ok(filter.words(&account.read_message(s.id)?)))?;
            if out.untrained.is_some() {
                changed += 1;
            }
        }
        training.commit()?;
        Ok(changed)
    }
}

/// What [`retrain`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetrainStats {
    /// Messages looked at.
    pub messages: u64,
    /// Trained as ham.
    pub hams: u64,
    /// Trained as spam.
    pub spams: u64,
    /// Messages that could not be read (left untrained).
    pub unreadable: u64,
}

/// Messages trained per commit while retraining.
const RETRAIN_BATCH: usize = 2000;

/// Rebuilds the filter in `filter_dir` from the messages of `account`: removes it, then trains
/// every message whose flags or mailbox ([`desired_class`] with `rules`) make it ham or spam.
/// `progress` is called with (messages done, total). The filter must not be open.
pub fn retrain(
    account: &Account,
    filter_dir: &Path,
    params: &Params,
    rules: &JunkFlagRules,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RetrainStats, Error> {
    Filter::remove(filter_dir)?;
    let filter = Filter::open(filter_dir, params)?;
    let mut stats = RetrainStats::default();
    let mailboxes = account.mailboxes()?;
    let total: u64 = mailboxes.iter().map(|m| m.counts.messages).sum();
    let mut training = filter.training()?;
    for mb in mailboxes.iter().filter(|m| m.selectable) {
        let mailbox_class =
            rules.mailbox_class(&mb.name, mb.special_use.contains(store::SpecialUse::JUNK));
        let mut next_uid = 1;
        loop {
            let states = account.snapshot()?.message_states_from(mb.id, next_uid, 1000)?;
            let Some(last) = states.last() else { break };
            next_uid = last.uid.saturating_add(1);
            for s in &states {
                stats.messages += 1;
                let Some(class) = desired_class(&s.flags, mailbox_class) else { continue };
                let data = match account.read_message(s.id) {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(message = %s.id, error = %e, "retrain: cannot read message");
                        stats.unreadable += 1;
                        continue;
                    }
                };
                training.set_class(s.id, Some(class), || Ok(filter.words(&data)))?;
                match class {
                    Class::Ham => stats.hams += 1,
                    Class::Spam => stats.spams += 1,
                }
                if training.len() >= RETRAIN_BATCH {
                    training.commit()?;
                    training = filter.training()?;
                }
            }
            progress(stats.messages, total);
            if last.uid == u32::MAX {
                break;
            }
        }
    }
    training.commit()?;
    progress(stats.messages, total.max(stats.messages));
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AutomaticJunkFlags;

    fn flags(names: &[&str]) -> Flags {
        Flags::parse(names.iter().copied()).unwrap()
    }

    #[test]
    fn classes_from_flags_and_mailboxes() {
        assert_eq!(class_of(&flags(&["$Junk"])), Some(Class::Spam));
        assert_eq!(class_of(&flags(&["$notjunk", "\\Seen"])), Some(Class::Ham));
        assert_eq!(class_of(&flags(&["$Junk", "$NotJunk"])), None);
        assert_eq!(desired_class(&flags(&[]), MailboxClass::Junk), Some(Class::Spam));
        assert_eq!(desired_class(&flags(&["$NotJunk"]), MailboxClass::Junk), Some(Class::Ham));
        assert_eq!(desired_class(&flags(&[]), MailboxClass::Neutral), None);
        let mut f = flags(&["$NotJunk", "\\Seen"]);
        assert!(MailboxClass::Junk.apply(&mut f));
        assert_eq!(f, flags(&["\\Seen", "$Junk"]));
        assert!(!MailboxClass::Junk.apply(&mut f));
        assert!(MailboxClass::Neutral.apply(&mut f));
        assert_eq!(f, flags(&["\\Seen"]));
    }

    #[test]
    fn sync_follows_flag_changes_and_retrain_reproduces_the_database() {
        let d = tempfile::tempdir().unwrap();
        let acc = Account::open_or_create(&d.path().join("acc")).unwrap();
        let junk_mb = acc.create_mailbox("Junk", store::SpecialUse::JUNK).unwrap();
        let p = Params::default();
        let rules = AutomaticJunkFlags::quickstart().compile().unwrap();
        let fdir = Filter::dir_for_account(acc.dir());
        let filter = Filter::open(&fdir, &p).unwrap();
        let spam = b"Subject: lottery\r\n\r\nclaim your lottery prize\r\n";
        let ham = b"Subject: lunch\r\n\r\nlunch tomorrow with the team\r\n";
        let s = acc.deliver_bytes("Inbox", spam, Default::default()).unwrap();
        let h = acc.deliver_bytes("Inbox", ham, Default::default()).unwrap();
        // Inbox is neutral: nothing trained.
        let inbox_class = rules.mailbox_class("Inbox", false);
        assert_eq!(
            sync_message(&filter, &acc, s.id, desired_class(&flags(&[]), inbox_class)).unwrap(),
            TrainOutcome::default()
        );
        // The spam is moved to Junk (gets $Junk), the ham marked $NotJunk.
        let mut f = flags(&[]);
        rules.mailbox_class("Junk", true).apply(&mut f);
        acc.move_messages(s.mailbox, &store::UidSet::single(s.uid), junk_mb).unwrap();
        acc.store_flags(junk_mb, &store::UidSet::all(), store::FlagOp::Add, &f, None).unwrap();
        sync_message(&filter, &acc, s.id, desired_class(&f, MailboxClass::Junk)).unwrap();
        let nj = flags(&["$NotJunk"]);
        acc.store_flags(h.mailbox, &store::UidSet::single(h.uid), store::FlagOp::Add, &nj, None)
            .unwrap();
        sync_message(&filter, &acc, h.id, class_of(&nj)).unwrap();
        // A mistake, corrected: the ham marked junk, then not junk again.
        sync_message(&filter, &acc, h.id, Some(Class::Spam)).unwrap();
        sync_message(&filter, &acc, h.id, Some(Class::Ham)).unwrap();
        assert_eq!(filter.word_counts("lottery"), crate::Counts { ham: 0, spam: 1 });
        assert_eq!(filter.word_counts("lunch"), crate::Counts { ham: 1, spam: 0 });
        let before = dump(&filter);
        let stats = filter.stats().unwrap();
        assert_eq!((stats.hams, stats.spams), (1, 1));
        drop(filter);

        let mut calls = 0;
        let r = retrain(&acc, &fdir, &p, &rules, &mut |_, _| calls += 1).unwrap();
        assert_eq!((r.messages, r.hams, r.spams), (2, 1, 1));
        assert!(calls >= 1);
        let filter = Filter::open(&fdir, &p).unwrap();
        assert_eq!(dump(&filter), before, "retrain gives the same database");

        // Before an expunge the message is forgotten.
        forget_message(&filter, &acc, s.id).unwrap();
        assert_eq!(filter.word_counts("lottery"), crate::Counts::default());
        assert_eq!(filter.stats().unwrap().spams, 0);
    }

    /// The server hooks: arrival flags, a move into Junk with its flags, a flag change that
    /// untrains the old class first, and an expunge that forgets.
    #[test]
    fn account_junk_hooks() {
        let d = tempfile::tempdir().unwrap();
        let acc = Account::open_or_create(&d.path().join("acc")).unwrap();
        let junk_mb = acc.create_mailbox("Junk", SpecialUse::JUNK).unwrap();
        let archive = acc.create_mailbox("Archive", SpecialUse::default()).unwrap();
        let filter = Filter::open(&Filter::dir_for_account(acc.dir()), &Params::default()).unwrap();
        let aj = AccountJunk {
            rules: AutomaticJunkFlags::quickstart().compile().unwrap(),
            filter: Some(filter.clone()),
        };
        // Arrival in Inbox: neutral, nothing set, nothing trained.
        let inbox = acc.snapshot().unwrap().mailbox("Inbox").unwrap().unwrap();
        let mut f = flags(&["$NotJunk"]);
        assert!(aj.arrival_flags(Some(&inbox), "Inbox", &mut f));
        assert_eq!(f, flags(&[]));
        let m = acc
            .deliver_bytes(
                "Inbox",
                b"Subject: casino\r\n\r\ncasino bonus now\r\n",
                Default::default(),
            )
            .unwrap();
        assert_eq!(aj.sync_uids(&acc, m.mailbox, &UidSet::single(m.uid)).unwrap(), 0);
        // Moved to Junk: gets $Junk, trains as spam.
        let pairs = acc.move_messages(m.mailbox, &UidSet::single(m.uid), junk_mb).unwrap();
        let new_uids = UidSet::from_uids(pairs.iter().map(|p| p.1));
        assert!(aj.apply_mailbox_flags(&acc, junk_mb, &new_uids).unwrap().is_some());
        let st = acc.snapshot().unwrap().message_states(junk_mb, &new_uids).unwrap();
        assert!(st[0].flags.has_keyword("$junk"));
        assert_eq!(aj.sync_uids(&acc, junk_mb, &new_uids).unwrap(), 1);
        assert_eq!(filter.word_counts("casino"), crate::Counts { ham: 0, spam: 1 });
        // Syncing again changes nothing.
        assert_eq!(aj.sync_uids(&acc, junk_mb, &new_uids).unwrap(), 0);
        // Marked $NotJunk (and not $Junk) by the user: untrained as spam, trained as ham.
        acc.store_flags(junk_mb, &new_uids, FlagOp::Remove, &flags(&["$Junk"]), None).unwrap();
        acc.store_flags(junk_mb, &new_uids, FlagOp::Add, &flags(&["$NotJunk"]), None).unwrap();
        assert_eq!(aj.sync_uids(&acc, junk_mb, &new_uids).unwrap(), 1);
        assert_eq!(filter.word_counts("casino"), crate::Counts { ham: 1, spam: 0 });
        assert_eq!((filter.stats().unwrap().hams, filter.stats().unwrap().spams), (1, 0));
        // Copied to Archive: a second message, trained as ham too.
        let pairs = acc.copy_messages(junk_mb, &new_uids, archive).unwrap();
        let copy_uids = UidSet::from_uids(pairs.iter().map(|p| p.1));
        aj.apply_mailbox_flags(&acc, archive, &copy_uids).unwrap();
        assert_eq!(aj.sync_uids(&acc, archive, &copy_uids).unwrap(), 1);
        assert_eq!(filter.word_counts("casino"), crate::Counts { ham: 2, spam: 0 });
        // Expunged: forgotten (only the \Deleted one).
        acc.store_flags(archive, &copy_uids, FlagOp::Add, &flags(&["\\Deleted"]), None).unwrap();
        assert_eq!(aj.forget_deleted(&acc, archive, None).unwrap(), 1);
        acc.expunge(archive, None).unwrap();
        assert_eq!(filter.word_counts("casino"), crate::Counts { ham: 1, spam: 0 });
        // Without a filter the hooks still set flags and train nothing.
        let no_filter = AccountJunk { filter: None, ..aj.clone() };
        assert_eq!(no_filter.sync_uids(&acc, junk_mb, &new_uids).unwrap(), 0);
    }

    fn dump(f: &Filter) -> Vec<(String, crate::Counts)> {
        let mut words: Vec<(String, crate::Counts)> = [
            "lottery",
            "claim",
            "prize",
            "lunch",
            "tomorrow",
            "team",
            "subject:lottery",
            "subject:lunch",
        ]
        .iter()
        .map(|w| (w.to_string(), f.word_counts(w)))
        .collect();
        let s = f.stats().unwrap();
        words.push(("#".into(), crate::Counts { ham: s.hams, spam: s.spams }));
        words.push((
            "#words".into(),
            crate::Counts { ham: s.words as u32, spam: s.trained_messages as u32 },
        ));
        words.sort_by(|a, b| a.0.cmp(&b.0));
        words
    }
}
