//! OpenID Connect: the provider's discovery document and keys (fetched when first needed and
//! kept, so a provider that is down fails only its own sign-ins), the code exchange, and the
//! ID token's verification as a pure function over what was fetched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use secrecy::SecretString;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use super::client::{CallError, ProviderClient};
use super::identity::{ProviderIdentity, Refusal};
use super::provider::{Endpoint, Provider, ProviderId, ProviderKind};

/// What this service reads of a discovery document. Every endpoint is checked as an
/// [`Endpoint`] (https, or http on loopback), and `issuer` must be the configured one.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub authorization_endpoint: Endpoint,
    pub token_endpoint: Endpoint,
    pub userinfo_endpoint: Option<Endpoint>,
    pub jwks_uri: Endpoint,
    /// The provider sends `iss` with its authorization responses (RFC 9207): then a
    /// response without one is refused.
    pub iss_in_response: bool,
}

#[derive(Deserialize)]
struct RawMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// One provider's discovery and keys, as last fetched.
struct Cached {
    metadata: Metadata,
    keys: Arc<JwkSet>,
    fetched_at: i64,
    keys_fetched_at: i64,
}

/// Discovery documents and key sets per provider, for the life of the function instance.
#[derive(Default, Clone)]
pub struct ProviderCache {
    entries: Arc<Mutex<HashMap<ProviderId, Arc<Cached>>>>,
}

/// How long a discovery document and its keys are used before they are fetched again.
const METADATA_SECONDS: i64 = 3600;
/// How long metadata that could not be refreshed is still used.
const STALE_METADATA_SECONDS: i64 = 86_400;
/// An unknown `kid` fetches the keys again (a rotation), at most this often.
const KEY_REFETCH_SECONDS: i64 = 60;

impl ProviderCache {
    fn get(&self, id: &ProviderId) -> Option<Arc<Cached>> {
        self.entries.lock().ok()?.get(id).cloned()
    }

    fn put(&self, id: &ProviderId, cached: Cached) -> Arc<Cached> {
        let cached = Arc::new(cached);
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(id.clone(), Arc::clone(&cached));
        }
        cached
    }

    /// The provider's metadata, fetched if not held or stale.
    pub async fn metadata(
        &self,
        client: &ProviderClient,
        provider: &Provider,
        now: i64,
    ) -> Result<Metadata, Refusal> {
        Ok(self.entry(client, provider, now).await?.metadata.clone())
    }

    async fn entry(
        &self,
        client: &ProviderClient,
        provider: &Provider,
        now: i64,
    ) -> Result<Arc<Cached>, Refusal> {
        let held = self.get(&provider.id);
        if let Some(cached) = &held
            && now.saturating_sub(cached.fetched_at) < METADATA_SECONDS
        {
            return Ok(Arc::clone(cached));
        }
        let fetched = match discover(client, provider).await {
            Ok(metadata) => fetch_keys(client, &metadata.jwks_uri)
                .await
                .map(|keys| (metadata, keys)),
            Err(refusal) => Err(refusal),
        };
        let (metadata, keys) = match (fetched, held) {
            (Ok(fetched), _) => fetched,
            // A provider that cannot be reached for the hourly refresh: what was fetched
            // before is used for up to a day (its keys still verify its tokens).
            (Err(refusal), Some(stale))
                if now.saturating_sub(stale.fetched_at) < STALE_METADATA_SECONDS =>
            {
                tracing::warn!(provider = %provider.id, cause = %refusal, "provider metadata could not be refreshed; using what was fetched before");
                return Ok(stale);
            }
            (Err(refusal), _) => return Err(refusal),
        };
        Ok(self.put(
            &provider.id,
            Cached {
                metadata,
                keys: Arc::new(keys),
                fetched_at: now,
                keys_fetched_at: now,
            },
        ))
    }

    /// The key set that holds `kid`, fetched again once when it does not (a rotation at the
    /// provider), but not more than once a minute (a flood of made-up `kid`s costs nothing).
    async fn keys_with(
        &self,
        client: &ProviderClient,
        provider: &Provider,
        kid: &str,
        now: i64,
    ) -> Result<Arc<JwkSet>, Refusal> {
        let cached = self.entry(client, provider, now).await?;
        if cached.keys.find(kid).is_some()
            || now.saturating_sub(cached.keys_fetched_at) < KEY_REFETCH_SECONDS
        {
            return Ok(Arc::clone(&cached.keys));
        }
        let keys = Arc::new(fetch_keys(client, &cached.metadata.jwks_uri).await?);
        self.put(
            &provider.id,
            Cached {
                metadata: cached.metadata.clone(),
                keys: Arc::clone(&keys),
                fetched_at: cached.fetched_at,
                keys_fetched_at: now,
            },
        );
        Ok(keys)
    }
}

fn unavailable(error: CallError) -> Refusal {
    Refusal::ProviderUnavailable(error.to_string())
}

async fn discover(client: &ProviderClient, provider: &Provider) -> Result<Metadata, Refusal> {
    let ProviderKind::Oidc {
        accepted_issuers, ..
    } = &provider.kind
    else {
        return Err(Refusal::ProviderUnavailable("not an OIDC provider".into()));
    };
    let url = Endpoint::parse(&format!(
        "{}/.well-known/openid-configuration",
        provider.issuer()
    ))
    .map_err(Refusal::ProviderUnavailable)?;
    let raw: RawMetadata = client
        .get(&url, None)
        .await
        .and_then(|a| a.json())
        .map_err(unavailable)?;
    // OIDC Discovery §4.3: the document's issuer is exactly the one asked for.
    if accepted_issuers
        .first()
        .is_none_or(|expected| *expected != raw.issuer)
    {
        return Err(Refusal::ProviderUnavailable(format!(
            "the discovery document names issuer {:?}",
            raw.issuer
        )));
    }
    if raw
        .code_challenge_methods_supported
        .as_ref()
        .is_some_and(|methods| !methods.iter().any(|method| method == "S256"))
    {
        return Err(Refusal::ProviderUnavailable(
            "the provider does not support PKCE S256".into(),
        ));
    }
    // An https issuer's document may not send this function to plain http anywhere (the
    // Lambda Runtime API listens on loopback): only a loopback issuer has loopback endpoints.
    let https_issuer = provider.issuer().starts_with("https://");
    let endpoint = |name: &str, raw: &str| {
        let parsed = Endpoint::parse(raw)
            .map_err(|reason| Refusal::ProviderUnavailable(format!("{name} {reason}")))?;
        if https_issuer && parsed.url().scheme() != "https" {
            return Err(Refusal::ProviderUnavailable(format!(
                "{name} must be https for an https issuer"
            )));
        }
        Ok(parsed)
    };
    Ok(Metadata {
        authorization_endpoint: endpoint("authorization_endpoint", &raw.authorization_endpoint)?,
        token_endpoint: endpoint("token_endpoint", &raw.token_endpoint)?,
        userinfo_endpoint: raw
            .userinfo_endpoint
            .as_deref()
            .map(|raw| endpoint("userinfo_endpoint", raw))
            .transpose()?,
        jwks_uri: endpoint("jwks_uri", &raw.jwks_uri)?,
        iss_in_response: raw.authorization_response_iss_parameter_supported,
    })
}

async fn fetch_keys(client: &ProviderClient, jwks_uri: &Endpoint) -> Result<JwkSet, Refusal> {
    client
        .get(jwks_uri, None)
        .await
        .and_then(|answer| answer.json())
        .map_err(unavailable)
}

/// The token endpoint's answer, as far as this service reads it. The provider's tokens are
/// used within this request and never stored.
#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    access_token: Option<String>,
    error: Option<String>,
}

/// Exchanges the code (with the PKCE verifier and the exact redirect URI) and verifies the ID
/// token; the email comes from UserInfo when the ID token has none, only when UserInfo's `sub`
/// is the ID token's.
pub async fn sign_in(
    cache: &ProviderCache,
    client: &ProviderClient,
    provider: &Provider,
    exchange: &CodeExchange<'_>,
    now: i64,
) -> Result<ProviderIdentity, Refusal> {
    let metadata = cache.metadata(client, provider, now).await?;
    let answer = client
        .post_form(
            &metadata.token_endpoint,
            &[
                ("grant_type", "authorization_code"),
                ("code", exchange.code),
                ("redirect_uri", exchange.redirect_uri),
                ("code_verifier", exchange.code_verifier),
            ],
            Some((&provider.client_id, &provider.client_secret)),
        )
        .await
        .map_err(unavailable)?;
    let tokens: TokenAnswer = serde_json::from_slice(&answer.body)
        .map_err(|_| Refusal::ProviderError("the token endpoint's answer is not JSON".into()))?;
    if let Some(error) = tokens.error.filter(|_| answer.status >= 400) {
        return Err(Refusal::ProviderError(super::identity::error_code_text(
            &error,
        )));
    }
    let id_token = tokens
        .id_token
        .filter(|_| (200..300).contains(&answer.status))
        .ok_or_else(|| Refusal::ProviderError("the token endpoint sent no ID token".into()))?;
    let header = jsonwebtoken::decode_header(&id_token).map_err(|_| Refusal::InvalidIdToken)?;
    let kid = header.kid.clone().unwrap_or_default();
    let keys = cache.keys_with(client, provider, &kid, now).await?;
    let mut identity = verify_id_token(&id_token, provider, &keys, exchange.nonce, now)?;
    if identity.email.is_none()
        && let (Some(userinfo), Some(access)) = (&metadata.userinfo_endpoint, tokens.access_token)
    {
        let access = SecretString::from(access);
        let info: UserInfo = client
            .get(userinfo, Some(&access))
            .await
            .and_then(|answer| answer.json())
            .map_err(unavailable)?;
        if info.sub == identity.subject {
            identity.email = info.email.filter(|email| !email.is_empty());
            identity.email_verified = info.email_verified.is_some_and(|v| v.is_true());
            if identity.name.is_none() {
                identity.name = info.name;
            }
        }
    }
    Ok(identity)
}

/// What the callback brings to the code exchange.
pub struct CodeExchange<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: &'a str,
    pub nonce: &'a str,
}

#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    email: Option<String>,
    email_verified: Option<Verified>,
    name: Option<String>,
}

/// `email_verified` as providers send it: a boolean, or (some, against the spec) a string.
#[derive(Deserialize, Clone, Copy)]
#[serde(untagged)]
enum Verified {
    Flag(bool),
    Text(TrueText),
}

#[derive(Deserialize, Clone, Copy)]
enum TrueText {
    #[serde(rename = "true")]
    True,
    #[serde(rename = "false")]
    False,
}

impl Verified {
    fn is_true(self) -> bool {
        matches!(self, Self::Flag(true) | Self::Text(TrueText::True))
    }
}

#[derive(Deserialize)]
struct IdClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    iat: i64,
    nbf: Option<i64>,
    nonce: Option<String>,
    azp: Option<String>,
    email: Option<String>,
    email_verified: Option<Verified>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Clock skew allowed between the provider and this function.
const LEEWAY_SECONDS: i64 = 60;
/// An ID token issued longer ago than this is not taken, whatever its `exp` says.
const MAX_AGE_SECONDS: i64 = 600;

/// Verifies an ID token against the provider's keys: the signature with one of the provider's
/// pinned algorithms and the key its `kid` names; `iss` one of the provider's spellings; `aud`
/// holding our client id (and `azp` naming it when present or when `aud` has others); `exp`,
/// `iat` and `nbf` against `now`; the `nonce` this browser's sign-in derived.
pub fn verify_id_token(
    token: &str,
    provider: &Provider,
    keys: &JwkSet,
    expected_nonce: &str,
    now: i64,
) -> Result<ProviderIdentity, Refusal> {
    let ProviderKind::Oidc {
        accepted_issuers,
        algorithms,
        ..
    } = &provider.kind
    else {
        return Err(Refusal::InvalidIdToken);
    };
    let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::InvalidIdToken)?;
    if !algorithms.contains(&header.alg) {
        return Err(Refusal::InvalidIdToken);
    }
    // The key the `kid` names; without a `kid`, the only key of a set that holds one.
    let jwk = match header.kid.as_deref() {
        Some(kid) => keys.find(kid),
        None => match keys.keys.as_slice() {
            [only] => Some(only),
            _ => None,
        },
    }
    .ok_or(Refusal::InvalidIdToken)?;
    // A key published for encryption (or another use) does not verify signatures.
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|key_use| *key_use != jsonwebtoken::jwk::PublicKeyUse::Signature)
    {
        return Err(Refusal::InvalidIdToken);
    }
    // A key published for one algorithm is not used with another.
    if let Some(declared) = jwk.common.key_algorithm
        && declared.to_string().parse::<jsonwebtoken::Algorithm>().ok() != Some(header.alg)
    {
        return Err(Refusal::InvalidIdToken);
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| Refusal::InvalidIdToken)?;
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    // Times are checked below against this function's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
        .map_err(|_| Refusal::InvalidIdToken)?;
    let claims = data.claims;
    if !accepted_issuers.contains(&claims.iss) {
        return Err(Refusal::InvalidIdToken);
    }
    let audiences = match &claims.aud {
        Audience::One(one) => vec![one.as_str()],
        Audience::Many(many) => many.iter().map(String::as_str).collect(),
    };
    if !audiences.contains(&provider.client_id.as_str()) {
        return Err(Refusal::InvalidIdToken);
    }
    let azp_needed = audiences.len() > 1;
    match claims.azp.as_deref() {
        Some(azp) if azp != provider.client_id => return Err(Refusal::InvalidIdToken),
        None if azp_needed => return Err(Refusal::InvalidIdToken),
        _ => {}
    }
    if claims.exp.saturating_add(LEEWAY_SECONDS) <= now
        || claims.iat > now.saturating_add(LEEWAY_SECONDS)
        || claims.iat.saturating_add(MAX_AGE_SECONDS) < now
        || claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECONDS))
    {
        return Err(Refusal::ExpiredIdToken);
    }
    let nonce_matches = claims
        .nonce
        .as_deref()
        .is_some_and(|nonce| bool::from(nonce.as_bytes().ct_eq(expected_nonce.as_bytes())));
    if !nonce_matches {
        return Err(Refusal::NonceMismatch);
    }
    ProviderIdentity::new(
        provider,
        claims.sub,
        claims.email.filter(|email| !email.is_empty()),
        claims.email_verified.is_some_and(Verified::is_true),
        claims.name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};

    const NOW: i64 = 1_800_000_000;
    const NONCE: &str = "the-nonce-of-this-browser";

    struct Signer {
        key: EncodingKey,
        keys: JwkSet,
    }

    fn signer(kid: &str) -> Signer {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("a key");
        let pkcs8 = pair.to_pkcs8v1().expect("pkcs8");
        let point = pair.public_key().as_ref();
        let (x, y) = point[1..].split_at(32);
        let keys = serde_json::from_value(json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        }]}))
        .expect("a JWK set");
        Signer {
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            keys,
        }
    }

    fn provider(issuer: &str) -> Provider {
        crate::federation::provider::parse_providers(
            &format!(
                r#"[{{"id":"p","type":"oidc","issuer":"{issuer}","clientId":"our-client","algorithms":["ES256"]}}]"#
            ),
            Some(r#"{"p":"the-client-secret"}"#),
        )
        .expect("a provider")
        .remove(0)
    }

    fn claims() -> Value {
        json!({
            "iss": "https://op.example", "sub": "user-1", "aud": "our-client",
            "exp": NOW + 300, "iat": NOW - 10, "nonce": NONCE,
            "email": "ada@example.com", "email_verified": true, "name": "Ada",
        })
    }

    fn token(signer: &Signer, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &signer.key).expect("a token")
    }

    fn verify(token: &str, keys: &JwkSet) -> Result<ProviderIdentity, Refusal> {
        verify_id_token(token, &provider("https://op.example"), keys, NONCE, NOW)
    }

    fn with(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
        let mut claims = claims();
        if let Value::Object(map) = &mut claims {
            change(map);
        }
        claims
    }

    #[test]
    fn a_good_id_token_gives_the_identity() {
        let signer = signer("k1");
        let identity = verify(&token(&signer, "k1", &claims()), &signer.keys).expect("verified");
        assert_eq!(identity.issuer, "https://op.example");
        assert_eq!(identity.subject, "user-1");
        assert_eq!(identity.email.as_deref(), Some("ada@example.com"));
        assert!(identity.email_verified);
        let text = verify(
            &token(
                &signer,
                "k1",
                &with(|c| {
                    c.insert("email_verified".into(), json!("true"));
                }),
            ),
            &signer.keys,
        )
        .expect("a string flag");
        assert!(text.email_verified);
    }

    #[test]
    fn every_claim_the_verification_rests_on_is_checked() {
        let signer = signer("k1");
        let cases: Vec<(Value, Refusal)> = vec![
            (
                with(|c| {
                    c.insert("iss".into(), json!("https://evil.example"));
                }),
                Refusal::InvalidIdToken,
            ),
            (
                with(|c| {
                    c.insert("aud".into(), json!("another-client"));
                }),
                Refusal::InvalidIdToken,
            ),
            // Several audiences need `azp` naming us; an `azp` naming another client is refused.
            (
                with(|c| {
                    c.insert("aud".into(), json!(["our-client", "other"]));
                }),
                Refusal::InvalidIdToken,
            ),
            (
                with(|c| {
                    c.insert("azp".into(), json!("other"));
                }),
                Refusal::InvalidIdToken,
            ),
            (
                with(|c| {
                    c.insert("exp".into(), json!(NOW - 61));
                }),
                Refusal::ExpiredIdToken,
            ),
            (
                with(|c| {
                    c.insert("iat".into(), json!(NOW + 120));
                }),
                Refusal::ExpiredIdToken,
            ),
            (
                with(|c| {
                    c.insert("iat".into(), json!(NOW - 601));
                }),
                Refusal::ExpiredIdToken,
            ),
            (
                with(|c| {
                    c.insert("nbf".into(), json!(NOW + 120));
                }),
                Refusal::ExpiredIdToken,
            ),
            (
                with(|c| {
                    c.insert("nonce".into(), json!("another-browsers-nonce"));
                }),
                Refusal::NonceMismatch,
            ),
            (
                with(|c| {
                    c.remove("nonce");
                }),
                Refusal::NonceMismatch,
            ),
            (
                with(|c| {
                    c.insert("sub".into(), json!(""));
                }),
                Refusal::InvalidIdToken,
            ),
        ];
        for (claims, expected) in cases {
            assert_eq!(
                verify(&token(&signer, "k1", &claims), &signer.keys),
                Err(expected),
                "{claims}"
            );
        }
        let both = with(|c| {
            c.insert("aud".into(), json!(["our-client", "other"]));
            c.insert("azp".into(), json!("our-client"));
        });
        assert!(verify(&token(&signer, "k1", &both), &signer.keys).is_ok());
    }

    #[test]
    fn keys_and_algorithms_cannot_be_swapped() {
        let signer = signer("k1");
        let stranger = super::tests::signer("k1");
        // A key the provider does not publish, under a kid it does.
        assert_eq!(
            verify(&token(&stranger, "k1", &claims()), &signer.keys),
            Err(Refusal::InvalidIdToken)
        );
        // An unknown kid, and none at all.
        assert_eq!(
            verify(&token(&signer, "k2", &claims()), &signer.keys),
            Err(Refusal::InvalidIdToken)
        );
        // No kid: the only key of a one-key set, never a guess among several.
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = None;
        let no_kid = jsonwebtoken::encode(&header, &claims(), &signer.key).expect("token");
        assert!(verify(&no_kid, &signer.keys).is_ok());
        let mut two = signer.keys.clone();
        two.keys.extend(super::tests::signer("k2").keys.keys);
        assert_eq!(verify(&no_kid, &two), Err(Refusal::InvalidIdToken));
        // A key published for encryption does not verify.
        let mut encryption = signer.keys.clone();
        for key in &mut encryption.keys {
            key.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Encryption);
        }
        assert_eq!(
            verify(&token(&signer, "k1", &claims()), &encryption),
            Err(Refusal::InvalidIdToken)
        );
        // HS256 keyed by the client secret (the classic swap), and `alg: none`.
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("k1".into());
        let hmac = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_secret(b"the-client-secret"),
        )
        .expect("token");
        assert_eq!(verify(&hmac, &signer.keys), Err(Refusal::InvalidIdToken));
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert_eq!(verify(&none, &signer.keys), Err(Refusal::InvalidIdToken));
        assert_eq!(
            verify("not a token", &signer.keys),
            Err(Refusal::InvalidIdToken)
        );
    }

    #[test]
    fn google_tokens_may_spell_the_issuer_either_way() {
        let signer = signer("k1");
        let google = provider("https://accounts.google.com");
        for iss in ["https://accounts.google.com", "accounts.google.com"] {
            let claims = with(|c| {
                c.insert("iss".into(), json!(iss));
            });
            let identity = verify_id_token(
                &token(&signer, "k1", &claims),
                &google,
                &signer.keys,
                NONCE,
                NOW,
            )
            .expect("either spelling");
            assert_eq!(
                identity.issuer, "https://accounts.google.com",
                "one key for both"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_token_text_is_answered_without_panicking(text in ".{0,300}") {
            let signer = signer("k1");
            let _ = verify(&text, &signer.keys);
        }
    }
}
