//! Operations on the table:
//! - `local-dev create-table`: creates TABLE_NAME and its outbox table (with TTL, the outbox
//!   with its stream) from the definitions the code uses;
//! - `local-dev set-role <email> <role>`: promotes or demotes a user (every session follows);
//! - `local-dev remove-mfa <email>`: removes a user's second factor (a lost device and no
//!   recovery code left), ending every session signed in with it; audited
//!   (`mfa_removed_by_operator`). Verify who is asking before running it.
//! - `local-dev revoke-all-sessions`: deletes every session of every user, e.g. after a leaked
//!   `JWT_REFRESH_SECRET` (README, "Security"). Access tokens already issued stay valid until
//!   they expire, unless the authorizer runs in strict mode.
//! - `local-dev redrive-mail`: puts the messages the mailer parked (after `MAIL_MAX_ATTEMPTS`
//!   failed sends) back in the outbox, once the cause is fixed; audited (`mail_redriven`).
//! - `local-dev relay-mail`: runs the mailer on the outbox table's stream until stopped, printing each
//!   message's link (the mailer's settings: `APP_URL`, `MAIL_FROM`, `MAIL_TRANSPORT=dir:...`).
//! - `local-dev relay-stream <invoke-api> <function>`: the template's event source mapping for
//!   a packaged mailer: outbox inserts on the stream, in batches of 10, invoked through an
//!   Invoke API (`dev-gateway --packaged`), partial failures retried from the first failed
//!   record until it succeeds (100 retries at most), as `MailerOutboxMapping` does.
//!
//! Settings come from `auth_core::config` (`TABLE_NAME`, `OUTBOX_TABLE_NAME` (by default
//! `<TABLE_NAME>-outbox`), `DYNAMODB_TIMEOUT`); the endpoint from
//! the SDK's standard `AWS_ENDPOINT_URL_DYNAMODB`, credentials from the usual AWS chain.

use std::process::ExitCode;

use auth_core::config::{ProcessEnv, StoreSettings};
use auth_core::domain::{Email, Role};
use auth_core::telemetry::error_chain;
use auth_mail::{Delivery, Processed};
use auth_service::store::{Store, StoreError, schema};
use local_dev::mail_relay::MailRelay;

const USAGE: &str = "usage: local-dev create-table | set-role <email> <role> | remove-mfa <email> | revoke-all-sessions | redrive-mail | relay-mail | relay-stream <invoke-api> <function>";

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
    // The outbox table: OUTBOX_TABLE_NAME (a deployed stack's output), else the local one
    // that goes with TABLE_NAME.
    let outbox = settings
        .outbox_table
        .clone()
        .unwrap_or_else(|| schema::local_outbox_table(&settings.table));
    let store = Store::connect(&settings).await.with_outbox(outbox);
    let outcome = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["create-table"] => create_table(&store).await,
        ["set-role", email, role] => set_role(&store, email, role).await,
        ["remove-mfa", email] => remove_mfa(&store, email).await,
        ["revoke-all-sessions"] => revoke_all_sessions(&store).await,
        ["redrive-mail"] => redrive_mail(&store).await,
        ["relay-mail"] => relay_mail(&store).await,
        ["relay-stream", invoke_api, function] => {
            local_dev::stream_mapping::run(&store, streams_client().await, invoke_api, function)
                .await
        }
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
    let outbox = store.outbox_table().map_err(|error| error_chain(&error))?;
    match schema::create_tables(store.client(), table, outbox).await {
        Ok(()) => Ok(format!(
            "created tables {table} and {outbox} (its stream feeds the mailer) with TTL on {}",
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

async fn remove_mfa(store: &Store, email: &str) -> Result<String, String> {
    let email = Email::parse(email).map_err(|error| error.to_string())?;
    let audit = auth_service::config::audit_settings(&ProcessEnv)
        .map(auth_service::audit::Audit::stdout)
        .map_err(|error| error.to_string())?;
    match auth_service::operator::remove_factors(store, &audit, &email).await {
        Ok(true) => Ok(format!(
            "removed the second factor of {}; their sessions have ended",
            email.as_str()
        )),
        Ok(false) => Err(format!("no user with email {}", email.as_str())),
        Err(error) => Err(error_chain(&error)),
    }
}

async fn redrive_mail(store: &Store) -> Result<String, String> {
    let audit = auth_service::config::audit_settings(&ProcessEnv)
        .map(auth_service::audit::Audit::stdout)
        .map_err(|error| error.to_string())?;
    let now = auth_core::clock::Clock::now(&auth_core::clock::SystemClock);
    let done = auth_service::operator::redrive_parked_mail(store, &audit, now)
        .await
        .map_err(|error| error_chain(&error))?;
    Ok(format!(
        "{} parked message(s) back in the outbox; {} taken by another redrive",
        done.requeued, done.taken_by_another
    ))
}

async fn revoke_all_sessions(store: &Store) -> Result<String, String> {
    store
        .delete_every_session()
        .await
        .map(|count| format!("revoked {count} sessions in {}", store.table()))
        .map_err(|error| error_chain(&error))
}

/// The streams client, pointed where the table's client points (`AWS_ENDPOINT_URL_DYNAMODB`).
async fn streams_client() -> aws_sdk_dynamodbstreams::Client {
    let shared = auth_service::aws::shared_config().await;
    let mut config = aws_sdk_dynamodbstreams::config::Builder::from(shared);
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_dynamodbstreams::Client::from_conf(config.build())
}

/// The first line of a written message that is its link, for the terminal.
fn link_in(directory: &std::path::Path, id: &str, app_url: &str) -> Option<String> {
    let message = std::fs::read_to_string(directory.join(format!("{id}.eml"))).ok()?;
    message
        .lines()
        .find(|line| line.starts_with(app_url))
        .map(str::to_owned)
}

async fn relay_mail(store: &Store) -> Result<String, String> {
    let mailer = auth_mail::Mailer::from_env()
        .await
        .map_err(|error| error.to_string())?;
    let directory = match &mailer.settings.transport {
        auth_service::config::MailTransport::Directory(directory) => Some(directory.clone()),
        auth_service::config::MailTransport::Ses { .. } => None,
    };
    let outbox = store.outbox_table().map_err(|error| error_chain(&error))?;
    let mut relay = MailRelay::open(store.client(), streams_client().await, outbox)
        .await
        .map_err(|error| error_chain(error.as_ref()))?;
    eprintln!("mail relay: delivering outbox messages of {outbox}");
    // Like Lambda's retries: a message whose send failed is tried again on the next polls.
    let mut retries: Vec<auth_service::store::OutboxMail> = Vec::new();
    loop {
        let mut mails: Vec<_> = std::mem::take(&mut retries);
        match relay.poll().await {
            Ok(new) => mails.extend(new),
            Err(error) => {
                eprintln!(
                    "mail relay: stream read failed: {}",
                    error_chain(error.as_ref())
                );
            }
        }
        for mail in mails {
            match mailer.process(&mail).await {
                Processed::Done(Delivery::Sent) => {
                    let link = directory
                        .as_deref()
                        .and_then(|directory| {
                            link_in(directory, &mail.id, &mailer.settings.app_url)
                        })
                        .unwrap_or_default();
                    println!(
                        "mail: {} to {} {link}",
                        mail.kind.as_str(),
                        mail.email.as_str()
                    );
                }
                Processed::Done(Delivery::Skipped(reason) | Delivery::Refused(reason)) => {
                    println!(
                        "mail: {} to {} not sent: {reason}",
                        mail.kind.as_str(),
                        mail.email.as_str()
                    );
                }
                Processed::Done(Delivery::Rejected(code)) => {
                    println!(
                        "mail: {} to {} rejected ({code}); dropped",
                        mail.kind.as_str(),
                        mail.email.as_str()
                    );
                }
                Processed::Parked => eprintln!(
                    "mail relay: {} parked after MAIL_MAX_ATTEMPTS failures; `local-dev redrive-mail` sends it again",
                    mail.id
                ),
                Processed::Retry(error) => {
                    eprintln!("mail relay: {}; retrying", error_chain(&error));
                    retries.push(mail);
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}
