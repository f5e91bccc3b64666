//! The JWT authentication service's shared library: configuration, domain types, tokens,
//! passwords, the DynamoDB store, and the Lambda handlers themselves. Each function's binary
//! is a thin `main` over [`lambda::serve`].

pub mod authorizer;
pub mod clock;
pub mod config;
pub mod domain;
pub mod duration;
pub mod error;
#[cfg(feature = "service")]
pub mod handlers;
pub mod header_values;
#[cfg(feature = "service")]
pub mod http;
#[cfg(feature = "service")]
pub mod lambda;
#[cfg(feature = "service")]
pub mod password;
pub mod random;
#[cfg(feature = "service")]
pub mod store;
pub mod telemetry;
pub mod token;

#[cfg(feature = "service")]
pub use handlers::App;
