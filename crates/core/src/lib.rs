//! The JWT authentication service's shared library: configuration, domain types, tokens,
//! passwords, the DynamoDB store, and the Lambda handlers themselves. Each function's binary
//! is a thin `main` over [`lambda::serve`].

pub mod clock;
pub mod config;
pub mod domain;
pub mod duration;
pub mod error;
pub mod handlers;
pub mod http;
pub mod lambda;
pub mod password;
pub mod random;
pub mod store;
pub mod telemetry;
pub mod token;

pub use handlers::App;
