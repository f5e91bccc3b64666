//! One `cargo lambda watch` per function (hot reload kept), each on its own loopback port with
//! exactly the environment the template gives that function: a single watch would hand every
//! function the same variables, so a variable missing from one function's template entry would
//! go unnoticed until deployment. Their output is prefixed with the function's name.

use std::collections::BTreeMap;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::environment::FunctionSetup;

/// Variables of the gateway's own environment that every function also gets: what cargo needs
/// to build and run it, and the local AWS credentials, region and endpoint, standing in for
/// what Lambda's runtime provides. `RUST_LOG`/`RUST_BACKTRACE` only when the developer set them.
fn passes_through(name: &str) -> bool {
    const NAMES: [&str; 10] = [
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "TERM",
        "TMPDIR",
        "RUST_LOG",
        "RUST_BACKTRACE",
        "RUSTFLAGS",
    ];
    const PREFIXES: [&str; 5] = ["CARGO", "RUSTUP", "RUSTC", "LC_", "AWS_"];
    NAMES.contains(&name) || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

fn base_environment() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(name, _)| passes_through(name))
        .collect()
}

/// Builds every function before anything is served, one `cargo build` per binary so each gets
/// the features it gets alone (as `cargo lambda watch` will build it), with the same environment.
pub async fn build(setups: &[FunctionSetup]) -> std::io::Result<()> {
    for setup in setups {
        println!("building {}", setup.binary);
        let status = Command::new("cargo")
            .args(["build", "--quiet", "--bin", &setup.binary])
            .env_clear()
            .envs(base_environment())
            .status()
            .await?;
        if !status.success() {
            return Err(std::io::Error::other(format!(
                "cargo build --bin {} failed ({status})",
                setup.binary
            )));
        }
    }
    Ok(())
}

pub struct Watchers {
    /// (binary, process id) of each `cargo lambda watch`.
    running: Vec<(String, u32)>,
    exits: mpsc::UnboundedReceiver<(String, std::io::Result<ExitStatus>)>,
}

/// A loopback port nothing listens on now.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

/// Starts a watch per function; returns them and each function's Invoke API base URL once
/// every watch listens (so the first request is not refused).
pub async fn start(
    setups: &[FunctionSetup],
    concurrency: u16,
) -> std::io::Result<(Watchers, Vec<(String, String)>)> {
    let (watchers, urls) = spawn(setups, concurrency)?;
    for (binary, url) in &urls {
        let address = url.trim_start_matches("http://");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(address).await.is_err() {
            if tokio::time::Instant::now() > deadline {
                watchers.stop().await;
                return Err(std::io::Error::other(format!(
                    "cargo lambda watch for {binary} is not listening on {address} after 60 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok((watchers, urls))
}

/// `concurrency`: instances per function, as Lambda runs concurrent requests side by side.
fn spawn(
    setups: &[FunctionSetup],
    concurrency: u16,
) -> std::io::Result<(Watchers, Vec<(String, String)>)> {
    let (sender, exits) = mpsc::unbounded_channel();
    let mut running = Vec::new();
    let mut urls = Vec::new();
    let base = base_environment();
    for setup in setups {
        let port = free_port()?.to_string();
        let mut child = Command::new("cargo")
            .args(["lambda", "watch", "--bin", &setup.binary])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port", &port])
            .args(["--concurrency", &concurrency.to_string()])
            .env_clear()
            .envs(&base)
            .envs(&setup.environment)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let width = setups.iter().map(|s| s.binary.len()).max().unwrap_or(0);
        let label = format!("{:>width$} |", setup.binary);
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(prefixed(stdout, label.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(prefixed(stderr, label));
        }
        running.push((setup.binary.clone(), child.id().unwrap_or_default()));
        urls.push((setup.binary.clone(), format!("http://127.0.0.1:{port}")));
        let binary = setup.binary.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = sender.send((binary, status));
        });
    }
    Ok((Watchers { running, exits }, urls))
}

async fn prefixed(stream: impl AsyncRead + Unpin, label: String) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        println!("{label} {line}");
    }
}

impl Watchers {
    /// The first watch to exit, and how.
    pub async fn first_exit(&mut self) -> Option<(String, std::io::Result<ExitStatus>)> {
        self.exits.recv().await
    }

    /// Asks every watch to stop (SIGTERM, so each stops its function), then kills what is left
    /// after a few seconds.
    pub async fn stop(mut self) {
        let signal = |name: &str, pid: u32| {
            let _ = std::process::Command::new("kill")
                .args([name, &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        };
        for (_, pid) in &self.running {
            signal("-TERM", *pid);
        }
        let mut left = self.running.len();
        let deadline = tokio::time::sleep(Duration::from_secs(5));
        tokio::pin!(deadline);
        while left > 0 {
            tokio::select! {
                exit = self.exits.recv() => match exit {
                    Some((binary, _)) => {
                        self.running.retain(|(name, _)| *name != binary);
                        left -= 1;
                    }
                    None => break,
                },
                () = &mut deadline => break,
            }
        }
        for (_, pid) in &self.running {
            signal("-KILL", *pid);
        }
    }
}
