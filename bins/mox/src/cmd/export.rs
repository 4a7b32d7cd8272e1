//! `mox export maildir|mbox`: export mailboxes of an account.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use store::export::{ExportFormat, Selection};

use crate::cmd::Run;
use crate::context::Context;
use crate::progress::Bar;

/// Export mailboxes of an account as maildirs or mbox files.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Export {
    Maildir(ExportMaildir),
    Mbox(ExportMbox),
}

impl Run for Export {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Export::Maildir(c) => c.args.run(ctx, ExportFormat::Maildir).await,
            Export::Mbox(c) => c.args.run(ctx, ExportFormat::Mbox).await,
        }
    }
}

/// Export one or all mailboxes from an account in maildir format.
///
/// Each mailbox becomes a maildir under dst-dir ("a/b" becomes dst-dir/a/b/ with cur/, new/ and
/// tmp/), with the flags in the file names and keywords listed in dovecot-keywords. Messages
/// are written as they came in, with their original line endings.
///
/// Export bypasses a running mox instance: it opens the account's database directly, read-only,
/// which is safe while the server runs.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportMaildir {
    #[command(flatten)]
    args: ExportArgs,
}

/// Export messages from one or all mailboxes in an account in mbox format.
///
/// Using mbox is not recommended. Maildir is a better format.
///
/// Each mailbox becomes a file ("a/b" becomes dst-dir/a/b.mbox). For mbox export, "mboxrd" is
/// used where message lines starting with the magic "From " string are escaped by prepending
/// a ">". All ">*From " are escaped, otherwise reconstructing the original could lose a ">".
/// Flags are written in Status, X-Status and X-Keywords header fields.
///
/// Export bypasses a running mox instance: it opens the account's database directly, read-only,
/// which is safe while the server runs.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportMbox {
    #[command(flatten)]
    args: ExportArgs,
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// Export single mailbox, without any children. Disabled if mailbox isn't specified.
    #[arg(long)]
    single: bool,
    /// Directory to write to; created if needed, must be empty.
    #[arg(value_name = "dst-dir")]
    dst: PathBuf,
    /// The account's directory (data-dir/accounts/name).
    #[arg(value_name = "account-path")]
    account: PathBuf,
    /// Mailbox to export (with its children unless -single); all mailboxes if absent.
    #[arg(value_name = "mailbox")]
    mailbox: Option<String>,
}

impl ExportArgs {
    async fn run(self, ctx: &Context, format: ExportFormat) -> anyhow::Result<()> {
        let summary = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let acc = store::Account::open_read_only(&self.account)
                .with_context(|| format!("opening account {}", self.account.display()))?;
            let selection = match (&self.mailbox, self.single) {
                (None, _) => Selection::All,
                (Some(m), false) => Selection::WithChildren(m),
                (Some(m), true) => Selection::Single(m),
            };
            Ok(store::export::export(&acc, &self.dst, format, selection, &Bar::default())?)
        })
        .await??;
        let mut out = ctx.stdout();
        for line in &summary.skipped {
            writeln!(out, "skipped: {line}")?;
        }
        if summary.dropped_keywords > 0 {
            writeln!(
                out,
                "note: {} keyword flags left out: maildir has 26 keyword letters per mailbox",
                summary.dropped_keywords
            )?;
        }
        if !summary.skipped.is_empty() {
            anyhow::bail!("{} messages could not be exported", summary.skipped.len());
        }
        Ok(())
    }
}
