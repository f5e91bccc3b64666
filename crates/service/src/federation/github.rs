//! GitHub: OAuth 2.0 without an ID token. The identity is the numeric user id from `/user`
//! (a login name can be renamed and reused; the id cannot), under the issuer
//! `https://github.com`; the email is the primary one from `/user/emails`, and only if GitHub
//! verified it.

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::client::ProviderClient;
use super::identity::{ProviderIdentity, Refusal, error_code_text};
use super::provider::{Endpoint, GitHubEndpoints, Provider};

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct User {
    id: u64,
    name: Option<String>,
}

#[derive(Deserialize)]
pub struct GitHubEmail {
    pub email: String,
    #[serde(default)]
    pub primary: bool,
    #[serde(default)]
    pub verified: bool,
}

/// Exchanges the code and reads who signed in.
pub async fn sign_in(
    client: &ProviderClient,
    provider: &Provider,
    endpoints: &GitHubEndpoints,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
) -> Result<ProviderIdentity, Refusal> {
    let unavailable =
        |error: super::client::CallError| Refusal::ProviderUnavailable(error.to_string());
    let answer = client
        .post_form(
            &endpoints.token,
            &[
                ("client_id", provider.client_id.as_str()),
                // GitHub documents its secret in the form (client_secret_post).
                ("client_secret", provider.client_secret.expose_secret()),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", code_verifier),
            ],
            None,
        )
        .await
        .map_err(unavailable)?;
    // GitHub reports a bad code with status 200 and an `error` field.
    let tokens: TokenAnswer = serde_json::from_slice(&answer.body)
        .map_err(|_| Refusal::ProviderError("the token endpoint's answer is not JSON".into()))?;
    if let Some(error) = tokens.error {
        return Err(Refusal::ProviderError(error_code_text(&error)));
    }
    let token = tokens
        .access_token
        .filter(|_| (200..300).contains(&answer.status))
        .map(SecretString::from)
        .ok_or_else(|| Refusal::ProviderError("no access token".into()))?;
    let api = |path: &str| {
        Endpoint::parse(&format!(
            "{}{path}",
            endpoints.api.as_str().trim_end_matches('/')
        ))
        .map_err(Refusal::ProviderUnavailable)
    };
    let user: User = client
        .get(&api("/user")?, Some(&token))
        .await
        .and_then(|answer| answer.json())
        .map_err(unavailable)?;
    let emails: Vec<GitHubEmail> = client
        .get(&api("/user/emails")?, Some(&token))
        .await
        .and_then(|answer| answer.json())
        .map_err(unavailable)?;
    let (email, verified) = chosen_email(&emails);
    ProviderIdentity::new(provider, user.id.to_string(), email, verified, user.name)
}

/// The primary address and whether it is verified. A verified secondary address is not taken
/// in its place: the account's address is the one the user chose as primary.
pub fn chosen_email(emails: &[GitHubEmail]) -> (Option<String>, bool) {
    emails
        .iter()
        .find(|email| email.primary)
        .map_or((None, false), |email| {
            (Some(email.email.clone()), email.verified)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(address: &str, primary: bool, verified: bool) -> GitHubEmail {
        GitHubEmail {
            email: address.to_owned(),
            primary,
            verified,
        }
    }

    #[test]
    fn only_the_primary_address_counts_and_only_when_verified() {
        let emails = [
            email("old@example.com", false, true),
            email("main@example.com", true, false),
        ];
        assert_eq!(
            chosen_email(&emails),
            (Some("main@example.com".into()), false)
        );
        let emails = [email("main@example.com", true, true)];
        assert_eq!(
            chosen_email(&emails),
            (Some("main@example.com".into()), true)
        );
        assert_eq!(
            chosen_email(&[email("x@example.com", false, true)]),
            (None, false)
        );
    }
}
