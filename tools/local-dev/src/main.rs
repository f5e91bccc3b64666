//! `local-dev create-table` creates TABLE_NAME (with TTL) from the same definition the code
//! uses; `local-dev set-role <email> <role>` promotes or demotes a user. The DynamoDB endpoint
//! comes from the SDK's standard `AWS_ENDPOINT_URL_DYNAMODB`.

use std::process::ExitCode;
use std::time::Duration;

use auth_core::domain::{Email, Role};
use auth_core::store::{Store, StoreError, schema};

const USAGE: &str = "usage: local-dev create-table | local-dev set-role <email> <role>";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Ok(table) = std::env::var("TABLE_NAME") else {
        eprintln!("TABLE_NAME is not set");
        return ExitCode::FAILURE;
    };
    let client = auth_core::store::load_client(Duration::from_secs(5)).await;
    let outcome = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["create-table"] => create_table(&client, &table).await,
        ["set-role", email, role] => set_role(Store::new(client, &table), email, role).await,
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

async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<String, String> {
    match schema::create_table(client, table).await {
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
            auth_core::error::error_chain(&error)
        )),
    }
}

async fn set_role(store: Store, email: &str, role: &str) -> Result<String, String> {
    let email = Email::parse(email).map_err(|error| error.to_string())?;
    let role = Role::parse(role).ok_or("roles are lowercase letters, digits, '-' and '_'")?;
    match store.set_role(&email, &role).await {
        Ok(true) => Ok(format!(
            "{} is now {}; it shows in their next access token",
            email.as_str(),
            role.as_str()
        )),
        Ok(false) => Err(format!("no user with email {}", email.as_str())),
        Err(error) => Err(auth_core::error::error_chain(&error)),
    }
}
