//! Where the bench's "secrets at init" rows read their keys: one loopback server answering both
//! Secrets Manager's GetSecretValue (JSON protocol, for the issuing functions' SDK) and the
//! Parameters and Secrets extension's `GET /secretsmanager/get?secretId=` (for the authorizer).
//! The rows show what reading at init costs the function itself; a real in-region call adds
//! its network round trip (and the SDK's TLS handshake) on top.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Serves `secrets` (id → value) until the process ends; returns the address.
pub async fn start(secrets: HashMap<String, String>) -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("secrets stand-in: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let secrets = Arc::new(secrets);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let secrets = Arc::clone(&secrets);
            tokio::spawn(async move {
                let service = service_fn(move |request| answer(Arc::clone(&secrets), request));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

async fn answer(
    secrets: Arc<HashMap<String, String>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let query_id = request
        .uri()
        .query()
        .and_then(|query| query.strip_prefix("secretId="))
        .map(percent_decode);
    let id = match query_id {
        Some(id) => Some(id),
        None => {
            let body = request
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["SecretId"].as_str().map(str::to_owned))
        }
    };
    let (status, body) = match id.as_deref().and_then(|id| secrets.get(id)) {
        Some(value) => (200, json!({"Name": id, "SecretString": value})),
        None => (400, json!({"__type": "ResourceNotFoundException"})),
    };
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default())
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
