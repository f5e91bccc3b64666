//! The whole-process benchmark. Serves the Lambda Runtime API on 127.0.0.1, runs each function's
//! release binary (and the seed's Node authorizer) as a child process against it, and measures
//! cold start, first-invocation and warm latency, CPU per invocation and peak RSS from /proc.
//! `scripts/bench` builds everything, starts DynamoDB Local and runs this; `--cold-start BINARY`
//! only times one binary's cold starts (`scripts/profile-experiments`). CLI: [`USAGE`].

mod cost;
mod cpu_share;
mod env;
mod events;
mod pin;
mod power;
mod procfs;
mod report;

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use env::{ALGORITHMS, Config, binary_of, env_of};
use events::{Expect, Feed, Fixtures, Session, Workload};
use lambda_emulator::aws_stand_in;
use lambda_emulator::runtime_api::{Outcome, RuntimeApi};
use pin::{Pin, last_cpu, spawn_on};
use report::{Machine, QUIET_CORES, Row, Settings};

type Result<T> = std::result::Result<T, String>;

/// How long a function may take to become ready, or to answer one invocation.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The functions' `MAX_SESSIONS_PER_USER` (their default: src/env.rs sets none). A login past it
/// ends its user's oldest session.
const SESSIONS_PER_USER: usize = 20;

const USAGE: &str = "\
usage: bench --release-dir DIR --out-dir DIR --date YYYY-MM-DD [OPTIONS]
       bench --cold-start BINARY --out-dir DIR [--cold-samples N] [--pin P]

  --release-dir DIR    the functions' and echo-* release binaries
  --out-dir DIR        results.{md,json} and logs/ go here
  --date YYYY-MM-DD    the report's date (scripts/bench: date -u +%F)
  --events-dir DIR     the event fixtures [<repo>/events]
  --runs N             refresh, logout, me [1000]
  --slow-runs N        register, login [200]
  --fast-runs N        authorizer, jwks, echo, Node authorizers [10000]
  --cold-samples N     cold starts per function, median reported [15]
  --dynamodb-pid PID   DynamoDB Local, not counted as other load
  --quiet-wait SECS    in all, how long to wait for other load to end [120]
  --pin none|same|split  CPU placement of harness and functions [same]
  --node PATH --node-modules DIR   the Node rows (jsonwebtoken@9, bcrypt@5)
  --only NAME,...      only these rows (and seed-bench)
  --baseline-login BINARY  also a login-baseline row: another build of login (an older
                       commit's), measured beside the current one, taking turns
  --baseline-refresh BINARY  the same for refresh: a refresh-baseline row, its own session
  --cold-start BINARY  print the median exec-to-first-/next of BINARY in ms, nothing else
  --cpu-share F        every measured function under a CFS quota of F CPUs (Lambda's share
                       at memory M is M/1769; needs root and the cgroup v1 cpu controller)
  --cfs-period-us N    that quota's period [20000]
Environment: TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB (not for --cold-start), AWS_REGION.";

/// Where tools/bench/node/*.js are.
const NODE_SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/node");

struct Options {
    release_dir: PathBuf,
    out_dir: PathBuf,
    events_dir: PathBuf,
    date: String,
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
    only: Option<Vec<String>>,
    cold_start: Option<PathBuf>,
    /// Another build of login, measured beside the current one.
    baseline_login: Option<PathBuf>,
    /// Another build of refresh, measured beside the current one.
    baseline_refresh: Option<PathBuf>,
    /// Every measured function under this share of one CPU (Lambda's memory-proportional CPU).
    cpu_share: Option<std::sync::Arc<cpu_share::CpuShare>>,
}

/// The value of `--flag`, parsed.
fn value<T: std::str::FromStr>(parser: &mut lexopt::Parser, flag: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    let raw = parser.value().map_err(|e| e.to_string())?;
    let text = raw.to_str().ok_or_else(|| format!("--{flag}: not UTF-8"))?;
    text.parse().map_err(|e| format!("--{flag} {text}: {e}"))
}

impl Options {
    /// `None` for `--help`.
    fn parse() -> Result<Option<Self>> {
        let mut parser = lexopt::Parser::from_env();
        let (mut release_dir, mut out_dir, mut date) = (None, None, None);
        let mut o = Self {
            release_dir: PathBuf::new(),
            out_dir: PathBuf::new(),
            events_dir: PathBuf::from(events::DEFAULT_DIR),
            date: String::new(),
            runs: 1000,
            slow_runs: 200,
            fast_runs: 10_000,
            cold_samples: 15,
            dynamodb_pid: None,
            quiet_wait: Duration::from_secs(120),
            pin: Pin::Same,
            node: None,
            node_modules: None,
            only: None,
            cold_start: None,
            baseline_login: None,
            baseline_refresh: None,
            cpu_share: None,
        };
        let (mut share, mut period_us) = (None::<f64>, 20_000u64);
        while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
            let flag = match arg {
                lexopt::Arg::Short('h') | lexopt::Arg::Long("help") => return Ok(None),
                lexopt::Arg::Long(flag) => flag.to_owned(),
                other => return Err(other.unexpected().to_string()),
            };
            let p = &mut parser;
            match flag.as_str() {
                "release-dir" => release_dir = Some(value::<PathBuf>(p, &flag)?),
                "out-dir" => out_dir = Some(value::<PathBuf>(p, &flag)?),
                "events-dir" => o.events_dir = value(p, &flag)?,
                "date" => date = Some(value::<String>(p, &flag)?),
                "runs" => o.runs = value(p, &flag)?,
                "slow-runs" => o.slow_runs = value(p, &flag)?,
                "fast-runs" => o.fast_runs = value(p, &flag)?,
                "cold-samples" => o.cold_samples = value::<usize>(p, &flag)?.max(1),
                "dynamodb-pid" => o.dynamodb_pid = Some(value(p, &flag)?),
                "quiet-wait" => o.quiet_wait = Duration::from_secs(value(p, &flag)?),
                "pin" => o.pin = value(p, &flag)?,
                "node" => o.node = Some(value(p, &flag)?),
                "node-modules" => o.node_modules = Some(value(p, &flag)?),
                "only" => {
                    let list: String = value(p, &flag)?;
                    o.only = Some(list.split(',').map(str::to_owned).collect());
                }
                "cold-start" => o.cold_start = Some(value(p, &flag)?),
                "baseline-login" => o.baseline_login = Some(value(p, &flag)?),
                "baseline-refresh" => o.baseline_refresh = Some(value(p, &flag)?),
                "cpu-share" => share = Some(value(p, &flag)?),
                "cfs-period-us" => period_us = value(p, &flag)?,
                _ => return Err(format!("unknown option --{flag}")),
            }
        }
        if let Some(share) = share {
            o.cpu_share = Some(std::sync::Arc::new(cpu_share::CpuShare::create(
                share, period_us,
            )?));
        }
        o.out_dir = out_dir.ok_or("--out-dir is required")?;
        if let Some(binary) = &o.cold_start {
            o.release_dir = binary.parent().map(Path::to_path_buf).unwrap_or_default();
        } else {
            o.release_dir = release_dir.ok_or("--release-dir is required")?;
            o.date = date.ok_or("--date is required, e.g. --date \"$(date -u +%F)\"")?;
        }
        Ok(Some(o))
    }

    fn wants(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == name))
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.out_dir.join("logs").join(format!("{name}.log"))
    }
}

/// One row to measure: which function, run how.
struct Spec {
    name: String,
    kind: &'static str,
    program: PathBuf,
    args: Vec<PathBuf>,
    env: Vec<(&'static str, String)>,
    binary: Option<PathBuf>,
    round_trips: Option<&'static str>,
    runs: usize,
    pin: Pin,
    /// Lambda's CPU share for this memory size (`--cpu-share`); helpers run without it.
    cpu_share: Option<std::sync::Arc<cpu_share::CpuShare>>,
    note: Option<String>,
}

impl Spec {
    /// Row `name` running `function`: a release binary, or `node-authorizer-{seed,careful}`.
    fn new(o: &Options, c: &Config, name: &str, function: &str, runs: usize) -> Result<Self> {
        let (kind, program, args, binary) = if function.starts_with("node-") {
            let node = o.node.clone().ok_or("the Node rows need --node")?;
            let script = Path::new(NODE_SCRIPTS).join("authorizer-runtime.js");
            ("node", node, vec![script], None)
        } else {
            let path = o.release_dir.join(binary_of(function));
            let kind = if function.starts_with("echo") {
                "echo"
            } else {
                "rust"
            };
            (kind, path.clone(), Vec::new(), Some(path))
        };
        Ok(Self {
            name: name.to_owned(),
            kind,
            program,
            args,
            env: env_of(function, c)?,
            binary,
            round_trips: match name {
                // The rotation's UpdateItem and the profile's GetItem, sent side by side.
                "refresh" => Some("2"),
                "logout" | "me" => Some("1"),
                // The batch read (credentials, streak, the source's window), the attempt's
                // reservation, the user's sessions read beside argon2, the session transaction
                // (a failed login: the read, the reservation, the sessions, the source's count).
                // Register reads the source's window first and counts it while argon2 runs.
                "login" | "login-secrets-manager" => Some("4"),
                "register" => Some("3"),
                "jwks" => Some("0"),
                // The session and its account's profile in one BatchGetItem.
                "authorizer-strict" => Some("1"),
                authorizer if authorizer.starts_with("authorizer") => Some("0"),
                _ => None,
            },
            runs,
            pin: o.pin,
            cpu_share: o.cpu_share.clone(),
            note: None,
        })
    }

    fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
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
    async fn start(spec: &Spec, log: &Path) -> Result<Self> {
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
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(stderr);
        let started = Instant::now();
        let mut child = spawn_on(&mut command, spec.pin, spec.cpu_share.as_deref())
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

    /// Invokes with the workload's next event and checks the answer with it.
    async fn run(&mut self, workload: &mut Workload) -> Result<Outcome> {
        let event = workload.next_event()?;
        let outcome = match tokio::time::timeout(TIMEOUT, self.api.invoke(event)).await {
            Ok(Some(outcome)) => outcome,
            Ok(None) | Err(_) => {
                let state = match self.child.try_wait() {
                    Ok(Some(status)) => format!("exited ({status})"),
                    _ => "did not answer within 60 s".to_owned(),
                };
                return Err(format!(
                    "{} {state}; its output is in {}",
                    self.name,
                    self.log.display()
                ));
            }
        };
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

/// A function after its cold starts: the last of `cold_samples` fresh processes (each answered
/// one event), kept for the warm run.
struct Started {
    process: Process,
    cold_ready_ms: Vec<f64>,
    first_invocation_us: Vec<f64>,
}

async fn cold_starts(spec: &Spec, workload: &mut Workload, options: &Options) -> Result<Started> {
    let log = options.log_path(&spec.name);
    let mut cold_ready_ms = Vec::new();
    let mut first_invocation_us = Vec::new();
    let mut process = None;
    for sample in 1..=options.cold_samples {
        let mut fresh = Process::start(spec, &log).await?;
        let first = fresh.run(workload).await?;
        cold_ready_ms.push(fresh.ready_after.as_secs_f64() * 1e3);
        first_invocation_us.push(us(first.latency()));
        // The others are killed (dropped) before the next starts; the last one runs warm.
        if sample == options.cold_samples {
            process = Some(fresh);
        }
    }
    let process = process.ok_or("no cold sample")?;
    eprintln!(
        "    {} on CPUs {}, harness on CPUs {}",
        spec.name,
        procfs::cpus_allowed(process.pid).unwrap_or_default(),
        procfs::cpus_allowed(std::process::id()).unwrap_or_default()
    );
    Ok(Started {
        process,
        cold_ready_ms,
        first_invocation_us,
    })
}

/// One process's CPU counters at the start of the warm run.
struct CpuReading {
    cpu: Duration,
    sched: Duration,
}

impl CpuReading {
    fn take(pid: u32) -> Result<Self> {
        Ok(Self {
            cpu: procfs::cpu_time(pid).ok_or("cannot read /proc/<pid>/stat")?,
            sched: procfs::sched_time(pid).ok_or("cannot read schedstat")?,
        })
    }
}

/// What the whole warm run (of one function, or of a pair taking turns) saw.
struct WarmRun {
    load: LoadSnapshot,
    harness: Duration,
    known: Vec<u32>,
}

/// Lets the processes get back into their `/next` poll so both readings see the same state.
const SETTLE: Duration = Duration::from_millis(20);

impl WarmRun {
    fn begin(pids: &[u32], options: &Options) -> Self {
        let known: Vec<u32> = pids.iter().copied().chain(options.dynamodb_pid).collect();
        Self {
            load: LoadSnapshot::take(&known),
            harness: procfs::own_cpu_time(),
            known,
        }
    }

    /// The row of `started` after `latencies_us`, its CPU counted from `before`. A harness CPU
    /// shared by a pair is split between them.
    fn row(
        &self,
        spec: &Spec,
        started: Started,
        before: &CpuReading,
        latencies_us: Vec<f64>,
        sharing: usize,
    ) -> Result<Row> {
        let pid = started.process.pid;
        let after = CpuReading::take(pid)?;
        let harness_after = procfs::own_cpu_time();
        let runs = spec.runs.max(1) as f64;
        let per_invocation =
            |before: Duration, after: Duration| us(after.saturating_sub(before)) / runs;
        let row = Row {
            name: spec.name.clone(),
            kind: spec.kind,
            cold_ready_ms: started.cold_ready_ms,
            first_invocation_us: started.first_invocation_us,
            latencies_us,
            cpu_per_invocation_us: per_invocation(before.cpu, after.cpu),
            sched_cpu_per_invocation_us: per_invocation(before.sched, after.sched),
            harness_cpu_per_invocation_us: per_invocation(self.harness, harness_after)
                / sharing.max(1) as f64,
            rss_init_kib: started.process.rss_init_kib,
            rss_after_kib: procfs::peak_rss_kib(pid).unwrap_or(0),
            other_load_cores: self
                .load
                .other_cores_until(&LoadSnapshot::take(&self.known)),
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
            "    {}: ready {:.2} ms, p50 {:.0} µs, p99 {:.0} µs, CPU {:.1} µs/inv (schedstat {:.1}), RSS {} KiB, other load {:.2} cores",
            row.name,
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
}

/// Cold starts (`cold_samples` fresh processes, each answering one event), then the warm run in
/// the last of them.
async fn measure(
    spec: &Spec,
    workload: &mut Workload,
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
    let mut started = cold_starts(spec, workload, options).await?;
    tokio::time::sleep(SETTLE).await;
    let pid = started.process.pid;
    let warm = WarmRun::begin(&[pid], options);
    let before = CpuReading::take(pid)?;
    let mut latencies_us = Vec::with_capacity(spec.runs);
    for _ in 0..spec.runs {
        let outcome = started.process.run(workload).await?;
        latencies_us.push(us(outcome.latency()));
    }
    tokio::time::sleep(SETTLE).await;
    warm.row(spec, started, &before, latencies_us, 1)
}

/// Two builds of one function measured side by side: cold starts of each, then their warm runs
/// taking turns invocation by invocation (in ABBA order), so a drift of DynamoDB Local or the
/// machine (a JVM still warming up, a table growing) lands on both alike.
async fn measure_pair(
    [(first, first_workload), (second, second_workload)]: [(&Spec, &mut Workload); 2],
    options: &Options,
    quiet_budget: &mut Duration,
) -> Result<[Row; 2]> {
    if first.runs != second.runs {
        return Err(format!("{} and {} differ in runs", first.name, second.name));
    }
    wait_for_quiet(options, quiet_budget).await;
    first.pin.place_harness()?;
    eprintln!(
        "==> {} and {}: {} cold starts each, then {} warm invocations each, taking turns ({})",
        first.name,
        second.name,
        options.cold_samples,
        first.runs,
        first.pin.label()
    );
    let mut a = cold_starts(first, first_workload, options).await?;
    let mut b = cold_starts(second, second_workload, options).await?;
    tokio::time::sleep(SETTLE).await;
    let warm = WarmRun::begin(&[a.process.pid, b.process.pid], options);
    let (before_a, before_b) = (
        CpuReading::take(a.process.pid)?,
        CpuReading::take(b.process.pid)?,
    );
    let mut latencies_a = Vec::with_capacity(first.runs);
    let mut latencies_b = Vec::with_capacity(first.runs);
    for turn in 0..first.runs {
        let a_first = turn % 4 == 0 || turn % 4 == 3;
        for a_now in [a_first, !a_first] {
            if a_now {
                latencies_a.push(us(a.process.run(first_workload).await?.latency()));
            } else {
                latencies_b.push(us(b.process.run(second_workload).await?.latency()));
            }
        }
    }
    tokio::time::sleep(SETTLE).await;
    Ok([
        warm.row(first, a, &before_a, latencies_a, 2)?,
        warm.row(second, b, &before_b, latencies_b, 2)?,
    ])
}

/// Every row to measure, in order, with its workload. The inputs (users, sessions, a token)
/// come from register and login processes started for this and stopped before any measurement.
async fn plan(o: &Options, c: &Config) -> Result<Vec<(Spec, Workload)>> {
    let fixtures = Fixtures(o.events_dir.clone());
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let user = format!("bench-{run_id}-main@example.com");
    let with_email = |fixture: &str, email: &str| -> Result<Value> {
        let mut event = fixtures.load(fixture, &[])?;
        events::set_body_field(&mut event, "email", email)?;
        Ok(event)
    };
    let with_user = |fixture: &str| with_email(fixture, &user);
    let mut logins = Workload::new(with_user("login.json")?, Feed::Same, Expect::Status(200));

    eprintln!("==> helpers: register and login processes for the other functions' inputs");
    let helper = |name, function| -> Result<Spec> {
        let mut spec = Spec::new(o, c, name, function, 0)?;
        spec.pin = Pin::None;
        spec.cpu_share = None;
        Ok(spec)
    };
    let mut register = Process::start(
        &helper("helper-register", "register")?,
        &o.log_path("helper-register"),
    )
    .await?;
    let mut login = Process::start(
        &helper("helper-login", "login")?,
        &o.log_path("helper-login"),
    )
    .await?;
    let mut registration =
        Workload::new(with_user("register.json")?, Feed::Same, Expect::Status(201));
    register.run(&mut registration).await?;
    // Users of their own for the rows whose sessions must still be live when measured: a login
    // past SESSIONS_PER_USER ends its user's oldest session, the main user logs in hundreds of
    // times (the login rows) before refresh runs, and logout needs more sessions than one user
    // may hold.
    let refresh_user = format!("bench-{run_id}-refresh@example.com");
    let refresh_baseline = o
        .baseline_refresh
        .as_ref()
        .filter(|_| o.wants("refresh-baseline"));
    let logout_sessions = o.runs + o.cold_samples;
    let logout_users: Vec<String> = if o.wants("logout") {
        (1..=logout_sessions.div_ceil(SESSIONS_PER_USER))
            .map(|n| format!("bench-{run_id}-logout-{n}@example.com"))
            .collect()
    } else {
        Vec::new()
    };
    // The strict authorizer reads its token's session on every call: a user no other row logs in.
    let strict_user = format!("bench-{run_id}-strict@example.com");
    let own_users = (o.wants("refresh") || refresh_baseline.is_some())
        .then(|| refresh_user.clone())
        .into_iter()
        .chain(o.wants("authorizer-strict").then(|| strict_user.clone()))
        .chain(logout_users.iter().cloned());
    for (n, email) in own_users.enumerate() {
        let mut event = with_email("register.json", &email)?;
        // Each from its own /64 (2001:db8::/32 is for documentation): a registration counts
        // against its source's per-IP limit, which refuses logins too once it is reached, and
        // the fixture's address is the measured rows'.
        event["requestContext"]["http"]["sourceIp"] = json!(format!("2001:db8:0:{:x}::1", n + 1));
        let mut registration = Workload::new(event, Feed::Same, Expect::Status(201));
        register.run(&mut registration).await?;
    }
    drop(register);

    let mut jobs = Vec::new();
    if o.wants("register") {
        let spec = Spec::new(o, c, "register", "register", o.slow_runs)?.note(format!(
            "{} invocations, a new user each (argon2id hash per call)",
            o.slow_runs
        ));
        let feed = Feed::NewUsers(format!("bench-{run_id}-register"));
        let event = fixtures.load("register.json", &[])?;
        jobs.push((spec, Workload::new(event, feed, Expect::Status(201))));
    }
    // Past SESSIONS_PER_USER logins, each also ends the main user's oldest session (one more
    // delete in its transaction): the steady state of an account logged in over and over.
    if o.wants("login") {
        let spec = Spec::new(o, c, "login", "login", o.slow_runs)?.note(format!(
            "{} invocations, the same user (argon2id verify per call)",
            o.slow_runs
        ));
        let event = with_user("login.json")?;
        jobs.push((spec, Workload::new(event, Feed::Same, Expect::Status(200))));
    }
    if let Some(baseline) = o
        .baseline_login
        .as_ref()
        .filter(|_| o.wants("login-baseline"))
    {
        let mut spec = Spec::new(o, c, "login-baseline", "login", o.slow_runs)?.note(format!(
            "{} invocations of {}: the same workload on the baseline build, taking turns with login",
            o.slow_runs,
            baseline.display()
        ));
        spec.program.clone_from(baseline);
        spec.binary = Some(baseline.clone());
        spec.round_trips = None;
        let event = with_user("login.json")?;
        jobs.push((spec, Workload::new(event, Feed::Same, Expect::Status(200))));
    }
    let mut refresh_logins = Workload::new(
        with_email("login.json", &refresh_user)?,
        Feed::Same,
        Expect::Status(200),
    );
    if o.wants("refresh") {
        let spec = Spec::new(o, c, "refresh", "refresh", o.runs)?.note(
            "one session's rotation chain (a user of its own): each event carries the cookie the previous response set",
        );
        let session = Session::from_response(&login.run(&mut refresh_logins).await?)?;
        let feed = Feed::RefreshChain(session.refresh_cookie);
        let event = fixtures.load("refresh-unknown-token.json", &[])?;
        jobs.push((spec, Workload::new(event, feed, Expect::Status(200))));
    }
    if let Some(baseline) = refresh_baseline {
        let mut spec = Spec::new(o, c, "refresh-baseline", "refresh", o.runs)?.note(format!(
            "{} invocations of {}: the same workload (a chain of its own) on the baseline build, taking turns with refresh",
            o.runs,
            baseline.display()
        ));
        spec.program.clone_from(baseline);
        spec.binary = Some(baseline.clone());
        spec.round_trips = None;
        // Its own session: two processes rotating one chain would present each other's spent
        // tokens (replays, then reuse).
        let session = Session::from_response(&login.run(&mut refresh_logins).await?)?;
        let feed = Feed::RefreshChain(session.refresh_cookie);
        let event = fixtures.load("refresh-unknown-token.json", &[])?;
        jobs.push((spec, Workload::new(event, feed, Expect::Status(200))));
    }
    if o.wants("logout") {
        let sessions = logout_sessions;
        let spec = Spec::new(o, c, "logout", "logout", o.runs)?.note(format!(
            "a fresh session per invocation: {sessions} logins through the login function first, \
             {SESSIONS_PER_USER} per user so that none is ended by the per-user bound"
        ));
        eprintln!(
            "==> logout: logging in {sessions} sessions of {} users first (argon2id each)",
            logout_users.len()
        );
        // A logout of an ended session answers 204 too, but by a failed conditional delete:
        // not the path to measure. A user's last login ends only its registration's session.
        let mut cookies = VecDeque::with_capacity(sessions);
        for email in &logout_users {
            let event = with_email("login.json", email)?;
            let mut user_logins = Workload::new(event, Feed::Same, Expect::Status(200));
            for _ in 0..SESSIONS_PER_USER.min(sessions - cookies.len()) {
                let outcome = login.run(&mut user_logins).await?;
                cookies.push_back(Session::from_response(&outcome)?.refresh_cookie);
            }
        }
        let event = fixtures.load("logout.json", &[])?;
        jobs.push((
            spec,
            Workload::new(event, Feed::Sessions(cookies), Expect::Status(204)),
        ));
    }

    let strict_session = if o.wants("authorizer-strict") {
        let event = with_email("login.json", &strict_user)?;
        let mut strict_login = Workload::new(event, Feed::Same, Expect::Status(200));
        Some(Session::from_response(
            &login.run(&mut strict_login).await?,
        )?)
    } else {
        None
    };
    // A token for the authorizer, the echo floor and the Node authorizers; its user for me.
    // Later logins of the main user may end this session: none of those rows reads it (the
    // authorizer is not strict, me reads the profile).
    let session = Session::from_response(&login.run(&mut logins).await?)?;
    drop(login);
    let authorizer_event = || {
        fixtures.load(
            "authorizer-http-api.json",
            &[("{{ACCESS_TOKEN}}", &session.access_token)],
        )
    };
    let same = |event, expect| Workload::new(event, Feed::Same, expect);
    if o.wants("authorizer") {
        let spec = Spec::new(o, c, "authorizer", "authorizer", o.fast_runs)?;
        jobs.push((spec, same(authorizer_event()?, Expect::Authorized)));
    }
    // The authorizer with each asymmetric algorithm (public key only), its token from a login
    // process holding the matching private key.
    for algorithm in ALGORITHMS {
        let name = format!("authorizer-{}", algorithm.to_ascii_lowercase());
        if !o.wants(&name) {
            continue;
        }
        let login_name = format!("login-{}", algorithm.to_ascii_lowercase());
        let mut signer_spec = Spec::new(o, c, &format!("helper-{login_name}"), &login_name, 0)?;
        signer_spec.pin = Pin::None;
        signer_spec.cpu_share = None;
        let mut signer = Process::start(&signer_spec, &o.log_path(&login_name)).await?;
        let signed = Session::from_response(&signer.run(&mut logins).await?)?;
        drop(signer);
        let spec = Spec::new(o, c, &name, &name, o.fast_runs)?.note(format!(
            "`JWT_ALGORITHM={algorithm}`: the authorizer holds the public key only"
        ));
        let event = fixtures.load(
            "authorizer-http-api.json",
            &[("{{ACCESS_TOKEN}}", &signed.access_token)],
        )?;
        jobs.push((spec, same(event, Expect::Authorized)));
    }
    // Keys read at init (their cost shows in the cold-start column), against a loopback
    // stand-in for Secrets Manager and the extension.
    if o.wants("authorizer-secrets-extension") {
        let spec = Spec::new(o, c, "authorizer-secrets-extension", "authorizer-secrets-extension", o.fast_runs)?
            .note("HS256 key read at init through the Parameters and Secrets extension (loopback stand-in)");
        jobs.push((spec, same(authorizer_event()?, Expect::Authorized)));
    }
    if o.wants("login-secrets-manager") {
        let spec = Spec::new(
            o,
            c,
            "login-secrets-manager",
            "login-secrets-manager",
            o.slow_runs,
        )?
        .note("keys read at init from Secrets Manager with the SDK (loopback stand-in)");
        let event = with_user("login.json")?;
        jobs.push((spec, Workload::new(event, Feed::Same, Expect::Status(200))));
    }
    if o.wants("me") {
        let spec = Spec::new(o, c, "me", "me", o.runs)?;
        let event = fixtures.load("me.json", &[("{{USER_ID}}", &session.user_id)])?;
        jobs.push((spec, same(event, Expect::Status(200))));
    }
    if let Some(strict) = &strict_session {
        let spec = Spec::new(o, c, "authorizer-strict", "authorizer-strict", o.runs)?.note(
            "strict mode: the token's session and its account's epoch read (one BatchGetItem) per call",
        );
        let event = fixtures.load(
            "authorizer-http-api.json",
            &[("{{ACCESS_TOKEN}}", &strict.access_token)],
        )?;
        jobs.push((spec, same(event, Expect::Authorized)));
    }
    // The account lifecycle, each on its most common path for the main user.
    let user_id = [("{{USER_ID}}", session.user_id.as_str())];
    if o.wants("sessions") {
        let spec = Spec::new(o, c, "sessions", "sessions", o.runs)?.note(
            "GET /auth/sessions: the profile and the calling session, then a page of sessions",
        );
        let event = fixtures.load("sessions-list.json", &user_id)?;
        jobs.push((spec, same(event, Expect::Status(200))));
    }
    if o.wants("password") {
        let spec = Spec::new(o, c, "password", "password", o.runs)?
            .note("POST /auth/password/forgot for an existing user: the source's window, the outbox write");
        let event = with_user("password-forgot.json")?;
        jobs.push((spec, same(event, Expect::Status(202))));
    }
    if o.wants("email") {
        let spec = Spec::new(o, c, "email", "email", o.runs)?
            .note("POST /auth/email/verify/resend (authorized): the profile, the outbox write");
        let event = fixtures.load("email-verify-resend.json", &user_id)?;
        jobs.push((spec, same(event, Expect::Status(202))));
    }
    if o.wants("account") {
        let spec = Spec::new(o, c, "account", "account", o.slow_runs)?.note(
            "DELETE /auth/account with a wrong password (argon2id verify per call; brakes raised so none refuses)",
        );
        let event = fixtures.load("account-delete-wrong-password.json", &user_id)?;
        jobs.push((spec, same(event, Expect::Status(401))));
    }
    if o.wants("mfa") {
        let spec = Spec::new(o, c, "mfa", "mfa", o.runs)?
            .note("GET /auth/mfa (authorized) for the main user: the factor item, read once");
        let event = fixtures.load("mfa-status.json", &user_id)?;
        jobs.push((spec, same(event, Expect::Status(200))));
    }
    if o.wants("mailer") {
        let spec = Spec::new(o, c, "mailer", "mailer", o.runs)?.note(
            "one outbox insert per batch for the main user: the token minted and stored, the message sent through the SES stand-in (`MAIL_MIN_INTERVAL=0s`, so every one is sent)",
        );
        let event = fixtures.load("mailer-outbox-insert.json", &[("{{EMAIL}}", user.as_str())])?;
        jobs.push((spec, same(event, Expect::WholeBatch)));
    }
    if o.wants("jwks") {
        let spec = Spec::new(o, c, "jwks", "jwks", o.fast_runs)?
            .note("me-without-authorizer.json with its route set to `GET /.well-known/jwks.json`");
        let mut event = fixtures.load("me-without-authorizer.json", &[])?;
        let path = "/.well-known/jwks.json";
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["path"] = json!(path);
        event["routeKey"] = json!(format!("GET {path}"));
        event["requestContext"]["routeKey"] = event["routeKey"].clone();
        jobs.push((spec, same(event, Expect::Status(200))));
    }
    // The runtime loop's floor, and the seed's authorizer in Node, fed the authorizer's event.
    for (name, expect, note) in [
        (
            "echo-current-thread",
            Expect::Anything,
            "lambda_runtime on current-thread tokio returning its event unchanged (the runtime loop's floor)",
        ),
        (
            "echo-multi-thread",
            Expect::Anything,
            "the same echo on tokio's multi-thread runtime",
        ),
        (
            "node-authorizer-seed",
            Expect::Authorized,
            "Node custom-runtime loop, `jwt.verify(token, secretString)` as the seed writes it",
        ),
        (
            "node-authorizer-careful",
            Expect::Authorized,
            "Node custom-runtime loop, `jwt.verify(token, createSecretKey(…), {algorithms, issuer, audience})`",
        ),
    ] {
        if o.wants(name) && (o.node.is_some() || !name.starts_with("node-")) {
            let spec = Spec::new(o, c, name, name, o.fast_runs)?.note(note);
            jobs.push((spec, same(authorizer_event()?, expect)));
        }
    }
    // The authorizer and the floor again with the harness on the other CPU: what waking a process
    // across CPUs costs per invocation on this machine.
    for (function, expect) in [
        ("authorizer", Expect::Authorized),
        ("echo-current-thread", Expect::Anything),
    ] {
        let name = format!("{function}-cross-cpu");
        if o.pin == Pin::Same && o.wants(&name) {
            let mut spec = Spec::new(o, c, &name, function, o.fast_runs)?.note(format!(
                "`{function}` on CPU {}, the harness on CPU 0: each event and response wakes a \
                 process on the other CPU",
                last_cpu()
            ));
            spec.pin = Pin::Split;
            jobs.push((spec, same(authorizer_event()?, expect)));
        }
    }
    Ok(jobs)
}

/// Runs tools/bench/node/seed-bench.js and returns the JSON it prints, plus the other load on
/// the machine meanwhile.
async fn node_seed_bench(o: &Options, c: &Config, quiet_budget: &mut Duration) -> Result<Value> {
    let node = o.node.as_ref().ok_or("seed-bench needs --node")?;
    wait_for_quiet(o, quiet_budget).await;
    eprintln!("==> seed stack in-process (jsonwebtoken sign/verify, bcrypt cost 12)");
    let known: Vec<u32> = o.dynamodb_pid.into_iter().collect();
    let load_before = LoadSnapshot::take(&known);
    let mut command = Command::new(node);
    command
        .arg(Path::new(NODE_SCRIPTS).join("seed-bench.js"))
        .env_clear()
        .envs(env_of("seed-bench", c)?)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // On the functions' CPU, the harness idle meanwhile.
    o.pin.place_harness()?;
    let output = spawn_on(&mut command, o.pin, None)
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
    Ok(results)
}

fn reset_logs(o: &Options) -> Result<()> {
    let logs = o.out_dir.join("logs");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))
}

/// `--cold-start BINARY`: the median time from exec to its first `/next`, in ms, on stdout.
async fn cold_start(o: &Options, binary: &Path) -> Result<()> {
    let function = binary
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| format!("{}: no file name", binary.display()))?;
    let config = Config::new(false, None)?;
    let spec = Spec::new(o, &config, function, function, 0)?;
    reset_logs(o)?;
    o.pin.place_harness()?;
    let mut ready_ms = Vec::with_capacity(o.cold_samples);
    for _ in 0..o.cold_samples {
        let process = Process::start(&spec, &o.log_path(function)).await?;
        ready_ms.push(process.ready_after.as_secs_f64() * 1e3);
    }
    println!("{:.2}", report::median(&ready_ms));
    Ok(())
}

async fn run(o: &Options) -> Result<()> {
    let mut config = Config::new(true, o.node_modules.clone())?;
    // Secrets at init, and the mailer's SES: one loopback stand-in.
    let stand_in = aws_stand_in::StandIn {
        secrets: config.secret_store(),
        mail_dir: Some(o.out_dir.join("mail")),
    };
    config.secrets_endpoint = Some(aws_stand_in::start(stand_in).await?);
    reset_logs(o)?;
    if let Some(share) = &o.cpu_share {
        eprintln!("==> every measured function under {}", share.describe());
    }
    if o.pin != Pin::None
        && let Some(pid) = o.dynamodb_pid
    {
        // DynamoDB Local stays off the function's CPU.
        pin::pin_threads(pid, 0..=0)?;
    }
    let mut quiet_budget = o.quiet_wait;
    let mut rows = Vec::new();
    // A baseline build (`X-baseline`) runs beside the build it is compared with (`X`), taking
    // turns; one whose partner is not planned runs alone, after the others.
    let (mut baselines, jobs): (Vec<_>, Vec<_>) = plan(o, &config)
        .await?
        .into_iter()
        .partition(|(spec, _)| spec.name.ends_with("-baseline"));
    for (spec, mut workload) in jobs {
        let partner = format!("{}-baseline", spec.name);
        if let Some(at) = baselines
            .iter()
            .position(|(other, _)| other.name == partner)
        {
            let (baseline_spec, mut baseline_workload) = baselines.remove(at);
            let pair = [
                (&spec, &mut workload),
                (&baseline_spec, &mut baseline_workload),
            ];
            rows.extend(measure_pair(pair, o, &mut quiet_budget).await?);
            continue;
        }
        rows.push(measure(&spec, &mut workload, o, &mut quiet_budget).await?);
    }
    for (spec, mut workload) in baselines {
        rows.push(measure(&spec, &mut workload, o, &mut quiet_budget).await?);
    }
    let mut node_seed = None;
    if o.node.is_some() && o.wants("seed-bench") {
        node_seed = Some(node_seed_bench(o, &config, &mut quiet_budget).await?);
    }

    let machine = Machine::detect();
    let settings = Settings {
        date: o.date.clone(),
        runs: o.runs,
        slow_runs: o.slow_runs,
        fast_runs: o.fast_runs,
        cold_samples: o.cold_samples,
        placement: match o.pin {
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
    let json = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    for (file, bytes) in [
        ("results.md", markdown.as_bytes()),
        ("results.json", json.as_bytes()),
    ] {
        let path = o.out_dir.join(file);
        use std::io::Write as _;
        File::create(&path)
            .and_then(|mut out| out.write_all(bytes))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    println!("{markdown}");
    Ok(())
}

/// `bench --power-report DIR --sizes 128,256,... --functions FILE [--cfs-period-us N]`:
/// the power-tuning report of runs already made (src/power.rs). FILE holds `sam-package
/// functions` lines (`LogicalId binary MemorySize`); each function's bench row is its binary.
fn power_report(args: &[String]) -> Result<()> {
    let (mut dir, mut sizes, mut functions, mut period_us) = (None, Vec::new(), None, 20_000);
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--power-report" => dir = Some(PathBuf::from(value()?)),
            "--sizes" => {
                sizes = value()?
                    .split(',')
                    .map(|mb| mb.parse::<u32>().map_err(|e| format!("--sizes {mb}: {e}")))
                    .collect::<Result<_>>()?;
            }
            "--functions" => functions = Some(PathBuf::from(value()?)),
            "--cfs-period-us" => {
                period_us = value()?
                    .parse()
                    .map_err(|e| format!("--cfs-period-us: {e}"))?;
            }
            other => return Err(format!("--power-report: unknown option {other}")),
        }
    }
    let dir = dir.ok_or("--power-report DIR")?;
    let path = functions.ok_or("--functions FILE")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let functions: Vec<(String, String, u32)> = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let id = words.next()?.to_owned();
            let binary = words.next()?.to_owned();
            let memory = words.next()?.parse().ok()?;
            Some((id, binary, memory))
        })
        .collect();
    print!("{}", power::report(&dir, &sizes, &functions, period_us)?);
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    if let ["--cost-report", path] = words.as_slice() {
        let report = std::fs::read_to_string(path)
            .map_err(|e| format!("{path}: {e}"))
            .and_then(|text| serde_json::from_str(&text).map_err(|e| format!("{path}: {e}")))
            .and_then(|power: Value| cost::report(&power));
        return match report {
            Ok(md) => {
                print!("{md}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("bench: {error}");
                ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) == Some("--power-report") {
        return match power_report(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("bench: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let outcome = match Options::parse() {
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Some(o)) => match &o.cold_start {
            Some(binary) => cold_start(&o, binary).await,
            None => run(&o).await,
        },
        Err(error) => Err(format!("{error}\n\n{USAGE}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error}");
            ExitCode::FAILURE
        }
    }
}
