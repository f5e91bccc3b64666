//! Every second-factor event is one audit line with its ids, outcome and metric, and no line
//! carries a secret, a code or a challenge.

use auth_service::audit::AuditEvent;
use e2e::{PASSWORD, TestApp};
use serde_json::json;

#[tokio::test]
async fn every_mfa_event_is_audited_with_its_outcome_and_no_secret() {
    let app = TestApp::spawn_with(&[("MFA_MAX_FAILURES", "1"), ("MFA_BACKOFF", "60s")]).await;
    let user = app.mfa_user().await;
    let token = app.mfa_challenge(&user.email).await;
    let right = user.code(&app);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    app.mfa_verify(json!({ "mfaToken": token, "code": wrong }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    app.mfa_verify(json!({ "mfaToken": token, "code": right }))
        .await
        .assert_error(429, "TOO_MANY_ATTEMPTS");
    app.clock.advance(61);
    let token = app.mfa_challenge(&user.email).await;
    let signed_in = app
        .mfa_verify(json!({ "mfaToken": token, "recoveryCode": user.recovery_codes[0] }))
        .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let access = signed_in.access_token();
    let fresh = app
        .mfa_call("POST", "/auth/mfa/recovery-codes", &access, Some(json!({})))
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    let removed = app
        .mfa_call(
            "DELETE",
            "/auth/mfa/totp",
            &access,
            Some(json!({ "code": user.code(&app) })),
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let again = app.mfa_user_again(&user.email).await;
    let email = auth_core::domain::Email::parse(&user.email).expect("email");
    assert!(
        auth_service::operator::remove_factors(&app.sign_in.store, &app.mfa.audit, &email)
            .await
            .expect("removed")
    );

    let lines = app.audit_events();
    for event in crate::audit::MFA_EVENTS {
        let line = lines
            .iter()
            .find(|line| line["event"] == event.name())
            .unwrap_or_else(|| panic!("{} never written", event.name()));
        assert_eq!(line["userId"], user.user_id.as_str(), "{line}");
        let expected = match event {
            AuditEvent::MfaFailed => "failure",
            AuditEvent::MfaThrottled => "refused",
            _ => "success",
        };
        assert_eq!(line["outcome"], expected, "{line}");
        assert_eq!(line[event.metric()], 1, "the EMF count: {line}");
    }
    let text = app.audit.lines().join("\n");
    let mut secrets = vec![
        auth_service::mfa::base32::encode(&user.secret),
        auth_service::mfa::base32::encode(&again),
        right.clone(),
        token.rsplit('.').next().expect("secret").to_owned(),
        app.settings["MFA_ENCRYPTION_KEY"].clone(),
        PASSWORD.to_owned(),
        user.email.clone(),
    ];
    secrets.extend(user.recovery_codes.iter().cloned());
    for secret in secrets {
        assert!(!text.contains(&secret), "a secret reached the audit trail");
    }
}
