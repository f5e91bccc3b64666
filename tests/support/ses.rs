//! A local SES v2 that answers as SES does, for the mailer's transport: `SendEmail` (raw
//! content), the account suppression list (`GetSuppressedDestination`: 404
//! `NotFoundException` when absent; `PutSuppressedDestination`), and errors in SES's REST-JSON
//! shape (`x-amzn-ErrorType` and a body with `message`), scripted per test.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use auth_mail::transport::Transport;
use serde_json::{Value, json};

use crate::stand_in::{self, Seen};

/// What the stand-in has seen and will answer.
#[derive(Debug, Default)]
pub struct SesState {
    /// Addresses on the suppression list.
    pub suppressed: BTreeSet<String>,
    /// The next `SendEmail` calls fail with these (status, error code, message), in order.
    pub failures: VecDeque<(u16, &'static str, &'static str)>,
    /// Every accepted send: (recipient, configuration set, raw message).
    pub sent: Vec<(String, Option<String>, String)>,
    /// Every suppression added through the API: (address, reason).
    pub added: Vec<(String, String)>,
    /// Requests by path, in order.
    pub calls: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SesStandIn {
    pub url: String,
    state: Arc<Mutex<SesState>>,
}

const SUPPRESSION: &str = "/v2/email/suppression/addresses";

fn error(status: u16, code: &str) -> stand_in::Answer {
    error_saying(status, code, &format!("stand-in {code}"))
}

fn error_saying(status: u16, code: &str, message: &str) -> stand_in::Answer {
    // The smithy REST-JSON protocol reads the code from the body's `__type` too.
    (
        status,
        "application/json",
        json!({"__type": code, "message": message}).to_string(),
    )
}

fn answer(state: &Mutex<SesState>, seen: &Seen) -> stand_in::Answer {
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    let path = seen
        .path_and_query
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    state.calls.push(format!("{} {path}", seen.method));
    let body: Value = serde_json::from_slice(&seen.body).unwrap_or_default();
    match (seen.method.as_str(), path.as_str()) {
        ("POST", "/v2/email/outbound-emails") => {
            if let Some((status, code, message)) = state.failures.pop_front() {
                return error_saying(status, code, message);
            }
            let to = body["Destination"]["ToAddresses"][0]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let raw = body["Content"]["Raw"]["Data"]
                .as_str()
                .and_then(|data| {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD.decode(data).ok()
                })
                .and_then(|bytes| String::from_utf8(bytes).ok());
            let Some(raw) = raw else {
                return error(400, "BadRequestException");
            };
            let set = body["ConfigurationSetName"].as_str().map(str::to_owned);
            let id = format!("stand-in-{}", state.sent.len());
            state.sent.push((to, set, raw));
            (
                200,
                "application/json",
                json!({"MessageId": id}).to_string(),
            )
        }
        ("PUT", SUPPRESSION) => {
            let address = body["EmailAddress"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let reason = body["Reason"].as_str().unwrap_or_default().to_owned();
            state.suppressed.insert(address.clone());
            state.added.push((address, reason));
            (200, "application/json", "{}".to_owned())
        }
        ("GET", other) => match other
            .strip_prefix(SUPPRESSION)
            .and_then(|rest| rest.strip_prefix('/'))
        {
            Some(address) => {
                let address = address.replace("%40", "@").to_ascii_lowercase();
                if state.suppressed.contains(&address) {
                    (
                        200,
                        "application/json",
                        json!({"SuppressedDestination": {"EmailAddress": address, "Reason": "BOUNCE", "LastUpdateTime": 1.7e9}})
                            .to_string(),
                    )
                } else {
                    error(404, "NotFoundException")
                }
            }
            None => error(404, "NotFoundException"),
        },
        _ => error(400, "BadRequestException"),
    }
}

impl SesStandIn {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(SesState::default()));
        let shared = Arc::clone(&state);
        let url = stand_in::start(move |seen| answer(&shared, &seen)).await;
        Self { url, state }
    }

    pub fn state(&self) -> MutexGuard<'_, SesState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The mailer's SES transport pointed here, sending through configuration set `set`.
    pub fn transport(&self, set: &str) -> Transport {
        let config = aws_sdk_sesv2::Config::builder()
            .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
            .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
                "local", "local", None, None, "tests",
            ))
            .endpoint_url(&self.url)
            // Each scripted answer is seen by the mailer, not absorbed by the SDK's retries.
            .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
            .build();
        Transport::Ses {
            client: aws_sdk_sesv2::Client::from_conf(config),
            configuration_set: Some(set.to_owned()),
        }
    }
}
