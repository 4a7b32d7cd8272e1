//! The accounts' junk settings at delivery: each account's word filter stays open (opening
//! one reads its whole word table into memory, too slow to do per message) and its
//! AutomaticJunkFlags rules stay compiled, until the account's settings change.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::directory::Directory;

/// Per-account junk settings, cached.
#[derive(Debug, Default)]
pub(crate) struct JunkSettings {
    accounts: Mutex<HashMap<String, Cached>>,
}

#[derive(Debug)]
struct Cached {
    /// The settings the entry was made from: reused while they stay the same.
    flags: String,
    filter_settings: Option<junk::JunkFilter>,
    junk: junk::AccountJunk,
}

/// An account's junk settings for one delivery.
#[derive(Debug, Clone)]
pub(crate) struct AccountJunkSettings {
    /// The rules and the open filter.
    pub(crate) junk: junk::AccountJunk,
    /// The filter's threshold (with `junk.filter`).
    pub(crate) threshold: Option<f64>,
}

impl JunkSettings {
    /// The junk settings of `name` (opened as `account`). Opening the filter blocks on disk
    /// the first time.
    pub(crate) fn account(
        &self,
        directory: &dyn Directory,
        name: &str,
        account: &store::Account,
    ) -> Result<AccountJunkSettings, junk::Error> {
        let filter_settings = directory.junk_filter(name);
        let auto = directory.automatic_junk_flags(name);
        let flags = format!(
            "{}\0{}\0{}\0{}",
            auto.enabled,
            auto.junk_mailbox_regexp,
            auto.neutral_mailbox_regexp,
            auto.not_junk_mailbox_regexp
        );
        let threshold = filter_settings.as_ref().map(|f| f.threshold);
        let mut accounts = self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = accounts.get(name)
            && c.flags == flags
            && c.filter_settings == filter_settings
        {
            return Ok(AccountJunkSettings { junk: c.junk.clone(), threshold });
        }
        let rules = auto.compile()?;
        let filter = match &filter_settings {
            Some(jf) => {
                let dir = junk::Filter::dir_for_account(account.dir());
                Some(junk::Filter::open(&dir, &jf.params)?)
            }
            None => None,
        };
        let junk = junk::AccountJunk { rules, filter };
        accounts.insert(name.to_string(), Cached { flags, filter_settings, junk: junk.clone() });
        Ok(AccountJunkSettings { junk, threshold })
    }
}

/// Sets `$Junk`/`$NotJunk` on the flags of a message about to be delivered to `mailbox` of
/// account `name`, as the account's AutomaticJunkFlags ask (mox does this at every delivery).
/// Without settings (an error is logged) the flags stay as they are.
pub(crate) fn arrival_flags(
    mailer: &crate::Mailer,
    name: &str,
    mailbox: &str,
    flags: &mut store::Flags,
) {
    let Ok(account) = mailer.directory.open_account(name) else { return };
    match mailer.junk.account(&*mailer.directory, name, &account) {
        Ok(s) => {
            let existing = account.snapshot().ok().and_then(|snap| snap.mailbox(mailbox).ok()?);
            s.junk.arrival_flags(existing.as_ref(), mailbox, flags);
        }
        Err(e) => tracing::error!(account = name, error = %e, "junk settings"),
    }
}

/// Trains the accounts' filters with delivered messages, as their flags and mailboxes say.
/// The messages are stored already: a failure is logged (`mox retrain` repairs the filter),
/// not turned into a delivery failure.
pub(crate) async fn train_delivered(
    mailer: &crate::Mailer,
    stored: &[crate::store_delivery::StoredCopy],
) {
    for copy in stored {
        let settings =
            match mailer.junk.account(&*mailer.directory, &copy.account_name, &copy.account) {
                Ok(s) if s.junk.filter.is_some() => s,
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!(account = copy.account_name, error = %e, "junk settings");
                    continue;
                }
            };
        let (account, d) = (copy.account.clone(), copy.delivered);
        let r = tokio::task::spawn_blocking(move || {
            settings.junk.sync_uids(&account, d.mailbox, &store::UidSet::single(d.uid))
        })
        .await;
        match r {
            Ok(Ok(n)) if n > 0 => {
                tracing::debug!(
                    account = copy.account_name,
                    "junk filter trained with delivered message"
                )
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(account = copy.account_name, error = %e, "training junk filter")
            }
            Err(e) => tracing::error!(error = %e, "training junk filter"),
        }
    }
}
