//! CORS as an HTTP API with a `CorsConfiguration` answers it: preflights are answered by the
//! gateway itself (no function runs), and responses to an allowed origin carry the headers.

use http::{HeaderMap, HeaderValue, Method};

use crate::template::Cors;

/// Whether `origin` may call the API.
fn allowed<'a>(cors: &Cors, origin: &'a str) -> Option<&'a str> {
    cors.allow_origins
        .iter()
        .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
        .then_some(origin)
}

/// A preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(http::header::ORIGIN)
        && headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn insert(headers: &mut HeaderMap, name: http::header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// The headers of the gateway's answer to a preflight (204); none when the origin or the
/// method is not allowed.
pub fn preflight_headers(cors: &Cors, request: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let origin = request
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let method = request
        .get(http::header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let method_allowed = cors
        .allow_methods
        .iter()
        .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(method));
    let Some(origin) = origin.and_then(|origin| allowed(cors, origin)) else {
        return headers;
    };
    if !method_allowed {
        return headers;
    }
    insert(
        &mut headers,
        http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        origin,
    );
    insert(
        &mut headers,
        http::header::ACCESS_CONTROL_ALLOW_METHODS,
        &cors.allow_methods.join(","),
    );
    if !cors.allow_headers.is_empty() {
        insert(
            &mut headers,
            http::header::ACCESS_CONTROL_ALLOW_HEADERS,
            &cors.allow_headers.join(","),
        );
    }
    if cors.allow_credentials {
        insert(
            &mut headers,
            http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            "true",
        );
    }
    if let Some(age) = cors.max_age {
        insert(
            &mut headers,
            http::header::ACCESS_CONTROL_MAX_AGE,
            &age.to_string(),
        );
    }
    insert(&mut headers, http::header::VARY, "Origin");
    headers
}

/// Adds the CORS headers to a response for an allowed origin.
pub fn decorate(cors: &Cors, request: &HeaderMap, response: &mut HeaderMap) {
    let Some(origin) = request
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(|origin| allowed(cors, origin))
    else {
        return;
    };
    insert(response, http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if cors.allow_credentials {
        insert(
            response,
            http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            "true",
        );
    }
    if !cors.expose_headers.is_empty() {
        insert(
            response,
            http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &cors.expose_headers.join(","),
        );
    }
    insert(response, http::header::VARY, "Origin");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors() -> Cors {
        Cors {
            allow_origins: vec!["https://app.example".into()],
            allow_credentials: true,
            allow_headers: vec!["Authorization".into(), "Content-Type".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            expose_headers: Vec::new(),
            max_age: Some(600),
        }
    }

    fn request(origin: &str, method: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::ORIGIN, origin.parse().expect("origin"));
        headers.insert(
            http::header::ACCESS_CONTROL_REQUEST_METHOD,
            method.parse().expect("method"),
        );
        headers
    }

    #[test]
    fn preflights_answer_allowed_origins_and_methods_only() {
        let allowed = preflight_headers(&cors(), &request("https://app.example", "POST"));
        assert_eq!(
            allowed["access-control-allow-origin"],
            "https://app.example"
        );
        assert_eq!(allowed["access-control-allow-credentials"], "true");
        assert_eq!(allowed["access-control-max-age"], "600");
        assert!(preflight_headers(&cors(), &request("https://evil.example", "POST")).is_empty());
        assert!(preflight_headers(&cors(), &request("https://app.example", "DELETE")).is_empty());
        assert!(is_preflight(
            &Method::OPTIONS,
            &request("https://app.example", "POST")
        ));
        assert!(!is_preflight(&Method::OPTIONS, &HeaderMap::new()));
    }

    #[test]
    fn responses_carry_cors_headers_for_allowed_origins() {
        let mut response = HeaderMap::new();
        decorate(
            &cors(),
            &request("https://app.example", "GET"),
            &mut response,
        );
        assert_eq!(
            response["access-control-allow-origin"],
            "https://app.example"
        );
        let mut response = HeaderMap::new();
        decorate(
            &cors(),
            &request("https://evil.example", "GET"),
            &mut response,
        );
        assert!(response.is_empty());
    }
}
