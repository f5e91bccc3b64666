//! Operations on the table:
//! - `local-dev create-table`: creates TABLE_NAME (with TTL) from the definition the code uses;
//! - `local-dev set-role <email> <role>`: promotes or demotes a user (every session follows);
//! - `local-dev revoke-all-sessions`: deletes every session of every user, e.g. after a leaked
//!   `JWT_REFRESH_SECRET` (README, "Security"). Access tokens already issued stay valid until
//!   they expire, unless the authorizer runs in strict mode.
//!
//! Settings come from `auth_core::config` (`TABLE_NAME`, `DYNAMODB_TIMEOUT`); the endpoint from
//! the SDK's standard `AWS_ENDPOINT_URL_DYNAMODB`, credentials from the usual AWS chain.

use std::process::ExitCode;

use auth_core::config::{ProcessEnv, StoreSettings};
use auth_core::domain::{Email, Role};
use auth_core::telemetry::error_chain;
use auth_service::store::{Store, StoreError, schema};

const USAGE: &str = "usage: local-dev create-table | set-role <email> <role> | revoke-all-sessions";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match StoreSettings::from_env(&ProcessEnv) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let store = Store::connect(&settings).await;
    let outcome = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["create-table"] => create_table(&store).await,
        ["set-role", email, role] => set_role(&store, email, role).await,
        ["revoke-all-sessions"] => revoke_all_sessions(&store).await,
        _ => Err(USAGE.to_owned()),
    };
    match outcome {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn create_table(store: &Store) -> Result<String, String> {
    let table = store.table();
    match schema::create_table(store.client(), table).await {
        Ok(()) => Ok(format!(
            "created table {table} with TTL on {}",
            schema::EXPIRES_AT
        )),
        Err(StoreError::Unexpected(error))
            if format!("{error:?}").contains("ResourceInUseException") =>
        {
            Ok(format!("table {table} already exists"))
        }
        Err(error) => Err(format!(
            "could not create table {table}: {}",
            error_chain(&error)
        )),
    }
}

async fn set_role(store: &Store, email: &str, role: &str) -> Result<String, String> {
    let email = Email::parse(email).map_err(|error| error.to_string())?;
    let role = Role::parse(role).ok_or("roles are lowercase letters, digits, '-' and '_'")?;
    match store.set_role(&email, &role).await {
        Ok(true) => Ok(format!(
            "{} is now {}; it shows in their next access token",
            email.as_str(),
            role.as_str()
        )),
        Ok(false) => Err(format!("no user with email {}", email.as_str())),
        Err(error) => Err(error_chain(&error)),
    }
}

async fn revoke_all_sessions(store: &Store) -> Result<String, String> {
    store
        .delete_every_session()
        .await
        .map(|count| format!("revoked {count} sessions in {}", store.table()))
        .map_err(|error| error_chain(&error))
}
