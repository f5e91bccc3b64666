//! Secrets read at init: a deployed function's configuration names its secrets, and the
//! values come from Secrets Manager (issuing functions, through the SDK) or the Parameters and
//! Secrets extension (the authorizer, no SDK). Both are reached over HTTP at local stand-ins
//! that answer as the real endpoints do.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use auth_core::clock::SystemClock;
use auth_core::config::{AuthorizerSettings, SecretsExtensionSettings, secret_references};
use auth_core::secrets::{SecretsExtension, resolve};
use auth_core::token::AccessTokens;
use auth_service::config::SignInSettings;
use auth_service::handlers::{SignIn, register};
use auth_service::secrets::SecretsManager;
use auth_service::store::{RoundTripCounter, Store, schema};
use e2e::{PASSWORD, client, dynamodb_endpoint, json_post, stand_in};

const PRIVATE_KEY_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt/private-AbCdEf";
const REFRESH_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt/refresh-GhIjKl";

fn ed25519_private_key() -> String {
    let output = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "ED25519"])
        .output()
        .expect("openssl (scripts/setup installs it)");
    assert!(output.status.success());
    String::from_utf8(output.stdout).expect("PEM")
}

/// Secrets Manager's GetSecretValue over its JSON protocol, for the secrets in `store`.
async fn secrets_manager(
    store: BTreeMap<&'static str, String>,
) -> (SecretsManager, Arc<Mutex<Vec<String>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&asked);
    let url = stand_in::start(move |request| {
        if request.header("x-amz-target") != Some("secretsmanager.GetSecretValue") {
            return (400, "application/x-amz-json-1.1", r#"{"__type":"UnknownOperationException"}"#.into());
        }
        let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON body");
        let id = body["SecretId"].as_str().unwrap_or_default().to_owned();
        log.lock().expect("log").push(id.clone());
        match store.get(id.as_str()) {
            Some(value) => (
                200,
                "application/x-amz-json-1.1",
                serde_json::json!({"ARN": id, "Name": "jwt", "SecretString": value}).to_string(),
            ),
            None => (
                400,
                "application/x-amz-json-1.1",
                r#"{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}"#.into(),
            ),
        }
    })
    .await;
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
        .endpoint_url(url)
        .load()
        .await;
    let client = aws_sdk_secretsmanager::Client::new(&shared);
    (SecretsManager::new(client), asked)
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

#[tokio::test]
async fn issuing_functions_read_their_keys_from_secrets_manager_and_hold_none_in_configuration() {
    let private_key = ed25519_private_key();
    let refresh_key = format!("refresh-{}", auth_core::random::hex_id());
    let (secrets, asked) = secrets_manager(BTreeMap::from([
        (PRIVATE_KEY_ARN, private_key.clone()),
        (REFRESH_ARN, refresh_key.clone()),
    ]))
    .await;
    let table = format!("auth-{}", auth_core::random::hex_id());
    let configuration = env(&[
        ("TABLE_NAME", &table),
        ("OUTBOX_TABLE_NAME", &schema::local_outbox_table(&table)),
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_PRIVATE_KEY_ARN", PRIVATE_KEY_ARN),
        ("JWT_REFRESH_SECRET_ARN", REFRESH_ARN),
    ]);
    let references = secret_references(&configuration).expect("references");
    let resolved = resolve(configuration, &references, &secrets)
        .await
        .expect("secrets read");
    assert_eq!(*asked.lock().expect("log"), [PRIVATE_KEY_ARN, REFRESH_ARN]);
    let shown = format!("{resolved:?}");
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains(&refresh_key),
        "{shown}"
    );

    let settings = SignInSettings::from_env(&resolved).expect("settings from the secrets");
    let round_trips = RoundTripCounter::default();
    let dynamodb = client(&dynamodb_endpoint(), &round_trips).await;
    schema::create_table(&dynamodb, &table)
        .await
        .expect("table");
    let sign_in = SignIn::new(
        settings,
        Store::new(dynamodb, &table).with_outbox(schema::local_outbox_table(&table)),
        Arc::new(SystemClock),
    )
    .expect("sign-in");
    let response = register(
        &sign_in,
        json_post(
            "/auth/register",
            &serde_json::json!({"name": "Ada", "email": "ada@example.com", "password": PASSWORD})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).expect("JSON"),
        other => panic!("unexpected body {other:?}"),
    };
    let token = body["accessToken"].as_str().expect("access token");
    let header = jsonwebtoken::decode_header(token).expect("header");
    assert_eq!(
        header.alg,
        jsonwebtoken::Algorithm::EdDSA,
        "signed with the fetched key"
    );
}

#[tokio::test]
async fn a_secret_that_cannot_be_read_stops_start_up_naming_its_reference_and_never_the_value() {
    let (secrets, _) = secrets_manager(BTreeMap::from([(REFRESH_ARN, "x".repeat(40))])).await;
    let configuration = env(&[
        ("TABLE_NAME", "t"),
        (
            "JWT_PRIVATE_KEY_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:missing",
        ),
        ("JWT_REFRESH_SECRET_ARN", REFRESH_ARN),
    ]);
    let references = secret_references(&configuration).expect("references");
    let error = resolve(configuration, &references, &secrets)
        .await
        .expect_err("missing secret");
    let message = error.to_string();
    assert!(
        message.starts_with("JWT_PRIVATE_KEY_ARN is invalid"),
        "{message}"
    );
    assert!(
        message.contains("ResourceNotFoundException") || message.contains("can't find"),
        "{message}"
    );

    let both = env(&[
        ("JWT_REFRESH_SECRET", &"s".repeat(40)),
        ("JWT_REFRESH_SECRET_ARN", REFRESH_ARN),
    ]);
    let error = secret_references(&both).expect_err("value and reference");
    assert!(error.to_string().contains("not both"), "{error}");
    assert!(!error.to_string().contains(&"s".repeat(40)));
}

#[tokio::test]
async fn the_authorizer_reads_its_hs256_key_through_the_secrets_extension_without_the_sdk() {
    let secret = format!("access-{}", auth_core::random::hex_id());
    let answers = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&answers);
    let value = secret.clone();
    let url = stand_in::start(move |request| {
        let mut log = log.lock().expect("log");
        // The extension refuses traffic for a moment after it starts.
        if log.len() < 2 {
            log.push(400);
            return (
                400,
                "text/plain",
                "not ready to serve traffic, please wait".into(),
            );
        }
        let expected_path = format!(
            "/secretsmanager/get?secretId={}",
            "arn%3Aaws%3Asecretsmanager%3Aus-east-1%3A123456789012%3Asecret%3Ajwt%2Faccess-MnOpQr"
        );
        if request.header("x-aws-parameters-secrets-token") != Some("the-session-token")
            || request.path_and_query != expected_path
            || request.method != "GET"
        {
            log.push(401);
            return (401, "text/plain", "unauthorized".into());
        }
        log.push(200);
        (
            200,
            "application/json",
            serde_json::json!({"SecretString": value}).to_string(),
        )
    })
    .await;
    let port = url.rsplit(':').next().expect("port").to_owned();
    let configuration = env(&[
        (
            "JWT_ACCESS_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt/access-MnOpQr",
        ),
        ("AWS_SESSION_TOKEN", "the-session-token"),
        ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", &port),
    ]);
    let extension = SecretsExtension::new(
        SecretsExtensionSettings::from_env(&configuration).expect("settings"),
    );
    let references = secret_references(&configuration).expect("references");
    let resolved = resolve(configuration, &references, &extension)
        .await
        .expect("read through the extension");
    assert_eq!(*answers.lock().expect("log"), [400, 400, 200]);

    let settings = AuthorizerSettings::from_env(&resolved).expect("authorizer settings");
    let verifier = AccessTokens::new(settings.access);
    let mut signer_env = env(&[("JWT_ACCESS_SECRET", &secret)]);
    signer_env.insert("JWT_REFRESH_SECRET".into(), "r".repeat(40));
    let signer = AccessTokens::new(
        auth_core::config::access_tokens(&signer_env, auth_core::config::KeyUse::Sign)
            .expect("signer"),
    );
    let user = auth_core::domain::UserId::parse("0123456789abcdef0123456789abcdef").expect("id");
    let session =
        auth_core::domain::SessionId::parse("fedcba9876543210fedcba9876543210").expect("sid");
    let role = auth_core::domain::Role::parse("user").expect("role");
    let now = 1_800_000_000;
    let token = signer
        .issue(
            &user,
            &role,
            &session,
            false,
            &auth_core::assurance::Assurance::password(),
            now,
        )
        .expect("token")
        .token;
    assert!(
        verifier.verify(&token, now).is_ok(),
        "verifies with the key read at init"
    );
}
