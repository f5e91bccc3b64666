//! Access-token claims and the pure check of their time window, issuer and audience.

use serde::{Deserialize, Serialize};

use crate::assurance::{Aal, AuthMethod};

/// The JOSE `typ` of our access tokens (RFC 9068), so no other kind of JWT passes as one.
pub const TOKEN_TYPE: &str = "at+jwt";

/// `aud` may be one string or a list (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, expected: &str) -> bool {
        match self {
            Self::One(audience) => audience == expected,
            Self::Many(audiences) => audiences.iter().any(|audience| audience == expected),
        }
    }
}

/// The claims of an access token. Every field but `jti` is required: a token missing `exp`,
/// `nbf`, `iss`, `aud` or `sub` does not deserialize and is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub role: String,
    pub sid: String,
    pub iss: String,
    pub aud: Audience,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Whether the user has proved they receive mail at their address. Tokens issued before
    /// the claim existed read as unverified.
    #[serde(default)]
    pub email_verified: bool,
    /// How the session was authenticated (RFC 8176); kept across refreshes.
    #[serde(default)]
    pub amr: Vec<AuthMethod>,
    /// The session's assurance level; a token without it counts as `aal1`.
    #[serde(default)]
    pub aal: Aal,
    /// The role as an OAuth scope (`role:<role>`), issued only when API Gateway's built-in JWT
    /// authorizer enforces roles through each route's `AuthorizationScopes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The scope a role is carried as, for the built-in JWT authorizer's `AuthorizationScopes`.
pub fn role_scope(role: &str) -> String {
    format!("role:{role}")
}

/// Why a token was refused. `reason_code` goes to logs; clients only ever learn "invalid token".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("no token was presented")]
    Missing,
    #[error("the token is longer than allowed")]
    TooLong,
    #[error("the token is not a well-formed JWS compact serialization")]
    Malformed,
    #[error("the token header carries keys or critical extensions, which are never trusted")]
    ForbiddenHeader,
    #[error("the token is not an access token")]
    WrongType,
    #[error("the token names an unknown key")]
    UnknownKey,
    #[error("the token's algorithm does not match its key")]
    AlgorithmMismatch,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token's claims are missing or malformed")]
    InvalidClaims,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
}

impl Rejection {
    pub fn reason_code(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::TooLong => "too_long",
            Self::Malformed => "malformed",
            Self::ForbiddenHeader => "forbidden_header",
            Self::WrongType => "wrong_type",
            Self::UnknownKey => "unknown_key",
            Self::AlgorithmMismatch => "algorithm_mismatch",
            Self::BadSignature => "bad_signature",
            Self::InvalidClaims => "invalid_claims",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
        }
    }
}

/// What a valid token's claims must satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsPolicy {
    pub issuer: String,
    pub audience: String,
    /// Allowed clock skew in seconds, at most 30.
    pub leeway_seconds: i64,
}

impl ClaimsPolicy {
    /// The pure part of verification, run after the signature checks out.
    pub fn check(&self, claims: &AccessClaims, now: i64) -> Result<(), Rejection> {
        if claims.sub.is_empty() || claims.sid.is_empty() || claims.role.is_empty() {
            return Err(Rejection::InvalidClaims);
        }
        if now >= claims.exp.saturating_add(self.leeway_seconds) {
            return Err(Rejection::Expired);
        }
        if now < claims.nbf.saturating_sub(self.leeway_seconds) {
            return Err(Rejection::NotYetValid);
        }
        if claims.iss != self.issuer {
            return Err(Rejection::WrongIssuer);
        }
        if !claims.aud.contains(&self.audience) {
            return Err(Rejection::WrongAudience);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn policy() -> ClaimsPolicy {
        ClaimsPolicy {
            issuer: "https://auth.example".into(),
            audience: "api".into(),
            leeway_seconds: 5,
        }
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            sub: "u1".into(),
            role: "user".into(),
            sid: "s1".into(),
            iss: "https://auth.example".into(),
            aud: Audience::One("api".into()),
            iat: NOW - 10,
            nbf: NOW - 10,
            exp: NOW + 900,
            jti: None,
            email_verified: false,
            amr: vec![AuthMethod::Pwd],
            aal: Aal::Aal1,
            scope: None,
        }
    }

    #[test]
    fn each_failed_claim_has_its_own_rejection() {
        type Mutation = Box<dyn Fn(&mut AccessClaims)>;
        let cases: Vec<(&str, Mutation, Result<(), Rejection>)> = vec![
            ("valid", Box::new(|_| {}), Ok(())),
            (
                "expired beyond leeway",
                Box::new(|c| c.exp = NOW - 5),
                Err(Rejection::Expired),
            ),
            (
                "expired within leeway",
                Box::new(|c| c.exp = NOW - 4),
                Ok(()),
            ),
            (
                "not yet valid beyond leeway",
                Box::new(|c| c.nbf = NOW + 6),
                Err(Rejection::NotYetValid),
            ),
            (
                "not yet valid within leeway",
                Box::new(|c| c.nbf = NOW + 5),
                Ok(()),
            ),
            (
                "wrong issuer",
                Box::new(|c| c.iss = "https://evil.example".into()),
                Err(Rejection::WrongIssuer),
            ),
            (
                "wrong audience",
                Box::new(|c| c.aud = Audience::One("other".into())),
                Err(Rejection::WrongAudience),
            ),
            (
                "audience list with ours",
                Box::new(|c| c.aud = Audience::Many(vec!["x".into(), "api".into()])),
                Ok(()),
            ),
            (
                "audience list without ours",
                Box::new(|c| c.aud = Audience::Many(vec!["x".into()])),
                Err(Rejection::WrongAudience),
            ),
            (
                "empty subject",
                Box::new(|c| c.sub.clear()),
                Err(Rejection::InvalidClaims),
            ),
            (
                "extreme exp does not overflow",
                Box::new(|c| c.exp = i64::MAX),
                Ok(()),
            ),
            (
                "extreme nbf does not overflow",
                Box::new(|c| c.nbf = i64::MIN),
                Ok(()),
            ),
        ];
        for (name, mutate, expected) in cases {
            let mut token_claims = claims();
            mutate(&mut token_claims);
            assert_eq!(policy().check(&token_claims, NOW), expected, "{name}");
        }
    }

    #[test]
    fn numbers_given_as_strings_do_not_deserialize() {
        let json = r#"{"sub":"u","role":"user","sid":"s","iss":"i","aud":"a","iat":1,"nbf":"1","exp":"9999999999"}"#;
        assert!(serde_json::from_str::<AccessClaims>(json).is_err());
    }

    #[test]
    fn duplicate_claims_do_not_deserialize() {
        let json = r#"{"sub":"u","role":"user","sid":"s","iss":"i","aud":"a","iat":1,"nbf":1,"exp":2,"exp":9999999999}"#;
        assert!(serde_json::from_str::<AccessClaims>(json).is_err());
    }
}
