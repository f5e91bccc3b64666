//! Sign-in with the local OpenID provider from the demo page in headless Chromium, through the
//! dev gateway: the button, the provider's own page, the callback's redirect and cookie, the
//! page restoring the session; then the same identity again, and a refusal shown on the page.

use std::sync::Arc;

use fantoccini::Client;
use serde_json::json;

use crate::browser::{
    Browser, click, script, signed_out_page, type_into, wait_for_status, wait_until,
};
use crate::flows::unique_email;

const LOCAL_PROVIDER_BUTTON: &str = "#provider-buttons button[data-provider=local]";

/// From the demo page, signed out: the provider's button, then its sign-in form as `email`.
async fn sign_in_at_the_local_provider(client: &Client, base: &str, email: &str, verified: bool) {
    signed_out_page(client, base).await;
    wait_until(
        client,
        &format!("return document.querySelector('{LOCAL_PROVIDER_BUTTON}')?.textContent ?? null"),
        json!("Sign in with the local provider"),
    )
    .await;
    click(client, LOCAL_PROVIDER_BUTTON).await;
    // The provider's own page (another origin: its port).
    wait_until(
        client,
        &format!(
            "return document.querySelector('form input[name=email]') !== null && !location.href.startsWith('{base}')"
        ),
        json!(true),
    )
    .await;
    type_into(client, "form input[name=email]", email).await;
    if !verified {
        click(client, "form input[name=email_verified]").await;
    }
    click(client, "form button").await;
}

pub async fn signing_in_with_the_local_provider_from_the_demo_page(
    browser: Arc<Browser>,
    base: String,
) {
    let client = &browser.client;
    let email = unique_email("federated");
    sign_in_at_the_local_provider(client, &base, &email, true).await;
    wait_for_status(client, "Signed in.").await;
    assert_eq!(
        script(client, "return location.href").await,
        json!(format!("{base}/")),
        "back on the page, nothing left in the address bar"
    );
    let identities = script(
        client,
        "return auth.identities().then(response => response.json())",
    )
    .await;
    assert_eq!(
        identities["identities"][0]["provider"], "local",
        "{identities}"
    );
    assert_eq!(identities["identities"][0]["email"], json!(email));
    wait_until(
        client,
        &format!("return document.getElementById('whoami').textContent.includes('{email}')"),
        json!(true),
    )
    .await;
    // A reload restores the session through the refresh cookie the callback set.
    client.refresh().await.expect("reload");
    wait_for_status(client, "Signed in.").await;
    // The provider did not verify this one: refused, and the page says so.
    sign_in_at_the_local_provider(client, &base, &unique_email("unverified"), false).await;
    wait_until(
        client,
        "return document.getElementById('output')?.textContent ?? (location.href + ' ' + document.body.innerText)",
        json!("sign in with a provider: 0\n{\n  \"error\": \"email_not_verified\"\n}"),
    )
    .await;
    wait_for_status(client, "Signed out.").await;
}
