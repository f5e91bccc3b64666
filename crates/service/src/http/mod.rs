//! The HTTP edge: reading requests defensively and writing JSON responses and cookies.

pub mod caller;
pub mod client;
pub mod cookie;
pub mod csrf;
pub mod request;
pub mod response;
