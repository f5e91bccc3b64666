//! Where rendered mail goes: Amazon SES v2 (raw content, so SES sends exactly the bytes a
//! local `.eml` file holds), or a directory of `.eml` files for local runs and tests. SES's
//! answers are classified ([`SendFailure`]) so the mailer knows whether to retry, alarm or
//! drop, and the account's suppression list is read before a send and extended on a
//! rejection.

use std::path::PathBuf;

use auth_service::config::MailTransport;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage, SuppressionListReason};

/// A rendered message and its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The outbox message's id: names the `.eml` file, so a retried send overwrites it.
    pub id: String,
    pub from: String,
    /// The recipient as SES accepts it (`address::sendable`).
    pub to: String,
    pub message: String,
}

/// Why SES (or the directory) did not take a message. Each carries SES's error code (or a
/// fixed word): never an address, a link or the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendFailure {
    /// Throttling, sending paused, a service or network error: may pass, so retried.
    #[error("transient: {0}")]
    Transient(String),
    /// Our own setup (an unverified identity, a missing permission, an unknown configuration
    /// set): retried, so no mail is lost while it is fixed, and alarmed.
    #[error("misconfigured: {0}")]
    Misconfigured(String),
    /// SES refused this message or address for good: dropped and audited; `suppress` says
    /// whether the address goes on the suppression list (only when SES refused the address
    /// itself; a rejected message's content says nothing about it).
    #[error("rejected: {code}")]
    Rejected { code: String, suppress: bool },
}

impl SendFailure {
    pub fn code(&self) -> &str {
        match self {
            Self::Transient(code) | Self::Misconfigured(code) => code,
            Self::Rejected { code, .. } => code,
        }
    }
}

/// What an SES error code (and, where SES reuses one code for several causes, its message)
/// means for the message.
fn classify_code(code: Option<&str>, message: Option<&str>, status: Option<u16>) -> SendFailure {
    let text = code.unwrap_or("Unknown").to_owned();
    let says =
        |words: &str| message.is_some_and(|message| message.to_ascii_lowercase().contains(words));
    match code {
        // SES answers this for our own unverified identity too (sandbox, wrong region): that
        // is setup, retried until fixed, and no recipient's fault.
        Some("MessageRejected") if says("not verified") => SendFailure::Misconfigured(text),
        // This message (its content): dropped; nothing says the address is bad.
        Some("MessageRejected") => SendFailure::Rejected {
            code: text,
            suppress: false,
        },
        // An address SES will never deliver to.
        Some("BadRequestException") if says("address") => SendFailure::Rejected {
            code: text,
            suppress: true,
        },
        Some("BadRequestException") => SendFailure::Rejected {
            code: text,
            suppress: false,
        },
        Some(
            "TooManyRequestsException"
            | "LimitExceededException"
            | "SendingPausedException"
            | "AccountSuspendedException"
            | "ThrottlingException"
            | "InternalFailure"
            | "ServiceUnavailable"
            | "ServiceUnavailableException",
        ) => SendFailure::Transient(text),
        Some(
            "MailFromDomainNotVerifiedException"
            | "NotFoundException"
            | "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "InvalidClientTokenId"
            | "ExpiredTokenException"
            | "MissingAuthenticationTokenException",
        ) => SendFailure::Misconfigured(text),
        _ if status.is_some_and(|status| status >= 500 || status == 429) => {
            SendFailure::Transient(text)
        }
        // An error nobody anticipated: kept and retried, and an operator is told.
        _ => SendFailure::Misconfigured(text),
    }
}

fn classify<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> SendFailure {
    match error {
        SdkError::ServiceError(context) => classify_code(
            context.err().code(),
            context.err().message(),
            Some(context.raw().status().as_u16()),
        ),
        SdkError::TimeoutError(_) => SendFailure::Transient("Timeout".into()),
        SdkError::DispatchFailure(_) => SendFailure::Transient("DispatchFailure".into()),
        SdkError::ResponseError(_) => SendFailure::Transient("ResponseError".into()),
        // The request could not even be built: our code, not SES.
        _ => SendFailure::Misconfigured("ConstructionFailure".into()),
    }
}

pub enum Transport {
    Ses {
        client: Client,
        /// Sends through this configuration set (the template's: bounces and complaints put
        /// the address on the account's suppression list).
        configuration_set: Option<String>,
    },
    Directory(PathBuf),
}

impl Transport {
    /// The transport the settings name; SES's client from the shared AWS configuration
    /// (`AWS_ENDPOINT_URL_SESV2` points it elsewhere).
    pub async fn from_settings(transport: &MailTransport) -> Self {
        match transport {
            MailTransport::Ses { configuration_set } => {
                let shared = auth_service::aws::shared_config().await;
                Self::Ses {
                    client: Client::new(shared),
                    configuration_set: configuration_set.clone(),
                }
            }
            MailTransport::Directory(path) => Self::Directory(path.clone()),
        }
    }

    pub async fn send(&self, outgoing: &Outgoing) -> Result<(), SendFailure> {
        match self {
            Self::Ses {
                client,
                configuration_set,
            } => {
                let raw = RawMessage::builder()
                    .data(Blob::new(outgoing.message.as_bytes()))
                    .build()
                    .map_err(|_| SendFailure::Misconfigured("ConstructionFailure".into()))?;
                client
                    .send_email()
                    .from_email_address(&outgoing.from)
                    .destination(Destination::builder().to_addresses(&outgoing.to).build())
                    .content(EmailContent::builder().raw(raw).build())
                    .set_configuration_set_name(configuration_set.clone())
                    .send()
                    .await
                    .map_err(|error| classify(&error))?;
                Ok(())
            }
            Self::Directory(directory) => write_file(directory, outgoing)
                .await
                .map_err(|error| SendFailure::Transient(format!("{:?}", error.kind()))),
        }
    }

    /// Whether the address is on the account's suppression list (a bounce or complaint
    /// SES recorded, or a rejection the mailer recorded). A directory suppresses nothing.
    pub async fn is_suppressed(&self, address: &str) -> Result<bool, SendFailure> {
        let Self::Ses { client, .. } = self else {
            return Ok(false);
        };
        match client
            .get_suppressed_destination()
            .email_address(address)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    == Some("NotFoundException") =>
            {
                Ok(false)
            }
            Err(error) => Err(classify(&error)),
        }
    }

    /// Puts the address on the account's suppression list, as a bounce.
    pub async fn suppress(&self, address: &str) -> Result<(), SendFailure> {
        let Self::Ses { client, .. } = self else {
            return Ok(());
        };
        client
            .put_suppressed_destination()
            .email_address(address)
            .reason(SuppressionListReason::Bounce)
            .send()
            .await
            .map_err(|error| classify(&error))?;
        Ok(())
    }
}

async fn write_file(directory: &std::path::Path, outgoing: &Outgoing) -> std::io::Result<()> {
    tokio::fs::create_dir_all(directory).await?;
    // Written aside, then renamed: a reader never sees half a message.
    let partial = directory.join(format!(".{}.eml.partial", outgoing.id));
    tokio::fs::write(&partial, outgoing.message.as_bytes()).await?;
    tokio::fs::rename(&partial, directory.join(format!("{}.eml", outgoing.id))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ses_codes_map_to_what_the_mailer_does() {
        let verdict =
            |code: &str, message: &str| classify_code(Some(code), Some(message), Some(400));
        assert_eq!(
            verdict("BadRequestException", "Illegal address"),
            SendFailure::Rejected {
                code: "BadRequestException".into(),
                suppress: true
            }
        );
        assert!(matches!(
            verdict("BadRequestException", "Missing required header 'From'."),
            SendFailure::Rejected {
                suppress: false,
                ..
            }
        ));
        assert!(matches!(
            verdict(
                "MessageRejected",
                "Email address is not verified. The following identities failed the check in region US-EAST-1: no-reply@example.com"
            ),
            SendFailure::Misconfigured(_)
        ));
        assert!(matches!(
            verdict("MessageRejected", "Message content rejected"),
            SendFailure::Rejected {
                suppress: false,
                ..
            }
        ));
        for transient in [
            "TooManyRequestsException",
            "SendingPausedException",
            "AccountSuspendedException",
            "LimitExceededException",
        ] {
            assert!(
                matches!(verdict(transient, ""), SendFailure::Transient(_)),
                "{transient}"
            );
        }
        for ours in [
            "MailFromDomainNotVerifiedException",
            "NotFoundException",
            "AccessDeniedException",
        ] {
            assert!(
                matches!(verdict(ours, ""), SendFailure::Misconfigured(_)),
                "{ours}"
            );
        }
        assert!(matches!(
            classify_code(None, None, Some(503)),
            SendFailure::Transient(_)
        ));
        assert!(matches!(
            classify_code(Some("Odd"), None, Some(418)),
            SendFailure::Misconfigured(_)
        ));
        assert_eq!(classify_code(None, None, Some(500)).code(), "Unknown");
    }
}
