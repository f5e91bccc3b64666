//! Route role rules (`ROUTE_ROLES`), parsed and validated once at init.
//!
//! Syntax: rules separated by `;`, each `METHOD /path/pattern=role1|role2`. `METHOD` is an HTTP
//! method or `*`; in the path, `*` matches any run of characters, slashes included (as in IAM
//! resource ARNs, so the policy and the check agree). A request must satisfy every rule that
//! matches it. Example: `GET /admin/*=admin;DELETE /users/*=admin|support`.

use crate::config::ConfigError;
use crate::domain::Role;

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// An HTTP method, or `*` for any.
    pub method: String,
    /// A path pattern starting with `/`.
    pub path: String,
    pub roles: Vec<Role>,
}

impl RouteRule {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        (self.method == "*" || self.method.eq_ignore_ascii_case(method))
            && glob_matches(&self.path, path)
    }

    pub fn allows(&self, role: &str) -> bool {
        self.roles.iter().any(|allowed| allowed.as_str() == role)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteRules(Vec<RouteRule>);

impl RouteRules {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let invalid = |rule: &str, reason: &str| ConfigError::Invalid {
            name: "ROUTE_ROLES",
            reason: format!("rule {rule:?} {reason}; expected e.g. \"GET /admin/*=admin|support\""),
        };
        let mut rules = Vec::new();
        for rule in text
            .split(';')
            .map(str::trim)
            .filter(|rule| !rule.is_empty())
        {
            let (route, roles) = rule
                .split_once('=')
                .ok_or_else(|| invalid(rule, "has no '='"))?;
            let (method, path) = route
                .trim()
                .split_once(' ')
                .ok_or_else(|| invalid(rule, "needs 'METHOD /path'"))?;
            let method = method.trim().to_ascii_uppercase();
            let path = path.trim();
            if !METHODS.contains(&method.as_str()) {
                return Err(invalid(rule, "has an unknown HTTP method"));
            }
            let path_ok = path.starts_with('/')
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-._~*{}+".contains(&b));
            if !path_ok {
                return Err(invalid(
                    rule,
                    "has a path that is not '/...' of URL path characters",
                ));
            }
            let roles = roles
                .split('|')
                .map(|role| {
                    Role::parse(role.trim()).ok_or_else(|| invalid(rule, "names an invalid role"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            rules.push(RouteRule {
                method,
                path: path.to_owned(),
                roles,
            });
        }
        Ok(Self(rules))
    }

    /// The rules a request by `role` to `method path` fails; empty means allowed.
    pub fn failed_by<'a>(
        &'a self,
        role: &'a str,
        method: &'a str,
        path: &'a str,
    ) -> impl Iterator<Item = &'a RouteRule> + 'a {
        self.0
            .iter()
            .filter(move |rule| rule.matches(method, path) && !rule.allows(role))
    }

    /// Every rule `role` does not satisfy, whatever the route: what a cached policy must deny.
    pub fn denied_for<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a RouteRule> + 'a {
        self.0.iter().filter(move |rule| !rule.allows(role))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `*` matches any run of bytes (including `/`); everything else matches itself.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            backtrack = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star, matched)) = backtrack {
            p = star + 1;
            t = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_several_roles_and_any_method() {
        let rules = RouteRules::parse(" GET /admin/*=admin ; * /billing/*=admin|billing-reader;")
            .expect("valid");
        assert_eq!(rules.0.len(), 2);
        assert_eq!(rules.0[1].method, "*");
        assert_eq!(rules.0[1].roles.len(), 2);
        assert!(RouteRules::parse("").expect("empty is valid").is_empty());
    }

    #[test]
    fn bad_rules_stop_start_up_naming_the_variable_and_the_rule() {
        for text in [
            "GET /admin/*",
            "/admin=admin",
            "FETCH /x=admin",
            "GET admin=admin",
            "GET /x=Admin",
            "GET /x=",
            "GET /a b=admin",
            "GET /x?y=admin",
        ] {
            let error = RouteRules::parse(text).expect_err(text).to_string();
            assert!(error.contains("ROUTE_ROLES"), "{error}");
        }
    }

    #[test]
    fn globs_match_like_iam_resource_wildcards() {
        assert!(glob_matches("/admin/*", "/admin/users"));
        assert!(glob_matches("/admin/*", "/admin/users/42/roles"));
        assert!(glob_matches("/admin/*", "/admin/"));
        assert!(!glob_matches("/admin/*", "/admin"));
        assert!(!glob_matches("/admin/*", "/administrator"));
        assert!(glob_matches("/users/*/roles", "/users/42/roles"));
        assert!(!glob_matches("/users/*/roles", "/users/42/profile"));
        assert!(glob_matches("/me", "/me"));
        assert!(!glob_matches("/me", "/me/"));
        assert!(glob_matches("*", ""));
    }

    #[test]
    fn a_request_fails_each_matching_rule_its_role_lacks() {
        let rules =
            RouteRules::parse("GET /admin/*=admin;DELETE /users/*=admin|support").expect("valid");
        assert_eq!(rules.failed_by("user", "GET", "/admin/users").count(), 1);
        assert_eq!(rules.failed_by("admin", "GET", "/admin/users").count(), 0);
        assert_eq!(rules.failed_by("user", "GET", "/me").count(), 0);
        assert_eq!(
            rules.failed_by("user", "POST", "/admin/users").count(),
            0,
            "the rule is for GET only"
        );
        assert_eq!(rules.failed_by("support", "DELETE", "/users/7").count(), 0);
        assert_eq!(rules.denied_for("user").count(), 2);
        assert_eq!(rules.denied_for("support").count(), 1);
    }
}
