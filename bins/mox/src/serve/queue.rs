//! The outgoing queue in `mox serve`: opened under `<datadir>/queue` with the settings of
//! mox.conf and domains.conf (transports, routes, the listener IPs to send from, `TLS.CA`),
//! installed as the runtime's [`runtime::Outgoing`] before the listeners start (so submission
//! can queue from its first connection), delivering until the server stops, with its settings
//! replaced whenever the configuration changes (a domains.conf edit, a `mox config` change).
//!
//! Messages the queue holds for our own domains (DSNs to local senders, mostly) go into the
//! store through [`RuntimeDelivery`], with recipients resolved as the SMTP server resolves them.
//!
//! `mox localserve` has no queue: its submission delivers every recipient to the local account,
//! as mox's localserve does, and nothing leaves the machine.

use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::Context as _;
use runtime::Runtime;

/// How often the configuration in effect is compared with the one the queue's settings came
/// from. A pointer comparison: the runtime replaces the configuration as a whole.
const SETTINGS_POLL: Duration = Duration::from_secs(1);

/// Opens the queue of the data directory and installs it as the runtime's outgoing queue.
pub(crate) fn open(rt: &Arc<Runtime>) -> anyhow::Result<queue::Queue> {
    let config = rt.config();
    let dir = config.data_dir.join("queue");
    let settings = queue::Settings::from_config(&config).context("queue settings")?;
    let roots = queue::pkix_roots(&config).context("queue TLS roots")?;
    let queue = queue::Queue::builder(&dir, settings)
        .resolver(rt.resolver().clone())
        .pkix_roots(roots)
        .local_delivery(Arc::new(RuntimeDelivery { rt: Arc::downgrade(rt) }))
        .open()
        .with_context(|| format!("opening queue {}", dir.display()))?;
    rt.set_outgoing(Arc::new(queue.clone()));
    tracing::info!(dir = %dir.display(), entries = queue.len().unwrap_or(0), "queue opened");
    Ok(queue)
}

/// Delivers from the queue until the server stops, following configuration changes.
pub(crate) async fn run(rt: Arc<Runtime>, queue: queue::Queue) {
    let follow = tokio::spawn(follow_settings(rt.clone(), queue.clone()));
    let stop = rt.clone();
    queue.run(async move { stop.shutdown().wait().await }).await;
    follow.abort();
    tracing::info!("queue stopped");
}

/// Replaces the queue's settings when the runtime's configuration is replaced.
async fn follow_settings(rt: Arc<Runtime>, queue: queue::Queue) {
    let mut current = rt.config();
    loop {
        tokio::time::sleep(SETTINGS_POLL).await;
        let now = rt.config();
        if Arc::ptr_eq(&now, &current) {
            continue;
        }
        current = now;
        match queue::Settings::from_config(&current) {
            Ok(settings) => {
                queue.set_settings(settings);
                tracing::info!("queue settings updated from the new configuration");
            }
            Err(e) => {
                tracing::error!(error = %e, "new configuration unusable for the queue; keeping its previous settings");
            }
        }
    }
}

/// The queue's deliveries to our own accounts: recipients resolved through domains.conf
/// (localpart rules, catchalls, aliases), into the destination's mailbox, durably.
#[derive(Debug)]
struct RuntimeDelivery {
    rt: Weak<Runtime>,
}

impl RuntimeDelivery {
    fn runtime(&self) -> Result<Arc<Runtime>, queue::LocalDeliveryError> {
        self.rt.upgrade().ok_or_else(|| queue::LocalDeliveryError::temporary("server stopping"))
    }

    async fn store(
        &self,
        account: String,
        mailbox: String,
        message: &[u8],
    ) -> Result<(), queue::LocalDeliveryError> {
        let rt = self.runtime()?;
        let data = message.to_vec();
        let name = account.clone();
        let result = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let acc = rt.accounts().open(&name)?;
            if !mailbox.eq_ignore_ascii_case("inbox") {
                acc.ensure_mailbox(&mailbox)?;
            }
            acc.deliver_bytes(&mailbox, &data, store::NewMessage::default())?;
            Ok(())
        })
        .await
        .map_err(|e| queue::LocalDeliveryError::temporary(format!("delivery task: {e}")))?;
        result.map_err(|e| {
            queue::LocalDeliveryError::temporary(format!("delivering to account {account}: {e}"))
        })
    }
}

#[async_trait::async_trait]
impl queue::LocalDelivery for RuntimeDelivery {
    fn is_local_domain(&self, domain: &dns::Domain) -> bool {
        self.rt.upgrade().is_some_and(|rt| rt.config().domain(domain).is_some())
    }

    async fn deliver(
        &self,
        recipient: &message::Address,
        message: &[u8],
    ) -> Result<(), queue::LocalDeliveryError> {
        let config = self.runtime()?.config();
        let targets: Vec<(String, String)> = match config.lookup_recipient(recipient) {
            Ok(config::Recipient::Account { account, destination, .. }) => {
                vec![(account.to_string(), mailbox_of(destination))]
            }
            Ok(config::Recipient::Alias { alias, .. }) => alias
                .parsed_addresses
                .iter()
                .map(|m| (m.account_name.clone(), mailbox_of(&m.destination)))
                .collect(),
            Err(config::LookupError::DomainDisabled) => {
                return Err(queue::LocalDeliveryError::temporary(format!(
                    "domain of {recipient} is temporarily disabled"
                )));
            }
            Err(_) => {
                return Err(queue::LocalDeliveryError::permanent(format!(
                    "no such user: {recipient}"
                )));
            }
        };
        for (account, mailbox) in targets {
            self.store(account, mailbox, message).await?;
        }
        Ok(())
    }

    async fn deliver_to_account(
        &self,
        account: &str,
        message: &[u8],
    ) -> Result<(), queue::LocalDeliveryError> {
        self.store(account.to_string(), "Inbox".to_string(), message).await
    }
}

fn mailbox_of(destination: &config::Destination) -> String {
    destination.mailbox.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| "Inbox".to_string())
}
