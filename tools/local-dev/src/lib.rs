//! Local operations on the table, and the local stand-in for the table's stream trigger: the
//! mail relay reads DynamoDB Local's stream and hands each outbox message to the mailer, as
//! Lambda's event source mapping does in AWS.

pub mod mail_relay;
pub mod stream_mapping;
