//! Tokens: signed JWT access tokens, opaque rotating refresh tokens, and one-time link tokens.

mod access;
mod claims;
mod keys;
mod one_time;
mod refresh;

pub use access::{
    AccessTokenConfig, AccessTokens, IssuedAccessToken, MAX_ACCESS_TOKEN_TTL, MAX_LEEWAY,
    MAX_TOKEN_BYTES, TokenError,
};
pub use claims::{AccessClaims, Audience, ClaimsPolicy, Rejection, TOKEN_TYPE, role_scope};
pub use keys::{
    CurrentKey, KeyAlgorithm, KeyError, KeyMaterial, KeyRole, KeySet, PreviousKey, PublicKeyPem,
};
pub use one_time::{ONE_TIME_TOKEN_LEN, OneTimeToken};
pub use refresh::{MAX_REUSE_WALK, RefreshKeys, RefreshToken, StoredDigests};
