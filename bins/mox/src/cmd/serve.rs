//! `mox serve`.

use crate::cmd::Run;
use crate::context::Context;
use crate::serve::{self, ServeOptions};

/// Start mox, serving SMTP/IMAP/HTTPS.
///
/// Incoming email is accepted over SMTP. Email can be retrieved by users using IMAP. Every
/// service enabled on a listener in mox.conf is started, on each of the listener's IPs; a
/// service mox-rs does not serve yet is logged at startup and its port stays closed, as is
/// every other setting that is accepted but not yet in effect.
///
/// Started as root, mox binds its ports and then continues as the user in mox.conf's User
/// (default "mox"). One mox serves a data directory at a time. While running, domains.conf
/// is followed: a valid change is put in effect within a second, an invalid one is logged
/// and the previous configuration stays. "mox stop", SIGTERM or SIGINT stop it: listeners
/// close, connections in progress get 3 seconds to finish, then it exits with status 0.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox serve")]
pub(crate) struct Serve {}

impl Run for Serve {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        serve::serve(ServeOptions {
            config_path: ctx.config_path().to_path_buf(),
            mode: runtime::Mode::Serve,
            resolver: ctx.resolver()?,
            drop_privileges: true,
            on_ready: None,
        })
        .await
    }
}
