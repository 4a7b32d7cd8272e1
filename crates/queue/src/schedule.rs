//! The retry schedule, as mox's: the first attempt at once, then waits of 7.5 minutes doubling
//! each time (15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 16 h), each with a few seconds of jitter so
//! messages queued together spread out (RFC 5321 §4.5.4.1 asks for retries of at least 30
//! minutes at first; mox starts sooner for greylisting, which usually passes after minutes).
//!
//! | attempt | after the previous | since queued |
//! |--------:|-------------------:|-------------:|
//! | 1       | —                  | 0            |
//! | 2       | 7.5 min            | 7.5 min      |
//! | 3       | 15 min             | 22.5 min     |
//! | 4       | 30 min             | 52.5 min     |
//! | 5       | 1 h                | 1 h 52 min   |
//! | 6       | 2 h                | 3 h 52 min   |
//! | 7       | 4 h                | 7 h 52 min   |
//! | 8       | 8 h                | 15 h 52 min  |
//! | 9       | 16 h               | 31 h 52 min  |
//!
//! After attempt 6 fails (about 4 hours after queueing) the sender gets one "delayed" DSN
//! saying the next attempts come in 4, 8 and 16 hours; after attempt 9 fails, a "failed" DSN.
//! (mox's own code gives up after 8 attempts although its comment and its delayed DSN's text
//! describe these 9; the 16-hour wait makes the 9th.)

use std::time::Duration;

/// How many attempts before giving up, unless an entry says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 9;

/// After this many failed attempts, a "delayed" DSN is sent (once).
pub const DELAYED_DSN_AFTER_ATTEMPTS: u32 = 6;

/// The first wait, before the second attempt.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(7 * 60 + 30);

/// The jitter added to the first wait, in seconds either way; doubled with the wait.
pub const JITTER_SECONDS: u64 = 5;

/// How long to wait after `attempts` attempts failed (`attempts` ≥ 1), with `random` (any
/// value) choosing the jitter.
///
/// ```
/// use std::time::Duration;
/// let wait = queue::backoff(1, 5); // 5 % 11 = 5: no jitter
/// assert_eq!(wait, Duration::from_secs(450));
/// assert_eq!(queue::backoff(5, 5), Duration::from_secs(2 * 3600));
/// let jittered = queue::backoff(1, 0);
/// assert_eq!(jittered, Duration::from_secs(445));
/// ```
pub fn backoff(attempts: u32, random: u64) -> Duration {
    let jitter = (random % (2 * JITTER_SECONDS + 1)) as i64 - JITTER_SECONDS as i64;
    let base = FIRST_BACKOFF.as_secs() as i64 + jitter;
    let doublings = attempts.saturating_sub(1).min(20);
    Duration::from_secs((base as u64) << doublings)
}

/// Random bits for jitter and for ordering MX hosts of equal preference.
pub(crate) fn random_u64() -> u64 {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    // The system random source does not fail on Linux; a fixed value only loses the jitter.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_as_documented() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n, JITTER_SECONDS).as_secs()).collect();
        assert_eq!(waits, [450, 900, 1800, 3600, 7200, 14400, 28800, 57600]);
        let mut since_queued = 0;
        for wait in &waits[..DELAYED_DSN_AFTER_ATTEMPTS as usize - 1] {
            since_queued += wait;
        }
        // The delayed DSN goes out after the 6th attempt, close to 4 hours after queueing.
        assert_eq!(since_queued, 3 * 3600 + 52 * 60 + 30);
        let jitters: std::collections::BTreeSet<u64> =
            (0..100).map(|r| backoff(1, r).as_secs()).collect();
        assert_eq!(jitters.first(), Some(&445));
        assert_eq!(jitters.last(), Some(&455));
        assert_eq!(backoff(3, 0).as_secs(), 445 * 4);
        // Absurd attempt counts do not overflow.
        assert!(backoff(u32::MAX, 0) > Duration::from_secs(1 << 20));
        assert_ne!(random_u64(), random_u64());
    }
}
