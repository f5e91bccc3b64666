//! The HTTP side: hyper on a loopback listener, one `Gateway::handle` per request, one log line
//! per request with where its time went.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming as Body};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::event::Incoming;
use crate::gateway::{Answer, Gateway};

/// API Gateway's request payload limit (HTTP APIs: 10 MB).
const MAX_BODY: usize = 10 * 1024 * 1024;

pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<Body>| {
                let gateway = Arc::clone(&gateway);
                async move { Ok::<_, Infallible>(answer(&gateway, request, peer.ip()).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    gateway: &Gateway,
    request: hyper::Request<Body>,
    peer: std::net::IpAddr,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => {
            return to_response(Answer {
                status: http::StatusCode::PAYLOAD_TOO_LARGE,
                headers: http::HeaderMap::new(),
                body: br#"{"message":"Request Entity Too Large"}"#.to_vec(),
            });
        }
    };
    let incoming = Incoming {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
        peer,
    };
    let line = format!("{} {}", incoming.method, incoming.path);
    let (answer, timing) = gateway.handle(incoming).await;
    eprintln!(
        "[dev-gateway] {line} -> {} (functions {:.1} ms{}, gateway {} µs)",
        answer.status.as_u16(),
        timing.functions.as_secs_f64() * 1e3,
        if timing.authorizer_cached {
            ", authorizer cached"
        } else {
            ""
        },
        timing.gateway.as_micros()
    );
    to_response(answer)
}

fn to_response(answer: Answer) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    response
}
