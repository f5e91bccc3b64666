use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{App, respond};
use crate::error::ApiError;
use crate::http::cookie::REFRESH_COOKIE;
use crate::http::request::{cookie, json_object, optional_string_field, require_post};
use crate::http::response::{TokenResponse, json, with_cookie};
use crate::store::{Rotation, SessionRecord};
use crate::token::RefreshToken;

/// `POST /auth/refresh` with the `refreshToken` cookie or a JSON `{refreshToken}` body →
/// a new access token and the rotated refresh token. One DynamoDB write in the common case.
pub async fn refresh(app: &App, request: Request) -> Response<Body> {
    respond("refresh", handle(app, request).await)
}

/// Where the refresh token came from; body clients get the new one back in the body.
pub(crate) struct PresentedToken {
    pub raw: String,
    pub from_body: bool,
}

/// The refresh token from the JSON body (`refreshToken`) or else the cookie.
pub(crate) fn presented_token(request: &Request) -> Result<Option<PresentedToken>, ApiError> {
    if let Some(body) = json_object(request)?
        && let Some(raw) = optional_string_field(&body, "refreshToken")?
    {
        return Ok(Some(PresentedToken {
            raw,
            from_body: true,
        }));
    }
    Ok(cookie(request, REFRESH_COOKIE).map(|raw| PresentedToken {
        raw: raw.to_owned(),
        from_body: false,
    }))
}

/// Why a rotation's condition failed, decided from the session as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    /// No such session, or it has expired (DynamoDB's TTL deletes lazily, so it may still exist).
    Dead,
    /// The token is current but the sliding expiry would pass the session's absolute lifetime.
    AtAbsoluteLimit { absolute_expires_at: i64 },
    /// The token was rotated out moments ago (another tab, a retry): hand out the same successor.
    WithinGrace(SessionRecord),
    /// The token is not current and not a grace-window replay: old, or forged.
    NotCurrent { generation: u64 },
}

fn classify(
    session: Option<SessionRecord>,
    presented_digest: &str,
    now: i64,
    grace_seconds: i64,
) -> Refusal {
    let Some(session) = session.filter(|session| session.is_live(now)) else {
        return Refusal::Dead;
    };
    if session.current_digest == presented_digest {
        return Refusal::AtAbsoluteLimit {
            absolute_expires_at: session.absolute_expires_at,
        };
    }
    let is_previous = session.previous_digest.as_deref() == Some(presented_digest);
    let rotated_recently = session
        .rotated_at
        .is_some_and(|rotated_at| now < rotated_at + grace_seconds);
    if is_previous && rotated_recently {
        return Refusal::WithinGrace(session);
    }
    Refusal::NotCurrent {
        generation: session.generation,
    }
}

async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let presented = presented_token(&request)?.ok_or(ApiError::MissingRefreshToken)?;
    let token = RefreshToken::parse(&presented.raw).ok_or(ApiError::InvalidRefreshToken)?;
    let now = app.clock.now();
    let successor = app.refresh.successor(&token);
    let (presented_digest, successor_digest) = (token.digest(), successor.digest());
    let sliding_expiry = now + app.sessions.refresh_ttl.as_secs() as i64;
    let rotate = |expires_at| {
        app.store.rotate_session(
            &token.user_id,
            &token.session_id,
            &presented_digest,
            &successor_digest,
            now,
            expires_at,
        )
    };

    let session = match rotate(sliding_expiry).await? {
        Rotation::Rotated(session) => session,
        Rotation::Refused(old) => {
            let grace = app.sessions.reuse_grace.as_secs() as i64;
            match classify(old, &presented_digest, now, grace) {
                Refusal::Dead => return Err(ApiError::InvalidRefreshToken),
                Refusal::AtAbsoluteLimit {
                    absolute_expires_at,
                } => match rotate(absolute_expires_at).await? {
                    Rotation::Rotated(session) => session,
                    Rotation::Refused(_) => return Err(ApiError::InvalidRefreshToken),
                },
                Refusal::WithinGrace(session) if session.current_digest == successor_digest => {
                    session
                }
                Refusal::WithinGrace(_) => return Err(ApiError::InvalidRefreshToken),
                Refusal::NotCurrent { generation } => {
                    // Only a genuine, rotated-out token revokes the family; a forgery must not
                    // be able to log someone out.
                    if !app.refresh.is_earlier_generation(&token, generation) {
                        return Err(ApiError::InvalidRefreshToken);
                    }
                    tracing::warn!(
                        user_id = %token.user_id,
                        session_id = %token.session_id,
                        "refresh token reuse detected; revoking the session"
                    );
                    app.store
                        .delete_session(&token.user_id, &token.session_id)
                        .await?;
                    return Err(ApiError::RefreshTokenReused);
                }
            }
        }
    };

    let access = app
        .access
        .issue(&session.user_id, &session.role, &session.session_id, now)
        .map_err(ApiError::internal)?;
    let new_refresh_token = successor.encode();
    let cookie = app.refresh_cookie(&successor, session.expires_at - now);
    let body = TokenResponse {
        access_token: &access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: presented.from_body.then_some(new_refresh_token.as_str()),
        user: None,
    };
    Ok(with_cookie(json(StatusCode::OK, &body), &cookie))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, SessionId, UserId};

    const NOW: i64 = 1_800_000_000;

    fn session() -> SessionRecord {
        SessionRecord {
            user_id: UserId::parse(&"a".repeat(32)).expect("valid id"),
            session_id: SessionId::parse(&"b".repeat(32)).expect("valid id"),
            role: Role::user(),
            current_digest: "current".into(),
            previous_digest: Some("previous".into()),
            generation: 3,
            rotated_at: Some(NOW - 5),
            created_at: NOW - 1000,
            expires_at: NOW + 1000,
            absolute_expires_at: NOW + 5000,
        }
    }

    #[test]
    fn a_missing_or_expired_session_is_dead_even_if_not_yet_deleted() {
        assert_eq!(classify(None, "current", NOW, 10), Refusal::Dead);
        let expired = SessionRecord {
            expires_at: NOW,
            ..session()
        };
        assert_eq!(classify(Some(expired), "current", NOW, 10), Refusal::Dead);
        let past_absolute = SessionRecord {
            absolute_expires_at: NOW - 1,
            ..session()
        };
        assert_eq!(
            classify(Some(past_absolute), "current", NOW, 10),
            Refusal::Dead
        );
    }

    #[test]
    fn the_current_token_refused_means_the_absolute_lifetime_caps_the_expiry() {
        assert_eq!(
            classify(Some(session()), "current", NOW, 10),
            Refusal::AtAbsoluteLimit {
                absolute_expires_at: NOW + 5000
            }
        );
    }

    #[test]
    fn the_previous_token_inside_the_grace_window_is_a_replay() {
        assert_eq!(
            classify(Some(session()), "previous", NOW, 10),
            Refusal::WithinGrace(session())
        );
    }

    #[test]
    fn the_previous_token_after_the_grace_window_or_with_no_grace_is_not_current() {
        assert_eq!(
            classify(Some(session()), "previous", NOW, 5),
            Refusal::NotCurrent { generation: 3 }
        );
        assert_eq!(
            classify(Some(session()), "previous", NOW, 0),
            Refusal::NotCurrent { generation: 3 }
        );
    }

    #[test]
    fn any_other_token_is_not_current() {
        assert_eq!(
            classify(Some(session()), "older", NOW, 10),
            Refusal::NotCurrent { generation: 3 }
        );
    }
}
