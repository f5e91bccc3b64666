//! Every authorizer event file under `events/`: it deserializes into its `aws_lambda_events`
//! type, and gets the answer for its shape. Unreadable events are refused, never a crash.

use auth_core::authorizer::{AuthorizerError, AuthorizerEvent, Denial};
use auth_core::token::Rejection;
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use serde_json::json;

use crate::support::{
    HTTP_STAGE, METHOD_ARN, REST_STAGE, admin_policy, assert_unauthorized, authorizer,
    authorizer_event_files, claims, decide, issue, load_event, policy_allows, route, user_policy,
};

/// The authorizer event files as this module expects them; a new file needs a case here.
const KNOWN_FILES: &[&str] = &[
    "authorizer-http-api-admin-route.json",
    "authorizer-http-api-cookie.json",
    "authorizer-http-api-no-token.json",
    "authorizer-http-api.json",
    "authorizer-rest-request-cookie.json",
    "authorizer-rest-request-header.json",
    "authorizer-rest-token-malformed.json",
    "authorizer-rest-token-missing.json",
    "authorizer-rest-token.json",
];

#[test]
fn the_authorizer_event_files_are_the_ones_this_module_has_answers_for() {
    assert_eq!(authorizer_event_files(), KNOWN_FILES);
}

#[test]
fn every_authorizer_event_file_deserializes_into_its_aws_lambda_events_type() {
    // So an `Unauthorized` below is about the token, never about an event we cannot read.
    let token = "header.payload.signature";
    for file in authorizer_event_files() {
        let file = file.as_str();
        let text = load_event(file, token);
        let has_token = !file.contains("missing") && !file.contains("no-token");
        let parsed = AuthorizerEvent::parse(&text).unwrap_or_else(|| panic!("{file}: unreadable"));
        if file.starts_with("authorizer-rest-token") {
            assert!(matches!(parsed, AuthorizerEvent::RestToken(_)), "{file}");
            let event: ApiGatewayCustomAuthorizerRequest =
                serde_json::from_str(&text).unwrap_or_else(|error| panic!("{file}: {error}"));
            assert_eq!(event.type_.as_deref(), Some("TOKEN"), "{file}");
            assert_eq!(event.method_arn.as_deref(), Some(METHOD_ARN), "{file}");
            assert_eq!(event.authorization_token.is_some(), has_token, "{file}");
        } else if file.starts_with("authorizer-rest-request") {
            assert!(matches!(parsed, AuthorizerEvent::RestRequest(_)), "{file}");
            let event: ApiGatewayCustomAuthorizerRequestTypeRequest =
                serde_json::from_str(&text).unwrap_or_else(|error| panic!("{file}: {error}"));
            assert_eq!(event.type_.as_deref(), Some("REQUEST"), "{file}");
            assert_eq!(event.method_arn.as_deref(), Some(METHOD_ARN), "{file}");
            assert_eq!(event.http_method, Some(http::Method::GET), "{file}");
            let carried = event
                .headers
                .iter()
                .any(|(_, value)| value.to_str().is_ok_and(|value| value.contains(token)));
            assert!(carried, "{file}: the token is in a header");
        } else {
            assert!(matches!(parsed, AuthorizerEvent::HttpApi(_)), "{file}");
            let event: ApiGatewayV2CustomAuthorizerV2Request =
                serde_json::from_str(&text).unwrap_or_else(|error| panic!("{file}: {error}"));
            assert_eq!(event.version.as_deref(), Some("2.0"), "{file}");
            assert!(
                event
                    .route_arn
                    .as_deref()
                    .is_some_and(|arn| arn.starts_with(HTTP_STAGE)),
                "{file}"
            );
            assert_eq!(event.request_context.stage.as_deref(), Some("$default"));
            // The credential is the first identity source, and nothing else.
            let sources = event.identity_source.clone().unwrap_or_default();
            let credential = sources.first().map(String::as_str);
            assert_eq!(
                credential.is_some_and(|source| source.contains(token)),
                has_token,
                "{file}: identitySource[0] carries the token"
            );
            assert!(
                sources.iter().skip(1).all(|source| !source.contains(token)),
                "{file}: only identitySource[0] carries the token"
            );
            // The identity source is what API Gateway read from this very request.
            if let Some(credential) = credential {
                let in_header = event
                    .headers
                    .get("authorization")
                    .is_some_and(|value| value == credential);
                let in_cookies = event
                    .cookies
                    .iter()
                    .any(|cookie| cookie == &format!("accessToken={token}"));
                assert!(
                    in_header || in_cookies,
                    "{file}: {credential:?} is in the request"
                );
            }
            // The template's identity sources: the credential, then the route key (simple
            // answers are cached per route), which is the event's own route key.
            if has_token {
                assert_eq!(sources.len(), 2, "{file}: {sources:?}");
                assert_eq!(sources.get(1), event.route_key.as_ref(), "{file}");
            }
        }
    }
}

#[tokio::test]
async fn every_authorizer_event_file_gets_the_answer_for_its_shape() {
    // Each event is run by the authorizer whose identity source matches it, and by the other.
    let header = authorizer(&[]);
    let cookie = authorizer(&[("AUTHORIZER_TOKEN_SOURCE", "cookie")]);
    let user_token = issue("user");
    let admin_token = issue("admin");
    let user_sub = claims(&user_token)["sub"].clone();
    for file in authorizer_event_files() {
        let file = file.as_str();
        let as_user = load_event(file, &user_token);
        let as_admin = load_event(file, &admin_token);
        match file {
            "authorizer-rest-token.json"
            | "authorizer-rest-request-header.json"
            | "authorizer-rest-request-cookie.json" => {
                let (right, wrong) = if file.ends_with("cookie.json") {
                    (&cookie, &header)
                } else {
                    (&header, &cookie)
                };
                let (answer, denial) = decide(right, &as_user).await;
                let response = answer.unwrap_or_else(|error| panic!("{file}: {error}"));
                assert_eq!(denial, None, "{file}");
                assert_eq!(response["principalId"], user_sub, "{file}");
                assert_eq!(
                    response["policyDocument"],
                    user_policy(REST_STAGE),
                    "{file}: stage-wide Allow plus the role's Deny statements"
                );
                let document = &response["policyDocument"];
                assert!(
                    policy_allows(document, &route(REST_STAGE, "GET", "/me")),
                    "{file}"
                );
                assert!(
                    !policy_allows(document, &route(REST_STAGE, "GET", "/admin/users/42")),
                    "{file}"
                );
                assert_eq!(response["context"]["role"], "user", "{file}");

                let (admin, _) = decide(right, &as_admin).await;
                assert_eq!(
                    admin.expect("admin")["policyDocument"],
                    admin_policy(REST_STAGE),
                    "{file}: an admin fails no rule, so nothing is denied"
                );
                // The other source is never looked at. (A TOKEN event's `authorizationToken`
                // is read as the configured source's value: `Bearer …` holds no cookie.)
                assert_unauthorized(
                    wrong,
                    &as_user,
                    Denial::Token(Rejection::Missing),
                    &format!("{file}: the other token source"),
                )
                .await;
            }
            "authorizer-rest-token-missing.json" => {
                for (authorizer, event) in [(&header, &as_user), (&cookie, &as_admin)] {
                    assert_unauthorized(authorizer, event, Denial::Token(Rejection::Missing), file)
                        .await;
                }
            }
            "authorizer-rest-token-malformed.json" => {
                assert_unauthorized(&header, &as_user, Denial::Token(Rejection::Malformed), file)
                    .await;
            }
            "authorizer-http-api.json" => {
                let (answer, denial) = decide(&header, &as_user).await;
                let response = answer.unwrap_or_else(|error| panic!("{file}: {error}"));
                assert_eq!(denial, None, "{file}");
                assert_eq!(response["isAuthorized"], true, "{file}: {response}");
                assert_eq!(response["context"]["role"], "user");
                assert_eq!(response["context"]["userId"], user_sub);
                assert!(
                    response.get("principalId").is_none(),
                    "simple responses have no principal"
                );
                let (admin, _) = decide(&header, &as_admin).await;
                assert_eq!(admin.expect("admin")["isAuthorized"], true, "{file}");
                assert_unauthorized(
                    &cookie,
                    &as_user,
                    Denial::Token(Rejection::Missing),
                    "an Authorization value holds no accessToken cookie",
                )
                .await;
            }
            "authorizer-http-api-cookie.json" => {
                let (answer, denial) = decide(&cookie, &as_user).await;
                let response = answer.unwrap_or_else(|error| panic!("{file}: {error}"));
                assert_eq!(denial, None, "{file}");
                assert_eq!(response["isAuthorized"], true, "{file}: {response}");
                assert_eq!(response["context"]["userId"], user_sub, "{file}");
                let (admin, _) = decide(&cookie, &as_admin).await;
                assert_eq!(admin.expect("admin")["context"]["role"], "admin", "{file}");
                assert_unauthorized(
                    &header,
                    &as_user,
                    Denial::Token(Rejection::Malformed),
                    "a Cookie value is no Bearer credential, and cookies are not looked at",
                )
                .await;
            }
            "authorizer-http-api-admin-route.json" => {
                let (answer, denial) = decide(&header, &as_user).await;
                assert_eq!(
                    answer,
                    Ok(json!({ "isAuthorized": false, "context": {} })),
                    "a user may not call an admin route, and a denied call gets no context"
                );
                assert_eq!(denial, Some(Denial::RoleNotAllowed));
                let (admin, denial) = decide(&header, &as_admin).await;
                let admin = admin.expect("admin");
                assert_eq!(admin["isAuthorized"], true);
                assert_eq!(admin["context"]["role"], "admin");
                assert_eq!(denial, None);
            }
            "authorizer-http-api-no-token.json" => {
                for authorizer in [&header, &cookie] {
                    assert_unauthorized(
                        authorizer,
                        &as_user,
                        Denial::Token(Rejection::Missing),
                        "no identity source is a 401, not isAuthorized: false",
                    )
                    .await;
                }
            }
            other => panic!("no expectation for {other}"),
        }
    }
}

#[tokio::test]
async fn unreadable_events_are_unauthorized_not_a_crash() {
    let authorizer = authorizer(&[]);
    for event in [
        "",
        "null",
        "[]",
        "{}",
        r#"{"type":"SOMETHING"}"#,
        r#"{"version":"1.0"}"#,
        r#"{"version":"2.0","type":"REQUEST","identitySource":["Bearer x"]}"#,
        r#"{"type":"REQUEST","methodArn":"arn:aws:execute-api:r:1:a/s/GET/"}"#,
        r#"{"type":"TOKEN","authorizationToken":7}"#,
    ] {
        assert_unauthorized(&authorizer, event, Denial::UnreadableEvent, event).await;
    }
    assert_unauthorized(
        &authorizer,
        r#"{"type":"TOKEN","methodArn":"not-an-arn","authorizationToken":"x"}"#,
        Denial::Token(Rejection::Malformed),
        "the token is checked before the ARN",
    )
    .await;
    let user = issue("user");
    for arn in [
        "arn:aws:s3:::bucket",
        "not-an-arn",
        "arn:aws:execute-api:us-east-1:123456789012:api1234567",
        "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod",
    ] {
        let event = json!({ "type": "TOKEN", "authorizationToken": format!("Bearer {user}"), "methodArn": arn });
        assert_unauthorized(&authorizer, &event.to_string(), Denial::BadRouteArn, arn).await;
    }
    let error = authorizer.handle("").await.expect_err("refused");
    assert_eq!(error, AuthorizerError::Unauthorized);
    assert_eq!(
        error.to_string(),
        "Unauthorized",
        "API Gateway maps exactly this message to 401"
    );
}
