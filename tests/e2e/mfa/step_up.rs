//! Step-up: password change, account deletion and factor management need a second factor
//! verified recently in the session; `POST /auth/mfa/verify {code}` renews it.

use e2e::{Function, PASSWORD, TestApp, claims};
use serde_json::json;

const SIXTEEN_MINUTES: i64 = 16 * 60;

#[tokio::test]
async fn a_stale_second_factor_refuses_sensitive_changes_until_step_up() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let signed_in = app.mfa_login(&user).await;
    let access = signed_in.access_token();
    app.clock.advance(SIXTEEN_MINUTES);
    let refreshed = app.refresh(&signed_in.refresh_token()).await;
    let access_later = refreshed.access_token();
    assert_eq!(
        claims(&access_later)["aal"],
        "aal2",
        "still aal2, but not recent"
    );

    let change = app
        .change_password(&access_later, PASSWORD, "another long passphrase")
        .await;
    change.assert_error(403, "MFA_REQUIRED");
    assert!(
        change
            .header("www-authenticate")
            .is_some_and(|value| value.contains("insufficient_user_authentication")),
        "{:?}",
        change.headers
    );
    app.mfa_call(
        "POST",
        "/auth/mfa/recovery-codes",
        &access_later,
        Some(json!({})),
    )
    .await
    .assert_error(403, "MFA_REQUIRED");
    app.enroll(&access_later)
        .await
        .assert_error(403, "MFA_REQUIRED");
    app.authorized(
        Function::Account,
        "DELETE",
        "/auth/account",
        &access_later,
        Some(json!({ "password": PASSWORD })),
    )
    .await
    .assert_error(403, "MFA_REQUIRED");

    // Step-up with a code from this very session: a fresh token, and the change goes through.
    let stepped = app
        .step_up(&access_later, json!({ "code": user.code(&app) }))
        .await;
    assert_eq!(stepped.status, 200, "{}", stepped.text);
    assert!(
        stepped.refresh_cookie().is_none(),
        "the refresh token stays"
    );
    let fresh = stepped.access_token();
    assert_eq!(claims(&fresh)["aal"], "aal2");
    assert_eq!(claims(&fresh)["sid"], claims(&access)["sid"]);
    let changed = app
        .change_password(&fresh, PASSWORD, "another long passphrase")
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
}

#[tokio::test]
async fn wrong_step_up_codes_count_under_the_brake_and_a_used_code_does_not_step_up() {
    let app = TestApp::spawn_with(&[("MFA_MAX_FAILURES", "2")]).await;
    let user = app.mfa_user().await;
    let code = user.code(&app);
    let signed_in = app.mfa_login(&user).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let access = signed_in.access_token();
    // The code that signed in is spent.
    app.step_up(&access, json!({ "code": code }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    app.step_up(&access, json!({ "recoveryCode": "00000-00000" }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    app.step_up(&access, json!({ "code": user.code_at(&app, 1) }))
        .await
        .assert_error(429, "TOO_MANY_ATTEMPTS");
}

#[tokio::test]
async fn accounts_without_mfa_change_their_password_as_before() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let changed = app
        .change_password(
            &registered.access_token(),
            PASSWORD,
            "another long passphrase",
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    app.step_up(&registered.access_token(), json!({ "code": "123456" }))
        .await
        .assert_error(400, "MFA_NOT_ENABLED");
}

#[tokio::test]
async fn a_step_up_token_carries_the_accounts_current_role_not_the_sessions_first_one() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let email = auth_core::domain::Email::parse(&user.email).expect("email");
    let admin = auth_core::domain::Role::parse("admin").expect("role");
    assert!(
        app.sign_in
            .store
            .set_role(&email, &admin)
            .await
            .expect("promote")
    );
    let signed_in = app.mfa_login(&user).await;
    assert_eq!(claims(&signed_in.access_token())["role"], "admin");
    assert!(
        app.sign_in
            .store
            .set_role(&email, &auth_core::domain::Role::user())
            .await
            .expect("demote")
    );
    let stepped = app
        .step_up(
            &signed_in.access_token(),
            json!({ "code": user.code_at(&app, 1) }),
        )
        .await;
    assert_eq!(stepped.status, 200, "{}", stepped.text);
    assert_eq!(
        claims(&stepped.access_token())["role"],
        "user",
        "the demotion holds"
    );
}

#[tokio::test]
async fn a_token_whose_session_ended_cannot_run_down_the_owners_brake() {
    let app = TestApp::spawn_with(&[("MFA_MAX_FAILURES", "1")]).await;
    let user = app.mfa_user().await;
    let stolen = app.mfa_login(&user).await;
    assert_eq!(app.logout(Some(&stolen.refresh_token())).await.status, 204);
    for _ in 0..3 {
        app.step_up(&stolen.access_token(), json!({ "code": "000000" }))
            .await
            .assert_error(401, "SESSION_REVOKED");
    }
    // The owner's next sign-in (a step later: that code was used) is not braked.
    app.clock.advance(auth_service::mfa::totp::STEP_SECONDS);
    let owner = app.mfa_login(&user).await;
    assert_eq!(owner.status, 200, "{}", owner.text);
}

#[tokio::test]
async fn removal_with_a_code_needs_no_separate_step_up() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    app.clock.advance(SIXTEEN_MINUTES);
    let refreshed = app.refresh(&user.refresh_token).await;
    let removed = app
        .mfa_call(
            "DELETE",
            "/auth/mfa/totp",
            &refreshed.access_token(),
            Some(json!({ "code": user.code(&app) })),
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
}
