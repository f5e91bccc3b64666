//! What it costs to run: `bench --cost-report target/power-tune/report.json` prices each route
//! per million requests and a month of use at 10k and 100k monthly active users, from measured
//! figures (each function's billed duration and memory at the size power tuning recommends;
//! DynamoDB request units per operation as the capacity tests count them, README "DynamoDB
//! round trips and capacity") and AWS's published prices, beside Amazon Cognito's.
//!
//! Prices: us-east-1, on-demand, first tier, as published by AWS and last read for this file on
//! the date in `PRICES_AS_OF`; check them before relying on the result.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::power::{PRICE_PER_REQUEST, X86_PRICE_PER_GB_SECOND};

pub use crate::power::PRICES_AS_OF;
/// HTTP API, per request (first 300 million a month; billed per 512 KB).
pub const API_GATEWAY_PER_REQUEST: f64 = 1.00 / 1e6;
/// DynamoDB on-demand, per write and per read request unit.
pub const DYNAMODB_PER_WRITE_UNIT: f64 = 0.625 / 1e6;
pub const DYNAMODB_PER_READ_UNIT: f64 = 0.125 / 1e6;
/// CloudWatch Logs ingestion, per byte (standard class, $0.50 per GB).
pub const LOGS_PER_BYTE: f64 = 0.50 / 1e9;
/// Secrets Manager: per API call, and per secret per month (the signing and the refresh key).
pub const SECRETS_PER_CALL: f64 = 0.05 / 1e4;
pub const SECRETS_PER_MONTH: f64 = 2.0 * 0.40;
/// SES, per message sent.
pub const SES_PER_MESSAGE: f64 = 0.10 / 1e3;
/// Cognito user pools, per monthly active user beyond the first 10,000 (both tiers' free
/// allowance): Lite and Essentials, the tier from 10,001 to 100,000.
pub const COGNITO_FREE_MAU: f64 = 10_000.0;
pub const COGNITO_LITE_PER_MAU: f64 = 0.0055;
pub const COGNITO_ESSENTIALS_PER_MAU: f64 = 0.015;

/// Log bytes per invocation at INFO, measured from the packaged stack's log
/// (target/stack/packaged.log, `cargo test -p stack-tests --test packaged`): the "request
/// handled" line is 256–269 bytes, an audit line 351–390. Lambda's own platform lines
/// (`platform.start`, `platform.report`) are INFO and the template's `SystemLogLevel` is WARN,
/// so none reach the log; the authorizer logs nothing of its own on success.
pub const LOG_BYTES_REQUEST_LINE: f64 = 270.0;
pub const LOG_BYTES_AUDIT_LINE: f64 = 390.0;
pub const LOG_BYTES_PLAIN: f64 = LOG_BYTES_REQUEST_LINE;
pub const LOG_BYTES_AUDITED: f64 = LOG_BYTES_REQUEST_LINE + LOG_BYTES_AUDIT_LINE;

/// One authorizer decision line in tracing's JSON, as the logs test prints them
/// (`cargo test -p e2e --test logs the_authorizer -- --nocapture`, 2026-12-03: 298 and 193
/// bytes): an allowed request (written at `debug` only) and a refusal (`info`); Lambda's JSON
/// log format adds its request id to each.
pub const LOG_BYTES_AUTHORIZER_ALLOW: f64 = 298.0;
pub const LOG_BYTES_AUTHORIZER_REFUSAL: f64 = 193.0;

/// The authorizer cache hit rates the authorization table is priced at.
pub const HIT_RATES: [f64; 4] = [0.0, 0.5, 0.8, 0.95];

/// Authorizing one request, beyond the API Gateway request every mode pays: API Gateway's
/// built-in JWT authorizer (nothing: no invocation, no log line), ours at the default log
/// level, ours with allowed requests logged (`LOG_LEVEL=debug`), and strict mode (ours plus
/// the session read). A cache hit costs nothing in every mode.
pub fn authorization_per_request(
    durations: &Durations,
    hit_rate: f64,
    cold_share: f64,
) -> Result<[(&'static str, f64); 4], String> {
    let misses = 1.0 - hit_rate;
    let lean = durations.lambda("AuthorizerFunction", cold_share)?;
    let strict = durations.lambda("StrictAuthorizerFunction", cold_share)?;
    Ok([
        ("API Gateway's built-in JWT authorizer", 0.0),
        ("ours (lean), default log level", misses * lean),
        (
            "ours (lean), allowed requests logged (LOG_LEVEL=debug)",
            misses * (lean + LOG_BYTES_AUTHORIZER_ALLOW * LOGS_PER_BYTE),
        ),
        (
            "ours, strict mode",
            misses * (strict + 2.0 * DYNAMODB_PER_READ_UNIT),
        ),
    ])
}

/// One route: what one request of it costs.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: &'static str,
    /// The template function (logical id) it invokes; `None` for none.
    pub function: Option<&'static str>,
    /// Through API Gateway (the authorizer and the mailer are not API requests).
    pub api_request: bool,
    pub write_units: f64,
    pub read_units: f64,
    pub log_bytes: f64,
    /// Secrets read at each cold start (Secrets Manager calls).
    pub secrets_at_init: f64,
    pub mails: f64,
}

/// The routes priced, with DynamoDB's bill for each (README, "DynamoDB round trips and
/// capacity": units by DynamoDB's rules, asserted against DynamoDB Local by tests/e2e).
pub fn routes() -> Vec<Route> {
    let route = |name, function, api_request, write_units, read_units, audited: bool| Route {
        name,
        function,
        api_request,
        write_units,
        read_units,
        log_bytes: if audited {
            LOG_BYTES_AUDITED
        } else {
            LOG_BYTES_PLAIN
        },
        secrets_at_init: 0.0,
        mails: 0.0,
    };
    let with_secrets = |mut route: Route| {
        route.secrets_at_init = 2.0;
        route
    };
    let quiet = |mut route: Route| {
        route.log_bytes = 0.0;
        route
    };
    let with_mail = |mut route: Route| {
        route.mails = 1.0;
        route
    };
    vec![
        // Register writes credentials, profile, session and the verification outbox item in one
        // transaction (2 units each), counts the source (1) and reads its window (1).
        with_mail(with_secrets(route(
            "register",
            Some("RegisterFunction"),
            true,
            9.0,
            1.0,
            true,
        ))),
        with_secrets(route("login", Some("LoginFunction"), true, 7.0, 4.0, true)),
        with_secrets(route(
            "refresh",
            Some("RefreshFunction"),
            true,
            1.0,
            1.0,
            true,
        )),
        route("logout", Some("LogoutFunction"), true, 1.0, 0.0, true),
        // The authorizer logs nothing at INFO on success.
        quiet(route(
            "authorizer (cache miss)",
            Some("AuthorizerFunction"),
            false,
            0.0,
            0.0,
            false,
        )),
        quiet(route(
            "authorizer, strict (cache miss)",
            Some("StrictAuthorizerFunction"),
            false,
            0.0,
            2.0,
            false,
        )),
        with_mail(route(
            "password forgot (+ mail)",
            Some("PasswordFunction"),
            true,
            2.0,
            1.0,
            true,
        )),
        route(
            "sessions list",
            Some("SessionsFunction"),
            true,
            0.0,
            3.0,
            false,
        ),
        // The mailer per message: whom it is for, the token's digest.
        route(
            "mailer (per message)",
            Some("MailerFunction"),
            false,
            1.0,
            0.5,
            false,
        ),
    ]
}

/// Per function, from power tuning's report.json: memory (MB), the expected billed warm
/// duration and a cold start's billed duration (ms).
pub struct Durations(BTreeMap<String, (f64, f64, f64)>);

impl Durations {
    pub fn from_report(report: &Value) -> Result<Self, String> {
        let mut table = BTreeMap::new();
        for entry in report["functions"]
            .as_array()
            .ok_or("report.json: no functions")?
        {
            let (Some(id), Some(mb), Some(warm), Some(cold)) = (
                entry["function"].as_str(),
                entry["recommended_mb"].as_f64(),
                entry["billed_warm_ms"].as_f64(),
                entry["billed_cold_ms"].as_f64(),
            ) else {
                continue;
            };
            table.insert(id.to_owned(), (mb, warm, cold));
        }
        Ok(Self(table))
    }

    /// Lambda's charge for one invocation of `function` (requests included), `cold_share` of
    /// them cold starts billed for their init and first invocation.
    fn lambda(&self, function: &str, cold_share: f64) -> Result<f64, String> {
        let (mb, warm, cold) = self
            .0
            .get(function)
            .ok_or_else(|| format!("{function} is not in the power-tuning report"))?;
        let billed_ms = (1.0 - cold_share) * warm + cold_share * cold.max(*warm);
        Ok(mb / 1024.0 * billed_ms / 1e3 * X86_PRICE_PER_GB_SECOND + PRICE_PER_REQUEST)
    }
}

/// One request of `route`, in dollars, given the share of invocations that are cold starts.
pub fn per_request(route: &Route, durations: &Durations, cold_share: f64) -> Result<f64, String> {
    let lambda = match route.function {
        Some(function) => durations.lambda(function, cold_share)?,
        None => 0.0,
    };
    let api = if route.api_request {
        API_GATEWAY_PER_REQUEST
    } else {
        0.0
    };
    Ok(lambda
        + api
        + route.write_units * DYNAMODB_PER_WRITE_UNIT
        + route.read_units * DYNAMODB_PER_READ_UNIT
        + route.log_bytes * LOGS_PER_BYTE
        + cold_share * route.secrets_at_init * SECRETS_PER_CALL
        + route.mails * SES_PER_MESSAGE)
}

/// What one monthly active user does in a month (the usage profile the table states).
pub struct Usage {
    pub registrations: f64,
    pub logins: f64,
    pub refreshes: f64,
    pub logouts: f64,
    pub authorized_requests: f64,
    pub authorizer_cache_hit_rate: f64,
    pub password_resets: f64,
    pub sessions_lists: f64,
    pub cold_share: f64,
}

pub const USAGE: Usage = Usage {
    // A tenth of the active users are new this month.
    registrations: 0.1,
    // Two devices, a new sign-in on each every ~two weeks (refresh tokens live 7 days,
    // sessions 30).
    logins: 4.0,
    // 15 active days × 1 hour × 4 (15-minute access tokens) + a page load a day.
    refreshes: 75.0,
    logouts: 1.0,
    // 15 active days × 100 API calls.
    authorized_requests: 1500.0,
    // API Gateway caches an answer per token and route for 300 s (AuthorizerCacheTtl).
    authorizer_cache_hit_rate: 0.8,
    password_resets: 0.05,
    sessions_lists: 0.5,
    // One cold start per 50 invocations: the low-traffic end (busy functions stay warm).
    cold_share: 0.02,
};

/// Requests of each route per monthly active user, by route name.
fn monthly_requests(usage: &Usage) -> Vec<(&'static str, f64)> {
    let misses = usage.authorized_requests * (1.0 - usage.authorizer_cache_hit_rate);
    vec![
        ("register", usage.registrations),
        ("login", usage.logins),
        ("refresh", usage.refreshes),
        ("logout", usage.logouts),
        ("authorizer (cache miss)", misses),
        ("password forgot (+ mail)", usage.password_resets),
        ("sessions list", usage.sessions_lists),
        (
            "mailer (per message)",
            usage.registrations + usage.password_resets,
        ),
    ]
}

/// The monthly bill for `mau` users: ours (lean authorizer), and Cognito Lite / Essentials.
pub fn monthly(durations: &Durations, usage: &Usage, mau: f64) -> Result<(f64, f64, f64), String> {
    let routes = routes();
    let mut ours = SECRETS_PER_MONTH;
    for (name, per_user) in monthly_requests(usage) {
        let route = routes
            .iter()
            .find(|route| route.name == name)
            .ok_or_else(|| format!("no route {name}"))?;
        ours += per_user * mau * per_request(route, durations, usage.cold_share)?;
    }
    let billable = (mau - COGNITO_FREE_MAU).max(0.0);
    Ok((
        ours,
        billable * COGNITO_LITE_PER_MAU,
        billable * COGNITO_ESSENTIALS_PER_MAU,
    ))
}

pub fn report(power_report: &Value) -> Result<String, String> {
    let durations = Durations::from_report(power_report)?;
    let mut md = format!(
        "Cost per million requests of each route (x86_64 at the power-tuned memory sizes; \
         AWS us-east-1 on-demand prices as of {PRICES_AS_OF}: HTTP API $1.00/M, Lambda $0.20/M \
         + $0.0000166667/GB-s, DynamoDB $0.625/M write and $0.125/M read units, CloudWatch Logs \
         $0.50/GB ingested, {:.0}% of invocations cold starts (billed for their init; their \
         Secrets Manager reads at $0.05 per 10k calls) + $0.40/secret-month, SES $0.10 per 1,000 mails; the stream's reads by \
         the mailer's trigger are free):\n\n\
         | route | Lambda | API Gateway | DynamoDB | logs | other | total per million |\n\
         |---|---|---|---|---|---|---|\n",
        USAGE.cold_share * 100.0
    );
    for route in routes() {
        let lambda = match route.function {
            Some(function) => durations.lambda(function, USAGE.cold_share)?,
            None => 0.0,
        };
        let api = if route.api_request {
            API_GATEWAY_PER_REQUEST
        } else {
            0.0
        };
        let dynamodb =
            route.write_units * DYNAMODB_PER_WRITE_UNIT + route.read_units * DYNAMODB_PER_READ_UNIT;
        let logs = route.log_bytes * LOGS_PER_BYTE;
        let total = per_request(&route, &durations, USAGE.cold_share)?;
        // Secrets at cold start and SES; clamped, as the subtraction can leave -0.0.
        let other = (total - lambda - api - dynamodb - logs).max(0.0);
        md.push_str(&format!(
            "| {} | ${:.2} | ${:.2} | ${:.2} | ${:.2} | ${:.2} | **${:.2}** |\n",
            route.name,
            lambda * 1e6,
            api * 1e6,
            dynamodb * 1e6,
            logs * 1e6,
            other * 1e6,
            total * 1e6
        ));
    }
    md.push_str(&format!(
        "\nAuthorizing a million requests to protected routes, beyond the API Gateway request \
         each mode pays alike, by the share answered from the authorizer cache (ours caches an \
         answer per token and route for AuthorizerCacheTtl; the built-in authorizer needs no \
         cache). A refusal adds a {LOG_BYTES_AUTHORIZER_REFUSAL:.0}-byte log line in our modes; \
         an allowed request is logged only at debug ({LOG_BYTES_AUTHORIZER_ALLOW:.0} bytes):\n\n\
         | authorizer |",
    ));
    for rate in HIT_RATES {
        md.push_str(&format!(" {:.0}% hits |", rate * 100.0));
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(HIT_RATES.len()));
    md.push('\n');
    let by_rate = HIT_RATES
        .iter()
        .map(|rate| authorization_per_request(&durations, *rate, USAGE.cold_share))
        .collect::<Result<Vec<_>, String>>()?;
    for (row, (mode, _)) in by_rate.first().into_iter().flatten().enumerate() {
        md.push_str(&format!("| {mode} |"));
        for costs in &by_rate {
            let cost = costs.get(row).map_or(0.0, |(_, cost)| *cost);
            md.push_str(&format!(" ${:.2} |", cost * 1e6));
        }
        md.push('\n');
    }
    md.push_str(&format!(
        "\nPer month, usage profile per monthly active user: {} registrations, {} logins, {} \
         refreshes, {} logouts, {} authorized API requests ({:.0}% answered from the authorizer \
         cache), {} password resets, {} session lists (one mail per registration and reset). \
         The API's own requests and its backends are yours either way; Cognito's figures are \
         its user-pool MAU charge only (its Lite and Essentials tiers are both free up to \
         10,000 MAU).\n\n\
         | monthly active users | this service | Cognito Lite | Cognito Essentials |\n\
         |---|---|---|---|\n",
        USAGE.registrations,
        USAGE.logins,
        USAGE.refreshes,
        USAGE.logouts,
        USAGE.authorized_requests,
        USAGE.authorizer_cache_hit_rate * 100.0,
        USAGE.password_resets,
        USAGE.sessions_lists
    ));
    for mau in [10_000.0, 100_000.0] {
        let (ours, lite, essentials) = monthly(&durations, &USAGE, mau)?;
        md.push_str(&format!(
            "| {mau:.0} | ${ours:.2} | ${lite:.2} | ${essentials:.2} |\n"
        ));
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn durations() -> Durations {
        let report = json!({"functions": [
            {"function": "RegisterFunction", "recommended_mb": 1024.0, "billed_warm_ms": 40.0, "billed_cold_ms": 150.0},
            {"function": "LoginFunction", "recommended_mb": 1024.0, "billed_warm_ms": 40.0, "billed_cold_ms": 150.0},
            {"function": "RefreshFunction", "recommended_mb": 128.0, "billed_warm_ms": 4.0, "billed_cold_ms": 60.0},
            {"function": "LogoutFunction", "recommended_mb": 128.0, "billed_warm_ms": 3.0, "billed_cold_ms": 60.0},
            {"function": "AuthorizerFunction", "recommended_mb": 128.0, "billed_warm_ms": 1.0, "billed_cold_ms": 60.0},
            {"function": "StrictAuthorizerFunction", "recommended_mb": 128.0, "billed_warm_ms": 3.0, "billed_cold_ms": 60.0},
            {"function": "PasswordFunction", "recommended_mb": 128.0, "billed_warm_ms": 4.0, "billed_cold_ms": 60.0},
            {"function": "SessionsFunction", "recommended_mb": 128.0, "billed_warm_ms": 4.0, "billed_cold_ms": 60.0},
            {"function": "MailerFunction", "recommended_mb": 128.0, "billed_warm_ms": 10.0, "billed_cold_ms": 60.0},
        ]});
        Durations::from_report(&report).expect("durations")
    }

    #[test]
    fn a_refresh_costs_its_lambda_gateway_table_and_logs() {
        let routes = routes();
        let refresh = routes
            .iter()
            .find(|r| r.name == "refresh")
            .expect("refresh");
        let got = per_request(refresh, &durations(), 0.0).expect("priced");
        let lambda = 0.125 * 0.004 * X86_PRICE_PER_GB_SECOND + PRICE_PER_REQUEST;
        // All cold: the 60 ms cold duration instead, and the two secrets' reads.
        let all_cold = 0.125 * 0.060 * X86_PRICE_PER_GB_SECOND + PRICE_PER_REQUEST;
        let expected = lambda
            + API_GATEWAY_PER_REQUEST
            + DYNAMODB_PER_WRITE_UNIT
            + DYNAMODB_PER_READ_UNIT
            + LOG_BYTES_AUDITED * LOGS_PER_BYTE;
        assert!((got - expected).abs() < 1e-15, "{got} vs {expected}");
        let cold = per_request(refresh, &durations(), 1.0).expect("priced");
        assert!((cold - got - (all_cold - lambda) - 2.0 * SECRETS_PER_CALL).abs() < 1e-15);
    }

    #[test]
    fn cognito_is_free_up_to_ten_thousand_users_and_ours_scales_with_use() {
        let (ours_10k, lite, essentials) = monthly(&durations(), &USAGE, 10_000.0).expect("10k");
        assert_eq!((lite, essentials), (0.0, 0.0));
        let (ours_100k, lite, essentials) = monthly(&durations(), &USAGE, 100_000.0).expect("100k");
        assert!((lite - 90_000.0 * 0.0055).abs() < 1e-9);
        assert!((essentials - 90_000.0 * 0.015).abs() < 1e-9);
        // Ten times the users, ten times the usage charges (the secrets' monthly fee is fixed).
        let usage_10k = ours_10k - SECRETS_PER_MONTH;
        let usage_100k = ours_100k - SECRETS_PER_MONTH;
        assert!((usage_100k / usage_10k - 10.0).abs() < 1e-9);
    }

    #[test]
    fn the_built_in_authorizer_costs_nothing_and_ours_only_its_cache_misses() {
        let lean = durations().lambda("AuthorizerFunction", 0.0).expect("lean");
        let modes = authorization_per_request(&durations(), 0.8, 0.0).expect("priced");
        assert_eq!(modes[0].1, 0.0);
        assert!((modes[1].1 - 0.2 * lean).abs() < 1e-15);
        assert!((modes[2].1 - modes[1].1 - 0.2 * 298.0 * LOGS_PER_BYTE).abs() < 1e-15);
        let all_hits = authorization_per_request(&durations(), 1.0, 0.0).expect("priced");
        assert!(all_hits.iter().all(|(_, cost)| *cost == 0.0));
        // A debug line per allowed request costs about what the invocation does at 128 MB.
        let line = LOG_BYTES_AUTHORIZER_ALLOW * LOGS_PER_BYTE;
        assert!(line > lean / 3.0 && line < lean * 3.0, "{line} vs {lean}");
    }

    #[test]
    fn a_function_missing_from_the_power_report_is_an_error_not_a_zero() {
        let empty = Durations::from_report(&json!({"functions": []})).expect("empty");
        let routes = routes();
        assert!(per_request(&routes[0], &empty, 0.0).is_err());
    }
}
