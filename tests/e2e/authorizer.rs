//! The authorizer: every event shape from `events/`, cache-safe policies, a flat context, the
//! attack suite, asymmetric keys and rotation, strict mode, and interop with the seed's Node stack.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use auth_core::authorizer::{Authorizer, AuthorizerConfig, AuthorizerError};
use auth_core::clock::{Clock, SystemClock};
use auth_core::domain::{Role, SessionId, UserId};
use auth_core::handlers::{Profiles, me};
use auth_core::token::{AccessTokenConfig, AccessTokens, KeySet};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::{TestApp, TestResponse, claims};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "authorizer-test-secret-of-at-least-32-bytes";
const ISSUER: &str = "https://auth.test";
const AUDIENCE: &str = "test-api";
const ROUTE_ROLES: &str = "GET /admin/*=admin;DELETE /users/*=admin|support";
const EVENTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod/GET/me";

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
    format!("arn:aws:execute-api:us-east-1:123456789012:api1234567/prod/{method}{path}")
}

// ---------------------------------------------------------------- event shapes

#[tokio::test]
async fn every_authorizer_event_file_gets_the_answer_for_its_shape() {
    let authorizer = authorizer(&[]);
    let user_token = issue("user");
    for file in EVENT_FILES
        .iter()
        .filter(|file| file.starts_with("authorizer-"))
    {
        let outcome = run(&authorizer, &load_event(file, &user_token)).await;
        match *file {
            "authorizer-rest-token.json"
            | "authorizer-rest-request-header.json"
            | "authorizer-rest-request-cookie.json" => {
                let response = outcome.unwrap_or_else(|error| panic!("{file}: {error}"));
                assert!(
                    policy_allows(&response["policyDocument"], &route("GET", "/me")),
                    "{file}: {response}"
                );
                assert!(
                    !policy_allows(&response["policyDocument"], &route("GET", "/admin/users")),
                    "{file}"
                );
                assert_eq!(response["context"]["role"], "user", "{file}");
            }
            "authorizer-rest-token-missing.json" | "authorizer-rest-token-malformed.json" => {
                let error = outcome.expect_err(file);
                assert_eq!(error, AuthorizerError::Unauthorized);
                assert_eq!(
                    error.to_string(),
                    "Unauthorized",
                    "API Gateway maps exactly this message to 401"
                );
            }
            "authorizer-http-api.json" | "authorizer-http-api-cookie.json" => {
                let response = outcome.unwrap_or_else(|error| panic!("{file}: {error}"));
                assert_eq!(response["isAuthorized"], true, "{file}: {response}");
                assert_eq!(response["context"]["role"], "user");
            }
            "authorizer-http-api-admin-route.json" => {
                let response = outcome.expect("a valid token is answered");
                assert_eq!(
                    response["isAuthorized"], false,
                    "a user may not call an admin route"
                );
                assert_eq!(
                    response["context"],
                    json!({}),
                    "no context for a denied call"
                );
                let admin = run(&authorizer, &load_event(file, &issue("admin")))
                    .await
                    .expect("admin");
                assert_eq!(admin["isAuthorized"], true);
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
    let stage = "arn:aws:execute-api:us-east-1:123456789012:api1234567/$default";
    let response = run(
        &authorizer,
        &load_event("authorizer-http-api.json", &issue("user")),
    )
    .await
    .expect("policy");
    assert!(policy_allows(
        &response["policyDocument"],
        &format!("{stage}/GET/me")
    ));
    assert!(!policy_allows(
        &response["policyDocument"],
        &format!("{stage}/GET/admin/users")
    ));
    assert_eq!(response["context"]["role"], "user");

    let denied = run(
        &authorizer,
        &load_event("authorizer-http-api.json", "forged"),
    )
    .await
    .expect("deny policy");
    assert!(!policy_allows(
        &denied["policyDocument"],
        &format!("{stage}/GET/me")
    ));
    assert_eq!(denied["principalId"], "anonymous");
}

#[tokio::test]
async fn one_cached_policy_answers_every_route_correctly() {
    let authorizer = authorizer(&[]);
    let token = issue("user");
    // API Gateway authorizes the first route, caches the document per token, and reuses it.
    let cached = run(&authorizer, &rest_token_event(&format!("Bearer {token}")))
        .await
        .expect("policy");
    let document = &cached["policyDocument"];
    assert!(policy_allows(document, &route("GET", "/me")));
    assert!(
        policy_allows(document, &route("POST", "/orders/7")),
        "routes without a rule stay open to a valid token"
    );
    assert!(
        !policy_allows(document, &route("GET", "/admin/users")),
        "the admin route is denied by the same document"
    );
    assert!(!policy_allows(
        document,
        &route("GET", "/admin/users/42/roles")
    ));
    assert!(!policy_allows(document, &route("DELETE", "/users/42")));
    assert!(
        policy_allows(document, &route("GET", "/users/42")),
        "the DELETE rule does not touch GET"
    );

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
}

#[tokio::test]
async fn the_context_is_flat_and_the_principal_is_the_subject() {
    let authorizer = authorizer(&[]);
    let token = issue("user");
    let token_claims = claims(&token);
    for event in [
        rest_token_event(&format!("Bearer {token}")),
        load_event("authorizer-http-api.json", &token),
    ] {
        let response = run(&authorizer, &event).await.expect("authorized");
        let context = response["context"].as_object().expect("context object");
        for value in context.values() {
            assert!(
                value.is_string() || value.is_number() || value.is_boolean(),
                "not flat: {value}"
            );
        }
        assert_eq!(context["userId"], token_claims["sub"]);
        assert_eq!(context["sessionId"], token_claims["sid"]);
        assert_eq!(context["role"], "user");
        assert_eq!(context["expiresAt"], token_claims["exp"]);
        if let Some(principal) = response.get("principalId") {
            assert_eq!(principal, &token_claims["sub"]);
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

#[tokio::test]
async fn the_attack_suite_is_unauthorized_every_time() {
    let secret = SECRET.as_bytes();
    let valid = issue("user");
    let kid = kid_of(&valid);
    let (signing_input, signature) = valid.rsplit_once('.').expect("jws");
    let (header_b64, payload_b64) = signing_input.split_once('.').expect("jws");
    let good_claims = claims_with(|_| {});

    let (rsa_private, rsa_public) = key_pair("RS256");
    let (ec_private, ec_public) = key_pair("ES256");
    let rs_authorizer = authorizer(&[
        ("JWT_ALGORITHM", "RS256"),
        ("JWT_PUBLIC_KEY", &rsa_public),
        ("JWT_ACCESS_SECRET", ""),
    ]);
    let es_authorizer = authorizer(&[
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PUBLIC_KEY", &ec_public),
        ("JWT_ACCESS_SECRET", ""),
    ]);
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
    let hs_authorizer = authorizer(&[]);

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
    let header_json = |value: Value| value.to_string();

    let cases: Vec<(&str, Verifier, String)> = vec![
        (
            "alg none without signature",
            Verifier::Hs256,
            format!(
                "{}.{}.",
                b64(header_json(json!({"alg":"none","typ":"at+jwt","kid":kid}))),
                b64(&good_claims)
            ),
        ),
        (
            "alg none with a signature",
            Verifier::Hs256,
            signed(
                &header_json(json!({"alg":"none","typ":"at+jwt","kid":kid})),
                &good_claims,
                secret,
            ),
        ),
        (
            "alg NONE upper case",
            Verifier::Hs256,
            signed(
                &header_json(json!({"alg":"NONE","typ":"at+jwt","kid":kid})),
                &good_claims,
                secret,
            ),
        ),
        (
            "alg confusion: HS256 keyed with the RSA public key",
            Verifier::Rs256,
            signed(
                &header_json(json!({"alg":"HS256","typ":"at+jwt","kid":rs_kid})),
                &good_claims,
                rsa_public.as_bytes(),
            ),
        ),
        (
            "alg confusion: HS256 keyed with the EC public key",
            Verifier::Es256,
            signed(
                &header_json(json!({"alg":"HS256","typ":"at+jwt","kid":es_kid})),
                &good_claims,
                ec_public.as_bytes(),
            ),
        ),
        (
            "HS384 with the right secret",
            Verifier::Hs256,
            signed(
                &header_json(json!({"alg":"HS384","typ":"at+jwt","kid":kid})),
                &good_claims,
                secret,
            ),
        ),
        (
            "wrong secret",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &good_claims,
                b"another-secret-of-at-least-32-bytes-long",
            ),
        ),
        (
            "expired",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.insert("exp".into(), json!(now() - 120));
                }),
                secret,
            ),
        ),
        (
            "nbf in the future",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.insert("nbf".into(), json!(now() + 600));
                }),
                secret,
            ),
        ),
        (
            "missing exp",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.remove("exp");
                }),
                secret,
            ),
        ),
        (
            "missing nbf",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.remove("nbf");
                }),
                secret,
            ),
        ),
        (
            "missing iss",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.remove("iss");
                }),
                secret,
            ),
        ),
        (
            "missing aud",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.remove("aud");
                }),
                secret,
            ),
        ),
        (
            "missing sub",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.remove("sub");
                }),
                secret,
            ),
        ),
        (
            "wrong iss",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.insert("iss".into(), json!("https://evil.example"));
                }),
                secret,
            ),
        ),
        (
            "wrong aud",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.insert("aud".into(), json!("other-api"));
                }),
                secret,
            ),
        ),
        (
            "a signature valid for another audience",
            Verifier::Hs256,
            other_audience,
        ),
        ("a refresh token", Verifier::Hs256, refresh_token),
        (
            "tampered header",
            Verifier::Hs256,
            format!(
                "{}.{payload_b64}.{signature}",
                b64(header_json(
                    json!({"alg":"HS256","typ":"at+jwt","kid":kid,"x":1})
                ))
            ),
        ),
        (
            "tampered payload",
            Verifier::Hs256,
            format!(
                "{header_b64}.{}.{signature}",
                b64(claims_with(|c| {
                    c.insert("role".into(), json!("admin"));
                }))
            ),
        ),
        (
            "tampered signature",
            Verifier::Hs256,
            format!("{signing_input}.{flipped_signature}"),
        ),
        (
            "truncated",
            Verifier::Hs256,
            valid[..valid.len() - 10].to_owned(),
        ),
        (
            "signature missing",
            Verifier::Hs256,
            format!("{signing_input}."),
        ),
        ("two segments", Verifier::Hs256, signing_input.to_owned()),
        (
            "extra segments",
            Verifier::Hs256,
            format!("{valid}.{signature}"),
        ),
        (
            "non-base64url characters",
            Verifier::Hs256,
            valid.replacen(|c: char| c.is_ascii_alphabetic(), "+", 1),
        ),
        (
            "base64 padding",
            Verifier::Hs256,
            format!("{header_b64}=.{payload_b64}.{signature}"),
        ),
        (
            "whitespace inside",
            Verifier::Hs256,
            format!("{header_b64}. {payload_b64}.{signature}"),
        ),
        (
            "non-JSON header",
            Verifier::Hs256,
            signed("hello", &good_claims, secret),
        ),
        (
            "non-JSON payload",
            Verifier::Hs256,
            signed(&header(&kid), "not json", secret),
        ),
        (
            "oversize",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.insert("pad".into(), json!("x".repeat(9000)));
                }),
                secret,
            ),
        ),
        (
            "unknown kid",
            Verifier::Hs256,
            signed(&header("some-other-key"), &good_claims, secret),
        ),
        (
            "missing kid",
            Verifier::Hs256,
            signed(
                &header_json(json!({"alg":"HS256","typ":"at+jwt"})),
                &good_claims,
                secret,
            ),
        ),
        (
            "kid path traversal",
            Verifier::Hs256,
            signed(&header("../../../../etc/passwd"), &good_claims, secret),
        ),
        (
            "jwk in the header",
            Verifier::Hs256,
            signed(
                &header_json(
                    json!({"alg":"HS256","typ":"at+jwt","kid":kid,"jwk":{"kty":"oct","k":b64(secret)}}),
                ),
                &good_claims,
                secret,
            ),
        ),
        (
            "jku in the header",
            Verifier::Hs256,
            signed(
                &header_json(
                    json!({"alg":"HS256","typ":"at+jwt","kid":kid,"jku":"https://evil.example/jwks.json"}),
                ),
                &good_claims,
                secret,
            ),
        ),
        (
            "x5u in the header",
            Verifier::Hs256,
            signed(
                &header_json(
                    json!({"alg":"HS256","typ":"at+jwt","kid":kid,"x5u":"https://evil.example/cert.pem"}),
                ),
                &good_claims,
                secret,
            ),
        ),
        (
            "x5c in the header",
            Verifier::Hs256,
            signed(
                &header_json(json!({"alg":"HS256","typ":"at+jwt","kid":kid,"x5c":["MIIB"]})),
                &good_claims,
                secret,
            ),
        ),
        (
            "crit in the header",
            Verifier::Hs256,
            signed(
                &header_json(
                    json!({"alg":"HS256","typ":"at+jwt","kid":kid,"crit":["b64"],"b64":false}),
                ),
                &good_claims,
                secret,
            ),
        ),
        (
            "ES256 all-zero signature",
            Verifier::Es256,
            format!(
                "{}.{}.{}",
                b64(header_json(
                    json!({"alg":"ES256","typ":"at+jwt","kid":es_kid})
                )),
                b64(&good_claims),
                b64([0u8; 64])
            ),
        ),
        (
            "duplicate exp claims",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &good_claims.replacen("\"exp\":", &format!("\"exp\":{},\"exp\":", now() - 1000), 1),
                secret,
            ),
        ),
        (
            "duplicate alg in the header",
            Verifier::Hs256,
            signed(
                &format!(r#"{{"alg":"none","alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#),
                &good_claims,
                secret,
            ),
        ),
        (
            "exp as a string",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.insert("exp".into(), json!((now() + 600).to_string()));
                }),
                secret,
            ),
        ),
        (
            "nbf as a string",
            Verifier::Hs256,
            signed(
                &header(&kid),
                &claims_with(|c| {
                    c.insert("nbf".into(), json!(now().to_string()));
                }),
                secret,
            ),
        ),
        (
            "typ JWT instead of at+jwt",
            Verifier::Hs256,
            signed(
                &header_json(json!({"alg":"HS256","typ":"JWT","kid":kid})),
                &good_claims,
                secret,
            ),
        ),
        (
            "typ missing",
            Verifier::Hs256,
            signed(
                &header_json(json!({"alg":"HS256","kid":kid})),
                &good_claims,
                secret,
            ),
        ),
        ("empty token", Verifier::Hs256, String::new()),
    ];
    assert!(cases.len() >= 30, "the suite must keep at least 30 cases");

    for (name, verifier, token) in &cases {
        let target = match verifier {
            Verifier::Hs256 => &hs_authorizer,
            Verifier::Rs256 => &rs_authorizer,
            Verifier::Es256 => &es_authorizer,
        };
        let outcome = run(target, &rest_token_event(&format!("Bearer {token}"))).await;
        assert_eq!(
            outcome,
            Err(AuthorizerError::Unauthorized),
            "attack case {name:?} was not refused"
        );
    }
    for authorization in [
        "Bearer",
        "Bearer ",
        "",
        &format!("Basic {valid}"),
        &valid,
        &format!("Bearer {valid} extra"),
    ] {
        let outcome = run(&hs_authorizer, &rest_token_event(authorization)).await;
        assert_eq!(
            outcome,
            Err(AuthorizerError::Unauthorized),
            "authorization {authorization:?}"
        );
    }

    // Controls: the suite fails for the right reasons, not because nothing ever passes.
    assert!(
        run(
            &hs_authorizer,
            &rest_token_event(&format!("Bearer {valid}"))
        )
        .await
        .is_ok()
    );
    assert!(
        run(
            &hs_authorizer,
            &rest_token_event(&format!("  bearer   {valid} "))
        )
        .await
        .is_ok(),
        "scheme is case-insensitive"
    );
    assert!(
        run(
            &hs_authorizer,
            &rest_token_event(&format!(
                "Bearer {}",
                signed(&header(&kid), &good_claims, secret)
            ))
        )
        .await
        .is_ok()
    );
}

// ---------------------------------------------------------------- asymmetric keys and rotation

#[tokio::test]
async fn asymmetric_tokens_verify_with_public_keys_only_and_the_jwks_publishes_them() {
    for algorithm in ["RS256", "ES256", "EdDSA"] {
        let (private, public) = key_pair(algorithm);
        let signer = issuer(&[
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PRIVATE_KEY", &private),
            ("JWT_ACCESS_SECRET", ""),
        ]);
        let token = issue_with(&signer, "user");
        let verifier_env = [
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PUBLIC_KEY", public.as_str()),
            ("JWT_ACCESS_SECRET", ""),
        ];
        let verifier = authorizer(&verifier_env);
        assert!(
            run(&verifier, &rest_token_event(&format!("Bearer {token}")))
                .await
                .is_ok(),
            "{algorithm}"
        );

        let keys = KeySet::from_env(&env(&verifier_env)).expect("public keys");
        assert!(
            !keys.can_sign(),
            "{algorithm}: a verifier holds no private key"
        );
        let jwks = serde_json::to_value(keys.jwks()).expect("jwks");
        let published = &jwks["keys"][0];
        assert_eq!(published["kid"], kid_of(&token).as_str(), "{algorithm}");
        assert_eq!(published["use"], "sig");
        for private_part in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                published.get(private_part).is_none(),
                "{algorithm} JWKS leaks {private_part}"
            );
        }

        let (_, other_public) = key_pair(algorithm);
        let rotated_env = [
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PUBLIC_KEY", other_public.as_str()),
            ("JWT_ACCESS_SECRET", ""),
        ];
        assert!(
            run(
                &authorizer(&rotated_env),
                &rest_token_event(&format!("Bearer {token}"))
            )
            .await
            .is_err(),
            "{algorithm}: unknown key"
        );
        let grace_env = [
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PUBLIC_KEY", other_public.as_str()),
            ("JWT_PUBLIC_KEY_PREVIOUS", public.as_str()),
            ("JWT_ACCESS_SECRET", ""),
        ];
        assert!(
            run(
                &authorizer(&grace_env),
                &rest_token_event(&format!("Bearer {token}"))
            )
            .await
            .is_ok(),
            "{algorithm}: previous key"
        );
    }
}

#[tokio::test]
async fn hs256_rotation_accepts_the_previous_secret_until_it_is_removed() {
    let old_token = issue("user");
    let new_secret = "the-next-access-secret-of-at-least-32-bytes";
    let during = authorizer(&[
        ("JWT_ACCESS_SECRET", new_secret),
        ("JWT_ACCESS_SECRET_PREVIOUS", SECRET),
    ]);
    assert!(
        run(&during, &rest_token_event(&format!("Bearer {old_token}")))
            .await
            .is_ok()
    );
    let after = authorizer(&[("JWT_ACCESS_SECRET", new_secret)]);
    assert_eq!(
        run(&after, &rest_token_event(&format!("Bearer {old_token}"))).await,
        Err(AuthorizerError::Unauthorized)
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
    app.round_trips.take();

    assert!(run(&strict, &event).await.is_ok());
    assert_eq!(app.round_trips.take(), 1, "one read per decision");

    assert_eq!(app.logout_all(Some(&token)).await.status, 204);
    assert_eq!(
        run(&strict, &event).await,
        Err(AuthorizerError::Unauthorized),
        "logout-all takes effect at once"
    );

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

    let own = TestResponse::from(me(&profiles, me_event("me.json", &user_id, |_| {}).await).await);
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json["user"]["email"], email.as_str());

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
    let response = run(
        &authorizer(&[]),
        &rest_token_event(&format!("Bearer {from_node}")),
    )
    .await
    .expect("Node's token is accepted");
    assert_eq!(response["principalId"], "0123456789abcdef0123456789abcdef");

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
    assert_eq!(node_claims["sub"], claims(&ours)["sub"]);
    assert_eq!(node_claims["role"], "user");
}
