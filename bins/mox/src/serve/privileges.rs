//! Dropping root after binding: `mox serve` started as root binds its ports (25, 465, 993,
//! ...) and then continues as the configured `User` (default `mox`), as mox does. A value
//! that is not a user name is taken as a numeric uid (with that number as gid too), see
//! `config::Static::user_ids`.

use nix::unistd::{Gid, Uid};

/// The uid and gid to run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunAs {
    pub(crate) uid: Uid,
    pub(crate) gid: Gid,
}

/// Whether the process runs as root.
pub(crate) fn is_root() -> bool {
    Uid::effective().is_root()
}

/// Switches the whole process (all threads: glibc's setxid broadcast) to `run_as`, dropping
/// supplementary groups first. Refuses to continue as root.
pub(crate) fn drop_to(run_as: RunAs) -> anyhow::Result<()> {
    if run_as.uid.is_root() {
        anyhow::bail!(
            "refusing to serve as root: set User in mox.conf to an unprivileged user (default: mox)"
        );
    }
    nix::unistd::setgroups(&[run_as.gid])
        .map_err(|e| anyhow::anyhow!("setting groups to [{}]: {e}", run_as.gid))?;
    nix::unistd::setgid(run_as.gid).map_err(|e| anyhow::anyhow!("setgid {}: {e}", run_as.gid))?;
    nix::unistd::setuid(run_as.uid).map_err(|e| anyhow::anyhow!("setuid {}: {e}", run_as.uid))?;
    if Uid::effective().is_root() || Uid::current().is_root() {
        anyhow::bail!("still root after setuid({})", run_as.uid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_refused_as_a_target() {
        let e = drop_to(RunAs { uid: Uid::from_raw(0), gid: Gid::from_raw(0) }).unwrap_err();
        assert!(e.to_string().contains("refusing to serve as root"));
    }
}
