//! The issuer as a URL: what tokens carry as `iss`, and where verifiers that start from the
//! issuer alone (API Gateway's JWT authorizer, OIDC libraries) find the discovery document and
//! the keys.

/// An issuer URL that verifiers can resolve: `https://host[:port][/path]`, or plain `http` for
/// a loopback host (local runs). No query, fragment, credentials or trailing slash, so
/// `{issuer}/.well-known/...` is one unambiguous URL and `iss` compares byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerUrl(String);

const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

impl IssuerUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or("expected an absolute URL such as https://auth.example.com")?;
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters".into());
        }
        if raw.contains(['?', '#']) {
            return Err("must not have a query or a fragment".into());
        }
        if raw.ends_with('/') {
            return Err("must not end with '/' (tokens compare `iss` byte for byte)".into());
        }
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err("names no host".into());
        }
        if authority.contains('@') {
            return Err("must not carry credentials".into());
        }
        let host = match authority.rsplit_once(':') {
            // A port after the host (IPv6 literals end with ']').
            Some((host, port)) if !port.contains(']') => {
                if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("has a port that is not a number".into());
                }
                host
            }
            _ => authority,
        };
        if host.is_empty() {
            return Err("names no host".into());
        }
        match scheme {
            "https" => Ok(Self(raw.to_owned())),
            "http" if LOOPBACK_HOSTS.contains(&host.to_ascii_lowercase().as_str()) => {
                Ok(Self(raw.to_owned()))
            }
            "http" => Err("must be https (plain http is accepted for a loopback host only)".into()),
            _ => Err("must be an https URL".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.0)
    }

    /// `{issuer}/.well-known/jwks.json`, where the jwks function serves the keys.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn https_urls_and_local_http_are_issuers() {
        for ok in [
            "https://auth.example.com",
            "https://auth.example.com:8443/staging",
            "http://127.0.0.1:3000",
            "http://localhost:9000/base",
            "http://[::1]:8080",
        ] {
            assert!(IssuerUrl::parse(ok).is_ok(), "{ok}");
        }
        let issuer = IssuerUrl::parse("https://auth.example.com/staging").expect("issuer");
        assert_eq!(
            issuer.jwks_url(),
            "https://auth.example.com/staging/.well-known/jwks.json"
        );
        assert_eq!(
            issuer.discovery_url(),
            "https://auth.example.com/staging/.well-known/openid-configuration"
        );
    }

    #[test]
    fn anything_a_verifier_could_not_resolve_exactly_is_refused_with_a_reason() {
        for (bad, reason) in [
            ("jwt-auth", "absolute URL"),
            ("http://auth.example.com", "https"),
            ("ftp://auth.example.com", "https"),
            ("https://auth.example.com/", "end with '/'"),
            ("https://auth.example.com?x=1", "query"),
            ("https://auth.example.com#top", "fragment"),
            ("https://user:pw@auth.example.com", "credentials"),
            ("https://", "end with"),
            ("https://:443", "no host"),
            ("https://auth.example.com:x", "port"),
            ("https://auth example.com", "spaces"),
            ("http://127.0.0.1.evil.example", "https"),
        ] {
            let error = IssuerUrl::parse(bad).expect_err(bad);
            assert!(error.contains(reason), "{bad}: {error}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_keeps_the_text_byte_for_byte(raw in "\\PC{0,40}") {
            if let Ok(issuer) = IssuerUrl::parse(&raw) {
                prop_assert_eq!(issuer.as_str(), raw.as_str());
                prop_assert!(issuer.as_str().starts_with("http"));
            }
        }

        #[test]
        fn any_https_host_and_path_is_accepted(
            host in "[a-z0-9]{1,12}(\\.[a-z0-9]{1,8}){0,3}",
            path in "(/[a-zA-Z0-9_-]{1,8}){0,3}",
        ) {
            let raw = format!("https://{host}{path}");
            prop_assert!(IssuerUrl::parse(&raw).is_ok(), "{}", raw);
        }
    }
}
