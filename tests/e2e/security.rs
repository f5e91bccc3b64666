//! Trust properties that need DynamoDB: no input fails an invocation, cookie tossing, the
//! absolute-lifetime race, refresh-key rotation. (No secret in any log line: `tests/logs`.)

use e2e::{Function, PASSWORD, TestApp, http_api_event, json_post};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

async fn signed_in(app: &TestApp) -> (String, e2e::TestResponse) {
    let (email, _) = app.registered_user().await;
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    (email, login)
}

#[tokio::test]
async fn a_multi_byte_character_where_the_ids_end_is_a_401_not_a_crash() {
    let app = TestApp::spawn().await;
    let (_, login) = signed_in(&app).await;
    let token = login.refresh_token();
    // Same byte length, a two-byte character across byte 32 (once a panic in split_at).
    let hostile: String = format!("{}é{}", &token[..31], &token[33..]);
    assert_eq!(hostile.len(), token.len());
    for function in [Function::Refresh, Function::Logout] {
        let body = serde_json::json!({ "refreshToken": hostile }).to_string();
        let path = if function == Function::Refresh {
            "/auth/refresh"
        } else {
            "/auth/logout"
        };
        let response = app.send(function, json_post(path, &body)).await;
        match function {
            Function::Refresh => response.assert_error(401, "INVALID_REFRESH_TOKEN"),
            _ => assert_eq!(response.status, 204, "logout stays idempotent"),
        }
    }
    // As a cookie the value is not even header text: no credential, 401 all the same.
    assert_eq!(app.refresh(&hostile).await.status, 401);
    assert_eq!(app.refresh(&token).await.status, 200, "nothing was revoked");
}

#[tokio::test]
async fn two_different_refresh_cookies_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (_, victim) = signed_in(&app).await;
    let (_, attacker) = signed_in(&app).await;
    let tossed = http_api_event(
        "POST",
        "/auth/refresh",
        &[],
        &[
            format!("refreshToken={}", attacker.refresh_token()),
            format!("refreshToken={}", victim.refresh_token()),
        ],
        None,
    );
    app.send(Function::Refresh, tossed)
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    for session in [victim, attacker] {
        assert_eq!(
            app.refresh(&session.refresh_token()).await.status,
            200,
            "neither session was rotated or revoked"
        );
    }
}

#[tokio::test]
async fn concurrent_refreshes_at_the_absolute_lifetime_both_get_the_successor() {
    // Every refresh is capped: the sliding expiry always passes the absolute one.
    let app = TestApp::spawn_with(&[("REFRESH_TOKEN_TTL", "1h"), ("SESSION_MAX_AGE", "1h")]).await;
    let (_, login) = signed_in(&app).await;
    app.clock.advance(60);
    let token = login.refresh_token();
    let (first, second) = tokio::join!(app.refresh(&token), app.refresh(&token));
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        second.status, 200,
        "the loser gets the grace successor: {}",
        second.text
    );
    assert_eq!(
        first.refresh_token(),
        second.refresh_token(),
        "one family, one cookie"
    );
}

#[tokio::test]
async fn sessions_survive_a_refresh_key_rotation_with_reuse_detection_intact() {
    let old_key = format!("refresh-old-{}", auth_core::random::hex_id());
    let new_key = format!("refresh-new-{}", auth_core::random::hex_id());
    let before = TestApp::spawn_with(&[("JWT_REFRESH_SECRET", &old_key)]).await;
    let (_, login) = signed_in(&before).await;
    let first = login.refresh_token();
    let second = before.refresh(&first).await.refresh_token();

    let mut settings = before.settings.clone();
    settings.insert("JWT_REFRESH_SECRET".into(), new_key.clone());
    settings.insert("JWT_REFRESH_SECRET_PREVIOUS".into(), old_key.clone());
    let rotated = TestApp::with_client(
        settings.clone(),
        before.client.clone(),
        before.round_trips.clone(),
    );
    let third = rotated.refresh(&second).await;
    assert_eq!(third.status, 200, "an old session goes on: {}", third.text);
    before.clock.advance(60);
    rotated.clock.advance(60);
    rotated
        .refresh(&first)
        .await
        .assert_error(401, "REFRESH_TOKEN_REUSED");
    rotated
        .refresh(&third.refresh_token())
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");

    let (_, fresh) = signed_in(&rotated).await;
    settings.remove("JWT_REFRESH_SECRET_PREVIOUS");
    let retired = TestApp::with_client(settings, before.client.clone(), before.round_trips.clone());
    assert_eq!(
        retired.refresh(&fresh.refresh_token()).await.status,
        200,
        "new-key sessions live on"
    );
    let (_, old_session) = signed_in(&before).await;
    retired
        .refresh(&old_session.refresh_token())
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
}

/// Hostile bodies: mutated valid requests, odd Unicode, huge numbers, wrong types, duplicate
/// keys, several documents. Seeded, so a failure reproduces.
fn hostile_bodies(valid: &str, count: usize, seed: u8) -> Vec<String> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    );
    let valid = valid.to_owned();
    let mutated = (0..valid.chars().count(), any::<char>()).prop_map(move |(at, c)| {
        valid
            .chars()
            .enumerate()
            .map(|(index, old)| if index == at { c } else { old })
            .collect::<String>()
    });
    let field = prop::sample::select(vec!["name", "email", "password", "refreshToken"]);
    let odd_value = prop_oneof![
        Just("1e999999".to_owned()),
        Just("-0".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
        "\\PC{0,40}".prop_map(|text| serde_json::to_string(&text).unwrap_or_default()),
    ];
    let typed =
        (field.clone(), odd_value).prop_map(|(field, value)| format!("{{\"{field}\":{value}}}"));
    let duplicated = field.prop_map(|field| format!("{{\"{field}\":\"a\",\"{field}\":\"b\"}}"));
    let strategy = prop_oneof![
        mutated,
        typed,
        duplicated,
        "\\PC{0,200}",
        Just("{}{}".to_owned()),
        Just("[{\"email\":\"a@b.c\"}]".to_owned()),
        Just("\u{feff}{}".to_owned()),
    ];
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).expect("value").current())
        .collect()
}

#[tokio::test]
async fn hostile_bodies_never_fail_an_invocation_or_answer_5xx() {
    let app = TestApp::spawn_with(&[("ARGON2_MEMORY_KIB", "64"), ("ARGON2_ITERATIONS", "1")]).await;
    let (email, login) = signed_in(&app).await;
    let valid_refresh = serde_json::json!({ "refreshToken": login.refresh_token() }).to_string();
    let cases = [
        (Function::Register, "/auth/register", serde_json::json!({"name": "Ada", "email": "ada-hostile@example.com", "password": PASSWORD}).to_string()),
        (Function::Login, "/auth/login", serde_json::json!({"email": email, "password": PASSWORD}).to_string()),
        (Function::Refresh, "/auth/refresh", valid_refresh.clone()),
        (Function::Logout, "/auth/logout", valid_refresh),
    ];
    let mut checked = 0;
    for (seed, (function, path, valid)) in cases.iter().enumerate() {
        for body in hostile_bodies(valid, 120, u8::try_from(seed).unwrap_or(0)) {
            let response = app.send(*function, json_post(path, &body)).await;
            assert!(
                response.status < 500,
                "{function:?} {body:?}: {}",
                response.text
            );
            if response.status >= 400 {
                response.assert_error(
                    response.status,
                    response.json["code"].as_str().unwrap_or("?"),
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 480);
}
