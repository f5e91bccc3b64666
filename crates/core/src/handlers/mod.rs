//! The Lambda handlers: plain async functions over a request and the [`App`] they run in.
//! Each returns a response, never an error, so nothing a client sends can fail an invocation.

mod app;
mod jwks;
mod login;
mod logout;
mod me;
mod refresh;
mod register;

pub use app::App;
pub use jwks::{Jwks, jwks};
pub use login::login;
pub use logout::logout;
pub use me::{Profiles, me};
pub use refresh::refresh;
pub use register::register;

use lambda_http::{Body, Response};

use crate::error::{ApiError, error_chain};
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
