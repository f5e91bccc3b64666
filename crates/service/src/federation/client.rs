//! Calls to identity providers: HTTPS (rustls, the system's roots, the aws-lc-rs provider
//! the AWS SDK already links), HTTP/1.1, a deadline per call and a cap on what is read, so a
//! slow or hostile provider costs one sign-in its time, never the function's memory.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};

use super::provider::Endpoint;

/// Why a call to a provider gave nothing usable; never holds a token or secret.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the provider did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the provider's answer was larger than {0} bytes")]
    TooLarge(usize),
    #[error("the provider answered {status}")]
    Status { status: u16 },
    #[error("the provider's answer was not the JSON expected: {0}")]
    Malformed(String),
}

/// A provider's answer: status and body.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    /// The body as `T`, for a 2xx answer.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, CallError> {
        if !(200..300).contains(&self.status) {
            return Err(CallError::Status {
                status: self.status,
            });
        }
        // The category only: serde's message can quote the answer (an address, a name).
        serde_json::from_slice(&self.body)
            .map_err(|error| CallError::Malformed(format!("{:?}", error.classify())))
    }
}

/// Most bytes read from one answer (discovery documents and key sets are a few KiB).
const MAX_ANSWER: usize = 256 * 1024;

#[derive(Clone)]
pub struct ProviderClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl ProviderClient {
    pub fn new(timeout: Duration) -> Result<Self, std::io::Error> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            // Plain http only reaches loopback endpoints: `Endpoint` refuses any other.
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        })
    }

    pub async fn get(
        &self,
        url: &Endpoint,
        bearer: Option<&SecretString>,
    ) -> Result<Answer, CallError> {
        let mut request = hyper::Request::get(url.as_str())
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, USER_AGENT);
        if let Some(token) = bearer {
            request = request.header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", token.expose_secret()),
            );
        }
        self.send(request, Bytes::new()).await
    }

    /// A form POST (a token request), with the client's credentials in HTTP Basic
    /// (`client_secret_basic`, RFC 6749 §2.3.1: each part form-encoded first) when given.
    pub async fn post_form(
        &self,
        url: &Endpoint,
        form: &[(&str, &str)],
        basic: Option<(&str, &SecretString)>,
    ) -> Result<Answer, CallError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = hyper::Request::post(url.as_str())
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, USER_AGENT)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        if let Some((id, secret)) = basic {
            let encode = |part: &str| {
                url::form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>()
            };
            let credentials = format!("{}:{}", encode(id), encode(secret.expose_secret()));
            request = request.header(
                http::header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(credentials)),
            );
        }
        self.send(request, Bytes::from(body)).await
    }

    async fn send(
        &self,
        request: http::request::Builder,
        body: Bytes,
    ) -> Result<Answer, CallError> {
        let request = request
            .body(Full::new(body))
            .map_err(|error| CallError::Unreachable(error.to_string()))?;
        let call = async {
            let response = self.client.request(request).await.map_err(|error| {
                CallError::Unreachable(auth_core::telemetry::error_chain(&error))
            })?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|error| {
                    if error.is::<http_body_util::LengthLimitError>() {
                        CallError::TooLarge(MAX_ANSWER)
                    } else {
                        CallError::Unreachable(error.to_string())
                    }
                })?
                .to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| CallError::Timeout(self.timeout))?
    }
}

/// GitHub refuses API calls without one.
const USER_AGENT: &str = "jwt-auth-service";
