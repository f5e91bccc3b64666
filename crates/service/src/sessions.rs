//! Refresh sessions as a service: start one at login, rotate it on refresh (one conditional
//! write in the common case), and decide from the stored session, when the write is refused,
//! whether the token was replayed within the grace window, reused (revoke the session), or is
//! simply invalid. Handlers only map the outcome to HTTP.

use std::time::Duration;

use auth_core::clock::SharedClock;
use auth_core::domain::{Role, SessionId, UserId};
use auth_core::token::{RefreshKeys, RefreshToken, StoredDigests};

use crate::store::revocation::is_revoked;
use crate::store::{Device, NewSession, ProfileRecord, Rotation, SessionRecord, Store, StoreError};

/// Lifetimes of refresh sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Sliding lifetime, renewed on every refresh.
    pub refresh_ttl: Duration,
    /// Absolute lifetime of a session from login, whatever the refreshes.
    pub max_age: Duration,
    /// How long the token just rotated out may still be presented and get the same successor.
    pub reuse_grace: Duration,
    /// Live sessions one user may hold; a login beyond it ends the oldest.
    pub max_per_user: usize,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            refresh_ttl: Duration::from_secs(7 * 86_400),
            max_age: Duration::from_secs(30 * 86_400),
            reuse_grace: Duration::from_secs(10),
            max_per_user: 20,
        }
    }
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// Whom a new session is for, and where they signed in from.
#[derive(Debug, Clone)]
pub struct SessionOwner<'a> {
    pub user: &'a UserId,
    pub role: &'a Role,
    pub email_verified: bool,
    pub device: Device,
    /// The account's session epoch, as the credentials said.
    pub epoch: u64,
    pub assurance: auth_core::assurance::Assurance,
}

/// What a refresh attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The token was current: the session now holds `successor`. `account` is its profile,
    /// read beside the rotation (role and verification come from it).
    Rotated {
        session: SessionRecord,
        account: ProfileRecord,
        successor: RefreshToken,
    },
    /// The token was rotated out moments ago (another tab, a retry): the same successor again.
    Replayed {
        session: SessionRecord,
        account: ProfileRecord,
        successor: RefreshToken,
    },
    /// A genuine session that a credential event revoked, or whose account is gone: refused,
    /// and its item deleted (best-effort).
    Revoked,
    /// An older genuine token: the session has been revoked.
    Reused,
    /// Forged, unknown, expired, or from a retired key: refused, nothing revoked.
    Invalid,
}

/// What the rotation write came to, before the account is consulted.
enum Rotated {
    Current(SessionRecord),
    Replayed(SessionRecord),
    /// Final whatever the account says.
    Reused,
    Invalid,
}

/// Why a rotation's condition failed, decided from the session as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    /// No such session, or it has expired (DynamoDB's TTL deletes lazily, so it may still exist).
    Dead,
    /// The token is current but the sliding expiry would pass the session's absolute lifetime.
    AtAbsoluteLimit { absolute_expires_at: i64 },
    /// The token was rotated out within the grace window.
    WithinGrace(SessionRecord),
    /// The token is not current and not a grace-window replay: old, or forged.
    NotCurrent(SessionRecord),
}

fn classify(
    session: Option<SessionRecord>,
    presented_digest: &str,
    now: i64,
    grace_seconds: i64,
) -> Refusal {
    let Some(session) = session.filter(|session| session.is_live(now)) else {
        return Refusal::Dead;
    };
    if session.current_digest == presented_digest {
        return Refusal::AtAbsoluteLimit {
            absolute_expires_at: session.absolute_expires_at,
        };
    }
    let is_previous = session.previous_digest.as_deref() == Some(presented_digest);
    let rotated_recently = session
        .rotated_at
        .is_some_and(|rotated_at| now < rotated_at.saturating_add(grace_seconds));
    if is_previous && rotated_recently {
        return Refusal::WithinGrace(session);
    }
    Refusal::NotCurrent(session)
}

/// The sessions of one function: the table, the refresh chain keys, the policy and the clock.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    keys: std::sync::Arc<RefreshKeys>,
    policy: SessionPolicy,
    clock: SharedClock,
}

impl Sessions {
    pub fn new(store: Store, keys: RefreshKeys, policy: SessionPolicy, clock: SharedClock) -> Self {
        Self {
            store,
            keys: std::sync::Arc::new(keys),
            policy,
            clock,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// A new session (token family) for a user and its first refresh token, to be written by
    /// the caller (alone at login, in the registration transaction at register).
    pub fn start(&self, owner: SessionOwner<'_>, now: i64) -> (NewSession, RefreshToken) {
        let SessionOwner {
            user,
            role,
            email_verified,
            device,
            epoch,
            assurance,
        } = owner;
        let session_id = SessionId::generate_at(now);
        let token = self.keys.first(user, &session_id);
        let absolute_expires_at = now.saturating_add(seconds(self.policy.max_age));
        let session = NewSession {
            user_id: user.clone(),
            session_id,
            role: role.clone(),
            email_verified,
            token_digest: token.digest(),
            created_at: now,
            expires_at: now
                .saturating_add(seconds(self.policy.refresh_ttl))
                .min(absolute_expires_at),
            absolute_expires_at,
            device,
            epoch,
            assurance,
        };
        (session, token)
    }

    /// Rotates the session `token` belongs to, reading its account's profile at the same time
    /// (two requests in flight at once): a session its account has revoked is refused, even
    /// when its token is current. A refresh that starts after a credential event answered reads
    /// its epoch and is refused; one already in flight may finish as if just before it, and its
    /// next refresh is refused. One conditional write and one read when the token is current; a
    /// second write at the absolute-lifetime cap; the delete only on reuse or revocation.
    pub async fn rotate(
        &self,
        token: &RefreshToken,
        device: &Device,
    ) -> Result<RotationOutcome, StoreError> {
        let Some(successor) = self.keys.successor(token) else {
            return Ok(RotationOutcome::Invalid);
        };
        let (rotation, account) = tokio::join!(
            self.rotate_session(token, &successor, device),
            self.store.profile_record(&token.user_id),
        );
        let (session, replayed) = match rotation? {
            Rotated::Current(session) => (session, false),
            Rotated::Replayed(session) => (session, true),
            Rotated::Reused => return Ok(RotationOutcome::Reused),
            Rotated::Invalid => return Ok(RotationOutcome::Invalid),
        };
        let Some(account) = account? else {
            self.end_revoked(token, None).await;
            return Ok(RotationOutcome::Revoked);
        };
        let session = if is_revoked(&session, Some(&account)) {
            // The write may have returned the session just before a password change re-stamped
            // it in the very transaction the profile shows: read the session again, after that
            // transaction, to see the stamp if there was one.
            match self
                .store
                .session(&token.user_id, &token.session_id)
                .await?
            {
                Some(again)
                    if again.is_live(self.clock.now()) && !is_revoked(&again, Some(&account)) =>
                {
                    again
                }
                _ => {
                    self.end_revoked(token, Some(account.session_epoch)).await;
                    return Ok(RotationOutcome::Revoked);
                }
            }
        } else {
            session
        };
        Ok(if replayed {
            RotationOutcome::Replayed {
                session,
                account,
                successor,
            }
        } else {
            RotationOutcome::Rotated {
                session,
                account,
                successor,
            }
        })
    }

    /// Deletes a revoked session's item (clean-up: it is refused either way), only while it is
    /// still below the account's epoch (`None`: the account is gone).
    async fn end_revoked(&self, token: &RefreshToken, account_epoch: Option<u64>) {
        let deleted = self
            .store
            .delete_session(&token.user_id, &token.session_id, account_epoch)
            .await;
        if let Err(error) = deleted {
            tracing::warn!(
                cause = %auth_core::telemetry::error_chain(&error),
                "revoked session not deleted; its TTL will"
            );
        }
    }

    /// The rotation itself: the conditional write, and from the session as it was when it is
    /// refused, what the refusal means.
    async fn rotate_session(
        &self,
        token: &RefreshToken,
        successor: &RefreshToken,
        device: &Device,
    ) -> Result<Rotated, StoreError> {
        let now = self.clock.now();
        let (presented, next) = (token.digest(), successor.digest());
        let grace = seconds(self.policy.reuse_grace);
        let mut expires_at = now.saturating_add(seconds(self.policy.refresh_ttl));
        // A rotation, one retry capped at the absolute lifetime, and one more look when a
        // concurrent refresh won that retry (then this one is a grace-window replay).
        for _ in 0..3 {
            let old = match self
                .store
                .rotate_session(
                    &token.user_id,
                    &token.session_id,
                    &presented,
                    &next,
                    now,
                    expires_at,
                    device,
                )
                .await?
            {
                Rotation::Rotated(session) => return Ok(Rotated::Current(session)),
                Rotation::Refused(old) => old,
            };
            match classify(old, &presented, now, grace) {
                Refusal::Dead => return Ok(Rotated::Invalid),
                Refusal::AtAbsoluteLimit {
                    absolute_expires_at,
                } if absolute_expires_at < expires_at => expires_at = absolute_expires_at,
                Refusal::AtAbsoluteLimit { .. } => {
                    return Ok(Rotated::Invalid);
                }
                Refusal::WithinGrace(session) if session.current_digest == next => {
                    return Ok(Rotated::Replayed(session));
                }
                Refusal::WithinGrace(_) => return Ok(Rotated::Invalid),
                Refusal::NotCurrent(session) => {
                    return self.reuse_or_forgery(token, &session).await;
                }
            }
        }
        Ok(Rotated::Invalid)
    }

    /// Only a genuine, rotated-out token revokes the family; a forgery must not be able to log
    /// anyone out.
    async fn reuse_or_forgery(
        &self,
        token: &RefreshToken,
        session: &SessionRecord,
    ) -> Result<Rotated, StoreError> {
        let stored = StoredDigests {
            current: &session.current_digest,
            previous: session.previous_digest.as_deref(),
        };
        if !self
            .keys
            .is_earlier_generation(token, stored, session.generation)
        {
            return Ok(Rotated::Invalid);
        }
        tracing::warn!(
            user_id = %token.user_id,
            session_id = %token.session_id,
            "refresh token reuse detected; revoking the session"
        );
        self.store
            .delete_session(&token.user_id, &token.session_id, None)
            .await?;
        Ok(Rotated::Reused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn session() -> SessionRecord {
        SessionRecord {
            user_id: UserId::parse(&"a".repeat(32)).expect("valid id"),
            session_id: SessionId::parse(&"b".repeat(32)).expect("valid id"),
            role: Role::user(),
            email_verified: false,
            current_digest: "current".into(),
            previous_digest: Some("previous".into()),
            generation: 3,
            rotated_at: Some(NOW - 5),
            created_at: NOW - 1000,
            expires_at: NOW + 1000,
            absolute_expires_at: NOW + 5000,
            last_used_at: NOW - 5,
            device: Device::default(),
            epoch: 0,
            assurance: auth_core::assurance::Assurance::password(),
        }
    }

    #[test]
    fn a_missing_or_expired_session_is_dead_even_if_not_yet_deleted() {
        assert_eq!(classify(None, "current", NOW, 10), Refusal::Dead);
        let expired = SessionRecord {
            expires_at: NOW,
            ..session()
        };
        assert_eq!(classify(Some(expired), "current", NOW, 10), Refusal::Dead);
        let past_absolute = SessionRecord {
            absolute_expires_at: NOW - 1,
            ..session()
        };
        assert_eq!(
            classify(Some(past_absolute), "current", NOW, 10),
            Refusal::Dead
        );
    }

    #[test]
    fn the_current_token_refused_means_the_absolute_lifetime_caps_the_expiry() {
        assert_eq!(
            classify(Some(session()), "current", NOW, 10),
            Refusal::AtAbsoluteLimit {
                absolute_expires_at: NOW + 5000
            }
        );
    }

    #[test]
    fn the_previous_token_inside_the_grace_window_is_a_replay() {
        assert_eq!(
            classify(Some(session()), "previous", NOW, 10),
            Refusal::WithinGrace(session())
        );
    }

    #[test]
    fn the_previous_token_after_the_grace_window_or_with_no_grace_is_not_current() {
        assert_eq!(
            classify(Some(session()), "previous", NOW, 5),
            Refusal::NotCurrent(session())
        );
        assert_eq!(
            classify(Some(session()), "previous", NOW, 0),
            Refusal::NotCurrent(session())
        );
    }

    #[test]
    fn any_other_token_is_not_current() {
        assert_eq!(
            classify(Some(session()), "older", NOW, 10),
            Refusal::NotCurrent(session())
        );
    }
}
