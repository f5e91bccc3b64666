//! Mail as RFC 5322 text: headers, and a `multipart/alternative` body with a plain-text and an
//! HTML part. Everything is rendered from values the mailer controls or has validated; the only
//! secret in a message is its one-time link.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Which message it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterKind {
    PasswordReset,
    EmailVerification,
    /// A confirm-first sign-up's link.
    SignupConfirmation,
    /// To an address that has an account: someone tried to sign up with it. No token.
    SignupAttempt,
}

impl LetterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
            Self::SignupConfirmation => "signup_confirmation",
            Self::SignupAttempt => "signup_attempt",
        }
    }
}

/// What one message says, and to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter<'a> {
    pub kind: LetterKind,
    pub from: &'a str,
    pub to: &'a str,
    pub app_name: &'a str,
    /// The one-time link.
    pub link: &'a str,
    /// How long the link works, in minutes.
    pub valid_minutes: u64,
    /// The outbox message's id: the Message-ID and the MIME boundary derive from it, so a
    /// retried send renders the same message.
    pub message_id: &'a str,
    /// RFC 5322 date of sending.
    pub date: &'a str,
}

/// The link a mail carries: `{APP_URL}/reset-password#token=…`, `/verify-email#token=…` or
/// `/confirm-signup#token=…`; the sign-in page (`{APP_URL}/`) for a sign-up attempt notice. The
/// token rides in the fragment, which a browser never sends: it reaches no server, CDN or
/// proxy log on the way to the page.
pub fn link(app_url: &str, kind: LetterKind, token: &str) -> String {
    let page = match kind {
        LetterKind::PasswordReset => "reset-password",
        LetterKind::EmailVerification => "verify-email",
        LetterKind::SignupConfirmation => "confirm-signup",
        LetterKind::SignupAttempt => return format!("{app_url}/"),
    };
    format!("{app_url}/{page}#token={token}")
}

fn subject(letter: &Letter<'_>) -> String {
    match letter.kind {
        LetterKind::PasswordReset => format!("Reset your {} password", letter.app_name),
        LetterKind::EmailVerification => {
            format!("Verify your email address for {}", letter.app_name)
        }
        LetterKind::SignupConfirmation => format!("Confirm your {} sign-up", letter.app_name),
        LetterKind::SignupAttempt => format!("Someone tried to sign up for {}", letter.app_name),
    }
}

fn duration_text(minutes: u64) -> String {
    match minutes {
        1 => "1 minute".to_owned(),
        m if m % 1440 == 0 && m >= 1440 => match m / 1440 {
            1 => "24 hours".to_owned(),
            days => format!("{days} days"),
        },
        m if m % 60 == 0 => match m / 60 {
            1 => "1 hour".to_owned(),
            hours => format!("{hours} hours"),
        },
        m => format!("{m} minutes"),
    }
}

/// The paragraphs of the message, shared by its text and HTML parts.
struct Wording {
    intro: String,
    action: &'static str,
    expiry: String,
    ignore: &'static str,
}

fn wording(letter: &Letter<'_>) -> Wording {
    let expiry = format!(
        "The link works once, for {}.",
        duration_text(letter.valid_minutes)
    );
    match letter.kind {
        LetterKind::PasswordReset => Wording {
            intro: format!(
                "Someone asked to reset the password of your {} account.",
                letter.app_name
            ),
            action: "Choose a new password",
            expiry: format!("{expiry} Resetting ends every session of the account."),
            ignore: "If it was not you, ignore this mail: your password stays as it is.",
        },
        LetterKind::EmailVerification => Wording {
            intro: format!(
                "Please confirm that this is your email address for {}.",
                letter.app_name
            ),
            action: "Verify my email address",
            expiry,
            ignore: "If you did not create an account, ignore this mail.",
        },
        LetterKind::SignupConfirmation => Wording {
            intro: format!(
                "Someone signed up for {} with this address. To create the account, open the link and enter the password chosen at sign-up.",
                letter.app_name
            ),
            action: "Confirm my sign-up",
            expiry,
            ignore: "If you did not sign up, ignore this mail: no account is created.",
        },
        LetterKind::SignupAttempt => Wording {
            intro: format!(
                "Someone tried to sign up for {} with this address, which already has an account.",
                letter.app_name
            ),
            action: "If it was you, sign in (or reset your password from the sign-in page)",
            expiry: "Nothing about your account changed.".to_owned(),
            ignore: "If it was not you, you need not do anything.",
        },
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A header value: as is when printable ASCII, else an RFC 2047 encoded word.
fn header_text(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        text.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(text))
    }
}

/// A body part: 7bit when ASCII, else base64 in 76-character lines (RFC 2045).
fn body_part(content_type: &str, text: &str) -> String {
    if text.is_ascii() {
        format!(
            "Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{text}"
        )
    } else {
        let encoded = STANDARD.encode(text);
        let lines: Vec<String> = encoded
            .as_bytes()
            .chunks(76)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect();
        format!(
            "Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            lines.join("\r\n")
        )
    }
}

fn domain_of(from: &str) -> &str {
    let address = from
        .rsplit_once('<')
        .and_then(|(_, rest)| rest.strip_suffix('>'))
        .unwrap_or(from);
    address
        .rsplit_once('@')
        .map_or("localhost", |(_, domain)| domain)
}

/// The whole message, CRLF line endings, ready for SES's raw content or an `.eml` file.
pub fn render(letter: &Letter<'_>) -> String {
    let words = wording(letter);
    let boundary = format!("=_auth_{}", letter.message_id);
    let text = format!(
        "{}\r\n\r\n{}:\r\n{}\r\n\r\n{}\r\n\r\n{}\r\n",
        words.intro, words.action, letter.link, words.expiry, words.ignore
    );
    let link = escape_html(letter.link);
    let html = format!(
        "<!doctype html>\r\n<html><body style=\"font-family:sans-serif\">\r\n\
         <p>{}</p>\r\n<p><a href=\"{link}\">{}</a></p>\r\n\
         <p>Or paste this address into your browser:<br>{link}</p>\r\n\
         <p>{}</p>\r\n<p>{}</p>\r\n</body></html>\r\n",
        escape_html(&words.intro),
        words.action,
        escape_html(&words.expiry),
        escape_html(words.ignore),
    );
    let headers = [
        ("From", letter.from.to_owned()),
        ("To", letter.to.to_owned()),
        ("Subject", header_text(&subject(letter))),
        ("Date", letter.date.to_owned()),
        (
            "Message-ID",
            format!(
                "<{}.{}@{}>",
                letter.message_id,
                letter.kind.as_str(),
                domain_of(letter.from)
            ),
        ),
        ("MIME-Version", "1.0".to_owned()),
        (
            "Content-Type",
            format!("multipart/alternative; boundary=\"{boundary}\""),
        ),
    ];
    let mut message = String::new();
    for (name, value) in headers {
        message.push_str(&format!("{name}: {value}\r\n"));
    }
    message.push_str(&format!(
        "\r\n--{boundary}\r\n{}\r\n--{boundary}\r\n{}\r\n--{boundary}--\r\n",
        body_part("text/plain", &text),
        body_part("text/html", &html),
    ));
    message
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn letter<'a>(kind: LetterKind, app_name: &'a str, link: &'a str) -> Letter<'a> {
        Letter {
            kind,
            from: "Example <no-reply@example.com>",
            to: "ada@example.com",
            app_name,
            link,
            valid_minutes: 30,
            message_id: "0123456789abcdef0123456789abcdef",
            date: "Tue, 24 Nov 2026 17:00:00 +0000",
        }
    }

    #[test]
    fn links_point_at_the_app_pages() {
        assert_eq!(
            link("https://app.example.com", LetterKind::PasswordReset, "t.k"),
            "https://app.example.com/reset-password#token=t.k"
        );
        assert_eq!(
            link(
                "http://127.0.0.1:3000",
                LetterKind::EmailVerification,
                "t.k"
            ),
            "http://127.0.0.1:3000/verify-email#token=t.k"
        );
    }

    #[test]
    fn a_message_has_crlf_lines_both_parts_and_the_link_in_each() {
        let link = "https://app.example.com/reset-password#token=abc.def";
        let message = render(&letter(LetterKind::PasswordReset, "Example", link));
        assert!(message.starts_with("From: Example <no-reply@example.com>\r\nTo: ada@example.com\r\nSubject: Reset your Example password\r\n"));
        assert!(message.contains(
            "Message-ID: <0123456789abcdef0123456789abcdef.password_reset@example.com>\r\n"
        ));
        assert!(
            !message.replace("\r\n", "").contains('\n'),
            "only CRLF line ends"
        );
        assert!(message.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(message.contains("Content-Type: text/html; charset=utf-8"));
        assert_eq!(
            message.matches(link).count(),
            3,
            "text once, HTML href and text"
        );
        assert!(message.contains("for 30 minutes"));
        assert!(message.lines().all(|line| line.len() <= 998));
    }

    #[test]
    fn non_ascii_names_are_encoded_words_and_html_is_escaped() {
        let message = render(&letter(
            LetterKind::EmailVerification,
            "Zoë <Café>",
            "https://a.example/verify-email#token=x",
        ));
        assert!(message.contains("Subject: =?UTF-8?B?"));
        assert!(message.is_ascii(), "non-ASCII text travels as base64");
        let html = message
            .split("Content-Transfer-Encoding: base64\r\n\r\n")
            .nth(2)
            .and_then(|part| part.split("\r\n--").next())
            .map(|part| STANDARD.decode(part.replace("\r\n", "")).expect("base64"))
            .map(|bytes| String::from_utf8(bytes).expect("utf-8"))
            .expect("an HTML part");
        assert!(html.contains("Zoë &lt;Café&gt;"), "{html}");
    }

    #[test]
    fn sign_up_letters_say_what_happened_and_only_the_confirmation_carries_a_token() {
        assert_eq!(
            link("https://a.example", LetterKind::SignupConfirmation, "t.k"),
            "https://a.example/confirm-signup#token=t.k"
        );
        assert_eq!(
            link("https://a.example", LetterKind::SignupAttempt, "ignored"),
            "https://a.example/"
        );
        let confirmation = render(&letter(
            LetterKind::SignupConfirmation,
            "Example",
            "https://a.example/confirm-signup#token=t.k",
        ));
        assert!(confirmation.contains("Subject: Confirm your Example sign-up\r\n"));
        assert!(confirmation.contains("password chosen at sign-up"));
        let attempt = render(&letter(
            LetterKind::SignupAttempt,
            "Example",
            "https://a.example/",
        ));
        assert!(attempt.contains("Subject: Someone tried to sign up for Example\r\n"));
        assert!(attempt.contains("already has an account"));
        assert!(!attempt.contains("token"));
        assert!(attempt.contains(".signup_attempt@example.com>"));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(1), "1 minute");
        assert_eq!(duration_text(30), "30 minutes");
        assert_eq!(duration_text(60), "1 hour");
        assert_eq!(duration_text(120), "2 hours");
        assert_eq!(duration_text(1440), "24 hours");
        assert_eq!(duration_text(2880), "2 days");
    }

    proptest! {
        #[test]
        fn any_app_name_renders_an_ascii_message_with_one_subject(name in "\\PC{1,64}") {
            let message = render(&letter(LetterKind::PasswordReset, &name, "https://a.example/x"));
            prop_assert!(message.is_ascii());
            let headers = message.split("\r\n\r\n").next().unwrap_or_default();
            prop_assert_eq!(headers.matches("\r\nSubject: ").count(), 1);
            prop_assert_eq!(headers.lines().count(), 7);
        }
    }
}
