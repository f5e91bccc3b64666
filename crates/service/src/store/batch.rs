//! Strongly consistent `BatchGetItem` of a few keys, asking again for the keys DynamoDB leaves
//! unprocessed under load (with a short pause), and giving up with 503 after a few rounds.

use std::time::Duration;

use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::item::Item;
use super::{Store, StoreError};

/// Rounds of `UnprocessedKeys` before giving up.
const BATCH_ATTEMPTS: u32 = 3;

impl Store {
    /// The items found for `keys` (absent keys are simply missing), read strongly consistently.
    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut pending = Some(keys);
        for attempt in 0..BATCH_ATTEMPTS {
            let Some(keys) = pending.take() else { break };
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await?;
            found.extend(
                output
                    .responses()
                    .and_then(|tables| tables.get(&self.table))
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
            pending = output
                .unprocessed_keys()
                .and_then(|tables| tables.get(&self.table))
                .map(|left| left.keys().to_vec())
                .filter(|left| !left.is_empty());
        }
        match pending {
            None => Ok(found),
            Some(_) => Err(StoreError::Unavailable(
                "DynamoDB kept part of a batch read unprocessed".into(),
            )),
        }
    }
}
