//! IMAP and IMAPS in `mox serve`: the imapserver crate's driver on the listener's socket, with
//! logins and accounts from the runtime (login by email address as configured in
//! domains.conf, failed-login limits shared with SMTP, quotas from the configuration), and the
//! runtime's stop signal and connection tracking.

use std::sync::Arc;

use imapserver::server::{ListenerConfig, serve_with};
use imapserver::session::{Authenticator, LoginLimiter, OpenError};
use runtime::Runtime;

use super::services::{ServiceFuture, ServiceSocket};

/// The starter of the `IMAP` service (STARTTLS when the listener has TLS).
pub(crate) fn start_imap(rt: Arc<Runtime>, socket: ServiceSocket) -> ServiceFuture {
    Box::pin(run(rt, socket, false))
}

/// The starter of the `IMAPS` service (TLS from the first byte).
pub(crate) fn start_imaps(rt: Arc<Runtime>, socket: ServiceSocket) -> ServiceFuture {
    Box::pin(run(rt, socket, true))
}

/// Logins through the runtime: the email address names the account (domains.conf), the
/// account's stored credentials check the password.
struct RuntimeLogins(Arc<Runtime>);

impl Authenticator for RuntimeLogins {
    fn credentials(&self, username: &str) -> Option<(String, sasl::StoredCredentials)> {
        match self.0.login(username) {
            Ok(login) => login.map(|l| (l.account, l.credentials)),
            Err(e) => {
                tracing::error!(error = %e, "looking up login credentials");
                None
            }
        }
    }

    fn open_account(&self, account: &str) -> Result<store::Account, OpenError> {
        let acc = self.0.accounts().open(account)?;
        // The quota: the account's own, else the global default (mox: a negative account
        // value means no limit, zero means the default applies).
        let config = self.0.config();
        let own = config.account(account).and_then(|a| a.quota_message_size).unwrap_or(0);
        let global = config.static_.quota_message_size.unwrap_or(0);
        let quota = match own {
            q if q > 0 => Some(q as u64),
            q if q < 0 => None,
            _ if global > 0 => Some(global as u64),
            _ => None,
        };
        acc.set_quota(quota);
        Ok(acc)
    }

    /// The account's AutomaticJunkFlags and JunkFilter from domains.conf, with the same
    /// filter the SMTP server classifies with (filters are shared within the process).
    fn junk(&self, account: &str, opened: &store::Account) -> Option<junk::AccountJunk> {
        let config = self.0.config();
        let acc_conf = config.account(account)?;
        let rules = match smtpserver::config_directory::automatic_junk_flags(acc_conf).compile() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(account, error = %e, "AutomaticJunkFlags");
                return None;
            }
        };
        let filter = match smtpserver::config_directory::junk_filter(acc_conf) {
            None => None,
            Some(jf) => {
                let dir = junk::Filter::dir_for_account(opened.dir());
                match junk::Filter::open(&dir, &jf.params) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        tracing::error!(account, error = %e, "opening junk filter");
                        None
                    }
                }
            }
        };
        Some(junk::AccountJunk { rules, filter })
    }
}

/// The runtime's failed-login accounting, shared with SMTP.
struct RuntimeLimiter(Arc<Runtime>);

impl LoginLimiter for RuntimeLimiter {
    fn allowed(&self, ip: std::net::IpAddr) -> bool {
        self.0.auth_limiter().check(ip).is_ok()
    }

    fn failed(&self, ip: std::net::IpAddr) -> std::time::Duration {
        self.0.auth_limiter().failed(ip)
    }

    fn succeeded(&self, ip: std::net::IpAddr) {
        self.0.auth_limiter().succeeded(ip)
    }
}

async fn run(rt: Arc<Runtime>, socket: ServiceSocket, implicit_tls: bool) {
    let config = rt.config();
    let Some(listener_conf) = config.static_.listeners.get(&socket.listener_name) else {
        tracing::error!(listener = %socket.listener_name, "listener vanished from the configuration");
        return;
    };
    let hostname = listener_conf
        .hostname
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| config.static_.hostname.clone());
    let session = Arc::new(imapserver::Config {
        hostname,
        authenticator: Arc::new(RuntimeLogins(rt.clone())),
        login_limiter: Arc::new(RuntimeLimiter(rt.clone())),
        limits: Default::default(),
        append_limit: None,
        // mox's IMAP.NoRequireSTARTTLS: allow LOGIN and PLAIN before STARTTLS.
        allow_plaintext_auth: !implicit_tls && listener_conf.imap.no_require_starttls,
    });
    let mut listener_config = ListenerConfig::new(session, socket.tls.clone(), implicit_tls);
    listener_config.connection_id = || runtime::ConnectionId::next().0;
    let listener = match socket
        .listener
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpListener::from_std(socket.listener))
    {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "IMAP listener");
            return;
        }
    };
    // The runtime's stop signal as the driver's watch channel; connections run as the
    // runtime's tracked connections, so the drain on stop waits for them (each says BYE).
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = rt.clone();
    tokio::spawn(async move {
        stop.shutdown().wait().await;
        let _ = tx.send(true);
    });
    let tracker = rt.clone();
    serve_with(listener, Arc::new(listener_config), rx, move |conn| {
        tracker.shutdown().spawn_connection(conn);
    })
    .await;
}
