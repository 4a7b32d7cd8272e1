//! Fixed-window rate limits per IP address and its networks, as mox counts them: each window
//! (a minute, a day, ...) has a limit for the address itself and for two wider networks
//! (IPv4 /32, /26, /21; IPv6 /64, /48, /32), so one abusive host and one abusive network are
//! both caught. Memory is bounded by the number of distinct networks seen in the current
//! window; counts are dropped when their window ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Prefix lengths of the three classes an IPv4 address is counted in.
pub const IPV4_PREFIXES: [u8; 3] = [32, 26, 21];
/// Prefix lengths of the three classes an IPv6 address is counted in.
pub const IPV6_PREFIXES: [u8; 3] = [64, 48, 32];

/// One window with its limits for the three network classes (narrowest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimit {
    /// Length of the window; windows are aligned to multiples of it since the Unix epoch.
    pub window: Duration,
    /// Most counted items per window for the address (/32 or /64), its middle network
    /// (/26 or /48) and its widest network (/21 or /32).
    pub limits: [u64; 3],
}

/// A rate limiter with one or more windows. Thread-safe; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Limiter {
    windows: Vec<WindowLimit>,
    state: Mutex<Vec<WindowState>>,
}

#[derive(Debug, Default)]
struct WindowState {
    /// Which window (time / window length) the counts are for.
    epoch: u64,
    counts: HashMap<(u8, [u8; 16]), u64>,
}

impl Limiter {
    /// A limiter with these windows.
    pub fn new(windows: Vec<WindowLimit>) -> Limiter {
        let state = windows.iter().map(|_| WindowState::default()).collect();
        Limiter { windows, state: Mutex::new(state) }
    }

    /// Counts `n` items for `ip` at time `now` if that stays within every limit, and says
    /// whether it did. Nothing is counted when it would not fit.
    pub fn add(&self, ip: IpAddr, now: SystemTime, n: u64) -> bool {
        self.check(ip, now, n, true)
    }

    /// Whether `n` more items for `ip` would stay within every limit (nothing is counted).
    pub fn can_add(&self, ip: IpAddr, now: SystemTime, n: u64) -> bool {
        self.check(ip, now, n, false)
    }

    /// Forgets the counts of `ip`'s networks in the current windows (after a successful login,
    /// say, so a user who mistyped a password is not locked out later).
    pub fn reset(&self, ip: IpAddr, now: SystemTime) {
        let mut state = self.lock();
        for (w, st) in self.windows.iter().zip(state.iter_mut()) {
            roll(st, w, now);
            for (class, net) in classes(ip).into_iter().enumerate() {
                st.counts.remove(&(class as u8, net));
            }
        }
    }

    /// What is counted for the address itself (its narrowest class) in the first window.
    pub fn count(&self, ip: IpAddr, now: SystemTime) -> u64 {
        let mut state = self.lock();
        let (Some(w), Some(st)) = (self.windows.first(), state.first_mut()) else { return 0 };
        roll(st, w, now);
        st.counts.get(&(0, classes(ip)[0])).copied().unwrap_or(0)
    }

    fn check(&self, ip: IpAddr, now: SystemTime, n: u64, add: bool) -> bool {
        let mut state = self.lock();
        let nets = classes(ip);
        for (w, st) in self.windows.iter().zip(state.iter_mut()) {
            roll(st, w, now);
            for (class, net) in nets.iter().enumerate() {
                let have = st.counts.get(&(class as u8, *net)).copied().unwrap_or(0);
                if have.saturating_add(n) > w.limits[class] {
                    return false;
                }
            }
        }
        if add {
            for st in state.iter_mut() {
                for (class, net) in nets.iter().enumerate() {
                    *st.counts.entry((class as u8, *net)).or_default() += n;
                }
            }
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<WindowState>> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Starts a new window (dropping the counts) when `now` is past the current one.
fn roll(st: &mut WindowState, w: &WindowLimit, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let epoch = (since.as_nanos() / w.window.as_nanos().max(1)) as u64;
    if epoch != st.epoch {
        st.epoch = epoch;
        st.counts.clear();
    }
}

/// The three networks `ip` is counted in, as 16-byte masked addresses (an IPv4 address is
/// mapped into the IPv6 space so the two never collide).
fn classes(ip: IpAddr) -> [[u8; 16]; 3] {
    let (bytes, prefixes) = match ip {
        IpAddr::V4(v4) => (v4.to_ipv6_mapped().octets(), IPV4_PREFIXES.map(|p| p + 96)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (v4.to_ipv6_mapped().octets(), IPV4_PREFIXES.map(|p| p + 96)),
            None => (v6.octets(), IPV6_PREFIXES),
        },
    };
    prefixes.map(|bits| mask(bytes, bits))
}

fn mask(mut bytes: [u8; 16], bits: u8) -> [u8; 16] {
    for (i, b) in bytes.iter_mut().enumerate() {
        let start = (i * 8) as u8;
        if start >= bits {
            *b = 0;
        } else if bits - start < 8 {
            *b &= 0xffu8 << (8 - (bits - start));
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn an_address_and_its_networks_are_limited_separately() {
        let l =
            Limiter::new(vec![WindowLimit { window: Duration::from_secs(60), limits: [2, 3, 4] }]);
        let t = at(600);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(l.add(a, t, 1) && l.add(a, t, 1));
        assert!(!l.add(a, t, 1), "the address's own limit is 2");
        // Same /26, other address: counts towards the /26 limit of 3.
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.add(b, t, 1));
        assert!(!l.add(b, t, 1), "the /26 is full");
        // Other /26 in the same /21: the /21 allows one more.
        let c: IpAddr = "192.0.2.100".parse().unwrap();
        assert!(l.add(c, t, 1));
        assert!(!l.can_add("192.0.3.1".parse().unwrap(), t, 1), "the /21 is full");
        assert!(l.can_add("192.0.16.1".parse().unwrap(), t, 1), "another /21");
    }

    #[test]
    fn counts_end_with_their_window_and_reset_forgets_them() {
        let l = Limiter::new(vec![WindowLimit {
            window: Duration::from_secs(60),
            limits: [1, 10, 10],
        }]);
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(l.add(a, at(120), 1));
        assert!(!l.add(a, at(179), 1));
        assert!(l.add(a, at(180), 1), "a new minute");
        l.reset(a, at(181));
        assert!(l.add(a, at(182), 1));
        // Another address in the same /64 shares the narrowest IPv6 class.
        assert!(!l.can_add("2001:db8::2".parse().unwrap(), at(182), 1));
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_ipv4() {
        let l = Limiter::new(vec![WindowLimit {
            window: Duration::from_secs(60),
            limits: [1, 10, 10],
        }]);
        assert!(l.add("192.0.2.1".parse().unwrap(), at(60), 1));
        assert!(!l.can_add("::ffff:192.0.2.1".parse().unwrap(), at(60), 1));
    }

    #[test]
    fn masks() {
        assert_eq!(mask([0xff; 16], 0), [0; 16]);
        assert_eq!(mask([0xff; 16], 128), [0xff; 16]);
        let m = mask([0xff; 16], 21);
        assert_eq!(&m[..4], &[0xff, 0xff, 0xf8, 0]);
    }
}
