//! Tokens: signed JWT access tokens and opaque, rotating refresh tokens.

mod access;
mod claims;
mod keys;
mod refresh;

pub use access::{AccessTokenConfig, AccessTokens, IssuedAccessToken, MAX_TOKEN_BYTES, TokenError};
pub use claims::{AccessClaims, Audience, ClaimsPolicy, Rejection, TOKEN_TYPE};
pub use keys::{KeyAlgorithm, KeySet};
pub use refresh::{RefreshToken, RefreshTokens};
