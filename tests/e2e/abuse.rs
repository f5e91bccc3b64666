//! Abuse protection: login backoff per email (shared through DynamoDB, counted atomically,
//! never a lockout) and the CSRF defence of the cookie endpoints.

use e2e::{Function, PASSWORD, TestApp, TestResponse, http_api_event, json_post};
use serde_json::json;

const WRONG: &str = "not the password at all";

/// Short settings: three failures, then 2 s doubling to at most 8 s.
async fn app() -> TestApp {
    TestApp::spawn_with(&[
        ("LOGIN_MAX_FAILURES", "3"),
        ("LOGIN_BACKOFF", "2s"),
        ("LOGIN_BACKOFF_MAX", "8s"),
    ])
    .await
}

/// A 429 whose `Retry-After` is the window: `window` seconds, or one less when the wall clock
/// (under the test clock's offset) ticked since the failure.
fn assert_throttled(response: &TestResponse, window: u64) {
    response.assert_error(429, "TOO_MANY_ATTEMPTS");
    let retry_after: u64 = response
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in whole seconds: {response:?}"));
    assert!(
        retry_after == window || (retry_after + 1 == window && retry_after >= 1),
        "Retry-After {retry_after}, window {window}: {response:?}"
    );
}

#[tokio::test]
async fn the_backoff_opens_after_the_threshold_doubles_to_its_cap_and_a_success_resets_it() {
    let app = app().await;
    let (email, _) = app.registered_user().await;
    for _ in 0..3 {
        app.login(&email, WRONG)
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    let verifications = app.sign_in.passwords.verifications();
    app.round_trips.take();
    // Inside the window even the right password waits, and no argon2 runs: the read and the
    // refused reservation beside it, nothing written.
    assert_throttled(&app.login(&email, PASSWORD).await, 2);
    assert_eq!(app.sign_in.passwords.verifications(), verifications);
    assert_eq!(app.round_trips.take(), 2);
    assert_eq!(streak_failures(&app).await, Some(3));

    app.clock.advance(2);
    app.login(&email, WRONG)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_throttled(&app.login(&email, PASSWORD).await, 4);
    app.clock.advance(4);
    app.login(&email, WRONG)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_throttled(&app.login(&email, PASSWORD).await, 8);
    app.clock.advance(8);
    app.login(&email, WRONG)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_throttled(&app.login(&email, PASSWORD).await, 8);

    // A delay, not a lockout: the right password works once the window has passed, and that
    // success ends the streak in the session's own write. The read with the reservation beside
    // it (past the threshold: a first write refused, then the compare-and-swap that takes the
    // window's opening); the sessions read beside argon2; the session transaction.
    app.clock.advance(8);
    app.round_trips.take();
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
    assert_eq!(app.round_trips.take(), 5);
    app.login(&email, WRONG)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn an_unknown_email_is_throttled_exactly_like_a_known_one() {
    let app = app().await;
    let (known, _) = app.registered_user().await;
    let unknown = format!("nobody-{known}");
    let mut answers = Vec::new();
    for email in [&known, &unknown] {
        let mut these = Vec::new();
        for _ in 0..4 {
            let response = app.login(email, WRONG).await;
            let mut headers = response.headers.clone();
            // The window is the same; a wall-clock second may tick between the failure and
            // the answer under load, so Retry-After is checked as assert_throttled does.
            if headers.remove("retry-after").is_some() {
                assert_throttled(&response, 2);
            }
            these.push((response.status, response.text.clone(), headers));
        }
        app.round_trips.take();
        app.login(email, WRONG).await;
        these.push((0, String::new(), Default::default()));
        answers.push((these, app.round_trips.take()));
    }
    assert_eq!(
        answers[0], answers[1],
        "status, body, headers and round trips"
    );
    assert_eq!(answers[0].0[3].0, 429);
}

#[tokio::test]
async fn twenty_parallel_failures_count_twenty() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES", "100")]).await;
    let (email, _) = app.registered_user().await;
    let attempts = (0..20).map(|_| app.login(&email, WRONG));
    for response in futures::future::join_all(attempts).await {
        response.assert_error(401, "INVALID_CREDENTIALS");
    }
    assert_eq!(streak_failures(&app).await, Some(20));
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
    assert_eq!(
        streak_failures(&app).await,
        None,
        "a success ends the streak"
    );
}

#[tokio::test]
async fn a_streak_older_than_a_day_is_forgotten_even_before_ttl_deletes_it() {
    let app = app().await;
    let (email, _) = app.registered_user().await;
    for _ in 0..3 {
        app.login(&email, WRONG).await;
    }
    app.clock.advance(24 * 60 * 60 + 1);
    // DynamoDB Local never deletes expired items: the expiry check is the code's.
    app.login(&email, WRONG)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(streak_failures(&app).await, Some(1));
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

async fn streak_failures(app: &TestApp) -> Option<u64> {
    app.all_items()
        .await
        .iter()
        .find(|item| {
            item.get("sk")
                .and_then(|sk| sk.as_s().ok())
                .map(String::as_str)
                == Some("LOGIN_STREAK")
        })
        .and_then(|item| item.get("failures")?.as_n().ok()?.parse().ok())
}

/// A browser-like refresh: the cookie plus the given headers.
async fn refresh_with(app: &TestApp, token: &str, headers: &[(&str, &str)]) -> TestResponse {
    let cookie = [format!("refreshToken={token}")];
    app.send(
        Function::Refresh,
        http_api_event("POST", "/auth/refresh", headers, &cookie, None),
    )
    .await
}

async fn csrf_app() -> TestApp {
    TestApp::spawn_with(&[("ALLOWED_ORIGINS", "https://app.example.com")]).await
}

#[tokio::test]
async fn cookie_refreshes_from_another_site_or_origin_are_refused_and_change_nothing() {
    let app = csrf_app().await;
    let (_, registered) = app.registered_user().await;
    let token = registered.refresh_token();
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://app.example.com"),
        ],
        vec![("origin", "https://evil.example")],
        vec![
            ("sec-fetch-site", "same-site"),
            ("origin", "https://evil.app.example.com"),
        ],
        vec![("origin", "null")],
    ] {
        refresh_with(&app, &token, &headers)
            .await
            .assert_error(403, "CSRF_REJECTED");
    }
    // Nothing rotated: the same token still refreshes, from the allowed origin.
    let allowed = refresh_with(&app, &token, &[("origin", "https://app.example.com")]).await;
    assert_eq!(allowed.status, 200, "{}", allowed.text);
}

#[tokio::test]
async fn same_origin_allowed_origins_clients_without_headers_and_body_tokens_pass() {
    let app = csrf_app().await;
    let (_, registered) = app.registered_user().await;
    let mut token = registered.refresh_token();
    for headers in [
        vec![
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://api.example.com"),
        ],
        vec![
            ("sec-fetch-site", "same-site"),
            ("origin", "https://app.example.com"),
        ],
        vec![],
    ] {
        let response = refresh_with(&app, &token, &headers).await;
        assert_eq!(response.status, 200, "{headers:?}: {}", response.text);
        token = response.refresh_token();
    }
    // A body token is no ambient credential: no CSRF check applies.
    let mut request = json_post(
        "/auth/refresh",
        &json!({ "refreshToken": token }).to_string(),
    );
    request
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().expect("header"));
    let response = app.send(Function::Refresh, request).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

#[tokio::test]
async fn a_cross_site_cookie_logout_is_refused_and_the_session_survives() {
    let app = csrf_app().await;
    let (_, registered) = app.registered_user().await;
    let token = registered.refresh_token();
    let cookie = [format!("refreshToken={token}")];
    let forged = app
        .send(
            Function::Logout,
            http_api_event(
                "POST",
                "/auth/logout",
                &[("sec-fetch-site", "cross-site")],
                &cookie,
                None,
            ),
        )
        .await;
    forged.assert_error(403, "CSRF_REJECTED");
    assert_eq!(
        app.refresh(&token).await.status,
        200,
        "the session survived"
    );
}

/// Function instances over one table: each its own client, argon2 and state, sharing nothing
/// but DynamoDB (as Lambda execution environments would).
async fn instances(app: &TestApp, count: usize) -> Vec<TestApp> {
    instances_over(app.settings.clone(), count).await
}

async fn instances_over(
    settings: std::collections::BTreeMap<String, String>,
    count: usize,
) -> Vec<TestApp> {
    let mut instances = Vec::new();
    for _ in 0..count {
        let round_trips = auth_service::store::RoundTripCounter::default();
        let client = e2e::client(&e2e::dynamodb_endpoint(), &round_trips).await;
        instances.push(TestApp::with_client(settings.clone(), client, round_trips));
    }
    instances
}

fn checks(instances: &[TestApp], pick: impl Fn(&TestApp) -> u64) -> u64 {
    instances.iter().map(pick).sum()
}

/// Check-then-act no more: 24 wrong guesses at once from eight processes (each its own client,
/// argon2 and state, sharing nothing but DynamoDB Local, as eight Lambda execution environments
/// would), with a threshold of three, get three password checks, exactly as 24 sequential
/// guesses would; the rest are 429 before any argon2 runs. The same for an unknown email.
#[tokio::test]
async fn parallel_guesses_from_many_processes_get_no_more_checks_than_sequential_ones() {
    let app = app().await;
    let (known, _) = app.registered_user().await;
    let unknown = format!("nobody-{known}");
    let settings = serde_json::to_string(&app.settings).expect("settings");
    for email in [&known, &unknown] {
        let children: Vec<_> = (0..8)
            .map(|_| {
                std::process::Command::new(std::env::current_exe().expect("this test binary"))
                    .args([
                        "abuse::guessing_process",
                        "--exact",
                        "--ignored",
                        "--nocapture",
                    ])
                    .env("GUESS_SETTINGS", &settings)
                    .env("GUESS_EMAIL", email)
                    .env("GUESS_COUNT", "3")
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("start a guessing process")
            })
            .collect();
        let mut totals = [0u64; 3];
        for child in children {
            let output = child.wait_with_output().expect("the process ends");
            let text = String::from_utf8_lossy(&output.stdout);
            let line = text
                .lines()
                .find_map(|line| line.strip_prefix("GUESSES "))
                .unwrap_or_else(|| panic!("no result from a guessing process: {text}"));
            for (total, count) in totals.iter_mut().zip(line.split(' ')) {
                *total += count.parse::<u64>().expect("a count");
            }
        }
        let [failed, refused, checks] = totals;
        assert_eq!((failed, refused), (3, 21), "{email}: 401s and 429s");
        assert_eq!(checks, 3, "{email}: argon2 ran once per admitted guess");
    }
}

/// One of the processes above: `GUESS_COUNT` wrong guesses at once for `GUESS_EMAIL`, over the
/// table and settings in `GUESS_SETTINGS`; prints `GUESSES <401s> <429s> <argon2 runs>`.
#[tokio::test]
#[ignore = "a child process of parallel_guesses_from_many_processes_get_no_more_checks_than_sequential_ones"]
async fn guessing_process() {
    let settings: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&std::env::var("GUESS_SETTINGS").expect("GUESS_SETTINGS"))
            .expect("settings");
    let email = std::env::var("GUESS_EMAIL").expect("GUESS_EMAIL");
    let count: usize = std::env::var("GUESS_COUNT")
        .expect("GUESS_COUNT")
        .parse()
        .expect("a count");
    let instance = instances_over(settings, 1).await.remove(0);
    let guesses = (0..count).map(|_| instance.login(&email, WRONG));
    let answers = futures::future::join_all(guesses).await;
    let status = |code| answers.iter().filter(|a| a.status == code).count();
    println!(
        "GUESSES {} {} {}",
        status(401),
        status(429),
        instance.sign_in.passwords.verifications()
    );
}

/// The same brake guards re-authentication: parallel wrong current passwords in a password
/// change get as many checks as sequential ones.
#[tokio::test]
async fn parallel_wrong_passwords_in_a_password_change_get_no_more_checks() {
    let app = app().await;
    let (_, registered) = app.registered_user().await;
    let access = registered.access_token();
    let instances = instances(&app, 8).await;
    let attempts =
        (0..16).map(|n| instances[n % 8].change_password(&access, WRONG, "irrelevant passphrase"));
    let answers = futures::future::join_all(attempts).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        13,
        "{statuses:?}"
    );
    assert_eq!(
        checks(&instances, |i| i.account.passwords.verifications()),
        3
    );
}
