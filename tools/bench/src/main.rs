//! The whole-process benchmark. Serves the Lambda Runtime API on 127.0.0.1, runs each function's
//! release binary (and the seed's Node authorizer) as a child process against it, and measures
//! cold start, first-invocation and warm latency, CPU per invocation and peak RSS from /proc.
//! `scripts/bench` builds everything, starts DynamoDB Local and runs this; see its header.
//!
//! ```text
//! bench --release-dir DIR --out-dir DIR [--runs N] [--slow-runs N] [--fast-runs N]
//!       [--cold-samples N] [--dynamodb-pid PID] [--quiet-wait SECONDS] [--pin split|same|none]
//!       [--node PATH --node-modules DIR --node-scripts DIR] [--only name,name,…]
//! ```
//! Environment: TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB (and optionally AWS_REGION).

mod events;
mod procfs;
mod report;
mod runtime_api;

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hyper::body::Bytes;
use serde_json::{Value, json};

use events::{Expect, Session, Workload};
use report::{Machine, QUIET_CORES, Row, Settings};
use runtime_api::{Outcome, RuntimeApi};

type Result<T> = std::result::Result<T, String>;

/// How long a function may take to become ready, or to answer one invocation.
const TIMEOUT: Duration = Duration::from_secs(60);

struct Options {
    release_dir: PathBuf,
    out_dir: PathBuf,
    /// Functions that call DynamoDB (refresh, logout, me).
    runs: usize,
    /// register and login: argon2id is most of each call.
    slow_runs: usize,
    /// Functions without I/O (authorizer, jwks, the echo floors, the Node authorizers): enough
    /// invocations that `/proc/<pid>/stat`'s 10 ms ticks resolve about 1 µs per invocation.
    fast_runs: usize,
    cold_samples: usize,
    /// DynamoDB Local's process, so its CPU is not counted as other load.
    dynamodb_pid: Option<u32>,
    /// In all, how long to wait for other processes' CPU load to end before measuring.
    quiet_wait: Duration,
    pin: Pin,
    node: Option<PathBuf>,
    node_modules: Option<PathBuf>,
    node_scripts: Option<PathBuf>,
    only: Option<Vec<String>>,
}

impl Options {
    fn parse() -> Result<Self> {
        let mut values: HashMap<String, String> = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {flag}"))?;
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            values.insert(name.to_owned(), value);
        }
        let number = |name: &str, default: usize| -> Result<usize> {
            values.get(name).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| format!("--{name} must be a number, got {v}"))
            })
        };
        let options = Self {
            release_dir: values
                .get("release-dir")
                .map(PathBuf::from)
                .ok_or("--release-dir is required")?,
            out_dir: values
                .get("out-dir")
                .map(PathBuf::from)
                .ok_or("--out-dir is required")?,
            runs: number("runs", 1000)?,
            slow_runs: number("slow-runs", 200)?,
            fast_runs: number("fast-runs", 10_000)?,
            cold_samples: number("cold-samples", 15)?.max(1),
            dynamodb_pid: values
                .get("dynamodb-pid")
                .map(|pid| pid.parse().map_err(|_| format!("bad --dynamodb-pid {pid}")))
                .transpose()?,
            quiet_wait: Duration::from_secs(number("quiet-wait", 120)? as u64),
            pin: match values.get("pin").map(String::as_str) {
                None | Some("same") => Pin::Same,
                Some("split") => Pin::Split,
                Some("none") => Pin::None,
                Some(other) => return Err(format!("--pin none|same|split, not {other}")),
            },
            node: values.get("node").map(PathBuf::from),
            node_modules: values.get("node-modules").map(PathBuf::from),
            node_scripts: values.get("node-scripts").map(PathBuf::from),
            only: values
                .get("only")
                .map(|list| list.split(',').map(str::to_owned).collect()),
        };
        Ok(options)
    }

    fn wants(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == name))
    }
}

/// CPU placement of the harness and the function process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pin {
    /// Wherever the scheduler puts them.
    None,
    /// The harness and the function on the last CPU, taking turns as a small Lambda function
    /// and its Runtime API do on one vCPU; DynamoDB Local on CPU 0.
    Same,
    /// The function on the last CPU, the harness (and DynamoDB Local) on CPU 0: every event and
    /// every response is a wake-up across CPUs.
    Split,
}

impl Pin {
    fn label(self) -> &'static str {
        match self {
            Pin::None => "unpinned",
            Pin::Same => "same CPU as the harness",
            Pin::Split => "other CPU than the harness",
        }
    }

    /// The CPUs a function process runs on.
    fn function_cpus(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Pin::None => 0..=last_cpu(),
            Pin::Same | Pin::Split => last_cpu()..=last_cpu(),
        }
    }

    /// Moves the harness (its only thread: the runtime is current-thread) into place.
    fn place_harness(self) -> Result<()> {
        let cpus = match self {
            Pin::None => 0..=last_cpu(),
            Pin::Same => last_cpu()..=last_cpu(),
            Pin::Split => 0..=0,
        };
        set_affinity(0, cpus).map_err(|e| format!("pinning the harness: {e}"))
    }
}

/// Pins every thread a running process has now (threads it starts later inherit their
/// creator's placement).
fn pin_threads(pid: u32, cpus: std::ops::RangeInclusive<usize>) -> Result<()> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| e.to_string())?;
    for task in tasks.flatten() {
        if let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) {
            // A thread may have exited since the listing: ignore it.
            let _ = set_affinity(tid, cpus.clone());
        }
    }
    Ok(())
}

fn set_affinity(pid: libc::pid_t, cpus: std::ops::RangeInclusive<usize>) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET stays within it for cpu < CPU_SETSIZE.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The machine's last online CPU. Not `available_parallelism`: that follows the harness's own
/// (pinned) affinity mask.
fn last_cpu() -> usize {
    report::online_cpus().max(1) - 1
}

/// Spawns `command` on `pin`'s function CPUs. A child inherits the harness's affinity, so the
/// harness steps onto those CPUs for the spawn and back afterwards: a `pre_exec` hook would
/// force fork + exec instead of posix_spawn, and that cost would land in the cold start.
fn spawn_on(command: &mut Command, pin: Pin) -> std::io::Result<Child> {
    let harness = current_affinity();
    set_affinity(0, pin.function_cpus())?;
    let child = command.spawn();
    if let Some(harness) = harness {
        // SAFETY: restores the mask sched_getaffinity filled in.
        unsafe {
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &harness);
        }
    }
    child
}

fn current_affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: sched_getaffinity fills the zeroed set we own.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
            .then_some(set)
    }
}

/// One kind of process to measure.
struct Spec {
    name: String,
    kind: &'static str,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    binary: Option<PathBuf>,
    round_trips: Option<&'static str>,
    runs: usize,
    pin: Pin,
    note: Option<String>,
}

/// A running function process with its own Runtime API. Killed (SIGKILL) when dropped.
struct Process {
    name: String,
    child: Child,
    api: RuntimeApi,
    pid: u32,
    log: PathBuf,
    ready_after: Duration,
    rss_init_kib: u64,
}

impl Process {
    async fn start(spec: &Spec, env: &[(String, String)], log: &Path, pin: Pin) -> Result<Self> {
        let mut api = RuntimeApi::start(&spec.name)
            .await
            .map_err(|e| format!("runtime API for {}: {e}", spec.name))?;
        let log_file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let stderr = log_file.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(stderr);
        let started = Instant::now();
        let mut child = spawn_on(&mut command, pin)
            .map_err(|e| format!("cannot start {}: {e}", spec.program.display()))?;
        let pid = child.id();
        let ready = {
            let ready = api.ready();
            tokio::pin!(ready);
            let deadline = tokio::time::sleep(TIMEOUT);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    result = &mut ready => break result,
                    () = tokio::time::sleep(Duration::from_millis(20)) => {
                        if let Ok(Some(status)) = child.try_wait() {
                            break Err(format!("exited during init ({status})"));
                        }
                    }
                    () = &mut deadline => break Err("not ready within 60 s".to_owned()),
                }
            }
        };
        let ready = match ready {
            Ok(at) => at,
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{}: {error}; its output is in {}",
                    spec.name,
                    log.display()
                ));
            }
        };
        // The process is now blocked in its first `/next`: this is the peak of its init.
        let rss_init_kib = procfs::peak_rss_kib(pid).unwrap_or(0);
        Ok(Self {
            name: spec.name.clone(),
            child,
            api,
            pid,
            log: log.to_owned(),
            ready_after: ready.duration_since(started),
            rss_init_kib,
        })
    }

    async fn invoke(&mut self, event: Bytes) -> Result<Outcome> {
        match tokio::time::timeout(TIMEOUT, self.api.invoke(event)).await {
            Ok(Some(outcome)) => Ok(outcome),
            Ok(None) | Err(_) => {
                let state = match self.child.try_wait() {
                    Ok(Some(status)) => format!("exited ({status})"),
                    _ => "did not answer within 60 s".to_owned(),
                };
                Err(format!(
                    "{} {state}; its output is in {}",
                    self.name,
                    self.log.display()
                ))
            }
        }
    }

    /// Invokes and checks the answer with the workload.
    async fn run(&mut self, workload: &mut Workload) -> Result<Outcome> {
        let outcome = self.invoke(workload.next_event()?).await?;
        workload
            .check(&outcome)
            .map_err(|e| format!("{}: {e}", self.name))?;
        Ok(outcome)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Machine-wide busy time and the CPU of the processes we know about, to tell how much CPU
/// something else on the machine used meanwhile.
struct LoadSnapshot {
    at: Instant,
    machine: Duration,
    known: Duration,
}

impl LoadSnapshot {
    fn take(pids: &[u32]) -> Self {
        let known = pids
            .iter()
            .filter_map(|pid| procfs::cpu_time(*pid))
            .sum::<Duration>()
            + procfs::own_cpu_time()
            + procfs::reaped_children_cpu_time();
        Self {
            at: Instant::now(),
            machine: procfs::machine_busy().unwrap_or_default(),
            known,
        }
    }

    /// Average cores used by processes other than `pids` and the harness since `self`.
    fn other_cores_until(&self, later: &LoadSnapshot) -> f64 {
        let wall = later.at.duration_since(self.at).as_secs_f64();
        let machine = later.machine.saturating_sub(self.machine).as_secs_f64();
        let known = later.known.saturating_sub(self.known).as_secs_f64();
        if wall > 0.0 {
            ((machine - known) / wall).max(0.0)
        } else {
            0.0
        }
    }
}

/// Waits (from the shared budget) until other processes leave the CPU alone.
async fn wait_for_quiet(options: &Options, budget: &mut Duration) {
    let known: Vec<u32> = options.dynamodb_pid.into_iter().collect();
    let mut announced = false;
    loop {
        let before = LoadSnapshot::take(&known);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let other = before.other_cores_until(&LoadSnapshot::take(&known));
        if other < QUIET_CORES {
            return;
        }
        if budget.is_zero() {
            eprintln!("    other processes use {other:.2} cores; measuring anyway (flagged)");
            return;
        }
        if !announced {
            eprintln!(
                "    other processes use {other:.2} cores; waiting for them (up to {} s left)",
                budget.as_secs()
            );
            announced = true;
        }
        *budget = budget.saturating_sub(Duration::from_millis(500));
    }
}

fn us(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn log_path(options: &Options, name: &str) -> PathBuf {
    options.out_dir.join("logs").join(format!("{name}.log"))
}

/// Cold starts (`cold_samples` fresh processes, each answering one event), then the warm run in
/// the last of them.
async fn measure(
    spec: &Spec,
    workload: &mut Workload,
    env: &[(String, String)],
    options: &Options,
    quiet_budget: &mut Duration,
) -> Result<Row> {
    wait_for_quiet(options, quiet_budget).await;
    spec.pin.place_harness()?;
    eprintln!(
        "==> {}: {} cold starts, then {} warm invocations ({})",
        spec.name,
        options.cold_samples,
        spec.runs,
        spec.pin.label()
    );
    let log = log_path(options, &spec.name);
    let mut cold_ready_ms = Vec::new();
    let mut first_invocation_us = Vec::new();
    let mut process = None;
    for sample in 0..options.cold_samples {
        let mut fresh = Process::start(spec, env, &log, spec.pin).await?;
        let first = fresh.run(workload).await?;
        cold_ready_ms.push(fresh.ready_after.as_secs_f64() * 1e3);
        first_invocation_us.push(us(first.latency()));
        if sample + 1 == options.cold_samples {
            process = Some(fresh);
        }
    }
    let mut process = process.expect("at least one cold sample");
    let pid = process.pid;
    eprintln!(
        "    function on CPUs {}, harness on CPUs {}",
        procfs::cpus_allowed(pid).unwrap_or_default(),
        procfs::cpus_allowed(std::process::id()).unwrap_or_default()
    );
    let settle = Duration::from_millis(20);
    // Let the process get back into its `/next` poll so both readings see the same state.
    tokio::time::sleep(settle).await;
    let known: Vec<u32> = std::iter::once(pid).chain(options.dynamodb_pid).collect();
    let load_before = LoadSnapshot::take(&known);
    let cpu_before = procfs::cpu_time(pid).ok_or("cannot read /proc/<pid>/stat")?;
    let sched_before = procfs::sched_time(pid).ok_or("cannot read schedstat")?;
    let harness_before = procfs::own_cpu_time();
    let mut latencies_us = Vec::with_capacity(spec.runs);
    for _ in 0..spec.runs {
        let outcome = process.run(workload).await?;
        latencies_us.push(us(outcome.latency()));
    }
    tokio::time::sleep(settle).await;
    let cpu_after = procfs::cpu_time(pid).ok_or("cannot read /proc/<pid>/stat")?;
    let sched_after = procfs::sched_time(pid).ok_or("cannot read schedstat")?;
    let harness_after = procfs::own_cpu_time();
    let load_after = LoadSnapshot::take(&known);
    let rss_after_kib = procfs::peak_rss_kib(pid).unwrap_or(0);
    let per_invocation = |before: Duration, after: Duration| {
        us(after.saturating_sub(before)) / spec.runs.max(1) as f64
    };
    let row = Row {
        name: spec.name.clone(),
        kind: spec.kind,
        cold_ready_ms,
        first_invocation_us,
        latencies_us,
        cpu_per_invocation_us: per_invocation(cpu_before, cpu_after),
        sched_cpu_per_invocation_us: per_invocation(sched_before, sched_after),
        harness_cpu_per_invocation_us: per_invocation(harness_before, harness_after),
        rss_init_kib: process.rss_init_kib,
        rss_after_kib,
        other_load_cores: load_before.other_cores_until(&load_after),
        binary_bytes: spec
            .binary
            .as_ref()
            .and_then(|path| std::fs::metadata(path).ok())
            .map(|meta| meta.len()),
        round_trips: spec.round_trips,
        placement: spec.pin.label(),
        note: spec.note.clone(),
    };
    eprintln!(
        "    ready {:.2} ms, p50 {:.0} µs, p99 {:.0} µs, CPU {:.1} µs/inv (schedstat {:.1}), RSS {} KiB, other load {:.2} cores",
        row.cold_ready_median_ms(),
        row.p50_us(),
        row.p99_us(),
        row.cpu_per_invocation_us,
        row.sched_cpu_per_invocation_us,
        row.rss_after_kib,
        row.other_load_cores
    );
    Ok(row)
}

/// Register and login processes kept running to prepare the other functions' inputs (users,
/// sessions, tokens). They sit idle in `/next` while the others are measured.
struct Helpers {
    register: Process,
    login: Process,
    counter: u64,
}

impl Helpers {
    async fn register(&mut self, email: &str) -> Result<Session> {
        self.counter += 1;
        let outcome = self
            .register
            .invoke(events::register_event(email, self.counter))
            .await?;
        Session::from_login(&outcome)
    }

    async fn login(&mut self, email: &str) -> Result<Session> {
        self.counter += 1;
        let outcome = self
            .login
            .invoke(events::login_event(email, self.counter))
            .await?;
        Session::from_login(&outcome)
    }
}

fn random_secret() -> Result<String> {
    let mut bytes = [0u8; 48];
    getrandom::getrandom(&mut bytes).map_err(|e| e.to_string())?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn rust_spec(options: &Options, name: &str, binary: &str, runs: usize) -> Spec {
    let path = options.release_dir.join(binary);
    Spec {
        name: name.to_owned(),
        kind: if binary.starts_with("echo") {
            "echo"
        } else {
            "rust"
        },
        program: path.clone(),
        args: Vec::new(),
        env: Vec::new(),
        binary: Some(path),
        round_trips: match name {
            "register" | "refresh" | "logout" | "me" => Some("1"),
            "login" => Some("2"),
            "authorizer" => Some("0"),
            _ => None,
        },
        runs,
        pin: options.pin,
        note: None,
    }
}

fn node_spec(options: &Options, style: &str) -> Option<Spec> {
    let (node, modules, scripts) = (
        options.node.as_ref()?,
        options.node_modules.as_ref()?,
        options.node_scripts.as_ref()?,
    );
    Some(Spec {
        name: format!("node-authorizer-{style}"),
        kind: "node",
        program: node.clone(),
        args: vec![
            scripts
                .join("authorizer-runtime.js")
                .to_string_lossy()
                .into_owned(),
        ],
        env: vec![
            (
                "NODE_PATH".to_owned(),
                modules.to_string_lossy().into_owned(),
            ),
            ("BENCH_JWT_STYLE".to_owned(), style.to_owned()),
        ],
        binary: None,
        round_trips: None,
        runs: options.fast_runs,
        pin: options.pin,
        note: None,
    })
}

/// Runs tools/bench/node/seed-bench.js and returns the JSON it prints, plus the other load on
/// the machine meanwhile.
async fn node_seed_bench(
    options: &Options,
    env: &[(String, String)],
    quiet_budget: &mut Duration,
) -> Result<Option<Value>> {
    let (Some(node), Some(modules), Some(scripts)) = (
        options.node.as_ref(),
        options.node_modules.as_ref(),
        options.node_scripts.as_ref(),
    ) else {
        return Ok(None);
    };
    wait_for_quiet(options, quiet_budget).await;
    eprintln!("==> seed stack in-process (jsonwebtoken sign/verify, bcrypt cost 12)");
    let known: Vec<u32> = options.dynamodb_pid.into_iter().collect();
    let load_before = LoadSnapshot::take(&known);
    let mut command = Command::new(node);
    command
        .arg(scripts.join("seed-bench.js"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("NODE_PATH", modules)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // On the functions' CPU, the harness idle meanwhile.
    options.pin.place_harness()?;
    let output = spawn_on(&mut command, options.pin)
        .and_then(Child::wait_with_output)
        .map_err(|e| format!("cannot run node: {e}"))?;
    // The child has been waited for: its CPU is in the reaped-children figure, not "other".
    let other_load = load_before.other_cores_until(&LoadSnapshot::take(&known));
    if !output.status.success() {
        return Err(format!("seed-bench.js failed ({})", output.status));
    }
    let mut results: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("seed-bench.js printed no JSON: {e}"))?;
    eprintln!("    other load {other_load:.2} cores");
    results["other_load_cores"] = json!(other_load);
    Ok(Some(results))
}

async fn run(options: Options) -> Result<()> {
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .map_err(|_| "AWS_ENDPOINT_URL_DYNAMODB is not set (DynamoDB Local)")?;
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    let logs = options.out_dir.join("logs");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;

    let issuer = "https://auth.bench.example";
    let audience = "bench-api";
    // What Lambda sets (minus what we do not emulate), plus the functions' configuration. The
    // children start from an empty environment, so nothing leaks in from the caller's.
    let env: Vec<(String, String)> = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_LEVEL", "error"),
        ("RUST_LOG", "error"),
        ("TABLE_NAME", &table),
        ("JWT_ACCESS_SECRET", &random_secret()?),
        ("JWT_REFRESH_SECRET", &random_secret()?),
        ("JWT_ISSUER", issuer),
        ("JWT_AUDIENCE", audience),
        ("ROUTE_ROLES", "GET /admin/*=admin"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_REGION", &region),
        ("AWS_DEFAULT_REGION", &region),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();

    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let main_user = format!("bench-{run_id}-main@example.com");
    let cold = options.cold_samples;
    let mut rows = Vec::new();
    let mut quiet_budget = options.quiet_wait;
    if options.pin != Pin::None
        && let Some(pid) = options.dynamodb_pid
    {
        // DynamoDB Local stays off the function's CPU.
        pin_threads(pid, 0..=0)?;
    }

    eprintln!("==> helpers: register and login processes for the other functions' inputs");
    let mut helpers = Helpers {
        register: Process::start(
            &rust_spec(&options, "helper-register", "register", 0),
            &env,
            &log_path(&options, "helper-register"),
            Pin::None,
        )
        .await?,
        login: Process::start(
            &rust_spec(&options, "helper-login", "login", 0),
            &env,
            &log_path(&options, "helper-login"),
            Pin::None,
        )
        .await?,
        counter: 0,
    };
    helpers.register(&main_user).await?;

    if options.wants("register") {
        let mut spec = rust_spec(&options, "register", "register", options.slow_runs);
        spec.note = Some(format!(
            "{} invocations, a new user each (argon2id hash per call)",
            options.slow_runs
        ));
        let mut workload = Workload::Register {
            prefix: format!("bench-{run_id}-register"),
            next: 0,
        };
        rows.push(measure(&spec, &mut workload, &env, &options, &mut quiet_budget).await?);
    }
    if options.wants("login") {
        let mut spec = rust_spec(&options, "login", "login", options.slow_runs);
        spec.note = Some(format!(
            "{} invocations, the same user (argon2id verify per call)",
            options.slow_runs
        ));
        let mut workload = Workload::Login {
            email: main_user.clone(),
            next: 0,
        };
        rows.push(measure(&spec, &mut workload, &env, &options, &mut quiet_budget).await?);
    }
    if options.wants("refresh") {
        let mut spec = rust_spec(&options, "refresh", "refresh", options.runs);
        spec.note = Some(
            "one session's rotation chain: each event carries the cookie the previous response set"
                .to_owned(),
        );
        let session = helpers.login(&main_user).await?;
        let mut workload = Workload::Refresh {
            cookie: session.refresh_cookie,
            next: 0,
        };
        rows.push(measure(&spec, &mut workload, &env, &options, &mut quiet_budget).await?);
    }
    if options.wants("logout") {
        let mut spec = rust_spec(&options, "logout", "logout", options.runs);
        let sessions = options.runs + cold;
        spec.note = Some(format!(
            "a fresh session per invocation: {sessions} logins through the login function first"
        ));
        eprintln!("==> logout: logging in {sessions} sessions first (argon2id each)");
        let mut cookies = VecDeque::with_capacity(sessions);
        for _ in 0..sessions {
            cookies.push_back(helpers.login(&main_user).await?.refresh_cookie);
        }
        let mut workload = Workload::Logout { cookies, next: 0 };
        rows.push(measure(&spec, &mut workload, &env, &options, &mut quiet_budget).await?);
    }

    // A token (and its claims) for the authorizer, me, the echo floor and the Node authorizers.
    let session = helpers.login(&main_user).await?;
    drop(helpers);
    let authorizer_event = events::authorizer_event(&session.access_token);
    let fixed = |event: &Bytes, expect: Expect| Workload::Fixed {
        event: event.clone(),
        expect,
    };

    if options.wants("authorizer") {
        let spec = rust_spec(&options, "authorizer", "authorizer", options.fast_runs);
        let mut workload = fixed(&authorizer_event, Expect::Authorized);
        rows.push(measure(&spec, &mut workload, &env, &options, &mut quiet_budget).await?);
    }
    if options.wants("me") {
        let spec = rust_spec(&options, "me", "me", options.runs);
        let context = json!({
            "userId": session.user_id,
            "role": session.role,
            "sessionId": session.session_id,
            "expiresAt": session.expires_at,
        });
        let event = events::http_event("GET", "/me", None, &[], Some(context), 1);
        let mut workload = fixed(&event, Expect::Status(200));
        rows.push(measure(&spec, &mut workload, &env, &options, &mut quiet_budget).await?);
    }
    if options.wants("jwks") {
        let spec = rust_spec(&options, "jwks", "jwks", options.fast_runs);
        let event = events::http_event("GET", "/.well-known/jwks.json", None, &[], None, 1);
        let mut workload = fixed(&event, Expect::Status(200));
        rows.push(measure(&spec, &mut workload, &env, &options, &mut quiet_budget).await?);
    }
    for (name, binary) in [
        ("echo-current-thread", "echo-rt-current-thread"),
        ("echo-multi-thread", "echo-rt-multi-thread"),
    ] {
        if options.wants(name) {
            let mut spec = rust_spec(&options, name, binary, options.fast_runs);
            spec.note = Some(format!(
                "`{binary}`: lambda_runtime returning the authorizer's event unchanged (the runtime loop's floor)"
            ));
            let mut workload = fixed(&authorizer_event, Expect::Anything);
            rows.push(measure(&spec, &mut workload, &env, &options, &mut quiet_budget).await?);
        }
    }
    for style in ["seed", "careful"] {
        let name = format!("node-authorizer-{style}");
        if !options.wants(&name) {
            continue;
        }
        let Some(mut spec) = node_spec(&options, style) else {
            continue;
        };
        spec.note = Some(match style {
            "seed" => "Node custom-runtime loop, `jwt.verify(token, secretString)` as the seed writes it".to_owned(),
            _ => "Node custom-runtime loop, `jwt.verify(token, createSecretKey(…), {algorithms, issuer, audience})`".to_owned(),
        });
        let mut workload = fixed(&authorizer_event, Expect::Authorized);
        rows.push(measure(&spec, &mut workload, &env, &options, &mut quiet_budget).await?);
    }
    // The authorizer and the floor again with the harness on the other CPU: what waking a process
    // across CPUs costs per invocation on this machine.
    if options.pin == Pin::Same {
        for (name, binary, expect) in [
            ("authorizer", "authorizer", Expect::Authorized),
            (
                "echo-current-thread",
                "echo-rt-current-thread",
                Expect::Anything,
            ),
        ] {
            let name = format!("{name}-cross-cpu");
            if !options.wants(&name) {
                continue;
            }
            let mut spec = rust_spec(&options, &name, binary, options.fast_runs);
            spec.pin = Pin::Split;
            spec.round_trips = None;
            spec.note = Some(format!(
                "`{binary}` on CPU {}, the harness on CPU 0: each event and response wakes a \
                 process on the other CPU",
                last_cpu()
            ));
            let mut workload = fixed(&authorizer_event, expect);
            rows.push(measure(&spec, &mut workload, &env, &options, &mut quiet_budget).await?);
        }
    }
    let node_seed = if options.wants("seed-bench") {
        node_seed_bench(&options, &env, &mut quiet_budget).await?
    } else {
        None
    };

    let machine = Machine::detect();
    let settings = Settings {
        date: events::utc_date(),
        runs: options.runs,
        slow_runs: options.slow_runs,
        fast_runs: options.fast_runs,
        cold_samples: options.cold_samples,
        placement: match options.pin {
            Pin::Split => format!(
                "each function on CPU {}, the harness and DynamoDB Local on CPU 0 (`--pin split`)",
                last_cpu()
            ),
            Pin::Same => format!(
                "the harness and each function take turns on CPU {} (as a small Lambda function \
                 and its Runtime API share a vCPU), DynamoDB Local on CPU 0 (`--pin same`); the \
                 `-cross-cpu` rows put the harness on CPU 0 instead",
                last_cpu()
            ),
            Pin::None => "left to the scheduler (`--pin none`)".to_owned(),
        },
    };
    let ratios = report::ratios(&rows);
    let markdown = report::markdown(&machine, &settings, &rows, &ratios, node_seed.as_ref());
    let json = report::json(&machine, &settings, &rows, &ratios, node_seed.as_ref());
    write(&options.out_dir.join("results.md"), markdown.as_bytes())?;
    write(
        &options.out_dir.join("results.json"),
        serde_json::to_string_pretty(&json)
            .map_err(|e| e.to_string())?
            .as_bytes(),
    )?;
    println!("{markdown}");
    eprintln!(
        "wrote {} and {}",
        options.out_dir.join("results.md").display(),
        options.out_dir.join("results.json").display()
    );
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    File::create(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let outcome = match Options::parse() {
        Ok(options) => run(options).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error}");
            ExitCode::FAILURE
        }
    }
}
