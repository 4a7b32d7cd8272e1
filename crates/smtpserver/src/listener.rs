//! The SMTP services of a mox.conf listener: the session settings mox derives from the
//! listener's `SMTP`, `Submission` and `Submissions` sections, and a starter for `mox serve`.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::limits::Limits;
use crate::mailer::Mailer;
use crate::server::{ConnectionIds, ListenerSetup, serve};
use crate::session::{Service, SessionConfig};

/// mox's default largest message (`SMTPMaxMessageSize`): 100 MB.
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 100 * 1024 * 1024;

/// mox's default `FirstTimeSenderDelay`.
pub const DEFAULT_FIRST_TIME_SENDER_DELAY: Duration = Duration::from_secs(15);

/// The port of a service of a listener (mox's defaults: 25, 587, 465), if it is enabled.
pub fn service_port(listener: &config::Listener, service: Service) -> Option<u16> {
    match service {
        Service::Smtp => listener.smtp.enabled.then(|| listener.smtp.port.unwrap_or(25)),
        Service::Submission => {
            listener.submission.enabled.then(|| listener.submission.port.unwrap_or(587))
        }
        Service::Submissions => {
            listener.submissions.enabled.then(|| listener.submissions.port.unwrap_or(465))
        }
    }
}

/// The session settings for `service` on listener `name`, as mox sets them up; `None` when the
/// listener does not exist or the service is not enabled on it. `tls` says whether the listener
/// has a TLS configuration (STARTTLS is offered only then).
pub fn session_config(
    config: &config::Config,
    name: &str,
    service: Service,
    tls: bool,
) -> Option<SessionConfig> {
    let listener = config.static_.listeners.get(name)?;
    service_port(listener, service)?;
    let hostname = listener.hostname_domain.clone().unwrap_or_else(|| config.hostname().clone());
    let mut c = SessionConfig::new(service, hostname, tls);
    c.max_message_size = listener
        .smtp_max_message_size
        .and_then(|n| u64::try_from(n).ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_MAX_MESSAGE_SIZE);
    match service {
        Service::Smtp => {
            c.starttls = tls && !listener.smtp.no_starttls;
            c.require_tls_for_delivery = listener.smtp.require_starttls;
            c.requiretls = !listener.smtp.no_require_tls;
            c.dnsbl_zones = listener.smtp.dnsbl_zones.clone();
            c.first_time_sender_delay =
                listener.smtp.first_time_sender_delay.unwrap_or(DEFAULT_FIRST_TIME_SENDER_DELAY);
        }
        Service::Submission => {
            c.require_tls_for_auth = !listener.submission.no_require_starttls;
            c.require_tls_for_delivery = !listener.submission.no_require_starttls;
        }
        Service::Submissions => {}
    }
    Some(c)
}

/// Serves `service` of listener `name` on `tcp` until `shutdown`: what `mox serve` registers
/// for SMTP, Submission and Submissions. Returns at once if the service is not enabled there.
#[allow(clippy::too_many_arguments)]
pub async fn serve_service(
    mailer: Arc<Mailer>,
    config: &config::Config,
    name: &str,
    service: Service,
    tcp: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Arc<Limits>,
    connections: Option<Arc<runtime::ConnectionLimiter>>,
    ids: Arc<ConnectionIds>,
    shutdown: runtime::Shutdown,
) {
    let Some(session) = session_config(config, name, service, tls.is_some()) else {
        return;
    };
    if service == Service::Submissions && tls.is_none() {
        tracing::error!(listener = name, "submissions needs a TLS configuration; not serving");
        return;
    }
    let setup = ListenerSetup { config: Arc::new(session), tls, limits, connections, ids };
    tracing::info!(listener = name, service = service.name(), addr = ?tcp.local_addr().ok(), "listening for smtp");
    serve(tcp, setup, mailer, shutdown).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_mox_conf() {
        let config = config::testing::example_config();
        let c = session_config(&config, "public", Service::Smtp, true).unwrap();
        assert_eq!(c.hostname.ascii(), "mail.example.com");
        assert!(!c.starttls, "NoSTARTTLS is set");
        assert_eq!(c.max_message_size, DEFAULT_MAX_MESSAGE_SIZE);
        assert_eq!(c.first_time_sender_delay, DEFAULT_FIRST_TIME_SENDER_DELAY);
        assert!(session_config(&config, "public", Service::Submission, true).is_none());
        assert!(session_config(&config, "nonexistent", Service::Smtp, true).is_none());
    }
}
