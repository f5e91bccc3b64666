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
    /// A fresh key pair per asymmetric algorithm, for the `authorizer-<algorithm>` rows.
    pub key_pairs: Vec<KeyPair>,
    /// The secrets stand-in (`lambda_emulator::aws_stand_in`), for the "secrets read at init" rows.
    pub secrets_endpoint: Option<std::net::SocketAddr>,
}

/// The asymmetric algorithms the authorizer is measured with, beside HS256.
pub const ALGORITHMS: [&str; 3] = ["EdDSA", "ES256", "RS256"];

pub struct KeyPair {
    pub algorithm: &'static str,
    pub private_pem: String,
    pub public_pem: String,
}

/// Secret ids the secrets stand-in serves.
const ACCESS_SECRET_ID: &str = "bench/access";
const REFRESH_SECRET_ID: &str = "bench/refresh";

impl Config {
    /// What the secrets stand-in serves: this run's secrets under their ids.
    pub fn secret_store(&self) -> std::collections::HashMap<String, String> {
        [
            (ACCESS_SECRET_ID, &self.access_secret),
            (REFRESH_SECRET_ID, &self.refresh_secret),
        ]
        .into_iter()
        .map(|(id, value)| (id.to_owned(), value.clone()))
        .collect()
    }

    fn key_pair(&self, algorithm: &str) -> Result<&KeyPair, String> {
        self.key_pairs
            .iter()
            .find(|pair| pair.algorithm.eq_ignore_ascii_case(algorithm))
            .ok_or_else(|| format!("no key pair for {algorithm}"))
    }

    fn secrets_endpoint(&self) -> Result<std::net::SocketAddr, String> {
        self.secrets_endpoint
            .ok_or_else(|| "the secrets stand-in is not running".to_owned())
    }
}

/// The release binary a bench function name runs (`login-eddsa` runs `login`); the strict
/// authorizer is a binary of its own.
pub fn binary_of(function: &str) -> &str {
    if function == "authorizer-strict" {
        return function;
    }
    ["login", "authorizer"]
        .into_iter()
        .find(|binary| {
            function
                .strip_prefix(binary)
                .is_some_and(|rest| rest.starts_with('-'))
        })
        .unwrap_or(function)
}

fn openssl(args: &[&str], input: Option<&str>) -> Result<String, String> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| format!("openssl: {e}"))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| format!("openssl: {e}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("openssl: {e}"))?;
    if !output.status.success() {
        return Err(format!("openssl {args:?} failed"));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("openssl: {e}"))
}

fn key_pairs() -> Result<Vec<KeyPair>, String> {
    ALGORITHMS
        .into_iter()
        .map(|algorithm| {
            let generate: &[&str] = match algorithm {
                "RS256" => &[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                ],
                "ES256" => &[
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                ],
                _ => &["genpkey", "-algorithm", "ED25519"],
            };
            let private_pem = openssl(generate, None)?;
            let public_pem = openssl(&["pkey", "-pubout"], Some(&private_pem))?;
            Ok(KeyPair {
                algorithm,
                private_pem,
                public_pem,
            })
        })
        .collect()
}

impl Config {
    /// TABLE_NAME and AWS_ENDPOINT_URL_DYNAMODB come from the caller's environment (required
    /// when `dynamodb` is true; otherwise functions that need them fail their init).
    pub fn new(dynamodb: bool, node_modules: Option<PathBuf>) -> Result<Self, String> {
        // Without DynamoDB (`--cold-start`): placeholders, since init never calls the table.
        let var = |name: &str| match std::env::var(name) {
            Ok(value) => Ok(value),
            Err(_) if !dynamodb && name == "TABLE_NAME" => Ok("cold-start-only".to_owned()),
            Err(_) if !dynamodb => Ok("http://127.0.0.1:9".to_owned()),
            Err(_) => Err(format!("{name} is not set (DynamoDB Local)")),
        };
        Ok(Self {
            table: var("TABLE_NAME")?,
            endpoint: var("AWS_ENDPOINT_URL_DYNAMODB")?,
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned()),
            access_secret: random_secret()?,
            refresh_secret: random_secret()?,
            node_modules,
            key_pairs: key_pairs()?,
            secrets_endpoint: None,
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
    // Where register writes its verification mail (`local-dev create-table` makes it).
    let outbox = ("OUTBOX_TABLE_NAME", format!("{}-outbox", c.table));
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
            outbox.clone(),
        ]
        .into(),
        "logout" => [access, table[0].clone(), table[1].clone()].into(),
        // It starts sessions (signing and refresh keys) and holds the MFA key.
        "mfa" => [
            access,
            ("JWT_REFRESH_SECRET", c.refresh_secret.clone()),
            (
                "MFA_ENCRYPTION_KEY",
                format!("bench-mfa-{}", c.refresh_secret),
            ),
            table[0].clone(),
            table[1].clone(),
        ]
        .into(),
        "authorizer" => vec![
            access,
            ("ROUTE_ROLES", "GET /admin/users/{id}=admin".into()),
            ("AUTHORIZER_RESPONSE", "simple".into()),
            ("AUTHORIZER_TOKEN_SOURCE", "header".into()),
        ],
        "authorizer-strict" => vec![
            access,
            ("ROUTE_ROLES", "GET /admin/users/{id}=admin".into()),
            ("AUTHORIZER_RESPONSE", "simple".into()),
            ("AUTHORIZER_TOKEN_SOURCE", "header".into()),
            ("AUTHORIZER_CHECK_REVOCATION", "true".into()),
            table[0].clone(),
            table[1].clone(),
        ],
        // Keys read at init: through Secrets Manager's API (the SDK), or the extension.
        "login-secrets-manager" => vec![
            ("JWT_ACCESS_SECRET_ARN", ACCESS_SECRET_ID.into()),
            ("JWT_REFRESH_SECRET_ARN", REFRESH_SECRET_ID.into()),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                format!("http://{}", c.secrets_endpoint()?),
            ),
            table[0].clone(),
            table[1].clone(),
            outbox.clone(),
        ],
        "authorizer-secrets-extension" => vec![
            ("JWT_ACCESS_SECRET_ARN", ACCESS_SECRET_ID.into()),
            ("AWS_SESSION_TOKEN", "bench-session-token".into()),
            (
                "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
                c.secrets_endpoint()?.port().to_string(),
            ),
            ("ROUTE_ROLES", "GET /admin/users/{id}=admin".into()),
            ("AUTHORIZER_RESPONSE", "simple".into()),
            ("AUTHORIZER_TOKEN_SOURCE", "header".into()),
        ],
        // Asymmetric keys: the issuer holds the private key, the authorizer the public key only.
        login if login.starts_with("login-") => {
            let pair = c.key_pair(login.trim_start_matches("login-"))?;
            vec![
                ("JWT_ALGORITHM", pair.algorithm.into()),
                ("JWT_PRIVATE_KEY", pair.private_pem.clone()),
                ("JWT_REFRESH_SECRET", c.refresh_secret.clone()),
                table[0].clone(),
                table[1].clone(),
                outbox.clone(),
            ]
        }
        authorizer if authorizer.starts_with("authorizer-") => {
            let pair = c.key_pair(authorizer.trim_start_matches("authorizer-"))?;
            vec![
                ("JWT_ALGORITHM", pair.algorithm.into()),
                ("JWT_PUBLIC_KEY", pair.public_pem.clone()),
                ("ROUTE_ROLES", "GET /admin/users/{id}=admin".into()),
                ("AUTHORIZER_RESPONSE", "simple".into()),
                ("AUTHORIZER_TOKEN_SOURCE", "header".into()),
            ]
        }
        "me" => table.into(),
        "sessions" => vec![table[0].clone(), table[1].clone(), outbox.clone()],
        // Brakes off: every measured call takes the same path (the per-IP window would refuse
        // a thousand forgot or failed-delete requests from one address, the backoff the deletes).
        "password" | "email" => vec![
            ("IP_MAX_FAILURES", "0".into()),
            table[0].clone(),
            table[1].clone(),
            outbox.clone(),
        ],
        "account" => vec![
            ("IP_MAX_FAILURES", "0".into()),
            ("LOGIN_MAX_FAILURES", "1000000000".into()),
            table[0].clone(),
            table[1].clone(),
            outbox,
        ],
        "mailer" => vec![
            ("APP_URL", "https://app.bench.example".into()),
            ("MAIL_FROM", "no-reply@bench.example".into()),
            // Every invocation sends: the path to measure, not the skip of a repeat.
            ("MAIL_MIN_INTERVAL", "0s".into()),
            // Every invocation mails one address: budgets out of the way of the measurement.
            ("MAIL_RECIPIENT_HOURLY", "1000000000".into()),
            ("MAIL_RECIPIENT_DAILY", "1000000000".into()),
            ("MAIL_RESET_HOURLY", "1000000000".into()),
            ("MAIL_RESET_DAILY", "1000000000".into()),
            (
                "AWS_ENDPOINT_URL_SESV2",
                format!("http://{}", c.secrets_endpoint()?),
            ),
            table[0].clone(),
            table[1].clone(),
        ],
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
