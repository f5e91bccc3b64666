//! Route role rules (`ROUTE_ROLES`) and the routes that need a second factor (`ROUTE_MFA`),
//! parsed and checked once at init.
//!
//! A rule names a route exactly as API Gateway does, by its route key: `GET /admin/users/{id}`,
//! `ANY /admin/{proxy+}`, `$default`; then `=` and the roles allowed, `|`-separated. Rules are
//! separated by `;`. Routes no rule names are open to any valid token.
//!
//! HTTP API simple answers are cached per route key, so a rule is matched against the route
//! key the answer is cached for, never against the concrete path. IAM answers (REST, and HTTP
//! API with `AUTHORIZER_RESPONSE=iam`) are cached per token and applied to every route, so each
//! rule the caller's role fails becomes a Deny resource (`{id}` and `{proxy+}` become `*`).

use super::ResponseMode;
use crate::assurance::Aal;
use crate::domain::Role;

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

/// A route key: `$default`, or a method (or `ANY`) and a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKey {
    Default,
    Route { method: String, path: String },
}

impl RouteKey {
    /// Parses `METHOD /path/{param}/{greedy+}` or `$default`.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        if text == "$default" {
            return Ok(Self::Default);
        }
        let (method, path) = text
            .split_once(' ')
            .ok_or("is not a route key such as \"GET /admin/users/{id}\"")?;
        let method = method.trim().to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err("has an unknown HTTP method (or use ANY)");
        }
        let path = path.trim();
        if !path.starts_with('/') {
            return Err("has a path that does not start with '/'");
        }
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        let last = segments.len().saturating_sub(1);
        for (index, segment) in segments.iter().enumerate() {
            let valid = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) => index == last && is_name(greedy),
                    None => is_name(name),
                },
                None => {
                    (segment.is_empty() && segments.len() == 1)
                        || (!segment.is_empty()
                            && segment
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)))
                }
            };
            if !valid {
                return Err(
                    "has a path segment that is neither literal nor {param} (or a final {proxy+})",
                );
            }
        }
        Ok(Self::Route {
            method,
            path: path.to_owned(),
        })
    }

    /// Whether this is `route_key` as API Gateway writes it, compared without allocating
    /// (the authorizer's hot path).
    pub fn is(&self, route_key: &str) -> bool {
        match self {
            Self::Default => route_key == "$default",
            Self::Route { method, path } => route_key
                .split_once(' ')
                .is_some_and(|(m, p)| m == method && p == path),
        }
    }

    /// The route key as API Gateway writes it in `routeKey`.
    pub fn text(&self) -> String {
        match self {
            Self::Default => "$default".to_owned(),
            Self::Route { method, path } => format!("{method} {path}"),
        }
    }

    /// The method and path of this route in an `execute-api` resource ARN: `ANY` and every
    /// `{param}` become `*` (which, as in IAM, may cover more than one segment: over-denying
    /// is the safe direction). `None` for `$default`, which no ARN can name.
    pub fn arn_pattern(&self) -> Option<(String, String)> {
        match self {
            Self::Default => None,
            Self::Route { method, path } => {
                let method = if method == "ANY" { "*" } else { method };
                let path = path
                    .split('/')
                    .map(|segment| {
                        if segment.starts_with('{') {
                            "*"
                        } else {
                            segment
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                Some((method.to_owned(), path))
            }
        }
    }
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The `;`-separated rules of a setting, each with the error that names it.
fn rules_in(text: &str) -> impl Iterator<Item = (&str, impl Fn(&'static str) -> RuleError)> {
    text.split(';')
        .map(str::trim)
        .filter(|rule| !rule.is_empty())
        .map(|rule| {
            let refuse = move |reason| RuleError {
                rule: rule.to_owned(),
                reason,
            };
            (rule, refuse)
        })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    pub route: RouteKey,
    pub roles: Vec<Role>,
}

impl RouteRule {
    pub fn allows(&self, role: &str) -> bool {
        self.roles.iter().any(|allowed| allowed.as_str() == role)
    }
}

/// A rule that was refused, named so the operator can find it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule:?} {reason}; expected e.g. \"GET /admin/users/{{id}}=admin|support\"")]
pub struct RuleError {
    pub rule: String,
    pub reason: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteRules(Vec<RouteRule>);

impl RouteRules {
    /// Parses the rules for an authorizer answering HTTP API events in `response` mode. A rule
    /// that mode cannot honour under caching is refused: `$default` with IAM answers (no ARN
    /// names "every route no other route matched").
    pub fn parse(text: &str, response: ResponseMode) -> Result<Self, RuleError> {
        let mut rules = Vec::new();
        for (rule, refuse) in rules_in(text) {
            let (route, roles) = rule.rsplit_once('=').ok_or_else(|| refuse("has no '='"))?;
            let route = RouteKey::parse(route).map_err(&refuse)?;
            if route == RouteKey::Default && response == ResponseMode::Iam {
                return Err(refuse(
                    "names $default, which an IAM policy cannot express; use simple responses",
                ));
            }
            let roles = roles
                .split('|')
                .map(|role| Role::parse(role.trim()).ok_or_else(|| refuse("names an invalid role")))
                .collect::<Result<Vec<_>, _>>()?;
            if rules.iter().any(|known: &RouteRule| known.route == route) {
                return Err(refuse("names a route another rule already names"));
            }
            rules.push(RouteRule { route, roles });
        }
        Ok(Self(rules))
    }

    /// Whether `role` may call the route with this route key (HTTP API simple answers).
    pub fn allows(&self, role: &str, route_key: &str) -> bool {
        self.0
            .iter()
            .filter(|rule| rule.route.is(route_key))
            .all(|rule| rule.allows(role))
    }

    /// Every rule `role` does not satisfy, whatever the route: what a cached policy must deny.
    pub fn denied_for<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a RouteRule> + 'a {
        self.0.iter().filter(move |rule| !rule.allows(role))
    }

    pub fn iter(&self) -> impl Iterator<Item = &RouteRule> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The routes that need an `aal2` token (`ROUTE_MFA`): route keys in `ROUTE_ROLES`'s syntax,
/// `;`-separated, without roles. Matched, like role rules, against the route key an answer is
/// cached for; under IAM answers each becomes a Deny resource in an `aal1` token's policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaRoutes(Vec<RouteKey>);

impl MfaRoutes {
    /// Parses the routes for an authorizer answering in `response` mode; `$default` is refused
    /// with IAM answers, as for role rules.
    pub fn parse(text: &str, response: ResponseMode) -> Result<Self, RuleError> {
        let mut routes = Vec::new();
        for (rule, refuse) in rules_in(text) {
            if rule.contains('=') {
                return Err(refuse(
                    "names roles; ROUTE_MFA lists route keys only, e.g. \"GET /admin/users/{id}\"",
                ));
            }
            let route = RouteKey::parse(rule).map_err(&refuse)?;
            if route == RouteKey::Default && response == ResponseMode::Iam {
                return Err(refuse(
                    "names $default, which an IAM policy cannot express; use simple responses",
                ));
            }
            if routes.contains(&route) {
                return Err(refuse("names a route already listed"));
            }
            routes.push(route);
        }
        Ok(Self(routes))
    }

    /// Whether a token at `aal` may call the route with this route key (simple answers).
    pub fn allows(&self, aal: Aal, route_key: &str) -> bool {
        aal >= Aal::Aal2 || !self.0.iter().any(|route| route.is(route_key))
    }

    /// The routes a token at `aal` may not call: what its cached policy must deny.
    pub fn denied_for(&self, aal: Aal) -> impl Iterator<Item = &RouteKey> + '_ {
        self.0.iter().filter(move |_| aal < Aal::Aal2)
    }

    pub fn iter(&self) -> impl Iterator<Item = &RouteKey> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(text: &str) -> Result<RouteRules, RuleError> {
        RouteRules::parse(text, ResponseMode::Simple)
    }

    #[test]
    fn rules_are_route_keys_with_one_or_more_roles() {
        let rules =
            parse(" GET /admin/users/{id}=admin ; ANY /billing/{proxy+}=admin|billing-reader;")
                .expect("valid");
        assert_eq!(rules.0.len(), 2);
        assert_eq!(rules.0[1].route.text(), "ANY /billing/{proxy+}");
        assert_eq!(rules.0[1].roles.len(), 2);
        assert!(parse("").expect("empty is valid").is_empty());
        assert!(parse("$default=admin").is_ok());
        assert!(parse("GET /=admin").is_ok());
        let route = RouteKey::parse("GET /admin/users/{id}").expect("valid");
        assert!(route.is("GET /admin/users/{id}"));
        assert!(!route.is("GET /admin/users/{id}/x") && !route.is("POST /admin/users/{id}"));
        assert!(RouteKey::Default.is("$default") && !RouteKey::Default.is("GET /"));
    }

    #[test]
    fn bad_rules_are_refused_naming_the_rule() {
        for text in [
            "GET /admin/users/{id}",
            "/admin=admin",
            "FETCH /x=admin",
            "GET admin=admin",
            "GET /x=Admin",
            "GET /x=",
            "GET /a b=admin",
            "GET /x?y=admin",
            "GET /admin/*=admin",
            "GET /{proxy+}/x=admin",
            "GET /a//b=admin",
            "GET /{}=admin",
            "GET /x=admin;GET /x=support",
        ] {
            let error = parse(text).expect_err(text);
            assert!(error.to_string().contains(&error.rule), "{error}");
        }
    }

    #[test]
    fn default_cannot_be_honoured_by_an_iam_policy() {
        let error = RouteRules::parse("$default=admin", ResponseMode::Iam).expect_err("refused");
        assert!(error.to_string().contains("$default"), "{error}");
    }

    #[test]
    fn a_rule_matches_its_route_key_only_never_a_concrete_path() {
        let rules =
            parse("GET /admin/users/{id}=admin;ANY /ops/{proxy+}=admin|support").expect("valid");
        assert!(!rules.allows("user", "GET /admin/users/{id}"));
        assert!(rules.allows("admin", "GET /admin/users/{id}"));
        assert!(rules.allows("user", "GET /me"));
        assert!(!rules.allows("user", "ANY /ops/{proxy+}"));
        assert!(rules.allows("support", "ANY /ops/{proxy+}"));
        assert!(
            rules.allows("user", "GET /admin/users/42"),
            "a concrete path is not a route key; API Gateway never sends one"
        );
    }

    #[test]
    fn arn_patterns_replace_parameters_and_any() {
        let pattern = |text: &str| RouteKey::parse(text).expect("valid").arn_pattern();
        assert_eq!(
            pattern("GET /admin/users/{id}"),
            Some(("GET".into(), "/admin/users/*".into()))
        );
        assert_eq!(
            pattern("ANY /admin/{proxy+}"),
            Some(("*".into(), "/admin/*".into()))
        );
        assert_eq!(pattern("$default"), None);
    }

    #[test]
    fn mfa_routes_need_aal2_on_their_route_key_only() {
        let routes = MfaRoutes::parse(
            " GET /admin/users/{id} ;ANY /ops/{proxy+};",
            ResponseMode::Simple,
        )
        .expect("valid");
        assert!(!routes.allows(Aal::Aal1, "GET /admin/users/{id}"));
        assert!(routes.allows(Aal::Aal2, "GET /admin/users/{id}"));
        assert!(!routes.allows(Aal::Aal1, "ANY /ops/{proxy+}"));
        assert!(routes.allows(Aal::Aal1, "GET /me"));
        assert_eq!(routes.denied_for(Aal::Aal1).count(), 2);
        assert_eq!(routes.denied_for(Aal::Aal2).count(), 0);
        assert!(
            MfaRoutes::parse("", ResponseMode::Iam)
                .expect("empty")
                .0
                .is_empty()
        );
    }

    #[test]
    fn bad_mfa_routes_are_refused_naming_the_rule() {
        for (text, mode) in [
            ("GET /x=admin", ResponseMode::Simple),
            ("/x", ResponseMode::Simple),
            ("GET /x;GET /x", ResponseMode::Simple),
            ("$default", ResponseMode::Iam),
            ("FETCH /x", ResponseMode::Simple),
        ] {
            let error = MfaRoutes::parse(text, mode).expect_err(text);
            assert!(error.to_string().contains(&error.rule), "{error}");
        }
        assert!(MfaRoutes::parse("$default", ResponseMode::Simple).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn parsing_never_panics(text in "\\PC{0,120}") {
            let _ = RouteRules::parse(&text, ResponseMode::Simple);
            let _ = RouteRules::parse(&text, ResponseMode::Iam);
            let _ = MfaRoutes::parse(&text, ResponseMode::Simple);
            let _ = MfaRoutes::parse(&text, ResponseMode::Iam);
        }

        #[test]
        fn well_formed_rules_round_trip(
            method in prop::sample::select(METHODS.to_vec()),
            segments in proptest::collection::vec("[a-z]{1,8}|\\{[a-z]{1,5}\\}", 1..4),
            role in "[a-z][a-z0-9_-]{0,10}",
        ) {
            let route = format!("{method} /{}", segments.join("/"));
            let rules = parse(&format!("{route}={role}")).expect("valid");
            prop_assert!(rules.allows(&role, &route));
            prop_assert_eq!(rules.0[0].route.text(), route);
        }
    }
}
