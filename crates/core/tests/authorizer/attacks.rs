//! The attack suite: every forged or broken token is refused with the 401 error, for its exact
//! reason, by REST TOKEN, REST REQUEST and HTTP API (simple and iam) authorizers alike; and a
//! credential outside the identity source API Gateway caches on is never used.

use auth_core::authorizer::{Authorizer, Denial};
use auth_core::domain::{SessionId, UserId};
use auth_core::token::{AccessTokens, RefreshKeys, Rejection};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{
    AUDIENCE, ISSUER, NOW, SECRET, assert_unauthorized, authorizer, decide, http_api_bearer_event,
    http_api_event, issue, issue_with, issuer, key_pair, kid_of, rest_request_event,
    rest_token_event, run, verifier,
};

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

fn header(kid: &str) -> String {
    json!({ "alg": "HS256", "typ": "at+jwt", "kid": kid }).to_string()
}

fn claims_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut claims = json!({
        "sub": "0123456789abcdef0123456789abcdef", "role": "user", "sid": "fedcba9876543210fedcba9876543210",
        "iss": ISSUER, "aud": AUDIENCE, "iat": NOW, "nbf": NOW, "exp": NOW + 600, "jti": "j"
    });
    edit(claims.as_object_mut().expect("object"));
    claims.to_string()
}

#[derive(Clone, Copy, Debug)]
enum Verifier {
    Hs256,
    Rs256,
    Es256,
}

/// One forged or broken token, the keys it is presented to, and why it must be refused.
struct Attack {
    name: &'static str,
    verifier: Verifier,
    token: String,
    /// What `AccessTokens::verify` says about the token itself.
    reason: Rejection,
    /// What the authorizer says about `Bearer {token}`, when the value is refused before the
    /// token is even verified (not one well-formed bearer credential).
    as_bearer: Option<Rejection>,
}

fn attack(name: &'static str, verifier: Verifier, token: String, reason: Rejection) -> Attack {
    Attack {
        name,
        verifier,
        token,
        reason,
        as_bearer: None,
    }
}

/// The authorizers one verifier's keys are deployed in, and the keys themselves.
struct Target {
    simple: Authorizer,
    iam: Authorizer,
    tokens: AccessTokens,
}

fn target(pairs: &[(&str, &str)]) -> Target {
    let mut iam = pairs.to_vec();
    iam.push(("AUTHORIZER_RESPONSE", "iam"));
    Target {
        simple: authorizer(pairs),
        iam: authorizer(&iam),
        tokens: verifier(pairs),
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
    let targets = [target(&[]), target(&rs_env), target(&es_env)];
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

    let refresh_token = RefreshKeys::new(
        &SecretString::from("a-refresh-secret-of-at-least-32-bytes!!".to_owned()),
        None,
    )
    .first(&UserId::generate(), &SessionId::generate())
    .encode();
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
                c.insert("exp".into(), json!(NOW - 120));
            }),
            Expired,
        ),
        attack(
            "expired just past the 5s leeway",
            Hs256,
            with_claims(|c| {
                c.insert("exp".into(), json!(NOW - 6));
            }),
            Expired,
        ),
        attack(
            "nbf in the future",
            Hs256,
            with_claims(|c| {
                c.insert("nbf".into(), json!(NOW + 600));
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
        Attack {
            // `Bearer h. p.s` is two words: no bearer credential at all.
            as_bearer: Some(Malformed),
            ..attack(
                "whitespace inside",
                Hs256,
                format!("{header_b64}. {payload_b64}.{signature}"),
                BadSignature,
            )
        },
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
            "zip in the header",
            Hs256,
            with_header(json!({"alg":"HS256","typ":"at+jwt","kid":kid,"zip":"DEF"})),
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
                &good_claims.replacen("\"exp\":", &format!("\"exp\":{},\"exp\":", NOW - 1000), 1),
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
                c.insert("exp".into(), json!((NOW + 600).to_string()));
            }),
            InvalidClaims,
        ),
        attack(
            "nbf as a string",
            Hs256,
            with_claims(|c| {
                c.insert("nbf".into(), json!(NOW.to_string()));
            }),
            InvalidClaims,
        ),
        attack(
            "exp as a fraction",
            Hs256,
            with_claims(|c| {
                c.insert("exp".into(), json!(NOW as f64 + 600.5));
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
        Attack {
            // `Bearer ` with nothing after it is a present but malformed credential.
            as_bearer: Some(Malformed),
            ..attack("empty token", Hs256, String::new(), Missing)
        },
    ];
    assert!(cases.len() >= 60, "the suite must keep at least 60 cases");

    for Attack {
        name,
        verifier,
        token,
        reason,
        as_bearer,
    } in &cases
    {
        let target = &targets[*verifier as usize];
        assert_eq!(
            target.tokens.verify(token, NOW).map(|_| ()),
            Err(*reason),
            "attack case {name:?} is refused, for the intended reason"
        );
        let denial = Denial::Token(as_bearer.unwrap_or(*reason));
        let authorization = format!("Bearer {token}");
        for (authorizer, shape, event) in [
            (
                &target.simple,
                "REST TOKEN",
                rest_token_event(&authorization),
            ),
            (
                &target.simple,
                "REST REQUEST",
                rest_request_event(&[("Authorization", &authorization)]),
            ),
            (
                &target.simple,
                "HTTP API simple",
                http_api_bearer_event(&authorization),
            ),
            (
                &target.iam,
                "HTTP API iam",
                http_api_bearer_event(&authorization),
            ),
        ] {
            assert_unauthorized(
                authorizer,
                &event,
                denial,
                &format!("attack case {name:?} through a {shape} authorizer"),
            )
            .await;
        }
    }

    // Authorization values that carry no bearer token at all.
    let hs = &targets[0];
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
        format!("Bearer {valid}, Bearer {valid}"),
        format!("Bearer {valid},Bearer {}", issue("admin")),
        format!("Bearer \"{valid}\""),
    ];
    for authorization in &malformed_values {
        for (authorizer, event) in [
            (&hs.simple, rest_token_event(authorization)),
            (&hs.simple, http_api_bearer_event(authorization)),
            (&hs.iam, http_api_bearer_event(authorization)),
        ] {
            assert_unauthorized(
                authorizer,
                &event,
                Denial::Token(Malformed),
                &format!("authorization {authorization:?}"),
            )
            .await;
        }
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
        for event in [
            rest_token_event(&authorization),
            http_api_bearer_event(&authorization),
        ] {
            let (answer, denial) = decide(&hs.simple, &event).await;
            assert_eq!(
                denial, None,
                "{authorization:?} (the scheme is case-insensitive)"
            );
            assert!(answer.is_ok(), "{authorization:?}");
        }
    }
    for target in &targets[1..] {
        let answer = run(&target.iam, &http_api_bearer_event("Bearer x.y.z")).await;
        assert!(answer.is_err(), "the asymmetric targets refuse garbage too");
    }
}

#[tokio::test]
async fn a_credential_outside_the_cached_identity_source_is_never_used() {
    let header = authorizer(&[]);
    let cookie = authorizer(&[("AUTHORIZER_TOKEN_SOURCE", "cookie")]);
    let user = issue("user");
    let admin = issue("admin");
    let cookie_of = |token: &str| format!("theme=dark; accessToken={token}");

    // REST REQUEST, Authorization configured: a present but malformed header never falls back
    // to the cookie, and no header means no token, whatever the cookie holds.
    for (headers, denial, what) in [
        (
            vec![
                ("Authorization", "Basic dXNlcjpwYXNz".to_owned()),
                ("Cookie", cookie_of(&admin)),
            ],
            Rejection::Malformed,
            "a malformed Authorization with a valid cookie",
        ),
        (
            vec![
                ("Authorization", String::new()),
                ("Cookie", cookie_of(&admin)),
            ],
            Rejection::Malformed,
            "an empty Authorization with a valid cookie",
        ),
        (
            vec![("Cookie", cookie_of(&admin))],
            Rejection::Missing,
            "only a cookie",
        ),
        (
            vec![("X-Authorization", format!("Bearer {admin}"))],
            Rejection::Missing,
            "a look-alike header",
        ),
    ] {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        assert_unauthorized(
            &header,
            &rest_request_event(&headers),
            Denial::Token(denial),
            what,
        )
        .await;
    }
    // Two values of the one header: which one API Gateway cached on cannot be told.
    let mut two_values: Value = serde_json::from_str(&rest_request_event(&[])).expect("event JSON");
    two_values["headers"]["Authorization"] =
        json!([format!("Bearer {user}"), format!("Bearer {admin}")]);
    assert_unauthorized(
        &header,
        &two_values.to_string(),
        Denial::Token(Rejection::Malformed),
        "two Authorization values",
    )
    .await;

    // REST REQUEST, cookie configured: the Authorization header is not looked at, and two
    // different accessToken cookies cannot be told apart.
    for (cookie_header, denial, what) in [
        (None, Rejection::Missing, "only an Authorization header"),
        (
            Some(format!("accessToken={user}; accessToken={admin}")),
            Rejection::Malformed,
            "two different accessToken cookies",
        ),
        (
            Some("accessToken=; theme=dark".to_owned()),
            Rejection::Missing,
            "an empty accessToken cookie",
        ),
        (
            Some("accesstoken=x.y.z; AccessToken=x.y.z".to_owned()),
            Rejection::Missing,
            "cookie names are case-sensitive",
        ),
    ] {
        let authorization = format!("Bearer {admin}");
        let mut headers = vec![("Authorization", authorization.as_str())];
        if let Some(value) = &cookie_header {
            headers.push(("Cookie", value));
        }
        assert_unauthorized(
            &cookie,
            &rest_request_event(&headers),
            Denial::Token(denial),
            what,
        )
        .await;
    }
    let same_twice = format!("accessToken={user}; accessToken={user}");
    let answer = run(&cookie, &rest_request_event(&[("Cookie", &same_twice)]))
        .await
        .expect("the same value twice is one credential");
    assert_eq!(answer["context"]["role"], "user");

    // HTTP API: only identitySource counts. Headers and the cookies array are the request's,
    // not the cache key's.
    let in_request_only = |event: &mut Value| {
        event["headers"]["authorization"] = json!(format!("Bearer {admin}"));
        event["headers"]["cookie"] = json!(cookie_of(&admin));
        event["cookies"] = json!(["theme=dark", format!("accessToken={admin}")]);
    };
    for authorizer in [&header, &cookie] {
        assert_unauthorized(
            authorizer,
            &http_api_event(None, "GET /me", "/me", in_request_only),
            Denial::Token(Rejection::Missing),
            "no identitySource at all",
        )
        .await;
        assert_unauthorized(
            authorizer,
            &http_api_event(Some(&[]), "GET /me", "/me", in_request_only),
            Denial::Token(Rejection::Missing),
            "an empty identitySource",
        )
        .await;
    }
    assert_unauthorized(
        &header,
        &http_api_event(
            Some(&["Bearer not-a-jwt", "GET /me"]),
            "GET /me",
            "/me",
            in_request_only,
        ),
        Denial::Token(Rejection::Malformed),
        "a garbage identity source next to a valid header",
    )
    .await;
    assert_unauthorized(
        &header,
        &http_api_event(
            Some(&["GET /me", &format!("Bearer {admin}")]),
            "GET /me",
            "/me",
            |_| {},
        ),
        Denial::Token(Rejection::Malformed),
        "the credential is identitySource[0], not any entry",
    )
    .await;
    let two_cookies = format!("accessToken={user}; accessToken={admin}");
    assert_unauthorized(
        &cookie,
        &http_api_event(
            Some(&[&two_cookies, "GET /me"]),
            "GET /me",
            "/me",
            in_request_only,
        ),
        Denial::Token(Rejection::Malformed),
        "two different accessToken cookies in the identity source",
    )
    .await;
    // The user's identity source decides, whatever the request's other parts say.
    let answer = run(
        &header,
        &http_api_event(
            Some(&[&format!("Bearer {user}"), "GET /me"]),
            "GET /me",
            "/me",
            in_request_only,
        ),
    )
    .await
    .expect("allowed");
    assert_eq!(answer["context"]["role"], "user");
    let answer = run(
        &cookie,
        &http_api_event(
            Some(&[&cookie_of(&user), "GET /me"]),
            "GET /me",
            "/me",
            in_request_only,
        ),
    )
    .await
    .expect("allowed");
    assert_eq!(answer["context"]["role"], "user");
}
