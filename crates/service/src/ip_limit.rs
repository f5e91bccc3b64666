//! Per-source-IP limit on failed logins and registrations: a sliding window of `window`
//! allowing `max_attempts`, estimated from two fixed buckets (the current one and the previous
//! one, weighted by how much of it still overlaps the window), so it needs two counters per
//! address and no list of timestamps. IPv6 clients are grouped by /64, the block one subscriber
//! usually holds, so rotating through one's own addresses does not reset the count.
//! The counters live in DynamoDB (`store::ip_limit`), shared by every instance.

use std::net::IpAddr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpLimitPolicy {
    /// Attempts allowed per window; 0 turns the limit off.
    pub max_attempts: u32,
    pub window: Duration,
}

impl Default for IpLimitPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 100,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// The counts of the two buckets the window overlaps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowCounts {
    pub previous: u32,
    pub current: u32,
}

/// The key an address is counted under: the IPv4 address, or the IPv6 /64 prefix.
pub fn source_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

impl IpLimitPolicy {
    pub fn enabled(&self) -> bool {
        self.max_attempts > 0
    }

    fn window_seconds(&self) -> i64 {
        i64::try_from(self.window.as_secs())
            .unwrap_or(i64::MAX)
            .max(1)
    }

    /// The fixed bucket `now` falls in.
    pub fn bucket(&self, now: i64) -> i64 {
        now.div_euclid(self.window_seconds())
    }

    /// When a bucket's counter can be forgotten: once no window overlaps it any more.
    pub fn bucket_expiry(&self, bucket: i64) -> i64 {
        bucket
            .saturating_add(2)
            .saturating_mul(self.window_seconds())
    }

    /// Seconds until the next attempt is allowed (whole, at least 1), or `None` when the
    /// estimated count in the window ending `now` is below the limit.
    pub fn retry_after(&self, counts: WindowCounts, now: i64) -> Option<u64> {
        if !self.enabled() {
            return None;
        }
        let w = i128::from(self.window_seconds());
        let elapsed = i128::from(now.rem_euclid(self.window_seconds()));
        let max = i128::from(self.max_attempts);
        let previous = i128::from(counts.previous);
        let current = i128::from(counts.current);
        // estimate = previous · (w − elapsed)/w + current, compared without division.
        let limited = previous * (w - elapsed) + current * w >= max * w;
        if !limited {
            return None;
        }
        let wait = if current >= max {
            // The current bucket alone is over: wait for it to become the previous one and
            // for enough of it to slide out.
            (w - elapsed) + (w * (current - max)) / current + 1
        } else {
            // Enough of the previous bucket must slide out; `previous` > 0 here.
            (previous * (w - elapsed) - (max - current) * w) / previous.max(1) + 1
        };
        Some(u64::try_from(wait).unwrap_or(u64::MAX).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy(max_attempts: u32, seconds: u64) -> IpLimitPolicy {
        IpLimitPolicy {
            max_attempts,
            window: Duration::from_secs(seconds),
        }
    }

    fn counts(previous: u32, current: u32) -> WindowCounts {
        WindowCounts { previous, current }
    }

    #[test]
    fn ipv6_is_grouped_by_64_and_ipv4_kept_whole() {
        let key = |text: &str| source_key(text.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::ffff"));
        assert_eq!(key("2001:db8:1:2::7"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_ne!(key("203.0.113.9"), key("203.0.113.10"));
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
    }

    #[test]
    fn below_the_limit_nothing_waits() {
        let policy = policy(10, 100);
        assert_eq!(policy.retry_after(counts(0, 9), 1_000), None);
        // Half the previous bucket still overlaps: 10·½ + 4 = 9.
        assert_eq!(policy.retry_after(counts(10, 4), 1_050), None);
    }

    #[test]
    fn a_full_current_bucket_waits_until_enough_of_it_slides_out() {
        let policy = policy(10, 100);
        // 10 at t=1000 (elapsed 0): the bucket ends at 1100; from then 10·(100−t')/100 < 10
        // needs t' ≥ 1.
        assert_eq!(policy.retry_after(counts(0, 10), 1_000), Some(101));
        // 20 in the bucket: at 1100 + 51, 20·49/100 = 9.8 < 10.
        assert_eq!(policy.retry_after(counts(0, 20), 1_000), Some(151));
    }

    #[test]
    fn the_previous_bucket_weighs_less_as_it_slides_out() {
        let policy = policy(10, 100);
        // At elapsed 20: 10·0.8 + 5 = 13 ≥ 10; at elapsed 51: 10·0.49 + 5 = 9.9.
        assert_eq!(policy.retry_after(counts(10, 5), 1_020), Some(31));
    }

    #[test]
    fn zero_turns_the_limit_off() {
        assert_eq!(policy(0, 100).retry_after(counts(99, 99), 1_000), None);
    }

    /// The estimate at `now + wait`, moving the buckets along as time crosses their edges.
    fn limited_at(policy: &IpLimitPolicy, counts: WindowCounts, now: i64, later: i64) -> bool {
        let moved = policy.bucket(later) - policy.bucket(now);
        let counts = match moved {
            0 => counts,
            1 => WindowCounts {
                previous: counts.current,
                current: 0,
            },
            _ => WindowCounts::default(),
        };
        policy.retry_after(counts, later).is_some()
    }

    proptest! {
        #[test]
        fn retry_after_is_exactly_when_the_next_attempt_is_allowed(
            max in 1u32..200,
            window in 1u64..4_000,
            previous in 0u32..400,
            current in 0u32..400,
            now in 0i64..10_000_000,
        ) {
            let policy = policy(max, window);
            let counts = counts(previous, current);
            if let Some(wait) = policy.retry_after(counts, now) {
                let wait = i64::try_from(wait).unwrap();
                prop_assert!(wait >= 1);
                prop_assert!(!limited_at(&policy, counts, now, now + wait), "allowed after the wait");
                prop_assert!(limited_at(&policy, counts, now, now + wait - 1), "and not a second before");
            }
        }
    }
}
