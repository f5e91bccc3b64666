use e2e::{Function, TestApp, fixture};
use serde_json::{Value, json};

use super::{authorizer, rest_token_event};

fn me_event(file: &str, user_id: &str, edit: impl FnOnce(&mut Value)) -> lambda_http::Request {
    let mut event: Value =
        serde_json::from_str(&fixture(file, &[("{{USER_ID}}", user_id)])).expect("json");
    edit(&mut event);
    lambda_http::request::from_str(&event.to_string()).expect("HTTP API event")
}

#[tokio::test]
async fn the_me_function_reads_the_context_the_authorizer_produces() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let token = registered.access_token();
    let produced = authorizer(&app.settings, None)
        .handle(&rest_token_event(&format!("Bearer {token}")))
        .await
        .expect("authorized");
    let produced = serde_json::to_value(produced).expect("json")["context"].clone();
    // The context exactly as the authorizer produced it, in the sample event's place.
    let user_id = registered.json["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let request = me_event("me.json", &user_id, |event| {
        event["requestContext"]["authorizer"]["lambda"] = produced.clone();
    });
    let own = app.send(Function::Me, request).await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json["user"]["id"], user_id.as_str());
    // And the sample events carry the same fields with the same types.
    for file in ["me.json", "me-admin-user.json"] {
        let event: Value = serde_json::from_str(&fixture(file, &[])).expect("json");
        let shape = |context: &Value| -> Vec<(String, bool)> {
            context
                .as_object()
                .expect("object")
                .iter()
                .map(|(key, value)| (key.clone(), value.is_number()))
                .collect()
        };
        assert_eq!(
            shape(&event["requestContext"]["authorizer"]["lambda"]),
            shape(&produced),
            "{file}"
        );
    }
}

#[tokio::test]
async fn the_me_function_answers_from_the_context_and_trusts_nothing_else() {
    let app = TestApp::spawn().await;
    let (email, registered) = app.registered_user().await;
    let user_id = registered.json["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let own = app
        .send(Function::Me, me_event("me.json", &user_id, |_| {}))
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json["user"]["email"], email.as_str());
    assert_eq!(own.json["user"]["role"], "user");
    assert!(
        !own.text.to_ascii_lowercase().contains("password"),
        "no password hash in a profile: {}",
        own.text
    );

    let admin = app
        .send(
            Function::Me,
            me_event("me-admin-user.json", &user_id, |_| {}),
        )
        .await;
    assert_eq!(admin.status, 200, "{}", admin.text);
    assert_eq!(admin.json["user"]["id"], user_id.as_str());

    let as_user = me_event("me-admin-user.json", &user_id, |event| {
        event["requestContext"]["authorizer"]["lambda"]["role"] = json!("user");
    });
    app.send(Function::Me, as_user)
        .await
        .assert_error(403, "FORBIDDEN");

    let rest_style = me_event("me.json", &user_id, |event| {
        // REST APIs hand context values over as strings.
        event["requestContext"]["authorizer"]["lambda"]["expiresAt"] = json!("1795349700");
    });
    assert_eq!(app.send(Function::Me, rest_style).await.status, 200);

    let unknown = me_event("me.json", &"0".repeat(32), |_| {});
    app.send(Function::Me, unknown)
        .await
        .assert_error(404, "NOT_FOUND");
    let unknown_target = me_event("me-admin-user.json", &"0".repeat(32), |_| {});
    app.send(Function::Me, unknown_target)
        .await
        .assert_error(404, "NOT_FOUND");
    let unprotected = me_event("me-without-authorizer.json", &user_id, |_| {});
    app.send(Function::Me, unprotected)
        .await
        .assert_error(401, "MISSING_TOKEN");
}
