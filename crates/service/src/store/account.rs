//! Credential events on an account as a whole: a new password, ending every session, and
//! deletion. Each is one transaction that ends the sessions it must end as it commits
//! (`store::revocation`); deleting the dead session items is a separate, best-effort sweep.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};

use super::item::{self, Item, n, s};
use super::one_time::{TokenPurpose, delete_key, token_key};
use super::revocation::{EpochFrom, ItemChange, raise_epoch};
use super::schema::*;
use super::sessions::epoch_is;
use super::transaction::Transaction;
use super::{Store, StoreError};
use auth_core::domain::{Email, SessionId, UserId};

fn delete(
    table: &str,
    key: Item,
    condition: Option<(&str, Item)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut delete = Delete::builder().table_name(table).set_key(Some(key));
    if let Some((expression, values)) = condition {
        delete = delete
            .condition_expression(expression)
            .set_expression_attribute_values(Some(values));
    }
    let delete = delete
        .build()
        .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

fn key(pk: String, sk: &str) -> Item {
    Item::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// What a password change's transaction found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// The new hash is set, every other session has ended, the calling one goes on.
    Changed,
    /// The credentials changed since they were checked (another change, a reset, a credential
    /// event): nothing written.
    CredentialsChanged,
    /// The calling session has ended or been revoked: nothing written.
    SessionEnded,
}

/// The account a password change is made on, as its re-authentication read it.
#[derive(Debug, Clone, Copy)]
pub struct ChangeTarget<'a> {
    pub user: &'a UserId,
    pub session: &'a SessionId,
    pub email: &'a Email,
    pub verified_hash: &'a str,
    pub session_epoch: u64,
}

impl Store {
    /// Sets a new password hash in one transaction that also raises the account's session
    /// epoch (every other session ends at this commit), re-stamps the calling session with
    /// the new epoch (it survives), retires a pending reset link and ends the email's login
    /// backoff. Only while the credentials still hold the verified hash and the epoch read,
    /// and the calling session is live at that epoch.
    pub async fn change_password(
        &self,
        target: ChangeTarget<'_>,
        new_hash: &str,
        now: i64,
    ) -> Result<PasswordChange, StoreError> {
        let epoch = target.session_epoch;
        let [credentials, profile] = raise_epoch(
            &self.table,
            target.user,
            target.email,
            &EpochFrom::Exactly(epoch),
            ItemChange {
                set: format!(", {PASSWORD_HASH} = :hash"),
                condition: format!(" AND {PASSWORD_HASH} = :verified_hash"),
                values: vec![
                    (":hash", s(new_hash)),
                    (":verified_hash", s(target.verified_hash)),
                ],
            },
            ItemChange::default(),
        )?;
        let restamp = Update::builder()
            .table_name(&self.table)
            .key(PK, s(user_pk(target.user)))
            .key(SK, s(session_sk(target.session)))
            .update_expression("SET #epoch = :next")
            .condition_expression(format!(
                "attribute_exists(#pk) AND #expires_at > :now AND {}",
                epoch_is(epoch)
            ))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#epoch", SESSION_EPOCH)
            .expression_attribute_names("#expires_at", EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":epoch", n(epoch))
            .expression_attribute_values(":next", n(epoch.saturating_add(1)))
            .build()
            .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
        let items = vec![
            credentials,
            profile,
            TransactWriteItem::builder().update(restamp).build(),
            delete_key(
                &self.table,
                token_key(TokenPurpose::PasswordReset, target.user),
            )?,
            delete_key(
                &self.table,
                super::throttle::streak_key(target.email)
                    .into_iter()
                    .collect(),
            )?,
        ];
        Ok(match self.transact(items).await? {
            Transaction::Committed => PasswordChange::Changed,
            Transaction::ConditionFailed { index: 2 } => PasswordChange::SessionEnded,
            Transaction::ConditionFailed { .. } => PasswordChange::CredentialsChanged,
        })
    }

    /// Ends every session of the account (log out everywhere): one transaction raising its
    /// session epoch. `false` when the account changed hands or is gone meanwhile.
    pub async fn revoke_all_sessions(
        &self,
        user: &UserId,
        email: &Email,
    ) -> Result<bool, StoreError> {
        let items = raise_epoch(
            &self.table,
            user,
            email,
            &EpochFrom::Current,
            ItemChange::default(),
            ItemChange::default(),
        )?;
        Ok(self.transact(items.into()).await? == Transaction::Committed)
    }

    /// Deletes an account: its credentials (only if they still hold `verified_hash`), profile,
    /// failure streak and second factor in one transaction, so the email is free, no login can start a
    /// session, and every session is refused (no profile) from this commit on. The rest of the
    /// partition is the clean-up's ([`Store::sweep_account`]). `false` when the credentials
    /// changed meanwhile: nothing deleted.
    pub async fn delete_account(
        &self,
        user: &UserId,
        email: &Email,
        verified_hash: &str,
    ) -> Result<bool, StoreError> {
        let credentials_condition = (
            "user_id = :user_id AND password_hash = :hash",
            Item::from([
                (":user_id".to_owned(), s(user.as_str())),
                (":hash".to_owned(), s(verified_hash)),
            ]),
        );
        let items = vec![
            delete(
                &self.table,
                key(email_pk(email), CREDENTIALS_SK),
                Some(credentials_condition),
            )?,
            delete(&self.table, key(user_pk(user), PROFILE_SK), None)?,
            delete(&self.table, key(email_pk(email), LOGIN_STREAK_SK), None)?,
            // The factor item has no TTL: it goes with the account, not with the clean-up.
            delete(&self.table, key(user_pk(user), MFA_SK), None)?,
        ];
        Ok(self.transact(items).await? == Transaction::Committed)
    }

    /// Deletes what is left in a deleted account's partition (sessions, pending tokens, linked
    /// identities). Best-effort and repeatable: every item left there has a TTL but the linked
    /// identities, which a failed sweep leaves until it is run again (a sign-in treats an
    /// identity whose account is gone as new).
    pub async fn sweep_account(&self, user: &UserId) -> Result<usize, StoreError> {
        let rest = self.user_partition_keys(user).await?;
        // A linked identity's own item lives outside the partition. It goes too, but only
        // while it still names this account: a sign-in may already have moved it to a new one.
        let identities: Vec<String> = rest
            .iter()
            .filter_map(|found| item::string(found, SK).ok())
            .filter_map(|sk| sk.strip_prefix(IDENTITY_SK_PREFIX))
            .map(str::to_owned)
            .collect();
        for id in identities {
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(PK, s(format!("{IDENTITY_PK_PREFIX}{id}")))
                .key(SK, s(IDENTITY_SK))
                .condition_expression("#user = :user")
                .expression_attribute_names("#user", USER_ID)
                .expression_attribute_values(":user", s(user.as_str()))
                .send()
                .await;
            super::error::condition_held(result)?;
        }
        self.delete_keys(&rest).await?;
        Ok(rest.len())
    }
}
