//! Following domains.conf while serving: a change on disk (an operator's edit, or another
//! tool's) is loaded and checked, and replaces the running configuration when valid; when
//! not, every problem is logged and the running configuration stays.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use runtime::Runtime;

/// How often domains.conf is looked at.
pub(crate) const POLL: Duration = Duration::from_secs(1);

/// The file's identity for change detection: modification time and size (an atomic rename
/// changes both, or at least the time).
fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Watches domains.conf until shutdown.
pub(crate) async fn follow_domains_conf(rt: Arc<Runtime>) {
    let path = rt.config().dynamic_path.clone();
    let mut last = stamp(&path);
    loop {
        tokio::select! {
            _ = rt.shutdown().wait() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        let now = stamp(&path);
        if now == last {
            continue;
        }
        last = now;
        reload_now(&rt);
    }
}

/// Loads domains.conf and installs it if valid. Returns whether it did.
pub(crate) fn reload_now(rt: &Runtime) -> bool {
    let current = rt.config();
    match config::load_dynamic(&current) {
        Ok(new) => {
            rt.set_config(Arc::new(new));
            tracing::info!(file = %current.dynamic_path.display(), "domains.conf changed, reloaded");
            true
        }
        Err(errors) => {
            for e in errors.errors() {
                tracing::error!("{e}");
            }
            tracing::error!(
                file = %current.dynamic_path.display(),
                "domains.conf changed but has errors (see above); still serving the previous configuration"
            );
            false
        }
    }
}
