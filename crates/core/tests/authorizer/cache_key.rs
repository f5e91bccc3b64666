//! API Gateway caches an authorizer's answer per identity source and serves it to every later
//! request with the same identity source. So the answer must be a function of the identity
//! source alone: two events that agree on it get the same answer, whatever else they carry
//! (other headers, a different `authorization` header, cookies, path, route key field, method,
//! the route in the ARN). Otherwise one caller's cached answer, context included, would be
//! served to another.

use std::collections::BTreeSet;
use std::sync::Arc;

use auth_core::authorizer::{Authorizer, Denial};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

use crate::support::{
    FixedClock, HTTP_STAGE, NOW, REST_STAGE, ROUTE_MFA, authorizer_with_clock, issue, issue_aal2,
    issue_at, issuer,
};

const CASES: u32 = 1024;
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const ROUTE_KEYS: [&str; 6] = [
    "GET /me",
    "GET /admin/users/{id}",
    "ANY /ops/{proxy+}",
    "POST /orders",
    "$default",
    "GET /admin/users/42",
];

/// The credentials an identity source may hold: each kind of answer has some.
fn credentials() -> Vec<String> {
    let user = issue("user");
    let admin = issue("admin");
    let support = issue("support");
    let expired = issue_at(&issuer(&[]), "admin", NOW - 3600);
    // Second-factor tokens: ROUTE_MFA turns on the token's aal too.
    let user_aal2 = issue_aal2("user");
    let admin_aal2 = issue_aal2("admin");
    vec![
        format!("Bearer {user_aal2}"),
        format!("Bearer {admin_aal2}"),
        format!("accessToken={admin_aal2}"),
        format!("Bearer {user}"),
        format!("Bearer {admin}"),
        format!("bearer  {support}"),
        format!("Bearer {expired}"),
        "Bearer not.a.jwt".to_owned(),
        "Basic dXNlcjpwYXNz".to_owned(),
        String::new(),
        format!("Bearer {user},Bearer {admin}"),
        format!("theme=dark; accessToken={user}"),
        format!("accessToken={admin}"),
        format!("accessToken={support}; lang=en"),
        format!("accessToken={expired}"),
        format!("accessToken={user}; accessToken={admin}"),
    ]
}

/// Authorizers in every mode, all at the same fixed instant.
fn authorizers(pairs: &[&[(&str, &str)]]) -> Vec<(String, Authorizer)> {
    pairs
        .iter()
        .map(|pairs| {
            (
                format!("{pairs:?}"),
                authorizer_with_clock(pairs, Arc::new(FixedClock(NOW + 1))),
            )
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

/// The serialized answer (what API Gateway caches) and the reason for a refusal.
fn answer(
    runtime: &tokio::runtime::Runtime,
    authorizer: &Authorizer,
    event: &str,
) -> (String, Option<Denial>) {
    let decision = runtime.block_on(authorizer.authorize(event));
    let answer = match decision.answer {
        Ok(response) => serde_json::to_string(&response).expect("serialize"),
        Err(error) => format!("error: {error}"),
    };
    (answer, decision.denial)
}

/// Everything a request carries besides its identity source.
#[derive(Debug, Clone)]
struct Noise {
    /// Other headers; names may be `authorization` or `cookie`, values other credentials.
    headers: Vec<(String, String)>,
    cookies: Option<Vec<String>>,
    path: String,
    route_key: Option<String>,
    method: &'static str,
    arn_method: &'static str,
    arn_path: String,
    query: Vec<(String, String)>,
}

fn path() -> impl Strategy<Value = String> {
    "(/[a-zA-Z0-9._~-]{0,8}){1,4}"
}

fn noise(credentials: usize) -> impl Strategy<Value = Noise> {
    let value = prop_oneof![
        "[ -~]{0,24}",
        (0..credentials).prop_map(|index| format!("<credential {index}>")),
    ];
    let name = prop_oneof![
        Just("authorization".to_owned()),
        Just("Authorization".to_owned()),
        Just("cookie".to_owned()),
        Just("Cookie".to_owned()),
        Just("x-forwarded-for".to_owned()),
        "[a-z][a-z0-9-]{0,12}",
    ];
    let cookie = prop_oneof![
        "[a-zA-Z]{1,8}=[a-zA-Z0-9._-]{0,12}",
        (0..credentials).prop_map(|index| format!("<credential {index}>")),
    ];
    (
        proptest::collection::vec((name, value), 0..6),
        proptest::option::of(proptest::collection::vec(cookie, 0..4)),
        path(),
        proptest::option::of(proptest::sample::select(ROUTE_KEYS.to_vec()).prop_map(str::to_owned)),
        proptest::sample::select(METHODS.to_vec()),
        proptest::sample::select(METHODS.to_vec()),
        path(),
        proptest::collection::vec(("[a-z]{1,6}", "[a-zA-Z0-9]{0,8}"), 0..3),
    )
        .prop_map(
            |(headers, cookies, path, route_key, method, arn_method, arn_path, query)| Noise {
                headers,
                cookies,
                path,
                route_key,
                method,
                arn_method,
                arn_path,
                query,
            },
        )
}

/// Replaces the `<credential N>` placeholders the strategies produce with real credentials,
/// so noise carries other callers' valid tokens too.
fn fill(text: &str, credentials: &[String]) -> String {
    match text
        .strip_prefix("<credential ")
        .and_then(|rest| rest.strip_suffix('>'))
        .and_then(|index| index.parse::<usize>().ok())
    {
        Some(index) => credentials[index].clone(),
        None => text.to_owned(),
    }
}

/// An HTTP API event with this identity source and this noise.
fn http_api_event(
    identity_source: Option<&[String]>,
    noise: &Noise,
    credentials: &[String],
) -> String {
    let headers: Map<String, Value> = noise
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), json!(fill(value, credentials))))
        .collect();
    let query: Map<String, Value> = noise
        .query
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    let mut event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("{HTTP_STAGE}/{}{}", noise.arn_method, noise.arn_path),
        "rawPath": noise.path,
        "rawQueryString": "",
        "headers": headers,
        "queryStringParameters": query,
        "requestContext": {
            "apiId": "api1234567",
            "http": { "method": noise.method, "path": noise.path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9" },
            "stage": "$default"
        }
    });
    if let Some(route_key) = &noise.route_key {
        event["routeKey"] = json!(route_key);
        event["requestContext"]["routeKey"] = json!(route_key);
    }
    if let Some(cookies) = &noise.cookies {
        let cookies: Vec<String> = cookies
            .iter()
            .map(|cookie| fill(cookie, credentials))
            .collect();
        event["cookies"] = json!(cookies);
    }
    if let Some(sources) = identity_source {
        event["identitySource"] = json!(sources);
    }
    event.to_string()
}

/// The least an HTTP API event can carry: the identity source and the API and stage.
fn bare_http_api_event(identity_source: Option<&[String]>) -> String {
    let mut event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("{HTTP_STAGE}/GET/"),
        "requestContext": { "http": { "method": "GET" } }
    });
    if let Some(sources) = identity_source {
        event["identitySource"] = json!(sources);
    }
    event.to_string()
}

/// An identity source: absent, empty, a credential, or a credential and a route key.
fn identity_source(
    credentials: usize,
) -> impl Strategy<Value = Option<Vec<(usize, Option<usize>)>>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Vec::new())),
        3 => (0..credentials).prop_map(|credential| Some(vec![(credential, None)])),
        8 => (0..credentials, 0..ROUTE_KEYS.len())
            .prop_map(|(credential, route)| Some(vec![(credential, Some(route))])),
    ]
}

fn identity_values(
    shape: &Option<Vec<(usize, Option<usize>)>>,
    credentials: &[String],
) -> Option<Vec<String>> {
    shape.as_ref().map(|entries| {
        entries
            .iter()
            .flat_map(|(credential, route)| {
                std::iter::once(credentials[*credential].clone())
                    .chain(route.map(|route| ROUTE_KEYS[route].to_owned()))
            })
            .collect()
    })
}

const HTTP_MODES: &[&[(&str, &str)]] = &[
    &[],
    &[("AUTHORIZER_RESPONSE", "iam")],
    &[("ROUTE_MFA", ROUTE_MFA)],
    &[("ROUTE_MFA", ROUTE_MFA), ("AUTHORIZER_RESPONSE", "iam")],
    &[("AUTHORIZER_TOKEN_SOURCE", "cookie")],
    &[
        ("AUTHORIZER_TOKEN_SOURCE", "cookie"),
        ("AUTHORIZER_RESPONSE", "iam"),
    ],
];

#[test]
fn http_api_answers_depend_on_the_identity_source_alone() {
    let credentials = credentials();
    let authorizers = authorizers(HTTP_MODES);
    let runtime = runtime();
    let strategy = (
        identity_source(credentials.len()),
        noise(credentials.len()),
        noise(credentials.len()),
    );
    runner()
        .run(&strategy, |(shape, first, second)| {
            let sources = identity_values(&shape, &credentials);
            let reference = bare_http_api_event(sources.as_deref());
            let events = [
                http_api_event(sources.as_deref(), &first, &credentials),
                http_api_event(sources.as_deref(), &second, &credentials),
            ];
            for (mode, authorizer) in &authorizers {
                let expected = answer(&runtime, authorizer, &reference);
                prop_assert_ne!(expected.1, Some(Denial::UnreadableEvent), "{}", reference);
                for event in &events {
                    prop_assert_eq!(
                        &answer(&runtime, authorizer, event),
                        &expected,
                        "mode {}, identity source {:?}, event {}",
                        mode,
                        sources,
                        event
                    );
                }
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

/// A REST API REQUEST event: the identity header `name` (in any case) with `value` if any, then
/// noise headers, minus any that would be a second identity header.
fn rest_request_event(
    name: &str,
    value: Option<&str>,
    noise: &Noise,
    credentials: &[String],
) -> String {
    let mut headers = Map::new();
    if let Some(value) = value {
        headers.insert(name.to_owned(), json!(value));
    }
    for (other, other_value) in &noise.headers {
        if !other.eq_ignore_ascii_case(name) {
            headers.insert(other.clone(), json!(fill(other_value, credentials)));
        }
    }
    if let Some(cookies) = &noise.cookies
        && !name.eq_ignore_ascii_case("cookie")
        && !cookies.is_empty()
    {
        let joined: Vec<String> = cookies
            .iter()
            .map(|cookie| fill(cookie, credentials))
            .collect();
        headers.insert("Cookie".to_owned(), json!(joined.join("; ")));
    }
    let multi: Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.clone(), json!([value])))
        .collect();
    let query: Map<String, Value> = noise
        .query
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    json!({
        "type": "REQUEST",
        "methodArn": format!("{REST_STAGE}/{}{}", noise.arn_method, noise.arn_path),
        "resource": noise.route_key.as_deref().map_or("/{proxy+}", |key| key.split_once(' ').map_or(key, |(_, path)| path)),
        "path": noise.path,
        "httpMethod": noise.method,
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": query,
        "requestContext": {
            "path": format!("/prod{}", noise.path),
            "stage": "prod",
            "httpMethod": noise.method,
            "apiId": "api1234567",
            "identity": { "sourceIp": "203.0.113.9" }
        }
    })
    .to_string()
}

#[test]
fn rest_answers_depend_on_the_identity_header_alone() {
    let credentials = credentials();
    let modes: &[(&str, &[(&str, &str)])] = &[
        ("Authorization", &[]),
        ("Authorization", &[("ROUTE_MFA", ROUTE_MFA)]),
        ("Cookie", &[("AUTHORIZER_TOKEN_SOURCE", "cookie")]),
    ];
    let authorizers: Vec<(&str, Authorizer)> = modes
        .iter()
        .map(|(header, pairs)| {
            (
                *header,
                authorizer_with_clock(pairs, Arc::new(FixedClock(NOW + 1))),
            )
        })
        .collect();
    let runtime = runtime();
    let strategy = (
        proptest::option::of(0..credentials.len()),
        proptest::sample::select(vec![
            str::to_owned,
            str::to_ascii_lowercase,
            str::to_ascii_uppercase,
        ]),
        noise(credentials.len()),
        noise(credentials.len()),
    );
    runner()
        .run(&strategy, |(credential, case, first, second)| {
            let value = credential.map(|index| credentials[index].as_str());
            for (header, authorizer) in &authorizers {
                let name = case(header);
                let reference = rest_request_event(
                    header,
                    value,
                    &Noise {
                        headers: Vec::new(),
                        cookies: None,
                        path: "/".to_owned(),
                        route_key: None,
                        method: "GET",
                        arn_method: "GET",
                        arn_path: "/".to_owned(),
                        query: Vec::new(),
                    },
                    &credentials,
                );
                let expected = answer(&runtime, authorizer, &reference);
                prop_assert_ne!(expected.1, Some(Denial::UnreadableEvent), "{}", reference);
                for noise in [&first, &second] {
                    let event = rest_request_event(&name, value, noise, &credentials);
                    prop_assert_eq!(
                        &answer(&runtime, authorizer, &event),
                        &expected,
                        "{} {:?}: {}",
                        header,
                        value,
                        event
                    );
                }
                // A TOKEN authorizer's identity source is its one header, `authorizationToken`.
                if let Some(value) = value {
                    let token_event = |noise: &Noise| {
                        json!({
                            "type": "TOKEN",
                            "authorizationToken": value,
                            "methodArn": format!("{REST_STAGE}/{}{}", noise.arn_method, noise.arn_path),
                        })
                        .to_string()
                    };
                    let first_answer = answer(&runtime, authorizer, &token_event(&first));
                    prop_assert_eq!(&answer(&runtime, authorizer, &token_event(&second)), &first_answer);
                    prop_assert_eq!(
                        first_answer,
                        expected.clone(),
                        "a TOKEN event answers as the REQUEST event with that header"
                    );
                }
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

/// So the properties above are not vacuous: the candidates get every kind of answer in every
/// mode (allowed, refused by a rule with 403 where simple answers exist, and 401).
#[test]
fn the_candidate_identity_sources_get_every_kind_of_answer() {
    let credentials = credentials();
    let authorizers = authorizers(HTTP_MODES);
    let runtime = runtime();
    for (mode, authorizer) in &authorizers {
        let mut kinds = BTreeSet::new();
        for credential in &credentials {
            for route in ROUTE_KEYS {
                let sources = [credential.clone(), route.to_owned()];
                let (answer, _) =
                    answer(&runtime, authorizer, &bare_http_api_event(Some(&sources)));
                kinds.insert(if answer.starts_with("error: ") {
                    "401"
                } else if answer.contains(r#""isAuthorized":false"#) {
                    "403"
                } else if answer.contains(r#""Effect":"Deny""#) {
                    "policy with Deny"
                } else {
                    "allowed"
                });
            }
        }
        let expected: BTreeSet<&str> = if mode.contains("iam") {
            ["401", "allowed", "policy with Deny"].into()
        } else {
            ["401", "403", "allowed"].into()
        };
        assert_eq!(kinds, expected, "{mode}");
    }
}
