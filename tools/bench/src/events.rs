//! API Gateway events (HTTP API payload 2.0, shaped like events/*.json) and the per-function
//! workloads that generate them and check every response.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::runtime_api::{Completion, Outcome};

pub const PASSWORD: &str = "correct horse battery staple";
const HOST: &str = "api1234567.execute-api.us-east-1.amazonaws.com";
const USER_AGENT: &str = "bench/1.0";

fn now() -> (u64, u64) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (since.as_secs(), since.as_millis() as u64)
}

/// Year, month (1-12) and day of a day count since 1970-01-01 (proleptic Gregorian calendar,
/// counted in 400-year eras of 146,097 days).
fn civil_date(days: i64) -> (i64, usize, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as usize, day)
}

/// `22/Nov/2026:12:00:00 +0000`, the format of `requestContext.time`.
fn request_time(epoch_secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day) = civil_date((epoch_secs / 86_400) as i64);
    let secs = epoch_secs % 86_400;
    format!(
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[month - 1],
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Today's UTC date, `2026-11-22`.
pub fn utc_date() -> String {
    let (year, month, day) = civil_date((now().0 / 86_400) as i64);
    format!("{year}-{month:02}-{day:02}")
}

fn request_context(method: &str, path: &str, route_key: &str, counter: u64) -> Value {
    let (secs, millis) = now();
    json!({
        "accountId": "123456789012",
        "apiId": "api1234567",
        "domainName": HOST,
        "domainPrefix": "api1234567",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "198.51.100.7",
            "userAgent": USER_AGENT
        },
        "requestId": format!("bench{counter:010}="),
        "routeKey": route_key,
        "stage": "$default",
        "time": request_time(secs),
        "timeEpoch": millis
    })
}

/// An HTTP API 2.0 request event.
pub fn http_event(
    method: &str,
    path: &str,
    body: Option<&Value>,
    cookies: &[String],
    authorizer: Option<Value>,
    counter: u64,
) -> Bytes {
    let route_key = format!("{method} {path}");
    let mut context = request_context(method, path, &route_key, counter);
    if let Some(authorizer) = authorizer {
        context["authorizer"] = json!({ "lambda": authorizer });
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": { "host": HOST, "user-agent": USER_AGENT },
        "requestContext": context,
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["headers"]["content-type"] = json!("application/json");
        event["body"] = json!(body.to_string());
    }
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    Bytes::from(event.to_string())
}

/// The HTTP API 2.0 authorizer (REQUEST) event for `GET /me` with a bearer token.
pub fn authorizer_event(access_token: &str) -> Bytes {
    let bearer = format!("Bearer {access_token}");
    let event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api1234567/$default/GET/me",
        "identitySource": [bearer],
        "routeKey": "GET /me",
        "rawPath": "/me",
        "rawQueryString": "",
        "headers": { "host": HOST, "user-agent": USER_AGENT, "authorization": bearer },
        "requestContext": request_context("GET", "/me", "GET /me", 0),
        "pathParameters": {},
        "stageVariables": {}
    });
    Bytes::from(event.to_string())
}

pub fn register_event(email: &str, counter: u64) -> Bytes {
    let body = json!({ "name": "Bench User", "email": email, "password": PASSWORD });
    http_event("POST", "/auth/register", Some(&body), &[], None, counter)
}

pub fn login_event(email: &str, counter: u64) -> Bytes {
    let body = json!({ "email": email, "password": PASSWORD });
    http_event("POST", "/auth/login", Some(&body), &[], None, counter)
}

/// A parsed Lambda HTTP response (`{statusCode, headers, cookies, body}`).
struct HttpResponse {
    status: u64,
    cookies: Vec<String>,
    body: String,
}

fn http_response(outcome: &Outcome) -> Result<HttpResponse, String> {
    let text = String::from_utf8_lossy(&outcome.body);
    if outcome.completion == Completion::Error {
        return Err(format!("the function reported an error: {text}"));
    }
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("response is not JSON ({e}): {text}"))?;
    let status = value["statusCode"]
        .as_u64()
        .ok_or_else(|| format!("no statusCode in {text}"))?;
    let cookies = value["cookies"]
        .as_array()
        .map(|cookies| {
            cookies
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let body = value["body"].as_str().unwrap_or_default().to_owned();
    Ok(HttpResponse {
        status,
        cookies,
        body,
    })
}

fn expect_status(response: &HttpResponse, expected: u64) -> Result<(), String> {
    if response.status == expected {
        Ok(())
    } else {
        Err(format!(
            "expected status {expected}, got {}: {}",
            response.status, response.body
        ))
    }
}

/// `refreshToken=<value>` from the response's Set-Cookie list, as the browser would send it back.
fn refresh_cookie(response: &HttpResponse) -> Result<String, String> {
    response
        .cookies
        .iter()
        .find(|cookie| cookie.starts_with("refreshToken="))
        .and_then(|cookie| cookie.split(';').next())
        .filter(|pair| pair.len() > "refreshToken=".len())
        .map(str::to_owned)
        .ok_or_else(|| format!("no refreshToken cookie in {:?}", response.cookies))
}

/// A logged-in session, from a login (or register) response.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_cookie: String,
    pub user_id: String,
    pub role: String,
    pub session_id: String,
    pub expires_at: u64,
}

impl Session {
    pub fn from_login(outcome: &Outcome) -> Result<Self, String> {
        let response = http_response(outcome)?;
        if response.status != 200 && response.status != 201 {
            return Err(format!(
                "login answered {}: {}",
                response.status, response.body
            ));
        }
        let body: Value = serde_json::from_str(&response.body).map_err(|e| e.to_string())?;
        let access_token = body["accessToken"]
            .as_str()
            .ok_or("no accessToken")?
            .to_owned();
        // The authorizer's context comes from the token's claims: read them like it would.
        let payload = access_token.split('.').nth(1).ok_or("malformed token")?;
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        Ok(Self {
            refresh_cookie: refresh_cookie(&response)?,
            user_id: claims["sub"].as_str().ok_or("no sub")?.to_owned(),
            role: claims["role"].as_str().unwrap_or("user").to_owned(),
            session_id: claims["sid"].as_str().ok_or("no sid")?.to_owned(),
            expires_at: claims["exp"].as_u64().ok_or("no exp")?,
            access_token,
        })
    }
}

/// What one function is fed, invocation after invocation, and how each answer is checked.
pub enum Workload {
    /// A new user per invocation.
    Register { prefix: String, next: u64 },
    /// The same user logging in again and again.
    Login { email: String, next: u64 },
    /// One session's refresh chain: each invocation presents the cookie the previous one set.
    Refresh { cookie: String, next: u64 },
    /// A fresh session per invocation, logged in beforehand.
    Logout {
        cookies: VecDeque<String>,
        next: u64,
    },
    /// The same event every time.
    Fixed { event: Bytes, expect: Expect },
}

pub enum Expect {
    Status(u64),
    Authorized,
    Anything,
}

impl Workload {
    pub fn next_event(&mut self) -> Result<Bytes, String> {
        Ok(match self {
            Workload::Register { prefix, next } => {
                *next += 1;
                register_event(&format!("{prefix}-{next}@example.com"), *next)
            }
            Workload::Login { email, next } => {
                *next += 1;
                login_event(email, *next)
            }
            Workload::Refresh { cookie, next } => {
                *next += 1;
                http_event(
                    "POST",
                    "/auth/refresh",
                    None,
                    std::slice::from_ref(cookie),
                    None,
                    *next,
                )
            }
            Workload::Logout { cookies, next } => {
                *next += 1;
                let cookie = cookies
                    .pop_front()
                    .ok_or("ran out of logged-in sessions for logout")?;
                http_event("POST", "/auth/logout", None, &[cookie], None, *next)
            }
            Workload::Fixed { event, .. } => event.clone(),
        })
    }

    /// Checks the answer to the last event, and takes from it what the next one needs.
    pub fn check(&mut self, outcome: &Outcome) -> Result<(), String> {
        match self {
            Workload::Register { .. } => expect_status(&http_response(outcome)?, 201),
            Workload::Login { .. } => expect_status(&http_response(outcome)?, 200),
            Workload::Refresh { cookie, .. } => {
                let response = http_response(outcome)?;
                expect_status(&response, 200)?;
                *cookie = refresh_cookie(&response)?;
                Ok(())
            }
            Workload::Logout { .. } => expect_status(&http_response(outcome)?, 204),
            Workload::Fixed {
                expect: Expect::Status(status),
                ..
            } => expect_status(&http_response(outcome)?, *status),
            Workload::Fixed {
                expect: Expect::Authorized,
                ..
            } => {
                let text = String::from_utf8_lossy(&outcome.body);
                let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                if outcome.completion == Completion::Response && value["isAuthorized"] == true {
                    Ok(())
                } else {
                    Err(format!("expected isAuthorized: true, got {text}"))
                }
            }
            Workload::Fixed {
                expect: Expect::Anything,
                ..
            } => match outcome.completion {
                Completion::Response => Ok(()),
                Completion::Error => Err(String::from_utf8_lossy(&outcome.body).into_owned()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::request_time;

    #[test]
    fn formats_request_time_like_api_gateway() {
        assert_eq!(request_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(request_time(1_795_348_800), "22/Nov/2026:12:00:00 +0000");
        assert_eq!(request_time(951_782_400), "29/Feb/2000:00:00:00 +0000");
    }
}
