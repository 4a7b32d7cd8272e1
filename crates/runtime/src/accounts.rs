//! Accounts as the servers use them: opened from the data directory on first use (created
//! with the configured initial mailboxes), and their login credentials.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use sasl::{DeriveParams, StoredCredentials};
use store::{Account, DataDir, OpenOptions, SpecialUse};

use crate::credentials;

/// Mailboxes a new account gets besides its Inbox (mox's `InitialMailboxes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialMailboxes {
    /// Mailboxes with a special-use role (RFC 6154), e.g. `("Sent", SpecialUse::SENT)`.
    pub special_use: Vec<(String, SpecialUse)>,
    /// Other mailboxes.
    pub regular: Vec<String>,
}

impl Default for InitialMailboxes {
    /// mox's default: Sent, Archive, Trash, Drafts and Junk, each with its special use.
    fn default() -> Self {
        InitialMailboxes {
            special_use: vec![
                ("Sent".into(), SpecialUse::SENT),
                ("Archive".into(), SpecialUse::ARCHIVE),
                ("Trash".into(), SpecialUse::TRASH),
                ("Drafts".into(), SpecialUse::DRAFTS),
                ("Junk".into(), SpecialUse::JUNK),
            ],
            regular: Vec::new(),
        }
    }
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The store failed (I/O, database, an invalid account name, ...).
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The password cannot be used (SASLprep refuses it, say).
    #[error("password not acceptable: {0}")]
    Password(#[from] sasl::CredentialsError),
    /// The stored credentials cannot be read.
    #[error(transparent)]
    Credentials(#[from] credentials::MalformedCredentials),
    /// An empty password was given.
    #[error("password must not be empty")]
    EmptyPassword,
}

/// The accounts of a data directory.
#[derive(Debug)]
pub struct Accounts {
    data_dir: DataDir,
    initial: InitialMailboxes,
    derive: DeriveParams,
    /// Serializes creation, so two first deliveries to a new account create its mailboxes once.
    create: Mutex<()>,
    /// Accounts stay open once opened. The store closes an account with its last handle; an
    /// open racing with that close finds the account still locked, which made deliveries fail
    /// with 451 under load (8 concurrent SMTP sessions were enough). One open environment per
    /// account for the life of the server is what mox does too.
    opened: Mutex<HashMap<String, Account>>,
}

impl Accounts {
    /// The accounts under `<data_dir>/accounts/`.
    pub fn new(data_dir: &Path, initial: InitialMailboxes) -> Accounts {
        Accounts {
            data_dir: DataDir::new(data_dir),
            initial,
            derive: DeriveParams::default(),
            create: Mutex::new(()),
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// Uses these cost parameters for new passwords (tests use cheap ones).
    pub fn with_derive_params(mut self, derive: DeriveParams) -> Accounts {
        self.derive = derive;
        self
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.data_dir
    }

    /// Opens account `name` for reading and writing, creating it with its initial mailboxes if
    /// it does not exist yet. Cheap after the first call: the store keeps one environment per
    /// account and process. Blocks on disk I/O.
    pub fn open(&self, name: &str) -> Result<Account, AccountError> {
        if let Some(account) = self.opened.lock().unwrap_or_else(PoisonError::into_inner).get(name)
        {
            return Ok(account.clone());
        }
        let account = self.open_uncached(name)?;
        self.opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.to_string())
            .or_insert_with(|| account.clone());
        Ok(account)
    }

    fn open_uncached(&self, name: &str) -> Result<Account, AccountError> {
        let dir = self.data_dir.account_dir(name)?;
        if dir.join("data.mdb").is_file() {
            return Ok(Account::open(&dir, OpenOptions::default())?);
        }
        let _creating = self.create.lock().unwrap_or_else(PoisonError::into_inner);
        let new = !dir.join("data.mdb").is_file();
        let account = Account::open(&dir, OpenOptions { create: true, read_only: false })?;
        if new {
            // As mox: every initial mailbox, Inbox included, starts subscribed.
            account.subscribe("Inbox")?;
            for (mailbox, special_use) in &self.initial.special_use {
                if account.mailbox(mailbox)?.is_none() {
                    account.create_mailbox(mailbox, *special_use)?;
                }
                account.subscribe(mailbox)?;
            }
            for mailbox in &self.initial.regular {
                account.ensure_mailbox(mailbox)?;
                account.subscribe(mailbox)?;
            }
            tracing::info!(account = name, "account created");
        }
        Ok(account)
    }

    /// Sets the password of account `name` (creating the account if needed): only derived
    /// secrets are stored (SCRAM keys, CRAM-MD5 state, an Argon2id hash). Blocks for the
    /// key derivation (a fraction of a second).
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), AccountError> {
        if password.is_empty() {
            return Err(AccountError::EmptyPassword);
        }
        let stored = StoredCredentials::derive_with(password, &self.derive)?;
        let account = self.open(name)?;
        account.set_login_credentials(Some(&credentials::encode(&stored)))?;
        Ok(())
    }

    /// The login credentials of account `name`; `None` when the account does not exist or has
    /// no password set.
    pub fn credentials(&self, name: &str) -> Result<Option<StoredCredentials>, AccountError> {
        let dir = self.data_dir.account_dir(name)?;
        if !dir.join("data.mdb").is_file() {
            return Ok(None);
        }
        let account = Account::open(&dir, OpenOptions::default())?;
        match account.login_credentials()? {
            Some(data) => Ok(Some(credentials::decode(&data)?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn cheap() -> DeriveParams {
        DeriveParams {
            scram_iterations: NonZeroU32::new(16).unwrap(),
            argon2_memory_kib: 64,
            argon2_passes: 1,
        }
    }

    #[test]
    fn new_accounts_get_initial_mailboxes_once() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::new(dir.path(), InitialMailboxes::default());
        let acc = accounts.open("mjl").unwrap();
        let names: Vec<String> = acc.mailboxes().unwrap().into_iter().map(|m| m.name).collect();
        assert_eq!(names.len(), 6, "{names:?}");
        assert_eq!(acc.snapshot().unwrap().subscriptions().unwrap().len(), 6);
        let sent = acc.mailbox("Sent").unwrap().unwrap();
        assert!(sent.special_use.contains(SpecialUse::SENT));
        // A mailbox the user deletes is not recreated when the account is opened again.
        acc.delete_mailbox("Junk").unwrap();
        drop(acc);
        let acc = accounts.open("mjl").unwrap();
        assert!(acc.mailbox("Junk").unwrap().is_none());
        assert!(accounts.open("../escape").is_err());
    }

    #[test]
    fn passwords_are_stored_derived_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let accounts =
            Accounts::new(dir.path(), InitialMailboxes::default()).with_derive_params(cheap());
        assert!(accounts.credentials("nobody").unwrap().is_none());
        assert!(matches!(accounts.set_password("mjl", ""), Err(AccountError::EmptyPassword)));
        accounts.set_password("mjl", "test1234").unwrap();
        let c = accounts.credentials("mjl").unwrap().unwrap();
        assert!(c.password_hash.unwrap().verify("test1234"));
        assert!(c.scram_sha256.is_some() && c.scram_sha1.is_some() && c.cram_md5.is_some());
    }
}
