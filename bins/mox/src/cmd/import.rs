//! `mox import maildir|mbox`: import a maildir or mbox into a mailbox of an account.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::cmd::Run;
use crate::context::Context;
use crate::ctl::{Client, ImportFormat, Reply, Request};
use crate::progress::{Bar, forward_progress};

/// Import a maildir or mbox into an account.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Import {
    Maildir(ImportMaildir),
    Mbox(ImportMbox),
}

impl Run for Import {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Import::Maildir(c) => c.run(ctx).await,
            Import::Mbox(c) => c.run(ctx).await,
        }
    }
}

/// Import a maildir into an account.
///
/// The messages in the maildir's new/ and cur/ directories are added to the mailbox, which is
/// created if needed. With mox running, the import goes through it (the server reads the
/// maildir, so it must be able to); otherwise it is done directly in the data directory of
/// mox.conf, or the one given with -datadir (the account is DIR/accounts/ACCOUNTNAME, created on
/// first import).
///
/// Maildir flags, like "seen" and "answered", are imported. An optional dovecot-keywords file in
/// the maildir gives the keywords of the lowercase flag letters (such as $Forwarded or $Junk).
/// The received time is taken from the file name, else from the file's modification time.
///
/// Messages are imported even if already present: importing twice gives duplicates. Messages
/// with bare LF line endings are stored with CRLF, and exported with LF again.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportMaildir {
    /// Data directory holding accounts/, for importing without a configuration while mox is
    /// not running; default: the DataDir of mox.conf.
    #[arg(long, value_name = "dir")]
    datadir: Option<PathBuf>,
    /// Account to import into.
    #[arg(value_name = "accountname")]
    account: String,
    /// Mailbox to import into, created if needed, e.g. "Archive/2020".
    #[arg(value_name = "mailboxname")]
    mailbox: String,
    /// The maildir: the directory with new/ and cur/.
    #[arg(value_name = "maildir")]
    maildir: PathBuf,
}

/// Import an mbox into an account.
///
/// Using mbox is not recommended, maildir is a better defined format.
///
/// The mbox is read as mboxrd: a message starts at a "From " line after an empty line, and
/// ">From " lines in messages lose one ">". Flags are taken from the Status (R: seen), X-Status
/// (A: answered, F: flagged, T: draft, D: deleted) and X-Keywords header fields, which are
/// removed from the stored message; the received time from the "From " line.
///
/// The mailbox is created if needed. With mox running, the import goes through it (the server
/// reads the file); otherwise it is done directly in the data directory of mox.conf, or the one
/// given with -datadir. Messages are imported even if already present: importing twice gives
/// duplicates.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportMbox {
    /// Data directory holding accounts/, for importing without a configuration while mox is
    /// not running; default: the DataDir of mox.conf.
    #[arg(long, value_name = "dir")]
    datadir: Option<PathBuf>,
    /// Account to import into.
    #[arg(value_name = "accountname")]
    account: String,
    /// Mailbox to import into, created if needed.
    #[arg(value_name = "mailboxname")]
    mailbox: String,
    /// The mbox file.
    #[arg(value_name = "mbox")]
    mbox: PathBuf,
}

impl Run for ImportMaildir {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        run_import(ctx, self.datadir, self.account, self.mailbox, self.maildir, true).await
    }
}

impl Run for ImportMbox {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        run_import(ctx, self.datadir, self.account, self.mailbox, self.mbox, false).await
    }
}

async fn run_import(
    ctx: &Context,
    datadir: Option<PathBuf>,
    account: String,
    mailbox: String,
    source: PathBuf,
    maildir: bool,
) -> anyhow::Result<()> {
    let datadir = match datadir {
        Some(d) => d,
        None => ctx.data_dir()?,
    };
    if let Some(client) = Client::connect(&datadir).await? {
        let path = std::path::absolute(&source)
            .with_context(|| format!("resolving {}", source.display()))?;
        let format = if maildir { ImportFormat::Maildir } else { ImportFormat::Mbox };
        let bar = Bar::default();
        let mut out = ctx.stdout();
        return client
            .run(&Request::Import { format, account, mailbox, path }, |reply| {
                match reply {
                    Reply::Output(text) => out.write_all(text.as_bytes())?,
                    Reply::Progress(p) => forward_progress(&bar, p),
                    _ => {}
                }
                Ok(())
            })
            .await;
    }
    let summary = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let dir = store::DataDir::new(&datadir).account_dir(&account)?;
        let acc = store::Account::open_or_create(&dir)
            .with_context(|| format!("opening account {account:?}"))?;
        let bar = Bar::default();
        let summary = if maildir {
            store::import::import_maildir(&acc, &mailbox, &source, &bar)?
        } else {
            store::import::import_mbox(&acc, &mailbox, &source, &bar)?
        };
        Ok(summary)
    })
    .await??;
    ctx.stdout().write_all(import_summary_text(&summary).as_bytes())?;
    Ok(())
}

/// What an import prints when done (also sent by the server for an import through it).
pub(crate) fn import_summary_text(summary: &store::import::ImportSummary) -> String {
    let mut out = format!("imported {} messages into {:?}\n", summary.messages, summary.mailbox);
    if summary.mixed_line_endings > 0 {
        out += &format!(
            "note: {} messages had both CRLF and bare LF line endings; stored with CRLF only\n",
            summary.mixed_line_endings
        );
    }
    if summary.invalid_keywords > 0 {
        out += &format!("note: skipped {} invalid keywords\n", summary.invalid_keywords);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::GlobalOptions;

    #[tokio::test]
    async fn imports_an_mbox_and_reports() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mbox = dir.path().join("in.mbox");
        std::fs::write(&mbox, "From a Mon Nov 24 18:22:48 1986\nStatus: R\nSubject: x\n\nhi\n\n")
            .expect("write");
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), None, b"");
        let cmd = ImportMbox {
            datadir: Some(dir.path().join("data")),
            account: "mjl".into(),
            mailbox: "Old".into(),
            mbox,
        };
        cmd.run(&ctx).await.expect("import");
        let printed = String::from_utf8(printed.lock().expect("lock").clone()).expect("utf-8");
        assert_eq!(printed, "imported 1 messages into \"Old\"\n");
        let acc = store::Account::open_existing(&dir.path().join("data/accounts/mjl")).expect("open");
        let mb = acc.mailbox("Old").expect("read").expect("mailbox");
        assert_eq!((mb.counts.messages, mb.counts.unseen), (1, 0));

        let bad = ImportMbox {
            datadir: Some(dir.path().join("data")),
            account: "../x".into(),
            mailbox: "Old".into(),
            mbox: dir.path().join("in.mbox"),
        };
        let err = bad.run(&ctx).await.expect_err("bad account name");
        assert!(err.to_string().contains("invalid account name"), "{err}");
    }
}
