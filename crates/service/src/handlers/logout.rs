use auth_core::domain::UserId;
use auth_core::token::{RefreshToken, Rejection};
use lambda_http::{Body, Request, Response};

use super::{Logout, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::http::cookie::cleared_refresh_cookie;
use crate::http::request::{bearer_token, presented_refresh_token, require_post};
use crate::http::response::{no_content, with_cookie};

/// Serves `POST /auth/logout` and `POST /auth/logout-all` (chosen by the path's last segment).
pub async fn logout(state: &Logout, request: Request) -> Response<Body> {
    let client = state.sources.client(&request);
    if request
        .uri()
        .path()
        .trim_end_matches('/')
        .ends_with("/logout-all")
    {
        respond(
            "logout-all",
            logout_everywhere(state, request, &client).await,
        )
    } else {
        respond("logout", logout_session(state, request, &client).await)
    }
}

/// Revokes the session behind the refresh token and clears the cookie. Idempotent: no token,
/// an unknown one or an expired one still answers 204.
async fn logout_session(
    state: &Logout,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let presented = presented_refresh_token(&request)?;
    let from_cookie = presented
        .as_ref()
        .is_some_and(|presented| !presented.from_body);
    if from_cookie && state.csrf.check(request.headers()).is_err() {
        state
            .audit
            .record(AuditEvent::CsrfRejected, Subject::default(), client);
        return Err(ApiError::CsrfRejected);
    }
    if let Some(token) = presented.and_then(|presented| RefreshToken::parse(&presented.raw)) {
        let revoked = state
            .store
            .delete_session_holding(&token.user_id, &token.session_id, &token.digest())
            .await?;
        tracing::info!(revoked, session_id = %token.session_id, "logout");
        // A token that matched no live session names nobody for sure: no event.
        if revoked {
            state.audit.record(
                AuditEvent::LoggedOut,
                Subject::session(token.user_id.as_str(), token.session_id.as_str()),
                client,
            );
        }
    }
    Ok(with_cookie(
        no_content(),
        &cleared_refresh_cookie(&state.cookie_path),
    ))
}

/// Revokes every session of the user named by a valid access token ("lock a user out"): one
/// transaction raises the account's session epoch, so every session is refused from that
/// commit on; deleting their items afterwards is best-effort. Repeatable: a retry after a
/// failure raises it again.
async fn logout_everywhere(
    state: &Logout,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let token = bearer_token(request.headers())?.ok_or(ApiError::MissingAccessToken)?;
    let claims = state
        .verifier
        .verify(token, state.clock.now())
        .map_err(ApiError::InvalidAccessToken)?;
    let user =
        UserId::parse(&claims.sub).ok_or(ApiError::InvalidAccessToken(Rejection::InvalidClaims))?;
    // The profile names the email whose credentials carry the epoch too; a deleted account
    // has no sessions left to end.
    if let Some(account) = state.store.profile_record(&user).await? {
        let revoked = state
            .store
            .revoke_all_sessions(&user, &account.profile.email)
            .await?;
        if !revoked {
            return Err(ApiError::Unavailable(
                "the account changed while its sessions were ended".into(),
            ));
        }
    }
    super::sweep::revoked_sessions(&state.store, &user, state.clock.now()).await;
    tracing::info!(user_id = %user, "logout everywhere");
    state.audit.record(
        AuditEvent::LoggedOutEverywhere,
        Subject::user(user.as_str()),
        client,
    );
    Ok(with_cookie(
        no_content(),
        &cleared_refresh_cookie(&state.cookie_path),
    ))
}
