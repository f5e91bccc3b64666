//! Every file in `events/` goes through its handler, so `cargo lambda invoke --data-file` and
//! the tests use the same bytes.

use std::collections::BTreeSet;

use e2e::{Function, TestApp};
use lambda_http::Request;

const EVENTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");

/// (file, function, expected status, expected error code)
const CASES: &[(&str, Function, u16, Option<&str>)] = &[
    ("register.json", Function::Register, 201, None),
    ("register-rest-v1.json", Function::Register, 201, None),
    (
        "register-invalid-json.json",
        Function::Register,
        400,
        Some("INVALID_JSON"),
    ),
    (
        "register-missing-password.json",
        Function::Register,
        400,
        Some("VALIDATION_ERROR"),
    ),
    (
        "register-short-password.json",
        Function::Register,
        400,
        Some("VALIDATION_ERROR"),
    ),
    (
        "register-wrong-content-type.json",
        Function::Register,
        415,
        Some("UNSUPPORTED_MEDIA_TYPE"),
    ),
    (
        "register-wrong-method.json",
        Function::Register,
        405,
        Some("METHOD_NOT_ALLOWED"),
    ),
    ("login.json", Function::Login, 200, None),
    (
        "login-wrong-password.json",
        Function::Login,
        401,
        Some("INVALID_CREDENTIALS"),
    ),
    (
        "login-unknown-email.json",
        Function::Login,
        401,
        Some("INVALID_CREDENTIALS"),
    ),
    (
        "refresh-no-token.json",
        Function::Refresh,
        401,
        Some("MISSING_REFRESH_TOKEN"),
    ),
    (
        "refresh-unknown-token.json",
        Function::Refresh,
        401,
        Some("INVALID_REFRESH_TOKEN"),
    ),
    (
        "refresh-malformed-token.json",
        Function::Refresh,
        401,
        Some("INVALID_REFRESH_TOKEN"),
    ),
    ("logout.json", Function::Logout, 204, None),
    ("password-forgot.json", Function::Password, 202, None),
    (
        "password-reset-invalid-token.json",
        Function::Password,
        400,
        Some("INVALID_RESET_TOKEN"),
    ),
    (
        "email-verify-invalid-token.json",
        Function::Email,
        400,
        Some("INVALID_VERIFICATION_TOKEN"),
    ),
    (
        "register-confirm-invalid-token.json",
        Function::Register,
        400,
        Some("INVALID_VERIFICATION_TOKEN"),
    ),
    ("logout-no-cookie.json", Function::Logout, 204, None),
    (
        "logout-all-no-token.json",
        Function::Logout,
        401,
        Some("MISSING_TOKEN"),
    ),
    (
        "logout-all-invalid-token.json",
        Function::Logout,
        401,
        Some("INVALID_TOKEN"),
    ),
    (
        "mfa-verify-unknown-challenge.json",
        Function::Mfa,
        401,
        Some("INVALID_MFA_CODE"),
    ),
    (
        "mfa-verify-missing-code.json",
        Function::Mfa,
        400,
        Some("VALIDATION_ERROR"),
    ),
    (
        "mfa-step-up-no-token.json",
        Function::Mfa,
        401,
        Some("MISSING_TOKEN"),
    ),
    ("oauth-providers.json", Function::Federation, 200, None),
    (
        "oauth-start-unknown-provider.json",
        Function::Federation,
        404,
        Some("NOT_FOUND"),
    ),
];

fn load(file: &str) -> Request {
    let text = std::fs::read_to_string(format!("{EVENTS_DIR}/{file}"))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{file} is not an API Gateway event: {e}"))
}

#[tokio::test]
async fn every_sample_event_gets_its_documented_response() {
    let app = TestApp::spawn().await;
    // login.json logs in the user that register.json creates, so register runs first.
    for (file, function, status, code) in CASES {
        let response = app.send(*function, load(file)).await;
        match code {
            Some(code) => response.assert_error(*status, code),
            None => assert_eq!(response.status, *status, "{file}: {}", response.text),
        }
    }
}

/// (file, function, expected status, expected error code) for events whose authorizer
/// context names `{{USER_ID}}`: the user register.json created.
const AUTHORIZED_CASES: &[(&str, Function, u16, Option<&str>)] = &[
    (
        "password-change-wrong-password.json",
        Function::Password,
        401,
        Some("INVALID_CREDENTIALS"),
    ),
    ("email-verify-resend.json", Function::Email, 202, None),
    ("sessions-list.json", Function::Sessions, 200, None),
    ("identities-list.json", Function::Federation, 200, None),
    ("sessions-list-page.json", Function::Sessions, 200, None),
    (
        "sessions-list-bad-limit.json",
        Function::Sessions,
        400,
        Some("VALIDATION_ERROR"),
    ),
    (
        "session-revoke-unknown.json",
        Function::Sessions,
        404,
        Some("NOT_FOUND"),
    ),
    (
        "account-delete-wrong-password.json",
        Function::Account,
        401,
        Some("INVALID_CREDENTIALS"),
    ),
    ("mfa-status.json", Function::Mfa, 200, None),
    // API Gateway's built-in JWT authorizer: the token's claims, every one a string.
    ("me-built-in-authorizer.json", Function::Me, 200, None),
    (
        "mfa-enroll-ended-session.json",
        Function::Mfa,
        401,
        Some("SESSION_REVOKED"),
    ),
];

#[tokio::test]
async fn every_authorized_sample_event_gets_its_documented_response() {
    let app = TestApp::spawn().await;
    let registered = app.send(Function::Register, load("register.json")).await;
    let user_id = registered.json["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for (file, function, status, code) in AUTHORIZED_CASES {
        let text = e2e::fixture(file, &[("{{USER_ID}}", &user_id)]);
        let request = lambda_http::request::from_str(&text).expect("an API Gateway event");
        let response = app.send(*function, request).await;
        match code {
            Some(code) => response.assert_error(*status, code),
            None => assert_eq!(response.status, *status, "{file}: {}", response.text),
        }
    }
}

#[test]
fn every_file_in_events_has_a_case() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(EVENTS_DIR)
        .expect("events/")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .collect();
    let covered: BTreeSet<String> = CASES
        .iter()
        .chain(AUTHORIZED_CASES)
        .map(|(file, ..)| *file)
        .chain(crate::authorizer::EVENT_FILES.iter().copied())
        // The mailer's stream event: tests/e2e/lifecycle/mailer.rs.
        .chain(["mailer-outbox-insert.json"])
        .map(str::to_owned)
        .collect();
    assert_eq!(on_disk, covered);
    // ...and the README documents each one.
    let readme = std::fs::read_to_string(format!("{EVENTS_DIR}/README.md")).expect("README.md");
    let undocumented: Vec<&String> = on_disk
        .iter()
        .filter(|file| !readme.contains(&format!("| `{file}`")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "events/README.md has no row for {undocumented:?}"
    );
}
