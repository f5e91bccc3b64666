//! Users: credentials by email, profiles by id.

use super::error::condition_held;
use super::item::{self, Item, b, n, s};
use super::outbox::OutboxMail;
use super::schema::*;
use super::sessions::NewSession;
use super::transaction::{Transaction, put_new};
use super::{Store, StoreError};
use auth_core::domain::{DisplayName, Email, Role, UserCredentials, UserId, UserProfile};

/// A user about to be registered.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub profile: UserProfile,
    pub password_hash: String,
    pub created_at: i64,
}

/// The outcome of a registration write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Created,
    EmailTaken,
}

fn profile_from(item: &Item) -> Result<UserProfile, StoreError> {
    Ok(UserProfile {
        id: item::parsed(item, USER_ID, UserId::parse)?,
        name: item::parsed(item, NAME, |raw| DisplayName::parse(raw).ok())?,
        email: item::parsed(item, EMAIL, |raw| Email::parse(raw).ok())?,
        role: item::parsed(item, ROLE, Role::parse)?,
        email_verified: item::flag(item, EMAIL_VERIFIED)?,
    })
}

pub(super) fn credentials_from(item: &Item) -> Result<UserCredentials, StoreError> {
    Ok(UserCredentials {
        profile: profile_from(item)?,
        password_hash: item::string(item, PASSWORD_HASH)?.to_owned(),
        session_epoch: item::optional_number(item, SESSION_EPOCH)?.unwrap_or(0),
        mfa_enabled: item::flag(item, MFA_ENABLED)?,
    })
}

/// A profile as stored, with the account's session epoch (what refresh and the strict
/// authorizer compare a session against).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRecord {
    pub profile: UserProfile,
    pub session_epoch: u64,
    pub mfa_enabled: bool,
}

impl TryFrom<&Item> for ProfileRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, Self::Error> {
        Ok(Self {
            profile: profile_from(item)?,
            session_epoch: item::optional_number(item, SESSION_EPOCH)?.unwrap_or(0),
            mfa_enabled: item::flag(item, MFA_ENABLED)?,
        })
    }
}

fn profile_attributes(profile: &UserProfile, created_at: i64) -> Item {
    Item::from([
        (USER_ID.to_owned(), s(profile.id.as_str())),
        (EMAIL.to_owned(), s(profile.email.as_str())),
        (NAME.to_owned(), s(profile.name.as_str())),
        (ROLE.to_owned(), s(profile.role.as_str())),
        (EMAIL_VERIFIED.to_owned(), b(profile.email_verified)),
        (CREATED_AT.to_owned(), n(created_at)),
        (SESSION_EPOCH.to_owned(), n(0)),
    ])
}

impl Store {
    /// The writes that create an account: its credentials (the first write: its condition
    /// fails when the email is taken), its profile and its first session.
    /// The writes that create an account, and how many of them come first and guard its
    /// address: the credentials (their condition fails when the email is taken) and, for an
    /// IDN domain, a check that no account registered before canonicalisation holds its
    /// Unicode form. Then its profile and its first session.
    pub(super) fn new_account(
        &self,
        user: &NewUser,
        session: &NewSession,
    ) -> Result<(Vec<aws_sdk_dynamodb::types::TransactWriteItem>, usize), StoreError> {
        let mut credentials = profile_attributes(&user.profile, user.created_at);
        credentials.insert(PK.to_owned(), s(email_pk(&user.profile.email)));
        credentials.insert(SK.to_owned(), s(CREDENTIALS_SK));
        credentials.insert(PASSWORD_HASH.to_owned(), s(&user.password_hash));
        let mut profile = profile_attributes(&user.profile, user.created_at);
        profile.insert(PK.to_owned(), s(user_pk(&user.profile.id)));
        profile.insert(SK.to_owned(), s(PROFILE_SK));
        let mut items = vec![put_new(&self.table, credentials)?];
        if let Some(legacy) = crate::address::legacy_form(&user.profile.email) {
            let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
                .table_name(&self.table)
                .key(PK, s(email_pk(&legacy)))
                .key(SK, s(CREDENTIALS_SK))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .build()
                .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
            items.push(
                aws_sdk_dynamodb::types::TransactWriteItem::builder()
                    .condition_check(check)
                    .build(),
            );
        }
        let guards = items.len();
        items.push(put_new(&self.table, profile)?);
        items.push(put_new(&self.table, session.item())?);
        Ok((items, guards))
    }

    /// Writes the credentials, the profile, the first session and the verification mail's
    /// outbox message in one transaction, so a registration is all or nothing, and a second
    /// registration of the email fails its condition.
    pub async fn register(
        &self,
        user: &NewUser,
        session: &NewSession,
        verification: &OutboxMail,
    ) -> Result<Registration, StoreError> {
        let (mut items, guards) = self.new_account(user, session)?;
        items.push(put_new(self.outbox_table()?, verification.item())?);
        match self.transact(items).await? {
            Transaction::Committed => Ok(Registration::Created),
            // The address guards come first: one failing means the email is taken. (A
            // session-id collision would fail a later write instead.)
            Transaction::ConditionFailed { index } if index < guards => {
                Ok(Registration::EmailTaken)
            }
            Transaction::ConditionFailed { index } => Err(StoreError::Corrupt(format!(
                "registration write {index} found its item already present"
            ))),
        }
    }

    /// The key the account for an address typed at sign-in or reset is stored under: the
    /// first of `address::lookup_keys` that has an account, else the last of them. Reads
    /// only for an IDN domain (one per form but the last), whatever the answer; otherwise none.
    pub async fn account_email(&self, typed: &Email) -> Result<Email, StoreError> {
        let keys = crate::address::lookup_keys(typed);
        let Some((last, earlier)) = keys.split_last() else {
            return Ok(typed.clone());
        };
        for key in earlier {
            if self.credentials_by_email(key).await?.is_some() {
                return Ok(key.clone());
            }
        }
        // The caller's own read of the last one tells whether it has an account.
        Ok(last.clone())
    }

    /// The credentials for `email`, read strongly consistently (a login right after
    /// registration must see the user).
    pub async fn credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(email_pk(email)))
            .key(SK, s(CREDENTIALS_SK))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(credentials_from).transpose()
    }

    /// Replaces a password hash (rehash on login, password change), only if it is still the
    /// one just verified: a change or reset in between fails the condition.
    pub async fn replace_password_hash(
        &self,
        email: &Email,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(email_pk(email)))
            .key(SK, s(CREDENTIALS_SK))
            .update_expression("SET #hash = :new")
            .condition_expression("#hash = :old")
            .expression_attribute_names("#hash", PASSWORD_HASH)
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(":old", s(old_hash))
            .send()
            .await;
        condition_held(result)
    }

    /// The profile and session epoch, read strongly consistently: a refresh right after a
    /// credential event must see its epoch.
    pub async fn profile_record(&self, user: &UserId) -> Result<Option<ProfileRecord>, StoreError> {
        self.read_profile(user, true).await
    }

    /// The profile, read eventually consistently (where a moment's lag does no harm).
    pub async fn profile(&self, user: &UserId) -> Result<Option<UserProfile>, StoreError> {
        Ok(self
            .read_profile(user, false)
            .await?
            .map(|record| record.profile))
    }

    async fn read_profile(
        &self,
        user: &UserId,
        consistent: bool,
    ) -> Result<Option<ProfileRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(user)))
            .key(SK, s(PROFILE_SK))
            .consistent_read(consistent)
            .send()
            .await?;
        output.item().map(ProfileRecord::try_from).transpose()
    }
}

impl Store {
    /// Changes a user's role on their credentials and profile. Sessions take the role from the
    /// profile at each refresh, so it shows in the next access token (within one access-token
    /// lifetime). Returns `false` when no user has this email.
    pub async fn set_role(&self, email: &Email, role: &Role) -> Result<bool, StoreError> {
        let Some(credentials) = self.credentials_by_email(email).await? else {
            return Ok(false);
        };
        let keys = [
            (email_pk(email), CREDENTIALS_SK.to_owned()),
            (user_pk(&credentials.profile.id), PROFILE_SK.to_owned()),
        ];
        for (pk, sk) in keys {
            self.update_role(pk, sk, role).await?;
        }
        Ok(true)
    }

    async fn update_role(&self, pk: String, sk: String, role: &Role) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .update_expression("SET #role = :role")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#role", ROLE)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":role", s(role.as_str()))
            .send()
            .await;
        // The item vanished meanwhile (the account was deleted): nothing to update.
        condition_held(result).map(|_| ())
    }
}
