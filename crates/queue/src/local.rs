//! Delivery to our own accounts: messages queued for a local domain, and DSNs for a local
//! sender, go into the store instead of over SMTP.
//!
//! The queue knows accounts only through [`LocalDelivery`]; the server implements it with its
//! account registry and address resolution (localpart rules, aliases). [`StoreDelivery`] is a
//! small implementation over the `store` crate with a fixed address table, for tools and tests.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use dns::Domain;
use message::Address;

/// Why a local delivery did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LocalDeliveryError {
    /// Retrying cannot help (no such address): the recipient fails and the sender gets a DSN.
    pub permanent: bool,
    /// What happened, for the log and the DSN.
    pub message: String,
}

impl LocalDeliveryError {
    /// A permanent failure.
    pub fn permanent(message: impl Into<String>) -> LocalDeliveryError {
        LocalDeliveryError { permanent: true, message: message.into() }
    }

    /// A temporary failure: retried on the queue's schedule.
    pub fn temporary(message: impl Into<String>) -> LocalDeliveryError {
        LocalDeliveryError { permanent: false, message: message.into() }
    }
}

/// Delivers to local accounts.
#[async_trait::async_trait]
pub trait LocalDelivery: Send + Sync + std::fmt::Debug {
    /// Whether mail for `domain` is delivered here rather than over SMTP.
    fn is_local_domain(&self, domain: &Domain) -> bool;

    /// Delivers `message` to the account of `recipient` (an address at a local domain),
    /// durably: when this returns `Ok`, the message is in the store.
    async fn deliver(&self, recipient: &Address, message: &[u8]) -> Result<(), LocalDeliveryError>;

    /// Delivers `message` (a DSN) to the account named `account`.
    async fn deliver_to_account(
        &self,
        account: &str,
        message: &[u8],
    ) -> Result<(), LocalDeliveryError>;
}

/// [`LocalDelivery`] into `store` accounts under a data directory, with addresses mapped to
/// account names by a table, into each account's Inbox. Accounts are opened once and kept.
#[derive(Debug)]
pub struct StoreDelivery {
    datadir: store::DataDir,
    domains: Vec<Domain>,
    addresses: HashMap<String, String>,
    open: Mutex<HashMap<String, Arc<store::Account>>>,
}

impl StoreDelivery {
    /// Delivers for `domains`, with `addresses` (address → account name; the localpart compared
    /// case-insensitively) under `datadir` (accounts in `<datadir>/accounts/<name>`).
    pub fn new(
        datadir: impl Into<PathBuf>,
        domains: Vec<Domain>,
        addresses: impl IntoIterator<Item = (Address, String)>,
    ) -> StoreDelivery {
        StoreDelivery {
            datadir: store::DataDir::new(datadir.into()),
            domains,
            addresses: addresses
                .into_iter()
                .map(|(a, account)| (address_key(&a), account))
                .collect(),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn account(&self, name: &str) -> Result<Arc<store::Account>, LocalDeliveryError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(account) = open.get(name) {
            return Ok(account.clone());
        }
        let dir = self
            .datadir
            .account_dir(name)
            .map_err(|e| LocalDeliveryError::permanent(format!("account {name}: {e}")))?;
        let account = store::Account::open_or_create(&dir)
            .map_err(|e| LocalDeliveryError::temporary(format!("opening account {name}: {e}")))?;
        let account = Arc::new(account);
        open.insert(name.to_string(), account.clone());
        Ok(account)
    }

    async fn deliver_account(&self, name: &str, message: &[u8]) -> Result<(), LocalDeliveryError> {
        let account = self.account(name)?;
        let data = message.to_vec();
        let new = store::NewMessage::default();
        let result =
            tokio::task::spawn_blocking(move || account.deliver_bytes("Inbox", &data, new))
                .await
                .map_err(|e| LocalDeliveryError::temporary(format!("delivery task: {e}")))?;
        result.map(|_| ()).map_err(|e| {
            LocalDeliveryError::temporary(format!("delivering to account {name}: {e}"))
        })
    }
}

fn address_key(address: &Address) -> String {
    format!("{}@{}", address.localpart.as_str().to_lowercase(), address.domain.ascii())
}

#[async_trait::async_trait]
impl LocalDelivery for StoreDelivery {
    fn is_local_domain(&self, domain: &Domain) -> bool {
        self.domains.contains(domain)
    }

    async fn deliver(&self, recipient: &Address, message: &[u8]) -> Result<(), LocalDeliveryError> {
        let Some(account) = self.addresses.get(&address_key(recipient)) else {
            return Err(LocalDeliveryError::permanent(format!("no such user: {recipient}")));
        };
        self.deliver_account(account, message).await
    }

    async fn deliver_to_account(
        &self,
        account: &str,
        message: &[u8],
    ) -> Result<(), LocalDeliveryError> {
        self.deliver_account(account, message).await
    }
}
