//! The account lifecycle end to end: password change, forgot and reset (through the stream and
//! the mailer), email verification, the sessions list, account deletion, and the mailer itself.

mod account;
mod email;
mod mail_channel;
mod mailer;
mod password;
mod sessions;

use e2e::capacity::CapacityMeter;
use e2e::{TestApp, TestResponse};

/// The user id of a registration or login response.
pub fn user_id(response: &TestResponse) -> String {
    e2e::claims(&response.access_token())["sub"]
        .as_str()
        .expect("sub")
        .to_owned()
}

/// Registers a user and consumes the verification mail; returns the email and the response.
pub async fn user(app: &TestApp) -> (String, TestResponse) {
    let (email, registered) = app.registered_user().await;
    app.deliver_mail().await;
    (email, registered)
}

/// Requests each lifecycle operation sends to DynamoDB, counted by the SDK interceptor (the
/// README's table).
#[tokio::test]
async fn each_lifecycle_operation_costs_the_round_trips_the_readme_states() {
    use e2e::{Function, PASSWORD};
    use serde_json::json;

    let meter = CapacityMeter::default();
    let app = TestApp::spawn_metered(&[("MAIL_MIN_INTERVAL", "0")], &meter).await;
    let (email, first) = user(&app).await;
    // A second session, for the change to end.
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
    // Requests, then capacity as DynamoDB Local counts it (the README's lifecycle table).
    let count = |expected: usize, (writes, reads): (f64, f64), what: &str| {
        let capacity = meter.take();
        eprintln!(
            "{what}: {} write units, {} read units",
            capacity.write_units, capacity.read_units
        );
        assert_eq!(app.round_trips.take(), expected, "{what}");
        assert_eq!(
            (capacity.write_units, capacity.read_units),
            (writes, reads),
            "{what}: write and read units"
        );
    };
    app.round_trips.take();
    meter.take();

    let listed = app
        .authorized(
            Function::Sessions,
            "GET",
            "/auth/sessions",
            &first.access_token(),
            None,
        )
        .await;
    assert_eq!(listed.status, 200);
    count(
        3,
        (0.0, 3.0),
        "sessions list: profile, the calling session, one query page (all at once)",
    );

    let resent = app
        .authorized(
            Function::Email,
            "POST",
            "/auth/email/verify/resend",
            &first.access_token(),
            None,
        )
        .await;
    assert_eq!(resent.status, 202);
    count(
        4,
        (2.0, 1.5),
        "resend: window query, count, profile, outbox",
    );

    assert_eq!(app.mail_to(&email).await.len(), 1);
    count(
        2,
        (2.0, 1.0),
        "mailer: the profile (strongly consistent), one transaction: the token's digest, the counted marker, four budget counters",
    );

    let changed = app
        .authorized(
            Function::Password,
            "POST",
            "/auth/password/change",
            &first.access_token(),
            Some(json!({ "currentPassword": PASSWORD, "newPassword": "changed passphrase" })),
        )
        .await;
    assert_eq!(changed.status, 204);
    count(
        7,
        (5.0, 4.5),
        "change: profile, batch read, reservation, transaction; clean-up: profile, session \
         query, batch delete",
    );

    let again = app.login(&email, "changed passphrase").await;
    app.round_trips.take();
    meter.take();
    let revoked = app
        .authorized(
            Function::Sessions,
            "DELETE",
            &format!(
                "/auth/sessions/{}",
                e2e::claims(&again.access_token())["sid"]
                    .as_str()
                    .expect("sid")
            ),
            &first.access_token(),
            None,
        )
        .await;
    assert_eq!(revoked.status, 204);
    count(1, (1.0, 0.0), "revoke: one conditional delete");
    app.forgot(&email).await;
    count(3, (2.0, 1.0), "forgot: window query, count, outbox");
    let token = app.one_mail_to(&email).await.token();
    app.round_trips.take();
    meter.take();

    assert_eq!(app.reset(&token, PASSWORD).await.status, 204);
    count(
        5,
        (4.0, 3.0),
        "reset: token read, transaction; clean-up: profile, session query, batch delete",
    );

    let ended = app.login(&email, PASSWORD).await;
    app.round_trips.take();
    meter.take();
    assert_eq!(app.refresh(&ended.refresh_token()).await.status, 200);
    count(
        2,
        (1.0, 1.0),
        "refresh: rotation, and the profile read beside it",
    );
    assert_eq!(
        app.logout_all(Some(&ended.access_token())).await.status,
        204
    );
    count(
        5,
        (3.0, 3.0),
        "logout everywhere: profile, transaction; clean-up: profile, session query, batch delete",
    );
    let fresh = app.login(&email, PASSWORD).await;
    app.round_trips.take();
    meter.take();
    let deleted = app
        .authorized(
            Function::Account,
            "DELETE",
            "/auth/account",
            &fresh.access_token(),
            Some(json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(deleted.status, 204);
    // The transaction also deletes the second factor's item (none here; still a write).
    count(
        6,
        (5.0, 3.5),
        "delete: profile, batch read, reservation, transaction; clean-up: partition query, \
         batch delete",
    );
}

#[tokio::test]
async fn verifying_from_a_signed_in_browser_costs_a_token_read_a_session_read_and_a_transaction() {
    let meter = CapacityMeter::default();
    let app = TestApp::spawn_metered(&[], &meter).await;
    let (email, registered) = app.registered_user().await;
    let token = app.one_mail_to(&email).await.token();
    app.round_trips.take();
    meter.take();
    let verified = app
        .verify_email_signed_in(&token, &registered.refresh_token())
        .await;
    assert_eq!(verified.status, 204, "{}", verified.text);
    assert_eq!(
        app.round_trips.take(),
        3,
        "token read, session and profile in one batch read, transaction"
    );
    let capacity = meter.take();
    eprintln!(
        "verify: {} write units, {} read units",
        capacity.write_units, capacity.read_units
    );
    assert_eq!((capacity.write_units, capacity.read_units), (2.0, 3.0));
}
