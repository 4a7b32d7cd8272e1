//! The service registry: every service a listener in mox.conf can enable, and who serves it.
//!
//! A server crate plugs into `mox serve` by giving its entry a starter. Until a service has
//! one, enabling it is accepted and logged at startup as not yet in effect (its port is not
//! opened). Background services that listen on nothing (the queue, say) go in [`BACKGROUND`].
//!
//! # Adding a service
//!
//! Write `async fn start(rt: Arc<Runtime>, socket: ServiceSocket)` that accepts connections on
//! `socket.listener` until `rt.shutdown().wait()` resolves, running each connection with
//! `rt.shutdown().spawn_connection(...)` (so the drain on stop waits for it), then set
//! `start: Some(|rt, socket| Box::pin(yourcrate::start(rt, socket)))` on its entry.

use std::future::Future;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::Arc;

use runtime::Runtime;

/// A listening socket handed to a service.
#[derive(Debug)]
#[allow(dead_code, reason = "read by the services, as each registers its starter")]
pub(crate) struct ServiceSocket {
    /// The listener's name in mox.conf (`Listeners.<name>`); the service reads its own
    /// settings there.
    pub(crate) listener_name: String,
    /// The bound socket (non-blocking).
    pub(crate) listener: TcpListener,
    /// The listener's TLS configuration, if it has one. Services with implicit TLS are only
    /// started with one.
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
}

/// What a service runs until the server stops.
pub(crate) type ServiceFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A service's entry point.
pub(crate) type Starter = fn(Arc<Runtime>, ServiceSocket) -> ServiceFuture;

/// A service a listener can enable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Service {
    /// Its key in mox.conf's listener (`SMTP`, `IMAPS`, ...).
    pub(crate) name: &'static str,
    /// The port it listens on when enabled in `listener`.
    pub(crate) port: fn(&config::Listener) -> Option<u16>,
    /// Whether it speaks TLS from the first byte (so it cannot run without a TLS config).
    pub(crate) implicit_tls: bool,
    /// Who serves it; `None` while no crate does yet.
    pub(crate) start: Option<Starter>,
}

fn enabled(on: bool, port: Option<u16>, default: u16) -> Option<u16> {
    on.then(|| port.unwrap_or(default))
}

/// Every listener service of mox.conf, in mox's order.
pub(crate) const SERVICES: &[Service] = &[
    Service {
        name: "SMTP",
        port: |l| enabled(l.smtp.enabled, l.smtp.port, 25),
        implicit_tls: false,
        start: Some(super::smtp::start_smtp),
    },
    Service {
        name: "Submission",
        port: |l| enabled(l.submission.enabled, l.submission.port, 587),
        implicit_tls: false,
        start: Some(super::smtp::start_submission),
    },
    Service {
        name: "Submissions",
        port: |l| enabled(l.submissions.enabled, l.submissions.port, 465),
        implicit_tls: true,
        start: Some(super::smtp::start_submissions),
    },
    Service {
        name: "IMAP",
        port: |l| enabled(l.imap.enabled, l.imap.port, 143),
        implicit_tls: false,
        start: Some(super::imap::start_imap),
    },
    Service {
        name: "IMAPS",
        port: |l| enabled(l.imaps.enabled, l.imaps.port, 993),
        implicit_tls: true,
        start: Some(super::imap::start_imaps),
    },
    Service {
        name: "AccountHTTP",
        port: |l| enabled(l.account_http.enabled, l.account_http.port, 80),
        implicit_tls: false,
        start: None,
    },
    Service {
        name: "AccountHTTPS",
        port: |l| enabled(l.account_https.enabled, l.account_https.port, 443),
        implicit_tls: true,
        start: None,
    },
    Service {
        name: "AdminHTTP",
        port: |l| enabled(l.admin_http.enabled, l.admin_http.port, 80),
        implicit_tls: false,
        start: None,
    },
    Service {
        name: "AdminHTTPS",
        port: |l| enabled(l.admin_https.enabled, l.admin_https.port, 443),
        implicit_tls: true,
        start: None,
    },
    Service {
        name: "WebmailHTTP",
        port: |l| enabled(l.webmail_http.enabled, l.webmail_http.port, 80),
        implicit_tls: false,
        start: None,
    },
    Service {
        name: "WebmailHTTPS",
        port: |l| enabled(l.webmail_https.enabled, l.webmail_https.port, 443),
        implicit_tls: true,
        start: None,
    },
    Service {
        name: "WebAPIHTTP",
        port: |l| enabled(l.webapi_http.enabled, l.webapi_http.port, 80),
        implicit_tls: false,
        start: None,
    },
    Service {
        name: "WebAPIHTTPS",
        port: |l| enabled(l.webapi_https.enabled, l.webapi_https.port, 443),
        implicit_tls: true,
        start: None,
    },
    Service {
        name: "MetricsHTTP",
        port: |l| enabled(l.metrics_http.enabled, l.metrics_http.port, 8010),
        implicit_tls: false,
        start: None,
    },
    Service {
        name: "PprofHTTP",
        port: |l| enabled(l.pprof_http.enabled, l.pprof_http.port, 8011),
        implicit_tls: false,
        start: None,
    },
    Service {
        name: "AutoconfigHTTPS",
        port: |l| enabled(l.autoconfig_https.enabled, l.autoconfig_https.port, 443),
        implicit_tls: true,
        start: None,
    },
    Service {
        name: "MTASTSHTTPS",
        port: |l| enabled(l.mtasts_https.enabled, l.mtasts_https.port, 443),
        implicit_tls: true,
        start: None,
    },
    Service {
        name: "WebserverHTTP",
        port: |l| enabled(l.webserver_http.enabled, l.webserver_http.port, 80),
        implicit_tls: false,
        start: None,
    },
    Service {
        name: "WebserverHTTPS",
        port: |l| enabled(l.webserver_https.enabled, l.webserver_https.port, 443),
        implicit_tls: true,
        start: None,
    },
];

/// A service that runs once per server, not per listener.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Background {
    /// Its name, for logs.
    pub(crate) name: &'static str,
    /// Runs it until `rt.shutdown()` is triggered.
    pub(crate) start: fn(Arc<Runtime>) -> ServiceFuture,
}

/// The background services (the queue registers here).
pub(crate) const BACKGROUND: &[Background] = &[];
