use e2e::{PASSWORD, TestApp, claims};
use serde_json::json;

#[tokio::test]
async fn enrolment_gives_a_secret_an_otpauth_uri_and_a_qr_code_and_confirmation_ends_other_sessions()
 {
    let app = TestApp::spawn().await;
    let (email, registered) = app.verified_user().await;
    // A second device signed in before MFA was turned on.
    let other = app.login(&email, PASSWORD).await;
    assert_eq!(other.status, 200);

    let enrolled = app.enroll(&registered.access_token()).await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.text);
    let secret = enrolled.json["secret"].as_str().expect("secret");
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    let uri = enrolled.json["otpauthUri"].as_str().expect("uri");
    let account = email.replace('@', "%40");
    assert_eq!(
        uri,
        format!(
            "otpauth://totp/Auth%20Test:{account}?secret={secret}&issuer=Auth%20Test&algorithm=SHA1&digits=6&period=30"
        )
    );
    assert!(
        enrolled.json["qrCodeSvg"]
            .as_str()
            .is_some_and(|svg| svg.starts_with("<svg")),
        "{}",
        enrolled.text
    );
    // Pending until confirmed: logins still ask for the password only.
    let status = app
        .mfa_call("GET", "/auth/mfa", &registered.access_token(), None)
        .await;
    assert_eq!(status.json["totp"]["enabled"], false, "{}", status.text);
    assert_eq!(status.json["enrolmentPending"], true);

    // Enrolling again replaces the pending secret: the first one's codes no longer confirm.
    let again = app.enroll(&registered.access_token()).await;
    let first_secret = auth_service::mfa::base32::decode(secret).expect("base32");
    let old_code = auth_service::mfa::totp::code_at(
        &first_secret,
        auth_service::mfa::totp::step_at(app.now()),
    );
    let new_secret =
        auth_service::mfa::base32::decode(again.json["secret"].as_str().expect("secret"))
            .expect("base32");
    let code =
        auth_service::mfa::totp::code_at(&new_secret, auth_service::mfa::totp::step_at(app.now()));
    if old_code != code {
        app.confirm(&registered.access_token(), &old_code)
            .await
            .assert_error(400, "INVALID_MFA_CODE");
    }
    app.confirm(&registered.access_token(), "000000x")
        .await
        .assert_error(400, "INVALID_MFA_CODE");

    let confirmed = app.confirm(&registered.access_token(), &code).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let codes = confirmed.json["recoveryCodes"].as_array().expect("codes");
    assert_eq!(codes.len(), 10);
    let aal2 = claims(&confirmed.access_token());
    assert_eq!(aal2["aal"], "aal2");
    assert_eq!(aal2["amr"], json!(["pwd", "otp"]));

    // This session goes on at aal2 through refresh; the other device's session has ended.
    let refreshed = app.refresh(&registered.refresh_token()).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(claims(&refreshed.access_token())["aal"], "aal2");
    assert_eq!(
        claims(&refreshed.access_token())["amr"],
        json!(["pwd", "otp"])
    );
    // Ended at the commit, and its item swept after it.
    app.refresh(&other.refresh_token())
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    // The code used to confirm is spent.
    let token = app.mfa_challenge(&email).await;
    app.mfa_verify(json!({ "mfaToken": token, "code": code }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
    assert_eq!(app.audit_events_named("mfa_enabled").len(), 1);
}

#[tokio::test]
async fn an_unverified_address_cannot_enrol() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    app.enroll(&registered.access_token())
        .await
        .assert_error(403, "EMAIL_NOT_VERIFIED");
    app.confirm(&registered.access_token(), "123456")
        .await
        .assert_error(403, "EMAIL_NOT_VERIFIED");
}

#[tokio::test]
async fn the_table_holds_no_readable_secret_and_no_recovery_code() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let encoded = auth_service::mfa::base32::encode(&user.secret);
    let items = format!("{:?}", app.all_items().await);
    assert!(!items.contains(&encoded), "the base32 secret is not stored");
    let hex_secret = auth_core::random::hex(&user.secret);
    assert!(!items.contains(&hex_secret));
    for code in &user.recovery_codes {
        assert!(!items.contains(code.as_str()), "{code}");
        assert!(!items.contains(&code.replace('-', "")), "{code}");
    }
    assert!(items.contains("totp_secret"), "the sealed secret is there");

    // A sealed secret copied onto another account does not open there: its codes fail.
    let other = app.mfa_user().await;
    let factor = |user_id: &str| {
        let client = app.client.clone();
        let table = app.table.clone();
        let user_id = user_id.to_owned();
        async move {
            client
                .get_item()
                .table_name(table)
                .key(
                    "pk",
                    aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{user_id}")),
                )
                .key(
                    "sk",
                    aws_sdk_dynamodb::types::AttributeValue::S("MFA".into()),
                )
                .consistent_read(true)
                .send()
                .await
                .expect("read")
                .item
                .expect("factor item")
        }
    };
    let stolen = factor(&user.user_id).await["totp_secret"].clone();
    app.client
        .update_item()
        .table_name(&app.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{}", other.user_id)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("MFA".into()),
        )
        .update_expression("SET totp_secret = :stolen REMOVE last_step")
        .expression_attribute_values(":stolen", stolen)
        .send()
        .await
        .expect("plant");
    let token = app.mfa_challenge(&other.email).await;
    app.mfa_verify(json!({ "mfaToken": token, "code": user.code(&app) }))
        .await
        .assert_error(401, "INVALID_MFA_CODE");
}

#[tokio::test]
async fn a_first_factor_needs_a_recent_sign_in_and_a_pending_secret_expires() {
    let app = TestApp::spawn().await;
    let (email, registered) = app.verified_user().await;
    let enrolled = app.enroll(&registered.access_token()).await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.text);
    let secret =
        auth_service::mfa::base32::decode(enrolled.json["secret"].as_str().expect("secret"))
            .expect("base32");
    // An hour and more later: the session signed in long ago cannot enrol (a stolen token of
    // it could otherwise plant a factor), and the old pending secret is void.
    app.clock.advance(3601);
    let refreshed = app.refresh(&registered.refresh_token()).await;
    app.enroll(&refreshed.access_token())
        .await
        .assert_error(403, "REAUTHENTICATION_REQUIRED");
    let fresh = app.login(&email, PASSWORD).await;
    let code =
        auth_service::mfa::totp::code_at(&secret, auth_service::mfa::totp::step_at(app.now()));
    app.confirm(&fresh.access_token(), &code)
        .await
        .assert_error(400, "INVALID_MFA_CODE");
    assert_eq!(app.enroll(&fresh.access_token()).await.status, 200);
}

#[tokio::test]
async fn deleting_the_account_deletes_its_factor_in_the_same_transaction() {
    let app = TestApp::spawn().await;
    let user = app.mfa_user().await;
    let deleted = app
        .authorized(
            e2e::Function::Account,
            "DELETE",
            "/auth/account",
            &user.access_token,
            Some(json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let factor = app
        .client
        .get_item()
        .table_name(&app.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{}", user.user_id)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("MFA".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("read");
    assert!(
        factor.item.is_none(),
        "the sealed secret went with the account"
    );
}
