//! `mox loglevels [level [pkg]]`.

use std::io::Write as _;

use crate::cmd::Run;
use crate::context::Context;
use crate::ctl::{Client, Reply, Request};

/// Print the log levels, or set a new default log level, or a level for the given package.
///
/// By default, a single log level applies to all logging in mox. But for each "pkg", an
/// overriding log level can be configured. Examples of packages: smtpserver, smtpclient,
/// queue, imapserver, spf, dkim, dmarc, junk, message, etc.
///
/// Specify a pkg and an empty level to clear the configured level for a package.
///
/// Valid labels: error, info, debug, trace, traceauth, tracedata.
///
/// Changes are made in the running mox (through its control socket) and last until it
/// stops; set LogLevel and PackageLogLevels in mox.conf to keep them.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox loglevels [level [pkg]]")]
pub(crate) struct Loglevels {
    /// New log level; empty (with a pkg) clears the package's level.
    #[arg(value_name = "level")]
    level: Option<String>,
    /// Package (crate) the level is for; default: all.
    #[arg(value_name = "pkg")]
    pkg: Option<String>,
}

impl Run for Loglevels {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if let Some(level) = self.level.as_deref().filter(|l| !l.is_empty()) {
            level.parse::<crate::logging::Level>().map_err(|e| crate::cmd::usage_error(e.to_string()))?;
        }
        let client = Client::connect_running(&ctx.data_dir()?).await?;
        let mut out = ctx.stdout();
        client
            .run(&Request::Loglevels { level: self.level, target: self.pkg }, |reply| {
                if let Reply::Output(text) = reply {
                    out.write_all(text.as_bytes())?;
                }
                Ok(())
            })
            .await
    }
}
