//! Opaque refresh tokens: `<user id><session id>.<key id>.<secret>` (64 hex characters, a dot,
//! 8 base64url characters naming the chain key, a dot, 43 base64url characters carrying 256 bits).
//!
//! A session's first secret is 256 random bits from the OS: it is derived from nothing, so the
//! refresh key alone (a leaked `JWT_REFRESH_SECRET`) mints no token of any session. Each
//! successor is HMAC(chain key, ids ‖ predecessor), with the key the session started under
//! (named in the token), so:
//! - the database keeps only SHA-256 digests of the current and previous secret: a leaked table
//!   holds no usable token;
//! - rotation is one compare-and-swap write, and a token rotated out moments ago gets the very
//!   same successor again (concurrent tabs converge on one cookie);
//! - an older genuine token is recognised by walking forward from it to a stored digest, at
//!   most [`MAX_REUSE_WALK`] steps, so even a forged token costs bounded CPU;
//! - the key can be rotated: sessions started under `JWT_REFRESH_SECRET_PREVIOUS` go on (and
//!   keep their reuse detection) while it is configured; removing it ends them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::{SessionId, UserId};

const SECRET_BYTES: usize = 32;
const SECRET_TEXT_LEN: usize = 43;
const KID_LEN: usize = 8;
const IDS_LEN: usize = UserId::LEN + SessionId::LEN;
/// The exact length of a refresh token; anything else is refused unparsed.
const TOKEN_LEN: usize = IDS_LEN + 1 + KID_LEN + 1 + SECRET_TEXT_LEN;

/// Most rotations walked forward from a presented token to tell an old genuine token (reuse:
/// revoke the session) from a forgery (refuse, revoke nothing). Bounds the CPU a forged token
/// costs (README, "Security"); a genuine token older than this is refused without revoking.
pub const MAX_REUSE_WALK: u64 = 4096;

/// A parsed refresh token. Its `Debug` output never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub user_id: UserId,
    pub session_id: SessionId,
    kid: String,
    secret: [u8; SECRET_BYTES],
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("user_id", &self.user_id)
            .field("session_id", &self.session_id)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl RefreshToken {
    /// Parses the wire form; `None` for anything that is not exactly a refresh token, whatever
    /// its bytes (multi-byte characters included).
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != TOKEN_LEN || !text.is_ascii() {
            return None;
        }
        let mut parts = text.split('.');
        let (Some(ids), Some(kid), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if ids.len() != IDS_LEN || kid.len() != KID_LEN || !is_base64url(kid) {
            return None;
        }
        let user = ids.get(..UserId::LEN)?;
        let session = ids.get(UserId::LEN..)?;
        let mut decoded = [0u8; SECRET_BYTES];
        let length = URL_SAFE_NO_PAD.decode_slice(secret, &mut decoded).ok()?;
        if length != SECRET_BYTES || secret.len() != SECRET_TEXT_LEN {
            return None;
        }
        Some(Self {
            user_id: UserId::parse(user)?,
            session_id: SessionId::parse(session)?,
            kid: kid.to_owned(),
            secret: decoded,
        })
    }

    pub fn encode(&self) -> String {
        format!(
            "{}{}.{}.{}",
            self.user_id,
            self.session_id,
            self.kid,
            URL_SAFE_NO_PAD.encode(self.secret)
        )
    }

    /// What the database stores to recognise this token: SHA-256 of the secret, base64url.
    pub fn digest(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.secret))
    }
}

fn is_base64url(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The digests a session item holds.
#[derive(Debug, Clone, Copy)]
pub struct StoredDigests<'a> {
    pub current: &'a str,
    pub previous: Option<&'a str>,
}

/// The stored digests as raw SHA-256 values, decoded once per walk so each step compares bytes.
struct RawDigests {
    current: Option<[u8; 32]>,
    previous: Option<[u8; 32]>,
}

impl RawDigests {
    fn decode(stored: StoredDigests<'_>) -> Self {
        let raw = |text: &str| {
            let mut digest = [0u8; 32];
            matches!(URL_SAFE_NO_PAD.decode_slice(text, &mut digest), Ok(32)).then_some(digest)
        };
        Self {
            current: raw(stored.current),
            previous: stored.previous.and_then(raw),
        }
    }

    /// Whether `secret`'s SHA-256 is one of the stored digests, compared in constant time.
    fn hold(&self, secret: &[u8; SECRET_BYTES]) -> bool {
        let digest: [u8; 32] = Sha256::digest(secret).into();
        let matches = |stored: Option<[u8; 32]>| {
            stored.is_some_and(|stored| bool::from(stored.ct_eq(&digest)))
        };
        matches(self.current) | matches(self.previous)
    }
}

struct ChainKey {
    kid: String,
    mac: Hmac<Sha256>,
}

impl ChainKey {
    fn new(secret: &SecretString) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let digest: [u8; 32] = Sha256::new()
            .chain_update(b"jwt-auth refresh kid v1:")
            .chain_update(bytes)
            .finalize()
            .into();
        Self {
            kid: URL_SAFE_NO_PAD.encode(digest.get(..6).unwrap_or_default()),
            mac: keyed_hmac(bytes),
        }
    }

    /// The successor secret: HMAC(key, ids ‖ predecessor), with no allocation, so the reuse
    /// walk costs one HMAC and one SHA-256 per step.
    fn next_secret(&self, token: &RefreshToken, secret: &[u8; SECRET_BYTES]) -> [u8; SECRET_BYTES] {
        let mut mac = self.mac.clone();
        mac.update(b"refresh-v2:next:");
        mac.update(token.user_id.as_str().as_bytes());
        mac.update(token.session_id.as_str().as_bytes());
        mac.update(secret);
        mac.finalize().into_bytes().into()
    }

    fn successor(&self, token: &RefreshToken) -> RefreshToken {
        RefreshToken {
            user_id: token.user_id.clone(),
            session_id: token.session_id.clone(),
            kid: self.kid.clone(),
            secret: self.next_secret(token, &token.secret),
        }
    }
}

fn keyed_hmac(secret: &[u8]) -> Hmac<Sha256> {
    #[allow(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    Hmac::new_from_slice(secret).expect("HMAC takes any key length")
}

/// The refresh chain keys: `JWT_REFRESH_SECRET` for new sessions, and optionally the previous
/// one for sessions started before a rotation.
pub struct RefreshKeys {
    current: ChainKey,
    previous: Option<ChainKey>,
}

impl std::fmt::Debug for RefreshKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshKeys")
            .field("current_kid", &self.current.kid)
            .field("previous_kid", &self.previous.as_ref().map(|key| &key.kid))
            .finish()
    }
}

impl RefreshKeys {
    pub fn new(current: &SecretString, previous: Option<&SecretString>) -> Self {
        Self {
            current: ChainKey::new(current),
            previous: previous.map(ChainKey::new),
        }
    }

    /// The first token of a new session: random, under the current key.
    pub fn first(&self, user: &UserId, session: &SessionId) -> RefreshToken {
        RefreshToken {
            user_id: user.clone(),
            session_id: session.clone(),
            kid: self.current.kid.clone(),
            secret: crate::random::bytes::<SECRET_BYTES>(),
        }
    }

    fn key_of(&self, token: &RefreshToken) -> Option<&ChainKey> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|key| key.kid == token.kid)
    }

    /// The token that replaces `token`, under the key its session started with; `None` when
    /// that key is no longer configured (the session ended with the key's retirement).
    pub fn successor(&self, token: &RefreshToken) -> Option<RefreshToken> {
        self.key_of(token).map(|key| key.successor(token))
    }

    /// Whether `token` is a genuine earlier token of a session whose item holds `stored`, at most
    /// `generation` (the session's rotation count) and [`MAX_REUSE_WALK`] rotations back.
    /// Walks forward from `token`: one HMAC and one SHA-256 per step.
    pub fn is_earlier_generation(
        &self,
        token: &RefreshToken,
        stored: StoredDigests<'_>,
        generation: u64,
    ) -> bool {
        let Some(key) = self.key_of(token) else {
            return false;
        };
        let stored = RawDigests::decode(stored);
        let mut secret = token.secret;
        if stored.hold(&secret) {
            return true;
        }
        for _ in 0..generation.min(MAX_REUSE_WALK) {
            secret = key.next_secret(token, &secret);
            if stored.hold(&secret) {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    fn keys() -> RefreshKeys {
        RefreshKeys::new(&secret("a-refresh-secret-of-at-least-32-bytes!!"), None)
    }

    fn chain(keys: &RefreshKeys, length: usize) -> Vec<RefreshToken> {
        let mut tokens = vec![keys.first(&UserId::generate(), &SessionId::generate())];
        while tokens.len() < length {
            let next = keys
                .successor(tokens.last().expect("non-empty"))
                .expect("known key");
            tokens.push(next);
        }
        tokens
    }

    fn stored_at(tokens: &[RefreshToken], generation: usize) -> (String, Option<String>) {
        (
            tokens[generation].digest(),
            generation
                .checked_sub(1)
                .map(|previous| tokens[previous].digest()),
        )
    }

    #[test]
    fn a_token_round_trips_through_its_wire_form() {
        let token = keys().first(&UserId::generate(), &SessionId::generate());
        let text = token.encode();
        assert_eq!(text.len(), TOKEN_LEN);
        assert_eq!(RefreshToken::parse(&text), Some(token));
    }

    #[test]
    fn first_tokens_are_random_so_the_key_alone_derives_nothing() {
        let keys = keys();
        let (user, session) = (UserId::generate(), SessionId::generate());
        assert_ne!(keys.first(&user, &session), keys.first(&user, &session));
    }

    #[test]
    fn successors_are_deterministic_keyed_and_distinct() {
        let keys = keys();
        let first = keys.first(&UserId::generate(), &SessionId::generate());
        let second = keys.successor(&first).expect("known key");
        assert_ne!(first, second);
        assert_eq!(Some(second.clone()), keys.successor(&first));
        let other = RefreshKeys::new(&secret("another-refresh-secret-32-bytes-long!!"), None);
        assert_eq!(other.successor(&first), None, "a token names its chain key");
    }

    #[test]
    fn earlier_generations_are_recognised_walking_forward_and_forgeries_are_not() {
        let keys = keys();
        let tokens = chain(&keys, 6);
        let (current, previous) = stored_at(&tokens, 5);
        let stored = StoredDigests {
            current: &current,
            previous: previous.as_deref(),
        };
        for old in &tokens[..5] {
            assert!(keys.is_earlier_generation(old, stored, 5), "{old:?}");
        }
        let mut forged = tokens[0].clone();
        forged.secret[0] ^= 1;
        assert!(!keys.is_earlier_generation(&forged, stored, 5));
        assert!(
            !keys.is_earlier_generation(&tokens[0], stored, 3),
            "the walk is bounded by the stored generation"
        );
    }

    #[test]
    fn sessions_started_under_the_previous_key_rotate_and_keep_reuse_detection() {
        let old = keys();
        let tokens = chain(&old, 4);
        let rotated = RefreshKeys::new(
            &secret("the-new-refresh-secret-of-32-bytes-!!"),
            Some(&secret("a-refresh-secret-of-at-least-32-bytes!!")),
        );
        let next = rotated.successor(&tokens[3]).expect("previous key known");
        assert_eq!(Some(next.clone()), old.successor(&tokens[3]));
        let (current, previous) = (next.digest(), tokens[3].digest());
        let stored = StoredDigests {
            current: &current,
            previous: Some(&previous),
        };
        assert!(rotated.is_earlier_generation(&tokens[0], stored, 4));
        let retired = RefreshKeys::new(&secret("the-new-refresh-secret-of-32-bytes-!!"), None);
        assert_eq!(retired.successor(&tokens[3]), None);
        assert!(!retired.is_earlier_generation(&tokens[0], stored, 4));
        assert_ne!(
            rotated
                .first(&UserId::generate(), &SessionId::generate())
                .kid,
            tokens[0].kid,
            "new sessions start under the new key"
        );
    }

    #[test]
    fn anything_else_does_not_parse() {
        let valid = keys()
            .first(&UserId::generate(), &SessionId::generate())
            .encode();
        let cases = [
            String::new(),
            valid[..valid.len() - 1].to_owned(),
            format!("{valid}A"),
            valid.replacen('.', "_", 1),
            valid.to_uppercase(),
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln".to_owned(),
            format!("{}{}", "g".repeat(64), &valid[64..]),
            // A multi-byte character where the ids end: once a panic in split_at.
            format!("{}é{}", &valid[..31], &valid[33..]),
            format!("{}é{}", &valid[..64], &valid[66..]),
        ];
        for case in cases {
            assert!(RefreshToken::parse(&case).is_none(), "{case:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let token = keys().first(&UserId::generate(), &SessionId::generate());
        let encoded = token.encode();
        let secret_part = encoded.rsplit('.').next().expect("secret");
        assert!(!format!("{token:?}").contains(secret_part));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn parse_never_panics_and_accepts_only_what_encode_produces(text in "\\PC{0,140}") {
            if let Some(token) = RefreshToken::parse(&text) {
                prop_assert_eq!(token.encode(), text);
            }
        }

        #[test]
        fn mutated_valid_tokens_never_panic(position in 0usize..TOKEN_LEN, replacement in any::<char>()) {
            let valid = keys().first(&UserId::generate(), &SessionId::generate()).encode();
            let mutated: String = valid
                .chars()
                .enumerate()
                .map(|(index, c)| if index == position { replacement } else { c })
                .collect();
            if let Some(token) = RefreshToken::parse(&mutated) {
                prop_assert_eq!(token.encode(), mutated);
            }
        }
    }
}
