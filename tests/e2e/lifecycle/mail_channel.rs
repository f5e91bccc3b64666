//! The mail channel nobody can exhaust: budgets per recipient and per pool (resets apart),
//! SES's suppression list, SES's answers classified, parked mail and its redrive, and the
//! verification mail's strongly consistent read. SES is a local stand-in answering as SES does.

use auth_mail::{Delivery, Processed};
use auth_service::store::{MailKind, OutboxMail, Store, schema};
use e2e::requests::{RequestLog, logged_client};
use e2e::ses::SesStandIn;
use e2e::{PASSWORD, TestApp};

/// An app whose mailer sends through the SES stand-in (configuration set `auth-test`).
async fn app_on_ses(overrides: &[(&str, &str)]) -> (TestApp, SesStandIn) {
    let mut app = TestApp::spawn_with(overrides).await;
    let ses = SesStandIn::start().await;
    app.mailer.transport = ses.transport("auth-test");
    (app, ses)
}

/// Every new outbox message through the mailer, as the stream mapping hands them over.
async fn process_all(app: &TestApp) -> Vec<(OutboxMail, Processed)> {
    let mut processed = Vec::new();
    for mail in app.outbox_messages().await {
        let outcome = app.mailer.process(&mail).await;
        processed.push((mail, outcome));
    }
    processed
}

fn only(mut processed: Vec<(OutboxMail, Processed)>) -> (OutboxMail, Processed) {
    assert_eq!(processed.len(), 1, "one message: {processed:?}");
    processed.remove(0)
}

fn delivered(outcome: &Processed) -> Option<&Delivery> {
    match outcome {
        Processed::Done(delivery) => Some(delivery),
        Processed::Parked | Processed::Retry(_) => None,
    }
}

async fn register(app: &TestApp, email: &str) {
    assert_eq!(app.register("Ada", email, PASSWORD).await.status, 201);
}

/// The mailer's audit lines of `event`: there, and naming no address (no client either: the
/// mailer serves none).
fn mail_audit(app: &TestApp, event: &str) -> Vec<serde_json::Value> {
    let lines = app.audit_events_named(event);
    for line in &lines {
        assert!(!line.to_string().contains('@'), "{line}");
        assert!(line["sourceIp"].is_null(), "{line}");
    }
    lines
}

#[tokio::test]
async fn one_address_gets_at_most_its_hourly_budget_and_a_refused_mail_keeps_the_last_link() {
    let (app, ses) = app_on_ses(&[
        ("MAIL_MIN_INTERVAL", "0s"),
        ("MAIL_RECIPIENT_HOURLY", "2"),
        ("MAIL_RECIPIENT_DAILY", "3"),
    ])
    .await;
    register(&app, "ada@example.com").await;
    process_all(&app).await; // the verification mail: the other pool
    ses.state().sent.clear();

    let mut answers = Vec::new();
    for _ in 0..3 {
        let answer = app.forgot("ada@example.com").await;
        answers.push((answer.status, answer.text.clone()));
    }
    let outcomes: Vec<Option<Delivery>> = process_all(&app)
        .await
        .iter()
        .map(|(_, outcome)| delivered(outcome).cloned())
        .collect();
    assert_eq!(
        outcomes,
        [
            Some(Delivery::Sent),
            Some(Delivery::Sent),
            Some(Delivery::Refused("recipient_hourly"))
        ]
    );
    // The request path answered all three alike: the budget is the mailer's business.
    assert!(
        answers.iter().all(|answer| *answer == answers[0]),
        "{answers:?}"
    );
    assert_eq!(answers[0].0, 202);
    assert_eq!(ses.state().sent.len(), 2);
    assert_eq!(mail_audit(&app, "mail_budget_exceeded").len(), 1);

    // The refused mail stored no token: the second mail's link still works.
    let last = ses
        .state()
        .sent
        .last()
        .map(|(_, _, raw)| raw.clone())
        .expect("a mail");
    let token = last
        .lines()
        .find_map(|line| {
            line.split_once("#token=")
                .map(|(_, token)| token.to_owned())
        })
        .expect("a link");
    assert_eq!(
        app.reset(&token, "a brand new passphrase").await.status,
        204
    );
}

#[tokio::test]
async fn a_sign_up_flood_cannot_starve_password_resets() {
    let (app, ses) = app_on_ses(&[("MAIL_ACCOUNT_HOURLY", "1")]).await;
    register(&app, "first@example.com").await;
    register(&app, "second@example.com").await;
    let outcomes: Vec<Option<Delivery>> = process_all(&app)
        .await
        .iter()
        .map(|(_, outcome)| delivered(outcome).cloned())
        .collect();
    assert_eq!(
        outcomes,
        [Some(Delivery::Sent), Some(Delivery::Refused("pool_hourly"))],
        "the account pool holds one verification mail an hour"
    );
    assert_eq!(app.forgot("second@example.com").await.status, 202);
    let reset = process_all(&app).await;
    assert!(
        matches!(reset.as_slice(), [(_, Processed::Done(Delivery::Sent))]),
        "resets have their own pool: {reset:?}"
    );
    let sent = ses.state().sent.clone();
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter()
            .all(|(_, set, _)| set.as_deref() == Some("auth-test"))
    );
}

#[tokio::test]
async fn a_retried_message_is_counted_once() {
    let (app, ses) =
        app_on_ses(&[("MAIL_RECIPIENT_HOURLY", "1"), ("MAIL_MAX_ATTEMPTS", "5")]).await;
    register(&app, "ada@example.com").await;
    ses.state().failures.push_back((
        429,
        "TooManyRequestsException",
        "Maximum sending rate exceeded.",
    ));
    let (mail, first) = only(process_all(&app).await);
    assert!(matches!(first, Processed::Retry(_)), "{first:?}");
    // The stream delivers it again: its budget was counted on the first try.
    assert!(matches!(
        app.mailer.process(&mail).await,
        Processed::Done(Delivery::Sent)
    ));
    assert_eq!(ses.state().sent.len(), 1);
    assert_eq!(mail_audit(&app, "mail_deferred").len(), 1);
}

#[tokio::test]
async fn a_suppressed_address_gets_no_mail_and_its_request_answers_as_any_other() {
    let (app, ses) = app_on_ses(&[]).await;
    register(&app, "ada@example.com").await;
    process_all(&app).await;
    ses.state().suppressed.insert("ada@example.com".to_owned());
    let calls_before = ses.state().sent.len();

    let suppressed = app.forgot("ada@example.com").await;
    let unknown = app.forgot("nobody@example.com").await;
    assert_eq!(suppressed.status, 202);
    assert_eq!(
        (suppressed.status, &suppressed.text),
        (unknown.status, &unknown.text)
    );
    let outcomes = process_all(&app).await;
    assert!(matches!(
        delivered(&outcomes[0].1),
        Some(Delivery::Refused("the address is on the suppression list"))
    ));
    assert_eq!(ses.state().sent.len(), calls_before, "no SendEmail");
    assert_eq!(mail_audit(&app, "mail_suppressed").len(), 1);
}

#[tokio::test]
async fn an_address_ses_refuses_is_dropped_audited_and_suppressed() {
    let (app, ses) = app_on_ses(&[("MAIL_MIN_INTERVAL", "0s")]).await;
    register(&app, "ada@example.com").await;
    ses.state()
        .failures
        .push_back((400, "BadRequestException", "Illegal address"));
    let outcomes = process_all(&app).await;
    assert_eq!(
        delivered(&outcomes[0].1),
        Some(&Delivery::Rejected("BadRequestException".to_owned()))
    );
    assert_eq!(
        ses.state().added,
        [("ada@example.com".to_owned(), "BOUNCE".to_owned())]
    );
    assert_eq!(mail_audit(&app, "mail_rejected").len(), 1);
    // The next mail to it is not even tried.
    assert_eq!(app.forgot("ada@example.com").await.status, 202);
    let next = process_all(&app).await;
    assert!(matches!(delivered(&next[0].1), Some(Delivery::Refused(_))));
    assert!(ses.state().sent.is_empty());
}

#[tokio::test]
async fn a_rejected_message_is_dropped_but_its_address_is_not_blamed() {
    let (app, ses) = app_on_ses(&[]).await;
    register(&app, "ada@example.com").await;
    ses.state()
        .failures
        .push_back((400, "MessageRejected", "Message content rejected."));
    let outcomes = process_all(&app).await;
    assert_eq!(
        delivered(&outcomes[0].1),
        Some(&Delivery::Rejected("MessageRejected".to_owned()))
    );
    assert!(ses.state().added.is_empty());
    assert_eq!(mail_audit(&app, "mail_rejected").len(), 1);
}

#[tokio::test]
async fn our_own_misconfiguration_is_retried_audited_for_the_alarm_and_blames_no_recipient() {
    for (code, message) in [
        (
            "MailFromDomainNotVerifiedException",
            "MAIL FROM domain not verified",
        ),
        // SES's answer for an unverified sender identity (the sandbox, the wrong region).
        (
            "MessageRejected",
            "Email address is not verified. The following identities failed the check in region US-EAST-1: no-reply@auth.test",
        ),
    ] {
        let (app, ses) = app_on_ses(&[]).await;
        register(&app, "ada@example.com").await;
        ses.state().failures.push_back((400, code, message));
        let outcomes = process_all(&app).await;
        let Processed::Retry(error) = &outcomes[0].1 else {
            panic!("{code}: retried: {outcomes:?}")
        };
        assert!(error.to_string().contains("could not be sent"), "{error}");
        assert_eq!(mail_audit(&app, "mail_misconfigured").len(), 1, "{code}");
        assert!(mail_audit(&app, "mail_deferred").is_empty(), "{code}");
        assert!(
            ses.state().suppressed.is_empty(),
            "{code}: not the address's fault"
        );
    }
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_parked_then_redriven_and_sent() {
    let (app, ses) = app_on_ses(&[("MAIL_MAX_ATTEMPTS", "2")]).await;
    register(&app, "ada@example.com").await;
    for _ in 0..2 {
        ses.state().failures.push_back((
            400,
            "SendingPausedException",
            "Sending is paused for this account.",
        ));
    }
    let (mail, first) = only(process_all(&app).await);
    assert!(matches!(first, Processed::Retry(_)));
    assert!(matches!(app.mailer.process(&mail).await, Processed::Parked));
    assert_eq!(mail_audit(&app, "mail_parked").len(), 1);

    let parked = app.mailer.store.parked_mail(10).await.expect("parked mail");
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].mail, mail);
    assert_eq!(parked[0].attempts, 2);
    assert_eq!(parked[0].reason, "transient: SendingPausedException");

    // Fixed; the operator redrives: a new message in the outbox, sent by the mailer.
    let done = auth_service::operator::redrive_parked_mail(
        &app.mailer.store,
        &app.mailer.audit,
        app.now(),
    )
    .await
    .expect("redrive");
    assert_eq!(done.requeued, 1);
    assert!(
        app.mailer
            .store
            .parked_mail(10)
            .await
            .expect("read")
            .is_empty()
    );
    let again = process_all(&app).await;
    assert!(
        matches!(again.as_slice(), [(redriven, Processed::Done(Delivery::Sent))]
            if redriven.id != mail.id && redriven.kind == MailKind::EmailVerification),
        "{again:?}"
    );
    assert_eq!(ses.state().sent.len(), 1);
    assert_eq!(mail_audit(&app, "mail_redriven").len(), 1);
    // A second redrive finds nothing.
    let none = auth_service::operator::redrive_parked_mail(
        &app.mailer.store,
        &app.mailer.audit,
        app.now(),
    )
    .await
    .expect("redrive");
    assert_eq!(done.requeued + none.requeued, 1);
}

#[tokio::test]
async fn the_verification_mail_reads_its_recipient_strongly_consistently() {
    let mut app = TestApp::spawn().await;
    let log = RequestLog::default();
    app.mailer.store = Store::new(logged_client(&log).await, &app.table)
        .with_outbox(schema::local_outbox_table(&app.table));
    register(&app, "ada@example.com").await;
    let sent = app.mail_to("ada@example.com").await;
    assert_eq!(sent.len(), 1);
    let reads: Vec<_> = log
        .requests()
        .into_iter()
        .filter(|(operation, _)| operation == "GetItem")
        .collect();
    assert!(!reads.is_empty(), "the mailer read the profile");
    for (_, body) in reads {
        assert_eq!(body["ConsistentRead"], true, "{body}");
    }
}
