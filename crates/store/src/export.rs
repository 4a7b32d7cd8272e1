//! Exporting mailboxes as maildirs or mbox files.
//!
//! Each message is written as it came: with the line endings it was imported or delivered
//! with (see [`crate::LineEnding`]), including the header lines added at delivery. Flags go into
//! maildir file names (keywords through `dovecot-keywords`, up to 26 per mailbox) or into mbox
//! `Status`/`X-Status`/`X-Keywords` headers, so an import of the export gives the same messages
//! with the same flags.
//!
//! A mailbox `a/b` becomes the maildir `<dst>/a/b/` (with `cur/`, `new/`, `tmp/`) or the file
//! `<dst>/a/b.mbox`. Messages are exported in UID order, read in chunks so memory stays bounded
//! whatever the mailbox size.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::maildir::KeywordLetters;
use crate::mbox;
use crate::progress::Progress;
use crate::snapshot::{Message, MessageState};
use crate::{Account, Error};

/// Messages read from the database per snapshot.
const CHUNK: usize = 1000;

/// The format to export to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One maildir per mailbox.
    Maildir,
    /// One mbox file (mboxrd) per mailbox.
    Mbox,
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Mailboxes exported.
    pub mailboxes: u64,
    /// Messages exported.
    pub messages: u64,
    /// Messages that could not be exported (their file could not be read), one line each.
    /// The export goes on without them.
    pub skipped: Vec<String>,
    /// Keyword flags left out of maildir file names because a mailbox used more than 26
    /// keywords.
    pub dropped_keywords: u64,
}

/// Which mailboxes to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection<'a> {
    /// Every mailbox.
    All,
    /// One mailbox and the mailboxes below it.
    WithChildren(&'a str),
    /// One mailbox only.
    Single(&'a str),
}

/// Exports the selected mailboxes into `dst` (created if needed; must be empty).
pub fn export(
    account: &Account,
    dst: &Path,
    format: ExportFormat,
    selection: Selection<'_>,
    progress: &dyn Progress,
) -> Result<ExportSummary, Error> {
    fs::create_dir_all(dst).map_err(Error::io(dst, "create directory"))?;
    if fs::read_dir(dst).map_err(Error::io(dst, "list directory"))?.next().is_some() {
        return Err(Error::DestinationNotEmpty { path: dst.to_path_buf() });
    }
    let mut mailboxes = account.mailboxes()?;
    mailboxes.retain(|m| m.selectable);
    if let Selection::WithChildren(name) | Selection::Single(name) = selection {
        let wanted = crate::normalize_mailbox_name(name)?;
        if !mailboxes.iter().any(|m| m.name == wanted) {
            return Err(Error::MailboxNotFound { name: wanted });
        }
        let prefix = format!("{wanted}/");
        let children = matches!(selection, Selection::WithChildren(_));
        mailboxes.retain(|m| m.name == wanted || (children && m.name.starts_with(&prefix)));
    }
    let total = mailboxes.iter().map(|m| m.counts.messages).sum();
    progress.start("exporting", Some(total));
    let mut summary = ExportSummary::default();
    for mb in &mailboxes {
        // Names are validated on creation: no empty, `.` or `..` levels, so they are safe
        // relative paths.
        let rel: PathBuf = mb.name.split('/').collect();
        let mut sink = match format {
            ExportFormat::Maildir => {
                let dir = dst.join(&rel);
                for sub in ["cur", "new", "tmp"] {
                    fs::create_dir_all(dir.join(sub))
                        .map_err(Error::io(dir.join(sub), "create directory"))?;
                }
                Sink::Maildir { dir, letters: KeywordLetters::default() }
            }
            ExportFormat::Mbox => {
                let mut path = dst.join(&rel);
                path.as_mut_os_string().push(".mbox");
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(Error::io(parent, "create directory"))?;
                }
                let file = File::create_new(&path).map_err(Error::io(&path, "create mbox"))?;
                Sink::Mbox { w: BufWriter::with_capacity(256 << 10, file), path, buf: Vec::new() }
            }
        };
        let mut next_uid = 1u32;
        loop {
            let chunk: Vec<(MessageState, Option<Message>)> = {
                let snap = account.snapshot()?;
                let states = snap.message_states_from(mb.id, next_uid, CHUNK)?;
                states
                    .into_iter()
                    .map(|s| snap.message(s.id).map(|m| (s, m)))
                    .collect::<Result<_, _>>()?
            };
            let Some(last) = chunk.last() else { break };
            next_uid = last.0.uid.saturating_add(1);
            for (state, msg) in chunk {
                let Some(msg) = msg else { continue };
                match account.read_message(state.id) {
                    Ok(data) => {
                        let data = mbox::from_stored(&data, msg.line_ending);
                        sink.write(&state, &msg, &data)?;
                        summary.messages += 1;
                    }
                    Err(e) => summary.skipped.push(format!("{} uid {}: {e}", mb.name, state.uid)),
                }
                progress.advance(1);
            }
            if next_uid == u32::MAX {
                break;
            }
        }
        summary.dropped_keywords += sink.finish()?;
        summary.mailboxes += 1;
    }
    progress.finish();
    Ok(summary)
}

enum Sink {
    Maildir { dir: PathBuf, letters: KeywordLetters },
    Mbox { w: BufWriter<File>, path: PathBuf, buf: Vec<u8> },
}

impl Sink {
    fn write(&mut self, state: &MessageState, msg: &Message, data: &[u8]) -> Result<(), Error> {
        match self {
            Sink::Maildir { dir, letters } => {
                let name = letters.file_name(msg.received, msg.id.0, &state.flags);
                let path = dir.join("cur").join(name);
                let mut f =
                    File::create_new(&path).map_err(Error::io(&path, "create message file"))?;
                f.write_all(data).map_err(Error::io(&path, "write message file"))?;
                // Maildir readers take the received time from the file's time when its name
                // has none; set it for them.
                let _ = f.set_modified(msg.received.to_system_time());
                Ok(())
            }
            Sink::Mbox { w, path, buf } => {
                buf.clear();
                mbox::write_message(
                    buf,
                    &msg.mail_from,
                    msg.received,
                    &state.flags,
                    data,
                    msg.line_ending,
                );
                w.write_all(buf).map_err(Error::io(&*path, "write mbox"))
            }
        }
    }

    /// Finishes the mailbox; returns the number of keywords left out.
    fn finish(self) -> Result<u64, Error> {
        match self {
            Sink::Maildir { dir, letters } => {
                if let Some(text) = letters.dovecot_keywords() {
                    let p = dir.join("dovecot-keywords");
                    fs::write(&p, text).map_err(Error::io(&p, "write dovecot-keywords"))?;
                }
                Ok(letters.dropped as u64)
            }
            Sink::Mbox { mut w, path, .. } => {
                w.flush().map_err(Error::io(&path, "write mbox"))?;
                Ok(0)
            }
        }
    }
}
