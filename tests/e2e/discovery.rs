//! Verifiers that start from the issuer URL alone: the jwks function's discovery document and
//! key set, served over HTTP, and PyJWT (not our code) verifying RS256 and ES256 access tokens
//! through them, across a rollover from one algorithm to the other (next → current →
//! previous).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use auth_core::assurance::Assurance;
use auth_core::config::{JwksSettings, KeyUse, access_tokens};
use auth_core::domain::{Role, SessionId, UserId};
use auth_core::token::AccessTokens;
use auth_service::handlers::{Jwks, jwks};
use e2e::stand_in;
use lambda_http::{Body, Request};
use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const AUDIENCE: &str = "api";

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
        other => panic!("no key pair for {other}"),
    };
    let private = openssl(args, None);
    let public = openssl(&["pkey", "-pubout"], Some(&private));
    (private, public)
}

fn openssl(args: &[&str], input: Option<&str>) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl (scripts/setup installs it)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(input.unwrap_or_default().as_bytes())
        .expect("write");
    drop(stdin);
    let output = child.wait_with_output().expect("openssl");
    assert!(output.status.success(), "openssl {args:?}");
    String::from_utf8(output.stdout).expect("PEM")
}

/// The jwks function's answers, served at an issuer URL; `configure` swaps the keys it
/// publishes (a deploy of the next rollover step).
struct Issuer {
    url: String,
    documents: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Issuer {
    async fn start() -> Self {
        let documents: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
        let served = Arc::clone(&documents);
        let url = stand_in::start(move |request| {
            match served
                .lock()
                .expect("documents")
                .get(&request.path_and_query)
            {
                Some(body) => (200, "application/json", body.clone()),
                None => (404, "application/json", r#"{"message":"Not Found"}"#.into()),
            }
        })
        .await;
        Self { url, documents }
    }

    fn environment(&self, pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.insert("JWT_ISSUER".into(), self.url.clone());
        env.insert("JWT_AUDIENCE".into(), AUDIENCE.into());
        env
    }

    /// Publishes what the jwks function would under `pairs`, through its own handler.
    async fn configure(&self, pairs: &[(&str, &str)]) {
        let state = Jwks::new(JwksSettings::from_env(&self.environment(pairs)).expect("jwks"));
        for path in [
            "/.well-known/openid-configuration",
            "/.well-known/jwks.json",
        ] {
            let request = http::Request::get(path).body(Body::Empty).expect("request");
            let response = jwks(&state, Request::from(request)).await;
            assert_eq!(response.status(), 200, "{path}");
            assert!(
                response.headers()["cache-control"]
                    .to_str()
                    .unwrap_or_default()
                    .contains("max-age="),
                "{path} states how long it may be cached"
            );
            let body = String::from_utf8(response.body().to_vec()).expect("utf-8");
            self.documents
                .lock()
                .expect("documents")
                .insert(path.to_owned(), body);
        }
    }

    fn signer(&self, pairs: &[(&str, &str)]) -> AccessTokens {
        AccessTokens::new(access_tokens(&self.environment(pairs), KeyUse::Sign).expect("signer"))
    }
}

fn issue(tokens: &AccessTokens) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    tokens
        .issue(
            &UserId::generate(),
            &Role::user(),
            &SessionId::generate(),
            true,
            &Assurance::password(),
            i64::try_from(now).expect("now"),
        )
        .expect("issue")
        .token
}

/// PyJWT's verdict on `token`, given only the issuer URL: the claims, or why it refused.
fn independent_verdict(issuer: &str, token: &str) -> Result<Value, String> {
    let python = format!("{ROOT}/.tools/venv/bin/python");
    let output = std::process::Command::new(&python)
        .arg(format!("{ROOT}/tests/support/verify_jwt.py"))
        .args([issuer, AUDIENCE, token])
        .output()
        .unwrap_or_else(|error| {
            panic!("{python}: {error} (WITH_JWT_VERIFIER=1 scripts/setup installs PyJWT)")
        });
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "the verifier itself failed: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(serde_json::from_str(&stdout).expect("claims JSON"))
    } else {
        Err(stdout)
    }
}

// The verifier runs as a blocking child process while the runtime serves it the documents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_verifier_follows_the_issuer_through_a_rollover_from_es256_to_rs256() {
    let (old_private, old_public) = key_pair("ES256");
    let (new_private, new_public) = key_pair("RS256");
    let issuer = Issuer::start().await;

    // Step 1: ES256 signs, the RS256 key is published as the next one.
    issuer
        .configure(&[
            ("JWT_ALGORITHM", "ES256"),
            ("JWT_PUBLIC_KEY", &old_public),
            ("JWT_PUBLIC_KEY_NEXT", &new_public),
            ("JWT_NEXT_ALGORITHM", "RS256"),
        ])
        .await;
    let old_token = issue(&issuer.signer(&[
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PRIVATE_KEY", &old_private),
    ]));
    let claims = independent_verdict(&issuer.url, &old_token).expect("step 1: ES256 verifies");
    assert_eq!(claims["iss"], issuer.url.as_str());
    assert_eq!(claims["email_verified"], true);

    // Step 2: RS256 signs, the ES256 key stays as the previous one: both verify.
    issuer
        .configure(&[
            ("JWT_ALGORITHM", "RS256"),
            ("JWT_PUBLIC_KEY", &new_public),
            ("JWT_PUBLIC_KEY_PREVIOUS", &old_public),
            ("JWT_PREVIOUS_ALGORITHM", "ES256"),
        ])
        .await;
    let new_token = issue(&issuer.signer(&[
        ("JWT_ALGORITHM", "RS256"),
        ("JWT_PRIVATE_KEY", &new_private),
    ]));
    independent_verdict(&issuer.url, &new_token).expect("step 2: RS256 verifies");
    independent_verdict(&issuer.url, &old_token)
        .expect("step 2: the previous ES256 key still verifies");

    // Step 3: the ES256 key is retired; its tokens no longer verify, the RS256 ones do.
    issuer
        .configure(&[("JWT_ALGORITHM", "RS256"), ("JWT_PUBLIC_KEY", &new_public)])
        .await;
    independent_verdict(&issuer.url, &new_token).expect("step 3: RS256 verifies");
    let refused = independent_verdict(&issuer.url, &old_token).expect_err("retired key");
    assert!(refused.contains("refused"), "{refused}");

    // A tampered token is refused too: the verifier is not just reading claims.
    // The signature's first character (its last may only carry padding bits).
    let signature_at = new_token.rfind('.').expect("three segments") + 1;
    let flipped = if new_token
        .get(signature_at..)
        .is_some_and(|rest| rest.starts_with('A'))
    {
        "B"
    } else {
        "A"
    };
    let mut tampered = new_token.clone();
    tampered.replace_range(signature_at..=signature_at, flipped);
    independent_verdict(&issuer.url, &tampered).expect_err("tampered signature");
}

#[tokio::test]
async fn the_discovery_document_names_the_issuer_byte_for_byte_and_claims_nothing_more() {
    let (_, public) = key_pair("RS256");
    let issuer = Issuer::start().await;
    issuer
        .configure(&[("JWT_ALGORITHM", "RS256"), ("JWT_PUBLIC_KEY", &public)])
        .await;
    let discovery: Value = serde_json::from_str(
        &issuer.documents.lock().expect("documents")["/.well-known/openid-configuration"],
    )
    .expect("JSON");
    assert_eq!(
        discovery,
        serde_json::json!({
            "issuer": issuer.url,
            "jwks_uri": format!("{}/.well-known/jwks.json", issuer.url),
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    );
    // Not an issuer URL: the jwks function refuses to start, naming the variable.
    let error = JwksSettings::from_env(&BTreeMap::from([
        ("JWT_ISSUER".to_owned(), "jwt-auth".to_owned()),
        ("JWT_ALGORITHM".to_owned(), "RS256".to_owned()),
        ("JWT_PUBLIC_KEY".to_owned(), public.clone()),
    ]))
    .expect_err("not a URL");
    assert!(error.to_string().contains("JWT_ISSUER"), "{error}");
}
