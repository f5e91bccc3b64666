//! Functions reached through `cargo lambda watch`'s Invoke API
//! (`POST /2015-03-31/functions/<name>/invocations`), which builds and hot-reloads them, or,
//! for packaged artifacts, through the local Runtime API each `bootstrap` polls.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lambda_emulator::runtime_api::{Completion, RuntimeApi};
use serde_json::Value;

/// What an invocation returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// The function's response document.
    Response(Value),
    /// The function failed (its error document, when it sent one).
    Error(Value),
}

#[derive(Debug, thiserror::Error)]
#[error("cannot reach the functions at {url}: {reason}")]
pub struct InvokeError {
    url: String,
    reason: String,
}

/// How long one invocation may take, a first build by `cargo lambda watch` included; a
/// function that fails its init never answers, so this bounds that too.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct Functions {
    base: String,
    /// Functions served by their own `cargo lambda watch` (each with its own environment).
    own: HashMap<String, String>,
    /// Packaged functions: a `bootstrap` process polling its own Runtime API.
    local: HashMap<String, Arc<RuntimeApi>>,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl Functions {
    /// `base` is the Invoke API's address, e.g. `http://127.0.0.1:9000`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            own: HashMap::new(),
            local: HashMap::new(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            timeout: INVOKE_TIMEOUT,
        }
    }

    /// `function` is served by the Invoke API at `base` instead.
    pub fn with_function(mut self, function: &str, base: &str) -> Self {
        self.own
            .insert(function.to_owned(), base.trim_end_matches('/').to_owned());
        self
    }

    /// `function` is a process polling `runtime` (packaged mode).
    pub fn with_runtime(mut self, function: &str, runtime: Arc<RuntimeApi>) -> Self {
        self.local.insert(function.to_owned(), runtime);
        self
    }

    /// Whether `function` is one this gateway can reach.
    pub fn knows(&self, function: &str) -> bool {
        self.local.is_empty() || self.local.contains_key(function)
    }

    /// The same functions with another bound on each invocation.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Invokes `function` with `event`; returns the outcome and how long the function took.
    pub async fn invoke(
        &self,
        function: &str,
        event: &impl serde::Serialize,
    ) -> Result<(Invocation, Duration), InvokeError> {
        if let Some(runtime) = self.local.get(function) {
            return self.invoke_local(function, runtime, event).await;
        }
        let base = self.own.get(function).unwrap_or(&self.base);
        let url = format!("{base}/2015-03-31/functions/{function}/invocations");
        let failed = |reason: String| InvokeError {
            url: url.clone(),
            reason,
        };
        let body = serde_json::to_vec(event).map_err(|error| failed(error.to_string()))?;
        let request = http::Request::post(&url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| failed(error.to_string()))?;
        let started = Instant::now();
        let response = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| {
                failed(format!(
                    "{function} did not answer within {} s (did its init fail? see its output above)",
                    self.timeout.as_secs()
                ))
            })?
            .map_err(|error| failed(error.to_string()))?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|error| failed(error.to_string()))?
            .to_bytes();
        let took = started.elapsed();
        let document: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        let is_error_document = document.get("errorType").is_some()
            && document.get("errorMessage").is_some()
            && document.get("statusCode").is_none();
        let outcome = if !status.is_success() || function_error || is_error_document {
            Invocation::Error(document)
        } else {
            Invocation::Response(document)
        };
        Ok((outcome, took))
    }

    async fn invoke_local(
        &self,
        function: &str,
        runtime: &RuntimeApi,
        event: &impl serde::Serialize,
    ) -> Result<(Invocation, Duration), InvokeError> {
        let failed = |reason: String| InvokeError {
            url: format!("the Runtime API of {function}"),
            reason,
        };
        let body = serde_json::to_vec(event).map_err(|error| failed(error.to_string()))?;
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, runtime.invoke(Bytes::from(body)))
            .await
            .map_err(|_| {
                failed(format!(
                    "{function} did not answer within {} s",
                    self.timeout.as_secs()
                ))
            })?
            .ok_or_else(|| failed(format!("{function} is not running")))?;
        let took = started.elapsed();
        let document: Value = serde_json::from_slice(&outcome.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&outcome.body).into_owned()));
        let outcome = match outcome.completion {
            Completion::Response => Invocation::Response(document),
            Completion::Error => Invocation::Error(document),
        };
        Ok((outcome, took))
    }
}
