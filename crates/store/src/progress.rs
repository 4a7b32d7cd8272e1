//! Progress reporting for long operations (import, export, backup, verification), so a command
//! can show a progress bar on a terminal while the library stays free of terminal handling.

/// Receives progress of a long operation. Implementations must be cheap: `advance` is called
/// for every message.
pub trait Progress: Sync {
    /// A phase starts; `total` is the amount of work in the unit of later `advance` calls
    /// (messages, or bytes for an mbox import), if known.
    fn start(&self, what: &str, total: Option<u64>);
    /// `n` more units done.
    fn advance(&self, n: u64);
    /// The phase is done.
    fn finish(&self);
}

/// Reports nothing: for scripts, tests and servers.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _what: &str, _total: Option<u64>) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}
