//! DynamoDB requests per second-factor operation, as the README's table states them.

use e2e::{PASSWORD, TestApp};
use serde_json::json;

#[tokio::test]
async fn each_mfa_operation_makes_the_requests_the_readme_states() {
    let app = TestApp::spawn().await;
    let (email, registered) = app.verified_user().await;
    let access = registered.access_token();
    let mut counted = Vec::new();
    let mut count =
        |name: &str, app: &TestApp| counted.push((name.to_owned(), app.round_trips.take()));

    app.round_trips.take();
    let enrolled = app.enroll(&access).await;
    count("enroll", &app);
    let secret =
        auth_service::mfa::base32::decode(enrolled.json["secret"].as_str().expect("secret"))
            .expect("base32");
    let code =
        auth_service::mfa::totp::code_at(&secret, auth_service::mfa::totp::step_at(app.now()));
    let confirmed = app.confirm(&access, &code).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    count("confirm", &app);
    let access = confirmed.access_token();
    let codes: Vec<String> = confirmed.json["recoveryCodes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|code| code.as_str().map(str::to_owned))
        .collect();
    app.clock.advance(30);
    let step = |offset: i64| {
        auth_service::mfa::totp::code_at(
            &secret,
            auth_service::mfa::totp::step_at(app.now()).saturating_add_signed(offset),
        )
    };

    let login = app.login(&email, PASSWORD).await;
    count("login (password step)", &app);
    let token = login.json["mfaToken"].as_str().expect("token").to_owned();
    let wrong = if step(0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    app.mfa_verify(json!({ "mfaToken": token, "code": wrong }))
        .await;
    count("verify, wrong code", &app);
    let verified = app
        .mfa_verify(json!({ "mfaToken": token, "code": step(0) }))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    count("verify, code", &app);
    let token = app.mfa_challenge(&email).await;
    app.round_trips.take();
    let recovered = app
        .mfa_verify(json!({ "mfaToken": token, "recoveryCode": codes[0] }))
        .await;
    assert_eq!(recovered.status, 200, "{}", recovered.text);
    count("verify, recovery code", &app);
    let stepped = app.step_up(&access, json!({ "code": step(1) })).await;
    assert_eq!(stepped.status, 200, "{}", stepped.text);
    count("step-up", &app);
    let status = app.mfa_call("GET", "/auth/mfa", &access, None).await;
    assert_eq!(status.status, 200);
    count("status", &app);
    let fresh = app
        .mfa_call("POST", "/auth/mfa/recovery-codes", &access, Some(json!({})))
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    count("new recovery codes", &app);
    app.clock.advance(30);
    let removed = app
        .mfa_call(
            "DELETE",
            "/auth/mfa/totp",
            &access,
            Some(json!({ "code": step(1) })),
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    count("remove", &app);

    println!("{counted:#?}");
    let expected = [
        ("enroll", 3),
        ("confirm", 5),
        ("login (password step)", 4),
        ("verify, wrong code", 3),
        ("verify, code", 4),
        ("verify, recovery code", 4),
        ("step-up", 4),
        ("status", 1),
        ("new recovery codes", 3),
        ("remove", 7),
    ];
    let counted: Vec<(&str, usize)> = counted
        .iter()
        .map(|(name, trips)| (name.as_str(), *trips))
        .collect();
    assert_eq!(counted, expected);
}
