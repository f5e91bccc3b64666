//! DynamoDB persistence, in domain terms. One table holds users and sessions; mail requests
//! (`OUTBOX#<id>`/`MAIL`) go to an outbox table of their own, whose stream feeds the mailer:
//!
//! | item        | pk              | sk            | what it is for                            |
//! |-------------|-----------------|---------------|-------------------------------------------|
//! | credentials | `EMAIL#<email>` | `CREDENTIALS` | login by email; makes emails unique       |
//! | profile     | `USER#<id>`     | `PROFILE`     | the user's profile, read by id            |
//! | session     | `USER#<id>`     | `SESSION#<id>`| one refresh-token family; TTL `expires_at`; ids sort by creation time |
//! | streak      | `EMAIL#<email>` | `LOGIN_STREAK`| consecutive failed logins; TTL `expires_at`|
//! | ip window   | `IP#<address>`  | `WINDOW#<n>`  | failed logins + registrations of one source in one window bucket; TTL `expires_at` |
//! | reset token | `USER#<id>`     | `RESET_TOKEN` | digest of the mailed reset link's secret; TTL `expires_at` |
//! | verify token| `USER#<id>`     | `VERIFY_TOKEN`| digest of the mailed verification link's secret; TTL `expires_at` |
//! | sign-up     | `USER#<id>`     | `SIGNUP`      | a confirm-first sign-up waiting for its link (name, address, hash); TTL `expires_at` |
//! | sign-up link| `USER#<id>`     | `SIGNUP_TOKEN`| digest of the mailed sign-up link's secret; TTL `expires_at` |
//! | outbox      | `OUTBOX#<id>`   | `MAIL`        | a mail to send; the stream carries it to the mailer; TTL `expires_at` |
//! | mail budget | `MAIL_BUDGET#<pool>[#<address>]` | `HOUR#<n>` / `DAY#<n>` | mail counted against a budget in one window; TTL `expires_at` |
//! | counted     | `MAIL_COUNTED#<outbox id>` | `BUDGET` | a message already counted (its retries are not); TTL `expires_at` |
//! | attempts    | `MAIL_ATTEMPTS#<outbox id>` | `SENDS` | failed sends of one message; TTL `expires_at` |
//! | parked mail | `PARKED_MAIL`   | `<parked at>#<outbox id>` | a message the mailer gave up on, for `local-dev redrive-mail`; TTL 14 days |
//! | factors     | `USER#<id>`     | `MFA`         | the sealed TOTP secret (confirmed, pending), last step taken, recovery-code digests |
//! | code streak | `USER#<id>`     | `MFA_STREAK`  | consecutive failed second-factor codes; TTL `expires_at` |
//! | challenge   | `MFA_CHALLENGE#<digest>` | `MFA_CHALLENGE` | a login's pending second step; TTL `expires_at` |
//! | sign-in     | `OAUTH_STATE#<digest>` | `OAUTH_STATE` | a federated sign-in between start and callback; TTL `expires_at` |
//! | identity    | `IDENTITY#<id>` | `IDENTITY`    | a provider identity (issuer, subject) and the account it signs in to |
//! | linked      | `USER#<id>`     | `IDENTITY#<id>` | the account's copy, for its list of identities |
//!
//! Credentials and profile both carry the account's session epoch, each session the epoch it
//! was created under: a credential event raises it in its own transaction (`revocation`).
//!
//! Sessions live in their user's partition so "log out everywhere" is one strongly consistent
//! query, not a scan or an eventually consistent index.

mod account;
mod batch;
mod error;
mod federation;
mod ip_limit;
pub mod item;
mod mail_budget;
mod mfa;
mod one_time;
mod outbox;
mod parked_mail;
pub mod revocation;
mod round_trips;
pub mod schema;
mod session_list;
mod sessions;
mod signup;
mod throttle;
mod transaction;
mod users;

use std::time::Duration;

use auth_core::config::StoreSettings;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

pub use account::{ChangeTarget, PasswordChange};
pub use error::StoreError;
pub use federation::{
    FederatedAccount, IdentityRecord, Link, LinkRequest, LinkTarget, NewIdentity, OAuthState,
    identity_id,
};
pub use mail_budget::{BudgetedIssuance, MailClaim};
pub use mfa::{
    Challenge, ConfirmedTotp, FactorChange, FactorRefusal, FactorUse, MfaRecord, NewChallenge,
    SecondStep,
};
pub use one_time::{Issuance, PendingToken, TokenPurpose};
pub use outbox::{MailKind, OutboxMail};
pub use parked_mail::{PARKED_RETENTION_SECONDS, ParkedMail};
pub use round_trips::RoundTripCounter;
pub use session_list::SessionPage;
pub use sessions::{
    Device, NewSession, Rotation, SessionAge, SessionRecord, SessionStart, sessions_to_retire,
};
pub use signup::{PendingSignup, SignupConfirmation};
pub use throttle::{LoginRecord, Reservation, ReservedAttempt, SourceWindow};
pub use users::{NewUser, ProfileRecord, Registration};

/// The table, through one SDK client built once at init.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
    outbox: Option<String>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            outbox: None,
        }
    }

    /// The store, writing mail requests to the `outbox` table.
    pub fn with_outbox(self, outbox: impl Into<String>) -> Self {
        Self {
            outbox: Some(outbox.into()),
            ..self
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Where outbox messages are written; an error for a store built without one (the
    /// settings of every function that asks for mail require `OUTBOX_TABLE_NAME`).
    pub fn outbox_table(&self) -> Result<&str, StoreError> {
        self.outbox
            .as_deref()
            .ok_or_else(|| StoreError::Unexpected("this store has no outbox table".into()))
    }
}

/// Client settings for Lambda: a bounded time per call (so an outage answers 503 well before the
/// function times out) and the SDK's standard retries with backoff for throttling.
pub fn client_config(
    shared: &aws_config::SdkConfig,
    timeout: Duration,
) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::from(shared)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500).min(timeout))
                .operation_attempt_timeout(timeout / 2)
                .operation_timeout(timeout)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
}

impl Store {
    /// Loads the shared AWS configuration (region, credentials, `AWS_ENDPOINT_URL_DYNAMODB`)
    /// once, at init, and builds the client with the configured timeout.
    pub async fn connect(settings: &StoreSettings) -> Self {
        let shared = crate::aws::shared_config().await;
        let client = Client::from_conf(client_config(shared, settings.timeout).build());
        let store = Self::new(client, &settings.table);
        match &settings.outbox_table {
            Some(outbox) => store.with_outbox(outbox),
            None => store,
        }
    }
}
