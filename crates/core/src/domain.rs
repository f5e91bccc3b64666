//! Domain types, parsed once at the edge so the rest of the code can trust them.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// A rejected input, naming the field so the client knows what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidField {
    pub field: &'static str,
    pub message: String,
}

impl InvalidField {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Longest accepted password, in bytes: caps the cost an attacker can make us hash.
pub const MAX_PASSWORD_BYTES: usize = 256;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_EMAIL_BYTES: usize = 254;
pub const MAX_NAME_CHARS: usize = 100;

/// An email address, trimmed and lowercased so one mailbox maps to one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        let email = raw.trim().to_lowercase();
        let invalid = |message: &str| Err(InvalidField::new("email", message));
        if email.is_empty() {
            return invalid("email must not be empty");
        }
        if email.len() > MAX_EMAIL_BYTES {
            return invalid("email must be at most 254 characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return invalid("email must contain an @");
        };
        let well_formed = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return invalid("email is not a valid address");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(InvalidField::new("name", "name must not be empty"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(InvalidField::new(
                "name",
                "name must be at most 100 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidField::new(
                "name",
                "name must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// A name given at registration: [`DisplayName::parse`], and no bidirectional formatting
    /// characters, which would let a name reorder the text around it wherever it is shown
    /// (a sessions list, an admin screen, a mail). Names stored before this rule still read.
    pub fn parse_new(raw: &str) -> Result<Self, InvalidField> {
        let name = Self::parse(raw)?;
        if name.0.chars().any(is_bidi_control) {
            return Err(InvalidField::new(
                "name",
                "name must not contain bidirectional formatting characters",
            ));
        }
        Ok(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Unicode's bidirectional formatting characters (UAX #9): embeddings, overrides, isolates and
/// the directional marks.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// A password as typed by the user; never logged, never serialized.
pub struct Password(SecretString);

impl Password {
    /// The policy for new passwords: 8 characters or more, at most 256 bytes.
    pub fn parse_new(raw: String) -> Result<Self, InvalidField> {
        if raw.chars().count() < MIN_PASSWORD_CHARS {
            return Err(InvalidField::new(
                "password",
                "password must be at least 8 characters",
            ));
        }
        Self::parse_existing(raw)
    }

    /// A password offered at login: only the length bound applies (old accounts may predate the policy).
    pub fn parse_existing(raw: String) -> Result<Self, InvalidField> {
        if raw.is_empty() {
            return Err(InvalidField::new("password", "password must not be empty"));
        }
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(InvalidField::new(
                "password",
                "password must be at most 256 bytes",
            ));
        }
        Ok(Self(SecretString::from(raw)))
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// An authorization role carried in access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Role(String);

impl Role {
    pub const DEFAULT: &'static str = "user";

    pub fn user() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    /// Roles are short lowercase identifiers (`user`, `admin`, `billing-reader`).
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        valid.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! hex_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const LEN: usize = 32;

            pub fn generate() -> Self {
                Self(crate::random::hex_id())
            }

            /// Exactly 32 lowercase hex characters.
            pub fn parse(raw: &str) -> Option<Self> {
                let valid = raw.len() == Self::LEN && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                valid.then(|| Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

hex_id!(
    /// A user's stable id (128 random bits, hex).
    UserId
);
hex_id!(
    /// A refresh session's id (32 hex characters): one per login, shared by its rotations.
    SessionId
);

impl SessionId {
    /// A new id that sorts after every id made in an earlier second: 40 bits of the creation
    /// time (epoch seconds, hex), then 88 random bits. The sessions of a user are then listed
    /// newest first straight from the table's sort order, page by page. (The id is no secret:
    /// a refresh token's secret is its own 256 bits.)
    pub fn generate_at(now: i64) -> Self {
        let seconds = u64::try_from(now).unwrap_or(0) & 0xff_ffff_ffff;
        let random = crate::random::hex(&crate::random::bytes::<11>());
        Self(format!("{seconds:010x}{random}"))
    }

    /// An id after every real one in sort order: a list cursor meaning "from the newest".
    pub fn after_newest() -> Self {
        Self("f".repeat(Self::LEN))
    }
}

/// A user's public profile, as returned to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserProfile {
    pub id: UserId,
    pub name: DisplayName,
    pub email: Email,
    pub role: Role,
    /// Whether the user has followed a verification link mailed to `email`.
    #[serde(rename = "emailVerified")]
    pub email_verified: bool,
}

/// A user as stored, with the password hash needed at login.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub profile: UserProfile,
    pub password_hash: String,
    /// The account's session epoch: every credential event (reset, password change, logout
    /// everywhere) raises it, and a session created under a lower one is revoked.
    pub session_epoch: u64,
    /// Whether a second factor is confirmed: a right password then asks for it.
    pub mfa_enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_name_refuses_bidi_controls_but_a_stored_one_still_reads() {
        for sneaky in [
            "Ada\u{202E}gnp.exe",
            "\u{2066}Ada",
            "Ada\u{200F}",
            "A\u{061C}da",
        ] {
            let error = DisplayName::parse_new(sneaky)
                .err()
                .map(|error| error.field);
            assert_eq!(error, Some("name"), "{sneaky:?}");
            assert!(
                DisplayName::parse(sneaky).is_ok(),
                "stored names keep reading"
            );
        }
        assert!(DisplayName::parse_new("Ада Лавлейс").is_ok());
        assert!(
            DisplayName::parse_new("עדה").is_ok(),
            "right-to-left text itself is fine"
        );
    }

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").expect("valid").as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused_with_the_field_named() {
        for raw in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@.com",
            "ada@example.",
        ] {
            let error = Email::parse(raw).expect_err(raw);
            assert_eq!(error.field, "email", "{raw}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn passwords_must_have_eight_characters_and_at_most_256_bytes() {
        assert!(Password::parse_new("1234567".into()).is_err());
        assert!(Password::parse_new("12345678".into()).is_ok());
        assert!(
            Password::parse_new("ééééééé".into()).is_err(),
            "7 characters, 14 bytes"
        );
        assert!(Password::parse_new("x".repeat(256)).is_ok());
        assert_eq!(
            Password::parse_new("x".repeat(257))
                .expect_err("too long")
                .field,
            "password"
        );
        assert!(Password::parse_existing("short".into()).is_ok());
        assert!(Password::parse_existing(String::new()).is_err());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let password = Password::parse_new("hunter2hunter2".into()).expect("valid");
        assert!(!format!("{password:?}").contains("hunter2"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse(" Ada Lovelace ")
                .expect("valid")
                .as_str(),
            "Ada Lovelace"
        );
        assert!(DisplayName::parse("  ").is_err());
        assert!(DisplayName::parse(&"n".repeat(101)).is_err());
        assert!(DisplayName::parse("Ada\u{0}").is_err());
    }

    #[test]
    fn ids_are_32_lowercase_hex_characters() {
        let id = UserId::generate();
        assert_eq!(UserId::parse(id.as_str()), Some(id.clone()));
        assert_ne!(UserId::generate(), id);
        assert!(UserId::parse(&"A".repeat(32)).is_none());
        assert!(SessionId::parse(&"a".repeat(31)).is_none());
        assert!(SessionId::parse("../../../../etc/passwd/aaaaaaaaaa").is_none());
    }

    #[test]
    fn session_ids_made_in_a_later_second_sort_after_earlier_ones() {
        let earlier = SessionId::generate_at(1_800_000_000);
        let later = SessionId::generate_at(1_800_000_001);
        assert_eq!(SessionId::parse(later.as_str()), Some(later.clone()));
        assert!(earlier.as_str() < later.as_str());
        assert_ne!(
            SessionId::generate_at(1_800_000_000),
            earlier,
            "random beyond the time"
        );
        assert!(SessionId::parse(SessionId::generate_at(-5).as_str()).is_some());
    }

    #[test]
    fn roles_are_short_lowercase_identifiers() {
        assert!(Role::parse("admin").is_some());
        assert!(Role::parse("billing-reader").is_some());
        assert!(Role::parse("Admin").is_none());
        assert!(Role::parse("").is_none());
        assert!(Role::parse("a b").is_none());
    }
}
