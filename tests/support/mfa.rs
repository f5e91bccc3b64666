//! The second factor in tests: a verified account, enrolment and confirmation, codes computed
//! from the enrolment's secret, and the second login step.

use auth_service::mfa::{base32, totp};
use serde_json::{Value, json};

use crate::{Function, PASSWORD, TestApp, TestResponse};

/// An account with a confirmed TOTP factor.
#[derive(Debug, Clone)]
pub struct MfaUser {
    pub email: String,
    pub user_id: String,
    pub secret: Vec<u8>,
    pub recovery_codes: Vec<String>,
    /// The enrolling session's tokens, at aal2 after the confirmation.
    pub access_token: String,
    pub refresh_token: String,
}

impl MfaUser {
    /// The code for the time step `offset` steps from the app's current one.
    pub fn code_at(&self, app: &TestApp, offset: i64) -> String {
        let step = totp::step_at(app.now())
            .checked_add_signed(offset)
            .expect("step");
        totp::code_at(&self.secret, step)
    }

    pub fn code(&self, app: &TestApp) -> String {
        self.code_at(app, 0)
    }
}

impl TestApp {
    /// Registers a user and follows the verification link signed in.
    pub async fn verified_user(&self) -> (String, TestResponse) {
        let (email, registered) = self.registered_user().await;
        let link = self.one_mail_to(&email).await;
        let verified = self
            .verify_email_signed_in(&link.token(), &registered.refresh_token())
            .await;
        assert_eq!(verified.status, 204, "{}", verified.text);
        (email, registered)
    }

    /// `method path` of the `mfa` function as the holder of `access_token`.
    pub async fn mfa_call(
        &self,
        method: &str,
        path: &str,
        access_token: &str,
        body: Option<Value>,
    ) -> TestResponse {
        self.authorized(Function::Mfa, method, path, access_token, body)
            .await
    }

    pub async fn enroll(&self, access_token: &str) -> TestResponse {
        self.mfa_call(
            "POST",
            "/auth/mfa/totp/enroll",
            access_token,
            Some(json!({})),
        )
        .await
    }

    pub async fn confirm(&self, access_token: &str, code: &str) -> TestResponse {
        self.mfa_call(
            "POST",
            "/auth/mfa/totp/confirm",
            access_token,
            Some(json!({ "code": code })),
        )
        .await
    }

    /// A verified account that enrolled and confirmed TOTP; the clock then moves one step on,
    /// so the confirming code's step is behind.
    pub async fn mfa_user(&self) -> MfaUser {
        let (email, registered) = self.verified_user().await;
        let (secret, confirmed) = self.enrol_and_confirm(&registered.access_token()).await;
        let recovery_codes = confirmed.json["recoveryCodes"]
            .as_array()
            .expect("recovery codes")
            .iter()
            .map(|code| code.as_str().expect("a code").to_owned())
            .collect();
        self.clock.advance(totp::STEP_SECONDS);
        MfaUser {
            email,
            user_id: registered.json["user"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
            secret,
            recovery_codes,
            access_token: confirmed.access_token(),
            refresh_token: registered.refresh_token(),
        }
    }

    /// Enrols `email`'s account again after its factor was removed (signing in with the
    /// password alone): the new secret.
    pub async fn mfa_user_again(&self, email: &str) -> Vec<u8> {
        let login = self.login(email, PASSWORD).await;
        assert_eq!(login.status, 200, "{}", login.text);
        self.enrol_and_confirm(&login.access_token()).await.0
    }

    /// Enrols the session of `access` and confirms with the current code: the secret and the
    /// confirmation's answer.
    async fn enrol_and_confirm(&self, access: &str) -> (Vec<u8>, TestResponse) {
        let enrolled = self.enroll(access).await;
        assert_eq!(enrolled.status, 200, "{}", enrolled.text);
        let secret = base32::decode(enrolled.json["secret"].as_str().expect("secret"))
            .expect("base32 secret");
        let code = totp::code_at(&secret, totp::step_at(self.now()));
        let confirmed = self.confirm(access, &code).await;
        assert_eq!(confirmed.status, 200, "{}", confirmed.text);
        (secret, confirmed)
    }

    /// `POST /auth/mfa/verify` with `body` (unauthenticated: the second login step).
    pub async fn mfa_verify(&self, body: Value) -> TestResponse {
        self.post(Function::Mfa, "/auth/mfa/verify", body).await
    }

    /// Step-up: `POST /auth/mfa/verify` with the session's access token as a bearer token (the
    /// route has no authorizer; the function verifies it).
    pub async fn step_up(&self, access_token: &str, body: Value) -> TestResponse {
        let authorization = format!("Bearer {access_token}");
        let request = crate::events::http_api_event(
            "POST",
            "/auth/mfa/verify",
            &[
                ("content-type", "application/json"),
                ("authorization", authorization.as_str()),
            ],
            &[],
            Some(&body.to_string()),
        );
        self.send(Function::Mfa, request).await
    }

    /// The password step of an MFA login: its `mfaToken`.
    pub async fn mfa_challenge(&self, email: &str) -> String {
        let login = self.login(email, PASSWORD).await;
        assert_eq!(login.status, 200, "{}", login.text);
        assert_eq!(login.json["mfaRequired"], true, "{}", login.text);
        login.json["mfaToken"]
            .as_str()
            .expect("mfaToken")
            .to_owned()
    }

    /// A full MFA login with the current code.
    pub async fn mfa_login(&self, user: &MfaUser) -> TestResponse {
        let token = self.mfa_challenge(&user.email).await;
        self.mfa_verify(json!({ "mfaToken": token, "code": user.code(self) }))
            .await
    }
}
