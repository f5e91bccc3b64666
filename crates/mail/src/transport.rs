//! Where rendered mail goes: Amazon SES v2 (raw content, so SES sends exactly the bytes a
//! local `.eml` file holds), or a directory of `.eml` files for local runs and tests.

use std::path::PathBuf;

use auth_service::config::MailTransport;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A rendered message and its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The outbox message's id: names the `.eml` file, so a retried send overwrites it.
    pub id: String,
    pub from: String,
    pub to: String,
    pub message: String,
}

pub enum Transport {
    Ses(Client),
    Directory(PathBuf),
}

impl Transport {
    /// The transport the settings name; SES's client from the shared AWS configuration.
    pub async fn from_settings(transport: &MailTransport) -> Self {
        match transport {
            MailTransport::Ses => {
                let shared = auth_service::aws::shared_config().await;
                Self::Ses(Client::new(shared))
            }
            MailTransport::Directory(path) => Self::Directory(path.clone()),
        }
    }

    pub async fn send(&self, outgoing: &Outgoing) -> Result<(), BoxError> {
        match self {
            Self::Ses(client) => {
                let raw = RawMessage::builder()
                    .data(Blob::new(outgoing.message.as_bytes()))
                    .build()?;
                client
                    .send_email()
                    .from_email_address(&outgoing.from)
                    .destination(Destination::builder().to_addresses(&outgoing.to).build())
                    .content(EmailContent::builder().raw(raw).build())
                    .send()
                    .await?;
                Ok(())
            }
            Self::Directory(directory) => {
                tokio::fs::create_dir_all(directory).await?;
                // Written aside, then renamed: a reader never sees half a message.
                let partial = directory.join(format!(".{}.eml.partial", outgoing.id));
                tokio::fs::write(&partial, outgoing.message.as_bytes()).await?;
                tokio::fs::rename(&partial, directory.join(format!("{}.eml", outgoing.id))).await?;
                Ok(())
            }
        }
    }
}
