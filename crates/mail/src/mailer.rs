//! From an outbox message to a sent mail: find whom it is for, check the suppression list,
//! mint the one-time token and store its digest within the mail budgets (replacing an older
//! one, at most one per user per `MAIL_MIN_INTERVAL`), render the message with its link, send
//! it. A message that keeps failing is parked after `MAIL_MAX_ATTEMPTS`, never dropped.

use auth_core::calendar::rfc5322;
use auth_core::clock::SharedClock;
use auth_core::domain::{Email, UserId};
use auth_core::token::OneTimeToken;
use auth_service::address::sendable;
use auth_service::audit::{Audit, AuditEvent, Subject};
use auth_service::config::MailerSettings;
use auth_service::http::client::ClientInfo;
use auth_service::mail_budget::MailPool;
use auth_service::store::{
    BudgetedIssuance, MailClaim, MailKind, OutboxMail, ParkedMail, PendingToken, Store, StoreError,
    TokenPurpose,
};

use crate::message::{Letter, LetterKind, link, render};
use crate::stream::{BatchResponse, ItemFailure, StreamEvent};
use crate::transport::{Outgoing, SendFailure, Transport};

/// Why a message could not be sent now; the stream delivers it again.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the table could not be read or written")]
    Store(#[from] StoreError),
    /// Transient or misconfigured ([`SendFailure::Rejected`] is a [`Delivery`]).
    #[error("the mail could not be sent")]
    Send(#[source] SendFailure),
}

impl MailError {
    /// The audit event for a send that failed and will be retried.
    fn event(&self) -> AuditEvent {
        match self {
            Self::Send(SendFailure::Misconfigured(_)) => AuditEvent::MailMisconfigured,
            Self::Store(_) | Self::Send(_) => AuditEvent::MailDeferred,
        }
    }

    /// A short reason for a parked message: a classification, never an address.
    fn reason(&self) -> String {
        match self {
            Self::Store(_) => "store".to_owned(),
            Self::Send(failure) => failure.to_string(),
        }
    }
}

/// What became of one outbox message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Nothing to send: no such account, already verified, or a mail of this kind went to
    /// this user less than `MAIL_MIN_INTERVAL` ago. The reason is for logs.
    Skipped(&'static str),
    /// Not sent on purpose, and audited: the address is suppressed or a budget is spent.
    Refused(&'static str),
    /// SES refused it for good (or could never take the address): dropped, audited, and the
    /// address suppressed when SES rejected the message.
    Rejected(String),
}

/// What became of a message [`Mailer::process`] was given.
#[derive(Debug)]
pub enum Processed {
    Done(Delivery),
    /// It failed `MAIL_MAX_ATTEMPTS` times and is kept among the parked messages.
    Parked,
    /// It failed and may go out on a later try.
    Retry(MailError),
}

fn log_delivery(mail: &OutboxMail, delivery: &Delivery) {
    let kind = mail.kind.as_str();
    match delivery {
        Delivery::Sent => tracing::info!(outbox_id = %mail.id, kind, "mail sent"),
        Delivery::Skipped(reason) => {
            tracing::info!(outbox_id = %mail.id, kind, reason, "no mail sent");
        }
        Delivery::Refused(reason) => {
            tracing::warn!(outbox_id = %mail.id, kind, reason, "mail refused");
        }
        Delivery::Rejected(code) => {
            tracing::warn!(outbox_id = %mail.id, kind, code, "SES rejected the mail; dropped");
        }
    }
}

/// Whom a message goes to: the account, and the address it is stored under.
struct Recipient {
    user: UserId,
    email: Email,
    letter: LetterKind,
}

pub struct Mailer {
    pub store: Store,
    pub transport: Transport,
    pub settings: MailerSettings,
    pub clock: SharedClock,
    pub audit: Audit,
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
            audit: Audit::stdout(settings.audit.clone()),
            settings,
            clock: std::sync::Arc::new(auth_core::clock::SystemClock),
        })
    }

    fn record(&self, event: AuditEvent, user: Option<&UserId>) {
        let subject = user.map_or_else(Subject::default, |user| Subject::user(user.as_str()));
        self.audit.record(event, subject, &ClientInfo::default());
    }

    /// The account a message is for, if it should be sent at all. Both reads are strongly
    /// consistent: a verification mail right after sign-up must find the new profile.
    async fn recipient(
        &self,
        mail: &OutboxMail,
    ) -> Result<Result<Recipient, &'static str>, StoreError> {
        Ok(match mail.kind {
            MailKind::PasswordReset => {
                let key = self.store.account_email(&mail.email).await?;
                match self.store.credentials_by_email(&key).await? {
                    Some(credentials) => Ok(Recipient {
                        user: credentials.profile.id,
                        email: credentials.profile.email,
                        letter: LetterKind::PasswordReset,
                    }),
                    None => Err("no account has this address"),
                }
            }
            // Decided here, not on the request path, which does the same for any address.
            MailKind::SignupConfirmation => {
                let Some(user) = &mail.user_id else {
                    return Ok(Err("a sign-up message names no sign-up"));
                };
                let Some(pending) = self.store.pending_signup(user, self.clock.now()).await? else {
                    return Ok(Err("the sign-up is confirmed or expired"));
                };
                let key = self.store.account_email(&pending.email).await?;
                match self.store.credentials_by_email(&key).await? {
                    Some(credentials) => Ok(Recipient {
                        user: credentials.profile.id,
                        email: credentials.profile.email,
                        letter: LetterKind::SignupAttempt,
                    }),
                    None => Ok(Recipient {
                        user: pending.user,
                        email: pending.email,
                        letter: LetterKind::SignupConfirmation,
                    }),
                }
            }
            MailKind::EmailVerification => {
                let Some(user) = &mail.user_id else {
                    return Ok(Err("a verification message names no user"));
                };
                match self
                    .store
                    .profile_record(user)
                    .await?
                    .map(|record| record.profile)
                {
                    None => Err("the account no longer exists"),
                    Some(profile) if profile.email != mail.email => {
                        Err("the account's address changed")
                    }
                    Some(profile) if profile.email_verified => {
                        Err("the address is already verified")
                    }
                    Some(profile) => Ok(Recipient {
                        user: profile.id,
                        email: profile.email,
                        letter: LetterKind::EmailVerification,
                    }),
                }
            }
        })
    }

    /// Sends one outbox message, minting its link's token.
    pub async fn deliver(&self, mail: &OutboxMail) -> Result<Delivery, MailError> {
        let recipient = match self.recipient(mail).await? {
            Ok(recipient) => recipient,
            Err(reason) => return Ok(Delivery::Skipped(reason)),
        };
        let user = &recipient.user;
        let Some(to) = sendable(&recipient.email) else {
            self.record(AuditEvent::MailRejected, Some(user));
            return Ok(Delivery::Rejected("UnsendableAddress".to_owned()));
        };
        if self
            .transport
            .is_suppressed(&to)
            .await
            .map_err(MailError::Send)?
        {
            self.record(AuditEvent::MailSuppressed, Some(user));
            return Ok(Delivery::Refused("the address is on the suppression list"));
        }
        let now = self.clock.now();
        let claim = MailClaim {
            pool: MailPool::of(mail.kind),
            address: &to,
            // A redriven message retries its original: same token slot, same budget.
            outbox_id: mail.origin(),
            now,
        };
        let (purpose, ttl) = match recipient.letter {
            LetterKind::PasswordReset => (TokenPurpose::PasswordReset, self.settings.reset_ttl),
            LetterKind::EmailVerification => {
                (TokenPurpose::EmailVerification, self.settings.verify_ttl)
            }
            LetterKind::SignupConfirmation => (TokenPurpose::Signup, self.settings.verify_ttl),
            LetterKind::SignupAttempt => {
                // No link, so no token: the budgets alone.
                let counted = self
                    .store
                    .count_within_budget(&claim, &self.settings.budgets)
                    .await?;
                if let BudgetedIssuance::Exhausted(budget) = counted {
                    self.record(AuditEvent::MailBudgetExceeded, Some(user));
                    return Ok(Delivery::Refused(budget.as_str()));
                }
                let link = link(&self.settings.app_url, recipient.letter, "");
                return self
                    .send(mail, recipient.letter, user, &to, &link, 0, now)
                    .await;
            }
        };
        let token = OneTimeToken::generate(user);
        let pending = PendingToken {
            digest: token.digest(),
            email: recipient.email.clone(),
            issued_at: now,
            expires_at: now.saturating_add(seconds(ttl)),
            outbox_id: mail.origin().to_owned(),
        };
        match self
            .store
            .save_token_within_budget(
                purpose,
                user,
                &pending,
                seconds(self.settings.min_interval),
                &claim,
                &self.settings.budgets,
            )
            .await?
        {
            BudgetedIssuance::Issued => {}
            BudgetedIssuance::TooSoon => {
                return Ok(Delivery::Skipped(
                    "a mail of this kind went out less than the minimum interval ago",
                ));
            }
            BudgetedIssuance::Exhausted(budget) => {
                self.record(AuditEvent::MailBudgetExceeded, Some(user));
                return Ok(Delivery::Refused(budget.as_str()));
            }
        }
        let link = link(&self.settings.app_url, recipient.letter, &token.encode());
        self.send(
            mail,
            recipient.letter,
            user,
            &to,
            &link,
            ttl.as_secs() / 60,
            now,
        )
        .await
    }

    /// Renders the letter and sends it; a rejection is dropped, audited and (when SES
    /// rejected the message) the address suppressed.
    #[allow(clippy::too_many_arguments)] // one message's parts, each from a different source
    async fn send(
        &self,
        mail: &OutboxMail,
        kind: LetterKind,
        user: &UserId,
        to: &str,
        link: &str,
        valid_minutes: u64,
        now: i64,
    ) -> Result<Delivery, MailError> {
        let date = rfc5322(now);
        let letter = Letter {
            kind,
            from: &self.settings.from,
            to,
            app_name: &self.settings.app_name,
            link,
            valid_minutes,
            message_id: &mail.id,
            date: &date,
        };
        let outgoing = Outgoing {
            id: mail.id.clone(),
            from: self.settings.from.clone(),
            to: to.to_owned(),
            message: render(&letter),
        };
        match self.transport.send(&outgoing).await {
            Ok(()) => Ok(Delivery::Sent),
            Err(SendFailure::Rejected { code, suppress }) => {
                if suppress && let Err(failure) = self.transport.suppress(to).await {
                    tracing::warn!(outbox_id = %mail.id, cause = %failure, "could not suppress a rejected address");
                }
                self.record(AuditEvent::MailRejected, Some(user));
                Ok(Delivery::Rejected(code))
            }
            Err(failure) => Err(MailError::Send(failure)),
        }
    }

    /// Delivers one message; a failed send is counted, and the message parked once it has
    /// failed `MAIL_MAX_ATTEMPTS` times, so the caller (the stream, the local relay) retries
    /// only what may still go out and never drops one.
    pub async fn process(&self, mail: &OutboxMail) -> Processed {
        // Boxed: the whole delivery's future nested in the runtime's is deeper than the
        // compiler's layout limit.
        let error = match Box::pin(self.deliver(mail)).await {
            Ok(delivery) => {
                log_delivery(mail, &delivery);
                return Processed::Done(delivery);
            }
            Err(error) => error,
        };
        let cause = auth_core::telemetry::error_chain(&error);
        self.record(error.event(), mail.user_id.as_ref());
        match self.park_if_spent(mail, &error).await {
            Ok(true) => {
                self.record(AuditEvent::MailParked, mail.user_id.as_ref());
                tracing::error!(
                    outbox_id = %mail.id,
                    %cause,
                    "mail failed too often; parked for `local-dev redrive-mail`"
                );
                Processed::Parked
            }
            Ok(false) => {
                tracing::warn!(outbox_id = %mail.id, %cause, "mail failed; to be retried");
                Processed::Retry(error)
            }
            Err(store) => {
                tracing::warn!(
                    outbox_id = %mail.id,
                    %cause,
                    count = %auth_core::telemetry::error_chain(&store),
                    "mail failed and the failure could not be counted; to be retried"
                );
                Processed::Retry(error)
            }
        }
    }

    /// Counts a failed send; parks the message once it has failed `MAIL_MAX_ATTEMPTS` times.
    /// `Ok(true)` when parked.
    async fn park_if_spent(
        &self,
        mail: &OutboxMail,
        error: &MailError,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let attempts = self.store.count_failed_send(&mail.id, now).await?;
        if attempts < self.settings.max_attempts {
            return Ok(false);
        }
        self.store
            .park_mail(&ParkedMail {
                mail: mail.clone(),
                reason: error.reason(),
                attempts,
                parked_at: now,
            })
            .await?;
        Ok(true)
    }

    /// Handles one batch of stream records in order. A record that is not an outbox insert, or
    /// that can never be sent (malformed), is passed over with a log line; the first one that
    /// is to be retried is reported, and Lambda delivers it and everything after it again.
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
            if let Processed::Retry(_) = self.process(&mail).await {
                return BatchResponse {
                    batch_item_failures: vec![ItemFailure {
                        item_identifier: record.dynamodb.sequence_number.clone(),
                    }],
                };
            }
        }
        BatchResponse::default()
    }
}
