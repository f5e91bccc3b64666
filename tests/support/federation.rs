//! Federated sign-in in tests: the local OpenID provider (`tools/local-op`, npm
//! oidc-provider 8.8.1) on a free port, a GitHub stand-in, and a browser that follows the
//! provider's redirects with a cookie jar until they come back to our callback.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lambda_http::{Body, Request, RequestExt};

/// The callback base URL the tests configure (never fetched: the browser stops there).
pub const CALLBACK_BASE: &str = "https://api.test";
pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-client-secret-of-the-local-provider";

/// The local provider, stopped when dropped.
pub struct LocalOp {
    pub issuer: String,
    child: Child,
}

impl Drop for LocalOp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalOp {
    /// Starts the provider with one client whose redirect URI is `provider`'s callback, on a
    /// port it takes itself (`--port 0`) and names on its first line.
    pub async fn start(provider: &str) -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let script = root.join("tools/local-op/local-op.mjs");
        assert!(
            root.join("tools/local-op/node_modules/oidc-provider")
                .exists(),
            "the local provider is not installed: run WITH_OIDC_PROVIDER=1 scripts/setup"
        );
        let mut child = Command::new("node")
            .arg(script)
            .args(["--port", "0"])
            .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
            .args([
                "--redirect-uri",
                &format!("{CALLBACK_BASE}/auth/oauth/{provider}/callback"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node tools/local-op/local-op.mjs");
        let stdout = child.stdout.take().expect("its stdout");
        let (sender, receiver) = tokio::sync::oneshot::channel();
        // Read on for as long as it runs: a closed pipe would end it at its next line.
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            let mut sender = Some(sender);
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(issuer) = line.strip_prefix("local-op listening on ")
                    && let Some(sender) = sender.take()
                {
                    let _ = sender.send(issuer.to_owned());
                }
            }
        });
        let issuer = tokio::time::timeout(std::time::Duration::from_secs(20), receiver)
            .await
            .expect("the local provider starts within 20 s")
            .expect("the local provider did not start");
        Self { issuer, child }
    }

    /// The settings that configure it as provider `id`.
    pub fn settings(&self, id: &str) -> Vec<(String, String)> {
        vec![
            (
                "OAUTH_PROVIDERS".into(),
                format!(
                    r#"[{{"id":"{id}","type":"oidc","issuer":"{}","clientId":"{CLIENT_ID}","label":"the local provider"}}]"#,
                    self.issuer
                ),
            ),
            (
                "OAUTH_CLIENT_SECRETS".into(),
                format!(r#"{{"{id}":"{CLIENT_SECRET}"}}"#),
            ),
            ("OAUTH_CALLBACK_BASE_URL".into(), CALLBACK_BASE.into()),
        ]
    }
}

/// Who signs in at the local provider.
pub struct ProviderAccount<'a> {
    pub sub: &'a str,
    pub email: &'a str,
    pub email_verified: bool,
}

/// A browser's cookie jar for the provider, and the redirects it follows.
#[derive(Default)]
pub struct Browser {
    cookies: HashMap<String, String>,
}

fn client() -> Client<HttpConnector, Empty<Bytes>> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

impl Browser {
    async fn get(&mut self, url: &str) -> (u16, Option<String>, String) {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = hyper::Request::get(url)
            .header("cookie", cookie)
            .body(Empty::new())
            .expect("request");
        let response = client()
            .request(request)
            .await
            .expect("the provider answers");
        for set in response.headers().get_all("set-cookie") {
            let text = set.to_str().unwrap_or_default();
            if let Some((name, rest)) = text.split_once('=') {
                let value = rest.split(';').next().unwrap_or_default();
                if value.is_empty()
                    || text
                        .to_ascii_lowercase()
                        .contains("expires=thu, 01 jan 1970")
                {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map(|body| String::from_utf8_lossy(&body.to_bytes()).into_owned())
            .unwrap_or_default();
        (status, location, body)
    }

    /// Follows the provider's redirects from `authorization_url`, signing in as `account` at
    /// its interaction, until it redirects to our callback; returns that URL.
    pub async fn sign_in_at_provider(
        &mut self,
        authorization_url: &str,
        account: &ProviderAccount<'_>,
    ) -> String {
        let origin = origin_of(authorization_url);
        let mut url = authorization_url.to_owned();
        for _ in 0..10 {
            let (status, location, body) = self.get(&url).await;
            let location =
                location.unwrap_or_else(|| panic!("{status} without a redirect: {body}"));
            let next = if location.starts_with('/') {
                format!("{origin}{location}")
            } else {
                location
            };
            if next.starts_with(CALLBACK_BASE) {
                return next;
            }
            url = if next.contains("/interaction/") && !next.contains('?') {
                format!(
                    "{next}?sub={}&email={}&email_verified={}",
                    account.sub, account.email, account.email_verified
                )
            } else {
                next
            };
        }
        panic!("the provider kept redirecting");
    }
}

fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .expect("an absolute URL")
        .origin()
        .ascii_serialization()
}

/// The query of `url` as a map (decoded).
pub fn query_of(url: &str) -> HashMap<String, String> {
    let query = url
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default();
    let query = query.split('#').next().unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// A GET to `path` with `query`, carrying `cookies` (`name=value; ...`), as API Gateway
/// hands it to the function.
pub fn get_with(path: &str, query: &HashMap<String, String>, cookies: Option<&str>) -> Request {
    let mut builder = http::Request::builder().method("GET").uri(path);
    if let Some(cookies) = cookies {
        builder = builder.header("cookie", cookies);
    }
    let request: Request = builder.body(Body::Empty).expect("request");
    request.with_query_string_parameters(
        query
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect::<HashMap<_, _>>(),
    )
}

/// The `name=value` of a `Set-Cookie` header called `name`, from a response's cookies.
pub fn cookie_pair<'a>(
    set_cookies: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> Option<String> {
    set_cookies
        .into_iter()
        .find(|cookie| cookie.starts_with(&format!("{name}=")))
        .and_then(|cookie| cookie.split(';').next())
        .map(str::to_owned)
}
