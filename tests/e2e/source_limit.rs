//! The per-source-IP limit on failed logins and registrations: a sliding window shared through
//! DynamoDB, IPv6 grouped by /64, `X-Forwarded-For` believed only behind trusted proxies.

use e2e::{
    Function, PASSWORD, TestApp, TestResponse, http_api_event_from, json_post_from, unique_name,
};
use serde_json::json;

const WRONG: &str = "not the password at all";
const WINDOW: u64 = 3600;
const WINDOW_SECONDS: i64 = 3600;

/// Three failures per source in an hour's window (long, so a test never straddles a bucket edge
/// while it counts); the per-email backoff out of the way.
async fn app_with(extra: &[(&str, &str)]) -> TestApp {
    let mut overrides = vec![
        ("IP_MAX_FAILURES", "3"),
        ("IP_WINDOW", "1h"),
        ("LOGIN_MAX_FAILURES", "1000"),
    ];
    overrides.extend_from_slice(extra);
    TestApp::spawn_with(&overrides).await
}

fn new_email() -> String {
    format!("{}@example.com", unique_name("source"))
}

fn assert_source_limited(response: &TestResponse, window: u64) -> u64 {
    response.assert_error(429, "TOO_MANY_REQUESTS");
    let retry_after: u64 = response
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in whole seconds: {response:?}"));
    assert!(
        (1..=2 * window + 1).contains(&retry_after),
        "Retry-After {retry_after}: {response:?}"
    );
    retry_after
}

/// Fails `count` logins from `source`, each for a different unknown email.
async fn fail_logins(app: &TestApp, source: &str, count: usize) {
    for _ in 0..count {
        app.login_from(source, &new_email(), WRONG)
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
}

#[tokio::test]
async fn a_source_over_its_limit_waits_without_argon2_and_other_sources_do_not() {
    let app = app_with(&[]).await;
    let (email, _) = app.registered_user().await;
    fail_logins(&app, "198.51.100.1", 3).await;

    let verifications = app.sign_in.passwords.verifications();
    app.round_trips.take();
    // Even the right password of a real account waits: no argon2, no write.
    assert_source_limited(
        &app.login_from("198.51.100.1", &email, PASSWORD).await,
        WINDOW,
    );
    assert_eq!(app.sign_in.passwords.verifications(), verifications);
    assert_eq!(
        app.round_trips.take(),
        3,
        "the read, the reservation made beside it, and the reservation given back"
    );
    // Registering from there waits too, before any hashing.
    assert_source_limited(
        &app.register_from("198.51.100.1", &new_email()).await,
        WINDOW,
    );

    // Another address, the same account: unaffected.
    assert_eq!(
        app.login_from("198.51.100.2", &email, PASSWORD)
            .await
            .status,
        200
    );
    assert_eq!(
        app.register_from("198.51.100.2", &new_email()).await.status,
        201
    );

    let limited = app.audit_events_named("ip_limited");
    assert_eq!(limited.len(), 2, "{limited:?}");
    assert!(
        limited
            .iter()
            .all(|line| line["sourceIp"] == "198.51.100.1")
    );
}

#[tokio::test]
async fn the_window_slides_and_retry_after_is_when_the_next_attempt_is_counted() {
    let app = app_with(&[]).await;
    let (email, _) = app.registered_user().await;
    fail_logins(&app, "198.51.100.7", 3).await;
    let retry_after = assert_source_limited(
        &app.login_from("198.51.100.7", &email, PASSWORD).await,
        WINDOW,
    );
    // A wall-clock second may tick between the answer and the retry: allow it.
    app.clock.advance(i64::try_from(retry_after).unwrap() + 1);
    assert_eq!(
        app.login_from("198.51.100.7", &email, PASSWORD)
            .await
            .status,
        200
    );
    // Two windows later nothing of the old failures is left.
    app.clock.advance(2 * WINDOW_SECONDS);
    fail_logins(&app, "198.51.100.7", 3).await;
    assert_source_limited(
        &app.login_from("198.51.100.7", &email, PASSWORD).await,
        WINDOW,
    );
}

#[tokio::test]
async fn ipv6_addresses_of_one_64_share_a_limit_and_the_next_64_has_its_own() {
    let app = app_with(&[]).await;
    let (email, _) = app.registered_user().await;
    for source in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2:aaaa:bbbb:cccc:dddd",
    ] {
        fail_logins(&app, source, 1).await;
    }
    assert_source_limited(
        &app.login_from("2001:db8:1:2:ffff::9", &email, PASSWORD)
            .await,
        WINDOW,
    );
    assert_eq!(
        app.login_from("2001:db8:1:3::1", &email, PASSWORD)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn every_registration_counts_against_its_source() {
    let app = app_with(&[("IP_MAX_FAILURES", "2")]).await;
    assert_eq!(
        app.register_from("203.0.113.5", &new_email()).await.status,
        201
    );
    let taken = new_email();
    assert_eq!(app.register_from("203.0.113.5", &taken).await.status, 201);
    assert_source_limited(
        &app.register_from("203.0.113.5", &new_email()).await,
        WINDOW,
    );
    assert_eq!(
        app.register_from("203.0.113.6", &new_email()).await.status,
        201
    );
}

#[tokio::test]
async fn successful_logins_do_not_count() {
    let app = app_with(&[]).await;
    let (email, _) = app.registered_user().await;
    for _ in 0..6 {
        assert_eq!(
            app.login_from("198.51.100.9", &email, PASSWORD)
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn a_limit_of_zero_turns_the_check_and_its_read_off() {
    let app = app_with(&[("IP_MAX_FAILURES", "0")]).await;
    let (email, _) = app.registered_user().await;
    fail_logins(&app, "198.51.100.3", 5).await;
    app.round_trips.take();
    assert_eq!(
        app.login_from("198.51.100.3", &email, PASSWORD)
            .await
            .status,
        200
    );
    assert_eq!(
        app.round_trips.take(),
        4,
        "read the user; reserve the attempt and read the sessions; write the session"
    );
}

/// The value our proxy adds as `X-Origin-Verify` in these tests.
const ORIGIN_SECRET: &str = "the-proxy-origin-secret-of-these-tests-32b";

/// A login through our proxy: its chain and its secret header.
fn login_forwarded(
    source_ip: &str,
    forwarded_for: &str,
    email: &str,
    password: &str,
) -> lambda_http::Request {
    login_with_headers(
        source_ip,
        &[
            ("x-forwarded-for", forwarded_for),
            ("x-origin-verify", ORIGIN_SECRET),
        ],
        email,
        password,
    )
}

fn login_with_headers(
    source_ip: &str,
    headers: &[(&str, &str)],
    email: &str,
    password: &str,
) -> lambda_http::Request {
    let body = json!({ "email": email, "password": password }).to_string();
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    http_api_event_from(source_ip, "POST", "/auth/login", &all, &[], Some(&body))
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_without_trusted_proxy_hops() {
    let app = app_with(&[]).await;
    // A client naming itself anything in X-Forwarded-For is still the address API Gateway saw.
    for fake in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        app.send(
            Function::Login,
            login_forwarded("198.51.100.20", fake, &new_email(), WRONG),
        )
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    }
    let response = app
        .send(
            Function::Login,
            login_forwarded("198.51.100.20", "10.0.0.4", &new_email(), WRONG),
        )
        .await;
    assert_source_limited(&response, WINDOW);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_viewer_it_appended_has_its_own_count() {
    // Behind one trusted proxy (CloudFront: API Gateway sees its address), each viewer it
    // appended has its own count, and what the client wrote before that is ignored.
    let app = app_with(&[
        ("TRUSTED_PROXY_HOPS", "1"),
        ("PROXY_ORIGIN_SECRET", ORIGIN_SECRET),
    ])
    .await;
    let (email, _) = app.registered_user().await;
    let proxy = "203.0.113.200";
    for spoof in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        let chain = format!("{spoof}, 198.51.100.30, {proxy}");
        app.send(
            Function::Login,
            login_forwarded(proxy, &chain, &new_email(), WRONG),
        )
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    }
    let limited = app
        .send(
            Function::Login,
            login_forwarded(
                proxy,
                &format!("10.9.9.9, 198.51.100.30, {proxy}"),
                &email,
                PASSWORD,
            ),
        )
        .await;
    assert_source_limited(&limited, WINDOW);
    let other_viewer = app
        .send(
            Function::Login,
            login_forwarded(proxy, &format!("198.51.100.31, {proxy}"), &email, PASSWORD),
        )
        .await;
    assert_eq!(other_viewer.status, 200, "{}", other_viewer.text);
    let lines = app.audit_events_named("ip_limited");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["sourceIp"], "198.51.100.30");
}

#[tokio::test]
async fn a_request_that_skips_the_proxy_cannot_choose_its_address() {
    // API Gateway's endpoint answers anyone: a client calling it directly writes whatever
    // X-Forwarded-For it likes, but without the proxy's secret header it is the address API
    // Gateway saw, for the brakes, the audit trail and the sessions list alike.
    let app = app_with(&[
        ("TRUSTED_PROXY_HOPS", "1"),
        ("PROXY_ORIGIN_SECRET", ORIGIN_SECRET),
    ])
    .await;
    let (email, _) = app.registered_user().await;
    let direct = "198.51.100.77";
    for (spoof, header) in [
        ("10.0.0.1", None),
        ("10.0.0.2", Some("a guess at the secret")),
        ("10.0.0.3", Some("")),
    ] {
        let chain = format!("{spoof}, 192.0.2.1");
        let mut headers = vec![("x-forwarded-for", chain.as_str())];
        if let Some(header) = header {
            headers.push(("x-origin-verify", header));
        }
        app.send(
            Function::Login,
            login_with_headers(direct, &headers, &new_email(), WRONG),
        )
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    }
    let limited = app
        .send(
            Function::Login,
            login_with_headers(
                direct,
                &[("x-forwarded-for", "192.0.2.9")],
                &email,
                PASSWORD,
            ),
        )
        .await;
    assert_source_limited(&limited, WINDOW);
    let failures = app.audit_events_named("login_failed");
    assert!(!failures.is_empty());
    for line in failures.iter().chain(&app.audit_events_named("ip_limited")) {
        assert_eq!(line["sourceIp"], direct, "{line}");
    }
}

#[test]
fn trusting_a_proxy_without_its_secret_header_is_refused_at_init() {
    let env = e2e::settings("any", &[("TRUSTED_PROXY_HOPS", "1")]);
    let error = auth_service::config::SignInSettings::from_env(&env)
        .expect_err("refused")
        .to_string();
    assert!(error.contains("PROXY_ORIGIN_SECRET"), "{error}");
}

#[tokio::test]
async fn rest_api_events_are_limited_by_their_identity_source_ip() {
    let app = app_with(&[]).await;
    let body = |email: &str| json!({ "email": email, "password": WRONG }).to_string();
    let rest_login = || {
        e2e::rest_api_event_from(
            "198.51.100.40",
            "POST",
            "/auth/login",
            &[("content-type", "application/json")],
            Some(&body(&new_email())),
        )
    };
    for _ in 0..3 {
        app.send(Function::Login, rest_login())
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    let request = rest_login();
    assert_source_limited(&app.send(Function::Login, request).await, WINDOW);
    let elsewhere = json_post_from("198.51.100.41", "/auth/login", &body(&new_email()));
    app.send(Function::Login, elsewhere)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
}
