//! The demo page in headless Chromium (Debian's `chromium` and `chromium-driver`), driven over
//! WebDriver: what only a browser can show about the refresh cookie.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::flows::{PASSWORD, unique_email};
use crate::stack::root;

pub struct Browser {
    driver: Child,
    pub client: Client,
    profile: PathBuf,
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|dir| PathBuf::from(dir).join(name))
            .find(|path| path.is_file())
    })
}

impl Browser {
    pub async fn start() -> Result<Self, String> {
        let binary = chromium().ok_or(
            "chromium is not installed: run `WITH_BROWSER=1 scripts/setup` (Debian packages chromium and chromium-driver)",
        )?;
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|listener| listener.local_addr())
            .map_err(|error| error.to_string())?
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| {
                format!("cannot run chromedriver ({error}): run `WITH_BROWSER=1 scripts/setup`")
            })?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                return Err("chromedriver did not listen within 20 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!("stack-chromium-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        // As root (CI) Chromium needs --no-sandbox; the network flags keep it from calling home
        // on a machine without internet.
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1000,1000",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let Value::Object(capabilities) = capabilities else {
            return Err("capabilities are an object".into());
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|error| format!("WebDriver session: {error}"))?;
        Ok(Self {
            driver,
            client,
            profile,
        })
    }

    pub async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub async fn script(client: &Client, source: &str) -> Value {
    client
        .execute(source, vec![])
        .await
        .unwrap_or_else(|error| panic!("script {source}: {error}"))
}

/// Polls `source` until it returns `expected` (20 s at most).
pub async fn wait_until(client: &Client, source: &str, expected: Value) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = script(client, source).await;
        if value == expected {
            return;
        }
        if Instant::now() > deadline {
            let page = script(
                client,
                "return location.href + ' ' + document.body.innerText",
            )
            .await;
            panic!("waited 20 s for `{source}` to be {expected}; it is {value} (page: {page})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const STATUS: &str = "return document.getElementById('status').textContent";

pub async fn wait_for_status(client: &Client, status: &str) {
    wait_until(client, STATUS, json!(status)).await;
}

/// The page's own `/me` call (refreshing once on 401), as its status code.
pub async fn me_status(client: &Client) -> Value {
    script(
        client,
        "return auth.call('/me').then(response => response.status)",
    )
    .await
}

/// Replaces what the field `css` selects holds with `text`, typed.
pub async fn type_into(client: &Client, css: &str, text: &str) {
    let field = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("find {css}: {error}"));
    field
        .clear()
        .await
        .unwrap_or_else(|error| panic!("clear {css}: {error}"));
    field
        .send_keys(text)
        .await
        .unwrap_or_else(|error| panic!("type into {css}: {error}"));
}

/// Clicks the element `css` selects.
pub async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("find {css}: {error}"))
        .click()
        .await
        .unwrap_or_else(|error| panic!("click {css}: {error}"));
}

/// Opens the page and signs out whoever is signed in.
pub async fn signed_out_page(client: &Client, base: &str) {
    client
        .goto(&format!("{base}/"))
        .await
        .expect("open the page");
    wait_until(
        client,
        "return document.getElementById('status').textContent.startsWith('Signed')",
        json!(true),
    )
    .await;
    if script(client, STATUS).await == json!("Signed in.") {
        script(client, "return auth.logout().then(() => true)").await;
        client.refresh().await.expect("reload");
        wait_for_status(client, "Signed out.").await;
    }
}

/// Opens the page, signs out whoever is signed in, and registers a new user through the form.
pub async fn fresh_session(client: &Client, base: &str) -> String {
    signed_out_page(client, base).await;
    let email = unique_email("browser");
    for (field, value) in [
        ("name", "Ada"),
        ("email", email.as_str()),
        ("password", PASSWORD),
    ] {
        type_into(client, &format!("#register input[name={field}]"), value).await;
    }
    click(client, "#register button").await;
    wait_for_status(client, "Signed in.").await;
    email
}

/// The refresh cookie as the browser holds it (WebDriver sees HttpOnly cookies; the page must
/// not). Read from a page under the cookie's path, `/auth`: the browser is left there.
pub async fn refresh_cookie(
    client: &Client,
    base: &str,
) -> (Value, Option<fantoccini::cookies::Cookie<'static>>) {
    client
        .goto(&format!("{base}/auth/not-a-page"))
        .await
        .expect("open a page under /auth");
    let visible_to_scripts = script(client, "return document.cookie").await;
    let cookie = client.get_named_cookie("refreshToken").await.ok();
    (visible_to_scripts, cookie)
}

pub async fn the_refresh_cookie_is_httponly_and_a_reload_restores_the_session(
    browser: Arc<Browser>,
    base: String,
) {
    let client = &browser.client;
    let email = fresh_session(client, &base).await;
    client
        .find(Locator::Id("me"))
        .await
        .expect("the /me button")
        .click()
        .await
        .expect("click");
    wait_until(
        client,
        "return document.getElementById('output').textContent.startsWith('GET /me: 200')",
        json!(true),
    )
    .await;
    let output = script(
        client,
        "return document.getElementById('output').textContent",
    )
    .await;
    assert!(
        output.as_str().is_some_and(|text| text.contains(&email)),
        "{output}"
    );
    let screenshot = client.screenshot().await.expect("screenshot");
    let path = root().join("target/browser/logged-in.png");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("target/browser");
    std::fs::write(&path, screenshot).expect("save the screenshot");
    println!("    screenshot of the signed-in page: {}", path.display());

    assert_eq!(script(client, "return document.cookie").await, json!(""));
    let (visible, cookie) = refresh_cookie(client, &base).await;
    assert_eq!(
        visible,
        json!(""),
        "not even under /auth can a script read it"
    );
    let cookie = cookie.expect("the browser holds the refresh cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.path(), Some("/auth"));
    assert_eq!(
        cookie.same_site().map(|same_site| same_site.to_string()),
        Some("Strict".to_owned())
    );

    // The access token lived in memory only; a reload gets a new one through the cookie.
    client
        .goto(&format!("{base}/"))
        .await
        .expect("open the page");
    wait_for_status(client, "Signed in.").await;
    client.refresh().await.expect("reload");
    wait_for_status(client, "Signed in.").await;
    assert_eq!(me_status(client).await, json!(200));
}

pub async fn two_tabs_refreshing_at_the_same_moment_both_stay_signed_in(
    browser: Arc<Browser>,
    base: String,
) {
    let client = &browser.client;
    fresh_session(client, &base).await;
    let first = client.window().await.expect("this window");
    let second = client
        .new_window(false)
        .await
        .expect("a second window")
        .handle;
    client
        .switch_to_window(second.clone())
        .await
        .expect("switch");
    client
        .goto(&format!("{base}/"))
        .await
        .expect("open the page");
    wait_for_status(client, "Signed in.").await;

    // Both windows present the same cookie at the same moment: one rotates it, the other is
    // inside the reuse grace window. Neither may be signed out.
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or_default()
        + 1500;
    let schedule = "window.refreshed = null; \
        setTimeout(() => auth.refresh().then(ok => { window.refreshed = ok; }), arguments[0] - Date.now()); \
        return true";
    for window in [&second, &first] {
        client
            .switch_to_window(window.clone())
            .await
            .expect("switch");
        client
            .execute(schedule, vec![json!(at)])
            .await
            .expect("schedule a refresh");
    }
    for window in [&first, &second] {
        client
            .switch_to_window(window.clone())
            .await
            .expect("switch");
        wait_until(client, "return window.refreshed", json!(true)).await;
        assert_eq!(me_status(client).await, json!(200));
    }
    // Whatever cookie the browser kept works for both windows after a reload.
    for window in [&first, &second] {
        client
            .switch_to_window(window.clone())
            .await
            .expect("switch");
        client.refresh().await.expect("reload");
        wait_for_status(client, "Signed in.").await;
    }
    client.switch_to_window(second).await.expect("switch");
    client
        .close_window()
        .await
        .expect("close the second window");
    client.switch_to_window(first).await.expect("switch back");
}

pub async fn a_cross_site_page_cannot_use_the_cookie(browser: Arc<Browser>, base: String) {
    let client = &browser.client;
    fresh_session(client, &base).await;
    // localhost and 127.0.0.1 are different sites: a page there asks the browser to send the
    // API's logout with credentials, the classic cross-site request forgery. Awaited, so the
    // request has been answered before the session is checked.
    let other_site = base.replacen("127.0.0.1", "localhost", 1);
    client
        .goto(&format!("{other_site}/"))
        .await
        .expect("open the other site");
    let forged = client
        .execute(
            "return fetch(arguments[0], {method: 'POST', credentials: 'include', mode: 'no-cors'}) \
               .then(response => response.type)",
            vec![json!(format!("{base}/auth/logout"))],
        )
        .await
        .expect("the forged request");
    assert_eq!(forged, json!("opaque"), "the request was sent and answered");
    // Had the cookie gone with it, the session would be revoked now.
    client
        .goto(&format!("{base}/"))
        .await
        .expect("open the page");
    wait_for_status(client, "Signed in.").await;
    assert_eq!(me_status(client).await, json!(200));
}

pub async fn logout_clears_the_cookie_and_me_then_fails(browser: Arc<Browser>, base: String) {
    let client = &browser.client;
    fresh_session(client, &base).await;
    client
        .find(Locator::Id("logout"))
        .await
        .expect("the logout button")
        .click()
        .await
        .expect("click");
    wait_for_status(client, "Signed out.").await;
    let (_, cookie) = refresh_cookie(client, &base).await;
    assert!(cookie.is_none(), "the cookie is gone: {cookie:?}");
    client
        .goto(&format!("{base}/"))
        .await
        .expect("open the page");
    wait_for_status(client, "Signed out.").await;
    assert_eq!(me_status(client).await, json!(401));
}
