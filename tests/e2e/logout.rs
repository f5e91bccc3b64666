use e2e::Function;
use e2e::{PASSWORD, TestApp, claims, http_api_event, json_post};

#[tokio::test]
async fn logout_revokes_the_session_clears_the_cookie_and_costs_one_round_trip() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let token = registered.refresh_token();
    let access = claims(&registered.access_token());
    app.round_trips.take();

    let response = app.logout(Some(&token)).await;

    assert_eq!(response.status, 204);
    assert!(response.text.is_empty());
    assert_eq!(app.round_trips.take(), 1);
    assert_eq!(
        response.refresh_cookie().as_deref(),
        Some("refreshToken=; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=0")
    );
    let session = app
        .session_item(
            access["sub"].as_str().expect("sub"),
            access["sid"].as_str().expect("sid"),
        )
        .await;
    assert!(session.is_none(), "the session is deleted");
    app.refresh(&token)
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
}

#[tokio::test]
async fn logout_only_ends_the_session_it_was_given() {
    let app = TestApp::spawn().await;
    let (email, registered) = app.registered_user().await;
    let other_device = app.login(&email, PASSWORD).await;
    assert_eq!(
        app.logout(Some(&registered.refresh_token())).await.status,
        204
    );
    assert_eq!(app.refresh(&other_device.refresh_token()).await.status, 200);
}

#[tokio::test]
async fn logout_is_idempotent() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let token = registered.refresh_token();
    let expired_app_token = {
        let (_, other) = app.registered_user().await;
        other.refresh_token()
    };
    assert_eq!(app.logout(Some(&token)).await.status, 204);
    assert_eq!(app.logout(Some(&token)).await.status, 204, "twice");
    assert_eq!(app.logout(None).await.status, 204, "no cookie");
    assert_eq!(app.logout(Some("garbage")).await.status, 204, "malformed");
    let unknown = format!("{}{}.{}", "a".repeat(32), "b".repeat(32), "A".repeat(43));
    assert_eq!(
        app.logout(Some(&unknown)).await.status,
        204,
        "unknown session"
    );
    app.clock.advance(8 * 86_400);
    assert_eq!(
        app.logout(Some(&expired_app_token)).await.status,
        204,
        "expired session"
    );
}

#[tokio::test]
async fn logout_accepts_the_token_in_a_json_body() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let token = registered.refresh_token();
    let body = serde_json::json!({ "refreshToken": token }).to_string();
    assert_eq!(
        app.send(Function::Logout, json_post("/auth/logout", &body))
            .await
            .status,
        204
    );
    app.refresh(&token)
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
}

#[tokio::test]
async fn a_forged_token_cannot_log_someone_else_out() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let token = registered.refresh_token();
    let (ids, _) = token.split_once('.').expect("shape");
    let forged = format!("{ids}.{}", "A".repeat(43));
    assert_eq!(app.logout(Some(&forged)).await.status, 204);
    assert_eq!(
        app.refresh(&token).await.status,
        200,
        "the real session survives"
    );
}

#[tokio::test]
async fn logout_all_revokes_every_session_of_the_user_only() {
    let app = TestApp::spawn().await;
    let (email, registered) = app.registered_user().await;
    let phone = app.login(&email, PASSWORD).await;
    let tablet = app.login(&email, PASSWORD).await;
    let (_, bystander) = app.registered_user().await;

    let response = app.logout_all(Some(&phone.access_token())).await;

    assert_eq!(response.status, 204, "{}", response.text);
    assert!(
        response
            .refresh_cookie()
            .is_some_and(|cookie| cookie.ends_with("Max-Age=0"))
    );
    for session in [&registered, &phone, &tablet] {
        app.refresh(&session.refresh_token())
            .await
            .assert_error(401, "INVALID_REFRESH_TOKEN");
    }
    assert_eq!(
        app.refresh(&bystander.refresh_token()).await.status,
        200,
        "other users keep their sessions"
    );
    assert_eq!(
        app.logout_all(Some(&phone.access_token())).await.status,
        204,
        "idempotent"
    );
}

#[tokio::test]
async fn logout_all_with_many_sessions_pages_through_them_all() {
    let app = TestApp::spawn_with(&[("ARGON2_MEMORY_KIB", "8"), ("ARGON2_ITERATIONS", "1")]).await;
    let (email, registered) = app.registered_user().await;
    let mut tokens = vec![registered.refresh_token()];
    for _ in 0..30 {
        tokens.push(app.login(&email, PASSWORD).await.refresh_token());
    }
    assert_eq!(
        app.logout_all(Some(&registered.access_token()))
            .await
            .status,
        204
    );
    for token in tokens {
        app.refresh(&token)
            .await
            .assert_error(401, "INVALID_REFRESH_TOKEN");
    }
}

#[tokio::test]
async fn logout_all_needs_a_valid_access_token() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let missing = app.logout_all(None).await;
    missing.assert_error(401, "MISSING_TOKEN");
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));

    let access = registered.access_token();
    let mut tampered = access.clone().into_bytes();
    let middle = access.find('.').expect("jwt") + 3;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    let refresh_token = registered.refresh_token();
    for bad in [
        tampered.as_str(),
        refresh_token.as_str(),
        "not-a-jwt",
        "a.b.c",
    ] {
        let response = app.logout_all(Some(bad)).await;
        response.assert_error(401, "INVALID_TOKEN");
        assert_eq!(
            response.header("www-authenticate"),
            Some(r#"Bearer error="invalid_token""#)
        );
    }

    app.clock.advance(16 * 60);
    app.logout_all(Some(&access))
        .await
        .assert_error(401, "INVALID_TOKEN");
    app.clock.advance(-16 * 60);
    assert_eq!(
        app.refresh(&refresh_token).await.status,
        200,
        "nothing was revoked by the refused calls"
    );

    let basic = http_api_event(
        "POST",
        "/auth/logout-all",
        &[("authorization", "Basic dXNlcjpwYXNz")],
        &[],
        None,
    );
    // A present header that is not one bearer token is refused as such, never ignored.
    app.send(Function::Logout, basic)
        .await
        .assert_error(401, "INVALID_TOKEN");
    app.logout_all(None)
        .await
        .assert_error(401, "MISSING_TOKEN");
}
