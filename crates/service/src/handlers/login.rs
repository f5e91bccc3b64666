use auth_core::assurance::Assurance;
use auth_core::domain::{Email, Password, UserCredentials, UserId};
use auth_core::telemetry::error_chain;
use auth_core::token::OneTimeToken;
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;

use super::attempt::{Attempt, read_and_reserve};
use super::source_limit::limited_source;
use super::{IssuedSession, SignIn, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::http::request::{require_post, required_json_object, string_field};
use crate::http::response::json;
use crate::password::Verification;
use crate::sessions::SessionOwner;
use crate::store::{NewChallenge, SessionAge, SessionStart, StoreError, sessions_to_retire};

/// `POST /auth/login {email, password}` → 200 with an access token and a refresh cookie.
/// Unknown email and wrong password take the same path (one read with the attempt reserved
/// beside it; one argon2 verify with the user's sessions read beside it; one counted failure)
/// and give the same answer; so does an email inside its backoff window (the read and the
/// refused reservation, 429, no argon2). The source address's window is read with the
/// credentials and a failure counts against it too.
pub async fn login(state: &SignIn, request: Request) -> Response<Body> {
    let client = state.sources.client(&request);
    respond("login", handle(state, request, &client).await)
}

async fn handle(
    state: &SignIn,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let typed = Email::parse(&string_field(&body, "email")?)?;
    let email = state.store.account_email(&typed).await?;
    let password = Password::parse_existing(string_field(&body, "password")?)?.into_secret();

    // Credentials and the source's window in one read, the attempt reserved at the same time;
    // an email inside its backoff window, or a source over its limit, is answered before any
    // argon2 run, known or not.
    let now = state.sessions.now();
    let source = limited_source(state, client);
    let (record, reservation) =
        read_and_reserve(state, &email, source.as_deref(), now, client).await?;
    let known_user = record
        .credentials
        .as_ref()
        .map(|found| found.profile.id.clone());
    let attempt = Attempt {
        email: &email,
        source: source.as_deref(),
        user: known_user.as_ref().map(UserId::as_str),
        client,
    };
    let stored_hash = record
        .credentials
        .as_ref()
        .map(|found| found.password_hash.clone());
    // The user's sessions are read while argon2 runs, for the per-user bound; an unknown email
    // reads an empty partition, so both make the same requests.
    let sessions_of = known_user.clone().unwrap_or_else(UserId::generate);
    let account_epoch = record
        .credentials
        .as_ref()
        .map_or(0, |found| found.session_epoch);
    let checked = attempt
        .check(
            state,
            reservation,
            password.clone(),
            stored_hash,
            state.store.session_ages(&sessions_of, now, account_epoch),
        )
        .await?;
    let (Verification::Match { needs_rehash }, Some(credentials)) =
        (checked.verification, record.credentials)
    else {
        return Err(attempt.failed(state, state.sessions.now()).await);
    };
    if credentials.mfa_enabled {
        if needs_rehash {
            rehash(state, &email, &credentials.password_hash, password).await;
        }
        return match second_step(state, &attempt, &credentials, now).await {
            Err(error) => Err(attempt.release(state, checked.reserved, error).await),
            answer => answer,
        };
    }
    let started = start_session(
        state,
        &attempt,
        credentials,
        checked.beside,
        needs_rehash,
        password,
        now,
    )
    .await;
    match started {
        // The right password, then a failure before the session's commit: the attempt is
        // given back, so the retry is not counted as a second one.
        Err(error) if !matches!(error, ApiError::InvalidCredentials) => {
            Err(attempt.release(state, checked.reserved, error).await)
        }
        answer => answer,
    }
}

/// The session of a login whose password matched, written only if the credentials still hold
/// what was read: a role change or a credential event in between makes this read again and
/// start the session anew.
async fn start_session(
    state: &SignIn,
    attempt: &Attempt<'_>,
    mut credentials: UserCredentials,
    ages: Result<Vec<SessionAge>, StoreError>,
    needs_rehash: bool,
    password: SecretString,
    now: i64,
) -> Result<Response<Body>, ApiError> {
    let client = attempt.client;
    let retire = sessions_to_retire(ages?, state.sessions.policy().max_per_user, RETIRE_LIMIT);
    let email = credentials.profile.email.clone();
    let mut verified_hash = if needs_rehash {
        rehash(state, &email, &credentials.password_hash, password.clone()).await
    } else {
        credentials.password_hash.clone()
    };
    for _ in 0..SESSION_START_ATTEMPTS {
        let profile = &credentials.profile;
        let owner = SessionOwner {
            user: &profile.id,
            role: &profile.role,
            email_verified: profile.email_verified,
            device: client.device(),
            epoch: credentials.session_epoch,
            assurance: Assurance::password(),
        };
        let (session, refresh_token) = state.sessions.start(owner, now);
        match state
            .store
            .create_session_for(&session, &email, &verified_hash, &retire)
            .await?
        {
            SessionStart::Created => {
                state.audit.record(
                    AuditEvent::LoginSucceeded,
                    Subject::session(profile.id.as_str(), session.session_id.as_str()),
                    client,
                );
                let issued = IssuedSession::started(profile, &session, &refresh_token);
                return state
                    .issuer
                    .respond(StatusCode::OK, &issued, Some(profile), false, now);
            }
            SessionStart::CredentialsChanged => {
                let Some(current) = state.store.credentials_by_email(&email).await? else {
                    return Err(ApiError::InvalidCredentials);
                };
                // A new hash is a changed password or a concurrent login's rehash: only the
                // password can tell which.
                if current.password_hash != verified_hash {
                    let again = state
                        .passwords
                        .verify(password.clone(), Some(current.password_hash.clone()))
                        .await
                        .map_err(ApiError::internal)?;
                    if again == Verification::Mismatch {
                        return Err(attempt.failed(state, state.sessions.now()).await);
                    }
                    verified_hash.clone_from(&current.password_hash);
                }
                credentials = current;
            }
        }
    }
    Err(ApiError::Unavailable(
        "the account kept changing while the login started its session".into(),
    ))
}

/// The answer to the right password for an account with a second factor: a single-use
/// challenge (only its digest stored, bound to the account and its session epoch) and no
/// session yet. Its transaction ends the password streak: the password was right.
async fn second_step(
    state: &SignIn,
    attempt: &Attempt<'_>,
    credentials: &UserCredentials,
    now: i64,
) -> Result<Response<Body>, ApiError> {
    let user = &credentials.profile.id;
    let token = OneTimeToken::generate(user);
    let ttl = state.mfa.challenge_seconds();
    state
        .store
        .start_challenge(&NewChallenge {
            digest: &token.digest(),
            user,
            email: &credentials.profile.email,
            epoch: credentials.session_epoch,
            created_at: now,
            expires_at: now.saturating_add(ttl),
            first_factor: auth_core::assurance::AuthMethod::Pwd,
        })
        .await?;
    state.audit.record(
        AuditEvent::MfaChallenged,
        Subject::user(user.as_str()),
        attempt.client,
    );
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "mfaRequired": true,
            "mfaToken": token.encode(),
            "factors": ["totp", "recovery_code"],
            "expiresIn": ttl,
        }),
    ))
}

/// Most sessions one login ends (they ride in its transaction, at most 100 writes).
const RETIRE_LIMIT: usize = 25;

/// Role changes racing one login, before it gives up with 503.
const SESSION_START_ATTEMPTS: usize = 5;

/// Upgrades a hash made with old parameters and returns the hash now stored. Best effort: a
/// failure leaves the old hash, which still verifies, so the login goes on.
async fn rehash(state: &SignIn, email: &Email, old_hash: &str, password: SecretString) -> String {
    let outcome = match state.passwords.hash(password).await {
        Ok(new_hash) => state
            .store
            .replace_password_hash(email, old_hash, &new_hash)
            .await
            .map(|replaced| replaced.then_some(new_hash))
            .map_err(|error| error_chain(&error)),
        Err(error) => Err(error_chain(&error)),
    };
    match outcome {
        Ok(Some(new_hash)) => {
            tracing::info!("password rehashed with the current parameters");
            new_hash
        }
        Ok(None) => {
            tracing::info!("password hash changed meanwhile; not rehashed");
            old_hash.to_owned()
        }
        Err(cause) => {
            tracing::warn!(%cause, "password rehash failed; the old hash stays");
            old_hash.to_owned()
        }
    }
}
