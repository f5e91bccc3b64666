//! The outbox: mail the request path asks for, written as an item the table's stream carries to
//! the mailer. The request never waits for a mail server, and what it writes is the same
//! whether or not the address has an account.

use super::item::{self, Item, n, s};
use super::schema::*;
use super::{Store, StoreError};
use auth_core::domain::{Email, UserId};

/// How long an outbox item is kept (TTL); the stream has delivered it long before.
const OUTBOX_RETENTION_SECONDS: i64 = 86_400;

/// What a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// A password reset link, if the address has an account.
    PasswordReset,
    /// An email verification link for a user who has not verified yet.
    EmailVerification,
    /// A confirm-first sign-up: its link when the address has no account, else a notice to
    /// the owner that someone tried to sign up with it.
    SignupConfirmation,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
            Self::SignupConfirmation => "signup_confirmation",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "password_reset" => Some(Self::PasswordReset),
            "email_verification" => Some(Self::EmailVerification),
            "signup_confirmation" => Some(Self::SignupConfirmation),
            _ => None,
        }
    }
}

/// One message asked for. It holds no secret: the mailer mints the link's token when it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub id: String,
    pub kind: MailKind,
    pub email: Email,
    /// Known for verification mail; a reset request names only an address.
    pub user_id: Option<UserId>,
    pub created_at: i64,
    /// The message this one sends again (`local-dev redrive-mail`): its link's token and its
    /// budget belong to that one, so a redrive is a retry, not a second mail.
    pub redrive_of: Option<String>,
}

impl OutboxMail {
    pub fn new(kind: MailKind, email: Email, user_id: Option<UserId>, now: i64) -> Self {
        Self {
            id: auth_core::random::hex_id(),
            kind,
            email,
            user_id,
            created_at: now,
            redrive_of: None,
        }
    }

    /// The message this is, for its token and budget: the original of a redriven one.
    pub fn origin(&self) -> &str {
        self.redrive_of.as_deref().unwrap_or(&self.id)
    }

    pub(super) fn item(&self) -> Item {
        let mut item = Item::from([
            (PK.to_owned(), s(outbox_pk(&self.id))),
            (SK.to_owned(), s(OUTBOX_SK)),
            (MAIL_KIND.to_owned(), s(self.kind.as_str())),
            (EMAIL.to_owned(), s(self.email.as_str())),
            (CREATED_AT.to_owned(), n(self.created_at)),
            (
                EXPIRES_AT.to_owned(),
                n(self.created_at.saturating_add(OUTBOX_RETENTION_SECONDS)),
            ),
        ]);
        if let Some(user) = &self.user_id {
            item.insert(USER_ID.to_owned(), s(user.as_str()));
        }
        if let Some(origin) = &self.redrive_of {
            item.insert(REDRIVE_OF.to_owned(), s(origin));
        }
        item
    }

    /// The message an outbox item asks for; `Ok(None)` for any other item of the table.
    pub fn from_item(item: &Item) -> Result<Option<Self>, StoreError> {
        let pk = item::string(item, PK)?;
        let Some(id) = pk.strip_prefix(OUTBOX_PK_PREFIX) else {
            return Ok(None);
        };
        Ok(Some(Self {
            id: id.to_owned(),
            kind: item::parsed(item, MAIL_KIND, MailKind::parse)?,
            email: item::parsed(item, EMAIL, |raw| Email::parse(raw).ok())?,
            user_id: item::optional_string(item, USER_ID)?
                .map(|raw| {
                    UserId::parse(raw)
                        .ok_or_else(|| StoreError::Corrupt("outbox user id is malformed".into()))
                })
                .transpose()?,
            created_at: item::number(item, CREATED_AT)?,
            redrive_of: item::optional_string(item, REDRIVE_OF)?.map(str::to_owned),
        }))
    }
}

impl Store {
    /// Writes one outbox message: one `PutItem`.
    pub async fn enqueue_mail(&self, mail: &OutboxMail) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(self.outbox_table()?)
            .set_item(Some(mail.item()))
            .send()
            .await?;
        Ok(())
    }
}
