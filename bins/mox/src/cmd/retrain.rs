//! `mox retrain [accountname]`: rebuild junk filters from the accounts' messages.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::cmd::Run;
use crate::context::Context;
use crate::progress::Bar;

/// Recreate and retrain the junk filter of an account, or of all accounts.
///
/// The filter (DIR/accounts/ACCOUNTNAME/junkfilter/) is removed and rebuilt from the account's
/// messages: those with the $Junk flag train as spam, those with $NotJunk as ham; messages
/// with neither count as their mailbox says (with automatic junk flags as mox's quickstart
/// sets them: Junk and Spam mailboxes hold junk; Inbox, Rejects and other neutral mailboxes
/// nothing; all other mailboxes not junk; a mailbox with the \Junk attribute always junk).
/// Useful after changing the filter settings, or when the filter was lost.
///
/// The account must not be in use by a running server (until mox-rs has its configuration
/// file and server, the data directory is named on the command line; later, retrain goes
/// through the running server).
#[derive(Debug, clap::Args)]
pub(crate) struct Retrain {
    /// Data directory holding accounts/ (until mox.conf names it).
    #[arg(long, value_name = "dir")]
    datadir: PathBuf,
    /// Filter settings: "quickstart" (mox's: 10 top words, ignore 0.1) or "recommended" (30
    /// top words, ignore 0.3; see the README's junk section).
    #[arg(long, value_name = "settings", default_value = "quickstart")]
    params: ParamsChoice,
    /// Train only on $Junk/$NotJunk flags, not on the mailboxes messages are in.
    #[arg(long)]
    no_automatic_junk_flags: bool,
    /// The account; all accounts if absent.
    #[arg(value_name = "accountname")]
    account: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ParamsChoice {
    Quickstart,
    Recommended,
}

impl Run for Retrain {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let datadir = store::DataDir::new(&self.datadir);
        let accounts = match &self.account {
            Some(a) => vec![a.clone()],
            None => datadir.accounts().context("listing accounts")?,
        };
        let params = match self.params {
            ParamsChoice::Quickstart => junk::Params::default(),
            ParamsChoice::Recommended => junk::Params::recommended(),
        };
        let flags = if self.no_automatic_junk_flags {
            junk::AutomaticJunkFlags::default()
        } else {
            junk::AutomaticJunkFlags::quickstart()
        };
        let rules = flags.compile()?;
        for name in accounts {
            let dir = datadir.account_dir(&name)?;
            let (params, rules, account) = (params.clone(), rules.clone(), name.clone());
            let (stats, filter_stats) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let acc = store::Account::open_existing(&dir)
                    .with_context(|| format!("opening account {account:?}"))?;
                let fdir = junk::Filter::dir_for_account(acc.dir());
                let bar = Bar::default();
                let mut started = false;
                let mut last = 0;
                let stats = junk::train::retrain(&acc, &fdir, &params, &rules, &mut |done, total| {
                    if !started {
                        store::Progress::start(&bar, &format!("retraining {account}"), Some(total));
                        started = true;
                    }
                    store::Progress::advance(&bar, done - last);
                    last = done;
                })?;
                store::Progress::finish(&bar);
                let filter_stats = junk::Filter::open(&fdir, &params)?.stats()?;
                Ok((stats, filter_stats))
            })
            .await??;
            writeln!(
                ctx.stdout(),
                "{name}: {} messages, trained {} ham and {} spam; {} words, {:.1} MB{}",
                stats.messages,
                stats.hams,
                stats.spams,
                filter_stats.words,
                filter_stats.file_size as f64 / 1e6,
                if stats.unreadable > 0 {
                    format!(" ({} unreadable messages skipped)", stats.unreadable)
                } else {
                    String::new()
                },
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::GlobalOptions;

    #[tokio::test]
    async fn retrains_from_flags_and_mailboxes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let acc_dir = store::DataDir::new(&data).account_dir("mjl").expect("name");
        {
            let acc = store::Account::open_or_create(&acc_dir).expect("create");
            acc.create_mailbox("Junk", store::SpecialUse::JUNK).expect("junk");
            acc.create_mailbox("Archive", store::SpecialUse::ARCHIVE).expect("archive");
            let new = || store::NewMessage::default();
            acc.deliver_bytes("Junk", b"Subject: win\r\n\r\nlottery prize\r\n", new()).expect("d");
            acc.deliver_bytes("Archive", b"Subject: hi\r\n\r\nproject meeting\r\n", new())
                .expect("d");
            acc.deliver_bytes("Inbox", b"Subject: x\r\n\r\nneutral inbox\r\n", new()).expect("d");
            let flagged = store::NewMessage {
                flags: store::Flags::parse(["$Junk"]).expect("flags"),
                ..Default::default()
            };
            acc.deliver_bytes("Inbox", b"Subject: y\r\n\r\ncasino bonus\r\n", flagged).expect("d");
        }
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), None, b"");
        let cmd = Retrain {
            datadir: data.clone(),
            params: ParamsChoice::Quickstart,
            no_automatic_junk_flags: false,
            account: Some("mjl".into()),
        };
        cmd.run(&ctx).await.expect("retrain");
        let printed = String::from_utf8(printed.lock().expect("lock").clone()).expect("utf-8");
        assert!(printed.starts_with("mjl: 4 messages, trained 1 ham and 2 spam; "), "{printed}");
        let f = junk::Filter::open(&junk::Filter::dir_for_account(&acc_dir), &junk::Params::default())
            .expect("open");
        assert_eq!(f.word_counts("lottery"), junk::Counts { ham: 0, spam: 1 });
        assert_eq!(f.word_counts("casino"), junk::Counts { ham: 0, spam: 1 });
        assert_eq!(f.word_counts("meeting"), junk::Counts { ham: 1, spam: 0 });
        assert_eq!(f.word_counts("neutral"), junk::Counts::default());
    }
}
