//! Importing mbox files and maildirs into a mailbox.
//!
//! Messages are converted to CRLF line endings for storage (remembering when they came with
//! bare LFs, so export gives back the same bytes), their flags are taken from the maildir file
//! names (and `dovecot-keywords`) or the mbox `Status`/`X-Status`/`X-Keywords` headers, and
//! their MIME structure is parsed.
//!
//! Imports are written in batches of up to 10,000 messages or 64 MiB: the batch's files are
//! written to `tmp/` without a flush each, then one `syncfs` flushes them all, and one
//! transaction links them into `msg/` and commits them. Memory stays bounded by one batch, and
//! a failure loses at most the batch in progress; the error says how many messages were
//! imported before it.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use crate::deliver::{PreparedMessage, insert_message};
use crate::maildir;
use crate::mbox::{self, MboxReader};
use crate::progress::Progress;
use crate::structure;
use crate::types::{Flags, MailboxId, Timestamp};
use crate::{Account, Error, NewMessage};

const BATCH_MESSAGES: usize = 10_000;
const BATCH_BYTES: u64 = 64 << 20;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// The mailbox imported into.
    pub mailbox: String,
    /// Messages imported.
    pub messages: u64,
    /// Their total size, as stored.
    pub bytes: u64,
    /// Messages with both CRLF and bare LF line endings: stored with CRLF throughout, so their
    /// bare LFs will not come back on export.
    pub mixed_line_endings: u64,
    /// Keywords skipped because they are not valid IMAP keywords.
    pub invalid_keywords: u64,
}

/// An import failed part way.
#[derive(Debug, thiserror::Error)]
#[error("{source} ({imported} messages were imported before this)")]
pub struct ImportError {
    /// Messages imported (committed) before the failure.
    pub imported: u64,
    /// What went wrong.
    #[source]
    pub source: Error,
}

/// Imports an mbox file (mboxrd) into `mailbox`, creating the mailbox if needed.
pub fn import_mbox(
    account: &Account,
    mailbox: &str,
    path: &Path,
    progress: &dyn Progress,
) -> Result<ImportSummary, ImportError> {
    let mut imp =
        Importer::new(account, mailbox).map_err(|source| ImportError { imported: 0, source })?;
    let r = (|| {
        let file = File::open(path).map_err(Error::io(path, "open mbox"))?;
        let total = file.metadata().map(|m| m.len()).ok();
        progress.start("importing", total);
        let mut reader = MboxReader::new(BufReader::with_capacity(256 << 10, file), path);
        let mut done = 0;
        while let Some(m) = reader.next_message()? {
            let mut data = m.data;
            let hf = mbox::take_flag_headers(&mut data);
            imp.summary.invalid_keywords += hf.invalid_keywords as u64;
            imp.add(data, m.date.unwrap_or_else(Timestamp::now), m.sender, hf.flags)?;
            progress.advance(reader.bytes_read() - done);
            done = reader.bytes_read();
        }
        imp.flush()
    })();
    progress.finish();
    imp.result(r)
}

/// Imports a maildir (its `new/` and `cur/` messages) into `mailbox`, creating the mailbox if
/// needed. Keyword letters in file names are resolved with the maildir's `dovecot-keywords`.
pub fn import_maildir(
    account: &Account,
    mailbox: &str,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<ImportSummary, ImportError> {
    let mut imp =
        Importer::new(account, mailbox).map_err(|source| ImportError { imported: 0, source })?;
    let r = (|| {
        let files = maildir::list_messages(dir)?;
        let keywords = match std::fs::read_to_string(dir.join("dovecot-keywords")) {
            Ok(text) => {
                let (k, skipped) = maildir::parse_dovecot_keywords(&text);
                imp.summary.invalid_keywords += skipped as u64;
                k
            }
            Err(_) => Vec::new(),
        };
        progress.start("importing", Some(files.len() as u64));
        for path in files {
            let data = std::fs::read(&path).map_err(Error::io(&path, "read message"))?;
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let flags = maildir::name_flags(&name, &keywords);
            let received = match maildir::name_time(&name) {
                Some(t) => Timestamp::from_unix(t),
                None => mtime(&path).unwrap_or_else(Timestamp::now),
            };
            imp.add(data, received, String::new(), flags)?;
            progress.advance(1);
        }
        imp.flush()
    })();
    progress.finish();
    imp.result(r)
}

fn mtime(path: &Path) -> Option<Timestamp> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(Timestamp::from_unix(secs as i64))
}

struct Importer<'a> {
    account: &'a Account,
    mailbox: MailboxId,
    batch: Vec<(PreparedMessage, NewMessage)>,
    batch_bytes: u64,
    summary: ImportSummary,
}

impl<'a> Importer<'a> {
    fn new(account: &'a Account, mailbox: &str) -> Result<Importer<'a>, Error> {
        let id = account.ensure_mailbox(mailbox)?;
        let name = account.snapshot()?.mailbox_by_id(id)?.map(|m| m.name).unwrap_or_default();
        Ok(Importer {
            account,
            mailbox: id,
            batch: Vec::new(),
            batch_bytes: 0,
            summary: ImportSummary { mailbox: name, ..Default::default() },
        })
    }

    fn add(
        &mut self,
        data: Vec<u8>,
        received: Timestamp,
        mail_from: String,
        flags: Flags,
    ) -> Result<(), Error> {
        let (data, line_ending, mixed) = mbox::to_stored(data);
        if mixed {
            self.summary.mixed_line_endings += 1;
        }
        let mut w = self.account.message_writer()?;
        w.write_all(&data)
            .map_err(Error::io(self.account.dir().join("tmp"), "write message file"))?;
        let mut prepared = w.finish_unsynced();
        prepared.set_structure(structure::encode_structure(&data));
        self.batch_bytes += data.len() as u64;
        let new = NewMessage {
            flags,
            received: Some(received),
            prefix: Vec::new(),
            mail_from,
            line_ending,
        };
        self.batch.push((prepared, new));
        if self.batch.len() >= BATCH_MESSAGES || self.batch_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Makes the batch's files durable with one file-system flush, then commits the batch.
    fn flush(&mut self) -> Result<(), Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let paths: Vec<PathBuf> =
            self.batch.iter().filter_map(|(p, _)| p.path().cloned()).collect();
        sync_files(&self.account.dir().join("tmp"), &paths)?;
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let mailbox = self.mailbox;
        let (n, bytes) = self.account.inner.write(|tx| {
            let mut bytes = 0;
            let n = batch.len() as u64;
            for (mut prepared, new) in batch {
                let size = prepared.size();
                insert_message(tx, mailbox, &mut prepared, new)??;
                bytes += size;
            }
            Ok((n, bytes))
        })?;
        self.summary.messages += n;
        self.summary.bytes += bytes;
        Ok(())
    }

    fn result(self, r: Result<(), Error>) -> Result<ImportSummary, ImportError> {
        match r {
            Ok(()) => Ok(self.summary),
            Err(source) => Err(ImportError { imported: self.summary.messages, source }),
        }
    }
}

/// Flushes written files to disk: with one `syncfs` of the file system holding `dir` on Linux,
/// else with an fsync per file.
fn sync_files(dir: &Path, files: &[PathBuf]) -> Result<(), Error> {
    #[cfg(target_os = "linux")]
    {
        let _ = files;
        let d = File::open(dir).map_err(Error::io(dir, "open directory"))?;
        rustix::fs::syncfs(&d).map_err(|e| Error::io(dir, "syncfs")(e.into()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        for f in files {
            File::open(f).and_then(|f| f.sync_all()).map_err(Error::io(f, "fsync message file"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoProgress;

    #[test]
    fn failed_import_leaves_nothing_behind() {
        let (dir, acc) = crate::test_util::account();
        let mbox = dir.path().join("in.mbox");
        let mut data = Vec::new();
        for i in 0..5 {
            data.extend_from_slice(
                format!("From x Mon Nov 24 18:22:48 1986\nSubject: {i}\n\nbody\n\n").as_bytes(),
            );
        }
        std::fs::write(&mbox, &data).unwrap();
        acc.set_quota(Some(60));
        let e = import_mbox(&acc, "In", &mbox, &NoProgress).unwrap_err();
        assert!(matches!(e.source, Error::QuotaExceeded { .. }), "{e}");
        assert_eq!(e.imported, 0);
        let mb = acc.mailbox("In").unwrap().unwrap();
        assert_eq!(mb.counts.messages, 0);
        assert_eq!(std::fs::read_dir(acc.dir().join("tmp")).unwrap().count(), 0);
        let files: usize = std::fs::read_dir(acc.dir().join("msg"))
            .unwrap()
            .map(|d| std::fs::read_dir(d.unwrap().path()).unwrap().count())
            .sum();
        assert_eq!(files, 0, "no message file without its message");

        acc.set_quota(None);
        let s = import_mbox(&acc, "In", &mbox, &NoProgress).unwrap();
        assert_eq!((s.messages, s.mailbox.as_str()), (5, "In"));
        let e = import_maildir(&acc, "In", dir.path(), &NoProgress).unwrap_err();
        assert!(matches!(e.source, Error::Import { .. }));
    }
}
