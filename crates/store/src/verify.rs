//! Verifying a data directory: every database opens and is consistent, every message has its
//! bytes (in the database or its file), and no file or stored bytes lack their message.
//!
//! Problems are inconsistencies that should never happen. Leftovers are what an interrupted
//! process legitimately leaves (files in `tmp/`, files of deliveries that did not commit,
//! files whose removal was committed but not yet done); opening the account cleans them up, so
//! they are reported separately and are not problems. With `fix`, unknown files and leftovers
//! are moved to `<data-dir>/moved/<account>/`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::codec::{self, MailboxCounts, MailboxRecord, MessageRecord};
use crate::datadir::DataDir;
use crate::files;
use crate::progress::Progress;
use crate::{Account, Error};

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Accounts checked.
    pub accounts: u64,
    /// Messages checked.
    pub messages: u64,
    /// Inconsistencies, one line each, prefixed with the account.
    pub problems: Vec<String>,
    /// Files left by interrupted writes (not problems), one line each.
    pub leftovers: Vec<String>,
    /// Files moved aside with `fix`.
    pub moved: Vec<PathBuf>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// How to verify.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions {
    /// Move unknown and leftover files aside (to `<data-dir>/moved/<account>/`); the accounts
    /// must not be in use (their lock is taken).
    pub fix: bool,
    /// Skip comparing each message file's size with the database (saves a stat per message).
    pub skip_size_check: bool,
}

/// Verifies every account of the data directory.
pub fn verify_data_dir(
    dir: &Path,
    opts: VerifyOptions,
    progress: &dyn Progress,
) -> Result<VerifyReport, Error> {
    let fix = opts.fix;
    let data = DataDir::new(dir);
    let mut report = VerifyReport::default();
    let accounts = data.accounts()?;
    progress.start("verifying", Some(accounts.len() as u64));
    for name in accounts {
        let account_dir = data.account_dir(&name)?;
        let moved_dir = dir.join("moved").join(&name);
        let move_to = fix.then_some(moved_dir.as_path());
        if let Err(e) =
            verify_account(&account_dir, &name, move_to, opts.skip_size_check, &mut report)
        {
            report.problems.push(format!("{name}: {e}"));
        }
        report.accounts += 1;
        progress.advance(1);
    }
    progress.finish();
    Ok(report)
}

/// Verifies one account directory, adding to `report`. With `move_to`, unknown and leftover
/// files are moved there.
pub fn verify_account(
    dir: &Path,
    name: &str,
    move_to: Option<&Path>,
    skip_size_check: bool,
    report: &mut VerifyReport,
) -> Result<(), Error> {
    // To move files, no other process may be writing: take the account's lock.
    let _lock = match move_to {
        Some(_) => {
            let p = dir.join("account.lock");
            let f = fs::File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&p)
                .map_err(Error::io(&p, "open lock file"))?;
            match f.try_lock() {
                Ok(()) => Some(f),
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(Error::AccountLocked { path: dir.to_path_buf() });
                }
                Err(fs::TryLockError::Error(e)) => return Err(Error::io(&p, "lock")(e)),
            }
        }
        None => None,
    };
    let acc = Account::open_read_only(dir)?;
    let inner = &acc.inner;
    // Open in this process too: its removals in progress are not leftovers.
    inner.removals.wait();
    let txn = inner.env.read_txn().map_err(inner.db_err("begin read transaction"))?;
    let db = inner.db;
    let mut problems = Vec::new();
    let mut problem = |s: String| problems.push(format!("{name}: {s}"));
    let meta = |k: &[u8]| -> Result<u64, Error> {
        Ok(db
            .meta
            .get(&txn, k)
            .map_err(inner.db_err("read meta"))?
            .and_then(codec::read_u64_be)
            .unwrap_or(0))
    };
    let next_message_id = meta(codec::META_NEXT_MESSAGE_ID)?.max(1);
    // Files at or above this id without a message are from writes that did not commit.
    let uncommitted_from = match db
        .meta
        .get(&txn, codec::META_UNCOMMITTED_FROM)
        .map_err(inner.db_err("read meta"))?
        .and_then(codec::read_u64_be)
    {
        Some(v) => v.min(next_message_id),
        None => next_message_id,
    };
    let account_modseq = meta(codec::META_MODSEQ)?;
    let account_size = meta(codec::META_SIZE)?;
    let next_keyword_id = meta(codec::META_NEXT_KEYWORD_ID)?;

    // Mailboxes and their names.
    let mut mailboxes: BTreeMap<u32, MailboxRecord> = BTreeMap::new();
    for item in db.mailboxes.iter(&txn).map_err(inner.db_err("read mailboxes"))? {
        let (k, v) = item.map_err(inner.db_err("read mailboxes"))?;
        match (codec::read_u32_be(k), codec::decode::<MailboxRecord>(v)) {
            (Some(id), Some(rec)) => {
                mailboxes.insert(id, rec);
            }
            _ => problem(format!("undecodable mailbox record {k:?}")),
        }
    }
    let mut named = HashSet::new();
    for item in db.mailbox_names.iter(&txn).map_err(inner.db_err("read mailbox names"))? {
        let (k, v) = item.map_err(inner.db_err("read mailbox names"))?;
        let name_str = String::from_utf8_lossy(k);
        match codec::read_u32_be(v).and_then(|id| mailboxes.get(&id).map(|m| (id, m))) {
            Some((id, m)) if m.name.as_bytes() == k => {
                named.insert(id);
            }
            _ => problem(format!("mailbox name {name_str:?} points to no mailbox of that name")),
        }
    }
    for (id, m) in &mailboxes {
        if !named.contains(id) {
            problem(format!("mailbox {:?} (id {id}) has no name entry", m.name));
        }
    }
    let keyword_ids: HashSet<u32> =
        inner.keywords.read().map(|t| t.by_id.keys().copied().collect()).unwrap_or_default();

    // Message states, with the change index and the counts.
    let mut counts: HashMap<u32, MailboxCounts> = HashMap::new();
    let mut state_of: HashMap<u64, (u32, u32, u64)> = HashMap::new();
    let mut sizes: HashMap<u64, (u64, usize)> = HashMap::new();
    let mut present_changes = 0u64;
    for item in db.uids.iter(&txn).map_err(inner.db_err("read message states"))? {
        let (k, v) = item.map_err(inner.db_err("read message states"))?;
        let (Some((mb, uid)), Some(s)) = (codec::parse_uid_key(k), codec::decode_state(v)) else {
            problem(format!("undecodable message state {k:?}"));
            continue;
        };
        match mailboxes.get(&mb) {
            None => problem(format!("message state for uid {uid} in missing mailbox {mb}")),
            Some(m) if uid >= m.uid_next => {
                problem(format!("mailbox {:?}: uid {uid} not below uidnext {}", m.name, m.uid_next))
            }
            Some(m) if !m.selectable => {
                problem(format!("mailbox {:?} is \\Noselect but has messages", m.name))
            }
            Some(_) => {}
        }
        if s.modseq > account_modseq || s.modseq == 0 {
            problem(format!(
                "mailbox {mb} uid {uid}: modseq {} outside 1..={account_modseq}",
                s.modseq
            ));
        }
        if let Some(k) = s
            .keywords
            .iter()
            .find(|k| !keyword_ids.contains(k) || **k >= next_keyword_id.max(1) as u32)
        {
            problem(format!("mailbox {mb} uid {uid}: unknown keyword id {k}"));
        }
        let change = db
            .changes
            .get(&txn, &codec::change_key(mb, s.modseq, uid))
            .map_err(inner.db_err("read changes"))?;
        if change != Some(&[codec::CHANGE_PRESENT][..]) {
            problem(format!(
                "mailbox {mb} uid {uid}: no change index entry at its modseq {}",
                s.modseq
            ));
        }
        if state_of.insert(s.message_id, (mb, uid, s.modseq)).is_some() {
            problem(format!("message {} is in more than one mailbox position", s.message_id));
        }
        let rec = db
            .messages
            .get(&txn, &codec::u64_key(s.message_id))
            .map_err(inner.db_err("read message"))?;
        let size = rec.and_then(codec::decode::<MessageRecord>).map_or(0, |r| r.size);
        counts.entry(mb).or_default().add(s.flags, size);
    }
    for item in db.changes.iter(&txn).map_err(inner.db_err("read changes"))? {
        let (k, v) = item.map_err(inner.db_err("read changes"))?;
        let Some((mb, modseq, _)) = codec::parse_change_key(k) else {
            problem(format!("undecodable change entry {k:?}"));
            continue;
        };
        if v == [codec::CHANGE_PRESENT] {
            present_changes += 1;
        }
        if modseq > account_modseq {
            problem(format!(
                "mailbox {mb}: change at modseq {modseq} beyond account modseq {account_modseq}"
            ));
        }
    }
    if present_changes != state_of.len() as u64 {
        problem(format!("{present_changes} change index entries for {} messages", state_of.len()));
    }
    for (id, m) in &mailboxes {
        let c = counts.get(id).copied().unwrap_or_default();
        if c != m.counts {
            problem(format!("mailbox {:?}: stored counts {:?}, actual {:?}", m.name, m.counts, c));
        }
    }

    // Message records and their files.
    let mut total_size = 0u64;
    for item in db.messages.iter(&txn).map_err(inner.db_err("read messages"))? {
        let (k, v) = item.map_err(inner.db_err("read messages"))?;
        let (Some(id), Some(rec)) = (codec::read_u64_be(k), codec::decode::<MessageRecord>(v))
        else {
            problem(format!("undecodable message record {k:?}"));
            continue;
        };
        report.messages += 1;
        total_size += rec.size;
        if id >= next_message_id {
            problem(format!("message {id} at or beyond the next message id {next_message_id}"));
        }
        if state_of.get(&id).map(|s| (s.0, s.1)) != Some((rec.mailbox, rec.uid)) {
            problem(format!(
                "message {id}: not listed at its mailbox {} uid {}",
                rec.mailbox, rec.uid
            ));
        }
        if let Some(len) = inner.stored_body(&txn, id)?.map(<[u8]>::len) {
            if len as u64 + rec.prefix.len() as u64 != rec.size {
                problem(format!(
                    "message {id}: size {} in database, stored message {len} + prefix {}",
                    rec.size,
                    rec.prefix.len()
                ));
            }
            sizes.insert(id, (rec.size, rec.prefix.len()));
            continue;
        }
        let path = dir.join(files::message_path(id));
        match fs::metadata(&path) {
            Ok(_) if skip_size_check => {}
            Ok(md) if md.len() + rec.prefix.len() as u64 == rec.size => {}
            Ok(md) => problem(format!(
                "message {id}: size {} in database, file {} + prefix {}",
                rec.size,
                md.len(),
                rec.prefix.len()
            )),
            Err(e) => problem(format!("message {id}: file {}: {e}", path.display())),
        }
        sizes.insert(id, (rec.size, rec.prefix.len()));
    }
    for id in state_of.keys() {
        if !sizes.contains_key(id) {
            problem(format!("message state for missing message {id}"));
        }
    }
    if let Some(b) = inner.bodies {
        for item in b.iter(&txn).map_err(inner.db_err("read messages"))? {
            let (k, _) = item.map_err(inner.db_err("read messages"))?;
            match codec::read_u64_be(k) {
                Some(id) if sizes.contains_key(&id) => {}
                Some(id) => problem(format!("stored message {id} without message record")),
                None => problem(format!("undecodable stored message key {k:?}")),
            }
        }
    }
    if total_size != account_size {
        problem(format!(
            "account size {account_size} in database, messages add up to {total_size}"
        ));
    }
    let mut pending = HashSet::new();
    for item in db.pending_removals.iter(&txn).map_err(inner.db_err("read pending removals"))? {
        let (k, _) = item.map_err(inner.db_err("read pending removals"))?;
        pending.extend(codec::read_u64_be(k));
    }
    drop(txn);
    report.problems.extend(problems);

    // Files without messages.
    let mut unknown: Vec<(PathBuf, String)> = Vec::new();
    let msg_dir = dir.join("msg");
    if let Ok(subdirs) = fs::read_dir(&msg_dir) {
        for sd in subdirs.flatten() {
            let sd_name = sd.file_name().to_string_lossy().into_owned();
            let Ok(entries) = fs::read_dir(sd.path()) else {
                unknown.push((sd.path(), "not a message directory".into()));
                continue;
            };
            for e in entries.flatten() {
                let file = e.file_name().to_string_lossy().into_owned();
                match files::parse_message_rel(&sd_name, &file) {
                    Some(id) if sizes.contains_key(&id) => {}
                    Some(id) if pending.contains(&id) => report.leftovers.push(format!(
                        "{name}: message file {id}: removal committed, not yet done"
                    )),
                    Some(id) if id >= uncommitted_from => report.leftovers.push(format!(
                        "{name}: message file {id}: from a delivery that did not commit"
                    )),
                    _ => unknown.push((e.path(), "file without message".into())),
                }
                if let (Some(id), Some(dst)) = (files::parse_message_rel(&sd_name, &file), move_to)
                    && !sizes.contains_key(&id)
                {
                    move_aside(dir, &e.path(), dst, report)?;
                }
            }
        }
    }
    if let Ok(entries) = fs::read_dir(dir.join("tmp")) {
        for e in entries.flatten() {
            report.leftovers.push(format!(
                "{name}: tmp/{}: message being written when interrupted",
                e.file_name().to_string_lossy()
            ));
            if let Some(dst) = move_to {
                move_aside(dir, &e.path(), dst, report)?;
            }
        }
    }
    for (path, what) in unknown {
        let is_msg_file = path.parent().and_then(|p| p.file_name()).is_some_and(|sd| {
            path.file_name()
                .and_then(|f| files::parse_message_rel(&sd.to_string_lossy(), &f.to_string_lossy()))
                .is_some()
        });
        report.problems.push(format!("{name}: {}: {what}", path.display()));
        if let (Some(dst), false) = (move_to, is_msg_file) {
            move_aside(dir, &path, dst, report)?;
        }
    }
    Ok(())
}

fn move_aside(
    account_dir: &Path,
    path: &Path,
    dst_root: &Path,
    report: &mut VerifyReport,
) -> Result<(), Error> {
    let rel = path.strip_prefix(account_dir).unwrap_or(path);
    let dst = dst_root.join(rel);
    if let Some(parent) = dst.parent() {
        fs::create_dir_all(parent).map_err(Error::io(parent, "create directory"))?;
    }
    fs::rename(path, &dst).map_err(Error::io(path, "move aside"))?;
    report.moved.push(dst);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::deliver;
    use crate::{FlagOp, Flags, NoProgress, UidSet};

    fn data_dir() -> (tempfile::TempDir, PathBuf, Account) {
        let d = tempfile::tempdir().unwrap();
        let acc_dir = DataDir::new(d.path()).account_dir("mjl").unwrap();
        let acc = Account::open_or_create(&acc_dir).unwrap();
        let root = d.path().to_path_buf();
        (d, root, acc)
    }

    #[test]
    fn clean_account_verifies() {
        let (_d, root, acc) = data_dir();
        for n in 0..10 {
            deliver(&acc, "Inbox", n);
        }
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let other = acc.create_mailbox("Other", crate::SpecialUse::NONE).unwrap();
        acc.store_flags(
            inbox,
            &UidSet::from_ranges([1..=4]),
            FlagOp::Add,
            &Flags::parse(["\\Deleted", "kw"]).unwrap(),
            None,
        )
        .unwrap();
        acc.copy_messages(inbox, &UidSet::from_ranges([3..=6]), other).unwrap();
        acc.move_messages(inbox, &UidSet::from_ranges([7..=8]), other).unwrap();
        acc.expunge(inbox, None).unwrap();
        let r = verify_data_dir(&root, VerifyOptions::default(), &NoProgress).unwrap();
        assert!(r.is_ok(), "{:?}", r.problems);
        assert_eq!((r.accounts, r.messages), (1, 4 + 4 + 2));
        assert!(r.leftovers.is_empty());
    }

    #[test]
    fn finds_problems_and_fix_moves_files_aside() {
        let (_d, root, acc) = data_dir();
        acc.set_inline_limit(0);
        let ds: Vec<_> = (0..3).map(|n| deliver(&acc, "Inbox", n)).collect();
        let dir = acc.dir().to_path_buf();
        fs::remove_file(acc.message_file(ds[0].id)).unwrap();
        fs::write(acc.message_file(ds[1].id), b"changed size").unwrap();
        let next = acc.inner.next_message_id();
        fs::write(dir.join(files::message_path(next)), b"uncommitted").unwrap();
        fs::write(dir.join("msg/0/stray"), b"?").unwrap();
        fs::write(dir.join("tmp/1.2"), b"partial").unwrap();
        // Damage the counts.
        acc.inner
            .write(|tx| {
                tx.existing_mailbox(1)?.counts.unseen = 99;
                Ok(())
            })
            .unwrap();

        let r = verify_data_dir(&root, VerifyOptions::default(), &NoProgress).unwrap();
        let all = r.problems.join("\n");
        assert!(all.contains(&format!("message {}: file", ds[0].id)), "{all}");
        assert!(all.contains(&format!("message {}: size", ds[1].id)), "{all}");
        assert!(all.contains("stray: file without message"), "{all}");
        assert!(all.contains("stored counts"), "{all}");
        assert_eq!(r.leftovers.len(), 2, "{:?}", r.leftovers);
        // In use by this process (lock held): -fix refuses.
        let r =
            verify_data_dir(&root, VerifyOptions { fix: true, ..Default::default() }, &NoProgress)
                .unwrap();
        assert!(r.problems.iter().any(|p| p.contains("in use")), "{:?}", r.problems);
        drop(acc);

        let r =
            verify_data_dir(&root, VerifyOptions { fix: true, ..Default::default() }, &NoProgress)
                .unwrap();
        assert_eq!(r.moved.len(), 3, "{:?}", r.moved);
        assert!(root.join("moved/mjl/msg/0/stray").exists());
        assert!(root.join(format!("moved/mjl/{}", files::message_path(next).display())).exists());
        assert!(root.join("moved/mjl/tmp/1.2").exists());
        let r = verify_data_dir(&root, VerifyOptions::default(), &NoProgress).unwrap();
        assert!(r.leftovers.is_empty());
        assert_eq!(r.problems.len(), 3, "missing file, size, counts remain: {:?}", r.problems);
    }

    #[test]
    fn backup_links_files_and_verifies() {
        use std::os::unix::fs::MetadataExt;
        let (d, root, acc) = data_dir();
        // Ten kept in the database (they come with its copy), ten in files (linked).
        let mut ds: Vec<_> = (0..10).map(|n| deliver(&acc, "Inbox", n)).collect();
        acc.set_inline_limit(0);
        ds.extend((10..20).map(|n| deliver(&acc, "Inbox", n)));
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        acc.store_flags(
            inbox,
            &UidSet::all(),
            FlagOp::Add,
            &Flags::parse(["\\Seen", "$Label"]).unwrap(),
            None,
        )
        .unwrap();
        let dest = d.path().join("backup");
        let mut log = Vec::new();
        let s = crate::backup::backup(&root, &dest, &NoProgress, &mut |l| log.push(l.to_string()))
            .unwrap();
        assert_eq!((s.accounts, s.linked, s.copied), (1, 10, 0));
        assert!(s.warnings.is_empty());
        assert_eq!(log.len(), 1);
        assert!(!dest.join("accounts/mjl/lock.mdb").exists());
        let r = verify_data_dir(&dest, VerifyOptions::default(), &NoProgress).unwrap();
        assert!(r.is_ok() && r.messages == 20, "{r:?}");
        let b = Account::open_existing(&dest.join("accounts/mjl")).unwrap();
        for (i, d) in ds.iter().enumerate() {
            assert_eq!(b.read_message(d.id).unwrap(), acc.read_message(d.id).unwrap());
            if i < 10 {
                assert!(!b.message_file(d.id).exists(), "kept in the database");
                continue;
            }
            let (m1, m2) = (
                fs::metadata(acc.message_file(d.id)).unwrap(),
                fs::metadata(b.message_file(d.id)).unwrap(),
            );
            assert_eq!(m1.ino(), m2.ino(), "hard-linked");
        }
        let st = b.snapshot().unwrap().message_states(inbox, &UidSet::all()).unwrap();
        assert!(st.iter().all(|s| s.flags.has_keyword("$label")));
        assert!(matches!(
            crate::backup::backup(&root, &dest, &NoProgress, &mut |_| {}),
            Err(Error::DestinationNotEmpty { .. })
        ));
    }
}
