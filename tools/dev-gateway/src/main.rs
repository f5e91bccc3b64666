//! `dev-gateway [--template template.yaml] [--port 3000] [--static examples/web]
//! [--param Name=value ...] (--watch [--concurrency 2] [--resource Name=value ...]
//! [--env NAME=value ...] | --functions http://127.0.0.1:9000 | --packaged .aws-sam/build
//! [--resource Name=value ...] [--secret ARN=VARIABLE ...] [--mail-dir target/mail]
//! [--invoke-port 0]) [--jwt-key-cache SECONDS]`
//!
//! With `--watch` it builds every function of the template that a route or the authorizer
//! invokes and runs each under its own `cargo lambda watch` with the environment the template
//! gives it; with `--functions` it sends every invocation to an Invoke API already running.
//! With `--packaged` it runs the SAM-ready build `scripts/package` made: each deployed
//! function's `bootstrap` with exactly the environment the packaged template gives it, secrets
//! by ARN from a Secrets Manager stand-in (each value read from the named variable of the
//! gateway's environment, never from its command line), SES into `--mail-dir`, and an Invoke
//! API for the stream-triggered mailer (`local-dev relay-stream`).
//!
//! Routes on API Gateway's built-in JWT authorizer (`--param AuthorizerKind=builtin-jwt`) are
//! checked by its emulation, which fetches the issuer's discovery document and keys from the
//! local jwks function and keeps them `--jwt-key-cache` seconds (default 7200, as API Gateway).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use dev_gateway::environment::{FunctionSetup, LocalValues, function_setups};
use dev_gateway::gateway::Gateway;
use dev_gateway::invoke::Functions;
use dev_gateway::template::ApiModel;
use dev_gateway::watch;

struct Options {
    template: String,
    port: u16,
    functions: String,
    statics: Option<PathBuf>,
    parameters: BTreeMap<String, String>,
    watch: bool,
    concurrency: u16,
    resources: BTreeMap<String, String>,
    environment: BTreeMap<String, String>,
    packaged: Option<PathBuf>,
    secrets: BTreeMap<String, String>,
    mail_dir: Option<PathBuf>,
    invoke_port: u16,
    jwt_key_cache: Option<u64>,
}

fn pair(text: String, flag: &str) -> Result<(String, String), lexopt::Error> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| lexopt::Error::from(format!("{flag} {text}: expected Name=value")))?;
    Ok((name.to_owned(), value.to_owned()))
}

fn options() -> Result<Options, lexopt::Error> {
    use lexopt::prelude::*;
    let mut options = Options {
        template: "template.yaml".into(),
        port: 3000,
        functions: "http://127.0.0.1:9000".into(),
        statics: None,
        parameters: BTreeMap::new(),
        watch: false,
        concurrency: 2,
        resources: BTreeMap::new(),
        environment: BTreeMap::new(),
        packaged: None,
        secrets: BTreeMap::new(),
        mail_dir: None,
        invoke_port: 0,
        jwt_key_cache: None,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(argument) = parser.next()? {
        match argument {
            Long("template") => options.template = parser.value()?.string()?,
            Long("port") => options.port = parser.value()?.parse()?,
            Long("functions") => options.functions = parser.value()?.string()?,
            Long("static") => options.statics = Some(parser.value()?.into()),
            Long("param") => {
                let (name, value) = pair(parser.value()?.string()?, "--param")?;
                options.parameters.insert(name, value);
            }
            Long("watch") => options.watch = true,
            Long("concurrency") => options.concurrency = parser.value()?.parse()?,
            Long("resource") => {
                let (name, value) = pair(parser.value()?.string()?, "--resource")?;
                options.resources.insert(name, value);
            }
            Long("env") => {
                let (name, value) = pair(parser.value()?.string()?, "--env")?;
                options.environment.insert(name, value);
            }
            Long("packaged") => {
                let directory: PathBuf = parser.value()?.into();
                options.template = directory.join("template.yaml").display().to_string();
                options.packaged = Some(directory);
            }
            Long("secret") => {
                let (arn, variable) = pair(parser.value()?.string()?, "--secret")?;
                options.secrets.insert(arn, variable);
            }
            Long("mail-dir") => options.mail_dir = Some(parser.value()?.into()),
            Long("invoke-port") => options.invoke_port = parser.value()?.parse()?,
            Long("jwt-key-cache") => options.jwt_key_cache = Some(parser.value()?.parse()?),
            _ => return Err(argument.unexpected()),
        }
    }
    Ok(options)
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("dev-gateway: {message}");
    ExitCode::FAILURE
}

/// Each function's setup under `--watch`; prints what each gets (names, never values).
/// The functions the gateway invokes (a route's or the authorizer's), each with its template
/// environment. Others, such as the stream-triggered mailer, are not watched: nothing here
/// would invoke them (`scripts/dev` runs the mailer on the stream itself).
fn setups(options: &Options, model: &ApiModel) -> Result<Vec<FunctionSetup>, String> {
    let text = std::fs::read_to_string(&options.template)
        .map_err(|error| format!("cannot read {}: {error}", options.template))?;
    let mut resources = options.resources.clone();
    if let Ok(region) = std::env::var("AWS_REGION") {
        resources.insert("AWS::Region".into(), region);
    }
    let secret = |name: &str| std::env::var(name).ok();
    let locals = LocalValues {
        resources,
        secret: Some(&secret),
        overrides: options.environment.clone(),
    };
    let (setups, unused): (Vec<_>, Vec<_>) = function_setups(&text, &options.parameters, &locals)
        .map_err(|e| e.to_string())?
        .into_iter()
        .partition(|setup| {
            model
                .routes
                .iter()
                .any(|route| route.function == setup.binary)
                || model
                    .authorizer
                    .as_ref()
                    .is_some_and(|authorizer| authorizer.function == setup.binary)
        });
    println!("Functions (each under its own cargo lambda watch, with its template environment):");
    for setup in &setups {
        let names: Vec<&str> = setup.environment.keys().map(String::as_str).collect();
        println!("  {:<10} {}", setup.binary, names.join(" "));
    }
    if !unused.is_empty() {
        let names: Vec<&str> = unused.iter().map(|setup| setup.binary.as_str()).collect();
        println!(
            "Not invoked through the API, so not watched: {}",
            names.join(" ")
        );
    }
    Ok(setups)
}

/// Under `--packaged`: every function as the packaged template gives it, secrets by ARN.
fn packaged_setups(options: &Options) -> Result<Vec<FunctionSetup>, String> {
    let text = std::fs::read_to_string(&options.template)
        .map_err(|error| format!("cannot read {}: {error}", options.template))?;
    let mut resources = options.resources.clone();
    if let Ok(region) = std::env::var("AWS_REGION") {
        resources.insert("AWS::Region".into(), region);
    }
    let locals = LocalValues {
        resources,
        secret: None,
        overrides: options.environment.clone(),
    };
    let setups = function_setups(&text, &options.parameters, &locals).map_err(|e| e.to_string())?;
    println!("Functions (packaged bootstraps, each with its packaged template environment):");
    for setup in setups.iter().filter(|setup| setup.deployed) {
        let names: Vec<&str> = setup.environment.keys().map(String::as_str).collect();
        println!("  {:<17} {}", setup.binary, names.join(" "));
    }
    Ok(setups)
}

/// The Secrets Manager and SES stand-in of `--packaged`; its address goes to every function.
async fn aws_stand_in(options: &Options) -> Result<std::net::SocketAddr, String> {
    let mut secrets = std::collections::HashMap::new();
    for (arn, variable) in &options.secrets {
        let value = std::env::var(variable)
            .map_err(|_| format!("--secret {arn}={variable}: {variable} is not set"))?;
        secrets.insert(arn.clone(), value);
    }
    lambda_emulator::aws_stand_in::start(lambda_emulator::aws_stand_in::StandIn {
        secrets,
        mail_dir: options.mail_dir.clone(),
    })
    .await
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("dev-gateway: {error}");
            return ExitCode::from(2);
        }
    };
    let model = match ApiModel::load(&options.template, &options.parameters) {
        Ok(model) => model,
        Err(error) => return fail(error),
    };
    // Bound first, so a busy port is reported before any build.
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            return fail(format!(
                "cannot listen on 127.0.0.1:{}: {error}",
                options.port
            ));
        }
    };
    let mut functions = Functions::new(&options.functions);
    let mut watchers = None;
    let mut packaged = None;
    if let Some(build_dir) = &options.packaged {
        let setups = match packaged_setups(&options) {
            Ok(setups) => setups,
            Err(error) => return fail(error),
        };
        let stand_in = match aws_stand_in(&options).await {
            Ok(address) => format!("http://{address}"),
            Err(error) => return fail(error),
        };
        let mut plumbing = dev_gateway::packaged::Plumbing::from_env();
        for service in ["SECRETS_MANAGER", "SESV2"] {
            plumbing
                .variables
                .insert(format!("AWS_ENDPOINT_URL_{service}"), stand_in.clone());
        }
        let started =
            match dev_gateway::packaged::start(build_dir, &setups, &plumbing, functions).await {
                Ok(started) => started,
                Err(error) => return fail(error),
            };
        functions = started.1;
        let invoke = match tokio::net::TcpListener::bind(("127.0.0.1", options.invoke_port)).await {
            Ok(listener) => listener,
            Err(error) => return fail(format!("cannot serve the Invoke API: {error}")),
        };
        if let Ok(address) = invoke.local_addr() {
            println!("Invoke API on http://{address}");
        }
        // Only what no route or authorizer invokes: the API's functions stay behind it.
        let invocable = setups
            .iter()
            .filter(|setup| setup.deployed)
            .map(|setup| setup.binary.clone())
            .filter(|binary| {
                !model.routes.iter().any(|route| &route.function == binary)
                    && model
                        .authorizer
                        .as_ref()
                        .is_none_or(|authorizer| &authorizer.function != binary)
            })
            .collect();
        tokio::spawn(dev_gateway::packaged::serve_invoke_api(
            invoke,
            functions.clone(),
            invocable,
        ));
        packaged = Some(started.0);
    }
    if options.watch {
        let setups = match setups(&options, &model) {
            Ok(setups) => setups,
            Err(error) => return fail(error),
        };
        if let Err(error) = watch::build(&setups).await {
            return fail(error);
        }
        let (running, urls) = match watch::start(&setups, options.concurrency).await {
            Ok(spawned) => spawned,
            Err(error) => return fail(format!("cannot start cargo lambda watch: {error}")),
        };
        for (binary, url) in urls {
            functions = functions.with_function(&binary, &url);
        }
        watchers = Some(running);
    }
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!("Routes:");
    for route in &model.routes {
        let scopes = if route.scopes.is_empty() {
            String::new()
        } else {
            format!(", scopes {}", route.scopes.join(" "))
        };
        let protection = route
            .authorizer
            .as_deref()
            .map(|name| format!(" [authorizer {name}{scopes}]"))
            .unwrap_or_default();
        println!("  {:<28} -> {}{protection}", route.key, route.function);
    }
    if let Some(authorizer) = &model.authorizer {
        println!(
            "  authorizer {}: identity {}, cached {} s, {} responses",
            authorizer.function,
            authorizer.identity_sources.join(" + "),
            authorizer.cache_ttl.as_secs(),
            if authorizer.simple_responses {
                "simple"
            } else {
                "IAM"
            }
        );
    }
    if let Some(jwt) = &model.jwt_authorizer {
        println!(
            "  built-in JWT authorizer {}: issuer {}, audiences {}, identity {}",
            jwt.name,
            jwt.issuer,
            jwt.audiences.join(","),
            jwt.identity_source
        );
    }
    if let Some(root) = &options.statics {
        println!("  GET / and other files       -> {}", root.display());
    }
    let mut gateway = Gateway::new(model, functions, options.statics);
    if let Some(seconds) = options.jwt_key_cache {
        gateway = gateway.with_jwt_key_cache(std::time::Duration::from_secs(seconds));
    }
    let gateway = Arc::new(gateway);
    // The line scripts and tests wait for.
    println!("Ready: API on http://{address}");
    let serving = dev_gateway::server::serve(listener, gateway);
    let code = match (&mut watchers, &mut packaged) {
        (_, Some(running)) => tokio::select! {
            () = serving => ExitCode::SUCCESS,
            () = shutdown_signal() => ExitCode::SUCCESS,
            exit = running.first_exit() => {
                let (binary, status) = exit.unwrap_or_default();
                fail(format!("the packaged {binary} exited ({status}); stopping"))
            }
        },
        (Some(running), None) => tokio::select! {
            () = serving => ExitCode::SUCCESS,
            () = shutdown_signal() => ExitCode::SUCCESS,
            exit = running.first_exit() => {
                let how = match exit {
                    Some((binary, Ok(status))) => format!("{binary}: {status}"),
                    Some((binary, Err(error))) => format!("{binary}: {error}"),
                    None => "none left".to_owned(),
                };
                fail(format!("a cargo lambda watch exited ({how}); stopping"))
            }
        },
        (None, None) => tokio::select! {
            () = serving => ExitCode::SUCCESS,
            () = shutdown_signal() => ExitCode::SUCCESS,
        },
    };
    if let Some(running) = watchers {
        running.stop().await;
    }
    code
}
