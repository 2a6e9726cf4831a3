//! Time as the operations see it: real, or driven by a test.

use futures::future::BoxFuture;
use std::time::{Duration, SystemTime};

/// Time as the operations see it: every bake, soak, lock wait and metric
/// window asks this clock, so tests drive time instead of waiting for it.
/// (The lock's heartbeat alone keeps to real time: other runs read the
/// expiry it writes against their own clocks.)
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()>;
}

/// The system clock and tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

#[cfg(test)]
/// A clock that moves only when told to, or when slept on (a sleep returns at
/// once, the clock having advanced by its duration).
#[derive(Debug)]
pub struct TestClock {
    now: std::sync::Mutex<SystemTime>,
}

#[cfg(test)]
impl TestClock {
    pub fn at(now: SystemTime) -> TestClock {
        TestClock {
            now: std::sync::Mutex::new(now),
        }
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("clock lock") += by;
    }
}

#[cfg(test)]
impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().expect("clock lock")
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        self.advance(duration);
        Box::pin(tokio::task::yield_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_test_clock_moves_when_slept_on_and_when_told() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = TestClock::at(start);
        clock.sleep(Duration::from_secs(90)).await;
        assert_eq!(clock.now(), start + Duration::from_secs(90));
        clock.advance(Duration::from_secs(10));
        assert_eq!(clock.now(), start + Duration::from_secs(100));
    }
}
