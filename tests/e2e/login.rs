use e2e::Function;
use e2e::{PASSWORD, TestApp, claims, json_post, settings};

#[tokio::test]
async fn login_returns_200_with_tokens_and_costs_two_round_trips() {
    let app = TestApp::spawn().await;
    let (email, registered) = app.registered_user().await;
    app.round_trips.take();

    let response = app
        .login(&format!("  {} ", email.to_uppercase()), PASSWORD)
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        app.round_trips.take(),
        2,
        "read the user, write the session"
    );
    assert_eq!(response.json["user"], registered.json["user"]);
    assert_eq!(response.json["tokenType"], "Bearer");
    let token_claims = claims(&response.access_token());
    assert_eq!(token_claims["sub"], response.json["user"]["id"]);
    assert_ne!(
        token_claims["sid"],
        claims(&registered.access_token())["sid"],
        "each login starts its own session"
    );
    assert_ne!(response.refresh_token(), registered.refresh_token());
}

#[tokio::test]
async fn a_second_device_logging_in_does_not_evict_the_first() {
    let app = TestApp::spawn().await;
    let (email, _) = app.registered_user().await;
    let laptop = app.login(&email, PASSWORD).await;
    let phone = app.login(&email, PASSWORD).await;
    assert_eq!(app.refresh(&laptop.refresh_token()).await.status, 200);
    assert_eq!(app.refresh(&phone.refresh_token()).await.status, 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let app = TestApp::spawn().await;
    let (email, _) = app.registered_user().await;
    app.round_trips.take();
    let verifications_before = app.sign_in.passwords.verifications();

    let wrong_password = app.login(&email, "not the password").await;
    let wrong_password_trips = app.round_trips.take();
    let unknown_email = app.login("nobody@example.com", "not the password").await;
    let unknown_email_trips = app.round_trips.take();

    for response in [&wrong_password, &unknown_email] {
        response.assert_error(401, "INVALID_CREDENTIALS");
        assert_eq!(response.json["error"], "Invalid credentials");
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
        assert!(response.refresh_cookie().is_none());
    }
    assert_eq!(wrong_password.text, unknown_email.text, "identical bodies");
    assert_eq!(
        wrong_password_trips, unknown_email_trips,
        "identical database work"
    );
    assert_eq!(
        app.sign_in.passwords.verifications() - verifications_before,
        2,
        "the unknown email ran a (dummy) argon2 verify just like the wrong password"
    );
}

#[tokio::test]
async fn login_input_errors_name_the_field() {
    let app = TestApp::spawn().await;
    for (body, field) in [
        (r#"{"password":"x"}"#, "email"),
        (r#"{"email":"a@example.com"}"#, "password"),
        (r#"{"email":"a@example.com","password":""}"#, "password"),
        (r#"{"email":["a@example.com"],"password":"x"}"#, "email"),
    ] {
        let response = app
            .send(Function::Login, json_post("/auth/login", body))
            .await;
        response.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(response.json["field"], field, "{body}");
    }
    let huge_password = format!(
        r#"{{"email":"a@example.com","password":"{}"}}"#,
        "p".repeat(1000)
    );
    let response = app
        .send(Function::Login, json_post("/auth/login", &huge_password))
        .await;
    response.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        response.json["field"], "password",
        "long passwords are refused before hashing"
    );
}

#[tokio::test]
async fn a_hash_with_old_parameters_is_upgraded_on_login() {
    let cheap =
        TestApp::spawn_with(&[("ARGON2_MEMORY_KIB", "8192"), ("ARGON2_ITERATIONS", "1")]).await;
    let (email, _) = cheap.registered_user().await;
    let stored_hash =
        |items: Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>| {
            items
                .iter()
                .find_map(|item| {
                    item.get("password_hash")
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                })
                .expect("hash")
        };
    assert!(stored_hash(cheap.all_items().await).contains("m=8192,t=1,p=1"));

    let mut current_settings = settings(&cheap.table, &[]);
    current_settings.insert(
        "JWT_ACCESS_SECRET".into(),
        cheap.settings["JWT_ACCESS_SECRET"].clone(),
    );
    current_settings.insert(
        "JWT_REFRESH_SECRET".into(),
        cheap.settings["JWT_REFRESH_SECRET"].clone(),
    );
    let current = TestApp::with_client(
        current_settings,
        cheap.client.clone(),
        cheap.round_trips.clone(),
    );

    assert_eq!(current.login(&email, PASSWORD).await.status, 200);
    assert!(
        stored_hash(current.all_items().await).contains("m=19456,t=2,p=1"),
        "rehashed with the current policy"
    );
    assert_eq!(
        current.login(&email, PASSWORD).await.status,
        200,
        "the new hash verifies"
    );
    assert_eq!(current.login(&email, "wrong password").await.status, 401);
}
