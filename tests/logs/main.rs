//! No password, token, hash or secret reaches a log line at the most verbose level. Its own
//! test binary: `tracing` caches which call sites are enabled process-wide, so a scoped
//! subscriber is only reliable when no other test runs beside it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use e2e::{PASSWORD, TestApp};

async fn signed_in(app: &TestApp) -> (String, e2e::TestResponse) {
    let (email, _) = app.registered_user().await;
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    (email, login)
}

/// A `MakeWriter` collecting every log line.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

async fn every_flow_logged(level: &str, dependency_payloads: bool) -> (String, Vec<String>) {
    let settings = auth_core::telemetry::LogSettings {
        level: level.into(),
        json: true,
        dependency_payloads,
    };
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            auth_core::telemetry::filter_directives(&settings),
        ))
        .json()
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestApp::spawn().await;
    let (email, login) = signed_in(&app).await;
    let refreshed = app.refresh(&login.refresh_token()).await;
    app.clock.advance(60);
    let _ = app.refresh(&login.refresh_token()).await; // reuse: logged as a warning
    let _ = app.logout(Some(&refreshed.refresh_token())).await;
    let hash = app
        .sign_in
        .store
        .credentials_by_email(&auth_core::domain::Email::parse(&email).expect("email"))
        .await
        .expect("read")
        .map(|credentials| credentials.password_hash)
        .unwrap_or_default();
    // The second factor: enrolment, a second-step login with a code and with a recovery code,
    // step-up.
    let user = app.mfa_user().await;
    let challenge = app.mfa_challenge(&user.email).await;
    let code = user.code(&app);
    let signed_in_mfa = app
        .mfa_verify(serde_json::json!({ "mfaToken": challenge, "code": code }))
        .await;
    assert_eq!(signed_in_mfa.status, 200, "{}", signed_in_mfa.text);
    let second = app.mfa_challenge(&user.email).await;
    let _ = app
        .mfa_verify(
            serde_json::json!({ "mfaToken": second, "recoveryCode": user.recovery_codes[0] }),
        )
        .await;
    let _ = app
        .step_up(
            &signed_in_mfa.access_token(),
            serde_json::json!({ "code": user.code_at(&app, 1) }),
        )
        .await;
    let mut secrets = vec![
        auth_service::mfa::base32::encode(&user.secret),
        // Six digits also occur in timestamps; as a JSON string they would be the code.
        format!("\"{code}\""),
        challenge,
        second,
        signed_in_mfa.access_token(),
        signed_in_mfa.refresh_token(),
        app.settings["MFA_ENCRYPTION_KEY"].clone(),
    ];
    secrets.extend(user.recovery_codes.iter().cloned());
    secrets.extend([
        PASSWORD.to_owned(),
        login.refresh_token(),
        login.access_token(),
        refreshed.refresh_token(),
        refreshed.access_token(),
        hash,
        app.settings["JWT_ACCESS_SECRET"].clone(),
        app.settings["JWT_REFRESH_SECRET"].clone(),
    ]);
    // The audit trail is a log too (stdout on Lambda).
    let audit = app.audit.lines().join("\n");
    assert!(audit.contains("refresh_reuse_detected"), "{audit}");
    (format!("{}\n{audit}", captured.text()), secrets)
}

#[tokio::test]
async fn the_most_verbose_level_writes_no_password_token_hash_or_secret() {
    let (logs, secrets) = every_flow_logged("trace", false).await;
    assert!(
        logs.contains("request handled"),
        "the capture works: {logs}"
    );
    assert!(logs.contains("reuse detected"));
    for secret in &secrets {
        // The refresh token's secret part is what matters; ids may be logged.
        let secret_part = secret.rsplit('.').next().unwrap_or(secret);
        assert!(
            !secret.is_empty() && !logs.contains(secret_part),
            "a secret reached the logs"
        );
    }
    assert!(
        !logs.contains("aws_smithy")
            && !logs.contains("\"level\":\"TRACE\",\"fields\":{\"message\":\"send_request"),
        "dependencies stayed at info"
    );
    // The opt-in is what lets dependency payload logging through.
    let (verbose, _) = every_flow_logged("trace", true).await;
    assert!(
        verbose.len() > logs.len() * 2,
        "dependency logs appear only when opted in"
    );
}

/// The authorizer's decision lines cost log ingestion on every cache miss: an allowed request
/// is logged only at `debug`, a refusal at `info` (the default level).
#[tokio::test]
async fn the_authorizer_logs_a_refusal_at_info_and_an_allowed_request_only_at_debug() {
    use auth_core::authorizer::Authorizer;
    use auth_core::config::AuthorizerSettings;
    use auth_core::token::AccessTokens;

    let env = std::collections::BTreeMap::from([(
        "JWT_ACCESS_SECRET".to_owned(),
        "a-log-level-test-secret-of-32-bytes-or-more".to_owned(),
    )]);
    let signer = AccessTokens::new(
        auth_core::config::access_tokens(&env, auth_core::config::KeyUse::Sign).expect("signer"),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let token = signer
        .issue(
            &auth_core::domain::UserId::generate(),
            &auth_core::domain::Role::user(),
            &auth_core::domain::SessionId::generate(),
            false,
            &auth_core::assurance::Assurance::password(),
            i64::try_from(now).expect("now"),
        )
        .expect("issue")
        .token;
    let event = |authorization: &str| {
        serde_json::json!({
            "type": "TOKEN",
            "authorizationToken": authorization,
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod/GET/me",
        })
        .to_string()
    };
    for (level, allowed_is_logged) in [("info", false), ("debug", true)] {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                auth_core::telemetry::filter_directives(&auth_core::telemetry::LogSettings {
                    level: level.into(),
                    json: true,
                    dependency_payloads: false,
                }),
            ))
            .json()
            .with_writer(captured.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let settings = AuthorizerSettings::from_env(&env).expect("settings");
        let authorizer = Authorizer::new(
            AccessTokens::new(settings.access),
            settings.options,
            None,
            std::sync::Arc::new(auth_core::clock::SystemClock),
        );
        assert!(
            authorizer
                .handle(&event(&format!("Bearer {token}")))
                .await
                .is_ok()
        );
        assert!(
            authorizer
                .handle(&event("Bearer not-a-token"))
                .await
                .is_err()
        );
        let logs = captured.text();
        // What each line costs in log ingestion (tools/bench/src/cost.rs prices these sizes).
        for line in logs
            .lines()
            .filter(|line| line.contains("authorizer decision"))
        {
            println!("authorizer decision line at {level}: {} bytes", line.len());
            assert!(line.len() <= 400, "a decision line stays small: {line}");
        }
        assert!(
            logs.contains(r#""decision":"unauthorized""#),
            "{level}: the refusal is logged: {logs}"
        );
        assert_eq!(
            logs.contains(r#""decision":"allow""#),
            allowed_is_logged,
            "{level}: {logs}"
        );
        assert!(!logs.contains(&token), "never the token");
    }
}
