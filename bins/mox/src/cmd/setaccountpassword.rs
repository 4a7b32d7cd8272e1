//! `mox setaccountpassword`.

use crate::cmd::Run;
use crate::context::Context;
use crate::ctl::{Client, Request};

/// Set a new password for an account.
///
/// The password is read from stdin: from a terminal it is asked twice, without echo;
/// otherwise the first line is taken. Secrets derived from the password, but not the password
/// itself, are stored in the account database: for SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5 and a
/// slow (Argon2id) hash for PLAIN and LOGIN.
///
/// The argument is an email address of the account (as users log in), or the account name as
/// configured under Accounts in domains.conf (as mox v0.0.17 takes it); both work.
///
/// With mox running, the password is set through it; otherwise directly in the data
/// directory.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox setaccountpassword address|account")]
pub(crate) struct Setaccountpassword {
    /// An email address of the account, or the account's name.
    #[arg(value_name = "address|account")]
    account: String,
}

impl Run for Setaccountpassword {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let data_dir = ctx.data_dir()?;
        let password = ctx.read_new_password()?;
        if let Some(client) = Client::connect(&data_dir).await? {
            let request = Request::SetAccountPassword { account: self.account, password };
            return client.run(&request, |_| Ok(())).await;
        }
        let config = ctx.load_config()?;
        let account = account_of(&config, &self.account)?;
        let accounts = runtime::Accounts::new(
            &config.data_dir,
            runtime::initial_mailboxes(&config.static_),
        );
        tokio::task::spawn_blocking(move || accounts.set_password(&account, &password))
            .await??;
        Ok(())
    }
}

/// The account named by an account name or one of its addresses.
pub(crate) fn account_of(config: &config::Config, account_or_address: &str) -> anyhow::Result<String> {
    if config.account(account_or_address).is_some() {
        return Ok(account_or_address.to_string());
    }
    if account_or_address.contains('@') {
        if let Ok((account, _)) = config.account_for_login(account_or_address) {
            return Ok(account.to_string());
        }
        anyhow::bail!("no account has address {account_or_address:?}");
    }
    anyhow::bail!("no account {account_or_address:?} in domains.conf")
}
