//! Revocation that is part of the commit. Every account carries a session epoch (on its
//! credentials, which a login reads, and on its profile, which a refresh reads); every session
//! records the epoch it was created under. A credential event (password reset, password change,
//! logout everywhere) raises the epoch in the same transaction as the change itself, and
//! account deletion removes the profile in its transaction: from that commit on, refresh and
//! the strict authorizer refuse every session below the epoch, whatever happens afterwards.
//! Deleting the dead session items is then clean-up, best-effort and resumable (their TTL
//! removes whatever a failed sweep leaves).

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::item::{self, Item, n, s};
use super::schema::*;
use super::sessions::{SessionRecord, epoch_is};
use super::users::ProfileRecord;
use super::{Store, StoreError};
use auth_core::domain::{Email, SessionId, UserId};

/// Whether a session has been revoked by its account: the account is gone (no profile), or a
/// credential event raised its epoch after the session was created or re-stamped.
pub fn is_revoked(session: &SessionRecord, account: Option<&ProfileRecord>) -> bool {
    account.is_none_or(|account| session.epoch < account.session_epoch)
}

/// How a transaction's epoch writes find the account's items.
pub(super) enum EpochFrom {
    /// Raise whatever the epoch is now (reset, logout everywhere).
    Current,
    /// Raise only from this epoch (password change: its calling session is re-stamped to the
    /// next one, which must be exactly one above what it was checked against).
    Exactly(u64),
}

/// What a transaction changes on an item beside its epoch: `set` is appended to the update's
/// `SET` (", a = :a"), `condition` to its condition (" AND ..."), and `values` are the
/// placeholders those use.
#[derive(Debug, Default)]
pub(super) struct ItemChange {
    pub set: String,
    pub condition: String,
    pub values: Vec<(&'static str, AttributeValue)>,
}

/// The two writes that raise the account's epoch: credentials (keyed by email, still
/// `user`'s) and profile (still `email`'s), each with its own further change.
pub(super) fn raise_epoch(
    table: &str,
    user: &UserId,
    email: &Email,
    from: &EpochFrom,
    credentials: ItemChange,
    profile: ItemChange,
) -> Result<[TransactWriteItem; 2], StoreError> {
    let (next, epoch_condition, epoch_values) = match from {
        EpochFrom::Current => (
            "if_not_exists(#epoch, :zero) + :one",
            "attribute_exists(#pk)".to_owned(),
            vec![(":zero", n(0)), (":one", n(1))],
        ),
        EpochFrom::Exactly(epoch) => (
            ":next",
            format!("attribute_exists(#pk) AND {}", epoch_is(*epoch)),
            vec![(":epoch", n(*epoch)), (":next", n(epoch.saturating_add(1)))],
        ),
    };
    let update = |pk: String, sk: &str, owner: (&str, &'static str, String), change: ItemChange| {
        let (owner_name, owner_placeholder, owner_value) = owner;
        let mut update = Update::builder()
            .table_name(table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .update_expression(format!("SET #epoch = {next}{}", change.set))
            .condition_expression(format!(
                "{epoch_condition} AND #owner = {owner_placeholder}{}",
                change.condition
            ))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#epoch", SESSION_EPOCH)
            .expression_attribute_names("#owner", owner_name)
            .expression_attribute_values(owner_placeholder, s(owner_value));
        for (name, value) in epoch_values.iter().cloned().chain(change.values) {
            update = update.expression_attribute_values(name, value);
        }
        update
            .build()
            .map(|update| TransactWriteItem::builder().update(update).build())
            .map_err(|error| StoreError::Unexpected(Box::new(error)))
    };
    Ok([
        update(
            email_pk(email),
            CREDENTIALS_SK,
            (USER_ID, ":owner_user", user.as_str().to_owned()),
            credentials,
        )?,
        update(
            user_pk(user),
            PROFILE_SK,
            (EMAIL, ":owner_email", email.as_str().to_owned()),
            profile,
        )?,
    ])
}

impl Store {
    /// The session, if it is live and its account has not revoked it: the session and the
    /// profile in one strongly consistent `BatchGetItem` (strict authorizer, email
    /// verification by a signed-in browser).
    pub async fn live_session(
        &self,
        user: &UserId,
        session: &SessionId,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .live_session_and_account(user, session, now)
            .await?
            .map(|(session, _)| session))
    }

    /// [`Store::live_session`] with the account's profile it was checked against.
    pub async fn live_session_and_account(
        &self,
        user: &UserId,
        session: &SessionId,
        now: i64,
    ) -> Result<Option<(SessionRecord, ProfileRecord)>, StoreError> {
        let key =
            |sk: String| Item::from([(PK.to_owned(), s(user_pk(user))), (SK.to_owned(), s(sk))]);
        let session_key = session_sk(session);
        let (mut found_session, mut found_profile) = (None, None);
        for found in self
            .batch_get(vec![key(session_key.clone()), key(PROFILE_SK.to_owned())])
            .await?
        {
            let sk = item::string(&found, SK)?;
            if sk == session_key {
                found_session = Some(SessionRecord::try_from(&found)?);
            } else if sk == PROFILE_SK {
                found_profile = Some(ProfileRecord::try_from(&found)?);
            }
        }
        let Some(session) = found_session.filter(|session| session.is_live(now)) else {
            return Ok(None);
        };
        let Some(account) = found_profile else {
            return Ok(None);
        };
        if !is_revoked(&session, Some(&account)) {
            return Ok(Some((session, account)));
        }
        // The batch is not one snapshot: it may have read the session just before a password
        // change re-stamped it and the profile just after. That change wrote both in one
        // transaction, so reading the session again now sees the stamp if there was one.
        if session.epoch.saturating_add(1) != account.session_epoch {
            return Ok(None);
        }
        Ok(self
            .session(user, &session.session_id)
            .await?
            .filter(|again| again.is_live(now) && !is_revoked(again, Some(&account)))
            .map(|again| (again, account)))
    }
}

/// Strict-mode authorizers ask whether a token's session is live and not revoked.
impl auth_core::authorizer::SessionCheck for Store {
    fn is_live<'a>(
        &'a self,
        user_id: &'a str,
        session_id: &'a str,
        now: i64,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<bool, Box<dyn std::error::Error + Send + Sync>>>
                + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            let (Some(user), Some(session)) =
                (UserId::parse(user_id), SessionId::parse(session_id))
            else {
                return Ok(false);
            };
            Ok(self.live_session(&user, &session, now).await?.is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Device;
    use auth_core::domain::{DisplayName, Role, UserProfile};

    fn session(epoch: u64) -> SessionRecord {
        SessionRecord {
            user_id: UserId::parse(&"a".repeat(32)).expect("valid id"),
            session_id: SessionId::parse(&"b".repeat(32)).expect("valid id"),
            role: Role::user(),
            email_verified: false,
            current_digest: "current".into(),
            previous_digest: None,
            generation: 0,
            rotated_at: None,
            created_at: 0,
            expires_at: 10,
            absolute_expires_at: 10,
            last_used_at: 0,
            device: Device::default(),
            epoch,
            assurance: auth_core::assurance::Assurance::password(),
        }
    }

    fn account(session_epoch: u64) -> ProfileRecord {
        ProfileRecord {
            profile: UserProfile {
                id: UserId::parse(&"a".repeat(32)).expect("valid id"),
                name: DisplayName::parse("Ada").expect("valid name"),
                email: Email::parse("ada@example.com").expect("valid email"),
                role: Role::user(),
                email_verified: false,
            },
            session_epoch,
            mfa_enabled: false,
        }
    }

    #[test]
    fn a_session_at_or_above_its_accounts_epoch_stands() {
        assert!(!is_revoked(&session(0), Some(&account(0))));
        assert!(!is_revoked(&session(3), Some(&account(3))));
        assert!(!is_revoked(&session(4), Some(&account(3))), "re-stamped");
    }

    #[test]
    fn a_session_below_its_accounts_epoch_or_without_an_account_is_revoked() {
        assert!(is_revoked(&session(2), Some(&account(3))));
        assert!(is_revoked(&session(0), None));
    }
}
