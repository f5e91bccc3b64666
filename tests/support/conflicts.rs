//! Forces DynamoDB transaction conflicts. The first `n` TransactWriteItems requests of a client
//! go to a stand-in that answers as DynamoDB does when another transaction is writing one of
//! the items (`TransactionCanceledException`, reason `TransactionConflict`). Nothing reaches the
//! table, just as a real cancelled transaction writes nothing. DynamoDB Local serialises
//! transactions, so it never produces this answer itself.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const CONFLICT_BODY: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"},{"Code":"None"}]}"#;

#[derive(Debug, Clone)]
pub struct ConflictInjector {
    stand_in: String,
    remaining: Arc<AtomicUsize>,
    injected: Arc<AtomicUsize>,
}

impl ConflictInjector {
    /// Starts the stand-in; no request is diverted until [`Self::conflict_next`].
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the conflict stand-in");
        let address = listener.local_addr().expect("stand-in address");
        tokio::spawn(serve(listener));
        Self {
            stand_in: format!("http://{address}/"),
            remaining: Arc::default(),
            injected: Arc::default(),
        }
    }

    /// The next `count` transactions conflict.
    pub fn conflict_next(&self, count: usize) {
        self.remaining.store(count, Ordering::SeqCst);
    }

    /// How many transactions were answered with a conflict so far.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }
}

impl Intercept for ConflictInjector {
    fn name(&self) -> &'static str {
        "ConflictInjector"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = context.request_mut();
        let is_transaction =
            request.headers().get("x-amz-target") == Some("DynamoDB_20120810.TransactWriteItems");
        let divert = is_transaction
            && self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok();
        if divert {
            request.set_uri(self.stand_in.as_str())?;
            self.injected.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

async fn serve(listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let answer = service_fn(|_request| async {
                Ok::<_, Infallible>(
                    hyper::Response::builder()
                        .status(400)
                        .header("content-type", "application/x-amz-json-1.0")
                        .header("x-amzn-requestid", "conflict-stand-in")
                        .body(Full::new(Bytes::from_static(CONFLICT_BODY.as_bytes())))
                        .expect("static response"),
                )
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), answer)
                .await;
        });
    }
}
