//! The `mfa` function: TOTP enrolment and its confirmation, the second login step and step-up
//! (`verify`), recovery codes, removing the factor, and the factor's status.

mod enrol;
mod factor;
mod manage;
mod verify;

use http::Method;
use lambda_http::{Body, Request, Response};

use super::respond;
use super::state::Mfa;
use crate::error::ApiError;

/// Serves the group, chosen by method and path:
/// `POST /auth/mfa/totp/enroll`, `POST /auth/mfa/totp/confirm`, `POST /auth/mfa/verify`,
/// `POST /auth/mfa/recovery-codes`, `DELETE /auth/mfa/totp`, `GET /auth/mfa`.
pub async fn mfa(state: &Mfa, request: Request) -> Response<Body> {
    let client = state.sources.client(&request);
    let path = request.uri().path().trim_end_matches('/').to_owned();
    let method = request.method().clone();
    let route = |suffix: &str| path.ends_with(suffix);
    if route("/mfa/totp/enroll") {
        respond("mfa-enroll", enrol::enroll(state, request, &client).await)
    } else if route("/mfa/totp/confirm") {
        respond("mfa-confirm", enrol::confirm(state, request, &client).await)
    } else if route("/mfa/verify") {
        respond("mfa-verify", verify::verify(state, request, &client).await)
    } else if route("/mfa/recovery-codes") {
        respond(
            "mfa-recovery-codes",
            manage::recovery_codes(state, request, &client).await,
        )
    } else if route("/mfa/totp") {
        if method == Method::DELETE {
            respond("mfa-remove", manage::remove(state, request, &client).await)
        } else {
            respond(
                "mfa-remove",
                Err(ApiError::MethodNotAllowed { allow: "DELETE" }),
            )
        }
    } else if route("/mfa") {
        if method == Method::GET {
            respond("mfa-status", manage::status(state, request).await)
        } else {
            respond(
                "mfa-status",
                Err(ApiError::MethodNotAllowed { allow: "GET" }),
            )
        }
    } else {
        respond("mfa", Err(ApiError::NotFound))
    }
}
