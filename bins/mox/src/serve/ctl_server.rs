//! The server side of the control socket (see `crate::ctl`): accepts connections on
//! `<datadir>/ctl` (mode 0600), reads one request per connection and hands it to the
//! [`Handler`], streaming its output and progress back.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::net::UnixListener;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::Mutex;

use crate::ctl::{self, Greeting, Progress, Reply, Request};

/// Carries out control requests.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Handles `request`, writing output and progress to `out`; the returned error becomes
    /// the reply's error line.
    fn handle(
        self: Arc<Self>,
        request: Request,
        out: Replies,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> + Send;
}

/// Where a handler sends output and progress for the client.
#[derive(Debug, Clone)]
pub(crate) struct Replies {
    writer: Arc<Mutex<OwnedWriteHalf>>,
}

impl Replies {
    /// Sends text for the client's standard output.
    pub(crate) async fn output(&self, text: impl Into<String>) -> anyhow::Result<()> {
        self.send(&Reply::Output(text.into())).await
    }

    /// Sends bytes for the client's standard output (need not be UTF-8).
    pub(crate) async fn data(&self, data: Vec<u8>) -> anyhow::Result<()> {
        self.send(&Reply::Data(data)).await
    }

    async fn send(&self, reply: &Reply) -> anyhow::Result<()> {
        let mut w = self.writer.lock().await;
        ctl::send(&mut *w, reply).await.map_err(|e| anyhow::anyhow!("writing to client: {e}"))
    }

    /// A `store::Progress` that forwards progress to the client; for use in blocking code
    /// (it sends from the blocking thread through a runtime handle).
    pub(crate) fn progress(&self) -> ProgressForwarder {
        ProgressForwarder { replies: self.clone(), handle: tokio::runtime::Handle::current() }
    }
}

/// See [`Replies::progress`].
#[derive(Debug)]
pub(crate) struct ProgressForwarder {
    replies: Replies,
    handle: tokio::runtime::Handle,
}

impl ProgressForwarder {
    fn forward(&self, p: Progress) {
        // A client that went away does not stop the work; its progress is simply not shown.
        let _ = self.handle.block_on(self.replies.send(&Reply::Progress(p)));
    }
}

impl store::Progress for ProgressForwarder {
    fn start(&self, what: &str, total: Option<u64>) {
        self.forward(Progress::Start { what: what.to_string(), total });
    }
    fn advance(&self, n: u64) {
        self.forward(Progress::Advance { n });
    }
    fn finish(&self) {
        self.forward(Progress::Finish);
    }
}

/// The bound control socket.
#[derive(Debug)]
pub(crate) struct CtlListener {
    listener: UnixListener,
    path: PathBuf,
}

impl CtlListener {
    /// Binds `<data_dir>/ctl`, replacing a socket file a crashed server left (the caller holds
    /// the data directory lock, so no live server owns it), mode 0600.
    pub(crate) fn bind(data_dir: &Path) -> anyhow::Result<CtlListener> {
        let path = ctl::socket_path(data_dir);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("removing old control socket {}: {e}", path.display()),
        }
        let listener = UnixListener::bind(&path)
            .map_err(|e| anyhow::anyhow!("listening on control socket {}: {e}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| anyhow::anyhow!("chmod 0600 {}: {e}", path.display()))?;
        Ok(CtlListener { listener, path })
    }

    /// Serves requests until `shutdown` is triggered, each connection as a task in
    /// `connections` (not in `shutdown`'s drain: a `stop` request waits for the drain, and
    /// must not wait for itself; the server waits for `connections` after the drain, so the
    /// `stop` gets its answer). Removes the socket file at the end.
    pub(crate) async fn serve<H: Handler>(
        self,
        handler: Arc<H>,
        shutdown: runtime::Shutdown,
        connections: tokio_util::task::TaskTracker,
    ) {
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(serve_connection(stream, handler.clone()));
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "accepting control connection");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                },
            }
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_connection<H: Handler>(stream: tokio::net::UnixStream, handler: Arc<H>) {
    let cid = runtime::ConnectionId::next();
    let (read, mut write) = stream.into_split();
    if ctl::send(&mut write, &Greeting::current()).await.is_err() {
        return;
    }
    let mut line = String::new();
    let mut reader = BufReader::new(read);
    let request = match reader.read_line(&mut line).await {
        Ok(0) | Err(_) => return,
        Ok(_) => serde_json::from_str::<Request>(&line),
    };
    let replies = Replies { writer: Arc::new(Mutex::new(write)) };
    let result = match request {
        Ok(request) => {
            tracing::info!(%cid, request = ?request, "control request");
            handler.handle(request, replies.clone()).await
        }
        Err(e) => Err(anyhow::anyhow!("unrecognized request: {e}")),
    };
    let last = match result {
        Ok(()) => Reply::Done,
        Err(e) => {
            let text = format!("{e:#}").replace(['\r', '\n'], " ");
            tracing::info!(%cid, error = %text, "control request failed");
            Reply::Error(text)
        }
    };
    let _ = replies.send(&last).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::Client;

    struct Echo;

    impl Handler for Echo {
        async fn handle(self: Arc<Self>, request: Request, out: Replies) -> anyhow::Result<()> {
            match request {
                Request::AccountRm { account } => {
                    out.output(format!("would remove {account}\n")).await?;
                    let p = out.progress();
                    tokio::task::spawn_blocking(move || {
                        use store::Progress as _;
                        p.start("counting", Some(2));
                        p.advance(2);
                        p.finish();
                    })
                    .await?;
                    Ok(())
                }
                _ => anyhow::bail!("not supported here"),
            }
        }
    }

    #[tokio::test]
    async fn requests_get_output_progress_and_errors_and_the_socket_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let listener = CtlListener::bind(dir.path()).unwrap();
        let mode = std::fs::metadata(ctl::socket_path(dir.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let shutdown = runtime::Shutdown::new();
        let tasks = tokio_util::task::TaskTracker::new();
        let server = tokio::spawn(listener.serve(Arc::new(Echo), shutdown.clone(), tasks));

        let mut seen = Vec::new();
        let client = Client::connect_running(dir.path()).await.unwrap();
        client
            .run(&Request::AccountRm { account: "mjl".into() }, |r| {
                seen.push(format!("{r:?}"));
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert!(seen[0].contains("would remove mjl"));
        assert!(seen[1].contains("counting") && seen[2].contains("Advance"));

        let client = Client::connect_running(dir.path()).await.unwrap();
        let e = client.run(&Request::Stop, |_| Ok(())).await.unwrap_err().to_string();
        assert_eq!(e, "not supported here");

        shutdown.trigger();
        server.await.unwrap();
        assert!(!ctl::socket_path(dir.path()).exists(), "socket removed at shutdown");
    }
}
