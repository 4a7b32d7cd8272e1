//! The data directory: `accounts/<name>/` per account.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::Error;

/// A data directory, holding each account in `accounts/<name>/`.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root` (not created or checked).
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of account `name`, after checking the name is safe as a directory name.
    pub fn account_dir(&self, name: &str) -> Result<PathBuf, Error> {
        check_account_name(name)?;
        Ok(self.root.join("accounts").join(name))
    }

    /// Names of the accounts present, sorted.
    pub fn accounts(&self) -> Result<Vec<String>, Error> {
        let dir = self.root.join("accounts");
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, "list accounts")(e)),
        };
        let mut names = Vec::new();
        for e in entries {
            let e = e.map_err(Error::io(&dir, "list accounts"))?;
            if let Some(name) = e.file_name().to_str()
                && e.path().join("data.mdb").is_file()
            {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }
}

/// Checks that an account name can be a directory name: not empty, at most 255 bytes, no `/`,
/// no control characters, not starting with a dot.
pub fn check_account_name(name: &str) -> Result<(), Error> {
    let invalid = |reason| Err(Error::InvalidAccountName { name: name.to_string(), reason });
    if name.is_empty() {
        return invalid("empty");
    }
    if name.len() > 255 {
        return invalid("longer than 255 bytes");
    }
    if name.contains('/') || name.contains('\\') {
        return invalid("contains a slash");
    }
    if name.chars().any(char::is_control) {
        return invalid("contains a control character");
    }
    if name.starts_with('.') {
        return invalid("starts with a dot");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names() {
        let d = DataDir::new("/data");
        assert_eq!(d.account_dir("mjl").unwrap(), Path::new("/data/accounts/mjl"));
        for bad in ["", "..", ".hidden", "a/b", "a\\b", "a\nb", &"x".repeat(256)] {
            assert!(d.account_dir(bad).is_err(), "{bad:?}");
        }
        assert_eq!(DataDir::new("/nonexistent/x").accounts().unwrap(), Vec::<String>::new());
    }
}
