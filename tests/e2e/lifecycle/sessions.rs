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
