use e2e::lifecycle::authorizer_context;
use e2e::{Function, PASSWORD, TestApp, claims};

#[tokio::test]
async fn registration_mails_a_link_whose_use_verifies_the_email_at_the_next_refresh() {
    let app = TestApp::spawn().await;
    let (email, registered) = app.registered_user().await;
    assert_eq!(registered.json["user"]["emailVerified"], false);
    assert_eq!(claims(&registered.access_token())["email_verified"], false);

    let mail = app.one_mail_to(&email).await;
    assert!(
        mail.message
            .contains("https://app.test/verify-email#token="),
        "{}",
        mail.message
    );
    assert!(mail.message.contains(&format!("To: {email}\r\n")));
    let verified = app
        .verify_email_signed_in(&mail.token(), &registered.refresh_token())
        .await;
    assert_eq!(verified.status, 204, "{}", verified.text);

    // The session's next access token says so, and so does the authorizer's context.
    let refreshed = app.refresh(&registered.refresh_token()).await;
    assert_eq!(refreshed.status, 200);
    assert_eq!(claims(&refreshed.access_token())["email_verified"], true);
    let context = authorizer_context(&app, &refreshed.access_token())
        .await
        .expect("authorized");
    assert_eq!(context["emailVerified"], true);
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(login.json["user"]["emailVerified"], true);
    assert_eq!(claims(&login.access_token())["email_verified"], true);

    // Single use.
    app.verify_email_signed_in(&mail.token(), &refreshed.refresh_token())
        .await
        .assert_error(400, "INVALID_VERIFICATION_TOKEN");
    assert_eq!(app.audit_events_named("email_verified").len(), 1);
}

#[tokio::test]
async fn a_password_reset_verifies_the_address_and_retires_the_pending_link() {
    let app = TestApp::spawn().await;
    let (email, _) = app.registered_user().await;
    let verification = app.one_mail_to(&email).await.token();
    assert_eq!(app.forgot(&email).await.status, 202);
    let reset = app.one_mail_to(&email).await.token();
    assert_eq!(
        app.reset(&reset, "a brand new passphrase").await.status,
        204
    );

    let login = app.login(&email, "a brand new passphrase").await;
    assert_eq!(login.json["user"]["emailVerified"], true);
    assert_eq!(claims(&login.access_token())["email_verified"], true);
    app.verify_email(&verification)
        .await
        .assert_error(400, "INVALID_VERIFICATION_TOKEN");
}

#[tokio::test]
async fn bad_and_expired_verification_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let (email, _) = app.registered_user().await;
    let token = app.one_mail_to(&email).await.token();
    app.verify_email("nonsense")
        .await
        .assert_error(400, "INVALID_VERIFICATION_TOKEN");
    let (user, _) = token.split_once('.').expect("token");
    let forged = format!("{user}.{}", "A".repeat(43));
    app.verify_email(&forged)
        .await
        .assert_error(400, "INVALID_VERIFICATION_TOKEN");
    app.clock.advance(86_400);
    app.verify_email(&token)
        .await
        .assert_error(400, "INVALID_VERIFICATION_TOKEN");
}

#[tokio::test]
async fn resend_mails_a_new_link_until_the_email_is_verified() {
    let app = TestApp::spawn_with(&[("MAIL_MIN_INTERVAL", "0")]).await;
    let (email, registered) = app.registered_user().await;
    let first = app.one_mail_to(&email).await.token();

    let token = registered.access_token();
    let resend = || {
        app.authorized(
            Function::Email,
            "POST",
            "/auth/email/verify/resend",
            &token,
            None,
        )
    };
    let resent = resend().await;
    assert_eq!(resent.status, 202, "{}", resent.text);
    assert_eq!(resent.text, "{}");
    let second = app.one_mail_to(&email).await.token();
    assert_ne!(first, second);
    app.verify_email(&first)
        .await
        .assert_error(400, "INVALID_VERIFICATION_TOKEN");
    assert_eq!(
        app.verify_email_signed_in(&second, &registered.refresh_token())
            .await
            .status,
        204
    );

    assert_eq!(resend().await.status, 202);
    assert!(
        app.mail_to(&email).await.is_empty(),
        "verified: no more mail"
    );
}

#[tokio::test]
async fn resend_within_the_interval_sends_nothing_more() {
    let app = TestApp::spawn().await;
    let (email, registered) = app.registered_user().await;
    assert_eq!(app.mail_to(&email).await.len(), 1);
    let resent = app
        .authorized(
            Function::Email,
            "POST",
            "/auth/email/verify/resend",
            &registered.access_token(),
            None,
        )
        .await;
    assert_eq!(resent.status, 202);
    assert!(app.mail_to(&email).await.is_empty(), "one mail per minute");
    app.send(
        Function::Email,
        e2e::json_post("/auth/email/verify/resend", "{}"),
    )
    .await
    .assert_error(401, "MISSING_TOKEN");
}

/// Pre-account-hijacking: someone registers another person's address with a password of their
/// own. The owner of the address gets the link, but opening it verifies nothing for them: the
/// link works only with a session of that account or its password.
#[tokio::test]
async fn a_link_alone_verifies_nothing_without_a_session_or_the_password_of_the_account() {
    let app = TestApp::spawn().await;
    let victim = format!("{}@example.com", e2e::unique_name("victim"));
    let squatter = app
        .register("Squatter", &victim, "the squatters own secret")
        .await;
    assert_eq!(squatter.status, 201);
    let token = app.one_mail_to(&victim).await.token();
    let (_, stranger) = app.registered_user().await;

    // The owner of the mailbox, with no session and not knowing the password.
    let alone = app.verify_email(&token).await;
    alone.assert_error(401, "PASSWORD_REQUIRED");
    assert_eq!(alone.header("www-authenticate"), Some("Bearer"));
    app.verify_email_signed_in(&token, &stranger.refresh_token())
        .await
        .assert_error(401, "PASSWORD_REQUIRED");
    app.verify_email_with_password(&token, "a guess at the password")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    // Nothing changed: still unverified, and the link still works for the account's owner.
    let login = app.login(&victim, "the squatters own secret").await;
    assert_eq!(login.json["user"]["emailVerified"], false);
    assert_eq!(app.audit_events_named("email_verified").len(), 0);
    assert_eq!(
        app.audit_events_named("login_failed").len(),
        1,
        "the guess counted"
    );

    // A revoked session proves nothing either.
    let everywhere = app.logout_all(Some(&login.access_token())).await;
    assert_eq!(everywhere.status, 204);
    app.verify_email_signed_in(&token, &squatter.refresh_token())
        .await
        .assert_error(401, "PASSWORD_REQUIRED");

    let verified = app
        .verify_email_with_password(&token, "the squatters own secret")
        .await;
    assert_eq!(verified.status, 204, "{}", verified.text);
    let login = app.login(&victim, "the squatters own secret").await;
    assert_eq!(login.json["user"]["emailVerified"], true);
}

#[tokio::test]
async fn failed_verification_attempts_are_audited() {
    let app = TestApp::spawn().await;
    let (email, _) = app.registered_user().await;
    let token = app.one_mail_to(&email).await.token();
    app.verify_email("nonsense").await;
    let (user, _) = token.split_once('.').expect("token");
    app.verify_email(&format!("{user}.{}", "A".repeat(43)))
        .await;
    let failed = app.audit_events_named("email_verification_failed");
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0]["userId"], serde_json::Value::Null);
    assert_eq!(failed[1]["userId"], user);
    assert_eq!(failed[1]["outcome"], "failure");
}
