use std::sync::Arc;

use auth_core::authorizer::Authorizer;
use auth_core::clock::SystemClock;
use auth_core::config::AuthorizerSettings;
use auth_core::token::AccessTokens;
use auth_service::store::Store;
use e2e::{Function, PASSWORD, TestApp};
use serde_json::json;

use super::{user, user_id};

#[tokio::test]
async fn deleting_the_account_frees_the_email_and_ends_every_way_in() {
    let app = TestApp::spawn().await;
    let (email, registered) = user(&app).await;
    let other = app.login(&email, PASSWORD).await;
    let user = user_id(&registered);
    app.forgot(&email).await;
    app.deliver_mail().await;

    let token = registered.access_token();
    let delete = |password: &'static str| {
        app.authorized(
            Function::Account,
            "DELETE",
            "/auth/account",
            &token,
            Some(json!({ "password": password })),
        )
    };
    delete("not the password")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    let deleted = delete(PASSWORD).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(
        deleted
            .refresh_cookie()
            .is_some_and(|cookie| cookie.contains("Max-Age=0")),
        "the refresh cookie is cleared"
    );

    // Mail bookkeeping (budget counters, keyed by the address's digest, and "counted" markers)
    // is not the account's, and names neither its address nor its id.
    let (bookkeeping, left): (Vec<_>, Vec<_>) =
        app.account_items().await.into_iter().partition(|item| {
            let shown = format!("{item:?}");
            shown.contains("MAIL_BUDGET#") || shown.contains("MAIL_COUNTED#")
        });
    assert!(left.is_empty(), "nothing of the account is left: {left:?}");
    assert!(!bookkeeping.is_empty());
    for item in bookkeeping {
        let shown = format!("{item:?}");
        assert!(
            !shown.contains(&email) && !shown.contains(user.as_str()),
            "{shown}"
        );
    }
    for session in [&registered, &other] {
        app.refresh(&session.refresh_token())
            .await
            .assert_error(401, "INVALID_REFRESH_TOKEN");
    }
    app.login(&email, PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");

    // A strict-mode authorizer refuses the old access token at once.
    let settings = AuthorizerSettings::from_env(&app.settings).expect("settings");
    let strict = Authorizer::new(
        AccessTokens::new(settings.access),
        settings.options,
        Some(Box::new(Store::new(app.client.clone(), &app.table))),
        Arc::new(SystemClock),
    );
    let event = json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {}", registered.access_token()),
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod/GET/me"
    });
    assert!(strict.handle(&event.to_string()).await.is_err());

    // The email is free again, for a new user.
    let again = app.register("Ada Again", &email, PASSWORD).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_ne!(user_id(&again), user);
    assert_eq!(app.audit_events_named("account_deleted").len(), 1);
}

#[tokio::test]
async fn deletion_needs_the_authorizer_the_password_and_the_delete_method() {
    let app = TestApp::spawn().await;
    let (_, registered) = user(&app).await;
    app.send(
        Function::Account,
        e2e::http_api_event(
            "DELETE",
            "/auth/account",
            &[("content-type", "application/json")],
            &[],
            Some(r#"{"password":"x"}"#),
        ),
    )
    .await
    .assert_error(401, "MISSING_TOKEN");
    app.authorized(
        Function::Account,
        "DELETE",
        "/auth/account",
        &registered.access_token(),
        Some(json!({})),
    )
    .await
    .assert_error(400, "VALIDATION_ERROR");
    app.authorized(
        Function::Account,
        "POST",
        "/auth/account",
        &registered.access_token(),
        Some(json!({ "password": PASSWORD })),
    )
    .await
    .assert_error(405, "METHOD_NOT_ALLOWED");
}
