//! Confirm-first sign-up (`REGISTRATION_MODE=confirm-first`): registration answers every
//! address alike, with the same writes; the mailer sends the link or the "someone tried"
//! notice; the account exists once its link comes back with the sign-up's password.

use auth_mail::Delivery;
use e2e::{Function, PASSWORD, TestApp, json_post};
use serde_json::json;

const CONFIRM_FIRST: (&str, &str) = ("REGISTRATION_MODE", "confirm-first");

async fn sign_up(app: &TestApp, email: &str, password: &str) -> e2e::TestResponse {
    app.register("Ada", email, password).await
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> e2e::TestResponse {
    let body = json!({ "token": token, "password": password }).to_string();
    app.send(
        Function::Register,
        json_post("/auth/register/confirm", &body),
    )
    .await
}

/// What a response shows a client: status, body and headers but the request id.
fn shown(response: &e2e::TestResponse) -> (u16, String, Vec<(String, String)>) {
    let mut headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    headers.sort();
    (response.status, response.text.clone(), headers)
}

#[tokio::test]
async fn a_taken_and_a_new_address_get_the_same_answer_and_the_same_writes() {
    let app = TestApp::spawn_with(&[CONFIRM_FIRST]).await;
    // An account for the first address, through a confirmed sign-up.
    assert_eq!(
        sign_up(&app, "taken@example.com", PASSWORD).await.status,
        202
    );
    let link = app.one_mail_to("taken@example.com").await;
    assert!(
        link.message.contains("/confirm-signup#token="),
        "{}",
        link.message
    );
    assert_eq!(confirm(&app, &link.token(), PASSWORD).await.status, 201);
    let items_before = app.account_items().await.len();
    let outbox_before = app.outbox_items().await.len();

    let taken = sign_up(&app, "taken@example.com", "another long password").await;
    let items_after_taken = app.account_items().await.len();
    let outbox_after_taken = app.outbox_items().await.len();
    let new = sign_up(&app, "new@example.com", "another long password").await;
    assert_eq!(shown(&taken), shown(&new));
    assert_eq!(taken.status, 202);
    assert_eq!(taken.json, json!({}));
    assert!(taken.refresh_cookie().is_none());
    // The same writes: one pending sign-up in the main table, one mail request.
    assert_eq!(items_after_taken - items_before, 1);
    assert_eq!(outbox_after_taken - outbox_before, 1);
    assert_eq!(app.account_items().await.len() - items_after_taken, 1);
    assert_eq!(app.outbox_items().await.len() - outbox_after_taken, 1);

    // The mailer tells them apart: the owner of the taken address hears someone tried.
    let delivered = app.deliver_mail().await;
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    assert!(
        delivered
            .iter()
            .all(|(_, outcome)| *outcome == Delivery::Sent)
    );
    let notice = std::fs::read_to_string(app.mail_dir().join(format!("{}.eml", delivered[0].0.id)))
        .expect("the notice");
    assert!(
        notice.contains("Subject: Someone tried to sign up for"),
        "{notice}"
    );
    assert!(
        !notice.contains("#token="),
        "a notice carries no link token"
    );
    let link = std::fs::read_to_string(app.mail_dir().join(format!("{}.eml", delivered[1].0.id)))
        .expect("the link");
    assert!(link.contains("/confirm-signup#token="));
    // The taken address's password is untouched.
    assert_eq!(app.login("taken@example.com", PASSWORD).await.status, 200);
    app.login("taken@example.com", "another long password")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn the_account_exists_only_once_its_link_comes_back_with_the_password() {
    let app = TestApp::spawn_with(&[CONFIRM_FIRST]).await;
    assert_eq!(sign_up(&app, "ada@example.com", PASSWORD).await.status, 202);
    // Before the link: as any unknown address.
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    let token = app.one_mail_to("ada@example.com").await.token();
    // The link alone, or with another password, creates nothing.
    confirm(&app, &token, "not the sign-up password")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    confirm(&app, "not-a-token", PASSWORD)
        .await
        .assert_error(400, "INVALID_VERIFICATION_TOKEN");
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");

    let created = confirm(&app, &token, PASSWORD).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(created.refresh_cookie().is_some());
    assert_eq!(created.json["user"]["email"], "ada@example.com");
    assert_eq!(e2e::claims(&created.access_token())["email_verified"], true);
    assert_eq!(app.login("ada@example.com", PASSWORD).await.status, 200);
    // The link works once.
    confirm(&app, &token, PASSWORD)
        .await
        .assert_error(400, "INVALID_VERIFICATION_TOKEN");
    assert_eq!(app.audit_events_named("signup_requested").len(), 1);
    assert!(app.audit_events_named("signup_confirmation_failed").len() >= 2);
    assert_eq!(app.audit_events_named("user_registered").len(), 1);
}

#[tokio::test]
async fn two_sign_ups_of_one_address_make_one_account() {
    let app = TestApp::spawn_with(&[CONFIRM_FIRST, ("MAIL_MIN_INTERVAL", "0s")]).await;
    assert_eq!(sign_up(&app, "ada@example.com", PASSWORD).await.status, 202);
    assert_eq!(
        sign_up(&app, "ada@example.com", "a second password")
            .await
            .status,
        202
    );
    let mails = app.mail_to("ada@example.com").await;
    assert_eq!(mails.len(), 2);
    assert_eq!(
        confirm(&app, &mails[1].token(), "a second password")
            .await
            .status,
        201
    );
    confirm(&app, &mails[0].token(), PASSWORD)
        .await
        .assert_error(409, "EMAIL_TAKEN");
    assert_eq!(
        app.login("ada@example.com", "a second password")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn open_mode_stays_the_default() {
    let app = TestApp::spawn().await;
    assert_eq!(sign_up(&app, "ada@example.com", PASSWORD).await.status, 201);
    sign_up(&app, "ada@example.com", PASSWORD)
        .await
        .assert_error(409, "EMAIL_TAKEN");
}
