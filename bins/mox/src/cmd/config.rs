//! `mox config ...`: describe, check and change the configuration.
//!
//! The changes (`account`, `address`, `domain` add/rm) are thin calls into
//! [`config::edit`]: the changed domains.conf is checked completely before it replaces the
//! old one, atomically. For now they edit domains.conf directly; a running server picks the
//! change up when it reloads domains.conf.

use std::io::Write as _;

use crate::cmd::{Run, domain_arg};
use crate::context::Context;
use crate::ctl::{Client, Request};

/// Describe, check and change the configuration.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Config {
    Test(Test),
    DescribeDomains(DescribeDomains),
    DescribeStatic(DescribeStatic),
    #[command(subcommand)]
    Account(Account),
    #[command(subcommand)]
    Address(Address),
    #[command(subcommand)]
    Domain(Domain),
    DescribeSendmail(DescribeSendmail),
    Printservice(Printservice),
    Example(ConfigExample),
}

impl Run for Config {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Config::Test(c) => c.run(ctx).await,
            Config::DescribeDomains(c) => c.run(ctx).await,
            Config::DescribeStatic(c) => c.run(ctx).await,
            Config::Account(c) => c.run(ctx).await,
            Config::Address(c) => c.run(ctx).await,
            Config::Domain(c) => c.run(ctx).await,
            Config::DescribeSendmail(c) => c.run(ctx).await,
            Config::Printservice(c) => c.run(ctx).await,
            Config::Example(c) => c.run(ctx).await,
        }
    }
}

/// Parses and validates the configuration files.
///
/// If valid, the command exits with status 0. If not valid, all errors encountered are
/// printed, one per line, as file:line: key path: message.
#[derive(Debug, clap::Args)]
pub(crate) struct Test {}

impl Run for Test {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let mut problems: Vec<String> = match config::load(ctx.config_path()) {
            Ok(c) => c.static_.user_ids().err().map(|e| format!("{}: User: {e}", ctx.config_path().display())).into_iter().collect(),
            Err(errors) => errors.errors().iter().map(|e| e.to_string()).collect(),
        };
        if problems.is_empty() {
            writeln!(ctx.stdout(), "config OK")?;
            return Ok(());
        }
        let count = problems.len();
        problems.push(String::new());
        std::io::stderr().write_all(problems.join("\n").as_bytes())?;
        anyhow::bail!("{count} error{} in the configuration", if count == 1 { "" } else { "s" })
    }
}

/// Prints an annotated empty configuration for use as mox.conf.
///
/// The static configuration file cannot be reloaded while mox is running. Mox has to be
/// restarted for changes to the static configuration file to take effect.
///
/// This configuration file needs modifications to make it valid. For example, it may contain
/// unfinished list items.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox config describe-static >mox.conf")]
pub(crate) struct DescribeStatic {}

impl Run for DescribeStatic {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        ctx.stdout().write_all(config::describe_static().as_bytes())?;
        Ok(())
    }
}

/// Prints an annotated empty configuration for use as domains.conf.
///
/// The domains configuration file contains the domains and their configuration, and accounts
/// and their configuration. This includes the configured email addresses. The mox command line
/// interface can make changes to this file. Mox automatically reloads this file when it
/// changes.
///
/// Like the static configuration, the example domains.conf printed by this command needs
/// modifications to make it valid.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox config describe-domains >domains.conf")]
pub(crate) struct DescribeDomains {}

impl Run for DescribeDomains {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        ctx.stdout().write_all(config::describe_domains().as_bytes())?;
        Ok(())
    }
}

/// Add and remove accounts.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Account {
    Add(AccountAdd),
    Rm(AccountRm),
}

impl Run for Account {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Account::Add(c) => c.run(ctx).await,
            Account::Rm(c) => c.run(ctx).await,
        }
    }
}

/// Add an account with an email address and reload the configuration.
///
/// Email can be delivered to this address/account. A password has to be configured
/// explicitly, see the setaccountpassword command.
///
/// The account is added to domains.conf (beside mox.conf), which is written atomically after
/// the changed configuration is checked; a running server picks up the change.
#[derive(Debug, clap::Args)]
pub(crate) struct AccountAdd {
    /// Name of the new account (also the name of its directory in the data directory).
    #[arg(value_name = "account")]
    account: String,
    /// First email address of the account, at a configured domain.
    #[arg(value_name = "address")]
    address: String,
}

impl Run for AccountAdd {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let request =
            Request::AccountAdd { account: self.account.clone(), address: self.address.clone() };
        if !through_server(ctx, &request).await? {
            let current = load(ctx)?;
            config::edit::account_add(&current, &self.account, &self.address)?.apply()?;
        }
        writeln!(
            ctx.stdout(),
            "account added, set a password with \"mox setaccountpassword {}\"",
            self.address
        )?;
        Ok(())
    }
}

/// Remove an account and reload the configuration.
///
/// Email addresses for this account will also be removed, and incoming email for these
/// addresses will be rejected.
///
/// The account is removed from domains.conf; its messages stay in its directory in the data
/// directory (accounts/NAME), to be removed by hand once no longer needed. An account that is
/// still referenced (as postmaster, or for DMARC or TLS reports) cannot be removed.
#[derive(Debug, clap::Args)]
pub(crate) struct AccountRm {
    /// Name of the account to remove.
    #[arg(value_name = "account")]
    account: String,
}

impl Run for AccountRm {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let dir = ctx.data_dir()?.join("accounts").join(&self.account);
        if !through_server(ctx, &Request::AccountRm { account: self.account.clone() }).await? {
            let current = load(ctx)?;
            config::edit::account_rm(&current, &self.account)?.apply()?;
        }
        writeln!(ctx.stdout(), "account removed")?;
        if dir.exists() {
            writeln!(ctx.stdout(), "its messages remain in {}", dir.display())?;
        }
        Ok(())
    }
}

/// Add and remove addresses of accounts.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Address {
    Add(AddressAdd),
    Rm(AddressRm),
}

impl Run for Address {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Address::Add(c) => c.run(ctx).await,
            Address::Rm(c) => c.run(ctx).await,
        }
    }
}

/// Adds an address to an account and reloads the configuration.
///
/// If address starts with a @ (i.e. a missing localpart), this is a catchall address for the
/// domain.
#[derive(Debug, clap::Args)]
pub(crate) struct AddressAdd {
    /// Email address to add, or @domain for the domain's catchall address.
    #[arg(value_name = "address")]
    address: String,
    /// Account to add the address to.
    #[arg(value_name = "account")]
    account: String,
}

impl Run for AddressAdd {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let request =
            Request::AddressAdd { address: self.address.clone(), account: self.account.clone() };
        if !through_server(ctx, &request).await? {
            let current = load(ctx)?;
            config::edit::address_add(&current, &self.address, &self.account)?.apply()?;
        }
        writeln!(ctx.stdout(), "address added")?;
        Ok(())
    }
}

/// Remove an address and reload the configuration.
///
/// Incoming email for this address will be rejected after removing an address. The address
/// is also removed from the aliases it is a member of (but not if it is the last member).
#[derive(Debug, clap::Args)]
pub(crate) struct AddressRm {
    /// Email address to remove, or @domain for the domain's catchall address.
    #[arg(value_name = "address")]
    address: String,
}

impl Run for AddressRm {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if !through_server(ctx, &Request::AddressRm { address: self.address.clone() }).await? {
            let current = load(ctx)?;
            config::edit::address_rm(&current, &self.address)?.apply()?;
        }
        writeln!(ctx.stdout(), "address removed")?;
        Ok(())
    }
}

/// Add and remove domains.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Domain {
    Add(DomainAdd),
    Rm(DomainRm),
}

impl Run for Domain {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Domain::Add(c) => c.run(ctx).await,
            Domain::Rm(c) => c.run(ctx).await,
        }
    }
}

/// Adds a new domain to the configuration and reloads the configuration.
///
/// The account is used for the postmaster mailboxes the domain, including as DMARC and TLS
/// reporting. Localpart is the "username" at the domain for this account. It must be set if
/// and only if account does not yet exist.
///
/// The domain can be created in disabled mode, preventing automatically requesting TLS
/// certificates with ACME, and rejecting incoming/outgoing messages involving the domain, but
/// allowing further configuration of the domain.
///
/// The domain gets two new DKIM keys, Ed25519 and RSA-2048 (selectors <year>a and <year>b,
/// both signing), written to the dkim directory beside domains.conf.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox config domain add [-disabled] <domain> <account> [localpart]")]
pub(crate) struct DomainAdd {
    /// Disable the new domain.
    #[arg(long)]
    disabled: bool,
    /// The domain to add.
    #[arg(value_name = "domain")]
    domain: String,
    /// Account for the postmaster, DMARC and TLS report addresses of the domain.
    #[arg(value_name = "account")]
    account: String,
    /// Localpart of the account's address at the domain, if the account is new.
    #[arg(value_name = "localpart")]
    localpart: Option<String>,
}

impl Run for DomainAdd {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let domain = domain_arg("domain", &self.domain)?;
        let request = Request::DomainAdd {
            domain: domain.ascii().to_string(),
            account: self.account.clone(),
            localpart: self.localpart.clone(),
            disabled: self.disabled,
        };
        if !through_server(ctx, &request).await? {
            let current = load(ctx)?;
            config::edit::domain_add(
                &current,
                &domain,
                &self.account,
                self.localpart.as_deref(),
                self.disabled,
            )?
            .apply()?;
        }
        let name = domain.unicode();
        writeln!(
            ctx.stdout(),
            "domain added, remember to add dns records, see:\n\nmox config dnsrecords {name}\nmox config dnscheck {name}"
        )?;
        Ok(())
    }
}

/// Remove a domain from the configuration and reload the configuration.
///
/// This is a dangerous operation. Incoming email delivery for this domain will be rejected.
///
/// Refused while accounts still have addresses at the domain. The domain's DKIM keys are
/// moved to dkim/old.
#[derive(Debug, clap::Args)]
pub(crate) struct DomainRm {
    /// The domain to remove.
    #[arg(value_name = "domain")]
    domain: String,
}

impl Run for DomainRm {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let domain = domain_arg("domain", &self.domain)?;
        let request = Request::DomainRm { domain: domain.ascii().to_string() };
        if !through_server(ctx, &request).await? {
            let current = load(ctx)?;
            config::edit::domain_rm(&current, &domain)?.apply()?;
        }
        writeln!(ctx.stdout(), "domain removed, remember to remove dns records for {}", domain.unicode())?;
        Ok(())
    }
}

/// Sends a configuration change to the running server, which applies it (serialized with its
/// other changes) and starts using it at once. `false` when no server runs on the data
/// directory: the caller edits domains.conf itself, and a server started later reads it.
async fn through_server(ctx: &Context, request: &Request) -> anyhow::Result<bool> {
    let Some(client) = Client::connect(&ctx.data_dir()?).await? else {
        return Ok(false);
    };
    client.run(request, |_| Ok(())).await?;
    Ok(true)
}

/// Loads the configuration for a change; problems in it are one error.
fn load(ctx: &Context) -> anyhow::Result<config::Config> {
    config::load(ctx.config_path()).map_err(|errors| {
        anyhow::anyhow!("{errors}").context("the configuration has errors, see \"mox config test\"")
    })
}

/// Describe configuration for mox when invoked as sendmail.
///
/// Prints an annotated moxsubmit.conf with every key, its documentation and an example
/// value. Save it as /etc/moxsubmit.conf (or the file named by MOXSUBMIT_CONF) and edit it;
/// see "mox help sendmail".
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox config describe-sendmail >/etc/moxsubmit.conf")]
pub(crate) struct DescribeSendmail {}

impl Run for DescribeSendmail {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        ctx.stdout().write_all(::sendmail::SubmitConfig::describe().as_bytes())?;
        Ok(())
    }
}

/// Prints a systemd unit service file for mox.
///
/// This is the same file as generated using quickstart. If the systemd service file has
/// changed with a newer version of mox, use this command to generate an up to date version.
///
/// The working directory (and the location of the mox binary, config and data) is the current
/// directory. The service runs sandboxed: it can write only the config and data directories,
/// sees no devices or home directories of others, and keeps only the capabilities it needs to
/// bind ports and switch to the mox user.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox config printservice >mox.service")]
pub(crate) struct Printservice {}

impl Run for Printservice {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let dir = match std::env::current_dir() {
            Ok(dir) => dir.display().to_string(),
            Err(e) => {
                tracing::warn!(error = %e, "current working directory, using /home/mox");
                "/home/mox".to_string()
            }
        };
        ctx.stdout().write_all(service_unit(&dir).as_bytes())?;
        Ok(())
    }
}

/// The systemd unit for mox installed in `dir`.
fn service_unit(dir: &str) -> String {
    SERVICE_UNIT.replace("/home/mox", dir)
}

const SERVICE_UNIT: &str = "[Unit]
Description=mox mail server
After=network-online.target
Wants=network-online.target

[Service]
UMask=007
LimitNOFILE=65535
Type=simple
# Mox starts as root, but drops privileges after binding network addresses.
WorkingDirectory=/home/mox
ExecStart=/home/mox/mox serve
RestartSec=5s
Restart=always
ExecStop=/home/mox/mox stop
SyslogFacility=mail

# Isolate process, reducing attack surface.
PrivateDevices=yes
PrivateTmp=yes
ProtectSystem=strict
ReadWritePaths=/home/mox/config /home/mox/data
ProtectKernelTunables=yes
ProtectControlGroups=yes
AmbientCapabilities=
CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_NET_BIND_SERVICE CAP_CHOWN CAP_FSETID CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_KILL
NoNewPrivileges=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RemoveIPC=yes
ProtectHostname=yes
ProtectClock=yes
ProtectKernelLogs=yes
ProtectKernelModules=yes
MemoryDenyWriteExecute=yes
LockPersonality=yes
DevicePolicy=closed
SystemCallArchitectures=native
SystemCallFilter=@system-service

# Not RestrictSUIDSGID: the data directory may have setgid directories.
# Not PrivateUsers: it keeps CAP_NET_BIND_SERVICE from working.

# To check security-related settings:
# sudo systemd-analyze security mox.service

[Install]
WantedBy=multi-user.target
";

/// List available config examples, or print a specific example.
#[derive(Debug, clap::Args)]
pub(crate) struct ConfigExample {
    /// Name of the example to print; without it, the names are listed.
    #[arg(value_name = "name")]
    name: Option<String>,
}

impl Run for ConfigExample {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        crate::cmd::example::print_example(ctx, config::CONFIG_EXAMPLES, self.name.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::GlobalOptions;

    fn output(printed: &std::sync::Mutex<Vec<u8>>) -> String {
        String::from_utf8(printed.lock().expect("lock").clone()).expect("UTF-8")
    }

    #[tokio::test]
    async fn describe_sendmail_prints_a_parsable_example() {
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), None, b"");
        DescribeSendmail {}.run(&ctx).await.expect("describe-sendmail");
        let text = output(&printed);
        let config = ::sendmail::SubmitConfig::parse(&text, "describe".as_ref()).expect("parses back");
        assert_eq!(config.port, 465);
        assert!(text.contains("# Address for MAIL FROM in SMTP and From-header in message.\nFrom: "), "{text}");
    }

    #[tokio::test]
    async fn describe_prints_the_crate_text() {
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), None, b"");
        DescribeStatic {}.run(&ctx).await.expect("describe-static");
        assert_eq!(output(&printed), config::describe_static());
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), None, b"");
        DescribeDomains {}.run(&ctx).await.expect("describe-domains");
        assert_eq!(output(&printed), config::describe_domains());
    }

    #[test]
    fn service_unit_is_hardened_and_placed() {
        let unit = service_unit("/srv/mox");
        assert!(unit.contains("WorkingDirectory=/srv/mox\nExecStart=/srv/mox/mox serve\n"));
        assert!(unit.contains("ReadWritePaths=/srv/mox/config /srv/mox/data\n"));
        for line in ["ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes", "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes"] {
            assert!(unit.lines().any(|l| l == line), "{line}");
        }
        assert!(!unit.contains("/home/mox"));
    }
}
