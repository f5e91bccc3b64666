//! `dev-gateway [--template template.yaml] [--port 3000] [--functions http://127.0.0.1:9000]
//! [--static examples/web] [--param Name=value ...]`

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use dev_gateway::gateway::Gateway;
use dev_gateway::invoke::Functions;
use dev_gateway::template::ApiModel;

struct Options {
    template: String,
    port: u16,
    functions: String,
    statics: Option<PathBuf>,
    parameters: BTreeMap<String, String>,
}

fn options() -> Result<Options, lexopt::Error> {
    use lexopt::prelude::*;
    let mut options = Options {
        template: "template.yaml".into(),
        port: 3000,
        functions: "http://127.0.0.1:9000".into(),
        statics: None,
        parameters: BTreeMap::new(),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(argument) = parser.next()? {
        match argument {
            Long("template") => options.template = parser.value()?.string()?,
            Long("port") => options.port = parser.value()?.parse()?,
            Long("functions") => options.functions = parser.value()?.string()?,
            Long("static") => options.statics = Some(parser.value()?.into()),
            Long("param") => {
                let pair = parser.value()?.string()?;
                let (name, value) = pair.split_once('=').ok_or_else(|| {
                    lexopt::Error::from(format!("--param {pair}: expected Name=value"))
                })?;
                options.parameters.insert(name.to_owned(), value.to_owned());
            }
            _ => return Err(argument.unexpected()),
        }
    }
    Ok(options)
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
        Err(error) => {
            eprintln!("dev-gateway: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!(
                "dev-gateway: cannot listen on 127.0.0.1:{}: {error}",
                options.port
            );
            return ExitCode::FAILURE;
        }
    };
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!(
        "API on http://{address} (functions through {})",
        options.functions
    );
    for route in &model.routes {
        let protection = route
            .authorizer
            .as_deref()
            .map(|name| format!(" [authorizer {name}]"))
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
    if let Some(root) = &options.statics {
        println!("  GET / and other files       -> {}", root.display());
    }
    let gateway = Arc::new(Gateway::new(
        model,
        Functions::new(&options.functions),
        options.statics,
    ));
    dev_gateway::server::serve(listener, gateway).await;
    ExitCode::SUCCESS
}
