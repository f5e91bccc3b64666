//! An HTTP proxy in front of DynamoDB Local that fails one chosen operation (by `X-Amz-Target`)
//! on its n-th call, and records the operations it forwards. A fault either refuses the
//! request before DynamoDB sees it (nothing happened) or forwards it and then answers with
//! an error (it happened, and the caller never learns so: a lost response). Either way the
//! caller gets `InternalServerError`, which the store answers as 503.
//!
//! Clients made for it send each request once (no SDK retries), so one fault is one failed
//! call of the flow under test.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

const FAULT_BODY: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"fault injected by the test proxy"}"#;

/// How a fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Answered with an error without reaching DynamoDB.
    Refused,
    /// Reaches DynamoDB (and takes effect), then answered with an error.
    LostResponse,
}

/// The `call`-th request (1-based, counted from [`FaultProxy::arm`]) of `operation` fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub operation: String,
    pub call: usize,
    pub kind: FaultKind,
}

#[derive(Debug, Default)]
struct State {
    fault: Option<Fault>,
    calls: HashMap<String, usize>,
    fired: bool,
    seen: Vec<String>,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub address: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Starts the proxy on a free loopback port, forwarding to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fault proxy");
        let address = listener.local_addr().expect("fault proxy address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Small requests and answers: without this, Nagle's algorithm meets delayed
                // ACKs and each one waits ~40 ms.
                let _ = stream.set_nodelay(true);
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(request, target, &state).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { address, state }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Arms `fault` and starts counting calls and recording operations afresh.
    pub fn arm(&self, fault: Option<Fault>) {
        let mut state = self.state();
        state.fault = fault;
        state.calls.clear();
        state.fired = false;
        state.seen.clear();
    }

    /// Lets every request through again, keeping what was counted and recorded.
    pub fn disarm(&self) {
        self.state().fault = None;
    }

    /// Whether the armed fault has struck.
    pub fn fired(&self) -> bool {
        self.state().fired
    }

    /// The operations forwarded or failed since [`Self::arm`], in order.
    pub fn operations(&self) -> Vec<String> {
        self.state().seen.clone()
    }

    /// A DynamoDB client through this proxy that sends each request once.
    pub async fn client(&self) -> Client {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
            .endpoint_url(format!("http://{}", self.address))
            .load()
            .await;
        let config = auth_service::store::client_config(&shared, Duration::from_secs(2))
            .retry_config(RetryConfig::disabled());
        Client::from_conf(config.build())
    }
}

/// What to do with one request, decided under the lock.
fn decide(state: &Mutex<State>, operation: &str) -> Option<FaultKind> {
    let mut state = state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    state.seen.push(operation.to_owned());
    let call = {
        let count = state.calls.entry(operation.to_owned()).or_insert(0);
        *count += 1;
        *count
    };
    let strikes = state
        .fault
        .as_ref()
        .filter(|fault| fault.operation == operation && fault.call == call)
        .map(|fault| fault.kind);
    if strikes.is_some() {
        state.fired = true;
    }
    strikes
}

async fn handle(
    request: hyper::Request<Incoming>,
    target: SocketAddr,
    state: &Mutex<State>,
) -> hyper::Response<Full<Bytes>> {
    let operation = request
        .headers()
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .and_then(|target| target.rsplit_once('.'))
        .map(|(_, operation)| operation.to_owned())
        .unwrap_or_default();
    let strike = decide(state, &operation);
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if strike == Some(FaultKind::Refused) {
        return fault();
    }
    let forwarded = forward(hyper::Request::from_parts(parts, Full::new(body)), target).await;
    match (strike, forwarded) {
        (None, Some(response)) => response,
        _ => fault(),
    }
}

fn fault() -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(500)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Full::new(Bytes::from_static(FAULT_BODY.as_bytes())))
        .unwrap_or_default()
}

async fn forward(
    request: hyper::Request<Full<Bytes>>,
    target: SocketAddr,
) -> Option<hyper::Response<Full<Bytes>>> {
    let stream = TcpStream::connect(target).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await.ok()?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.ok()?.to_bytes();
    Some(hyper::Response::from_parts(parts, Full::new(body)))
}
