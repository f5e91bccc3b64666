//! The per-source counters of `crate::ip_limit`: one item per source and window bucket, in the
//! source's own partition, so reading both buckets is one query and counting is one atomic add.

use super::item::{self, n, s};
use super::schema::*;
use super::{Store, StoreError};
use crate::ip_limit::{IpLimitPolicy, WindowCounts};

impl Store {
    /// The counts of the bucket `now` falls in and the one before: one strongly consistent query.
    pub async fn source_attempts(
        &self,
        source_key: &str,
        policy: &IpLimitPolicy,
        now: i64,
    ) -> Result<WindowCounts, StoreError> {
        let current = policy.bucket(now);
        let previous = current.saturating_sub(1);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(source_pk(source_key)))
            .expression_attribute_values(":from", s(window_sk(previous)))
            .expression_attribute_values(":to", s(window_sk(current)))
            .consistent_read(true)
            .send()
            .await?;
        let mut counts = WindowCounts::default();
        for found in output.items() {
            let attempts: u32 = item::number(found, ATTEMPTS)?;
            let sort_key = item::string(found, SK)?;
            if sort_key == window_sk(current) {
                counts.current = attempts;
            } else if sort_key == window_sk(previous) {
                counts.previous = attempts;
            }
        }
        Ok(counts)
    }

    /// Counts one attempt from `source_key` in the bucket `now` falls in. Atomic: concurrent
    /// attempts all count. The bucket is forgotten (TTL) once no window overlaps it.
    pub async fn count_source_attempt(
        &self,
        source_key: &str,
        policy: &IpLimitPolicy,
        now: i64,
    ) -> Result<(), StoreError> {
        let bucket = policy.bucket(now);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(source_pk(source_key)))
            .key(SK, s(window_sk(bucket)))
            .update_expression("ADD #attempts :one SET #expires = :expires")
            .expression_attribute_names("#attempts", ATTEMPTS)
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(policy.bucket_expiry(bucket)))
            .send()
            .await?;
        Ok(())
    }
}
