//! Shared fixtures: the settings every authorizer here starts from, a fixed clock, token
//! issuing, the sample events under `events/`, events built in code, IAM evaluation for
//! assertions, and key pairs from `openssl`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use auth_core::assurance::{Assurance, AuthMethod};
use auth_core::authorizer::{Authorizer, AuthorizerError, Denial};
use auth_core::clock::{Clock, SharedClock};
use auth_core::config::{AuthorizerSettings, KeyUse, access_tokens};
use auth_core::domain::{Role, SessionId, UserId};
use auth_core::token::AccessTokens;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub const SECRET: &str = "authorizer-test-secret-of-at-least-32-bytes";
pub const ISSUER: &str = "https://auth.test";
pub const AUDIENCE: &str = "test-api";
/// Route keys exactly as `template.yaml` names its routes.
pub const ROUTE_ROLES: &str = "GET /admin/users/{id}=admin;ANY /ops/{proxy+}=admin|support";
/// Routes that need a second factor, overlapping a role rule on one of them (not in the base
/// settings: tests that want them say so).
pub const ROUTE_MFA: &str = "GET /admin/users/{id};POST /orders";
pub const EVENTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
/// The stages of the REST (`prod`) and HTTP API (`$default`) sample events.
pub const REST_STAGE: &str = "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod";
pub const HTTP_STAGE: &str = "arn:aws:execute-api:us-east-1:123456789012:api1234567/$default";
pub const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod/GET/me";
/// The instant every authorizer here runs at (2027-01-15), and tokens are issued at.
pub const NOW: i64 = 1_800_000_000;

/// A clock that always says the same second.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0
    }
}

/// The base settings with `pairs` on top; an empty value removes the variable.
pub fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut env = BTreeMap::from([
        ("JWT_ACCESS_SECRET".to_owned(), SECRET.to_owned()),
        ("JWT_ISSUER".to_owned(), ISSUER.to_owned()),
        ("JWT_AUDIENCE".to_owned(), AUDIENCE.to_owned()),
        ("ROUTE_ROLES".to_owned(), ROUTE_ROLES.to_owned()),
    ]);
    for (key, value) in pairs {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    env.retain(|_, value| !value.is_empty());
    env
}

/// An authorizer configured as its function's init does, with no strict mode, running at `NOW`.
pub fn authorizer(pairs: &[(&str, &str)]) -> Authorizer {
    authorizer_with_clock(pairs, Arc::new(FixedClock(NOW)))
}

pub fn authorizer_with_clock(pairs: &[(&str, &str)], clock: SharedClock) -> Authorizer {
    let settings = AuthorizerSettings::from_env(&env(pairs)).expect("authorizer settings");
    assert!(settings.strict_mode.is_none(), "these tests need no table");
    Authorizer::new(
        AccessTokens::new(settings.access),
        settings.options,
        None,
        clock,
    )
}

/// Access tokens as a function that issues them holds them (`KeyUse::Sign`).
pub fn issuer(pairs: &[(&str, &str)]) -> AccessTokens {
    AccessTokens::new(access_tokens(&env(pairs), KeyUse::Sign).expect("issuer settings"))
}

/// Access tokens as the authorizer holds them (`KeyUse::Verify`: public keys only).
pub fn verifier(pairs: &[(&str, &str)]) -> AccessTokens {
    AccessTokens::new(access_tokens(&env(pairs), KeyUse::Verify).expect("verifier settings"))
}

pub fn issue_at(tokens: &AccessTokens, role: &str, now: i64) -> String {
    issue_assured(tokens, role, &Assurance::password(), now)
}

/// A token for `role` whose session verified a second factor (`aal2`).
pub fn issue_aal2(role: &str) -> String {
    let assurance = Assurance::password().with_second_factor(AuthMethod::Otp, NOW);
    issue_assured(&issuer(&[]), role, &assurance, NOW)
}

pub fn issue_assured(tokens: &AccessTokens, role: &str, assurance: &Assurance, now: i64) -> String {
    let role = Role::parse(role).expect("role");
    tokens
        .issue(
            &UserId::generate(),
            &role,
            &SessionId::generate(),
            false,
            assurance,
            now,
        )
        .expect("issue")
        .token
}

pub fn issue_with(tokens: &AccessTokens, role: &str) -> String {
    issue_at(tokens, role, NOW)
}

/// A token of the base settings for `role`, issued at `NOW`.
pub fn issue(role: &str) -> String {
    issue_with(&issuer(&[]), role)
}

fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWS segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// A token's claims, read without verification.
pub fn claims(token: &str) -> Value {
    segment(token, 1)
}

pub fn kid_of(token: &str) -> String {
    segment(token, 0)["kid"].as_str().expect("kid").to_owned()
}

/// Runs an event as the function does (decision logged) and returns the answer as JSON.
pub async fn run(authorizer: &Authorizer, event: &str) -> Result<Value, AuthorizerError> {
    authorizer
        .handle(event)
        .await
        .map(|response| serde_json::to_value(response).expect("responses serialize"))
}

/// The answer as JSON and the reason for a refusal (`None` when allowed).
pub async fn decide(
    authorizer: &Authorizer,
    event: &str,
) -> (Result<Value, AuthorizerError>, Option<Denial>) {
    let decision = authorizer.authorize(event).await;
    let answer = decision
        .answer
        .map(|response| serde_json::to_value(response).expect("responses serialize"));
    (answer, decision.denial)
}

/// Asserts the answer is the error API Gateway turns into a 401, for exactly `denial`.
pub async fn assert_unauthorized(authorizer: &Authorizer, event: &str, denial: Denial, what: &str) {
    let (answer, reason) = decide(authorizer, event).await;
    assert_eq!(answer, Err(AuthorizerError::Unauthorized), "{what}");
    assert_eq!(reason, Some(denial), "{what}: the reason");
}

/// The `authorizer-*.json` files under `events/`, sorted.
pub fn authorizer_event_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(EVENTS_DIR)
        .expect("events/")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("UTF-8 name")
        })
        .filter(|name| name.starts_with("authorizer-") && name.ends_with(".json"))
        .collect();
    files.sort();
    files
}

pub fn load_event(file: &str, token: &str) -> String {
    std::fs::read_to_string(Path::new(EVENTS_DIR).join(file))
        .unwrap_or_else(|error| panic!("{file}: {error}"))
        .replace("{{ACCESS_TOKEN}}", token)
}

pub fn rest_token_event(authorization: &str) -> String {
    json!({ "type": "TOKEN", "authorizationToken": authorization, "methodArn": METHOD_ARN })
        .to_string()
}

/// A REST API REQUEST event for `GET /me` with these headers (and their multi-value twins).
pub fn rest_request_event(headers: &[(&str, &str)]) -> String {
    let single: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    let multi: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!([value])))
        .collect();
    json!({
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "resource": "/me",
        "path": "/me",
        "httpMethod": "GET",
        "headers": single,
        "multiValueHeaders": multi,
        "requestContext": { "stage": "prod", "httpMethod": "GET", "resourcePath": "/me", "apiId": "api1234567" }
    })
    .to_string()
}

/// An HTTP API (payload 2.0) authorizer event for `route_key` (e.g. `GET /admin/users/{id}`)
/// and the concrete `path`, with `identity_source` as API Gateway would send it (`None`: the
/// field is absent). `edit` may add headers, cookies, or anything else.
pub fn http_api_event(
    identity_source: Option<&[&str]>,
    route_key: &str,
    path: &str,
    edit: impl FnOnce(&mut Value),
) -> String {
    let (method, _) = route_key.split_once(' ').unwrap_or(("GET", ""));
    let method = if method == "ANY" || method == "$default" {
        "GET"
    } else {
        method
    };
    let mut event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("{HTTP_STAGE}/{method}{path}"),
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": { "host": "api1234567.execute-api.us-east-1.amazonaws.com" },
        "requestContext": {
            "apiId": "api1234567",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7" },
            "routeKey": route_key,
            "stage": "$default"
        }
    });
    if let Some(sources) = identity_source {
        event["identitySource"] = json!(sources);
    }
    edit(&mut event);
    event.to_string()
}

/// `GET /me` through an HTTP API whose identity sources are the `Authorization` header and the
/// route key (the template's), carrying `authorization` in both places, as API Gateway does.
pub fn http_api_bearer_event(authorization: &str) -> String {
    http_api_event(
        Some(&[authorization, "GET /me"]),
        "GET /me",
        "/me",
        |event| {
            event["headers"]["authorization"] = json!(authorization);
        },
    )
}

// ---------------------------------------------------------------- IAM evaluation, for assertions

/// IAM resource wildcards: `*` any run of characters, `?` one character.
pub fn wildcard_matches(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            wildcard_matches(&pattern[1..], text)
                || (!text.is_empty() && wildcard_matches(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => wildcard_matches(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => wildcard_matches(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// How IAM evaluates a policy document for one resource: an explicit Deny wins, then an Allow.
pub fn policy_allows(policy: &Value, resource: &str) -> bool {
    let statements = policy["Statement"].as_array().expect("statements");
    let matching = |effect: &str| {
        statements
            .iter()
            .filter(|statement| statement["Effect"] == effect)
            .any(|statement| {
                statement["Resource"]
                    .as_array()
                    .expect("resources")
                    .iter()
                    .any(|pattern| {
                        wildcard_matches(
                            pattern.as_str().expect("string").as_bytes(),
                            resource.as_bytes(),
                        )
                    })
            })
    };
    !matching("Deny") && matching("Allow")
}

/// The ARN of a request on `stage`: `{stage}/{method}{path}`.
pub fn route(stage: &str, method: &str, path: &str) -> String {
    format!("{stage}/{method}{path}")
}

fn invoke(effect: &str, resources: Vec<String>) -> Value {
    json!({ "Action": ["execute-api:Invoke"], "Effect": effect, "Resource": resources })
}

/// The whole stage allowed, and nothing denied: what a role no rule refuses gets.
pub fn admin_policy(stage: &str) -> Value {
    json!({ "Version": "2012-10-17", "Statement": [invoke("Allow", vec![format!("{stage}/*/*")])] })
}

/// The policy every valid `user` token gets for `ROUTE_ROLES` on `stage`: the whole stage
/// allowed, then an explicit Deny for each rule the role fails, its route key's parameters and
/// `ANY` as `*`.
pub fn user_policy(stage: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            invoke("Allow", vec![format!("{stage}/*/*")]),
            invoke("Deny", vec![format!("{stage}/GET/admin/users/*"), format!("{stage}/*/ops/*")]),
        ]
    })
}

/// What role `support` gets: only the admin-only rule is denied.
pub fn support_policy(stage: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            invoke("Allow", vec![format!("{stage}/*/*")]),
            invoke("Deny", vec![format!("{stage}/GET/admin/users/*")]),
        ]
    })
}

// ---------------------------------------------------------------- key pairs

pub fn openssl(args: &[&str], input: Option<&Path>) -> String {
    let mut command = Command::new("openssl");
    command.args(args);
    if let Some(path) = input {
        command.arg("-in").arg(path);
    }
    let output = command
        .output()
        .expect("openssl must be installed to generate test keys");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("PEM")
}

/// A fresh key pair (private PEM, public PEM) for RS256, ES256 or EdDSA.
pub fn key_pair(algorithm: &str) -> (String, String) {
    let args: &[&str] = match algorithm {
        "RS256" => &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
        "ES256" => &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ],
        "EdDSA" => &["genpkey", "-algorithm", "ED25519"],
        other => panic!("no key pair for {other}"),
    };
    let private = openssl(args, None);
    let path =
        std::env::temp_dir().join(format!("jwt-auth-test-{}.pem", auth_core::random::hex_id()));
    std::fs::write(&path, &private).expect("write key");
    let public = openssl(&["pkey", "-pubout"], Some(&path));
    let _ = std::fs::remove_file(&path);
    (private, public)
}
