//! Changes to an account as a whole: a new password, and deletion.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};

use super::item::{Item, s};
use super::schema::*;
use super::transaction::Transaction;
use super::{Store, StoreError};
use auth_core::domain::{Email, UserId};

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

impl Store {
    /// Deletes an account: first its credentials (only if they still hold `verified_hash`),
    /// profile and failure streak in one transaction, so the email is free and no login can
    /// start a session; then everything left in the user's partition (sessions, pending
    /// tokens). `false` when the credentials changed meanwhile: nothing deleted.
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
        ];
        if self.transact(items).await? != Transaction::Committed {
            return Ok(false);
        }
        let rest = self.user_partition_keys(user).await?;
        self.delete_keys(&rest).await?;
        Ok(true)
    }
}
