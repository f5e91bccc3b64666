//! Federated sign-in: the pending sign-ins (`OAUTH_STATE#<digest>`, spent by one delete) and
//! the provider identities linked to accounts (`IDENTITY#<id>`, keyed on issuer and subject,
//! with a copy in the account's partition for its list).

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem};

use super::item::{self, Item, n, s};
use super::schema::*;
use super::sessions::{NewSession, epoch_is, retire_writes};
use super::transaction::{Transaction, put_new};
use super::users::NewUser;
use super::{SessionStart, Store, StoreError};
use auth_core::domain::{Email, Role, SessionId, UserId};

/// A sign-in between `start` and its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    pub provider: String,
    /// SHA-256 of the browser's binding secret (`federation::flow`).
    pub binding_digest: String,
    pub return_path: String,
    /// Set when a signed-in user started it to link a provider to their account: that user,
    /// the session that asked and the account's epoch then. The callback links only while
    /// that session is live and the epoch unchanged (a reset in between voids the link).
    pub link: Option<LinkRequest>,
    pub expires_at: i64,
}

/// Who asked for a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    pub user: UserId,
    pub session: SessionId,
    pub epoch: u64,
}

/// The account a link joins, as read: the transaction holds only while its credentials still
/// say so.
#[derive(Debug, Clone, Copy)]
pub struct LinkTarget<'a> {
    pub user: &'a UserId,
    pub email: &'a Email,
    pub role: &'a Role,
    pub epoch: u64,
}

/// A provider identity about to be linked.
#[derive(Debug, Clone)]
pub struct NewIdentity<'a> {
    /// [`identity_id`] of the issuer and subject.
    pub id: &'a str,
    pub provider: &'a str,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub email: Option<&'a str>,
    pub created_at: i64,
}

/// A linked identity as its account's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRecord {
    pub id: String,
    pub provider: String,
    pub email: Option<String>,
    pub created_at: i64,
}

/// What creating an account for a provider identity found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FederatedAccount {
    Created,
    /// An account took the address meanwhile: sign in again to link to it.
    EmailTaken,
    /// Another sign-in linked the identity meanwhile.
    IdentityTaken,
}

/// What linking found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Linked,
    /// The identity is another account's.
    IdentityTaken,
    /// The account is gone, or its address stopped being verified, or a credential event
    /// changed its epoch meanwhile: nothing written.
    AccountChanged,
}

/// An identity's id: the SHA-256 of its issuer and subject (a subject may hold any character;
/// the digest is a fixed-size key that names neither).
pub fn identity_id(issuer: &str, subject: &str) -> String {
    let mut input = Vec::with_capacity(issuer.len() + subject.len() + 1);
    input.extend_from_slice(issuer.as_bytes());
    input.push(0);
    input.extend_from_slice(subject.as_bytes());
    auth_core::random::hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input).as_ref())
}

fn oauth_state_pk(digest: &str) -> String {
    format!("{OAUTH_STATE_PK_PREFIX}{digest}")
}

fn identity_pk(id: &str) -> String {
    format!("{IDENTITY_PK_PREFIX}{id}")
}

fn listing_sk(id: &str) -> String {
    format!("{IDENTITY_SK_PREFIX}{id}")
}

fn built<T, E: std::error::Error + Send + Sync + 'static>(
    result: Result<T, E>,
) -> Result<T, StoreError> {
    result.map_err(|error| StoreError::Unexpected(Box::new(error)))
}

impl NewIdentity<'_> {
    fn attributes(&self) -> Item {
        let mut item = Item::from([
            (IDENTITY_ID.to_owned(), s(self.id)),
            (PROVIDER.to_owned(), s(self.provider)),
            (ISSUER.to_owned(), s(self.issuer)),
            (SUBJECT.to_owned(), s(self.subject)),
            (CREATED_AT.to_owned(), n(self.created_at)),
        ]);
        if let Some(email) = self.email {
            item.insert(EMAIL.to_owned(), s(email));
        }
        item
    }

    /// The identity item (unique per issuer and subject; `dangling` names the deleted account
    /// an older item may still point at) and its copy in `user`'s partition.
    fn writes(
        &self,
        table: &str,
        user: &UserId,
        dangling: Option<&UserId>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut identity = self.attributes();
        identity.insert(PK.to_owned(), s(identity_pk(self.id)));
        identity.insert(SK.to_owned(), s(IDENTITY_SK));
        identity.insert(USER_ID.to_owned(), s(user.as_str()));
        let mut put = Put::builder()
            .table_name(table)
            .set_item(Some(identity))
            .expression_attribute_names("#pk", PK);
        put = match dangling {
            Some(old) => put
                .condition_expression("attribute_not_exists(#pk) OR #user = :dangling")
                .expression_attribute_names("#user", USER_ID)
                .expression_attribute_values(":dangling", s(old.as_str())),
            None => put.condition_expression("attribute_not_exists(#pk)"),
        };
        let mut listing = self.attributes();
        listing.insert(PK.to_owned(), s(user_pk(user)));
        listing.insert(SK.to_owned(), s(listing_sk(self.id)));
        let listing = Put::builder().table_name(table).set_item(Some(listing));
        Ok(vec![
            TransactWriteItem::builder()
                .put(built(put.build())?)
                .build(),
            // Overwrites a listing the same account may hold from before (idempotent).
            TransactWriteItem::builder()
                .put(built(listing.build())?)
                .build(),
        ])
    }
}

impl Store {
    fn identity_writes(
        &self,
        identity: &NewIdentity<'_>,
        user: &UserId,
        dangling: Option<&UserId>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        identity.writes(&self.table, user, dangling)
    }

    /// Records a sign-in's start; it lives until `expires_at` or its callback.
    pub async fn start_oauth(
        &self,
        digest: &str,
        state: &OAuthState,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut item = Item::from([
            (PK.to_owned(), s(oauth_state_pk(digest))),
            (SK.to_owned(), s(OAUTH_STATE_SK)),
            (PROVIDER.to_owned(), s(&state.provider)),
            (TOKEN_DIGEST.to_owned(), s(&state.binding_digest)),
            (RETURN_PATH.to_owned(), s(&state.return_path)),
            (CREATED_AT.to_owned(), n(now)),
            (EXPIRES_AT.to_owned(), n(state.expires_at)),
        ]);
        if let Some(link) = &state.link {
            item.insert(USER_ID.to_owned(), s(link.user.as_str()));
            item.insert(SESSION_ID.to_owned(), s(link.session.as_str()));
            item.insert(SESSION_EPOCH.to_owned(), n(link.epoch));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await?;
        Ok(())
    }

    /// Spends a sign-in: one delete that returns what it removed, so a replayed or raced
    /// callback finds nothing. An expired one is spent too and reads as absent (DynamoDB's TTL
    /// deletes late).
    pub async fn spend_oauth(
        &self,
        digest: &str,
        now: i64,
    ) -> Result<Option<OAuthState>, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(oauth_state_pk(digest)))
            .key(SK, s(OAUTH_STATE_SK))
            .return_values(ReturnValue::AllOld)
            .send()
            .await?;
        let Some(found) = output.attributes() else {
            return Ok(None);
        };
        let state = OAuthState {
            provider: item::string(found, PROVIDER)?.to_owned(),
            binding_digest: item::string(found, TOKEN_DIGEST)?.to_owned(),
            return_path: item::string(found, RETURN_PATH)?.to_owned(),
            link: match item::optional_string(found, USER_ID)? {
                None => None,
                Some(raw) => Some(LinkRequest {
                    user: UserId::parse(raw)
                        .ok_or_else(|| StoreError::Corrupt("a link's user id".into()))?,
                    session: item::parsed(found, SESSION_ID, SessionId::parse)?,
                    epoch: item::number(found, SESSION_EPOCH)?,
                }),
            },
            expires_at: item::number(found, EXPIRES_AT)?,
        };
        Ok(Some(state).filter(|state| now < state.expires_at))
    }

    /// The account an identity is linked to, read strongly consistently.
    pub async fn identity_owner(&self, id: &str) -> Result<Option<UserId>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(identity_pk(id)))
            .key(SK, s(IDENTITY_SK))
            .consistent_read(true)
            .send()
            .await?;
        output
            .item()
            .map(|found| item::parsed(found, USER_ID, UserId::parse))
            .transpose()
    }

    /// Creates an account for a provider identity: its credentials (no password, the address
    /// verified by the provider), profile, first session and identity, in one transaction.
    pub async fn register_federated(
        &self,
        user: &NewUser,
        session: &NewSession,
        identity: &NewIdentity<'_>,
        dangling: Option<&UserId>,
    ) -> Result<FederatedAccount, StoreError> {
        let (mut items, guards) = self.new_account(user, session)?;
        let identity_index = items.len();
        items.extend(self.identity_writes(identity, &user.profile.id, dangling)?);
        Ok(match self.transact(items).await? {
            Transaction::Committed => FederatedAccount::Created,
            Transaction::ConditionFailed { index } if index < guards => {
                FederatedAccount::EmailTaken
            }
            Transaction::ConditionFailed { index } if index == identity_index => {
                FederatedAccount::IdentityTaken
            }
            Transaction::ConditionFailed { index } => {
                return Err(StoreError::Corrupt(format!(
                    "federated registration write {index} found its item already present"
                )));
            }
        })
    }

    /// Links an identity to `user`, only while the account at `email` is still `user`'s, its
    /// address verified and its epoch `epoch` (a credential event, or an unverified address,
    /// writes nothing). With `session`, the same transaction starts the sign-in's session and
    /// ends the sessions it retires (the per-user bound).
    pub async fn link_identity(
        &self,
        identity: &NewIdentity<'_>,
        account: &LinkTarget<'_>,
        dangling: Option<&UserId>,
        session: Option<(&NewSession, &[SessionId])>,
    ) -> Result<Link, StoreError> {
        let LinkTarget {
            user,
            email,
            role,
            epoch,
        } = *account;
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(email_pk(email)))
            .key(SK, s(CREDENTIALS_SK))
            .condition_expression(format!(
                "#user = :user AND #role = :role AND #verified = :true AND {}",
                epoch_is(epoch)
            ))
            .expression_attribute_names("#user", USER_ID)
            .expression_attribute_names("#role", ROLE)
            .expression_attribute_values(":role", s(role.as_str()))
            .expression_attribute_names("#verified", EMAIL_VERIFIED)
            .expression_attribute_names("#epoch", SESSION_EPOCH)
            .expression_attribute_values(":user", s(user.as_str()))
            .expression_attribute_values(":true", item::b(true))
            .expression_attribute_values(":epoch", n(epoch));
        let mut items = vec![
            TransactWriteItem::builder()
                .condition_check(built(check.build())?)
                .build(),
        ];
        items.extend(self.identity_writes(identity, user, dangling)?);
        if let Some((session, retire)) = session {
            items.push(put_new(&self.table, session.item())?);
            items.extend(retire_writes(&self.table, user, retire)?);
        }
        Ok(match self.transact(items).await? {
            Transaction::Committed => Link::Linked,
            Transaction::ConditionFailed { index: 0 } => Link::AccountChanged,
            Transaction::ConditionFailed { index: 1 } => Link::IdentityTaken,
            Transaction::ConditionFailed { index } => {
                return Err(StoreError::Corrupt(format!(
                    "linking write {index} found its item already present"
                )));
            }
        })
    }

    /// Starts the session of a sign-in through an identity already linked to the account,
    /// only while the account at `email` is still that user's with the role and epoch read; the
    /// same transaction ends the sessions in `retire` (the per-user bound).
    pub async fn start_federated_session(
        &self,
        session: &NewSession,
        email: &Email,
        retire: &[SessionId],
    ) -> Result<SessionStart, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(email_pk(email)))
            .key(SK, s(CREDENTIALS_SK))
            .condition_expression(format!(
                "#user = :user AND #role = :role AND {}",
                epoch_is(session.epoch)
            ))
            .expression_attribute_names("#user", USER_ID)
            .expression_attribute_names("#role", ROLE)
            .expression_attribute_names("#epoch", SESSION_EPOCH)
            .expression_attribute_values(":user", s(session.user_id.as_str()))
            .expression_attribute_values(":role", s(session.role.as_str()))
            .expression_attribute_values(":epoch", n(session.epoch));
        let mut items = vec![
            put_new(&self.table, session.item())?,
            TransactWriteItem::builder()
                .condition_check(built(check.build())?)
                .build(),
        ];
        items.extend(retire_writes(&self.table, &session.user_id, retire)?);
        Ok(match self.transact(items).await? {
            Transaction::Committed => SessionStart::Created,
            Transaction::ConditionFailed { index: 1 } => SessionStart::CredentialsChanged,
            Transaction::ConditionFailed { .. } => {
                return Err(StoreError::Corrupt("a new session's id is taken".into()));
            }
        })
    }

    /// The identities linked to `user`, oldest first.
    pub async fn identities(&self, user: &UserId) -> Result<Vec<IdentityRecord>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(user_pk(user)))
            .expression_attribute_values(":prefix", s(IDENTITY_SK_PREFIX))
            .consistent_read(true)
            .send()
            .await?;
        let mut found: Vec<IdentityRecord> = output
            .items()
            .iter()
            .map(|listing| {
                Ok(IdentityRecord {
                    id: item::string(listing, IDENTITY_ID)?.to_owned(),
                    provider: item::string(listing, PROVIDER)?.to_owned(),
                    email: item::optional_string(listing, EMAIL)?.map(str::to_owned),
                    created_at: item::number(listing, CREATED_AT)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        found.sort_by_key(|identity| identity.created_at);
        Ok(found)
    }

    /// Unlinks one of `user`'s identities, only while another way to sign in remains: the
    /// account's password (its hash is not `NO_PASSWORD`) or `keep`, another identity of
    /// theirs that must still exist. `false` when that no longer holds or the identity is gone.
    pub async fn unlink_identity(
        &self,
        user: &UserId,
        email: &Email,
        id: &str,
        keep: Option<&str>,
    ) -> Result<bool, StoreError> {
        let remaining = match keep {
            Some(other) => ConditionCheck::builder()
                .table_name(&self.table)
                .key(PK, s(user_pk(user)))
                .key(SK, s(listing_sk(other)))
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK),
            None => ConditionCheck::builder()
                .table_name(&self.table)
                .key(PK, s(email_pk(email)))
                .key(SK, s(CREDENTIALS_SK))
                .condition_expression("#user = :user AND #hash <> :none")
                .expression_attribute_names("#user", USER_ID)
                .expression_attribute_names("#hash", PASSWORD_HASH)
                .expression_attribute_values(":user", s(user.as_str()))
                .expression_attribute_values(":none", s(crate::password::NO_PASSWORD)),
        };
        let listing = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(user_pk(user)))
            .key(SK, s(listing_sk(id)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK);
        let identity = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(identity_pk(id)))
            .key(SK, s(IDENTITY_SK))
            .condition_expression("#user = :user")
            .expression_attribute_names("#user", USER_ID)
            .expression_attribute_values(":user", s(user.as_str()));
        let items = vec![
            TransactWriteItem::builder()
                .condition_check(built(remaining.build())?)
                .build(),
            TransactWriteItem::builder()
                .delete(built(listing.build())?)
                .build(),
            TransactWriteItem::builder()
                .delete(built(identity.build())?)
                .build(),
        ];
        Ok(self.transact(items).await? == Transaction::Committed)
    }
}
