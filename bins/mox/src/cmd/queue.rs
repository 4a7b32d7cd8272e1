//! `mox queue list|kick|drop|dump`: the outgoing queue.
//!
//! With mox running, the commands go through its control socket to the queue it delivers
//! from, so a kick starts deliveries at once. With mox stopped, they open the queue directory
//! (`<datadir>/queue`) directly. The operations themselves are
//! `queue::Queue::{list, kick, drop_entries, dump}` with a `queue::Filter`, in both cases.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::cmd::{Run, usage_error};
use crate::context::Context;
use crate::ctl::{Client, Reply, Request};

/// List, reschedule, remove or print messages in the outgoing delivery queue.
///
/// With mox running, the commands go through it; otherwise they work on the queue directory in
/// the data directory. Messages are selected with filter flags, in mox v0.0.17's form (-ids
/// 1,2,3, -to @example.com, -from, -account, -transport) or the earlier form (-id, -todomain
/// example.com, -recipient); both can be mixed, and every given condition must hold.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Queue {
    List(List),
    Kick(Kick),
    Drop(Drop),
    Dump(Dump),
}

impl Run for Queue {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Queue::List(c) => c.run(ctx).await,
            Queue::Kick(c) => c.run(ctx).await,
            Queue::Drop(c) => c.run(ctx).await,
            Queue::Dump(c) => c.run(ctx).await,
        }
    }
}

/// What `queue kick` prints.
pub(crate) fn queue_kicked_text(n: usize) -> String {
    format!("{n} message(s) scheduled for immediate delivery\n")
}

/// What `queue drop` prints.
pub(crate) fn queue_dropped_text(n: usize) -> String {
    format!("{n} message(s) dropped\n")
}

/// Where the queue is.
#[derive(Debug, clap::Args)]
struct Location {
    /// Data directory holding queue/; default: DataDir of mox.conf.
    #[arg(long, value_name = "dir")]
    datadir: Option<PathBuf>,
}

/// The queue to work on: through the running server, or the directory itself.
enum Target {
    Server(Client),
    Offline(queue::Queue),
}

impl Location {
    async fn open(&self, ctx: &Context) -> anyhow::Result<Target> {
        let datadir = match &self.datadir {
            Some(d) => d.clone(),
            None => ctx.data_dir()?,
        };
        if let Some(client) = Client::connect(&datadir).await? {
            return Ok(Target::Server(client));
        }
        let dir = datadir.join("queue");
        if !dir.join("index").exists() {
            anyhow::bail!(
                "no queue at {} (nothing was ever queued, or wrong -datadir)",
                dir.display()
            );
        }
        let q = queue::Queue::open_admin(&dir)
            .with_context(|| format!("opening queue {}", dir.display()))?;
        Ok(Target::Offline(q))
    }
}

/// Sends `request` to the server and prints what it answers.
async fn through_server(ctx: &Context, client: Client, request: &Request) -> anyhow::Result<()> {
    let mut out = ctx.stdout();
    client
        .run(request, |reply| {
            match reply {
                Reply::Output(text) => out.write_all(text.as_bytes())?,
                Reply::Data(data) => out.write_all(data)?,
                _ => {}
            }
            Ok(())
        })
        .await
}

/// Which messages.
#[derive(Debug, clap::Args)]
struct FilterArgs {
    /// Message (queue entry) ID; repeat for more (the earlier mox form).
    #[arg(long = "id", value_name = "id")]
    id: Vec<u64>,
    /// Comma-separated list of message IDs (mox v0.0.17's form).
    #[arg(long, value_name = "ids", value_delimiter = ',')]
    ids: Vec<u64>,
    /// Recipient domain (the earlier mox form; v0.0.17 writes -to @domain).
    #[arg(long, value_name = "domain")]
    todomain: Option<String>,
    /// Recipient address, whole (the earlier mox form).
    #[arg(long, value_name = "address")]
    recipient: Option<String>,
    /// Part of a recipient address; "@example.com" matches all messages for a domain (mox
    /// v0.0.17's form).
    #[arg(long, value_name = "text")]
    to: Option<String>,
    /// Part of the sender address.
    #[arg(long, value_name = "text")]
    from: Option<String>,
    /// Account that queued the message.
    #[arg(long, value_name = "account")]
    account: Option<String>,
    /// Transport the message is to use; an empty value matches the default (routes).
    #[arg(long, value_name = "transport")]
    transport: Option<String>,
}

impl FilterArgs {
    fn filter(self) -> anyhow::Result<queue::Filter> {
        let filter = queue::Filter {
            ids: self.id.into_iter().chain(self.ids).map(queue::QueueId).collect(),
            to_domain: self.todomain,
            recipient: self.recipient,
            to: self.to,
            from: self.from,
            account: self.account,
            transport: self.transport,
        };
        filter.normalized().map_err(|e| usage_error(e.to_string()))
    }
}

/// List matching messages in the delivery queue.
///
/// Prints each message with its ID, when it was queued, sender, the recipients still to be
/// delivered, the attempts made, the time until the next attempt, the time since the last
/// attempt, and the last error. Messages on hold (FUTURERELEASE) show their release time as the
/// next attempt.
///
/// Filters take mox v0.0.17's form (-ids 1,2, -to @example.com, -from, -account, -transport)
/// and the earlier form (-id, -todomain example.com, -recipient); every given filter must
/// match. With mox running this goes through it, otherwise to the queue directory.
#[derive(Debug, clap::Args)]
pub(crate) struct List {
    #[command(flatten)]
    location: Location,
    #[command(flatten)]
    filter: FilterArgs,
}

impl Run for List {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let filter = self.filter.filter()?;
        match self.location.open(ctx).await? {
            Target::Server(client) => {
                through_server(ctx, client, &Request::QueueList { filter }).await
            }
            Target::Offline(queue) => {
                let entries = queue.list(&filter)?;
                let now = std::time::SystemTime::now();
                write!(ctx.stdout(), "{}", queue::format_list(&entries, now))?;
                Ok(())
            }
        }
    }
}

/// Schedule matching messages for immediate delivery.
///
/// The next delivery attempt of each matching message is set to now, and a running server
/// starts the attempts at once.
///
/// Filters take mox v0.0.17's form (-ids 1,2, -to @example.com, -from, -account, -transport)
/// and the earlier form (-id, -todomain example.com, -recipient); every given filter must
/// match. With mox running this goes through it, otherwise to the queue directory.
#[derive(Debug, clap::Args)]
pub(crate) struct Kick {
    #[command(flatten)]
    location: Location,
    #[command(flatten)]
    filter: FilterArgs,
}

impl Run for Kick {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let filter = self.filter.filter()?;
        match self.location.open(ctx).await? {
            Target::Server(client) => {
                through_server(ctx, client, &Request::QueueKick { filter }).await
            }
            Target::Offline(queue) => {
                let n = queue.kick(&filter).await?;
                write!(ctx.stdout(), "{}", queue_kicked_text(n))?;
                Ok(())
            }
        }
    }
}

/// Remove matching messages from the queue.
///
/// Dangerous: the messages are removed without a DSN to the sender; without flags, all
/// messages are removed (as in mox). Use "queue dump" first to keep a copy.
///
/// Filters take mox v0.0.17's form (-ids 1,2, -to @example.com, -from, -account, -transport)
/// and the earlier form (-id, -todomain example.com, -recipient); every given filter must
/// match. With mox running this goes through it, otherwise to the queue directory.
#[derive(Debug, clap::Args)]
pub(crate) struct Drop {
    #[command(flatten)]
    location: Location,
    #[command(flatten)]
    filter: FilterArgs,
}

impl Run for Drop {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let filter = self.filter.filter()?;
        match self.location.open(ctx).await? {
            Target::Server(client) => {
                through_server(ctx, client, &Request::QueueDrop { filter }).await
            }
            Target::Offline(queue) => {
                let n = queue.drop_entries(&filter).await?;
                write!(ctx.stdout(), "{}", queue_dropped_text(n))?;
                Ok(())
            }
        }
    }
}

/// Print a message from the queue.
///
/// The message is printed to stdout as queued, in standard internet mail format.
#[derive(Debug, clap::Args)]
pub(crate) struct Dump {
    #[command(flatten)]
    location: Location,
    /// The message ID, as "queue list" shows.
    #[arg(value_name = "id")]
    id: String,
}

impl Run for Dump {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let id: u64 =
            self.id.parse().map_err(|_| usage_error(format!("id {:?}: not a number", self.id)))?;
        match self.location.open(ctx).await? {
            Target::Server(client) => through_server(ctx, client, &Request::QueueDump { id }).await,
            Target::Offline(queue) => {
                let data = queue.dump(queue::QueueId(id))?;
                ctx.stdout().write_all(&data)?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::{Parsed, parse};
    use crate::cmd::Run as _;
    use crate::context::Context;

    async fn run(args: &[&str], datadir: &str) -> String {
        let mut argv: Vec<std::ffi::OsString> = vec!["mox".into(), "queue".into()];
        argv.extend(args.iter().map(|a| a.into()));
        argv.extend(["-datadir".into(), datadir.into()]);
        // A queue database is closed by the last of its handles, possibly on the queue's
        // writer thread just after the previous command returned; until then this process
        // cannot open it again (heed allows one open per process). Other processes can.
        let start = std::time::Instant::now();
        loop {
            let Parsed::Run { options, command } = parse(argv.clone()) else {
                panic!("parse {args:?}")
            };
            let (ctx, printed) = Context::for_test(options, None, b"");
            match command.run(&ctx).await {
                Ok(()) => {
                    let printed = printed.lock().expect("not poisoned").clone();
                    return String::from_utf8(printed).expect("utf-8");
                }
                Err(e)
                    if format!("{e:#}").contains("environment already open")
                        && start.elapsed() < std::time::Duration::from_secs(10) =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(e) => panic!("mox queue {args:?}: {e:#}"),
            }
        }
    }

    #[test]
    fn help_names_both_filter_forms() {
        for command in ["list", "kick", "drop"] {
            let argv: Vec<std::ffi::OsString> =
                ["mox", "queue", command, "-h"].iter().map(|a| a.into()).collect();
            let Parsed::Help(text) = parse(argv) else { panic!("help for {command}") };
            for needed in ["mox v0.0.17's form", "-to @example.com", "-todomain", "--todomain"] {
                assert!(text.contains(needed), "{command}: {needed:?} in\n{text}");
            }
        }
    }

    #[tokio::test]
    async fn list_kick_dump_drop_on_a_queue_directory() {
        let data = tempfile::tempdir().expect("tempdir");
        let dir = data.path().join("queue");
        {
            let settings = queue::Settings::new(dns::Domain::parse("mox.example").expect("domain"));
            let q = queue::Queue::builder(&dir, settings)
                .resolver(std::sync::Arc::new(dns::MockResolver::new()))
                .open()
                .expect("open");
            let to = queue::Recipient::parse("bob@example.org").expect("address");
            let mut m = queue::NewMessage::new(
                Some("alice@mox.example".parse().expect("address")),
                vec![to],
                b"Subject: hi\r\n\r\nhello\r\n".to_vec(),
            );
            m.hold_until =
                Some(std::time::SystemTime::now() + std::time::Duration::from_secs(3600));
            q.add(m).await.expect("add");
        }
        let d = data.path().to_str().expect("utf-8 path");
        let listed = run(&["list"], d).await;
        assert!(listed.starts_with("messages:\n"), "{listed}");
        // An hour ahead, give or take the rounding to seconds.
        assert!(
            listed.contains("from:<alice@mox.example> to:<bob@example.org> attempts 0 next 59m")
                || listed.contains(
                    "from:<alice@mox.example> to:<bob@example.org> attempts 0 next 1h0m0s"
                ),
            "{listed}"
        );
        assert_eq!(run(&["list", "-todomain", "other.example"], d).await, "messages:\n(none)\n");
        assert_eq!(run(&["dump", "1"], d).await, "Subject: hi\r\n\r\nhello\r\n");
        assert_eq!(
            run(&["kick", "-to", "@example.org"], d).await,
            "1 message(s) scheduled for immediate delivery\n"
        );
        let listed = run(&["list", "-ids", "1,2"], d).await;
        assert!(listed.contains(" next 0s ") || listed.contains(" next -"), "{listed}");
        assert_eq!(
            run(&["drop", "-recipient", "nobody@example.org"], d).await,
            "0 message(s) dropped\n"
        );
        assert_eq!(run(&["drop", "-id", "1"], d).await, "1 message(s) dropped\n");
        assert_eq!(run(&["list"], d).await, "messages:\n(none)\n");
    }
}
