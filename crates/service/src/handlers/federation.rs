//! `/auth/oauth/*` and `/auth/identities`: sign-in through identity providers, and the
//! identities linked to an account.
//!
//! Linking rules (README, "Sign in with Google, GitHub or any OpenID provider"): an identity
//! is keyed on `(issuer, subject)`. A first sign-in needs an address the provider verified;
//! with no account at that address it creates one (verified, no password); an account whose
//! address is verified is linked; an account whose address is **not** verified is never
//! linked: the sign-in is refused with `account_not_verified` and nothing is written. Its
//! owner signs in with the password (or resets it, which proves the address) and links from
//! there. Removing that account's password instead would let whoever controls the provider
//! account silently end a real owner's sign-in, and keep a pre-hijacker's sessions alive
//! until the transaction got every one of them; refusing leaves nothing to get wrong.

use auth_core::assurance::{Assurance, AuthMethod};
use auth_core::domain::{Role, UserId, UserProfile};
use auth_core::token::OneTimeToken;
use http::{Method, StatusCode, header};
use lambda_http::RequestExt as _;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use subtle::ConstantTimeEq as _;

use super::{Federation, IssuedSession, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::federation::flow::{
    BINDING_COOKIE, FlowSecrets, ReturnPath, binding_cookie, cleared_binding_cookie,
};
use crate::federation::github;
use crate::federation::identity::{ProviderIdentity, Refusal};
use crate::federation::oidc::{self, CodeExchange};
use crate::federation::provider::{Provider, ProviderKind};
use crate::http::caller::caller;
use crate::http::client::ClientInfo;
use crate::http::request::{cookie, json_object, optional_string_field};
use crate::http::response::{json, no_content};
use crate::sessions::SessionOwner;
use crate::store::{
    FederatedAccount, Link, LinkRequest, LinkTarget, NewChallenge, NewIdentity, NewUser,
    OAuthState, ProfileRecord, SessionStart, identity_id,
};

/// Serves every federation route.
pub async fn federation(state: &Federation, request: Request) -> Response<Body> {
    let client = state.sources.client(&request);
    match Route::of(&request) {
        Route::Providers => respond("oauth-providers", providers(state, &request)),
        Route::Start(id) => respond("oauth-start", start(state, &request, &id).await),
        Route::Callback(id) => respond(
            "oauth-callback",
            callback(state, &request, &client, &id).await,
        ),
        Route::Link(id) => respond("oauth-link", link(state, &request, &id).await),
        Route::Identities => respond("identities", identities(state, &request).await),
        Route::Unlink(id) => respond(
            "identity-unlink",
            unlink(state, &request, &client, &id).await,
        ),
        Route::Unknown => respond("federation", Err(ApiError::NotFound)),
    }
}

enum Route {
    Providers,
    Start(String),
    Callback(String),
    Link(String),
    Identities,
    Unlink(String),
    Unknown,
}

impl Route {
    /// The route from the path's last segments (the API may be mounted under a prefix).
    fn of(request: &Request) -> Self {
        let path = request.uri().path().trim_end_matches('/');
        let segments: Vec<&str> = path.rsplit('/').take(4).collect();
        match segments.as_slice() {
            ["providers", "oauth", ..] => Self::Providers,
            ["start", id, "oauth", ..] => Self::Start((*id).to_owned()),
            ["callback", id, "oauth", ..] => Self::Callback((*id).to_owned()),
            ["link", id, "oauth", ..] => Self::Link((*id).to_owned()),
            ["identities", ..] => Self::Identities,
            [id, "identities", ..] => Self::Unlink((*id).to_owned()),
            _ => Self::Unknown,
        }
    }
}

fn require(request: &Request, method: Method, allow: &'static str) -> Result<(), ApiError> {
    if request.method() == method {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed { allow })
    }
}

fn provider<'a>(state: &'a Federation, id: &str) -> Result<&'a Provider, ApiError> {
    state
        .providers
        .iter()
        .find(|provider| provider.id.as_str() == id)
        .ok_or(ApiError::NotFound)
}

/// `GET /auth/oauth/providers` → `{providers: [{id, label}]}`, for a sign-in page's buttons.
fn providers(state: &Federation, request: &Request) -> Result<Response<Body>, ApiError> {
    require(request, Method::GET, "GET")?;
    let listed: Vec<_> = state
        .providers
        .iter()
        .map(|provider| json!({"id": provider.id.as_str(), "label": provider.label}))
        .collect();
    Ok(json(StatusCode::OK, &json!({ "providers": listed })))
}

/// The callback URL registered at the provider, exactly.
fn redirect_uri(state: &Federation, provider: &Provider) -> String {
    format!(
        "{}/auth/oauth/{}/callback",
        state.callback_base, provider.id
    )
}

/// A started sign-in: where to send the browser, and its binding cookie.
struct Started {
    authorization_url: String,
    cookie: String,
}

/// Records a sign-in (or a link, for `link`) and builds the provider's URL.
async fn begin(
    state: &Federation,
    provider: &Provider,
    return_path: &ReturnPath,
    link: Option<LinkRequest>,
) -> Result<Started, Refusal> {
    let now = state.sessions.now();
    let flow = FlowSecrets::generate();
    let authorize = match &provider.kind {
        ProviderKind::Oidc { .. } => {
            state
                .cache
                .metadata(&state.client, provider, now)
                .await?
                .authorization_endpoint
        }
        ProviderKind::GitHub(endpoints) => endpoints.authorize.clone(),
    };
    let ttl = i64::try_from(state.state_ttl.as_secs()).unwrap_or(600);
    state
        .store
        .start_oauth(
            &flow.state_digest(),
            &OAuthState {
                provider: provider.id.as_str().to_owned(),
                binding_digest: flow.binding_digest(),
                return_path: return_path.as_str().to_owned(),
                link,
                expires_at: now.saturating_add(ttl),
            },
            now,
        )
        .await
        .map_err(|error| Refusal::Unavailable(auth_core::telemetry::error_chain(&error)))?;
    let mut url = authorize.url().clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", &redirect_uri(state, provider))
            .append_pair("scope", &provider.scopes.join(" "))
            .append_pair("state", &flow.state())
            .append_pair("code_challenge", &flow.code_challenge())
            .append_pair("code_challenge_method", "S256");
        if provider.is_oidc() {
            query.append_pair("nonce", &flow.nonce());
        }
    }
    Ok(Started {
        authorization_url: url.to_string(),
        cookie: binding_cookie(&flow.binding(), ttl, &state.binding_path),
    })
}

/// A redirect that no cache keeps.
fn redirect(location: &str, cookies: &[String]) -> Response<Body> {
    let mut builder = Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::REFERRER_POLICY, "no-referrer");
    for cookie in cookies {
        builder = builder.header(header::SET_COOKIE, cookie);
    }
    builder
        .body(Body::Empty)
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// `GET /auth/oauth/{provider}/start?redirect=<path>` → 302 to the provider. The path must be
/// one under `APP_URL` (400 otherwise: no open redirect); a provider that cannot be reached
/// sends the browser back with `#error=provider_unavailable`.
async fn start(
    state: &Federation,
    request: &Request,
    id: &str,
) -> Result<Response<Body>, ApiError> {
    require(request, Method::GET, "GET")?;
    let provider = provider(state, id)?;
    let return_path = match request
        .query_string_parameters_ref()
        .and_then(|q| q.first("redirect"))
    {
        None => ReturnPath::home(),
        Some(raw) => ReturnPath::parse(raw).ok_or_else(|| {
            auth_core::domain::InvalidField::new(
                "redirect",
                "redirect must be a path on this app, such as /account",
            )
        })?,
    };
    Ok(match begin(state, provider, &return_path, None).await {
        Ok(started) => redirect(&started.authorization_url, &[started.cookie]),
        Err(refusal) => {
            tracing::warn!(provider = %provider.id, code = refusal.code(), cause = %refusal, "federated sign-in could not start");
            redirect(
                &return_path.url(&state.app_url, &format!("error={}", refusal.code())),
                &[],
            )
        }
    })
}

/// `GET /auth/oauth/{provider}/callback?code&state[&iss]` → 302 to the sign-in's return path:
/// signed in (the refresh cookie set), `#mfa=<token>` for an account with a second factor,
/// `#linked=<provider>` after a link, or `#error=<code>`. The state is spent first, whatever
/// follows; a failure writes nothing else.
async fn callback(
    state: &Federation,
    request: &Request,
    client: &ClientInfo,
    id: &str,
) -> Result<Response<Body>, ApiError> {
    require(request, Method::GET, "GET")?;
    let provider = provider(state, id)?;
    let query = request.query_string_parameters_ref();
    let param = |name: &str| query.and_then(|q| q.first(name)).map(str::to_owned);
    let presented_state = param("state").unwrap_or_default();
    let now = state.sessions.now();
    let spent = match FlowSecrets::state_digest_of(&presented_state) {
        Some(digest) => match state.store.spend_oauth(&digest, now).await {
            Ok(spent) => spent,
            // A browser navigation: answered with a redirect, like every other failure.
            Err(error) => {
                return Ok(failed(
                    state,
                    provider,
                    client,
                    &ReturnPath::home(),
                    &unavailable(error),
                ));
            }
        },
        None => None,
    };
    let Some(pending) = spent else {
        return Ok(failed(
            state,
            provider,
            client,
            &ReturnPath::home(),
            &Refusal::StateInvalid,
        ));
    };
    let return_path = ReturnPath::parse(&pending.return_path).unwrap_or_else(ReturnPath::home);
    let binding = match cookie(request, BINDING_COOKIE) {
        auth_core::credentials::CookieLookup::Found(value) => Some(value.to_owned()),
        _ => None,
    };
    let outcome = async {
        if pending.provider != provider.id.as_str() {
            return Err(Refusal::ProviderMismatch);
        }
        let flow = binding
            .as_deref()
            .and_then(|binding| FlowSecrets::from_presented(&presented_state, binding))
            .filter(|flow| {
                bool::from(
                    flow.binding_digest()
                        .as_bytes()
                        .ct_eq(pending.binding_digest.as_bytes()),
                )
            })
            .ok_or(Refusal::StateInvalid)?;
        if let Some(error) = param("error") {
            return Err(if error == "access_denied" {
                Refusal::ProviderDenied
            } else {
                Refusal::ProviderError(crate::federation::identity::error_code_text(&error))
            });
        }
        // RFC 9207: an `iss` in the response must be this provider's (mix-up defence), and a
        // provider that says it sends one must have.
        if let ProviderKind::Oidc { .. } = &provider.kind
            && param("iss").is_none()
            && state
                .cache
                .metadata(&state.client, provider, now)
                .await?
                .iss_in_response
        {
            return Err(Refusal::IssuerMismatch);
        }
        if let Some(iss) = param("iss") {
            let accepted = match &provider.kind {
                ProviderKind::Oidc {
                    accepted_issuers, ..
                } => accepted_issuers.contains(&iss),
                ProviderKind::GitHub(_) => iss == provider.issuer(),
            };
            if !accepted {
                return Err(Refusal::IssuerMismatch);
            }
        }
        let code = param("code")
            .filter(|code| !code.is_empty() && code.len() <= 2048)
            .ok_or_else(|| Refusal::ProviderError("no code".into()))?;
        let redirect_uri = redirect_uri(state, provider);
        let verifier = flow.code_verifier();
        let identity = match &provider.kind {
            ProviderKind::Oidc { .. } => {
                let exchange = CodeExchange {
                    code: &code,
                    redirect_uri: &redirect_uri,
                    code_verifier: &verifier,
                    nonce: &flow.nonce(),
                };
                oidc::sign_in(&state.cache, &state.client, provider, &exchange, now).await?
            }
            ProviderKind::GitHub(endpoints) => {
                github::sign_in(
                    &state.client,
                    provider,
                    endpoints,
                    &code,
                    &redirect_uri,
                    &verifier,
                )
                .await?
            }
        };
        match &pending.link {
            Some(link) => link_to(state, provider, &identity, link, client, now).await,
            None => sign_in(state, provider, &identity, client, now).await,
        }
    }
    .await;
    Ok(match outcome {
        Ok(Arrival::SignedIn { cookie }) => redirect(
            &format!("{}{}", state.app_url, return_path.as_str()),
            &[cookie, cleared_binding_cookie(&state.binding_path)],
        ),
        Ok(Arrival::SecondFactor { token }) => redirect(
            &return_path.url(&state.app_url, &format!("mfa={token}")),
            &[cleared_binding_cookie(&state.binding_path)],
        ),
        Ok(Arrival::Linked) => redirect(
            &return_path.url(&state.app_url, &format!("linked={}", provider.id)),
            &[cleared_binding_cookie(&state.binding_path)],
        ),
        Err(refusal) => failed(state, provider, client, &return_path, &refusal),
    })
}

/// How a callback ended well.
enum Arrival {
    SignedIn { cookie: String },
    SecondFactor { token: String },
    Linked,
}

fn failed(
    state: &Federation,
    provider: &Provider,
    client: &ClientInfo,
    return_path: &ReturnPath,
    refusal: &Refusal,
) -> Response<Body> {
    tracing::info!(provider = %provider.id, code = refusal.code(), cause = %refusal, "federated sign-in refused");
    state.audit.record(
        AuditEvent::FederatedSignInFailed,
        Subject::default().via(provider.id.as_str(), Some(refusal.code())),
        client,
    );
    redirect(
        &return_path.url(&state.app_url, &format!("error={}", refusal.code())),
        &[cleared_binding_cookie(&state.binding_path)],
    )
}

fn unavailable(error: impl std::error::Error) -> Refusal {
    Refusal::Unavailable(auth_core::telemetry::error_chain(&error))
}

/// Races (another sign-in creating the account or linking the identity at the same moment)
/// are read again, at most this often.
const SIGN_IN_ATTEMPTS: usize = 3;

/// Signs in with a verified provider identity, under the linking rules above.
async fn sign_in(
    state: &Federation,
    provider: &Provider,
    identity: &ProviderIdentity,
    client: &ClientInfo,
    now: i64,
) -> Result<Arrival, Refusal> {
    let id = identity_id(&identity.issuer, &identity.subject);
    for _ in 0..SIGN_IN_ATTEMPTS {
        let mut dangling = None;
        if let Some(owner) = state.store.identity_owner(&id).await.map_err(unavailable)? {
            match state
                .store
                .profile_record(&owner)
                .await
                .map_err(unavailable)?
            {
                Some(account) => match signed_in(state, provider, &account, client, now).await? {
                    Some(arrival) => return Ok(arrival),
                    None => continue,
                },
                // The account was deleted; its identity item awaits the clean-up.
                None => dangling = Some(owner),
            }
        }
        let email = identity.verified_email()?;
        let email = state
            .store
            .account_email(&email)
            .await
            .map_err(unavailable)?;
        let new_identity = NewIdentity {
            id: &id,
            provider: provider.id.as_str(),
            issuer: &identity.issuer,
            subject: &identity.subject,
            email: Some(email.as_str()),
            created_at: now,
        };
        let Some(existing) = state
            .store
            .credentials_by_email(&email)
            .await
            .map_err(unavailable)?
        else {
            let profile = UserProfile {
                id: UserId::generate(),
                name: identity.display_name(&email)?,
                email: email.clone(),
                role: Role::user(),
                email_verified: true,
            };
            let (session, refresh_token) = state
                .sessions
                .start(owner(&profile, 0, client, Assurance::federated()), now);
            let user = NewUser {
                profile: profile.clone(),
                password_hash: crate::password::NO_PASSWORD.to_owned(),
                created_at: now,
            };
            match state
                .store
                .register_federated(&user, &session, &new_identity, dangling.as_ref())
                .await
                .map_err(unavailable)?
            {
                FederatedAccount::Created => {
                    state.audit.record(
                        AuditEvent::UserRegistered,
                        Subject::session(profile.id.as_str(), session.session_id.as_str())
                            .via(provider.id.as_str(), None),
                        client,
                    );
                    return Ok(session_arrival(
                        state,
                        provider,
                        &profile,
                        &session,
                        &refresh_token,
                        client,
                        now,
                    ));
                }
                FederatedAccount::EmailTaken | FederatedAccount::IdentityTaken => continue,
            }
        };
        if !existing.profile.email_verified {
            return Err(Refusal::AccountNotVerified);
        }
        // An account with a second factor is never linked by a sign-in: the link would be
        // written before the factor is checked, and outlive a factor removed later. Its owner
        // signs in (both factors) and links from the account.
        if existing.mfa_enabled {
            return Err(Refusal::SignInToLink);
        }
        let account = &existing.profile;
        let retire = retired_for(state, &account.id, existing.session_epoch, now).await?;
        let (session, refresh_token) = state.sessions.start(
            owner(
                account,
                existing.session_epoch,
                client,
                Assurance::federated(),
            ),
            now,
        );
        match state
            .store
            .link_identity(
                &new_identity,
                &LinkTarget {
                    user: &account.id,
                    email: &email,
                    role: &account.role,
                    epoch: existing.session_epoch,
                },
                dangling.as_ref(),
                Some((&session, retire.as_slice())),
            )
            .await
            .map_err(unavailable)?
        {
            Link::Linked => {
                state.audit.record(
                    AuditEvent::IdentityLinked,
                    Subject::user(account.id.as_str()).via(provider.id.as_str(), None),
                    client,
                );
                return Ok(session_arrival(
                    state,
                    provider,
                    account,
                    &session,
                    &refresh_token,
                    client,
                    now,
                ));
            }
            Link::IdentityTaken | Link::AccountChanged => continue,
        }
    }
    Err(Refusal::Unavailable(
        "the account kept changing while the sign-in went on".into(),
    ))
}

/// The sessions a new one ends, as a login's do: the oldest beyond `MAX_SESSIONS_PER_USER`.
async fn retired_for(
    state: &Federation,
    user: &UserId,
    epoch: u64,
    now: i64,
) -> Result<Vec<auth_core::domain::SessionId>, Refusal> {
    let ages = state
        .store
        .session_ages(user, now, epoch)
        .await
        .map_err(unavailable)?;
    Ok(crate::store::sessions_to_retire(
        ages,
        state.sessions.policy().max_per_user,
        RETIRE_LIMIT,
    ))
}

/// Most sessions one sign-in ends (they ride in its transaction), as at login.
const RETIRE_LIMIT: usize = 25;

fn owner<'a>(
    profile: &'a UserProfile,
    epoch: u64,
    client: &ClientInfo,
    assurance: Assurance,
) -> SessionOwner<'a> {
    SessionOwner {
        user: &profile.id,
        role: &profile.role,
        email_verified: profile.email_verified,
        device: client.device(),
        epoch,
        assurance,
    }
}

/// A sign-in through an identity already linked to `account`: a session, or for an account
/// with a second factor a challenge. `None`: the account changed meanwhile, read it again.
async fn signed_in(
    state: &Federation,
    provider: &Provider,
    account: &ProfileRecord,
    client: &ClientInfo,
    now: i64,
) -> Result<Option<Arrival>, Refusal> {
    let profile = &account.profile;
    if account.mfa_enabled {
        return second_factor(state, provider, profile, account.session_epoch, client, now)
            .await
            .map(Some);
    }
    let retire = retired_for(state, &profile.id, account.session_epoch, now).await?;
    let (session, refresh_token) = state.sessions.start(
        owner(
            profile,
            account.session_epoch,
            client,
            Assurance::federated(),
        ),
        now,
    );
    match state
        .store
        .start_federated_session(&session, &profile.email, &retire)
        .await
        .map_err(unavailable)?
    {
        SessionStart::Created => Ok(Some(session_arrival(
            state,
            provider,
            profile,
            &session,
            &refresh_token,
            client,
            now,
        ))),
        SessionStart::CredentialsChanged => Ok(None),
    }
}

fn session_arrival(
    state: &Federation,
    provider: &Provider,
    profile: &UserProfile,
    session: &crate::store::NewSession,
    refresh_token: &auth_core::token::RefreshToken,
    client: &ClientInfo,
    now: i64,
) -> Arrival {
    state.audit.record(
        AuditEvent::FederatedSignIn,
        Subject::session(profile.id.as_str(), session.session_id.as_str())
            .via(provider.id.as_str(), None),
        client,
    );
    let issued = IssuedSession::started(profile, session, refresh_token);
    Arrival::SignedIn {
        cookie: state.issuer.refresh_cookie(&issued, now),
    }
}

/// The second step for an account with a second factor: a challenge whose first factor is the
/// provider, finished by `POST /auth/mfa/verify` (tokens then carry `amr` `["fed", "otp"]`).
async fn second_factor(
    state: &Federation,
    provider: &Provider,
    profile: &UserProfile,
    epoch: u64,
    client: &ClientInfo,
    now: i64,
) -> Result<Arrival, Refusal> {
    let token = OneTimeToken::generate(&profile.id);
    state
        .store
        .start_challenge(&NewChallenge {
            digest: &token.digest(),
            user: &profile.id,
            email: &profile.email,
            epoch,
            created_at: now,
            expires_at: now.saturating_add(state.mfa.challenge_seconds()),
            first_factor: AuthMethod::Fed,
        })
        .await
        .map_err(unavailable)?;
    state.audit.record(
        AuditEvent::MfaChallenged,
        Subject::user(profile.id.as_str()).via(provider.id.as_str(), None),
        client,
    );
    Ok(Arrival::SecondFactor {
        token: token.encode(),
    })
}

/// A link started by a signed-in user: the identity joins their account (no new session).
async fn link_to(
    state: &Federation,
    provider: &Provider,
    identity: &ProviderIdentity,
    link: &LinkRequest,
    client: &ClientInfo,
    now: i64,
) -> Result<Arrival, Refusal> {
    let user = &link.user;
    // The session that asked must still be live: a logout, a revocation or a credential event
    // (its epoch) since the start voids the link.
    let asking = state
        .store
        .session(user, &link.session)
        .await
        .map_err(unavailable)?
        .filter(|session| session.is_live(now) && session.epoch >= link.epoch);
    if asking.is_none() {
        return Err(Refusal::LinkSessionEnded);
    }
    let id = identity_id(&identity.issuer, &identity.subject);
    let mut dangling = None;
    if let Some(owner) = state.store.identity_owner(&id).await.map_err(unavailable)? {
        if &owner == user {
            return Ok(Arrival::Linked);
        }
        match state
            .store
            .profile_record(&owner)
            .await
            .map_err(unavailable)?
        {
            Some(_) => return Err(Refusal::IdentityTaken),
            None => dangling = Some(owner),
        }
    }
    let account = state
        .store
        .profile_record(user)
        .await
        .map_err(unavailable)?
        .ok_or(Refusal::AccountGone)?;
    if !account.profile.email_verified {
        return Err(Refusal::AccountNotVerified);
    }
    if account.session_epoch != link.epoch {
        return Err(Refusal::LinkSessionEnded);
    }
    let new_identity = NewIdentity {
        id: &id,
        provider: provider.id.as_str(),
        issuer: &identity.issuer,
        subject: &identity.subject,
        email: identity.email.as_deref(),
        created_at: now,
    };
    match state
        .store
        .link_identity(
            &new_identity,
            &LinkTarget {
                user,
                email: &account.profile.email,
                role: &account.profile.role,
                epoch: link.epoch,
            },
            dangling.as_ref(),
            None,
        )
        .await
        .map_err(unavailable)?
    {
        Link::Linked => {
            state.audit.record(
                AuditEvent::IdentityLinked,
                Subject::user(user.as_str()).via(provider.id.as_str(), None),
                client,
            );
            Ok(Arrival::Linked)
        }
        Link::IdentityTaken => Err(Refusal::IdentityTaken),
        Link::AccountChanged => Err(Refusal::LinkSessionEnded),
    }
}

/// `POST /auth/oauth/{provider}/link {redirect?}` (authorized; a recent second factor when
/// the account has one) → 200 `{authorizationUrl}` and the binding cookie; the page then
/// navigates there. The state item names the signed-in user, so the callback links to them.
async fn link(state: &Federation, request: &Request, id: &str) -> Result<Response<Body>, ApiError> {
    require(request, Method::POST, "POST")?;
    let caller = caller(request)?;
    let provider = provider(state, id)?;
    let body = json_object(request)?.unwrap_or_default();
    let return_path = match optional_string_field(&body, "redirect")? {
        None => ReturnPath::home(),
        Some(raw) => ReturnPath::parse(&raw).ok_or_else(|| {
            auth_core::domain::InvalidField::new("redirect", "redirect must be a path on this app")
        })?,
    };
    let now = state.sessions.now();
    let account = state
        .store
        .profile_record(&caller.user)
        .await?
        .ok_or(ApiError::SessionRevoked)?;
    if !account.profile.email_verified {
        return Err(ApiError::AccountNotVerified);
    }
    // A link is a new way into the account: it needs a recent sign-in in this very session
    // (and a recent second factor when the account has one), as a stolen access token alone
    // must not be able to add the thief's provider account.
    let session = super::step_up::live_session(&state.store, &caller, now).await?;
    if account.mfa_enabled {
        super::step_up::require_recent(&session, &state.mfa, now)?;
    } else if now.saturating_sub(session.created_at) >= state.mfa.recent_seconds() {
        return Err(ApiError::RecentSignInRequired);
    }
    let request = LinkRequest {
        user: caller.user,
        session: caller.session,
        epoch: account.session_epoch,
    };
    let started = begin(state, provider, &return_path, Some(request))
        .await
        .map_err(|refusal| ApiError::Unavailable(Box::new(refusal)))?;
    Ok(crate::http::response::with_cookie(
        json(
            StatusCode::OK,
            &json!({ "authorizationUrl": started.authorization_url }),
        ),
        &started.cookie,
    ))
}

/// `GET /auth/identities` (authorized) → `{identities: [{id, provider, email, createdAt}]}`.
async fn identities(state: &Federation, request: &Request) -> Result<Response<Body>, ApiError> {
    require(request, Method::GET, "GET, DELETE")?;
    let caller = caller(request)?;
    let listed: Vec<_> = state
        .store
        .identities(&caller.user)
        .await?
        .into_iter()
        .map(|identity| {
            json!({
                "id": identity.id,
                "provider": identity.provider,
                "email": identity.email,
                "createdAt": auth_core::calendar::rfc3339(identity.created_at),
            })
        })
        .collect();
    Ok(json(StatusCode::OK, &json!({ "identities": listed })))
}

/// `DELETE /auth/identities/{id}` (authorized; a recent second factor when the account has
/// one) → 204; 404 for no such identity of the caller's; 409 `LAST_SIGN_IN_METHOD` when it
/// is the account's only way to sign in (no password, no other identity).
async fn unlink(
    state: &Federation,
    request: &Request,
    client: &ClientInfo,
    id: &str,
) -> Result<Response<Body>, ApiError> {
    require(request, Method::DELETE, "DELETE")?;
    let caller = caller(request)?;
    let now = state.sessions.now();
    let linked = state.store.identities(&caller.user).await?;
    let target = linked
        .iter()
        .find(|identity| identity.id == id)
        .ok_or(ApiError::NotFound)?;
    let account = state
        .store
        .profile_record(&caller.user)
        .await?
        .ok_or(ApiError::SessionRevoked)?;
    super::step_up::require_recent_if_enabled(
        &state.store,
        &caller,
        account.mfa_enabled,
        &state.mfa,
        now,
    )
    .await?;
    let has_password = state
        .store
        .credentials_by_email(&account.profile.email)
        .await?
        .is_some_and(|credentials| crate::password::has_password(&credentials.password_hash));
    let keep = if has_password {
        None
    } else {
        Some(
            linked
                .iter()
                .find(|other| other.id != target.id)
                .map(|other| other.id.as_str())
                .ok_or(ApiError::LastSignInMethod)?,
        )
    };
    if !state
        .store
        .unlink_identity(&caller.user, &account.profile.email, &target.id, keep)
        .await?
    {
        return Err(ApiError::LastSignInMethod);
    }
    state.audit.record(
        AuditEvent::IdentityUnlinked,
        Subject::user(caller.user.as_str()).via(&target.provider, None),
        client,
    );
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> &'static str {
        let request = http::Request::builder()
            .uri(path)
            .body(Body::Empty)
            .expect("request");
        match Route::of(&request) {
            Route::Providers => "providers",
            Route::Start(_) => "start",
            Route::Callback(_) => "callback",
            Route::Link(_) => "link",
            Route::Identities => "identities",
            Route::Unlink(_) => "unlink",
            Route::Unknown => "unknown",
        }
    }

    #[test]
    fn routes_are_read_from_the_path_under_any_prefix() {
        assert_eq!(route("/auth/oauth/providers"), "providers");
        assert_eq!(route("/auth/oauth/google/start"), "start");
        assert_eq!(route("/v1/auth/oauth/google/callback"), "callback");
        assert_eq!(route("/auth/oauth/github/link"), "link");
        assert_eq!(route("/auth/identities"), "identities");
        assert_eq!(route("/auth/identities/abc"), "unlink");
        assert_eq!(route("/auth/oauth/google"), "unknown");
        assert_eq!(route("/"), "unknown");
    }

    #[test]
    fn a_flow_state_digest_needs_the_exact_shape() {
        let flow = FlowSecrets::generate();
        assert_eq!(
            FlowSecrets::state_digest_of(&flow.state()),
            Some(flow.state_digest())
        );
        assert_eq!(FlowSecrets::state_digest_of("short"), None);
    }
}
