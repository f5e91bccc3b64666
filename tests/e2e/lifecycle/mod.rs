//! The account lifecycle end to end: password change, forgot and reset (through the stream and
//! the mailer), email verification, the sessions list, account deletion, and the mailer itself.

mod account;
mod email;
mod mailer;
mod password;
mod sessions;

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
