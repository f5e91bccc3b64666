//! The second factor's pure parts: TOTP codes, recovery codes, what an authenticator app is
//! given, and the key material that keeps secrets and codes unreadable at rest.

pub mod base32;
pub mod enrolment;
pub mod keys;
pub mod policy;
pub mod recovery;
pub mod totp;
