//! From an outbox message to a sent mail: find whom it is for, mint the one-time token and
//! store its digest (replacing an older one, at most one per user per `MAIL_MIN_INTERVAL`),
//! render the message with its link, send it.

use auth_core::calendar::rfc5322;
use auth_core::clock::SharedClock;
use auth_core::domain::UserId;
use auth_core::token::OneTimeToken;
use auth_service::config::MailerSettings;
use auth_service::store::{
    Issuance, MailKind, OutboxMail, PendingToken, Store, StoreError, TokenPurpose,
};

use crate::message::{Letter, link, render};
use crate::stream::{BatchResponse, ItemFailure, StreamEvent};
use crate::transport::{Outgoing, Transport};

/// Why a message could not be sent now; the stream delivers it again.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the table could not be read or written")]
    Store(#[from] StoreError),
    #[error("the mail could not be sent")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What became of one outbox message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Nothing to send: no such account, already verified, or a mail of this kind went to
    /// this user less than `MAIL_MIN_INTERVAL` ago. The reason is for logs.
    Skipped(&'static str),
}

pub struct Mailer {
    pub store: Store,
    pub transport: Transport,
    pub settings: MailerSettings,
    pub clock: SharedClock,
}

fn seconds(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

impl Mailer {
    pub async fn from_env() -> Result<Self, auth_core::config::ConfigError> {
        let settings = MailerSettings::from_env(&auth_core::config::ProcessEnv)?;
        let store = Store::connect(&settings.store).await;
        Ok(Self {
            transport: Transport::from_settings(&settings.transport).await,
            store,
            settings,
            clock: std::sync::Arc::new(auth_core::clock::SystemClock),
        })
    }

    /// The user a message is for, if it should be sent at all.
    async fn recipient(
        &self,
        mail: &OutboxMail,
    ) -> Result<Result<UserId, &'static str>, StoreError> {
        Ok(match mail.kind {
            MailKind::PasswordReset => match self.store.credentials_by_email(&mail.email).await? {
                Some(credentials) => Ok(credentials.profile.id),
                None => Err("no account has this address"),
            },
            MailKind::EmailVerification => {
                let Some(user) = &mail.user_id else {
                    return Ok(Err("a verification message names no user"));
                };
                match self.store.profile(user).await? {
                    None => Err("the account no longer exists"),
                    Some(profile) if profile.email != mail.email => {
                        Err("the account's address changed")
                    }
                    Some(profile) if profile.email_verified => {
                        Err("the address is already verified")
                    }
                    Some(profile) => Ok(profile.id),
                }
            }
        })
    }

    /// Sends one outbox message, minting its link's token.
    pub async fn deliver(&self, mail: &OutboxMail) -> Result<Delivery, MailError> {
        let user = match self.recipient(mail).await? {
            Ok(user) => user,
            Err(reason) => return Ok(Delivery::Skipped(reason)),
        };
        let (purpose, ttl) = match mail.kind {
            MailKind::PasswordReset => (TokenPurpose::PasswordReset, self.settings.reset_ttl),
            MailKind::EmailVerification => {
                (TokenPurpose::EmailVerification, self.settings.verify_ttl)
            }
        };
        let now = self.clock.now();
        let token = OneTimeToken::generate(&user);
        let pending = PendingToken {
            digest: token.digest(),
            email: mail.email.clone(),
            issued_at: now,
            expires_at: now.saturating_add(seconds(ttl)),
            outbox_id: mail.id.clone(),
        };
        let min_interval = seconds(self.settings.min_interval);
        if self
            .store
            .save_token(purpose, &user, &pending, min_interval)
            .await?
            == Issuance::TooSoon
        {
            return Ok(Delivery::Skipped(
                "a mail of this kind went out less than the minimum interval ago",
            ));
        }
        let link = link(&self.settings.app_url, mail.kind, &token.encode());
        let date = rfc5322(now);
        let letter = Letter {
            kind: mail.kind,
            from: &self.settings.from,
            to: mail.email.as_str(),
            app_name: &self.settings.app_name,
            link: &link,
            valid_minutes: ttl.as_secs() / 60,
            message_id: &mail.id,
            date: &date,
        };
        let outgoing = Outgoing {
            id: mail.id.clone(),
            from: self.settings.from.clone(),
            to: mail.email.as_str().to_owned(),
            message: render(&letter),
        };
        self.transport
            .send(&outgoing)
            .await
            .map_err(MailError::Transport)?;
        Ok(Delivery::Sent)
    }

    /// Handles one batch of stream records in order. A record that is not an outbox insert, or
    /// that can never be sent (malformed), is passed over with a log line; the first one that
    /// fails for a reason that may pass (DynamoDB, SES) is reported, and Lambda delivers it
    /// and everything after it again.
    pub async fn handle(&self, event: StreamEvent) -> BatchResponse {
        for record in event.records.iter().filter(|record| record.is_insert()) {
            let mail = match record.item().map(|item| OutboxMail::from_item(&item)) {
                Some(Ok(Some(mail))) => mail,
                Some(Ok(None)) => continue,
                Some(Err(_)) | None => {
                    tracing::error!(
                        sequence = %record.dynamodb.sequence_number,
                        "outbox record is malformed; skipped"
                    );
                    continue;
                }
            };
            match self.deliver(&mail).await {
                Ok(Delivery::Sent) => {
                    tracing::info!(outbox_id = %mail.id, kind = mail.kind.as_str(), "mail sent");
                }
                Ok(Delivery::Skipped(reason)) => {
                    tracing::info!(outbox_id = %mail.id, kind = mail.kind.as_str(), reason, "no mail sent");
                }
                Err(error) => {
                    tracing::warn!(
                        outbox_id = %mail.id,
                        cause = %auth_core::telemetry::error_chain(&error),
                        "mail failed; the stream will deliver it again"
                    );
                    return BatchResponse {
                        batch_item_failures: vec![ItemFailure {
                            item_identifier: record.dynamodb.sequence_number.clone(),
                        }],
                    };
                }
            }
        }
        BatchResponse::default()
    }
}
