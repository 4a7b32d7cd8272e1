//! `mox setadminpassword`.

use std::io::Write as _;

use anyhow::Context as _;

use crate::cmd::Run;
use crate::context::Context;

/// Set a new admin password, for the web interface.
///
/// The password is read from stdin (from a terminal twice, without echo). Its bcrypt hash
/// is stored in the file named by AdminPasswordFile in mox.conf (relative to mox.conf's
/// directory, typically "adminpasswd"), in the form mox writes and reads.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox setadminpassword")]
pub(crate) struct Setadminpassword {}

impl Run for Setadminpassword {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(ctx.config_path())
            .with_context(|| format!("reading {}", ctx.config_path().display()))?;
        let static_ = config::parse_static(&ctx.config_path().display().to_string(), &text)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let file = static_
            .admin_password_file
            .filter(|f| !f.is_empty())
            .ok_or_else(|| anyhow::anyhow!("no admin password file configured (AdminPasswordFile in mox.conf)"))?;
        let path = config::config_dir_path(ctx.config_path(), &file);
        let password = ctx.read_new_password()?;
        let hash = tokio::task::spawn_blocking(move || bcrypt::hash(password, bcrypt::DEFAULT_COST))
            .await?
            .context("hashing password")?;
        write_private(&path, hash.as_bytes())
            .with_context(|| format!("writing admin password file {}", path.display()))?;
        writeln!(ctx.stdout(), "admin password hash written to {}", path.display())?;
        Ok(())
    }
}

/// Writes `data` to `path` atomically (temporary file, fsync, rename, fsync the directory),
/// readable by owner and group only (0660, as mox writes it).
fn write_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("adminpasswd")
    ));
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o660).open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}
