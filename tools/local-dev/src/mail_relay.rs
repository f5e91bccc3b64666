//! Reads the table's stream (DynamoDB Local supports the Streams API) from its start and turns
//! each new outbox item into the mailer's `OutboxMail`, as the deployed event source mapping
//! does, or into the mapping's own Lambda event for a packaged mailer. New shards are picked
//! up on every poll; a closed shard is dropped once drained.

// Indexing here is serde_json's `Value[key]`, which answers Null for an absent key and never
// panics.
#![allow(clippy::indexing_slicing)]

use std::collections::HashMap;

use auth_service::store::OutboxMail;
use auth_service::store::item::Item;
use aws_sdk_dynamodb::types::AttributeValue as TableValue;
use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as StreamValue, OperationType, Record, ShardIteratorType,
};
use serde_json::{Map, Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where reading one shard resumes.
#[derive(Debug, Default)]
struct ShardPosition {
    /// The next iterator; `None` when one must be asked for again.
    iterator: Option<String>,
    /// The last record read, so a new iterator starts after it.
    last_sequence: Option<String>,
    /// A closed shard read to its end.
    drained: bool,
}

pub struct MailRelay {
    streams: Client,
    stream_arn: String,
    /// Each shard's read position.
    positions: HashMap<String, ShardPosition>,
}

/// A stream attribute as the table's own type (the two SDKs each define one).
fn table_value(value: &StreamValue) -> Option<TableValue> {
    Some(match value {
        StreamValue::S(text) => TableValue::S(text.clone()),
        StreamValue::N(number) => TableValue::N(number.clone()),
        StreamValue::Bool(flag) => TableValue::Bool(*flag),
        StreamValue::Null(flag) => TableValue::Null(*flag),
        StreamValue::Ss(items) => TableValue::Ss(items.clone()),
        StreamValue::Ns(items) => TableValue::Ns(items.clone()),
        StreamValue::L(items) => {
            TableValue::L(items.iter().map(table_value).collect::<Option<_>>()?)
        }
        StreamValue::M(fields) => TableValue::M(
            fields
                .iter()
                .map(|(name, value)| Some((name.clone(), table_value(value)?)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

impl MailRelay {
    /// Opens the stream of `table` (created with one, as `schema::create_table` does).
    pub async fn open(
        dynamodb: &aws_sdk_dynamodb::Client,
        streams: Client,
        table: &str,
    ) -> Result<Self, BoxError> {
        let described = dynamodb.describe_table().table_name(table).send().await?;
        let stream_arn = described
            .table()
            .and_then(|table| table.latest_stream_arn())
            .ok_or("the table has no stream; create it with `local-dev create-table`")?
            .to_owned();
        Ok(Self {
            streams,
            stream_arn,
            positions: HashMap::new(),
        })
    }

    /// Every outbox message written since the last poll, in stream order per shard.
    pub async fn poll(&mut self) -> Result<Vec<OutboxMail>, BoxError> {
        Ok(self
            .poll_records()
            .await?
            .iter()
            .filter_map(|record| {
                let image = record.dynamodb()?.new_image()?;
                let item: Item = image
                    .iter()
                    .map(|(name, value)| Some((name.clone(), table_value(value)?)))
                    .collect::<Option<_>>()?;
                OutboxMail::from_item(&item).ok().flatten()
            })
            .collect())
    }

    /// The records the template's event source mapping passes the mailer (its filter: outbox
    /// inserts) since the last poll, each as Lambda's DynamoDB event record, per shard (a
    /// batch never spans shards).
    pub async fn poll_events(&mut self, region: &str) -> Result<Vec<Vec<Value>>, BoxError> {
        let stream_arn = self.stream_arn.clone();
        Ok(self
            .poll_shards()
            .await?
            .into_iter()
            .map(|records| {
                records
                    .iter()
                    .filter_map(|record| lambda_record(record, &stream_arn, region))
                    .collect::<Vec<_>>()
            })
            .filter(|records| !records.is_empty())
            .collect())
    }

    /// Every insert written since the last poll, in stream order per shard.
    async fn poll_records(&mut self) -> Result<Vec<Record>, BoxError> {
        Ok(self.poll_shards().await?.into_iter().flatten().collect())
    }

    /// Every insert written since the last poll, shard by shard, in stream order.
    async fn poll_shards(&mut self) -> Result<Vec<Vec<Record>>, BoxError> {
        let stream = self
            .streams
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await?;
        for shard in stream
            .stream_description()
            .map(|description| description.shards())
            .unwrap_or_default()
        {
            if let Some(id) = shard.shard_id() {
                self.positions.entry(id.to_owned()).or_default();
            }
        }
        let mut shards = Vec::new();
        for (id, position) in &mut self.positions {
            if position.drained {
                continue;
            }
            let iterator = match position.iterator.take() {
                Some(iterator) => iterator,
                None => {
                    let request = self
                        .streams
                        .get_shard_iterator()
                        .stream_arn(&self.stream_arn)
                        .shard_id(id);
                    let request = match &position.last_sequence {
                        Some(sequence) => request
                            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                            .sequence_number(sequence),
                        None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
                    };
                    match request.send().await?.shard_iterator() {
                        Some(iterator) => iterator.to_owned(),
                        None => continue,
                    }
                }
            };
            let output = match self
                .streams
                .get_records()
                .shard_iterator(iterator)
                .send()
                .await
            {
                Ok(output) => output,
                // DynamoDB Local answers this for a shard with nothing to read yet: ask for a
                // new iterator (after the last record read) on the next poll.
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|service| service.is_trimmed_data_access_exception()) =>
                {
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            if let Some(last) = output.records().last().and_then(|record| record.dynamodb()) {
                position.last_sequence = last.sequence_number().map(str::to_owned);
            }
            shards.push(
                output
                    .records()
                    .iter()
                    .filter(|record| record.event_name() == Some(&OperationType::Insert))
                    .cloned()
                    .collect(),
            );
            position.iterator = output.next_shard_iterator().map(str::to_owned);
            position.drained = position.iterator.is_none();
        }
        Ok(shards)
    }
}

/// A stream attribute in DynamoDB's JSON (`{"S": "..."}`), as Lambda's event carries it.
fn stream_json(value: &StreamValue) -> Option<Value> {
    Some(match value {
        StreamValue::S(text) => json!({"S": text}),
        StreamValue::N(number) => json!({"N": number}),
        StreamValue::Bool(flag) => json!({"BOOL": flag}),
        StreamValue::Null(flag) => json!({"NULL": flag}),
        StreamValue::Ss(items) => json!({"SS": items}),
        StreamValue::Ns(items) => json!({"NS": items}),
        StreamValue::L(items) => {
            json!({"L": items.iter().map(stream_json).collect::<Option<Vec<_>>>()?})
        }
        StreamValue::M(fields) => json!({"M": image_json(fields)?}),
        _ => return None,
    })
}

fn image_json(fields: &HashMap<String, StreamValue>) -> Option<Map<String, Value>> {
    fields
        .iter()
        .map(|(name, value)| Some((name.clone(), stream_json(value)?)))
        .collect()
}

/// An outbox insert as the record of Lambda's DynamoDB event (the mapping's filter: `INSERT`
/// with a key `pk` starting `OUTBOX#`); `None` for any other record.
pub fn lambda_record(record: &Record, stream_arn: &str, region: &str) -> Option<Value> {
    let change = record.dynamodb()?;
    let keys = image_json(change.keys()?)?;
    let is_outbox = keys
        .get("pk")
        .and_then(|pk| pk["S"].as_str())
        .is_some_and(|pk| pk.starts_with("OUTBOX#"));
    if record.event_name() != Some(&OperationType::Insert) || !is_outbox {
        return None;
    }
    Some(json!({
        "eventID": record.event_id(),
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": {
            "Keys": keys,
            "NewImage": image_json(change.new_image()?)?,
            "SequenceNumber": change.sequence_number(),
            "SizeBytes": change.size_bytes(),
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": stream_arn,
    }))
}
