//! Failed codes count per account across every instance, apart from the password streak,
//! with each attempt reserved before its check.

use std::sync::Arc;

use e2e::{PASSWORD, TestApp};
use serde_json::json;

const BRAKE: &[(&str, &str)] = &[
    ("MFA_MAX_FAILURES", "3"),
    ("MFA_BACKOFF", "30s"),
    ("MFA_BACKOFF_MAX", "1h"),
];

/// `Retry-After` is the window left, in whole seconds: a second of wall clock may pass.
#[track_caller]
fn assert_retry_after(answer: &e2e::TestResponse, window: u64) {
    let left: u64 = answer
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in {:?}", answer.headers));
    assert!((window - 2..=window).contains(&left), "{left} of {window}");
}

fn wrong_code(right: &str) -> String {
    let digit = if right.starts_with('0') { '1' } else { '0' };
    format!("{digit}{}", right.get(1..).unwrap_or_default())
}

#[tokio::test]
async fn after_max_failures_codes_wait_a_growing_window_and_the_brake_spends_the_challenge() {
    let app = TestApp::spawn_with(BRAKE).await;
    let user = app.mfa_user().await;
    let token = app.mfa_challenge(&user.email).await;
    let wrong = wrong_code(&user.code(&app));
    for _ in 0..3 {
        app.mfa_verify(json!({ "mfaToken": token, "code": wrong }))
            .await
            .assert_error(401, "INVALID_MFA_CODE");
    }
    let braked = app
        .mfa_verify(json!({ "mfaToken": token, "code": user.code(&app) }))
        .await;
    braked.assert_error(429, "TOO_MANY_ATTEMPTS");
    assert_retry_after(&braked, 30);
    // The brake spent the challenge: after the window it is gone; a new password step works.
    app.clock.advance(31);
    app.mfa_verify(json!({ "mfaToken": token, "code": user.code(&app) }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    // One attempt per window past the threshold; that one just failed (dead challenge
    // reserved nothing), so a fresh challenge gets its one try now.
    let token = app.mfa_challenge(&user.email).await;
    app.mfa_verify(json!({ "mfaToken": token, "code": wrong }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    let token = app.mfa_challenge(&user.email).await;
    let doubled = app
        .mfa_verify(json!({ "mfaToken": token, "code": user.code(&app) }))
        .await;
    doubled.assert_error(429, "TOO_MANY_ATTEMPTS");
    assert_retry_after(&doubled, 60);
    // Never a lockout: after the window the right code works, and success ends the streak.
    app.clock.advance(61);
    let token = app.mfa_challenge(&user.email).await;
    let verified = app
        .mfa_verify(json!({ "mfaToken": token, "code": user.code(&app) }))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert!(!app.audit_events_named("mfa_throttled").is_empty());
    assert_eq!(app.audit_events_named("mfa_failed").len(), 4);
}

#[tokio::test]
async fn parallel_guesses_across_instances_get_no_more_tries_than_sequential_ones() {
    let first = Arc::new(TestApp::spawn_with(BRAKE).await);
    // A second instance of every function over the same table.
    let second = Arc::new(TestApp::with_client(
        first.settings.clone(),
        first.client.clone(),
        Default::default(),
    ));
    let user = first.mfa_user().await;
    second.clock.advance(first.now() - second.now());
    let token = first.mfa_challenge(&user.email).await;
    let wrong = wrong_code(&user.code(&first));
    let tasks: Vec<_> = (0..12)
        .map(|index| {
            let app = Arc::clone(if index % 2 == 0 { &first } else { &second });
            let (token, wrong) = (token.clone(), wrong.clone());
            tokio::spawn(async move {
                app.mfa_verify(json!({ "mfaToken": token, "code": wrong }))
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    // Checked codes are audited as failures; the others were braked (429), or found the
    // challenge the brake had spent (401, nothing checked).
    let checked = first.audit_events_named("mfa_failed").len()
        + second.audit_events_named("mfa_failed").len();
    assert_eq!(
        checked, 3,
        "exactly MFA_MAX_FAILURES codes were checked: {statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|status| *status == 401 || *status == 429)
    );
}

#[tokio::test]
async fn the_code_streak_is_apart_from_the_password_streak_and_a_reset_does_not_clear_it() {
    let app = TestApp::spawn_with(BRAKE).await;
    let user = app.mfa_user().await;
    // Two wrong passwords, then the right one with a wrong code: the password streak ends.
    for _ in 0..2 {
        app.login(&user.email, "wrong password here").await;
    }
    let token = app.mfa_challenge(&user.email).await;
    let streak = |sk: &'static str, pk: String| {
        let (client, table) = (app.client.clone(), app.table.clone());
        async move {
            client
                .get_item()
                .table_name(table)
                .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
                .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk.into()))
                .consistent_read(true)
                .send()
                .await
                .expect("read")
                .item
        }
    };
    assert!(
        streak("LOGIN_STREAK", format!("EMAIL#{}", user.email))
            .await
            .is_none(),
        "the right password ended the password streak"
    );
    let wrong = wrong_code(&user.code(&app));
    for _ in 0..3 {
        app.mfa_verify(json!({ "mfaToken": token, "code": wrong }))
            .await
            .assert_error(401, "INVALID_MFA_CODE");
    }
    // A reset by mail does not clear the code streak.
    assert_eq!(app.forgot(&user.email).await.status, 202);
    let link = app.one_mail_to(&user.email).await;
    assert_eq!(app.reset(&link.token(), PASSWORD).await.status, 204);
    let token = app.mfa_challenge(&user.email).await;
    app.mfa_verify(json!({ "mfaToken": token, "code": user.code(&app) }))
        .await
        .assert_error(429, "TOO_MANY_ATTEMPTS");
    assert!(
        streak("MFA_STREAK", format!("USER#{}", user.user_id))
            .await
            .is_some()
    );
}
