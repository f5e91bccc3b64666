//! Confirm-first sign-ups (`REGISTRATION_MODE=confirm-first`): registration writes only a
//! pending sign-up (in the partition of the account it would create) and a mail request, the
//! same two writes whether or not the address has an account; the account exists only once
//! the mailed link and the sign-up's password come back.
//!
//! | item           | pk          | sk             |
//! |----------------|-------------|----------------|
//! | pending sign-up| `USER#<id>` | `SIGNUP` (name, address, password hash; TTL `expires_at`) |
//! | its link       | `USER#<id>` | `SIGNUP_TOKEN` (the digest, as any one-time token) |

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};

use super::item::{self, Item, n, s};
use super::one_time::{TokenPurpose, consume};
use super::outbox::OutboxMail;
use super::schema::*;
use super::sessions::NewSession;
use super::transaction::{Transaction, put_new};
use super::users::NewUser;
use super::{Store, StoreError};
use auth_core::domain::{DisplayName, Email, Role, UserId, UserProfile};

/// A sign-up waiting for its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignup {
    /// The id the account will have; the link's token names it.
    pub user: UserId,
    pub name: DisplayName,
    pub email: Email,
    pub password_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl PendingSignup {
    fn key(user: &UserId) -> Item {
        Item::from([
            (PK.to_owned(), s(user_pk(user))),
            (SK.to_owned(), s(SIGNUP_SK)),
        ])
    }

    fn item(&self) -> Item {
        let mut item = Self::key(&self.user);
        item.extend([
            (USER_ID.to_owned(), s(self.user.as_str())),
            (NAME.to_owned(), s(self.name.as_str())),
            (EMAIL.to_owned(), s(self.email.as_str())),
            (PASSWORD_HASH.to_owned(), s(&self.password_hash)),
            (CREATED_AT.to_owned(), n(self.created_at)),
            (EXPIRES_AT.to_owned(), n(self.expires_at)),
        ]);
        item
    }

    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            user: item::parsed(item, USER_ID, UserId::parse)?,
            name: item::parsed(item, NAME, |raw| DisplayName::parse(raw).ok())?,
            email: item::parsed(item, EMAIL, |raw| Email::parse(raw).ok())?,
            password_hash: item::string(item, PASSWORD_HASH)?.to_owned(),
            created_at: item::number(item, CREATED_AT)?,
            expires_at: item::number(item, EXPIRES_AT)?,
        })
    }

    /// The account this sign-up becomes: its address verified (the link proved it).
    pub fn account(&self, now: i64) -> NewUser {
        NewUser {
            profile: UserProfile {
                id: self.user.clone(),
                name: self.name.clone(),
                email: self.email.clone(),
                role: Role::user(),
                email_verified: true,
            },
            password_hash: self.password_hash.clone(),
            created_at: now,
        }
    }
}

/// The outcome of confirming a sign-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupConfirmation {
    Created,
    /// The link is used, replaced or expired, or the sign-up is gone.
    LinkRefused,
    /// Another account took the address meanwhile.
    EmailTaken,
}

impl Store {
    /// The pending sign-up and its mail request, in one transaction across the two tables.
    pub async fn request_signup(
        &self,
        pending: &PendingSignup,
        mail: &OutboxMail,
    ) -> Result<(), StoreError> {
        let items = vec![
            put_new(&self.table, pending.item())?,
            put_new(self.outbox_table()?, mail.item())?,
        ];
        match self.transact(items).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed { index } => Err(StoreError::Corrupt(format!(
                "sign-up write {index} found its item already present"
            ))),
        }
    }

    /// The pending sign-up for `user`, read strongly consistently; `None` once it expired.
    pub async fn pending_signup(
        &self,
        user: &UserId,
        now: i64,
    ) -> Result<Option<PendingSignup>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(PendingSignup::key(user)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output
            .item()
            .map(PendingSignup::from_item)
            .transpose()?
            .filter(|pending| now < pending.expires_at))
    }

    /// Creates the account from its sign-up: one transaction uses the link's token (on its
    /// digest and expiry), removes the sign-up, and writes credentials (on the address still
    /// being free), profile and the first session.
    pub async fn confirm_signup(
        &self,
        pending: &PendingSignup,
        digest: &str,
        session: &NewSession,
        now: i64,
    ) -> Result<SignupConfirmation, StoreError> {
        let remove = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(PendingSignup::key(&pending.user)))
            .condition_expression("attribute_exists(#pk) AND #expires_at > :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#expires_at", EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
        let mut items = vec![
            consume(
                &self.table,
                TokenPurpose::Signup,
                &pending.user,
                digest,
                now,
            )?,
            TransactWriteItem::builder().delete(remove).build(),
        ];
        let (account, guards) = self.new_account(&pending.account(now), session)?;
        items.extend(account);
        Ok(match self.transact(items).await? {
            Transaction::Committed => SignupConfirmation::Created,
            Transaction::ConditionFailed { index: 0 | 1 } => SignupConfirmation::LinkRefused,
            // An address guard: the address has an account now.
            Transaction::ConditionFailed { index } if index < 2 + guards => {
                SignupConfirmation::EmailTaken
            }
            Transaction::ConditionFailed { index } => {
                return Err(StoreError::Corrupt(format!(
                    "sign-up confirmation write {index} found its item already present"
                )));
            }
        })
    }
}
