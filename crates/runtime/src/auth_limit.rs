//! Failed logins per IP address, shared by the SMTP and IMAP servers: after a few failures
//! from an address each further failure is answered more slowly, and too many failures from
//! an address or its network lock it out for the rest of the window (mox's limits: 10, 30 and
//! 90 failures a minute and 50, 150 and 450 a day for the address, its /26 (/48) and its /21
//! (/32)).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::ratelimit::{Limiter, WindowLimit};

/// Failed-login accounting. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct AuthLimiter {
    lockout: Limiter,
    /// Failures per address in the current minute, for the delay (the lockout limiter only
    /// says yes or no).
    recent: Limiter,
    delay_unit: Duration,
    max_delay: Duration,
}

/// The address or its network failed to log in too often; no further attempts are taken
/// until the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins from this address or network; try again later")]
pub struct LockedOut;

/// Failures from one address, in a minute, before delays start.
const FREE_FAILURES: u64 = 3;

impl Default for AuthLimiter {
    fn default() -> Self {
        AuthLimiter::new(Duration::from_secs(1), Duration::from_secs(15))
    }
}

impl AuthLimiter {
    /// mox's lockout limits; after three failures in a minute from an address, the n-th
    /// further failure is answered after n × `delay_unit`, at most `max_delay`. Tests use a
    /// zero `delay_unit`.
    pub fn new(delay_unit: Duration, max_delay: Duration) -> AuthLimiter {
        AuthLimiter {
            lockout: Limiter::new(vec![
                WindowLimit { window: Duration::from_secs(60), limits: [10, 30, 90] },
                WindowLimit { window: Duration::from_secs(24 * 3600), limits: [50, 150, 450] },
            ]),
            recent: Limiter::new(vec![WindowLimit {
                window: Duration::from_secs(60),
                limits: [u64::MAX; 3],
            }]),
            delay_unit,
            max_delay,
        }
    }

    /// Call before taking a login attempt from `ip`: refused while it is locked out.
    pub fn check(&self, ip: IpAddr) -> Result<(), LockedOut> {
        if self.lockout.can_add(ip, SystemTime::now(), 1) { Ok(()) } else { Err(LockedOut) }
    }

    /// Records a failed login from `ip` and returns how long to wait before answering it.
    pub fn failed(&self, ip: IpAddr) -> Duration {
        let now = SystemTime::now();
        self.lockout.add(ip, now, 1);
        self.recent.add(ip, now, 1);
        let failures = self.recent_failures(ip, now);
        let extra = failures.saturating_sub(FREE_FAILURES);
        self.delay_unit.saturating_mul(extra.min(u64::from(u32::MAX)) as u32).min(self.max_delay)
    }

    /// Records a successful login from `ip`: its failures are forgotten.
    pub fn succeeded(&self, ip: IpAddr) {
        let now = SystemTime::now();
        self.lockout.reset(ip, now);
        self.recent.reset(ip, now);
    }

    /// Failures counted for the address itself in the current minute.
    fn recent_failures(&self, ip: IpAddr, now: SystemTime) -> u64 {
        self.recent.count(ip, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_after_three_failures_and_success_resets() {
        let l = AuthLimiter::new(Duration::from_millis(100), Duration::from_millis(450));
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let delays: Vec<_> = (0..8).map(|_| l.failed(ip).as_millis()).collect();
        assert_eq!(delays, [0, 0, 0, 100, 200, 300, 400, 450]);
        l.succeeded(ip);
        assert_eq!(l.failed(ip), Duration::ZERO);
    }

    #[test]
    fn ten_failures_a_minute_lock_an_address_out_but_not_its_neighbour_network() {
        let l = AuthLimiter::new(Duration::ZERO, Duration::ZERO);
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        for _ in 0..10 {
            assert_eq!(l.check(ip), Ok(()));
            l.failed(ip);
        }
        assert_eq!(l.check(ip), Err(LockedOut));
        assert_eq!(l.check("198.51.100.8".parse().unwrap()), Ok(()), "same /26, 10 of 30");
        assert_eq!(l.check("203.0.113.1".parse().unwrap()), Ok(()));
    }
}
