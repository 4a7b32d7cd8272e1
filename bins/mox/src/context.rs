//! What every command gets: the global options, and shared things built when a command first
//! asks for them (the DNS resolver), plus stdout/stdin that tests can capture.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use anyhow::Context as _;

use crate::logging::Level;

/// The configuration file when neither `-config` nor `MOXCONF` names one (as mox).
pub(crate) const DEFAULT_CONFIG: &str = "config/mox.conf";

/// Options given before the command, as mox's global flags (also accepted after it).
///
/// They are hidden from each command's help to keep it about the command; `mox help` lists
/// them.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct GlobalOptions {
    /// Configuration file; the other configuration files are in the same directory. Default
    /// $MOXCONF, else config/mox.conf.
    #[arg(long, global = true, hide = true, value_name = "file")]
    pub(crate) config: Option<PathBuf>,

    /// Log level: error, info (default), debug, trace, traceauth (trace plus authentication
    /// data), tracedata (traceauth plus message data); MOX_LOG sets per-crate levels.
    #[arg(long, global = true, hide = true, value_name = "level")]
    pub(crate) loglevel: Option<Level>,

    /// DNS server for lookups, IP or IP:PORT ([IPv6]:PORT); default $MOX_DNS_SERVER, else
    /// the servers of /etc/resolv.conf.
    #[arg(long = "dns-server", global = true, hide = true, value_name = "ip[:port]")]
    pub(crate) dns_server: Option<String>,
}

/// The global options resolved against the environment, and shared resources for commands.
///
/// Built once in `main` and passed to every command as `&Context`.
pub(crate) struct Context {
    config_path: PathBuf,
    dns_server: Option<String>,
    resolver: OnceLock<Arc<dyn dns::Resolver>>,
    stdout: Output,
    stdin: Input,
}

impl Context {
    /// Resolves `options` with the environment: a flag wins over its variable (`MOXCONF`,
    /// `MOX_DNS_SERVER`), and an empty variable counts as unset (as mox does).
    pub(crate) fn new(options: GlobalOptions) -> Context {
        Context::from_parts(options, |name| std::env::var(name).ok())
    }

    /// The static configuration file (`mox.conf`).
    pub(crate) fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The dynamic configuration file: `domains.conf`, next to [`config_path`](Self::config_path).
    #[allow(dead_code, reason = "used by the configuration commands, coming next")]
    pub(crate) fn domains_config_path(&self) -> PathBuf {
        self.config_path.with_file_name("domains.conf")
    }

    /// Loads and checks mox.conf and domains.conf; every problem is in the error, one per line.
    pub(crate) fn load_config(&self) -> anyhow::Result<config::Config> {
        config::load(&self.config_path).map_err(|errors| {
            anyhow::anyhow!("configuration has {} error(s):\n{errors}", errors.errors().len())
        })
    }

    /// The data directory named in mox.conf (`DataDir`, relative to mox.conf's directory).
    /// Reads mox.conf only, so commands that just need the data directory (`stop`,
    /// `loglevels`) work while domains.conf has an error.
    pub(crate) fn data_dir(&self) -> anyhow::Result<PathBuf> {
        let text = std::fs::read_to_string(&self.config_path)
            .with_context(|| format!("reading {}", self.config_path.display()))?;
        let name = self.config_path.display().to_string();
        let static_ =
            config::parse_static(&name, &text).map_err(|errors| anyhow::anyhow!("{errors}"))?;
        let dir = config::config_dir_path(&self.config_path, &static_.data_dir);
        // "DataDir: ." names mox.conf's directory; say so without the dot.
        Ok(dir.components().filter(|c| *c != std::path::Component::CurDir).collect())
    }

    /// The DNS server given with `--dns-server` or `MOX_DNS_SERVER`, if any.
    pub(crate) fn dns_server(&self) -> Option<&str> {
        self.dns_server.as_deref()
    }

    /// The resolver for commands that look things up: the `--dns-server` if given, else the
    /// system configuration. Built on first use, so commands without DNS never fail on a bad
    /// `--dns-server`; the error names the option.
    #[allow(dead_code, reason = "used by the DNS commands (spf, dkim, ...), coming next")]
    pub(crate) fn resolver(&self) -> anyhow::Result<Arc<dyn dns::Resolver>> {
        if let Some(resolver) = self.resolver.get() {
            return Ok(Arc::clone(resolver));
        }
        let what = match self.dns_server() {
            Some(_) => "--dns-server (or MOX_DNS_SERVER)",
            None => "system DNS configuration",
        };
        let resolver = dns::HickoryResolver::new(self.dns_server()).context(what)?;
        tracing::debug!(servers = ?resolver.servers(), "dns resolver");
        Ok(Arc::clone(self.resolver.get_or_init(|| Arc::new(resolver))))
    }

    /// Where commands write their results (standard output, or a buffer in tests). Logs go
    /// to stderr, never here.
    pub(crate) fn stdout(&self) -> impl Write + '_ {
        match &self.stdout {
            Output::Process => OutputLock::Process(io::stdout().lock()),
            Output::Captured(buffer) => OutputLock::Captured(lock(buffer)),
        }
    }

    /// Reads all of standard input (or the input given in a test).
    #[allow(dead_code, reason = "used by commands reading a message or key, coming next")]
    pub(crate) fn read_stdin(&self) -> anyhow::Result<Vec<u8>> {
        match &self.stdin {
            Input::Process => {
                let mut data = Vec::new();
                io::stdin().lock().read_to_end(&mut data).context("reading standard input")?;
                Ok(data)
            }
            Input::Given(data) => Ok(data.clone()),
        }
    }

    /// Reads a new password: from a terminal, asked twice without echo (they must match);
    /// otherwise the first line of standard input, without its line ending.
    pub(crate) fn read_new_password(&self) -> anyhow::Result<String> {
        use std::io::IsTerminal as _;

        let password = match &self.stdin {
            Input::Process if io::stdin().is_terminal() => {
                let first = rpassword::prompt_password("new password: ")
                    .context("reading password from terminal")?;
                let again = rpassword::prompt_password("repeat password: ")
                    .context("reading password from terminal")?;
                if first != again {
                    anyhow::bail!("the passwords do not match");
                }
                first
            }
            _ => {
                let data = self.read_stdin()?;
                let text = String::from_utf8(data)
                    .map_err(|_| anyhow::anyhow!("password on standard input is not UTF-8"))?;
                let line = text.split('\n').next().unwrap_or_default();
                line.strip_suffix('\r').unwrap_or(line).to_string()
            }
        };
        if password.is_empty() {
            anyhow::bail!("empty password");
        }
        Ok(password)
    }

    /// A context for unit tests of commands: `resolver` answers lookups (a
    /// `dns::MockResolver`), `stdin` is what the command reads, and the returned buffer holds
    /// what it printed.
    #[cfg(test)]
    pub(crate) fn for_test(
        options: GlobalOptions,
        resolver: Option<Arc<dyn dns::Resolver>>,
        stdin: &[u8],
    ) -> (Context, Arc<Mutex<Vec<u8>>>) {
        let mut ctx = Context::from_parts(options, |_| None);
        if let Some(resolver) = resolver {
            ctx.resolver = OnceLock::from(resolver);
        }
        let buffer = Arc::new(Mutex::new(Vec::new()));
        ctx.stdout = Output::Captured(Arc::clone(&buffer));
        ctx.stdin = Input::Given(stdin.to_vec());
        (ctx, buffer)
    }

    fn from_parts(options: GlobalOptions, env: impl Fn(&str) -> Option<String>) -> Context {
        let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
        let config_path = options
            .config
            .or_else(|| non_empty("MOXCONF").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
        let dns_server = options.dns_server.or_else(|| non_empty("MOX_DNS_SERVER"));
        Context {
            config_path,
            dns_server,
            resolver: OnceLock::new(),
            stdout: Output::Process,
            stdin: Input::Process,
        }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("config_path", &self.config_path)
            .field("dns_server", &self.dns_server)
            .field("resolver_built", &self.resolver.get().is_some())
            .field("stdout", &self.stdout)
            .field("stdin", &self.stdin)
            .finish()
    }
}

#[derive(Debug)]
enum Output {
    Process,
    #[cfg_attr(not(test), allow(dead_code, reason = "only tests capture output"))]
    Captured(Arc<Mutex<Vec<u8>>>),
}

enum OutputLock<'a> {
    Process(io::StdoutLock<'static>),
    Captured(MutexGuard<'a, Vec<u8>>),
}

impl Write for OutputLock<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            OutputLock::Process(out) => out.write(buf).map_err(mark_stdout_closed),
            OutputLock::Captured(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            OutputLock::Process(out) => out.flush().map_err(mark_stdout_closed),
            OutputLock::Captured(out) => out.flush(),
        }
    }
}

/// Whether `err` comes from writing to a standard output whose reader has gone (`mox ... |
/// head`), as opposed to a broken pipe elsewhere (a network peer), which is a real failure.
pub(crate) fn is_stdout_closed(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .and_then(|e| e.get_ref())
            .is_some_and(|inner| inner.is::<StdoutClosed>())
    })
}

/// The mark [`is_stdout_closed`] looks for.
#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output closed")
    }
}

impl std::error::Error for StdoutClosed {}

fn mark_stdout_closed(err: io::Error) -> io::Error {
    if err.kind() == io::ErrorKind::BrokenPipe {
        io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed)
    } else {
        err
    }
}

#[derive(Debug)]
enum Input {
    Process,
    #[cfg_attr(not(test), allow(dead_code, reason = "only tests give input"))]
    Given(Vec<u8>),
}

/// Locks a capture buffer; a panic elsewhere while holding it leaves bytes that are still
/// worth reading, so poisoning is ignored.
fn lock(buffer: &Mutex<Vec<u8>>) -> MutexGuard<'_, Vec<u8>> {
    buffer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(options: GlobalOptions, env: &[(&str, &str)]) -> Context {
        let env: Vec<(String, String)> =
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Context::from_parts(options, move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn only_a_closed_stdout_counts_as_closed() {
        let closed = anyhow::Error::new(mark_stdout_closed(io::ErrorKind::BrokenPipe.into()))
            .context("printing");
        assert!(is_stdout_closed(&closed));
        let peer = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(!is_stdout_closed(&peer));
        let other = anyhow::Error::new(mark_stdout_closed(io::ErrorKind::WriteZero.into()));
        assert!(!is_stdout_closed(&other));
    }

    #[test]
    fn config_path_flag_then_env_then_default() {
        let flag = GlobalOptions { config: Some("/etc/mox/mox.conf".into()), ..Default::default() };
        let ctx = context(flag.clone(), &[("MOXCONF", "/env/mox.conf")]);
        assert_eq!(ctx.config_path(), Path::new("/etc/mox/mox.conf"));
        assert_eq!(ctx.domains_config_path(), Path::new("/etc/mox/domains.conf"));

        let ctx = context(GlobalOptions::default(), &[("MOXCONF", "/env/mox.conf")]);
        assert_eq!(ctx.config_path(), Path::new("/env/mox.conf"));

        // mox treats an empty MOXCONF as unset.
        let ctx = context(GlobalOptions::default(), &[("MOXCONF", "")]);
        assert_eq!(ctx.config_path(), Path::new(DEFAULT_CONFIG));
        assert_eq!(ctx.domains_config_path(), Path::new("config/domains.conf"));
    }

    #[test]
    fn dns_server_flag_then_env() {
        let flag =
            GlobalOptions { dns_server: Some("192.0.2.1".to_string()), ..Default::default() };
        assert_eq!(
            context(flag, &[("MOX_DNS_SERVER", "192.0.2.2")]).dns_server(),
            Some("192.0.2.1")
        );
        let ctx = context(GlobalOptions::default(), &[("MOX_DNS_SERVER", "192.0.2.2")]);
        assert_eq!(ctx.dns_server(), Some("192.0.2.2"));
        assert_eq!(context(GlobalOptions::default(), &[("MOX_DNS_SERVER", "")]).dns_server(), None);
    }

    #[tokio::test]
    async fn resolver_rejects_a_bad_dns_server_in_one_line() {
        let options = GlobalOptions { dns_server: Some("junk".to_string()), ..Default::default() };
        let ctx = context(options, &[]);
        let message = format!("{:#}", ctx.resolver().err().expect("junk must be rejected"));
        assert!(message.starts_with("--dns-server (or MOX_DNS_SERVER): "), "{message}");
        assert!(message.contains("\"junk\""), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }

    #[tokio::test]
    async fn resolver_is_built_once_for_a_good_dns_server() {
        let options =
            GlobalOptions { dns_server: Some("127.0.0.1:5353".to_string()), ..Default::default() };
        let ctx = context(options, &[]);
        let first = ctx.resolver().expect("valid server");
        let second = ctx.resolver().expect("valid server");
        assert!(Arc::ptr_eq(&first, &second));
    }

    #[tokio::test]
    async fn resolver_sends_queries_to_the_given_server() {
        let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let address = server.local_addr().expect("address").to_string();
        let ctx = context(GlobalOptions { dns_server: Some(address), ..Default::default() }, &[]);
        let resolver = ctx.resolver().expect("valid server");
        let lookup = tokio::spawn(async move {
            let name = dns::Domain::parse("example.com").expect("domain");
            resolver.lookup_txt(&name).await
        });
        let mut query = [0u8; 512];
        let received =
            tokio::time::timeout(std::time::Duration::from_secs(10), server.recv_from(&mut query))
                .await
                .expect("a query within 10s")
                .expect("receive");
        lookup.abort();
        let query = &query[..received.0];
        // The question names example.com, in DNS wire format.
        assert!(query.windows(13).any(|w| w == b"\x07example\x03com\x00"), "{query:?}");
    }

    #[tokio::test]
    async fn test_context_uses_the_given_resolver_and_captures_io() {
        let zone = dns::MockResolver::from_zone("example.com TXT \"v=spf1 -all\"").expect("zone");
        let (ctx, printed) =
            Context::for_test(GlobalOptions::default(), Some(Arc::new(zone)), b"input");
        let resolver = ctx.resolver().expect("given resolver");
        let domain = dns::Domain::parse("example.com").expect("domain");
        let txt = resolver.lookup_txt(&domain).await.expect("lookup");
        assert_eq!(txt.records, ["v=spf1 -all"]);
        assert_eq!(ctx.read_stdin().expect("stdin"), b"input");
        write!(ctx.stdout(), "out").expect("write");
        assert_eq!(*lock(&printed), b"out");
    }
}
