//! The events each function is fed, built from the repository's `events/*.json` fixtures (the
//! bytes `cargo lambda invoke` and tests/e2e use), and the check on every answer. Per request
//! only what must change is changed: the body's email, the cookie, `requestId` and `timeEpoch`.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use serde_json::{Value, json};

use lambda_emulator::runtime_api::{Completion, Outcome};

/// The repository's `events/`, the default `--events-dir`.
pub const DEFAULT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");

/// The fixtures directory.
pub struct Fixtures(pub PathBuf);

impl Fixtures {
    /// `name` parsed, its placeholders (`{{ACCESS_TOKEN}}`, `{{USER_ID}}`) filled in.
    pub fn load(&self, name: &str, fill: &[(&str, &str)]) -> Result<Value, String> {
        let path = self.0.join(name);
        let mut text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (placeholder, value) in fill {
            text = text.replace(placeholder, value);
        }
        let event: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        // An API Gateway event, or a stream event's batch (the mailer's).
        if !event["requestContext"].is_object() && !event["Records"].is_array() {
            return Err(format!(
                "{}: neither a requestContext object nor Records",
                path.display()
            ));
        }
        Ok(event)
    }
}

/// Sets one field of the event's JSON body (a string, as API Gateway passes it).
pub fn set_body_field(event: &mut Value, field: &str, value: &str) -> Result<(), String> {
    let text = event["body"].as_str().ok_or("the fixture has no body")?;
    let mut body: Value =
        serde_json::from_str(text).map_err(|e| format!("the fixture's body: {e}"))?;
    body.as_object_mut()
        .ok_or("the fixture's body is not a JSON object")?
        .insert(field.to_owned(), json!(value));
    event["body"] = json!(body.to_string());
    Ok(())
}

/// What API Gateway sets anew for every request. The fixture's `time` string stays as it is.
fn stamp(event: &mut Value, n: u64) {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    event["requestContext"]["requestId"] = json!(format!("bench{n:010}="));
    event["requestContext"]["timeEpoch"] = json!(millis);
}

/// What changes from one invocation to the next.
pub enum Feed {
    /// Nothing: the event is stamped once and the same bytes are sent every time.
    Same,
    /// A new user per invocation: the body's email is `<prefix>-<n>@example.com`.
    NewUsers(String),
    /// One session's rotation chain: each event carries the cookie the previous response set.
    RefreshChain(String),
    /// One logged-in session (its refresh cookie) per invocation.
    Sessions(VecDeque<String>),
}

#[derive(Clone, Copy)]
pub enum Expect {
    Status(u64),
    Authorized,
    /// A stream batch fully processed: `batchItemFailures` empty.
    WholeBatch,
    Anything,
}

/// What one function is fed, invocation after invocation, and how each answer is checked.
pub struct Workload {
    event: Value,
    feed: Feed,
    expect: Expect,
    sent: u64,
    same: Option<Bytes>,
}

impl Workload {
    pub fn new(event: Value, feed: Feed, expect: Expect) -> Self {
        Self {
            event,
            feed,
            expect,
            sent: 0,
            same: None,
        }
    }

    pub fn next_event(&mut self) -> Result<Bytes, String> {
        self.sent += 1;
        let n = self.sent;
        match &mut self.feed {
            Feed::Same => {
                if let Some(bytes) = &self.same {
                    return Ok(bytes.clone());
                }
            }
            Feed::NewUsers(prefix) => {
                set_body_field(
                    &mut self.event,
                    "email",
                    &format!("{prefix}-{n}@example.com"),
                )?;
            }
            Feed::RefreshChain(cookie) => self.event["cookies"] = json!([cookie]),
            Feed::Sessions(cookies) => {
                let cookie = cookies.pop_front().ok_or("ran out of logged-in sessions")?;
                self.event["cookies"] = json!([cookie]);
            }
        }
        stamp(&mut self.event, n);
        let bytes = Bytes::from(self.event.to_string());
        if let Feed::Same = self.feed {
            self.same = Some(bytes.clone());
        }
        Ok(bytes)
    }

    /// Checks the answer to the last event, and takes from it what the next one needs.
    pub fn check(&mut self, outcome: &Outcome) -> Result<(), String> {
        let text = String::from_utf8_lossy(&outcome.body);
        if outcome.completion == Completion::Error {
            return Err(format!("the function reported an error: {text}"));
        }
        match self.expect {
            Expect::Status(status) => {
                let response = HttpResponse::parse(&text)?;
                if response.status != status {
                    return Err(format!(
                        "expected status {status}, got {}: {}",
                        response.status, response.body
                    ));
                }
                if let Feed::RefreshChain(cookie) = &mut self.feed {
                    *cookie = response.refresh_cookie()?;
                }
                Ok(())
            }
            Expect::Authorized => {
                let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                if value["isAuthorized"] == true {
                    Ok(())
                } else {
                    Err(format!("expected isAuthorized: true, got {text}"))
                }
            }
            Expect::WholeBatch => {
                let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                match value["batchItemFailures"].as_array() {
                    Some(failures) if failures.is_empty() => Ok(()),
                    _ => Err(format!("expected no batchItemFailures, got {text}")),
                }
            }
            Expect::Anything => Ok(()),
        }
    }
}

/// A Lambda HTTP response (`{statusCode, cookies, body}`).
struct HttpResponse {
    status: u64,
    cookies: Vec<String>,
    body: String,
}

impl HttpResponse {
    fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| format!("response is not JSON ({e}): {text}"))?;
        Ok(Self {
            status: value["statusCode"]
                .as_u64()
                .ok_or_else(|| format!("no statusCode in {text}"))?,
            cookies: value["cookies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect(),
            body: value["body"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// `refreshToken=<value>` from the Set-Cookie list, as the browser would send it back.
    fn refresh_cookie(&self) -> Result<String, String> {
        self.cookies
            .iter()
            .filter_map(|cookie| cookie.split(';').next())
            .find(|pair| pair.starts_with("refreshToken=") && pair.len() > "refreshToken=".len())
            .map(str::to_owned)
            .ok_or_else(|| format!("no refreshToken cookie in {:?}", self.cookies))
    }
}

/// A logged-in session, from a register or login response.
pub struct Session {
    pub access_token: String,
    pub refresh_cookie: String,
    pub user_id: String,
}

impl Session {
    pub fn from_response(outcome: &Outcome) -> Result<Self, String> {
        let response = HttpResponse::parse(&String::from_utf8_lossy(&outcome.body))?;
        let body: Value = serde_json::from_str(&response.body)
            .map_err(|e| format!("login body is not JSON ({e}): {}", response.body))?;
        let text = |pointer: &str| {
            body.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("no {pointer} in {}", response.body))
        };
        Ok(Self {
            access_token: text("/accessToken")?,
            user_id: text("/user/id")?,
            refresh_cookie: response.refresh_cookie()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(workload: &mut Workload) -> Value {
        serde_json::from_slice(&workload.next_event().unwrap()).unwrap()
    }

    #[test]
    fn changes_only_what_each_request_needs() {
        let fixtures = Fixtures(PathBuf::from(DEFAULT_DIR));
        let register = fixtures.load("register.json", &[]).unwrap();
        let mut users = Workload::new(register, Feed::NewUsers("u".into()), Expect::Status(201));
        let first = sent(&mut users);
        let body: Value = serde_json::from_str(first["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["email"], "u-1@example.com");
        assert_eq!(body["password"], "correct horse battery staple");
        assert_eq!(first["requestContext"]["requestId"], "bench0000000001=");
        assert_eq!(
            first["requestContext"]["time"],
            "22/Nov/2026:12:00:00 +0000"
        );
        assert!(first["requestContext"]["timeEpoch"].as_u64().unwrap() > 1_700_000_000_000);

        let logout = fixtures.load("logout.json", &[]).unwrap();
        let cookies = VecDeque::from(["refreshToken=a".to_owned()]);
        let mut sessions = Workload::new(logout, Feed::Sessions(cookies), Expect::Status(204));
        assert_eq!(sent(&mut sessions)["cookies"], json!(["refreshToken=a"]));
        assert!(sessions.next_event().is_err());

        let fill = [("{{ACCESS_TOKEN}}", "t.o.k")];
        let authorizer = fixtures.load("authorizer-http-api.json", &fill).unwrap();
        let mut same = Workload::new(authorizer, Feed::Same, Expect::Authorized);
        let event = sent(&mut same);
        assert_eq!(event["headers"]["authorization"], "Bearer t.o.k");
        assert_eq!(event, sent(&mut same));
    }
}
