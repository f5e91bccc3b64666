//! The SAM template and the workspace agree: one function per binary, built the same way.

use std::collections::BTreeSet;

use serde_yaml::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn template() -> Value {
    let text = std::fs::read_to_string(format!("{ROOT}/template.yaml")).expect("template.yaml");
    serde_yaml::from_str(&text).expect("valid YAML")
}

/// Binary crates under crates/ (those with a src/main.rs); the library `core` has none.
fn workspace_binaries() -> BTreeSet<String> {
    std::fs::read_dir(format!("{ROOT}/crates"))
        .expect("crates/")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("src/main.rs").exists())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect()
}

fn functions(template: &Value) -> Vec<(&str, &Value)> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::Serverless::Function")
        .map(|(name, resource)| (name.as_str().unwrap_or_default(), resource))
        .collect()
}

/// A function property, falling back to the template's Globals.
fn property<'a>(template: &'a Value, function: &'a Value, name: &str) -> &'a Value {
    match &function["Properties"][name] {
        Value::Null => &template["Globals"]["Function"][name],
        value => value,
    }
}

#[test]
fn every_function_in_the_template_is_a_workspace_binary_and_vice_versa() {
    let template = template();
    let declared: BTreeSet<String> = functions(&template)
        .iter()
        .map(|(name, function)| {
            function["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} has no Metadata.BuildProperties.Binary"))
                .to_owned()
        })
        .collect();
    assert_eq!(declared, workspace_binaries());
    assert!(declared.contains("authorizer") && declared.contains("register"));
}

#[test]
fn every_function_is_built_by_cargo_lambda_for_the_custom_runtime() {
    let template = template();
    for (name, function) in functions(&template) {
        assert_eq!(
            function["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{name}"
        );
        assert_eq!(
            property(&template, function, "Runtime"),
            "provided.al2023",
            "{name}"
        );
        assert_eq!(
            property(&template, function, "Handler"),
            "bootstrap",
            "{name}"
        );
    }
    assert_eq!(template["Parameters"]["Architecture"]["Default"], "x86_64");
}

/// SAM expands `Policies` only as a list (an `Fn::If` may choose each entry); an `Fn::If` around
/// the whole property fails the transform at deploy time while cfn-lint still passes it.
#[test]
fn every_function_lists_its_policies() {
    let template = template();
    for (name, function) in functions(&template) {
        // Matched on the raw value: serde_yaml's `is_sequence` looks through a `!If` tag.
        let policies = &function["Properties"]["Policies"];
        assert!(
            matches!(policies, Value::Null | Value::Sequence(_)),
            "{name}: Policies must be a list, got {policies:?}"
        );
    }
}

#[test]
fn no_secret_is_written_in_the_template() {
    let text = std::fs::read_to_string(format!("{ROOT}/template.yaml")).expect("template.yaml");
    for line in text
        .lines()
        .filter(|line| line.contains("JWT_ACCESS_SECRET:") || line.contains("JWT_REFRESH_SECRET:"))
    {
        assert!(
            line.contains("{{resolve:secretsmanager:"),
            "a secret must be a dynamic reference: {line}"
        );
    }
    let template = template();
    let authorizer =
        &template["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"];
    assert!(
        authorizer.get("JWT_REFRESH_SECRET").is_none(),
        "the authorizer never gets the refresh secret"
    );
}
