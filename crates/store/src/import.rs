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
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

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
    run(account, mailbox, progress, |prep| {
        let file = File::open(path).map_err(Error::io(path, "open mbox"))?;
        let total = file.metadata().map(|m| m.len()).ok();
        progress.start("importing", total);
        let mut reader = MboxReader::new(BufReader::with_capacity(256 << 10, file), path);
        let mut done = 0;
        while let Some(m) = reader.next_message()? {
            let mut data = m.data;
            let hf = mbox::take_flag_headers(&mut data);
            prep.stats.invalid_keywords += hf.invalid_keywords as u64;
            prep.add(data, m.date.unwrap_or_else(Timestamp::now), m.sender, hf.flags)?;
            progress.advance(reader.bytes_read() - done);
            done = reader.bytes_read();
        }
        Ok(())
    })
}

/// Imports a maildir (its `new/` and `cur/` messages) into `mailbox`, creating the mailbox if
/// needed. Keyword letters in file names are resolved with the maildir's `dovecot-keywords`.
pub fn import_maildir(
    account: &Account,
    mailbox: &str,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<ImportSummary, ImportError> {
    run(account, mailbox, progress, |prep| {
        let files = maildir::list_messages(dir)?;
        let keywords = match std::fs::read_to_string(dir.join("dovecot-keywords")) {
            Ok(text) => {
                let (k, skipped) = maildir::parse_dovecot_keywords(&text);
                prep.stats.invalid_keywords += skipped as u64;
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
            prep.add(data, received, String::new(), flags)?;
            progress.advance(1);
        }
        Ok(())
    })
}

fn mtime(path: &Path) -> Option<Timestamp> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(Timestamp::from_unix(secs as i64))
}

/// A message written to `tmp/`, ready to be committed.
struct Prepared {
    message: PreparedMessage,
    new: NewMessage,
}

/// Prepared messages are handed to the committing thread in chunks: one wake-up per chunk
/// rather than per message.
const CHUNK: usize = 256;

/// The reading side of an import: turns source messages into files in `tmp/`.
struct Preparer<'a> {
    account: &'a Account,
    out: SyncSender<Vec<Prepared>>,
    chunk: Vec<Prepared>,
    stats: ImportSummary,
}

impl Preparer<'_> {
    fn add(
        &mut self,
        data: Vec<u8>,
        received: Timestamp,
        mail_from: String,
        flags: Flags,
    ) -> Result<(), Error> {
        let (data, line_ending, mixed) = mbox::to_stored(data);
        if mixed {
            self.stats.mixed_line_endings += 1;
        }
        let mut w = self.account.message_writer()?;
        w.write_all(&data)
            .map_err(Error::io(self.account.dir().join("tmp"), "write message file"))?;
        let mut message = w.finish_unsynced();
        message.set_structure(structure::encode_structure(&data));
        let new = NewMessage {
            flags,
            received: Some(received),
            prefix: Vec::new(),
            mail_from,
            line_ending,
        };
        self.chunk.push(Prepared { message, new });
        if self.chunk.len() >= CHUNK {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), Error> {
        let chunk = std::mem::take(&mut self.chunk);
        // The committing side stopped (after an error it reports itself): stop reading.
        self.out.send(chunk).map_err(|_| Error::DeliveryAborted { reason: "import stopped" })
    }
}

/// Runs an import as a pipeline of two threads: `read` (on its own thread) parses the source
/// and writes each message to `tmp/`, while this thread commits them in batches. Parsing and
/// writing overlap with committing, so an import can use two cores.
fn run<F>(
    account: &Account,
    mailbox: &str,
    progress: &dyn Progress,
    read: F,
) -> Result<ImportSummary, ImportError>
where
    F: FnOnce(&mut Preparer<'_>) -> Result<(), Error> + Send,
{
    let fail = |imported, source| ImportError { imported, source };
    let mailbox_id = account.ensure_mailbox(mailbox).map_err(|e| fail(0, e))?;
    let name =
        account.snapshot().and_then(|s| s.mailbox_by_id(mailbox_id)).map_err(|e| fail(0, e))?;
    let mut summary =
        ImportSummary { mailbox: name.map(|m| m.name).unwrap_or_default(), ..Default::default() };

    // Some room, so reading goes on while a batch is flushed and committed; more makes the
    // kernel work harder (measured) as writing then competes with the flush.
    let (tx, rx) = sync_channel::<Vec<Prepared>>(4);
    let (read_result, commit_result) = std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut prep =
                Preparer { account, out: tx, chunk: Vec::new(), stats: ImportSummary::default() };
            let r = read(&mut prep).and_then(|()| prep.send());
            (r, prep.stats)
        });
        let commit_result = commit_all(account, mailbox_id, &rx, &mut summary);
        drop(rx);
        let read_result = reader.join().unwrap_or_else(|_| {
            (
                Err(Error::DeliveryAborted { reason: "import reader panicked" }),
                ImportSummary::default(),
            )
        });
        (read_result, commit_result)
    });
    progress.finish();
    let (read_result, stats) = read_result;
    summary.mixed_line_endings = stats.mixed_line_endings;
    summary.invalid_keywords = stats.invalid_keywords;
    // A commit error is the cause when both fail (the reader then only saw the pipe close).
    commit_result.and(read_result).map_err(|e| fail(summary.messages, e))?;
    Ok(summary)
}

/// Commits prepared messages in batches until the reader is done.
fn commit_all(
    account: &Account,
    mailbox: MailboxId,
    rx: &Receiver<Vec<Prepared>>,
    summary: &mut ImportSummary,
) -> Result<(), Error> {
    let mut batch = Vec::new();
    let mut bytes = 0;
    for chunk in rx.iter() {
        bytes += chunk.iter().map(|p| p.message.size()).sum::<u64>();
        batch.extend(chunk);
        if batch.len() >= BATCH_MESSAGES || bytes >= BATCH_BYTES {
            commit_batch(account, mailbox, std::mem::take(&mut batch), summary)?;
            bytes = 0;
        }
    }
    commit_batch(account, mailbox, batch, summary)
}

/// Makes a batch's files durable with one file-system flush, then commits the batch.
fn commit_batch(
    account: &Account,
    mailbox: MailboxId,
    batch: Vec<Prepared>,
    summary: &mut ImportSummary,
) -> Result<(), Error> {
    if batch.is_empty() {
        return Ok(());
    }
    let paths: Vec<PathBuf> = batch.iter().filter_map(|p| p.message.path().cloned()).collect();
    sync_files(&account.dir().join("tmp"), &paths)?;
    let (n, bytes) = account.inner.write(|tx| {
        let mut bytes = 0;
        let n = batch.len() as u64;
        for Prepared { mut message, new } in batch {
            let size = message.size();
            insert_message(tx, mailbox, &mut message, new)??;
            bytes += size;
        }
        Ok((n, bytes))
    })?;
    summary.messages += n;
    summary.bytes += bytes;
    Ok(())
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
