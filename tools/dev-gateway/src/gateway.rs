//! One request through the local API Gateway: CORS preflight, route choice, the authorizer
//! (with its cache), the route's function, and its payload 2.0 response turned back into HTTP.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;

use crate::authorizer::{Cache, Verdict, identity, verdict};
use crate::event::{Authorized, Incoming};
use crate::invoke::{Functions, Invocation};
use crate::jwt_authorizer::{BuiltInJwt, DEFAULT_KEY_CACHE, JwtVerdict};
use crate::routes::find;
use crate::template::ApiModel;
use crate::{cors, statics};

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// API Gateway's own answers: `{"message": "..."}`.
    fn message(status: StatusCode, message: &str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Self {
            status,
            headers,
            body: serde_json::json!({ "message": message })
                .to_string()
                .into_bytes(),
        }
    }
}

/// Where the time of one request went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// In the functions (authorizer and route), as the Invoke API answered.
    pub functions: Duration,
    /// Everything else: the gateway's own cost.
    pub gateway: Duration,
    pub authorizer_cached: bool,
}

pub struct Gateway {
    model: ApiModel,
    functions: Functions,
    cache: Cache,
    built_in: Option<BuiltInJwt>,
    statics: Option<PathBuf>,
    requests: AtomicU64,
}

impl Gateway {
    pub fn new(model: ApiModel, functions: Functions, statics: Option<PathBuf>) -> Self {
        let built_in = model
            .jwt_authorizer
            .clone()
            .map(|jwt| BuiltInJwt::new(jwt, DEFAULT_KEY_CACHE));
        Self {
            model,
            functions,
            cache: Cache::default(),
            built_in,
            statics,
            requests: AtomicU64::new(0),
        }
    }

    pub fn model(&self) -> &ApiModel {
        &self.model
    }

    /// How long the built-in JWT authorizer's emulation keeps the keys it fetched.
    pub fn with_jwt_key_cache(mut self, cache_for: Duration) -> Self {
        self.built_in = self
            .model
            .jwt_authorizer
            .clone()
            .map(|jwt| BuiltInJwt::new(jwt, cache_for));
        self
    }

    fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        format!("local-{nanos:08x}-{n:06}")
    }

    pub async fn handle(&self, request: Incoming) -> (Answer, Timing) {
        let started = Instant::now();
        let mut timing = Timing::default();
        let mut answer = self.route(&request, &mut timing).await;
        if let Some(cors) = &self.model.cors {
            cors::decorate(cors, &request.headers, &mut answer.headers);
        }
        timing.gateway = started.elapsed().saturating_sub(timing.functions);
        (answer, timing)
    }

    async fn route(&self, request: &Incoming, timing: &mut Timing) -> Answer {
        if let Some(cors) = &self.model.cors
            && cors::is_preflight(&request.method, &request.headers)
        {
            return Answer {
                status: StatusCode::NO_CONTENT,
                headers: cors::preflight_headers(cors, &request.headers),
                body: Vec::new(),
            };
        }
        let Some((route, parameters)) =
            find(&self.model.routes, request.method.as_str(), &request.path)
        else {
            return match &self.statics {
                Some(root) if request.method == http::Method::GET => {
                    statics::serve(root, &request.path)
                        .unwrap_or_else(|| Answer::message(StatusCode::NOT_FOUND, "Not Found"))
                }
                _ => Answer::message(StatusCode::NOT_FOUND, "Not Found"),
            };
        };
        let request_id = self.request_id();
        let built_in = self
            .built_in
            .as_ref()
            .filter(|jwt| route.authorizer.as_deref() == Some(jwt.model().name.as_str()));
        let context = match (&route.authorizer, built_in) {
            (None, _) => None,
            (Some(_), Some(jwt)) => {
                let source = &jwt.model().identity_source;
                let credential = source
                    .strip_prefix("$request.header.")
                    .and_then(|name| request.header(&name.to_ascii_lowercase()))
                    .or_else(|| {
                        source
                            .strip_prefix("$request.querystring.")
                            .and_then(|name| request.query_parameters().remove(name))
                    });
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
                    .unwrap_or_default();
                match jwt
                    .authorize(credential.as_deref(), &route.scopes, now)
                    .await
                {
                    JwtVerdict::Allow { claims, scopes } => {
                        Some(Authorized::Jwt { claims, scopes })
                    }
                    JwtVerdict::Unauthorized(reason) => {
                        eprintln!("[dev-gateway] {}: JWT authorizer: {reason}", route.key);
                        let mut answer = Answer::message(StatusCode::UNAUTHORIZED, "Unauthorized");
                        answer.headers.insert(
                            http::header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Bearer error=\"invalid_token\""),
                        );
                        return answer;
                    }
                    JwtVerdict::Forbidden => {
                        let mut answer = Answer::message(StatusCode::FORBIDDEN, "Forbidden");
                        answer.headers.insert(
                            http::header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Bearer error=\"insufficient_scope\""),
                        );
                        return answer;
                    }
                }
            }
            (Some(name), None) => {
                match self
                    .authorize(
                        name,
                        request,
                        &route.key,
                        parameters.clone(),
                        &request_id,
                        timing,
                    )
                    .await
                {
                    Verdict::Allow(context) => Some(Authorized::Lambda(context)),
                    Verdict::Deny => return Answer::message(StatusCode::FORBIDDEN, "Forbidden"),
                    Verdict::Unauthorized => {
                        return Answer::message(StatusCode::UNAUTHORIZED, "Unauthorized");
                    }
                    Verdict::Failed => {
                        return Answer::message(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "Internal Server Error",
                        );
                    }
                }
            }
        };
        let event = request.http_event(&route.key, parameters, &request_id, context);
        match self.functions.invoke(&route.function, &event).await {
            Ok((Invocation::Response(document), took)) => {
                timing.functions += took;
                http_answer(&document)
            }
            Ok((Invocation::Error(error), took)) => {
                timing.functions += took;
                eprintln!("[dev-gateway] {} failed: {error}", route.function);
                Answer::message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
            Err(error) => {
                eprintln!("[dev-gateway] {error}");
                Answer::message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
            }
        }
    }

    async fn authorize(
        &self,
        name: &str,
        request: &Incoming,
        route_key: &str,
        parameters: std::collections::HashMap<String, String>,
        request_id: &str,
        timing: &mut Timing,
    ) -> Verdict {
        let Some(model) = self
            .model
            .authorizer
            .as_ref()
            .filter(|model| model.name == name)
        else {
            eprintln!(
                "[dev-gateway] route {route_key} names authorizer {name}, which the API does not define"
            );
            return Verdict::Failed;
        };
        // API Gateway answers 401 itself when an identity source is missing: no invocation.
        let Some(identity) = identity(model, request, route_key) else {
            return Verdict::Unauthorized;
        };
        if let Some(cached) = self.cache.get(&identity) {
            timing.authorizer_cached = true;
            return cached;
        }
        let event = request.authorizer_event(route_key, parameters, request_id, identity.clone());
        let route_arn = event.route_arn.clone().unwrap_or_default();
        let verdict = match self.functions.invoke(&model.function, &event).await {
            Ok((answer, took)) => {
                timing.functions += took;
                verdict(model, &answer, &route_arn)
            }
            Err(error) => {
                eprintln!("[dev-gateway] {error}");
                Verdict::Failed
            }
        };
        self.cache.put(identity, &verdict, model);
        verdict
    }
}

/// A payload 2.0 response document as HTTP. A document without `statusCode` is itself the
/// JSON body of a 200, as API Gateway infers it.
pub fn http_answer(document: &Value) -> Answer {
    let Some(status) = document.get("statusCode").and_then(Value::as_u64) else {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Answer {
            status: StatusCode::OK,
            headers,
            body: document.to_string().into_bytes(),
        };
    };
    let status = u16::try_from(status)
        .ok()
        .and_then(|status| StatusCode::from_u16(status).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    let mut add = |name: &str, value: &str| {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    };
    for (name, value) in document["headers"].as_object().into_iter().flatten() {
        if let Some(value) = value.as_str() {
            add(name, value);
        }
    }
    for (name, values) in document["multiValueHeaders"]
        .as_object()
        .into_iter()
        .flatten()
    {
        for value in values
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            add(name, value);
        }
    }
    for cookie in document["cookies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        add("set-cookie", cookie);
    }
    let text = document["body"].as_str().unwrap_or_default();
    let body = if document["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    Answer {
        status,
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn responses_become_http_with_cookies_and_base64_bodies() {
        let answer = http_answer(&json!({
            "statusCode": 201,
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"x-many": ["a", "b"]},
            "cookies": ["a=1; HttpOnly", "b=2"],
            "body": "{}",
        }));
        assert_eq!(answer.status, 201);
        assert_eq!(answer.headers.get_all("set-cookie").iter().count(), 2);
        assert_eq!(answer.headers.get_all("x-many").iter().count(), 2);
        assert_eq!(answer.body, b"{}");
        let binary =
            http_answer(&json!({"statusCode": 200, "body": "AJ+Slg==", "isBase64Encoded": true}));
        assert_eq!(binary.body, [0, 159, 146, 150]);
        let inferred = http_answer(&json!({"hello": "world"}));
        assert_eq!(inferred.status, 200);
        assert_eq!(inferred.body, br#"{"hello":"world"}"#);
    }
}
