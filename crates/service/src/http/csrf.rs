//! Cross-site request defence for the endpoints the refresh cookie authenticates (refresh and
//! logout), after the OWASP CSRF cheat sheet's Fetch Metadata guidance. `SameSite=Strict`
//! already keeps the cookie off cross-site requests in current browsers; this also refuses what
//! an older browser, a sibling subdomain or a misconfigured cookie would let through:
//! - `Sec-Fetch-Site: cross-site` → refused; `same-origin` → allowed (the browser sets it and a
//!   page cannot);
//! - otherwise an `Origin` header must be one of `ALLOWED_ORIGINS` (`null` never is);
//! - a request with neither header (curl, a server) is allowed: it carries no ambient cookie a
//!   forger could ride on.
//!
//! Body-token clients are not checked: they hold no ambient credential.

use http::HeaderMap;

use crate::error::ApiError;

/// The origins allowed to send the refresh cookie cross-origin (exact `scheme://host[:port]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsrfPolicy {
    allowed_origins: Vec<String>,
}

impl CsrfPolicy {
    /// From a comma-separated list; `Err` names the entry that is not an origin.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut allowed_origins = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let origin = normalized(entry).ok_or_else(|| {
                format!("{entry:?} is not an origin (scheme://host[:port], no path)")
            })?;
            allowed_origins.push(origin);
        }
        Ok(Self { allowed_origins })
    }

    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let fetch_site = header("sec-fetch-site").map(str::to_ascii_lowercase);
        match fetch_site.as_deref() {
            Some("cross-site") => return Err(ApiError::CsrfRejected),
            Some("same-origin") => return Ok(()),
            _ => {}
        }
        match headers.get("origin") {
            None => Ok(()),
            Some(origin) => {
                let allowed = origin
                    .to_str()
                    .ok()
                    .and_then(normalized)
                    .is_some_and(|origin| self.allowed_origins.contains(&origin));
                if allowed {
                    Ok(())
                } else {
                    Err(ApiError::CsrfRejected)
                }
            }
        }
    }
}

/// `scheme://host[:port]` lower-cased, or `None` (paths, `null`, anything else).
fn normalized(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    let valid_scheme = matches!(scheme, "http" | "https");
    let valid_rest = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    (valid_scheme && valid_rest).then_some(origin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> CsrfPolicy {
        CsrfPolicy::parse("https://app.example.com, http://127.0.0.1:3000").expect("policy")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    fn allowed(pairs: &[(&'static str, &str)]) -> bool {
        policy().check(&headers(pairs)).is_ok()
    }

    #[test]
    fn cross_site_and_foreign_origins_are_refused() {
        assert!(!allowed(&[("sec-fetch-site", "cross-site")]));
        assert!(!allowed(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://app.example.com")
        ]));
        assert!(!allowed(&[("origin", "https://evil.example")]));
        assert!(!allowed(&[
            ("sec-fetch-site", "same-site"),
            ("origin", "https://evil.example.com")
        ]));
        assert!(!allowed(&[("origin", "null")]));
        assert!(!allowed(&[(
            "origin",
            "https://app.example.com.evil.example"
        )]));
    }

    #[test]
    fn same_origin_allowed_origins_and_clients_without_either_header_pass() {
        assert!(allowed(&[("sec-fetch-site", "same-origin")]));
        assert!(allowed(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://other.example")
        ]));
        assert!(allowed(&[
            ("sec-fetch-site", "same-site"),
            ("origin", "https://APP.example.com/")
        ]));
        assert!(allowed(&[("origin", "http://127.0.0.1:3000")]));
        assert!(allowed(&[("sec-fetch-site", "same-site")]));
        assert!(allowed(&[]));
    }

    #[test]
    fn a_list_entry_that_is_not_an_origin_is_a_configuration_error() {
        assert!(CsrfPolicy::parse("https://app.example.com/path").is_err());
        assert!(CsrfPolicy::parse("app.example.com").is_err());
        assert_eq!(CsrfPolicy::parse(""), Ok(CsrfPolicy::default()));
    }

    proptest! {
        #[test]
        fn any_header_values_get_an_answer_and_unlisted_origins_never_pass(
            site in "\\PC{0,20}",
            origin in "\\PC{0,40}",
        ) {
            let mut map = HeaderMap::new();
            if let Ok(value) = site.parse() { map.insert("sec-fetch-site", value); }
            if let Ok(value) = origin.parse() { map.insert("origin", value); }
            let outcome = policy().check(&map);
            let listed = normalized(&origin)
                .is_some_and(|o| o == "https://app.example.com" || o == "http://127.0.0.1:3000");
            if map.contains_key("origin") && !listed && !site.eq_ignore_ascii_case("same-origin") {
                prop_assert!(outcome.is_err());
            }
            if site.eq_ignore_ascii_case("cross-site") {
                prop_assert!(outcome.is_err());
            }
        }
    }
}
