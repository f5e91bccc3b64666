//! What deploys, started: the SAM-ready build `scripts/package` left in `.aws-sam/build`, run
//! by `scripts/dev --packaged` (each `bootstrap` under a local Lambda Runtime API with exactly
//! the environment the packaged template gives it, secrets by ARN from a stand-in, mail through
//! an SES stand-in, the mailer invoked by a stand-in of its stream mapping). First each artifact
//! is checked against Lambda's runtime (size, newest glibc symbol), then the flows run through
//! the lean stack and again through the strict one (`AuthorizerCheckRevocation=true`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// Shared with the stack test, which uses all of them.
#[allow(dead_code)]
mod flows;
#[allow(dead_code)]
mod http;
#[allow(dead_code)]
mod mail;
#[allow(dead_code)]
mod stack;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use flows::{PASSWORD, register, unique_email};
use http::{Api, Reply};
use serde_json::json;
use stack::Stack;

/// provided.al2023's glibc: an artifact needing a newer symbol fails to start in Lambda (the
/// same figure as scripts/lib/lambda.sh, which scripts/package builds for).
const LAMBDA_GLIBC: (u32, u32) = (2, 34);
/// Our own budget per artifact (Lambda allows 50 MB zipped, 250 MB unzipped): a binary past it
/// has picked up something it should not have. The lean authorizer has a tighter one: 5 MiB
/// since it verifies through aws-lc-rs (about 1.4 MB of constant-time crypto, 4.75 MB in all;
/// README, "Signing and verifying through aws-lc-rs"), well under what the SDK would add.
const ARTIFACT_BUDGET: u64 = 24 * 1024 * 1024;
const LEAN_AUTHORIZER_BUDGET: u64 = 5 * 1024 * 1024;
const NEW_PASSWORD: &str = "a brand new passphrase";

fn build_dir() -> PathBuf {
    std::env::var_os("PACKAGE_OUT")
        .map_or_else(|| stack::root().join(".aws-sam/build"), PathBuf::from)
}

/// The newest `GLIBC_x.y` version any dynamic symbol of `binary` needs.
fn newest_glibc(binary: &Path) -> Result<(u32, u32), String> {
    let output = Command::new("objdump")
        .arg("-T")
        .arg(binary)
        .output()
        .map_err(|error| format!("objdump: {error}"))?;
    if !output.status.success() {
        return Err(format!("objdump -T {} failed", binary.display()));
    }
    String::from_utf8_lossy(&output.stdout)
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| {
            let (major, minor) = version.split_once('.')?;
            let minor = minor.split('.').next()?;
            Some((major.parse().ok()?, minor.parse().ok()?))
        })
        .max()
        .ok_or_else(|| format!("{} names no GLIBC version", binary.display()))
}

/// The functions of the packaged template (JSON) and the directory each one's `CodeUri` names.
fn packaged_functions(directory: &Path) -> Result<Vec<(String, String)>, String> {
    let path = directory.join("template.yaml");
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("{}: {error} (run scripts/package)", path.display()))?;
    let template: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))?;
    let resources = template["Resources"]
        .as_object()
        .ok_or("the packaged template has no Resources")?;
    let functions: Vec<(String, String)> = resources
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::Serverless::Function")
        .map(|(id, resource)| {
            let code = resource["Properties"]["CodeUri"]
                .as_str()
                .unwrap_or_default();
            (id.clone(), code.to_owned())
        })
        .collect();
    for (id, code) in &functions {
        if code != id {
            return Err(format!(
                "{id}: CodeUri {code:?}, expected its own directory"
            ));
        }
    }
    Ok(functions)
}

/// The lean authorizer's promise, on the artifact itself: no AWS SDK linked (its crates' names
/// survive stripping in panic locations), checked against the strict one, which has it.
fn links_the_sdk(bootstrap: &Path) -> Result<bool, String> {
    let bytes = std::fs::read(bootstrap).map_err(|error| error.to_string())?;
    Ok(bytes
        .windows(b"aws-sdk-dynamodb".len())
        .any(|window| window == b"aws-sdk-dynamodb"))
}

/// Every function of the packaged template: its bootstrap's size and glibc against Lambda's.
fn check_artifacts(directory: &Path) -> Result<Vec<String>, String> {
    let mut report = Vec::new();
    let functions = packaged_functions(directory)?;
    if functions.is_empty() {
        return Err("the packaged template has no functions".into());
    }
    for (name, _) in functions {
        let bootstrap = directory.join(&name).join("bootstrap");
        if !bootstrap.is_file() {
            return Err(format!("{name}: no {}", bootstrap.display()));
        }
        let size = std::fs::metadata(&bootstrap)
            .map_err(|error| error.to_string())?
            .len();
        let budget = if name == "AuthorizerFunction" {
            LEAN_AUTHORIZER_BUDGET
        } else {
            ARTIFACT_BUDGET
        };
        let glibc = newest_glibc(&bootstrap)?;
        if size > budget {
            return Err(format!("{name}: {size} bytes, over its budget of {budget}"));
        }
        if glibc > LAMBDA_GLIBC {
            return Err(format!(
                "{name} needs GLIBC_{}.{}; provided.al2023 has {}.{}",
                glibc.0, glibc.1, LAMBDA_GLIBC.0, LAMBDA_GLIBC.1
            ));
        }
        let sdk = links_the_sdk(&bootstrap)?;
        match (name.as_str(), sdk) {
            ("AuthorizerFunction", true) => {
                return Err("the lean authorizer's bootstrap links the AWS SDK".into());
            }
            ("StrictAuthorizerFunction", false) => {
                return Err(
                    "the strict authorizer shows no AWS SDK: the lean check cannot see it either"
                        .into(),
                );
            }
            _ => {}
        }
        report.push(format!(
            "{name}: {size} bytes, newest symbol GLIBC_{}.{}{}",
            glibc.0,
            glibc.1,
            if sdk { ", AWS SDK linked" } else { "" }
        ));
    }
    Ok(report)
}

async fn login(api: &Api, email: &str, password: &str) -> Reply {
    api.post(
        "/auth/login",
        &[],
        Some(json!({"email": email, "password": password})),
    )
    .await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Register, login, the authorizer, refresh, logout: every issuing function and the
/// authorizer in force, as deployed.
async fn sign_in_flow(api: &Api) {
    let email = unique_email("flow");
    register(api, &email).await;
    let signed_in = login(api, &email, PASSWORD).await;
    assert_eq!(signed_in.status, 200, "login: {signed_in:?}");
    let token = signed_in.access_token();
    let cookie = signed_in.refresh_cookie().expect("refresh cookie");

    let me = api.get("/me", Some(&token)).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["user"]["email"], email.as_str());
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(api.get("/me", Some(&tampered)).await.status, 401);
    assert_eq!(api.get("/me", None).await.status, 401);
    let jwks = api.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, 200, "{jwks:?}");
    assert!(jwks.body["keys"][0]["kid"].is_string(), "{jwks:?}");

    let refreshed = api
        .post("/auth/refresh", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let rotated = refreshed.refresh_cookie().expect("rotated cookie");
    assert_eq!(
        api.get("/me", Some(&refreshed.access_token())).await.status,
        200
    );
    let sessions = api
        .send(
            "GET",
            "/auth/sessions",
            &[("authorization", &bearer(&refreshed.access_token()))],
            None,
        )
        .await;
    assert_eq!(sessions.status, 200, "{sessions:?}");

    let logout = api
        .post("/auth/logout", &[("cookie", &rotated)], None)
        .await;
    assert_eq!(logout.status, 204, "{logout:?}");
    let after = api
        .post("/auth/refresh", &[("cookie", &rotated)], None)
        .await;
    assert_eq!(after.status, 401, "{after:?}");
}

/// Forgot, the mailer on the stream sends through SES, reset, login with the new password.
async fn reset_through_the_mailer(api: &Api, root: &Path) {
    let email = unique_email("reset");
    register(api, &email).await;
    let forgot = api
        .post("/auth/password/forgot", &[], Some(json!({"email": email})))
        .await;
    assert_eq!(forgot.status, 202, "{forgot:?}");
    let link = mail::mailed_link(root, &email, "/reset-password").await;
    let token = link.split_once("#token=").expect("token in link").1;
    let reset = api
        .post(
            "/auth/password/reset",
            &[],
            Some(json!({"token": token, "newPassword": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(reset.status, 204, "{reset:?}");
    assert_eq!(login(api, &email, PASSWORD).await.status, 401);
    assert_eq!(login(api, &email, NEW_PASSWORD).await.status, 200);
}

/// A token issued before logout-all, first presented after it: the lean authorizer admits it
/// until it expires (stateless), the strict one refuses it at once.
async fn logout_all_then_first_use(api: &Api, strict: bool) {
    let email = unique_email("epoch");
    register(api, &email).await;
    let first = login(api, &email, PASSWORD).await.access_token();
    let second = login(api, &email, PASSWORD).await.access_token();
    let everywhere = api
        .post(
            "/auth/logout-all",
            &[("authorization", &bearer(&second))],
            None,
        )
        .await;
    assert_eq!(everywhere.status, 204, "{everywhere:?}");
    let me = api.get("/me", Some(&first)).await;
    let expected = if strict { 401 } else { 200 };
    assert_eq!(me.status, expected, "strict {strict}: {me:?}");
    let fresh = login(api, &email, PASSWORD).await.access_token();
    assert_eq!(api.get("/me", Some(&fresh)).await.status, 200);
}

async fn run_stack(arguments: &[&str], log: &str, strict: bool) -> Result<(), String> {
    let started = Instant::now();
    let stack = Stack::start_with(arguments, log)?;
    let api = Api::new(&stack.base);
    let root = stack.root.clone();
    let flows = tokio::spawn(async move {
        sign_in_flow(&api).await;
        println!("  sign-in flow ... ok");
        if !strict {
            reset_through_the_mailer(&api, &root).await;
            println!("  reset through the mailer ... ok");
        }
        logout_all_then_first_use(&api, strict).await;
        println!("  logout-all, then first use (strict {strict}) ... ok");
    })
    .await;
    drop(stack);
    match flows {
        Ok(()) => {
            println!(
                "packaged stack {arguments:?} ... ok ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(error) => Err(format!("packaged stack {arguments:?}: {error}")),
    }
}

fn main() -> ExitCode {
    let directory = build_dir();
    match check_artifacts(&directory) {
        Ok(report) => {
            println!("artifacts in {}:", directory.display());
            for line in report {
                println!("  {line}");
            }
        }
        Err(reason) => {
            println!("artifacts ... FAILED\n    {reason}");
            return ExitCode::FAILURE;
        }
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let outcome = runtime.block_on(async {
        run_stack(&["--packaged"], "packaged.log", false).await?;
        run_stack(
            &["--packaged", "--param", "AuthorizerCheckRevocation=true"],
            "packaged-strict.log",
            true,
        )
        .await
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            println!("FAILED: {reason}");
            ExitCode::FAILURE
        }
    }
}
