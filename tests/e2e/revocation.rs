//! Revocation that cannot half-happen. Each flow that ends sessions or changes an account runs
//! once cleanly through a proxy that records its DynamoDB operations, then once per operation
//! it uses (on that operation's first call and on each later one) with that call failing,
//! both before DynamoDB sees it and after (a lost response). After every fault the account is
//! observed read-only: it must be exactly as before the request or exactly as after it, never
//! in between; a success must mean "after"; a failure before the commit must mean "before",
//! and the same request retried must then succeed.

use std::net::SocketAddr;

use auth_core::authorizer::SessionCheck as _;
use auth_core::domain::{Email, SessionId, UserId};
use auth_core::token::{OneTimeToken, RefreshToken};
use auth_service::store::{PendingToken, RoundTripCounter, TokenPurpose, schema};
use e2e::faults::{Fault, FaultKind, FaultProxy};
use e2e::{Function, PASSWORD, TestApp, TestResponse, claims, dynamodb_endpoint, unique_name};
use serde_json::json;

const NEW_PASSWORD: &str = "a completely new passphrase";

/// A fresh app whose DynamoDB client goes through a fault proxy and never retries.
async fn app_behind_faults() -> (TestApp, FaultProxy) {
    let endpoint = dynamodb_endpoint();
    let target: SocketAddr = endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("DYNAMODB_ENDPOINT is http://host:port");
    let proxy = FaultProxy::start(target).await;
    let client = proxy.client().await;
    let table = unique_name("auth");
    schema::create_table(&client, &table)
        .await
        .expect("create the test table");
    let settings = e2e::settings(&table, &[]);
    (
        TestApp::with_client(settings, client, RoundTripCounter::default()),
        proxy,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Reset,
    Change,
    Delete,
    LogoutAll,
    Verify,
    Login,
    Refresh,
}

/// An account with three sessions (registration, the caller's login, another login) and,
/// for the flows that use one, a pending link.
struct Scene {
    email: String,
    user: UserId,
    caller: TestResponse,
    /// Every session: (refresh token, id); the caller's is the second.
    sessions: Vec<(String, SessionId)>,
    link: Option<String>,
    hash_before: String,
}

impl Scene {
    fn caller_session(&self) -> &SessionId {
        &self.sessions[1].1
    }
}

fn session_id(response: &TestResponse) -> SessionId {
    SessionId::parse(
        claims(&response.access_token())["sid"]
            .as_str()
            .expect("sid"),
    )
    .expect("id")
}

async fn mint_link(app: &TestApp, purpose: TokenPurpose, user: &UserId, email: &str) -> String {
    let token = OneTimeToken::generate(user);
    let pending = PendingToken {
        digest: token.digest(),
        email: Email::parse(email).expect("email"),
        issued_at: app.now(),
        expires_at: app.now() + 3600,
        outbox_id: unique_name("outbox"),
    };
    app.profiles
        .store
        .save_token(purpose, user, &pending, 0)
        .await
        .expect("store the link's digest");
    token.encode()
}

async fn scene(app: &TestApp, flow: Flow) -> Scene {
    let (email, registered) = app.registered_user().await;
    let caller = app.login(&email, PASSWORD).await;
    let other = app.login(&email, PASSWORD).await;
    assert_eq!((caller.status, other.status), (200, 200));
    let user = UserId::parse(claims(&caller.access_token())["sub"].as_str().expect("sub"))
        .expect("user id");
    let link = match flow {
        Flow::Reset | Flow::Change => {
            Some(mint_link(app, TokenPurpose::PasswordReset, &user, &email).await)
        }
        Flow::Verify => Some(mint_link(app, TokenPurpose::EmailVerification, &user, &email).await),
        _ => None,
    };
    let hash_before = password_hash(app, &email).await.expect("credentials");
    let sessions = [&registered, &caller, &other]
        .iter()
        .map(|response| (response.refresh_token(), session_id(response)))
        .collect();
    Scene {
        email,
        user,
        caller,
        sessions,
        link,
        hash_before,
    }
}

async fn password_hash(app: &TestApp, email: &str) -> Option<String> {
    app.profiles
        .store
        .credentials_by_email(&Email::parse(email).expect("email"))
        .await
        .expect("read the credentials")
        .map(|credentials| credentials.password_hash)
}

async fn act(app: &TestApp, flow: Flow, scene: &Scene) -> TestResponse {
    let link = scene.link.as_deref().unwrap_or_default();
    let access = scene.caller.access_token();
    match flow {
        Flow::Reset => app.reset(link, NEW_PASSWORD).await,
        Flow::Change => app.change_password(&access, PASSWORD, NEW_PASSWORD).await,
        Flow::Delete => {
            app.authorized(
                Function::Account,
                "DELETE",
                "/auth/account",
                &access,
                Some(json!({ "password": PASSWORD })),
            )
            .await
        }
        Flow::LogoutAll => app.logout_all(Some(&access)).await,
        Flow::Verify => {
            app.verify_email_signed_in(link, &scene.caller.refresh_token())
                .await
        }
        Flow::Login => app.login(&scene.email, PASSWORD).await,
        Flow::Refresh => app.refresh(&scene.caller.refresh_token()).await,
    }
}

fn succeeded(flow: Flow, response: &TestResponse) -> bool {
    let expected = match flow {
        Flow::Login | Flow::Refresh => 200,
        _ => 204,
    };
    response.status == expected
}

/// Where the account stands, read without changing anything.
#[derive(Debug, PartialEq, Eq)]
enum Observed {
    Before,
    After,
    Half(String),
}

async fn observe(app: &TestApp, flow: Flow, scene: &Scene) -> Observed {
    let store = &app.profiles.store;
    // Exactly what the strict authorizer asks (and refresh decides the same way).
    let mut live = Vec::new();
    for (_, session) in &scene.sessions {
        live.push(
            store
                .is_live(scene.user.as_str(), session.as_str(), app.now())
                .await
                .expect("session check"),
        );
    }
    let hash = password_hash(app, &scene.email).await;
    let changed = hash.as_deref() != Some(scene.hash_before.as_str());
    let pending = |purpose| async move {
        store
            .pending_token(purpose, &scene.user)
            .await
            .expect("read the link")
            .is_some()
    };
    let all_live = live.iter().all(|live| *live);
    let none_live = live.iter().all(|live| !*live);
    let facts = format!("live {live:?}, hash changed {changed}");
    let (before, after) = match flow {
        Flow::Reset => {
            let pending = pending(TokenPurpose::PasswordReset).await;
            (
                all_live && !changed && pending,
                none_live && changed && !pending,
            )
        }
        Flow::Change => {
            let pending = pending(TokenPurpose::PasswordReset).await;
            (
                all_live && !changed && pending,
                live == [false, true, false] && changed && !pending,
            )
        }
        Flow::Delete => (all_live && hash.is_some(), none_live && hash.is_none()),
        Flow::LogoutAll => (all_live, none_live),
        Flow::Verify => {
            let pending = pending(TokenPurpose::EmailVerification).await;
            let verified = store
                .profile(&scene.user)
                .await
                .expect("profile")
                .is_some_and(|profile| profile.email_verified);
            (
                all_live && pending && !verified,
                all_live && !pending && verified,
            )
        }
        Flow::Login => {
            let sessions = store
                .session_ages(&scene.user, app.now(), 0)
                .await
                .expect("sessions")
                .len();
            // A retried login after a lost response starts one more session: still "after".
            (sessions == 3, sessions > 3)
        }
        Flow::Refresh => {
            let session = store
                .session(&scene.user, scene.caller_session())
                .await
                .expect("session")
                .expect("the caller's session");
            let presented = RefreshToken::parse(&scene.caller.refresh_token()).expect("token");
            let current = session.current_digest == presented.digest();
            (current && all_live, !current && all_live)
        }
    };
    match (before, after) {
        (true, false) => Observed::Before,
        (false, true) => Observed::After,
        _ => Observed::Half(facts),
    }
}

/// The scene's email's failed-login count, if any.
async fn streak(app: &TestApp, scene: &Scene) -> Option<String> {
    use aws_sdk_dynamodb::types::AttributeValue;
    app.client
        .get_item()
        .table_name(&app.table)
        .key(
            schema::PK,
            AttributeValue::S(format!("EMAIL#{}", scene.email)),
        )
        .key(
            schema::SK,
            AttributeValue::S(schema::LOGIN_STREAK_SK.to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("read the streak")
        .item
        .and_then(|item| item.get("failures")?.as_n().ok().cloned())
        .filter(|failures| failures != "0")
}

/// What a finished credential event promises, checked by behaviour: the sessions it ended get
/// 401 at refresh (the cookie cleared), the ones it keeps go on.
async fn assert_sessions_follow(app: &TestApp, flow: Flow, scene: &Scene) {
    for (index, (token, _)) in scene.sessions.iter().enumerate() {
        let kept = match flow {
            Flow::Reset | Flow::Delete | Flow::LogoutAll => false,
            Flow::Change => index == 1,
            _ => continue,
        };
        let refreshed = app.refresh(token).await;
        if kept {
            assert_eq!(refreshed.status, 200, "{flow:?}: {}", refreshed.text);
        } else {
            assert_eq!(refreshed.status, 401, "{flow:?}: {}", refreshed.text);
            let cookie = refreshed.refresh_cookie().expect("the cookie is cleared");
            assert!(cookie.contains("Max-Age=0"), "{cookie}");
        }
    }
}

/// The flow's operations, learned from one clean run (which must succeed and land "after").
async fn operations_of(app: &TestApp, proxy: &FaultProxy, flow: Flow) -> Vec<String> {
    let scene = scene(app, flow).await;
    assert_eq!(observe(app, flow, &scene).await, Observed::Before);
    proxy.arm(None);
    let response = act(app, flow, &scene).await;
    let operations = proxy.operations();
    assert!(succeeded(flow, &response), "{flow:?}: {}", response.text);
    assert_eq!(observe(app, flow, &scene).await, Observed::After);
    assert_sessions_follow(app, flow, &scene).await;
    operations
}

/// Every case gets an account of its own in one table (a new table per case would cost most
/// of the test's time), so the cases cannot see each other.
async fn survives_every_fault(flow: Flow) {
    let (app, proxy) = app_behind_faults().await;
    let operations = operations_of(&app, &proxy, flow).await;
    assert!(!operations.is_empty());
    let mut tried = Vec::new();
    for (index, operation) in operations.iter().enumerate() {
        let call = operations
            .iter()
            .take(index + 1)
            .filter(|seen| *seen == operation)
            .count();
        for kind in [FaultKind::Refused, FaultKind::LostResponse] {
            let fault = Fault {
                operation: operation.clone(),
                call,
                kind,
            };
            let scene = scene(&app, flow).await;
            proxy.arm(Some(fault.clone()));
            let response = act(&app, flow, &scene).await;
            proxy.disarm();
            assert!(
                proxy.fired(),
                "{flow:?} {fault:?} never struck: {:?}, {}",
                proxy.operations(),
                response.text
            );
            let observed = observe(&app, flow, &scene).await;
            let what = format!(
                "{flow:?} with {fault:?}: {} {}",
                response.status, response.text
            );
            if succeeded(flow, &response) {
                assert_eq!(observed, Observed::After, "{what}");
                assert_sessions_follow(&app, flow, &scene).await;
            } else {
                response.assert_error(503, "SERVICE_UNAVAILABLE");
                match (observed, kind) {
                    (Observed::Half(facts), _) => panic!("half done ({facts}): {what}"),
                    // A lost response after the commit: done, and the retry must not undo it.
                    (Observed::After, FaultKind::LostResponse) => {
                        act(&app, flow, &scene).await;
                        assert_eq!(observe(&app, flow, &scene).await, Observed::After, "{what}");
                    }
                    // A refused read beside refresh's write: rotated, and the retry replays.
                    (Observed::After, FaultKind::Refused) => {
                        assert_eq!(flow, Flow::Refresh, "committed although refused: {what}");
                        let retried = act(&app, flow, &scene).await;
                        assert_eq!(retried.status, 200, "{what}: {}", retried.text);
                    }
                    // Nothing happened: not even a counted attempt (a reservation made before
                    // the fault was given back), and the same request succeeds now.
                    (Observed::Before, kind) => {
                        if kind == FaultKind::Refused {
                            assert_eq!(streak(&app, &scene).await, None, "{what}");
                        }
                        let retried = act(&app, flow, &scene).await;
                        assert!(
                            succeeded(flow, &retried),
                            "retry of {what}: {}",
                            retried.text
                        );
                        assert_eq!(observe(&app, flow, &scene).await, Observed::After, "{what}");
                        assert_sessions_follow(&app, flow, &scene).await;
                    }
                }
            }
            tried.push(format!("{operation}#{call}/{kind:?}"));
        }
    }
    eprintln!("{flow:?}: {} faults: {}", tried.len(), tried.join(", "));
}

#[tokio::test]
async fn a_password_reset_survives_a_fault_at_every_operation() {
    survives_every_fault(Flow::Reset).await;
}

#[tokio::test]
async fn a_password_change_survives_a_fault_at_every_operation() {
    survives_every_fault(Flow::Change).await;
}

#[tokio::test]
async fn an_account_deletion_survives_a_fault_at_every_operation() {
    survives_every_fault(Flow::Delete).await;
}

#[tokio::test]
async fn logout_everywhere_survives_a_fault_at_every_operation() {
    survives_every_fault(Flow::LogoutAll).await;
}

#[tokio::test]
async fn email_verification_survives_a_fault_at_every_operation() {
    survives_every_fault(Flow::Verify).await;
}

#[tokio::test]
async fn login_survives_a_fault_at_every_operation() {
    survives_every_fault(Flow::Login).await;
}

#[tokio::test]
async fn refresh_survives_a_fault_at_every_operation() {
    survives_every_fault(Flow::Refresh).await;
}
