//! Structured logs: JSON on Lambda (or with `LOG_FORMAT=json`), readable text locally.
//!
//! Only this project's crates log at the level asked for. Dependencies that log payloads
//! (`lambda_runtime` logs raw events, the AWS SDK request and response bodies, at debug and
//! trace) stay at `info` or quieter, so `RUST_LOG=trace` never writes a password, cookie,
//! bearer token or password hash, unless `LOG_DEPENDENCY_PAYLOADS=true` says otherwise.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// The crates whose logs follow the requested level (their lines never carry secrets).
const OWN_CRATES: [&str; 10] = [
    "auth_core",
    "auth_service",
    "register",
    "login",
    "refresh",
    "logout",
    "authorizer",
    "me",
    "jwks",
    "e2e",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// A level (`debug`) or an `EnvFilter` directive list (`info,auth_service=debug`).
    pub level: String,
    pub json: bool,
    /// Let dependencies log at the requested level too, payloads included. Debugging only.
    pub dependency_payloads: bool,
}

/// The filter directives for `settings`: the requested default level for this project's crates,
/// at most `info` for everything else; target directives for other crates are dropped.
pub fn filter_directives(settings: &LogSettings) -> String {
    let requested = settings.level.to_lowercase();
    if settings.dependency_payloads {
        return requested;
    }
    let mut default = LevelFilter::INFO;
    let mut own = Vec::new();
    for directive in requested
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        match directive.split_once('=') {
            None => default = directive.parse().unwrap_or(LevelFilter::INFO),
            Some((target, _)) => {
                let crate_name = target.split("::").next().unwrap_or_default();
                if OWN_CRATES.contains(&crate_name) {
                    own.push(directive.to_owned());
                }
            }
        }
    }
    let dependencies = default.min(LevelFilter::INFO);
    let mut directives = vec![dependencies.to_string().to_lowercase()];
    directives.extend(
        OWN_CRATES
            .iter()
            .map(|name| format!("{name}={}", default.to_string().to_lowercase())),
    );
    directives.extend(own);
    directives.join(",")
}

pub fn init(settings: &LogSettings) {
    let filter =
        EnvFilter::try_new(filter_directives(settings)).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // `try_init` so a second call (tests, benches) is harmless.
    let _ = if settings.json {
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

/// The error and every cause below it, for logs.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(level: &str, dependency_payloads: bool) -> String {
        filter_directives(&LogSettings {
            level: level.into(),
            json: false,
            dependency_payloads,
        })
    }

    #[test]
    fn trace_reaches_our_crates_only() {
        let filter = directives("TRACE", false);
        assert!(filter.starts_with("info,"), "{filter}");
        assert!(filter.contains("auth_service=trace"), "{filter}");
        assert!(!filter.contains("lambda_runtime"), "{filter}");
    }

    #[test]
    fn dependency_directives_are_dropped_and_quieter_levels_kept() {
        let filter = directives(
            "debug,lambda_runtime=trace,aws_smithy_runtime=trace,auth_core::token=trace",
            false,
        );
        assert!(!filter.contains("lambda_runtime=trace"), "{filter}");
        assert!(!filter.contains("aws_smithy_runtime"), "{filter}");
        assert!(filter.contains("auth_core::token=trace"), "{filter}");
        assert!(directives("warn", false).starts_with("warn,"));
        assert!(directives("nonsense", false).starts_with("info,"));
    }

    #[test]
    fn payload_logging_is_an_explicit_opt_in() {
        assert_eq!(directives("trace", true), "trace");
    }
}
