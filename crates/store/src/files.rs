//! Where message files live, and the file-system steps that make them durable.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Error;

/// Message files per subdirectory of `msg/`: directories stay small enough to list and fsync
/// quickly.
pub const FILES_PER_DIR: u64 = 4096;

/// The directory holding message `id`, relative to the account directory.
pub(crate) fn message_subdir(id: u64) -> PathBuf {
    PathBuf::from("msg").join((id / FILES_PER_DIR).to_string())
}

/// The file of message `id`, relative to the account directory: `msg/<id / 4096>/<id>`.
pub fn message_path(id: u64) -> PathBuf {
    message_subdir(id).join(id.to_string())
}

/// Parses the message id back from a path relative to `msg/` (`<subdir>/<id>`), checking that
/// the file is in the directory it belongs in.
pub(crate) fn parse_message_rel(subdir: &str, file: &str) -> Option<u64> {
    let id: u64 = file.parse().ok()?;
    if id.to_string() != file || (id / FILES_PER_DIR).to_string() != subdir {
        return None;
    }
    Some(id)
}

/// Flushes a directory's entries (new, renamed or removed names) to disk.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(Error::io(dir, "fsync directory"))
}

/// Creates `dir` (and parents) if missing; returns whether it had to be created, in which case
/// its parent must be fsynced for the new name to be durable.
pub(crate) fn ensure_dir(dir: &Path) -> Result<bool, Error> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(Error::io(dir, "create directory"))?;
            Ok(true)
        }
        Err(e) => Err(Error::io(dir, "create directory")(e)),
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);
static PID: std::sync::LazyLock<u32> = std::sync::LazyLock::new(std::process::id);

/// A fresh name in `tmp/`, unique within this process (and across processes by pid).
pub(crate) fn tmp_name(tmp_dir: &Path) -> PathBuf {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    tmp_dir.join(format!("{}.{}", *PID, n))
}

/// Reads a stored message: the prefix kept in the database followed by the message file.
/// Implements `Read` and `Seek` over the whole, so IMAP partial fetches can seek.
#[derive(Debug)]
pub struct MessageReader {
    prefix: Vec<u8>,
    file: File,
    size: u64,
    pos: u64,
}

impl MessageReader {
    pub(crate) fn new(prefix: Vec<u8>, path: &Path) -> Result<MessageReader, Error> {
        let file = File::open(path).map_err(Error::io(path, "open message file"))?;
        let len = file.metadata().map_err(Error::io(path, "stat message file"))?.len();
        let size = prefix.len() as u64 + len;
        Ok(MessageReader { prefix, file, size, pos: 0 })
    }

    /// Size in bytes of prefix plus file.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads the whole message into memory.
    pub fn read_all(mut self) -> io::Result<Vec<u8>> {
        let mut v = Vec::with_capacity(self.size as usize);
        self.read_to_end(&mut v)?;
        Ok(v)
    }
}

impl Read for MessageReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let plen = self.prefix.len() as u64;
        if self.pos < plen {
            let start = self.pos as usize;
            let n = buf.len().min(self.prefix.len() - start);
            buf[..n].copy_from_slice(&self.prefix[start..start + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let n = self.file.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for MessageReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        let plen = self.prefix.len() as u64;
        self.file.seek(SeekFrom::Start(target.saturating_sub(plen)))?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_paths() {
        assert_eq!(message_path(1), Path::new("msg/0/1"));
        assert_eq!(message_path(4095), Path::new("msg/0/4095"));
        assert_eq!(message_path(4096), Path::new("msg/1/4096"));
        assert_eq!(parse_message_rel("1", "4096"), Some(4096));
        assert_eq!(parse_message_rel("0", "4096"), None);
        assert_eq!(parse_message_rel("0", "01"), None);
        assert_eq!(parse_message_rel("0", "x"), None);
    }

    #[test]
    fn reader_seeks_across_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        fs::write(&p, b"Subject: x\r\n\r\nbody\r\n").unwrap();
        let mut r = MessageReader::new(b"Received: a\r\n".to_vec(), &p).unwrap();
        assert_eq!(r.size(), 13 + 20);
        r.seek(SeekFrom::Start(10)).unwrap();
        let mut b = [0u8; 8];
        r.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"a\r\nSubje");
        r.seek(SeekFrom::End(-6)).unwrap();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"body\r\n");
        let all = MessageReader::new(b"P\r\n".to_vec(), &p).unwrap().read_all().unwrap();
        assert_eq!(all, b"P\r\nSubject: x\r\n\r\nbody\r\n");
    }
}
