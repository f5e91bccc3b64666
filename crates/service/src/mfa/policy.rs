//! How the second factor behaves: names, lifetimes and brakes, from `crate::config`.

use std::time::Duration;

use crate::throttle::BackoffPolicy;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPolicy {
    /// `MFA_ISSUER`: how authenticator apps name the account's entry.
    pub issuer: String,
    /// `MFA_CHALLENGE_TTL` (5m): how long a login's second step may wait.
    pub challenge_ttl: Duration,
    /// `MFA_MAX_FAILURES` (5), `MFA_BACKOFF` (30s), `MFA_BACKOFF_MAX` (1h): failed codes per
    /// account before each further one waits out a doubling window. Never a lockout.
    pub backoff: BackoffPolicy,
    /// `MFA_RECENT` (15m): how long a verified second factor counts for step-up.
    pub recent: Duration,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            issuer: "JWT Auth".to_owned(),
            challenge_ttl: Duration::from_secs(5 * 60),
            backoff: BackoffPolicy {
                max_failures: 5,
                backoff: Duration::from_secs(30),
                backoff_max: Duration::from_secs(3600),
            },
            recent: Duration::from_secs(15 * 60),
        }
    }
}

impl MfaPolicy {
    pub fn recent_seconds(&self) -> i64 {
        i64::try_from(self.recent.as_secs()).unwrap_or(i64::MAX)
    }

    pub fn challenge_seconds(&self) -> i64 {
        i64::try_from(self.challenge_ttl.as_secs()).unwrap_or(i64::MAX)
    }
}
