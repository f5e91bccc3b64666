//! HTTP API routes and API Gateway's choice among them: the most specific path wins (literal
//! segments over `{param}` over greedy `{proxy+}`), a method route over `ANY` on the same path,
//! and `$default` only when nothing else matches.

use std::cmp::Reverse;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    /// `{name+}`: one or more remaining segments; only last.
    Greedy(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The route key, as in the template and the events (`GET /me`, `$default`).
    pub key: String,
    /// `None` for `ANY`.
    method: Option<String>,
    /// `None` for `$default`.
    segments: Option<Vec<Segment>>,
    /// The binary serving it.
    pub function: String,
    /// The authorizer protecting it, by name.
    pub authorizer: Option<String>,
    /// For a JWT authorizer: the scopes of which the token must carry one (none: any token).
    pub scopes: Vec<String>,
}

impl Route {
    /// A route from an `HttpApi` event's `Method` and `Path` (`None` or `$default`: the default route).
    pub fn new(
        method: &str,
        path: Option<&str>,
        function: String,
        authorizer: Option<String>,
    ) -> Result<Self, String> {
        let method = method.trim().to_ascii_uppercase();
        let (key, method, segments) = match path {
            None | Some("$default") => ("$default".to_owned(), None, None),
            Some(path) => {
                let segments = parse_path(path)?;
                let method_part = if method == "ANY" {
                    None
                } else {
                    Some(method.clone())
                };
                (format!("{method} {path}"), method_part, Some(segments))
            }
        };
        Ok(Self {
            key,
            method,
            segments,
            function,
            authorizer,
            scopes: Vec::new(),
        })
    }

    /// The route with the scopes a JWT authorizer requires of it.
    pub fn with_scopes(mut self, scopes: Vec<String>) -> Self {
        self.scopes = scopes;
        self
    }
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("path {path:?} must start with '/'"));
    };
    let parts: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(index, part)| {
            match part
                .strip_prefix('{')
                .and_then(|inner| inner.strip_suffix('}'))
            {
                Some(inner) => match inner.strip_suffix('+') {
                    Some(name) if index + 1 == count => Ok(Segment::Greedy(name.to_owned())),
                    Some(_) => Err(format!("{path:?}: a greedy variable must be last")),
                    None => Ok(Segment::Param(inner.to_owned())),
                },
                None => Ok(Segment::Literal(part.to_owned())),
            }
        })
        .collect()
}

/// How specific a match is; larger wins.
type Specificity = (bool, usize, Reverse<usize>, bool, bool);

fn matches(
    segments: &[Segment],
    path: &[&str],
) -> Option<(HashMap<String, String>, usize, usize, bool)> {
    let mut parameters = HashMap::new();
    let mut literals = 0;
    let mut variables = 0;
    for (index, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Literal(literal) => {
                if path.get(index) != Some(&literal.as_str()) {
                    return None;
                }
                literals += 1;
            }
            Segment::Param(name) => {
                let value = path.get(index).filter(|value| !value.is_empty())?;
                parameters.insert(name.clone(), (*value).to_owned());
                variables += 1;
            }
            Segment::Greedy(name) => {
                let rest = path.get(index..).filter(|rest| !rest.is_empty())?;
                parameters.insert(name.clone(), rest.join("/"));
                return Some((parameters, literals, variables, true));
            }
        }
    }
    (path.len() == segments.len()).then_some((parameters, literals, variables, false))
}

/// The route API Gateway would choose for `method` and `path`, with its path parameters.
pub fn find<'a>(
    routes: &'a [Route],
    method: &str,
    path: &str,
) -> Option<(&'a Route, HashMap<String, String>)> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let parts: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    let mut best: Option<(Specificity, &Route, HashMap<String, String>)> = None;
    for route in routes {
        if route
            .method
            .as_deref()
            .is_some_and(|wanted| wanted != method)
        {
            continue;
        }
        let (parameters, specificity) = match &route.segments {
            None => (HashMap::new(), (false, 0, Reverse(0), false, false)),
            Some(segments) => {
                let Some((parameters, literals, variables, greedy)) = matches(segments, &parts)
                else {
                    continue;
                };
                (
                    parameters,
                    (
                        true,
                        literals,
                        Reverse(variables),
                        !greedy,
                        route.method.is_some(),
                    ),
                )
            }
        };
        let better = best
            .as_ref()
            .is_none_or(|(current, _, _)| specificity > *current);
        if better {
            best = Some((specificity, route, parameters));
        }
    }
    best.map(|(_, route, parameters)| (route, parameters))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: Option<&str>) -> Route {
        Route::new(method, path, path.unwrap_or("default").to_owned(), None).expect("route")
    }

    fn chosen(routes: &[Route], method: &str, path: &str) -> Option<String> {
        find(routes, method, path).map(|(route, _)| route.key.clone())
    }

    #[test]
    fn the_most_specific_route_wins_as_on_api_gateway() {
        let routes = [
            route("ANY", None),
            route("ANY", Some("/admin/{proxy+}")),
            route("GET", Some("/admin/users/{id}")),
            route("GET", Some("/admin/users/me")),
            route("ANY", Some("/admin/users/{id}")),
            route("POST", Some("/auth/login")),
        ];
        assert_eq!(
            chosen(&routes, "GET", "/admin/users/me").as_deref(),
            Some("GET /admin/users/me")
        );
        assert_eq!(
            chosen(&routes, "GET", "/admin/users/42").as_deref(),
            Some("GET /admin/users/{id}")
        );
        assert_eq!(
            chosen(&routes, "DELETE", "/admin/users/42").as_deref(),
            Some("ANY /admin/users/{id}")
        );
        assert_eq!(
            chosen(&routes, "GET", "/admin/reports/x/y").as_deref(),
            Some("ANY /admin/{proxy+}")
        );
        assert_eq!(
            chosen(&routes, "GET", "/auth/login").as_deref(),
            Some("$default")
        );
        assert_eq!(
            chosen(&routes, "POST", "/auth/login").as_deref(),
            Some("POST /auth/login")
        );
        let (_, parameters) = find(&routes, "GET", "/admin/reports/x/y").expect("match");
        assert_eq!(parameters["proxy"], "reports/x/y");
        let (_, parameters) = find(&routes, "GET", "/admin/users/42").expect("match");
        assert_eq!(parameters["id"], "42");
    }

    #[test]
    fn without_a_default_route_nothing_else_matches() {
        let routes = [
            route("GET", Some("/me")),
            route("GET", Some("/admin/users/{id}")),
        ];
        assert_eq!(chosen(&routes, "POST", "/me"), None);
        assert_eq!(chosen(&routes, "GET", "/me/extra"), None);
        assert_eq!(
            chosen(&routes, "GET", "/admin/users/"),
            None,
            "an empty variable is no match"
        );
        assert_eq!(chosen(&routes, "GET", "/admin/users"), None);
        assert!(Route::new("GET", Some("/a/{p+}/b"), String::new(), None).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_path_finds_at_most_one_route_without_panicking(path in "[/a-z{}+%.]{0,40}", method in "[A-Z]{0,7}") {
            let routes = [route("ANY", Some("/{proxy+}")), route("GET", Some("/a/{b}")), route("GET", Some("/"))];
            let _ = find(&routes, &method, &path);
        }
    }
}
