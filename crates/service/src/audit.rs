//! Audit events: one JSON line per security-relevant event, with a stable `event` name, the user
//! and session where known, the client's address and user agent, and the outcome. Each line is
//! also a CloudWatch embedded-metric-format (EMF) document counting the event, so metrics and
//! alarms come from the logs Lambda already ships: no SDK call, no added latency.
//!
//! Lines carry ids, never a password, token, digest, hash or email.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::http::client::ClientInfo;

/// Every event, its line's `event` name and its metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    UserRegistered,
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    TokenRefreshed,
    RefreshReuseDetected,
    LoggedOut,
    LoggedOutEverywhere,
    CsrfRejected,
    IpLimited,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    PasswordResetFailed,
    EmailVerified,
    EmailVerificationFailed,
    SessionRevoked,
    AccountDeleted,
    MfaEnrolmentStarted,
    MfaEnabled,
    MfaChallenged,
    MfaVerified,
    MfaFailed,
    MfaThrottled,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    MfaDisabled,
    MfaRemovedByOperator,
    MailSuppressed,
    MailBudgetExceeded,
    MailRejected,
    MailDeferred,
    MailMisconfigured,
    MailParked,
    MailRedriven,
    SignupRequested,
    SignupConfirmationFailed,
    FederatedSignIn,
    FederatedSignInFailed,
    IdentityLinked,
    IdentityUnlinked,
}

/// How an event ended, for filtering the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Refused,
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 41] = [
        Self::UserRegistered,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoginThrottled,
        Self::TokenRefreshed,
        Self::RefreshReuseDetected,
        Self::LoggedOut,
        Self::LoggedOutEverywhere,
        Self::CsrfRejected,
        Self::IpLimited,
        Self::PasswordChanged,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::PasswordResetFailed,
        Self::EmailVerified,
        Self::EmailVerificationFailed,
        Self::SessionRevoked,
        Self::AccountDeleted,
        Self::MfaEnrolmentStarted,
        Self::MfaEnabled,
        Self::MfaChallenged,
        Self::MfaVerified,
        Self::MfaFailed,
        Self::MfaThrottled,
        Self::RecoveryCodeUsed,
        Self::RecoveryCodesRegenerated,
        Self::MfaDisabled,
        Self::MfaRemovedByOperator,
        Self::MailSuppressed,
        Self::MailBudgetExceeded,
        Self::MailRejected,
        Self::MailDeferred,
        Self::MailMisconfigured,
        Self::MailParked,
        Self::MailRedriven,
        Self::SignupRequested,
        Self::SignupConfirmationFailed,
        Self::FederatedSignIn,
        Self::FederatedSignInFailed,
        Self::IdentityLinked,
        Self::IdentityUnlinked,
    ];

    /// The stable `event` field.
    pub fn name(self) -> &'static str {
        match self {
            Self::UserRegistered => "user_registered",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginThrottled => "login_throttled",
            Self::TokenRefreshed => "token_refreshed",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::LoggedOut => "logged_out",
            Self::LoggedOutEverywhere => "logged_out_everywhere",
            Self::CsrfRejected => "csrf_rejected",
            Self::IpLimited => "ip_limited",
            Self::PasswordChanged => "password_changed",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::PasswordResetFailed => "password_reset_failed",
            Self::EmailVerified => "email_verified",
            Self::EmailVerificationFailed => "email_verification_failed",
            Self::SessionRevoked => "session_revoked",
            Self::AccountDeleted => "account_deleted",
            Self::MfaEnrolmentStarted => "mfa_enrolment_started",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaChallenged => "mfa_challenged",
            Self::MfaVerified => "mfa_verified",
            Self::MfaFailed => "mfa_failed",
            Self::MfaThrottled => "mfa_throttled",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::MfaDisabled => "mfa_disabled",
            Self::MfaRemovedByOperator => "mfa_removed_by_operator",
            Self::MailSuppressed => "mail_suppressed",
            Self::MailBudgetExceeded => "mail_budget_exceeded",
            Self::MailRejected => "mail_rejected",
            Self::MailDeferred => "mail_deferred",
            Self::MailMisconfigured => "mail_misconfigured",
            Self::MailParked => "mail_parked",
            Self::MailRedriven => "mail_redriven",
            Self::SignupRequested => "signup_requested",
            Self::SignupConfirmationFailed => "signup_confirmation_failed",
            Self::FederatedSignIn => "federated_sign_in",
            Self::FederatedSignInFailed => "federated_sign_in_failed",
            Self::IdentityLinked => "identity_linked",
            Self::IdentityUnlinked => "identity_unlinked",
        }
    }

    /// The CloudWatch metric counting it.
    pub fn metric(self) -> &'static str {
        match self {
            Self::UserRegistered => "UserRegistered",
            Self::LoginSucceeded => "LoginSucceeded",
            Self::LoginFailed => "LoginFailed",
            Self::LoginThrottled => "LoginThrottled",
            Self::TokenRefreshed => "TokenRefreshed",
            Self::RefreshReuseDetected => "RefreshReuseDetected",
            Self::LoggedOut => "LoggedOut",
            Self::LoggedOutEverywhere => "LoggedOutEverywhere",
            Self::CsrfRejected => "CsrfRejected",
            Self::IpLimited => "IpLimited",
            Self::PasswordChanged => "PasswordChanged",
            Self::PasswordResetRequested => "PasswordResetRequested",
            Self::PasswordReset => "PasswordReset",
            Self::PasswordResetFailed => "PasswordResetFailed",
            Self::EmailVerified => "EmailVerified",
            Self::EmailVerificationFailed => "EmailVerificationFailed",
            Self::SessionRevoked => "SessionRevoked",
            Self::AccountDeleted => "AccountDeleted",
            Self::MfaEnrolmentStarted => "MfaEnrolmentStarted",
            Self::MfaEnabled => "MfaEnabled",
            Self::MfaChallenged => "MfaChallenged",
            Self::MfaVerified => "MfaVerified",
            Self::MfaFailed => "MfaFailed",
            Self::MfaThrottled => "MfaThrottled",
            Self::RecoveryCodeUsed => "RecoveryCodeUsed",
            Self::RecoveryCodesRegenerated => "RecoveryCodesRegenerated",
            Self::MfaDisabled => "MfaDisabled",
            Self::MfaRemovedByOperator => "MfaRemovedByOperator",
            Self::MailSuppressed => "MailSuppressed",
            Self::MailBudgetExceeded => "MailBudgetExceeded",
            Self::MailRejected => "MailRejected",
            Self::MailDeferred => "MailDeferred",
            Self::MailMisconfigured => "MailMisconfigured",
            Self::MailParked => "MailParked",
            Self::MailRedriven => "MailRedriven",
            Self::SignupRequested => "SignupRequested",
            Self::SignupConfirmationFailed => "SignupConfirmationFailed",
            Self::FederatedSignIn => "FederatedSignIn",
            Self::FederatedSignInFailed => "FederatedSignInFailed",
            Self::IdentityLinked => "IdentityLinked",
            Self::IdentityUnlinked => "IdentityUnlinked",
        }
    }

    pub fn outcome(self) -> Outcome {
        match self {
            Self::UserRegistered
            | Self::LoginSucceeded
            | Self::TokenRefreshed
            | Self::LoggedOut
            | Self::LoggedOutEverywhere
            | Self::PasswordChanged
            | Self::PasswordResetRequested
            | Self::PasswordReset
            | Self::EmailVerified
            | Self::SessionRevoked
            | Self::AccountDeleted
            | Self::MfaEnrolmentStarted
            | Self::MfaEnabled
            | Self::MfaChallenged
            | Self::MfaVerified
            | Self::RecoveryCodeUsed
            | Self::RecoveryCodesRegenerated
            | Self::MfaDisabled
            | Self::MfaRemovedByOperator
            | Self::MailRedriven
            | Self::SignupRequested
            | Self::FederatedSignIn
            | Self::IdentityLinked
            | Self::IdentityUnlinked => Outcome::Success,
            Self::LoginFailed
            | Self::RefreshReuseDetected
            | Self::PasswordResetFailed
            | Self::EmailVerificationFailed
            | Self::MfaFailed
            | Self::MailRejected
            | Self::MailDeferred
            | Self::MailMisconfigured
            | Self::MailParked
            | Self::SignupConfirmationFailed
            | Self::FederatedSignInFailed => Outcome::Failure,
            Self::LoginThrottled
            | Self::CsrfRejected
            | Self::IpLimited
            | Self::MfaThrottled
            | Self::MailSuppressed
            | Self::MailBudgetExceeded => Outcome::Refused,
        }
    }
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Refused => "refused",
        }
    }
}

/// Who an event is about, where known.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject<'a> {
    pub user_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    /// The identity provider of a federated event.
    pub provider: Option<&'a str>,
    /// Why a federated sign-in failed (its `#error=` code).
    pub reason: Option<&'a str>,
}

impl<'a> Subject<'a> {
    pub fn user(user_id: &'a str) -> Self {
        Self {
            user_id: Some(user_id),
            ..Self::default()
        }
    }

    pub fn session(user_id: &'a str, session_id: &'a str) -> Self {
        Self {
            user_id: Some(user_id),
            session_id: Some(session_id),
            ..Self::default()
        }
    }

    /// The same subject, naming the provider (and a failure's code).
    pub fn via(self, provider: &'a str, reason: Option<&'a str>) -> Self {
        Self {
            provider: Some(provider),
            reason,
            ..self
        }
    }
}

/// Where audit lines go: stdout on Lambda (CloudWatch Logs), a buffer in tests.
pub trait AuditSink: Send + Sync {
    fn write_line(&self, line: &str);
}

/// Lambda's log stream. One `write` per line under the stdout lock, so lines never interleave
/// with the application log's.
pub struct StdoutSink;

impl AuditSink for StdoutSink {
    fn write_line(&self, line: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(format!("{line}\n").as_bytes());
        let _ = stdout.flush();
    }
}

/// Keeps every line, for tests that read the audit trail.
#[derive(Debug, Clone, Default)]
pub struct CapturedAudit(Arc<Mutex<Vec<String>>>);

impl CapturedAudit {
    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl AuditSink for CapturedAudit {
    fn write_line(&self, line: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.to_owned());
    }
}

/// `METRICS_NAMESPACE` and `SERVICE_NAME` (the metrics' `Service` dimension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    pub namespace: String,
    pub service: String,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            namespace: "JwtAuth".into(),
            service: "jwt-auth".into(),
        }
    }
}

/// The audit trail of one function.
#[derive(Clone)]
pub struct Audit {
    settings: AuditSettings,
    sink: Arc<dyn AuditSink>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Audit {
    pub fn new(settings: AuditSettings, sink: Arc<dyn AuditSink>) -> Self {
        Self { settings, sink }
    }

    pub fn stdout(settings: AuditSettings) -> Self {
        Self::new(settings, Arc::new(StdoutSink))
    }

    /// Writes the event's line.
    pub fn record(&self, event: AuditEvent, subject: Subject<'_>, client: &ClientInfo) {
        self.sink
            .write_line(&self.line(event, subject, client, epoch_millis()));
    }

    /// The line: audit fields and the EMF directive counting `event` once.
    pub fn line(
        &self,
        event: AuditEvent,
        subject: Subject<'_>,
        client: &ClientInfo,
        timestamp_ms: u64,
    ) -> String {
        let mut line = Map::new();
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.settings.namespace,
                    "Dimensions": [["Service"]],
                    "Metrics": [{"Name": event.metric(), "Unit": "Count"}],
                }],
            }),
        );
        line.insert(
            "Service".into(),
            Value::from(self.settings.service.as_str()),
        );
        line.insert(event.metric().into(), Value::from(1));
        line.insert("audit".into(), Value::Bool(true));
        line.insert("event".into(), Value::from(event.name()));
        line.insert("outcome".into(), Value::from(event.outcome().as_str()));
        let optional = |value: Option<&str>| value.map_or(Value::Null, Value::from);
        line.insert("userId".into(), optional(subject.user_id));
        line.insert("sessionId".into(), optional(subject.session_id));
        if let Some(provider) = subject.provider {
            line.insert("provider".into(), Value::from(provider));
        }
        if let Some(reason) = subject.reason {
            line.insert("reason".into(), Value::from(reason));
        }
        line.insert(
            "sourceIp".into(),
            client
                .ip
                .map_or(Value::Null, |ip| Value::from(ip.to_string())),
        );
        line.insert("userAgent".into(), optional(client.user_agent.as_deref()));
        Value::Object(line).to_string()
    }
}

fn epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit() -> (Audit, CapturedAudit) {
        let captured = CapturedAudit::default();
        let audit = Audit::new(
            AuditSettings {
                namespace: "Auth/Test".into(),
                service: "stack-1".into(),
            },
            Arc::new(captured.clone()),
        );
        (audit, captured)
    }

    #[test]
    fn a_line_is_an_audit_record_and_an_emf_document() {
        let (audit, captured) = audit();
        let client = ClientInfo {
            ip: "2001:db8::7".parse().ok(),
            user_agent: Some("curl/8 \"quoted\"".into()),
        };
        audit.record(
            AuditEvent::RefreshReuseDetected,
            Subject::session("u1", "s1"),
            &client,
        );
        let lines = captured.lines();
        let [line] = lines.as_slice() else {
            panic!("one line: {lines:?}")
        };
        let value: Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["event"], "refresh_reuse_detected");
        assert_eq!(value["outcome"], "failure");
        assert_eq!(value["userId"], "u1");
        assert_eq!(value["sessionId"], "s1");
        assert_eq!(value["sourceIp"], "2001:db8::7");
        assert_eq!(value["userAgent"], "curl/8 \"quoted\"");
        // EMF: every metric and dimension the directive names is a root member.
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Auth/Test");
        assert_eq!(directive["Metrics"][0]["Name"], "RefreshReuseDetected");
        assert_eq!(value["RefreshReuseDetected"], 1);
        assert_eq!(directive["Dimensions"][0][0], "Service");
        assert_eq!(value["Service"], "stack-1");
        assert!(value["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }

    #[test]
    fn every_event_has_a_distinct_name_and_metric() {
        let names: std::collections::BTreeSet<_> =
            AuditEvent::ALL.iter().map(|e| e.name()).collect();
        let metrics: std::collections::BTreeSet<_> =
            AuditEvent::ALL.iter().map(|e| e.metric()).collect();
        assert_eq!(names.len(), AuditEvent::ALL.len());
        assert_eq!(metrics.len(), AuditEvent::ALL.len());
    }

    #[test]
    fn unknown_fields_are_null_not_missing() {
        let (audit, _) = audit();
        let line = audit.line(
            AuditEvent::CsrfRejected,
            Subject::default(),
            &ClientInfo::default(),
            0,
        );
        let value: Value = serde_json::from_str(&line).unwrap();
        assert!(value["userId"].is_null() && value.get("userId").is_some());
        assert!(value["sourceIp"].is_null());
        assert_eq!(value["outcome"], "refused");
    }
}
