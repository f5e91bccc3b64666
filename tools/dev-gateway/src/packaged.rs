//! Packaged mode (`--packaged .aws-sam/build`): every function the template deploys under the
//! parameters in force runs as its packaged `bootstrap`, started as Lambda starts it (the
//! template's variables and Lambda's own, nothing inherited) and polling a Runtime API of its
//! own. What is invoked from outside the API (the stream-triggered mailer) is reached through
//! an Invoke API (`POST /2015-03-31/functions/<binary>/invocations`) served beside the gateway.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lambda_emulator::runtime_api::RuntimeApi;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::task::JoinSet;

use crate::environment::FunctionSetup;
use crate::invoke::{Functions, Invocation};

/// How long a `bootstrap` may take from exec to its first `/next` (Lambda's init limit is 10 s).
const INIT_WITHIN: Duration = Duration::from_secs(10);

/// What only the machine knows: the region, credentials and local endpoints every function
/// process gets besides the template's variables.
pub struct Plumbing {
    pub variables: BTreeMap<String, String>,
}

impl Plumbing {
    /// From the gateway's own environment: `AWS_REGION`, the credentials, the endpoint
    /// overrides (`AWS_ENDPOINT_URL_*`) and `AWS_EC2_METADATA_DISABLED`.
    pub fn from_env() -> Self {
        let variables = std::env::vars()
            .filter(|(name, _)| {
                name.starts_with("AWS_ENDPOINT_URL_")
                    || matches!(
                        name.as_str(),
                        "AWS_REGION"
                            | "AWS_ACCESS_KEY_ID"
                            | "AWS_SECRET_ACCESS_KEY"
                            | "AWS_SESSION_TOKEN"
                            | "AWS_EC2_METADATA_DISABLED"
                    )
            })
            .collect();
        Self { variables }
    }
}

/// The running `bootstrap` processes.
pub struct Packaged {
    children: Vec<(String, Child)>,
}

/// Starts each deployed function of `setups` from `<build_dir>/<LogicalId>/bootstrap` and waits
/// for its init; returns them and `functions` extended with their Runtime APIs.
pub async fn start(
    build_dir: &Path,
    setups: &[FunctionSetup],
    plumbing: &Plumbing,
    mut functions: Functions,
) -> Result<(Packaged, Functions), String> {
    let mut children = Vec::new();
    for setup in setups.iter().filter(|setup| setup.deployed) {
        let bootstrap = build_dir.join(&setup.logical_id).join("bootstrap");
        if !bootstrap.is_file() {
            return Err(format!(
                "{} is missing: run scripts/package first",
                bootstrap.display()
            ));
        }
        let mut runtime = RuntimeApi::start(&setup.logical_id)
            .await
            .map_err(|error| format!("{}: cannot serve its Runtime API: {error}", setup.binary))?;
        let mut child = Command::new(&bootstrap)
            .current_dir(build_dir.join(&setup.logical_id))
            .env_clear()
            .envs(lambda_variables(setup, &runtime))
            .envs(&plumbing.variables)
            .envs(&setup.environment)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", bootstrap.display()))?;
        // Ready, a reported init error, an exit, or the init limit: whichever comes first.
        let ready = tokio::select! {
            ready = tokio::time::timeout(INIT_WITHIN, runtime.ready()) => match ready {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(reason)) => Err(reason),
                Err(_) => Err(format!("no init within {} s", INIT_WITHIN.as_secs())),
            },
            status = child.wait() => Err(format!(
                "exited during init ({})",
                status.map_or_else(|error| error.to_string(), |status| status.to_string())
            )),
        };
        ready.map_err(|reason| format!("{}: {reason}", setup.binary))?;
        children.push((setup.binary.clone(), child));
        functions = functions.with_runtime(&setup.binary, Arc::new(runtime));
    }
    Ok((Packaged { children }, functions))
}

/// What Lambda itself sets in every execution environment.
fn lambda_variables(setup: &FunctionSetup, runtime: &RuntimeApi) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", setup.logical_id.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            setup.memory_size.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", setup.logical_id),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_owned()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

impl Packaged {
    /// Resolves when the first `bootstrap` exits (Lambda would replace its environment; here
    /// that is a failure to report): its binary and exit status.
    pub async fn first_exit(&mut self) -> Option<(String, String)> {
        if self.children.is_empty() {
            return std::future::pending().await;
        }
        let mut waits = JoinSet::new();
        for (binary, mut child) in std::mem::take(&mut self.children) {
            waits.spawn(async move {
                let status = child.wait().await;
                (binary, status, child)
            });
        }
        let (binary, status, _) = waits.join_next().await?.ok()?;
        // The others are dropped with the set, which kills them (kill_on_drop).
        Some((
            binary,
            status.map_or_else(|error| error.to_string(), |status| status.to_string()),
        ))
    }
}

/// Serves the Invoke API on `listener` for the functions of `invocable` only: those nothing in
/// the API invokes (the stream-triggered mailer), so it is no way around the authorizer.
pub async fn serve_invoke_api(
    listener: TcpListener,
    functions: Functions,
    invocable: std::collections::BTreeSet<String>,
) {
    let functions = Arc::new((functions, invocable));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let functions = Arc::clone(&functions);
                connections.spawn(async move {
                    let service = service_fn(move |request| invoke(Arc::clone(&functions), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn answer(status: StatusCode, function_error: bool, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if function_error {
        response.headers_mut().insert(
            "x-amz-function-error",
            http::HeaderValue::from_static("Unhandled"),
        );
    }
    response
}

async fn invoke(
    functions: Arc<(Functions, std::collections::BTreeSet<String>)>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (functions, invocable) = functions.as_ref();
    let name = request
        .uri()
        .path()
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .map(str::to_owned);
    let not_found = |message: &str| {
        answer(
            StatusCode::NOT_FOUND,
            false,
            serde_json::json!({"Type": "User", "message": message})
                .to_string()
                .into_bytes(),
        )
    };
    let Some(name) = name.filter(|name| invocable.contains(name) && functions.knows(name)) else {
        return Ok(not_found("no such function"));
    };
    if request.method() != Method::POST {
        return Ok(not_found("invoke with POST"));
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return Ok(answer(
            StatusCode::BAD_REQUEST,
            false,
            br#"{"Type":"User","message":"the event is not JSON"}"#.to_vec(),
        ));
    };
    Ok(match functions.invoke(&name, &event).await {
        Ok((Invocation::Response(document), _)) => {
            answer(StatusCode::OK, false, document.to_string().into_bytes())
        }
        Ok((Invocation::Error(document), _)) => {
            answer(StatusCode::OK, true, document.to_string().into_bytes())
        }
        Err(error) => answer(
            StatusCode::BAD_GATEWAY,
            false,
            serde_json::json!({"Type": "Service", "message": error.to_string()})
                .to_string()
                .into_bytes(),
        ),
    })
}
