use auth_core::calendar::rfc5322;
use auth_mail::stream::{BatchResponse, ItemFailure, StreamEvent};
use e2e::{PASSWORD, TestApp, fixture};
use serde_json::{Value, json};

const OUTBOX_ID: &str = "5f1c0ffee0ddf00d5f1c0ffee0ddf00d";

fn event(email: &str) -> StreamEvent {
    serde_json::from_str(&fixture(
        "mailer-outbox-insert.json",
        &[("{{EMAIL}}", email)],
    ))
    .expect("a stream event")
}

#[tokio::test]
async fn the_mailer_writes_the_exact_message_from_a_stream_record() {
    let app = TestApp::spawn().await;
    let (email, _) = app.registered_user().await;
    let sent_at = app.now();
    let answer = app.mailer.handle(event(&email)).await;
    assert_eq!(answer, BatchResponse::default());

    let message = std::fs::read_to_string(app.mail_dir().join(format!("{OUTBOX_ID}.eml")))
        .expect("the .eml file");
    let token = message
        .lines()
        .find_map(|line| line.strip_prefix("https://app.test/reset-password#token="))
        .expect("the link")
        .to_owned();
    let date = message
        .lines()
        .find_map(|line| line.strip_prefix("Date: "))
        .expect("a date")
        .to_owned();
    assert!(
        (sent_at..=sent_at + 5).any(|second| rfc5322(second) == date),
        "{date}"
    );
    let expected = std::fs::read_to_string(format!(
        "{}/e2e/lifecycle/password-reset.eml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("the expected message")
    .replace("{{EMAIL}}", &email)
    .replace("{{DATE}}", &date)
    .replace("{{TOKEN}}", &token)
    .replace('\n', "\r\n");
    assert_eq!(message, expected);

    // The link works.
    assert_eq!(
        app.reset(&token, "a brand new passphrase").await.status,
        204
    );
}

#[tokio::test]
async fn a_failed_send_is_reported_for_retry_and_malformed_records_are_passed_over() {
    let app = TestApp::spawn().await;
    let (email, _) = app.registered_user().await;
    let mut raw: Value = serde_json::from_str(&fixture(
        "mailer-outbox-insert.json",
        &[("{{EMAIL}}", &email)],
    ))
    .expect("json");
    let good = raw["Records"][0].clone();
    let mut malformed = good.clone();
    malformed["dynamodb"]["NewImage"]["kind"] = json!({ "S": "launch_missiles" });
    malformed["dynamodb"]["SequenceNumber"] = json!("1");
    let mut removal = good.clone();
    removal["eventName"] = json!("REMOVE");
    removal["dynamodb"]["SequenceNumber"] = json!("2");
    raw["Records"] = json!([malformed, removal, good]);

    // A file where the mail directory should be: every send fails.
    std::fs::write(app.mail_dir(), "not a directory").expect("block the directory");
    let event: StreamEvent = serde_json::from_value(raw.clone()).expect("event");
    let answer = app.mailer.handle(event).await;
    assert_eq!(
        answer.batch_item_failures,
        vec![ItemFailure {
            item_identifier: "111100000000000000000001".into()
        }]
    );
    std::fs::remove_file(app.mail_dir()).expect("unblock");
    let event: StreamEvent = serde_json::from_value(raw).expect("event");
    assert_eq!(app.mailer.handle(event).await, BatchResponse::default());
    assert!(app.mail_dir().join(format!("{OUTBOX_ID}.eml")).exists());
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}
