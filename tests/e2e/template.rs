//! The SAM template and the workspace agree: one function per binary, built the same way.

use std::collections::{BTreeMap, BTreeSet};

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

/// `value` under one choice of `JwtAlgorithm` (other conditions at their defaults):
/// `!If [IsHs256, a, b]` picked, `!Ref AWS::NoValue` gone. A trusted proxy is assumed
/// (`TrustsProxy`): the case that gives functions one more secret to read.
fn under(value: &Value, hs256: bool) -> Option<Value> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "If" => {
            let branches = tagged.value.as_sequence().expect("!If [condition, a, b]");
            let holds = match branches[0].as_str() {
                Some("IsHs256") => hs256,
                Some("CheckRevocation" | "StrictAuthorizer" | "BuiltInAuthorizer") => false,
                Some("LambdaAuthorizer") => true,
                Some("HasRefreshCookiePath") => false,
                Some("TrustsProxy") => true,
                // Providers configured: the case that gives the federation function its secret.
                Some("HasOAuthClientSecrets" | "HasOAuthCallbackBaseUrl") => true,
                other => panic!("a condition this test does not know: {other:?}"),
            };
            under(&branches[if holds { 1 } else { 2 }], hs256)
        }
        Value::Tagged(tagged) if tagged.tag == "Ref" && tagged.value == "AWS::NoValue" => None,
        Value::Sequence(items) => Some(Value::Sequence(
            items.iter().filter_map(|item| under(item, hs256)).collect(),
        )),
        other => Some(other.clone()),
    }
}

/// The environment variables a function gets (its own and the Globals'), with their values.
fn environment(template: &Value, function: &Value, hs256: bool) -> BTreeMap<String, Value> {
    [
        &template["Globals"]["Function"]["Environment"]["Variables"],
        &function["Properties"]["Environment"]["Variables"],
    ]
    .into_iter()
    .filter_map(Value::as_mapping)
    .flat_map(|variables| variables.iter())
    .filter_map(|(name, value)| Some((name.as_str()?.to_owned(), under(value, hs256)?)))
    .collect()
}

/// What `!Ref X` names, for a value that is one.
fn reference(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str().map(str::to_owned),
        _ => None,
    }
}

/// The secrets a function may read (`secretsmanager:GetSecretValue` resources, as `!Ref` names).
fn readable_secrets(function: &Value, hs256: bool) -> BTreeSet<String> {
    let Some(Value::Sequence(policies)) = under(&function["Properties"]["Policies"], hs256) else {
        return BTreeSet::new();
    };
    let mut readable = BTreeSet::new();
    for statement in policies
        .iter()
        .filter_map(|policy| policy["Statement"].as_sequence())
        .flatten()
    {
        let actions = format!("{:?}", statement["Action"]);
        if !actions.contains("secretsmanager") {
            continue;
        }
        assert!(
            actions.contains("secretsmanager:GetSecretValue") && !actions.contains('*'),
            "{actions}"
        );
        match &statement["Resource"] {
            Value::Sequence(resources) => readable.extend(resources.iter().filter_map(reference)),
            resource => readable.extend(reference(resource)),
        }
    }
    readable
}

#[test]
fn no_function_configuration_holds_a_secret_value() {
    let text = std::fs::read_to_string(format!("{ROOT}/template.yaml")).expect("template.yaml");
    assert!(
        !text.contains("{{resolve:"),
        "a dynamic reference writes the value into the function's configuration"
    );
    let template = template();
    for hs256 in [false, true] {
        for (name, function) in functions(&template) {
            for (variable, _) in auth_core::config::SECRET_VARIABLES {
                assert!(
                    !environment(&template, function, hs256).contains_key(variable),
                    "{name} gets {variable} as a value; give {variable}_ARN instead"
                );
            }
        }
    }
}

#[test]
fn every_function_gets_only_the_key_material_it_uses_and_may_read_only_those_secrets() {
    const KEYS: [&str; 8] = [
        "JWT_ACCESS_SECRET_ARN",
        "JWT_ACCESS_SECRET_PREVIOUS_ARN",
        "JWT_PRIVATE_KEY_ARN",
        "JWT_REFRESH_SECRET_ARN",
        "JWT_REFRESH_SECRET_PREVIOUS_ARN",
        "JWT_PUBLIC_KEY",
        "MFA_ENCRYPTION_KEY_ARN",
        "MFA_ENCRYPTION_KEY_PREVIOUS_ARN",
    ];
    let signer: &[&str] = &["JWT_PRIVATE_KEY_ARN", "JWT_REFRESH_SECRET_ARN"];
    let hs256_signer: &[&str] = &["JWT_ACCESS_SECRET_ARN", "JWT_REFRESH_SECRET_ARN"];
    let expected: [(&str, &[&str], &[&str]); 16] = [
        // The second login step starts sessions; only it holds the MFA key.
        (
            "MfaFunction",
            &[
                "JWT_PRIVATE_KEY_ARN",
                "JWT_REFRESH_SECRET_ARN",
                "MFA_ENCRYPTION_KEY_ARN",
            ],
            &[
                "JWT_ACCESS_SECRET_ARN",
                "JWT_REFRESH_SECRET_ARN",
                "MFA_ENCRYPTION_KEY_ARN",
            ],
        ),
        ("RegisterFunction", signer, hs256_signer),
        ("LoginFunction", signer, hs256_signer),
        // Federated sign-in starts sessions (and alone reads the providers' client secrets).
        ("FederationFunction", signer, hs256_signer),
        ("RefreshFunction", signer, hs256_signer),
        (
            "LogoutFunction",
            &["JWT_PUBLIC_KEY"],
            &["JWT_ACCESS_SECRET_ARN"],
        ),
        (
            "AuthorizerFunction",
            &["JWT_PUBLIC_KEY"],
            &["JWT_ACCESS_SECRET_ARN"],
        ),
        (
            "StrictAuthorizerFunction",
            &["JWT_PUBLIC_KEY"],
            &["JWT_ACCESS_SECRET_ARN"],
        ),
        ("MeFunction", &[], &[]),
        ("JwksFunction", &["JWT_PUBLIC_KEY"], &[]),
        // The account lifecycle holds no key: the caller comes from the authorizer's context.
        ("PasswordFunction", &[], &[]),
        ("PasswordRecoveryFunction", &[], &[]),
        ("EmailFunction", &[], &[]),
        ("SessionsFunction", &[], &[]),
        ("AccountFunction", &[], &[]),
        ("MailerFunction", &[], &[]),
    ];
    let template = template();
    assert_eq!(
        functions(&template).len(),
        expected.len(),
        "a function without a rule here"
    );
    for (name, asymmetric, hs256_keys) in expected {
        let function = &template["Resources"][name];
        for (hs256, keys) in [(false, asymmetric), (true, hs256_keys)] {
            let environment = environment(&template, function, hs256);
            let held: BTreeSet<&str> = environment
                .keys()
                .map(String::as_str)
                .filter(|variable| KEYS.contains(variable))
                .collect();
            assert_eq!(
                held,
                keys.iter().copied().collect(),
                "{name}, HS256 {hs256}"
            );
            let referenced: BTreeSet<String> = environment
                .iter()
                .filter(|(variable, _)| variable.ends_with("_ARN"))
                .filter_map(|(_, value)| reference(value))
                .collect();
            assert_eq!(
                readable_secrets(function, hs256),
                referenced,
                "{name} may read exactly the secrets it is given (HS256 {hs256})"
            );
        }
    }
    for name in ["AuthorizerFunction", "StrictAuthorizerFunction"] {
        let layers = &template["Resources"][name]["Properties"]["Layers"];
        assert!(
            under(layers, false).is_none(),
            "{name}: no extension without a shared key"
        );
        assert!(
            under(layers, true).is_some(),
            "{name}, HS256: the secrets extension layer"
        );
    }
}

/// Strict mode cannot be deployed with an authorizer that cannot honour it: each authorizer
/// exists under exactly one value of the parameter, the API invokes the one that exists, the
/// lean one may not touch the table and runs the binary without the SDK.
#[test]
fn strict_mode_deploys_the_strict_authorizer_and_only_it() {
    let template = template();
    let resources = &template["Resources"];
    for (name, condition, binary, strict) in [
        (
            "AuthorizerFunction",
            "LeanAuthorizer",
            "authorizer",
            "false",
        ),
        (
            "StrictAuthorizerFunction",
            "StrictAuthorizer",
            "authorizer-strict",
            "true",
        ),
    ] {
        let function = &resources[name];
        assert_eq!(function["Condition"].as_str(), Some(condition), "{name}");
        assert_eq!(
            function["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some(binary),
            "{name}"
        );
        let env = environment(&template, function, false);
        assert_eq!(
            env.get("AUTHORIZER_CHECK_REVOCATION")
                .and_then(Value::as_str),
            Some(strict),
            "{name}"
        );
        assert_eq!(env.contains_key("TABLE_NAME"), strict == "true", "{name}");
        assert_eq!(
            dynamodb_actions(function).is_empty(),
            strict == "false",
            "{name}: table access only in strict mode"
        );
    }
    assert_eq!(
        format!("{:?}", template["Conditions"]["LeanAuthorizer"]),
        format!(
            "{:?}",
            serde_yaml::from_str::<Value>(
                "!And [!Condition LambdaAuthorizer, !Not [!Condition CheckRevocation]]"
            )
            .expect("yaml")
        )
    );
    assert_eq!(
        format!("{:?}", template["Conditions"]["StrictAuthorizer"]),
        format!(
            "{:?}",
            serde_yaml::from_str::<Value>(
                "!And [!Condition LambdaAuthorizer, !Condition CheckRevocation]"
            )
            .expect("yaml")
        )
    );
    let uri = &lambda_authorizer(&template)["x-amazon-apigateway-authorizer"]["authorizerUri"];
    let Value::Tagged(sub) = uri else {
        panic!("authorizerUri is a !Sub: {uri:?}");
    };
    let arn = &sub.value.as_sequence().expect("!Sub [text, variables]")[1]["Arn"];
    let Value::Tagged(choice) = arn else {
        panic!("the authorizer's Arn is an !If: {arn:?}");
    };
    assert_eq!(choice.tag, "If");
    let branches = choice.value.as_sequence().expect("!If [condition, a, b]");
    assert_eq!(branches[0].as_str(), Some("StrictAuthorizer"));
    let target = |branch: &Value| match branch {
        Value::Tagged(getatt) if getatt.tag == "GetAtt" => getatt.value.as_str().map(str::to_owned),
        _ => None,
    };
    assert_eq!(
        target(&branches[1]).as_deref(),
        Some("StrictAuthorizerFunction.Arn")
    );
    assert_eq!(
        target(&branches[2]).as_deref(),
        Some("AuthorizerFunction.Arn")
    );
}

/// A security scheme of the API's definition, in the branch its `!If` takes when `holds`.
fn security_scheme(template: &Value, name: &str, holds: bool) -> Value {
    let scheme = &template["Resources"]["Api"]["Properties"]["DefinitionBody"]["components"]["securitySchemes"]
        [name];
    let Value::Tagged(choice) = scheme else {
        panic!("{name} is an !If on the authorizer kind: {scheme:?}");
    };
    assert_eq!(choice.tag, "If", "{name}");
    choice.value.as_sequence().expect("!If [condition, a, b]")[if holds { 1 } else { 2 }].clone()
}

/// Our authorizer, as the definition declares it (under AuthorizerKind=lambda).
fn lambda_authorizer(template: &Value) -> Value {
    security_scheme(template, "JwtAuthorizer", true)
}

/// One operation of the API's definition: the route key, its function, and who guards it in
/// each mode (our authorizer's name; the built-in authorizer's name and scopes).
#[derive(Debug)]
struct Operation {
    route_key: String,
    function: String,
    lambda: Vec<(String, Vec<String>)>,
    built_in: Vec<(String, Vec<String>)>,
}

fn definition_operations(template: &Value) -> Vec<Operation> {
    let paths = template["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"]
        .as_mapping()
        .expect("DefinitionBody paths");
    let requirement = |value: &Value| -> Vec<(String, Vec<String>)> {
        value
            .as_sequence()
            .expect("security requirements")
            .iter()
            .flat_map(|requirement| requirement.as_mapping().expect("requirement").iter())
            .map(|(name, scopes)| {
                (
                    name.as_str().expect("name").to_owned(),
                    scopes
                        .as_sequence()
                        .expect("scopes")
                        .iter()
                        .map(|scope| scope.as_str().expect("scope").to_owned())
                        .collect(),
                )
            })
            .collect()
    };
    let mut operations = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_mapping().expect("path item") {
            let uri = &operation["x-amazon-apigateway-integration"]["uri"];
            let Value::Tagged(getatt) = uri else {
                panic!("{path:?}: the integration's uri is !GetAtt <Function>.Arn");
            };
            let Value::Tagged(choice) = &operation["security"] else {
                panic!("{path:?}: security is an !If on the authorizer kind");
            };
            let branches = choice.value.as_sequence().expect("!If");
            assert_eq!(branches[0].as_str(), Some("BuiltInAuthorizer"));
            operations.push(Operation {
                route_key: format!(
                    "{} {}",
                    method.as_str().expect("method").to_uppercase(),
                    path.as_str().expect("path")
                ),
                function: getatt
                    .value
                    .as_str()
                    .and_then(|text| text.strip_suffix(".Arn"))
                    .expect("Function.Arn")
                    .to_owned(),
                built_in: requirement(&branches[1]),
                lambda: requirement(&branches[2]),
            });
        }
    }
    operations
}

/// The route keys of the functions' HttpApi events.
fn event_route_keys(template: &Value) -> BTreeSet<String> {
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

/// The HTTP API's route keys, from each function's HttpApi events and the API's definition.
fn route_keys(template: &Value) -> BTreeSet<String> {
    let mut keys = event_route_keys(template);
    keys.extend(
        definition_operations(template)
            .into_iter()
            .map(|operation| operation.route_key),
    );
    keys
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
    let configured: Vec<String> =
        lambda_authorizer(&template)["x-amazon-apigateway-authorizer"]["identitySource"]
            .as_str()
            .expect("identitySource")
            .split(',')
            .map(|source| source.trim().to_owned())
            .collect();
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
    let reauthorize = &lambda_authorizer(&template)["x-amazon-apigateway-authorizer"]["authorizerResultTtlInSeconds"];
    // `!Ref AuthorizerCacheTtl`, a YAML tag.
    let reference = format!("{reauthorize:?}");
    assert!(
        reference.contains("Ref") && reference.contains("AuthorizerCacheTtl"),
        "{reference}"
    );
}

#[test]
fn the_password_and_cookie_routes_are_throttled_and_login_and_register_have_reserved_concurrency() {
    let template = template();
    let api = &template["Resources"]["Api"]["Properties"];
    for route in [
        "POST /auth/register",
        "POST /auth/login",
        "POST /auth/refresh",
        "POST /auth/logout",
        "GET /auth/oauth/{provider}/start",
        "GET /auth/oauth/{provider}/callback",
    ] {
        assert!(route_keys(&template).contains(route), "{route} is a route");
        let settings = &api["RouteSettings"][route];
        for (limit, parameter) in [
            ("ThrottlingRateLimit", "AuthRouteRateLimit"),
            ("ThrottlingBurstLimit", "AuthRouteBurstLimit"),
        ] {
            assert_eq!(
                reference(&settings[limit]).as_deref(),
                Some(parameter),
                "{route} {limit}"
            );
        }
    }
    let default = |name: &str| template["Parameters"][name]["Default"].as_u64();
    assert!(default("AuthRouteRateLimit").is_some_and(|rate| rate > 0));
    assert!(default("AuthRouteBurstLimit") >= default("AuthRouteRateLimit"));

    for (function, parameter, condition) in [
        ("LoginFunction", "LoginReservedConcurrency", "ReservesLogin"),
        (
            "RegisterFunction",
            "RegisterReservedConcurrency",
            "ReservesRegister",
        ),
    ] {
        assert!(
            default(parameter).is_some_and(|reserved| reserved > 0),
            "{parameter}"
        );
        let reserved =
            &template["Resources"][function]["Properties"]["ReservedConcurrentExecutions"];
        let Value::Tagged(choice) = reserved else {
            panic!("{function}: ReservedConcurrentExecutions is an !If: {reserved:?}");
        };
        assert_eq!(choice.value[0].as_str(), Some(condition));
        assert_eq!(reference(&choice.value[1]).as_deref(), Some(parameter));
        assert!(
            matches!(template["Conditions"][condition], Value::Tagged(_)),
            "{condition} is declared"
        );
    }
    // The authorizer is never capped: the reservations above keep the floods away from it.
    for name in ["AuthorizerFunction", "StrictAuthorizerFunction"] {
        assert!(
            template["Resources"][name]["Properties"]["ReservedConcurrentExecutions"].is_null(),
            "{name}"
        );
    }
}

/// The DynamoDB actions a function's policies allow.
fn dynamodb_actions(function: &Value) -> BTreeSet<String> {
    let Some(Value::Sequence(policies)) = under(&function["Properties"]["Policies"], false) else {
        return BTreeSet::new();
    };
    policies
        .iter()
        .filter_map(|policy| policy["Statement"].as_sequence())
        .flatten()
        .flat_map(|statement| match &statement["Action"] {
            Value::Sequence(actions) => actions.clone(),
            single => vec![single.clone()],
        })
        .filter_map(|action| action.as_str().map(str::to_owned))
        .filter(|action| action.starts_with("dynamodb:"))
        .collect()
}

#[test]
fn the_audited_functions_get_the_metrics_client_and_per_ip_settings() {
    let template = template();
    let resources = &template["Resources"];
    for name in [
        "RegisterFunction",
        "LoginFunction",
        "RefreshFunction",
        "LogoutFunction",
        "PasswordFunction",
        "PasswordRecoveryFunction",
        "EmailFunction",
        "SessionsFunction",
        "AccountFunction",
        "FederationFunction",
    ] {
        let env = environment(&template, &resources[name], false);
        for (variable, parameter) in [
            ("METRICS_NAMESPACE", "MetricsNamespace"),
            ("SERVICE_NAME", "AWS::StackName"),
            ("TRUSTED_PROXY_HOPS", "TrustedProxyHops"),
            // Believed only on requests that carry the proxy's secret header.
            ("PROXY_ORIGIN_SECRET_ARN", "ProxyOriginSecretArn"),
        ] {
            assert_eq!(
                env.get(variable).and_then(reference).as_deref(),
                Some(parameter),
                "{name} {variable}"
            );
        }
    }
    for (name, read) in [
        ("RegisterFunction", "dynamodb:Query"),
        ("LoginFunction", "dynamodb:BatchGetItem"),
        ("PasswordFunction", "dynamodb:BatchGetItem"),
        ("PasswordRecoveryFunction", "dynamodb:Query"),
        ("EmailFunction", "dynamodb:Query"),
        ("AccountFunction", "dynamodb:BatchGetItem"),
    ] {
        let env = environment(&template, &resources[name], false);
        assert_eq!(
            env.get("IP_MAX_FAILURES").and_then(reference).as_deref(),
            Some("IpMaxFailures")
        );
        assert_eq!(
            env.get("IP_WINDOW").and_then(reference).as_deref(),
            Some("IpWindow")
        );
        let actions = dynamodb_actions(&resources[name]);
        for needed in [read, "dynamodb:UpdateItem"] {
            assert!(actions.contains(needed), "{name} may {needed}: {actions:?}");
        }
    }
    // Functions that neither limit nor audit get none of it.
    for name in [
        "AuthorizerFunction",
        "StrictAuthorizerFunction",
        "MeFunction",
        "JwksFunction",
    ] {
        let env = environment(&template, &resources[name], false);
        assert!(
            !env.contains_key("IP_MAX_FAILURES") && !env.contains_key("METRICS_NAMESPACE"),
            "{name}: {env:?}"
        );
    }
    // The mailer audits (suppressed, refused, parked mail) but serves no client.
    let mailer = environment(&template, &resources["MailerFunction"], false);
    assert_eq!(
        mailer
            .get("METRICS_NAMESPACE")
            .and_then(reference)
            .as_deref(),
        Some("MetricsNamespace")
    );
    assert!(!mailer.contains_key("IP_MAX_FAILURES") && !mailer.contains_key("TRUSTED_PROXY_HOPS"));
}

#[test]
fn the_optional_alarms_watch_metrics_the_audit_events_publish() {
    let template = template();
    let published: BTreeSet<&str> = auth_service::audit::AuditEvent::ALL
        .iter()
        .map(|event| event.metric())
        .collect();
    let alarms: Vec<&Value> = template["Resources"]
        .as_mapping()
        .expect("Resources")
        .values()
        .filter(|resource| resource["Type"] == "AWS::CloudWatch::Alarm")
        .collect();
    let mut watched = BTreeSet::new();
    for alarm in &alarms {
        assert_eq!(alarm["Condition"], "HasAlarmTopic", "only with a topic");
        let properties = &alarm["Properties"];
        assert_eq!(
            properties["AlarmActions"]
                .as_sequence()
                .map(|actions| actions.iter().filter_map(reference).collect::<Vec<_>>()),
            Some(vec!["AlarmTopicArn".to_owned()])
        );
        assert_eq!(properties["TreatMissingData"], "notBreaching");
        let metrics: Vec<&Value> = match properties["Metrics"].as_sequence() {
            Some(queries) => queries
                .iter()
                .filter_map(|query| query.get("MetricStat"))
                .map(|stat| &stat["Metric"])
                .collect(),
            None => vec![properties],
        };
        for metric in metrics {
            let name = metric["MetricName"].as_str().expect("MetricName");
            // The mailer's dead-letter queue is watched through SQS's own metric.
            if metric["Namespace"] == "AWS/SQS" {
                assert_eq!(name, "ApproximateNumberOfMessagesVisible");
                let Value::Tagged(queue) = &metric["Dimensions"][0]["Value"] else {
                    panic!("the queue's name is a !GetAtt");
                };
                assert_eq!(queue.value, "MailerDeadLetterQueue.QueueName");
                continue;
            }
            assert!(published.contains(name), "{name} is published");
            assert_eq!(
                reference(&metric["Namespace"]).as_deref(),
                Some("MetricsNamespace")
            );
            let dimension = &metric["Dimensions"][0];
            assert_eq!(dimension["Name"], "Service");
            assert_eq!(
                reference(&dimension["Value"]).as_deref(),
                Some("AWS::StackName")
            );
            watched.insert(name.to_owned());
        }
    }
    for expected in ["RefreshReuseDetected", "LoginThrottled", "IpLimited"] {
        assert!(watched.contains(expected), "{expected} has an alarm");
    }
    assert_eq!(
        template["Parameters"]["AlarmTopicArn"]["Default"], "",
        "no alarms unless asked"
    );
}

/// Every (action, resource) a function's policies grant for one service prefix, resources as
/// their `!GetAtt`/`!Ref`/`!Sub` text.
fn grants(function: &Value, prefix: &str) -> BTreeSet<(String, String)> {
    let Some(Value::Sequence(policies)) = under(&function["Properties"]["Policies"], false) else {
        return BTreeSet::new();
    };
    let text = |value: &Value| match value {
        Value::Tagged(tagged) => tagged.value.as_str().unwrap_or_default().to_owned(),
        other => other.as_str().unwrap_or_default().to_owned(),
    };
    let mut granted = BTreeSet::new();
    for statement in policies
        .iter()
        .filter_map(|policy| policy["Statement"].as_sequence())
        .flatten()
    {
        let actions: Vec<Value> = match &statement["Action"] {
            Value::Sequence(actions) => actions.clone(),
            single => vec![single.clone()],
        };
        let resources: Vec<String> = match &statement["Resource"] {
            Value::Sequence(resources) => resources.iter().map(text).collect(),
            single => vec![text(single)],
        };
        for action in actions.iter().filter_map(Value::as_str) {
            if action.starts_with(prefix) {
                for resource in &resources {
                    granted.insert((action.to_owned(), resource.clone()));
                }
            }
        }
    }
    granted
}

fn pairs(entries: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    entries
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn the_mailer_reads_its_own_stream_parks_before_the_mapping_gives_up_and_sends_as_one_identity() {
    let template = template();
    let resources = &template["Resources"];
    assert!(
        resources["AuthTable"]["Properties"]["StreamSpecification"].is_null(),
        "the main table has no stream"
    );
    assert_eq!(
        resources["OutboxTable"]["Properties"]["StreamSpecification"]["StreamViewType"].as_str(),
        auth_service::store::schema::outbox_table_definition().stream_view
    );
    let mailer = &resources["MailerFunction"];
    assert!(
        mailer["Properties"]["Events"].is_null(),
        "no SAM DynamoDB event: it would attach a policy reading every stream"
    );
    let mapping = &resources["MailerOutboxMapping"];
    assert_eq!(mapping["Type"], "AWS::Lambda::EventSourceMapping");
    let properties = &mapping["Properties"];
    assert_eq!(
        reference(&properties["FunctionName"]).as_deref(),
        Some("MailerFunction")
    );
    let Value::Tagged(source) = &properties["EventSourceArn"] else {
        panic!("the stream is a !GetAtt");
    };
    assert_eq!(source.value, "OutboxTable.StreamArn");
    assert_eq!(
        properties["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    let env = environment(&template, mailer, false);
    let parks_after: u64 = env["MAIL_MAX_ATTEMPTS"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .expect("MAIL_MAX_ATTEMPTS is a number");
    assert!(parks_after >= 1);
    assert_eq!(
        properties["MaximumRetryAttempts"].as_i64(),
        Some(-1),
        "retried until the mailer parks it (after {parks_after} failures), never given up first"
    );
    assert!(matches!(
        properties["DestinationConfig"]["OnFailure"]["Destination"],
        Value::Tagged(_)
    ));
    let pattern: serde_json::Value = serde_json::from_str(
        properties["FilterCriteria"]["Filters"][0]["Pattern"]
            .as_str()
            .expect("a pattern"),
    )
    .expect("the pattern is JSON");
    assert_eq!(pattern["eventName"], serde_json::json!(["INSERT"]));
    assert_eq!(
        pattern["dynamodb"]["Keys"]["pk"]["S"][0]["prefix"],
        auth_service::store::schema::OUTBOX_PK_PREFIX
    );
    // Its own stream, the main table's items it needs, nothing of the outbox table's items.
    assert_eq!(
        grants(mailer, "dynamodb:"),
        pairs(&[
            ("dynamodb:GetItem", "AuthTable.Arn"),
            ("dynamodb:PutItem", "AuthTable.Arn"),
            ("dynamodb:UpdateItem", "AuthTable.Arn"),
            ("dynamodb:DescribeStream", "OutboxTable.StreamArn"),
            ("dynamodb:GetRecords", "OutboxTable.StreamArn"),
            ("dynamodb:GetShardIterator", "OutboxTable.StreamArn"),
            ("dynamodb:ListStreams", "${OutboxTable.Arn}/stream/*"),
        ])
    );
    let ses = grants(mailer, "ses:");
    assert!(
        ses.iter()
            .any(|(action, resource)| action == "ses:SendEmail"
                && resource.ends_with("identity/${SesIdentity}"))
    );
    assert!(
        ses.iter()
            .any(|(action, resource)| action == "ses:SendEmail"
                && resource.ends_with("configuration-set/${MailConfigurationSet}"))
    );
    assert!(ses.contains(&("ses:GetSuppressedDestination".to_owned(), "*".to_owned())));
    assert_eq!(
        reference(&env["MAIL_CONFIGURATION_SET"]).as_deref(),
        Some("MailConfigurationSet")
    );
    let suppression =
        &resources["MailConfigurationSet"]["Properties"]["SuppressionOptions"]["SuppressedReasons"];
    assert_eq!(
        suppression,
        &serde_yaml::from_str::<Value>("[BOUNCE, COMPLAINT]").expect("yaml")
    );
    for variable in [
        "APP_URL",
        "MAIL_FROM",
        "RESET_TOKEN_TTL",
        "VERIFY_TOKEN_TTL",
        "MAIL_RECIPIENT_HOURLY",
        "MAIL_RECIPIENT_DAILY",
        "MAIL_RESET_HOURLY",
        "MAIL_RESET_DAILY",
        "MAIL_ACCOUNT_HOURLY",
        "MAIL_ACCOUNT_DAILY",
    ] {
        assert!(env.contains_key(variable), "mailer {variable}");
    }
    assert!(!env.contains_key("MAIL_TRANSPORT"), "SES by default in AWS");
    assert!(
        !env.contains_key("OUTBOX_TABLE_NAME"),
        "the mailer writes no mail requests"
    );
}

#[test]
fn only_the_functions_that_ask_for_mail_may_write_the_outbox_and_none_reads_it() {
    let template = template();
    let mut writers = BTreeSet::new();
    for (name, function) in functions(&template) {
        for (action, resource) in grants(function, "dynamodb:") {
            if resource == "OutboxTable.Arn" {
                assert_eq!(
                    action, "dynamodb:PutItem",
                    "{name} may only add mail requests"
                );
                writers.insert(name.to_owned());
            }
        }
    }
    assert_eq!(
        writers,
        [
            "EmailFunction",
            "PasswordRecoveryFunction",
            "RegisterFunction"
        ]
        .map(str::to_owned)
        .into()
    );
}

#[test]
fn the_unauthenticated_recovery_routes_run_under_a_role_of_their_own() {
    let template = template();
    let resources = &template["Resources"];
    let recovery = &resources["PasswordRecoveryFunction"];
    let change = &resources["PasswordFunction"];
    assert_eq!(
        recovery["Metadata"]["BuildProperties"]["Binary"],
        change["Metadata"]["BuildProperties"]["Binary"],
        "one binary, two roles"
    );
    let routes = |function: &Value| -> BTreeSet<(String, bool)> {
        function["Properties"]["Events"]
            .as_mapping()
            .expect("events")
            .values()
            .map(|event| {
                let properties = &event["Properties"];
                (
                    properties["Path"].as_str().unwrap_or_default().to_owned(),
                    !properties["Auth"]["Authorizer"].is_null(),
                )
            })
            .collect()
    };
    assert_eq!(
        routes(recovery),
        [
            ("/auth/password/forgot".to_owned(), false),
            ("/auth/password/reset".to_owned(), false)
        ]
        .into()
    );
    assert!(
        change["Properties"]["Events"].is_null(),
        "its one route is in the definition"
    );
    let defined: Vec<String> = definition_operations(&template)
        .into_iter()
        .filter(|operation| operation.function == "PasswordFunction")
        .map(|operation| operation.route_key)
        .collect();
    assert_eq!(defined, ["POST /auth/password/change"]);
    let granted = grants(recovery, "dynamodb:");
    assert!(
        !granted.contains(&("dynamodb:PutItem".to_owned(), "AuthTable.Arn".to_owned()))
            && !granted
                .iter()
                .any(|(action, _)| action == "dynamodb:BatchGetItem"),
        "the recovery role creates nothing in the main table and reads no batches: {granted:?}"
    );
    assert!(granted.contains(&("dynamodb:PutItem".to_owned(), "OutboxTable.Arn".to_owned())));
    let env = environment(&template, recovery, false);
    assert!(
        !env.contains_key("MFA_RECENT") && !env.contains_key("LOGIN_MAX_FAILURES"),
        "{env:?}"
    );
}

#[test]
fn mailed_links_point_at_an_https_app_only() {
    let template = template();
    let app_url = &template["Parameters"]["AppUrl"];
    assert!(
        app_url["Default"].is_null(),
        "no default: every deployment names its app"
    );
    let pattern = regex_lite::Regex::new(app_url["AllowedPattern"].as_str().expect("a pattern"))
        .expect("CloudFormation's pattern is a valid regex");
    for accepted in ["https://app.example.com", "https://app.example.com/base"] {
        assert!(pattern.is_match(accepted), "{accepted}");
    }
    for refused in [
        "http://app.example.com",
        "http://127.0.0.1:3000",
        "https://app.example.com/x?token=1",
        "https://app.example.com/#x",
        "https://",
    ] {
        assert!(!pattern.is_match(refused), "{refused}");
    }
}

/// Both authorizers guard exactly the same routes, each of them once: every operation of the
/// definition names ours under AuthorizerKind=lambda and the built-in one otherwise, and no
/// function event declares a route the definition has (SAM would merge the two).
#[test]
fn the_authorizer_kind_moves_every_protected_route_and_only_them() {
    let template = template();
    let operations = definition_operations(&template);
    assert!(operations.len() >= 13, "{operations:?}");
    let events: BTreeSet<String> = functions(&template)
        .iter()
        .filter_map(|(_, function)| function["Properties"]["Events"].as_mapping())
        .flat_map(|events| events.values())
        .filter(|event| !event["Properties"]["Auth"].is_null())
        .map(|event| format!("{:?}", event["Properties"]))
        .collect();
    assert!(
        events.is_empty(),
        "an event still names an authorizer: {events:?}"
    );
    for operation in &operations {
        assert_eq!(
            operation.lambda,
            [("JwtAuthorizer".to_owned(), Vec::new())],
            "{}",
            operation.route_key
        );
        assert_eq!(
            operation.built_in.len(),
            1,
            "{}: one requirement",
            operation.route_key
        );
        assert_eq!(operation.built_in[0].0, "BuiltInJwtAuthorizer");
    }
    let built_in = security_scheme(&template, "BuiltInJwtAuthorizer", true);
    let extension = &built_in["x-amazon-apigateway-authorizer"];
    assert_eq!(extension["type"].as_str(), Some("jwt"));
    // A header, never the cookie: the built-in authorizer reads no cookie.
    assert_eq!(
        extension["identitySource"].as_str(),
        Some("$request.header.Authorization")
    );
    for (key, parameter) in [("issuer", "JwtIssuer"), ("audience", "JwtAudience")] {
        assert!(
            format!("{:?}", extension["jwtConfiguration"][key]).contains(parameter),
            "{key}"
        );
    }
    // Each route's function may be invoked by API Gateway from that route (SAM grants this only
    // for events), and our authorizer from the API's authorizers.
    let resources = &template["Resources"];
    let permissions: Vec<(String, String)> = resources
        .as_mapping()
        .expect("Resources")
        .values()
        .filter(|resource| resource["Type"] == "AWS::Lambda::Permission")
        .map(|permission| {
            let arn = match &permission["Properties"]["SourceArn"] {
                Value::Tagged(sub) if sub.tag == "Sub" => {
                    sub.value.as_str().unwrap_or_default().to_owned()
                }
                other => panic!("a permission's SourceArn is a !Sub: {other:?}"),
            };
            (
                format!("{:?}", permission["Properties"]["FunctionName"]),
                arn,
            )
        })
        .collect();
    for operation in &operations {
        let (method, path) = operation.route_key.split_once(' ').expect("METHOD /path");
        let mut arn_path = String::new();
        for segment in path.split('/').filter(|segment| !segment.is_empty()) {
            arn_path.push('/');
            arn_path.push_str(if segment.starts_with('{') {
                "*"
            } else {
                segment
            });
        }
        let source = format!("${{Api}}/*/{method}{arn_path}");
        assert!(
            permissions.iter().any(|(function, arn)| {
                function.contains(&format!("\"{}\"", operation.function)) && arn.ends_with(&source)
            }),
            "{}: no permission for {} from {source}: {permissions:?}",
            operation.route_key,
            operation.function
        );
    }
    assert!(permissions.iter().any(|(function, arn)| {
        function.contains("StrictAuthorizerFunction")
            && function.contains("\"AuthorizerFunction\"")
            && arn.ends_with("${Api}/authorizers/*")
    }));
    assert!(
        !permissions
            .iter()
            .any(|(_, arn)| arn.ends_with("${Api}/*\"")),
        "no function may be invoked from every route: {permissions:?}"
    );
    // The definition and the events declare disjoint routes (SAM would merge a shared one).
    let event_routes = event_route_keys(&template);
    for operation in &operations {
        assert!(
            !event_routes.contains(&operation.route_key),
            "{} is declared twice",
            operation.route_key
        );
    }
}

/// The built-in authorizer enforces with scopes exactly what ROUTE_ROLES enforces on ours: a
/// route with a role rule lists `role:<role>` for each allowed role, every other route none.
#[test]
fn the_built_in_authorizers_scopes_and_route_roles_agree() {
    let template = template();
    let settings = auth_core::config::AuthorizerSettings::from_env(&authorizer_env(&template))
        .expect("settings");
    let rules: BTreeMap<String, BTreeSet<String>> = settings
        .options
        .rules
        .iter()
        .map(|rule| {
            (
                rule.route.text(),
                rule.roles
                    .iter()
                    .map(|role| auth_core::token::role_scope(role.as_str()))
                    .collect(),
            )
        })
        .collect();
    let operations = definition_operations(&template);
    for operation in &operations {
        let scopes: BTreeSet<String> = operation.built_in[0].1.iter().cloned().collect();
        assert_eq!(
            scopes,
            rules.get(&operation.route_key).cloned().unwrap_or_default(),
            "{}: scopes against ROUTE_ROLES",
            operation.route_key
        );
    }
    for route in rules.keys() {
        assert!(
            operations
                .iter()
                .any(|operation| &operation.route_key == route),
            "ROUTE_ROLES names {route}, which the built-in authorizer does not guard"
        );
    }
    // The issuers mint the scope only in that mode.
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        format!("{:?}", globals["JWT_ROLE_SCOPES"]),
        format!(
            "{:?}",
            serde_yaml::from_str::<Value>(r#"!If [BuiltInAuthorizer, "true", "false"]"#)
                .expect("yaml")
        )
    );
}

/// What the built-in authorizer cannot do is refused before anything deploys, each refusal
/// naming why; the default stays ours.
#[test]
fn the_template_refuses_what_the_built_in_authorizer_cannot_do() {
    let template = template();
    assert_eq!(
        template["Parameters"]["AuthorizerKind"]["Default"].as_str(),
        Some("lambda")
    );
    let rules = &template["Rules"];
    let refusal = |rule: &str| -> String {
        let rule = &rules[rule];
        assert_eq!(
            format!("{:?}", rule["RuleCondition"]),
            format!(
                "{:?}",
                serde_yaml::from_str::<Value>("!Equals [!Ref AuthorizerKind, builtin-jwt]")
                    .expect("yaml")
            )
        );
        format!("{:?}", rule["Assertions"])
    };
    let rsa = refusal("BuiltInAuthorizerSignsWithRsa");
    for needed in [
        "JwtAlgorithm",
        "RS256",
        "JwtNextAlgorithm",
        "JwtPreviousAlgorithm",
        "RSA",
    ] {
        assert!(rsa.contains(needed), "{needed}: {rsa}");
    }
    let strict = refusal("BuiltInAuthorizerHasNoStrictMode");
    assert!(
        strict.contains("AuthorizerCheckRevocation") && strict.contains("cannot read a session")
    );
    let mfa = refusal("BuiltInAuthorizerCannotRequireASecondFactor");
    assert!(mfa.contains("RouteMfa") && mfa.contains("second factor"));
    let roles = refusal("BuiltInAuthorizerTakesRolesFromTheRoutes");
    let default_roles = template["Parameters"]["RouteRoles"]["Default"]
        .as_str()
        .expect("default");
    assert!(roles.contains(default_roles), "{roles}");
}

/// Verifiers start from the issuer: an https URL (the custom domain), whose discovery
/// document the jwks function serves beside the keys.
#[test]
fn the_issuer_is_an_https_url_whose_discovery_document_the_jwks_function_serves() {
    let template = template();
    let issuer = &template["Parameters"]["JwtIssuer"];
    assert!(
        issuer["Default"].is_null(),
        "no default: it is the stack's own domain"
    );
    let pattern = issuer["AllowedPattern"].as_str().expect("AllowedPattern");
    let script = format!(
        "import re,sys\nfor v in sys.argv[1:]: print(bool(re.fullmatch(r'''{pattern}''', v)))"
    );
    let candidates = [
        ("https://auth.example.com", true),
        ("https://auth.example.com/staging", true),
        ("https://auth.example.com:8443", true),
        ("http://auth.example.com", false),
        ("https://auth.example.com/", false),
        ("https://auth.example.com?x", false),
        ("jwt-auth", false),
    ];
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .args(candidates.iter().map(|(value, _)| *value))
        .output()
        .expect("python3");
    let verdicts: Vec<bool> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line == "True")
        .collect();
    for ((value, expected), verdict) in candidates.iter().zip(&verdicts) {
        assert_eq!(verdict, expected, "{value}");
        // The template's pattern and the functions' own rule agree.
        assert_eq!(
            auth_core::issuer::IssuerUrl::parse(value).is_ok(),
            *expected,
            "{value}"
        );
    }
    assert_eq!(verdicts.len(), candidates.len());
    let jwks_paths: BTreeSet<String> =
        template["Resources"]["JwksFunction"]["Properties"]["Events"]
            .as_mapping()
            .expect("events")
            .values()
            .map(|event| {
                event["Properties"]["Path"]
                    .as_str()
                    .expect("path")
                    .to_owned()
            })
            .collect();
    assert_eq!(
        jwks_paths,
        [
            "/.well-known/jwks.json".to_owned(),
            "/.well-known/openid-configuration".to_owned()
        ]
        .into()
    );
}
