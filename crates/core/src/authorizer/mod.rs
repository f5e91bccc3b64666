//! The API Gateway Lambda authorizer: verifies access tokens with no database call (unless
//! strict mode is on) and answers in the shape of the event it was given:
//! - REST API TOKEN and REQUEST authorizers: an IAM policy, or the error `Unauthorized` (401);
//! - HTTP API payload 2.0: a simple `{isAuthorized, context}` response, or an IAM policy
//!   (`AUTHORIZER_RESPONSE=simple|iam`).

mod context;
mod policy;
mod rules;

use std::future::Future;
use std::pin::Pin;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerIamPolicyResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use http::HeaderMap;
use serde::{Deserialize, Serialize};

pub use context::{AuthorizerContext, Context};
pub use policy::{RouteArn, allow_stage_except, deny_stage};
pub use rules::{RouteRule, RouteRules};

use crate::clock::SharedClock;
use crate::config::{ConfigError, Env};
use crate::header_values::{find_cookie, parse_bearer};
use crate::token::{AccessClaims, AccessTokenConfig, AccessTokens, Rejection};

/// The cookie the seed's middleware falls back to when there is no `Authorization` header.
pub const ACCESS_TOKEN_COOKIE: &str = "accessToken";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Strict mode's check that the token's session still exists (so logout-all takes effect
/// before access tokens expire). One read per authorizer cache miss.
pub trait SessionCheck: Send + Sync {
    fn is_live<'a>(
        &'a self,
        user_id: &'a str,
        session_id: &'a str,
        now: i64,
    ) -> Pin<Box<dyn Future<Output = Result<bool, BoxError>> + Send + 'a>>;
}

/// How HTTP API (payload 2.0) events are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Simple,
    Iam,
}

#[derive(Debug)]
pub struct AuthorizerConfig {
    pub access: AccessTokenConfig,
    pub rules: RouteRules,
    pub response: ResponseMode,
    /// `AUTHORIZER_CHECK_REVOCATION=true`: check the session in DynamoDB on every cache miss.
    pub check_revocation: bool,
}

impl AuthorizerConfig {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let response = match env
            .get("AUTHORIZER_RESPONSE")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("simple") => ResponseMode::Simple,
            Some("iam") => ResponseMode::Iam,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "AUTHORIZER_RESPONSE",
                    reason: format!("expected simple or iam, got {other:?}"),
                });
            }
        };
        let check_revocation = match env
            .get("AUTHORIZER_CHECK_REVOCATION")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "AUTHORIZER_CHECK_REVOCATION",
                    reason: format!("expected true or false, got {other:?}"),
                });
            }
        };
        Ok(Self {
            access: AccessTokenConfig::from_env(env)?,
            rules: RouteRules::parse(&env.get("ROUTE_ROLES").unwrap_or_default())?,
            response,
            check_revocation,
        })
    }
}

/// Why a request was not authorized, for the one log line per decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denial {
    Token(Rejection),
    SessionRevoked,
    BadRouteArn,
}

impl Denial {
    fn reason_code(self) -> &'static str {
        match self {
            Self::Token(rejection) => rejection.reason_code(),
            Self::SessionRevoked => "session_revoked",
            Self::BadRouteArn => "bad_route_arn",
        }
    }
}

/// The function's error. API Gateway turns exactly the message `Unauthorized` into a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizerError {
    #[error("Unauthorized")]
    Unauthorized,
    /// Strict mode could not reach DynamoDB: fail closed, as a 500 the client may retry.
    #[error("Authorizer unavailable")]
    Unavailable,
}

impl AuthorizerError {
    pub fn error_type(self) -> &'static str {
        match self {
            Self::Unauthorized => "Unauthorized",
            Self::Unavailable => "Unavailable",
        }
    }
}

/// The answer, serialized in the shape API Gateway expects for the event that was received.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AuthorizerResponse {
    Policy(ApiGatewayCustomAuthorizerResponse<Context>),
    Simple(ApiGatewayV2CustomAuthorizerSimpleResponse<Context>),
    HttpApiPolicy(ApiGatewayV2CustomAuthorizerIamPolicyResponse<Context>),
}

/// Just enough of an event to tell its shape.
#[derive(Deserialize)]
struct EventShape {
    version: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub struct Authorizer {
    tokens: AccessTokens,
    rules: RouteRules,
    response: ResponseMode,
    sessions: Option<Box<dyn SessionCheck>>,
    clock: SharedClock,
}

impl Authorizer {
    pub fn new(
        config: AuthorizerConfig,
        sessions: Option<Box<dyn SessionCheck>>,
        clock: SharedClock,
    ) -> Self {
        Self {
            tokens: AccessTokens::new(config.access),
            rules: config.rules,
            response: config.response,
            sessions,
            clock,
        }
    }

    /// Handles one event, given as the JSON API Gateway sent.
    pub async fn handle(&self, event: &str) -> Result<AuthorizerResponse, AuthorizerError> {
        let shape: EventShape = serde_json::from_str(event).map_err(|_| self.unreadable_event())?;
        match (shape.version.as_deref(), shape.kind.as_deref()) {
            (Some("2.0"), _) => {
                let event: ApiGatewayV2CustomAuthorizerV2Request =
                    serde_json::from_str(event).map_err(|_| self.unreadable_event())?;
                self.http_api(&event).await
            }
            (_, Some("TOKEN")) => {
                let event: ApiGatewayCustomAuthorizerRequest =
                    serde_json::from_str(event).map_err(|_| self.unreadable_event())?;
                let token = event.authorization_token.as_deref().and_then(parse_bearer);
                self.rest(token, event.method_arn.as_deref()).await
            }
            (_, Some("REQUEST")) => {
                let event: ApiGatewayCustomAuthorizerRequestTypeRequest =
                    serde_json::from_str(event).map_err(|_| self.unreadable_event())?;
                let cookie_headers = event
                    .headers
                    .get_all(http::header::COOKIE)
                    .iter()
                    .filter_map(|value| value.to_str().ok());
                let token = bearer(&event.headers)
                    .or_else(|| find_cookie(cookie_headers, ACCESS_TOKEN_COOKIE));
                self.rest(token, event.method_arn.as_deref()).await
            }
            _ => Err(self.unreadable_event()),
        }
    }

    fn unreadable_event(&self) -> AuthorizerError {
        tracing::warn!(
            decision = "unauthorized",
            reason = "unreadable_event",
            "authorizer decision"
        );
        AuthorizerError::Unauthorized
    }

    /// Verifies the token and, in strict mode, that its session is still live.
    async fn authenticate(
        &self,
        token: Option<&str>,
    ) -> Result<Result<AccessClaims, Denial>, AuthorizerError> {
        let now = self.clock.now();
        let claims = match self.tokens.verify(token.unwrap_or_default(), now) {
            Ok(claims) => claims,
            Err(rejection) => return Ok(Err(Denial::Token(rejection))),
        };
        if let Some(sessions) = &self.sessions {
            match sessions.is_live(&claims.sub, &claims.sid, now).await {
                Ok(true) => {}
                Ok(false) => return Ok(Err(Denial::SessionRevoked)),
                Err(error) => {
                    tracing::error!(cause = %crate::error::error_chain(error.as_ref()), sub = %claims.sub, "session check failed");
                    return Err(AuthorizerError::Unavailable);
                }
            }
        }
        Ok(Ok(claims))
    }

    async fn rest(
        &self,
        token: Option<&str>,
        method_arn: Option<&str>,
    ) -> Result<AuthorizerResponse, AuthorizerError> {
        let claims = match self.authenticate(token).await? {
            Ok(claims) => claims,
            Err(denial) => return Err(log_unauthorized(denial)),
        };
        let Some(arn) = method_arn.and_then(RouteArn::parse) else {
            return Err(log_unauthorized(Denial::BadRouteArn));
        };
        log_decision(&claims, &self.rules, &arn);
        let mut response = ApiGatewayCustomAuthorizerResponse::<Context>::default();
        response.principal_id = Some(claims.sub.clone());
        response.policy_document = allow_stage_except(&arn, self.rules.denied_for(&claims.role));
        response.context = Context::from(&claims);
        Ok(AuthorizerResponse::Policy(response))
    }

    async fn http_api(
        &self,
        event: &ApiGatewayV2CustomAuthorizerV2Request,
    ) -> Result<AuthorizerResponse, AuthorizerError> {
        let token = bearer(&event.headers).or_else(|| {
            find_cookie(
                event.cookies.iter().map(String::as_str),
                ACCESS_TOKEN_COOKIE,
            )
        });
        let authenticated = self.authenticate(token).await?;
        let arn = event.route_arn.as_deref().and_then(RouteArn::parse);
        let outcome = match (authenticated, arn) {
            (Ok(claims), Some(arn)) => Ok((claims, arn)),
            (Err(denial), _) => Err(denial),
            (Ok(_), None) => Err(Denial::BadRouteArn),
        };
        match self.response {
            ResponseMode::Simple => {
                let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::<Context>::default();
                match outcome {
                    Ok((claims, arn)) => {
                        let allowed = log_decision(&claims, &self.rules, &arn);
                        response.is_authorized = allowed;
                        if allowed {
                            response.context = Context::from(&claims);
                        }
                    }
                    Err(denial) => {
                        log_unauthorized(denial);
                    }
                }
                Ok(AuthorizerResponse::Simple(response))
            }
            ResponseMode::Iam => {
                let mut response =
                    ApiGatewayV2CustomAuthorizerIamPolicyResponse::<Context>::default();
                match outcome {
                    Ok((claims, arn)) => {
                        log_decision(&claims, &self.rules, &arn);
                        response.principal_id = Some(claims.sub.clone());
                        response.policy_document =
                            allow_stage_except(&arn, self.rules.denied_for(&claims.role));
                        response.context = Context::from(&claims);
                    }
                    Err(denial) => {
                        let unauthorized = log_unauthorized(denial);
                        // Without a route ARN there is no stage to deny; fail closed.
                        let arn = event
                            .route_arn
                            .as_deref()
                            .and_then(RouteArn::parse)
                            .ok_or(unauthorized)?;
                        response.principal_id = Some("anonymous".to_owned());
                        response.policy_document = deny_stage(&arn);
                    }
                }
                Ok(AuthorizerResponse::HttpApiPolicy(response))
            }
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_bearer)
}

fn log_unauthorized(denial: Denial) -> AuthorizerError {
    tracing::info!(
        decision = "unauthorized",
        reason = denial.reason_code(),
        "authorizer decision"
    );
    AuthorizerError::Unauthorized
}

/// Logs allow or deny for the route being called; returns whether it is allowed.
fn log_decision(claims: &AccessClaims, rules: &RouteRules, arn: &RouteArn<'_>) -> bool {
    let allowed = rules
        .failed_by(&claims.role, arn.method, &arn.path)
        .next()
        .is_none();
    let (decision, reason) = if allowed {
        ("allow", "valid_token")
    } else {
        ("deny", "role_not_allowed")
    };
    tracing::info!(decision, reason, sub = %claims.sub, sid = %claims.sid, role = %claims.role, method = arn.method, path = %arn.path, "authorizer decision");
    allowed
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};

    use super::*;
    use crate::clock::Clock;
    use crate::domain::{Role, SessionId, UserId};

    const NOW: i64 = 1_800_000_000;
    const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/me";
    const ROUTE_ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:abc123/$default/GET/me";

    struct FixedClock;

    impl Clock for FixedClock {
        fn now(&self) -> i64 {
            NOW
        }
    }

    /// A session store stand-in: a fixed answer, and a record of what it was asked.
    #[derive(Clone)]
    struct FakeSessions {
        answer: Result<bool, &'static str>,
        asked: Arc<Mutex<Vec<(String, String, i64)>>>,
    }

    impl FakeSessions {
        fn new(answer: Result<bool, &'static str>) -> Self {
            Self {
                answer,
                asked: Arc::default(),
            }
        }
    }

    impl SessionCheck for FakeSessions {
        fn is_live<'a>(
            &'a self,
            user_id: &'a str,
            session_id: &'a str,
            now: i64,
        ) -> Pin<Box<dyn Future<Output = Result<bool, BoxError>> + Send + 'a>> {
            self.asked
                .lock()
                .expect("lock")
                .push((user_id.to_owned(), session_id.to_owned(), now));
            let answer = self.answer.map_err(BoxError::from);
            Box::pin(async move { answer })
        }
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = [
            (
                "JWT_ACCESS_SECRET",
                "an-access-secret-of-at-least-32-bytes!!",
            ),
            ("ROUTE_ROLES", "GET /admin/*=admin"),
        ]
        .into_iter()
        .chain(pairs.iter().copied())
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
        env.retain(|_, value| !value.is_empty());
        env
    }

    fn authorizer(pairs: &[(&str, &str)], sessions: Option<FakeSessions>) -> Authorizer {
        let config = AuthorizerConfig::from_env(&env(pairs)).expect("config");
        Authorizer::new(
            config,
            sessions.map(|fake| Box::new(fake) as Box<dyn SessionCheck>),
            Arc::new(FixedClock),
        )
    }

    fn token() -> (String, AccessClaims) {
        let tokens =
            AccessTokens::new(AccessTokenConfig::from_env(&env(&[])).expect("token config"));
        let issued = tokens
            .issue(
                &UserId::generate(),
                &Role::user(),
                &SessionId::generate(),
                NOW,
            )
            .expect("issue");
        (issued.token, issued.claims)
    }

    fn rest_request(headers: Value) -> String {
        json!({
            "type": "REQUEST", "methodArn": ARN, "httpMethod": "GET", "path": "/me",
            "headers": headers, "requestContext": { "stage": "prod", "httpMethod": "GET" }
        })
        .to_string()
    }

    fn http_api(headers: Value, cookies: &[String]) -> String {
        json!({
            "version": "2.0", "type": "REQUEST", "routeArn": ROUTE_ARN, "routeKey": "GET /me",
            "rawPath": "/me", "headers": headers, "cookies": cookies,
            "requestContext": { "http": { "method": "GET", "path": "/me" } }
        })
        .to_string()
    }

    async fn run(authorizer: &Authorizer, event: &str) -> Result<Value, AuthorizerError> {
        authorizer
            .handle(event)
            .await
            .map(|response| serde_json::to_value(response).expect("serialize"))
    }

    #[test]
    fn configuration_reads_the_response_mode_and_strict_mode_case_insensitively() {
        let config = AuthorizerConfig::from_env(&env(&[
            ("AUTHORIZER_RESPONSE", "IAM"),
            ("AUTHORIZER_CHECK_REVOCATION", "True"),
        ]))
        .expect("config");
        assert_eq!(config.response, ResponseMode::Iam);
        assert!(config.check_revocation);
        let defaults = AuthorizerConfig::from_env(&env(&[])).expect("config");
        assert_eq!(defaults.response, ResponseMode::Simple);
        assert!(!defaults.check_revocation);
        let error = AuthorizerConfig::from_env(&env(&[("AUTHORIZER_CHECK_REVOCATION", "yes")]))
            .expect_err("invalid");
        assert!(error.to_string().contains("AUTHORIZER_CHECK_REVOCATION"));
    }

    #[tokio::test]
    async fn strict_mode_asks_about_the_tokens_own_session_and_honours_the_answer() {
        let (token, claims) = token();
        let event = rest_request(json!({ "Authorization": format!("Bearer {token}") }));

        let live = FakeSessions::new(Ok(true));
        let response = run(&authorizer(&[], Some(live.clone())), &event).await;
        assert_eq!(response.expect("allowed")["principalId"], claims.sub);
        assert_eq!(
            *live.asked.lock().expect("lock"),
            [(claims.sub.clone(), claims.sid.clone(), NOW)]
        );

        let revoked = FakeSessions::new(Ok(false));
        assert_eq!(
            run(&authorizer(&[], Some(revoked.clone())), &event).await,
            Err(AuthorizerError::Unauthorized)
        );
        let simple = run(
            &authorizer(&[], Some(revoked)),
            &http_api(json!({ "authorization": format!("Bearer {token}") }), &[]),
        )
        .await
        .expect("a simple response");
        assert_eq!(simple, json!({ "isAuthorized": false, "context": {} }));
    }

    #[tokio::test]
    async fn strict_mode_fails_closed_when_the_store_cannot_answer() {
        let (token, _) = token();
        let down = FakeSessions::new(Err("DynamoDB is unreachable"));
        let authorizer = authorizer(&[], Some(down));
        for event in [
            rest_request(json!({ "Authorization": format!("Bearer {token}") })),
            http_api(json!({ "authorization": format!("Bearer {token}") }), &[]),
        ] {
            let error = run(&authorizer, &event).await.expect_err("no answer");
            assert_eq!(error, AuthorizerError::Unavailable);
            assert_eq!(error.error_type(), "Unavailable");
            assert_ne!(
                error.to_string(),
                "Unauthorized",
                "an outage is a 500 the client may retry, not a 401 that logs it out"
            );
        }
    }

    #[tokio::test]
    async fn invalid_tokens_cost_no_session_read() {
        let sessions = FakeSessions::new(Ok(true));
        let authorizer = authorizer(&[], Some(sessions.clone()));
        for event in [
            rest_request(json!({ "Authorization": "Bearer not.a.jwt" })),
            rest_request(json!({})),
            http_api(json!({}), &[]),
        ] {
            assert!(
                run(&authorizer, &event)
                    .await
                    .map_or(true, |response| response["isAuthorized"] == false)
            );
        }
        assert!(sessions.asked.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn the_authorization_header_takes_precedence_over_the_cookie() {
        let (token, _) = token();
        let authorizer = authorizer(&[], None);
        let cookie = format!("theme=dark; accessToken={token}");

        let from_cookie = rest_request(json!({ "Cookie": cookie }));
        assert!(run(&authorizer, &from_cookie).await.is_ok());
        // A bearer header is the credential presented; a valid cookie does not rescue it.
        let bad_header =
            rest_request(json!({ "Authorization": "Bearer forged", "Cookie": cookie }));
        assert_eq!(
            run(&authorizer, &bad_header).await,
            Err(AuthorizerError::Unauthorized)
        );
        // A header that is not a bearer credential is no credential: the cookie is used.
        let basic =
            rest_request(json!({ "Authorization": "Basic dXNlcjpwYXNz", "Cookie": cookie }));
        assert!(run(&authorizer, &basic).await.is_ok());

        let cookies = ["theme=dark".to_owned(), format!("accessToken={token}")];
        let http = run(&authorizer, &http_api(json!({}), &cookies))
            .await
            .expect("simple");
        assert_eq!(http["isAuthorized"], true);
        let other_cookie = [format!("refreshToken={token}")];
        let http = run(&authorizer, &http_api(json!({}), &other_cookie))
            .await
            .expect("simple");
        assert_eq!(
            http["isAuthorized"], false,
            "only the accessToken cookie counts"
        );
    }

    #[tokio::test]
    async fn events_are_told_apart_by_version_then_type() {
        let (token, _) = token();
        let authorizer = authorizer(&[], None);
        // Payload 2.0 also says `type: REQUEST`; the version decides.
        let http = run(
            &authorizer,
            &http_api(json!({ "authorization": format!("Bearer {token}") }), &[]),
        )
        .await
        .expect("simple");
        assert_eq!(http["isAuthorized"], true);
        let lower_case = json!({ "type": "token", "methodArn": ARN, "authorizationToken": format!("Bearer {token}") });
        assert_eq!(
            run(&authorizer, &lower_case.to_string()).await,
            Err(AuthorizerError::Unauthorized)
        );
        let version_one = json!({ "version": "1.0", "type": "TOKEN", "methodArn": ARN, "authorizationToken": format!("Bearer {token}") });
        assert!(run(&authorizer, &version_one.to_string()).await.is_ok());
    }

    #[tokio::test]
    async fn a_missing_route_arn_is_never_an_allow() {
        let (token, _) = token();
        let without_arn = |authorization: &str| {
            json!({
                "version": "2.0", "type": "REQUEST", "routeKey": "GET /me", "rawPath": "/me",
                "headers": { "authorization": authorization },
                "requestContext": { "http": { "method": "GET", "path": "/me" } }
            })
            .to_string()
        };
        let valid = format!("Bearer {token}");
        let simple = authorizer(&[], None);
        let response = run(&simple, &without_arn(&valid)).await.expect("simple");
        assert_eq!(response, json!({ "isAuthorized": false, "context": {} }));
        let iam = authorizer(&[("AUTHORIZER_RESPONSE", "iam")], None);
        for authorization in [valid.as_str(), "Bearer forged"] {
            assert_eq!(
                run(&iam, &without_arn(authorization)).await,
                Err(AuthorizerError::Unauthorized),
                "{authorization}: no stage to name in a policy"
            );
        }
    }
}
