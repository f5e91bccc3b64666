//! The mailer: turns outbox messages (written by the request path, carried by the table's
//! stream) into mail with a one-time link, and sends it with SES v2 or writes it as an `.eml`
//! file. The link's token is minted here, at send time, and only its digest is stored: no
//! request, log, outbox item or stream record ever holds a usable link.

pub mod mailer;
pub mod message;
pub mod stream;
pub mod transport;

pub use mailer::{Delivery, MailError, Mailer, Processed};
