//! The audit trail: one JSON line per security event, with its ids, the client's address and
//! user agent, its outcome and its EMF metric, and never a secret.

use auth_core::domain::Email;
use auth_service::audit::AuditEvent;
use e2e::{Function, PASSWORD, SOURCE_IP, TestApp, claims, http_api_event, unique_name};

const WRONG: &str = "not the password at all";

/// The account lifecycle's events, driven by their own test below.
const LIFECYCLE_EVENTS: [AuditEvent; 8] = [
    AuditEvent::PasswordChanged,
    AuditEvent::PasswordResetRequested,
    AuditEvent::PasswordReset,
    AuditEvent::PasswordResetFailed,
    AuditEvent::EmailVerified,
    AuditEvent::EmailVerificationFailed,
    AuditEvent::SessionRevoked,
    AuditEvent::AccountDeleted,
];

/// The second factor's events, driven by their own test (`mfa::audit`).
pub const MFA_EVENTS: [AuditEvent; 10] = [
    AuditEvent::MfaEnrolmentStarted,
    AuditEvent::MfaEnabled,
    AuditEvent::MfaChallenged,
    AuditEvent::MfaVerified,
    AuditEvent::MfaFailed,
    AuditEvent::MfaThrottled,
    AuditEvent::RecoveryCodeUsed,
    AuditEvent::RecoveryCodesRegenerated,
    AuditEvent::MfaDisabled,
    AuditEvent::MfaRemovedByOperator,
];

/// The mailer's events, each driven by its own test (`lifecycle::mail_channel`).
pub const MAIL_EVENTS: [AuditEvent; 7] = [
    AuditEvent::MailSuppressed,
    AuditEvent::MailBudgetExceeded,
    AuditEvent::MailRejected,
    AuditEvent::MailDeferred,
    AuditEvent::MailMisconfigured,
    AuditEvent::MailParked,
    AuditEvent::MailRedriven,
];

/// Federated sign-in's events, driven by `federation`.
pub const FEDERATION_EVENTS: [AuditEvent; 4] = [
    AuditEvent::FederatedSignIn,
    AuditEvent::FederatedSignInFailed,
    AuditEvent::IdentityLinked,
    AuditEvent::IdentityUnlinked,
];

/// Confirm-first sign-up's events, driven by `signup`.
pub const SIGNUP_EVENTS: [AuditEvent; 2] = [
    AuditEvent::SignupRequested,
    AuditEvent::SignupConfirmationFailed,
];

#[tokio::test]
async fn every_security_event_is_one_json_line_with_its_ids_metric_and_no_secret() {
    let app = TestApp::spawn_with(&[
        ("LOGIN_MAX_FAILURES", "1"),
        ("LOGIN_BACKOFF", "60s"),
        ("LOGIN_BACKOFF_MAX", "60s"),
        ("IP_MAX_FAILURES", "3"),
        ("METRICS_NAMESPACE", "Auth/E2E"),
        ("SERVICE_NAME", "e2e-stack"),
    ])
    .await;
    let (email, registered) = app.registered_user().await;
    let user_id = registered.json["user"]["id"].as_str().unwrap().to_owned();
    let login = app.login(&email, PASSWORD).await;
    let refreshed = app.refresh(&login.refresh_token()).await;
    assert_eq!(refreshed.status, 200);
    app.clock.advance(60);
    app.refresh(&login.refresh_token())
        .await
        .assert_error(401, "REFRESH_TOKEN_REUSED");
    let second = app.login(&email, PASSWORD).await;
    let cross_site = http_api_event(
        "POST",
        "/auth/refresh",
        &[("sec-fetch-site", "cross-site")],
        &[format!("refreshToken={}", second.refresh_token())],
        None,
    );
    app.send(Function::Refresh, cross_site)
        .await
        .assert_error(403, "CSRF_REJECTED");
    assert_eq!(app.logout(Some(&second.refresh_token())).await.status, 204);
    assert_eq!(
        app.logout_all(Some(&registered.access_token()))
            .await
            .status,
        204
    );
    app.login(&email, WRONG)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    app.login(&email, PASSWORD)
        .await
        .assert_error(429, "TOO_MANY_ATTEMPTS");
    // The registration and the failure counted 2 against this address (fewer once the clock
    // advance above slid part of them out of the window): strangers fail until it is full.
    let mut strangers = Vec::new();
    loop {
        let stranger = format!("{}@example.com", unique_name("nobody"));
        let response = app.login(&stranger, WRONG).await;
        strangers.push(stranger);
        if response.status == 429 {
            response.assert_error(429, "TOO_MANY_REQUESTS");
            break;
        }
        response.assert_error(401, "INVALID_CREDENTIALS");
        assert!(strangers.len() <= 3, "the limit of 3 was never reached");
    }
    let stranger_failures = strangers.len() - 1;
    assert!(stranger_failures >= 1);

    let lines = app.audit_events();
    let names: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    assert_eq!(
        names,
        [
            "user_registered",
            "login_succeeded",
            "token_refreshed",
            "refresh_reuse_detected",
            "login_succeeded",
            "csrf_rejected",
            "logged_out",
            "logged_out_everywhere",
            "login_failed",
            "login_throttled",
        ]
        .into_iter()
        .chain(std::iter::repeat_n("login_failed", stranger_failures))
        .chain(["ip_limited"])
        .collect::<Vec<_>>()
    );
    for event in AuditEvent::ALL.into_iter().filter(|event| {
        !LIFECYCLE_EVENTS.contains(event)
            && !MFA_EVENTS.contains(event)
            && !MAIL_EVENTS.contains(event)
            && !SIGNUP_EVENTS.contains(event)
            && !FEDERATION_EVENTS.contains(event)
    }) {
        assert!(
            names.contains(&event.name()),
            "{} never written",
            event.name()
        );
    }

    for line in &lines {
        assert_eq!(line["audit"], true);
        assert_eq!(line["sourceIp"], SOURCE_IP, "{line}");
        assert_eq!(line["userAgent"], "e2e", "{line}");
        let event = AuditEvent::ALL
            .into_iter()
            .find(|event| line["event"] == event.name())
            .unwrap();
        let expected_outcome = match event {
            AuditEvent::LoginFailed | AuditEvent::RefreshReuseDetected => "failure",
            AuditEvent::LoginThrottled | AuditEvent::CsrfRejected | AuditEvent::IpLimited => {
                "refused"
            }
            _ => "success",
        };
        assert_eq!(line["outcome"], expected_outcome, "{line}");
        // EMF: the directive's namespace, dimension and metric, each a member of the root.
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Auth/E2E");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Service"]]));
        assert_eq!(directive["Metrics"][0]["Name"], event.metric());
        assert_eq!(directive["Metrics"][0]["Unit"], "Count");
        assert_eq!(line[event.metric()], 1);
        assert_eq!(line["Service"], "e2e-stack");
        assert!(line["_aws"]["Timestamp"].as_u64().is_some());
    }

    // The ids where they are known.
    let sid = |response: &e2e::TestResponse| claims(&response.access_token())["sid"].clone();
    let by_position = |index: usize| &lines[index];
    assert_eq!(by_position(0)["userId"], user_id.as_str());
    assert_eq!(by_position(0)["sessionId"], sid(&registered));
    assert_eq!(by_position(1)["sessionId"], sid(&login));
    assert_eq!(by_position(2)["sessionId"], sid(&login));
    assert_eq!(by_position(3)["userId"], user_id.as_str());
    assert_eq!(by_position(3)["sessionId"], sid(&login));
    assert_eq!(by_position(6)["sessionId"], sid(&second));
    assert_eq!(by_position(7)["userId"], user_id.as_str());
    assert_eq!(
        by_position(8)["userId"],
        user_id.as_str(),
        "a known email's user"
    );
    assert!(
        by_position(10)["userId"].is_null(),
        "an unknown email has none"
    );
    let last = lines.len() - 1;
    assert!(by_position(5)["userId"].is_null() && by_position(last)["userId"].is_null());

    // No password, email, token, hash or key in any line.
    let hash = app
        .sign_in
        .store
        .credentials_by_email(&Email::parse(&email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    let text = app.audit.lines().join("\n");
    let secret_part = |token: String| token.rsplit('.').next().unwrap_or_default().to_owned();
    for secret in strangers.iter().cloned().chain([
        PASSWORD.to_owned(),
        WRONG.to_owned(),
        email.clone(),
        hash,
        registered.access_token(),
        secret_part(registered.refresh_token()),
        secret_part(login.refresh_token()),
        secret_part(refreshed.refresh_token()),
        secret_part(second.refresh_token()),
        app.settings["JWT_ACCESS_SECRET"].clone(),
        app.settings["JWT_REFRESH_SECRET"].clone(),
    ]) {
        assert!(
            !secret.is_empty() && !text.contains(&secret),
            "a secret reached the audit trail"
        );
    }
}

#[tokio::test]
async fn a_logout_of_a_dead_session_names_nobody() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let token = registered.refresh_token();
    assert_eq!(app.logout(Some(&token)).await.status, 204);
    assert_eq!(app.logout(Some(&token)).await.status, 204);
    assert_eq!(app.audit_events_named("logged_out").len(), 1);
}

#[tokio::test]
async fn every_lifecycle_event_is_one_json_line_with_its_ids_and_no_secret() {
    let app = TestApp::spawn_with(&[("MAIL_MIN_INTERVAL", "0")]).await;
    let (email, registered) = app.registered_user().await;
    let user_id = registered.json["user"]["id"].as_str().unwrap().to_owned();
    let verify_token = app.one_mail_to(&email).await.token();
    assert_eq!(
        app.verify_email_signed_in(&verify_token, &registered.refresh_token())
            .await
            .status,
        204
    );
    let new_password = "another fine passphrase";
    let changed = app
        .change_password(&registered.access_token(), PASSWORD, new_password)
        .await;
    assert_eq!(changed.status, 204);
    let other = app.login(&email, new_password).await;
    let other_sid = claims(&other.access_token())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = app
        .authorized(
            Function::Sessions,
            "DELETE",
            &format!("/auth/sessions/{other_sid}"),
            &registered.access_token(),
            None,
        )
        .await;
    assert_eq!(revoked.status, 204);
    assert_eq!(app.forgot(&email).await.status, 202);
    let reset_token = app.one_mail_to(&email).await.token();
    assert_eq!(app.reset(&reset_token, PASSWORD).await.status, 204);
    app.reset(&reset_token, PASSWORD)
        .await
        .assert_error(400, "INVALID_RESET_TOKEN");
    app.verify_email(&verify_token)
        .await
        .assert_error(400, "INVALID_VERIFICATION_TOKEN");
    let fresh = app.login(&email, PASSWORD).await;
    let deleted = app
        .authorized(
            Function::Account,
            "DELETE",
            "/auth/account",
            &fresh.access_token(),
            Some(serde_json::json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(deleted.status, 204);

    let lines: Vec<_> = app
        .audit_events()
        .into_iter()
        .filter(|line| {
            LIFECYCLE_EVENTS
                .iter()
                .any(|event| line["event"] == event.name())
        })
        .collect();
    let names: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    assert_eq!(
        names,
        [
            "email_verified",
            "password_changed",
            "session_revoked",
            "password_reset_requested",
            "password_reset",
            "password_reset_failed",
            "email_verification_failed",
            "account_deleted",
        ]
    );
    for (index, line) in lines.iter().enumerate() {
        let outcome = if matches!(index, 5 | 6) {
            "failure"
        } else {
            "success"
        };
        assert_eq!(line["outcome"], outcome, "{line}");
        assert_eq!(line["sourceIp"], SOURCE_IP, "{line}");
    }
    assert!(lines[3]["userId"].is_null(), "a reset request names nobody");
    for index in [0, 1, 2, 4, 5, 6, 7] {
        assert_eq!(lines[index]["userId"], user_id.as_str(), "{}", lines[index]);
    }
    assert_eq!(lines[2]["sessionId"], other_sid.as_str());
    let text = app.audit.lines().join("\n");
    for secret in [
        PASSWORD,
        new_password,
        email.as_str(),
        verify_token.as_str(),
        reset_token.as_str(),
    ] {
        assert!(!text.contains(secret), "a secret reached the audit trail");
    }
}
