//! Whole flows over HTTP through the dev gateway: the template's routes, its authorizer and the
//! functions, together, as deployed.

use std::sync::Arc;

use serde_json::json;

use crate::http::{Api, Reply};
use crate::stack::Stack;

pub const PASSWORD: &str = "correct horse battery staple";

pub fn unique_email(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!("{label}-{}-{nanos}@example.com", std::process::id())
}

pub async fn register(api: &Api, email: &str) -> Reply {
    let reply = api
        .post(
            "/auth/register",
            &[],
            Some(json!({"name": "Ada", "email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(reply.status, 201, "register: {reply:?}");
    reply
}

async fn refresh(api: &Api, cookie: &str) -> Reply {
    api.post("/auth/refresh", &[("cookie", cookie)], None).await
}

pub async fn register_me_refresh_logout_all_then_refused(api: Api) {
    let email = unique_email("lifecycle");
    let registered = register(&api, &email).await;
    let token = registered.access_token();
    let cookie = registered.refresh_cookie().expect("refresh cookie");
    assert!(
        registered
            .header("set-cookie")
            .is_some_and(|c| c.contains("HttpOnly") && c.contains("Path=/auth")),
        "{registered:?}"
    );

    let me = api.get("/me", Some(&token)).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["user"]["email"], email.as_str());
    let anonymous = api.get("/me", None).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");

    let refreshed = refresh(&api, &cookie).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let token = refreshed.access_token();
    let cookie = refreshed.refresh_cookie().expect("rotated cookie");
    assert_eq!(api.get("/me", Some(&token)).await.status, 200);

    let everywhere = api
        .post(
            "/auth/logout-all",
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await;
    assert_eq!(everywhere.status, 204, "{everywhere:?}");
    let refused = refresh(&api, &cookie).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(refused.body["code"], "INVALID_REFRESH_TOKEN");
    // A client without its in-memory token (a reload, another tab) cannot get back in.
    assert_eq!(api.get("/me", None).await.status, 401);
}

pub async fn admin_route_is_denied_to_a_user_and_allowed_after_set_role_and_refresh(
    api: Api,
    stack: Arc<Stack>,
) {
    let email = unique_email("admin");
    let registered = register(&api, &email).await;
    let id = registered.body["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/admin/users/{id}");
    let denied = api.get(&path, Some(&registered.access_token())).await;
    assert_eq!(denied.status, 403, "{denied:?}");

    let promoted = stack.clone();
    let email_for_role = email.clone();
    tokio::task::spawn_blocking(move || {
        promoted.local_dev(&["set-role", &email_for_role, "admin"])
    })
    .await
    .expect("set-role ran")
    .expect("set-role succeeded");
    // The old token still carries the old role (and its denial is cached per token).
    assert_eq!(
        api.get(&path, Some(&registered.access_token()))
            .await
            .status,
        403
    );
    let refreshed = refresh(&api, &registered.refresh_cookie().expect("cookie")).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let allowed = api.get(&path, Some(&refreshed.access_token())).await;
    assert_eq!(allowed.status, 200, "{allowed:?}");
    assert_eq!(allowed.body["user"]["email"], email.as_str());
}

pub async fn cors_preflight_and_the_jwks_document_are_served_as_deployed(api: Api, origin: String) {
    let preflight = api
        .send(
            "OPTIONS",
            "/auth/refresh",
            &[
                ("origin", &origin),
                ("access-control-request-method", "POST"),
            ],
            None,
        )
        .await;
    assert_eq!(preflight.status, 204, "{preflight:?}");
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(origin.as_str())
    );
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    let foreign = api
        .send(
            "OPTIONS",
            "/auth/refresh",
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "POST"),
            ],
            None,
        )
        .await;
    assert_eq!(foreign.header("access-control-allow-origin"), None);

    let jwks = api.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, 200, "{jwks:?}");
    assert_eq!(jwks.body["keys"][0]["alg"], "EdDSA", "{jwks:?}");
}

pub async fn the_cookie_routes_refuse_other_origins_as_deployed(api: Api, origin: String) {
    let registered = register(&api, &unique_email("csrf")).await;
    let cookie = registered.refresh_cookie().expect("cookie");
    let forged = api
        .post(
            "/auth/refresh",
            &[("cookie", &cookie), ("origin", "https://evil.example")],
            None,
        )
        .await;
    assert_eq!(forged.status, 403, "{forged:?}");
    assert_eq!(forged.body["code"], "CSRF_REJECTED");
    let own = api
        .post(
            "/auth/refresh",
            &[("cookie", &cookie), ("origin", &origin)],
            None,
        )
        .await;
    assert_eq!(
        own.status, 200,
        "the template's AllowedOrigins reach the function: {own:?}"
    );
}

/// Under `AuthorizerKind=builtin-jwt`: the issuer's discovery document and keys are served at
/// the issuer URL, a verifier that is not ours (PyJWT) verifies our token from that URL alone,
/// and the emulated built-in authorizer refuses a tampered token as API Gateway does.
pub async fn the_built_in_authorizer_trusts_the_issuer_and_so_does_an_independent_verifier(
    api: Api,
    base: String,
    root: std::path::PathBuf,
) {
    let discovery = api.get("/.well-known/openid-configuration", None).await;
    assert_eq!(discovery.status, 200, "{discovery:?}");
    assert_eq!(discovery.body["issuer"], base.as_str());
    assert_eq!(
        discovery.body["jwks_uri"],
        format!("{base}/.well-known/jwks.json").as_str()
    );
    assert_eq!(
        discovery.body["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert!(
        discovery
            .header("cache-control")
            .is_some_and(|value| value.contains("max-age")),
        "{discovery:?}"
    );
    let jwks = api.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.body["keys"][0]["kty"], "RSA", "{jwks:?}");

    let registered = register(&api, &unique_email("builtin")).await;
    let token = registered.access_token();
    let python = root.join(".tools/venv/bin/python");
    let verifier = root.join("tests/support/verify_jwt.py");
    let (issuer, checked) = (base.clone(), token.clone());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(verifier)
            .args([issuer.as_str(), "api", checked.as_str()])
            .output()
    })
    .await
    .expect("verifier ran")
    .expect("PyJWT in .tools/venv (WITH_JWT_VERIFIER=1 scripts/setup)");
    assert!(
        output.status.success(),
        "PyJWT refused our token: {} {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let claims: serde_json::Value = serde_json::from_slice(&output.stdout).expect("claims");
    assert_eq!(claims["scope"], "role:user", "the role travels as a scope");

    let me = api.get("/me", Some(&token)).await;
    assert_eq!(me.status, 200, "{me:?}");
    // The signature's first character (its last may only carry padding bits).
    let signature_at = token.rfind('.').expect("three segments") + 1;
    let flipped = if token
        .get(signature_at..)
        .is_some_and(|rest| rest.starts_with('A'))
    {
        "B"
    } else {
        "A"
    };
    let mut tampered = token.clone();
    tampered.replace_range(signature_at..=signature_at, flipped);
    let refused = api.get("/me", Some(&tampered)).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(refused.body["message"], "Unauthorized");
    assert!(
        refused
            .header("www-authenticate")
            .is_some_and(|value| value.contains("invalid_token")),
        "{refused:?}"
    );
    // The sessions list reads the caller from the built-in authorizer's string claims.
    let sessions = api.get("/auth/sessions", Some(&token)).await;
    assert_eq!(sessions.status, 200, "{sessions:?}");
    assert_eq!(
        sessions.body["sessions"][0]["current"], true,
        "{sessions:?}"
    );
}
