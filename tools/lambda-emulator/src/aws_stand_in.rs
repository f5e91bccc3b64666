//! One loopback server standing in for the AWS services a function calls besides DynamoDB:
//! - Secrets Manager's `GetSecretValue` (JSON protocol, for the SDK at init) and the Parameters
//!   and Secrets extension's `GET /secretsmanager/get?secretId=` (for the authorizer), from a
//!   map of secret id (or ARN) to value;
//! - SES v2's `SendEmail` (`POST /v2/email/outbound-emails`, raw content), each message written
//!   to a directory as `<n>.eml` (aside first, then renamed: a reader never sees half of one);
//! - SES v2's account suppression list: `GetSuppressedDestination` (`GET
//!   /v2/email/suppression/addresses/<address>`, 404 `NotFoundException` when absent) and
//!   `PutSuppressedDestination` (`PUT /v2/email/suppression/addresses`), kept in memory; a send
//!   to a suppressed address is accepted and dropped, as SES drops it.
//!
//! Point a process at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL_SESV2`.
//! A real in-region call adds its network round trip (and the SDK's TLS handshake) on top.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const SEND_EMAIL: &str = "/v2/email/outbound-emails";
const SUPPRESSION: &str = "/v2/email/suppression/addresses";

/// What the stand-in serves.
#[derive(Default)]
pub struct StandIn {
    /// Secret id or ARN → its `SecretString`.
    pub secrets: HashMap<String, String>,
    /// Where sent mail goes; `None` refuses `SendEmail`.
    pub mail_dir: Option<PathBuf>,
}

struct Shared {
    stand_in: StandIn,
    sent: AtomicU64,
    suppressed: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Serves until the process ends; returns the address.
pub async fn start(stand_in: StandIn) -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("AWS stand-in: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let shared = Arc::new(Shared {
        stand_in,
        sent: AtomicU64::new(0),
        suppressed: std::sync::Mutex::default(),
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                let service = service_fn(move |request| answer(Arc::clone(&shared), request));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

fn respond(status: u16, content_type: &str, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() == Method::POST && request.uri().path() == SEND_EMAIL {
        let body = body_of(request).await;
        return Ok(send_email(&shared, &body).await);
    }
    if let Some(address) = request
        .uri()
        .path()
        .strip_prefix(SUPPRESSION)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|_| request.method() == Method::GET)
    {
        let address = percent_decode(address).to_ascii_lowercase();
        let known = suppressed(&shared).contains(&address);
        return Ok(if known {
            respond(
                200,
                "application/json",
                json!({"SuppressedDestination": {"EmailAddress": address, "Reason": "BOUNCE", "LastUpdateTime": 0}}),
            )
        } else {
            respond(
                404,
                "application/json",
                json!({"__type": "NotFoundException", "message": "not on the suppression list"}),
            )
        });
    }
    if request.method() == Method::PUT && request.uri().path() == SUPPRESSION {
        let body = body_of(request).await;
        let request: Value = serde_json::from_slice(&body).unwrap_or_default();
        return Ok(match request["EmailAddress"].as_str() {
            Some(address) => {
                suppressed(&shared).insert(address.to_ascii_lowercase());
                respond(200, "application/json", json!({}))
            }
            None => respond(
                400,
                "application/json",
                json!({"__type": "BadRequestException", "message": "EmailAddress is required"}),
            ),
        });
    }
    let query_id = request
        .uri()
        .query()
        .and_then(|query| query.strip_prefix("secretId="))
        .map(percent_decode);
    let id = match query_id {
        Some(id) => Some(id),
        None => {
            let body = body_of(request).await;
            serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["SecretId"].as_str().map(str::to_owned))
        }
    };
    Ok(
        match id.as_deref().and_then(|id| shared.stand_in.secrets.get(id)) {
            Some(value) => respond(
                200,
                "application/x-amz-json-1.1",
                json!({"Name": id, "SecretString": value}),
            ),
            None => respond(
                400,
                "application/x-amz-json-1.1",
                json!({"__type": "ResourceNotFoundException"}),
            ),
        },
    )
}

fn suppressed(shared: &Shared) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
    shared
        .suppressed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn body_of(request: Request<Incoming>) -> Bytes {
    request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

/// SES v2 `SendEmail` with raw content: the message's bytes become `<n>.eml`.
async fn send_email(shared: &Shared, body: &[u8]) -> Response<Full<Bytes>> {
    let refuse = |message: &str| {
        respond(
            400,
            "application/json",
            json!({"message": message, "__type": "BadRequestException"}),
        )
    };
    let Some(directory) = &shared.stand_in.mail_dir else {
        return refuse("this stand-in sends no mail");
    };
    let request: Value = serde_json::from_slice(body).unwrap_or_default();
    let Some(raw) = request["Content"]["Raw"]["Data"].as_str() else {
        return refuse("only raw content is emulated");
    };
    let Ok(message) = base64::engine::general_purpose::STANDARD.decode(raw) else {
        return refuse("Content.Raw.Data is not base64");
    };
    let n = shared.sent.fetch_add(1, Ordering::Relaxed) + 1;
    let recipients: Vec<String> = request["Destination"]["ToAddresses"]
        .as_array()
        .map(|addresses| {
            addresses
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    if recipients
        .iter()
        .any(|address| suppressed(shared).contains(address))
    {
        // SES accepts the call and drops the message.
        return respond(
            200,
            "application/json",
            json!({"MessageId": format!("suppressed-{n}")}),
        );
    }
    let name = format!("ses-{}-{n}", std::process::id());
    let written = async {
        tokio::fs::create_dir_all(directory).await?;
        let partial = directory.join(format!(".{name}.eml.partial"));
        tokio::fs::write(&partial, &message).await?;
        tokio::fs::rename(&partial, directory.join(format!("{name}.eml"))).await
    };
    match written.await {
        Ok(()) => respond(200, "application/json", json!({"MessageId": name})),
        Err(error) => respond(
            500,
            "application/json",
            json!({"message": error.to_string(), "__type": "InternalFailure"}),
        ),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (byte, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
