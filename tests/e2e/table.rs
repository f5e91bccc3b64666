use auth_core::store::schema::{self, table_definition};
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
fn the_sam_template_declares_the_same_table_as_the_local_bootstrap() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml at the workspace root");
    let template: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let resources = template["Resources"].as_mapping().expect("Resources");
    let tables: Vec<&serde_yaml::Value> = resources
        .values()
        .filter(|resource| resource["Type"] == "AWS::DynamoDB::Table")
        .collect();
    assert_eq!(tables.len(), 1, "exactly one table");
    let properties = &tables[0]["Properties"];
    let definition = table_definition();

    let attributes: Vec<(String, String)> = properties["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap_or_default().to_owned(),
                a["AttributeType"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = definition
        .attributes
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    assert_eq!(attributes, expected);

    let keys: Vec<(String, String)> = properties["KeySchema"]
        .as_sequence()
        .expect("KeySchema")
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap_or_default().to_owned(),
                k["KeyType"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = definition
        .key_schema
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    assert_eq!(keys, expected);

    let ttl = &properties["TimeToLiveSpecification"];
    assert_eq!(
        ttl["AttributeName"].as_str(),
        Some(definition.ttl_attribute)
    );
    assert_eq!(ttl["Enabled"].as_bool(), Some(true));
    assert_eq!(properties["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
}
