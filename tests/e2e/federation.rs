//! Sign-in through an identity provider, end to end: the real handlers against DynamoDB Local
//! and a real, certified OpenID provider (`tools/local-op`: npm oidc-provider 8.8.1), the
//! browser's part played by a cookie-jar client following its redirects.

use std::collections::HashMap;

use e2e::federation::{Browser, LocalOp, ProviderAccount, cookie_pair, get_with, query_of};
use e2e::{Function, PASSWORD, TestApp, TestResponse, claims};
use serde_json::json;

const PROVIDER: &str = "local";

async fn app_with(op: &LocalOp) -> TestApp {
    app_with_settings(op, &[]).await
}

/// An app with `op` as its provider and `extra` settings.
async fn app_with_settings(op: &LocalOp, extra: &[(&str, &str)]) -> TestApp {
    let settings = op.settings(PROVIDER);
    let mut pairs: Vec<(&str, &str)> = settings
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    pairs.extend_from_slice(extra);
    TestApp::spawn_with(&pairs).await
}

/// `start`'s answer: the provider's URL and the binding cookie (`name=value`).
async fn start(app: &TestApp, redirect: &str) -> (String, String) {
    let query = HashMap::from([("redirect".to_owned(), redirect.to_owned())]);
    let started = app
        .send(
            Function::Federation,
            get_with(&format!("/auth/oauth/{PROVIDER}/start"), &query, None),
        )
        .await;
    assert_eq!(started.status, 302, "{}", started.text);
    let location = started.header("location").expect("a location").to_owned();
    let binding = cookie_pair(set_cookies(&started), "oauthBinding")
        .unwrap_or_else(|| panic!("no binding cookie; started went to {location}"));
    (location, binding)
}

fn set_cookies(response: &TestResponse) -> Vec<&str> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect()
}

async fn callback(app: &TestApp, callback_url: &str, cookies: Option<&str>) -> TestResponse {
    app.send(
        Function::Federation,
        get_with(
            &format!("/auth/oauth/{PROVIDER}/callback"),
            &query_of(callback_url),
            cookies,
        ),
    )
    .await
}

/// The whole round: start, the provider's sign-in as `account`, the callback.
async fn federated_sign_in(app: &TestApp, account: &ProviderAccount<'_>) -> TestResponse {
    let (authorization_url, binding) = start(app, "/account").await;
    let back = Browser::default()
        .sign_in_at_provider(&authorization_url, account)
        .await;
    callback(app, &back, Some(&binding)).await
}

fn fragment(response: &TestResponse) -> String {
    response
        .header("location")
        .and_then(|location| location.split_once('#'))
        .map(|(_, fragment)| fragment.to_owned())
        .unwrap_or_default()
}

/// The refresh token a signed-in callback set.
fn refresh_token_of(response: &TestResponse) -> String {
    cookie_pair(set_cookies(response), "refreshToken")
        .and_then(|pair| pair.split_once('=').map(|(_, value)| value.to_owned()))
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| panic!("no refresh cookie: {:?}", response.headers))
}

fn unique_email() -> String {
    format!("fed-{}@example.com", auth_core::random::hex_id())
}

/// Items that are not pending sign-ins (those are spent, not kept).
async fn lasting_items(app: &TestApp) -> usize {
    app.all_items()
        .await
        .iter()
        .filter(|item| {
            item.get("pk")
                .and_then(|pk| pk.as_s().ok())
                .is_some_and(|pk| !pk.starts_with("OAUTH_STATE#") && !pk.starts_with("IP#"))
        })
        .count()
}

#[tokio::test]
async fn a_new_user_signs_in_with_a_verified_address_and_gets_a_passwordless_account() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with(&op).await;
    let email = unique_email();
    let account = ProviderAccount {
        sub: "new-user-1",
        email: &email,
        email_verified: true,
    };
    let signed_in = federated_sign_in(&app, &account).await;
    assert_eq!(signed_in.status, 302, "{}", signed_in.text);
    assert_eq!(
        signed_in.header("location"),
        Some("https://app.test/account")
    );
    let refreshed = app.refresh(&refresh_token_of(&signed_in)).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let token_claims = claims(&refreshed.access_token());
    assert_eq!(token_claims["amr"], json!(["fed"]));
    assert_eq!(token_claims["email_verified"], json!(true));
    // No password: a login answers as for an unknown address.
    let login = app.login(&email, PASSWORD).await;
    login.assert_error(401, "INVALID_CREDENTIALS");
    let unknown = app.login(&unique_email(), PASSWORD).await;
    assert_eq!(login.json, unknown.json);
    // The same identity signs in to the same account.
    let again = federated_sign_in(&app, &account).await;
    let again = app.refresh(&refresh_token_of(&again)).await;
    assert_eq!(claims(&again.access_token())["sub"], token_claims["sub"]);
    let listed = app
        .authorized(
            Function::Federation,
            "GET",
            "/auth/identities",
            &refreshed.access_token(),
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let identities = listed.json["identities"].as_array().expect("a list");
    assert_eq!(identities.len(), 1);
    assert_eq!(identities[0]["provider"], PROVIDER);
    assert_eq!(identities[0]["email"], json!(email));
    let audit = app.audit_events_named("federated_sign_in");
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["provider"], PROVIDER);
    // The last way to sign in cannot be unlinked.
    let id = identities[0]["id"].as_str().expect("an id");
    let unlink = app
        .authorized(
            Function::Federation,
            "DELETE",
            &format!("/auth/identities/{id}"),
            &refreshed.access_token(),
            None,
        )
        .await;
    unlink.assert_error(409, "LAST_SIGN_IN_METHOD");
}

#[tokio::test]
async fn a_verified_account_is_linked_and_can_unlink_while_its_password_remains() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with(&op).await;
    let (email, registered) = app.verified_user().await;
    let signed_in = federated_sign_in(
        &app,
        &ProviderAccount {
            sub: "owner-1",
            email: &email,
            email_verified: true,
        },
    )
    .await;
    assert_eq!(signed_in.status, 302, "{}", signed_in.text);
    let refreshed = app.refresh(&refresh_token_of(&signed_in)).await;
    assert_eq!(
        claims(&refreshed.access_token())["sub"],
        registered.json["user"]["id"]
    );
    assert_eq!(app.audit_events_named("identity_linked").len(), 1);
    let listed = app
        .authorized(
            Function::Federation,
            "GET",
            "/auth/identities",
            &refreshed.access_token(),
            None,
        )
        .await;
    let id = listed.json["identities"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let unlinked = app
        .authorized(
            Function::Federation,
            "DELETE",
            &format!("/auth/identities/{id}"),
            &refreshed.access_token(),
            None,
        )
        .await;
    assert_eq!(unlinked.status, 204, "{}", unlinked.text);
    // The password still signs in.
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_pre_hijacked_unverified_account_is_never_linked() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with(&op).await;
    // Someone registers the victim's address with a password of their own, never verified.
    let email = unique_email();
    let planted = app.register("Mallory", &email, PASSWORD).await;
    assert_eq!(planted.status, 201, "{}", planted.text);
    let before = lasting_items(&app).await;
    // The victim then signs in with the provider, which verified the address.
    let refused = federated_sign_in(
        &app,
        &ProviderAccount {
            sub: "victim-1",
            email: &email,
            email_verified: true,
        },
    )
    .await;
    assert_eq!(refused.status, 302);
    assert_eq!(fragment(&refused), "error=account_not_verified");
    assert!(cookie_pair(set_cookies(&refused), "refreshToken").is_none());
    assert_eq!(lasting_items(&app).await, before, "nothing was written");
    let failed = app.audit_events_named("federated_sign_in_failed");
    assert_eq!(failed[0]["reason"], "account_not_verified");
}

#[tokio::test]
async fn an_address_the_provider_did_not_verify_starts_nothing() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with(&op).await;
    let before = lasting_items(&app).await;
    let refused = federated_sign_in(
        &app,
        &ProviderAccount {
            sub: "unverified-1",
            email: &unique_email(),
            email_verified: false,
        },
    )
    .await;
    assert_eq!(fragment(&refused), "error=email_not_verified");
    assert_eq!(lasting_items(&app).await, before);
}

#[tokio::test]
async fn a_callback_is_spent_once_and_needs_this_browsers_cookie_and_issuer() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with(&op).await;
    let account = ProviderAccount {
        sub: "replay-1",
        email: &unique_email(),
        email_verified: true,
    };
    let before = lasting_items(&app).await;
    // Without the binding cookie (another browser: login CSRF), the state is spent, nothing else.
    let (url, _) = start(&app, "/account").await;
    let back = Browser::default().sign_in_at_provider(&url, &account).await;
    let no_cookie = callback(&app, &back, None).await;
    assert_eq!(fragment(&no_cookie), "error=state_invalid");
    let (_, other_binding) = start(&app, "/").await;
    let (url, _) = start(&app, "/account").await;
    let back = Browser::default().sign_in_at_provider(&url, &account).await;
    let wrong_cookie = callback(&app, &back, Some(&other_binding)).await;
    assert_eq!(fragment(&wrong_cookie), "error=state_invalid");
    // A mixed-up issuer (RFC 9207).
    let (url, binding) = start(&app, "/account").await;
    let back = Browser::default().sign_in_at_provider(&url, &account).await;
    let mixed = back.replace(
        &format!(
            "iss={}",
            url::form_urlencoded::byte_serialize(op.issuer.as_bytes()).collect::<String>()
        ),
        "iss=https%3A%2F%2Fevil.example",
    );
    assert_ne!(mixed, back, "the provider sends iss");
    let mixed_up = callback(&app, &mixed, Some(&binding)).await;
    assert_eq!(fragment(&mixed_up), "error=issuer_mismatch");
    // The user declined at the provider.
    let (url, binding) = start(&app, "/account").await;
    let state = query_of(&url)["state"].clone();
    let declined = callback(
        &app,
        &format!("https://api.test/cb?error=access_denied&state={state}"),
        Some(&binding),
    )
    .await;
    assert_eq!(fragment(&declined), "error=provider_denied");
    assert_eq!(lasting_items(&app).await, before, "failures wrote nothing");
    // A good callback, then its replay.
    let (url, binding) = start(&app, "/account").await;
    let back = Browser::default().sign_in_at_provider(&url, &account).await;
    let first = callback(&app, &back, Some(&binding)).await;
    assert!(cookie_pair(set_cookies(&first), "refreshToken").is_some());
    let replay = callback(&app, &back, Some(&binding)).await;
    assert_eq!(fragment(&replay), "error=state_invalid");
    assert!(cookie_pair(set_cookies(&replay), "refreshToken").is_none());
    let spent = app
        .all_items()
        .await
        .iter()
        .filter(|item| {
            item.get("pk")
                .and_then(|pk| pk.as_s().ok())
                .is_some_and(|pk| pk.starts_with("OAUTH_STATE#"))
        })
        .count();
    // The one start that never came back is all that is left.
    assert_eq!(spent, 1);
}

#[tokio::test]
async fn a_return_path_off_the_app_is_refused_before_anything_starts() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with(&op).await;
    for redirect in [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "evil",
    ] {
        let query = HashMap::from([("redirect".to_owned(), redirect.to_owned())]);
        let refused = app
            .send(
                Function::Federation,
                get_with(&format!("/auth/oauth/{PROVIDER}/start"), &query, None),
            )
            .await;
        refused.assert_error(400, "VALIDATION_ERROR");
    }
    let unknown = app
        .send(
            Function::Federation,
            get_with("/auth/oauth/nobody/start", &HashMap::new(), None),
        )
        .await;
    unknown.assert_error(404, "NOT_FOUND");
}

/// A link started by the holder of `access_token`, through the provider as `account`: the
/// callback's answer.
async fn explicit_link(
    app: &TestApp,
    access_token: &str,
    account: &ProviderAccount<'_>,
) -> TestResponse {
    let linked = app
        .authorized(
            Function::Federation,
            "POST",
            &format!("/auth/oauth/{PROVIDER}/link"),
            access_token,
            Some(json!({ "redirect": "/settings" })),
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.text);
    let url = linked.json["authorizationUrl"].as_str().expect("a url");
    let binding = cookie_pair(set_cookies(&linked), "oauthBinding").expect("binding");
    let back = Browser::default().sign_in_at_provider(url, account).await;
    callback(app, &back, Some(&binding)).await
}

#[tokio::test]
async fn an_account_with_a_second_factor_is_linked_only_from_inside_and_then_needs_the_factor() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with(&op).await;
    let user = app.mfa_user().await;
    let account = ProviderAccount {
        sub: "mfa-1",
        email: &user.email,
        email_verified: true,
    };
    // Never linked by a sign-in: the link would come before the second factor.
    let before = lasting_items(&app).await;
    let refused = federated_sign_in(&app, &account).await;
    assert_eq!(fragment(&refused), "error=sign_in_to_link");
    assert_eq!(lasting_items(&app).await, before, "nothing was written");
    // Its owner links from the account (a recent second factor: the enrolment's).
    let linked = explicit_link(&app, &user.access_token, &account).await;
    assert_eq!(fragment(&linked), format!("linked={PROVIDER}"));
    // Now the provider signs in to it, and the second factor finishes.
    let arrived = federated_sign_in(&app, &account).await;
    let fragment = fragment(&arrived);
    let token = fragment.strip_prefix("mfa=").expect("an mfa challenge");
    assert!(cookie_pair(set_cookies(&arrived), "refreshToken").is_none());
    let verified = app
        .mfa_verify(json!({ "mfaToken": token, "code": user.code(&app) }))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(
        claims(&verified.access_token())["amr"],
        json!(["fed", "otp"])
    );
    assert_eq!(claims(&verified.access_token())["sub"], json!(user.user_id));
}

#[tokio::test]
async fn a_link_needs_a_recent_sign_in_and_dies_with_the_session_that_asked() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with_settings(&op, &[("MFA_RECENT", "1m")]).await;
    let (_, registered) = app.verified_user().await;
    app.clock.advance(61);
    // An access token alone (the session signed in over a minute ago) cannot add a way in.
    let stale = app
        .authorized(
            Function::Federation,
            "POST",
            &format!("/auth/oauth/{PROVIDER}/link"),
            &registered.access_token(),
            Some(json!({})),
        )
        .await;
    stale.assert_error(403, "RECENT_SIGN_IN_REQUIRED");
    // A fresh session starts one; logging out before the provider comes back voids it.
    let login = app
        .login(
            registered.json["user"]["email"].as_str().expect("email"),
            PASSWORD,
        )
        .await;
    let started = app
        .authorized(
            Function::Federation,
            "POST",
            &format!("/auth/oauth/{PROVIDER}/link"),
            &login.access_token(),
            Some(json!({})),
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    let url = started.json["authorizationUrl"].as_str().expect("a url");
    let binding = cookie_pair(set_cookies(&started), "oauthBinding").expect("binding");
    let back = Browser::default()
        .sign_in_at_provider(
            url,
            &ProviderAccount {
                sub: "voided-1",
                email: &unique_email(),
                email_verified: true,
            },
        )
        .await;
    assert_eq!(app.logout(Some(&login.refresh_token())).await.status, 204);
    let before = lasting_items(&app).await;
    let voided = callback(&app, &back, Some(&binding)).await;
    assert_eq!(fragment(&voided), "error=link_session_ended");
    assert_eq!(lasting_items(&app).await, before);
}

#[tokio::test]
async fn a_signed_in_user_links_a_provider_explicitly() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with(&op).await;
    let (_, registered) = app.verified_user().await;
    // A different address at the provider, not even verified: the link is the signed-in
    // user's choice.
    let done = explicit_link(
        &app,
        &registered.access_token(),
        &ProviderAccount {
            sub: "explicit-1",
            email: &unique_email(),
            email_verified: false,
        },
    )
    .await;
    assert_eq!(
        done.header("location"),
        Some(format!("https://app.test/settings#linked={PROVIDER}").as_str())
    );
    assert!(
        cookie_pair(set_cookies(&done), "refreshToken").is_none(),
        "no new session"
    );
}

#[tokio::test]
async fn federated_sign_ins_keep_the_per_user_session_bound_and_their_round_trips() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with_settings(&op, &[("MAX_SESSIONS_PER_USER", "2")]).await;
    let account = ProviderAccount {
        sub: "bounded-1",
        email: &unique_email(),
        email_verified: true,
    };
    let mut tokens = Vec::new();
    for round in 0..3 {
        let (url, binding) = start(&app, "/").await;
        let back = Browser::default().sign_in_at_provider(&url, &account).await;
        app.round_trips.take();
        let signed_in = callback(&app, &back, Some(&binding)).await;
        let trips = app.round_trips.take();
        // New: spend the state, the identity, the address, one transaction. Known: spend, the
        // identity, the profile, the sessions (for the bound), one transaction.
        assert_eq!(trips, if round == 0 { 4 } else { 5 }, "round {round}");
        tokens.push(refresh_token_of(&signed_in));
        app.clock.advance(1);
    }
    // The oldest of three sessions was ended by the third sign-in.
    app.refresh(&tokens[0])
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    assert_eq!(app.refresh(&tokens[2]).await.status, 200);
}

#[tokio::test]
async fn an_account_without_a_password_is_deleted_after_a_fresh_provider_sign_in() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with_settings(&op, &[("MFA_RECENT", "1m")]).await;
    let account = ProviderAccount {
        sub: "leaving-1",
        email: &unique_email(),
        email_verified: true,
    };
    let signed_in = federated_sign_in(&app, &account).await;
    let first = app.refresh(&refresh_token_of(&signed_in)).await;
    let first_user = claims(&first.access_token())["sub"].clone();
    // A password account must send its password; this one has none to send, and its session's
    // provider sign-in is no longer recent.
    app.clock.advance(61);
    let stale = app
        .authorized(
            Function::Account,
            "DELETE",
            "/auth/account",
            &first.access_token(),
            Some(json!({})),
        )
        .await;
    stale.assert_error(403, "RECENT_SIGN_IN_REQUIRED");
    // Signing in with the provider again renews it.
    let again = federated_sign_in(&app, &account).await;
    let fresh = app.refresh(&refresh_token_of(&again)).await;
    let deleted = app
        .authorized(
            Function::Account,
            "DELETE",
            "/auth/account",
            &fresh.access_token(),
            Some(json!({})),
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    // The identity went with the account: the next sign-in makes a new one.
    let after = federated_sign_in(&app, &account).await;
    let after = app.refresh(&refresh_token_of(&after)).await;
    assert_ne!(claims(&after.access_token())["sub"], first_user);
}

#[tokio::test]
async fn a_passwordless_account_sets_a_password_through_the_reset_link() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with(&op).await;
    let email = unique_email();
    let signed_in = federated_sign_in(
        &app,
        &ProviderAccount {
            sub: "resetting-1",
            email: &email,
            email_verified: true,
        },
    )
    .await;
    let session = app.refresh(&refresh_token_of(&signed_in)).await;
    assert_eq!(app.forgot(&email).await.status, 202);
    let link = app.one_mail_to(&email).await;
    let reset = app.reset(&link.token(), PASSWORD).await;
    assert_eq!(reset.status, 204, "{}", reset.text);
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(claims(&login.access_token())["amr"], json!(["pwd"]));
    // With a password, the provider is no longer the last way in: it may be unlinked.
    let listed = app
        .authorized(
            Function::Federation,
            "GET",
            "/auth/identities",
            &login.access_token(),
            None,
        )
        .await;
    let id = listed.json["identities"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let unlinked = app
        .authorized(
            Function::Federation,
            "DELETE",
            &format!("/auth/identities/{id}"),
            &login.access_token(),
            None,
        )
        .await;
    assert_eq!(unlinked.status, 204, "{}", unlinked.text);
    // The reset, a credential event, ended the session the provider sign-in started.
    assert_eq!(app.refresh(&session.refresh_token()).await.status, 401);
}

#[tokio::test]
async fn a_provider_down_at_its_hourly_refresh_keeps_working_from_what_was_fetched_for_a_day() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with(&op).await;
    let (url, _) = start(&app, "/").await;
    assert!(url.starts_with(&op.issuer), "{url}");
    drop(op);
    app.clock.advance(2 * 3600);
    let (stale, _) = start(&app, "/").await;
    assert!(
        stale.contains("/auth?"),
        "the stale metadata's endpoint: {stale}"
    );
    app.clock.advance(86_400);
    let query = HashMap::from([("redirect".to_owned(), "/".to_owned())]);
    let down = app
        .send(
            Function::Federation,
            get_with(&format!("/auth/oauth/{PROVIDER}/start"), &query, None),
        )
        .await;
    assert_eq!(fragment(&down), "error=provider_unavailable");
}

#[tokio::test]
async fn every_federation_event_is_audited_with_its_provider_and_no_secret() {
    let op = LocalOp::start(PROVIDER).await;
    let app = app_with(&op).await;
    let (email, registered) = app.verified_user().await;
    // Linked by a sign-in (identity_linked, federated_sign_in), unlinked, and one refusal.
    let signed_in = federated_sign_in(
        &app,
        &ProviderAccount {
            sub: "audited-1",
            email: &email,
            email_verified: true,
        },
    )
    .await;
    let refresh = refresh_token_of(&signed_in);
    let listed = app
        .authorized(
            Function::Federation,
            "GET",
            "/auth/identities",
            &registered.access_token(),
            None,
        )
        .await;
    let id = listed.json["identities"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let unlinked = app
        .authorized(
            Function::Federation,
            "DELETE",
            &format!("/auth/identities/{id}"),
            &registered.access_token(),
            None,
        )
        .await;
    assert_eq!(unlinked.status, 204, "{}", unlinked.text);
    let refused = federated_sign_in(
        &app,
        &ProviderAccount {
            sub: "audited-2",
            email: &unique_email(),
            email_verified: false,
        },
    )
    .await;
    assert_eq!(fragment(&refused), "error=email_not_verified");
    let lines = app.audit_events();
    for event in crate::audit::FEDERATION_EVENTS {
        let line = lines
            .iter()
            .find(|line| line["event"] == event.name())
            .unwrap_or_else(|| panic!("{} never written", event.name()));
        assert_eq!(line["provider"], PROVIDER, "{line}");
        assert_eq!(line[event.metric()], 1, "the EMF count: {line}");
    }
    let failed = lines
        .iter()
        .find(|line| line["event"] == "federated_sign_in_failed")
        .expect("a failure");
    assert_eq!(failed["outcome"], "failure");
    assert_eq!(failed["reason"], "email_not_verified");
    let text = app.audit.lines().join("\n");
    for secret in [
        refresh.as_str(),
        e2e::federation::CLIENT_SECRET,
        email.as_str(),
        "audited-1",
    ] {
        assert!(!text.contains(secret), "{secret} reached the audit trail");
    }
}
