//! `mox backup dest-dir`.

use std::io::Write as _;
use std::path::PathBuf;

use crate::cmd::Run;
use crate::context::Context;
use crate::ctl::{Client, Reply, Request};
use crate::progress::{Bar, forward_progress};

/// Creates a backup of the data directory.
///
/// Backup writes dest-dir/accounts/NAME/ for every account: a consistent snapshot of the
/// account's database (a compacting copy, made in one read transaction, so it is safe while mox
/// is running), which holds the messages up to 64 KiB, and the files of larger messages. Simply
/// copying files in the data directory while mox is running can result in unusable database
/// files.
///
/// Message files never change (they are read-only, though can be removed) and are hard-linked
/// so they don't consume additional space. If hardlinking fails, for example when the backup
/// destination directory is on a different file system, a regular copy is made.
///
/// The destination must not exist or be empty. A clean successful backup prints nothing, but
/// may print warnings (a message removed while the backup ran). Use -verbose for details.
///
/// To restore a backup, first shut down mox, move away the old data directory and move the
/// backup in its place, run "mox verifydata DIR", possibly with -fix, and restart mox.
///
/// With mox running, the backup is made by it (so dest-dir must be writable by mox's user);
/// otherwise directly from the data directory of mox.conf, or the one given with -datadir.
#[derive(Debug, clap::Args)]
pub(crate) struct Backup {
    /// Data directory to back up while mox is not running; default: the DataDir of mox.conf.
    #[arg(long, value_name = "dir")]
    datadir: Option<PathBuf>,
    /// Print progress.
    #[arg(long)]
    verbose: bool,
    /// Directory to write the backup to; created if needed, must be empty.
    #[arg(value_name = "dest-dir")]
    dest: PathBuf,
}

impl Run for Backup {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let verbose = self.verbose;
        let datadir = match self.datadir {
            Some(d) => d,
            None => ctx.data_dir()?,
        };
        if let Some(client) = Client::connect(&datadir).await? {
            let dest = std::path::absolute(&self.dest)?;
            let bar = Bar::default();
            let mut out = ctx.stdout();
            return client
                .run(&Request::Backup { dest }, |reply| {
                    match reply {
                        // The server's report: warnings always, the rest with -verbose.
                        Reply::Output(text) => {
                            for line in text.lines() {
                                if verbose || line.starts_with("warning: ") {
                                    writeln!(out, "{line}")?;
                                }
                            }
                        }
                        Reply::Progress(p) => forward_progress(&bar, p),
                        _ => {}
                    }
                    Ok(())
                })
                .await;
        }
        let (summary, lines) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut lines = Vec::new();
            let summary =
                store::backup::backup(&datadir, &self.dest, &Bar::default(), &mut |l| {
                    lines.push(l.to_string())
                })?;
            Ok((summary, lines))
        })
        .await??;
        if verbose {
            ctx.stdout().write_all(backup_summary_text(&summary, &lines).as_bytes())?;
        }
        for w in &summary.warnings {
            tracing::warn!("{w}");
        }
        Ok(())
    }
}

/// The verbose report of a backup: a line per account, then the totals.
pub(crate) fn backup_summary_text(summary: &store::backup::BackupSummary, lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        out += &format!("{l}\n");
    }
    out += &format!(
        "backup of {} accounts done: {} messages in the databases, {} message files linked, {} copied\n",
        summary.accounts, summary.in_database, summary.linked, summary.copied
    );
    out
}
