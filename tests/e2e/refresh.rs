use e2e::Function;
use e2e::{PASSWORD, TestApp, attribute_number, claims, http_api_event, json_post};

const DAY: i64 = 86_400;

/// Registers a user and returns (refresh token, user id, session id).
async fn signed_in(app: &TestApp) -> (String, String, String) {
    let (_, response) = app.registered_user().await;
    let token_claims = claims(&response.access_token());
    (
        response.refresh_token(),
        token_claims["sub"].as_str().expect("sub").to_owned(),
        token_claims["sid"].as_str().expect("sid").to_owned(),
    )
}

#[tokio::test]
async fn refresh_rotates_the_token_in_one_write_and_reads_the_profile_beside_it() {
    let app = TestApp::spawn().await;
    let (first, user, session) = signed_in(&app).await;
    app.round_trips.take();

    let response = app.refresh(&first).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        app.round_trips.take(),
        2,
        "one conditional UpdateItem, and the profile read beside it"
    );
    assert_eq!(response.json["tokenType"], "Bearer");
    assert!(
        response.json.get("refreshToken").is_none(),
        "cookie clients never see the token in the body"
    );
    let second = response.refresh_token();
    assert_ne!(second, first);
    let access = claims(&response.access_token());
    assert_eq!(
        (access["sub"].as_str(), access["sid"].as_str()),
        (Some(user.as_str()), Some(session.as_str()))
    );
    let cookie = response.refresh_cookie().expect("cookie");
    assert!(
        cookie.contains("HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=604800"),
        "{cookie}"
    );

    let item = app
        .session_item(&user, &session)
        .await
        .expect("session item");
    assert_eq!(attribute_number(&item, "generation"), 1);
    assert_eq!(
        app.refresh(&second).await.status,
        200,
        "the successor works"
    );
}

#[tokio::test]
async fn session_items_carry_a_ttl_attribute_equal_to_their_expiry_and_slide_on_refresh() {
    let app = TestApp::spawn().await;
    let (token, user, session) = signed_in(&app).await;
    let item = app.session_item(&user, &session).await.expect("session");
    let created = attribute_number(&item, "created_at");
    assert_eq!(attribute_number(&item, "expires_at"), created + 7 * DAY);
    assert_eq!(
        attribute_number(&item, "absolute_expires_at"),
        created + 30 * DAY
    );

    app.clock.advance(DAY);
    // The test clock follows the wall clock, which may tick during the refresh.
    let before = app.now();
    assert_eq!(app.refresh(&token).await.status, 200);
    let after = app.now();
    let item = app.session_item(&user, &session).await.expect("session");
    let slid_from = attribute_number(&item, "expires_at") - 7 * DAY;
    assert!(
        (before..=after).contains(&slid_from),
        "sliding expiry from the refresh: {slid_from} not in {before}..={after}"
    );
}

#[tokio::test]
async fn a_session_never_outlives_its_absolute_lifetime() {
    let app = TestApp::spawn().await;
    let (mut token, user, session) = signed_in(&app).await;
    let created = attribute_number(
        &app.session_item(&user, &session).await.expect("session"),
        "created_at",
    );
    for _ in 0..4 {
        app.clock.advance(6 * DAY);
        let response = app.refresh(&token).await;
        assert_eq!(response.status, 200, "{}", response.text);
        token = response.refresh_token();
    }
    // Day 24: a 7-day sliding expiry would reach day 31; it is capped at day 30.
    let item = app.session_item(&user, &session).await.expect("session");
    assert_eq!(attribute_number(&item, "expires_at"), created + 30 * DAY);
    app.clock.advance(6 * DAY + 1);
    app.refresh(&token)
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
}

#[tokio::test]
async fn an_expired_session_that_dynamodb_has_not_deleted_yet_is_rejected() {
    let app = TestApp::spawn().await;
    let (token, user, session) = signed_in(&app).await;
    app.clock.advance(7 * DAY + 1);

    let response = app.refresh(&token).await;

    response.assert_error(401, "INVALID_REFRESH_TOKEN");
    assert!(
        app.session_item(&user, &session).await.is_some(),
        "the item is still there (TTL deletes lazily)"
    );
}

#[tokio::test]
async fn reusing_a_rotated_out_token_revokes_the_whole_family() {
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_GRACE", "0")]).await;
    let (first, user, session) = signed_in(&app).await;
    let second = app.refresh(&first).await.refresh_token();

    let reuse = app.refresh(&first).await;

    reuse.assert_error(401, "REFRESH_TOKEN_REUSED");
    assert_eq!(
        reuse.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
    assert_cookie_cleared(&reuse);
    assert!(
        app.session_item(&user, &session).await.is_none(),
        "the family is gone"
    );
    let dead = app.refresh(&second).await;
    dead.assert_error(401, "INVALID_REFRESH_TOKEN");
    assert_cookie_cleared(&dead);
}

#[tokio::test]
async fn within_the_grace_window_the_previous_token_gets_the_same_successor() {
    let app = TestApp::spawn().await;
    let (first, user, session) = signed_in(&app).await;
    let second = app.refresh(&first).await.refresh_token();
    app.clock.advance(5);

    let replay = app.refresh(&first).await;

    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(
        replay.refresh_token(),
        second,
        "every tab converges on one cookie"
    );
    let item = app
        .session_item(&user, &session)
        .await
        .expect("not revoked");
    assert_eq!(
        attribute_number(&item, "generation"),
        1,
        "no fork, no extra rotation"
    );
    assert_eq!(app.refresh(&second).await.status, 200);
}

#[tokio::test]
async fn after_the_grace_window_the_previous_token_is_reuse() {
    let app = TestApp::spawn().await;
    let (first, user, session) = signed_in(&app).await;
    app.refresh(&first).await;
    app.clock.advance(10);
    app.refresh(&first)
        .await
        .assert_error(401, "REFRESH_TOKEN_REUSED");
    assert!(app.session_item(&user, &session).await.is_none());
}

#[tokio::test]
async fn a_token_two_generations_old_is_reuse_even_inside_the_grace_window() {
    let app = TestApp::spawn().await;
    let (first, user, session) = signed_in(&app).await;
    let second = app.refresh(&first).await.refresh_token();
    let third = app.refresh(&second).await.refresh_token();

    app.refresh(&first)
        .await
        .assert_error(401, "REFRESH_TOKEN_REUSED");

    assert!(app.session_item(&user, &session).await.is_none());
    app.refresh(&third)
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
}

#[tokio::test]
async fn twenty_concurrent_refreshes_of_one_token_never_fork_the_family() {
    let app = TestApp::spawn().await;
    let (first, user, session) = signed_in(&app).await;

    let responses = futures::future::join_all((0..20).map(|_| app.refresh(&first))).await;

    let tokens: Vec<String> = responses
        .iter()
        .map(|response| {
            assert_eq!(response.status, 200, "{}", response.text);
            response.refresh_token()
        })
        .collect();
    assert!(
        tokens.windows(2).all(|pair| pair[0] == pair[1]),
        "all converge on one successor"
    );
    let item = app.session_item(&user, &session).await.expect("session");
    assert_eq!(
        attribute_number(&item, "generation"),
        1,
        "rotated exactly once"
    );
    assert_eq!(app.refresh(&tokens[0]).await.status, 200);
}

#[tokio::test]
async fn a_forged_secret_for_a_real_session_is_refused_without_revoking_it() {
    let app = TestApp::spawn().await;
    let (token, user, session) = signed_in(&app).await;
    let (ids, secret) = token.split_once('.').expect("token shape");
    let flipped = if secret.starts_with('A') { "B" } else { "A" };
    let forged = format!("{ids}.{flipped}{}", &secret[1..]);

    app.refresh(&forged)
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");

    assert!(
        app.session_item(&user, &session).await.is_some(),
        "a forgery cannot log anyone out"
    );
    assert_eq!(app.refresh(&token).await.status, 200);
}

#[tokio::test]
async fn missing_malformed_and_wrong_type_tokens_are_401() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let none = app
        .send(
            Function::Refresh,
            http_api_event("POST", "/auth/refresh", &[], &[], None),
        )
        .await;
    none.assert_error(401, "MISSING_REFRESH_TOKEN");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    let access_token = registered.access_token();
    for garbage in [
        "x",
        "not.a.token",
        "%F0%9F%99%82",
        access_token.as_str(),
        &"a".repeat(5000),
    ] {
        app.refresh(garbage)
            .await
            .assert_error(401, "INVALID_REFRESH_TOKEN");
    }
    let unknown_session = format!("{}{}.{}", "a".repeat(32), "b".repeat(32), "A".repeat(43));
    app.refresh(&unknown_session)
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
}

#[tokio::test]
async fn non_browser_clients_send_the_token_in_the_body_and_get_the_next_one_back() {
    let app = TestApp::spawn().await;
    let (first, _, _) = signed_in(&app).await;
    let body = serde_json::json!({ "refreshToken": first }).to_string();

    let response = app
        .send(Function::Refresh, json_post("/auth/refresh", &body))
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    let next = response.json["refreshToken"]
        .as_str()
        .expect("refreshToken in the body")
        .to_owned();
    assert_eq!(next, response.refresh_token());
    assert_eq!(app.refresh(&next).await.status, 200);
}

#[tokio::test]
async fn refresh_input_errors_are_4xx() {
    let app = TestApp::spawn().await;
    app.send(Function::Refresh, json_post("/auth/refresh", "{oops"))
        .await
        .assert_error(400, "INVALID_JSON");
    let wrong_type = app
        .send(
            Function::Refresh,
            json_post("/auth/refresh", r#"{"refreshToken":7}"#),
        )
        .await;
    wrong_type.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(wrong_type.json["field"], "refreshToken");
    let get = app
        .send(
            Function::Refresh,
            http_api_event("GET", "/auth/refresh", &[], &[], None),
        )
        .await;
    get.assert_error(405, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn a_role_change_reaches_every_session_at_its_next_refresh() {
    let app = TestApp::spawn().await;
    let (email, registered) = app.registered_user().await;
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(claims(&login.access_token())["role"], "user");

    let email = auth_core::domain::Email::parse(&email).expect("email");
    let admin = auth_core::domain::Role::parse("admin").expect("role");
    assert!(
        app.sign_in
            .store
            .set_role(&email, &admin)
            .await
            .expect("set role")
    );
    for session in [registered, login] {
        let refreshed = app.refresh(&session.refresh_token()).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.text);
        assert_eq!(claims(&refreshed.access_token())["role"], "admin");
    }
    let relogin = app.login(email.as_str(), PASSWORD).await;
    assert_eq!(claims(&relogin.access_token())["role"], "admin");
    assert_eq!(relogin.json["user"]["role"], "admin");

    let unknown = auth_core::domain::Email::parse("nobody@example.com").expect("email");
    assert!(
        !app.sign_in
            .store
            .set_role(&unknown, &admin)
            .await
            .expect("set role")
    );
}

/// A refused refresh tells the browser to drop its cookie: it would never work again.
fn assert_cookie_cleared(response: &e2e::TestResponse) {
    let cookie = response
        .refresh_cookie()
        .unwrap_or_else(|| panic!("a cleared cookie in {response:?}"));
    assert!(cookie.starts_with("refreshToken=;"), "{cookie}");
    assert!(cookie.ends_with("Max-Age=0"), "{cookie}");
}

/// A session its account revoked is refused at refresh even while its item is still there
/// (a clean-up that never ran), and the strict authorizer refuses its access token.
#[tokio::test]
async fn a_revoked_session_is_refused_even_before_its_item_is_deleted() {
    use auth_core::authorizer::SessionCheck as _;
    let app = TestApp::spawn().await;
    let (email, registered) = app.registered_user().await;
    let (user, session) = {
        let token_claims = claims(&registered.access_token());
        (
            token_claims["sub"].as_str().expect("sub").to_owned(),
            token_claims["sid"].as_str().expect("sid").to_owned(),
        )
    };
    let store = &app.profiles.store;
    assert!(
        store
            .is_live(&user, &session, app.now())
            .await
            .expect("check")
    );
    // The credential event's commit alone, as if its clean-up had failed.
    let revoked = store
        .revoke_all_sessions(
            &auth_core::domain::UserId::parse(&user).expect("id"),
            &auth_core::domain::Email::parse(&email).expect("email"),
        )
        .await
        .expect("revoke");
    assert!(revoked);
    assert!(app.session_item(&user, &session).await.is_some());
    assert!(
        !store
            .is_live(&user, &session, app.now())
            .await
            .expect("check")
    );
    let refused = app.refresh(&registered.refresh_token()).await;
    refused.assert_error(401, "SESSION_REVOKED");
    assert_cookie_cleared(&refused);
    assert!(
        app.session_item(&user, &session).await.is_none(),
        "refresh deleted what it refused"
    );
    // A login afterwards starts a session under the new epoch, which stands.
    let fresh = app.login(&email, PASSWORD).await;
    assert_eq!(app.refresh(&fresh.refresh_token()).await.status, 200);
}
