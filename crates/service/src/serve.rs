//! How every HTTP function runs: the shared init path, then one handler call per request.

use std::convert::Infallible;
use std::future::Future;

use auth_core::config::ConfigError;
use lambda_http::{Body, Request, Response, service_fn};

/// Builds the function's state once (`auth_core::function::start`), then serves `handler` for
/// every request. Handlers return a response, never an error, so nothing a client sends can
/// fail an invocation.
pub async fn serve<S, F, Fut>(
    init: impl Future<Output = Result<S, ConfigError>>,
    handler: F,
) -> Result<(), lambda_http::Error>
where
    S: Sync + 'static,
    F: Fn(&'static S, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let state = auth_core::function::start(init).await?;
    lambda_http::run(service_fn(move |request| {
        let response = handler(state, request);
        async move { Ok::<_, Infallible>(response.await) }
    }))
    .await
}
