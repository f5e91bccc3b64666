//! Answers that stay right when API Gateway caches them: IAM policies that allow the stage and
//! deny each rule the role fails (one cached policy answers every route), simple answers matched
//! against the cached route key, HTTP API `iam` mode, a flat context, and the principal = `sub`.

use auth_core::authorizer::{Denial, ResponseMode, TokenSource};
use auth_core::config::AuthorizerSettings;
use auth_core::token::Rejection;
use serde_json::{Value, json};

use crate::support::{
    HTTP_STAGE, REST_STAGE, ROUTE_MFA, admin_policy, assert_unauthorized, authorizer, claims,
    decide, env, http_api_bearer_event, http_api_event, issue, issue_aal2, load_event,
    policy_allows, rest_request_event, rest_token_event, route, run, support_policy, user_policy,
    wildcard_matches,
};

#[tokio::test]
async fn http_api_events_can_be_answered_with_iam_policies() {
    let header = authorizer(&[("AUTHORIZER_RESPONSE", "iam")]);
    let cookie = authorizer(&[
        ("AUTHORIZER_RESPONSE", "iam"),
        ("AUTHORIZER_TOKEN_SOURCE", "cookie"),
    ]);
    let user_token = issue("user");
    let admin_token = issue("admin");
    let admin_route = route(
        HTTP_STAGE,
        "GET",
        "/admin/users/0123456789abcdef0123456789abcdef",
    );
    for file in [
        "authorizer-http-api.json",
        "authorizer-http-api-cookie.json",
        "authorizer-http-api-admin-route.json",
    ] {
        let authorizer = if file.contains("cookie") {
            &cookie
        } else {
            &header
        };
        let (answer, denial) = decide(authorizer, &load_event(file, &user_token)).await;
        let response = answer
            .unwrap_or_else(|error| panic!("{file}: IAM mode answers with a policy: {error}"));
        assert_eq!(
            denial, None,
            "{file}: a valid token is allowed; the policy does the rest"
        );
        assert_eq!(
            response["principalId"],
            claims(&user_token)["sub"],
            "{file}"
        );
        let document = &response["policyDocument"];
        assert_eq!(document, &user_policy(HTTP_STAGE), "{file}");
        assert!(
            policy_allows(document, &route(HTTP_STAGE, "GET", "/me")),
            "{file}"
        );
        assert!(!policy_allows(document, &admin_route), "{file}");
        assert_eq!(response["context"]["role"], "user", "{file}");

        let admin = run(authorizer, &load_event(file, &admin_token))
            .await
            .expect("admin");
        assert_eq!(admin["policyDocument"], admin_policy(HTTP_STAGE), "{file}");
        assert!(
            policy_allows(&admin["policyDocument"], &admin_route),
            "{file}"
        );
    }

    // Refusals are the 401 error, not a Deny policy: nothing about an unknown caller is cached
    // as a policy, and the client learns to authenticate.
    for authorizer in [&header, &cookie] {
        assert_unauthorized(
            authorizer,
            &load_event("authorizer-http-api-no-token.json", ""),
            Denial::Token(Rejection::Missing),
            "no token",
        )
        .await;
    }
    assert_unauthorized(
        &header,
        &load_event("authorizer-http-api.json", "forged"),
        Denial::Token(Rejection::Malformed),
        "forged",
    )
    .await;
    assert_unauthorized(
        &header,
        &http_api_event(
            Some(&[&format!("Bearer {user_token}")]),
            "GET /me",
            "/me",
            |event| {
                event["routeArn"] = json!("arn:aws:s3:::bucket");
            },
        ),
        Denial::BadRouteArn,
        "an IAM answer needs the API and stage from routeArn",
    )
    .await;
    // IAM answers are cached per token, so the identity source needs no route key.
    let (answer, denial) = decide(
        &header,
        &http_api_event(
            Some(&[&format!("Bearer {user_token}")]),
            "GET /me",
            "/me",
            |_| {},
        ),
    )
    .await;
    assert_eq!(
        answer.expect("policy")["policyDocument"],
        user_policy(HTTP_STAGE)
    );
    assert_eq!(denial, None);
}

#[tokio::test]
async fn one_cached_policy_answers_every_route_correctly() {
    let authorizer = authorizer(&[]);
    let token = issue("user");
    let authorization = format!("Bearer {token}");
    // API Gateway authorizes the first route, caches the document per token, and reuses it.
    let cached = run(&authorizer, &rest_token_event(&authorization))
        .await
        .expect("policy");
    let document = &cached["policyDocument"];
    let rest = |method: &str, path: &str| route(REST_STAGE, method, path);
    assert!(policy_allows(document, &rest("GET", "/me")));

    // A second request, for an admin route, with the same token: API Gateway does not call the
    // authorizer again but evaluates the cached document against the new route's ARN.
    let admin_route = rest("GET", "/admin/users/0123456789abcdef0123456789abcdef");
    assert!(
        !policy_allows(document, &admin_route),
        "the cached document denies the admin route"
    );
    // Had the cache been empty, the answer would be the same document: the policy does not
    // depend on which route was authorized first, so the cache cannot change any answer.
    for first in [admin_route.as_str(), &rest("DELETE", "/ops/restart")] {
        let fresh = run(
            &authorizer,
            &json!({ "type": "TOKEN", "authorizationToken": authorization, "methodArn": first })
                .to_string(),
        )
        .await
        .expect("a valid token gets a policy even on a route it may not call");
        assert_eq!(&fresh, &cached, "{first}");
    }
    let request = run(
        &authorizer,
        &rest_request_event(&[("Authorization", &authorization)]),
    )
    .await
    .expect("policy");
    assert_eq!(&request, &cached, "REST REQUEST answers the same");

    for (method, path, allowed) in [
        ("POST", "/orders/7", true),
        ("GET", "/users/42", true),
        ("GET", "/admin/users/42", false),
        // `{id}` becomes `*`, which in IAM spans segments too: over-denying, the safe side.
        ("GET", "/admin/users/42/roles", false),
        ("GET", "/admin/users", true),
        ("POST", "/admin/users/42", true),
        ("GET", "/administrator", true),
        ("GET", "/ops/restart", false),
        ("DELETE", "/ops/a/b", false),
        ("OPTIONS", "/ops/x", false),
        ("GET", "/ops", true),
    ] {
        assert_eq!(
            policy_allows(document, &rest(method, path)),
            allowed,
            "{method} {path}"
        );
    }

    for (role, policy) in [
        ("admin", admin_policy(REST_STAGE)),
        ("support", support_policy(REST_STAGE)),
    ] {
        let answer = run(
            &authorizer,
            &rest_token_event(&format!("Bearer {}", issue(role))),
        )
        .await
        .expect("policy");
        assert_eq!(answer["policyDocument"], policy, "{role}");
    }
    let support = support_policy(REST_STAGE);
    assert!(policy_allows(&support, &rest("DELETE", "/ops/restart")));
    assert!(!policy_allows(&support, &rest("GET", "/admin/users/42")));
    let admin = admin_policy(REST_STAGE);
    assert!(policy_allows(&admin, &rest("GET", "/admin/users/42")));
    assert!(policy_allows(&admin, &rest("PUT", "/ops/x")));

    // The matcher itself, so the assertions above mean what they say.
    assert!(wildcard_matches(b"a/*/*", b"a/GET/x/y"));
    assert!(wildcard_matches(b"a/?ET/*", b"a/GET/"));
    assert!(!wildcard_matches(b"a/GET/admin/*", b"a/GET/admin"));
    assert!(!wildcard_matches(b"a/GET/*", b"a/POST/x"));
    assert!(wildcard_matches(b"a/*/ops/*", b"a/PATCH/ops/x"));
}

#[tokio::test]
async fn iam_policies_deny_each_failed_rule_by_its_route_key_pattern() {
    let rest = authorizer(&[]);
    let http = authorizer(&[("AUTHORIZER_RESPONSE", "iam")]);
    for (role, policy) in [
        ("user", user_policy as fn(&str) -> Value),
        ("support", support_policy),
        ("admin", admin_policy),
    ] {
        let authorization = format!("Bearer {}", issue(role));
        let answer = run(&rest, &rest_token_event(&authorization))
            .await
            .expect("REST policy");
        assert_eq!(answer["policyDocument"], policy(REST_STAGE), "{role}");
        let answer = run(&http, &http_api_bearer_event(&authorization))
            .await
            .expect("HTTP API policy");
        assert_eq!(answer["policyDocument"], policy(HTTP_STAGE), "{role}");
    }
    // No rules: every valid token gets the whole stage, and nothing more.
    let open = authorizer(&[("ROUTE_ROLES", "")]);
    let answer = run(
        &open,
        &rest_token_event(&format!("Bearer {}", issue("user"))),
    )
    .await
    .expect("policy");
    assert_eq!(answer["policyDocument"], admin_policy(REST_STAGE));
    // The stage comes from the ARN of the request, so a policy never reaches another stage.
    let staging = json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {}", issue("admin")),
        "methodArn": "arn:aws:execute-api:eu-west-1:210987654321:otherapi/staging/POST/orders"
    });
    let answer = run(&rest, &staging.to_string()).await.expect("policy");
    assert_eq!(
        answer["policyDocument"],
        admin_policy("arn:aws:execute-api:eu-west-1:210987654321:otherapi/staging")
    );
}

#[tokio::test]
async fn simple_answers_match_rules_against_the_cached_route_key() {
    let authorizer = authorizer(&[]);
    let user = format!("Bearer {}", issue("user"));
    let admin = format!("Bearer {}", issue("admin"));
    let support = format!("Bearer {}", issue("support"));
    let allowed = |answer: &Value| answer["isAuthorized"] == true;
    for (authorization, route_key, path, expected) in [
        (&user, "GET /me", "/me", true),
        (&user, "GET /admin/users/{id}", "/admin/users/42", false),
        (&support, "GET /admin/users/{id}", "/admin/users/42", false),
        (&admin, "GET /admin/users/{id}", "/admin/users/42", true),
        (&user, "ANY /ops/{proxy+}", "/ops/restart", false),
        (&support, "ANY /ops/{proxy+}", "/ops/restart", true),
        (&admin, "ANY /ops/{proxy+}", "/ops/a/b", true),
        (&user, "POST /admin/users", "/admin/users", true),
        (&user, "$default", "/anything", true),
    ] {
        let event = http_api_event(Some(&[authorization, route_key]), route_key, path, |_| {});
        let (answer, denial) = decide(&authorizer, &event).await;
        let answer = answer.expect("a valid token is answered");
        assert_eq!(allowed(&answer), expected, "{route_key}: {answer}");
        if expected {
            assert_eq!(denial, None);
            assert!(answer["context"]["userId"].is_string(), "{answer}");
        } else {
            assert_eq!(denial, Some(Denial::RoleNotAllowed), "{route_key}");
            assert_eq!(answer, json!({ "isAuthorized": false, "context": {} }));
        }
    }

    // The answer is cached per identity source, so it follows the route key there, not the
    // event's own routeKey, path or routeArn: those never reach the cache key.
    let mismatched = http_api_event(
        Some(&[&user, "GET /me"]),
        "GET /admin/users/{id}",
        "/admin/users/42",
        |_| {},
    );
    let (answer, _) = decide(&authorizer, &mismatched).await;
    assert_eq!(answer.expect("answer")["isAuthorized"], true);
    let mismatched = http_api_event(
        Some(&[&user, "GET /admin/users/{id}"]),
        "GET /me",
        "/me",
        |_| {},
    );
    let (answer, _) = decide(&authorizer, &mismatched).await;
    assert_eq!(answer.expect("answer")["isAuthorized"], false);

    // No route key among the identity sources: a simple answer could be replayed on any route.
    let (answer, denial) = decide(
        &authorizer,
        &http_api_event(Some(&[&admin]), "GET /me", "/me", |_| {}),
    )
    .await;
    assert_eq!(answer, Ok(json!({ "isAuthorized": false, "context": {} })));
    assert_eq!(denial, Some(Denial::MissingRouteKey));

    // `$default` rules are possible with simple answers, cached per route key.
    let strict_default = crate::support::authorizer(&[("ROUTE_ROLES", "$default=admin")]);
    for (authorization, expected) in [(&user, false), (&admin, true)] {
        let event = http_api_event(Some(&[authorization, "$default"]), "$default", "/x", |_| {});
        let (answer, _) = decide(&strict_default, &event).await;
        assert_eq!(answer.expect("answer")["isAuthorized"], expected);
    }
}

#[tokio::test]
async fn the_context_is_flat_and_the_principal_is_the_subject() {
    let simple = authorizer(&[]);
    let cookie = authorizer(&[("AUTHORIZER_TOKEN_SOURCE", "cookie")]);
    let iam = authorizer(&[("AUTHORIZER_RESPONSE", "iam")]);
    let token = issue("user");
    let token_claims = claims(&token);
    let cookie_event = http_api_event(
        Some(&[&format!("theme=dark; accessToken={token}"), "GET /me"]),
        "GET /me",
        "/me",
        |event| event["cookies"] = json!(["theme=dark", format!("accessToken={token}")]),
    );
    let cases = [
        (&simple, rest_token_event(&format!("Bearer {token}")), true),
        (
            &simple,
            load_event("authorizer-rest-request-header.json", &token),
            true,
        ),
        (
            &cookie,
            load_event("authorizer-rest-request-cookie.json", &token),
            true,
        ),
        (
            &simple,
            load_event("authorizer-http-api.json", &token),
            false,
        ),
        (&cookie, cookie_event, false),
        (&iam, load_event("authorizer-http-api.json", &token), true),
    ];
    for (authorizer, event, has_principal) in cases {
        let response = run(authorizer, &event).await.expect("authorized");
        let context = response["context"].as_object().expect("context object");
        for (key, value) in context {
            assert!(
                value.is_string() || value.is_number() || value.is_boolean(),
                "context value {key} is not flat: {value}"
            );
        }
        let mut keys: Vec<&str> = context.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "aal",
                "emailVerified",
                "expiresAt",
                "role",
                "sessionId",
                "userId"
            ]
        );
        assert_eq!(context["aal"], "aal1");
        assert_eq!(context["emailVerified"], token_claims["email_verified"]);
        assert_eq!(context["userId"], token_claims["sub"]);
        assert_eq!(context["sessionId"], token_claims["sid"]);
        assert_eq!(context["role"], "user");
        assert_eq!(context["expiresAt"], token_claims["exp"]);
        if has_principal {
            assert_eq!(response["principalId"], token_claims["sub"], "{response}");
        } else {
            assert_eq!(
                response.as_object().map(|answer| answer.len()),
                Some(2),
                "a simple answer is isAuthorized and context only: {response}"
            );
        }
    }
}

#[test]
fn a_bad_route_rule_stops_start_up_with_a_clear_message() {
    let refused = |pairs: &[(&str, &str)]| {
        AuthorizerSettings::from_env(&env(pairs))
            .expect_err("refused at init")
            .to_string()
    };
    for rule in [
        "GET /admin/*=admin",
        "GET /admin/users/{id}",
        "GET /admin/users/{id}=Admin",
        "FETCH /x=admin",
        "GET /x=admin;GET /x=support",
    ] {
        let error = refused(&[("ROUTE_ROLES", rule)]);
        assert!(error.contains("ROUTE_ROLES"), "{rule}: {error}");
        let named = rule.split(';').next_back().expect("a rule");
        assert!(error.contains(named), "{rule}: {error}");
    }
    // An IAM policy cannot name "every route no other route matched".
    let error = refused(&[
        ("AUTHORIZER_RESPONSE", "iam"),
        ("ROUTE_ROLES", "$default=admin"),
    ]);
    assert!(
        error.contains("ROUTE_ROLES") && error.contains("$default"),
        "{error}"
    );
    assert!(AuthorizerSettings::from_env(&env(&[("ROUTE_ROLES", "$default=admin")])).is_ok());

    let error = refused(&[("AUTHORIZER_RESPONSE", "xml")]);
    assert!(error.contains("AUTHORIZER_RESPONSE"), "{error}");
    let error = refused(&[("AUTHORIZER_TOKEN_SOURCE", "query")]);
    assert!(error.contains("AUTHORIZER_TOKEN_SOURCE"), "{error}");

    let settings = AuthorizerSettings::from_env(&env(&[
        ("AUTHORIZER_RESPONSE", "IAM"),
        ("AUTHORIZER_TOKEN_SOURCE", "Cookie"),
    ]))
    .expect("values are case-insensitive");
    assert_eq!(settings.options.response, ResponseMode::Iam);
    assert_eq!(settings.options.token_source, TokenSource::Cookie);
    let defaults = AuthorizerSettings::from_env(&env(&[])).expect("defaults");
    assert_eq!(defaults.options.response, ResponseMode::Simple);
    assert_eq!(
        defaults.options.token_source,
        TokenSource::AuthorizationHeader
    );
    let rules: Vec<String> = defaults
        .options
        .rules
        .iter()
        .map(|rule| rule.route.text())
        .collect();
    assert_eq!(rules, ["GET /admin/users/{id}", "ANY /ops/{proxy+}"]);
}

#[test]
fn each_token_source_names_the_identity_sources_api_gateway_must_cache_on() {
    use ResponseMode::{Iam, Simple};
    use TokenSource::{AuthorizationHeader, Cookie};
    assert_eq!(
        AuthorizationHeader.identity_sources(Simple),
        ["$request.header.Authorization", "$context.routeKey"]
    );
    assert_eq!(
        AuthorizationHeader.identity_sources(Iam),
        ["$request.header.Authorization"]
    );
    assert_eq!(
        Cookie.identity_sources(Simple),
        ["$request.header.Cookie", "$context.routeKey"]
    );
    assert_eq!(Cookie.identity_sources(Iam), ["$request.header.Cookie"]);
}

#[tokio::test]
async fn route_mfa_routes_need_an_aal2_token_in_simple_and_iam_answers() {
    let simple = authorizer(&[("ROUTE_MFA", ROUTE_MFA)]);
    let iam = authorizer(&[("ROUTE_MFA", ROUTE_MFA), ("AUTHORIZER_RESPONSE", "iam")]);
    let one_factor = format!("Bearer {}", issue("admin"));
    let two_factors = format!("Bearer {}", issue_aal2("admin"));
    for (authorization, route_key, expected, expected_denial) in [
        (
            &one_factor,
            "POST /orders",
            false,
            Some(Denial::SecondFactorRequired),
        ),
        (&two_factors, "POST /orders", true, None),
        (
            &one_factor,
            "GET /admin/users/{id}",
            false,
            Some(Denial::SecondFactorRequired),
        ),
        (&two_factors, "GET /admin/users/{id}", true, None),
        (&one_factor, "GET /me", true, None),
    ] {
        let event = http_api_event(Some(&[authorization, route_key]), route_key, "/x", |_| {});
        let (answer, denial) = decide(&simple, &event).await;
        let answer = answer.expect("answered");
        assert_eq!(answer["isAuthorized"], expected, "{route_key}: {answer}");
        assert_eq!(denial, expected_denial, "{route_key}");
        if expected {
            assert_eq!(
                answer["context"]["aal"],
                if authorization == &two_factors {
                    "aal2"
                } else {
                    "aal1"
                }
            );
        }
    }
    // A second factor does not lift a role rule.
    let user_aal2 = format!("Bearer {}", issue_aal2("user"));
    let event = http_api_event(
        Some(&[&user_aal2, "GET /admin/users/{id}"]),
        "GET /admin/users/{id}",
        "/admin/users/1",
        |_| {},
    );
    assert_eq!(
        decide(&simple, &event).await.1,
        Some(Denial::RoleNotAllowed)
    );

    // IAM answers: an aal1 token's one cached policy denies every ROUTE_MFA route.
    let orders = route(HTTP_STAGE, "POST", "/orders");
    let admin_user = route(HTTP_STAGE, "GET", "/admin/users/42");
    let me = route(HTTP_STAGE, "GET", "/me");
    let policy_of = |answer: Value| answer["policyDocument"].clone();
    let event =
        |authorization: &str| http_api_event(Some(&[authorization]), "GET /me", "/me", |_| {});
    let aal1 = policy_of(run(&iam, &event(&one_factor)).await.expect("policy"));
    assert!(policy_allows(&aal1, &me));
    assert!(!policy_allows(&aal1, &orders));
    assert!(!policy_allows(&aal1, &admin_user));
    let aal2 = policy_of(run(&iam, &event(&two_factors)).await.expect("policy"));
    assert_eq!(
        aal2,
        admin_policy(HTTP_STAGE),
        "nothing denied to an aal2 admin"
    );
    assert!(policy_allows(&aal2, &orders) && policy_allows(&aal2, &admin_user));
}

#[test]
fn malformed_route_mfa_is_refused_at_init_naming_the_rule() {
    for rule in ["GET /orders=admin", "ORDERS", "GET /a//b"] {
        let error = AuthorizerSettings::from_env(&env(&[("ROUTE_MFA", rule)]))
            .expect_err(rule)
            .to_string();
        assert!(
            error.contains("ROUTE_MFA") && error.contains(rule),
            "{rule}: {error}"
        );
    }
    let error = AuthorizerSettings::from_env(&env(&[
        ("ROUTE_MFA", "$default"),
        ("AUTHORIZER_RESPONSE", "iam"),
    ]))
    .expect_err("iam $default")
    .to_string();
    assert!(error.contains("ROUTE_MFA"), "{error}");
}
