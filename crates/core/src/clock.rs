//! The source of "now", passed to everything that compares timestamps so tests can move time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// The wall clock shifted by an offset that tests can advance (e.g. past a session's expiry).
#[derive(Debug, Clone, Default)]
pub struct AdjustableClock {
    offset_seconds: Arc<AtomicI64>,
}

impl AdjustableClock {
    pub fn advance(&self, seconds: i64) {
        self.offset_seconds.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for AdjustableClock {
    fn now(&self) -> i64 {
        SystemClock.now() + self.offset_seconds.load(Ordering::SeqCst)
    }
}

pub type SharedClock = Arc<dyn Clock>;
