//! Structured logs: JSON on Lambda (or with `LOG_FORMAT=json`), readable text locally.
//! Level from `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else `LOG_LEVEL`, else `info`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let level = ["RUST_LOG", "AWS_LAMBDA_LOG_LEVEL", "LOG_LEVEL"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| "info".to_owned());
    let filter =
        EnvFilter::try_new(level.to_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"));
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let json = on_lambda
        || std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // `try_init` so a second call (tests, benches) is harmless.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .without_time()
            .try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}
