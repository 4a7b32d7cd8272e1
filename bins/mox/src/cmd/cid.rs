//! `mox cid id`: the connection id (cid) of the logs, from the ID in a Received header.

use std::io::Write as _;

use anyhow::Context as _;
use runtime::received_id::ReceivedIdKey;

use crate::cmd::Run;
use crate::context::Context;

/// Turn an ID from a Received header into a cid, for looking up in logs.
///
/// A cid is essentially a connection counter initialized when mox starts. Each log line
/// contains a cid. Received headers added by mox contain a unique ID that can be decrypted to a
/// cid by admin of a mox instance only.
///
/// The ID is decrypted with the key in the data directory's receivedid.key. Printed are the cid
/// in hexadecimal, as log lines show it, and the time it tells: the counter starts at the
/// server's start time in milliseconds, so the connection came in at or after that moment.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox cid cid")]
pub(crate) struct Cid {
    /// The ID from a Received header ("... id IDTEXT ...") or an SMTP reply.
    #[arg(value_name = "cid")]
    id: String,
}

impl Run for Cid {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let config = ctx.load_config()?;
        let path = config.data_dir_path("receivedid.key");
        let data = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let key = ReceivedIdKey::from_file_data(&data)
            .with_context(|| format!("bad data in {}", path.display()))?;
        let cid = key.decode(&self.id).context("received id to cid")?;
        let mut out = ctx.stdout();
        writeln!(out, "{cid:x}")?;
        let time = runtime::ConnectionId(cid).time_at_or_before();
        writeln!(out, "at or after {} (the counter starts at the server's start time)", rfc3339(time))?;
        Ok(())
    }
}

/// `2026-12-06T17:20:00.123Z`.
fn rfc3339(time: std::time::SystemTime) -> String {
    let ms = time.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let secs = (ms / 1000) as i64;
    let (year, month, day) = message::calendar::civil_from_days(secs.div_euclid(86400));
    let rest = secs.rem_euclid(86400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        (rest / 60) % 60,
        rest % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_796_577_600_123);
        assert_eq!(rfc3339(t), "2026-12-06T17:20:00.123Z");
        assert_eq!(rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }
}
