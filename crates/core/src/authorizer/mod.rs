//! The API Gateway Lambda authorizer: verifies the access token from the identity source API
//! Gateway caches on, with no database call (unless strict mode is on), and answers in the shape
//! of the event it was given:
//! - REST API TOKEN and REQUEST: an IAM policy, or the error `Unauthorized` (401);
//! - HTTP API payload 2.0: a simple `{isAuthorized, context}` response or an IAM policy
//!   (`AUTHORIZER_RESPONSE=simple|iam`), or the error `Unauthorized` (401).
//!
//! The answer is a function of the identity source alone (the token, and for simple answers the
//! route key), so whatever API Gateway serves from its cache is the answer it would get again.

mod context;
mod event;
mod policy;
mod rules;

use std::future::Future;
use std::pin::Pin;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerIamPolicyResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse,
};
use serde::Serialize;

pub use context::{AuthorizerContext, Context};
pub use event::{ACCESS_TOKEN_COOKIE, AuthorizerEvent, TokenSource};
pub use policy::{RouteArn, allow_stage_except};
pub use rules::{MfaRoutes, RouteKey, RouteRule, RouteRules, RuleError};

use crate::clock::SharedClock;
use crate::token::{AccessClaims, AccessTokens, Rejection};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

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

/// How the authorizer answers, beyond its keys.
#[derive(Debug, Clone)]
pub struct AuthorizerOptions {
    pub rules: RouteRules,
    /// `ROUTE_MFA`: routes that need an `aal2` token.
    pub mfa_routes: MfaRoutes,
    pub response: ResponseMode,
    pub token_source: TokenSource,
}

/// Why a request was not authorized, for the one log line per decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    UnreadableEvent,
    Token(Rejection),
    SessionRevoked,
    BadRouteArn,
    MissingRouteKey,
    RoleNotAllowed,
    SecondFactorRequired,
}

impl Denial {
    pub fn reason_code(self) -> &'static str {
        match self {
            Self::UnreadableEvent => "unreadable_event",
            Self::Token(rejection) => rejection.reason_code(),
            Self::SessionRevoked => "session_revoked",
            Self::BadRouteArn => "bad_route_arn",
            Self::MissingRouteKey => "missing_route_key",
            Self::RoleNotAllowed => "role_not_allowed",
            Self::SecondFactorRequired => "second_factor_required",
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

impl From<AuthorizerError> for lambda_runtime::Diagnostic {
    fn from(error: AuthorizerError) -> Self {
        Self {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
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

/// What the authorizer decided and why: the answer for API Gateway, and what to log.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub answer: Result<AuthorizerResponse, AuthorizerError>,
    /// `None` when allowed.
    pub denial: Option<Denial>,
    pub claims: Option<AccessClaims>,
    pub route: Option<String>,
}

impl Decision {
    fn unauthorized(denial: Denial, route: Option<String>) -> Self {
        Self {
            answer: Err(AuthorizerError::Unauthorized),
            denial: Some(denial),
            claims: None,
            route,
        }
    }

    /// One structured line per decision, never the token, at a level chosen by cost: an allowed
    /// request logs at `debug` (at `info` a line per allowed request costs about as much in
    /// log ingestion as the invocation itself), a refusal at `info`, an outage at `warn`.
    pub fn log(&self) {
        let outcome = match (&self.answer, self.denial) {
            (Err(AuthorizerError::Unavailable), _) => "unavailable",
            (Err(AuthorizerError::Unauthorized), _) => "unauthorized",
            (Ok(_), None) => "allow",
            (Ok(_), Some(_)) => "deny",
        };
        let reason = self.denial.map_or("valid_token", Denial::reason_code);
        let route = self.route.as_deref().unwrap_or("-");
        macro_rules! decision {
            ($level:ident) => {
                match &self.claims {
                    Some(claims) => tracing::$level!(
                        decision = outcome, reason, route, sub = %claims.sub, sid = %claims.sid,
                        role = %claims.role, aal = claims.aal.as_str(), "authorizer decision"
                    ),
                    None => tracing::$level!(decision = outcome, reason, route, "authorizer decision"),
                }
            };
        }
        match outcome {
            "allow" => decision!(debug),
            "unavailable" => decision!(warn),
            _ => decision!(info),
        }
    }
}

pub struct Authorizer {
    tokens: AccessTokens,
    options: AuthorizerOptions,
    sessions: Option<Box<dyn SessionCheck>>,
    clock: SharedClock,
}

impl Authorizer {
    pub fn new(
        tokens: AccessTokens,
        options: AuthorizerOptions,
        sessions: Option<Box<dyn SessionCheck>>,
        clock: SharedClock,
    ) -> Self {
        Self {
            tokens,
            options,
            sessions,
            clock,
        }
    }

    /// Handles one event, given as the JSON API Gateway sent, and logs the decision.
    pub async fn handle(&self, event: &str) -> Result<AuthorizerResponse, AuthorizerError> {
        let decision = self.authorize(event).await;
        decision.log();
        decision.answer
    }

    /// Decides on one event without logging.
    pub async fn authorize(&self, event: &str) -> Decision {
        let Some(event) = AuthorizerEvent::parse(event) else {
            return Decision::unauthorized(Denial::UnreadableEvent, None);
        };
        let now = self.clock.now();
        let mut authenticated = self.authenticate(&event, now);
        if let (Ok(claims), Some(sessions)) = (&authenticated, &self.sessions) {
            match sessions.is_live(&claims.sub, &claims.sid, now).await {
                Ok(true) => {}
                Ok(false) => authenticated = Err(Denial::SessionRevoked),
                Err(error) => {
                    tracing::error!(cause = %crate::telemetry::error_chain(error.as_ref()), sub = %claims.sub, "session check failed");
                    return Decision {
                        answer: Err(AuthorizerError::Unavailable),
                        denial: None,
                        claims: Some(claims.clone()),
                        route: event.route_for_logs(),
                    };
                }
            }
        }
        self.decide(&event, authenticated)
    }

    /// Verifies the token found in the event's identity source. Pure.
    pub fn authenticate(&self, event: &AuthorizerEvent, now: i64) -> Result<AccessClaims, Denial> {
        let token = self
            .options
            .token_source
            .token(event.credential(self.options.token_source))
            .map_err(Denial::Token)?;
        self.tokens.verify(token, now).map_err(Denial::Token)
    }

    /// The answer for an event given who (if anyone) the token proved the caller to be. Pure:
    /// it reads the event's identity source and API/stage ARN, nothing else.
    pub fn decide(
        &self,
        event: &AuthorizerEvent,
        authenticated: Result<AccessClaims, Denial>,
    ) -> Decision {
        let route = event.route_for_logs();
        let claims = match authenticated {
            Ok(claims) => claims,
            Err(denial) => return Decision::unauthorized(denial, route),
        };
        let policy_mode = match event {
            AuthorizerEvent::HttpApi(_) => self.options.response == ResponseMode::Iam,
            AuthorizerEvent::RestToken(_) | AuthorizerEvent::RestRequest(_) => true,
        };
        if policy_mode {
            let Some(arn) = event.route_arn().and_then(RouteArn::parse) else {
                return Decision::unauthorized(Denial::BadRouteArn, route);
            };
            let denied = self
                .options
                .rules
                .denied_for(&claims.role)
                .map(|rule| &rule.route)
                .chain(self.options.mfa_routes.denied_for(claims.aal));
            let policy = allow_stage_except(&arn, denied);
            let answer = match event {
                AuthorizerEvent::HttpApi(_) => {
                    let mut response = ApiGatewayV2CustomAuthorizerIamPolicyResponse::default();
                    response.principal_id = Some(claims.sub.clone());
                    response.policy_document = policy;
                    response.context = Context::from(&claims);
                    AuthorizerResponse::HttpApiPolicy(response)
                }
                AuthorizerEvent::RestToken(_) | AuthorizerEvent::RestRequest(_) => {
                    let mut response = ApiGatewayCustomAuthorizerResponse::default();
                    response.principal_id = Some(claims.sub.clone());
                    response.policy_document = policy;
                    response.context = Context::from(&claims);
                    AuthorizerResponse::Policy(response)
                }
            };
            return Decision {
                answer: Ok(answer),
                denial: None,
                claims: Some(claims),
                route,
            };
        }
        let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
        let denial = match event.cached_route_key() {
            None => Some(Denial::MissingRouteKey),
            Some(route_key) if !self.options.rules.allows(&claims.role, route_key) => {
                Some(Denial::RoleNotAllowed)
            }
            Some(route_key) if !self.options.mfa_routes.allows(claims.aal, route_key) => {
                Some(Denial::SecondFactorRequired)
            }
            Some(_) => None,
        };
        response.is_authorized = denial.is_none();
        if denial.is_none() {
            response.context = Context::from(&claims);
        }
        Decision {
            answer: Ok(AuthorizerResponse::Simple(response)),
            denial,
            claims: Some(claims),
            route,
        }
    }
}
