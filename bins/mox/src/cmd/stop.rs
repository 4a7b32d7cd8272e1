//! `mox stop`.

use std::io::Write as _;

use crate::cmd::Run;
use crate::context::Context;
use crate::ctl::{Client, Request};

/// Shut mox down, giving connections maximum 3 seconds to stop before closing them.
///
/// Talks to the running mox over its control socket in the data directory, and returns when
/// it has stopped.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox stop")]
pub(crate) struct Stop {}

impl Run for Stop {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let client = Client::connect_running(&ctx.data_dir()?).await?;
        client.run(&Request::Stop, |_| Ok(())).await?;
        writeln!(ctx.stdout(), "mox stopped")?;
        Ok(())
    }
}
