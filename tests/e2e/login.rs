use auth_core::domain::{Email, Role};
use auth_service::store::SessionStart;
use e2e::Function;
use e2e::conflicts::ConflictInjector;
use e2e::{PASSWORD, TestApp, claims, json_post, settings};

#[tokio::test]
async fn login_returns_200_with_tokens_in_three_sequential_steps() {
    let app = TestApp::spawn().await;
    let (email, registered) = app.registered_user().await;
    app.round_trips.take();

    let response = app
        .login(&format!("  {} ", email.to_uppercase()), PASSWORD)
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        app.round_trips.take(),
        4,
        "read the user with the source's window; reserve the attempt and read the user's \
         sessions while argon2 runs; write the session"
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

fn email(text: &str) -> Email {
    Email::parse(text).expect("email")
}

fn role(text: &str) -> Role {
    Role::parse(text).expect("role")
}

async fn session_roles(app: &TestApp) -> Vec<String> {
    app.all_items()
        .await
        .into_iter()
        .filter(|item| {
            item.get("sk")
                .and_then(|sk| sk.as_s().ok())
                .is_some_and(|sk| sk.starts_with("SESSION#"))
        })
        .filter_map(|item| item.get("role")?.as_s().ok().cloned())
        .collect()
}

#[tokio::test]
async fn a_role_change_between_a_logins_read_and_its_session_write_is_not_lost() {
    let app = TestApp::spawn().await;
    let (address, _) = app.registered_user().await;
    let store = &app.sign_in.store;
    let admin_email = email(&address);
    store
        .set_role(&admin_email, &role("admin"))
        .await
        .expect("promote");

    // A login reads the credentials (role admin), then the admin is demoted: the login's
    // access token must not carry the role it read.
    let read = store
        .credentials_by_email(&admin_email)
        .await
        .expect("read")
        .expect("user");
    store
        .set_role(&admin_email, &role("user"))
        .await
        .expect("demote");
    let (session, _) = app.sign_in.sessions.start(
        auth_service::sessions::SessionOwner {
            user: &read.profile.id,
            role: &read.profile.role,
            email_verified: false,
            device: Default::default(),
            epoch: read.session_epoch,
            assurance: auth_core::assurance::Assurance::password(),
        },
        app.now(),
    );
    assert_eq!(
        store
            .create_session_for(&session, &admin_email, &read.password_hash, &[])
            .await
            .expect("write"),
        SessionStart::CredentialsChanged,
        "the session with the old role is refused"
    );
    assert_eq!(session_roles(&app).await, ["user"], "nothing was written");
}

#[tokio::test]
async fn logins_racing_role_changes_all_end_with_the_last_role() {
    // Eight logins in flight at once each reserve an attempt: a threshold above that.
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES", "20")]).await;
    let (address, registered) = app.registered_user().await;
    let store = &app.sign_in.store;
    let target = email(&address);
    let logins = futures::future::join_all((0..8).map(|_| app.login(&address, PASSWORD)));
    let flips = async {
        for name in ["admin", "user", "admin", "user", "admin"] {
            store
                .set_role(&target, &role(name))
                .await
                .expect("set role");
        }
    };
    let (responses, ()) = tokio::join!(logins, flips);
    for response in &responses {
        assert_eq!(response.status, 200, "{}", response.text);
    }
    // Every session's next access token carries the last role set (refresh reads the
    // profile), the registration's included.
    for token in responses
        .iter()
        .chain([&registered])
        .map(|response| response.refresh_token())
    {
        let refreshed = app.refresh(&token).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.text);
        assert_eq!(claims(&refreshed.access_token())["role"], "admin");
    }
}

#[tokio::test]
async fn a_conflicting_session_write_at_login_is_retried() {
    let conflicts = ConflictInjector::start().await;
    let app = TestApp::spawn_with_conflicts(&[], Some(&conflicts)).await;
    let (address, _) = app.registered_user().await;
    conflicts.conflict_next(1);
    let response = app.login(&address, PASSWORD).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(conflicts.injected(), 1);
}
