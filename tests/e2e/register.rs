use aws_sdk_dynamodb::types::AttributeValue;
use e2e::Function;
use e2e::conflicts::ConflictInjector;
use e2e::{PASSWORD, TestApp, claims, http_api_event, json_post, rest_api_event};

#[tokio::test]
async fn registration_returns_201_with_an_access_token_the_user_and_a_refresh_cookie() {
    let app = TestApp::spawn().await;
    let response = app
        .register("  Ada Lovelace ", "  Ada@Example.COM ", PASSWORD)
        .await;

    assert_eq!(response.status, 201, "{}", response.text);
    assert_eq!(response.json["tokenType"], "Bearer");
    assert_eq!(response.json["expiresIn"], 900);
    let user = &response.json["user"];
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(
        user["email"], "ada@example.com",
        "email is trimmed and lowercased"
    );
    assert_eq!(user["role"], "user");
    assert_eq!(user["id"].as_str().map(str::len), Some(32));
    assert!(user.get("password").is_none() && user.get("passwordHash").is_none());
    assert_eq!(response.header("cache-control"), Some("no-store"));

    let token_claims = claims(&response.access_token());
    assert_eq!(token_claims["sub"], user["id"]);
    assert_eq!(token_claims["role"], "user");
    assert_eq!(token_claims["iss"], "https://auth.test");
    assert_eq!(token_claims["aud"], "test-api");
    assert!(
        app.logouts
            .verifier
            .verify(&response.access_token(), app.now())
            .is_ok()
    );

    let cookie = response.refresh_cookie().expect("refresh cookie");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("Secure")
            && cookie.contains("SameSite=Strict")
    );
    assert!(
        cookie.contains("Path=/auth") && cookie.ends_with("Max-Age=604800"),
        "{cookie}"
    );
}

#[tokio::test]
async fn registration_is_one_transaction_after_the_source_check() {
    let app = TestApp::spawn().await;
    app.registered_user().await;
    assert_eq!(
        app.round_trips.take(),
        3,
        "read the source's window; count the attempt while argon2 runs; one TransactWriteItems"
    );
    let kinds: Vec<String> = app
        .account_items()
        .await
        .iter()
        .map(|item| {
            item["sk"]
                .as_s()
                .expect("sk")
                .split('#')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    for kind in ["CREDENTIALS", "PROFILE", "SESSION"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
    // The verification mail's request went to the outbox table, in the same transaction.
    let outbox = app.outbox_items().await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(
        outbox[0]["kind"].as_s().ok().map(String::as_str),
        Some("email_verification")
    );
}

#[tokio::test]
async fn the_stored_password_is_an_argon2id_hash_never_the_password() {
    let app = TestApp::spawn().await;
    app.registered_user().await;
    let items = app.account_items().await;
    let text = format!("{items:?}");
    assert!(!text.contains(PASSWORD));
    let hash = items
        .iter()
        .find_map(|item| item.get("password_hash"))
        .and_then(|v| v.as_s().ok())
        .expect("hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
}

#[tokio::test]
async fn a_second_registration_of_an_email_in_any_case_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.register("Ada", "ada@example.com", PASSWORD).await;
    let before = app.account_items().await.len();
    let response = app
        .register("Impostor", " ADA@example.com", "another password")
        .await;
    response.assert_error(409, "EMAIL_TAKEN");
    assert_eq!(
        app.account_items().await.len(),
        before,
        "nothing half-written"
    );
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status,
        200,
        "the first account still works"
    );
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_give_exactly_one_201() {
    let app = TestApp::spawn().await;
    let attempts = (0..8).map(|i| {
        app.register(
            "Racer",
            "race@example.com",
            if i % 2 == 0 {
                PASSWORD
            } else {
                "other password"
            },
        )
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(
        app.account_items().await.len(),
        3,
        "one user, one profile, one session"
    );
    assert_eq!(app.outbox_items().await.len(), 1, "one verification mail");
}

#[tokio::test]
async fn invalid_fields_are_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let long_password = "p".repeat(257);
    let cases = [
        (
            r#"{"email":"a@example.com","password":"long enough"}"#.to_owned(),
            "name",
        ),
        (
            r#"{"name":"A","password":"long enough"}"#.to_owned(),
            "email",
        ),
        (
            r#"{"name":"A","email":"a@example.com"}"#.to_owned(),
            "password",
        ),
        (
            r#"{"name":"A","email":"not-an-email","password":"long enough"}"#.to_owned(),
            "email",
        ),
        (
            r#"{"name":"A","email":"a@example.com","password":"short"}"#.to_owned(),
            "password",
        ),
        (
            format!(r#"{{"name":"A","email":"a@example.com","password":"{long_password}"}}"#),
            "password",
        ),
        (
            r#"{"name":42,"email":"a@example.com","password":"long enough"}"#.to_owned(),
            "name",
        ),
        (
            r#"{"name":"   ","email":"a@example.com","password":"long enough"}"#.to_owned(),
            "name",
        ),
        (
            r#"{"name":"A","email":null,"password":"long enough"}"#.to_owned(),
            "email",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .send(Function::Register, json_post("/auth/register", &body))
            .await;
        response.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(response.json["field"], field, "{body}");
    }
    assert!(
        app.account_items().await.is_empty(),
        "no invalid registration wrote anything"
    );
}

#[tokio::test]
async fn malformed_bodies_get_clear_errors_and_never_a_5xx() {
    let app = TestApp::spawn().await;
    for body in [
        "{",
        "not json",
        "[]",
        "\"string\"",
        "null",
        "{\"name\":",
        "\u{0}",
    ] {
        let response = app
            .send(Function::Register, json_post("/auth/register", body))
            .await;
        response.assert_error(400, "INVALID_JSON");
    }
    let empty = app
        .send(Function::Register, json_post("/auth/register", ""))
        .await;
    empty.assert_error(400, "INVALID_JSON");

    let oversized = format!(
        r#"{{"name":"{}","email":"a@example.com","password":"long enough"}}"#,
        "n".repeat(17 * 1024)
    );
    app.send(Function::Register, json_post("/auth/register", &oversized))
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");

    let form = http_api_event(
        "POST",
        "/auth/register",
        &[("content-type", "application/x-www-form-urlencoded")],
        &[],
        Some("name=a"),
    );
    app.send(Function::Register, form)
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");

    let get = http_api_event("GET", "/auth/register", &[], &[], None);
    let response = app.send(Function::Register, get).await;
    response.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(response.header("allow"), Some("POST"));
}

#[tokio::test]
async fn a_json_content_type_with_charset_is_accepted() {
    let app = TestApp::spawn().await;
    let body = r#"{"name":"Ada","email":"charset@example.com","password":"long enough"}"#;
    let request = http_api_event(
        "POST",
        "/auth/register",
        &[("content-type", "Application/JSON; charset=utf-8")],
        &[],
        Some(body),
    );
    assert_eq!(app.send(Function::Register, request).await.status, 201);
}

#[tokio::test]
async fn rest_api_v1_proxy_events_work_too() {
    let app = TestApp::spawn().await;
    let body = r#"{"name":"Ada","email":"rest@example.com","password":"long enough"}"#;
    let request = rest_api_event(
        "POST",
        "/auth/register",
        &[("Content-Type", "application/json")],
        Some(body),
    );
    let response = app.send(Function::Register, request).await;
    assert_eq!(response.status, 201, "{}", response.text);
    assert!(response.refresh_cookie().is_some());
}

#[tokio::test]
async fn the_cookie_path_follows_the_configuration_on_every_response() {
    let app = TestApp::spawn_with(&[("REFRESH_COOKIE_PATH", "/api/auth")]).await;
    let (_, registered) = app.registered_user().await;
    assert!(
        registered
            .refresh_cookie()
            .is_some_and(|cookie| cookie.contains("; Path=/api/auth;"))
    );
    let refreshed = app.refresh(&registered.refresh_token()).await;
    assert!(
        refreshed
            .refresh_cookie()
            .is_some_and(|cookie| cookie.contains("; Path=/api/auth;"))
    );
    let logout = app.logout(Some(&refreshed.refresh_token())).await;
    assert_eq!(
        logout.refresh_cookie().as_deref(),
        Some("refreshToken=; HttpOnly; Secure; SameSite=Strict; Path=/api/auth; Max-Age=0")
    );
}

#[test]
fn a_cookie_path_that_could_break_the_header_stops_start_up() {
    let settings = e2e::settings(
        "t",
        &[("REFRESH_COOKIE_PATH", "/auth; Domain=evil.example")],
    );
    let error =
        auth_service::config::SignInSettings::from_env(&settings).expect_err("invalid path");
    assert!(error.to_string().contains("REFRESH_COOKIE_PATH"), "{error}");
}

#[tokio::test]
async fn a_transaction_conflict_is_retried_and_never_surfaces_as_an_error() {
    let conflicts = ConflictInjector::start().await;
    let app = TestApp::spawn_with_conflicts(&[], Some(&conflicts)).await;

    conflicts.conflict_next(2);
    let response = app
        .register("Ada", "conflicted@example.com", PASSWORD)
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    assert_eq!(
        conflicts.injected(),
        2,
        "two conflicts, then the write went through"
    );
    assert_eq!(
        app.login("conflicted@example.com", PASSWORD).await.status,
        200
    );

    conflicts.conflict_next(1);
    app.register("Eve", "conflicted@example.com", PASSWORD)
        .await
        .assert_error(409, "EMAIL_TAKEN");

    // A conflict that outlasts every retry is "busy, retry later", never a 500.
    conflicts.conflict_next(usize::MAX);
    let busy = app.register("Bob", "busy@example.com", PASSWORD).await;
    busy.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(busy.header("retry-after").is_some());
    conflicts.conflict_next(0);
    assert_eq!(
        app.register("Bob", "busy@example.com", PASSWORD)
            .await
            .status,
        201,
        "the busy registration wrote nothing half-way"
    );
}

#[tokio::test]
async fn new_addresses_are_stored_in_their_ascii_form_one_account_per_mailbox() {
    let app = TestApp::spawn().await;
    let created = app.register("Ada", "Ada@Bücher.de", PASSWORD).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["user"]["email"], "ada@xn--bcher-kva.de");
    app.register("Ada", "ada@xn--bcher-kva.de", PASSWORD)
        .await
        .assert_error(409, "EMAIL_TAKEN");
    for typed in ["ada@BÜCHER.de", "ada@xn--bcher-kva.de"] {
        assert_eq!(app.login(typed, PASSWORD).await.status, 200, "{typed}");
    }
    let refused = app.register("Zoë", "zoë@example.com", PASSWORD).await;
    refused.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(refused.json["field"], "email");
    assert!(
        refused.json["error"]
            .as_str()
            .is_some_and(|message| message.contains("before the @")),
        "{}",
        refused.text
    );
    // The verification mail goes to the stored, ASCII form.
    let mail = app.one_mail_to("ada@xn--bcher-kva.de").await;
    assert!(mail.message.contains("\r\nTo: ada@xn--bcher-kva.de\r\n"));
}

/// An account written before registration canonicalised IDN domains: its keys and address in
/// Unicode, as `Email::parse` alone kept them.
async fn legacy_account(app: &TestApp, unicode: &str) {
    let ascii = auth_service::address::registration_email(unicode).expect("a valid address");
    assert_eq!(
        app.register("Old", ascii.as_str(), PASSWORD).await.status,
        201
    );
    let legacy = auth_core::domain::Email::parse(unicode).expect("valid");
    for mut item in app.account_items().await {
        let pk = item["pk"].as_s().expect("pk").clone();
        if item.get("email").and_then(|e| e.as_s().ok()) != Some(&ascii.as_str().to_owned()) {
            continue;
        }
        item.insert(
            "email".into(),
            AttributeValue::S(legacy.as_str().to_owned()),
        );
        if pk.starts_with("EMAIL#") {
            app.client
                .delete_item()
                .table_name(&app.table)
                .key("pk", AttributeValue::S(pk))
                .key("sk", item["sk"].clone())
                .send()
                .await
                .expect("remove the ASCII key");
            item.insert(
                "pk".into(),
                AttributeValue::S(format!("EMAIL#{}", legacy.as_str())),
            );
        }
        app.client
            .put_item()
            .table_name(&app.table)
            .set_item(Some(item))
            .send()
            .await
            .expect("write the legacy form");
    }
    app.deliver_mail().await;
}

#[tokio::test]
async fn an_account_stored_with_a_unicode_domain_still_signs_in_and_gets_its_reset_mail() {
    let app = TestApp::spawn().await;
    legacy_account(&app, "ada@bücher.de").await;
    assert_eq!(app.login("ada@bücher.de", PASSWORD).await.status, 200);
    assert_eq!(
        app.login("ada@xn--bcher-kva.de", PASSWORD).await.status,
        200
    );
    // Nobody registers the mailbox again under its ASCII form.
    app.register("Mallory", "ada@xn--bcher-kva.de", "mallory's own password")
        .await
        .assert_error(409, "EMAIL_TAKEN");
    assert_eq!(app.forgot("ada@Bücher.de").await.status, 202);
    let mails = app.deliver_mail().await;
    assert!(
        matches!(mails.as_slice(), [(_, auth_mail::Delivery::Sent)]),
        "{mails:?}"
    );
    let message = std::fs::read_to_string(app.mail_dir().join(format!("{}.eml", mails[0].0.id)))
        .expect("the mail");
    assert!(
        message.contains("\r\nTo: ada@xn--bcher-kva.de\r\n"),
        "SES takes the ASCII form: {message}"
    );
}
