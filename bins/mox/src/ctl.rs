//! The control socket: how `mox` commands talk to a running `mox serve`.
//!
//! A unix socket `ctl` in the data directory, mode 0600, so only the server's user (and root)
//! can use it. The protocol is JSON lines: the server greets with a [`Greeting`], the client
//! sends one [`Request`], the server answers with any number of [`Reply::Output`] and
//! [`Reply::Progress`] lines, then one [`Reply::Done`] or [`Reply::Error`], and closes.
//! Secrets in requests (a new password) are never logged.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::UnixStream;

/// The socket's file name in the data directory.
pub(crate) const SOCKET_NAME: &str = "ctl";

/// Protocol version; a client refuses a server that speaks another.
pub(crate) const VERSION: u32 = 1;

/// What the server sends first.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Greeting {
    pub(crate) ctl: String,
    pub(crate) version: u32,
}

impl Greeting {
    pub(crate) fn current() -> Greeting {
        Greeting { ctl: "mox-rs".to_string(), version: VERSION }
    }
}

/// A command for the running server.
#[derive(Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub(crate) enum Request {
    /// Shut down (as SIGTERM does); the reply comes when the drain is done.
    Stop,
    /// Print the log levels; with `level`, first set the level of `target` (all when `None`).
    Loglevels { level: Option<String>, target: Option<String> },
    /// Set an account's password (by account name or email address).
    SetAccountPassword { account: String, password: String },
    /// Add an account with its first address.
    AccountAdd { account: String, address: String },
    /// Remove an account from the configuration (its messages stay on disk).
    AccountRm { account: String },
    /// Add an address (or `@domain` catchall) to an account.
    AddressAdd { address: String, account: String },
    /// Remove an address.
    AddressRm { address: String },
    /// Add a domain, with new DKIM keys, delivering `localpart`@domain (or a catchall) to an
    /// account; `disabled` adds it in mox's disabled mode.
    DomainAdd {
        domain: String,
        account: String,
        localpart: Option<String>,
        #[serde(default)]
        disabled: bool,
    },
    /// Remove a domain.
    DomainRm { domain: String },
    /// Import a maildir or mbox that the server can read into an account's mailbox.
    Import { format: ImportFormat, account: String, mailbox: String, path: PathBuf },
    /// Back up the data directory to `dest` while serving.
    Backup { dest: PathBuf },
    /// List the queue entries matching `filter` (`mox queue list`).
    QueueList { filter: queue::Filter },
    /// Schedule the matching entries for immediate delivery (`mox queue kick`).
    QueueKick { filter: queue::Filter },
    /// Remove the matching entries without DSNs (`mox queue drop`).
    QueueDrop { filter: queue::Filter },
    /// The message of a queue entry as queued, as [`Reply::Data`] (`mox queue dump`).
    QueueDump { id: u64 },
}

/// What `Request::Import` reads.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ImportFormat {
    Maildir,
    Mbox,
}

impl std::fmt::Debug for Request {
    /// Like a derived Debug, without the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::SetAccountPassword { account, .. } => f
                .debug_struct("SetAccountPassword")
                .field("account", account)
                .field("password", &"***")
                .finish(),
            other => {
                let json = serde_json::to_string(other).unwrap_or_default();
                write!(f, "{json}")
            }
        }
    }
}

/// A line of the server's answer.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Reply {
    /// Text for the command's standard output (a line or more, with its newlines).
    Output(String),
    /// Bytes for the command's standard output, for data that need not be UTF-8 (a message).
    Data(Vec<u8>),
    /// Progress of a long operation: `start` names it, then `advance`, then `finish`.
    Progress(Progress),
    /// The command succeeded.
    Done,
    /// The command failed, with one readable line.
    Error(String),
}

/// Progress events, as `store::Progress` reports them.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Progress {
    Start { what: String, total: Option<u64> },
    Advance { n: u64 },
    Finish,
}

/// The socket's path for a data directory.
pub(crate) fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// A connection to a running server.
#[derive(Debug)]
pub(crate) struct Client {
    reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: tokio::net::unix::OwnedWriteHalf,
}

impl Client {
    /// Connects to the server of `data_dir`: `Ok(None)` when no server is running there (no
    /// socket, or nobody listening on it), an error when one is there but cannot be talked to.
    pub(crate) async fn connect(data_dir: &Path) -> anyhow::Result<Option<Client>> {
        let path = socket_path(data_dir);
        let stream = match UnixStream::connect(&path).await {
            Ok(s) => s,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Ok(None);
            }
            Err(e) => {
                return Err(e).with_context(|| format!("connecting to {}", path.display()));
            }
        };
        let (read, writer) = stream.into_split();
        let mut client = Client { reader: BufReader::new(read), writer };
        let greeting: Greeting = client
            .read_line()
            .await?
            .ok_or_else(|| anyhow::anyhow!("server closed the control connection"))?;
        if greeting != Greeting::current() {
            anyhow::bail!(
                "the server at {} speaks control protocol {} {}, this mox speaks {} {}",
                path.display(),
                greeting.ctl,
                greeting.version,
                "mox-rs",
                VERSION
            );
        }
        Ok(Some(client))
    }

    /// Connects, or fails with one line saying the server is not running.
    pub(crate) async fn connect_running(data_dir: &Path) -> anyhow::Result<Client> {
        Client::connect(data_dir).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "mox is not running (no server listening on {}); start it with \"mox serve\"",
                socket_path(data_dir).display()
            )
        })
    }

    /// Sends `request` and hands each reply to `on_reply` until the server is done. Fails with
    /// the server's error line.
    pub(crate) async fn run(
        mut self,
        request: &Request,
        mut on_reply: impl FnMut(&Reply) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(request)?;
        line.push(b'\n');
        self.writer.write_all(&line).await.context("sending to the server")?;
        loop {
            let reply: Reply = self
                .read_line()
                .await?
                .ok_or_else(|| anyhow::anyhow!("server closed the control connection early"))?;
            match reply {
                Reply::Done => return Ok(()),
                Reply::Error(e) => anyhow::bail!("{e}"),
                other => on_reply(&other)?,
            }
        }
    }

    async fn read_line<T: for<'de> Deserialize<'de>>(&mut self) -> anyhow::Result<Option<T>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await.context("reading from the server")? == 0 {
            return Ok(None);
        }
        Ok(Some(serde_json::from_str(&line).context("unreadable reply from the server")?))
    }
}

/// Writes a reply line (server side).
pub(crate) async fn send(
    w: &mut (impl tokio::io::AsyncWrite + Unpin),
    value: &impl Serialize,
) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_are_json_lines_and_passwords_stay_out_of_debug() {
        let r = Request::SetAccountPassword { account: "mjl".into(), password: "s3cret".into() };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"command":"set-account-password","account":"mjl","password":"s3cret"}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), r);
        assert!(!format!("{r:?}").contains("s3cret"));
        assert!(format!("{:?}", Request::Stop).contains("stop"));
        let p = Reply::Progress(Progress::Start { what: "import".into(), total: Some(3) });
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Reply>(&json).unwrap(), p);
        assert_eq!(serde_json::to_string(&Reply::Done).unwrap(), r#""done""#);
    }

    #[tokio::test]
    async fn connect_tells_no_server_apart_from_a_server() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Client::connect(dir.path()).await.unwrap().is_none());
        let e = Client::connect_running(dir.path()).await.unwrap_err().to_string();
        assert!(e.contains("mox is not running"), "{e}");
        // A socket file left by a crashed server, with nobody listening.
        drop(std::os::unix::net::UnixListener::bind(socket_path(dir.path())).unwrap());
        assert!(Client::connect(dir.path()).await.unwrap().is_none());
    }
}
