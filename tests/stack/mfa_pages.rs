//! Two-factor authentication on the demo page in headless Chromium: enrolment with the QR code
//! drawn on the page, the recovery codes shown once, the second login step with a code and
//! with a recovery code, and the settings screen. Codes come from Debian's `oathtool`, an
//! implementation of RFC 6238 that is not ours.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use fantoccini::Client;
use serde_json::{Value, json};

use crate::browser::{
    Browser, click, fresh_session, script, type_into, wait_for_status, wait_until,
};
use crate::flows::PASSWORD;
use crate::mail::mailed_link;
use crate::stack::root;

/// The TOTP code for `secret` (base32) `offset_seconds` from now, by `oathtool`.
fn oathtool(secret: &str, offset_seconds: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    let at = now.saturating_add_signed(offset_seconds);
    let output = Command::new("oathtool")
        .args(["--totp", "-b", "-N", &format!("@{at}"), secret])
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run oathtool ({error}): run `WITH_BROWSER=1 scripts/setup`")
        });
    assert!(output.status.success(), "oathtool: {output:?}");
    String::from_utf8(output.stdout)
        .expect("digits")
        .trim()
        .to_owned()
}

async fn text_of(client: &Client, id: &str) -> String {
    script(
        client,
        &format!("return document.getElementById('{id}').textContent"),
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

async fn shown(client: &Client, id: &str) {
    wait_until(
        client,
        &format!("return !document.getElementById('{id}').hidden"),
        json!(true),
    )
    .await;
}

async fn log_in(client: &Client, email: &str) {
    type_into(client, "#login input[name=email]", email).await;
    type_into(client, "#login input[name=password]", PASSWORD).await;
    click(client, "#login button").await;
}

pub async fn enrolment_then_a_second_step_login_with_a_code_and_with_a_recovery_code(
    browser: Arc<Browser>,
    base: String,
    stack_root: PathBuf,
) {
    let client = &browser.client;
    let email = fresh_session(client, &base).await;
    // Only a verified address may enrol: the mailed link, followed from this signed-in page
    // (its refresh cookie proves the owner).
    let link = mailed_link(&stack_root, &email, "/verify-email").await;
    let token = link.rsplit("token=").next().expect("token").to_owned();
    let verified = client
        .execute(
            "return auth.verifyEmail(arguments[0]).then(response => response.status)",
            vec![json!(token)],
        )
        .await
        .expect("verify");
    assert_eq!(verified, json!(204));

    wait_until(
        client,
        "return document.getElementById('mfa-state').textContent",
        json!("Off."),
    )
    .await;
    click(client, "#mfa-enroll").await;
    shown(client, "mfa-enrolment").await;
    // The QR code is drawn on the page from the server's SVG: a loaded image, no other host.
    wait_until(
        client,
        "const image = document.getElementById('mfa-qr'); \
         return image.complete && image.naturalWidth > 0 && image.src.startsWith('data:image/svg+xml;base64,')",
        json!(true),
    )
    .await;
    let secret = text_of(client, "mfa-secret").await;
    assert_eq!(secret.len(), 32, "{secret}");
    let screenshot = client.screenshot().await.expect("screenshot");
    let path = root().join("target/browser/mfa-enrolment.png");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("target/browser");
    std::fs::write(&path, screenshot).expect("save the screenshot");
    println!("    screenshot of the enrolment: {}", path.display());

    type_into(
        client,
        "#mfa-confirm input[name=code]",
        &oathtool(&secret, 0),
    )
    .await;
    click(client, "#mfa-confirm button").await;
    shown(client, "recovery-codes").await;
    let codes: Value = script(
        client,
        "return [...document.querySelectorAll('#recovery-code-list li')].map(item => item.textContent)",
    )
    .await;
    let codes: Vec<String> = codes
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|code| code.as_str().map(str::to_owned))
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    wait_until(
        client,
        "return document.getElementById('mfa-state').textContent.startsWith('On since')",
        json!(true),
    )
    .await;
    // Shown once: gone from the page when put away.
    click(client, "#recovery-codes-saved").await;
    assert_eq!(
        script(
            client,
            "return document.getElementById('recovery-code-list').children.length"
        )
        .await,
        json!(0)
    );

    // The second step, with the code for the next time step (this one was spent confirming).
    click(client, "#logout").await;
    wait_for_status(client, "Signed out.").await;
    log_in(client, &email).await;
    wait_for_status(client, "Second step: enter your code.").await;
    assert_eq!(script(client, "return auth.signedIn()").await, json!(false));
    type_into(client, "#mfa-code input[name=code]", &oathtool(&secret, 30)).await;
    click(client, "#mfa-code button").await;
    wait_for_status(client, "Signed in.").await;
    let aal = script(
        client,
        "return auth.call('/me').then(response => response.json()).then(() => true)",
    )
    .await;
    assert_eq!(aal, json!(true));

    // Then with a recovery code, typed as printed; the settings screen counts what is left.
    click(client, "#logout").await;
    wait_for_status(client, "Signed out.").await;
    log_in(client, &email).await;
    wait_for_status(client, "Second step: enter your code.").await;
    type_into(client, "#mfa-recovery input[name=recoveryCode]", &codes[0]).await;
    click(client, "#mfa-recovery button").await;
    wait_for_status(client, "Signed in.").await;
    wait_until(
        client,
        "return document.getElementById('mfa-state').textContent.endsWith('9 recovery codes left.')",
        json!(true),
    )
    .await;
}
