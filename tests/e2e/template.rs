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

/// The environment variables a function gets (its own and the Globals').
fn variables<'a>(template: &'a Value, function: &'a Value) -> BTreeSet<&'a str> {
    [
        &function["Properties"]["Environment"]["Variables"],
        &template["Globals"]["Function"]["Environment"]["Variables"],
    ]
    .into_iter()
    .filter_map(Value::as_mapping)
    .flat_map(|variables| variables.keys().filter_map(Value::as_str))
    .collect()
}

#[test]
fn every_function_gets_only_the_key_material_it_uses() {
    const KEYS: [&str; 7] = [
        "JWT_ACCESS_SECRET",
        "JWT_ACCESS_SECRET_PREVIOUS",
        "JWT_REFRESH_SECRET",
        "JWT_REFRESH_SECRET_PREVIOUS",
        "JWT_PRIVATE_KEY",
        "JWT_PUBLIC_KEY",
        "JWT_PUBLIC_KEY_PREVIOUS",
    ];
    let expected: [(&str, &[&str]); 7] = [
        (
            "RegisterFunction",
            &["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET"],
        ),
        (
            "LoginFunction",
            &["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET"],
        ),
        (
            "RefreshFunction",
            &["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET"],
        ),
        ("LogoutFunction", &["JWT_ACCESS_SECRET"]),
        ("AuthorizerFunction", &["JWT_ACCESS_SECRET"]),
        ("MeFunction", &[]),
        ("JwksFunction", &[]),
    ];
    let template = template();
    assert_eq!(
        functions(&template).len(),
        expected.len(),
        "a function without a rule here"
    );
    for (name, keys) in expected {
        let function = &template["Resources"][name];
        let held: BTreeSet<&str> = variables(&template, function)
            .into_iter()
            .filter(|variable| KEYS.contains(variable))
            .collect();
        assert_eq!(held, keys.iter().copied().collect(), "{name}");
    }
}

/// The HTTP API's route keys, from each function's HttpApi events.
fn route_keys(template: &Value) -> BTreeSet<String> {
    functions(template)
        .iter()
        .filter_map(|(_, function)| function["Properties"]["Events"].as_mapping())
        .flat_map(|events| events.values())
        .filter(|event| event["Type"] == "HttpApi")
        .map(|event| {
            let properties = &event["Properties"];
            format!(
                "{} {}",
                properties["Method"]
                    .as_str()
                    .unwrap_or("ANY")
                    .to_uppercase(),
                properties["Path"].as_str().expect("Path")
            )
        })
        .collect()
}

fn authorizer_env(template: &Value) -> std::collections::BTreeMap<String, String> {
    let variables =
        &template["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"];
    let route_roles = template["Parameters"]["RouteRoles"]["Default"]
        .as_str()
        .expect("RouteRoles default");
    let literal = |name: &str| variables[name].as_str().map(str::to_owned);
    std::collections::BTreeMap::from([
        ("JWT_ACCESS_SECRET".to_owned(), "x".repeat(40)),
        ("ROUTE_ROLES".to_owned(), route_roles.to_owned()),
        (
            "AUTHORIZER_RESPONSE".to_owned(),
            literal("AUTHORIZER_RESPONSE").expect("literal"),
        ),
        (
            "AUTHORIZER_TOKEN_SOURCE".to_owned(),
            literal("AUTHORIZER_TOKEN_SOURCE").expect("literal"),
        ),
    ])
}

#[test]
fn every_default_role_rule_names_a_route_of_the_api() {
    let template = template();
    let settings = auth_core::config::AuthorizerSettings::from_env(&authorizer_env(&template))
        .expect("the template's authorizer settings are valid");
    let routes = route_keys(&template);
    assert!(routes.contains("GET /admin/users/{id}"), "{routes:?}");
    assert!(!settings.options.rules.is_empty());
    for rule in settings.options.rules.iter() {
        assert!(
            routes.contains(&rule.route.text()),
            "ROUTE_ROLES names {}, which is not a route of the API ({routes:?})",
            rule.route.text()
        );
    }
}

#[test]
fn the_authorizers_identity_sources_are_what_it_reads_its_credential_from() {
    let template = template();
    let settings = auth_core::config::AuthorizerSettings::from_env(&authorizer_env(&template))
        .expect("settings");
    let identity = &template["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"]["JwtAuthorizer"]
        ["Identity"];
    // SAM lists headers first, then query strings, context and stage variables.
    let mut configured: Vec<String> = Vec::new();
    for (kind, prefix) in [
        ("Headers", "$request.header."),
        ("QueryStrings", "$request.querystring."),
        ("Context", "$context."),
        ("StageVariables", "$stageVariables."),
    ] {
        for name in identity[kind].as_sequence().into_iter().flatten() {
            configured.push(format!("{prefix}{}", name.as_str().expect("name")));
        }
    }
    let expected: Vec<String> = settings
        .options
        .token_source
        .identity_sources(settings.options.response)
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(configured, expected);
}

#[test]
fn a_cached_authorizer_answer_never_outlives_the_access_token() {
    let template = template();
    let parameters = &template["Parameters"];
    let number = |name: &str, key: &str| {
        parameters[name][key]
            .as_i64()
            .unwrap_or_else(|| panic!("{name}.{key}"))
    };
    assert!(
        number("AuthorizerCacheTtl", "MaxValue") <= number("AccessTokenTtlSeconds", "MinValue"),
        "ReauthorizeEvery may exceed the access-token lifetime"
    );
    assert!(number("AuthorizerCacheTtl", "Default") <= number("AccessTokenTtlSeconds", "Default"));
    let reauthorize = &template["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"]["JwtAuthorizer"]
        ["Identity"]["ReauthorizeEvery"];
    // `!Ref AuthorizerCacheTtl`, a YAML tag.
    let reference = format!("{reauthorize:?}");
    assert!(
        reference.contains("Ref") && reference.contains("AuthorizerCacheTtl"),
        "{reference}"
    );
}
