//! What the gateway serves, read from `template.yaml`: the HTTP API's routes (each function's
//! `HttpApi` events, and the operations of the API's `DefinitionBody`), its authorizers (a
//! Lambda authorizer, API Gateway's built-in JWT authorizer) and its CORS configuration.
//! Parameters resolve to their defaults unless overridden (`--param Name=value`), as
//! `sam deploy` would; `!If`s in the definition take the branch the parameters choose.

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

/// API Gateway's built-in JWT authorizer as the HTTP API configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtAuthorizerModel {
    pub name: String,
    /// `jwtConfiguration.issuer`: discovery is read from `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub audiences: Vec<String>,
    /// `$request.header.Authorization` (a header or a query string; never a cookie).
    pub identity_source: String,
}

#[derive(Debug, Clone)]
pub struct ApiModel {
    pub routes: Vec<Route>,
    pub authorizer: Option<AuthorizerModel>,
    pub jwt_authorizer: Option<JwtAuthorizerModel>,
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

        let mut authorizer = match api.and_then(|api| api["Auth"]["Authorizers"].as_mapping()) {
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
        let mut jwt_authorizer = None;
        if let Some(body) = api
            .map(|api| &api["DefinitionBody"])
            .filter(|body| body.is_mapping())
        {
            routes.extend(definition_routes(body, &resolver, &binary_of)?);
            let schemes = body["components"]["securitySchemes"].as_mapping();
            for (name, scheme) in schemes.into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                let scheme = resolver
                    .chosen(scheme)
                    .map_err(|reason| shape(format!("security scheme {name}: {reason}")))?;
                if !resolver.is_present(scheme).unwrap_or(false) {
                    continue;
                }
                let extension = &scheme["x-amazon-apigateway-authorizer"];
                match extension["type"].as_str() {
                    Some("request") => {
                        authorizer = Some(request_authorizer_model(
                            name, extension, &resolver, &binary_of,
                        )?);
                    }
                    Some("jwt") => {
                        jwt_authorizer = Some(JwtAuthorizerModel {
                            name: name.to_owned(),
                            issuer: resolver
                                .text(&extension["jwtConfiguration"]["issuer"])
                                .ok_or_else(|| shape(format!("{name}: jwtConfiguration.issuer")))?,
                            audiences: resolver.list(&extension["jwtConfiguration"]["audience"]),
                            identity_source: resolver
                                .text(&extension["identitySource"])
                                .unwrap_or_else(|| "$request.header.Authorization".to_owned()),
                        });
                    }
                    other => {
                        return Err(shape(format!(
                            "security scheme {name}: authorizer type {other:?} is not emulated"
                        )));
                    }
                }
            }
        }
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
            jwt_authorizer,
            cors,
        })
    }
}

/// The operations of the API's OpenAPI definition: each `x-amazon-apigateway-integration`'s
/// function and the first `security` requirement (its authorizer and scopes).
fn definition_routes(
    body: &Value,
    resolver: &Resolver<'_>,
    binary_of: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Route>, TemplateError> {
    let mut routes = Vec::new();
    for (path, item) in body["paths"].as_mapping().into_iter().flatten() {
        let path = path.as_str().unwrap_or_default();
        let item = resolver
            .chosen(item)
            .map_err(|reason| shape(format!("{path}: {reason}")))?;
        for (method, operation) in item.as_mapping().into_iter().flatten() {
            let method = method.as_str().unwrap_or_default();
            let where_ = format!("{} {path}", method.to_ascii_uppercase());
            let operation = resolver
                .chosen(operation)
                .map_err(|reason| shape(format!("{where_}: {reason}")))?;
            if !resolver.is_present(operation).unwrap_or(false) {
                continue;
            }
            let uri = resolver
                .chosen(&operation["x-amazon-apigateway-integration"]["uri"])
                .map_err(|reason| shape(format!("{where_}: {reason}")))?;
            let function = get_att_resource(uri)
                .and_then(|target| binary_of(&target))
                .ok_or_else(|| {
                    shape(format!(
                        "{where_}: the integration's uri must be !GetAtt <Function>.Arn"
                    ))
                })?;
            let security = resolver
                .chosen(&operation["security"])
                .map_err(|reason| shape(format!("{where_}: security: {reason}")))?;
            let requirement = security
                .as_sequence()
                .and_then(|requirements| requirements.first())
                .and_then(Value::as_mapping)
                .and_then(|requirement| requirement.iter().next());
            let (authorizer, scopes) = match requirement {
                Some((name, scopes)) => (name.as_str().map(str::to_owned), resolver.list(scopes)),
                None => (None, Vec::new()),
            };
            let route = Route::new(method, Some(path), function, authorizer)
                .map_err(|reason| shape(format!("{where_}: {reason}")))?
                .with_scopes(scopes);
            routes.push(route);
        }
    }
    Ok(routes)
}

/// The resource a `!GetAtt <Resource>.Arn` (short or long form) names.
fn get_att_resource(value: &Value) -> Option<String> {
    let long_form = value["Fn::GetAtt"].as_sequence().map(Vec::as_slice);
    match (value, long_form) {
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
}

/// A Lambda (`request`) authorizer of the OpenAPI definition: its function is the `Arn`
/// variable of its `authorizerUri`'s `!Sub`, or an `!If` choosing between such.
fn request_authorizer_model(
    name: &str,
    extension: &Value,
    resolver: &Resolver<'_>,
    binary_of: &dyn Fn(&str) -> Option<String>,
) -> Result<AuthorizerModel, TemplateError> {
    let uri = &extension["authorizerUri"];
    let sub = match uri {
        Value::Tagged(tagged) if tagged.tag == "Sub" => &tagged.value,
        _ => &uri["Fn::Sub"],
    };
    let arn = sub
        .as_sequence()
        .and_then(|items| items.get(1))
        .map(|variables| &variables["Arn"])
        .ok_or_else(|| {
            shape(format!(
                "authorizer {name}: authorizerUri must be !Sub [..., {{Arn: !GetAtt <Function>.Arn}}]"
            ))
        })?;
    let chosen = resolver
        .chosen(arn)
        .map_err(|reason| shape(format!("authorizer {name}: {reason}")))?;
    let function = get_att_resource(chosen)
        .and_then(|target| binary_of(&target))
        .ok_or_else(|| {
            shape(format!(
                "authorizer {name}: its Arn names no function Binary"
            ))
        })?;
    if extension["authorizerPayloadFormatVersion"].as_str() != Some("2.0") {
        return Err(shape(format!(
            "authorizer {name}: only authorizerPayloadFormatVersion 2.0 is emulated"
        )));
    }
    let identity_sources = resolver
        .text(&extension["identitySource"])
        .unwrap_or_default()
        .split(',')
        .map(|source| source.trim().to_owned())
        .filter(|source| !source.is_empty())
        .collect();
    let cache_seconds = resolver
        .text(&extension["authorizerResultTtlInSeconds"])
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or(300);
    Ok(AuthorizerModel {
        name: name.to_owned(),
        function,
        simple_responses: extension["enableSimpleResponses"]
            .as_bool()
            .unwrap_or(false),
        identity_sources,
        cache_ttl: Duration::from_secs(cache_seconds),
    })
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
    let target = get_att_resource(chosen).ok_or_else(|| {
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
    fn the_authorizer_kind_puts_the_protected_routes_on_ours_or_on_the_built_in_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
        let protected = |model: &ApiModel| -> Vec<(String, Option<String>, Vec<String>)> {
            model
                .routes
                .iter()
                .filter(|route| route.authorizer.is_some())
                .map(|route| {
                    (
                        route.key.clone(),
                        route.authorizer.clone(),
                        route.scopes.clone(),
                    )
                })
                .collect()
        };
        let ours = ApiModel::load(path, &BTreeMap::new()).expect("template.yaml");
        assert!(ours.jwt_authorizer.is_none());
        let ours_routes = protected(&ours);
        assert!(ours_routes.len() >= 13, "{ours_routes:?}");
        assert!(
            ours_routes
                .iter()
                .all(|(_, name, scopes)| name.as_deref() == Some("JwtAuthorizer")
                    && scopes.is_empty()),
            "{ours_routes:?}"
        );
        let authorizer = ours.authorizer.expect("our authorizer");
        assert_eq!(
            authorizer.identity_sources,
            ["$request.header.Authorization", "$context.routeKey"]
        );

        let overrides = BTreeMap::from([
            ("AuthorizerKind".to_owned(), "builtin-jwt".to_owned()),
            ("JwtIssuer".to_owned(), "http://127.0.0.1:3000".to_owned()),
        ]);
        let built_in = ApiModel::load(path, &overrides).expect("template.yaml");
        assert!(built_in.authorizer.is_none(), "no Lambda on the hot path");
        let jwt = built_in
            .jwt_authorizer
            .clone()
            .expect("built-in authorizer");
        assert_eq!(jwt.issuer, "http://127.0.0.1:3000");
        assert_eq!(jwt.audiences, ["api"]);
        assert_eq!(jwt.identity_source, "$request.header.Authorization");
        let built_in_routes = protected(&built_in);
        assert_eq!(
            built_in_routes
                .iter()
                .map(|(key, ..)| key)
                .collect::<Vec<_>>(),
            ours_routes.iter().map(|(key, ..)| key).collect::<Vec<_>>(),
            "the same routes are protected in both modes"
        );
        let admin = built_in_routes
            .iter()
            .find(|(key, ..)| key == "GET /admin/users/{id}")
            .expect("admin route");
        assert_eq!(admin.2, ["role:admin"]);
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
