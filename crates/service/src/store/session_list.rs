//! A user's own view of their sessions: list them, end one, end all but the current one.

use super::error::condition_held;
use super::item::{self, Item, n, s};
use super::schema::*;
use super::sessions::SessionRecord;
use super::{Store, StoreError};
use auth_core::domain::{SessionId, UserId};

/// One page of a user's sessions, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPage {
    pub sessions: Vec<SessionRecord>,
    /// Where the next page starts (the last session id this page read), if there may be more.
    pub next: Option<SessionId>,
}

impl Store {
    /// Up to `limit` live sessions of `user` after `cursor` (exclusive), newest first: one
    /// strongly consistent query page of their partition, in sort-key order (ids sort by
    /// creation time). `skip` is left out (the caller lists it first on its own). Expired
    /// sessions TTL has not deleted yet are left out too, so a page may hold fewer.
    pub async fn session_page(
        &self,
        user: &UserId,
        now: i64,
        limit: i32,
        cursor: Option<&SessionId>,
        skip: Option<&SessionId>,
    ) -> Result<SessionPage, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(user_pk(user)))
            .expression_attribute_values(":prefix", s(SESSION_SK_PREFIX))
            .scan_index_forward(false)
            .limit(limit)
            .consistent_read(true);
        if let Some(cursor) = cursor {
            request = request
                .exclusive_start_key(PK, s(user_pk(user)))
                .exclusive_start_key(SK, s(session_sk(cursor)));
        }
        let output = request.send().await?;
        let mut sessions = Vec::new();
        for found in output.items() {
            let record = SessionRecord::try_from(found)?;
            if record.is_live(now) && Some(&record.session_id) != skip {
                sessions.push(record);
            }
        }
        let next = output
            .last_evaluated_key()
            .map(|key| {
                item::parsed(key, SK, |sk| {
                    sk.strip_prefix(SESSION_SK_PREFIX)
                        .and_then(SessionId::parse)
                })
            })
            .transpose()?;
        Ok(SessionPage { sessions, next })
    }

    /// Ends one live session of `user`. `false` when `user` has no such live session (another
    /// user's session id names nothing in this user's partition).
    pub async fn delete_session_of(
        &self,
        user: &UserId,
        session: &SessionId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(user)))
            .key(SK, s(session_sk(session)))
            .condition_expression("attribute_exists(#pk) AND #expires_at > :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#expires_at", EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        condition_held(result)
    }

    /// Deletes the items of `user`'s dead sessions: those their account has revoked (below its
    /// epoch, or all of them when the account is gone) and the expired ones: the clean-up
    /// after a credential event. A session started after the event is at the new epoch and
    /// stays. Returns how many were deleted.
    pub async fn sweep_revoked_sessions(
        &self,
        user: &UserId,
        now: i64,
    ) -> Result<usize, StoreError> {
        let epoch = self
            .profile_record(user)
            .await?
            .map_or(u64::MAX, |account| account.session_epoch);
        let keys: Vec<Item> = self
            .session_ages(user, now, epoch)
            .await?
            .into_iter()
            .filter(|session| !session.live)
            .map(|session| {
                Item::from([
                    (PK.to_owned(), s(user_pk(user))),
                    (SK.to_owned(), s(session_sk(&session.session_id))),
                ])
            })
            .collect();
        self.delete_keys(&keys).await?;
        Ok(keys.len())
    }

    /// The keys of every item in `user`'s partition: profile, sessions, pending tokens.
    pub(super) async fn user_partition_keys(&self, user: &UserId) -> Result<Vec<Item>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(user_pk(user)))
            .projection_expression("#pk, #sk")
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(found) = pages.next().await {
            let found = found?;
            keys.push(Item::from([
                (PK.to_owned(), s(item::string(&found, PK)?)),
                (SK.to_owned(), s(item::string(&found, SK)?)),
            ]));
        }
        Ok(keys)
    }
}
