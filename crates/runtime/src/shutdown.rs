//! Stopping a server: one signal every service and connection watches, and a drain that gives
//! connections in progress a bounded time to finish.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The stop signal plus the set of running connection tasks. Clones share both.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    connections: TaskTracker,
}

impl Shutdown {
    /// A signal not yet given, with no connections.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Gives the signal: listeners stop accepting, idle connections close, and connections
    /// in progress finish what they are doing (see [`Shutdown::drain`]).
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether the signal was given.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves when the signal is given (at once if it was).
    pub async fn wait(&self) {
        self.token.cancelled().await
    }

    /// Runs a connection's task, counted until it ends, so [`Shutdown::drain`] can wait for it.
    pub fn spawn_connection<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.connections.spawn(task)
    }

    /// Connections running now.
    pub fn connections(&self) -> usize {
        self.connections.len()
    }

    /// After [`Shutdown::trigger`]: waits until every connection task has ended, or `grace`
    /// has passed. Returns how many were still running then (0: a clean drain).
    pub async fn drain(&self, grace: Duration) -> usize {
        self.connections.close();
        let _ = tokio::time::timeout(grace, self.connections.wait()).await;
        self.connections.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_connections_that_finish_and_not_for_those_that_do_not() {
        let s = Shutdown::new();
        let quick = s.clone();
        s.spawn_connection(async move {
            quick.wait().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        });
        s.spawn_connection(std::future::pending::<()>());
        assert_eq!(s.connections(), 2);
        assert!(!s.is_triggered());
        s.trigger();
        assert!(s.is_triggered());
        let start = std::time::Instant::now();
        assert_eq!(s.drain(Duration::from_millis(300)).await, 1, "the pending task remains");
        assert!(start.elapsed() >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn a_clean_drain_returns_early() {
        let s = Shutdown::new();
        let c = s.clone();
        s.spawn_connection(async move { c.wait().await });
        s.trigger();
        let start = std::time::Instant::now();
        assert_eq!(s.drain(Duration::from_secs(3)).await, 0);
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
