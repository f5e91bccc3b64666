use e2e::lifecycle::authorized_request;
use e2e::{Function, PASSWORD, TestApp, json_post_from};
use serde_json::{Value, json};

use super::user;

fn session_id(response: &e2e::TestResponse) -> String {
    e2e::claims(&response.access_token())["sid"]
        .as_str()
        .expect("sid")
        .to_owned()
}

#[tokio::test]
async fn the_list_shows_each_live_session_with_its_device_and_which_one_asked() {
    let app = TestApp::spawn().await;
    let (email, registered) = user(&app).await;
    let body = json!({ "email": email, "password": PASSWORD }).to_string();
    let mut phone = json_post_from("203.0.113.9", "/auth/login", &body);
    phone
        .headers_mut()
        .insert("user-agent", "Phone/1.0".parse().expect("header"));
    let phone = app.send(Function::Login, phone).await;
    assert_eq!(phone.status, 200);

    let listed = app
        .authorized(
            Function::Sessions,
            "GET",
            "/auth/sessions",
            &phone.access_token(),
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let sessions = listed.json["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2);
    let find = |id: &str| -> &Value {
        sessions
            .iter()
            .find(|session| session["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {sessions:?}"))
    };
    let current = find(&session_id(&phone));
    assert_eq!(current["current"], true);
    assert_eq!(current["userAgent"], "Phone/1.0");
    assert_eq!(current["ipAddress"], "203.0.113.9");
    let other = find(&session_id(&registered));
    assert_eq!(other["current"], false);
    assert_eq!(other["userAgent"], "e2e");
    assert_eq!(other["ipAddress"], e2e::SOURCE_IP);
    for field in ["createdAt", "lastUsedAt", "expiresAt"] {
        let text = current[field].as_str().expect("a timestamp");
        assert!(text.len() == 20 && text.ends_with('Z'), "{field}: {text}");
    }
    assert!(!listed.text.contains("digest"), "{}", listed.text);
}

#[tokio::test]
async fn a_refresh_records_when_and_where_the_session_was_last_used() {
    let app = TestApp::spawn().await;
    let (_, registered) = user(&app).await;
    app.clock.advance(120);
    let request = e2e::http_api_event_from(
        "198.51.100.20",
        "POST",
        "/auth/refresh",
        &[("user-agent", "Laptop/2.0")],
        &[format!("refreshToken={}", registered.refresh_token())],
        None,
    );
    let refreshed = app.send(Function::Refresh, request).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let listed = app
        .authorized(
            Function::Sessions,
            "GET",
            "/auth/sessions",
            &refreshed.access_token(),
            None,
        )
        .await;
    let session = &listed.json["sessions"][0];
    assert_eq!(session["userAgent"], "Laptop/2.0");
    assert_eq!(session["ipAddress"], "198.51.100.20");
    assert_ne!(session["lastUsedAt"], session["createdAt"]);
}

#[tokio::test]
async fn a_user_revokes_their_own_session_but_nobody_else_s() {
    let app = TestApp::spawn().await;
    let (email, mine) = user(&app).await;
    let other_device = app.login(&email, PASSWORD).await;
    let (_, stranger) = user(&app).await;

    let app = &app;
    let revoke = |token: String, id: String| async move {
        let request = authorized_request(
            app,
            e2e::SOURCE_IP,
            &[],
            "DELETE",
            &format!("/auth/sessions/{id}"),
            &token,
            None,
        )
        .await;
        app.send(Function::Sessions, request).await
    };
    revoke(mine.access_token(), session_id(&stranger))
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(app.refresh(&stranger.refresh_token()).await.status, 200);
    revoke(mine.access_token(), "0".repeat(32))
        .await
        .assert_error(404, "NOT_FOUND");
    revoke(mine.access_token(), "not-an-id".into())
        .await
        .assert_error(404, "NOT_FOUND");

    let revoked = revoke(mine.access_token(), session_id(&other_device)).await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    app.refresh(&other_device.refresh_token())
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    revoke(mine.access_token(), session_id(&other_device))
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(app.refresh(&mine.refresh_token()).await.status, 200);
    assert_eq!(app.audit_events_named("session_revoked").len(), 1);
}

/// Starts `count` sessions for the registered user behind `registered` straight through the
/// store (a login's own write, without argon2 for each); returns their refresh tokens.
async fn many_sessions(app: &TestApp, email: &str, count: usize) -> Vec<String> {
    use auth_core::domain::Email;
    use auth_service::sessions::SessionOwner;
    let email = Email::parse(email).expect("email");
    let credentials = app
        .sign_in
        .store
        .credentials_by_email(&email)
        .await
        .expect("read")
        .expect("user");
    let mut tokens = Vec::new();
    for n in 0..count {
        let owner = SessionOwner {
            user: &credentials.profile.id,
            role: &credentials.profile.role,
            email_verified: false,
            device: Default::default(),
            epoch: credentials.session_epoch,
            assurance: auth_core::assurance::Assurance::password(),
        };
        // One second apart, so their ids (and the list) are in creation order.
        let (session, token) = app
            .sign_in
            .sessions
            .start(owner, app.now() - 10_000 + i64::try_from(n).expect("small"));
        app.sign_in
            .store
            .create_session_for(&session, &email, &credentials.password_hash, &[])
            .await
            .expect("start a session");
        tokens.push(token.encode());
    }
    tokens
}

fn list_page(
    app: &TestApp,
    access: &str,
    query: &str,
) -> impl std::future::Future<Output = e2e::TestResponse> {
    let path = format!("/auth/sessions{query}");
    let access = access.to_owned();
    async move {
        let mut request = authorized_request(
            app,
            e2e::SOURCE_IP,
            &[],
            "GET",
            "/auth/sessions",
            &access,
            None,
        )
        .await;
        *request.uri_mut() = path.parse().expect("uri");
        let request = lambda_http::RequestExt::with_query_string_parameters(
            request,
            query
                .trim_start_matches('?')
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (key.to_owned(), value.to_owned())
                })
                .collect::<std::collections::HashMap<_, _>>(),
        );
        app.send(Function::Sessions, request).await
    }
}

/// One account with hundreds of sessions: the list comes in pages, newest first, the calling
/// session first on the first page, each session exactly once; a reset then ends every one
/// of them at once, and its clean-up deletes them all.
#[tokio::test]
async fn hundreds_of_sessions_are_listed_page_by_page_and_a_reset_ends_them_all() {
    let app = TestApp::spawn_with(&[("MAX_SESSIONS_PER_USER", "1000")]).await;
    let (email, registered) = user(&app).await;
    let tokens = many_sessions(&app, &email, 300).await;
    let caller = app.login(&email, PASSWORD).await;
    let access = caller.access_token();

    let mut seen: Vec<Value> = Vec::new();
    let mut query = "?limit=100".to_owned();
    let mut pages = 0;
    loop {
        let page = list_page(&app, &access, &query).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let sessions = page.json["sessions"].as_array().expect("sessions").clone();
        assert!(sessions.len() <= 100);
        if pages == 0 {
            assert_eq!(sessions[0]["id"], session_id(&caller).as_str());
            assert_eq!(sessions[0]["current"], true);
        }
        seen.extend(sessions);
        pages += 1;
        match page.json["next"].as_str() {
            Some(next) => query = format!("?limit=100&cursor={next}"),
            None => break,
        }
        assert!(pages < 10, "the pages end");
    }
    assert_eq!(seen.len(), 302, "registration, 300, and the caller's login");
    let mut ids: Vec<&str> = seen.iter().filter_map(|s| s["id"].as_str()).collect();
    let listed_order = ids.clone();
    // After the caller's, newest first (each started a second after the one before).
    let created: Vec<&str> = seen
        .iter()
        .skip(1)
        .filter_map(|s| s["createdAt"].as_str())
        .collect();
    assert!(
        created.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first"
    );
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 302, "each exactly once: {listed_order:?}");

    for bad in [
        "?limit=0",
        "?limit=101",
        "?limit=ten",
        "?cursor=not-a-cursor",
    ] {
        list_page(&app, &access, bad)
            .await
            .assert_error(400, "VALIDATION_ERROR");
    }

    assert_eq!(app.forgot(&email).await.status, 202);
    let reset = app.one_mail_to(&email).await.token();
    assert_eq!(
        app.reset(&reset, "a new passphrase for all").await.status,
        204
    );
    for token in tokens
        .iter()
        .step_by(7)
        .chain([&registered.refresh_token(), &caller.refresh_token()])
    {
        // Refused: SESSION_REVOKED while an item is left, INVALID_REFRESH_TOKEN once swept.
        assert_eq!(app.refresh(token).await.status, 401);
    }
    let left = app
        .all_items()
        .await
        .into_iter()
        .filter(|item| item["sk"].as_s().is_ok_and(|sk| sk.starts_with("SESSION#")))
        .count();
    assert_eq!(left, 0, "the clean-up deleted every session item");
}

/// `MAX_SESSIONS_PER_USER`: a login beyond the bound ends the oldest session in its own
/// transaction; the newer ones go on.
#[tokio::test]
async fn a_login_beyond_the_bound_ends_the_oldest_session() {
    let app = TestApp::spawn_with(&[("MAX_SESSIONS_PER_USER", "3")]).await;
    let (email, registered) = user(&app).await;
    app.clock.advance(1);
    let second = app.login(&email, PASSWORD).await;
    app.clock.advance(1);
    let third = app.login(&email, PASSWORD).await;
    app.clock.advance(1);
    app.round_trips.take();
    let fourth = app.login(&email, PASSWORD).await;
    assert_eq!(fourth.status, 200);
    assert_eq!(
        app.round_trips.take(),
        4,
        "no extra request: the delete rides in the transaction"
    );
    app.refresh(&registered.refresh_token())
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    for kept in [&second, &third, &fourth] {
        assert_eq!(app.refresh(&kept.refresh_token()).await.status, 200);
    }
    let listed = list_page(&app, &fourth.access_token(), "").await;
    assert_eq!(listed.json["sessions"].as_array().map(Vec::len), Some(3));
    assert_eq!(listed.json["next"], Value::Null);
}
