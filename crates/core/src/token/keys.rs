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
    pub fn parse(raw: &str) -> Option<Self> {
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

/// Which configured key a [`KeyError`] is about (the configuration names its variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    Secret,
    PreviousSecret,
    Private,
    Public,
    PreviousPublic,
    NextPublic,
}

/// A key that cannot be used, and why (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct KeyError {
    pub role: KeyRole,
    pub reason: String,
}

fn key_error(role: KeyRole, reason: impl Into<String>) -> KeyError {
    KeyError {
        role,
        reason: reason.into(),
    }
}

/// A public key as PEM, with the one algorithm it verifies.
pub struct PublicKeyPem {
    pub algorithm: KeyAlgorithm,
    pub pem: String,
}

/// The key that signs now.
pub enum CurrentKey {
    /// The JWKS function under HS256: a shared secret is never published, so it holds none.
    Unpublished,
    Hmac(SecretString),
    /// Verifiers get the public key only; issuers also get the private key (whose public key is
    /// derived when `public_pem` is absent).
    Asymmetric {
        algorithm: KeyAlgorithm,
        private_pem: Option<SecretString>,
        public_pem: Option<String>,
    },
}

/// The key that signed before the current one, accepted until its tokens have expired.
pub enum PreviousKey {
    Hmac(SecretString),
    Public(PublicKeyPem),
}

/// The key material a function was given, as plain values. Each key keeps its own algorithm,
/// so a rollover may change the algorithm without logging anyone out.
pub struct KeyMaterial {
    pub current: CurrentKey,
    pub previous: Option<PreviousKey>,
    /// Published and accepted before anything is signed with it, so verifiers and their caches
    /// know it by the time it becomes the current key.
    pub next: Option<PublicKeyPem>,
}

impl KeySet {
    fn empty() -> Self {
        Self {
            signing: None,
            verifying: Vec::new(),
            hmac_secret_digests: Vec::new(),
        }
    }

    pub fn from_material(material: KeyMaterial) -> Result<Self, KeyError> {
        let mut keys = Self::empty();
        match material.current {
            CurrentKey::Unpublished => {}
            CurrentKey::Hmac(secret) => keys.add_hmac(&secret, true),
            CurrentKey::Asymmetric {
                algorithm,
                private_pem,
                public_pem,
            } => {
                keys.add_current_asymmetric(algorithm, private_pem.as_ref(), public_pem.as_deref())?
            }
        }
        match material.previous {
            None => {}
            Some(PreviousKey::Hmac(secret)) => keys.add_hmac(&secret, false),
            Some(PreviousKey::Public(key)) => keys.add_public(&key, KeyRole::PreviousPublic)?,
        }
        if let Some(next) = &material.next {
            keys.add_public(next, KeyRole::NextPublic)?;
        }
        Ok(keys)
    }

    /// HS256 keys from a current secret and an optional previous one.
    pub fn hmac(current: &SecretString, previous: Option<&SecretString>) -> Self {
        let mut keys = Self::empty();
        keys.add_hmac(current, true);
        if let Some(previous) = previous {
            keys.add_hmac(previous, false);
        }
        keys
    }

    fn add_hmac(&mut self, secret: &SecretString, signs: bool) {
        let bytes = secret.expose_secret().as_bytes();
        let kid = hmac_kid(bytes);
        if signs {
            self.signing = Some(SigningKey {
                kid: kid.clone(),
                algorithm: Algorithm::HS256,
                key: EncodingKey::from_secret(bytes),
            });
        }
        self.verifying.push(VerifyingKey {
            kid,
            algorithm: Algorithm::HS256,
            key: DecodingKey::from_secret(bytes),
            public_jwk: None,
            hmac: Some(keyed_hmac(bytes)),
        });
        self.hmac_secret_digests.push(Sha256::digest(bytes).into());
    }

    fn add_current_asymmetric(
        &mut self,
        algorithm: KeyAlgorithm,
        private_pem: Option<&SecretString>,
        public_pem: Option<&str>,
    ) -> Result<(), KeyError> {
        let jwt_algorithm = algorithm.jwt_algorithm();
        let signing = private_pem
            .map(|pem| {
                encoding_key_from_pem(algorithm, pem.expose_secret())
                    .map_err(|reason| key_error(KeyRole::Private, reason))
            })
            .transpose()?;
        let derived_public = signing
            .as_ref()
            .map(|private| {
                Jwk::from_encoding_key(private, jwt_algorithm).map_err(|error| {
                    key_error(
                        KeyRole::Private,
                        format!("cannot derive its public key: {error}"),
                    )
                })
            })
            .transpose()?;
        let current_jwk = match (public_pem, derived_public.clone()) {
            (Some(pem), _) => public_jwk_from_pem(algorithm, pem)
                .map_err(|reason| key_error(KeyRole::Public, reason))?,
            (None, Some(derived)) => derived,
            (None, None) => {
                return Err(key_error(KeyRole::Public, "no public key was given"));
            }
        };
        if let Some(derived) = &derived_public
            && !same_public_key(derived, &current_jwk)
        {
            return Err(key_error(
                KeyRole::Public,
                "does not belong to JWT_PRIVATE_KEY",
            ));
        }
        let current = verifying_key(current_jwk, jwt_algorithm)
            .map_err(|reason| key_error(KeyRole::Public, reason))?;
        self.signing = signing.map(|key| SigningKey {
            kid: current.kid.clone(),
            algorithm: jwt_algorithm,
            key,
        });
        self.verifying.push(current);
        Ok(())
    }

    /// A public key tokens may carry besides the current one (previous or next).
    fn add_public(&mut self, key: &PublicKeyPem, role: KeyRole) -> Result<(), KeyError> {
        let jwk = public_jwk_from_pem(key.algorithm, &key.pem)
            .map_err(|reason| key_error(role, reason))?;
        let verifying = verifying_key(jwk, key.algorithm.jwt_algorithm())
            .map_err(|reason| key_error(role, reason))?;
        if self
            .verifying
            .iter()
            .any(|known| known.kid == verifying.kid)
        {
            return Err(key_error(
                role,
                "is a key already configured (the current or previous one); each key has one place",
            ));
        }
        self.verifying.push(verifying);
        Ok(())
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

    /// The algorithms of the published keys, the current key's first, each once.
    pub fn published_algorithms(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for key in self.verifying.iter().filter(|key| key.public_jwk.is_some()) {
            let name = algorithm_name(key.algorithm);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
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

/// The JOSE name of one of the four algorithms keys are configured with.
pub(crate) fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        Algorithm::EdDSA => "EdDSA",
        // Keys are only ever configured with the four algorithms above.
        _ => "unsupported",
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
    let digest: [u8; 32] = hasher.finalize().into();
    format!(
        "hs256-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(digest.get(..9).unwrap_or_default())
    )
}

/// Whether two public JWKs hold the same key (their RFC 7638 thumbprints agree).
fn same_public_key(a: &Jwk, b: &Jwk) -> bool {
    match (
        a.thumbprint(ThumbprintHash::SHA256),
        b.thumbprint(ThumbprintHash::SHA256),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
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
