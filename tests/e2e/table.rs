use auth_service::store::schema::{self, table_definition};
use e2e::TestApp;

#[tokio::test]
async fn the_table_has_ttl_enabled_on_the_expiry_attribute() {
    let app = TestApp::spawn().await;
    let ttl = app
        .client
        .describe_time_to_live()
        .table_name(&app.table)
        .send()
        .await
        .expect("describe TTL")
        .time_to_live_description
        .expect("TTL description");
    assert_eq!(ttl.attribute_name(), Some(schema::EXPIRES_AT));
    assert_eq!(
        ttl.time_to_live_status().map(|status| status.as_str()),
        Some("ENABLED")
    );
}

#[test]
fn the_sam_template_declares_the_same_tables_as_the_local_bootstrap() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml at the workspace root");
    let template: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let resources = template["Resources"].as_mapping().expect("Resources");
    let tables: Vec<&str> = resources
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::DynamoDB::Table")
        .filter_map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        tables,
        ["AuthTable", "OutboxTable"],
        "the main table and the outbox"
    );
    for (name, definition) in [
        ("AuthTable", table_definition()),
        ("OutboxTable", schema::outbox_table_definition()),
    ] {
        let properties = &template["Resources"][name]["Properties"];
        assert_eq!(
            pairs(
                &properties["AttributeDefinitions"],
                "AttributeName",
                "AttributeType"
            ),
            owned(&definition.attributes),
            "{name}"
        );
        assert_eq!(
            pairs(&properties["KeySchema"], "AttributeName", "KeyType"),
            owned(&definition.key_schema),
            "{name}"
        );
        let ttl = &properties["TimeToLiveSpecification"];
        assert_eq!(
            ttl["AttributeName"].as_str(),
            Some(definition.ttl_attribute),
            "{name}"
        );
        assert_eq!(ttl["Enabled"].as_bool(), Some(true), "{name}");
        assert_eq!(
            properties["StreamSpecification"]["StreamViewType"].as_str(),
            definition.stream_view,
            "{name}: only the outbox has a stream"
        );
        assert_eq!(properties["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    }
}

#[tokio::test]
async fn only_the_outbox_table_has_a_stream_locally_too() {
    let app = TestApp::spawn().await;
    let described = |table: String| {
        let client = app.client.clone();
        async move {
            client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .expect("describe the table")
                .table
                .expect("a table")
        }
    };
    let main = described(app.table.clone()).await;
    assert!(
        main.latest_stream_arn().is_none(),
        "the main table has no stream"
    );
    let outbox = described(schema::local_outbox_table(&app.table)).await;
    assert!(outbox.latest_stream_arn().is_some(), "the outbox has one");
}

/// `[{name_key: a, value_key: b}, ...]` as `[(a, b), ...]`.
fn pairs(sequence: &serde_yaml::Value, name_key: &str, value_key: &str) -> Vec<(String, String)> {
    let text =
        |entry: &serde_yaml::Value, key: &str| entry[key].as_str().unwrap_or_default().to_owned();
    sequence
        .as_sequence()
        .unwrap_or_else(|| panic!("a list of {name_key}/{value_key}"))
        .iter()
        .map(|entry| (text(entry, name_key), text(entry, value_key)))
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// The preflight DynamoDB Local answers a page from `origin` (every DynamoDB request carries
/// `X-Amz-Target`, so a browser always asks first), as raw HTTP so no client adds headers.
async fn preflight(origin: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect("DYNAMODB_ENDPOINT");
    let authority = endpoint
        .strip_prefix("http://")
        .expect("a plain-http local endpoint");
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .expect("DynamoDB Local accepts connections");
    let request = format!(
        "OPTIONS / HTTP/1.1\r\nHost: {authority}\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type,x-amz-target\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the preflight");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .expect("read the answer");
    answer.to_ascii_lowercase()
}

#[tokio::test]
async fn dynamodb_local_refuses_pages_from_other_origins() {
    let foreign = preflight("https://attacker.example").await;
    assert!(foreign.starts_with("http/1.1 "), "{foreign}");
    assert!(
        !foreign.contains("access-control-allow-origin"),
        "a foreign page may not call the local tables: {foreign}"
    );
    // The control: the allow-list is what keeps it out, not a server that never answers CORS.
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect("DYNAMODB_ENDPOINT");
    let own = preflight(&endpoint).await;
    assert!(
        own.contains(&format!("access-control-allow-origin: {endpoint}")),
        "{own}"
    );
}
