use auth_core::authorizer::{AuthorizerError, SessionCheck as _};
use e2e::{TestApp, claims, fixture};

use super::{authorizer, rest_token_event};

#[tokio::test]
async fn strict_mode_refuses_tokens_of_revoked_sessions_at_once() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let token = registered.access_token();
    let strict = authorizer(&app.settings, Some(Box::new(app.profiles.store.clone())));
    let event = rest_token_event(&format!("Bearer {token}"));
    let http_api = fixture("authorizer-http-api.json", &[("{{ACCESS_TOKEN}}", &token)]);
    let token_claims = claims(&token);
    let (user_id, session_id) = (
        token_claims["sub"].as_str().expect("sub"),
        token_claims["sid"].as_str().expect("sid"),
    );
    app.round_trips.take();

    let allowed = strict
        .handle(&event)
        .await
        .expect("a live session is allowed");
    assert_eq!(
        serde_json::to_value(allowed).expect("json")["principalId"],
        user_id
    );
    assert_eq!(app.round_trips.take(), 1, "one read per decision");
    let simple =
        serde_json::to_value(strict.handle(&http_api).await.expect("simple")).expect("json");
    assert_eq!(simple["isAuthorized"], true);

    assert_eq!(app.logout_all(Some(&token)).await.status, 204);
    // The reason for what follows: the token's session is gone, nothing else changed.
    let live = app
        .profiles
        .store
        .is_live(user_id, session_id, app.now())
        .await
        .expect("session check");
    assert!(!live, "logout-all revoked the token's session");
    assert_eq!(
        strict.handle(&event).await,
        Err(AuthorizerError::Unauthorized),
        "logout-all takes effect at once"
    );
    assert_eq!(
        strict.handle(&http_api).await,
        Err(AuthorizerError::Unauthorized)
    );

    let relaxed = authorizer(&app.settings, None);
    let answer = relaxed.handle(&event).await;
    assert!(
        answer.is_ok(),
        "without strict mode the token lives until it expires: {answer:?}"
    );
}

#[tokio::test]
async fn strict_mode_fails_closed_as_a_retryable_error_when_dynamodb_is_unreachable() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let token = registered.access_token();
    // A store whose table does not exist answers every read with an error.
    let missing = auth_service::store::Store::new(app.client.clone(), "no-such-table");
    let strict = authorizer(&app.settings, Some(Box::new(missing)));
    let error = strict
        .handle(&rest_token_event(&format!("Bearer {token}")))
        .await
        .expect_err("no answer without the store");
    assert_eq!(error, AuthorizerError::Unavailable);
    assert_ne!(
        error.to_string(),
        "Unauthorized",
        "an outage is a 500 the client may retry, not a 401 that logs it out"
    );
}
