//! Signing and verification keys for access tokens, chosen by `kid`.
//!
//! One algorithm per key, pinned: a token is checked only with the algorithm its key was
//! configured for, whatever its header claims. A current and an optional previous key allow
//! rotation with a grace period; only the current key signs.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{ConfigError, Env, secret};

/// The signing algorithms we support. HS256 is the default; the others sign with a private key
/// held only by the issuing functions, so verifiers hold public keys only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Hs256,
    Rs256,
    Es256,
    EdDsa,
}

impl KeyAlgorithm {
    fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "HS256" => Some(Self::Hs256),
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            "EDDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }

    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }
}

pub(crate) struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub key: EncodingKey,
}

pub(crate) struct VerifyingKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub key: DecodingKey,
    /// The public JWK, for asymmetric keys only (a shared secret is never published).
    pub public_jwk: Option<Jwk>,
    /// For HS256: an HMAC already keyed with the secret, cloned per verification.
    pub hmac: Option<Hmac<Sha256>>,
}

/// The keys one function holds: verification keys always, a signing key when it issues tokens.
pub struct KeySet {
    pub(crate) signing: Option<SigningKey>,
    pub(crate) verifying: Vec<VerifyingKey>,
    /// SHA-256 of each HMAC secret, so configuration can refuse a refresh secret equal to one.
    hmac_secret_digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.verifying.iter().map(|key| key.kid.as_str()).collect();
        f.debug_struct("KeySet")
            .field(
                "signing_kid",
                &self.signing.as_ref().map(|key| key.kid.as_str()),
            )
            .field("verifying_kids", &kids)
            .finish()
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

impl KeySet {
    /// Reads `JWT_ALGORITHM` (default HS256) and its keys:
    /// - HS256: `JWT_ACCESS_SECRET` (signs and verifies), `JWT_ACCESS_SECRET_PREVIOUS` (verifies only).
    /// - RS256/ES256/EdDSA: `JWT_PRIVATE_KEY` (PEM; signs, optional for verifiers),
    ///   `JWT_PUBLIC_KEY` (PEM; derived from the private key when absent), `JWT_PUBLIC_KEY_PREVIOUS`.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let algorithm = match env.get("JWT_ALGORITHM") {
            None => KeyAlgorithm::Hs256,
            Some(raw) => KeyAlgorithm::parse(&raw).ok_or_else(|| {
                invalid(
                    "JWT_ALGORITHM",
                    format!("expected HS256, RS256, ES256 or EdDSA, got {raw:?}"),
                )
            })?,
        };
        match algorithm {
            KeyAlgorithm::Hs256 => {
                let current = secret(env, "JWT_ACCESS_SECRET")?;
                let previous = match env.get("JWT_ACCESS_SECRET_PREVIOUS") {
                    None => None,
                    Some(_) => Some(secret(env, "JWT_ACCESS_SECRET_PREVIOUS")?),
                };
                Ok(Self::hmac(&current, previous.as_ref()))
            }
            asymmetric => Self::asymmetric_from_env(env, asymmetric),
        }
    }

    /// HS256 keys from a current secret and an optional previous one.
    pub fn hmac(current: &SecretString, previous: Option<&SecretString>) -> Self {
        let mut keys = Self {
            signing: None,
            verifying: Vec::new(),
            hmac_secret_digests: Vec::new(),
        };
        for (index, secret) in std::iter::once(current).chain(previous).enumerate() {
            let bytes = secret.expose_secret().as_bytes();
            let kid = hmac_kid(bytes);
            if index == 0 {
                keys.signing = Some(SigningKey {
                    kid: kid.clone(),
                    algorithm: Algorithm::HS256,
                    key: EncodingKey::from_secret(bytes),
                });
            }
            keys.verifying.push(VerifyingKey {
                kid,
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(bytes),
                public_jwk: None,
                hmac: Some(keyed_hmac(bytes)),
            });
            keys.hmac_secret_digests.push(Sha256::digest(bytes).into());
        }
        keys
    }

    fn asymmetric_from_env(env: &dyn Env, algorithm: KeyAlgorithm) -> Result<Self, ConfigError> {
        let jwt_algorithm = algorithm.jwt_algorithm();
        let signing = match env.get("JWT_PRIVATE_KEY") {
            None => None,
            Some(pem) => Some(
                encoding_key_from_pem(algorithm, &pem)
                    .map_err(|reason| invalid("JWT_PRIVATE_KEY", reason))?,
            ),
        };
        let current_jwk = match (env.get("JWT_PUBLIC_KEY"), &signing) {
            (Some(pem), _) => public_jwk_from_pem(algorithm, &pem)
                .map_err(|reason| invalid("JWT_PUBLIC_KEY", reason))?,
            (None, Some(private)) => {
                Jwk::from_encoding_key(private, jwt_algorithm).map_err(|error| {
                    invalid(
                        "JWT_PRIVATE_KEY",
                        format!("cannot derive its public key: {error}"),
                    )
                })?
            }
            (None, None) => {
                return Err(ConfigError::Missing {
                    name: "JWT_PUBLIC_KEY",
                    hint: "set the PEM public key (or JWT_PRIVATE_KEY where tokens are issued)",
                });
            }
        };
        let mut verifying = vec![
            verifying_key(current_jwk, jwt_algorithm)
                .map_err(|reason| invalid("JWT_PUBLIC_KEY", reason))?,
        ];
        if let Some(pem) = env.get("JWT_PUBLIC_KEY_PREVIOUS") {
            let jwk = public_jwk_from_pem(algorithm, &pem)
                .map_err(|reason| invalid("JWT_PUBLIC_KEY_PREVIOUS", reason))?;
            verifying.push(
                verifying_key(jwk, jwt_algorithm)
                    .map_err(|reason| invalid("JWT_PUBLIC_KEY_PREVIOUS", reason))?,
            );
        }
        let signing = signing.map(|key| SigningKey {
            kid: verifying[0].kid.clone(),
            algorithm: jwt_algorithm,
            key,
        });
        if let (Some(private), Some(public)) = (&signing, verifying[0].public_jwk.as_ref()) {
            let derived = Jwk::from_encoding_key(&private.key, jwt_algorithm).map_err(|error| {
                invalid(
                    "JWT_PRIVATE_KEY",
                    format!("cannot derive its public key: {error}"),
                )
            })?;
            if derived.algorithm != public.algorithm {
                return Err(invalid(
                    "JWT_PUBLIC_KEY",
                    "does not belong to JWT_PRIVATE_KEY",
                ));
            }
        }
        Ok(Self {
            signing,
            verifying,
            hmac_secret_digests: Vec::new(),
        })
    }

    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }

    pub(crate) fn verifying_key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.iter().find(|key| key.kid == kid)
    }

    /// Whether `candidate` equals one of the HMAC secrets (compared as digests, in constant time).
    pub fn uses_secret(&self, candidate: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(candidate).into();
        self.hmac_secret_digests
            .iter()
            .any(|known| bool::from(known.ct_eq(&digest)))
    }

    /// The public keys as a JWKS document; empty for HS256, whose secret is never published.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .verifying
                .iter()
                .filter_map(|key| key.public_jwk.clone())
                .collect(),
        }
    }
}

fn keyed_hmac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    #[allow(clippy::expect_used)]
    Hmac::new_from_slice(secret).expect("HMAC takes any key length")
}

/// A key id that names an HMAC secret without revealing it: a truncated digest of the secret.
fn hmac_kid(secret: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"jwt-auth kid v1:");
    hasher.update(secret);
    let digest = hasher.finalize();
    format!(
        "hs256-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..9])
    )
}

fn encoding_key_from_pem(algorithm: KeyAlgorithm, pem: &str) -> Result<EncodingKey, String> {
    let pem = pem.as_bytes();
    let parsed = match algorithm {
        KeyAlgorithm::Rs256 => EncodingKey::from_rsa_pem(pem),
        KeyAlgorithm::Es256 => EncodingKey::from_ec_pem(pem),
        KeyAlgorithm::EdDsa => EncodingKey::from_ed_pem(pem),
        KeyAlgorithm::Hs256 => return Err("HS256 uses JWT_ACCESS_SECRET, not a PEM key".into()),
    };
    parsed.map_err(|error| format!("not a PEM private key for {algorithm:?}: {error}"))
}

fn public_jwk_from_pem(algorithm: KeyAlgorithm, pem: &str) -> Result<Jwk, String> {
    let bytes = pem.as_bytes();
    let key = match algorithm {
        KeyAlgorithm::Rs256 => DecodingKey::from_rsa_pem(bytes),
        KeyAlgorithm::Es256 => DecodingKey::from_ec_pem(bytes),
        KeyAlgorithm::EdDsa => DecodingKey::from_ed_pem(bytes),
        KeyAlgorithm::Hs256 => return Err("HS256 uses JWT_ACCESS_SECRET, not a PEM key".into()),
    }
    .map_err(|error| format!("not a PEM public key for {algorithm:?}: {error}"))?;
    Jwk::from_decoding_key(&key, Some(algorithm.jwt_algorithm()))
        .map_err(|error| format!("cannot read the public key for {algorithm:?}: {error}"))
}

/// A verifying key from a public JWK, with its RFC 7638 thumbprint as `kid`.
fn verifying_key(mut jwk: Jwk, algorithm: Algorithm) -> Result<VerifyingKey, String> {
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|error| format!("cannot compute the key's thumbprint: {error}"))?;
    let key =
        DecodingKey::from_jwk(&jwk).map_err(|error| format!("unusable public key: {error}"))?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok(VerifyingKey {
        kid,
        algorithm,
        key,
        public_jwk: Some(jwk),
        hmac: None,
    })
}
