//! The clock the junk benchmarks measure with: wall time, criterion's default, or with
//! `JUNK_BENCH_CLOCK=cpu` the CPU time of the benchmarking thread, which leaves out the time
//! it waited for a CPU. On a shared machine with more runnable threads than cores, wall time
//! is mostly waiting; CPU time still grows a little with load (caches and cores are shared),
//! but far less.

use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// Wall time or thread CPU time, chosen by `JUNK_BENCH_CLOCK`.
pub(crate) struct Clock {
    cpu: bool,
    wall: WallTime,
}

impl Clock {
    pub(crate) fn from_env() -> Clock {
        let cpu = std::env::var("JUNK_BENCH_CLOCK").is_ok_and(|v| v == "cpu");
        println!("clock: {}", if cpu { "thread CPU time" } else { "wall time" });
        Clock { cpu, wall: WallTime }
    }
}

impl Measurement for Clock {
    type Intermediate = (Instant, Duration);
    type Value = Duration;

    fn start(&self) -> Self::Intermediate {
        (Instant::now(), if self.cpu { thread_cpu_time() } else { Duration::ZERO })
    }

    fn end(&self, (wall, cpu): Self::Intermediate) -> Duration {
        if self.cpu { thread_cpu_time().saturating_sub(cpu) } else { wall.elapsed() }
    }

    fn add(&self, v1: &Duration, v2: &Duration) -> Duration {
        *v1 + *v2
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

#[allow(unsafe_code)]
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec to the valid pointer it is given.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
