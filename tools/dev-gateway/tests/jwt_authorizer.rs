//! The built-in JWT authorizer's emulation against an issuer served over HTTP: what API Gateway
//! accepts, and each thing it refuses (wrong `iss`, wrong `aud`, expired, not yet valid, issued
//! in the future, unknown `kid`, `alg: none`, an EdDSA or HS256 token, a missing scope).

// clippy.toml's test allowances cover `#[test]` functions but not the shared helpers here.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dev_gateway::jwt_authorizer::{BuiltInJwt, JwtVerdict};
use dev_gateway::template::JwtAuthorizerModel;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const NOW: i64 = 1_800_000_000;
const AUDIENCE: &str = "api";

fn openssl(args: &[&str], input: Option<&str>) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(input.unwrap_or_default().as_bytes())
        .expect("write");
    drop(stdin);
    let output = child.wait_with_output().expect("openssl");
    assert!(output.status.success(), "openssl {args:?}");
    String::from_utf8(output.stdout).expect("PEM")
}

struct Key {
    private: EncodingKey,
    kid: String,
    jwk: Jwk,
}

fn rsa_key() -> Key {
    let private = openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
        None,
    );
    let public = openssl(&["pkey", "-pubout"], Some(&private));
    let mut jwk = Jwk::from_decoding_key(
        &DecodingKey::from_rsa_pem(public.as_bytes()).expect("public"),
        Some(Algorithm::RS256),
    )
    .expect("jwk");
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).expect("thumbprint");
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Key {
        private: EncodingKey::from_rsa_pem(private.as_bytes()).expect("private"),
        kid,
        jwk,
    }
}

/// An issuer over HTTP: its discovery document and the keys it currently publishes.
struct Issuer {
    url: String,
    keys: Arc<Mutex<Vec<Jwk>>>,
    fetches: Arc<Mutex<u32>>,
}

impl Issuer {
    async fn start(keys: Vec<Jwk>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let keys = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(Mutex::new(0));
        let (served, counted, issuer) = (Arc::clone(&keys), Arc::clone(&fetches), url.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (served, counted, issuer) =
                    (Arc::clone(&served), Arc::clone(&counted), issuer.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<_>| {
                        let body = match request.uri().path() {
                            "/.well-known/openid-configuration" => json!({
                                "issuer": issuer,
                                "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
                            }),
                            _ => {
                                *counted.lock().expect("count") += 1;
                                let keys = served.lock().expect("keys").clone();
                                serde_json::to_value(JwkSet { keys }).expect("jwks")
                            }
                        };
                        async move {
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(
                                body.to_string(),
                            ))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, keys, fetches }
    }

    fn authorizer(&self) -> BuiltInJwt {
        BuiltInJwt::new(
            JwtAuthorizerModel {
                name: "BuiltInJwtAuthorizer".into(),
                issuer: self.url.clone(),
                audiences: vec![AUDIENCE.into()],
                identity_source: "$request.header.Authorization".into(),
            },
            std::time::Duration::from_secs(7200),
        )
    }

    fn claims(&self) -> Value {
        json!({
            "sub": "u1", "role": "admin", "sid": "s1", "iss": self.url, "aud": AUDIENCE,
            "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 900,
            "email_verified": true, "amr": ["pwd", "otp"], "aal": "aal2", "scope": "role:admin",
        })
    }
}

fn sign(key: &Key, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(&header, claims, &key.private).expect("sign")
}

fn with(claims: &Value, changes: Value) -> Value {
    let mut claims = claims.clone();
    for (name, value) in changes.as_object().expect("changes") {
        if value.is_null() {
            claims.as_object_mut().expect("claims").remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn unauthorized(verdict: &JwtVerdict) -> bool {
    matches!(verdict, JwtVerdict::Unauthorized(_))
}

// The emulation fetches over HTTP from the test's own issuer task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_tokens_pass_with_their_claims_as_strings_and_every_failed_check_is_refused() {
    let key = rsa_key();
    let issuer = Issuer::start(vec![key.jwk.clone()]).await;
    let authorizer = issuer.authorizer();
    let claims = issuer.claims();
    let none: Vec<String> = Vec::new();
    let admin = vec!["role:admin".to_owned()];

    let token = sign(&key, &claims);
    let JwtVerdict::Allow {
        claims: passed,
        scopes,
    } = authorizer
        .authorize(Some(&format!("Bearer {token}")), &admin, NOW)
        .await
    else {
        panic!("a valid token with the route's scope");
    };
    assert_eq!(passed["exp"], (NOW + 900).to_string());
    assert_eq!(passed["email_verified"], "true");
    assert_eq!(passed["amr"], "[pwd otp]");
    assert_eq!(passed["aal"], "aal2");
    assert_eq!(scopes, ["role:admin"]);
    // The identity source may hold the bare token too.
    assert!(matches!(
        authorizer.authorize(Some(&token), &none, NOW).await,
        JwtVerdict::Allow { .. }
    ));

    let refused = [
        (
            "wrong iss",
            with(&claims, json!({"iss": "https://evil.example"})),
        ),
        ("no iss", with(&claims, json!({"iss": null}))),
        (
            "iss a list holding ours",
            with(&claims, json!({"iss": [issuer.url, "x"]})),
        ),
        ("iss a number", with(&claims, json!({"iss": 7}))),
        ("wrong aud", with(&claims, json!({"aud": "other"}))),
        ("no aud", with(&claims, json!({"aud": null}))),
        ("expired", with(&claims, json!({"exp": NOW - 1}))),
        ("no exp", with(&claims, json!({"exp": null}))),
        ("not yet valid", with(&claims, json!({"nbf": NOW + 60}))),
        (
            "issued in the future",
            with(&claims, json!({"iat": NOW + 60})),
        ),
    ];
    for (what, claims) in &refused {
        let verdict = authorizer
            .authorize(Some(&sign(&key, claims)), &none, NOW)
            .await;
        assert!(unauthorized(&verdict), "{what}: {verdict:?}");
    }
    // `client_id` stands in for `aud`, as API Gateway allows.
    let client = with(&claims, json!({"aud": null, "client_id": AUDIENCE}));
    assert!(matches!(
        authorizer
            .authorize(Some(&sign(&key, &client)), &none, NOW)
            .await,
        JwtVerdict::Allow { .. }
    ));

    // A missing scope is 403, any one of the route's scopes passes, `scp` counts too.
    let user = with(&claims, json!({"scope": "role:user"}));
    assert_eq!(
        authorizer
            .authorize(Some(&sign(&key, &user)), &admin, NOW)
            .await,
        JwtVerdict::Forbidden
    );
    let either = vec!["role:support".to_owned(), "role:admin".to_owned()];
    let scp = with(&claims, json!({"scope": null, "scp": ["role:admin"]}));
    assert!(matches!(
        authorizer
            .authorize(Some(&sign(&key, &scp)), &either, NOW)
            .await,
        JwtVerdict::Allow { .. }
    ));

    // Headers no RSA key verifies.
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let none_alg = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": key.kid}).to_string())
    );
    let ed_private = openssl(&["genpkey", "-algorithm", "ED25519"], None);
    let mut ed_header = Header::new(Algorithm::EdDSA);
    ed_header.kid = Some(key.kid.clone());
    let eddsa = jsonwebtoken::encode(
        &ed_header,
        &claims,
        &EncodingKey::from_ed_pem(ed_private.as_bytes()).expect("ed key"),
    )
    .expect("sign");
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(key.kid.clone());
    let confused = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &EncodingKey::from_secret(serde_json::to_string(&key.jwk).expect("jwk").as_bytes()),
    )
    .expect("sign");
    let mut unknown_header = Header::new(Algorithm::RS256);
    unknown_header.kid = Some("not-a-published-kid".into());
    let unknown = jsonwebtoken::encode(&unknown_header, &claims, &key.private).expect("sign");
    // The signature's first character (its last may only carry padding bits).
    let signature_at = token.rfind('.').expect("three segments") + 1;
    let flipped = if token
        .get(signature_at..)
        .is_some_and(|rest| rest.starts_with('A'))
    {
        "B"
    } else {
        "A"
    };
    let mut tampered = token.clone();
    tampered.replace_range(signature_at..=signature_at, flipped);
    for (what, token) in [
        ("alg none", none_alg.as_str()),
        ("EdDSA", eddsa.as_str()),
        ("HS256 keyed with the public key", confused.as_str()),
        ("unknown kid", unknown.as_str()),
        ("tampered signature", tampered.as_str()),
        ("not a JWT", "Bearer nonsense"),
        ("empty", ""),
    ] {
        let verdict = authorizer.authorize(Some(token), &none, NOW).await;
        assert!(unauthorized(&verdict), "{what}: {verdict:?}");
    }
    assert!(unauthorized(&authorizer.authorize(None, &none, NOW).await));
    // Unknown kids fetch the keys again at most every few seconds, however many arrive: all of
    // the above came within the first fetch's interval.
    assert_eq!(*issuer.fetches.lock().expect("count"), 1);
}

/// The key set of a rollover's first step holds keys of other types: a token that names one of
/// them under an RSA algorithm is refused (the key's type decides, not the header).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_naming_a_published_key_of_another_type_is_refused() {
    let rsa = rsa_key();
    let ed_private = openssl(&["genpkey", "-algorithm", "ED25519"], None);
    let ed_public = openssl(&["pkey", "-pubout"], Some(&ed_private));
    let mut okp = Jwk::from_decoding_key(
        &DecodingKey::from_ed_pem(ed_public.as_bytes()).expect("ed public"),
        Some(Algorithm::EdDSA),
    )
    .expect("jwk");
    okp.common.key_id = Some("okp-key".into());
    let issuer = Issuer::start(vec![rsa.jwk.clone(), okp]).await;
    let authorizer = issuer.authorizer();
    let claims = issuer.claims();
    // Signed by the RSA key but naming the OKP key's kid.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("okp-key".into());
    let rsa_under_okp_kid = jsonwebtoken::encode(&header, &claims, &rsa.private).expect("sign");
    let verdict = authorizer
        .authorize(Some(&rsa_under_okp_kid), &[], NOW)
        .await;
    assert!(unauthorized(&verdict), "{verdict:?}");
    // EdDSA is refused even under its own key: RSA only.
    let mut ed_header = Header::new(Algorithm::EdDSA);
    ed_header.kid = Some("okp-key".into());
    let eddsa = jsonwebtoken::encode(
        &ed_header,
        &claims,
        &EncodingKey::from_ed_pem(ed_private.as_bytes()).expect("ed key"),
    )
    .expect("sign");
    let verdict = authorizer.authorize(Some(&eddsa), &[], NOW).await;
    assert!(unauthorized(&verdict), "{verdict:?}");
    // The RSA key itself still verifies beside them.
    assert!(matches!(
        authorizer
            .authorize(Some(&sign(&rsa, &claims)), &[], NOW)
            .await,
        JwtVerdict::Allow { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_published_after_the_keys_were_cached_is_fetched_when_a_token_names_it() {
    let old = rsa_key();
    let issuer = Issuer::start(vec![old.jwk.clone()]).await;
    let authorizer = issuer
        .authorizer()
        .with_refetch_interval(std::time::Duration::ZERO);
    let claims = issuer.claims();
    assert!(matches!(
        authorizer
            .authorize(Some(&sign(&old, &claims)), &[], NOW)
            .await,
        JwtVerdict::Allow { .. }
    ));
    let new = rsa_key();
    issuer.keys.lock().expect("keys").push(new.jwk.clone());
    assert!(
        matches!(
            authorizer
                .authorize(Some(&sign(&new, &claims)), &[], NOW)
                .await,
            JwtVerdict::Allow { .. }
        ),
        "the unseen kid makes it fetch again"
    );
    assert_eq!(*issuer.fetches.lock().expect("count"), 2);
}
