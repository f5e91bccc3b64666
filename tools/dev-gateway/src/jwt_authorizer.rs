//! API Gateway's built-in JWT authorizer (HTTP APIs), emulated: no function runs. It reads the
//! token from its identity source (the token, or `Bearer <token>`), finds the issuer's keys
//! through `{issuer}/.well-known/openid-configuration` and its `jwks_uri` (cached, fetched again
//! for a `kid` it has not seen), accepts RSA signatures only, and checks `kid`, `iss` exactly,
//! `aud` or `client_id` among the audiences, `exp`, `nbf` and `iat`, then any one of the route's
//! scopes in `scope` or `scp`. A failed check is 401, a missing scope 403; the function gets
//! the claims as strings (numbers and booleans as text, arrays as `[a b]`).
//!
//! Checked independently of the service's own verifier (`jsonwebtoken::decode` here), so the
//! emulation also tests that our tokens satisfy a verifier that is not ours.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::template::JwtAuthorizerModel;

/// How long fetched keys are used before they are fetched again (API Gateway: "up to two hours").
pub const DEFAULT_KEY_CACHE: Duration = Duration::from_secs(2 * 3600);
/// An unseen `kid` fetches the keys again at most this often, so junk tokens cannot make the
/// gateway hammer the issuer.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The RSA algorithms API Gateway accepts; anything else is refused before a key is looked up.
const RSA_ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];

/// The built-in authorizer's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtVerdict {
    /// The claims as API Gateway hands them on, and the token's scopes.
    Allow {
        claims: HashMap<String, String>,
        scopes: Vec<String>,
    },
    /// 401, with why (for the gateway's log and the `www-authenticate` description).
    Unauthorized(String),
    /// 403: a valid token without any of the route's scopes.
    Forbidden,
}

struct Fetched {
    keys: HashMap<String, DecodingKey>,
    at: Instant,
}

pub struct BuiltInJwt {
    model: JwtAuthorizerModel,
    cache_for: Duration,
    refetch_every: Duration,
    keys: Mutex<Option<Fetched>>,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl BuiltInJwt {
    pub fn new(model: JwtAuthorizerModel, cache_for: Duration) -> Self {
        Self {
            model,
            cache_for,
            refetch_every: DEFAULT_REFETCH_INTERVAL,
            keys: Mutex::new(None),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// How soon a token naming an unseen `kid` may fetch the keys again.
    pub fn with_refetch_interval(mut self, every: Duration) -> Self {
        self.refetch_every = every;
        self
    }

    pub fn model(&self) -> &JwtAuthorizerModel {
        &self.model
    }

    /// Decides on a request whose identity source holds `credential` (`None`: missing or
    /// empty), for a route that requires any one of `scopes`, at `now` (epoch seconds).
    pub async fn authorize(
        &self,
        credential: Option<&str>,
        scopes: &[String],
        now: i64,
    ) -> JwtVerdict {
        let Some(credential) = credential.filter(|value| !value.trim().is_empty()) else {
            return JwtVerdict::Unauthorized("no token in the identity source".into());
        };
        let token = credential
            .strip_prefix("Bearer ")
            .unwrap_or(credential)
            .trim();
        let header = match jsonwebtoken::decode_header(token) {
            Ok(header) => header,
            Err(error) => return JwtVerdict::Unauthorized(format!("unreadable token: {error}")),
        };
        if !RSA_ALGORITHMS.contains(&header.alg) {
            return JwtVerdict::Unauthorized(format!(
                "signing method {:?} is invalid (RSA only)",
                header.alg
            ));
        }
        let Some(kid) = header.kid.as_deref() else {
            return JwtVerdict::Unauthorized("the token names no kid".into());
        };
        let key = match self.key(kid).await {
            Ok(Some(key)) => key,
            Ok(None) => {
                return JwtVerdict::Unauthorized(format!("no key {kid} at the issuer's jwks_uri"));
            }
            Err(reason) => return JwtVerdict::Unauthorized(reason),
        };
        // The signature here; `iss` (exactly one string, equal: the library would take a list
        // that merely contains it, or no `iss` at all), the times against `now` (the library
        // would read the system clock) and `aud` or `client_id` below.
        let mut validation = Validation::new(header.alg);
        validation.validate_aud = false;
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims::<&str>(&[]);
        let claims = match jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation) {
            Ok(data) => data.claims,
            Err(error) => return JwtVerdict::Unauthorized(format!("invalid token: {error}")),
        };
        if claims.get("iss").and_then(Value::as_str) != Some(self.model.issuer.as_str()) {
            return JwtVerdict::Unauthorized("iss is not the configured issuer".into());
        }
        if let Err(reason) = check_times(&claims, now) {
            return JwtVerdict::Unauthorized(reason.into());
        }
        if !self.audience_matches(&claims) {
            return JwtVerdict::Unauthorized("neither aud nor client_id is an audience".into());
        }
        let token_scopes = token_scopes(&claims);
        if !scopes.is_empty() && !scopes.iter().any(|scope| token_scopes.contains(scope)) {
            return JwtVerdict::Forbidden;
        }
        JwtVerdict::Allow {
            claims: claims
                .iter()
                .filter_map(|(name, value)| Some((name.clone(), claim_text(value)?)))
                .collect(),
            scopes: token_scopes,
        }
    }

    fn audience_matches(&self, claims: &Map<String, Value>) -> bool {
        let audiences = &self.model.audiences;
        let named = |value: Option<&Value>| match value {
            Some(Value::String(one)) => audiences.contains(one),
            Some(Value::Array(many)) => many
                .iter()
                .filter_map(Value::as_str)
                .any(|one| audiences.iter().any(|audience| audience == one)),
            _ => false,
        };
        named(claims.get("aud")) || named(claims.get("client_id"))
    }

    /// The key named `kid`, from the cached set, or from a fresh fetch when the cache is old or
    /// does not know it (at most every `refetch_every`).
    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, String> {
        let mut cached = self.keys.lock().await;
        let fresh = cached
            .as_ref()
            .is_some_and(|fetched| fetched.at.elapsed() < self.cache_for);
        if let Some(fetched) = cached.as_ref().filter(|_| fresh)
            && let Some(key) = fetched.keys.get(kid)
        {
            return Ok(Some(key.clone()));
        }
        let may_refetch = cached
            .as_ref()
            .is_none_or(|fetched| !fresh || fetched.at.elapsed() >= self.refetch_every);
        if may_refetch {
            *cached = Some(Fetched {
                keys: self.fetch_keys().await?,
                at: Instant::now(),
            });
        }
        Ok(cached
            .as_ref()
            .and_then(|fetched| fetched.keys.get(kid).cloned()))
    }

    async fn fetch_keys(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            self.model.issuer.trim_end_matches('/')
        );
        let discovery = self.get_json(&discovery_url).await?;
        if discovery["issuer"].as_str() != Some(self.model.issuer.as_str()) {
            return Err(format!(
                "{discovery_url} names issuer {}, not {}",
                discovery["issuer"], self.model.issuer
            ));
        }
        let jwks_uri = discovery["jwks_uri"]
            .as_str()
            .ok_or_else(|| format!("{discovery_url} has no jwks_uri"))?;
        let set: JwkSet = serde_json::from_value(self.get_json(jwks_uri).await?)
            .map_err(|error| format!("{jwks_uri} is not a JWKS: {error}"))?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((kid, key))
            })
            .collect())
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        if !url.starts_with("http://") {
            return Err(format!(
                "{url}: only http issuers can be fetched locally (the local jwks function)"
            ));
        }
        let uri: hyper::Uri = url.parse().map_err(|error| format!("{url}: {error}"))?;
        let response = tokio::time::timeout(FETCH_TIMEOUT, self.client.get(uri))
            .await
            .map_err(|_| format!("{url} did not answer within {} s", FETCH_TIMEOUT.as_secs()))?
            .map_err(|error| format!("{url}: {error}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|error| format!("{url}: {error}"))?
            .to_bytes();
        serde_json::from_slice(&bytes).map_err(|error| format!("{url} is not JSON: {error}"))
    }
}

/// `exp` must be after `now`; `nbf` and `iat`, when present, not after it (no leeway).
fn check_times(claims: &Map<String, Value>, now: i64) -> Result<(), &'static str> {
    let time = |name: &str| claims.get(name).map(Value::as_i64);
    match time("exp") {
        None | Some(None) => return Err("the token has no numeric exp"),
        Some(Some(exp)) if exp <= now => return Err("the token has expired"),
        Some(Some(_)) => {}
    }
    for (name, reason) in [
        ("nbf", "the token is not valid yet (nbf)"),
        ("iat", "the token was issued in the future (iat)"),
    ] {
        match time(name) {
            None => {}
            Some(Some(at)) if at <= now => {}
            Some(_) => return Err(reason),
        }
    }
    Ok(())
}

/// `scope` (space-separated) or `scp` (space-separated, or a list), as API Gateway reads them.
fn token_scopes(claims: &Map<String, Value>) -> Vec<String> {
    let mut scopes = Vec::new();
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(Value::String(text)) => {
                scopes.extend(text.split_whitespace().map(str::to_owned));
            }
            Some(Value::Array(items)) => {
                scopes.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            _ => {}
        }
    }
    scopes
}

/// A claim as the function receives it: text as is, numbers and booleans as text, arrays as
/// `[a b]`, objects as JSON; `null` is left out.
pub fn claim_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        Value::Array(items) => Some(format!(
            "[{}]",
            items
                .iter()
                .filter_map(claim_text)
                .collect::<Vec<_>>()
                .join(" ")
        )),
        Value::Object(_) => Some(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_reach_the_function_as_api_gateway_formats_them() {
        assert_eq!(claim_text(&json!("u1")).as_deref(), Some("u1"));
        assert_eq!(claim_text(&json!(true)).as_deref(), Some("true"));
        assert_eq!(
            claim_text(&json!(1_800_000_000)).as_deref(),
            Some("1800000000")
        );
        assert_eq!(
            claim_text(&json!(["pwd", "otp"])).as_deref(),
            Some("[pwd otp]")
        );
        assert_eq!(claim_text(&json!(null)), None);
    }

    #[test]
    fn scopes_come_from_scope_or_scp() {
        let claims = |value: Value| value.as_object().cloned().unwrap_or_default();
        assert_eq!(
            token_scopes(&claims(json!({"scope": "role:admin read"}))),
            ["role:admin", "read"]
        );
        assert_eq!(
            token_scopes(&claims(json!({"scp": ["a", "b"]}))),
            ["a", "b"]
        );
        assert!(token_scopes(&claims(json!({}))).is_empty());
    }
}
