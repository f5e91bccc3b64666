//! The stack exactly as a developer starts it: `scripts/dev`, on free ports, with its own table,
//! in its own process group so that stopping it stops everything it started.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A cold first run builds every function; CI's budget allows that, nothing more.
const READY_WITHIN: Duration = Duration::from_secs(15 * 60);

pub struct Stack {
    child: Child,
    pub base: String,
    pub root: PathBuf,
    environment: Vec<(String, String)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

pub fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

impl Stack {
    pub fn start() -> Result<Self, String> {
        Self::start_with(&[], "dev.log")
    }

    /// `scripts/dev <arguments>` (e.g. `--packaged`), its output in `target/stack/<log>`.
    pub fn start_with(arguments: &[&str], log_name: &str) -> Result<Self, String> {
        let root = root();
        let port = free_port();
        let environment = vec![
            ("PORT".to_owned(), port.to_string()),
            ("DYNAMODB_PORT".to_owned(), free_port().to_string()),
            (
                "TABLE_NAME".to_owned(),
                format!("stack-{}", std::process::id()),
            ),
            ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
            // The default, pinned: the verification flow relies on a resend inside it sending
            // nothing new.
            ("MAIL_MIN_INTERVAL".to_owned(), "60s".to_owned()),
        ];
        let log_dir = target_dir(&root).join("stack");
        std::fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
        let log = log_dir.join(log_name);
        let mut log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut child = Command::new(root.join("scripts/dev"))
            .args(arguments)
            .current_dir(&root)
            .envs(environment.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|error| format!("cannot run scripts/dev: {error}"))?;
        let (ready_sender, ready) = mpsc::channel();
        let (lines_sender, lines) = mpsc::channel::<String>();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines_sender = lines_sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = lines_sender.send(line);
                }
            });
        }
        drop(lines_sender);
        std::thread::spawn(move || {
            for line in lines {
                let _ = writeln!(log_file, "{line}");
                if let Some(url) = line.strip_prefix("Ready: API on ") {
                    let _ = ready_sender.send(url.trim().to_owned());
                }
            }
        });
        let stack = |base: String| Self {
            child,
            base,
            root: root.clone(),
            environment: environment.clone(),
        };
        match ready.recv_timeout(READY_WITHIN) {
            Ok(base) => {
                println!(
                    "scripts/dev ready at {base} after {:.1} s (its output: {})",
                    started.elapsed().as_secs_f64(),
                    log.display()
                );
                Ok(stack(base))
            }
            Err(_) => {
                drop(stack(String::new()));
                let output = std::fs::read_to_string(&log).unwrap_or_default();
                Err(format!(
                    "scripts/dev never printed its Ready line; its output:\n{output}"
                ))
            }
        }
    }

    /// `cargo run -p local-dev -- <arguments>` against this stack's table, as the README says.
    pub fn local_dev(&self, arguments: &[&str]) -> Result<(), String> {
        let output = Command::new("cargo")
            .args(["run", "--quiet", "-p", "local-dev", "--"])
            .args(arguments)
            .current_dir(&self.root)
            .envs(self.environment.iter().cloned())
            .env(
                "AWS_ENDPOINT_URL_DYNAMODB",
                format!("http://127.0.0.1:{}", self.variable("DYNAMODB_PORT")),
            )
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .map_err(|error| error.to_string())?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "local-dev {arguments:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    fn variable(&self, name: &str) -> &str {
        self.environment
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let signal = |name: &str| {
            let _ = Command::new("kill")
                .args([name, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        signal("-KILL");
        let _ = self.child.wait();
    }
}
