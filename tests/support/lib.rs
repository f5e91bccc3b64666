//! Test harness: a fresh table in DynamoDB Local per test, the real handlers, and requests built
//! from API Gateway event JSON exactly as Lambda delivers them.

pub mod capacity;
pub mod conflicts;
pub mod events;
pub mod faults;
pub mod federation;
pub mod lifecycle;
pub mod mfa;
pub mod proxy;
pub mod requests;
pub mod ses;
pub mod stand_in;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use auth_core::clock::AdjustableClock;
use auth_service::audit::{Audit, CapturedAudit};
use auth_service::config::{
    AccountSettings, LogoutSettings, MfaSettings, RefreshSettings, SignInSettings, audit_settings,
};
use auth_service::handlers::{
    self, Account, Logout, Mfa, Profiles, Refresh, SessionManagement, SignIn,
};
use auth_service::store::{RoundTripCounter, Store, schema};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use http::HeaderMap;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

pub use events::{
    SOURCE_IP, fixture, http_api_event, http_api_event_from, rest_api_event, rest_api_event_from,
};

pub const PASSWORD: &str = "correct horse battery staple";

/// DynamoDB Local's address, exported by `scripts/test`.
pub fn dynamodb_endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!("DYNAMODB_ENDPOINT is not set: run the suite with scripts/test, which starts DynamoDB Local")
    })
}

/// A DynamoDB client for `endpoint` that counts its round trips.
pub async fn client(endpoint: &str, round_trips: &RoundTripCounter) -> Client {
    client_with(endpoint, round_trips, None).await
}

/// [`client`], with transaction conflicts forced where `conflicts` says.
pub async fn client_with(
    endpoint: &str,
    round_trips: &RoundTripCounter,
    conflicts: Option<&conflicts::ConflictInjector>,
) -> Client {
    client_with_interceptors(endpoint, round_trips, conflicts, None).await
}

/// [`client_with`], also metering consumed capacity when `meter` is given.
pub async fn client_with_interceptors(
    endpoint: &str,
    round_trips: &RoundTripCounter,
    conflicts: Option<&conflicts::ConflictInjector>,
    meter: Option<&capacity::CapacityMeter>,
) -> Client {
    client_with_timeout(
        endpoint,
        round_trips,
        conflicts,
        meter,
        Duration::from_secs(2),
    )
    .await
}

/// [`client_with_interceptors`] with each operation bounded by `timeout`.
pub async fn client_with_timeout(
    endpoint: &str,
    round_trips: &RoundTripCounter,
    conflicts: Option<&conflicts::ConflictInjector>,
    meter: Option<&capacity::CapacityMeter>,
    timeout: Duration,
) -> Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .endpoint_url(endpoint)
        .load()
        .await;
    let mut config =
        auth_service::store::client_config(&shared, timeout).interceptor(round_trips.clone());
    if let Some(conflicts) = conflicts {
        config = config.interceptor(conflicts.clone());
    }
    if let Some(meter) = meter {
        config = config.interceptor(meter.clone());
    }
    Client::from_conf(config.build())
}

pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", auth_core::random::hex_id())
}

/// Test settings: random secrets and a fresh table name, overridable per test.
pub fn settings(table: &str, overrides: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut env = BTreeMap::from([
        ("TABLE_NAME".to_owned(), table.to_owned()),
        (
            "OUTBOX_TABLE_NAME".to_owned(),
            schema::local_outbox_table(table),
        ),
        (
            "JWT_ACCESS_SECRET".to_owned(),
            format!("access-{}", auth_core::random::hex_id()),
        ),
        (
            "JWT_REFRESH_SECRET".to_owned(),
            format!("refresh-{}", auth_core::random::hex_id()),
        ),
        (
            "MFA_ENCRYPTION_KEY".to_owned(),
            format!("mfa-key-{}", auth_core::random::hex_id()),
        ),
        ("MFA_ISSUER".to_owned(), "Auth Test".to_owned()),
        ("JWT_ISSUER".to_owned(), "https://auth.test".to_owned()),
        ("JWT_AUDIENCE".to_owned(), "test-api".to_owned()),
        ("APP_URL".to_owned(), "https://app.test".to_owned()),
        (
            "MAIL_FROM".to_owned(),
            "Auth Test <no-reply@auth.test>".to_owned(),
        ),
        (
            "MAIL_TRANSPORT".to_owned(),
            format!(
                "dir:{}",
                std::env::temp_dir().join(format!("{table}-mail")).display()
            ),
        ),
    ]);
    for (key, value) in overrides {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    env
}

/// The HTTP functions, for [`TestApp::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Register,
    Login,
    Refresh,
    Logout,
    Me,
    Password,
    Email,
    Sessions,
    Account,
    Mfa,
    Federation,
}

/// Logs of the code under test, printed with the failing test's output when `TEST_LOG` is set
/// (`TEST_LOG=debug scripts/test`).
pub fn init_test_log() {
    if let Ok(level) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(level))
            .with_test_writer()
            .try_init();
    }
}

/// One isolated instance of the service: its own table, clock and round-trip counter, and each
/// function's state built from the same settings, as each deployed function would build it.
pub struct TestApp {
    pub sign_in: SignIn,
    pub refresher: Refresh,
    pub logouts: Logout,
    pub profiles: Profiles,
    pub clock: AdjustableClock,
    pub round_trips: RoundTripCounter,
    pub client: Client,
    pub table: String,
    pub settings: BTreeMap<String, String>,
    /// Every function's audit lines, in order.
    pub audit: CapturedAudit,
    pub account: Account,
    pub session_admin: SessionManagement,
    pub mailer: auth_mail::Mailer,
    /// The table's stream, opened at the first mail delivery.
    pub relay: tokio::sync::Mutex<Option<local_dev::mail_relay::MailRelay>>,
    /// The `mfa` function.
    pub mfa: Mfa,
    /// The `federation` function (no provider unless the settings name some).
    pub federation: auth_service::handlers::Federation,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        Self::spawn_with_conflicts(overrides, None).await
    }

    /// An app whose DynamoDB requests report the capacity they consume to `meter`.
    pub async fn spawn_metered(
        overrides: &[(&str, &str)],
        meter: &capacity::CapacityMeter,
    ) -> Self {
        let table = unique_name("auth");
        let settings = settings(&table, overrides);
        let round_trips = RoundTripCounter::default();
        let client =
            client_with_interceptors(&dynamodb_endpoint(), &round_trips, None, Some(meter)).await;
        schema::create_table(&client, &table)
            .await
            .expect("create the test table in DynamoDB Local");
        Self::with_client(settings, client, round_trips)
    }

    /// An app whose DynamoDB operations may each take `timeout`: for tests that contend on one
    /// item from many requests at once, which DynamoDB Local serves one at a time (slowly when
    /// the whole suite shares it).
    pub async fn spawn_patient(overrides: &[(&str, &str)], timeout: Duration) -> Self {
        let table = unique_name("auth");
        let settings = settings(&table, overrides);
        let round_trips = RoundTripCounter::default();
        let client =
            client_with_timeout(&dynamodb_endpoint(), &round_trips, None, None, timeout).await;
        schema::create_table(&client, &table)
            .await
            .expect("create the test table in DynamoDB Local");
        Self::with_client(settings, client, round_trips)
    }

    /// An app whose DynamoDB transactions conflict when `conflicts` says so.
    pub async fn spawn_with_conflicts(
        overrides: &[(&str, &str)],
        conflicts: Option<&conflicts::ConflictInjector>,
    ) -> Self {
        let table = unique_name("auth");
        let settings = settings(&table, overrides);
        let round_trips = RoundTripCounter::default();
        let client = client_with(&dynamodb_endpoint(), &round_trips, conflicts).await;
        schema::create_table(&client, &table)
            .await
            .expect("create the test table in DynamoDB Local");
        Self::with_client(settings, client, round_trips)
    }

    /// An app over an existing table (e.g. reached through a proxy, or with other settings).
    pub fn with_client(
        settings: BTreeMap<String, String>,
        client: Client,
        round_trips: RoundTripCounter,
    ) -> Self {
        init_test_log();
        let clock = AdjustableClock::default();
        let shared_clock: auth_core::clock::SharedClock = Arc::new(clock.clone());
        let sign_in = SignInSettings::from_env(&settings).expect("valid sign-in settings");
        let table = sign_in.store.table.clone();
        let store =
            Store::new(client.clone(), &table).with_outbox(schema::local_outbox_table(&table));
        let mut sign_in =
            SignIn::new(sign_in, store.clone(), shared_clock.clone()).expect("sign-in");
        let mut refresher = Refresh::new(
            RefreshSettings::from_env(&settings).expect("valid refresh settings"),
            store.clone(),
            shared_clock.clone(),
        );
        let mut logouts = Logout::new(
            LogoutSettings::from_env(&settings).expect("valid logout settings"),
            store.clone(),
            shared_clock.clone(),
        );
        let captured = CapturedAudit::default();
        let audit = Audit::new(
            audit_settings(&settings).expect("valid audit settings"),
            Arc::new(captured.clone()),
        );
        let account_settings = AccountSettings::from_env(&settings).expect("account settings");
        let mut account = Account::new(account_settings, store.clone(), shared_clock.clone())
            .expect("account state");
        let mut session_admin = SessionManagement::new(
            AccountSettings::from_env(&settings).expect("account settings"),
            store.clone(),
            shared_clock.clone(),
        );
        let mut mfa = Mfa::new(
            MfaSettings::from_env(&settings).expect("valid mfa settings"),
            store.clone(),
            shared_clock.clone(),
        )
        .expect("mfa state");
        let mut federation = auth_service::handlers::Federation::new(
            auth_service::config::FederationSettings::from_env(&settings)
                .expect("valid federation settings"),
            store.clone(),
            shared_clock.clone(),
        )
        .expect("federation state");
        let mailer = lifecycle::mailer(&settings, store.clone(), shared_clock, captured.clone());
        federation.audit = audit.clone();
        sign_in.audit = audit.clone();
        refresher.audit = audit.clone();
        account.audit = audit.clone();
        session_admin.audit = audit.clone();
        mfa.audit = audit.clone();
        logouts.audit = audit;
        round_trips.take();
        Self {
            mfa,
            federation,
            account,
            session_admin,
            mailer,
            relay: tokio::sync::Mutex::new(None),
            sign_in,
            refresher,
            logouts,
            profiles: Profiles { store },
            clock,
            round_trips,
            client,
            table,
            settings,
            audit: captured,
        }
    }

    /// The audit lines so far, parsed; each must be one JSON object.
    pub fn audit_events(&self) -> Vec<Value> {
        self.audit
            .lines()
            .iter()
            .map(|line| serde_json::from_str(line).expect("an audit line is JSON"))
            .collect()
    }

    /// The audit lines of `event`, parsed.
    pub fn audit_events_named(&self, event: &str) -> Vec<Value> {
        self.audit_events()
            .into_iter()
            .filter(|line| line["event"] == event)
            .collect()
    }

    pub fn now(&self) -> i64 {
        use auth_core::clock::Clock as _;
        self.clock.now()
    }

    pub async fn register(&self, name: &str, email: &str, password: &str) -> TestResponse {
        let body =
            serde_json::json!({ "name": name, "email": email, "password": password }).to_string();
        self.send(Function::Register, json_post("/auth/register", &body))
            .await
    }

    /// Registers a user with a unique email; returns the email and the response.
    pub async fn registered_user(&self) -> (String, TestResponse) {
        let email = format!("{}@example.com", unique_name("user"));
        let response = self.register("Ada Lovelace", &email, PASSWORD).await;
        assert_eq!(
            response.status, 201,
            "registration failed: {}",
            response.text
        );
        (email, response)
    }

    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.login_from(SOURCE_IP, email, password).await
    }

    /// A login from the client address `source_ip`.
    pub async fn login_from(&self, source_ip: &str, email: &str, password: &str) -> TestResponse {
        let body = serde_json::json!({ "email": email, "password": password }).to_string();
        self.send(
            Function::Login,
            json_post_from(source_ip, "/auth/login", &body),
        )
        .await
    }

    /// A registration from the client address `source_ip`.
    pub async fn register_from(&self, source_ip: &str, email: &str) -> TestResponse {
        let body =
            serde_json::json!({ "name": "Ada", "email": email, "password": PASSWORD }).to_string();
        self.send(
            Function::Register,
            json_post_from(source_ip, "/auth/register", &body),
        )
        .await
    }

    /// Refresh with the token in the `refreshToken` cookie, as a browser does.
    pub async fn refresh(&self, refresh_token: &str) -> TestResponse {
        let request = http_api_event(
            "POST",
            "/auth/refresh",
            &[],
            &[format!("refreshToken={refresh_token}")],
            None,
        );
        self.send(Function::Refresh, request).await
    }

    pub async fn logout(&self, refresh_token: Option<&str>) -> TestResponse {
        let cookies: Vec<String> = refresh_token
            .map(|token| format!("refreshToken={token}"))
            .into_iter()
            .collect();
        self.send(
            Function::Logout,
            http_api_event("POST", "/auth/logout", &[], &cookies, None),
        )
        .await
    }

    pub async fn logout_all(&self, access_token: Option<&str>) -> TestResponse {
        let authorization = access_token.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("authorization", value.as_str()))
            .collect();
        self.send(
            Function::Logout,
            http_api_event("POST", "/auth/logout-all", &headers, &[], None),
        )
        .await
    }

    /// Sends `request` to `function`'s handler, as Lambda would.
    pub async fn send(&self, function: Function, request: Request) -> TestResponse {
        TestResponse::from(match function {
            Function::Register => handlers::register(&self.sign_in, request).await,
            Function::Login => handlers::login(&self.sign_in, request).await,
            Function::Refresh => handlers::refresh(&self.refresher, request).await,
            Function::Logout => handlers::logout(&self.logouts, request).await,
            Function::Me => handlers::me(&self.profiles, request).await,
            Function::Password => handlers::password(&self.account, request).await,
            Function::Email => handlers::email(&self.account, request).await,
            Function::Sessions => handlers::sessions(&self.session_admin, request).await,
            Function::Account => handlers::account(&self.account, request).await,
            Function::Mfa => handlers::mfa(&self.mfa, request).await,
            Function::Federation => handlers::federation(&self.federation, request).await,
        })
    }

    /// The raw session item, or `None` once deleted.
    pub async fn session_item(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key(schema::PK, AttributeValue::S(format!("USER#{user_id}")))
            .key(
                schema::SK,
                AttributeValue::S(format!("SESSION#{session_id}")),
            )
            .consistent_read(true)
            .send()
            .await
            .expect("read the session item")
            .item
    }

    /// The items of accounts and sessions: every item but the per-source-IP counters.
    pub async fn account_items(&self) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        self.all_items()
            .await
            .into_iter()
            .filter(|item| {
                !item
                    .get(schema::PK)
                    .and_then(|pk| pk.as_s().ok())
                    .is_some_and(|pk| pk.starts_with("IP#"))
            })
            .collect()
    }

    /// Every item in the table (for "nothing half-written" checks).
    pub async fn all_items(&self) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        self.client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .send()
            .await
            .expect("scan the table")
            .items
            .unwrap_or_default()
    }

    /// Every item in the outbox table: the mail requests.
    pub async fn outbox_items(&self) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        self.client
            .scan()
            .table_name(schema::local_outbox_table(&self.table))
            .consistent_read(true)
            .send()
            .await
            .expect("scan the outbox table")
            .items
            .unwrap_or_default()
    }
}

pub fn json_post(path: &str, body: &str) -> Request {
    json_post_from(SOURCE_IP, path, body)
}

pub fn json_post_from(source_ip: &str, path: &str, body: &str) -> Request {
    http_api_event_from(
        source_ip,
        "POST",
        path,
        &[("content-type", "application/json")],
        &[],
        Some(body),
    )
}

/// A handler's response, decoded for assertions.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl From<Response<Body>> for TestResponse {
    fn from(response: Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let text = match body {
            Body::Empty => String::new(),
            Body::Text(text) => text,
            Body::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            _ => String::new(),
        };
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status: parts.status.as_u16(),
            headers: parts.headers,
            text,
            json,
        }
    }
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The `Set-Cookie` line for the refresh cookie.
    pub fn refresh_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|cookie| cookie.starts_with("refreshToken="))
            .map(str::to_owned)
    }

    pub fn refresh_token(&self) -> String {
        let cookie = self
            .refresh_cookie()
            .unwrap_or_else(|| panic!("no refresh cookie in {self:?}"));
        cookie["refreshToken=".len()..]
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn access_token(&self) -> String {
        self.json["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token in {}", self.text))
            .to_owned()
    }

    /// Asserts the response is the JSON error `code` with `status`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.json["code"], code,
            "unexpected error code; body: {}",
            self.text
        );
        assert!(
            self.json["error"]
                .as_str()
                .is_some_and(|message| !message.is_empty()),
            "{}",
            self.text
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
    }
}

/// The claims of an access token, decoded without verification (for assertions only).
pub fn claims(access_token: &str) -> Value {
    use base64::Engine as _;
    let payload = access_token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

pub fn attribute_number(
    item: &std::collections::HashMap<String, AttributeValue>,
    name: &str,
) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().expect("a number"),
        other => panic!("attribute {name} is not a number: {other:?}"),
    }
}
