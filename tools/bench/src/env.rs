//! The environment of every process the bench starts: the one place to edit when a function's
//! settings change. Children start from an empty environment, so nothing leaks in from the
//! caller's.

use std::path::PathBuf;

pub const ISSUER: &str = "https://auth.bench.example";
pub const AUDIENCE: &str = "bench-api";

/// What the environments are made of: one pair of secrets per run, DynamoDB Local's table.
pub struct Config {
    pub table: String,
    pub endpoint: String,
    pub region: String,
    pub access_secret: String,
    pub refresh_secret: String,
    pub node_modules: Option<PathBuf>,
}

impl Config {
    /// TABLE_NAME and AWS_ENDPOINT_URL_DYNAMODB come from the caller's environment (required
    /// when `dynamodb` is true; otherwise functions that need them fail their init).
    pub fn new(dynamodb: bool, node_modules: Option<PathBuf>) -> Result<Self, String> {
        let var = |name: &str| match std::env::var(name) {
            Ok(value) => Ok(value),
            Err(_) if !dynamodb => Ok(String::new()),
            Err(_) => Err(format!("{name} is not set (DynamoDB Local)")),
        };
        Ok(Self {
            table: var("TABLE_NAME")?,
            endpoint: var("AWS_ENDPOINT_URL_DYNAMODB")?,
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned()),
            access_secret: random_secret()?,
            refresh_secret: random_secret()?,
            node_modules,
        })
    }
}

fn random_secret() -> Result<String, String> {
    let mut bytes = [0u8; 48];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("random secret: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What Lambda itself sets for every function (minus what we do not emulate; the harness adds
/// AWS_LAMBDA_RUNTIME_API and AWS_LAMBDA_FUNCTION_NAME per process).
fn lambda_env(c: &Config) -> Vec<(&'static str, String)> {
    [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_LEVEL", "error"),
        ("RUST_LOG", "error"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_REGION", &c.region),
        ("AWS_DEFAULT_REGION", &c.region),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .map(|(k, v)| (k, v.to_owned()))
    .into()
}

/// Each function's own settings, as template.yaml gives them (its Globals included), with
/// DynamoDB Local for the table; plus the Node processes' settings.
fn function_env(function: &str, c: &Config) -> Result<Vec<(&'static str, String)>, String> {
    let globals = [("JWT_ISSUER", ISSUER), ("JWT_AUDIENCE", AUDIENCE)].map(|(k, v)| (k, v.into()));
    let table = [
        ("TABLE_NAME", c.table.clone()),
        ("AWS_ENDPOINT_URL_DYNAMODB", c.endpoint.clone()),
    ];
    let access = ("JWT_ACCESS_SECRET", c.access_secret.clone());
    let node_path = || {
        c.node_modules
            .as_ref()
            .map(|dir| ("NODE_PATH", dir.to_string_lossy().into_owned()))
            .ok_or("the Node rows need --node-modules")
    };
    let own: Vec<(&'static str, String)> = match function {
        "register" | "login" | "refresh" => [
            access,
            ("JWT_REFRESH_SECRET", c.refresh_secret.clone()),
            table[0].clone(),
            table[1].clone(),
        ]
        .into(),
        "logout" => [access, table[0].clone(), table[1].clone()].into(),
        "authorizer" => vec![
            access,
            ("ROUTE_ROLES", "GET /admin/users/{id}=admin".into()),
            ("AUTHORIZER_RESPONSE", "simple".into()),
            ("AUTHORIZER_TOKEN_SOURCE", "header".into()),
        ],
        "me" => table.into(),
        // HS256 publishes no key: the JWKS function holds none.
        "jwks" => Vec::new(),
        "echo-current-thread" | "echo-multi-thread" => return Ok(Vec::new()),
        "node-authorizer-seed" => vec![access, node_path()?, ("BENCH_JWT_STYLE", "seed".into())],
        "node-authorizer-careful" => {
            vec![access, node_path()?, ("BENCH_JWT_STYLE", "careful".into())]
        }
        "seed-bench" => vec![access, node_path()?],
        other => return Err(format!("no environment defined for {other} (src/env.rs)")),
    };
    Ok(globals.into_iter().chain(own).collect())
}

/// The whole environment of `function`'s process.
pub fn env_of(function: &str, c: &Config) -> Result<Vec<(&'static str, String)>, String> {
    let mut env = lambda_env(c);
    env.extend(function_env(function, c)?);
    Ok(env)
}
