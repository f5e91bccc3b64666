//! Reads the table's stream (DynamoDB Local supports the Streams API) from its start and turns
//! each new outbox item into the mailer's `OutboxMail`, as the deployed event source mapping
//! does. New shards are picked up on every poll; a closed shard is dropped once drained.

use std::collections::HashMap;

use auth_service::store::OutboxMail;
use auth_service::store::item::Item;
use aws_sdk_dynamodb::types::AttributeValue as TableValue;
use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as StreamValue, OperationType, ShardIteratorType,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct MailRelay {
    streams: Client,
    stream_arn: String,
    /// Open shards and where reading them resumes; `None` once a closed shard is drained.
    positions: HashMap<String, Option<String>>,
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
            let Some(id) = shard.shard_id() else { continue };
            if self.positions.contains_key(id) {
                continue;
            }
            let iterator = self
                .streams
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await?
                .shard_iterator()
                .map(str::to_owned);
            self.positions.insert(id.to_owned(), iterator);
        }
        let mut mails = Vec::new();
        for position in self.positions.values_mut() {
            let Some(iterator) = position.take() else {
                continue;
            };
            let output = self
                .streams
                .get_records()
                .shard_iterator(iterator)
                .send()
                .await?;
            for record in output.records() {
                if record.event_name() != Some(&OperationType::Insert) {
                    continue;
                }
                let Some(image) = record.dynamodb().and_then(|change| change.new_image()) else {
                    continue;
                };
                let item: Option<Item> = image
                    .iter()
                    .map(|(name, value)| Some((name.clone(), table_value(value)?)))
                    .collect();
                if let Some(mail) =
                    item.and_then(|item| OutboxMail::from_item(&item).ok().flatten())
                {
                    mails.push(mail);
                }
            }
            *position = output.next_shard_iterator().map(str::to_owned);
        }
        Ok(mails)
    }
}
