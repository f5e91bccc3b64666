//! The second factor's key material, from `MFA_ENCRYPTION_KEY` (and `_PREVIOUS` during a
//! rotation), used for nothing else: TOTP secrets are sealed with AES-256-GCM under a key
//! derived from it (bound to their user, so a sealed secret moved to another account does not
//! open), and recovery codes are stored as HMAC-SHA256 digests under a second derived key, so a
//! leaked table backup yields neither a secret nor a code that can be tried offline.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use auth_core::domain::UserId;

const SEALED_PREFIX: &str = "v1";

/// One `MFA_ENCRYPTION_KEY`, as the keys derived from it.
struct DerivedKeys {
    /// Names the key in sealed values, so a rotation knows which key opens what.
    id: String,
    sealing: LessSafeKey,
    digests: hmac::Key,
}

impl DerivedKeys {
    fn new(secret: &SecretString) -> Option<Self> {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
        let derive = |label: &str| hmac::sign(&root, label.as_bytes());
        let sealing_key = derive("jwt-auth mfa totp-secret sealing v1");
        let sealing = UnboundKey::new(&AES_256_GCM, sealing_key.as_ref()).ok()?;
        let digests = hmac::Key::new(
            hmac::HMAC_SHA256,
            derive("jwt-auth mfa recovery-code digest v1").as_ref(),
        );
        let id = auth_core::random::hex(derive("jwt-auth mfa key id").as_ref().get(..4)?);
        Some(Self {
            id,
            sealing: LessSafeKey::new(sealing),
            digests,
        })
    }

    fn digest(&self, user: &UserId, normalized_code: &str) -> String {
        let mut context = hmac::Context::with_key(&self.digests);
        context.update(user.as_str().as_bytes());
        context.update(b":");
        context.update(normalized_code.as_bytes());
        auth_core::random::hex(context.sign().as_ref())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("MFA_ENCRYPTION_KEY cannot make an AES-256-GCM key")]
    BadKey,
    #[error("sealing the TOTP secret failed")]
    Seal,
}

/// The keys of one function: the current one seals and digests; the previous one still opens
/// and matches what was made before a rotation.
pub struct MfaKeys {
    current: DerivedKeys,
    previous: Option<DerivedKeys>,
}

impl std::fmt::Debug for MfaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaKeys(<redacted>)")
    }
}

fn aad(user: &UserId) -> Vec<u8> {
    format!("totp-secret:{user}").into_bytes()
}

impl MfaKeys {
    pub fn new(current: &SecretString, previous: Option<&SecretString>) -> Result<Self, SealError> {
        Ok(Self {
            current: DerivedKeys::new(current).ok_or(SealError::BadKey)?,
            previous: previous
                .map(|previous| DerivedKeys::new(previous).ok_or(SealError::BadKey))
                .transpose()?,
        })
    }

    /// `v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`, bound to `user`.
    pub fn seal(&self, secret: &[u8], user: &UserId) -> Result<String, SealError> {
        let nonce_bytes = auth_core::random::bytes::<NONCE_LEN>();
        let mut sealed = secret.to_vec();
        self.current
            .sealing
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad(user)),
                &mut sealed,
            )
            .map_err(|_| SealError::Seal)?;
        let mut payload = nonce_bytes.to_vec();
        payload.extend_from_slice(&sealed);
        Ok(format!(
            "{SEALED_PREFIX}:{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(payload)
        ))
    }

    /// The secret `sealed` holds for `user`; `None` when it is malformed, sealed for someone
    /// else, tampered with, or under a key this function no longer has.
    pub fn open(&self, sealed: &str, user: &UserId) -> Option<SecretSlice<u8>> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(SEALED_PREFIX), Some(id), Some(payload)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|key| key.id == id)?;
        let mut payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let nonce = Nonce::try_assume_unique_for_key(payload.get(..NONCE_LEN)?).ok()?;
        let mut ciphertext = payload.split_off(NONCE_LEN);
        let plain = key
            .sealing
            .open_in_place(nonce, Aad::from(aad(user)), &mut ciphertext)
            .ok()?;
        Some(SecretSlice::from(plain.to_vec()))
    }

    /// The digest a new recovery code is stored as.
    pub fn recovery_digest(&self, user: &UserId, normalized_code: &str) -> String {
        self.current.digest(user, normalized_code)
    }

    /// Every digest `normalized_code` may be stored as (current key, then previous).
    pub fn recovery_digest_candidates(&self, user: &UserId, normalized_code: &str) -> Vec<String> {
        [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .map(|key| key.digest(user, normalized_code))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(current: &str, previous: Option<&str>) -> MfaKeys {
        MfaKeys::new(
            &SecretString::from(current),
            previous.map(SecretString::from).as_ref(),
        )
        .expect("keys")
    }

    const KEY: &str = "an-mfa-encryption-key-of-at-least-32-bytes";
    const OLD: &str = "the-previous-mfa-encryption-key-32-bytes-long";

    #[test]
    fn a_sealed_secret_opens_for_its_user_only_and_survives_a_rotation() {
        let (ada, bob) = (UserId::generate(), UserId::generate());
        let old = keys(OLD, None);
        let sealed = old.seal(b"secret bytes", &ada).expect("seal");
        assert!(!sealed.contains("secret"), "{sealed}");
        let opened = old.open(&sealed, &ada).expect("opens");
        assert_eq!(opened.expose_secret(), b"secret bytes");
        assert!(old.open(&sealed, &bob).is_none(), "bound to its user");
        let rotated = keys(KEY, Some(OLD));
        assert!(
            rotated.open(&sealed, &ada).is_some(),
            "the previous key still opens"
        );
        assert!(
            keys(KEY, None).open(&sealed, &ada).is_none(),
            "a retired key does not"
        );
        assert_ne!(
            old.seal(b"secret bytes", &ada).ok(),
            Some(sealed),
            "fresh nonce"
        );
    }

    #[test]
    fn tampered_or_malformed_values_do_not_open() {
        let ada = UserId::generate();
        let keys = keys(KEY, None);
        let sealed = keys.seal(b"secret", &ada).expect("seal");
        let mut tampered = sealed.clone().into_bytes();
        if let Some(last) = tampered.last_mut() {
            *last = if *last == b'A' { b'B' } else { b'A' };
        }
        let tampered = String::from_utf8(tampered).expect("ascii");
        for bad in [
            tampered.as_str(),
            "",
            "v1",
            "v1:x:",
            "v2:abcd:AAAA",
            "v1:zz:%%%",
        ] {
            assert!(keys.open(bad, &ada).is_none(), "{bad}");
        }
    }

    #[test]
    fn recovery_digests_are_keyed_per_user_and_match_across_a_rotation() {
        let (ada, bob) = (UserId::generate(), UserId::generate());
        let old = keys(OLD, None);
        let digest = old.recovery_digest(&ada, "abcde12345");
        assert_ne!(digest, old.recovery_digest(&bob, "abcde12345"));
        assert_ne!(digest, keys(KEY, None).recovery_digest(&ada, "abcde12345"));
        assert!(
            keys(KEY, Some(OLD))
                .recovery_digest_candidates(&ada, "abcde12345")
                .contains(&digest)
        );
    }

    proptest::proptest! {
        #[test]
        fn opening_never_panics(text in "\\PC{0,120}") {
            let _ = keys(KEY, None).open(&text, &UserId::generate());
        }
    }
}
