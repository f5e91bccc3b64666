//! End-to-end tests: every flow through the real handlers against DynamoDB Local over HTTP.
//! Run with `scripts/test`, which starts DynamoDB Local and sets `DYNAMODB_ENDPOINT`.

mod abuse;
mod audit;
mod authorizer;
mod capacity;
mod discovery;
mod events;
mod federation;
mod federation_github;
mod lifecycle;
mod login;
mod logout;
mod mfa;
mod outage;
mod refresh;
mod register;
mod revocation;
mod secrets;
mod security;
mod signup;
mod source_limit;
mod table;
mod template;
