//! The SDK-free core of the JWT authentication service: configuration, domain types, tokens,
//! credential parsing, the authorizer's decision, and the init path every function uses. No
//! AWS SDK, no argon2, no `lambda_http`: the authorizer links this crate alone.

// Tests slice strings they built themselves; product code may not (Cargo.toml lints).
#![cfg_attr(test, allow(clippy::string_slice))]

pub mod assurance;
pub mod authorizer;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod domain;
pub mod duration;
pub mod function;
pub mod issuer;
pub mod random;
pub mod secrets;
pub mod telemetry;
pub mod token;
