//! What the gateway serves, read from `template.yaml`: the HTTP API's routes (each function's
//! `HttpApi` events), its Lambda authorizer and its CORS configuration. Parameters resolve to
//! their defaults unless overridden (`--param Name=value`), as `sam deploy` would.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_yaml::Value;

use crate::resolve::Resolver;
use crate::routes::Route;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
}

fn shape(message: impl Into<String>) -> TemplateError {
    TemplateError::Shape(message.into())
}

/// The Lambda authorizer as the HTTP API configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerModel {
    pub name: String,
    /// The binary `cargo lambda watch` serves it as.
    pub function: String,
    pub simple_responses: bool,
    /// `$request.header.Authorization`, `$context.routeKey`, ...
    pub identity_sources: Vec<String>,
    /// How long an answer is cached per identity-source values (zero: never).
    pub cache_ttl: Duration,
}

/// `CorsConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_credentials: bool,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ApiModel {
    pub routes: Vec<Route>,
    pub authorizer: Option<AuthorizerModel>,
    pub cors: Option<Cors>,
}

impl ApiModel {
    pub fn load(path: &str, overrides: &BTreeMap<String, String>) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, overrides)
    }

    pub fn parse(text: &str, overrides: &BTreeMap<String, String>) -> Result<Self, TemplateError> {
        let template: Value = serde_yaml::from_str(text)?;
        let resolver = Resolver::new(&template, overrides, &BTreeMap::new());
        let resources = template["Resources"]
            .as_mapping()
            .ok_or_else(|| shape("no Resources"))?;
        let binary_of = |logical_id: &str| -> Option<String> {
            resources
                .get(logical_id)?
                .get("Metadata")?
                .get("BuildProperties")?
                .get("Binary")?
                .as_str()
                .map(str::to_owned)
        };

        let api = resources
            .values()
            .find(|resource| resource["Type"] == "AWS::Serverless::HttpApi")
            .map(|api| &api["Properties"]);
        let default_authorizer = api
            .and_then(|api| api["Auth"]["DefaultAuthorizer"].as_str())
            .map(str::to_owned);

        let mut routes = Vec::new();
        for (id, resource) in resources {
            if resource["Type"] != "AWS::Serverless::Function" {
                continue;
            }
            let id = id.as_str().unwrap_or_default();
            let Some(events) = resource["Properties"]["Events"].as_mapping() else {
                continue;
            };
            for event in events.values().filter(|event| event["Type"] == "HttpApi") {
                let properties = &event["Properties"];
                let method = resolver
                    .text(&properties["Method"])
                    .unwrap_or_else(|| "ANY".into());
                let path = resolver.text(&properties["Path"]);
                let authorizer = match properties["Auth"]["Authorizer"].as_str() {
                    Some("NONE") => None,
                    Some(name) => Some(name.to_owned()),
                    None => default_authorizer.clone(),
                };
                let function =
                    binary_of(id).ok_or_else(|| shape(format!("{id} names no Binary")))?;
                let route = Route::new(&method, path.as_deref(), function, authorizer)
                    .map_err(|reason| shape(format!("{id}: {reason}")))?;
                routes.push(route);
            }
        }

        let authorizer = match api.and_then(|api| api["Auth"]["Authorizers"].as_mapping()) {
            Some(authorizers) => match authorizers.iter().next() {
                Some((name, authorizer)) => Some(authorizer_model(
                    name.as_str().unwrap_or_default(),
                    authorizer,
                    &resolver,
                    &binary_of,
                )?),
                None => None,
            },
            None => None,
        };
        let cors = api
            .map(|api| &api["CorsConfiguration"])
            .filter(|cors| cors.is_mapping())
            .map(|cors| Cors {
                allow_origins: resolver.list(&cors["AllowOrigins"]),
                allow_credentials: cors["AllowCredentials"].as_bool().unwrap_or(false),
                allow_headers: resolver.list(&cors["AllowHeaders"]),
                allow_methods: resolver.list(&cors["AllowMethods"]),
                expose_headers: resolver.list(&cors["ExposeHeaders"]),
                max_age: resolver
                    .text(&cors["MaxAge"])
                    .and_then(|age| age.parse().ok()),
            });
        Ok(Self {
            routes,
            authorizer,
            cors,
        })
    }
}

fn authorizer_model(
    name: &str,
    authorizer: &Value,
    resolver: &Resolver<'_>,
    binary_of: &dyn Fn(&str) -> Option<String>,
) -> Result<AuthorizerModel, TemplateError> {
    // FunctionArn: !GetAtt AuthorizerFunction.Arn, or an !If choosing between such.
    let chosen = resolver
        .chosen(&authorizer["FunctionArn"])
        .map_err(|reason| shape(format!("authorizer {name}: FunctionArn: {reason}")))?;
    let long_form = chosen["Fn::GetAtt"].as_sequence().map(Vec::as_slice);
    let target = match (chosen, long_form) {
        (Value::Tagged(tagged), _) if tagged.tag == "GetAtt" => tagged
            .value
            .as_str()
            .and_then(|text| text.strip_suffix(".Arn"))
            .map(str::to_owned),
        (_, Some([resource, attribute])) if attribute.as_str() == Some("Arn") => {
            resource.as_str().map(str::to_owned)
        }
        _ => None,
    }
    .ok_or_else(|| {
        shape(format!(
            "authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn"
        ))
    })?;
    let function = binary_of(&target)
        .ok_or_else(|| shape(format!("authorizer {name}: {target} names no Binary")))?;
    let identity = &authorizer["Identity"];
    let mut identity_sources = Vec::new();
    for header in resolver.list(&identity["Headers"]) {
        identity_sources.push(format!("$request.header.{header}"));
    }
    for query in resolver.list(&identity["QueryStrings"]) {
        identity_sources.push(format!("$request.querystring.{query}"));
    }
    for context in resolver.list(&identity["Context"]) {
        identity_sources.push(format!("$context.{context}"));
    }
    for variable in resolver.list(&identity["StageVariables"]) {
        identity_sources.push(format!("$stageVariables.{variable}"));
    }
    let cache_seconds = resolver
        .text(&identity["ReauthorizeEvery"])
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or(300);
    if authorizer["AuthorizerPayloadFormatVersion"].as_str() != Some("2.0") {
        return Err(shape(format!(
            "authorizer {name}: only AuthorizerPayloadFormatVersion 2.0 is emulated"
        )));
    }
    Ok(AuthorizerModel {
        name: name.to_owned(),
        function,
        simple_responses: authorizer["EnableSimpleResponses"]
            .as_bool()
            .unwrap_or(false),
        identity_sources,
        cache_ttl: Duration::from_secs(cache_seconds),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Origins:
    Type: CommaDelimitedList
    Default: "https://a.example, https://b.example"
  CacheTtl:
    Type: Number
    Default: 60
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: !Ref Origins
        AllowCredentials: true
        AllowHeaders: [Authorization]
        AllowMethods: [GET, POST]
        MaxAge: 600
      Auth:
        Authorizers:
          Jwt:
            FunctionArn: !GetAtt AuthFn.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers: [Authorization]
              Context: [routeKey]
              ReauthorizeEvery: !Ref CacheTtl
  AuthFn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: authorizer
  MeFn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: me
    Properties:
      Events:
        Me:
          Type: HttpApi
          Properties:
            Method: GET
            Path: /me
            Auth:
              Authorizer: Jwt
        Open:
          Type: HttpApi
          Properties:
            Method: ANY
            Path: /open/{proxy+}
"#;

    #[test]
    fn routes_authorizer_and_cors_come_from_the_template_with_parameters_resolved() {
        let model = ApiModel::parse(TEMPLATE, &BTreeMap::new()).expect("model");
        let keys: Vec<&str> = model
            .routes
            .iter()
            .map(|route| route.key.as_str())
            .collect();
        assert_eq!(keys, ["GET /me", "ANY /open/{proxy+}"]);
        assert_eq!(model.routes[0].authorizer.as_deref(), Some("Jwt"));
        assert_eq!(model.routes[1].authorizer, None);
        let authorizer = model.authorizer.expect("authorizer");
        assert_eq!(authorizer.function, "authorizer");
        assert_eq!(
            authorizer.identity_sources,
            ["$request.header.Authorization", "$context.routeKey"]
        );
        assert_eq!(authorizer.cache_ttl, Duration::from_secs(60));
        let cors = model.cors.expect("cors");
        assert_eq!(
            cors.allow_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(cors.max_age, Some(600));

        let overrides = BTreeMap::from([("CacheTtl".to_owned(), "0".to_owned())]);
        let model = ApiModel::parse(TEMPLATE, &overrides).expect("model");
        assert_eq!(
            model.authorizer.expect("authorizer").cache_ttl,
            Duration::ZERO
        );
    }

    #[test]
    fn the_projects_template_is_understood() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
        let model = ApiModel::load(path, &BTreeMap::new()).expect("template.yaml");
        let keys: Vec<&str> = model
            .routes
            .iter()
            .map(|route| route.key.as_str())
            .collect();
        for expected in [
            "POST /auth/register",
            "POST /auth/login",
            "POST /auth/refresh",
            "POST /auth/logout",
            "POST /auth/logout-all",
            "GET /me",
            "GET /admin/users/{id}",
            "GET /.well-known/jwks.json",
        ] {
            assert!(keys.contains(&expected), "{expected} in {keys:?}");
        }
        assert!(model.authorizer.is_some() && model.cors.is_some());
    }

    #[test]
    fn strict_mode_runs_the_strict_authorizer_binary() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
        let lean = ApiModel::load(path, &BTreeMap::new()).expect("template.yaml");
        assert_eq!(lean.authorizer.expect("authorizer").function, "authorizer");
        let overrides =
            BTreeMap::from([("AuthorizerCheckRevocation".to_owned(), "true".to_owned())]);
        let strict = ApiModel::load(path, &overrides).expect("template.yaml");
        assert_eq!(
            strict.authorizer.expect("authorizer").function,
            "authorizer-strict"
        );
    }
}
