//! Recovery codes, removing the factor, and the operator's removal.

use e2e::{PASSWORD, TestApp, claims};
use serde_json::json;

#[tokio::test]
async fn a_fresh_set_of_recovery_codes_voids_the_old_one() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let fresh = app
        .mfa_call(
            "POST",
            "/auth/mfa/recovery-codes",
            &user.access_token,
            Some(json!({})),
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    let codes = fresh.json["recoveryCodes"].as_array().expect("codes");
    assert_eq!(codes.len(), 10);
    let token = app.mfa_challenge(&user.email).await;
    app.mfa_verify(json!({ "mfaToken": token, "recoveryCode": user.recovery_codes[0] }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    let signed_in = app
        .mfa_verify(json!({ "mfaToken": token, "recoveryCode": codes[0] }))
        .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
}

#[tokio::test]
async fn removing_the_factor_needs_one_of_its_codes_and_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let phone = app.mfa_login(&user).await;
    assert_eq!(phone.status, 200);
    app.clock.advance(auth_service::mfa::totp::STEP_SECONDS);
    // The enrolling session verified its factor at confirmation, more than a step ago but
    // within MFA_RECENT.
    let remove = |body| app.mfa_call("DELETE", "/auth/mfa/totp", &user.access_token, Some(body));
    remove(json!({ "code": "000000" }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    let removed = remove(json!({ "code": user.code(&app) })).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    // Ended at the commit, and its item swept after it.
    app.refresh(&phone.refresh_token())
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    let refreshed = app.refresh(&user.refresh_token).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let login = app.login(&user.email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert!(login.json.get("mfaRequired").is_none());
    assert_eq!(claims(&login.access_token())["aal"], "aal1");
    assert_eq!(app.audit_events_named("mfa_disabled").len(), 1);
}

#[tokio::test]
async fn a_user_who_lost_the_device_signs_in_with_a_recovery_code_removes_the_factor_and_enrols_again()
 {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let token = app.mfa_challenge(&user.email).await;
    let signed_in = app
        .mfa_verify(json!({ "mfaToken": token, "recoveryCode": user.recovery_codes[0] }))
        .await;
    let access = signed_in.access_token();
    let removed = app
        .mfa_call(
            "DELETE",
            "/auth/mfa/totp",
            &access,
            Some(json!({ "recoveryCode": user.recovery_codes[1] })),
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let enrolled = app.enroll(&access).await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.text);
}

#[tokio::test]
async fn the_operator_removes_a_users_factors_and_their_sessions_end() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let store = &app.sign_in.store;
    let email = auth_core::domain::Email::parse(&user.email).expect("email");
    assert!(store.remove_factors(&email).await.expect("removed"));
    app.refresh(&user.refresh_token)
        .await
        .assert_error(401, "SESSION_REVOKED");
    let login = app.login(&user.email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert!(login.json.get("mfaRequired").is_none(), "{}", login.text);
    let unknown = auth_core::domain::Email::parse("nobody@example.com").expect("email");
    assert!(!store.remove_factors(&unknown).await.expect("answered"));
}
