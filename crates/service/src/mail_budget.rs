//! How much mail the mailer may send, so nobody can spend the SES quota or its reputation:
//! per recipient and overall, per clock hour and per UTC day, in two pools. Password resets
//! have a pool of their own, so a flood of sign-ups (verification mail) cannot starve them,
//! and each recipient's budget is counted per pool too.
//!
//! The defaults fit SES's starting production quota (50,000 a day): each pool may spend at
//! most 20,000 a day and 2,000 an hour, and one address gets at most 5 mails of a pool an hour
//! and 10 a day (with `MAIL_MIN_INTERVAL`, at most one a minute).

use crate::store::MailKind;

/// Mail a budget counts together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailPool {
    /// Password-reset links.
    Reset,
    /// Everything else: verification and sign-up links, sign-up notices.
    Account,
}

impl MailPool {
    pub fn of(kind: MailKind) -> Self {
        match kind {
            MailKind::PasswordReset => Self::Reset,
            MailKind::EmailVerification | MailKind::SignupConfirmation => Self::Account,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Account => "account",
        }
    }
}

/// An hourly and a daily limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLimits {
    pub hourly: u32,
    pub daily: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailBudgets {
    /// One address, within one pool.
    pub recipient: PoolLimits,
    pub reset: PoolLimits,
    pub account: PoolLimits,
}

impl Default for MailBudgets {
    fn default() -> Self {
        let pool = PoolLimits {
            hourly: 2_000,
            daily: 20_000,
        };
        Self {
            recipient: PoolLimits {
                hourly: 5,
                daily: 10,
            },
            reset: pool,
            account: pool,
        }
    }
}

impl MailBudgets {
    pub fn pool(&self, pool: MailPool) -> PoolLimits {
        match pool {
            MailPool::Reset => self.reset,
            MailPool::Account => self.account,
        }
    }
}

/// A budget window: its length, and the name its counters carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Hour,
    Day,
}

impl Window {
    pub fn seconds(self) -> i64 {
        match self {
            Self::Hour => 3_600,
            Self::Day => 86_400,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "HOUR",
            Self::Day => "DAY",
        }
    }

    /// The window `now` falls in (clock hours and UTC days).
    pub fn bucket(self, now: i64) -> i64 {
        now.div_euclid(self.seconds())
    }

    /// When the window holding `now` ends: its counters are kept until then.
    pub fn end(self, now: i64) -> i64 {
        self.bucket(now)
            .saturating_add(1)
            .saturating_mul(self.seconds())
    }
}

/// Which budget refused a mail, for the audit trail and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    Recipient(Window),
    Pool(Window),
}

impl Exhausted {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recipient(Window::Hour) => "recipient_hourly",
            Self::Recipient(Window::Day) => "recipient_daily",
            Self::Pool(Window::Hour) => "pool_hourly",
            Self::Pool(Window::Day) => "pool_daily",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_clock_hours_and_utc_days() {
        let noon = 1_764_676_800; // 2025-12-02T12:00:00Z
        assert_eq!(Window::Hour.bucket(noon), Window::Hour.bucket(noon + 3_599));
        assert_ne!(Window::Hour.bucket(noon), Window::Hour.bucket(noon + 3_600));
        assert_eq!(Window::Hour.end(noon + 10), noon + 3_600);
        assert_eq!(Window::Day.end(noon), noon + 12 * 3_600);
        assert_eq!(
            Window::Day.bucket(noon - 12 * 3_600),
            Window::Day.bucket(noon)
        );
    }

    #[test]
    fn resets_have_a_pool_of_their_own() {
        assert_eq!(MailPool::of(MailKind::PasswordReset), MailPool::Reset);
        assert_eq!(MailPool::of(MailKind::EmailVerification), MailPool::Account);
        let budgets = MailBudgets::default();
        assert!(budgets.reset.daily + budgets.account.daily <= 50_000);
    }
}
