//! Storing a message in one or more accounts, all or nothing: every copy is written and
//! flushed first (`MessageWriter::finish_with`), then committed (the store's group commit).
//! If a copy cannot be written, none is delivered; if a commit fails after others
//! succeeded, those are removed again. Only then does the client get its 250 — or a 4xx, and
//! it tries again later, so a message is never lost nor delivered to only some recipients.

use std::io::Write;
use std::sync::Arc;

use crate::mailer::Mailer;
use crate::reply::{Ecode, Reply};

/// A copy to store.
#[derive(Debug)]
pub(crate) struct StoreTarget {
    pub(crate) account: String,
    pub(crate) mailbox: String,
    /// Header lines added at delivery (kept in the database, served before the file).
    pub(crate) prefix: Vec<u8>,
    pub(crate) flags: store::Flags,
    pub(crate) mail_from: String,
    /// Delivery facts for reputation (incoming mail only).
    pub(crate) origin: Option<store::Origin>,
}

/// Why storing failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeliverError {
    #[error("account {account}: {source}")]
    Store { account: String, source: store::Error },
    #[error("delivery task failed: {0}")]
    Task(String),
}

impl DeliverError {
    /// The reply for the client: 452 when out of space or over quota, 451 otherwise.
    pub(crate) fn reply(&self, id: &str) -> Reply {
        match self {
            DeliverError::Store { source: store::Error::QuotaExceeded { .. }, .. } => {
                Reply::new(452, Ecode::MAILBOX_FULL, format!("account storage full ({id})"))
            }
            DeliverError::Store { source: store::Error::Io { source, .. }, .. }
                if source.raw_os_error() == Some(28) =>
            {
                Reply::new(452, Ecode::SYS_STORAGE_FULL, format!("mail system storage full ({id})"))
            }
            _ => Reply::new(
                451,
                Ecode::SYS_OTHER,
                format!("error delivering message, try again later ({id})"),
            ),
        }
    }
}

/// A stored copy.
#[derive(Debug, Clone)]
pub(crate) struct StoredCopy {
    pub(crate) account_name: String,
    pub(crate) account: Arc<store::Account>,
    pub(crate) delivered: store::Delivered,
}

/// Stores every target, or none; see the module documentation.
pub(crate) async fn deliver_all(
    mailer: &Mailer,
    targets: Vec<StoreTarget>,
    data: Arc<Vec<u8>>,
) -> Result<Vec<StoredCopy>, DeliverError> {
    if targets.len() == 1 {
        let target = targets.into_iter().next().ok_or(DeliverError::Task("no target".into()))?;
        if let Some(stored) = deliver_small(mailer, &target, &data).await {
            return stored;
        }
        // One copy: write and commit in one blocking task.
        let directory = mailer.directory.clone();
        return tokio::task::spawn_blocking(move || {
            let (account, prepared, new) = prepare(&*directory, &target, &data)?;
            let delivered = account.deliver(&target.mailbox, prepared, new).map_err(|source| {
                DeliverError::Store { account: target.account.clone(), source }
            })?;
            Ok(vec![StoredCopy { account_name: target.account, account, delivered }])
        })
        .await
        .map_err(|e| DeliverError::Task(e.to_string()))?;
    }

    // Phase one: write and flush all copies.
    let mut tasks = Vec::with_capacity(targets.len());
    for target in targets {
        let directory = mailer.directory.clone();
        let data = data.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            let r = prepare(&*directory, &target, &data);
            (target, r)
        }));
    }
    let mut prepared = Vec::with_capacity(tasks.len());
    let mut failure = None;
    for task in tasks {
        match task.await {
            Ok((target, Ok(p))) => prepared.push((target, p)),
            Ok((_, Err(e))) => failure = Some(e),
            Err(e) => failure = Some(DeliverError::Task(e.to_string())),
        }
    }
    if let Some(e) = failure {
        // Dropping the prepared copies removes their files.
        return Err(e);
    }

    // Phase two: commit all, concurrently (copies in one account share a commit).
    let mut commits = Vec::with_capacity(prepared.len());
    for (target, (account, message, new)) in prepared {
        commits.push(tokio::task::spawn_blocking(move || {
            let r = account.deliver(&target.mailbox, message, new);
            (target.account, account, r)
        }));
    }
    let mut stored = Vec::new();
    let mut failure = None;
    for c in commits {
        match c.await {
            Ok((account_name, account, Ok(delivered))) => {
                stored.push(StoredCopy { account_name, account, delivered })
            }
            Ok((name, _, Err(source))) => {
                failure = Some(DeliverError::Store { account: name, source })
            }
            Err(e) => failure = Some(DeliverError::Task(e.to_string())),
        }
    }
    if let Some(e) = failure {
        // Undo the copies that were committed, so the retry does not duplicate them.
        for copy in stored {
            let r = tokio::task::spawn_blocking(move || {
                copy.account.remove_messages(
                    copy.delivered.mailbox,
                    &store::UidSet::single(copy.delivered.uid),
                )
            })
            .await;
            if !matches!(r, Ok(Ok(_))) {
                tracing::error!(?r, "removing partially delivered copy");
            }
        }
        return Err(e);
    }
    Ok(stored)
}

type Prepared = (Arc<store::Account>, store::PreparedMessage, store::NewMessage);

/// Delivers a message small enough to be kept in the database (see the store's
/// `Account::set_inline_limit`) to an account's Inbox without a blocking thread: writing it
/// involves no file, so it is prepared here, and the account's committer thread commits it
/// with the rest of its group and hands back the result. `None` when the message does not
/// qualify (larger, or another mailbox, which may have to be created first).
async fn deliver_small(
    mailer: &Mailer,
    target: &StoreTarget,
    data: &[u8],
) -> Option<Result<Vec<StoredCopy>, DeliverError>> {
    if !target.mailbox.eq_ignore_ascii_case("inbox") {
        return None;
    }
    let err = |source| DeliverError::Store { account: target.account.clone(), source };
    let account = match mailer.directory.open_account(&target.account) {
        Ok(a) => a,
        Err(e) => return Some(Err(err(e))),
    };
    if !account.keeps_in_database(data.len() as u64) {
        return None;
    }
    let (account, prepared, new) = match prepare_in(account, target, data) {
        Ok(p) => p,
        Err(e) => return Some(Err(e)),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    account.deliver_then(&target.mailbox, prepared, new, move |r| {
        let _ = tx.send(r);
    });
    let delivered = match rx.await {
        Ok(Ok(d)) => d,
        Ok(Err(source)) => return Some(Err(err(source))),
        Err(_) => return Some(Err(DeliverError::Task("the commit thread ended".into()))),
    };
    Some(Ok(vec![StoredCopy { account_name: target.account.clone(), account, delivered }]))
}

fn prepare(
    directory: &dyn crate::directory::Directory,
    target: &StoreTarget,
    data: &[u8],
) -> Result<Prepared, DeliverError> {
    let err = |source| DeliverError::Store { account: target.account.clone(), source };
    let account = directory.open_account(&target.account).map_err(err)?;
    if !target.mailbox.eq_ignore_ascii_case("inbox") {
        account.ensure_mailbox(&target.mailbox).map_err(err)?;
    }
    prepare_in(account, target, data)
}

/// Writes the message for `target` in `account` (whose mailbox exists).
fn prepare_in(
    account: Arc<store::Account>,
    target: &StoreTarget,
    data: &[u8],
) -> Result<Prepared, DeliverError> {
    let err = |source| DeliverError::Store { account: target.account.clone(), source };
    let mut writer = account.message_writer().map_err(err)?;
    if let Err(e) = writer.write_all(data) {
        let path = account.dir().to_path_buf();
        return Err(err(store::Error::Io { path, op: "write message file", source: e }));
    }
    let prepared = writer.finish_with(data).map_err(err)?;
    let new = store::NewMessage {
        flags: target.flags.clone(),
        received: None,
        prefix: target.prefix.clone(),
        mail_from: target.mail_from.clone(),
        origin: target.origin.clone(),
        ..Default::default()
    };
    Ok((account, prepared, new))
}

/// Keeps a copy of a rejected message in the account's Rejects mailbox (seen), unless the
/// same message is already there (same Message-ID, or the same bytes recently). Best
/// effort: failures are logged.
pub(crate) async fn keep_reject(
    mailer: &Mailer,
    account: &str,
    mailbox: &str,
    data: &Arc<Vec<u8>>,
    prefix: Vec<u8>,
    mail_from: &str,
    origin: store::Origin,
) {
    let hash = ring::digest::digest(&ring::digest::SHA256, data);
    let key = format!("{account}\0{}", hex(hash.as_ref()));
    let present_by_id = !origin.message_id.is_empty()
        && mailer.directory.open_account(account).is_ok_and(|acc| {
            let Ok(snap) = acc.snapshot() else { return false };
            // Only look up by Message-ID when the Rejects mailbox has messages at all: a flood
            // of messages with one Message-ID must not make every delivery slower.
            match snap.mailbox(mailbox) {
                Ok(Some(rejects)) if rejects.counts.messages > 0 => snap
                    .messages_by_message_id(&origin.message_id)
                    .is_ok_and(|found| found.iter().any(|(_, mb)| *mb == rejects.id)),
                _ => false,
            }
        });
    if present_by_id || !mailer.recent_rejects.insert(key) {
        tracing::info!(account, "reject message is already present, ignoring");
        return;
    }
    let keep = mailer.directory.account_settings(account).is_some_and(|s| s.keep_rejects);
    if !keep && !tidy_rejects(mailer, account, mailbox).await {
        tracing::info!(account, "not storing spammy mail to full rejects mailbox");
        return;
    }
    // Seen, so it draws no attention; AutomaticJunkFlags apply as to any delivery (mox's
    // defaults make Rejects neutral: a rejected message does not count as junk).
    let mut flags = store::Flags::parse(["\\Seen"]).unwrap_or_default();
    crate::junk_settings::arrival_flags(mailer, account, mailbox, &mut flags);
    let target = StoreTarget {
        account: account.to_string(),
        mailbox: mailbox.to_string(),
        prefix,
        flags,
        mail_from: mail_from.to_string(),
        origin: Some(origin),
    };
    match deliver_all(mailer, vec![target], data.clone()).await {
        Ok(stored) => {
            tracing::info!(account, mailbox, "stored spammy mail in rejects mailbox");
            crate::junk_settings::train_delivered(mailer, &stored).await;
        }
        Err(e) => tracing::error!(error = %e, "delivering to rejects mailbox"),
    }
}

/// Rejected messages older than this are removed from the Rejects mailbox (mox's
/// TidyRejectsMailbox), unless the account has KeepRejects.
const REJECTS_MAX_AGE_SECS: i64 = 14 * 24 * 3600;
/// A Rejects mailbox with this many messages takes no more (unless KeepRejects).
const REJECTS_MAX_MESSAGES: u64 = 1000;

/// Removes old messages from the Rejects mailbox (untraining them first); returns whether it
/// has room for another. Errors are logged and leave room: a copy too many is better than a
/// reject lost for an error that may be passing.
async fn tidy_rejects(mailer: &Mailer, account: &str, rejects: &str) -> bool {
    let Ok(acc) = mailer.directory.open_account(account) else { return true };
    let junk = mailer.junk.account(&*mailer.directory, account, &acc).ok().map(|s| s.junk);
    let rejects = rejects.to_string();
    let now = crate::session::unix_now();
    let r = tokio::task::spawn_blocking(
        move || -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
            let snap = acc.snapshot()?;
            let Some(mb) = snap.mailbox(&rejects)? else { return Ok(true) };
            // UIDs grow with time: the old messages come first.
            let mut old = Vec::new();
            let mut next = 1;
            'pages: loop {
                let states = snap.message_states_from(mb.id, next, 500)?;
                let Some(last) = states.last() else { break };
                next = last.uid.saturating_add(1);
                for s in &states {
                    match snap.message(s.id)? {
                        Some(m) if m.received.unix < now - REJECTS_MAX_AGE_SECS => old.push(s.uid),
                        _ => break 'pages,
                    }
                }
                if last.uid == u32::MAX {
                    break;
                }
            }
            drop(snap);
            let mut left = mb.counts.messages;
            if !old.is_empty() {
                let uids = store::UidSet::from_uids(old);
                if let Some(junk) = &junk {
                    junk.forget_uids(&acc, mb.id, &uids)?;
                }
                let removed = acc.remove_messages(mb.id, &uids)?;
                tracing::info!(
                    removed = removed.len(),
                    "removed old messages from rejects mailbox"
                );
                left = left.saturating_sub(removed.len() as u64);
            }
            Ok(left < REJECTS_MAX_MESSAGES)
        },
    )
    .await;
    match r {
        Ok(Ok(room)) => room,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "tidying rejects mailbox");
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "tidying rejects mailbox");
            true
        }
    }
}

/// Removes messages with `message_id` from the Rejects mailbox of `account`: the message was
/// delivered after all (mox's RejectsRemove).
pub(crate) async fn remove_rejects(
    mailer: &Mailer,
    account: &str,
    rejects: &str,
    message_id: &str,
) {
    let Ok(acc) = mailer.directory.open_account(account) else { return };
    let (rejects, message_id) = (rejects.to_string(), message_id.to_string());
    let _ = tokio::task::spawn_blocking(move || -> Result<(), store::Error> {
        let snap = acc.snapshot()?;
        let Some(mb) = snap.mailbox(&rejects)?.filter(|mb| mb.counts.messages > 0) else {
            return Ok(());
        };
        let ids: Vec<store::MessageId> = snap
            .messages_by_message_id(&message_id)?
            .into_iter()
            .filter(|(_, m)| *m == mb.id)
            .map(|(id, _)| id)
            .collect();
        let mut uids = Vec::new();
        for id in ids {
            if let Some(m) = snap.message(id)? {
                uids.push(m.uid);
            }
        }
        drop(snap);
        if !uids.is_empty() {
            acc.remove_messages(mb.id, &store::UidSet::from_uids(uids))?;
            tracing::info!("removed delivered message from rejects mailbox");
        }
        Ok(())
    })
    .await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes of recently rejected messages per account, so a sender retrying a rejected message
/// does not fill the Rejects mailbox with copies. Bounded: the oldest are forgotten.
#[derive(Debug, Default)]
pub(crate) struct RecentRejects {
    inner:
        std::sync::Mutex<(std::collections::HashSet<String>, std::collections::VecDeque<String>)>,
}

impl RecentRejects {
    const MAX: usize = 10_000;

    /// Adds a key; false if it was present.
    pub(crate) fn insert(&self, key: String) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (set, order) = &mut *inner;
        if !set.insert(key.clone()) {
            return false;
        }
        order.push_back(key);
        if order.len() > Self::MAX
            && let Some(old) = order.pop_front()
        {
            set.remove(&old);
        }
        true
    }
}
