//! The caller of a route behind an authorizer: ours (its typed context) or API Gateway's
//! built-in JWT authorizer (the token's claims, every one of them as a string).

use std::collections::HashMap;

use auth_core::assurance::{Aal, AuthMethod};
use auth_core::authorizer::AuthorizerContext;
use auth_core::domain::{SessionId, UserId};
use lambda_http::{Request, RequestExt};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// What either authorizer vouches for, typed the same way whichever ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    pub context: AuthorizerContext,
    /// How the session was authenticated; only the built-in authorizer hands it on (ours keeps
    /// its context flat and small).
    pub amr: Vec<AuthMethod>,
    /// The token's scopes (`role:<role>`), as the built-in authorizer saw them.
    pub scopes: Vec<String>,
}

/// The authorizer's verdict on this request. A request without one did not pass through an
/// authorizer: refuse it rather than trust anything.
pub fn authorized(request: &Request) -> Option<Authorized> {
    let authorizer = request.request_context_ref()?.authorizer()?;
    if let Some(jwt) = &authorizer.jwt {
        return from_jwt_claims(&jwt.claims);
    }
    let object: Map<String, Value> = authorizer
        .fields
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let context = serde_json::from_value(Value::Object(object)).ok()?;
    Some(Authorized {
        context,
        amr: Vec::new(),
        scopes: Vec::new(),
    })
}

/// The built-in JWT authorizer's claims, parsed back from strings: numbers and booleans as
/// text, arrays as `"[a b]"`. Absent optional claims take the token's own defaults; a claim
/// present but unreadable refuses the request.
pub fn from_jwt_claims(claims: &HashMap<String, String>) -> Option<Authorized> {
    let email_verified = match claims.get("email_verified").map(String::as_str) {
        None => false,
        Some("true") => true,
        Some("false") => false,
        Some(_) => return None,
    };
    let aal = match claims.get("aal").map(String::as_str) {
        None => Aal::Aal1,
        Some(text) => serde_json::from_value(Value::String(text.to_owned())).ok()?,
    };
    let amr = match claims.get("amr") {
        None => Vec::new(),
        Some(text) => bracketed_list(text)?
            .map(|method| serde_json::from_value(Value::String(method.to_owned())).ok())
            .collect::<Option<Vec<AuthMethod>>>()?,
    };
    let scopes = claims
        .get("scope")
        .map(|scope| scope.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Some(Authorized {
        context: AuthorizerContext {
            user_id: claims.get("sub")?.clone(),
            role: claims.get("role")?.clone(),
            session_id: claims.get("sid")?.clone(),
            expires_at: claims.get("exp")?.parse().ok()?,
            email_verified,
            aal,
        },
        amr,
        scopes,
    })
}

/// `"[pwd otp]"`, how API Gateway hands a JSON array claim on; `"pwd"` for a one-element array.
fn bracketed_list(text: &str) -> Option<std::str::SplitWhitespace<'_>> {
    let inner = match text.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']')?,
        None => text,
    };
    Some(inner.split_whitespace())
}

/// Who is calling: the user and the session of their access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub session: SessionId,
}

/// The caller, or 401 `MISSING_TOKEN` when the request carries no valid authorizer verdict.
pub fn caller(request: &Request) -> Result<Caller, ApiError> {
    let context = authorized(request)
        .ok_or(ApiError::MissingAccessToken)?
        .context;
    match (
        UserId::parse(&context.user_id),
        SessionId::parse(&context.session_id),
    ) {
        (Some(user), Some(session)) => Ok(Caller { user, session }),
        _ => Err(ApiError::MissingAccessToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const BASE: [(&str, &str); 4] = [
        ("sub", "u1"),
        ("role", "admin"),
        ("sid", "s1"),
        ("exp", "1800000900"),
    ];

    #[test]
    fn the_built_in_authorizers_strings_read_back_as_our_types() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("email_verified", "true"),
            ("aal", "aal2"),
            ("amr", "[pwd otp]"),
            ("scope", "role:admin"),
            ("iat", "1800000000"),
        ]);
        let caller = from_jwt_claims(&claims(&pairs)).expect("caller");
        assert_eq!(
            caller.context,
            AuthorizerContext {
                user_id: "u1".into(),
                role: "admin".into(),
                session_id: "s1".into(),
                expires_at: 1_800_000_900,
                email_verified: true,
                aal: Aal::Aal2,
            }
        );
        assert_eq!(caller.amr, [AuthMethod::Pwd, AuthMethod::Otp]);
        assert_eq!(caller.scopes, ["role:admin"]);
        let one = from_jwt_claims(&claims(&[BASE.as_slice(), &[("amr", "pwd")]].concat()))
            .expect("one method");
        assert_eq!(one.amr, [AuthMethod::Pwd]);
    }

    #[test]
    fn absent_optional_claims_default_and_unreadable_ones_refuse() {
        let caller = from_jwt_claims(&claims(&BASE)).expect("caller");
        assert!(!caller.context.email_verified);
        assert_eq!(caller.context.aal, Aal::Aal1);
        assert!(caller.amr.is_empty() && caller.scopes.is_empty());
        for (name, bad) in [
            ("exp", "soon"),
            ("email_verified", "yes"),
            ("aal", "aal9"),
            ("amr", "[pwd sms]"),
            ("amr", "[pwd"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.retain(|(key, _)| *key != name);
            pairs.push((name, bad));
            assert_eq!(from_jwt_claims(&claims(&pairs)), None, "{name}={bad}");
        }
        for missing in ["sub", "role", "sid", "exp"] {
            let mut pairs = BASE.to_vec();
            pairs.retain(|(key, _)| *key != missing);
            assert_eq!(from_jwt_claims(&claims(&pairs)), None, "without {missing}");
        }
    }

    proptest! {
        #[test]
        fn any_claim_strings_are_read_without_panicking(
            pairs in proptest::collection::hash_map(
                "(sub|role|sid|exp|email_verified|aal|amr|scope)",
                "\\PC{0,24}",
                0..8,
            ),
        ) {
            let _ = from_jwt_claims(&pairs);
        }
    }
}
