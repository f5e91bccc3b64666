//! How strongly a session was authenticated: the authenticator assurance level (`aal`, our
//! claim, after NIST SP 800-63B) and the methods used (`amr`, RFC 8176 values where one exists).
//! A session keeps both across refreshes; tokens carry them; the authorizer reads `aal`.

use serde::{Deserialize, Serialize};

/// `aal1`: one factor (a password). `aal2`: a second factor was verified in this session.
/// A token or session without the claim reads as `aal1`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Aal {
    #[default]
    Aal1,
    Aal2,
}

impl Aal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aal1 => "aal1",
            Self::Aal2 => "aal2",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "aal1" => Some(Self::Aal1),
            "aal2" => Some(Self::Aal2),
            _ => None,
        }
    }
}

/// One authentication method. `pwd` and `otp` are RFC 8176's; `recovery_code` (a single-use
/// code from the set shown at enrolment) has no registered value and is ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    Pwd,
    /// Signed in through a federated identity provider (RFC 8176 `fed`).
    Fed,
    Otp,
    RecoveryCode,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pwd => "pwd",
            Self::Fed => "fed",
            Self::Otp => "otp",
            Self::RecoveryCode => "recovery_code",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pwd" => Some(Self::Pwd),
            "fed" => Some(Self::Fed),
            "otp" => Some(Self::Otp),
            "recovery_code" => Some(Self::RecoveryCode),
            _ => None,
        }
    }

    /// Whether this method is a second factor.
    pub fn is_second_factor(self) -> bool {
        matches!(self, Self::Otp | Self::RecoveryCode)
    }
}

/// A session's assurance: its level, the methods behind it (in the order used, no repeats),
/// and when its second factor was last verified (epoch seconds; what step-up checks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assurance {
    pub aal: Aal,
    pub amr: Vec<AuthMethod>,
    pub second_factor_at: Option<i64>,
}

impl Assurance {
    /// A password sign-in.
    pub fn password() -> Self {
        Self {
            aal: Aal::Aal1,
            amr: vec![AuthMethod::Pwd],
            second_factor_at: None,
        }
    }

    /// This assurance after `method` (a second factor) was verified at `now`.
    /// A sign-in through an identity provider: one factor, as far as this service can tell
    /// (the provider's own factors are its business).
    pub fn federated() -> Self {
        Self {
            amr: vec![AuthMethod::Fed],
            ..Self::password()
        }
    }

    /// The assurance of a first factor alone: the start of a second step.
    pub fn first_factor(method: AuthMethod) -> Self {
        match method {
            AuthMethod::Fed => Self::federated(),
            _ => Self::password(),
        }
    }

    pub fn with_second_factor(&self, method: AuthMethod, now: i64) -> Self {
        let mut amr = self.amr.clone();
        if !amr.contains(&method) {
            amr.push(method);
        }
        Self {
            aal: Aal::Aal2,
            amr,
            second_factor_at: Some(now),
        }
    }

    /// Whether a second factor was verified within `recent_seconds` before `now`.
    pub fn second_factor_within(&self, recent_seconds: i64, now: i64) -> bool {
        self.second_factor_at.is_some_and(|at| {
            at <= now.saturating_add(5) && now < at.saturating_add(recent_seconds)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_use_the_documented_spellings() {
        assert_eq!(
            serde_json::to_string(&Aal::Aal2).ok().as_deref(),
            Some("\"aal2\"")
        );
        let amr = [
            AuthMethod::Pwd,
            AuthMethod::Fed,
            AuthMethod::Otp,
            AuthMethod::RecoveryCode,
        ];
        assert_eq!(
            serde_json::to_string(&amr).ok().as_deref(),
            Some(r#"["pwd","fed","otp","recovery_code"]"#)
        );
        for method in amr {
            assert_eq!(AuthMethod::parse(method.as_str()), Some(method));
        }
        assert_eq!(Aal::parse("aal3"), None);
        assert_eq!(Aal::default(), Aal::Aal1);
    }

    #[test]
    fn a_second_factor_raises_the_level_once_and_is_recent_for_a_while() {
        let stepped = Assurance::password()
            .with_second_factor(AuthMethod::Otp, 100)
            .with_second_factor(AuthMethod::Otp, 200);
        assert_eq!(stepped.aal, Aal::Aal2);
        assert_eq!(stepped.amr, [AuthMethod::Pwd, AuthMethod::Otp]);
        assert!(stepped.second_factor_within(900, 1099));
        assert!(!stepped.second_factor_within(900, 1100));
        assert!(!Assurance::password().second_factor_within(900, 100));
        assert!(
            !stepped.second_factor_within(900, 100),
            "a time in the future (a corrupt item) is not recent"
        );
    }
}
