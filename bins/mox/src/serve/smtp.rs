//! SMTP, Submission and Submissions in `mox serve` and `mox localserve`: the smtpserver
//! crate's listener on the service's socket, with recipients and logins from the runtime (the
//! configuration in effect at each lookup, so a domains.conf change applies to the next
//! command), the runtime's failed-login accounting (shared with IMAP), resolver, outgoing
//! queue, stop signal and connection tracking (so `mox stop` drains SMTP sessions too).
//!
//! All SMTP listeners of a server share one [`Mailer`]: its rate limits, DKIM key cache and
//! DNSBL health are per server, not per port.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use runtime::{Mode, Runtime};
use smtpserver::Mailer;
use smtpserver::Service;
use smtpserver::config_directory::ConfigDirectory;
use smtpserver::directory::{Directory, Lookup};
use smtpserver::limits::{LimitSettings, Limits};
use smtpserver::server::ConnectionIds;

use super::services::{ServiceFuture, ServiceSocket};

/// The starter of the `SMTP` service (incoming mail; STARTTLS when the listener has TLS).
pub(crate) fn start_smtp(rt: Arc<Runtime>, socket: ServiceSocket) -> ServiceFuture {
    Box::pin(run(rt, socket, Service::Smtp))
}

/// The starter of the `Submission` service (STARTTLS, then AUTH).
pub(crate) fn start_submission(rt: Arc<Runtime>, socket: ServiceSocket) -> ServiceFuture {
    Box::pin(run(rt, socket, Service::Submission))
}

/// The starter of the `Submissions` service (TLS from the first byte, then AUTH).
pub(crate) fn start_submissions(rt: Arc<Runtime>, socket: ServiceSocket) -> ServiceFuture {
    Box::pin(run(rt, socket, Service::Submissions))
}

/// What the SMTP listeners of one runtime share.
struct Shared {
    mailer: Arc<Mailer>,
    limits: Arc<Limits>,
    ids: Arc<ConnectionIds>,
}

/// The shared state of the runtime the listeners run for, made by the first listener to start.
/// Keyed by the runtime so a second server in the same process (tests) gets its own.
static SHARED: Mutex<Option<(Weak<Runtime>, Arc<Shared>)>> = Mutex::new(None);

fn shared(rt: &Arc<Runtime>) -> Arc<Shared> {
    let mut slot = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, shared)) = slot.as_ref()
        && owner.upgrade().is_some_and(|o| Arc::ptr_eq(&o, rt))
    {
        return shared.clone();
    }
    let made = Arc::new(make_shared(rt));
    *slot = Some((Arc::downgrade(rt), made.clone()));
    made
}

fn make_shared(rt: &Arc<Runtime>) -> Shared {
    let source = Arc::downgrade(rt);
    let initial = rt.config();
    // The configuration in effect at each lookup; the initial one if the runtime is gone
    // (only while the server shuts down).
    let config: smtpserver::config_directory::ConfigSource =
        Arc::new(move || source.upgrade().map_or_else(|| initial.clone(), |rt| rt.config()));
    let directory = Arc::new(ConfigDirectory::new(config, rt.shared_accounts()));
    let limits = Limits::new(LimitSettings::default());
    let mut mailer = Mailer::new(directory.clone(), rt.resolver().clone(), limits.clone())
        .with_auth_limiter(rt.shared_auth_limiter());
    if let Some(outgoing) = rt.outgoing() {
        mailer = mailer.with_outgoing(outgoing);
    }
    if rt.mode() == Mode::Localserve {
        match localserve_account(&*directory) {
            Some(fallback) => mailer = mailer.with_localserve(fallback),
            None => tracing::error!(
                address = crate::cmd::LOCALSERVE_ADDRESS,
                "localserve: the account address is not in domains.conf; unknown recipients are refused"
            ),
        }
    }
    // Received IDs under the installation's key, so `mox cid` turns them back into the logs'
    // cid (as mox); should the key file be unusable, a per-process key still hides the count.
    let ids = match runtime::received_id::ReceivedIdKey::load_or_create(&rt.config().data_dir) {
        Ok(key) => ConnectionIds::with_key(key),
        Err(e) => {
            tracing::error!(error = %e, "receivedid.key: received IDs cannot be turned into cids with mox cid");
            ConnectionIds::new()
        }
    };
    Shared { mailer: Arc::new(mailer), limits, ids: Arc::new(ids) }
}

/// localserve delivers unknown recipients to mox@localhost's account, as mox does.
fn localserve_account(directory: &dyn Directory) -> Option<smtpserver::directory::LocalRecipient> {
    let address = message::Address::parse(crate::cmd::LOCALSERVE_ADDRESS).ok()?;
    match directory.lookup(&address) {
        Lookup::Account(r) => Some(r),
        _ => None,
    }
}

async fn run(rt: Arc<Runtime>, socket: ServiceSocket, service: Service) {
    let shared = shared(&rt);
    let listener = match socket
        .listener
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpListener::from_std(socket.listener))
    {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, service = service.name(), "SMTP listener");
            return;
        }
    };
    let config = rt.config();
    smtpserver::listener::serve_service(
        shared.mailer.clone(),
        &config,
        &socket.listener_name,
        service,
        listener,
        socket.tls,
        shared.limits.clone(),
        None,
        shared.ids.clone(),
        rt.shutdown().clone(),
    )
    .await;
}
