//! Attribute names, key formats and the table definition, in one place. `template.yaml`
//! declares the same table; a test checks the two agree.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

use super::StoreError;
use auth_core::domain::{Email, SessionId, UserId};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// Epoch seconds after which a session is dead; the table's TTL attribute.
pub const EXPIRES_AT: &str = "expires_at";

pub const USER_ID: &str = "user_id";
pub const EMAIL: &str = "email";
pub const NAME: &str = "name";
pub const ROLE: &str = "role";
pub const PASSWORD_HASH: &str = "password_hash";
pub const CREATED_AT: &str = "created_at";
/// Whether the user followed a verification link (credentials, profile and sessions).
pub const EMAIL_VERIFIED: &str = "email_verified";

/// The account's session epoch (credentials and profile), and on a session the epoch it was
/// created or last re-stamped under. A session below its account's epoch is revoked
/// (`store::revocation`). Absent reads as 0 (items written before it existed).
pub const SESSION_EPOCH: &str = "session_epoch";

/// Whether the account has a confirmed second factor (credentials and profile).
pub const MFA_ENABLED: &str = "mfa";

pub const SESSION_ID: &str = "session_id";
/// A session's assurance (`auth_core::assurance`): its level, the methods behind it (a list,
/// in order) and when its second factor was last verified.
pub const AAL: &str = "aal";
pub const AMR: &str = "amr";
pub const SECOND_FACTOR_AT: &str = "second_factor_at";
pub const CURRENT_DIGEST: &str = "current_digest";
pub const PREVIOUS_DIGEST: &str = "previous_digest";
pub const GENERATION: &str = "generation";
pub const ROTATED_AT: &str = "rotated_at";
pub const ABSOLUTE_EXPIRES_AT: &str = "absolute_expires_at";
/// The device a session was last used from, as API Gateway saw it.
pub const USER_AGENT: &str = "user_agent";
pub const IP_ADDRESS: &str = "ip_address";
pub const LAST_USED_AT: &str = "last_used_at";

/// A one-time token item: the SHA-256 digest of its secret, when it was issued, and the outbox
/// message it was minted for (so that message's retries may replace it).
pub const TOKEN_DIGEST: &str = "token_digest";
pub const ISSUED_AT: &str = "issued_at";
pub const OUTBOX_ID: &str = "outbox_id";

/// An outbox message: what to send (`MailKind`), to whom.
pub const MAIL_KIND: &str = "kind";

pub const FAILURES: &str = "failures";
/// Epoch seconds of a streak's latest failure.
pub const LAST_FAILURE_AT: &str = "last_failure_at";

/// Attempts counted in one per-IP window bucket.
pub const ATTEMPTS: &str = "attempts";

pub const CREDENTIALS_SK: &str = "CREDENTIALS";
/// An email's consecutive failed logins (TTL `expires_at`).
pub const LOGIN_STREAK_SK: &str = "LOGIN_STREAK";
pub const PROFILE_SK: &str = "PROFILE";
pub const SESSION_SK_PREFIX: &str = "SESSION#";
/// A user's pending password reset token (one at a time; a newer one replaces it).
pub const RESET_TOKEN_SK: &str = "RESET_TOKEN";
/// A user's pending email verification token (one at a time).
pub const VERIFY_TOKEN_SK: &str = "VERIFY_TOKEN";
/// A confirm-first sign-up waiting for its link (`store::signup`), in the partition of the
/// account it would create, and that link's token.
pub const SIGNUP_SK: &str = "SIGNUP";
pub const SIGNUP_TOKEN_SK: &str = "SIGNUP_TOKEN";
/// A user's second factor: the sealed TOTP secret (confirmed and pending), the last accepted
/// time step, the recovery codes' digests.
pub const MFA_SK: &str = "MFA";
pub const TOTP_SECRET: &str = "totp_secret";
pub const TOTP_CREATED_AT: &str = "totp_created_at";
pub const LAST_STEP: &str = "last_step";
pub const PENDING_SECRET: &str = "pending_secret";
pub const PENDING_AT: &str = "pending_at";
/// A string set of digests; absent once every code is spent (DynamoDB has no empty sets).
pub const RECOVERY_CODES: &str = "recovery_codes";
/// A user's consecutive failed second-factor codes (TTL `expires_at`), apart from the
/// password's streak.
pub const MFA_STREAK_SK: &str = "MFA_STREAK";
/// A login's pending second step, keyed by its token's digest (TTL `expires_at`).
pub const MFA_CHALLENGE_PK_PREFIX: &str = "MFA_CHALLENGE#";
pub const MFA_CHALLENGE_SK: &str = "MFA_CHALLENGE";
/// A federated sign-in between its start and its callback (`store::federation`), keyed by its
/// state's digest (TTL `expires_at`): the provider, the browser binding's digest (in
/// `token_digest`), the return path, and for a link the signed-in user.
pub const OAUTH_STATE_PK_PREFIX: &str = "OAUTH_STATE#";
pub const OAUTH_STATE_SK: &str = "OAUTH_STATE";
pub const PROVIDER: &str = "provider";
pub const RETURN_PATH: &str = "return_path";
/// A provider identity linked to an account, keyed by its id (the digest of issuer and
/// subject), and its copy in the account's partition (`IDENTITY#<id>`).
pub const IDENTITY_PK_PREFIX: &str = "IDENTITY#";
pub const IDENTITY_SK: &str = "IDENTITY";
pub const IDENTITY_SK_PREFIX: &str = "IDENTITY#";
pub const IDENTITY_ID: &str = "identity_id";
pub const ISSUER: &str = "issuer";
pub const SUBJECT: &str = "subject";
pub const OUTBOX_PK_PREFIX: &str = "OUTBOX#";
pub const OUTBOX_SK: &str = "MAIL";
/// A mail budget's counter for one window (`store::mail_budget`), and the marker that a
/// message has been counted.
pub const MAIL_BUDGET_PK_PREFIX: &str = "MAIL_BUDGET#";
pub const MAIL_COUNT: &str = "count";
pub const MAIL_COUNTED_PK_PREFIX: &str = "MAIL_COUNTED#";
pub const MAIL_COUNTED_SK: &str = "BUDGET";
/// Failed sends of one message (`store::parked_mail`), and the partition of the messages the
/// mailer gave up on, oldest first.
pub const MAIL_ATTEMPTS_PK_PREFIX: &str = "MAIL_ATTEMPTS#";
pub const MAIL_ATTEMPTS_SK: &str = "SENDS";
pub const PARKED_MAIL_PK: &str = "PARKED_MAIL";
pub const PARK_REASON: &str = "reason";
/// On a redriven outbox message: the id of the message it sends again.
pub const REDRIVE_OF: &str = "redrive_of";
pub const PARKED_AT: &str = "parked_at";

pub fn email_pk(email: &Email) -> String {
    format!("EMAIL#{}", email.as_str())
}

/// The partition of one source address's counters (`ip_limit::source_key`).
pub fn source_pk(source_key: &str) -> String {
    format!("IP#{source_key}")
}

/// One bucket of a source's window; zero-padded so string order is time order.
pub fn window_sk(bucket: i64) -> String {
    format!("WINDOW#{bucket:020}")
}

pub fn user_pk(user: &UserId) -> String {
    format!("USER#{user}")
}

pub fn session_sk(session: &SessionId) -> String {
    format!("{SESSION_SK_PREFIX}{session}")
}

pub fn mfa_challenge_pk(digest: &str) -> String {
    format!("{MFA_CHALLENGE_PK_PREFIX}{digest}")
}

pub fn outbox_pk(id: &str) -> String {
    format!("{OUTBOX_PK_PREFIX}{id}")
}

/// A table's keys, as both the bootstrap and the SAM template declare them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// (attribute name, DynamoDB scalar type: "S", "N" or "B")
    pub attributes: Vec<(&'static str, &'static str)>,
    /// (attribute name, "HASH" or "RANGE")
    pub key_schema: Vec<(&'static str, &'static str)>,
    pub ttl_attribute: &'static str,
    /// What the table's stream carries, if it has one.
    pub stream_view: Option<&'static str>,
}

/// The main table: users, sessions, tokens, counters. No stream: nothing reads its changes.
pub fn table_definition() -> TableDefinition {
    TableDefinition {
        attributes: vec![(PK, "S"), (SK, "S")],
        key_schema: vec![(PK, "HASH"), (SK, "RANGE")],
        ttl_attribute: EXPIRES_AT,
        stream_view: None,
    }
}

/// The outbox table: mail requests only, and a stream carrying them ("NEW_IMAGE": as written)
/// to the mailer.
pub fn outbox_table_definition() -> TableDefinition {
    TableDefinition {
        stream_view: Some("NEW_IMAGE"),
        ..table_definition()
    }
}

/// The outbox table that goes with `table` in local runs and tests (the template names its
/// own and passes `OUTBOX_TABLE_NAME`).
pub fn local_outbox_table(table: &str) -> String {
    format!("{table}-outbox")
}

fn build_error(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unexpected(Box::new(error))
}

/// Creates `table` and its outbox table ([`local_outbox_table`]), on demand, with TTL on
/// [`EXPIRES_AT`]. Used by the local bootstrap and the tests; production tables come from
/// `template.yaml`.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    create_tables(client, table, &local_outbox_table(table)).await
}

/// Creates `table` and the outbox table `outbox`.
pub async fn create_tables(client: &Client, table: &str, outbox: &str) -> Result<(), StoreError> {
    create_one(client, table, &table_definition()).await?;
    create_one(client, outbox, &outbox_table_definition()).await
}

async fn create_one(
    client: &Client,
    table: &str,
    definition: &TableDefinition,
) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest);
    if let Some(view) = definition.stream_view {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()
                .map_err(build_error)?,
        );
    }
    for (name, kind) in &definition.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(ScalarAttributeType::from(*kind))
                .build()
                .map_err(build_error)?,
        );
    }
    for (name, kind) in &definition.key_schema {
        request = request.key_schema(
            KeySchemaElement::builder()
                .attribute_name(*name)
                .key_type(KeyType::from(*kind))
                .build()
                .map_err(build_error)?,
        );
    }
    request.send().await?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(definition.ttl_attribute)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await?;
    Ok(())
}
