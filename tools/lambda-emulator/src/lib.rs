//! What a function process meets in Lambda, emulated on loopback: the Runtime API it polls for
//! events, and the two AWS services our functions call besides DynamoDB (Secrets Manager at
//! init, SES from the mailer). DynamoDB itself is DynamoDB Local.

pub mod aws_stand_in;
pub mod runtime_api;
