//! A `mox serve` (or `mox localserve`) started by a test, on a real mox.conf/domains.conf with
//! free ports, and stopped by it: the basis of the servers' end-to-end tests.
//!
//! The configuration is the one `mox localserve -initonly` writes (account `mox@localhost`,
//! password `moxmoxmox`, a self-signed certificate for `localhost`, every service on), with
//! the ports replaced by free ones so tests can run side by side.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// How to run the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoxMode {
    /// `mox -config DIR/mox.conf serve` (as the current user; `nobody` when run as root).
    Serve,
    /// `mox localserve -dir DIR`.
    Localserve,
}

/// The ports of the services, as written into mox.conf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoxPorts {
    /// SMTP (localserve: 1025).
    pub smtp: u16,
    /// Submission with STARTTLS (1587).
    pub submission: u16,
    /// Submission over TLS (1465).
    pub submissions: u16,
    /// IMAP with STARTTLS (1143).
    pub imap: u16,
    /// IMAP over TLS (1993).
    pub imaps: u16,
}

/// How [`MoxServer::start_with`] starts the server, beyond [`MoxServer::start`].
#[derive(Debug, Clone, Default)]
pub struct MoxOptions {
    /// Given to the server as `--dns-server`: every lookup it makes (SPF, iprev, MX for the
    /// queue, ...) goes to this DNS server, e.g. a [`crate::DnsTestServer`].
    pub dns_server: Option<SocketAddr>,
    /// Called with the configuration directory once mox.conf and domains.conf are written,
    /// before the server starts: to add domains, accounts or settings.
    pub edit_config: Option<fn(&Path)>,
    /// Runs the server under strace (every process and thread) as this [`Strace`] says, for a
    /// durability check of what it acknowledged; [`MoxServer::trace`] reads the trace once
    /// the server has stopped. [`MoxServer::pid`] is then strace's.
    pub strace: Option<crate::Strace>,
}

/// A running mox.
#[derive(Debug)]
pub struct MoxServer {
    mox: PathBuf,
    child: Option<Child>,
    dns_server: Option<SocketAddr>,
    strace: Option<crate::Strace>,
    /// The configuration and data directory (DataDir is `.`).
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    /// The service ports.
    pub ports: MoxPorts,
    log_path: PathBuf,
}

impl MoxServer {
    /// Writes a configuration into a new temporary directory with `mox localserve -initonly`,
    /// with free ports, then starts the server and waits until it is ready.
    pub fn start(mox: &Path, mode: MoxMode) -> MoxServer {
        MoxServer::start_with(mox, mode, MoxOptions::default())
    }

    /// As [`MoxServer::start`], with a DNS server and configuration changes.
    pub fn start_with(mox: &Path, mode: MoxMode, options: MoxOptions) -> MoxServer {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let dir = tmp.path().join("mox");
        let ports = Self::init(mox, &dir, mode);
        if let Some(edit) = options.edit_config {
            edit(&dir);
        }
        let mut server = MoxServer {
            mox: mox.to_path_buf(),
            child: None,
            dns_server: options.dns_server,
            strace: options.strace,
            dir,
            _tmp: Some(tmp),
            ports,
            log_path: PathBuf::new(),
        };
        server.spawn(mode);
        server
    }

    /// Writes the configuration into `dir` (must not exist) and adapts it: free ports, and a
    /// `User` this process can serve as.
    pub fn init(mox: &Path, dir: &Path, mode: MoxMode) -> MoxPorts {
        let out = Command::new(mox)
            .args(["localserve", "-initonly", "-dir"])
            .arg(dir)
            .env_remove("MOX_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("running mox localserve -initonly");
        assert!(
            out.status.success(),
            "localserve -initonly: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Five different ports: separately chosen free ports can repeat.
        let free = crate::free_ports(5).expect("free ports");
        let ports = MoxPorts {
            smtp: free[0],
            submission: free[1],
            submissions: free[2],
            imap: free[3],
            imaps: free[4],
        };
        let conf = dir.join("mox.conf");
        let mut text = std::fs::read_to_string(&conf).expect("reading mox.conf");
        for (old, new) in [
            (1025, ports.smtp),
            (1587, ports.submission),
            (1465, ports.submissions),
            (1143, ports.imap),
            (1993, ports.imaps),
        ] {
            text = text.replace(&format!("Port: {old}\n"), &format!("Port: {new}\n"));
        }
        // Only 127.0.0.1: ::1 is not there in every sandbox.
        text = text.replace("\t\t\t- ::1\n", "");
        if mode == MoxMode::Serve && is_root() {
            // mox serve started as root continues as User; nobody must reach the directory.
            text = replace_line(&text, "User: ", "User: nobody");
            if let Some(parent) = dir.parent() {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod test directory");
            }
        }
        std::fs::write(&conf, text).expect("writing mox.conf");
        ports
    }

    fn spawn(&mut self, mode: MoxMode) {
        let log_path = self.dir.with_extension("log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut cmd = Command::new(&self.mox);
        if let Some(dns) = self.dns_server {
            cmd.arg("--dns-server").arg(dns.to_string());
        }
        match mode {
            MoxMode::Serve => cmd.arg("-config").arg(self.dir.join("mox.conf")).arg("serve"),
            MoxMode::Localserve => cmd.args(["localserve", "-dir"]).arg(&self.dir),
        };
        cmd.env("MOX_LOG", "debug");
        if let Some(strace) = &mut self.strace {
            cmd = strace.command(&cmd).expect("strace");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("starting mox");
        self.child = Some(child);
        self.log_path = log_path;
        self.wait_for_log("ready to serve", Duration::from_secs(20));
    }

    /// Starts the server again after [`MoxServer::stop`] (same directory and ports).
    pub fn restart(&mut self, mode: MoxMode) {
        assert!(self.child.is_none(), "still running");
        self.spawn(mode);
    }

    /// Runs `mox -config DIR/mox.conf ARGS` with `stdin`, e.g. a control command.
    pub fn mox(&self, args: &[&str], stdin: &[u8]) -> Output {
        use std::io::Write as _;
        let mut child = Command::new(&self.mox)
            .arg("-config")
            .arg(self.dir.join("mox.conf"))
            .args(args)
            .env_remove("MOX_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running mox");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin);
        }
        child.wait_with_output().expect("waiting for mox")
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits until the log contains `needle`; panics with the log after `timeout`, or when the
    /// server exits first.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            if self.log().contains(needle) {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("mox exited ({status}) before logging {needle:?}:\n{}", self.log());
            }
            if start.elapsed() > timeout {
                panic!("mox did not log {needle:?} within {timeout:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The system-call trace of a server started with [`MoxOptions::strace`], once it has
    /// stopped.
    pub fn trace(&self) -> crate::Trace {
        assert!(self.child.is_none(), "the server still runs: stop it first");
        let strace = self.strace.as_ref().expect("started without MoxOptions::strace");
        strace.trace().expect("reading the trace")
    }

    /// The process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits for the server to exit by itself (after a stop request or signal sent by the
    /// test); returns its status and how long that took.
    pub fn wait_exit(&mut self, timeout: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        let mut child = self.child.take().expect("running");
        loop {
            if let Some(status) = child.try_wait().expect("waiting for mox") {
                return (status, start.elapsed());
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                panic!("mox did not exit within {timeout:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server with `mox stop`; returns its exit status and how long `mox stop`
    /// took until the server had exited.
    pub fn stop(&mut self) -> (ExitStatus, Duration) {
        let start = Instant::now();
        let out = self.mox(&["stop"], b"");
        assert!(
            out.status.success(),
            "mox stop: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        let (status, _) = self.wait_exit(Duration::from_secs(10));
        (status, start.elapsed())
    }

    /// Kills the server at once (SIGKILL), as a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for MoxServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn is_root() -> bool {
    // The owner of a file we just created is our effective user.
    let probe = std::env::temp_dir().join(format!("mox-test-uid-{}", std::process::id()));
    let _ = std::fs::write(&probe, b"");
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&probe).expect("probe"));
    let _ = std::fs::remove_file(&probe);
    uid == 0
}

fn replace_line(text: &str, prefix: &str, with: &str) -> String {
    text.lines()
        .map(|l| if l.starts_with(prefix) { with } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
