//! What the running server does for each control request (see `crate::ctl::Request`).

use std::sync::Arc;

use anyhow::Context as _;
use runtime::Runtime;
use tokio::sync::Mutex;

use super::ctl_server::{Handler, Replies};
use crate::ctl::{ImportFormat, Request};
use crate::logging;

/// Carries out control requests against the running server.
pub(crate) struct CtlHandler {
    rt: Arc<Runtime>,
    /// Becomes true when the server has stopped (for `stop`, which answers then).
    stopped: tokio::sync::watch::Receiver<bool>,
    /// One configuration change at a time: each starts from the configuration the previous
    /// one left.
    edits: Mutex<()>,
    /// The delivering queue (`mox serve`; localserve has none).
    queue: Option<queue::Queue>,
}

impl CtlHandler {
    pub(crate) fn new(rt: Arc<Runtime>, stopped: tokio::sync::watch::Receiver<bool>) -> CtlHandler {
        CtlHandler { rt, stopped, edits: Mutex::new(()), queue: None }
    }

    /// Handles the queue requests with `queue`.
    pub(crate) fn with_queue(mut self, queue: queue::Queue) -> CtlHandler {
        self.queue = Some(queue);
        self
    }

    fn queue(&self) -> anyhow::Result<&queue::Queue> {
        self.queue.as_ref().ok_or_else(|| {
            anyhow::anyhow!("this server has no queue (mox localserve delivers everything locally)")
        })
    }

    /// Applies a configuration change: checked against the running configuration, written
    /// (new DKIM keys, then domains.conf atomically), then put in effect at once.
    async fn edit(
        &self,
        make: impl FnOnce(&config::Config) -> Result<config::edit::Edit, config::edit::EditError>
        + Send
        + 'static,
    ) -> anyhow::Result<()> {
        let _one_at_a_time = self.edits.lock().await;
        let current = self.rt.config();
        let config = tokio::task::spawn_blocking(move || -> anyhow::Result<config::Config> {
            let edit = make(&current)?;
            edit.apply()?;
            Ok(edit.config)
        })
        .await??;
        self.rt.set_config(Arc::new(config));
        Ok(())
    }
}

impl Handler for CtlHandler {
    async fn handle(self: Arc<Self>, request: Request, out: Replies) -> anyhow::Result<()> {
        match request {
            Request::Stop => {
                self.rt.shutdown().trigger();
                let mut stopped = self.stopped.clone();
                // The serve loop drains connections and then says so.
                let _ = stopped.wait_for(|s| *s).await;
                Ok(())
            }
            Request::Loglevels { level, target } => {
                if let Some(level) = level {
                    let level = if level.is_empty() {
                        None
                    } else {
                        Some(level.parse::<logging::Level>().map_err(|e| anyhow::anyhow!("{e}"))?)
                    };
                    if level.is_none() && target.is_none() {
                        anyhow::bail!("an empty level only clears the level of a package");
                    }
                    let spec = logging::current_spec().with_level(target.as_deref(), level);
                    logging::set_spec(spec)?;
                }
                out.output(logging::current_spec().describe()).await
            }
            Request::SetAccountPassword { account, password } => {
                let account = crate::cmd::account_of(&self.rt.config(), &account)?;
                let rt = self.rt.clone();
                let name = account.clone();
                tokio::task::spawn_blocking(move || rt.accounts().set_password(&name, &password))
                    .await??;
                tracing::info!(%account, "password changed");
                Ok(())
            }
            Request::AccountAdd { account, address } => {
                self.edit(move |c| config::edit::account_add(c, &account, &address)).await
            }
            Request::AccountRm { account } => {
                self.edit(move |c| config::edit::account_rm(c, &account)).await
            }
            Request::AddressAdd { address, account } => {
                self.edit(move |c| config::edit::address_add(c, &address, &account)).await
            }
            Request::AddressRm { address } => {
                self.edit(move |c| config::edit::address_rm(c, &address)).await
            }
            Request::DomainAdd { domain, account, localpart, disabled } => {
                let domain = dns::Domain::parse(&domain)
                    .map_err(|e| anyhow::anyhow!("domain {domain:?}: {e}"))?;
                self.edit(move |c| {
                    config::edit::domain_add(c, &domain, &account, localpart.as_deref(), disabled)
                })
                .await
            }
            Request::DomainRm { domain } => {
                let domain = dns::Domain::parse(&domain)
                    .map_err(|e| anyhow::anyhow!("domain {domain:?}: {e}"))?;
                self.edit(move |c| config::edit::domain_rm(c, &domain)).await
            }
            Request::Import { format, account, mailbox, path } => {
                let account = crate::cmd::account_of(&self.rt.config(), &account)?;
                let rt = self.rt.clone();
                let progress = out.progress();
                let summary = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                    let acc = rt.accounts().open(&account)?;
                    Ok(match format {
                        ImportFormat::Maildir => {
                            store::import::import_maildir(&acc, &mailbox, &path, &progress)?
                        }
                        ImportFormat::Mbox => {
                            store::import::import_mbox(&acc, &mailbox, &path, &progress)?
                        }
                    })
                })
                .await??;
                out.output(crate::cmd::import_summary_text(&summary)).await
            }
            Request::Backup { dest } => {
                let src = self.rt.config().data_dir.clone();
                let progress = out.progress();
                let (summary, lines) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                    let mut lines = Vec::new();
                    let summary = store::backup::backup(&src, &dest, &progress, &mut |l| {
                        lines.push(l.to_string())
                    })
                    .context("backup")?;
                    Ok((summary, lines))
                })
                .await??;
                let mut text = String::new();
                for w in &summary.warnings {
                    text += &format!("warning: {w}\n");
                }
                text += &crate::cmd::backup_summary_text(&summary, &lines);
                out.output(text).await
            }
            Request::QueueList { filter } => {
                let entries = self.queue()?.list(&filter.normalized()?)?;
                out.output(queue::format_list(&entries, std::time::SystemTime::now())).await
            }
            Request::QueueKick { filter } => {
                let n = self.queue()?.kick(&filter.normalized()?).await?;
                tracing::info!(messages = n, "queue kick (operator)");
                out.output(crate::cmd::queue_kicked_text(n)).await
            }
            Request::QueueDrop { filter } => {
                let n = self.queue()?.drop_entries(&filter.normalized()?).await?;
                out.output(crate::cmd::queue_dropped_text(n)).await
            }
            Request::QueueDump { id } => {
                let q = self.queue()?.clone();
                let data =
                    tokio::task::spawn_blocking(move || q.dump(queue::QueueId(id))).await??;
                out.data(data).await
            }
        }
    }
}
