//! The glue every HTTP function's `main` uses: init once, then serve requests forever.

use std::convert::Infallible;
use std::future::Future;

use lambda_http::{Body, Request, Response, service_fn};

use crate::config::ConfigError;
use crate::handlers::App;

/// Serves an auth function over the full [`App`] (config, keys, DynamoDB client).
pub async fn serve<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    serve_with(App::from_env(), handler).await
}

/// Initialises logging, then the function's state (the Lambda init phase), then runs `handler`
/// for every request. A configuration error stops the init phase with a message naming the
/// variable.
pub async fn serve_with<S, F, Fut>(
    init: impl Future<Output = Result<S, ConfigError>>,
    handler: F,
) -> Result<(), lambda_http::Error>
where
    S: Sync + 'static,
    F: Fn(&'static S, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    crate::telemetry::init();
    let state = match init.await {
        Ok(state) => state,
        Err(error) => {
            tracing::error!(%error, "configuration error; the function cannot start");
            return Err(error.into());
        }
    };
    // The state lives as long as the execution environment; leaking it gives handlers a plain
    // `&'static` reference without reference counting on every request.
    let state: &'static S = Box::leak(Box::new(state));
    lambda_http::run(service_fn(move |request| {
        let response = handler(state, request);
        async move { Ok::<_, Infallible>(response.await) }
    }))
    .await
}
