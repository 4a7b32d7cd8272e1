//! `mox verifydata data-dir`.

use std::io::Write as _;
use std::path::PathBuf;

use store::verify::VerifyOptions;

use crate::cmd::Run;
use crate::context::Context;
use crate::progress::Bar;

/// Verify the contents of a data directory, typically of a backup.
///
/// Verifydata opens every account database and checks it: mailboxes and their names, that
/// UIDs are below UIDNEXT, MODSEQs within the account's, the change index, the message counts
/// and total size. It checks that every message in the database has its contents, of the
/// right size (kept in the database up to 64 KiB, in its message file beyond), and that there
/// are no files or stored contents without a message.
///
/// Files an interrupted process leaves (in tmp/, or of a delivery that did not commit, or
/// whose removal was committed but not done) are listed as leftovers, not problems: mox
/// removes them when it next opens the account. With -fix, unknown files and leftovers are
/// moved to data-dir/moved/ACCOUNT/; the accounts must not be in use then. This may be needed
/// after a restore, because messages delivered in the future may get those message ids.
///
/// Exits with status 1 if problems were found.
#[derive(Debug, clap::Args)]
pub(crate) struct Verifydata {
    /// Fix fixable problems, such as moving away message files not referenced by their
    /// database.
    #[arg(long)]
    fix: bool,
    /// Skip the check for message size.
    #[arg(long = "skip-size-check")]
    skip_size_check: bool,
    /// The data directory (holding accounts/).
    #[arg(value_name = "data-dir")]
    dir: PathBuf,
}

impl Run for Verifydata {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let opts = VerifyOptions { fix: self.fix, skip_size_check: self.skip_size_check };
        let report = tokio::task::spawn_blocking(move || {
            store::verify::verify_data_dir(&self.dir, opts, &Bar::default())
        })
        .await??;
        let mut out = ctx.stdout();
        for p in &report.problems {
            writeln!(out, "problem: {p}")?;
        }
        for l in &report.leftovers {
            writeln!(out, "leftover: {l}")?;
        }
        for m in &report.moved {
            writeln!(out, "moved aside: {}", m.display())?;
        }
        writeln!(
            out,
            "{} accounts, {} messages, {} problems, {} leftovers",
            report.accounts,
            report.messages,
            report.problems.len(),
            report.leftovers.len()
        )?;
        if !report.is_ok() {
            anyhow::bail!("{} problems found", report.problems.len());
        }
        Ok(())
    }
}
