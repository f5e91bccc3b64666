//! Each function's environment as the template gives it: `Globals.Function.Environment` under
//! the function's own `Environment`, conditions evaluated for the parameters in force,
//! `AWS::NoValue` dropped, plus what Lambda's advanced logging derives from `LoggingConfig`.
//! Local substitutions, printed at start-up: a resource resolves to its local value (the
//! table's name); under `--watch` Secrets Manager is not emulated, so a `<NAME>_ARN` variable
//! arrives as `<NAME>` with the value from the gateway's own environment, while packaged
//! artifacts get the ARN as deployed and read it from the AWS stand-in.

use std::collections::BTreeMap;

use serde_yaml::Value;

use crate::resolve::Resolver;
use crate::template::TemplateError;

/// One function of the template, as `cargo lambda watch` is to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSetup {
    pub logical_id: String,
    /// The binary (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    pub environment: BTreeMap<String, String>,
    /// Whether the function exists under these parameters (its `Condition`, if any, holds).
    pub deployed: bool,
    /// `MemorySize` (its own, else the Globals', else Lambda's default of 128 MB).
    pub memory_size: u32,
}

/// A secret's value by its variable name without `_ARN`.
pub type SecretByName<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What stands in locally for what only a deployment has.
pub struct LocalValues<'a> {
    /// `!Ref <resource or pseudo parameter>` → its local value.
    pub resources: BTreeMap<String, String>,
    /// The value of a secret the template passes by ARN, by its variable name without `_ARN`;
    /// `None` keeps each `<NAME>_ARN` as the template resolves it (secrets are served by ARN).
    pub secret: Option<SecretByName<'a>>,
    /// Set last, over the template (e.g. the cookie path of an API served at the root).
    pub overrides: BTreeMap<String, String>,
}

pub fn function_setups(
    text: &str,
    parameters: &BTreeMap<String, String>,
    locals: &LocalValues<'_>,
) -> Result<Vec<FunctionSetup>, TemplateError> {
    let template: Value = serde_yaml::from_str(text)?;
    let resolver = Resolver::new(&template, parameters, &locals.resources);
    let globals = &template["Globals"]["Function"];
    let resources = template["Resources"]
        .as_mapping()
        .ok_or_else(|| TemplateError::Shape("no Resources".into()))?;
    let mut setups = Vec::new();
    for (id, resource) in resources {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let logical_id = id.as_str().unwrap_or_default().to_owned();
        let failed = |reason: String| TemplateError::Shape(format!("{logical_id}: {reason}"));
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .ok_or_else(|| failed("names no Metadata.BuildProperties.Binary".into()))?
            .to_owned();
        let properties = &resource["Properties"];
        let mut environment = BTreeMap::new();
        for variables in [
            &globals["Environment"]["Variables"],
            &properties["Environment"]["Variables"],
        ] {
            for (name, value) in variables.as_mapping().into_iter().flatten() {
                let name = name.as_str().unwrap_or_default().to_owned();
                let evaluated = if name.ends_with("_ARN") && locals.secret.is_some() {
                    // Replaced by the local secret below; only whether it is given matters.
                    resolver
                        .is_present(value)
                        .map(|present| present.then(String::new))
                } else {
                    resolver.evaluate(value)
                };
                match evaluated {
                    Ok(Some(value)) => {
                        environment.insert(name, value);
                    }
                    Ok(None) => {
                        environment.remove(&name);
                    }
                    Err(reason) => return Err(failed(format!("{name}: {reason}"))),
                }
            }
        }
        let logging = match &properties["LoggingConfig"] {
            Value::Null => &globals["LoggingConfig"],
            own => own,
        };
        if resolver.text(&logging["LogFormat"]).as_deref() == Some("JSON") {
            environment.insert("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into());
            if let Some(level) = resolver.text(&logging["ApplicationLogLevel"]) {
                environment.insert("AWS_LAMBDA_LOG_LEVEL".into(), level);
            }
        }
        if let Some(secret) = locals.secret {
            let by_arn: Vec<String> = environment
                .keys()
                .filter(|name| name.ends_with("_ARN"))
                .cloned()
                .collect();
            for name in by_arn {
                environment.remove(&name);
                let plain = name.trim_end_matches("_ARN").to_owned();
                let value = secret(&plain).ok_or_else(|| {
                    failed(format!(
                        "{name} names a secret; Secrets Manager is not emulated, so set {plain} in the environment"
                    ))
                })?;
                environment.insert(plain, value);
            }
        }
        environment.extend(locals.overrides.clone());
        let deployed = match resource["Condition"].as_str() {
            Some(condition) => resolver
                .condition(condition)
                .map_err(|reason| failed(format!("Condition: {reason}")))?,
            None => true,
        };
        let memory_size = [&properties["MemorySize"], &globals["MemorySize"]]
            .into_iter()
            .find(|value| !value.is_null())
            .and_then(|value| resolver.text(value))
            .map_or(Ok(128), |text| text.parse::<u32>())
            .map_err(|_| failed("MemorySize is not a number of MB".into()))?;
        // Two functions of one binary (one binary under two roles, as the password routes
        // are) run locally as one process, with the first one's environment and whatever
        // the later ones add: the roles differ only in AWS.
        if let Some(first) = setups
            .iter_mut()
            .find(|setup: &&mut FunctionSetup| setup.binary == binary && setup.deployed == deployed)
        {
            for (name, value) in environment {
                first.environment.entry(name).or_insert(value);
            }
            continue;
        }
        setups.push(FunctionSetup {
            logical_id,
            binary,
            environment,
            deployed,
            memory_size,
        });
    }
    Ok(setups)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Algorithm: {Type: String, Default: EdDSA}
  PublicKey: {Type: String, Default: ""}
  Stage: {Type: String, Default: staging}
Conditions:
  IsHs256: !Equals [!Ref Algorithm, HS256]
Globals:
  Function:
    LoggingConfig: {LogFormat: JSON, ApplicationLogLevel: INFO}
    Environment:
      Variables:
        JWT_ALGORITHM: !Ref Algorithm
        COOKIE_PATH: !Sub "/${Stage}/auth"
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Signer:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: login}}
    Properties:
      Environment:
        Variables:
          TABLE_NAME: !Ref Table
          JWT_PRIVATE_KEY_ARN: !If [IsHs256, !Ref "AWS::NoValue", "arn:aws:secretsmanager:x"]
          JWT_ACCESS_SECRET_ARN: !If [IsHs256, "arn:aws:secretsmanager:y", !Ref "AWS::NoValue"]
  Verifier:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: authorizer}}
    Properties:
      LoggingConfig: {LogFormat: Text}
      Environment:
        Variables:
          JWT_PUBLIC_KEY: !If [IsHs256, !Ref "AWS::NoValue", !Ref PublicKey]
"#;

    fn setups(parameters: &[(&str, &str)]) -> Result<Vec<FunctionSetup>, TemplateError> {
        let parameters = parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let secret = |name: &str| (name == "JWT_PRIVATE_KEY").then(|| "private".to_owned());
        let locals = LocalValues {
            resources: BTreeMap::from([("Table".to_owned(), "local-table".to_owned())]),
            secret: Some(&secret),
            overrides: BTreeMap::from([("COOKIE_PATH".to_owned(), "/auth".to_owned())]),
        };
        function_setups(TEMPLATE, &parameters, &locals)
    }

    fn pairs(setup: &FunctionSetup) -> Vec<(&str, &str)> {
        setup
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn each_function_gets_the_globals_its_own_variables_and_local_secrets_by_name() {
        let setups = setups(&[("PublicKey", "public")]).expect("setups");
        let [signer, verifier] = setups.as_slice() else {
            panic!("two functions: {setups:?}");
        };
        assert_eq!(signer.binary, "login");
        assert_eq!(
            pairs(signer),
            [
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
                ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
                ("COOKIE_PATH", "/auth"),
                ("JWT_ALGORITHM", "EdDSA"),
                ("JWT_PRIVATE_KEY", "private"),
                ("TABLE_NAME", "local-table"),
            ]
        );
        // Its own LoggingConfig replaces the global one; no table, no private key.
        assert_eq!(
            pairs(verifier),
            [
                ("COOKIE_PATH", "/auth"),
                ("JWT_ALGORITHM", "EdDSA"),
                ("JWT_PUBLIC_KEY", "public"),
            ]
        );
    }

    #[test]
    fn a_secret_without_a_local_value_is_an_error_naming_the_variable_to_set() {
        let error = setups(&[("Algorithm", "HS256")]).expect_err("no local access secret");
        let message = error.to_string();
        assert!(
            message.contains("Signer") && message.contains("set JWT_ACCESS_SECRET"),
            "{message}"
        );
    }

    #[test]
    fn the_projects_template_gives_signers_the_private_key_and_verifiers_only_the_public_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
        let text = std::fs::read_to_string(path).expect("template.yaml");
        let parameters = BTreeMap::from([
            ("JwtPublicKey".to_owned(), "public".to_owned()),
            ("AppUrl".to_owned(), "https://app.example.com".to_owned()),
            (
                "JwtIssuer".to_owned(),
                "https://auth.example.com".to_owned(),
            ),
        ]);
        let secret = |name: &str| Some(format!("local {name}"));
        let locals = LocalValues {
            resources: BTreeMap::from([
                ("AuthTable".to_owned(), "table".to_owned()),
                ("OutboxTable".to_owned(), "outbox".to_owned()),
                ("MailConfigurationSet".to_owned(), "mail".to_owned()),
            ]),
            secret: Some(&secret),
            overrides: BTreeMap::new(),
        };
        let setups = function_setups(&text, &parameters, &locals).expect("setups");
        let of = |binary: &str| {
            setups
                .iter()
                .find(|setup| setup.binary == binary)
                .unwrap_or_else(|| panic!("{binary} in {setups:?}"))
                .environment
                .clone()
        };
        assert_eq!(
            of("login").get("SERVICE_NAME").map(String::as_str),
            Some("local"),
            "AWS::StackName resolves locally"
        );
        for signer in ["register", "login", "refresh"] {
            let environment = of(signer);
            assert_eq!(
                environment.get("JWT_PRIVATE_KEY").map(String::as_str),
                Some("local JWT_PRIVATE_KEY")
            );
            assert!(environment.contains_key("JWT_REFRESH_SECRET"), "{signer}");
            assert!(!environment.contains_key("JWT_PUBLIC_KEY"), "{signer}");
        }
        for verifier in ["logout", "authorizer", "jwks"] {
            let environment = of(verifier);
            assert_eq!(
                environment.get("JWT_PUBLIC_KEY").map(String::as_str),
                Some("public")
            );
            assert!(
                !environment
                    .keys()
                    .any(|name| name.contains("SECRET") || name.contains("PRIVATE")),
                "{verifier}: {environment:?}"
            );
        }
        assert!(!of("authorizer").contains_key("TABLE_NAME"));
        assert_eq!(
            of("me").get("TABLE_NAME").map(String::as_str),
            Some("table")
        );
    }

    #[test]
    fn packaged_artifacts_get_secret_arns_as_deployed_and_only_deployed_functions_run() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
        let text = std::fs::read_to_string(path).expect("template.yaml");
        let signing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:signing";
        let refresh = "arn:aws:secretsmanager:us-east-1:123456789012:secret:refresh";
        let mfa = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mfa";
        let locals = LocalValues {
            resources: BTreeMap::from([
                ("AuthTable".to_owned(), "table".to_owned()),
                ("OutboxTable".to_owned(), "outbox".to_owned()),
                ("MailConfigurationSet".to_owned(), "mail".to_owned()),
                ("RefreshKeySecret".to_owned(), refresh.to_owned()),
                ("MfaKeySecret".to_owned(), mfa.to_owned()),
            ]),
            secret: None,
            overrides: BTreeMap::new(),
        };
        for (strict, deployed_authorizer) in
            [("false", "authorizer"), ("true", "authorizer-strict")]
        {
            let parameters = BTreeMap::from([
                ("JwtPublicKey".to_owned(), "public".to_owned()),
                ("AppUrl".to_owned(), "https://app.example.com".to_owned()),
                (
                    "JwtIssuer".to_owned(),
                    "https://auth.example.com".to_owned(),
                ),
                ("SigningKeySecretArn".to_owned(), signing.to_owned()),
                ("AuthorizerCheckRevocation".to_owned(), strict.to_owned()),
            ]);
            let setups = function_setups(&text, &parameters, &locals).expect("setups");
            let authorizers: Vec<&str> = setups
                .iter()
                .filter(|setup| setup.deployed && setup.binary.starts_with("authorizer"))
                .map(|setup| setup.binary.as_str())
                .collect();
            assert_eq!(authorizers, [deployed_authorizer], "strict {strict}");
            let login = setups
                .iter()
                .find(|setup| setup.binary == "login")
                .expect("login");
            assert_eq!(
                login
                    .environment
                    .get("JWT_PRIVATE_KEY_ARN")
                    .map(String::as_str),
                Some(signing)
            );
            assert_eq!(
                login
                    .environment
                    .get("JWT_REFRESH_SECRET_ARN")
                    .map(String::as_str),
                Some(refresh)
            );
            assert!(!login.environment.contains_key("JWT_PRIVATE_KEY"));
            let second_factor = setups
                .iter()
                .find(|setup| setup.binary == "mfa")
                .expect("mfa");
            assert_eq!(
                second_factor
                    .environment
                    .get("MFA_ENCRYPTION_KEY_ARN")
                    .map(String::as_str),
                Some(mfa)
            );
            assert!(
                !setups
                    .iter()
                    .filter(|setup| setup.binary != "mfa")
                    .any(|setup| setup.environment.contains_key("MFA_ENCRYPTION_KEY_ARN")),
                "no other function holds the MFA key"
            );
        }
    }
}
