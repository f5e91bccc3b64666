//! A user's own view of their sessions: list them, end one, end all but the current one.

use super::error::condition_held;
use super::item::{self, Item, n, s};
use super::schema::*;
use super::sessions::SessionRecord;
use super::{Store, StoreError};
use auth_core::domain::{SessionId, UserId};

impl Store {
    /// The live sessions of `user`, newest first: one strongly consistent query of their
    /// partition (expired sessions TTL has not deleted yet are left out).
    pub async fn list_sessions(
        &self,
        user: &UserId,
        now: i64,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut sessions = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(user_pk(user)))
            .expression_attribute_values(":prefix", s(SESSION_SK_PREFIX))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let record = SessionRecord::try_from(&item?)?;
            if record.is_live(now) {
                sessions.push(record);
            }
        }
        sessions.sort_by_key(|session| std::cmp::Reverse(session.created_at));
        Ok(sessions)
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

    /// Ends every session of `user` except `keep` (a password change keeps the caller's).
    /// Returns how many were ended.
    pub async fn delete_sessions_except(
        &self,
        user: &UserId,
        keep: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        let kept = keep.map(session_sk);
        let keys: Vec<Item> = self
            .session_keys(user)
            .await?
            .into_iter()
            .filter(|sk| kept.as_ref() != Some(sk))
            .map(|sk| Item::from([(PK.to_owned(), s(user_pk(user))), (SK.to_owned(), s(sk))]))
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
