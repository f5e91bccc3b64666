//! Issuing and verifying access tokens (JWS compact, `typ: at+jwt`, `kid` required).

use std::time::Duration;

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac as _;
use jsonwebtoken::{Algorithm, Header};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::claims::{AccessClaims, Audience, ClaimsPolicy, Rejection, TOKEN_TYPE};
use super::keys::{KeySet, VerifyingKey, algorithm_name};
use crate::assurance::Assurance;
use crate::domain::{Role, SessionId, UserId};

/// Tokens longer than this are refused before any decoding (API Gateway headers cap near 10 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Largest clock-skew allowance accepted for token timestamps.
pub const MAX_LEEWAY: Duration = Duration::from_secs(30);
/// Longest access-token lifetime accepted: they cannot be revoked, so they stay short.
pub const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// Access-token settings: the claims every token must satisfy, the lifetime of issued tokens,
/// and the keys.
#[derive(Debug)]
pub struct AccessTokenConfig {
    pub policy: ClaimsPolicy,
    pub ttl: Duration,
    pub keys: KeySet,
    /// Issue the role as a `scope` claim too (for API Gateway's built-in JWT authorizer).
    pub role_scopes: bool,
}

impl AccessTokenConfig {
    pub fn uses_secret(&self, candidate: &[u8]) -> bool {
        self.keys.uses_secret(candidate)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("this function holds no signing key")]
    NoSigningKey,
    #[error("signing the access token failed")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// A freshly signed access token.
#[derive(Debug, Clone)]
pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: u64,
    pub claims: AccessClaims,
}

/// Issues and verifies access tokens under one configuration.
#[derive(Debug)]
pub struct AccessTokens {
    config: AccessTokenConfig,
    /// The exact encoded header we put on tokens for each verifying key. A token whose header
    /// segment equals one of these needs no header decoding: it is byte for byte one we accept.
    known_headers: Vec<(String, usize)>,
}

impl AccessTokens {
    pub fn new(config: AccessTokenConfig) -> Self {
        let known_headers = config
            .keys
            .verifying
            .iter()
            .enumerate()
            .filter_map(|(index, key)| Some((encoded_header(key.algorithm, &key.kid)?, index)))
            .collect();
        Self {
            config,
            known_headers,
        }
    }

    pub fn config(&self) -> &AccessTokenConfig {
        &self.config
    }

    pub fn issue(
        &self,
        user: &UserId,
        role: &Role,
        session: &SessionId,
        email_verified: bool,
        assurance: &Assurance,
        now: i64,
    ) -> Result<IssuedAccessToken, TokenError> {
        let signing = self
            .config
            .keys
            .signing
            .as_ref()
            .ok_or(TokenError::NoSigningKey)?;
        let ttl = self.config.ttl.as_secs();
        let claims = AccessClaims {
            sub: user.to_string(),
            role: role.as_str().to_owned(),
            sid: session.to_string(),
            iss: self.config.policy.issuer.clone(),
            aud: Audience::One(self.config.policy.audience.clone()),
            iat: now,
            nbf: now,
            exp: now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)),
            jti: Some(crate::random::hex_id()),
            email_verified,
            amr: assurance.amr.clone(),
            aal: assurance.aal,
            scope: self
                .config
                .role_scopes
                .then(|| super::claims::role_scope(role.as_str())),
        };
        let mut header = Header::new(signing.algorithm);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(signing.kid.clone());
        let token =
            jsonwebtoken::encode(&header, &claims, &signing.key).map_err(TokenError::Signing)?;
        Ok(IssuedAccessToken {
            token,
            expires_in: ttl,
            claims,
        })
    }

    /// Verifies a token: size cap, shape, header (`typ`, `kid`, no embedded keys), the signature
    /// with the key's pinned algorithm, then the claims against `now`.
    ///
    /// The JWS is taken apart here rather than by `jsonwebtoken::decode`, which decodes the
    /// header twice and the claims twice: this is the authorizer's hot path. HS256 uses a
    /// pre-keyed HMAC; other algorithms use `jsonwebtoken`'s signature primitives.
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, Rejection> {
        if token.is_empty() {
            return Err(Rejection::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::TooLong);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejection::Malformed);
        };
        let known = self
            .known_headers
            .iter()
            .find(|(known, _)| known == header_b64)
            .and_then(|(_, index)| self.config.keys.verifying.get(*index));
        let key = match known {
            Some(key) => key,
            None => self.key_for_header(header_b64)?,
        };
        let signing_input = token
            .as_bytes()
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or(Rejection::Malformed)?;
        verify_signature(key, signing_input, signature_b64)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| Rejection::Malformed)?;
        let claims: AccessClaims =
            serde_json::from_slice(&payload).map_err(|_| Rejection::InvalidClaims)?;
        self.config.policy.check(&claims, now)?;
        Ok(claims)
    }
}

impl AccessTokens {
    /// Decodes and checks a header that is not byte for byte one of ours (other issuers,
    /// attacks): `typ`, no key-carrying parameters, a known `kid` whose algorithm matches.
    fn key_for_header(&self, header_b64: &str) -> Result<&VerifyingKey, Rejection> {
        let header_json = URL_SAFE_NO_PAD
            .decode(header_b64)
            .map_err(|_| Rejection::Malformed)?;
        let header: JoseHeader<'_> =
            serde_json::from_slice(&header_json).map_err(|_| Rejection::Malformed)?;
        if header.has_forbidden_parameters() {
            return Err(Rejection::ForbiddenHeader);
        }
        let typ_ok = header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case(TOKEN_TYPE) || typ.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(Rejection::WrongType);
        }
        let kid = header.kid.as_deref().ok_or(Rejection::UnknownKey)?;
        let key = self
            .config
            .keys
            .verifying_key(kid)
            .ok_or(Rejection::UnknownKey)?;
        if header.alg != algorithm_name(key.algorithm) {
            return Err(Rejection::AlgorithmMismatch);
        }
        Ok(key)
    }
}

/// The header segment `issue` produces for a key, base64url-encoded.
fn encoded_header(algorithm: Algorithm, kid: &str) -> Option<String> {
    let mut header = Header::new(algorithm);
    header.typ = Some(TOKEN_TYPE.to_owned());
    header.kid = Some(kid.to_owned());
    serde_json::to_vec(&header)
        .ok()
        .map(|json| URL_SAFE_NO_PAD.encode(json))
}

/// The JOSE header fields we read; the key-carrying ones are captured only to refuse them.
/// Duplicate fields fail to deserialize.
#[derive(Deserialize)]
struct JoseHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(default, borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    kid: Option<Cow<'a, str>>,
    #[serde(default)]
    jwk: Option<IgnoredAny>,
    #[serde(default)]
    jku: Option<IgnoredAny>,
    #[serde(default)]
    x5u: Option<IgnoredAny>,
    #[serde(default)]
    x5c: Option<IgnoredAny>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
    #[serde(default)]
    enc: Option<IgnoredAny>,
    #[serde(default)]
    zip: Option<IgnoredAny>,
}

impl JoseHeader<'_> {
    /// Parameters that would let a token choose its own key, or change how it is processed.
    fn has_forbidden_parameters(&self) -> bool {
        self.jwk.is_some()
            || self.jku.is_some()
            || self.x5u.is_some()
            || self.x5c.is_some()
            || self.crit.is_some()
            || self.enc.is_some()
            || self.zip.is_some()
    }
}

fn verify_signature(
    key: &VerifyingKey,
    signing_input: &[u8],
    signature_b64: &str,
) -> Result<(), Rejection> {
    match &key.hmac {
        Some(keyed) => {
            let mut signature = [0u8; 64];
            let length = URL_SAFE_NO_PAD
                .decode_slice(signature_b64, &mut signature)
                .map_err(|_| Rejection::Malformed)?;
            let mut mac = keyed.clone();
            mac.update(signing_input);
            // Constant-time comparison; a truncated signature fails too.
            let signature = signature.get(..length).ok_or(Rejection::Malformed)?;
            mac.verify_slice(signature)
                .map_err(|_| Rejection::BadSignature)
        }
        None => match jsonwebtoken::crypto::verify(
            signature_b64,
            signing_input,
            &key.key,
            key.algorithm,
        ) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Rejection::BadSignature),
            Err(error) => match error.kind() {
                jsonwebtoken::errors::ErrorKind::Base64(_) => Err(Rejection::Malformed),
                _ => Err(Rejection::BadSignature),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn tokens(pairs: &[(&str, &str)]) -> AccessTokens {
        AccessTokens::new(config(pairs).expect("valid config"))
    }

    fn config(pairs: &[(&str, &str)]) -> Result<AccessTokenConfig, crate::config::ConfigError> {
        crate::config::access_tokens(&env(pairs), crate::config::KeyUse::Sign)
    }

    fn issue(tokens: &AccessTokens) -> IssuedAccessToken {
        tokens
            .issue(
                &UserId::generate(),
                &Role::user(),
                &SessionId::generate(),
                false,
                &Assurance::password(),
                NOW,
            )
            .expect("issue")
    }

    const SECRET: &str = "an-access-secret-of-at-least-32-bytes!!";
    const OLD_SECRET: &str = "the-previous-access-secret-32-bytes-long";

    #[test]
    fn the_chosen_crypto_backend_signs_and_verifies_hs256() {
        let tokens = tokens(&[("JWT_ACCESS_SECRET", SECRET)]);
        let issued = issue(&tokens);
        let claims = tokens.verify(&issued.token, NOW + 1).expect("verify");
        assert_eq!(claims, issued.claims);
        assert_eq!(claims.exp - claims.iat, 900);
        let header = jsonwebtoken::decode_header(&issued.token).expect("header");
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert!(header.kid.is_some_and(|kid| kid.starts_with("hs256-")));
    }

    #[test]
    fn the_role_travels_as_a_scope_only_when_asked_for() {
        let plain = issue(&tokens(&[("JWT_ACCESS_SECRET", SECRET)]));
        assert_eq!(plain.claims.scope, None);
        let payload = plain.token.split('.').nth(1).expect("payload");
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64"))
                .expect("json");
        assert!(payload.get("scope").is_none(), "{payload}");
        let scoped_tokens = tokens(&[("JWT_ACCESS_SECRET", SECRET), ("JWT_ROLE_SCOPES", "true")]);
        let scoped = issue(&scoped_tokens);
        assert_eq!(scoped.claims.scope.as_deref(), Some("role:user"));
        let verified = scoped_tokens.verify(&scoped.token, NOW).expect("verify");
        assert_eq!(verified.scope.as_deref(), Some("role:user"));
        // What the claim costs on every request: its JSON, base64url-encoded.
        let added = scoped.token.len() - plain.token.len();
        assert!((26..=32).contains(&added), "{added} bytes");
    }

    #[test]
    fn our_own_headers_take_the_fast_path_and_others_are_still_checked() {
        let tokens = tokens(&[("JWT_ACCESS_SECRET", SECRET)]);
        let issued = issue(&tokens);
        let header = issued.token.split('.').next().expect("header");
        assert!(
            tokens
                .known_headers
                .iter()
                .any(|(known, _)| known == header),
            "issue and verify agree on the header bytes"
        );
        // The same header with another key order is not byte-equal, so it is decoded and checked.
        let kid = tokens.config.keys.verifying[0].kid.clone();
        let reordered =
            URL_SAFE_NO_PAD.encode(format!(r#"{{"kid":"{kid}","alg":"HS256","typ":"at+jwt"}}"#));
        assert!(tokens.key_for_header(&reordered).is_ok());
        let unknown = URL_SAFE_NO_PAD.encode(r#"{"kid":"nope","alg":"HS256","typ":"at+jwt"}"#);
        assert_eq!(
            tokens.key_for_header(&unknown).err(),
            Some(Rejection::UnknownKey)
        );
    }

    #[test]
    fn tokens_signed_with_the_previous_secret_verify_during_rotation() {
        let old = tokens(&[("JWT_ACCESS_SECRET", OLD_SECRET)]);
        let issued = old
            .issue(
                &UserId::generate(),
                &Role::user(),
                &SessionId::generate(),
                false,
                &Assurance::password(),
                NOW,
            )
            .expect("issue");
        let rotated = tokens(&[
            ("JWT_ACCESS_SECRET", SECRET),
            ("JWT_ACCESS_SECRET_PREVIOUS", OLD_SECRET),
        ]);
        assert!(rotated.verify(&issued.token, NOW).is_ok());
        let retired = tokens(&[("JWT_ACCESS_SECRET", SECRET)]);
        assert_eq!(
            retired.verify(&issued.token, NOW),
            Err(Rejection::UnknownKey)
        );
    }

    #[test]
    fn expired_tokens_are_rejected_after_the_leeway() {
        let tokens = tokens(&[
            ("JWT_ACCESS_SECRET", SECRET),
            ("ACCESS_TOKEN_TTL", "1m"),
            ("JWT_LEEWAY", "5s"),
        ]);
        let issued = issue(&tokens);
        assert!(tokens.verify(&issued.token, NOW + 64).is_ok());
        assert_eq!(
            tokens.verify(&issued.token, NOW + 65),
            Err(Rejection::Expired)
        );
    }

    #[test]
    fn configuration_refuses_short_secrets_and_long_leeway_naming_the_variable() {
        let short = config(&[("JWT_ACCESS_SECRET", "too-short")]).expect_err("short");
        assert!(short.to_string().contains("JWT_ACCESS_SECRET"), "{short}");
        assert!(
            !short.to_string().contains("too-short"),
            "the secret must not be echoed"
        );
        let leeway =
            config(&[("JWT_ACCESS_SECRET", SECRET), ("JWT_LEEWAY", "31s")]).expect_err("leeway");
        assert!(leeway.to_string().contains("JWT_LEEWAY"));
        let missing = config(&[]).expect_err("missing");
        assert!(missing.to_string().contains("JWT_ACCESS_SECRET"));
    }
}
