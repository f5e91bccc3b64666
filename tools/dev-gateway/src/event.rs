//! Payload format 2.0 events, as API Gateway builds them from an HTTP request: cookies split
//! out of the headers, repeated headers and query parameters joined with commas, a base64
//! body for anything not text, and a request context with the real peer address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Method};

pub const ACCOUNT_ID: &str = "000000000000";
pub const API_ID: &str = "local";
pub const STAGE: &str = "$default";

/// The parts of an HTTP request an event is built from.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub peer: IpAddr,
}

impl Incoming {
    /// A header's value as API Gateway passes it: repeated headers joined with commas.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }

    fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .map(str::trim)
            .filter(|cookie| !cookie.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Headers without `Cookie` (payload 2.0 carries cookies separately), repeats joined.
    fn event_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for name in self.headers.keys() {
            if name == http::header::COOKIE {
                continue;
            }
            if let Some(value) = self
                .header(name.as_str())
                .and_then(|joined| HeaderValue::from_str(&joined).ok())
            {
                headers.insert(name.clone(), value);
            }
        }
        headers
    }

    /// Query parameters, decoded, repeats joined with commas.
    pub fn query_parameters(&self) -> HashMap<String, String> {
        let mut parameters: HashMap<String, String> = HashMap::new();
        for pair in self.query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (decode(name), decode(value));
            parameters
                .entry(name)
                .and_modify(|existing| {
                    existing.push(',');
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
        parameters
    }

    fn is_text(&self) -> bool {
        let content_type = self
            .header("content-type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let textual = content_type.is_empty()
            || content_type.starts_with("text/")
            || ["json", "xml", "javascript", "x-www-form-urlencoded"]
                .iter()
                .any(|kind| content_type.contains(kind));
        textual && std::str::from_utf8(&self.body).is_ok()
    }

    pub fn request_context(
        &self,
        route_key: &str,
        request_id: &str,
    ) -> ApiGatewayV2httpRequestContext {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
        http.method = self.method.clone();
        http.path = Some(self.path.clone());
        http.protocol = Some("HTTP/1.1".to_owned());
        http.source_ip = Some(self.peer.to_string());
        http.user_agent = self.header("user-agent");
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.route_key = Some(route_key.to_owned());
        context.account_id = Some(ACCOUNT_ID.to_owned());
        context.stage = Some(STAGE.to_owned());
        context.request_id = Some(request_id.to_owned());
        context.apiid = Some(API_ID.to_owned());
        context.domain_name = self.header("host");
        context.domain_prefix = self
            .header("host")
            .and_then(|host| host.split('.').next().map(str::to_owned));
        context.time = Some(clf_time(now.as_secs()));
        context.time_epoch = i64::try_from(now.as_millis()).unwrap_or(i64::MAX);
        context.http = http;
        context
    }

    /// The event for the route's function.
    pub fn http_event(
        &self,
        route_key: &str,
        path_parameters: HashMap<String, String>,
        request_id: &str,
        authorized: Option<Authorized>,
    ) -> ApiGatewayV2httpRequest {
        let mut context = self.request_context(route_key, request_id);
        if let Some(authorized) = authorized {
            let mut authorizer = aws_lambda_events::apigw::ApiGatewayRequestAuthorizer::default();
            match authorized {
                Authorized::Lambda(fields) => authorizer.fields = fields,
                Authorized::Jwt { claims, scopes } => {
                    let mut jwt =
                        aws_lambda_events::apigw::ApiGatewayRequestAuthorizerJwtDescription::default();
                    jwt.claims = claims;
                    jwt.scopes = (!scopes.is_empty()).then_some(scopes);
                    authorizer.jwt = Some(jwt);
                }
            }
            context.authorizer = Some(authorizer);
        }
        let mut event = ApiGatewayV2httpRequest::default();
        event.version = Some("2.0".to_owned());
        event.route_key = Some(route_key.to_owned());
        event.raw_path = Some(self.path.clone());
        event.raw_query_string = Some(self.query.clone());
        let cookies = self.cookies();
        event.cookies = (!cookies.is_empty()).then_some(cookies);
        event.headers = self.event_headers();
        event.query_string_parameters = self.query_parameters().into();
        event.path_parameters = path_parameters;
        event.request_context = context;
        if !self.body.is_empty() {
            if self.is_text() {
                event.body = Some(String::from_utf8_lossy(&self.body).into_owned());
            } else {
                event.body = Some(base64::engine::general_purpose::STANDARD.encode(&self.body));
                event.is_base64_encoded = true;
            }
        }
        event
    }

    /// The authorizer's event: the request's parts and the identity-source values.
    pub fn authorizer_event(
        &self,
        route_key: &str,
        path_parameters: HashMap<String, String>,
        request_id: &str,
        identity: Vec<String>,
    ) -> ApiGatewayV2CustomAuthorizerV2Request {
        let mut event = ApiGatewayV2CustomAuthorizerV2Request::default();
        event.version = Some("2.0".to_owned());
        event.type_ = Some("REQUEST".to_owned());
        event.route_arn = Some(format!(
            "arn:aws:execute-api:local:{ACCOUNT_ID}:{API_ID}/{STAGE}/{}{}",
            self.method, self.path
        ));
        event.identity_source = Some(identity);
        event.route_key = Some(route_key.to_owned());
        event.raw_path = Some(self.path.clone());
        event.raw_query_string = Some(self.query.clone());
        event.cookies = self.cookies();
        event.headers = self.event_headers();
        event.query_string_parameters = self.query_parameters();
        event.path_parameters = path_parameters;
        event.request_context = self.request_context(route_key, request_id);
        event
    }
}

/// What an authorizer hands the route's function: a Lambda authorizer's context
/// (`requestContext.authorizer.lambda`) or the built-in JWT authorizer's claims, as strings
/// (`requestContext.authorizer.jwt`).
#[derive(Debug, Clone, PartialEq)]
pub enum Authorized {
    Lambda(HashMap<String, serde_json::Value>),
    Jwt {
        claims: HashMap<String, String>,
        scopes: Vec<String>,
    },
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = bytes
            .get(index + 1..index + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                index += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                index += 1;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `24/Nov/2026:12:34:56 +0000`, the request context's `time`.
fn clf_time(epoch_seconds: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = epoch_seconds / 86_400;
    let seconds = epoch_seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let month_name = usize::try_from(month - 1)
        .ok()
        .and_then(|index| MONTHS.get(index))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{day:02}/{month_name}/{year}:{:02}:{:02}:{:02} +0000",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(headers: &[(&str, &str)], query: &str, body: &[u8]) -> Incoming {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        Incoming {
            method: Method::POST,
            path: "/auth/login".into(),
            query: query.into(),
            headers: map,
            body: body.to_vec(),
            peer: "127.0.0.1".parse().expect("ip"),
        }
    }

    #[test]
    fn events_have_api_gateways_shape() {
        let request = incoming(
            &[
                ("Cookie", "a=1; b=2"),
                ("X-Repeated", "one"),
                ("x-repeated", "two"),
                ("User-Agent", "curl/8"),
                ("content-type", "application/json"),
            ],
            "x=1&x=2&name=a%20b+c",
            br#"{"k":1}"#,
        );
        let event = request.http_event("POST /auth/login", HashMap::new(), "req-1", None);
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(json["version"], "2.0");
        assert_eq!(json["cookies"], serde_json::json!(["a=1", "b=2"]));
        assert!(json["headers"].get("cookie").is_none());
        assert_eq!(json["headers"]["x-repeated"], "one,two");
        assert_eq!(json["queryStringParameters"]["x"], "1,2");
        assert_eq!(json["queryStringParameters"]["name"], "a b c");
        assert_eq!(json["rawQueryString"], "x=1&x=2&name=a%20b+c");
        assert_eq!(json["body"], r#"{"k":1}"#);
        assert_eq!(json["isBase64Encoded"], false);
        assert_eq!(json["requestContext"]["http"]["sourceIp"], "127.0.0.1");
        assert_eq!(json["requestContext"]["http"]["userAgent"], "curl/8");
        assert_eq!(json["requestContext"]["routeKey"], "POST /auth/login");

        let binary = incoming(
            &[("content-type", "application/octet-stream")],
            "",
            &[0, 159, 146, 150],
        );
        let json = serde_json::to_value(binary.http_event("$default", HashMap::new(), "r", None))
            .expect("json");
        assert_eq!(json["isBase64Encoded"], true);
        assert_eq!(json["body"], "AJ+Slg==");
    }

    #[test]
    fn request_times_are_in_common_log_format() {
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(1_795_523_696), "24/Nov/2026:12:34:56 +0000");
    }

    proptest::proptest! {
        #[test]
        fn any_query_decodes_without_panicking(query in "\\PC{0,60}") {
            let _ = incoming(&[], &query, b"").query_parameters();
        }
    }
}
