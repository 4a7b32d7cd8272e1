//! How many connections a server holds at once: in total, and from one IP address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Connection limits for one service or a set of services. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct ConnectionLimiter {
    max_total: usize,
    max_per_ip: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitReached {
    /// The server holds as many connections as it takes.
    #[error("too many connections")]
    Total,
    /// This address holds as many connections as one address may.
    #[error("too many connections from this address")]
    PerIp,
}

/// A connection's place within the limits; given back when dropped.
#[derive(Debug)]
pub struct ConnectionPermit {
    limiter: Arc<ConnectionLimiter>,
    ip: IpAddr,
}

impl ConnectionLimiter {
    /// At most `max_total` connections, and `max_per_ip` from one address.
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<ConnectionLimiter> {
        Arc::new(ConnectionLimiter { max_total, max_per_ip, state: Mutex::default() })
    }

    /// Takes a place for a connection from `ip`, if the limits allow.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionPermit, LimitReached> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if st.total >= self.max_total {
            return Err(LimitReached::Total);
        }
        let n = st.per_ip.entry(ip).or_default();
        if *n >= self.max_per_ip {
            return Err(LimitReached::PerIp);
        }
        *n += 1;
        st.total += 1;
        Ok(ConnectionPermit { limiter: self.clone(), ip })
    }

    /// Connections held now.
    pub fn total(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).total
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut st = self.limiter.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.total = st.total.saturating_sub(1);
        if let Some(n) = st.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                st.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_ip_and_in_total_and_permits_are_given_back() {
        let l = ConnectionLimiter::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let p1 = l.try_acquire(a).unwrap();
        let _p2 = l.try_acquire(a).unwrap();
        assert_eq!(l.try_acquire(a).unwrap_err(), LimitReached::PerIp);
        let _p3 = l.try_acquire(b).unwrap();
        assert_eq!(l.try_acquire(b).unwrap_err(), LimitReached::Total);
        drop(p1);
        assert_eq!(l.total(), 2);
        assert!(l.try_acquire(b).is_ok());
    }
}
