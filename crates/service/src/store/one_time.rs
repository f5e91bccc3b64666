//! Pending one-time tokens (password reset, email verification): one item per user and
//! purpose, holding only the digest of the mailed secret. Issuing replaces the older token;
//! using it deletes the item in the same transaction as the change it authorises, on the
//! condition that it still holds that digest and has not expired, so a token works once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::error::condition_held;
use super::item::{self, Item, b, n, s};
use super::revocation::{EpochFrom, ItemChange, raise_epoch};
use super::schema::*;
use super::transaction::Transaction;
use super::{Store, StoreError};
use auth_core::domain::{Email, UserId};

/// What a token is for; each has its own item in the user's partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    PasswordReset,
    EmailVerification,
    /// A confirm-first sign-up's link, in the partition of the account it would create.
    Signup,
}

impl TokenPurpose {
    fn sort_key(self) -> &'static str {
        match self {
            Self::PasswordReset => RESET_TOKEN_SK,
            Self::EmailVerification => VERIFY_TOKEN_SK,
            Self::Signup => SIGNUP_TOKEN_SK,
        }
    }
}

/// A token as stored: never the secret, only its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingToken {
    pub digest: String,
    /// The address the link was mailed to.
    pub email: Email,
    pub issued_at: i64,
    pub expires_at: i64,
    /// The outbox message it was minted for.
    pub outbox_id: String,
}

/// Whether a token was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuance {
    Issued,
    /// Another message got a token for this user less than the minimum interval ago.
    TooSoon,
}

pub(super) fn token_key(purpose: TokenPurpose, user: &UserId) -> Item {
    Item::from([
        (PK.to_owned(), s(user_pk(user))),
        (SK.to_owned(), s(purpose.sort_key())),
    ])
}

/// The write that stores a minted token, on the minimum-interval condition of
/// [`Store::save_token`]: as a request, or as part of a budgeted transaction.
pub(super) fn token_put(
    table: &str,
    purpose: TokenPurpose,
    user: &UserId,
    token: &PendingToken,
    min_interval: i64,
) -> TokenWrite {
    let mut item = token_key(purpose, user);
    item.insert(TOKEN_DIGEST.to_owned(), s(&token.digest));
    item.insert(EMAIL.to_owned(), s(token.email.as_str()));
    item.insert(ISSUED_AT.to_owned(), n(token.issued_at));
    item.insert(EXPIRES_AT.to_owned(), n(token.expires_at));
    item.insert(OUTBOX_ID.to_owned(), s(&token.outbox_id));
    TokenWrite {
        table: table.to_owned(),
        item: Some(item),
        condition_expression: Some(
            "attribute_not_exists(#pk) OR #issued_at <= :cutoff OR #outbox_id = :outbox_id".into(),
        ),
        expression_attribute_names: Some(HashMap::from([
            ("#pk".to_owned(), PK.to_owned()),
            ("#issued_at".to_owned(), ISSUED_AT.to_owned()),
            ("#outbox_id".to_owned(), OUTBOX_ID.to_owned()),
        ])),
        expression_attribute_values: Some(HashMap::from([
            (
                ":cutoff".to_owned(),
                n(token.issued_at.saturating_sub(min_interval)),
            ),
            (":outbox_id".to_owned(), s(&token.outbox_id)),
        ])),
    }
}

/// The parts of a conditional put, shared by `PutItem` and a transaction's `Put`.
pub(super) struct TokenWrite {
    table: String,
    item: Option<Item>,
    condition_expression: Option<String>,
    expression_attribute_names: Option<HashMap<String, String>>,
    expression_attribute_values: Option<Item>,
}

impl TokenWrite {
    pub(super) fn into_transaction_item(self) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(self.table)
            .set_item(self.item)
            .set_condition_expression(self.condition_expression)
            .set_expression_attribute_names(self.expression_attribute_names)
            .set_expression_attribute_values(self.expression_attribute_values)
            .build()
            .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// The delete that uses a token: it must still hold `digest` and be unexpired at `now`.
pub(super) fn consume(
    table: &str,
    purpose: TokenPurpose,
    user: &UserId,
    digest: &str,
    now: i64,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(token_key(purpose, user)))
        .condition_expression("#digest = :digest AND #expires_at > :now")
        .expression_attribute_names("#digest", TOKEN_DIGEST)
        .expression_attribute_names("#expires_at", EXPIRES_AT)
        .expression_attribute_values(":digest", s(digest))
        .expression_attribute_values(":now", n(now))
        .build()
        .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// An update of `user`'s credentials (keyed by email), only while they are still `user`'s.
fn credentials_update(
    table: &str,
    email: &Email,
    user: &UserId,
    set: &str,
    values: Vec<(&'static str, aws_sdk_dynamodb::types::AttributeValue)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut update = Update::builder()
        .table_name(table)
        .key(PK, s(email_pk(email)))
        .key(SK, s(CREDENTIALS_SK))
        .update_expression(set)
        .condition_expression("#user_id = :user_id")
        .expression_attribute_names("#user_id", USER_ID)
        .expression_attribute_values(":user_id", s(user.as_str()));
    for (name, value) in values {
        update = update.expression_attribute_values(name, value);
    }
    let update = update
        .build()
        .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Marks `user`'s profile verified, only while it exists with `email`.
fn profile_verified(
    table: &str,
    user: &UserId,
    email: &Email,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(user_pk(user)))
        .key(SK, s(PROFILE_SK))
        .update_expression(format!("SET {EMAIL_VERIFIED} = :verified"))
        .condition_expression("attribute_exists(#pk) AND #email = :email")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#email", EMAIL)
        .expression_attribute_values(":verified", b(true))
        .expression_attribute_values(":email", s(email.as_str()))
        .build()
        .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl Store {
    /// Stores a freshly minted token for `user`, replacing any older one, unless another
    /// message got one less than `min_interval` seconds ago (a retry of the same message may
    /// always replace its own).
    pub async fn save_token(
        &self,
        purpose: TokenPurpose,
        user: &UserId,
        token: &PendingToken,
        min_interval: i64,
    ) -> Result<Issuance, StoreError> {
        let put = token_put(&self.table, purpose, user, token, min_interval);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(put.item)
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        Ok(if condition_held(result)? {
            Issuance::Issued
        } else {
            Issuance::TooSoon
        })
    }

    /// The pending token of `user` for `purpose`, read strongly consistently.
    pub async fn pending_token(
        &self,
        purpose: TokenPurpose,
        user: &UserId,
    ) -> Result<Option<PendingToken>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(token_key(purpose, user)))
            .consistent_read(true)
            .send()
            .await?;
        output
            .item()
            .map(|found| {
                Ok(PendingToken {
                    digest: item::string(found, TOKEN_DIGEST)?.to_owned(),
                    email: item::parsed(found, EMAIL, |raw| Email::parse(raw).ok())?,
                    issued_at: item::number(found, ISSUED_AT)?,
                    expires_at: item::number(found, EXPIRES_AT)?,
                    outbox_id: item::string(found, OUTBOX_ID)?.to_owned(),
                })
            })
            .transpose()
    }

    /// Uses a reset token and sets the new password hash in one transaction, which also raises
    /// the account's session epoch (every session ends at this commit, whatever the clean-up
    /// afterwards does) and ends the email's login backoff. The mailed link proves the address
    /// too, so the same transaction marks it verified (credentials and profile) and retires a
    /// pending verification link. `false` when the token was used, replaced or expired
    /// meanwhile, or the account is gone: nothing changed.
    pub async fn reset_password(
        &self,
        user: &UserId,
        email: &Email,
        digest: &str,
        new_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let [credentials, profile] = raise_epoch(
            &self.table,
            user,
            email,
            &EpochFrom::Current,
            ItemChange {
                set: format!(", {PASSWORD_HASH} = :hash, {EMAIL_VERIFIED} = :verified"),
                values: vec![(":hash", s(new_hash)), (":verified", b(true))],
                ..ItemChange::default()
            },
            ItemChange {
                set: format!(", {EMAIL_VERIFIED} = :verified"),
                values: vec![(":verified", b(true))],
                ..ItemChange::default()
            },
        )?;
        let items = vec![
            consume(&self.table, TokenPurpose::PasswordReset, user, digest, now)?,
            credentials,
            profile,
            delete_key(
                &self.table,
                token_key(TokenPurpose::EmailVerification, user),
            )?,
            delete_key(
                &self.table,
                super::throttle::streak_key(email).into_iter().collect(),
            )?,
        ];
        Ok(self.transact(items).await? == Transaction::Committed)
    }

    /// Uses a verification token and marks the email verified on the credentials and the
    /// profile in one transaction (sessions read the flag from the profile at their next
    /// refresh). `clear_streak` ends the email's login backoff too (the owner proved the
    /// password). `false` when the token was used, replaced or expired, or the account is gone.
    pub async fn verify_email(
        &self,
        user: &UserId,
        email: &Email,
        digest: &str,
        now: i64,
        clear_streak: bool,
    ) -> Result<bool, StoreError> {
        let verified = format!("SET {EMAIL_VERIFIED} = :verified");
        let mut items = vec![
            consume(
                &self.table,
                TokenPurpose::EmailVerification,
                user,
                digest,
                now,
            )?,
            credentials_update(
                &self.table,
                email,
                user,
                &verified,
                vec![(":verified", b(true))],
            )?,
            profile_verified(&self.table, user, email)?,
        ];
        if clear_streak {
            items.push(delete_key(
                &self.table,
                super::throttle::streak_key(email).into_iter().collect(),
            )?);
        }
        Ok(self.transact(items).await? == Transaction::Committed)
    }
}

/// An unconditional delete in a transaction (an item that may or may not exist).
pub(super) fn delete_key(table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .build()
        .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}
