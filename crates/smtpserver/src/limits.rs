//! Limits that hold under abuse, as bounded in-memory counters whose cost does not grow with
//! history: open connections per IP network and in total, connection rate, delivery rate and
//! volume per IP network, and outgoing messages and first-time recipients per account.
//! (Failed logins are counted by [`runtime::AuthLimiter`], shared with IMAP.)
//!
//! IP addresses are counted at three levels, as mox does: an IPv4 address, its /26 and its
//! /21; an IPv6 address's /64, /48 and /32.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::reply::{Ecode, Reply};

/// The three networks an address is counted in: /32, /26, /21 for IPv4; /64, /48, /32 for
/// IPv6.
pub fn ip_networks(ip: IpAddr) -> [IpAddr; 3] {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let n = u32::from(v4);
            [v4, Ipv4Addr::from(n & !((1 << 6) - 1)), Ipv4Addr::from(n & !((1 << 11) - 1))]
                .map(IpAddr::V4)
        }
        IpAddr::V6(v6) => {
            let n = u128::from(v6);
            let mask = |bits: u32| Ipv6Addr::from(n & !((1u128 << (128 - bits)) - 1));
            [mask(64), mask(48), mask(32)].map(IpAddr::V6)
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Most keys a window limiter holds; past this, the window's counts are dropped (fail open,
/// with a log line) rather than grow without bound.
const MAX_KEYS: usize = 200_000;

/// Counts per key and IP level in fixed time windows (this minute, this day), with a limit
/// per level. Memory: one entry per key seen in the current window.
#[derive(Debug)]
pub struct WindowLimiter<K> {
    windows: Vec<Window<K>>,
}

#[derive(Debug)]
struct Window<K> {
    length: Duration,
    limits: [u64; 3],
    state: Mutex<WindowState<K>>,
}

#[derive(Debug)]
struct WindowState<K> {
    index: u64,
    counts: HashMap<(K, IpAddr), u64>,
}

impl<K: std::hash::Hash + Eq + Clone + std::fmt::Debug> WindowLimiter<K> {
    /// A limiter with windows of the given lengths and per-level limits.
    pub fn new(windows: &[(Duration, [u64; 3])]) -> WindowLimiter<K> {
        WindowLimiter {
            windows: windows
                .iter()
                .map(|&(length, limits)| Window {
                    length,
                    limits,
                    state: Mutex::new(WindowState { index: 0, counts: HashMap::new() }),
                })
                .collect(),
        }
    }

    /// Whether `n` more fit for `key` and `ip`; counts them if so (and `add`).
    pub fn check(
        &self,
        key: &K,
        ip: IpAddr,
        n: u64,
        add: bool,
        now: std::time::SystemTime,
    ) -> bool {
        let nets = ip_networks(ip);
        let secs = now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut states: Vec<MutexGuard<'_, WindowState<K>>> =
            Vec::with_capacity(self.windows.len());
        for w in &self.windows {
            let mut state = lock(&w.state);
            let index = secs / w.length.as_secs().max(1);
            if index != state.index {
                state.index = index;
                state.counts.clear();
            }
            for (level, net) in nets.iter().enumerate() {
                let have = state.counts.get(&(key.clone(), *net)).copied().unwrap_or(0);
                if have + n > w.limits[level] {
                    return false;
                }
            }
            states.push(state);
        }
        if add {
            for state in &mut states {
                if state.counts.len() + 3 > MAX_KEYS {
                    tracing::warn!(
                        keys = state.counts.len(),
                        "rate limiter full, dropping counts of this window"
                    );
                    state.counts.clear();
                }
                for net in nets {
                    *state.counts.entry((key.clone(), net)).or_insert(0) += n;
                }
            }
        }
        true
    }

    /// Forgets the counts of `key` and `ip` (a successful login resets failures).
    pub fn reset(&self, key: &K, ip: IpAddr) {
        for w in &self.windows {
            let mut state = lock(&w.state);
            for net in ip_networks(ip) {
                state.counts.remove(&(key.clone(), net));
            }
        }
    }
}

/// Settings for [`Limits`]; the defaults are mox's.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Open connections per /32, /26, /21 (IPv6: /64, /48, /32).
    pub connections_per_ip: [u64; 3],
    /// Open connections in total.
    pub max_connections: usize,
    /// New connections per minute per network level.
    pub connection_rate_per_minute: [u64; 3],
    /// Delivered messages per minute from a network level, per account.
    pub messages_per_minute: [u64; 3],
    /// Delivered messages per day from a network level, per account.
    pub messages_per_day: [u64; 3],
    /// Delivered bytes per minute from a network level, per account.
    pub bytes_per_minute: [u64; 3],
    /// Delivered bytes per day from a network level, per account.
    pub bytes_per_day: [u64; 3],
}

impl Default for LimitSettings {
    fn default() -> LimitSettings {
        const MB: u64 = 1024 * 1024;
        LimitSettings {
            connections_per_ip: [30, 90, 270],
            max_connections: 5000,
            connection_rate_per_minute: [300, 900, 2700],
            messages_per_minute: [500, 1500, 4500],
            messages_per_day: [20 * 500, 20 * 1500, 20 * 4500],
            bytes_per_minute: [1000 * MB, 3000 * MB, 9000 * MB],
            bytes_per_day: [3000 * MB, 9000 * MB, 27000 * MB],
        }
    }
}

impl LimitSettings {
    /// No rate limits (for benchmarks and tests that send a lot from one address).
    pub fn unlimited() -> LimitSettings {
        let max = [u64::MAX / 4; 3];
        LimitSettings {
            connections_per_ip: max,
            max_connections: usize::MAX / 2,
            connection_rate_per_minute: max,
            messages_per_minute: max,
            messages_per_day: max,
            bytes_per_minute: max,
            bytes_per_day: max,
        }
    }
}

/// All limits of a server.
#[derive(Debug)]
pub struct Limits {
    /// The settings.
    pub settings: LimitSettings,
    open: Mutex<HashMap<IpAddr, u64>>,
    total: AtomicUsize,
    connection_rate: WindowLimiter<()>,
    sends: Mutex<HashMap<String, SendHistory>>,
}

/// An open connection, counted until dropped.
#[derive(Debug)]
pub struct ConnectionGuard {
    limits: Arc<Limits>,
    ip: IpAddr,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.limits.total.fetch_sub(1, Ordering::Relaxed);
        let mut open = lock(&self.limits.open);
        for net in ip_networks(self.ip) {
            if let Some(n) = open.get_mut(&net) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&net);
                }
            }
        }
    }
}

/// Why a submission is over an account's sending limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendLimit {
    /// `MaxOutgoingMessagesPerDay`.
    Messages(u32),
    /// `MaxFirstTimeRecipientsPerDay`.
    FirstTimeRecipients(u32),
}

/// Recipients an account sent to: the last day's sends, and every recipient ever seen (up to
/// a bound), to tell first-time recipients apart.
#[derive(Debug, Default)]
struct SendHistory {
    day: VecDeque<(Instant, bool)>,
    known: HashSet<String>,
    known_order: VecDeque<String>,
}

/// Recipients remembered per account for the first-time check.
const MAX_KNOWN_RECIPIENTS: usize = 100_000;

impl Limits {
    /// Limits with these settings.
    pub fn new(settings: LimitSettings) -> Arc<Limits> {
        let minute = Duration::from_secs(60);
        Arc::new(Limits {
            connection_rate: WindowLimiter::new(&[(minute, settings.connection_rate_per_minute)]),
            settings,
            open: Mutex::new(HashMap::new()),
            total: AtomicUsize::new(0),
            sends: Mutex::new(HashMap::new()),
        })
    }

    /// Admits a new connection from `ip`, or says why not (421).
    pub fn connect(self: &Arc<Limits>, ip: IpAddr) -> Result<ConnectionGuard, Reply> {
        if !self.connection_rate.check(&(), ip, 1, true, std::time::SystemTime::now()) {
            return Err(Reply::new(
                421,
                Ecode::POL_OTHER,
                "connection rate from your ip or network too high, slow down please",
            ));
        }
        let total = self.total.fetch_add(1, Ordering::Relaxed);
        if total >= self.settings.max_connections {
            self.total.fetch_sub(1, Ordering::Relaxed);
            return Err(Reply::new(
                421,
                Ecode::SYS_NOT_ACCEPTING,
                "too many open connections, try again later",
            ));
        }
        let nets = ip_networks(ip);
        let mut open = lock(&self.open);
        for (level, net) in nets.iter().enumerate() {
            if open.get(net).copied().unwrap_or(0) >= self.settings.connections_per_ip[level] {
                drop(open);
                self.total.fetch_sub(1, Ordering::Relaxed);
                return Err(Reply::new(
                    421,
                    Ecode::POL_OTHER,
                    "too many open connections from your ip or network",
                ));
            }
        }
        for net in nets {
            *open.entry(net).or_insert(0) += 1;
        }
        Ok(ConnectionGuard { limits: self.clone(), ip })
    }

    /// Open connections now.
    pub fn open_connections(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Checks the recent deliveries from a client's networks to an account (from the
    /// account's history index) against the limits, for one more message of `size` bytes;
    /// `Err` with the 452 when the network sent too much recently.
    pub fn check_delivery_rates(
        &self,
        rates: &store::history::DeliveryRates,
        size: u64,
    ) -> Result<(), Reply> {
        let s = &self.settings;
        for level in 0..3 {
            if rates.minute[level].messages >= s.messages_per_minute[level]
                || rates.day[level].messages >= s.messages_per_day[level]
            {
                let text = "too many messages from your ip/network recently";
                return Err(Reply::new(452, Ecode::MAILBOX_FULL, text));
            }
            if rates.minute[level].bytes + size > s.bytes_per_minute[level]
                || rates.day[level].bytes + size > s.bytes_per_day[level]
            {
                let text = "too much data from your ip/network recently";
                return Err(Reply::new(452, Ecode::MAILBOX_FULL, text));
            }
        }
        Ok(())
    }

    /// Checks an account's sending limits for a new submission to `recipients`, and counts
    /// it if allowed.
    pub fn submission(
        &self,
        account: &str,
        recipients: &[String],
        max_messages: u32,
        max_first_time: u32,
    ) -> Result<(), SendLimit> {
        let max_messages = if max_messages == 0 { 1000 } else { max_messages };
        let max_first_time = if max_first_time == 0 { 200 } else { max_first_time };
        let now = Instant::now();
        let mut sends = lock(&self.sends);
        let h = sends.entry(account.to_string()).or_default();
        while h
            .day
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(86400))
        {
            h.day.pop_front();
        }
        if h.day.len() + recipients.len() > max_messages as usize {
            return Err(SendLimit::Messages(max_messages));
        }
        let lowered: Vec<String> = recipients.iter().map(|r| r.to_lowercase()).collect();
        let new: usize = lowered.iter().filter(|r| !h.known.contains(*r)).count();
        let first_time_today = h.day.iter().filter(|(_, first)| *first).count();
        if first_time_today + new > max_first_time as usize {
            return Err(SendLimit::FirstTimeRecipients(max_first_time));
        }
        for r in lowered {
            let first = h.known.insert(r.clone());
            if first {
                h.known_order.push_back(r);
                if h.known_order.len() > MAX_KNOWN_RECIPIENTS
                    && let Some(old) = h.known_order.pop_front()
                {
                    h.known.remove(&old);
                }
            }
            h.day.push_back((now, first));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let n = ip_networks("192.0.2.77".parse().unwrap());
        assert_eq!(n.map(|i| i.to_string()), ["192.0.2.77", "192.0.2.64", "192.0.0.0"]);
        let n = ip_networks("2001:db8:1:2:3::1".parse().unwrap());
        assert_eq!(n.map(|i| i.to_string()), ["2001:db8:1:2::", "2001:db8:1::", "2001:db8::"]);
        // IPv4-mapped addresses count as IPv4.
        assert_eq!(ip_networks("::ffff:192.0.2.1".parse().unwrap())[0].to_string(), "192.0.2.1");
    }

    #[test]
    fn connections_per_ip_and_total() {
        let limits = Limits::new(LimitSettings {
            connections_per_ip: [2, 3, 4],
            max_connections: 4,
            ..Default::default()
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let g1 = limits.connect(a).unwrap();
        let _g2 = limits.connect(a).unwrap();
        assert_eq!(limits.connect(a).unwrap_err().code, 421);
        let _g3 = limits.connect(b).unwrap();
        // The /26 is full at 3.
        assert!(limits.connect(b).is_err());
        drop(g1);
        let _g4 = limits.connect(b).unwrap();
        assert_eq!(limits.open_connections(), 3);
        let c: IpAddr = "198.51.100.1".parse().unwrap();
        let _g5 = limits.connect(c).unwrap();
        assert!(limits.connect(c).is_err(), "total of 4 reached");
    }

    #[test]
    fn delivery_rates() {
        let limits =
            Limits::new(LimitSettings { messages_per_minute: [2, 5, 5], ..Default::default() });
        let mut rates = store::history::DeliveryRates::default();
        assert!(limits.check_delivery_rates(&rates, 10).is_ok());
        rates.minute[0].messages = 2;
        assert_eq!(limits.check_delivery_rates(&rates, 10).unwrap_err().code, 452);
        rates.minute[0].messages = 0;
        rates.day[2].bytes = 27000 * 1024 * 1024;
        assert!(limits.check_delivery_rates(&rates, 1).is_err());
    }

    #[test]
    fn send_limits() {
        let limits = Limits::new(LimitSettings::default());
        let r = |n: usize| (0..n).map(|i| format!("r{i}@example.org")).collect::<Vec<_>>();
        assert!(limits.submission("a", &r(3), 5, 4).is_ok());
        // Known recipients are not first-time.
        assert!(limits.submission("a", &r(2), 5, 4).is_ok());
        assert_eq!(limits.submission("a", &r(1), 5, 4), Err(SendLimit::Messages(5)));
        assert!(limits.submission("b", &r(4), 100, 4).is_ok());
        assert_eq!(
            limits.submission("b", &["new@example.org".to_string()], 100, 4),
            Err(SendLimit::FirstTimeRecipients(4))
        );
    }
}
