//! Fixing ownership and permissions of the configuration and data directories when started as
//! root, as mox does (unless `NoFixPermissions`): both owned by mox's user with group root,
//! directories `2750` (setgid), files `0640`. The tree is only walked when the directory itself
//! needed fixing, so a normal start does not stat every message file.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use nix::unistd::{Gid, Uid};

const DIR_MODE: u32 = 0o2750;
const FILE_MODE: u32 = 0o640;

/// Makes `dir` and, if it needed fixing, everything in it owned by `uid`:root with mox's modes.
/// Problems are logged, not fatal (as in mox); returns how many changes were made.
pub(crate) fn fix_dir(dir: &Path, uid: u32) -> usize {
    let mut changes = 0;
    if !fix(dir, uid, true, &mut changes) {
        return changes;
    }
    tracing::info!(dir = %dir.display(), "fixing ownership and permissions in directory");
    walk(dir, uid, &mut changes);
    changes
}

/// Fixes one path; returns whether anything had to change.
fn fix(path: &Path, uid: u32, is_dir: bool, changes: &mut usize) -> bool {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "stat, not fixing permissions");
            return false;
        }
    };
    if meta.file_type().is_symlink() {
        return false;
    }
    let mut changed = false;
    if meta.uid() != uid || meta.gid() != 0 {
        changed = true;
        match nix::unistd::chown(path, Some(Uid::from_raw(uid)), Some(Gid::from_raw(0))) {
            Ok(()) => *changes += 1,
            Err(e) => tracing::error!(path = %path.display(), error = %e, "chown"),
        }
    }
    let want = if is_dir { DIR_MODE } else { FILE_MODE };
    if meta.permissions().mode() & 0o7777 != want {
        changed = true;
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(want)) {
            Ok(()) => *changes += 1,
            Err(e) => tracing::error!(path = %path.display(), error = %e, "chmod"),
        }
    }
    changed
}

fn walk(dir: &Path, uid: u32, changes: &mut usize) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(dir = %dir.display(), error = %e, "listing directory to fix permissions");
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_symlink() {
            continue;
        }
        // Unix sockets (the control socket) keep their own mode.
        if kind.is_dir() {
            fix(&path, uid, true, changes);
            walk(&path, uid, changes);
        } else if kind.is_file() {
            fix(&path, uid, false, changes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_wrong_directory_is_fixed_recursively_and_a_right_one_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("accounts/mjl")).unwrap();
        std::fs::write(data.join("accounts/mjl/f"), b"x").unwrap();
        std::fs::set_permissions(
            data.join("accounts/mjl/f"),
            std::fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        // The current user stands in for mox's user (chown to oneself works without root).
        let me = nix::unistd::Uid::current().as_raw();
        let is_root = me == 0;
        let n = fix_dir(&data, me);
        assert!(n > 0);
        assert_eq!(mode(&data), DIR_MODE);
        assert_eq!(mode(&data.join("accounts/mjl")), DIR_MODE);
        assert_eq!(mode(&data.join("accounts/mjl/f")), FILE_MODE);
        if is_root {
            assert_eq!(std::fs::metadata(data.join("accounts/mjl/f")).unwrap().gid(), 0);
        }
        // Now right: nothing is walked or changed, even a file changed since.
        std::fs::set_permissions(
            data.join("accounts/mjl/f"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        if is_root {
            assert_eq!(fix_dir(&data, me), 0);
            assert_eq!(mode(&data.join("accounts/mjl/f")), 0o600);
        }
    }
}
