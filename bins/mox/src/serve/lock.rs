//! One server per data directory: `mox serve` holds an exclusive lock on `serve.lock` in the
//! data directory for as long as it runs. The lock is the kernel's (flock), so it goes away
//! with the process, also after a crash.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub(crate) struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock, or fails with one line saying another server has it.
    pub(crate) fn acquire(data_dir: &Path) -> anyhow::Result<DataDirLock> {
        let path = data_dir.join("serve.lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("opening lock file {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => anyhow::bail!(
                "another mox is already serving data directory {} (it holds {}); stop it first \
                 with \"mox stop\"",
                data_dir.display(),
                path.display()
            ),
            Err(TryLockError::Error(e)) => {
                anyhow::bail!("locking {}: {e}", path.display())
            }
        }
    }

    /// The lock file.
    #[allow(dead_code, reason = "for log lines and tests")]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let e = DataDirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains("already serving"), "{e}");
        drop(first);
        assert!(DataDirLock::acquire(dir.path()).is_ok());
    }
}
