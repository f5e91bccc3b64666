//! A local API Gateway (HTTP API, payload 2.0) driven by `template.yaml`, in front of the
//! functions `cargo lambda watch` serves: the routes with API Gateway's precedence, the Lambda
//! authorizer with its identity sources and cache, CORS, and real events. `scripts/dev` runs it.

// Indexing here is serde_json/serde_yaml `Value[key]`, which answers Null for an absent key and
// never panics; slices and vectors are read with `get`.
#![allow(clippy::indexing_slicing)]

pub mod authorizer;
pub mod cors;
pub mod environment;
pub mod event;
pub mod gateway;
pub mod invoke;
pub mod jwt_authorizer;
pub mod package;
pub mod packaged;
mod resolve;
pub mod routes;
pub mod server;
pub mod statics;
pub mod template;
pub mod watch;
