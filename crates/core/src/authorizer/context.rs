//! The context the authorizer hands to protected functions: flat (strings and numbers only, as
//! API Gateway requires), typed so nothing nested can slip in.

use serde::{Deserialize, Serialize};

use crate::assurance::Aal;
use crate::token::AccessClaims;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerContext {
    pub user_id: String,
    pub role: String,
    pub session_id: String,
    /// The access token's `exp`, epoch seconds. REST APIs hand context values to the function
    /// as strings, HTTP APIs as they were: both are read.
    #[serde(deserialize_with = "number_or_string")]
    pub expires_at: i64,
    /// The access token's `email_verified`. Absent (a context cached before the field existed)
    /// reads as unverified.
    #[serde(default, deserialize_with = "bool_or_string")]
    pub email_verified: bool,
    /// The access token's `aal`. Absent (a context cached before the field existed) reads as
    /// `aal1`.
    #[serde(default)]
    pub aal: Aal,
}

fn bool_or_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Flag(bool),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Flag(flag) => Ok(flag),
        Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
    }
}

fn number_or_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Number(number) => Ok(number),
        Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
    }
}

/// The context field of a response: present for authenticated callers, `{}` otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Context {
    Present(AuthorizerContext),
    #[default]
    #[serde(with = "empty_object")]
    Empty,
}

impl From<&AccessClaims> for Context {
    fn from(claims: &AccessClaims) -> Self {
        Self::Present(AuthorizerContext {
            user_id: claims.sub.clone(),
            role: claims.role.clone(),
            session_id: claims.sid.clone(),
            expires_at: claims.exp,
            email_verified: claims.email_verified,
            aal: claims.aal,
        })
    }
}

mod empty_object {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Empty {}

    pub fn serialize<S: Serializer>(serializer: S) -> Result<S::Ok, S::Error> {
        Empty {}.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
        Empty::deserialize(deserializer).map(|_| ())
    }
}
