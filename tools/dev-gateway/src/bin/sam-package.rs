//! `sam-package functions` (lines of `LogicalId binary MemorySize`) `| architecture [--param Name=value ...] | write <out> [--param Architecture=arm64]` over
//! `--template template.yaml`: what `scripts/package` builds and the template it leaves in
//! `.aws-sam/build` (dev_gateway::package).

use std::collections::BTreeMap;
use std::process::ExitCode;

use dev_gateway::package;

fn run() -> Result<String, String> {
    let mut template = "template.yaml".to_owned();
    let mut parameters = BTreeMap::new();
    let mut words = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--template" => template = args.next().ok_or("--template needs a path")?,
            "--param" => {
                let pair = args.next().ok_or("--param needs Name=value")?;
                let (name, value) = pair.split_once('=').ok_or("--param needs Name=value")?;
                parameters.insert(name.to_owned(), value.to_owned());
            }
            _ => words.push(arg),
        }
    }
    let text = std::fs::read_to_string(&template)
        .map_err(|error| format!("cannot read {template}: {error}"))?;
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["functions"] => Ok(package::functions(&text)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|f| format!("{} {} {}\n", f.logical_id, f.binary, f.memory_size))
            .collect()),
        ["architecture"] => package::architecture(&text, &parameters)
            .map(|architecture| format!("{architecture}\n"))
            .map_err(|e| e.to_string()),
        ["write", out] => {
            let architecture =
                package::architecture(&text, &parameters).map_err(|e| e.to_string())?;
            let packaged =
                package::packaged_template(&text, &architecture).map_err(|e| e.to_string())?;
            std::fs::write(out, packaged).map_err(|error| format!("cannot write {out}: {error}"))?;
            Ok(String::new())
        }
        _ => Err("usage: sam-package [--template t] functions | architecture [--param N=v] | write <out>".into()),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("sam-package: {message}");
            ExitCode::FAILURE
        }
    }
}
