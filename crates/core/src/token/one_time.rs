//! One-time tokens for links mailed to a user (password reset, email verification):
//! `<user id>.<secret>`, 32 hex characters, a dot, and 43 base64url characters carrying 256
//! random bits from the OS.
//!
//! The user id names the partition holding the token's digest, so checking a token is one
//! read of one item; the secret is what proves the link was received. Only the SHA-256 digest
//! is ever stored: a leaked table holds no usable link.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::domain::UserId;

const SECRET_BYTES: usize = 32;
const SECRET_TEXT_LEN: usize = 43;
/// The exact length of a one-time token; anything else is refused unparsed.
pub const ONE_TIME_TOKEN_LEN: usize = UserId::LEN + 1 + SECRET_TEXT_LEN;

/// A parsed one-time token. Its `Debug` output never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeToken {
    pub user_id: UserId,
    secret: [u8; SECRET_BYTES],
}

impl std::fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneTimeToken")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl OneTimeToken {
    /// A fresh token for `user`: 256 random bits.
    pub fn generate(user: &UserId) -> Self {
        Self {
            user_id: user.clone(),
            secret: crate::random::bytes::<SECRET_BYTES>(),
        }
    }

    /// Parses the wire form; `None` for anything that is not exactly a one-time token.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != ONE_TIME_TOKEN_LEN || !text.is_ascii() {
            return None;
        }
        let (user, secret) = text.split_once('.')?;
        if secret.len() != SECRET_TEXT_LEN {
            return None;
        }
        let mut decoded = [0u8; SECRET_BYTES];
        let length = URL_SAFE_NO_PAD.decode_slice(secret, &mut decoded).ok()?;
        // Only the canonical encoding: 43 characters carry 258 bits, the last 2 must be zero.
        if length != SECRET_BYTES || URL_SAFE_NO_PAD.encode(decoded) != secret {
            return None;
        }
        Some(Self {
            user_id: UserId::parse(user)?,
            secret: decoded,
        })
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.user_id, URL_SAFE_NO_PAD.encode(self.secret))
    }

    /// What the database stores to recognise this token: SHA-256 of the secret, base64url.
    pub fn digest(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.secret))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_token_round_trips_and_its_digest_is_not_its_secret() {
        let user = UserId::generate();
        let token = OneTimeToken::generate(&user);
        let text = token.encode();
        assert_eq!(text.len(), ONE_TIME_TOKEN_LEN);
        assert_eq!(OneTimeToken::parse(&text), Some(token.clone()));
        assert!(!text.contains(&token.digest()));
        assert_ne!(OneTimeToken::generate(&user), token, "256 fresh bits each");
        assert!(!format!("{token:?}").contains(text.split_once('.').map_or("", |(_, s)| s)));
    }

    #[test]
    fn near_misses_are_refused() {
        let text = OneTimeToken::generate(&UserId::generate()).encode();
        let cases = [
            String::new(),
            text.replace('.', "-"),
            format!("{text}A"),
            text.to_uppercase(),
            format!("{}.{}", "g".repeat(32), "A".repeat(43)),
            // Non-canonical last character (its two spare bits set).
            format!("{}.{}B", "a".repeat(32), "A".repeat(42)),
        ];
        for case in cases {
            assert_eq!(OneTimeToken::parse(&case), None, "{case}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn parsing_any_text_never_panics_and_accepts_only_what_round_trips(text in ".{0,90}") {
            if let Some(token) = OneTimeToken::parse(&text) {
                prop_assert_eq!(token.encode(), text);
            }
        }

        #[test]
        fn parsing_token_shaped_text_accepts_only_what_round_trips(
            user in "[0-9a-f]{32}",
            secret in "[A-Za-z0-9_-]{43}",
        ) {
            let text = format!("{user}.{secret}");
            if let Some(token) = OneTimeToken::parse(&text) {
                prop_assert_eq!(token.encode(), text);
            }
        }
    }
}
