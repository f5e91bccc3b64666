//! A local Lambda Runtime API (the subset a function uses), one instance per function process:
//! `GET /2018-06-01/runtime/invocation/next` hands out the next queued event,
//! `POST …/invocation/{id}/response` and `…/error` complete it, `POST …/init/error` reports a
//! failed init. Timestamps are taken here, on the harness side: when the first `/next` arrives
//! (ready), when an event is handed out, and when its response has been read completely.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";

/// How an invocation ended, as the function reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    Response,
    Error,
}

#[derive(Debug)]
pub struct Outcome {
    pub handed_out: Instant,
    pub received: Instant,
    pub completion: Completion,
    pub body: Bytes,
}

impl Outcome {
    /// Event handed out to response received, as the harness saw it.
    pub fn latency(&self) -> Duration {
        self.received.duration_since(self.handed_out)
    }
}

struct Invocation {
    id: String,
    event: Bytes,
    reply: oneshot::Sender<Outcome>,
}

struct Pending {
    handed_out: Instant,
    reply: oneshot::Sender<Outcome>,
}

struct Shared {
    function_arn: String,
    queue: Mutex<mpsc::Receiver<Invocation>>,
    pending: std::sync::Mutex<HashMap<String, Pending>>,
    ready: std::sync::Mutex<Option<oneshot::Sender<Instant>>>,
    init_error: std::sync::Mutex<Option<oneshot::Sender<String>>>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    queue: mpsc::Sender<Invocation>,
    ready: Option<oneshot::Receiver<Instant>>,
    init_error: Option<oneshot::Receiver<String>>,
    server: JoinHandle<()>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl RuntimeApi {
    /// Binds 127.0.0.1 on a free port and serves until dropped.
    pub async fn start(function_name: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (queue_tx, queue_rx) = mpsc::channel(1);
        let (ready_tx, ready_rx) = oneshot::channel();
        let (init_error_tx, init_error_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            queue: Mutex::new(queue_rx),
            pending: std::sync::Mutex::new(HashMap::new()),
            ready: std::sync::Mutex::new(Some(ready_tx)),
            init_error: std::sync::Mutex::new(Some(init_error_tx)),
        });
        let server = tokio::spawn(accept_loop(listener, shared));
        Ok(Self {
            addr,
            queue: queue_tx,
            ready: Some(ready_rx),
            init_error: Some(init_error_rx),
            server,
        })
    }

    /// Resolves when the function first asks for an event: `Ok(instant)`, or `Err(message)`
    /// when it reported an init error instead. Call once, with a timeout around it.
    pub async fn ready(&mut self) -> Result<Instant, String> {
        let (Some(ready), Some(init_error)) = (self.ready.take(), self.init_error.take()) else {
            return Err("ready() called twice".to_owned());
        };
        tokio::select! {
            Ok(at) = ready => Ok(at),
            Ok(message) = init_error => Err(format!("init error: {message}")),
            else => Err("the runtime API stopped".to_owned()),
        }
    }

    /// Queues one event and waits for the function to complete it. `None` if the server stopped.
    pub async fn invoke(&self, event: Bytes) -> Option<Outcome> {
        let (reply, outcome) = oneshot::channel();
        let id = request_id();
        self.queue
            .send(Invocation { id, event, reply })
            .await
            .ok()?;
        outcome.await.ok()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.server.abort();
    }
}

/// UUID-shaped, as Lambda's, and unique within the harness.
fn request_id() -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    format!("{:08x}-0000-4000-8000-{n:012x}", std::process::id())
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                // Small request/response pairs: never wait for Nagle.
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| handle(shared.clone(), request));
                    // Errors here are the function process going away mid-connection.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let arrived = Instant::now();
    let path = request.uri().path().to_owned();
    let response = match (request.method(), path.as_str()) {
        (&Method::GET, NEXT) => next(&shared, arrived).await,
        (&Method::POST, INIT_ERROR) => {
            let body = read_body(request).await;
            if let Some(tx) = shared.init_error.lock().unwrap().take() {
                let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
            }
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        (&Method::POST, p) if p.starts_with(INVOCATION) => {
            let rest = &p[INVOCATION.len()..];
            let completion = match rest.rsplit_once('/') {
                Some((id, "response")) => Some((id.to_owned(), Completion::Response)),
                Some((id, "error")) => Some((id.to_owned(), Completion::Error)),
                _ => None,
            };
            match completion {
                Some((id, completion)) => {
                    let body = read_body(request).await;
                    let received = Instant::now();
                    let pending = shared.pending.lock().unwrap().remove(&id);
                    match pending {
                        Some(pending) => {
                            let _ = pending.reply.send(Outcome {
                                handed_out: pending.handed_out,
                                received,
                                completion,
                                body,
                            });
                            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
                        }
                        None => reply(
                            StatusCode::BAD_REQUEST,
                            r#"{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}"#,
                        ),
                    }
                }
                None => reply(StatusCode::NOT_FOUND, "{}"),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, "{}"),
    };
    Ok(response)
}

async fn read_body(request: Request<Incoming>) -> Bytes {
    match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    }
}

async fn next(shared: &Shared, arrived: Instant) -> Response<Full<Bytes>> {
    if let Some(tx) = shared.ready.lock().unwrap().take() {
        let _ = tx.send(arrived);
    }
    let invocation = {
        let mut queue = shared.queue.lock().await;
        queue.recv().await
    };
    let Some(invocation) = invocation else {
        return reply(StatusCode::GONE, "{}");
    };
    let deadline = epoch_ms() + 60_000;
    let trace = format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        deadline / 1000,
        u128::from(deadline),
        deadline
    );
    let response = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &invocation.id)
        .header("lambda-runtime-deadline-ms", deadline.to_string())
        .header("lambda-runtime-invoked-function-arn", &shared.function_arn)
        .header("lambda-runtime-trace-id", trace)
        .body(Full::new(invocation.event))
        .expect("static header names and valid values");
    shared.pending.lock().unwrap().insert(
        invocation.id,
        Pending {
            handed_out: Instant::now(),
            reply: invocation.reply,
        },
    );
    response
}
