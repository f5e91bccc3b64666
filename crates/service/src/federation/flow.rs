//! One sign-in's secrets and where it returns to.
//!
//! `start` draws two random values: the `state` sent to the provider, and a binding secret
//! that only this browser gets (a cookie of its own). The table keeps the state's digest, the
//! binding's digest and the return path, nothing more: the PKCE verifier and the OIDC nonce are
//! derived from the binding and the state, so a reader of the table cannot finish a sign-in,
//! and a callback with someone else's `state` (login CSRF) fails without this browser's cookie.

use aws_lc_rs::{digest, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The browser-binding cookie. `SameSite=Lax` so it rides the provider's top-level redirect
/// back; its path ([`binding_cookie_path`]) keeps it to the OAuth routes.
pub const BINDING_COOKIE: &str = "oauthBinding";

/// The OAuth routes' path under the API's public base URL (`https://host/v1` →
/// `/v1/auth/oauth`), so the cookie reaches the callback wherever the API is mounted.
pub fn binding_cookie_path(callback_base: &str) -> String {
    let mount = url::Url::parse(callback_base)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("{mount}/auth/oauth")
}

/// The two secrets of one sign-in.
pub struct FlowSecrets {
    state: [u8; 32],
    binding: [u8; 32],
}

impl FlowSecrets {
    pub fn generate() -> Self {
        Self {
            state: auth_core::random::bytes(),
            binding: auth_core::random::bytes(),
        }
    }

    /// The callback's `state` and the binding cookie, as the browser brings them back; `None`
    /// for anything that is not what `start` handed out.
    pub fn from_presented(state: &str, binding: &str) -> Option<Self> {
        Some(Self {
            state: decode_32(state)?,
            binding: decode_32(binding)?,
        })
    }

    /// The table key of a presented `state`, without the binding (a callback spends the
    /// sign-in even when the cookie is missing or wrong).
    pub fn state_digest_of(state: &str) -> Option<String> {
        decode_32(state).map(|bytes| sha256_hex(&bytes))
    }

    pub fn state(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.state)
    }

    pub fn binding(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.binding)
    }

    /// What the table keys the sign-in by.
    pub fn state_digest(&self) -> String {
        sha256_hex(&self.state)
    }

    /// What the table keeps of the binding, to compare at the callback.
    pub fn binding_digest(&self) -> String {
        sha256_hex(&self.binding)
    }

    /// The PKCE verifier (RFC 7636: 43 characters of the unreserved set).
    pub fn code_verifier(&self) -> String {
        self.derive(b"pkce-verifier")
    }

    /// `S256` of the verifier, sent with the authorization request.
    pub fn code_challenge(&self) -> String {
        let verifier = self.code_verifier();
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
    }

    /// The OIDC nonce the ID token must carry.
    pub fn nonce(&self) -> String {
        self.derive(b"oidc-nonce")
    }

    fn derive(&self, purpose: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.binding);
        let mut context = hmac::Context::with_key(&key);
        context.update(purpose);
        context.update(&self.state);
        URL_SAFE_NO_PAD.encode(context.sign().as_ref())
    }
}

fn decode_32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 43 {
        return None;
    }
    let mut out = [0u8; 32];
    let written = URL_SAFE_NO_PAD.decode_slice(text, &mut out).ok()?;
    (written == 32).then_some(out)
}

fn sha256_hex(bytes: &[u8]) -> String {
    auth_core::random::hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

/// `Set-Cookie` for the binding, alive as long as the sign-in may take.
pub fn binding_cookie(binding: &str, max_age_seconds: i64, path: &str) -> String {
    format!(
        "{BINDING_COOKIE}={binding}; HttpOnly; Secure; SameSite=Lax; Path={path}; Max-Age={}",
        max_age_seconds.max(0)
    )
}

/// `Set-Cookie` that removes the binding once its sign-in is spent.
pub fn cleared_binding_cookie(path: &str) -> String {
    format!("{BINDING_COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path={path}; Max-Age=0")
}

/// A path under `APP_URL` to send the browser back to: absolute (`/...`), not
/// scheme-relative (`//host`), no backslash (browsers read `/\host` as `//host`), no control
/// characters or spaces, at most 512 bytes; query allowed, fragment not (the callback puts its
/// answer there). Anything else is refused, never "fixed": no open redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPath(String);

impl ReturnPath {
    pub fn parse(raw: &str) -> Option<Self> {
        let mut bytes = raw.bytes();
        let fits = raw.len() <= 512
            && bytes.next() == Some(b'/')
            && !raw.starts_with("//")
            && raw
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'#');
        fits.then(|| Self(raw.to_owned()))
    }

    /// The app's home page, where a start without `redirect` returns.
    pub fn home() -> Self {
        Self("/".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The absolute URL under `app_url` (which has no trailing slash), with `fragment`.
    pub fn url(&self, app_url: &str, fragment: &str) -> String {
        format!("{}{}#{fragment}", app_url.trim_end_matches('/'), self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_verifier_and_nonce_need_both_secrets() {
        let flow = FlowSecrets::generate();
        let back = FlowSecrets::from_presented(&flow.state(), &flow.binding()).expect("round trip");
        assert_eq!(back.code_verifier(), flow.code_verifier());
        assert_eq!(back.nonce(), flow.nonce());
        assert_eq!(flow.code_verifier().len(), 43);
        assert_ne!(flow.code_verifier(), flow.nonce());
        let other_browser = FlowSecrets::generate();
        let forged =
            FlowSecrets::from_presented(&flow.state(), &other_browser.binding()).expect("decodes");
        assert_ne!(forged.code_verifier(), flow.code_verifier());
        assert_ne!(forged.binding_digest(), flow.binding_digest());
        assert_eq!(forged.state_digest(), flow.state_digest());
    }

    #[test]
    fn the_challenge_is_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge =
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let flow = FlowSecrets::generate();
        let expected = URL_SAFE_NO_PAD.encode(digest::digest(
            &digest::SHA256,
            flow.code_verifier().as_bytes(),
        ));
        assert_eq!(flow.code_challenge(), expected);
    }

    #[test]
    fn return_paths_that_could_leave_the_app_are_refused() {
        for good in ["/", "/account", "/a/b?tab=security&x=1"] {
            assert!(ReturnPath::parse(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "account",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a b",
            "/a\tb",
            "/a#frag",
            "/\u{e9}",
            "/a\r\nLocation: x",
        ] {
            assert!(ReturnPath::parse(bad).is_none(), "{bad:?}");
        }
        assert_eq!(
            ReturnPath::home().url("https://app.example/", "error=x"),
            "https://app.example/#error=x"
        );
        assert_eq!(binding_cookie_path("https://api.example"), "/auth/oauth");
        assert_eq!(
            binding_cookie_path("https://api.example/v1"),
            "/v1/auth/oauth"
        );
    }

    proptest! {
        #[test]
        fn an_accepted_return_path_stays_on_the_app(raw in ".{0,80}") {
            if let Some(path) = ReturnPath::parse(&raw) {
                let url = path.url("https://app.example", "ok");
                let parsed = url::Url::parse(&url).expect("a URL");
                prop_assert_eq!(parsed.host_str(), Some("app.example"));
                prop_assert_eq!(parsed.scheme(), "https");
            }
        }

        #[test]
        fn presented_secrets_of_any_shape_are_answered(state in ".{0,60}", binding in ".{0,60}") {
            let _ = FlowSecrets::from_presented(&state, &binding);
        }
    }
}
