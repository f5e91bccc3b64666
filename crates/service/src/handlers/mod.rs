//! The Lambda handlers: plain async functions over a request and their function's state.
//! Each returns a response, never an error, so nothing a client sends can fail an invocation.

mod account;
mod attempt;
mod email;
mod federation;
mod issue;
mod jwks;
mod login;
mod logout;
mod me;
mod mfa;
mod my_sessions;
mod password;
mod reauthenticate;
mod refresh;
mod register;
mod signup;
mod source_limit;
mod state;
mod step_up;
mod sweep;

pub use account::account;
pub use email::email;
pub use federation::federation;
pub use my_sessions::sessions;
pub use password::password;

pub use issue::{IssuedSession, TokenIssuer};
pub use jwks::jwks;
pub use login::login;
pub use logout::logout;
pub use me::me;
pub use mfa::mfa;
pub use refresh::refresh;
pub use register::register;
pub use state::{
    Account, Federation, Jwks, Logout, Mfa, Profiles, Refresh, SessionManagement, SignIn,
};

use auth_core::telemetry::error_chain;
use lambda_http::{Body, Response};

use crate::error::ApiError;
use crate::http::response::error_response;

/// Turns a handler's result into a response, logging one structured line per request.
/// Server-side causes are logged in full here and never leave in the body.
pub(crate) fn respond(
    route: &'static str,
    result: Result<Response<Body>, ApiError>,
) -> Response<Body> {
    match result {
        Ok(response) => {
            tracing::info!(
                route,
                status = response.status().as_u16(),
                "request handled"
            );
            response
        }
        Err(error) => {
            let status = error.status().as_u16();
            if status >= 500 {
                tracing::error!(route, status, code = error.code(), cause = %error_chain(&error), "request failed");
            } else {
                tracing::info!(route, status, code = error.code(), "request refused");
            }
            error_response(&error)
        }
    }
}
