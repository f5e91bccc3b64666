//! What each login outcome costs in DynamoDB capacity units and round trips, measured with
//! `ReturnConsumedCapacity` on every request (the README's figures come from here).

use e2e::capacity::{Capacity, CapacityMeter};
use e2e::{PASSWORD, TestApp, unique_name};

const WRONG: &str = "not the password at all";

fn report(what: &str, capacity: Capacity, round_trips: usize) -> Capacity {
    eprintln!(
        "{what}: {round_trips} requests, {} read units, {} write units",
        capacity.read_units, capacity.write_units
    );
    capacity
}

#[tokio::test]
async fn what_login_and_register_cost_in_capacity_units() {
    let meter = CapacityMeter::default();
    let app = TestApp::spawn_metered(
        &[("LOGIN_MAX_FAILURES", "2"), ("LOGIN_BACKOFF", "60s")],
        &meter,
    )
    .await;
    meter.take();
    app.round_trips.take();
    let (email, _) = app.registered_user().await;
    let register = report("register", meter.take(), app.round_trips.take());

    let success = app.login(&email, PASSWORD).await;
    assert_eq!(success.status, 200);
    let success = report("login success", meter.take(), app.round_trips.take());

    app.login(&email, WRONG)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    let failure = report(
        "login failure (known email)",
        meter.take(),
        app.round_trips.take(),
    );
    let stranger = format!("{}@example.com", unique_name("nobody"));
    app.login(&stranger, WRONG)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    let unknown = report(
        "login failure (unknown email)",
        meter.take(),
        app.round_trips.take(),
    );

    app.login(&email, WRONG)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    meter.take();
    app.round_trips.take();
    app.login(&email, PASSWORD)
        .await
        .assert_error(429, "TOO_MANY_ATTEMPTS");
    let throttled = report("login throttled", meter.take(), app.round_trips.take());

    // As DynamoDB Local reports them. It reports a whole transaction as 2 write units whatever
    // it holds, where DynamoDB bills 2 per item, and a key that finds nothing as 0; everything
    // else follows DynamoDB's rules (1 write unit per item up to 1 KB, 1 read unit per strongly
    // consistent read up to 4 KB).
    assert_eq!(
        success.write_units, 3.0,
        "the attempt's reservation; the session transaction (session, credentials check, streak)"
    );
    assert_eq!(
        success.read_units, 3.0,
        "the email's partition and the source's window; the user's one session"
    );
    assert_eq!(
        failure.write_units, 2.0,
        "the streak (the reservation) and the source's window"
    );
    assert_eq!(
        unknown.write_units, failure.write_units,
        "an unknown email writes the same"
    );
    assert_eq!(
        throttled.write_units, 0.0,
        "the refused reservation writes nothing (DynamoDB bills it 1 unit)"
    );
    assert_eq!(throttled.read_units, 2.0, "the credentials, the bucket");
    assert_eq!(
        register.write_units, 5.0,
        "one transaction over two tables (credentials, profile, session; the outbox item: 2 per table as Local reports it), the source's count"
    );

    // Every item is far below 1 KB, so each write is one unit (two in a transaction).
    let sizes = item_sizes(&app).await;
    for (kind, size) in &sizes {
        eprintln!("{kind}: {size} bytes");
        assert!(*size < 1024, "{kind} is {size} bytes");
    }
    for kind in [
        "CREDENTIALS",
        "PROFILE",
        "SESSION",
        "LOGIN_STREAK",
        "WINDOW",
    ] {
        assert!(sizes.contains_key(kind), "{kind} measured: {sizes:?}");
    }
}

/// The largest item of each kind (its sort key's prefix), sized by DynamoDB's rules: the UTF-8
/// bytes of each attribute's name plus its value (a string's UTF-8 bytes, a number's
/// significant digits / 2 + 1).
async fn item_sizes(app: &TestApp) -> std::collections::BTreeMap<String, usize> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut sizes = std::collections::BTreeMap::new();
    for item in app.all_items().await {
        let kind = item["sk"]
            .as_s()
            .unwrap()
            .split('#')
            .next()
            .unwrap()
            .to_owned();
        let size: usize = item
            .iter()
            .map(|(name, value)| {
                name.len()
                    + match value {
                        AttributeValue::S(text) => text.len(),
                        AttributeValue::N(number) => {
                            number.trim_start_matches(['-', '0']).replace('.', "").len() / 2 + 1
                        }
                        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
                        // A list: 3 bytes, then 1 per element plus its own size.
                        AttributeValue::L(values) => {
                            3 + values
                                .iter()
                                .map(|value| 1 + value.as_s().map_or(0, String::len))
                                .sum::<usize>()
                        }
                        AttributeValue::Ss(values) => values.iter().map(String::len).sum(),
                        other => panic!("an attribute type this sizer does not know: {other:?}"),
                    }
            })
            .sum();
        let largest = sizes.entry(kind).or_insert(0);
        *largest = size.max(*largest);
    }
    sizes
}
