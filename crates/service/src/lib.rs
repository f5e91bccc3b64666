//! The JWT authentication service's functions: the DynamoDB store, password hashing, the
//! sessions service (refresh-token rotation, grace and reuse), HTTP handling, and the handlers
//! themselves. Each function's binary is a thin `main` over [`serve`].

// Tests slice strings they built themselves; product code may not (Cargo.toml lints).
#![cfg_attr(test, allow(clippy::string_slice))]

pub mod address;
pub mod audit;
pub mod aws;
pub mod config;
pub mod error;
pub mod federation;
pub mod handlers;
pub mod http;
pub mod ip_limit;
pub mod mail_budget;
pub mod mfa;
pub mod operator;
pub mod password;
pub mod secrets;
mod serve;
pub mod sessions;
pub mod store;
pub mod throttle;

pub use serve::serve;
