//! Opaque refresh tokens: `<user id><session id>.<secret>` (64 hex characters, a dot, 43
//! base64url characters carrying 256 bits).
//!
//! Secrets form a keyed chain per session: the first is HMAC(key, ids), each successor is
//! HMAC(key, ids ‖ predecessor). So the database keeps only a SHA-256 digest of the current
//! and previous secret (useless to whoever reads a leaked table), rotation can be one
//! compare-and-swap write, and the successor of a just-rotated token can be handed out again
//! (grace window) or an older one recognised as reuse, all without storing any token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::{SessionId, UserId};

const SECRET_BYTES: usize = 32;
const SECRET_TEXT_LEN: usize = 43;
const IDS_LEN: usize = UserId::LEN + SessionId::LEN;
/// Longest text accepted as a refresh token; anything longer is refused unparsed.
const TOKEN_LEN: usize = IDS_LEN + 1 + SECRET_TEXT_LEN;

/// A parsed refresh token. Its `Debug` output never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub user_id: UserId,
    pub session_id: SessionId,
    secret: [u8; SECRET_BYTES],
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("user_id", &self.user_id)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl RefreshToken {
    /// Parses the wire form; `None` for anything that is not exactly a refresh token.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != TOKEN_LEN {
            return None;
        }
        let (ids, secret) = text.split_once('.')?;
        if ids.len() != IDS_LEN {
            return None;
        }
        let (user, session) = ids.split_at(UserId::LEN);
        let decoded = URL_SAFE_NO_PAD.decode(secret).ok()?;
        Some(Self {
            user_id: UserId::parse(user)?,
            session_id: SessionId::parse(session)?,
            secret: decoded.try_into().ok()?,
        })
    }

    pub fn encode(&self) -> String {
        format!(
            "{}{}.{}",
            self.user_id,
            self.session_id,
            URL_SAFE_NO_PAD.encode(self.secret)
        )
    }

    /// What the database stores to recognise this token: SHA-256 of the secret, base64url.
    pub fn digest(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.secret))
    }

    fn same_secret(&self, other: &Self) -> bool {
        self.user_id == other.user_id
            && self.session_id == other.session_id
            && bool::from(self.secret.ct_eq(&other.secret))
    }
}

/// Derives refresh tokens from `JWT_REFRESH_SECRET`.
#[derive(Clone)]
pub struct RefreshTokens {
    key: SecretString,
}

impl std::fmt::Debug for RefreshTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshTokens(<key redacted>)")
    }
}

impl RefreshTokens {
    pub fn new(key: SecretString) -> Self {
        Self { key }
    }

    fn mac(
        &self,
        label: &[u8],
        user: &UserId,
        session: &SessionId,
        previous: Option<&[u8]>,
    ) -> [u8; SECRET_BYTES] {
        // HMAC accepts keys of any length, so this cannot fail.
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret().as_bytes())
            .expect("HMAC takes any key length");
        mac.update(label);
        mac.update(user.as_str().as_bytes());
        mac.update(session.as_str().as_bytes());
        if let Some(previous) = previous {
            mac.update(previous);
        }
        mac.finalize().into_bytes().into()
    }

    /// The first token of a new session (generation 0).
    pub fn first(&self, user: &UserId, session: &SessionId) -> RefreshToken {
        RefreshToken {
            user_id: user.clone(),
            session_id: session.clone(),
            secret: self.mac(b"refresh-v1:first:", user, session, None),
        }
    }

    /// The token that replaces `token` when it is rotated.
    pub fn successor(&self, token: &RefreshToken) -> RefreshToken {
        RefreshToken {
            user_id: token.user_id.clone(),
            session_id: token.session_id.clone(),
            secret: self.mac(
                b"refresh-v1:next:",
                &token.user_id,
                &token.session_id,
                Some(&token.secret),
            ),
        }
    }

    /// Whether `token` is one of generations `0..before` of its session: a genuine token that
    /// was rotated out, as opposed to a forgery. Costs one HMAC per generation, and runs only
    /// when a token matches neither the current nor the previous digest.
    pub fn is_earlier_generation(&self, token: &RefreshToken, before: u64) -> bool {
        let mut candidate = self.first(&token.user_id, &token.session_id);
        for _ in 0..before {
            if candidate.same_secret(token) {
                return true;
            }
            candidate = self.successor(&candidate);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> RefreshTokens {
        RefreshTokens::new(SecretString::from(
            "a-refresh-secret-of-at-least-32-bytes!!".to_owned(),
        ))
    }

    #[test]
    fn a_token_round_trips_through_its_wire_form() {
        let token = tokens().first(&UserId::generate(), &SessionId::generate());
        let text = token.encode();
        assert_eq!(text.len(), TOKEN_LEN);
        assert_eq!(RefreshToken::parse(&text), Some(token));
    }

    #[test]
    fn the_chain_is_deterministic_and_every_link_differs() {
        let (user, session) = (UserId::generate(), SessionId::generate());
        let first = tokens().first(&user, &session);
        assert_eq!(first, tokens().first(&user, &session));
        let second = tokens().successor(&first);
        assert_ne!(first, second);
        assert_eq!(second, tokens().successor(&first));
        assert_ne!(first.digest(), second.digest());
        let other_key = RefreshTokens::new(SecretString::from(
            "another-refresh-secret-32-bytes-long!!".to_owned(),
        ));
        assert_ne!(
            other_key.first(&user, &session),
            first,
            "the key is part of the derivation"
        );
    }

    #[test]
    fn earlier_generations_are_recognised_and_forgeries_are_not() {
        let keys = tokens();
        let first = keys.first(&UserId::generate(), &SessionId::generate());
        let second = keys.successor(&first);
        let third = keys.successor(&second);
        assert!(keys.is_earlier_generation(&first, 2));
        assert!(keys.is_earlier_generation(&second, 2));
        assert!(!keys.is_earlier_generation(&third, 2));
        let mut forged = first.clone();
        forged.secret[0] ^= 1;
        assert!(!keys.is_earlier_generation(&forged, 2));
    }

    #[test]
    fn anything_else_does_not_parse() {
        let valid = tokens()
            .first(&UserId::generate(), &SessionId::generate())
            .encode();
        let cases = [
            String::new(),
            valid[..valid.len() - 1].to_owned(),
            format!("{valid}A"),
            valid.replacen('.', "_", 1),
            valid.to_uppercase(),
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln".to_owned(),
            format!("{}.{}", "g".repeat(64), &valid[65..]),
        ];
        for case in cases {
            assert!(RefreshToken::parse(&case).is_none(), "{case:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let token = tokens().first(&UserId::generate(), &SessionId::generate());
        let secret_part = token.encode()[65..].to_owned();
        assert!(!format!("{token:?}").contains(&secret_part));
    }
}
