//! The authorizer: every event shape from `events/`, cache-safe policies, a flat context, the
//! attack suite, asymmetric keys and rotation, strict mode, and interop with the seed's Node stack.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use auth_core::authorizer::{Authorizer, AuthorizerConfig, AuthorizerError, SessionCheck};
use auth_core::clock::{Clock, SystemClock};
use auth_core::domain::{Role, SessionId, UserId};
use auth_core::handlers::{Profiles, me};
use auth_core::token::{AccessTokenConfig, AccessTokens, KeySet, Rejection};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::{TestApp, TestResponse, claims};
use hmac::{Hmac, Mac};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "authorizer-test-secret-of-at-least-32-bytes";
const ISSUER: &str = "https://auth.test";
const AUDIENCE: &str = "test-api";
const ROUTE_ROLES: &str = "GET /admin/*=admin;DELETE /users/*=admin|support";
const EVENTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod/GET/me";
/// The stages of the REST (`prod`) and HTTP API (`$default`) sample events.
const REST_STAGE: &str = "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod";
const HTTP_STAGE: &str = "arn:aws:execute-api:us-east-1:123456789012:api1234567/$default";

/// The authorizer and `me` event files this module runs (events.rs checks every file is covered).
pub const EVENT_FILES: &[&str] = &[
    "authorizer-rest-token.json",
    "authorizer-rest-token-missing.json",
    "authorizer-rest-token-malformed.json",
    "authorizer-rest-request-header.json",
    "authorizer-rest-request-cookie.json",
    "authorizer-http-api.json",
    "authorizer-http-api-cookie.json",
    "authorizer-http-api-admin-route.json",
    "authorizer-http-api-no-token.json",
    "me.json",
    "me-admin-user.json",
    "me-without-authorizer.json",
];

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
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

fn authorizer(pairs: &[(&str, &str)]) -> Authorizer {
    let config = AuthorizerConfig::from_env(&env(pairs)).expect("authorizer config");
    Authorizer::new(config, None, Arc::new(SystemClock))
}

fn issuer(pairs: &[(&str, &str)]) -> AccessTokens {
    AccessTokens::new(AccessTokenConfig::from_env(&env(pairs)).expect("issuer config"))
}

fn issue_with(tokens: &AccessTokens, role: &str) -> String {
    let role = Role::parse(role).expect("role");
    tokens
        .issue(
            &UserId::generate(),
            &role,
            &SessionId::generate(),
            SystemClock.now(),
        )
        .expect("issue")
        .token
}

fn issue(role: &str) -> String {
    issue_with(&issuer(&[]), role)
}

fn now() -> i64 {
    SystemClock.now()
}

fn rest_token_event(authorization: &str) -> String {
    json!({ "type": "TOKEN", "authorizationToken": authorization, "methodArn": METHOD_ARN })
        .to_string()
}

/// Runs an event and returns the response as JSON, or the error.
async fn run(authorizer: &Authorizer, event: &str) -> Result<Value, AuthorizerError> {
    authorizer
        .handle(event)
        .await
        .map(|response| serde_json::to_value(response).expect("responses serialize"))
}

fn load_event(file: &str, token: &str) -> String {
    std::fs::read_to_string(format!("{EVENTS_DIR}/{file}"))
        .unwrap_or_else(|error| panic!("{file}: {error}"))
        .replace("{{ACCESS_TOKEN}}", token)
}

// ---------------------------------------------------------------- IAM evaluation, for assertions

/// IAM resource wildcards: `*` any run of characters, `?` one character.
fn wildcard_matches(pattern: &[u8], text: &[u8]) -> bool {
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
fn policy_allows(policy: &Value, resource: &str) -> bool {
    let statements = policy["Statement"].as_array().expect("statements");
    let matching = |effect: &str| {
        statements
            .iter()
            .filter(|s| s["Effect"] == effect)
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

fn route(method: &str, path: &str) -> String {
    format!("{REST_STAGE}/{method}{path}")
}

/// The policy every valid token gets for `ROUTE_ROLES` and role `user` on `stage`: the whole
/// stage allowed, then an explicit Deny for each rule the role fails.
fn user_policy(stage: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [format!("{stage}/*/*")] },
            { "Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": [
                format!("{stage}/GET/admin/*"),
                format!("{stage}/DELETE/users/*"),
            ] },
        ]
    })
}

// ---------------------------------------------------------------- event shapes

#[test]
fn every_authorizer_event_file_deserializes_into_its_aws_lambda_events_type() {
    // So an `Unauthorized` below is about the token, never about an event we cannot read.
    let token = "header.payload.signature";
    for file in EVENT_FILES
        .iter()
        .filter(|file| file.starts_with("authorizer-"))
    {
        let text = load_event(file, token);
        let has_token = !file.contains("missing") && !file.contains("no-token");
        if file.starts_with("authorizer-rest-token") {
            let event: ApiGatewayCustomAuthorizerRequest =
                serde_json::from_str(&text).unwrap_or_else(|error| panic!("{file}: {error}"));
            assert_eq!(event.type_.as_deref(), Some("TOKEN"), "{file}");
            assert_eq!(event.method_arn.as_deref(), Some(METHOD_ARN), "{file}");
            assert_eq!(event.authorization_token.is_some(), has_token, "{file}");
        } else if file.starts_with("authorizer-rest-request") {
            let event: ApiGatewayCustomAuthorizerRequestTypeRequest =
                serde_json::from_str(&text).unwrap_or_else(|error| panic!("{file}: {error}"));
            assert_eq!(event.type_.as_deref(), Some("REQUEST"), "{file}");
            assert_eq!(event.method_arn.as_deref(), Some(METHOD_ARN), "{file}");
            assert_eq!(event.http_method, Some(http::Method::GET), "{file}");
            let carried = event
                .headers
                .iter()
                .any(|(_, value)| value.to_str().is_ok_and(|value| value.contains(token)));
            assert!(carried, "{file}: the token is in a header");
        } else {
            let event: ApiGatewayV2CustomAuthorizerV2Request =
                serde_json::from_str(&text).unwrap_or_else(|error| panic!("{file}: {error}"));
            assert_eq!(event.version.as_deref(), Some("2.0"), "{file}");
            assert!(
                event
                    .route_arn
                    .as_deref()
                    .is_some_and(|arn| arn.starts_with(HTTP_STAGE)),
                "{file}"
            );
            assert_eq!(event.request_context.stage.as_deref(), Some("$default"));
            let carried = event
                .headers
                .get("authorization")
                .is_some_and(|value| value == format!("Bearer {token}").as_str())
                || event
                    .cookies
                    .iter()
                    .any(|cookie| cookie == &format!("accessToken={token}"));
            assert_eq!(carried, has_token, "{file}");
            let sources = event.identity_source.unwrap_or_default();
            assert_eq!(
                sources.iter().any(|source| source.contains(token)),
                has_token,
                "{file}: identitySource"
            );
        }
    }
}

#[tokio::test]
async fn every_authorizer_event_file_gets_the_answer_for_its_shape() {
    let authorizer = authorizer(&[]);
    let user_token = issue("user");
    let admin_token = issue("admin");
    let user_sub = claims(&user_token)["sub"].clone();
    let unauthorized = |file: &str, outcome: Result<Value, AuthorizerError>| {
        let error = outcome.expect_err(file);
        assert_eq!(error, AuthorizerError::Unauthorized, "{file}");
        assert_eq!(
            error.to_string(),
            "Unauthorized",
            "API Gateway maps exactly this message to 401"
        );
    };
    for file in EVENT_FILES
        .iter()
        .filter(|file| file.starts_with("authorizer-"))
    {
        let outcome = run(&authorizer, &load_event(file, &user_token)).await;
        let as_admin = run(&authorizer, &load_event(file, &admin_token)).await;
        match *file {
            "authorizer-rest-token.json"
            | "authorizer-rest-request-header.json"
            | "authorizer-rest-request-cookie.json" => {
                let response = outcome.unwrap_or_else(|error| panic!("{file}: {error}"));
                assert_eq!(response["principalId"], user_sub, "{file}");
                assert_eq!(
                    response["policyDocument"],
                    user_policy(REST_STAGE),
                    "{file}: stage-wide Allow plus the role's Deny statements"
                );
                assert!(
                    policy_allows(&response["policyDocument"], &route("GET", "/me")),
                    "{file}"
                );
                assert!(
                    !policy_allows(&response["policyDocument"], &route("GET", "/admin/users")),
                    "{file}"
                );
                assert_eq!(response["context"]["role"], "user", "{file}");

                let admin = as_admin.unwrap_or_else(|error| panic!("{file}: {error}"));
                assert_eq!(
                    admin["policyDocument"]["Statement"],
                    json!([{ "Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [format!("{REST_STAGE}/*/*")] }]),
                    "{file}: an admin fails no rule, so nothing is denied"
                );
            }
            "authorizer-rest-token-missing.json" | "authorizer-rest-token-malformed.json" => {
                unauthorized(file, outcome);
                unauthorized(file, as_admin);
            }
            "authorizer-http-api.json" | "authorizer-http-api-cookie.json" => {
                let response = outcome.unwrap_or_else(|error| panic!("{file}: {error}"));
                assert_eq!(response["isAuthorized"], true, "{file}: {response}");
                assert_eq!(response["context"]["role"], "user");
                assert_eq!(response["context"]["userId"], user_sub);
                assert!(
                    response.get("principalId").is_none(),
                    "simple responses have no principal"
                );
                assert_eq!(as_admin.expect("admin")["isAuthorized"], true, "{file}");
            }
            "authorizer-http-api-admin-route.json" => {
                let response = outcome.expect("a valid token is answered");
                assert_eq!(
                    response,
                    json!({ "isAuthorized": false, "context": {} }),
                    "a user may not call an admin route, and a denied call gets no context"
                );
                let admin = as_admin.expect("admin");
                assert_eq!(admin["isAuthorized"], true);
                assert_eq!(admin["context"]["role"], "admin");
            }
            "authorizer-http-api-no-token.json" => {
                let response = outcome.expect("HTTP API simple responses say false, not an error");
                assert_eq!(response, json!({ "isAuthorized": false, "context": {} }));
            }
            other => panic!("no expectation for {other}"),
        }
    }
}

#[tokio::test]
async fn http_api_events_can_be_answered_with_iam_policies() {
    let authorizer = authorizer(&[("AUTHORIZER_RESPONSE", "iam")]);
    let user_token = issue("user");
    let admin_token = issue("admin");
    let admin_route = format!("{HTTP_STAGE}/GET/admin/users/0123456789abcdef0123456789abcdef");
    for file in EVENT_FILES
        .iter()
        .filter(|file| file.starts_with("authorizer-http-api"))
    {
        let response = run(&authorizer, &load_event(file, &user_token))
            .await
            .unwrap_or_else(|error| panic!("{file}: IAM mode answers with a policy: {error}"));
        let document = &response["policyDocument"];
        if *file == "authorizer-http-api-no-token.json" {
            assert_eq!(response["principalId"], "anonymous", "{file}");
            assert_eq!(
                document["Statement"],
                json!([{ "Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": [format!("{HTTP_STAGE}/*/*")] }]),
                "{file}: the whole stage is denied"
            );
            assert_eq!(response["context"], json!({}), "{file}");
            continue;
        }
        assert_eq!(
            response["principalId"],
            claims(&user_token)["sub"],
            "{file}"
        );
        assert_eq!(document, &user_policy(HTTP_STAGE), "{file}");
        assert!(
            policy_allows(document, &format!("{HTTP_STAGE}/GET/me")),
            "{file}"
        );
        assert!(!policy_allows(document, &admin_route), "{file}");
        assert_eq!(response["context"]["role"], "user", "{file}");

        let admin = run(&authorizer, &load_event(file, &admin_token))
            .await
            .expect("admin");
        assert!(
            policy_allows(&admin["policyDocument"], &admin_route),
            "{file}"
        );
    }

    let forged = run(
        &authorizer,
        &load_event("authorizer-http-api.json", "forged"),
    )
    .await
    .expect("deny policy");
    assert!(!policy_allows(
        &forged["policyDocument"],
        &format!("{HTTP_STAGE}/GET/me")
    ));
    assert_eq!(forged["principalId"], "anonymous");
}

#[tokio::test]
async fn one_cached_policy_answers_every_route_correctly() {
    let authorizer = authorizer(&[]);
    let token = issue("user");
    let authorization = format!("Bearer {token}");
    // API Gateway authorizes the first route, caches the document per token, and reuses it.
    let cached = run(&authorizer, &rest_token_event(&authorization))
        .await
        .expect("policy");
    let document = &cached["policyDocument"];
    assert!(policy_allows(document, &route("GET", "/me")));
    assert!(
        !policy_allows(document, &route("GET", "/admin/users")),
        "the admin route is denied by the same document"
    );

    // A second request, for an admin route, with the same token: API Gateway does not call the
    // authorizer again but evaluates the cached document against the new route's ARN.
    let admin_route = route("GET", "/admin/users/0123456789abcdef0123456789abcdef");
    assert!(
        !policy_allows(document, &admin_route),
        "the cached document denies the admin route"
    );
    // Had the cache been empty, the answer would be the same document: the policy does not
    // depend on which route was authorized first, so the cache cannot change any answer.
    let fresh = run(
        &authorizer,
        &json!({ "type": "TOKEN", "authorizationToken": authorization, "methodArn": admin_route })
            .to_string(),
    )
    .await
    .expect("a valid token gets a policy even on a route it may not call");
    assert_eq!(&fresh["policyDocument"], document);

    for (method, path, allowed) in [
        ("POST", "/orders/7", true),
        ("GET", "/users/42", true),
        ("GET", "/admin/users/42/roles", false),
        ("GET", "/admin/", false),
        ("DELETE", "/users/42", false),
        ("GET", "/administrator", true),
    ] {
        assert_eq!(
            policy_allows(document, &route(method, path)),
            allowed,
            "{method} {path}"
        );
    }

    let admin = run(
        &authorizer,
        &rest_token_event(&format!("Bearer {}", issue("admin"))),
    )
    .await
    .expect("policy");
    assert!(policy_allows(
        &admin["policyDocument"],
        &route("GET", "/admin/users")
    ));
    assert!(policy_allows(
        &admin["policyDocument"],
        &route("DELETE", "/users/42")
    ));

    // The matcher itself, so the assertions above mean what they say.
    assert!(wildcard_matches(b"a/*/*", b"a/GET/x/y"));
    assert!(wildcard_matches(b"a/?ET/*", b"a/GET/"));
    assert!(!wildcard_matches(b"a/GET/admin/*", b"a/GET/admin"));
    assert!(!wildcard_matches(b"a/GET/*", b"a/POST/x"));
}

#[tokio::test]
async fn the_context_is_flat_and_the_principal_is_the_subject() {
    let simple = authorizer(&[]);
    let iam = authorizer(&[("AUTHORIZER_RESPONSE", "iam")]);
    let token = issue("user");
    let token_claims = claims(&token);
    let cases = [
        (&simple, rest_token_event(&format!("Bearer {token}")), true),
        (
            &simple,
            load_event("authorizer-rest-request-header.json", &token),
            true,
        ),
        (
            &simple,
            load_event("authorizer-rest-request-cookie.json", &token),
            true,
        ),
        (
            &simple,
            load_event("authorizer-http-api.json", &token),
            false,
        ),
        (
            &simple,
            load_event("authorizer-http-api-cookie.json", &token),
            false,
        ),
        (&iam, load_event("authorizer-http-api.json", &token), true),
    ];
    for (authorizer, event, has_principal) in cases {
        let response = run(authorizer, &event).await.expect("authorized");
        let context = response["context"].as_object().expect("context object");
        for (key, value) in context {
            assert!(
                value.is_string() || value.is_number() || value.is_boolean(),
                "context value {key} is not flat: {value}"
            );
        }
        let mut keys: Vec<&str> = context.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["expiresAt", "role", "sessionId", "userId"]);
        assert_eq!(context["userId"], token_claims["sub"]);
        assert_eq!(context["sessionId"], token_claims["sid"]);
        assert_eq!(context["role"], "user");
        assert_eq!(context["expiresAt"], token_claims["exp"]);
        if has_principal {
            assert_eq!(response["principalId"], token_claims["sub"], "{response}");
        }
    }
}

#[tokio::test]
async fn unreadable_events_are_unauthorized_not_a_crash() {
    let authorizer = authorizer(&[]);
    for event in [
        "",
        "null",
        "[]",
        "{}",
        r#"{"type":"SOMETHING"}"#,
        r#"{"type":"TOKEN","methodArn":"not-an-arn","authorizationToken":"x"}"#,
    ] {
        assert_eq!(
            run(&authorizer, event).await,
            Err(AuthorizerError::Unauthorized),
            "{event}"
        );
    }
    let valid_token_bad_arn = json!({ "type": "TOKEN", "authorizationToken": format!("Bearer {}", issue("user")), "methodArn": "arn:aws:s3:::bucket" });
    assert_eq!(
        run(&authorizer, &valid_token_bad_arn.to_string()).await,
        Err(AuthorizerError::Unauthorized)
    );
}

#[test]
fn a_bad_route_rule_stops_start_up_with_a_clear_message() {
    let error =
        AuthorizerConfig::from_env(&env(&[("ROUTE_ROLES", "GET /admin/*")])).expect_err("bad rule");
    assert!(
        error.to_string().contains("ROUTE_ROLES") && error.to_string().contains("GET /admin/*"),
        "{error}"
    );
    let error =
        AuthorizerConfig::from_env(&env(&[("AUTHORIZER_RESPONSE", "xml")])).expect_err("bad mode");
    assert!(error.to_string().contains("AUTHORIZER_RESPONSE"));
}

// ---------------------------------------------------------------- the attack suite

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hs256(signing_input: &str, secret: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("key");
    mac.update(signing_input.as_bytes());
    b64(mac.finalize().into_bytes())
}

/// A compact JWS from raw header and payload JSON text, HMAC-signed with `secret`.
fn signed(header: &str, payload: &str, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = hs256(&input, secret);
    format!("{input}.{signature}")
}

fn kid_of(token: &str) -> String {
    let header = URL_SAFE_NO_PAD
        .decode(token.split('.').next().expect("header"))
        .expect("b64");
    serde_json::from_slice::<Value>(&header).expect("json")["kid"]
        .as_str()
        .expect("kid")
        .to_owned()
}

fn header(kid: &str) -> String {
    json!({ "alg": "HS256", "typ": "at+jwt", "kid": kid }).to_string()
}

fn claims_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let now = now();
    let mut claims = json!({
        "sub": "0123456789abcdef0123456789abcdef", "role": "user", "sid": "fedcba9876543210fedcba9876543210",
        "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 600, "jti": "j"
    });
    edit(claims.as_object_mut().expect("object"));
    claims.to_string()
}

fn openssl(args: &[&str], input: Option<&Path>) -> String {
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
fn key_pair(algorithm: &str) -> (String, String) {
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
        _ => &["genpkey", "-algorithm", "ED25519"],
    };
    let private = openssl(args, None);
    let path =
        std::env::temp_dir().join(format!("jwt-auth-test-{}.pem", auth_core::random::hex_id()));
    std::fs::write(&path, &private).expect("write key");
    let public = openssl(&["pkey", "-pubout"], Some(&path));
    let _ = std::fs::remove_file(&path);
    (private, public)
}

#[derive(Clone, Copy, Debug)]
enum Verifier {
    Hs256,
    Rs256,
    Es256,
}

/// One forged or broken token, the authorizer it is presented to, and why it must be refused.
struct Attack {
    name: &'static str,
    verifier: Verifier,
    token: String,
    reason: Rejection,
}

fn attack(name: &'static str, verifier: Verifier, token: String, reason: Rejection) -> Attack {
    Attack {
        name,
        verifier,
        token,
        reason,
    }
}

#[tokio::test]
async fn the_attack_suite_is_unauthorized_every_time() {
    use Rejection::*;
    use Verifier::{Es256, Hs256, Rs256};

    let secret = SECRET.as_bytes();
    let valid = issue("user");
    let kid = kid_of(&valid);
    let (signing_input, signature) = valid.rsplit_once('.').expect("jws");
    let (header_b64, payload_b64) = signing_input.split_once('.').expect("jws");
    let good_claims = claims_with(|_| {});

    let (rsa_private, rsa_public) = key_pair("RS256");
    let (ec_private, ec_public) = key_pair("ES256");
    let rs_env = [
        ("JWT_ALGORITHM", "RS256"),
        ("JWT_PUBLIC_KEY", rsa_public.as_str()),
        ("JWT_ACCESS_SECRET", ""),
    ];
    let es_env = [
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PUBLIC_KEY", ec_public.as_str()),
        ("JWT_ACCESS_SECRET", ""),
    ];
    // Verifiers hold public keys only, as a deployed authorizer does.
    let targets = [
        (authorizer(&[]), issuer(&[])),
        (authorizer(&rs_env), issuer(&rs_env)),
        (authorizer(&es_env), issuer(&es_env)),
    ];
    let rs_kid = kid_of(&issue_with(
        &issuer(&[
            ("JWT_ALGORITHM", "RS256"),
            ("JWT_PRIVATE_KEY", &rsa_private),
            ("JWT_ACCESS_SECRET", ""),
        ]),
        "user",
    ));
    let es_kid = kid_of(&issue_with(
        &issuer(&[
            ("JWT_ALGORITHM", "ES256"),
            ("JWT_PRIVATE_KEY", &ec_private),
            ("JWT_ACCESS_SECRET", ""),
        ]),
        "user",
    ));
    // An attacker's own RSA key, used to sign under the real key's kid.
    let (attacker_rsa_private, _) = key_pair("RS256");
    let forged_rs256 = {
        let mut forged_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        forged_header.typ = Some("at+jwt".to_owned());
        forged_header.kid = Some(rs_kid.clone());
        let claims: Value = serde_json::from_str(&good_claims).expect("claims");
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(attacker_rsa_private.as_bytes())
            .expect("attacker key");
        jsonwebtoken::encode(&forged_header, &claims, &key).expect("sign")
    };

    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let refresh_token = registered.refresh_token();
    let other_audience = issue_with(&issuer(&[("JWT_AUDIENCE", "other-api")]), "user");

    let mut flipped_signature = signature.to_owned().into_bytes();
    flipped_signature[5] = if flipped_signature[5] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let flipped_signature = String::from_utf8(flipped_signature).expect("ascii");
    let with_header = |header: Value| signed(&header.to_string(), &good_claims, secret);
    let with_claims = |edit: fn(&mut serde_json::Map<String, Value>)| {
        signed(&header(&kid), &claims_with(edit), secret)
    };

    let cases = vec![
        attack(
            "alg none without signature",
            Hs256,
            format!(
                "{}.{}.",
                b64(json!({"alg":"none","typ":"at+jwt","kid":kid}).to_string()),
                b64(&good_claims)
            ),
            AlgorithmMismatch,
        ),
        attack(
            "alg none with a signature",
            Hs256,
            with_header(json!({"alg":"none","typ":"at+jwt","kid":kid})),
            AlgorithmMismatch,
        ),
        attack(
            "alg NONE upper case",
            Hs256,
            with_header(json!({"alg":"NONE","typ":"at+jwt","kid":kid})),
            AlgorithmMismatch,
        ),
        attack(
            "alg confusion: HS256 keyed with the RSA public key PEM",
            Rs256,
            signed(
                &json!({"alg":"HS256","typ":"at+jwt","kid":rs_kid}).to_string(),
                &good_claims,
                rsa_public.as_bytes(),
            ),
            AlgorithmMismatch,
        ),
        attack(
            "alg confusion: HS256 keyed with the EC public key PEM",
            Es256,
            signed(
                &json!({"alg":"HS256","typ":"at+jwt","kid":es_kid}).to_string(),
                &good_claims,
                ec_public.as_bytes(),
            ),
            AlgorithmMismatch,
        ),
        attack(
            "HS384 with the right secret",
            Hs256,
            with_header(json!({"alg":"HS384","typ":"at+jwt","kid":kid})),
            AlgorithmMismatch,
        ),
        attack(
            "RS256 named in the header of the HS256 key",
            Hs256,
            with_header(json!({"alg":"RS256","typ":"at+jwt","kid":kid})),
            AlgorithmMismatch,
        ),
        attack(
            "a valid HS256 token shown to an RS256 authorizer",
            Rs256,
            valid.clone(),
            UnknownKey,
        ),
        attack(
            "RS256 signed by another key under the real kid",
            Rs256,
            forged_rs256,
            BadSignature,
        ),
        attack(
            "wrong secret",
            Hs256,
            signed(
                &header(&kid),
                &good_claims,
                b"another-secret-of-at-least-32-bytes-long",
            ),
            BadSignature,
        ),
        attack(
            "expired",
            Hs256,
            with_claims(|c| {
                c.insert("exp".into(), json!(now() - 120));
            }),
            Expired,
        ),
        attack(
            "expired just past the 5s leeway",
            Hs256,
            with_claims(|c| {
                c.insert("exp".into(), json!(now() - 6));
            }),
            Expired,
        ),
        attack(
            "nbf in the future",
            Hs256,
            with_claims(|c| {
                c.insert("nbf".into(), json!(now() + 600));
            }),
            NotYetValid,
        ),
        attack(
            "missing exp",
            Hs256,
            with_claims(|c| {
                c.remove("exp");
            }),
            InvalidClaims,
        ),
        attack(
            "missing nbf",
            Hs256,
            with_claims(|c| {
                c.remove("nbf");
            }),
            InvalidClaims,
        ),
        attack(
            "missing iss",
            Hs256,
            with_claims(|c| {
                c.remove("iss");
            }),
            InvalidClaims,
        ),
        attack(
            "missing aud",
            Hs256,
            with_claims(|c| {
                c.remove("aud");
            }),
            InvalidClaims,
        ),
        attack(
            "missing sub",
            Hs256,
            with_claims(|c| {
                c.remove("sub");
            }),
            InvalidClaims,
        ),
        attack(
            "empty sub",
            Hs256,
            with_claims(|c| {
                c.insert("sub".into(), json!(""));
            }),
            InvalidClaims,
        ),
        attack(
            "missing role",
            Hs256,
            with_claims(|c| {
                c.remove("role");
            }),
            InvalidClaims,
        ),
        attack(
            "wrong iss",
            Hs256,
            with_claims(|c| {
                c.insert("iss".into(), json!("https://evil.example"));
            }),
            WrongIssuer,
        ),
        attack(
            "wrong aud",
            Hs256,
            with_claims(|c| {
                c.insert("aud".into(), json!("other-api"));
            }),
            WrongAudience,
        ),
        attack(
            "aud list without ours",
            Hs256,
            with_claims(|c| {
                c.insert("aud".into(), json!(["other-api", "test-api-2"]));
            }),
            WrongAudience,
        ),
        attack(
            "a signature valid for another audience",
            Hs256,
            other_audience,
            WrongAudience,
        ),
        attack("a refresh token", Hs256, refresh_token, Malformed),
        attack(
            "tampered header",
            Hs256,
            format!(
                "{}.{payload_b64}.{signature}",
                b64(json!({"alg":"HS256","typ":"at+jwt","kid":kid,"x":1}).to_string())
            ),
            BadSignature,
        ),
        attack(
            "tampered payload (role admin)",
            Hs256,
            format!(
                "{header_b64}.{}.{signature}",
                b64(claims_with(|c| {
                    c.insert("role".into(), json!("admin"));
                }))
            ),
            BadSignature,
        ),
        attack(
            "tampered signature",
            Hs256,
            format!("{signing_input}.{flipped_signature}"),
            BadSignature,
        ),
        attack(
            "truncated",
            Hs256,
            valid[..valid.len() - 10].to_owned(),
            Malformed,
        ),
        attack(
            "signature truncated to 16 bytes",
            Hs256,
            format!(
                "{signing_input}.{}",
                b64(&URL_SAFE_NO_PAD.decode(signature).expect("signature")[..16])
            ),
            BadSignature,
        ),
        attack(
            "signature missing",
            Hs256,
            format!("{signing_input}."),
            BadSignature,
        ),
        attack("two segments", Hs256, signing_input.to_owned(), Malformed),
        attack(
            "extra segments",
            Hs256,
            format!("{valid}.{signature}"),
            Malformed,
        ),
        attack(
            "non-base64url characters",
            Hs256,
            valid.replacen(|c: char| c.is_ascii_alphabetic(), "+", 1),
            Malformed,
        ),
        attack(
            "base64 padding",
            Hs256,
            format!("{header_b64}=.{payload_b64}.{signature}"),
            Malformed,
        ),
        attack(
            "whitespace inside",
            Hs256,
            format!("{header_b64}. {payload_b64}.{signature}"),
            BadSignature,
        ),
        attack(
            "non-JSON header",
            Hs256,
            signed("hello", &good_claims, secret),
            Malformed,
        ),
        attack(
            "JSON null header",
            Hs256,
            signed("null", &good_claims, secret),
            Malformed,
        ),
        attack(
            "non-JSON payload",
            Hs256,
            signed(&header(&kid), "not json", secret),
            InvalidClaims,
        ),
        attack(
            "payload a JSON array",
            Hs256,
            signed(&header(&kid), "[1,2,3]", secret),
            InvalidClaims,
        ),
        attack(
            "oversize (over 8 KiB)",
            Hs256,
            with_claims(|c| {
                c.insert("pad".into(), json!("x".repeat(9000)));
            }),
            TooLong,
        ),
        attack(
            "unknown kid",
            Hs256,
            signed(&header("some-other-key"), &good_claims, secret),
            UnknownKey,
        ),
        attack(
            "missing kid",
            Hs256,
            with_header(json!({"alg":"HS256","typ":"at+jwt"})),
            UnknownKey,
        ),
        attack(
            "kid path traversal",
            Hs256,
            signed(&header("../../etc/passwd"), &good_claims, secret),
            UnknownKey,
        ),
        attack(
            "kid path traversal to /dev/null",
            Hs256,
            signed(&header("../../../../dev/null"), &good_claims, b""),
            UnknownKey,
        ),
        attack(
            "jwk in the header",
            Hs256,
            with_header(
                json!({"alg":"HS256","typ":"at+jwt","kid":kid,"jwk":{"kty":"oct","k":b64(secret)}}),
            ),
            ForbiddenHeader,
        ),
        attack(
            "jku in the header",
            Hs256,
            with_header(
                json!({"alg":"HS256","typ":"at+jwt","kid":kid,"jku":"https://evil.example/jwks.json"}),
            ),
            ForbiddenHeader,
        ),
        attack(
            "x5u in the header",
            Hs256,
            with_header(
                json!({"alg":"HS256","typ":"at+jwt","kid":kid,"x5u":"https://evil.example/cert.pem"}),
            ),
            ForbiddenHeader,
        ),
        attack(
            "x5c in the header",
            Hs256,
            with_header(json!({"alg":"HS256","typ":"at+jwt","kid":kid,"x5c":["MIIB"]})),
            ForbiddenHeader,
        ),
        attack(
            "crit in the header",
            Hs256,
            with_header(json!({"alg":"HS256","typ":"at+jwt","kid":kid,"crit":["b64"],"b64":false})),
            ForbiddenHeader,
        ),
        attack(
            "ES256 all-zero signature",
            Es256,
            format!(
                "{}.{}.{}",
                b64(json!({"alg":"ES256","typ":"at+jwt","kid":es_kid}).to_string()),
                b64(&good_claims),
                b64([0u8; 64])
            ),
            BadSignature,
        ),
        attack(
            "duplicate exp claims",
            Hs256,
            signed(
                &header(&kid),
                &good_claims.replacen("\"exp\":", &format!("\"exp\":{},\"exp\":", now() - 1000), 1),
                secret,
            ),
            InvalidClaims,
        ),
        attack(
            "duplicate alg in the header",
            Hs256,
            signed(
                &format!(r#"{{"alg":"none","alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#),
                &good_claims,
                secret,
            ),
            Malformed,
        ),
        attack(
            "exp as a string",
            Hs256,
            with_claims(|c| {
                c.insert("exp".into(), json!((now() + 600).to_string()));
            }),
            InvalidClaims,
        ),
        attack(
            "nbf as a string",
            Hs256,
            with_claims(|c| {
                c.insert("nbf".into(), json!(now().to_string()));
            }),
            InvalidClaims,
        ),
        attack(
            "exp as a fraction",
            Hs256,
            with_claims(|c| {
                c.insert("exp".into(), json!(now() as f64 + 600.5));
            }),
            InvalidClaims,
        ),
        attack(
            "typ JWT instead of at+jwt",
            Hs256,
            with_header(json!({"alg":"HS256","typ":"JWT","kid":kid})),
            WrongType,
        ),
        attack(
            "typ missing",
            Hs256,
            with_header(json!({"alg":"HS256","kid":kid})),
            WrongType,
        ),
        attack("empty token", Hs256, String::new(), Missing),
    ];
    assert!(cases.len() >= 30, "the suite must keep at least 30 cases");

    for Attack {
        name,
        verifier,
        token,
        reason,
    } in &cases
    {
        let (authorizer, verifier) = &targets[*verifier as usize];
        assert_eq!(
            verifier.verify(token, now()).map(|_| ()),
            Err(*reason),
            "attack case {name:?} is refused, for the intended reason"
        );
        let outcome = run(authorizer, &rest_token_event(&format!("Bearer {token}"))).await;
        assert_eq!(
            outcome,
            Err(AuthorizerError::Unauthorized),
            "attack case {name:?} was not refused by a REST TOKEN authorizer"
        );
        let http_api = run(authorizer, &load_event("authorizer-http-api.json", token)).await;
        assert_eq!(
            http_api.map(|response| response["isAuthorized"].clone()),
            Ok(json!(false)),
            "attack case {name:?} was not refused by an HTTP API authorizer"
        );
    }

    // Authorization values that carry no bearer token at all.
    let hs_authorizer = &targets[0].0;
    let malformed_values = [
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer    ".to_owned(),
        String::new(),
        format!("Basic {valid}"),
        format!("Token {valid}"),
        valid.clone(),
        format!("Bearer {valid} extra"),
        format!("Bearer{valid}"),
    ];
    for authorization in &malformed_values {
        let outcome = run(hs_authorizer, &rest_token_event(authorization)).await;
        assert_eq!(
            outcome,
            Err(AuthorizerError::Unauthorized),
            "authorization {authorization:?}"
        );
    }
    println!(
        "attack suite: {} token cases, {} Authorization values",
        cases.len(),
        malformed_values.len()
    );

    // Controls: the suite fails for the right reasons, not because nothing ever passes.
    for authorization in [
        format!("Bearer {valid}"),
        format!("bearer {valid}"),
        format!("  BEARER   {valid} "),
        format!("Bearer {}", signed(&header(&kid), &good_claims, secret)),
    ] {
        assert!(
            run(hs_authorizer, &rest_token_event(&authorization))
                .await
                .is_ok(),
            "{authorization:?} is accepted (the scheme is case-insensitive)"
        );
    }
}

// ---------------------------------------------------------------- asymmetric keys and rotation

#[tokio::test]
async fn asymmetric_tokens_verify_with_public_keys_only_and_the_jwks_publishes_them() {
    for (algorithm, kty) in [("RS256", "RSA"), ("ES256", "EC"), ("EdDSA", "OKP")] {
        let (private, public) = key_pair(algorithm);
        // The login side holds the private key and signs.
        let signer = issuer(&[
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PRIVATE_KEY", &private),
            ("JWT_ACCESS_SECRET", ""),
        ]);
        let token = issue_with(&signer, "user");
        let token_header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(
            format!("{:?}", token_header.alg),
            algorithm,
            "{algorithm}: the token names the configured algorithm"
        );
        // The authorizer holds only the public key.
        let verifier_env = [
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PUBLIC_KEY", public.as_str()),
            ("JWT_ACCESS_SECRET", ""),
        ];
        let verifier = authorizer(&verifier_env);
        let response = run(&verifier, &rest_token_event(&format!("Bearer {token}")))
            .await
            .unwrap_or_else(|error| panic!("{algorithm}: {error}"));
        assert_eq!(
            response["principalId"],
            claims(&token)["sub"],
            "{algorithm}"
        );
        assert!(
            issuer(&verifier_env)
                .issue(
                    &UserId::generate(),
                    &Role::user(),
                    &SessionId::generate(),
                    now()
                )
                .is_err(),
            "{algorithm}: a verifier cannot issue"
        );

        let keys = KeySet::from_env(&env(&verifier_env)).expect("public keys");
        assert!(
            !keys.can_sign(),
            "{algorithm}: a verifier holds no private key"
        );
        let jwks = serde_json::to_value(keys.jwks()).expect("jwks");
        assert_eq!(
            jwks["keys"].as_array().map(Vec::len),
            Some(1),
            "{algorithm}"
        );
        let published = &jwks["keys"][0];
        assert_eq!(
            published["kid"],
            token_header.kid.as_deref().expect("kid"),
            "{algorithm}: the JWKS names the key the token names"
        );
        assert_eq!(published["kty"], kty, "{algorithm}");
        assert_eq!(published["use"], "sig");
        for private_part in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(
                published.get(private_part).is_none(),
                "{algorithm} JWKS leaks {private_part}"
            );
        }
        let signer_jwks = serde_json::to_value(
            KeySet::from_env(&env(&[
                ("JWT_ALGORITHM", algorithm),
                ("JWT_PRIVATE_KEY", &private),
                ("JWT_ACCESS_SECRET", ""),
            ]))
            .expect("keys")
            .jwks(),
        )
        .expect("jwks");
        assert_eq!(
            signer_jwks, jwks,
            "{algorithm}: the public key derived from the private key is the one published"
        );

        // Rotation: a new pair signs, the old public key stays as the previous one for a while.
        let (next_private, next_public) = key_pair(algorithm);
        let next_signer = issuer(&[
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PRIVATE_KEY", &next_private),
            ("JWT_PUBLIC_KEY_PREVIOUS", &public),
            ("JWT_ACCESS_SECRET", ""),
        ]);
        let next_token = issue_with(&next_signer, "user");
        assert_ne!(kid_of(&next_token), kid_of(&token), "{algorithm}");
        let grace_env = [
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PUBLIC_KEY", next_public.as_str()),
            ("JWT_PUBLIC_KEY_PREVIOUS", public.as_str()),
            ("JWT_ACCESS_SECRET", ""),
        ];
        let grace = authorizer(&grace_env);
        for (which, presented) in [("old", &token), ("new", &next_token)] {
            assert!(
                run(&grace, &rest_token_event(&format!("Bearer {presented}")))
                    .await
                    .is_ok(),
                "{algorithm}: the {which} key's token verifies during rotation"
            );
        }
        let grace_jwks =
            serde_json::to_value(KeySet::from_env(&env(&grace_env)).expect("keys").jwks())
                .expect("jwks");
        let kids: Vec<&str> = grace_jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter_map(|key| key["kid"].as_str())
            .collect();
        assert_eq!(
            kids,
            [kid_of(&next_token), kid_of(&token)],
            "{algorithm}: both keys are published, the current one first"
        );

        let retired_env = [
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PUBLIC_KEY", next_public.as_str()),
            ("JWT_ACCESS_SECRET", ""),
        ];
        let retired = authorizer(&retired_env);
        assert!(
            run(&retired, &rest_token_event(&format!("Bearer {next_token}")))
                .await
                .is_ok(),
            "{algorithm}"
        );
        assert_eq!(
            run(&retired, &rest_token_event(&format!("Bearer {token}"))).await,
            Err(AuthorizerError::Unauthorized),
            "{algorithm}: once the previous key is removed its tokens are refused"
        );
        assert_eq!(
            issuer(&retired_env).verify(&token, now()).map(|_| ()),
            Err(Rejection::UnknownKey),
            "{algorithm}"
        );

        let mismatched = AccessTokenConfig::from_env(&env(&[
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PRIVATE_KEY", &private),
            ("JWT_PUBLIC_KEY", &next_public),
            ("JWT_ACCESS_SECRET", ""),
        ]))
        .expect_err("a public key of another pair");
        assert!(
            mismatched.to_string().contains("JWT_PUBLIC_KEY"),
            "{algorithm}: {mismatched}"
        );
    }
}

#[tokio::test]
async fn hs256_rotation_accepts_the_previous_secret_until_it_is_removed() {
    let old_token = issue("user");
    let new_secret = "the-next-access-secret-of-at-least-32-bytes";
    let rotating = [
        ("JWT_ACCESS_SECRET", new_secret),
        ("JWT_ACCESS_SECRET_PREVIOUS", SECRET),
    ];
    let new_token = issue_with(&issuer(&rotating), "user");
    assert_ne!(
        kid_of(&new_token),
        kid_of(&old_token),
        "the new secret signs"
    );
    let during = authorizer(&rotating);
    for token in [&old_token, &new_token] {
        assert!(
            run(&during, &rest_token_event(&format!("Bearer {token}")))
                .await
                .is_ok()
        );
    }
    let after = authorizer(&[("JWT_ACCESS_SECRET", new_secret)]);
    assert_eq!(
        run(&after, &rest_token_event(&format!("Bearer {old_token}"))).await,
        Err(AuthorizerError::Unauthorized)
    );
    assert_eq!(
        issuer(&[("JWT_ACCESS_SECRET", new_secret)])
            .verify(&old_token, now())
            .map(|_| ()),
        Err(Rejection::UnknownKey)
    );
    assert!(
        run(&after, &rest_token_event(&format!("Bearer {new_token}")))
            .await
            .is_ok()
    );
    let jwks =
        serde_json::to_value(KeySet::from_env(&env(&[])).expect("keys").jwks()).expect("jwks");
    assert_eq!(
        jwks,
        json!({ "keys": [] }),
        "a shared secret is never published"
    );
}

// ---------------------------------------------------------------- strict mode

#[tokio::test]
async fn strict_mode_refuses_tokens_of_revoked_sessions() {
    let app = TestApp::spawn().await;
    let (_, registered) = app.registered_user().await;
    let token = registered.access_token();
    let config = AuthorizerConfig::from_env(&app.settings).expect("config");
    let strict = Authorizer::new(
        config,
        Some(Box::new(app.app.store.clone())),
        Arc::new(SystemClock),
    );
    let event = rest_token_event(&format!("Bearer {token}"));
    let token_claims = claims(&token);
    let (user_id, session_id) = (
        token_claims["sub"].as_str().expect("sub"),
        token_claims["sid"].as_str().expect("sid"),
    );
    app.round_trips.take();

    let allowed = run(&strict, &event)
        .await
        .expect("a live session is allowed");
    assert_eq!(allowed["principalId"], user_id);
    assert_eq!(app.round_trips.take(), 1, "one read per decision");
    let http_api = run(&strict, &load_event("authorizer-http-api.json", &token))
        .await
        .expect("simple response");
    assert_eq!(http_api["isAuthorized"], true);

    assert_eq!(app.logout_all(Some(&token)).await.status, 204);
    // The reason for what follows: the token's session is gone, nothing else changed.
    let live = app
        .app
        .store
        .is_live(user_id, session_id, app.now())
        .await
        .expect("session check");
    assert!(!live, "logout-all revoked the token's session");
    assert_eq!(
        run(&strict, &event).await,
        Err(AuthorizerError::Unauthorized),
        "logout-all takes effect at once"
    );
    let http_api = run(&strict, &load_event("authorizer-http-api.json", &token))
        .await
        .expect("simple response");
    assert_eq!(http_api, json!({ "isAuthorized": false, "context": {} }));

    let relaxed = Authorizer::new(
        AuthorizerConfig::from_env(&app.settings).expect("config"),
        None,
        Arc::new(SystemClock),
    );
    assert!(
        run(&relaxed, &event).await.is_ok(),
        "without strict mode the token lives until it expires"
    );
}

// ---------------------------------------------------------------- the protected example function

/// The app's own settings as authorizer configuration pairs (same secret, issuer, audience).
fn app_env(app: &TestApp) -> Vec<(&str, &str)> {
    app.settings
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect()
}

async fn me_event(
    file: &str,
    user_id: &str,
    edit: impl FnOnce(&mut Value),
) -> lambda_http::Request {
    let text = std::fs::read_to_string(format!("{EVENTS_DIR}/{file}"))
        .expect("event")
        .replace("{{USER_ID}}", user_id);
    let mut event: Value = serde_json::from_str(&text).expect("json");
    edit(&mut event);
    lambda_http::request::from_str(&event.to_string()).expect("HTTP API event")
}

#[tokio::test]
async fn the_me_function_reads_the_authorizer_context_and_returns_the_profile() {
    let app = TestApp::spawn().await;
    let (email, registered) = app.registered_user().await;
    let user_id = registered.json["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let profiles = Profiles {
        store: app.app.store.clone(),
    };

    // The sample context has exactly the shape the authorizer produces.
    let token = registered.access_token();
    let produced = run(
        &authorizer(&app_env(&app)),
        &rest_token_event(&format!("Bearer {token}")),
    )
    .await
    .expect("authorized")["context"]
        .clone();
    for file in ["me.json", "me-admin-user.json"] {
        let event: Value = serde_json::from_str(&load_event(file, ""))
            .unwrap_or_else(|error| panic!("{file}: {error}"));
        let sample = &event["requestContext"]["authorizer"]["lambda"];
        let shape = |context: &Value| -> Vec<(String, bool)> {
            context
                .as_object()
                .expect("object")
                .iter()
                .map(|(key, value)| (key.clone(), value.is_number()))
                .collect()
        };
        assert_eq!(shape(sample), shape(&produced), "{file}");
    }

    let own = TestResponse::from(me(&profiles, me_event("me.json", &user_id, |_| {}).await).await);
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json["user"]["id"], user_id.as_str());
    assert_eq!(own.json["user"]["email"], email.as_str());
    assert_eq!(own.json["user"]["role"], "user");
    assert!(
        !own.text.to_ascii_lowercase().contains("password"),
        "no password hash in a profile: {}",
        own.text
    );

    let admin = TestResponse::from(
        me(
            &profiles,
            me_event("me-admin-user.json", &user_id, |_| {}).await,
        )
        .await,
    );
    assert_eq!(admin.status, 200, "{}", admin.text);
    assert_eq!(admin.json["user"]["id"], user_id.as_str());

    let as_user = me_event("me-admin-user.json", &user_id, |event| {
        event["requestContext"]["authorizer"]["lambda"]["role"] = json!("user");
    })
    .await;
    TestResponse::from(me(&profiles, as_user).await).assert_error(403, "FORBIDDEN");

    let unknown = me_event("me.json", &"0".repeat(32), |_| {}).await;
    TestResponse::from(me(&profiles, unknown).await).assert_error(404, "NOT_FOUND");
    let unknown_target = me_event("me-admin-user.json", &"0".repeat(32), |_| {}).await;
    TestResponse::from(me(&profiles, unknown_target).await).assert_error(404, "NOT_FOUND");

    let unprotected = me_event("me-without-authorizer.json", &user_id, |_| {}).await;
    TestResponse::from(me(&profiles, unprotected).await).assert_error(401, "MISSING_TOKEN");
}

// ---------------------------------------------------------------- interop with the seed's Node stack

/// Node's `jsonwebtoken@9`, installed once under target/ from npm.
fn node_jsonwebtoken() -> PathBuf {
    let prefix = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/npm-jsonwebtoken");
    if !prefix
        .join("node_modules/jsonwebtoken/package.json")
        .exists()
    {
        std::fs::create_dir_all(&prefix).expect("create target/npm-jsonwebtoken");
        let status = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
            ])
            .arg(&prefix)
            .arg("jsonwebtoken@9")
            .status()
            .expect("npm is required for the interop test (install Node.js with npm)");
        assert!(status.success(), "npm install jsonwebtoken@9 failed");
    }
    prefix.join("node_modules")
}

fn node(script: &str, vars: &[(&str, &str)]) -> String {
    let output = Command::new("node")
        .arg("-e")
        .arg(script)
        .env("NODE_PATH", node_jsonwebtoken())
        .envs(vars.iter().copied())
        .output()
        .expect("node is required for the interop test");
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn tokens_interoperate_with_node_jsonwebtoken_in_both_directions() {
    let kid = kid_of(&issue("user"));
    let from_node = node(
        "const jwt = require('jsonwebtoken');
         process.stdout.write(jwt.sign(
           { sub: '0123456789abcdef0123456789abcdef', role: 'user', sid: 'fedcba9876543210fedcba9876543210' },
           process.env.SECRET,
           { algorithm: 'HS256', expiresIn: '15m', notBefore: 0, issuer: process.env.ISSUER, audience: process.env.AUDIENCE,
             keyid: process.env.KID, header: { typ: 'at+jwt' } }));",
        &[("SECRET", SECRET), ("ISSUER", ISSUER), ("AUDIENCE", AUDIENCE), ("KID", &kid)],
    );
    let node_header = jsonwebtoken::decode_header(&from_node).expect("Node's header");
    assert_eq!(node_header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(node_header.kid.as_deref(), Some(kid.as_str()));
    let node_claims = claims(&from_node);
    assert_eq!(node_claims["nbf"], node_claims["iat"], "notBefore: 0");
    let response = run(
        &authorizer(&[]),
        &rest_token_event(&format!("Bearer {from_node}")),
    )
    .await
    .expect("Node's token is accepted");
    assert_eq!(response["principalId"], "0123456789abcdef0123456789abcdef");
    assert_eq!(
        response["context"]["sessionId"],
        "fedcba9876543210fedcba9876543210"
    );
    assert_eq!(response["context"]["expiresAt"], node_claims["exp"]);

    let ours = issue("user");
    let verified = node(
        "const jwt = require('jsonwebtoken');
         const claims = jwt.verify(process.env.TOKEN, process.env.SECRET,
           { algorithms: ['HS256'], issuer: process.env.ISSUER, audience: process.env.AUDIENCE });
         process.stdout.write(JSON.stringify(claims));",
        &[
            ("TOKEN", &ours),
            ("SECRET", SECRET),
            ("ISSUER", ISSUER),
            ("AUDIENCE", AUDIENCE),
        ],
    );
    let node_claims: Value = serde_json::from_str(&verified).expect("claims from Node");
    assert_eq!(node_claims, claims(&ours), "Node reads the same claims");

    // Control: Node's verify really checks, so the acceptance above means something.
    let refused = node(
        "const jwt = require('jsonwebtoken');
         try {
           jwt.verify(process.env.TOKEN, process.env.SECRET,
             { algorithms: ['HS256'], issuer: process.env.ISSUER, audience: 'another-api' });
           process.stdout.write('accepted');
         } catch (error) { process.stdout.write(error.name); }",
        &[("TOKEN", &ours), ("SECRET", SECRET), ("ISSUER", ISSUER)],
    );
    assert_eq!(refused, "JsonWebTokenError");
}
