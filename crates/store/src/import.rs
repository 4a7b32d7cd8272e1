//! Importing mbox files and maildirs into a mailbox.
//!
//! Messages are converted to CRLF line endings for storage (remembering when they came with
//! bare LFs, so export gives back the same bytes), their flags are taken from the maildir file
//! names (and `dovecot-keywords`) or the mbox `Status`/`X-Status`/`X-Keywords` headers, and
//! their MIME structure is parsed.
//!
//! Imports are written in batches of up to 10,000 messages or 64 MiB: the batch's files are
//! written in place in `msg/` (each under the id it gets when created) without a flush each,
//! then one `syncfs` flushes them all, and one transaction commits their records. Memory stays
//! bounded by one batch, and a failure loses at most the batch in progress; the error says how
//! many messages were imported before it.

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
    run(account, mailbox, progress, |prep: &mut Preparer| {
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
    run(account, mailbox, progress, |prep: &mut Preparer| {
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

/// A message from the source, converted for storage, to be written to its file.
struct Parsed {
    data: Vec<u8>,
    structure: Vec<u8>,
    new: NewMessage,
}

/// A message written to its file, ready to be committed.
struct Prepared {
    message: PreparedMessage,
    new: NewMessage,
}

/// Messages are handed from thread to thread in chunks: one wake-up per chunk rather than per
/// message. A chunk of parsed messages also ends at [`CHUNK_BYTES`], bounding the memory that
/// message data in flight takes.
const CHUNK: usize = 256;
const CHUNK_BYTES: usize = 4 << 20;

/// The reading side of an import: parses source messages and converts them for storage.
struct Preparer {
    out: SyncSender<Vec<Parsed>>,
    chunk: Vec<Parsed>,
    chunk_bytes: usize,
    stats: ImportSummary,
}

impl Preparer {
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
        let structure = structure::encode_structure(&data);
        let new = NewMessage {
            flags,
            received: Some(received),
            prefix: Vec::new(),
            mail_from,
            line_ending,
            ..Default::default()
        };
        self.chunk_bytes += data.len();
        self.chunk.push(Parsed { data, structure, new });
        if self.chunk.len() >= CHUNK || self.chunk_bytes >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), Error> {
        let chunk = std::mem::take(&mut self.chunk);
        self.chunk_bytes = 0;
        // The writing side stopped (after an error it reports itself): stop reading.
        self.out.send(chunk).map_err(|_| Error::DeliveryAborted { reason: "import stopped" })
    }
}

/// The writing side of an import: writes each parsed message to its file.
fn write_all(
    account: &Account,
    rx: &Receiver<Vec<Parsed>>,
    out: &SyncSender<Vec<Prepared>>,
) -> Result<(), Error> {
    for chunk in rx.iter() {
        let mut prepared = Vec::with_capacity(chunk.len());
        for Parsed { data, structure, new } in chunk {
            let mut w = account.message_writer()?;
            w.write_all(&data)
                .map_err(Error::io(account.dir().join("msg"), "write message file"))?;
            let mut message = w.finish_unparsed();
            message.set_structure(structure);
            prepared.push(Prepared { message, new });
        }
        // The committing side stopped (after an error it reports itself): stop writing.
        out.send(prepared).map_err(|_| Error::DeliveryAborted { reason: "import stopped" })?;
    }
    Ok(())
}

/// Runs an import as a pipeline of three threads: `read` (on its own thread) parses the source
/// and converts each message, a second thread writes each to its file, and this thread
/// commits them in batches. Creating and writing files is most of the work (kernel time), so
/// it gets a thread of its own; committing (a flush and a transaction per batch) overlaps with
/// both.
fn run<F>(
    account: &Account,
    mailbox: &str,
    progress: &dyn Progress,
    read: F,
) -> Result<ImportSummary, ImportError>
where
    F: FnOnce(&mut Preparer) -> Result<(), Error> + Send,
{
    let fail = |imported, source| ImportError { imported, source };
    let mailbox_id = account.ensure_mailbox(mailbox).map_err(|e| fail(0, e))?;
    let name =
        account.snapshot().and_then(|s| s.mailbox_by_id(mailbox_id)).map_err(|e| fail(0, e))?;
    let mut summary =
        ImportSummary { mailbox: name.map(|m| m.name).unwrap_or_default(), ..Default::default() };

    // Some room between the stages, so each goes on while the next is busy for a moment (a
    // batch being flushed and committed). Measured: the writing thread waits on a full queue
    // for about 60 ms of a 100,000-message import with 4 chunks of room, and 10 times more
    // room did not make the import measurably faster.
    let (parsed_tx, parsed_rx) = sync_channel::<Vec<Parsed>>(4);
    let (prepared_tx, prepared_rx) = sync_channel::<Vec<Prepared>>(4);
    let (read_result, write_result, commit_result) = std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut prep = Preparer {
                out: parsed_tx,
                chunk: Vec::new(),
                chunk_bytes: 0,
                stats: ImportSummary::default(),
            };
            let r = read(&mut prep).and_then(|()| prep.send());
            (r, prep.stats)
        });
        let writer = s.spawn(move || write_all(account, &parsed_rx, &prepared_tx));
        let commit_result = commit_all(account, mailbox_id, &prepared_rx, &mut summary);
        drop(prepared_rx);
        let panicked = |what| Err(Error::DeliveryAborted { reason: what });
        let write_result = writer.join().unwrap_or_else(|_| panicked("import writer panicked"));
        let read_result = reader
            .join()
            .unwrap_or_else(|_| (panicked("import reader panicked"), ImportSummary::default()));
        (read_result, write_result, commit_result)
    });
    progress.finish();
    let (read_result, stats) = read_result;
    summary.mixed_line_endings = stats.mixed_line_endings;
    summary.invalid_keywords = stats.invalid_keywords;
    // The first stage to fail downstream is the cause when several fail (the ones upstream
    // then only saw their channel close).
    commit_result.and(write_result).and(read_result).map_err(|e| fail(summary.messages, e))?;
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
    mut batch: Vec<Prepared>,
    summary: &mut ImportSummary,
) -> Result<(), Error> {
    if batch.is_empty() {
        return Ok(());
    }
    // Flushed before the transaction, so deliveries are not held up while a whole batch of
    // files is written out.
    let paths: Vec<PathBuf> = batch.iter().filter_map(|p| p.message.path().cloned()).collect();
    let written_at = batch.iter().filter_map(|p| p.message.written_at()).min().unwrap_or(u64::MAX);
    account.inner.fs_sync.sync(&paths, &[], written_at)?;
    for p in &mut batch {
        p.message.mark_synced();
    }
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
