use std::sync::Arc;

use e2e::{PASSWORD, TestApp, claims};
use serde_json::json;

#[tokio::test]
async fn a_login_with_mfa_answers_a_challenge_and_the_code_completes_it_like_a_login() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let login = app.login(&user.email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.json["mfaRequired"], true);
    assert_eq!(login.json["factors"], json!(["totp", "recovery_code"]));
    assert!(login.json.get("accessToken").is_none(), "{}", login.text);
    assert!(
        login.refresh_cookie().is_none(),
        "no session before the second step"
    );
    let token = login.json["mfaToken"].as_str().expect("token").to_owned();
    assert!(
        !format!("{:?}", app.all_items().await).contains(token.split('.').nth(1).expect("secret")),
        "only the challenge's digest is stored"
    );

    // A wrong password answers exactly as for an account without MFA.
    let wrong = app.login(&user.email, "not the password at all").await;
    wrong.assert_error(401, "INVALID_CREDENTIALS");

    app.round_trips.take();
    let verified = app
        .mfa_verify(json!({ "mfaToken": token, "code": user.code(&app) }))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    let trips = app.round_trips.take();
    assert_eq!(
        trips, 4,
        "batch + sessions query beside it, reservation, the transaction"
    );
    assert!(verified.refresh_cookie().is_some());
    assert_eq!(verified.json["user"]["email"], user.email);
    let access = claims(&verified.access_token());
    assert_eq!(access["aal"], "aal2");
    assert_eq!(access["amr"], json!(["pwd", "otp"]));
    // Refresh keeps the level and the methods.
    let refreshed = app.refresh(&verified.refresh_token()).await;
    assert_eq!(claims(&refreshed.access_token())["aal"], "aal2");
    assert_eq!(
        claims(&refreshed.access_token())["amr"],
        json!(["pwd", "otp"])
    );
    // The challenge is single-use.
    app.mfa_verify(json!({ "mfaToken": token, "code": user.code_at(&app, 1) }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
}

#[tokio::test]
async fn a_code_is_accepted_once_and_never_for_an_earlier_step() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let code = user.code(&app);
    assert_eq!(app.mfa_login(&user).await.status, 200);
    // The same code, sequentially, on a new challenge.
    let token = app.mfa_challenge(&user.email).await;
    app.mfa_verify(json!({ "mfaToken": token, "code": code }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    // The previous step's code is within the drift window but before the step taken.
    app.mfa_verify(json!({ "mfaToken": token, "code": user.code_at(&app, -1) }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    // The next step's code is accepted (drift), on the same challenge: a wrong code did not
    // spend it.
    let next = app
        .mfa_verify(json!({ "mfaToken": token, "code": user.code_at(&app, 1) }))
        .await;
    assert_eq!(next.status, 200, "{}", next.text);
}

#[tokio::test]
async fn twenty_concurrent_verifications_of_one_code_give_exactly_one_session() {
    let app = Arc::new(
        TestApp::spawn_patient(
            &[("MFA_MAX_FAILURES", "50")],
            std::time::Duration::from_secs(15),
        )
        .await,
    );
    let user = app.mfa_user().await;
    let code = user.code(&app);
    // Ten on one challenge and ten on challenges of their own.
    let shared = app.mfa_challenge(&user.email).await;
    let mut tokens = vec![shared; 10];
    for _ in 0..10 {
        tokens.push(app.mfa_challenge(&user.email).await);
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let app = Arc::clone(&app);
            let code = code.clone();
            tokio::spawn(async move {
                app.mfa_verify(json!({ "mfaToken": token, "code": code }))
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let answer = task.await.expect("task");
        if answer.status != 200 {
            answer.assert_error(401, "INVALID_MFA_CODE");
        }
        statuses.push(answer.status);
    }
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        1,
        "{statuses:?}"
    );
    let sessions = app
        .all_items()
        .await
        .into_iter()
        .filter(|item| {
            item.get("sk")
                .and_then(|sk| sk.as_s().ok())
                .is_some_and(|sk| sk.starts_with("SESSION#"))
        })
        .count();
    assert_eq!(sessions, 2, "the enrolling session and exactly one new one");
}

#[tokio::test]
async fn a_challenge_expires_and_a_forged_or_unknown_one_is_refused() {
    let app = TestApp::spawn_with(&[("MFA_CHALLENGE_TTL", "2m")]).await;
    let user = app.mfa_user().await;
    let token = app.mfa_challenge(&user.email).await;
    app.clock.advance(121);
    app.mfa_verify(json!({ "mfaToken": token, "code": user.code(&app) }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    for forged in [
        "not-a-token".to_owned(),
        format!("{}.{}", user.user_id, "A".repeat(43)),
        String::new(),
    ] {
        app.mfa_verify(json!({ "mfaToken": forged, "code": user.code(&app) }))
            .await
            .assert_error(401, "INVALID_MFA_CODE");
    }
    for bad in [
        json!({ "mfaToken": token }),
        json!({ "mfaToken": token, "code": 123456 }),
        json!({ "mfaToken": token, "code": "12345" }),
        json!({ "mfaToken": token, "code": "123456", "recoveryCode": "abcde-fghjk" }),
    ] {
        app.mfa_verify(bad)
            .await
            .assert_error(400, "VALIDATION_ERROR");
    }
    assert!(
        app.audit_events_named("mfa_failed").is_empty(),
        "a dead challenge reserves and counts nothing"
    );
}

#[tokio::test]
async fn a_recovery_code_signs_in_at_aal2_once() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let recovery = user.recovery_codes[3].to_uppercase();
    let token = app.mfa_challenge(&user.email).await;
    let signed_in = app
        .mfa_verify(json!({ "mfaToken": token, "recoveryCode": recovery }))
        .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let access = claims(&signed_in.access_token());
    assert_eq!(access["aal"], "aal2");
    assert_eq!(access["amr"], json!(["pwd", "recovery_code"]));
    let token = app.mfa_challenge(&user.email).await;
    app.mfa_verify(json!({ "mfaToken": token, "recoveryCode": user.recovery_codes[3] }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    let status = app
        .mfa_call("GET", "/auth/mfa", &signed_in.access_token(), None)
        .await;
    assert_eq!(status.json["recoveryCodesLeft"], 9, "{}", status.text);
    assert_eq!(status.json["totp"]["enabled"], true);
    assert_eq!(app.audit_events_named("recovery_code_used").len(), 1);
}

#[tokio::test]
async fn a_password_reset_keeps_the_second_factor() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    assert_eq!(app.forgot(&user.email).await.status, 202);
    let link = app.one_mail_to(&user.email).await;
    let reset = app.reset(&link.token(), "a brand new passphrase").await;
    assert_eq!(reset.status, 204, "{}", reset.text);
    let login = app.login(&user.email, "a brand new passphrase").await;
    assert_eq!(login.json["mfaRequired"], true, "{}", login.text);
    // A challenge made before the reset is void: the reset raised the account's epoch.
    let after = login.json["mfaToken"].as_str().expect("token").to_owned();
    let verified = app
        .mfa_verify(json!({ "mfaToken": after, "code": user.code(&app) }))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
}

#[tokio::test]
async fn a_challenge_from_before_a_credential_event_is_void() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let token = app.mfa_challenge(&user.email).await;
    let everywhere = app.logout_all(Some(&user.access_token)).await;
    assert_eq!(everywhere.status, 204, "{}", everywhere.text);
    app.mfa_verify(json!({ "mfaToken": token, "code": user.code(&app) }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
}
