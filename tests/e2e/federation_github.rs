//! GitHub as a provider: plain OAuth 2.0, identities keyed on its numeric user id, the email
//! from `/user/emails` (primary and verified only), against a stand-in for its endpoints.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use e2e::federation::{cookie_pair, get_with, query_of};
use e2e::stand_in::{self, Seen};
use e2e::{Function, TestApp, TestResponse, claims};
use serde_json::json;

/// A GitHub stand-in whose `/user/emails` answers `emails`; it records what it was asked.
async fn github(emails: serde_json::Value) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let base = stand_in::start(move |request: Seen| {
        log.lock().expect("log").push(request.clone());
        let path = request
            .path_and_query
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        let body = String::from_utf8_lossy(&request.body).into_owned();
        match path.as_str() {
            // GitHub answers a bad code with 200 and an error field.
            "/login/oauth/access_token" if body.contains("code=good-code") => (
                200,
                "application/json",
                json!({"access_token": "gho_standin", "token_type": "bearer"}).to_string(),
            ),
            "/login/oauth/access_token" => (
                200,
                "application/json",
                json!({"error": "bad_verification_code"}).to_string(),
            ),
            "/user" => (
                200,
                "application/json",
                json!({"id": 4242, "login": "octo", "name": "Octo Cat"}).to_string(),
            ),
            "/user/emails" => (200, "application/json", emails.to_string()),
            _ => (404, "application/json", "{}".into()),
        }
    })
    .await;
    (base, seen)
}

async fn app_for(base: &str) -> TestApp {
    let providers = format!(
        r#"[{{"id":"github","type":"github","clientId":"gh-client","authorizeUrl":"{base}/login/oauth/authorize","tokenUrl":"{base}/login/oauth/access_token","apiUrl":"{base}"}}]"#
    );
    TestApp::spawn_with(&[
        ("OAUTH_PROVIDERS", &providers),
        ("OAUTH_CLIENT_SECRETS", r#"{"github":"gh-secret"}"#),
        ("OAUTH_CALLBACK_BASE_URL", "https://api.test"),
    ])
    .await
}

/// Starts a sign-in and comes back with `code`, as GitHub would redirect the browser.
async fn round_trip(app: &TestApp, code: &str) -> TestResponse {
    let started = app
        .send(
            Function::Federation,
            get_with("/auth/oauth/github/start", &HashMap::new(), None),
        )
        .await;
    assert_eq!(started.status, 302, "{}", started.text);
    let location = started.header("location").expect("location").to_owned();
    let sent = query_of(&location);
    assert_eq!(
        sent["redirect_uri"],
        "https://api.test/auth/oauth/github/callback"
    );
    assert_eq!(sent["code_challenge_method"], "S256");
    assert!(!sent.contains_key("nonce"), "no ID token, no nonce");
    let binding = cookie_pair(
        started
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok()),
        "oauthBinding",
    )
    .expect("binding");
    let query = HashMap::from([
        ("code".to_owned(), code.to_owned()),
        ("state".to_owned(), sent["state"].clone()),
    ]);
    app.send(
        Function::Federation,
        get_with("/auth/oauth/github/callback", &query, Some(&binding)),
    )
    .await
}

fn fragment(response: &TestResponse) -> &str {
    response
        .header("location")
        .and_then(|location| location.split_once('#'))
        .map_or("", |(_, fragment)| fragment)
}

#[tokio::test]
async fn the_primary_verified_address_signs_in_keyed_on_the_numeric_id() {
    let email = format!("octo-{}@example.com", auth_core::random::hex_id());
    let (base, seen) = github(json!([
        {"email": "old@example.com", "primary": false, "verified": true},
        {"email": email, "primary": true, "verified": true},
    ]))
    .await;
    let app = app_for(&base).await;
    let signed_in = round_trip(&app, "good-code").await;
    assert_eq!(signed_in.status, 302, "{}", signed_in.text);
    let refresh = cookie_pair(
        signed_in
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok()),
        "refreshToken",
    )
    .expect("a session");
    let refreshed = app
        .refresh(
            refresh
                .split_once('=')
                .map(|(_, token)| token)
                .unwrap_or_default(),
        )
        .await;
    assert_eq!(claims(&refreshed.access_token())["amr"], json!(["fed"]));
    let token_request = seen
        .lock()
        .expect("log")
        .iter()
        .find(|request| {
            request
                .path_and_query
                .starts_with("/login/oauth/access_token")
        })
        .cloned()
        .expect("a token request");
    let form = String::from_utf8_lossy(&token_request.body).into_owned();
    assert!(form.contains("code_verifier="), "{form}");
    assert_eq!(token_request.header("accept"), Some("application/json"));
    let api_calls: Vec<_> = seen
        .lock()
        .expect("log")
        .iter()
        .filter(|request| request.path_and_query.starts_with("/user"))
        .map(|request| request.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        api_calls,
        [
            Some("Bearer gho_standin".to_owned()),
            Some("Bearer gho_standin".to_owned())
        ]
    );
    let identity_items: Vec<_> = app
        .all_items()
        .await
        .into_iter()
        .filter(|item| {
            item.get("sk")
                .and_then(|sk| sk.as_s().ok())
                .is_some_and(|sk| sk == "IDENTITY")
        })
        .collect();
    assert_eq!(identity_items.len(), 1);
    assert_eq!(
        identity_items[0]["issuer"].as_s().ok().map(String::as_str),
        Some("https://github.com")
    );
    assert_eq!(
        identity_items[0]["subject"].as_s().ok().map(String::as_str),
        Some("4242")
    );
}

#[tokio::test]
async fn an_unverified_primary_address_is_not_replaced_by_a_verified_secondary() {
    let (base, _) = github(json!([
        {"email": "main@example.com", "primary": true, "verified": false},
        {"email": "other@example.com", "primary": false, "verified": true},
    ]))
    .await;
    let app = app_for(&base).await;
    let refused = round_trip(&app, "good-code").await;
    assert_eq!(fragment(&refused), "error=email_not_verified");
}

#[tokio::test]
async fn a_bad_code_reported_with_status_200_is_a_provider_error_that_writes_nothing() {
    let (base, _) = github(json!([])).await;
    let app = app_for(&base).await;
    let before = app.all_items().await.len();
    let refused = round_trip(&app, "stolen-code").await;
    assert_eq!(fragment(&refused), "error=provider_error");
    // The start's state item, now spent: the table is as before.
    assert_eq!(app.all_items().await.len(), before);
}
