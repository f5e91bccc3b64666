//! The second factor in the table: a user's factor item (the sealed TOTP secret, confirmed and
//! pending, the last time step accepted, the recovery codes' digests), a login's pending
//! second step (a challenge keyed by its token's digest), and the failure streak of codes.
//!
//! Every use of a factor is a conditional write in the same transaction as what it
//! authorizes: a TOTP code takes its time step only if the step is later than the last one
//! taken, a recovery code is removed only if it is still in the set. Two requests with one code
//! cannot both commit.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem, Update};

use super::item::{self, Item, b, n, s};
use super::revocation::{EpochFrom, ItemChange, raise_epoch};
use super::schema::*;
use super::sessions::{NewSession, assurance_attributes, epoch_is};
use super::throttle::StreakKey;
use super::transaction::{Transaction, put_new};
use super::users::ProfileRecord;
use super::{Reservation, ReservedAttempt, Store, StoreError};
use crate::throttle::BackoffPolicy;
use auth_core::assurance::{Assurance, AuthMethod};
use auth_core::domain::{Email, SessionId, UserId};

/// A confirmed TOTP factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedTotp {
    /// The sealed secret (`mfa::keys`), also what a use is conditioned on.
    pub sealed: String,
    pub created_at: i64,
    /// The latest time step accepted; codes at or before it are refused.
    pub last_step: Option<u64>,
}

/// A user's factor item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaRecord {
    pub totp: Option<ConfirmedTotp>,
    /// An enrolment not yet confirmed: the sealed secret and when it was made.
    pub pending: Option<(String, i64)>,
    pub recovery_digests: Vec<String>,
}

impl TryFrom<&Item> for MfaRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, Self::Error> {
        let totp = match item::optional_string(item, TOTP_SECRET)? {
            Some(sealed) => Some(ConfirmedTotp {
                sealed: sealed.to_owned(),
                created_at: item::number(item, TOTP_CREATED_AT)?,
                last_step: item::optional_number(item, LAST_STEP)?,
            }),
            None => None,
        };
        let pending = match item::optional_string(item, PENDING_SECRET)? {
            Some(sealed) => Some((sealed.to_owned(), item::number(item, PENDING_AT)?)),
            None => None,
        };
        Ok(Self {
            totp,
            pending,
            recovery_digests: item::string_set(item, RECOVERY_CODES)?,
        })
    }
}

/// A login's pending second step, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub user_id: UserId,
    /// The account's session epoch when the password was verified: a credential event since
    /// then voids the challenge.
    pub epoch: u64,
    pub expires_at: i64,
    /// What the first step was: a password, or an identity provider (`fed`).
    pub first_factor: AuthMethod,
}

/// A challenge about to be written by a login whose password matched.
#[derive(Debug, Clone)]
pub struct NewChallenge<'a> {
    pub digest: &'a str,
    pub user: &'a UserId,
    pub email: &'a Email,
    pub epoch: u64,
    pub created_at: i64,
    pub expires_at: i64,
    /// `Pwd` after a password (its transaction ends the email's password streak), `Fed` after
    /// an identity provider (the password streak is left alone).
    pub first_factor: AuthMethod,
}

/// What a second step reads at once: the challenge, the user's factors and profile.
#[derive(Debug, Clone, Default)]
pub struct SecondStep {
    pub challenge: Option<Challenge>,
    pub factors: Option<MfaRecord>,
    pub profile: Option<ProfileRecord>,
}

/// The factor a request uses, and the condition that makes it single-use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactorUse {
    /// A TOTP code valid for `step` of the secret sealed as `sealed`.
    Totp { sealed: String, step: u64 },
    /// A recovery code stored as `digest`.
    RecoveryCode { digest: String },
}

/// Why a transaction that uses a factor did not commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorRefusal {
    /// The code was used already (its step taken, or the recovery code spent), or the factor
    /// changed meanwhile.
    FactorSpent,
    /// The challenge is spent or expired, or the session ended.
    Gone,
    /// The account changed since it was read (a credential event, MFA turned off).
    AccountChanged,
}

fn mfa_key(user: &UserId) -> Item {
    Item::from([
        (PK.to_owned(), s(user_pk(user))),
        (SK.to_owned(), s(MFA_SK)),
    ])
}

fn challenge_key(digest: &str) -> Item {
    Item::from([
        (PK.to_owned(), s(mfa_challenge_pk(digest))),
        (SK.to_owned(), s(MFA_CHALLENGE_SK)),
    ])
}

fn built<T, E: std::error::Error + Send + Sync + 'static>(
    result: Result<T, E>,
) -> Result<T, StoreError> {
    result.map_err(|error| StoreError::Unexpected(Box::new(error)))
}

/// A condition expression with its placeholders' names and values.
struct Condition {
    expression: &'static str,
    names: Vec<(&'static str, &'static str)>,
    values: Vec<(&'static str, AttributeValue)>,
}

/// The condition that `used` is still unused on the factor item: a TOTP step later than the
/// last one taken under the same secret, or a recovery code still in the set.
fn unused(used: &FactorUse) -> Condition {
    match used {
        FactorUse::Totp { sealed, step } => Condition {
            expression: "#secret = :sealed AND (attribute_not_exists(#last) OR #last < :step)",
            names: vec![("#secret", TOTP_SECRET), ("#last", LAST_STEP)],
            values: vec![(":sealed", s(sealed)), (":step", n(*step))],
        },
        FactorUse::RecoveryCode { digest } => Condition {
            expression: "attribute_exists(#secret) AND contains(#codes, :digest)",
            names: vec![("#secret", TOTP_SECRET), ("#codes", RECOVERY_CODES)],
            values: vec![(":digest", s(digest))],
        },
    }
}

/// The update that spends `used` on `user`'s factor item.
fn spend(table: &str, user: &UserId, used: &FactorUse) -> Result<TransactWriteItem, StoreError> {
    let condition = unused(used);
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(mfa_key(user)))
        .condition_expression(condition.expression);
    update = match used {
        FactorUse::Totp { .. } => update.update_expression("SET #last = :step"),
        FactorUse::RecoveryCode { digest } => update
            .update_expression("DELETE #codes :spent")
            .expression_attribute_values(":spent", AttributeValue::Ss(vec![digest.clone()])),
    };
    for (name, attribute) in condition.names {
        update = update.expression_attribute_names(name, attribute);
    }
    for (placeholder, value) in condition.values {
        update = update.expression_attribute_values(placeholder, value);
    }
    Ok(TransactWriteItem::builder()
        .update(built(update.build())?)
        .build())
}

/// The delete of the user's second-factor streak (a success ends it).
fn end_streak(table: &str, user: &UserId) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder().table_name(table).set_key(Some(
        StreakKey::second_factor(user)
            .attributes()
            .into_iter()
            .collect(),
    ));
    Ok(TransactWriteItem::builder()
        .delete(built(delete.build())?)
        .build())
}

/// The update of the calling session to `assurance` (and, with `restamp`, to the account's
/// next epoch), only while it is live at `epoch`.
fn session_update(
    table: &str,
    user: &UserId,
    session: &SessionId,
    epoch: u64,
    restamp: bool,
    assurance: &Assurance,
    now: i64,
) -> Result<TransactWriteItem, StoreError> {
    let mut set = vec!["#aal = :aal", "#amr = :amr"];
    let attributes = assurance_attributes(assurance);
    if assurance.second_factor_at.is_some() {
        set.push("#second = :second");
    }
    if restamp {
        set.push("#epoch = :next");
    }
    let mut update = Update::builder()
        .table_name(table)
        .key(PK, s(user_pk(user)))
        .key(SK, s(session_sk(session)))
        .update_expression(format!("SET {}", set.join(", ")))
        .condition_expression(format!(
            "attribute_exists(#pk) AND #expires > :now AND {}",
            epoch_is(epoch)
        ))
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#expires", EXPIRES_AT)
        .expression_attribute_names("#epoch", SESSION_EPOCH)
        .expression_attribute_names("#aal", AAL)
        .expression_attribute_names("#amr", AMR)
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":epoch", n(epoch));
    if restamp {
        update = update.expression_attribute_values(":next", n(epoch.saturating_add(1)));
    }
    for (name, value) in attributes {
        let placeholder = match name {
            AAL => ":aal",
            AMR => ":amr",
            _ => {
                update = update.expression_attribute_names("#second", SECOND_FACTOR_AT);
                ":second"
            }
        };
        update = update.expression_attribute_values(placeholder, value);
    }
    Ok(TransactWriteItem::builder()
        .update(built(update.build())?)
        .build())
}

/// Where a factor change is made: the calling session and the account it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct FactorChange<'a> {
    pub user: &'a UserId,
    pub email: &'a Email,
    pub session: &'a SessionId,
    /// The calling session's epoch, which must be the account's.
    pub epoch: u64,
}

/// Transaction conflicts a contended use of one code waits out before it gives up: every
/// loser must end in a refused condition (401), never 503.
const CONTENDED_RETRIES: u32 = 8;

impl Store {
    /// The user's factor item, read strongly consistently.
    pub async fn mfa_record(&self, user: &UserId) -> Result<Option<MfaRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(mfa_key(user)))
            .consistent_read(true)
            .send()
            .await?;
        output.item().map(MfaRecord::try_from).transpose()
    }

    /// Stores a new pending enrolment, replacing any pending one (a confirmed factor stays
    /// until the new one is confirmed).
    pub async fn save_pending_totp(
        &self,
        user: &UserId,
        sealed: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(mfa_key(user)))
            .update_expression("SET #pending = :sealed, #pending_at = :now")
            .expression_attribute_names("#pending", PENDING_SECRET)
            .expression_attribute_names("#pending_at", PENDING_AT)
            .expression_attribute_values(":sealed", s(sealed))
            .expression_attribute_values(":now", n(now))
            .send()
            .await?;
        Ok(())
    }

    /// Confirms the pending enrolment `pending` with a code of `step`: in one transaction the
    /// factor becomes the confirmed one (its recovery codes `digests`), the account is marked
    /// and its epoch raised (every other session ends at this commit), and the calling session
    /// is re-stamped at the new epoch with `assurance` (aal2).
    pub async fn confirm_totp(
        &self,
        change: FactorChange<'_>,
        pending: &str,
        step: u64,
        digests: &[String],
        assurance: &Assurance,
        now: i64,
    ) -> Result<Result<(), FactorRefusal>, StoreError> {
        let factor = Update::builder()
            .table_name(&self.table)
            .set_key(Some(mfa_key(change.user)))
            .update_expression(
                "SET #secret = :sealed, #created = :now, #last = :step, #codes = :codes \
                 REMOVE #pending, #pending_at",
            )
            .condition_expression("#pending = :sealed")
            .expression_attribute_names("#secret", TOTP_SECRET)
            .expression_attribute_names("#created", TOTP_CREATED_AT)
            .expression_attribute_names("#last", LAST_STEP)
            .expression_attribute_names("#codes", RECOVERY_CODES)
            .expression_attribute_names("#pending", PENDING_SECRET)
            .expression_attribute_names("#pending_at", PENDING_AT)
            .expression_attribute_values(":sealed", s(pending))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":step", n(step))
            .expression_attribute_values(":codes", AttributeValue::Ss(digests.to_vec()));
        let mut items = vec![
            TransactWriteItem::builder()
                .update(built(factor.build())?)
                .build(),
        ];
        items.extend(self.mark_account(change, true, assurance, now)?);
        Ok(match self.transact(items).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed { index: 0 } => Err(FactorRefusal::FactorSpent),
            Transaction::ConditionFailed { index: 3 } => Err(FactorRefusal::Gone),
            Transaction::ConditionFailed { .. } => Err(FactorRefusal::AccountChanged),
        })
    }

    /// Removes the factor with one of its own codes (`used`): the factor item goes, the account
    /// is unmarked and its epoch raised (other sessions end), the calling session re-stamped.
    pub async fn remove_totp(
        &self,
        change: FactorChange<'_>,
        used: &FactorUse,
        assurance: &Assurance,
        now: i64,
    ) -> Result<Result<(), FactorRefusal>, StoreError> {
        let condition = unused(used);
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(mfa_key(change.user)))
            .condition_expression(condition.expression);
        for (name, attribute) in condition.names {
            delete = delete.expression_attribute_names(name, attribute);
        }
        for (placeholder, value) in condition.values {
            delete = delete.expression_attribute_values(placeholder, value);
        }
        let mut items = vec![
            TransactWriteItem::builder()
                .delete(built(delete.build())?)
                .build(),
        ];
        items.extend(self.mark_account(change, false, assurance, now)?);
        items.push(end_streak(&self.table, change.user)?);
        Ok(match self.transact(items).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed { index: 0 } => Err(FactorRefusal::FactorSpent),
            Transaction::ConditionFailed { index: 3 } => Err(FactorRefusal::Gone),
            Transaction::ConditionFailed { .. } => Err(FactorRefusal::AccountChanged),
        })
    }

    /// The account's MFA flag set to `enabled` with its epoch raised from the calling
    /// session's (credentials, profile), and the calling session re-stamped.
    fn mark_account(
        &self,
        change: FactorChange<'_>,
        enabled: bool,
        assurance: &Assurance,
        now: i64,
    ) -> Result<[TransactWriteItem; 3], StoreError> {
        let flag = || ItemChange {
            set: format!(", {MFA_ENABLED} = :mfa"),
            condition: String::new(),
            values: vec![(":mfa", b(enabled))],
        };
        let [credentials, profile] = raise_epoch(
            &self.table,
            change.user,
            change.email,
            &EpochFrom::Exactly(change.epoch),
            flag(),
            flag(),
        )?;
        let session = session_update(
            &self.table,
            change.user,
            change.session,
            change.epoch,
            true,
            assurance,
            now,
        )?;
        Ok([credentials, profile, session])
    }

    /// Replaces the recovery codes with `digests` while the factor is the one read.
    pub async fn replace_recovery_codes(
        &self,
        user: &UserId,
        sealed: &str,
        digests: &[String],
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(mfa_key(user)))
            .update_expression("SET #codes = :codes")
            .condition_expression("#secret = :sealed")
            .expression_attribute_names("#codes", RECOVERY_CODES)
            .expression_attribute_names("#secret", TOTP_SECRET)
            .expression_attribute_values(":codes", AttributeValue::Ss(digests.to_vec()))
            .expression_attribute_values(":sealed", s(sealed))
            .send()
            .await;
        super::error::condition_held(result)
    }

    /// Writes a login's challenge, and ends the email's password streak in the same
    /// transaction (the password was right, whatever the code will be).
    pub async fn start_challenge(&self, challenge: &NewChallenge<'_>) -> Result<(), StoreError> {
        let item = Item::from([
            (PK.to_owned(), s(mfa_challenge_pk(challenge.digest))),
            (SK.to_owned(), s(MFA_CHALLENGE_SK)),
            (USER_ID.to_owned(), s(challenge.user.as_str())),
            (SESSION_EPOCH.to_owned(), n(challenge.epoch)),
            (CREATED_AT.to_owned(), n(challenge.created_at)),
            (EXPIRES_AT.to_owned(), n(challenge.expires_at)),
            (AMR.to_owned(), s(challenge.first_factor.as_str())),
        ]);
        let mut items = vec![put_new(&self.table, item)?];
        if challenge.first_factor == AuthMethod::Pwd {
            let streak = Delete::builder().table_name(&self.table).set_key(Some(
                super::throttle::streak_key(challenge.email)
                    .into_iter()
                    .collect(),
            ));
            items.push(
                TransactWriteItem::builder()
                    .delete(built(streak.build())?)
                    .build(),
            );
        }
        match self.transact(items).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed { .. } => Err(StoreError::Corrupt(
                "a new challenge's digest is already taken".into(),
            )),
        }
    }

    /// The challenge `digest` names (if live), the factors and the profile of `user`, in one
    /// strongly consistent batch.
    pub async fn second_step(
        &self,
        digest: &str,
        user: &UserId,
        now: i64,
    ) -> Result<SecondStep, StoreError> {
        let profile_key = Item::from([
            (PK.to_owned(), s(user_pk(user))),
            (SK.to_owned(), s(PROFILE_SK)),
        ]);
        let mut step = SecondStep::default();
        for found in self
            .batch_get(vec![challenge_key(digest), mfa_key(user), profile_key])
            .await?
        {
            match item::string(&found, SK)? {
                MFA_CHALLENGE_SK => {
                    let challenge = Challenge {
                        user_id: item::parsed(&found, USER_ID, UserId::parse)?,
                        epoch: item::number(&found, SESSION_EPOCH)?,
                        expires_at: item::number(&found, EXPIRES_AT)?,
                        // Challenges written before federation were all a password's.
                        first_factor: item::optional_string(&found, AMR)?
                            .map_or(Some(AuthMethod::Pwd), AuthMethod::parse)
                            .filter(|method| matches!(method, AuthMethod::Pwd | AuthMethod::Fed))
                            .ok_or_else(|| {
                                StoreError::Corrupt("a challenge's first factor is unknown".into())
                            })?,
                    };
                    step.challenge = Some(challenge).filter(|challenge| {
                        &challenge.user_id == user && now < challenge.expires_at
                    });
                }
                MFA_SK => step.factors = Some(MfaRecord::try_from(&found)?),
                PROFILE_SK => step.profile = Some(ProfileRecord::try_from(&found)?),
                _ => {}
            }
        }
        Ok(step)
    }

    /// Spends a challenge without using it (the brake refused its codes).
    pub async fn spend_challenge(&self, digest: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(challenge_key(digest)))
            .send()
            .await?;
        Ok(())
    }

    /// Completes a login's second step in one transaction: the factor is spent, the challenge
    /// deleted (only while live and `user`'s), the account checked unchanged since the password
    /// (same epoch, MFA still on), the session written, the code streak ended and the sessions in
    /// `retire` deleted. Contended conflicts are waited out: of many requests with one code,
    /// one commits and the rest are refused.
    pub async fn complete_second_step(
        &self,
        digest: &str,
        used: &FactorUse,
        session: &NewSession,
        retire: &[SessionId],
        now: i64,
    ) -> Result<Result<(), FactorRefusal>, StoreError> {
        let user = &session.user_id;
        let challenge = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(challenge_key(digest)))
            .condition_expression("#user = :user AND #expires > :now")
            .expression_attribute_names("#user", USER_ID)
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(":user", s(user.as_str()))
            .expression_attribute_values(":now", n(now));
        let account = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(user_pk(user)))
            .key(SK, s(PROFILE_SK))
            .condition_expression(format!("#mfa = :on AND {}", epoch_is(session.epoch)))
            .expression_attribute_names("#mfa", MFA_ENABLED)
            .expression_attribute_names("#epoch", SESSION_EPOCH)
            .expression_attribute_values(":on", b(true))
            .expression_attribute_values(":epoch", n(session.epoch));
        let mut items = vec![
            spend(&self.table, user, used)?,
            TransactWriteItem::builder()
                .delete(built(challenge.build())?)
                .build(),
            TransactWriteItem::builder()
                .condition_check(built(account.build())?)
                .build(),
            put_new(&self.table, session.item())?,
            end_streak(&self.table, user)?,
        ];
        for retired in retire {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(PK, s(user_pk(user)))
                .key(SK, s(session_sk(retired)));
            items.push(
                TransactWriteItem::builder()
                    .delete(built(delete.build())?)
                    .build(),
            );
        }
        let outcome = match self.transact_contended(items, CONTENDED_RETRIES).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed { index: 0 } => Err(FactorRefusal::FactorSpent),
            Transaction::ConditionFailed { index: 1 } => Err(FactorRefusal::Gone),
            Transaction::ConditionFailed { index: 2 } => Err(FactorRefusal::AccountChanged),
            Transaction::ConditionFailed { .. } => {
                return Err(StoreError::Corrupt(
                    "a new session's id is already taken".into(),
                ));
            }
        };
        Ok(outcome)
    }

    /// Step-up in a signed-in session: the factor is spent and the session raised to
    /// `assurance`, only while it is live at `epoch` and the account still at that epoch with
    /// MFA on (a revocation committed meanwhile refuses it); the code streak ends.
    pub async fn step_up(
        &self,
        user: &UserId,
        session: &SessionId,
        epoch: u64,
        used: &FactorUse,
        assurance: &Assurance,
        now: i64,
    ) -> Result<Result<(), FactorRefusal>, StoreError> {
        let account = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(user_pk(user)))
            .key(SK, s(PROFILE_SK))
            .condition_expression(format!("#mfa = :on AND {}", epoch_is(epoch)))
            .expression_attribute_names("#mfa", MFA_ENABLED)
            .expression_attribute_names("#epoch", SESSION_EPOCH)
            .expression_attribute_values(":on", b(true))
            .expression_attribute_values(":epoch", n(epoch));
        let items = vec![
            spend(&self.table, user, used)?,
            session_update(&self.table, user, session, epoch, false, assurance, now)?,
            TransactWriteItem::builder()
                .condition_check(built(account.build())?)
                .build(),
            end_streak(&self.table, user)?,
        ];
        Ok(
            match self.transact_contended(items, CONTENDED_RETRIES).await? {
                Transaction::Committed => Ok(()),
                Transaction::ConditionFailed { index: 0 } => Err(FactorRefusal::FactorSpent),
                Transaction::ConditionFailed { .. } => Err(FactorRefusal::Gone),
            },
        )
    }

    /// Reserves one code check in `user`'s second-factor streak before the check runs (the
    /// password streak's atomic reservation, in a streak of its own).
    pub async fn reserve_code_attempt(
        &self,
        user: &UserId,
        policy: &BackoffPolicy,
        now: i64,
    ) -> Result<Reservation, StoreError> {
        self.reserve_in(StreakKey::second_factor(user), policy, now)
            .await
    }

    /// Gives back a code reservation whose request failed before its commit.
    pub async fn release_code_attempt(
        &self,
        user: &UserId,
        reserved: ReservedAttempt,
    ) -> Result<bool, StoreError> {
        self.release_in(StreakKey::second_factor(user), reserved)
            .await
    }

    /// The operator's removal of a user's factors (a lost device and no recovery code): the
    /// factor item goes and the account is unmarked, with its epoch raised so every session
    /// signed in with the old factor ends. `false` when no account has this email.
    pub async fn remove_factors(&self, email: &Email) -> Result<bool, StoreError> {
        let Some(credentials) = self.credentials_by_email(email).await? else {
            return Ok(false);
        };
        let user = &credentials.profile.id;
        let flag = || ItemChange {
            set: format!(", {MFA_ENABLED} = :mfa"),
            condition: String::new(),
            values: vec![(":mfa", b(false))],
        };
        let [credentials_update, profile_update] = raise_epoch(
            &self.table,
            user,
            email,
            &EpochFrom::Current,
            flag(),
            flag(),
        )?;
        let factor = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(mfa_key(user)));
        let items = vec![
            TransactWriteItem::builder()
                .delete(built(factor.build())?)
                .build(),
            credentials_update,
            profile_update,
            end_streak(&self.table, user)?,
        ];
        Ok(self.transact(items).await? == Transaction::Committed)
    }
}
