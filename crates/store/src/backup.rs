//! Backups: a consistent snapshot of every account's database (a compacting LMDB copy), with
//! the message files it refers to hard-linked (copied where linking fails). Messages kept in the
//! database (up to the inline limit) come with the copy.
//!
//! The database copy is one read transaction, so it is consistent even while a server writes.
//! Message files never change once written, so linking them after the copy gives the files of
//! that snapshot; a message removed between the copy and the link is reported (its file is
//! gone), the rest of the backup goes on.

use std::fs;
use std::path::Path;

use heed::CompactionOption;

use crate::codec;
use crate::datadir::DataDir;
use crate::files;
use crate::progress::Progress;
use crate::{Account, Error};

/// What a backup did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupSummary {
    /// Accounts backed up.
    pub accounts: u64,
    /// Messages kept in the databases (copied with them).
    pub in_database: u64,
    /// Message files hard-linked.
    pub linked: u64,
    /// Message files copied (linking failed, e.g. across file systems).
    pub copied: u64,
    /// Messages whose file was removed before it could be linked, one line each.
    pub warnings: Vec<String>,
}

/// Backs up the data directory `src` into `dest` (created; must be empty): `dest/accounts/<name>/`
/// with `data.mdb` and `msg/`. `log` receives a line per account, for `-verbose`.
pub fn backup(
    src: &Path,
    dest: &Path,
    progress: &dyn Progress,
    log: &mut dyn FnMut(&str),
) -> Result<BackupSummary, Error> {
    fs::create_dir_all(dest).map_err(Error::io(dest, "create directory"))?;
    if fs::read_dir(dest).map_err(Error::io(dest, "list directory"))?.next().is_some() {
        return Err(Error::DestinationNotEmpty { path: dest.to_path_buf() });
    }
    let src = DataDir::new(src);
    let dst = DataDir::new(dest);
    let accounts = src.accounts()?;
    let mut summary = BackupSummary::default();
    let mut total = 0;
    for name in &accounts {
        if let Ok(acc) = Account::open_read_only(&src.account_dir(name)?) {
            total += acc.mailboxes()?.iter().map(|m| m.counts.messages).sum::<u64>();
        }
    }
    progress.start("backing up", Some(total));
    for name in &accounts {
        let from = src.account_dir(name)?;
        let to = dst.account_dir(name)?;
        for sub in ["msg", "tmp"] {
            fs::create_dir_all(to.join(sub))
                .map_err(Error::io(to.join(sub), "create directory"))?;
        }
        let started = std::time::Instant::now();
        let acc = Account::open_read_only(&from)?;
        let copy = to.join("data.mdb");
        acc.inner
            .env
            .copy_to_path(&copy, CompactionOption::Enabled)
            .map_err(Error::db(&copy, "copy database"))?;
        drop(acc);

        // Link the files of the messages in the copy.
        let copied = Account::open_read_only(&to)?;
        let txn =
            copied.inner.env.read_txn().map_err(copied.inner.db_err("begin read transaction"))?;
        let (mut in_database, mut linked, mut copied_files) = (0, 0, 0);
        for item in
            copied.inner.db.messages.iter(&txn).map_err(copied.inner.db_err("read messages"))?
        {
            let (k, _) = item.map_err(copied.inner.db_err("read messages"))?;
            let Some(id) = codec::read_u64_be(k) else { continue };
            // A message kept in the database came with the copy.
            if copied.inner.stored_body(&txn, id)?.is_some() {
                in_database += 1;
                progress.advance(1);
                continue;
            }
            let rel = files::message_path(id);
            let (s, d) = (from.join(&rel), to.join(&rel));
            if let Some(parent) = d.parent() {
                files::ensure_dir(parent)?;
            }
            match fs::hard_link(&s, &d) {
                Ok(()) => linked += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    summary
                        .warnings
                        .push(format!("{name}: message {id} was removed during the backup"));
                }
                Err(_) => {
                    fs::copy(&s, &d).map_err(Error::io(&d, "copy message file"))?;
                    copied_files += 1;
                }
            }
            progress.advance(1);
        }
        drop(txn);
        drop(copied);
        // Opening the copy made a lock file; a backup is just data.
        let _ = fs::remove_file(to.join("lock.mdb"));
        summary.in_database += in_database;
        summary.linked += linked;
        summary.copied += copied_files;
        summary.accounts += 1;
        log(&format!(
            "{name}: database copied with {in_database} messages, {linked} message files linked, {copied_files} copied, in {:.1?}",
            started.elapsed()
        ));
    }
    progress.finish();
    // Make the backup durable before reporting success.
    let d = fs::File::open(dest).map_err(Error::io(dest, "open"))?;
    #[cfg(target_os = "linux")]
    rustix::fs::syncfs(&d).map_err(|e| Error::io(dest, "syncfs")(e.into()))?;
    #[cfg(not(target_os = "linux"))]
    d.sync_all().map_err(Error::io(dest, "fsync"))?;
    Ok(summary)
}
