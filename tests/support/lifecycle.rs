//! The account lifecycle in tests: requests behind the real authorizer, and mail through the
//! outbox table's stream, the mailer and `.eml` files.

use std::path::PathBuf;
use std::sync::Arc;

use auth_core::authorizer::Authorizer;
use auth_core::config::AuthorizerSettings;
use auth_core::token::AccessTokens;
use auth_mail::{Delivery, Mailer};
use auth_service::store::OutboxMail;
use lambda_http::Request;
use local_dev::mail_relay::MailRelay;
use serde_json::{Value, json};

use crate::events::http_api_event_value;
use crate::{Function, SOURCE_IP, TestApp, TestResponse, dynamodb_endpoint};

/// A mail the mailer sent, as written to the app's mail directory.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub outbox: OutboxMail,
    pub message: String,
}

impl SentMail {
    /// The one-time token in the message's link.
    pub fn token(&self) -> String {
        self.message
            .lines()
            .find_map(|line| {
                line.split_once("#token=")
                    .map(|(_, token)| token.to_owned())
            })
            .unwrap_or_else(|| panic!("no link in {}", self.message))
    }
}

/// The authorizer's context for `access_token`, as API Gateway hands it to the function;
/// `None` when the authorizer refuses the token.
pub async fn authorizer_context(app: &TestApp, access_token: &str) -> Option<Value> {
    let settings = AuthorizerSettings::from_env(&app.settings).expect("authorizer settings");
    let authorizer = Authorizer::new(
        AccessTokens::new(settings.access),
        settings.options,
        None,
        Arc::new(app.clock.clone()),
    );
    let event = json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {access_token}"),
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod/POST/auth"
    });
    let response = authorizer.handle(&event.to_string()).await.ok()?;
    Some(serde_json::to_value(response).expect("json")["context"].clone())
}

/// An HTTP API request carrying the authorizer's context for `access_token` (panics when the
/// authorizer refuses it: API Gateway would not call the function).
pub async fn authorized_request(
    app: &TestApp,
    source_ip: &str,
    headers: &[(&str, &str)],
    method: &str,
    path: &str,
    access_token: &str,
    body: Option<&str>,
) -> Request {
    let context = authorizer_context(app, access_token)
        .await
        .expect("the authorizer accepts the access token");
    let mut headers = headers.to_vec();
    headers.push(("content-type", "application/json"));
    let mut event = http_api_event_value(source_ip, method, path, &headers, &[], body);
    event["requestContext"]["authorizer"] = json!({ "lambda": context });
    lambda_http::request::from_str(&event.to_string()).expect("a valid HTTP API event")
}

impl TestApp {
    /// `method path` behind the authorizer, as the holder of `access_token`.
    pub async fn authorized(
        &self,
        function: Function,
        method: &str,
        path: &str,
        access_token: &str,
        body: Option<Value>,
    ) -> TestResponse {
        let body = body.map(|body| body.to_string());
        let request = authorized_request(
            self,
            SOURCE_IP,
            &[],
            method,
            path,
            access_token,
            body.as_deref(),
        )
        .await;
        self.send(function, request).await
    }

    /// An unauthenticated JSON POST to one of the lifecycle functions.
    pub async fn post(&self, function: Function, path: &str, body: Value) -> TestResponse {
        self.send(function, crate::json_post(path, &body.to_string()))
            .await
    }

    pub async fn forgot(&self, email: &str) -> TestResponse {
        self.post(
            Function::Password,
            "/auth/password/forgot",
            json!({ "email": email }),
        )
        .await
    }

    pub async fn reset(&self, token: &str, new_password: &str) -> TestResponse {
        self.post(
            Function::Password,
            "/auth/password/reset",
            json!({ "token": token, "newPassword": new_password }),
        )
        .await
    }

    /// `POST /auth/password/change` as the holder of `access_token`.
    pub async fn change_password(
        &self,
        access_token: &str,
        current: &str,
        new: &str,
    ) -> TestResponse {
        self.authorized(
            Function::Password,
            "POST",
            "/auth/password/change",
            access_token,
            Some(json!({ "currentPassword": current, "newPassword": new })),
        )
        .await
    }

    /// Presents a verification link alone: no session, no password.
    pub async fn verify_email(&self, token: &str) -> TestResponse {
        self.post(
            Function::Email,
            "/auth/email/verify",
            json!({ "token": token }),
        )
        .await
    }

    /// Presents a verification link from a browser signed in with `refresh_token` (its cookie).
    pub async fn verify_email_signed_in(&self, token: &str, refresh_token: &str) -> TestResponse {
        let body = json!({ "token": token }).to_string();
        let request = crate::events::http_api_event(
            "POST",
            "/auth/email/verify",
            &[("content-type", "application/json")],
            &[format!("refreshToken={refresh_token}")],
            Some(&body),
        );
        self.send(Function::Email, request).await
    }

    /// Presents a verification link with the account's password.
    pub async fn verify_email_with_password(&self, token: &str, password: &str) -> TestResponse {
        self.post(
            Function::Email,
            "/auth/email/verify",
            json!({ "token": token, "password": password }),
        )
        .await
    }

    /// Where this app's mailer writes (`MAIL_TRANSPORT=dir:`).
    pub fn mail_dir(&self) -> PathBuf {
        std::env::temp_dir().join(format!("{}-mail", self.table))
    }

    /// The outbox messages written since the last call, read from the outbox table's stream
    /// as the deployed event source mapping reads it.
    pub async fn outbox_messages(&self) -> Vec<OutboxMail> {
        let mut relay = self.relay.lock().await;
        if relay.is_none() {
            *relay = Some(
                MailRelay::open(
                    &self.client,
                    streams_client().await,
                    &auth_service::store::schema::local_outbox_table(&self.table),
                )
                .await
                .expect("open the outbox table's stream"),
            );
        }
        let Some(relay) = relay.as_mut() else {
            unreachable!("opened above")
        };
        relay.poll().await.expect("read the stream")
    }

    /// Hands every new outbox message to the mailer: each message and what became of it.
    pub async fn deliver_mail(&self) -> Vec<(OutboxMail, Delivery)> {
        let mut delivered = Vec::new();
        for mail in self.outbox_messages().await {
            let outcome = self.mailer.deliver(&mail).await.expect("deliver");
            delivered.push((mail, outcome));
        }
        delivered
    }

    /// Delivers pending mail and returns what was sent to `email`.
    pub async fn mail_to(&self, email: &str) -> Vec<SentMail> {
        self.deliver_mail()
            .await
            .into_iter()
            .filter(|(mail, outcome)| mail.email.as_str() == email && *outcome == Delivery::Sent)
            .map(|(outbox, _)| SentMail {
                message: std::fs::read_to_string(
                    self.mail_dir().join(format!("{}.eml", outbox.id)),
                )
                .expect("the .eml file"),
                outbox,
            })
            .collect()
    }

    /// The only mail sent to `email` since the last delivery.
    pub async fn one_mail_to(&self, email: &str) -> SentMail {
        let mut mails = self.mail_to(email).await;
        assert_eq!(mails.len(), 1, "one mail to {email}: {mails:?}");
        mails.remove(0)
    }
}

/// A DynamoDB Streams client for DynamoDB Local.
pub async fn streams_client() -> aws_sdk_dynamodbstreams::Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
        .endpoint_url(dynamodb_endpoint())
        .load()
        .await;
    aws_sdk_dynamodbstreams::Client::new(&shared)
}

/// Builds the app's mailer over its table and settings, writing `.eml` files.
pub fn mailer(
    app_settings: &std::collections::BTreeMap<String, String>,
    store: auth_service::store::Store,
    clock: auth_core::clock::SharedClock,
    audit: auth_service::audit::CapturedAudit,
) -> Mailer {
    let settings = auth_service::config::MailerSettings::from_env(app_settings)
        .expect("valid mailer settings");
    let transport = match &settings.transport {
        auth_service::config::MailTransport::Directory(path) => {
            auth_mail::transport::Transport::Directory(path.clone())
        }
        auth_service::config::MailTransport::Ses { .. } => {
            panic!("tests write mail to a directory")
        }
    };
    Mailer {
        store,
        transport,
        audit: auth_service::audit::Audit::new(settings.audit.clone(), std::sync::Arc::new(audit)),
        settings,
        clock,
    }
}
