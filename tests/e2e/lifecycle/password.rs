use e2e::{Function, PASSWORD, TestApp};
use serde_json::json;

use super::user;

const NEW_PASSWORD: &str = "a brand new passphrase";

#[tokio::test]
async fn changing_the_password_keeps_the_calling_session_and_ends_every_other() {
    let app = TestApp::spawn().await;
    let (email, caller) = user(&app).await;
    let other = app.login(&email, PASSWORD).await;
    let another = app.login(&email, PASSWORD).await;

    let changed = app
        .authorized(
            Function::Password,
            "POST",
            "/auth/password/change",
            &caller.access_token(),
            Some(json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD })),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);

    assert_eq!(app.refresh(&caller.refresh_token()).await.status, 200);
    for ended in [other, another] {
        app.refresh(&ended.refresh_token())
            .await
            .assert_error(401, "INVALID_REFRESH_TOKEN");
    }
    app.login(&email, PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(app.login(&email, NEW_PASSWORD).await.status, 200);
    assert_eq!(app.audit_events_named("password_changed").len(), 1);
}

#[tokio::test]
async fn a_wrong_current_password_is_refused_and_counts_toward_the_login_backoff() {
    let app = TestApp::spawn_with(&[
        ("LOGIN_MAX_FAILURES", "2"),
        ("LOGIN_BACKOFF", "60s"),
        ("LOGIN_BACKOFF_MAX", "60s"),
    ])
    .await;
    let (email, caller) = user(&app).await;
    let token = caller.access_token();
    let change = || {
        app.authorized(
            Function::Password,
            "POST",
            "/auth/password/change",
            &token,
            Some(json!({ "currentPassword": "not the password", "newPassword": NEW_PASSWORD })),
        )
    };
    change().await.assert_error(401, "INVALID_CREDENTIALS");
    change().await.assert_error(401, "INVALID_CREDENTIALS");
    change().await.assert_error(429, "TOO_MANY_ATTEMPTS");
    // The backoff is the email's: login is held back too, even with the right password.
    app.login(&email, PASSWORD)
        .await
        .assert_error(429, "TOO_MANY_ATTEMPTS");
    assert_eq!(app.audit_events_named("login_failed").len(), 2);
}

#[tokio::test]
async fn a_change_needs_the_authorizer_and_a_valid_new_password() {
    let app = TestApp::spawn().await;
    let (_, caller) = user(&app).await;
    app.post(
        Function::Password,
        "/auth/password/change",
        json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }),
    )
    .await
    .assert_error(401, "MISSING_TOKEN");
    let short = app
        .authorized(
            Function::Password,
            "POST",
            "/auth/password/change",
            &caller.access_token(),
            Some(json!({ "currentPassword": PASSWORD, "newPassword": "short" })),
        )
        .await;
    short.assert_error(400, "VALIDATION_ERROR");
    let wrong_type = app
        .authorized(
            Function::Password,
            "POST",
            "/auth/password/change",
            &caller.access_token(),
            Some(json!({ "currentPassword": PASSWORD, "newPassword": 12345678901u64 })),
        )
        .await;
    wrong_type.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn forgot_answers_a_known_and_an_unknown_email_identically_with_the_same_work() {
    let app = TestApp::spawn().await;
    let (email, _) = user(&app).await;
    let unknown = format!("nobody-{email}");

    app.round_trips.take();
    let known = app.forgot(&email).await;
    let known_trips = app.round_trips.take();
    let stranger = app.forgot(&unknown).await;
    let stranger_trips = app.round_trips.take();

    assert_eq!(known.status, 202);
    assert_eq!(known.text, "{}");
    assert_eq!(
        (stranger.status, &stranger.text, &stranger.headers),
        (known.status, &known.text, &known.headers)
    );
    assert_eq!(known_trips, stranger_trips, "the same DynamoDB work");
    assert_eq!(
        known_trips, 3,
        "the source window read, its count, the outbox write"
    );

    // Only the known address gets mail, off the request path.
    assert_eq!(app.mail_to(&email).await.len(), 1);
    assert!(
        std::fs::read_dir(app.mail_dir())
            .expect("mail dir")
            .flatten()
            .all(|entry| !std::fs::read_to_string(entry.path())
                .unwrap_or_default()
                .contains(&unknown)),
        "no mail to the unknown address"
    );
}

#[tokio::test]
async fn a_reset_through_the_mailed_link_sets_the_password_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let (email, first) = user(&app).await;
    let second = app.login(&email, PASSWORD).await;

    assert_eq!(app.forgot(&email).await.status, 202);
    let mail = app.one_mail_to(&email).await;
    assert!(
        mail.message
            .contains("https://app.test/reset-password#token="),
        "{}",
        mail.message
    );
    let token = mail.token();
    // Only the digest is stored: no item holds the mailed secret.
    let secret = token.split('.').nth(1).expect("secret part");
    for item in app.all_items().await {
        assert!(!format!("{item:?}").contains(secret), "{item:?}");
    }

    let reset = app.reset(&token, NEW_PASSWORD).await;
    assert_eq!(reset.status, 204, "{}", reset.text);
    for ended in [first, second] {
        app.refresh(&ended.refresh_token())
            .await
            .assert_error(401, "INVALID_REFRESH_TOKEN");
    }
    app.login(&email, PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    let after = app.login(&email, NEW_PASSWORD).await;
    assert_eq!(after.status, 200);
    // The link proved the address as well.
    assert_eq!(after.json["user"]["emailVerified"], true);
    assert_eq!(e2e::claims(&after.access_token())["email_verified"], true);
    // Used once, never again.
    app.reset(&token, "yet another passphrase")
        .await
        .assert_error(400, "INVALID_RESET_TOKEN");
    assert_eq!(app.audit_events_named("password_reset").len(), 1);
}

#[tokio::test]
async fn two_concurrent_resets_with_one_token_exactly_one_succeeds() {
    let app = TestApp::spawn().await;
    let (email, _) = user(&app).await;
    app.forgot(&email).await;
    let token = app.one_mail_to(&email).await.token();
    let (a, b) = tokio::join!(
        app.reset(&token, "first concurrent passphrase"),
        app.reset(&token, "second concurrent passphrase"),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 400], "{} / {}", a.text, b.text);
    let winner = if a.status == 204 {
        "first concurrent passphrase"
    } else {
        "second concurrent passphrase"
    };
    assert_eq!(app.login(&email, winner).await.status, 200);
}

#[tokio::test]
async fn expired_replaced_and_malformed_tokens_are_refused() {
    let app = TestApp::spawn_with(&[("MAIL_MIN_INTERVAL", "0")]).await;
    let (email, _) = user(&app).await;

    app.forgot(&email).await;
    let older = app.one_mail_to(&email).await.token();
    app.forgot(&email).await;
    let newer = app.one_mail_to(&email).await.token();
    app.reset(&older, NEW_PASSWORD)
        .await
        .assert_error(400, "INVALID_RESET_TOKEN");

    app.clock.advance(30 * 60);
    app.reset(&newer, NEW_PASSWORD)
        .await
        .assert_error(400, "INVALID_RESET_TOKEN");

    for malformed in ["", "abc", &newer.replace('.', "-"), &format!("{newer}x")] {
        app.reset(malformed, NEW_PASSWORD)
            .await
            .assert_error(400, "INVALID_RESET_TOKEN");
    }
    assert_eq!(app.login(&email, PASSWORD).await.status, 200, "unchanged");
}

#[tokio::test]
async fn forgot_is_limited_per_source_and_mail_per_user_per_interval() {
    let app = TestApp::spawn_with(&[("IP_MAX_FAILURES", "3"), ("IP_WINDOW", "1h")]).await;
    let (email, _) = user(&app).await;
    for _ in 0..2 {
        assert_eq!(app.forgot(&email).await.status, 202);
    }
    // The registration counted too: the source is at its limit.
    app.forgot(&email)
        .await
        .assert_error(429, "TOO_MANY_REQUESTS");
    // Two requests, one mail: the second came within MAIL_MIN_INTERVAL.
    assert_eq!(app.mail_to(&email).await.len(), 1);
}

#[tokio::test]
async fn bad_input_to_forgot_and_reset_gets_clear_errors() {
    let app = TestApp::spawn().await;
    app.forgot("not-an-email")
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.send(
        Function::Password,
        e2e::json_post("/auth/password/forgot", "{not json"),
    )
    .await
    .assert_error(400, "INVALID_JSON");
    app.reset("x", "short")
        .await
        .assert_error(400, "INVALID_RESET_TOKEN");
    let get = app
        .send(
            Function::Password,
            e2e::http_api_event("GET", "/auth/password/forgot", &[], &[], None),
        )
        .await;
    get.assert_error(405, "METHOD_NOT_ALLOWED");
}

/// A reset link mailed before a password change is dead after it: whoever changed the
/// password (perhaps to lock out someone who had it) does not leave a way back in.
#[tokio::test]
async fn a_password_change_retires_a_pending_reset_link() {
    let app = TestApp::spawn().await;
    let (email, registered) = user(&app).await;
    assert_eq!(app.forgot(&email).await.status, 202);
    let link = app.one_mail_to(&email).await.token();
    let changed = app
        .change_password(&registered.access_token(), PASSWORD, "the owner's new one")
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    app.reset(&link, "the intruder's choice")
        .await
        .assert_error(400, "INVALID_RESET_TOKEN");
    assert_eq!(app.login(&email, "the owner's new one").await.status, 200);
    assert_eq!(app.audit_events_named("password_reset_failed").len(), 1);
}

/// A reset proves the mailbox: it ends the login backoff with the rest, so the owner signs in
/// with the new password at once however many guesses came before.
#[tokio::test]
async fn a_reset_ends_the_login_backoff() {
    let app = TestApp::spawn_with(&[
        ("LOGIN_MAX_FAILURES", "2"),
        ("LOGIN_BACKOFF", "600s"),
        ("LOGIN_BACKOFF_MAX", "600s"),
    ])
    .await;
    let (email, _) = user(&app).await;
    for _ in 0..2 {
        app.login(&email, "a wrong guess")
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    app.login(&email, PASSWORD)
        .await
        .assert_error(429, "TOO_MANY_ATTEMPTS");
    assert_eq!(app.forgot(&email).await.status, 202);
    let link = app.one_mail_to(&email).await.token();
    assert_eq!(app.reset(&link, "fresh start passphrase").await.status, 204);
    assert_eq!(
        app.login(&email, "fresh start passphrase").await.status,
        200
    );
}
