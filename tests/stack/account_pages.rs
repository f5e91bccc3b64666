//! The demo page's account screens in headless Chromium, with mail delivered as `scripts/dev`
//! delivers it: the reset and verification links from `target/mail`, the sessions list, a
//! password change and account deletion.

use std::path::PathBuf;
use std::sync::Arc;

use fantoccini::Client;
use serde_json::json;

use crate::browser::{
    Browser, click, fresh_session, me_status, refresh_cookie, script, type_into, wait_for_status,
    wait_until,
};
use crate::flows::PASSWORD;
use crate::http::Api;
use crate::mail::mailed_link;

const NEW_PASSWORD: &str = "a brand new passphrase";
const PAGE_STATUS: &str = "return document.getElementById('status').textContent";
const SESSION_ROWS: &str = "return document.querySelectorAll('#sessions tbody tr').length";
const SESSIONS_LISTED: &str = "return [...document.querySelectorAll('#sessions tbody tr')].map(row => ({ \
    device: row.cells[0].textContent, address: row.cells[1].textContent, \
    current: row.classList.contains('current'), action: row.cells[4].textContent }))";
const MORE_SESSIONS_HIDDEN: &str = "return document.getElementById('more-sessions').hidden";
const PASSWORD_FORM_SHOWN: &str = "return !document.getElementById('password-form').hidden";
const VERIFIED_ON_THE_DEMO_PAGE: &str = "return document.getElementById('whoami').textContent.endsWith('email address verified.') \
       && document.getElementById('unverified').hidden";

/// Waits until the page's last answer starts with `prefix` (e.g. `login: 401`).
async fn wait_for_output(client: &Client, prefix: &str) {
    let source =
        format!("return document.getElementById('output').textContent.startsWith({prefix:?})");
    wait_until(client, &source, json!(true)).await;
}

/// Records the path of every request the page sends from now on (in `window.sent`).
async fn record_requests(client: &Client) {
    script(
        client,
        "window.sent = []; const send = window.fetch; \
         window.fetch = (input, init) => { window.sent.push(String(input)); return send(input, init); }; \
         return true",
    )
    .await;
}

/// A wrong password is answered once: the page neither refreshes nor sends it again (a retry
/// would count as a second failed attempt toward the backoff).
async fn assert_sent_once(client: &Client, path: &str) {
    assert_eq!(script(client, "return window.sent").await, json!([path]));
}

/// Opens a mailed `link` to `page`, waits for its `control` to show, and checks the token has
/// left the address bar (history, Referer) once the page read it.
async fn open_link(client: &Client, base: &str, link: &str, page: &str, control: &str) {
    assert!(link.starts_with(&format!("{base}{page}#token=")), "{link}");
    client.goto(link).await.expect("open the link");
    let shown = format!("return document.getElementById('{control}').hidden");
    wait_until(client, &shown, json!(false)).await;
    assert_eq!(script(client, "return location.search").await, json!(""));
}

async fn log_in_through_the_form(client: &Client, email: &str, password: &str) {
    type_into(client, "#login input[name=email]", email).await;
    type_into(client, "#login input[name=password]", password).await;
    click(client, "#login button").await;
}

async fn log_in_over_http(api: &Api, email: &str, user_agent: &str) -> String {
    let reply = api
        .post(
            "/auth/login",
            &[("user-agent", user_agent)],
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(reply.status, 200, "login: {reply:?}");
    reply.refresh_cookie().expect("a refresh cookie")
}

async fn refresh_status(api: &Api, cookie: &str) -> u16 {
    api.post("/auth/refresh", &[("cookie", cookie)], None)
        .await
        .status
}

pub async fn a_mailed_reset_link_sets_a_new_password_once(
    browser: Arc<Browser>,
    base: String,
    root: PathBuf,
) {
    let client = &browser.client;
    let email = fresh_session(client, &base).await;
    click(client, "#logout").await;
    wait_for_status(client, "Signed out.").await;

    type_into(client, "#forgot input[name=email]", &email).await;
    click(client, "#forgot button").await;
    wait_for_output(client, "forgot: 202").await;
    let link = mailed_link(&root, &email, "/reset-password").await;
    open_link(client, &base, &link, "/reset-password", "reset").await;
    // The page asks the browser to send no Referer from it.
    assert_eq!(
        script(
            client,
            "return document.querySelector('meta[name=referrer]').content"
        )
        .await,
        json!("no-referrer")
    );
    type_into(client, "#reset input[name=newPassword]", NEW_PASSWORD).await;
    type_into(client, "#reset input[name=repeat]", NEW_PASSWORD).await;
    click(client, "#reset button").await;
    wait_until(
        client,
        "return document.getElementById('status').textContent.startsWith('Your password is changed')",
        json!(true),
    )
    .await;

    // The same link again: refused, and nothing changes.
    client.goto(&link).await.expect("open the link again");
    type_into(client, "#reset input[name=newPassword]", PASSWORD).await;
    type_into(client, "#reset input[name=repeat]", PASSWORD).await;
    click(client, "#reset button").await;
    wait_until(
        client,
        PAGE_STATUS,
        json!("The password reset link is invalid, used or expired."),
    )
    .await;

    client
        .goto(&format!("{base}/"))
        .await
        .expect("the demo page");
    wait_for_status(client, "Signed out.").await;
    log_in_through_the_form(client, &email, PASSWORD).await;
    wait_for_output(client, "login: 401").await;
    log_in_through_the_form(client, &email, NEW_PASSWORD).await;
    wait_for_status(client, "Signed in.").await;
}

pub async fn the_verification_link_marks_the_address_verified(
    browser: Arc<Browser>,
    base: String,
    root: PathBuf,
) {
    let client = &browser.client;
    let email = fresh_session(client, &base).await;
    let unverified = format!(
        "return document.getElementById('whoami').textContent.includes({email:?}) \
           && !document.getElementById('unverified').hidden"
    );
    wait_until(client, &unverified, json!(true)).await;
    let link = mailed_link(&root, &email, "/verify-email").await;
    // Asking again inside the mail interval sends nothing new, so the first link stays good.
    click(client, "#resend").await;
    wait_for_output(client, "resend: 202").await;
    // Opening the link does nothing by itself (a mail scanner may open it): the button does.
    open_link(client, &base, &link, "/verify-email", "verify").await;
    assert_eq!(script(client, PAGE_STATUS).await, json!(""));
    click(client, "#verify").await;
    wait_until(
        client,
        PAGE_STATUS,
        json!("Your email address is verified."),
    )
    .await;
    // The browser's refresh cookie proved the owner: no password was asked for.
    assert_eq!(script(client, PASSWORD_FORM_SHOWN).await, json!(false));

    client
        .goto(&format!("{base}/"))
        .await
        .expect("the demo page");
    wait_for_status(client, "Signed in.").await;
    wait_until(client, VERIFIED_ON_THE_DEMO_PAGE, json!(true)).await;
}

pub async fn the_verification_link_asks_for_the_password_when_signed_out(
    browser: Arc<Browser>,
    base: String,
    root: PathBuf,
    api: Api,
) {
    let client = &browser.client;
    let email = fresh_session(client, &base).await;
    let link = mailed_link(&root, &email, "/verify-email").await;
    click(client, "#logout").await;
    wait_for_status(client, "Signed out.").await;
    let (_, cookie) = refresh_cookie(client, &base).await;
    assert!(
        cookie.is_none(),
        "no session goes with the link: {cookie:?}"
    );

    open_link(client, &base, &link, "/verify-email", "verify").await;
    assert_eq!(script(client, PASSWORD_FORM_SHOWN).await, json!(false));
    click(client, "#verify").await;
    // The server answers PASSWORD_REQUIRED: the page asks for the password, a labelled field.
    wait_until(client, PASSWORD_FORM_SHOWN, json!(true)).await;
    assert_eq!(
        script(
            client,
            "const field = document.getElementById('verify-password'); \
             return [field.type, field.labels.length > 0, \
               document.getElementById('password-form').textContent.includes('not signed in on this browser'), \
               document.getElementById('verify').hidden]"
        )
        .await,
        json!(["password", true, true, true])
    );
    assert_eq!(script(client, PAGE_STATUS).await, json!(""));

    // A wrong password: refused once, not retried, and the address stays unverified.
    type_into(client, "#verify-password", "not the password").await;
    record_requests(client).await;
    click(client, "#verify-with-password").await;
    wait_until(client, PAGE_STATUS, json!("Invalid credentials.")).await;
    assert_sent_once(client, "/auth/email/verify").await;
    assert_eq!(script(client, PASSWORD_FORM_SHOWN).await, json!(true));
    let login = api
        .post(
            "/auth/login",
            &[],
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(login.status, 200, "login: {login:?}");
    assert_eq!(
        login.body["user"]["emailVerified"],
        json!(false),
        "a wrong password verifies nothing: {login:?}"
    );

    // The right one: the same link, still good, verifies the address.
    type_into(client, "#verify-password", PASSWORD).await;
    click(client, "#verify-with-password").await;
    wait_until(
        client,
        PAGE_STATUS,
        json!("Your email address is verified."),
    )
    .await;
    assert_eq!(script(client, PASSWORD_FORM_SHOWN).await, json!(false));

    client
        .goto(&format!("{base}/"))
        .await
        .expect("the demo page");
    wait_for_status(client, "Signed out.").await;
    log_in_through_the_form(client, &email, PASSWORD).await;
    wait_for_status(client, "Signed in.").await;
    wait_until(client, VERIFIED_ON_THE_DEMO_PAGE, json!(true)).await;
}

pub async fn the_sessions_screen_shows_devices_and_signs_one_out(
    browser: Arc<Browser>,
    base: String,
    api: Api,
) {
    let client = &browser.client;
    let email = fresh_session(client, &base).await;
    let phone = log_in_over_http(&api, &email, "stack-test phone").await;
    client.refresh().await.expect("reload");
    wait_for_status(client, "Signed in.").await;
    wait_until(client, SESSION_ROWS, json!(2)).await;
    // Both fit on the first page, which lists this device first and has no more to show.
    assert_eq!(script(client, MORE_SESSIONS_HIDDEN).await, json!(true));
    let rows = script(client, SESSIONS_LISTED).await;
    let rows = rows.as_array().expect("rows");
    assert_eq!(
        rows[0]["current"],
        json!(true),
        "this device first: {rows:?}"
    );
    let this_device = rows
        .iter()
        .find(|row| row["current"] == json!(true))
        .expect("this device is listed");
    assert!(
        this_device["device"]
            .as_str()
            .is_some_and(|agent| agent.contains("Chrome")),
        "{this_device}"
    );
    assert_eq!(this_device["action"], json!("this device"));
    assert_eq!(this_device["address"], json!("127.0.0.1"));
    let other = rows
        .iter()
        .find(|row| row["current"] == json!(false))
        .expect("the other device is listed");
    assert_eq!(other["device"], json!("stack-test phone"));
    assert_eq!(other["action"], json!("Sign out"));
    let listed = rows.clone();

    // One session a page: this device alone, then "Show more sessions" appends the rest, page by
    // page (a page may come back empty), until `next` is null and the button goes.
    client
        .goto(&format!("{base}/?sessions-per-page=1"))
        .await
        .expect("the demo page, one session a page");
    wait_for_status(client, "Signed in.").await;
    wait_until(client, SESSION_ROWS, json!(1)).await;
    assert_eq!(script(client, MORE_SESSIONS_HIDDEN).await, json!(false));
    record_requests(client).await;
    for page in 1..=10 {
        if script(client, MORE_SESSIONS_HIDDEN).await == json!(true) {
            break;
        }
        click(client, "#more-sessions").await;
        // This click's page is asked for and shown (the button is usable again once it is).
        let shown = format!(
            "return window.sent.filter(path => path.startsWith('/auth/sessions?')).length === {page} \
               && !document.getElementById('more-sessions').disabled"
        );
        wait_until(client, &shown, json!(true)).await;
    }
    assert_eq!(script(client, MORE_SESSIONS_HIDDEN).await, json!(true));
    assert_eq!(
        script(client, SESSIONS_LISTED).await,
        json!(listed),
        "the pages, joined, list what one page did"
    );
    client
        .goto(&format!("{base}/"))
        .await
        .expect("the demo page");
    wait_for_status(client, "Signed in.").await;
    wait_until(client, SESSION_ROWS, json!(2)).await;

    click(client, "#sessions button.revoke").await;
    wait_until(client, SESSION_ROWS, json!(1)).await;
    assert_eq!(
        refresh_status(&api, &phone).await,
        401,
        "the phone is signed out"
    );
    assert_eq!(me_status(client).await, json!(200), "this device is not");

    // A password change: the page keeps its session, every other one ends.
    let laptop = log_in_over_http(&api, &email, "stack-test laptop").await;
    type_into(
        client,
        "#change-password input[name=currentPassword]",
        "not the password",
    )
    .await;
    type_into(
        client,
        "#change-password input[name=newPassword]",
        NEW_PASSWORD,
    )
    .await;
    record_requests(client).await;
    click(client, "#change-password button").await;
    wait_for_output(client, "change password: 401").await;
    assert_sent_once(client, "/auth/password/change").await;
    let still = api
        .post("/auth/refresh", &[("cookie", &laptop)], None)
        .await;
    assert_eq!(
        still.status, 200,
        "a wrong password changes nothing: {still:?}"
    );
    let laptop = still.refresh_cookie().expect("the rotated cookie");
    type_into(
        client,
        "#change-password input[name=currentPassword]",
        PASSWORD,
    )
    .await;
    type_into(
        client,
        "#change-password input[name=newPassword]",
        NEW_PASSWORD,
    )
    .await;
    click(client, "#change-password button").await;
    wait_for_output(client, "change password: 204").await;
    assert_eq!(
        refresh_status(&api, &laptop).await,
        401,
        "the laptop is signed out"
    );
    assert_eq!(me_status(client).await, json!(200));
}

pub async fn deleting_the_account_signs_out_and_frees_the_email(
    browser: Arc<Browser>,
    base: String,
    api: Api,
) {
    let client = &browser.client;
    let email = fresh_session(client, &base).await;
    type_into(
        client,
        "#delete-account input[name=password]",
        "not the password",
    )
    .await;
    click(client, "#delete-account input[name=sure]").await;
    record_requests(client).await;
    click(client, "#delete-account button").await;
    wait_for_output(client, "delete account: 401").await;
    assert_sent_once(client, "/auth/account").await;
    assert_eq!(script(client, "return auth.signedIn()").await, json!(true));
    assert_eq!(me_status(client).await, json!(200));

    type_into(client, "#delete-account input[name=password]", PASSWORD).await;
    click(client, "#delete-account button").await;
    wait_for_status(client, "Signed out.").await;
    wait_for_output(client, "delete account: 204").await;
    // The refresh cookie the browser still holds is dead; a reload stays signed out.
    client.refresh().await.expect("reload");
    wait_for_status(client, "Signed out.").await;

    let login = api
        .post(
            "/auth/login",
            &[],
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(login.status, 401, "{login:?}");
    let again = api
        .post(
            "/auth/register",
            &[],
            Some(json!({"name": "Ada", "email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(again.status, 201, "the email registers again: {again:?}");
}

/// Confirm-first mode (`scripts/dev --param RegistrationMode=confirm-first`): sign-up answers
/// 202, the mailed link opens `/confirm-signup`, which creates the account only with the
/// sign-up's password, and signs this browser in.
pub async fn a_confirm_first_sign_up_becomes_an_account_with_its_link_and_password(
    browser: Arc<Browser>,
    base: String,
    root: PathBuf,
    api: Api,
) {
    let client = &browser.client;
    let email = format!("confirm-{}@example.com", std::process::id());
    let signed_up = api
        .post(
            "/auth/register",
            &[],
            Some(json!({ "name": "Ada", "email": email, "password": PASSWORD })),
        )
        .await;
    assert_eq!(signed_up.status, 202, "{:?}", signed_up.body);
    assert_eq!(signed_up.body, json!({}));
    let link = mailed_link(&root, &email, "/confirm-signup").await;
    open_link(client, &base, &link, "/confirm-signup", "confirm").await;
    type_into(
        client,
        "#confirm input[name=password]",
        "not the sign-up password",
    )
    .await;
    click(client, "#confirm button").await;
    wait_until(client, PAGE_STATUS, json!("Invalid credentials.")).await;
    type_into(client, "#confirm input[name=password]", PASSWORD).await;
    click(client, "#confirm button").await;
    wait_until(
        client,
        PAGE_STATUS,
        json!("Your account is ready, and you are signed in on this browser."),
    )
    .await;
    client
        .goto(&format!("{base}/"))
        .await
        .expect("the demo page");
    wait_for_status(client, "Signed in.").await;
    wait_until(client, VERIFIED_ON_THE_DEMO_PAGE, json!(true)).await;
}
