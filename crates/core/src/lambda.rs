//! The glue every HTTP function's `main` uses: init once, then serve requests forever.

use std::convert::Infallible;
use std::future::Future;

use lambda_http::{Body, Request, Response, service_fn};

use crate::handlers::App;

/// Initialises logging and the [`App`] (config, DynamoDB client), then runs `handler` for
/// every request. A configuration error stops the init phase with a message naming the variable.
pub async fn serve<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    crate::telemetry::init();
    let app = match App::from_env().await {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "configuration error; the function cannot start");
            return Err(error.into());
        }
    };
    // The app lives as long as the execution environment; leaking it gives handlers a plain
    // `&'static` reference without reference counting on every request.
    let app: &'static App = Box::leak(Box::new(app));
    lambda_http::run(service_fn(move |request| {
        let response = handler(app, request);
        async move { Ok::<_, Infallible>(response.await) }
    }))
    .await
}
