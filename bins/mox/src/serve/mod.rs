//! `mox serve` and `mox localserve`: load the configuration, take the data directory, bind
//! every enabled service of every listener, drop root, run the services and the control
//! socket, follow domains.conf, and stop in order (3 seconds for connections in progress).

pub(crate) mod ctl_handler;
pub(crate) mod ctl_server;
pub(crate) mod imap;
pub(crate) mod listen;
pub(crate) mod lock;
pub(crate) mod permissions;
pub(crate) mod privileges;
pub(crate) mod queue;
pub(crate) mod reload;
pub(crate) mod services;
pub(crate) mod smtp;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use runtime::{Mode, Runtime, RuntimeOptions, Shutdown};

use crate::logging;
use services::{BACKGROUND, SERVICES, ServiceSocket};

/// How long connections in progress get to finish after the stop signal.
pub(crate) const DRAIN_GRACE: Duration = Duration::from_secs(3);

/// What to serve.
pub(crate) struct ServeOptions {
    /// mox.conf (domains.conf is beside it).
    pub(crate) config_path: PathBuf,
    /// Serve or localserve.
    pub(crate) mode: Mode,
    /// For every lookup.
    pub(crate) resolver: Arc<dyn dns::Resolver>,
    /// Whether to continue as mox.conf's User when started as root (not for localserve,
    /// which runs as whoever starts it).
    pub(crate) drop_privileges: bool,
    /// Called once everything listens, before serving (localserve prints how to connect).
    pub(crate) on_ready: Option<OnReady>,
}

/// See [`ServeOptions::on_ready`].
pub(crate) type OnReady = Box<dyn FnOnce(&config::Config) + Send>;

/// TLS configurations by listener name.
type ListenerTls = HashMap<String, Arc<rustls::ServerConfig>>;

/// A service bound to an address, not yet running.
struct Bound {
    service: services::Service,
    listener_name: String,
    addr: std::net::SocketAddr,
    socket: std::net::TcpListener,
}

/// Runs the server until SIGINT, SIGTERM or `mox stop`; returns once stopped.
pub(crate) async fn serve(options: ServeOptions) -> anyhow::Result<()> {
    let config = config::load(&options.config_path).map_err(|errors| {
        for e in errors.errors() {
            tracing::error!("{e}");
        }
        anyhow::anyhow!(
            "{} error(s) in the configuration, see above (or run \"mox config test\")",
            errors.errors().len()
        )
    })?;
    if !logging::given_on_command_line() {
        logging::set_spec(logging::spec_from_config(&config.static_)?)?;
    }
    let mut config = config;
    // "DataDir: ." names mox.conf's directory: say so without the dot in logs and messages.
    config.data_dir =
        config.data_dir.components().filter(|c| *c != std::path::Component::CurDir).collect();
    let config = Arc::new(config);

    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let run_as = if options.drop_privileges && privileges::is_root() {
        let (uid, gid) = config.static_.user_ids().map_err(|e| anyhow::anyhow!("{e}"))?;
        if !config.static_.no_fix_permissions {
            let config_dir = config.static_path.parent().filter(|d| !d.as_os_str().is_empty());
            for dir in config_dir.into_iter().chain([config.data_dir.as_path()]) {
                permissions::fix_dir(dir, uid);
            }
        }
        Some(privileges::RunAs {
            uid: nix::unistd::Uid::from_raw(uid),
            gid: nix::unistd::Gid::from_raw(gid),
        })
    } else {
        None
    };
    let _lock = lock::DataDirLock::acquire(&config.data_dir)?;

    let (bound, tls) = bind_listeners(&config, options.mode)?;

    if let Some(run_as) = run_as {
        privileges::drop_to(run_as)?;
        tracing::info!(uid = %run_as.uid, gid = %run_as.gid, "dropped root privileges after binding");
    }

    let shutdown = Shutdown::new();
    let rt = Arc::new(Runtime::new(RuntimeOptions {
        config: config.clone(),
        resolver: options.resolver.clone(),
        shutdown: shutdown.clone(),
        mode: options.mode,
        tls,
        auth_limiter: None,
        derive_params: None,
    }));

    // The queue before the listeners, so submission can queue from its first connection.
    // localserve has none: nothing leaves the machine (its submission delivers locally).
    let outgoing = match options.mode {
        Mode::Serve => Some(queue::open(&rt)?),
        Mode::Localserve => None,
    };

    // The control socket last: a second server that fails to bind must not take over the
    // socket of the running one (the data directory lock also prevents that).
    let ctl = ctl_server::CtlListener::bind(&config.data_dir)?;
    let stopped = tokio::sync::watch::channel(false);
    let mut handler = ctl_handler::CtlHandler::new(rt.clone(), stopped.1.clone());
    if let Some(q) = &outgoing {
        handler = handler.with_queue(q.clone());
    }
    let handler = Arc::new(handler);

    let mut tasks = tokio::task::JoinSet::new();
    for b in bound {
        let Some(start) = b.service.start else { continue };
        tracing::info!(
            listener = %b.listener_name, service = b.service.name, addr = %b.addr, "listening"
        );
        let socket = ServiceSocket {
            tls: rt.listener_tls(&b.listener_name),
            listener_name: b.listener_name,
            listener: b.socket,
        };
        tasks.spawn(start(rt.clone(), socket));
    }
    for bg in BACKGROUND {
        tracing::info!(service = bg.name, "starting");
        tasks.spawn((bg.start)(rt.clone()));
    }
    // Apart from the other tasks: deliveries in progress at the stop get the drain period to
    // finish, so a message the remote server accepted is marked delivered, not sent again.
    let queue_task = outgoing.map(|q| tokio::spawn(queue::run(rt.clone(), q)));
    let ctl_connections = tokio_util::task::TaskTracker::new();
    tasks.spawn(ctl.serve(handler, shutdown.clone(), ctl_connections.clone()));
    tasks.spawn(reload::follow_domains_conf(rt.clone()));

    log_not_in_effect(&config, options.mode);
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        data_dir = %config.data_dir.display(),
        "ready to serve"
    );
    if let Some(on_ready) = options.on_ready {
        on_ready(&config);
    }

    wait_for_stop(&shutdown).await;
    tracing::info!(grace = ?DRAIN_GRACE, "shutting down, waiting for connections in progress");
    shutdown.trigger();
    let left = shutdown.drain(DRAIN_GRACE).await;
    if left > 0 {
        tracing::warn!(connections = left, "stopping with connections still open");
    } else {
        tracing::info!("all connections closed");
    }
    // Listeners and background services watch the signal; give them a moment to return.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    if let Some(mut task) = queue_task
        && tokio::time::timeout(DRAIN_GRACE, &mut task).await.is_err()
    {
        tracing::warn!(
            "stopping with queue deliveries still in progress; they are retried at the next start"
        );
        task.abort();
    }
    let _ = stopped.0.send(true);
    // Let control requests (a `stop` waiting for this moment) send their answer.
    ctl_connections.close();
    let _ = tokio::time::timeout(Duration::from_secs(1), ctl_connections.wait()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Binds every enabled service that has a server, and builds each listener's TLS
/// configuration. Services without a server yet, and TLS through ACME, are logged as not yet
/// in effect (an implicit-TLS service on an ACME-only listener stays closed); a service that
/// needs TLS on a listener without any TLS configuration is an error, as in mox.
fn bind_listeners(
    config: &config::Config,
    mode: Mode,
) -> anyhow::Result<(Vec<Bound>, ListenerTls)> {
    let mut bound = Vec::new();
    let mut tls = HashMap::new();
    let mut not_served = Vec::new();
    for (name, listener) in &config.static_.listeners {
        if let Some(t) = &listener.tls {
            if t.acme.is_some() {
                tracing::warn!(
                    listener = %name,
                    "TLS.ACME is not yet in effect in mox-rs: configure TLS.KeyCerts for this listener"
                );
            }
            if !t.key_certs.is_empty() {
                let pairs: Vec<runtime::tls::KeyCert> = t
                    .key_certs
                    .iter()
                    .map(|kc| runtime::tls::KeyCert {
                        cert_file: config.config_dir_path(&kc.cert_file),
                        key_file: config.config_dir_path(&kc.key_file),
                    })
                    .collect();
                let min = match t.min_version_effective {
                    config::TlsVersion::Tls13 => runtime::tls::MinVersion::Tls13,
                    _ => runtime::tls::MinVersion::Tls12,
                };
                let server_config = runtime::tls::server_config(&pairs, min)
                    .with_context(|| format!("TLS for listener {name}"))?;
                tls.insert(name.clone(), server_config);
            }
        }
        let ips: Vec<IpAddr> = listener.ip_addrs.clone();
        for service in SERVICES {
            let Some(port) = (service.port)(listener) else { continue };
            if service.start.is_none() {
                // localserve enables every service mox has; one line is enough there.
                if mode == Mode::Localserve {
                    not_served.push(format!("{}:{port}", service.name));
                } else {
                    tracing::warn!(
                        listener = %name, service = service.name, port,
                        "not yet in effect in mox-rs: this service is not served, its port stays closed"
                    );
                }
                continue;
            }
            if service.implicit_tls && !tls.contains_key(name) {
                // ACME is parsed but not yet in effect: a listener relying on it still serves
                // what works without a certificate (port 25, and the STARTTLS services, which
                // then refuse logins: no AUTH or LOGIN without TLS), and says which ports stay
                // closed, instead of failing to start.
                if listener.tls.as_ref().is_some_and(|t| t.acme.is_some()) {
                    tracing::warn!(
                        listener = %name, service = service.name, port,
                        "needs a certificate, and TLS.ACME is not yet in effect in mox-rs: this service is not served, its port stays closed; configure TLS.KeyCerts"
                    );
                    continue;
                }
                anyhow::bail!(
                    "listener {name}: {} needs TLS, but the listener has no TLS.KeyCerts",
                    service.name
                );
            }
            for ip in &ips {
                let socket = listen::bind_tcp(*ip, port)
                    .with_context(|| format!("listener {name} {}", service.name))?;
                let addr = socket.local_addr()?;
                bound.push(Bound { service: *service, listener_name: name.clone(), addr, socket });
            }
        }
    }
    if !not_served.is_empty() {
        tracing::info!(services = %not_served.join(" "), "not served by mox-rs yet, ports stay closed");
    }
    Ok((bound, tls))
}

/// Logs, once, each configured setting that mox-rs accepts but does not act on yet. Listener
/// services are left to the registry (see [`bind_listeners`]), which knows which are served.
fn log_not_in_effect(config: &config::Config, mode: Mode) {
    let is_service = |path: &str| {
        let mut parts = path.split('.');
        parts.next() == Some("Listeners")
            && parts.next().is_some()
            && parts.next().is_some_and(|s| SERVICES.iter().any(|svc| svc.name == s))
            && parts.next().is_none()
    };
    let settings: Vec<_> = config
        .not_in_effect()
        .into_iter()
        .filter(|s| !(s.file == "mox.conf" && is_service(&s.path)))
        .collect();
    if mode == Mode::Localserve {
        // Its generated configuration is mox's; one line is enough there.
        if !settings.is_empty() {
            let paths: Vec<&str> = settings.iter().map(|s| s.path.as_str()).collect();
            tracing::info!(settings = %paths.join(" "), "configured, but not yet in effect in mox-rs");
        }
        return;
    }
    for setting in settings {
        tracing::warn!(
            file = setting.file, setting = %setting.path, why = setting.why,
            "configured, but not yet in effect in mox-rs"
        );
    }
}

/// Resolves on SIGINT or SIGTERM, or when the stop signal was given (by `mox stop`).
async fn wait_for_stop(shutdown: &Shutdown) {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut int, mut term) =
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(i), Ok(t)) => (i, t),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot watch for signals; stop with \"mox stop\"");
                shutdown.wait().await;
                return;
            }
        };
    tokio::select! {
        _ = int.recv() => tracing::info!(signal = "SIGINT", "stop requested"),
        _ = term.recv() => tracing::info!(signal = "SIGTERM", "stop requested"),
        _ = shutdown.wait() => {}
    }
}
