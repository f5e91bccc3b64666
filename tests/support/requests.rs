//! Records every DynamoDB request a client sends: its operation and JSON body, for tests that
//! check how a read was made (strongly consistent or not), which no answer shows.

use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

impl RequestLog {
    /// Every request so far: (operation, body).
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The DynamoDB operation a request asks for (`DynamoDB_20120810.PutItem` → `PutItem`).
pub fn operation(request: &aws_sdk_dynamodb::config::http::HttpRequest) -> String {
    request
        .headers()
        .get("x-amz-target")
        .and_then(|target| target.rsplit('.').next())
        .unwrap_or_default()
        .to_owned()
}

impl Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = context.request();
        let operation = operation(request);
        let body = request
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok())
            .unwrap_or_default();
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((operation, body));
        Ok(())
    }
}

/// A DynamoDB Local client that records its requests in `log`.
pub async fn logged_client(log: &RequestLog) -> aws_sdk_dynamodb::Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
        .endpoint_url(crate::dynamodb_endpoint())
        .load()
        .await;
    let config = auth_service::store::client_config(&shared, std::time::Duration::from_secs(2))
        .interceptor(log.clone());
    aws_sdk_dynamodb::Client::from_conf(config.build())
}
