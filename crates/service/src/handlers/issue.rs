//! Issuing what a signed-in client gets: an access token in the body and the refresh token in
//! an `HttpOnly` cookie (and in the body too for clients that sent theirs in the body).

use auth_core::assurance::Assurance;
use auth_core::domain::{Role, SessionId, UserId, UserProfile};
use auth_core::token::{AccessClaims, AccessTokens, IssuedAccessToken, RefreshToken, Rejection};
use http::StatusCode;
use lambda_http::{Body, Response};

use crate::error::ApiError;
use crate::http::cookie::{cleared_refresh_cookie, refresh_cookie};
use crate::http::response::{TokenResponse, json, with_cookie};
use crate::store::{NewSession, SessionRecord};

pub struct TokenIssuer {
    access: AccessTokens,
    cookie_path: String,
}

/// The session a response is for.
pub struct IssuedSession<'a> {
    pub user: &'a UserId,
    pub role: &'a Role,
    pub session: &'a SessionId,
    pub email_verified: bool,
    pub expires_at: i64,
    pub refresh_token: &'a RefreshToken,
    pub assurance: &'a Assurance,
}

impl<'a> IssuedSession<'a> {
    /// A session a sign-in just started for `profile`.
    pub fn started(
        profile: &'a UserProfile,
        session: &'a NewSession,
        refresh_token: &'a RefreshToken,
    ) -> Self {
        Self {
            user: &profile.id,
            role: &profile.role,
            session: &session.session_id,
            email_verified: profile.email_verified,
            expires_at: session.expires_at,
            refresh_token,
            assurance: &session.assurance,
        }
    }
}

impl TokenIssuer {
    pub fn new(access: AccessTokens, cookie_path: String) -> Self {
        Self {
            access,
            cookie_path,
        }
    }

    /// `status` with `{accessToken, tokenType, expiresIn[, refreshToken][, user]}` and the
    /// rotated refresh cookie.
    pub fn respond(
        &self,
        status: StatusCode,
        issued: &IssuedSession<'_>,
        user: Option<&UserProfile>,
        refresh_in_body: bool,
        now: i64,
    ) -> Result<Response<Body>, ApiError> {
        let access = self
            .access
            .issue(
                issued.user,
                issued.role,
                issued.session,
                issued.email_verified,
                issued.assurance,
                now,
            )
            .map_err(ApiError::internal)?;
        let refresh_token = issued.refresh_token.encode();
        let body = TokenResponse {
            access_token: &access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token: refresh_in_body.then_some(refresh_token.as_str()),
            user,
        };
        let cookie = refresh_cookie(
            &refresh_token,
            issued.expires_at.saturating_sub(now),
            &self.cookie_path,
        );
        Ok(with_cookie(json(status, &body), &cookie))
    }

    /// The refresh cookie alone, for a sign-in that ends in a redirect (a federated callback):
    /// the page then asks `/auth/refresh` for its access token.
    pub fn refresh_cookie(&self, issued: &IssuedSession<'_>, now: i64) -> String {
        refresh_cookie(
            &issued.refresh_token.encode(),
            issued.expires_at.saturating_sub(now),
            &self.cookie_path,
        )
    }

    /// A fresh access token alone, for a session whose assurance just changed (step-up, a
    /// factor confirmed): its refresh token stays as it is. Role and verification come from
    /// the account's profile, as at refresh (the session's copy is its login's).
    pub fn access_token(
        &self,
        session: &SessionRecord,
        account: &UserProfile,
        now: i64,
    ) -> Result<IssuedAccessToken, ApiError> {
        self.access
            .issue(
                &session.user_id,
                &account.role,
                &session.session_id,
                account.email_verified,
                &session.assurance,
                now,
            )
            .map_err(ApiError::internal)
    }

    /// Verifies an access token presented to a route the authorizer does not guard (the
    /// second-factor route serves both the unauthenticated second login step and step-up).
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, Rejection> {
        self.access.verify(token, now)
    }

    pub fn cleared_cookie(&self) -> String {
        cleared_refresh_cookie(&self.cookie_path)
    }
}
