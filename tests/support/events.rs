//! API Gateway events as JSON, turned into requests by `lambda_http` itself, so the tests drive
//! the same conversion Lambda does.

use lambda_http::Request;
use serde_json::{Map, Value, json};

/// The address API Gateway saw, in every test event unless a test names another.
pub const SOURCE_IP: &str = "192.0.2.10";

/// An HTTP API (payload 2.0) event.
pub fn http_api_event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    cookies: &[String],
    body: Option<&str>,
) -> Request {
    http_api_event_from(SOURCE_IP, method, path, headers, cookies, body)
}

/// An HTTP API (payload 2.0) event from `source_ip`.
pub fn http_api_event_from(
    source_ip: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    cookies: &[String],
    body: Option<&str>,
) -> Request {
    let event = http_api_event_value(source_ip, method, path, headers, cookies, body);
    lambda_http::request::from_str(&event.to_string()).expect("a valid HTTP API event")
}

/// The JSON of [`http_api_event_from`], for tests that add to it (an authorizer context).
pub fn http_api_event_value(
    source_ip: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    cookies: &[String],
    body: Option<&str>,
) -> Value {
    let headers = header_map(headers);
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1234567",
            "domainName": "api1234567.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "api1234567",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": "e2e" },
            "requestId": "e2e-request",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "22/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1_795_000_000_000u64
        },
        "isBase64Encoded": false
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if let Some(body) = body {
        event["body"] = Value::from(body);
    }
    event
}

/// A REST API (v1 proxy) event.
pub fn rest_api_event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Request {
    rest_api_event_from(SOURCE_IP, method, path, headers, body)
}

/// A REST API (v1 proxy) event from `source_ip`.
pub fn rest_api_event_from(
    source_ip: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Request {
    let headers = header_map(headers);
    let multi: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    let event = json!({
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "abc123",
            "stage": "prod",
            "requestId": "e2e-request",
            "identity": { "sourceIp": source_ip, "userAgent": "e2e" },
            "resourcePath": path,
            "httpMethod": method,
            "apiId": "api1234567",
            "path": format!("/prod{path}"),
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": 1_795_000_000_000u64
        },
        "body": body,
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid REST API event")
}

fn header_map(headers: &[(&str, &str)]) -> Map<String, Value> {
    headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), Value::from(*value)))
        .collect()
}

/// A sample event from `events/`, with placeholders such as `{{ACCESS_TOKEN}}` replaced.
pub fn fixture(file: &str, replacements: &[(&str, &str)]) -> String {
    let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    replacements
        .iter()
        .fold(text, |text, (placeholder, value)| {
            text.replace(placeholder, value)
        })
}
