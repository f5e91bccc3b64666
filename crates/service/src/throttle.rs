//! Login backoff per email: after `max_failures` consecutive failures, each further attempt
//! waits out a window that starts at `backoff` and doubles with each further failure, up to
//! `backoff_max`. A delay, never a lockout: the window always ends, and the cap bounds what a
//! guesser can impose on the account's owner. The streak lives in DynamoDB next to the
//! credentials (`store::throttle`), so every instance sees the same one.

use std::time::Duration;

/// The consecutive failures recorded for an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureStreak {
    pub failures: u32,
    /// Epoch seconds of the latest failure.
    pub last_failure_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    pub max_failures: u32,
    pub backoff: Duration,
    pub backoff_max: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            backoff: Duration::from_secs(1),
            backoff_max: Duration::from_secs(15 * 60),
        }
    }
}

/// How long a streak is remembered after its latest failure (the item's TTL). Longer than any
/// window, so waiting out the cap does not reset the count.
pub const STREAK_MEMORY: Duration = Duration::from_secs(24 * 60 * 60);

impl BackoffPolicy {
    /// The window after `failures` consecutive failures; zero below the threshold.
    pub fn window(&self, failures: u32) -> Duration {
        let Some(beyond) = failures.checked_sub(self.max_failures) else {
            return Duration::ZERO;
        };
        // 2^beyond overflows nothing: the exponent is capped well before u32 runs out.
        let factor = 1u32.checked_shl(beyond.min(31)).unwrap_or(u32::MAX);
        self.backoff
            .checked_mul(factor)
            .unwrap_or(self.backoff_max)
            .min(self.backoff_max)
    }

    /// Seconds to wait before the next attempt is evaluated, if any (whole seconds, at least 1).
    pub fn retry_after(&self, streak: Option<FailureStreak>, now: i64) -> Option<u64> {
        let streak = streak?;
        let window = i64::try_from(self.window(streak.failures).as_secs()).unwrap_or(i64::MAX);
        let until = streak.last_failure_at.saturating_add(window);
        let left = until.saturating_sub(now);
        (window > 0 && left > 0).then(|| u64::try_from(left).unwrap_or(1).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BackoffPolicy {
        BackoffPolicy {
            max_failures: 3,
            backoff: Duration::from_secs(2),
            backoff_max: Duration::from_secs(10),
        }
    }

    #[test]
    fn the_window_opens_at_the_threshold_doubles_and_stops_at_the_cap() {
        let windows: Vec<u64> = (0..8).map(|n| policy().window(n).as_secs()).collect();
        assert_eq!(windows, [0, 0, 0, 2, 4, 8, 10, 10]);
        assert_eq!(
            policy().window(u32::MAX),
            Duration::from_secs(10),
            "no overflow"
        );
    }

    #[test]
    fn an_attempt_inside_the_window_waits_whole_seconds_and_one_after_it_is_evaluated() {
        let streak = Some(FailureStreak {
            failures: 4,
            last_failure_at: 100,
        });
        assert_eq!(policy().retry_after(streak, 100), Some(4));
        assert_eq!(policy().retry_after(streak, 103), Some(1));
        assert_eq!(policy().retry_after(streak, 104), None);
        assert_eq!(policy().retry_after(None, 100), None);
        let below = Some(FailureStreak {
            failures: 2,
            last_failure_at: 100,
        });
        assert_eq!(policy().retry_after(below, 100), None);
    }
}
