//! Time, injectable: the queue asks a [`Clock`] what time it is and to wait until a moment, so
//! tests run the retry schedule (hours) in milliseconds with a [`ManualClock`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A future that completes at a moment of a clock.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The queue's source of time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
    /// Completes when [`now`](Clock::now) has reached `deadline` (at once if it has).
    fn sleep_until(&self, deadline: SystemTime) -> Sleep;
}

/// The system's clock and tokio's timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, deadline: SystemTime) -> Sleep {
        let wait = deadline.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told, for tests: [`advance`](ManualClock::advance) wakes every
/// sleeper whose deadline has come.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use queue::{Clock, ManualClock};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// let start = clock.now();
/// let sleep = clock.sleep_until(start + Duration::from_secs(3600));
/// clock.advance(Duration::from_secs(3600));
/// sleep.await; // completes at once: an hour passed on this clock
/// assert_eq!(clock.now(), start + Duration::from_secs(3600));
/// # }
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
    changed: tokio::sync::watch::Sender<SystemTime>,
}

impl ManualClock {
    /// A clock at `start`.
    pub fn new(start: SystemTime) -> ManualClock {
        let (changed, _) = tokio::sync::watch::channel(start);
        ManualClock { now: Mutex::new(start), changed }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
        self.changed.send_replace(*now);
    }

    /// Sets the clock (it may go back).
    pub fn set(&self, to: SystemTime) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = to;
        self.changed.send_replace(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep_until(&self, deadline: SystemTime) -> Sleep {
        let mut changes = self.changed.subscribe();
        Box::pin(async move {
            loop {
                if *changes.borrow_and_update() >= deadline {
                    return;
                }
                if changes.changed().await.is_err() {
                    // The clock is gone; nothing will ever wake us.
                    std::future::pending::<()>().await;
                }
            }
        })
    }
}

/// Milliseconds since the Unix epoch, as entries store times.
pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The time of a stored millisecond value.
pub(crate) fn from_unix_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_in_order() {
        let start = UNIX_EPOCH + Duration::from_secs(1000);
        let clock = std::sync::Arc::new(ManualClock::new(start));
        let early = tokio::spawn(clock.sleep_until(start + Duration::from_secs(10)));
        let late = tokio::spawn(clock.sleep_until(start + Duration::from_secs(20)));
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(15));
        early.await.unwrap();
        tokio::task::yield_now().await;
        assert!(!late.is_finished());
        clock.advance(Duration::from_secs(5));
        late.await.unwrap();
        // A deadline in the past completes at once.
        clock.sleep_until(start).await;
        assert_eq!(unix_ms(clock.now()), 1_020_000);
        assert_eq!(from_unix_ms(1_020_000), clock.now());
    }
}
