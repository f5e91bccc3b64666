//! The authorizer without a table: every event shape under `events/`, cache-safe answers (a
//! function of the identity source alone), IAM policies, the attack suite, asymmetric keys and
//! rotation, and interop with Node's `jsonwebtoken`. Strict mode and the `me` function need
//! DynamoDB and stay in `tests/e2e`.

// Tests slice strings and byte strings they built themselves (workspace lints deny it in product
// code); clippy.toml's test allowances cover `#[test]` functions but not the shared helpers here.
#![allow(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod attacks;
mod cache_key;
mod events;
mod interop;
mod keys;
mod policies;
mod support;
