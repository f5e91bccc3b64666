//! Refresh sessions: one item per login (a token family), rotated by compare-and-swap.

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, WriteRequest,
};

use super::error::condition_held;
use super::item::{self, Item, b, n, s};
use super::schema::*;
use super::transaction::{Transaction, put_new};
use super::{Store, StoreError};
use auth_core::assurance::{Aal, Assurance, AuthMethod};
use auth_core::domain::{Email, Role, SessionId, UserId};

/// A session about to be created at login or registration.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub role: Role,
    pub email_verified: bool,
    pub token_digest: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub absolute_expires_at: i64,
    pub device: Device,
    /// The account's session epoch the login read; the session is revoked once it rises.
    pub epoch: u64,
    /// How the sign-in was authenticated; refreshes keep it.
    pub assurance: Assurance,
}

/// Where a session was last used from (login, then each refresh), shown in the sessions list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
}

impl Device {
    fn set_on(&self, item: &mut Item) {
        for (name, value) in [
            (USER_AGENT, &self.user_agent),
            (IP_ADDRESS, &self.ip_address),
        ] {
            if let Some(value) = value {
                item.insert(name.to_owned(), s(value));
            }
        }
    }

    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            user_agent: item::optional_string(item, USER_AGENT)?.map(str::to_owned),
            ip_address: item::optional_string(item, IP_ADDRESS)?.map(str::to_owned),
        })
    }
}

impl NewSession {
    pub(super) fn item(&self) -> Item {
        let mut item = Item::from([
            (PK.to_owned(), s(user_pk(&self.user_id))),
            (SK.to_owned(), s(session_sk(&self.session_id))),
            (USER_ID.to_owned(), s(self.user_id.as_str())),
            (SESSION_ID.to_owned(), s(self.session_id.as_str())),
            (ROLE.to_owned(), s(self.role.as_str())),
            (EMAIL_VERIFIED.to_owned(), b(self.email_verified)),
            (CURRENT_DIGEST.to_owned(), s(&self.token_digest)),
            (GENERATION.to_owned(), n(0)),
            (CREATED_AT.to_owned(), n(self.created_at)),
            (LAST_USED_AT.to_owned(), n(self.created_at)),
            (EXPIRES_AT.to_owned(), n(self.expires_at)),
            (ABSOLUTE_EXPIRES_AT.to_owned(), n(self.absolute_expires_at)),
            (SESSION_EPOCH.to_owned(), n(self.epoch)),
        ]);
        self.device.set_on(&mut item);
        set_assurance(&mut item, &self.assurance);
        item
    }
}

/// The attributes a session's assurance is stored as.
pub(super) fn assurance_attributes(assurance: &Assurance) -> Vec<(&'static str, AttributeValue)> {
    let amr = assurance
        .amr
        .iter()
        .map(|method| s(method.as_str()))
        .collect();
    let mut attributes = vec![
        (AAL, s(assurance.aal.as_str())),
        (AMR, AttributeValue::L(amr)),
    ];
    if let Some(at) = assurance.second_factor_at {
        attributes.push((SECOND_FACTOR_AT, n(at)));
    }
    attributes
}

fn set_assurance(item: &mut Item, assurance: &Assurance) {
    for (name, value) in assurance_attributes(assurance) {
        item.insert(name.to_owned(), value);
    }
}

/// A session's assurance as stored; a session written before it existed was a password
/// sign-in.
fn assurance_from(item: &Item) -> Result<Assurance, StoreError> {
    let Some(aal) = item::optional_string(item, AAL)? else {
        return Ok(Assurance::password());
    };
    let corrupt =
        |what: &str| StoreError::Corrupt(format!("attribute {what} has an invalid value"));
    let amr = item::optional_string_list(item, AMR)?
        .unwrap_or_default()
        .into_iter()
        .map(|method| AuthMethod::parse(method).ok_or_else(|| corrupt(AMR)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Assurance {
        aal: Aal::parse(aal).ok_or_else(|| corrupt(AAL))?,
        amr,
        second_factor_at: item::optional_number(item, SECOND_FACTOR_AT)?,
    })
}

/// What a login's session write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStart {
    Created,
    /// The credentials changed since the login read them (role or password); nothing written.
    CredentialsChanged,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub role: Role,
    pub email_verified: bool,
    pub current_digest: String,
    pub previous_digest: Option<String>,
    /// How many times the session has been rotated; the current token is this generation.
    pub generation: u64,
    pub rotated_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    pub absolute_expires_at: i64,
    /// The latest login or refresh.
    pub last_used_at: i64,
    pub device: Device,
    /// The account epoch the session was created or re-stamped under.
    pub epoch: u64,
    pub assurance: Assurance,
}

impl SessionRecord {
    /// Live means not past its expiry, whether or not DynamoDB's TTL has deleted it yet.
    pub fn is_live(&self, now: i64) -> bool {
        now < self.expires_at && now < self.absolute_expires_at
    }
}

impl TryFrom<&Item> for SessionRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, Self::Error> {
        Ok(Self {
            user_id: item::parsed(item, USER_ID, UserId::parse)?,
            session_id: item::parsed(item, SESSION_ID, SessionId::parse)?,
            role: item::parsed(item, ROLE, Role::parse)?,
            email_verified: item::flag(item, EMAIL_VERIFIED)?,
            current_digest: item::string(item, CURRENT_DIGEST)?.to_owned(),
            previous_digest: item::optional_string(item, PREVIOUS_DIGEST)?.map(str::to_owned),
            generation: item::number(item, GENERATION)?,
            rotated_at: item::optional_number(item, ROTATED_AT)?,
            created_at: item::number(item, CREATED_AT)?,
            expires_at: item::number(item, EXPIRES_AT)?,
            absolute_expires_at: item::number(item, ABSOLUTE_EXPIRES_AT)?,
            last_used_at: item::optional_number(item, LAST_USED_AT)?
                .unwrap_or(item::number(item, CREATED_AT)?),
            device: Device::from_item(item)?,
            epoch: item::optional_number(item, SESSION_EPOCH)?.unwrap_or(0),
            assurance: assurance_from(item)?,
        })
    }
}

/// The deletes that end `retire` (a new session's per-user bound), for its transaction.
pub(super) fn retire_writes(
    table: &str,
    user: &UserId,
    retire: &[SessionId],
) -> Result<Vec<TransactWriteItem>, StoreError> {
    retire
        .iter()
        .map(|retired| {
            let delete = Delete::builder()
                .table_name(table)
                .key(PK, s(user_pk(user)))
                .key(SK, s(session_sk(retired)))
                .build()
                .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
            Ok(TransactWriteItem::builder().delete(delete).build())
        })
        .collect()
}

/// The condition that an item's session epoch is `epoch` (`#epoch`, `:epoch`); an item written
/// before the attribute existed is at 0.
pub(super) fn epoch_is(epoch: u64) -> &'static str {
    if epoch == 0 {
        "(attribute_not_exists(#epoch) OR #epoch = :epoch)"
    } else {
        "#epoch = :epoch"
    }
}

/// A session of a user as a login's trim sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAge {
    pub session_id: SessionId,
    pub created_at: i64,
    pub live: bool,
    /// The epoch it was created or re-stamped under.
    pub epoch: u64,
}

/// The sessions a new login ends so the user keeps at most `max` live ones: every dead one
/// (expired, not yet deleted by TTL) and the oldest live ones beyond `max - 1`, at most
/// `limit` in all (they ride in the login's transaction).
pub fn sessions_to_retire(
    mut sessions: Vec<SessionAge>,
    max: usize,
    limit: usize,
) -> Vec<SessionId> {
    sessions.sort_by(|a, b| {
        (a.live, a.created_at, a.session_id.as_str()).cmp(&(
            b.live,
            b.created_at,
            b.session_id.as_str(),
        ))
    });
    let live = sessions.iter().filter(|session| session.live).count();
    let excess_live = (live + 1).saturating_sub(max.max(1));
    let dead = sessions.len() - live;
    sessions
        .into_iter()
        .take(dead + excess_live)
        .take(limit)
        .map(|session| session.session_id)
        .collect()
}

/// The outcome of a rotation attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token was current and the session live: it is now rotated.
    Rotated(SessionRecord),
    /// The condition failed; the session as it was (if it exists) tells the caller why.
    Refused(Option<SessionRecord>),
}

impl Store {
    /// Rotates the session from `presented_digest` to `next_digest` in one conditional write:
    /// the presented token must be current, the session live, and the new expiry within the
    /// session's absolute lifetime. On refusal DynamoDB returns the old item in the same round trip.
    // Each argument is one distinct input of the single conditional write.
    #[allow(clippy::too_many_arguments)]
    pub async fn rotate_session(
        &self,
        user: &UserId,
        session: &SessionId,
        presented_digest: &str,
        next_digest: &str,
        now: i64,
        new_expires_at: i64,
        device: &Device,
    ) -> Result<Rotation, StoreError> {
        // The device as last seen; an unknown detail leaves the one recorded before.
        let mut device_update = String::new();
        let mut device_values = Vec::new();
        for (name, value) in [
            (USER_AGENT, &device.user_agent),
            (IP_ADDRESS, &device.ip_address),
        ] {
            if let Some(value) = value {
                device_update.push_str(&format!(", #{name} = :{name}"));
                device_values.push((name, s(value)));
            }
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(user)))
            .key(SK, s(session_sk(session)))
            .update_expression(format!(
                "SET #current = :next, #previous = :presented, #generation = #generation + :one, \
                 #rotated_at = :now, #expires_at = :expires_at, #last_used_at = :now{device_update}"
            ))
            .expression_attribute_names("#last_used_at", LAST_USED_AT)
            .condition_expression(
                "#current = :presented AND #expires_at > :now AND #absolute >= :expires_at",
            )
            .expression_attribute_names("#current", CURRENT_DIGEST)
            .expression_attribute_names("#previous", PREVIOUS_DIGEST)
            .expression_attribute_names("#generation", GENERATION)
            .expression_attribute_names("#rotated_at", ROTATED_AT)
            .expression_attribute_names("#expires_at", EXPIRES_AT)
            .expression_attribute_names("#absolute", ABSOLUTE_EXPIRES_AT)
            .expression_attribute_values(":next", s(next_digest))
            .expression_attribute_values(":presented", s(presented_digest))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":expires_at", n(new_expires_at))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (name, value) in device_values {
            request = request
                .expression_attribute_names(format!("#{name}"), name)
                .expression_attribute_values(format!(":{name}"), value);
        }
        let result = request.send().await;
        match result {
            Ok(output) => {
                let item = output
                    .attributes()
                    .ok_or_else(|| StoreError::Corrupt("rotation returned no item".into()))?;
                Ok(Rotation::Rotated(SessionRecord::try_from(item)?))
            }
            Err(error) => match error.as_service_error() {
                Some(service) if service.is_conditional_check_failed_exception() => {
                    let old = match service {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(failed) => {
                            failed.item().map(SessionRecord::try_from).transpose()?
                        }
                        _ => None,
                    };
                    Ok(Rotation::Refused(old))
                }
                _ => Err(error.into()),
            },
        }
    }

    /// Creates a login's session, only if the user's credentials still hold the role, the
    /// password hash and the session epoch the login read: a role change, password change or
    /// credential event landing between the login's read and this write fails it. The same
    /// transaction ends the email's failure streak (the login reserved an attempt in it) and
    /// the sessions in `retire` (the per-user bound).
    pub async fn create_session_for(
        &self,
        session: &NewSession,
        email: &Email,
        verified_hash: &str,
        retire: &[SessionId],
    ) -> Result<SessionStart, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(email_pk(email)))
            .key(SK, s(CREDENTIALS_SK))
            .condition_expression(format!(
                "#role = :role AND #hash = :hash AND {}",
                epoch_is(session.epoch)
            ))
            .expression_attribute_names("#role", ROLE)
            .expression_attribute_names("#hash", PASSWORD_HASH)
            .expression_attribute_names("#epoch", SESSION_EPOCH)
            .expression_attribute_values(":role", s(session.role.as_str()))
            .expression_attribute_values(":hash", s(verified_hash))
            .expression_attribute_values(":epoch", n(session.epoch))
            .build()
            .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
        let streak = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(
                super::throttle::streak_key(email).into_iter().collect(),
            ))
            .build()
            .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
        let mut items = vec![
            put_new(&self.table, session.item())?,
            TransactWriteItem::builder().condition_check(check).build(),
            TransactWriteItem::builder().delete(streak).build(),
        ];
        items.extend(retire_writes(&self.table, &session.user_id, retire)?);
        match self.transact(items).await? {
            Transaction::Committed => Ok(SessionStart::Created),
            Transaction::ConditionFailed { index: 1 } => Ok(SessionStart::CredentialsChanged),
            Transaction::ConditionFailed { .. } => Err(StoreError::Corrupt(
                "a new session's id is already taken".into(),
            )),
        }
    }

    /// Every session of `user` with its age and whether it is live (unexpired, and not below
    /// the account's `account_epoch`): one strongly consistent query of the partition's session
    /// keys (what a login needs to bound their number, and the clean-up to find the dead).
    pub async fn session_ages(
        &self,
        user: &UserId,
        now: i64,
        account_epoch: u64,
    ) -> Result<Vec<SessionAge>, StoreError> {
        let mut ages = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_names("#session", SESSION_ID)
            .expression_attribute_names("#created", CREATED_AT)
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_names("#absolute", ABSOLUTE_EXPIRES_AT)
            .expression_attribute_names("#epoch", SESSION_EPOCH)
            .expression_attribute_values(":pk", s(user_pk(user)))
            .expression_attribute_values(":prefix", s(SESSION_SK_PREFIX))
            .projection_expression("#session, #created, #expires, #absolute, #epoch")
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(found) = pages.next().await {
            let found = found?;
            let expires_at: i64 = item::number(&found, EXPIRES_AT)?;
            let absolute: i64 = item::number(&found, ABSOLUTE_EXPIRES_AT)?;
            let epoch: u64 = item::optional_number(&found, SESSION_EPOCH)?.unwrap_or(0);
            ages.push(SessionAge {
                session_id: item::parsed(&found, SESSION_ID, SessionId::parse)?,
                created_at: item::number(&found, CREATED_AT)?,
                live: now < expires_at && now < absolute && epoch >= account_epoch,
                epoch,
            });
        }
        Ok(ages)
    }

    /// The session, read strongly consistently; `None` when absent. Expiry is the caller's check.
    pub async fn session(
        &self,
        user: &UserId,
        session: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(user)))
            .key(SK, s(session_sk(session)))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(SessionRecord::try_from).transpose()
    }

    /// Deletes the session if `digest` is its current or previous token (logout). Returns whether
    /// a session was deleted; a token that matches nothing deletes nothing.
    pub async fn delete_session_holding(
        &self,
        user: &UserId,
        session: &SessionId,
        digest: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(user)))
            .key(SK, s(session_sk(session)))
            .condition_expression("#current = :digest OR #previous = :digest")
            .expression_attribute_names("#current", CURRENT_DIGEST)
            .expression_attribute_names("#previous", PREVIOUS_DIGEST)
            .expression_attribute_values(":digest", s(digest))
            .send()
            .await;
        condition_held(result)
    }

    /// Deletes a session, only while its epoch is still below `account_epoch` (a session its
    /// account revoked: a re-stamp since then keeps it); unconditionally with `None` (the
    /// account is gone, or the family was caught being reused). Returns whether it was deleted.
    pub async fn delete_session(
        &self,
        user: &UserId,
        session: &SessionId,
        account_epoch: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(user)))
            .key(SK, s(session_sk(session)));
        if let Some(epoch) = account_epoch {
            request = request
                .condition_expression("attribute_not_exists(#epoch) OR #epoch < :epoch")
                .expression_attribute_names("#epoch", SESSION_EPOCH)
                .expression_attribute_values(":epoch", n(epoch));
        }
        condition_held(request.send().await)
    }

    /// Deletes every session of every user (the operator's answer to a leaked refresh key):
    /// a scan for session items, then batched deletes. Returns how many there were.
    pub async fn delete_every_session(&self) -> Result<usize, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":prefix", s(SESSION_SK_PREFIX))
            .projection_expression("#pk, #sk")
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item?;
            keys.push(Item::from([
                (PK.to_owned(), s(item::string(&item, PK)?)),
                (SK.to_owned(), s(item::string(&item, SK)?)),
            ]));
        }
        self.delete_keys(&keys).await?;
        Ok(keys.len())
    }

    /// Batch-deletes items by key, 25 per request, retrying what DynamoDB leaves unprocessed.
    pub(super) async fn delete_keys(&self, keys: &[Item]) -> Result<(), StoreError> {
        for chunk in keys.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()
                        .map(|delete| WriteRequest::builder().delete_request(delete).build())
                        .map_err(|error| StoreError::Unexpected(Box::new(error)))
                })
                .collect::<Result<_, _>>()?;
            // BatchWriteItem may leave items unprocessed under load; retry those with backoff.
            for attempt in 0..5u32 {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await?;
                pending = output
                    .unprocessed_items()
                    .and_then(|unprocessed| unprocessed.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable(
                    "items left unprocessed after retries".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(id: char, created_at: i64, live: bool) -> SessionAge {
        SessionAge {
            session_id: SessionId::parse(&id.to_string().repeat(32)).expect("valid id"),
            created_at,
            live,
            epoch: 0,
        }
    }

    fn ids(retired: &[SessionId]) -> String {
        retired
            .iter()
            .map(|id| id.as_str().chars().next().unwrap_or('?'))
            .collect()
    }

    #[test]
    fn below_the_bound_only_dead_sessions_are_retired() {
        let sessions = vec![age('a', 5, true), age('b', 1, false), age('c', 3, true)];
        assert_eq!(ids(&sessions_to_retire(sessions, 5, 25)), "b");
    }

    #[test]
    fn at_the_bound_the_oldest_live_sessions_make_room_for_the_new_one() {
        let sessions = vec![
            age('a', 5, true),
            age('b', 1, true),
            age('c', 3, true),
            age('d', 9, false),
        ];
        assert_eq!(ids(&sessions_to_retire(sessions.clone(), 3, 25)), "db");
        assert_eq!(ids(&sessions_to_retire(sessions.clone(), 2, 25)), "dbc");
        assert_eq!(ids(&sessions_to_retire(sessions.clone(), 1, 25)), "dbca");
        assert_eq!(
            ids(&sessions_to_retire(sessions, 1, 2)),
            "db",
            "the limit caps it"
        );
    }

    #[test]
    fn nothing_is_retired_for_a_user_without_sessions() {
        assert!(sessions_to_retire(Vec::new(), 1, 25).is_empty());
    }
}
