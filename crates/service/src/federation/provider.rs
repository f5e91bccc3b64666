//! The configured identity providers (`OAUTH_PROVIDERS`): each an id the routes name, a kind
//! (any OpenID Connect issuer, or GitHub's plain OAuth 2.0), a client id and scopes. The
//! client secrets come apart (`OAUTH_CLIENT_SECRETS`, from Secrets Manager when deployed).

use std::collections::BTreeMap;

use jsonwebtoken::Algorithm;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

/// A provider's id as routes name it (`/auth/oauth/{id}/start`): 1-32 of `a-z0-9-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderId(String);

impl ProviderId {
    pub fn parse(raw: &str) -> Option<Self> {
        let fits = (1..=32).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        fits.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProviderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An URL this service calls or sends browsers to: `https`, or plain `http` on a loopback
/// host (the local provider), with no credentials in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(Url);

impl Endpoint {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|error| format!("not a URL ({error})"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry credentials".into());
        }
        if url.fragment().is_some() {
            return Err("must not have a fragment".into());
        }
        let loopback = matches!(
            url.host(),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback()
        ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
            || url.host_str() == Some("localhost");
        match url.scheme() {
            "https" if url.host().is_some() => Ok(Self(url)),
            "http" if loopback => Ok(Self(url)),
            "http" => Err("must be https (plain http only on a loopback host)".into()),
            _ => Err("must be an https URL".into()),
        }
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// GitHub's endpoints: its own by default; a test points them at a stand-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubEndpoints {
    pub authorize: Endpoint,
    pub token: Endpoint,
    pub api: Endpoint,
}

/// How a provider asserts who signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenID Connect: an ID token from `issuer`, whose discovery document and keys are
    /// fetched when first needed. `accepted_issuers` are the `iss` spellings taken as this
    /// issuer (Google signs with both `https://accounts.google.com` and `accounts.google.com`);
    /// `algorithms` are the only signature algorithms accepted from it.
    Oidc {
        issuer: Endpoint,
        accepted_issuers: Vec<String>,
        algorithms: Vec<Algorithm>,
    },
    /// GitHub: OAuth 2.0 without an ID token; identities are its numeric user ids under the
    /// issuer [`GITHUB_ISSUER`], emails from `/user/emails` (primary and verified only).
    GitHub(GitHubEndpoints),
}

/// The issuer GitHub identities are keyed under.
pub const GITHUB_ISSUER: &str = "https://github.com";

const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// One configured provider.
#[derive(Clone)]
pub struct Provider {
    pub id: ProviderId,
    /// What the sign-in button says ("Google").
    pub label: String,
    pub kind: ProviderKind,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// The issuer identities from this provider are keyed under.
    pub fn issuer(&self) -> &str {
        match &self.kind {
            ProviderKind::Oidc { issuer, .. } => issuer_text(issuer),
            ProviderKind::GitHub(_) => GITHUB_ISSUER,
        }
    }

    pub fn is_oidc(&self) -> bool {
        matches!(self.kind, ProviderKind::Oidc { .. })
    }
}

/// The issuer as configured, without the trailing slash `Url` adds to a bare host.
fn issuer_text(issuer: &Endpoint) -> &str {
    let text = issuer.as_str();
    if issuer.url().path() == "/" {
        text.strip_suffix('/').unwrap_or(text)
    } else {
        text
    }
}

/// `OAUTH_PROVIDERS` as written: a JSON array of these.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProviderEntry {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    label: Option<String>,
    client_id: String,
    issuer: Option<String>,
    scopes: Option<Vec<String>>,
    algorithms: Option<Vec<String>>,
    /// GitHub only: its endpoints, for a stand-in.
    authorize_url: Option<String>,
    token_url: Option<String>,
    api_url: Option<String>,
}

/// Most providers one deployment configures (each is a route and a secret).
const MAX_PROVIDERS: usize = 16;

/// Parses `OAUTH_PROVIDERS` with the client secrets (`OAUTH_CLIENT_SECRETS`, a JSON object
/// from provider id to secret). Every provider needs its secret; a secret for no provider is
/// refused too (a typo would otherwise leave a provider without one).
pub fn parse_providers(providers: &str, secrets: Option<&str>) -> Result<Vec<Provider>, String> {
    let entries: Vec<ProviderEntry> = serde_json::from_str(providers)
        .map_err(|error| format!("not a JSON array of providers ({error})"))?;
    if entries.len() > MAX_PROVIDERS {
        return Err(format!("at most {MAX_PROVIDERS} providers"));
    }
    let mut secrets: BTreeMap<String, String> = match secrets {
        Some(raw) => serde_json::from_str(raw).map_err(|_| {
            "OAUTH_CLIENT_SECRETS must be a JSON object from provider id to secret".to_owned()
        })?,
        None => BTreeMap::new(),
    };
    let mut parsed: Vec<Provider> = Vec::with_capacity(entries.len());
    for entry in entries {
        let provider = provider_from(entry, &mut secrets)?;
        if parsed.iter().any(|seen| seen.id == provider.id) {
            return Err(format!("provider {} is named twice", provider.id));
        }
        parsed.push(provider);
    }
    if let Some(unused) = secrets.keys().next() {
        return Err(format!(
            "OAUTH_CLIENT_SECRETS names {unused:?}, which is no configured provider"
        ));
    }
    Ok(parsed)
}

fn provider_from(
    entry: ProviderEntry,
    secrets: &mut BTreeMap<String, String>,
) -> Result<Provider, String> {
    let id = ProviderId::parse(&entry.id)
        .ok_or_else(|| format!("provider id {:?} must be 1-32 of a-z, 0-9, -", entry.id))?;
    let client_id = entry.client_id.trim().to_owned();
    if client_id.is_empty() || client_id.len() > 256 || client_id.chars().any(char::is_control) {
        return Err(format!(
            "provider {id}: clientId must be 1-256 printable characters"
        ));
    }
    let client_secret = secrets
        .remove(id.as_str())
        .filter(|secret| !secret.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| format!("provider {id}: no client secret in OAUTH_CLIENT_SECRETS"))?;
    let endpoint = |name: &str, raw: Option<String>, default: &str| {
        Endpoint::parse(raw.as_deref().unwrap_or(default))
            .map_err(|reason| format!("provider {id}: {name} {reason}"))
    };
    let (kind, default_scopes) = match entry.kind.as_str() {
        "oidc" => {
            if entry.authorize_url.is_some() || entry.token_url.is_some() || entry.api_url.is_some()
            {
                return Err(format!(
                    "provider {id}: an OIDC provider's endpoints come from its discovery document"
                ));
            }
            let raw_issuer = entry
                .issuer
                .ok_or_else(|| format!("provider {id}: an OIDC provider needs an issuer"))?;
            if raw_issuer.ends_with('/') {
                return Err(format!(
                    "provider {id}: issuer must not end with '/' (`iss` compares exactly)"
                ));
            }
            let issuer = endpoint("issuer", Some(raw_issuer), "")?;
            if issuer.url().query().is_some() {
                return Err(format!("provider {id}: issuer must not have a query"));
            }
            let mut accepted_issuers = vec![issuer_text(&issuer).to_owned()];
            if accepted_issuers.first().map(String::as_str) == Some(GOOGLE_ISSUER) {
                accepted_issuers.push("accounts.google.com".to_owned());
            }
            let algorithms = algorithms(&id, entry.algorithms)?;
            (
                ProviderKind::Oidc {
                    issuer,
                    accepted_issuers,
                    algorithms,
                },
                vec!["openid", "email", "profile"],
            )
        }
        "github" => {
            if entry.issuer.is_some() || entry.algorithms.is_some() {
                return Err(format!(
                    "provider {id}: GitHub has no issuer or ID token to configure"
                ));
            }
            (
                ProviderKind::GitHub(GitHubEndpoints {
                    authorize: endpoint(
                        "authorizeUrl",
                        entry.authorize_url,
                        "https://github.com/login/oauth/authorize",
                    )?,
                    token: endpoint(
                        "tokenUrl",
                        entry.token_url,
                        "https://github.com/login/oauth/access_token",
                    )?,
                    api: endpoint("apiUrl", entry.api_url, "https://api.github.com")?,
                }),
                vec!["read:user", "user:email"],
            )
        }
        other => {
            return Err(format!(
                "provider {id}: type {other:?} is not one of \"oidc\", \"github\""
            ));
        }
    };
    let scopes = entry
        .scopes
        .unwrap_or_else(|| default_scopes.into_iter().map(str::to_owned).collect());
    if scopes.is_empty()
        || scopes.iter().any(|scope| {
            scope.is_empty()
                || !scope
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        })
    {
        return Err(format!(
            "provider {id}: scopes must be non-empty scope tokens"
        ));
    }
    if matches!(kind, ProviderKind::Oidc { .. }) && !scopes.iter().any(|scope| scope == "openid") {
        return Err(format!(
            "provider {id}: an OIDC provider's scopes must include openid"
        ));
    }
    let label = entry.label.unwrap_or_else(|| id.as_str().to_owned());
    if label.trim().is_empty() || label.chars().count() > 40 || label.chars().any(char::is_control)
    {
        return Err(format!(
            "provider {id}: label must be 1-40 printable characters"
        ));
    }
    Ok(Provider {
        id,
        label,
        kind,
        client_id,
        client_secret,
        scopes,
    })
}

/// The algorithms a provider may sign ID tokens with: asymmetric only (an HMAC "signature"
/// keyed by the client secret, or `none`, is never taken). RS256 when unset, as OIDC's default.
fn algorithms(id: &ProviderId, configured: Option<Vec<String>>) -> Result<Vec<Algorithm>, String> {
    let names = configured.unwrap_or_else(|| vec!["RS256".to_owned()]);
    if names.is_empty() {
        return Err(format!("provider {id}: algorithms must name at least one"));
    }
    names
        .iter()
        .map(|name| match name.as_str() {
            "RS256" => Ok(Algorithm::RS256),
            "RS384" => Ok(Algorithm::RS384),
            "RS512" => Ok(Algorithm::RS512),
            "PS256" => Ok(Algorithm::PS256),
            "PS384" => Ok(Algorithm::PS384),
            "PS512" => Ok(Algorithm::PS512),
            "ES256" => Ok(Algorithm::ES256),
            "ES384" => Ok(Algorithm::ES384),
            "EdDSA" => Ok(Algorithm::EdDSA),
            other => Err(format!(
                "provider {id}: algorithm {other:?} is not an accepted asymmetric algorithm"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(providers: &str, secrets: &str) -> Result<Provider, String> {
        parse_providers(providers, Some(secrets)).map(|mut all| all.remove(0))
    }

    #[test]
    fn google_accepts_both_of_its_issuer_spellings() {
        let google = one(
            r#"[{"id":"google","type":"oidc","issuer":"https://accounts.google.com","clientId":"c"}]"#,
            r#"{"google":"s"}"#,
        )
        .expect("google");
        let ProviderKind::Oidc {
            accepted_issuers,
            algorithms,
            ..
        } = &google.kind
        else {
            panic!("oidc");
        };
        assert_eq!(
            accepted_issuers,
            &["https://accounts.google.com", "accounts.google.com"]
        );
        assert_eq!(algorithms, &[Algorithm::RS256]);
        assert_eq!(google.issuer(), "https://accounts.google.com");
        assert_eq!(google.scopes, ["openid", "email", "profile"]);
    }

    #[test]
    fn github_is_keyed_under_its_fixed_issuer() {
        let github = one(
            r#"[{"id":"github","type":"github","clientId":"c"}]"#,
            r#"{"github":"s"}"#,
        )
        .expect("github");
        assert_eq!(github.issuer(), GITHUB_ISSUER);
        assert!(!github.is_oidc());
    }

    #[test]
    fn what_would_weaken_a_provider_is_refused() {
        let cases = [
            // An HMAC algorithm would be keyed by the client secret; none is no signature.
            (
                r#"[{"id":"a","type":"oidc","issuer":"https://a.example","clientId":"c","algorithms":["HS256"]}]"#,
                r#"{"a":"s"}"#,
            ),
            (
                r#"[{"id":"a","type":"oidc","issuer":"https://a.example","clientId":"c","algorithms":["none"]}]"#,
                r#"{"a":"s"}"#,
            ),
            (
                r#"[{"id":"a","type":"oidc","issuer":"http://a.example","clientId":"c"}]"#,
                r#"{"a":"s"}"#,
            ),
            (
                r#"[{"id":"a","type":"oidc","issuer":"https://a.example/","clientId":"c"}]"#,
                r#"{"a":"s"}"#,
            ),
            (
                r#"[{"id":"a","type":"oidc","issuer":"https://a.example","clientId":"c"}]"#,
                r#"{}"#,
            ),
            (
                r#"[{"id":"a","type":"oidc","issuer":"https://a.example","clientId":"c"}]"#,
                r#"{"a":"s","b":"t"}"#,
            ),
            (
                r#"[{"id":"a","type":"oidc","issuer":"https://a.example","clientId":"c","scopes":["email"]}]"#,
                r#"{"a":"s"}"#,
            ),
            (
                r#"[{"id":"A","type":"oidc","issuer":"https://a.example","clientId":"c"}]"#,
                r#"{"A":"s"}"#,
            ),
            (
                r#"[{"id":"a","type":"saml","clientId":"c"}]"#,
                r#"{"a":"s"}"#,
            ),
            (
                r#"[{"id":"a","type":"github","clientId":"c","tokenUrl":"http://evil.example/t"}]"#,
                r#"{"a":"s"}"#,
            ),
            (
                r#"[{"id":"a","type":"oidc","issuer":"https://u:p@a.example","clientId":"c"}]"#,
                r#"{"a":"s"}"#,
            ),
            (
                r#"[{"id":"a","type":"github","clientId":"c"},{"id":"a","type":"github","clientId":"d"}]"#,
                r#"{"a":"s"}"#,
            ),
            (
                r#"[{"id":"a","type":"github","clientId":"c","extra":1}]"#,
                r#"{"a":"s"}"#,
            ),
        ];
        for (providers, secrets) in cases {
            assert!(
                parse_providers(providers, Some(secrets)).is_err(),
                "{providers} {secrets}"
            );
        }
    }

    #[test]
    fn a_loopback_provider_may_use_plain_http() {
        let local = one(
            r#"[{"id":"local","type":"oidc","issuer":"http://127.0.0.1:4000","clientId":"c","label":"the local provider"}]"#,
            r#"{"local":"s"}"#,
        )
        .expect("local");
        assert_eq!(local.issuer(), "http://127.0.0.1:4000");
        assert_eq!(local.label, "the local provider");
    }

    #[test]
    fn the_debug_form_shows_no_secret() {
        let github = one(
            r#"[{"id":"github","type":"github","clientId":"c"}]"#,
            r#"{"github":"very-secret"}"#,
        )
        .expect("github");
        assert!(!format!("{github:?}").contains("very-secret"));
    }

    proptest! {
        #[test]
        fn any_configuration_text_is_answered_without_panicking(
            providers in ".{0,200}",
            secrets in proptest::option::of(".{0,80}"),
        ) {
            let _ = parse_providers(&providers, secrets.as_deref());
        }

        #[test]
        fn any_endpoint_text_is_answered_without_panicking(raw in ".{0,120}") {
            if let Ok(endpoint) = Endpoint::parse(&raw) {
                prop_assert!(matches!(endpoint.url().scheme(), "https" | "http"));
            }
        }
    }
}
