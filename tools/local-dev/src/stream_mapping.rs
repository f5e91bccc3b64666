//! The template's event source mapping for a packaged mailer (`MailerOutboxMapping`, on the
//! outbox table's stream): outbox inserts read from DynamoDB Local's stream, in batches of `BATCH_SIZE` that
//! never span shards, invoked through an Invoke API. As the template configures the mapping:
//! a partial failure (`ReportBatchItemFailures`) retries from the first failed record,
//! everything before it being done, and a failure entry without a usable identifier fails the
//! whole batch; a function error splits the batch in two (`BisectBatchOnFunctionError`), each
//! half retried on its own; after `MAXIMUM_RETRY_ATTEMPTS` a batch is given up, as the mapping
//! would hand it to its failure destination. An Invoke API that cannot be reached is waited for:
//! that is the stand-in's own outage, not the function's failure.

// Indexing here is serde_json's `Value[key]`, which answers Null for an absent key and never
// panics.
#![allow(clippy::indexing_slicing)]

use std::collections::VecDeque;
use std::time::Duration;

use auth_core::telemetry::error_chain;
use auth_service::store::Store;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::mail_relay::MailRelay;

/// The template's `BatchSize` and `MaximumRetryAttempts`.
const BATCH_SIZE: usize = 10;
/// The template's mapping retries without limit (the mailer parks what keeps failing); the
/// stand-in gives up after this many, so a broken local function cannot spin forever.
const MAXIMUM_RETRY_ATTEMPTS: u32 = 100;
const POLL_EVERY: Duration = Duration::from_millis(300);

/// What one invocation of a batch came to.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Done,
    /// Retry from this record (an index into the batch).
    RetryFrom(usize),
    /// The function failed: split the batch.
    Bisect,
}

/// Reads the function's answer to `batch` as Lambda does with `ReportBatchItemFailures`.
fn answer_of(function_error: bool, document: &Value, batch: &[Value]) -> Answer {
    if function_error {
        return Answer::Bisect;
    }
    let failures = document["batchItemFailures"].as_array();
    let mut failed = Vec::new();
    for failure in failures.into_iter().flatten() {
        match failure["itemIdentifier"].as_str() {
            Some(id) if !id.is_empty() => failed.push(id),
            // Null, empty or missing: Lambda counts the whole batch as failed.
            _ => return Answer::RetryFrom(0),
        }
    }
    let first = batch.iter().position(|record| {
        record["dynamodb"]["SequenceNumber"]
            .as_str()
            .is_some_and(|sequence| failed.contains(&sequence))
    });
    match (first, failed.is_empty()) {
        (Some(index), _) => Answer::RetryFrom(index),
        (None, true) => Answer::Done,
        // An identifier that names no record of the batch: Lambda retries the whole batch.
        (None, false) => Answer::RetryFrom(0),
    }
}

pub async fn run(
    store: &Store,
    streams: aws_sdk_dynamodbstreams::Client,
    invoke_api: &str,
    function: &str,
) -> Result<String, String> {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    let outbox = store.outbox_table().map_err(|error| error_chain(&error))?;
    let mut relay = MailRelay::open(store.client(), streams, outbox)
        .await
        .map_err(|error| error_chain(error.as_ref()))?;
    let url = format!(
        "{}/2015-03-31/functions/{function}/invocations",
        invoke_api.trim_end_matches('/')
    );
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    eprintln!("stream mapping: outbox inserts of {outbox} -> {url}");
    loop {
        match relay.poll_events(&region).await {
            Ok(shards) => {
                for records in shards {
                    for batch in records.chunks(BATCH_SIZE) {
                        deliver(&client, &url, batch.to_vec()).await;
                    }
                }
            }
            Err(error) => eprintln!(
                "stream mapping: stream read failed: {}",
                error_chain(error.as_ref())
            ),
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// One batch until it is done, split, or given up.
async fn deliver(client: &Client<HttpConnector, Full<Bytes>>, url: &str, batch: Vec<Value>) {
    // Batches still to deliver, each with the retries it has had.
    let mut work: VecDeque<(Vec<Value>, u32)> = VecDeque::from([(batch, 0)]);
    while let Some((mut batch, retries)) = work.pop_front() {
        let answer = loop {
            match invoke(client, url, &batch).await {
                Ok((function_error, document)) => {
                    break answer_of(function_error, &document, &batch);
                }
                Err(reason) => {
                    eprintln!("stream mapping: cannot invoke ({reason}); waiting for it");
                    tokio::time::sleep(POLL_EVERY).await;
                }
            }
        };
        if answer == Answer::Done {
            continue;
        }
        if retries >= MAXIMUM_RETRY_ATTEMPTS {
            eprintln!(
                "stream mapping: gave up on {} records after {retries} retries",
                batch.len()
            );
            continue;
        }
        tokio::time::sleep(POLL_EVERY).await;
        match answer {
            Answer::Bisect if batch.len() > 1 => {
                let second = batch.split_off(batch.len() / 2);
                work.push_front((second, retries + 1));
                work.push_front((batch, retries + 1));
            }
            Answer::RetryFrom(index) => {
                batch.drain(..index.min(batch.len()));
                work.push_front((batch, retries + 1));
            }
            _ => work.push_front((batch, retries + 1)),
        }
    }
}

/// One invocation: whether the function failed, and its answer.
async fn invoke(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    batch: &[Value],
) -> Result<(bool, Value), String> {
    let event = json!({ "Records": batch });
    let request = http::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(event.to_string())))
        .map_err(|error| error.to_string())?;
    let response = client
        .request(request)
        .await
        .map_err(|error| error.to_string())?;
    let failed =
        !response.status().is_success() || response.headers().contains_key("x-amz-function-error");
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|error| error.to_string())?
        .to_bytes();
    Ok((failed, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sequence: &str) -> Value {
        json!({"dynamodb": {"SequenceNumber": sequence}})
    }

    #[test]
    fn a_partial_failure_retries_from_the_first_failed_record() {
        let batch = [record("1"), record("2"), record("3")];
        let failures =
            json!({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]});
        assert_eq!(answer_of(false, &failures, &batch), Answer::RetryFrom(1));
        assert_eq!(
            answer_of(false, &json!({"batchItemFailures": []}), &batch),
            Answer::Done
        );
        assert_eq!(answer_of(false, &Value::Null, &batch), Answer::Done);
        assert_eq!(answer_of(true, &Value::Null, &batch), Answer::Bisect);
        let stranger = json!({"batchItemFailures": [{"itemIdentifier": "9"}]});
        assert_eq!(answer_of(false, &stranger, &batch), Answer::RetryFrom(0));
        for unusable in [json!(null), json!(""), json!(3)] {
            let failures = json!({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": unusable}]});
            assert_eq!(answer_of(false, &failures, &batch), Answer::RetryFrom(0));
        }
        let unnamed = json!({"batchItemFailures": [{}]});
        assert_eq!(answer_of(false, &unnamed, &batch), Answer::RetryFrom(0));
    }
}
