//! Mail the mailer gave up on, kept so that none is lost silently. A stream event source
//! mapping that exhausts its retries sends only batch metadata (shard, sequence numbers) to
//! its failure destination, never the records; so the mailer counts failed sends of each
//! message itself and, at `MAIL_MAX_ATTEMPTS` (below the mapping's retries), parks the
//! message here with the reason and moves on. `local-dev redrive-mail` puts parked messages
//! back in the outbox as new messages, once the cause is fixed.
//!
//! | item     | pk                           | sk                              |
//! |----------|------------------------------|---------------------------------|
//! | attempts | `MAIL_ATTEMPTS#<outbox id>`  | `SENDS` (TTL `expires_at`)      |
//! | parked   | `PARKED_MAIL`                | `<created at, 20 digits>#<outbox id>` (TTL 14 days) |

use aws_sdk_dynamodb::types::{Delete, ReturnValue, TransactWriteItem};

use super::item::{self, Item, n, s};
use super::outbox::{MailKind, OutboxMail};
use super::schema::*;
use super::transaction::{Transaction, put_new};
use super::{Store, StoreError};
use auth_core::domain::{Email, UserId};

/// How long attempt counters live: longer than the stream's 24-hour retention.
const ATTEMPTS_RETENTION_SECONDS: i64 = 2 * 86_400;
/// How long a parked message waits for a redrive before the table's TTL removes it.
pub const PARKED_RETENTION_SECONDS: i64 = 14 * 86_400;

/// A message the mailer gave up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedMail {
    pub mail: OutboxMail,
    /// Why the last send failed (a classification, never an address or a token).
    pub reason: String,
    pub attempts: u32,
    pub parked_at: i64,
}

impl ParkedMail {
    /// One key per message, so a message delivered again after it was parked (a batch retried
    /// after a timeout) is parked once; oldest messages first.
    fn sort_key(&self) -> String {
        format!("{:020}#{}", self.mail.created_at.max(0), self.mail.id)
    }

    fn item(&self) -> Item {
        let mut item = Item::from([
            (PK.to_owned(), s(PARKED_MAIL_PK)),
            (SK.to_owned(), s(self.sort_key())),
            (OUTBOX_ID.to_owned(), s(&self.mail.id)),
            (MAIL_KIND.to_owned(), s(self.mail.kind.as_str())),
            (EMAIL.to_owned(), s(self.mail.email.as_str())),
            (CREATED_AT.to_owned(), n(self.mail.created_at)),
            (PARK_REASON.to_owned(), s(&self.reason)),
            (ATTEMPTS.to_owned(), n(self.attempts)),
            (PARKED_AT.to_owned(), n(self.parked_at)),
            (
                EXPIRES_AT.to_owned(),
                n(self.parked_at.saturating_add(PARKED_RETENTION_SECONDS)),
            ),
        ]);
        if let Some(user) = &self.mail.user_id {
            item.insert(USER_ID.to_owned(), s(user.as_str()));
        }
        if let Some(origin) = &self.mail.redrive_of {
            item.insert(REDRIVE_OF.to_owned(), s(origin));
        }
        item
    }

    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            mail: OutboxMail {
                id: item::string(item, OUTBOX_ID)?.to_owned(),
                kind: item::parsed(item, MAIL_KIND, MailKind::parse)?,
                email: item::parsed(item, EMAIL, |raw| Email::parse(raw).ok())?,
                user_id: item::optional_string(item, USER_ID)?
                    .map(|raw| {
                        UserId::parse(raw).ok_or_else(|| {
                            StoreError::Corrupt("parked mail's user id is malformed".into())
                        })
                    })
                    .transpose()?,
                created_at: item::number(item, CREATED_AT)?,
                redrive_of: item::optional_string(item, REDRIVE_OF)?.map(str::to_owned),
            },
            reason: item::string(item, PARK_REASON)?.to_owned(),
            attempts: item::number(item, ATTEMPTS)?,
            parked_at: item::number(item, PARKED_AT)?,
        })
    }
}

impl Store {
    /// Counts one failed send of `outbox_id`; answers how many there have been.
    pub async fn count_failed_send(&self, outbox_id: &str, now: i64) -> Result<u32, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(format!("{MAIL_ATTEMPTS_PK_PREFIX}{outbox_id}")))
            .key(SK, s(MAIL_ATTEMPTS_SK))
            .update_expression("ADD #attempts :one SET #expires_at = :expires_at")
            .expression_attribute_names("#attempts", ATTEMPTS)
            .expression_attribute_names("#expires_at", EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(
                ":expires_at",
                n(now.saturating_add(ATTEMPTS_RETENTION_SECONDS)),
            )
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await?;
        let attributes = output.attributes().cloned().unwrap_or_default();
        item::number(&attributes, ATTEMPTS)
    }

    /// Keeps a message the mailer gives up on (one conditional `PutItem`; a message parked
    /// already stays as it is).
    pub async fn park_mail(&self, parked: &ParkedMail) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(parked.item()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        super::error::condition_held(result).map(|_| ())
    }

    /// Parked messages, oldest first, at most `limit` (one strongly consistent query).
    pub async fn parked_mail(&self, limit: i32) -> Result<Vec<ParkedMail>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(PARKED_MAIL_PK))
            .consistent_read(true)
            .limit(limit)
            .send()
            .await?;
        output.items().iter().map(ParkedMail::from_item).collect()
    }

    /// Puts a parked message back in the outbox as a new message (a new id, so the stream
    /// carries it as an insert and its failed sends are counted afresh; `redrive_of` names the
    /// original, whose token and budget it keeps) and removes it from the
    /// parked ones, in one transaction: a redrive run twice sends it once. `Ok(None)` when
    /// another redrive took it first.
    pub async fn redrive_parked(
        &self,
        parked: &ParkedMail,
        now: i64,
    ) -> Result<Option<OutboxMail>, StoreError> {
        let again = OutboxMail {
            redrive_of: Some(parked.mail.origin().to_owned()),
            ..OutboxMail::new(
                parked.mail.kind,
                parked.mail.email.clone(),
                parked.mail.user_id.clone(),
                now,
            )
        };
        let remove = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(PARKED_MAIL_PK))
            .key(SK, s(parked.sort_key()))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
        let items = vec![
            TransactWriteItem::builder().delete(remove).build(),
            put_new(self.outbox_table()?, again.item())?,
        ];
        Ok(match self.transact(items).await? {
            Transaction::Committed => Some(again),
            Transaction::ConditionFailed { index: 0 } => None,
            Transaction::ConditionFailed { index } => {
                return Err(StoreError::Corrupt(format!(
                    "redrive write {index} found its item already present"
                )));
            }
        })
    }
}
