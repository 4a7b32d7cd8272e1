//! Connection ids: every connection, delivery and control command gets one, logged with each
//! of its log lines. As in mox, ids count up from the server's start time in milliseconds, so
//! they are unique across restarts and tell roughly when a connection came in.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A connection id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

static NEXT: LazyLock<AtomicU64> = LazyLock::new(|| {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    AtomicU64::new(ms as u64)
});

impl ConnectionId {
    /// A new id, never handed out before by this process.
    pub fn next() -> ConnectionId {
        ConnectionId(NEXT.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// The time the counter started from, if this id is one of ours: ids count up from the
    /// start time in milliseconds, so the id itself is at or after it.
    pub fn time_at_or_before(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0)
    }
}

impl std::fmt::Display for ConnectionId {
    /// Lowercase hexadecimal, as mox logs it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_start_near_now() {
        let a = ConnectionId::next();
        let b = ConnectionId::next();
        assert!(b > a);
        let age = SystemTime::now().duration_since(a.time_at_or_before()).unwrap_or_default();
        assert!(age < Duration::from_secs(3600), "started from the current time: {age:?}");
        assert_eq!(ConnectionId(255).to_string(), "ff");
    }
}
