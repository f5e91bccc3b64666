//! The Lambda authorizer as API Gateway runs it for payload 2.0: identity sources read first
//! (a missing one is 401 without invoking), the answer cached per identity-source values for
//! `ReauthorizeEvery`, simple or IAM responses, and the context handed on to the route.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use crate::event::Incoming;
use crate::template::AuthorizerModel;

/// The authorizer's verdict on one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Allow(HashMap<String, Value>),
    /// 403 Forbidden.
    Deny,
    /// 401 Unauthorized: a missing identity source, or the error `Unauthorized`.
    Unauthorized,
    /// 500: any other authorizer failure.
    Failed,
}

/// The identity-source values of a request, in the template's order; `None` when one is
/// missing or empty.
pub fn identity(
    model: &AuthorizerModel,
    request: &Incoming,
    route_key: &str,
) -> Option<Vec<String>> {
    model
        .identity_sources
        .iter()
        .map(|source| {
            let value = if let Some(header) = source.strip_prefix("$request.header.") {
                request.header(&header.to_ascii_lowercase())
            } else if let Some(name) = source.strip_prefix("$request.querystring.") {
                request.query_parameters().remove(name)
            } else if source == "$context.routeKey" {
                Some(route_key.to_owned())
            } else {
                None
            };
            value.filter(|value| !value.is_empty())
        })
        .collect()
}

/// Reads a function's answer into a verdict.
pub fn verdict(
    model: &AuthorizerModel,
    answer: &crate::invoke::Invocation,
    route_arn: &str,
) -> Verdict {
    use crate::invoke::Invocation;
    let document = match answer {
        Invocation::Error(error) => {
            return if error["errorMessage"] == "Unauthorized" {
                Verdict::Unauthorized
            } else {
                Verdict::Failed
            };
        }
        Invocation::Response(document) => document,
    };
    let context = || -> HashMap<String, Value> {
        document["context"]
            .as_object()
            .map(|context| context.clone().into_iter().collect())
            .unwrap_or_default()
    };
    if model.simple_responses {
        return match document["isAuthorized"].as_bool() {
            Some(true) => Verdict::Allow(context()),
            Some(false) => Verdict::Deny,
            None => Verdict::Failed,
        };
    }
    let Some(statements) = document["policyDocument"]["Statement"].as_array() else {
        return Verdict::Failed;
    };
    let applies = |effect: &str| {
        statements.iter().any(|statement| {
            statement["Effect"] == effect
                && resources(&statement["Resource"])
                    .iter()
                    .any(|pattern| wildcard_match(pattern, route_arn))
        })
    };
    if applies("Deny") || !applies("Allow") {
        Verdict::Deny
    } else {
        Verdict::Allow(context())
    }
}

fn resources(value: &Value) -> Vec<String> {
    match value {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// IAM resource matching: `*` any run of characters, `?` any one.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// Answers cached per identity-source values, as API Gateway caches them.
#[derive(Debug, Default)]
pub struct Cache {
    answers: Mutex<HashMap<Vec<String>, (Verdict, Instant)>>,
}

impl Cache {
    pub fn get(&self, key: &[String]) -> Option<Verdict> {
        let mut answers = self
            .answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match answers.get(key) {
            Some((verdict, until)) if Instant::now() < *until => Some(verdict.clone()),
            Some(_) => {
                answers.remove(key);
                None
            }
            None => None,
        }
    }

    /// Caches allow and deny answers (API Gateway caches policies, not failures).
    pub fn put(&self, key: Vec<String>, verdict: &Verdict, model: &AuthorizerModel) {
        if model.cache_ttl.is_zero() || !matches!(verdict, Verdict::Allow(_) | Verdict::Deny) {
            return;
        }
        let mut answers = self
            .answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        answers.insert(key, (verdict.clone(), Instant::now() + model.cache_ttl));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoke::Invocation;
    use serde_json::json;

    fn model(simple: bool) -> AuthorizerModel {
        AuthorizerModel {
            name: "Jwt".into(),
            function: "authorizer".into(),
            simple_responses: simple,
            identity_sources: vec![
                "$request.header.Authorization".into(),
                "$context.routeKey".into(),
            ],
            cache_ttl: std::time::Duration::from_secs(300),
        }
    }

    #[test]
    fn simple_and_iam_answers_and_failures_become_verdicts() {
        let arn = "arn:aws:execute-api:local:000000000000:local/$default/GET/admin/users/1";
        let simple = model(true);
        let allow = Invocation::Response(json!({"isAuthorized": true, "context": {"userId": "u"}}));
        assert_eq!(
            verdict(&simple, &allow, arn),
            Verdict::Allow(HashMap::from([("userId".into(), json!("u"))]))
        );
        assert_eq!(
            verdict(
                &simple,
                &Invocation::Response(json!({"isAuthorized": false})),
                arn
            ),
            Verdict::Deny
        );
        assert_eq!(
            verdict(
                &simple,
                &Invocation::Error(json!({"errorType": "x", "errorMessage": "Unauthorized"})),
                arn
            ),
            Verdict::Unauthorized
        );
        assert_eq!(
            verdict(
                &simple,
                &Invocation::Error(json!({"errorType": "x", "errorMessage": "boom"})),
                arn
            ),
            Verdict::Failed
        );
        assert_eq!(
            verdict(&simple, &Invocation::Response(json!({"nope": 1})), arn),
            Verdict::Failed
        );

        let iam = model(false);
        let policy = |statements| {
            Invocation::Response(
                json!({"principalId": "u", "policyDocument": {"Version": "2012-10-17", "Statement": statements}}),
            )
        };
        let allow_all = json!([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:local:000000000000:local/$default/*"}]);
        assert!(matches!(
            verdict(&iam, &policy(allow_all), arn),
            Verdict::Allow(_)
        ));
        let deny_admin = json!([
            {"Effect": "Allow", "Resource": ["arn:aws:execute-api:local:000000000000:local/$default/*"]},
            {"Effect": "Deny", "Resource": "arn:aws:execute-api:local:000000000000:local/$default/GET/admin/users/*"}
        ]);
        assert_eq!(verdict(&iam, &policy(deny_admin), arn), Verdict::Deny);
        assert_eq!(
            verdict(&iam, &policy(json!([])), arn),
            Verdict::Deny,
            "no allow is a deny"
        );
    }

    #[test]
    fn iam_wildcards() {
        assert!(wildcard_match("a*c", "abbbc"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("a*d", "abc"));
        assert!(wildcard_match("arn:*/GET/*", "arn:x/GET/me"));
    }

    #[test]
    fn a_missing_or_empty_identity_source_is_no_identity() {
        let request = |headers: &[(&str, &str)]| {
            let mut map = http::HeaderMap::new();
            for (name, value) in headers {
                map.insert(
                    http::HeaderName::from_bytes(name.as_bytes()).expect("n"),
                    value.parse().expect("v"),
                );
            }
            Incoming {
                method: http::Method::GET,
                path: "/me".into(),
                query: String::new(),
                headers: map,
                body: Vec::new(),
                peer: "127.0.0.1".parse().expect("ip"),
            }
        };
        assert_eq!(identity(&model(true), &request(&[]), "GET /me"), None);
        assert_eq!(
            identity(&model(true), &request(&[("authorization", "")]), "GET /me"),
            None
        );
        assert_eq!(
            identity(
                &model(true),
                &request(&[("Authorization", "Bearer x")]),
                "GET /me"
            ),
            Some(vec!["Bearer x".to_owned(), "GET /me".to_owned()])
        );
    }

    #[test]
    fn answers_are_cached_per_identity_until_they_expire() {
        let cache = Cache::default();
        let key = vec!["Bearer a".to_owned(), "GET /me".to_owned()];
        cache.put(key.clone(), &Verdict::Deny, &model(true));
        assert_eq!(cache.get(&key), Some(Verdict::Deny));
        assert_eq!(
            cache.get(&["Bearer b".to_owned(), "GET /me".to_owned()]),
            None
        );
        cache.put(vec!["f".into()], &Verdict::Failed, &model(true));
        assert_eq!(
            cache.get(&["f".to_owned()]),
            None,
            "failures are not cached"
        );
        let mut uncached = model(true);
        uncached.cache_ttl = std::time::Duration::ZERO;
        cache.put(vec!["z".into()], &Verdict::Deny, &uncached);
        assert_eq!(cache.get(&["z".to_owned()]), None);
    }

    proptest::proptest! {
        #[test]
        fn wildcards_never_panic(pattern in "[a-c*?]{0,12}", text in "[a-c]{0,12}") {
            let _ = wildcard_match(&pattern, &text);
        }
    }
}
