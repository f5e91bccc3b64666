//! Summaries of the measurements, and the markdown / JSON report built from them.

use std::fmt::Write as _;

use serde_json::{Value, json};

/// What one function process was measured at.
#[derive(Debug)]
pub struct Row {
    pub name: String,
    /// `rust`, `echo` or `node`.
    pub kind: &'static str,
    pub cold_ready_ms: Vec<f64>,
    pub first_invocation_us: Vec<f64>,
    /// Warm latencies, event handed out to response received.
    pub latencies_us: Vec<f64>,
    pub cpu_per_invocation_us: f64,
    pub sched_cpu_per_invocation_us: f64,
    pub harness_cpu_per_invocation_us: f64,
    pub rss_init_kib: u64,
    pub rss_after_kib: u64,
    /// Average cores other processes (not the function, the harness or DynamoDB Local) used
    /// during the warm run: on a quiet machine about 0.
    pub other_load_cores: f64,
    pub binary_bytes: Option<u64>,
    pub round_trips: Option<&'static str>,
    /// Where the function ran relative to the harness: `own CPU`, `shared CPU`, `unpinned`.
    pub placement: &'static str,
    pub note: Option<String>,
}

impl Row {
    pub fn n(&self) -> usize {
        self.latencies_us.len()
    }
    pub fn cold_ready_median_ms(&self) -> f64 {
        median(&self.cold_ready_ms)
    }
    pub fn first_invocation_median_us(&self) -> f64 {
        median(&self.first_invocation_us)
    }
    pub fn p50_us(&self) -> f64 {
        percentile(&self.latencies_us, 50.0)
    }
    pub fn p99_us(&self) -> f64 {
        percentile(&self.latencies_us, 99.0)
    }
}

/// Nearest-rank percentile.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Other processes' CPU load above which a row is flagged, in cores.
pub const QUIET_CORES: f64 = 0.2;

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Online CPUs of the machine, whatever the calling thread's affinity (`nproc --all`).
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(online).unwrap_or(1).max(1)
}

pub struct Machine {
    pub cores: usize,
    pub model: String,
    pub kernel: String,
}

impl Machine {
    pub fn detect() -> Self {
        let cores = online_cpus();
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_owned())
            .unwrap_or_default();
        Self {
            cores,
            model,
            kernel,
        }
    }

    pub fn line(&self) -> String {
        format!(
            "{} cores, {}, Linux {}",
            self.cores, self.model, self.kernel
        )
    }
}

pub struct Settings {
    pub date: String,
    pub runs: usize,
    pub slow_runs: usize,
    pub fast_runs: usize,
    pub cold_samples: usize,
    /// How the harness and the functions were placed on the CPUs, in words.
    pub placement: String,
}

/// `a / b` as a factor, or `n/a` when `b` is zero (a CPU reading below the clock's resolution).
fn times(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.1}×", a / b)
    } else {
        "n/a".to_owned()
    }
}

fn find<'a>(rows: &'a [Row], name: &str) -> Option<&'a Row> {
    rows.iter().find(|row| row.name == name)
}

/// Rust against Node authorizer rows measured the same way.
fn compare_authorizers(lines: &mut Vec<String>, rust: &Row, node: &Row, style: &str) {
    lines.push(format!(
        "authorizer CPU/invocation: Rust {:.1} µs vs Node {style} {:.1} µs = {} \
         (schedstat: {:.1} vs {:.1} µs = {})",
        rust.cpu_per_invocation_us,
        node.cpu_per_invocation_us,
        times(node.cpu_per_invocation_us, rust.cpu_per_invocation_us),
        rust.sched_cpu_per_invocation_us,
        node.sched_cpu_per_invocation_us,
        times(
            node.sched_cpu_per_invocation_us,
            rust.sched_cpu_per_invocation_us
        ),
    ));
    lines.push(format!(
        "authorizer warm latency: Rust p50 {:.0} / p99 {:.0} µs vs Node {style} p50 {:.0} / \
         p99 {:.0} µs = {} / {}",
        rust.p50_us(),
        rust.p99_us(),
        node.p50_us(),
        node.p99_us(),
        times(node.p50_us(), rust.p50_us()),
        times(node.p99_us(), rust.p99_us()),
    ));
    lines.push(format!(
        "authorizer cold start to ready: Rust {:.2} ms vs Node {style} {:.2} ms = {}; \
         first invocation {:.0} vs {:.0} µs = {}; peak RSS after the run {:.1} vs \
         {:.1} MiB = {}",
        rust.cold_ready_median_ms(),
        node.cold_ready_median_ms(),
        times(node.cold_ready_median_ms(), rust.cold_ready_median_ms()),
        rust.first_invocation_median_us(),
        node.first_invocation_median_us(),
        times(
            node.first_invocation_median_us(),
            rust.first_invocation_median_us()
        ),
        mib(rust.rss_after_kib),
        mib(node.rss_after_kib),
        times(node.rss_after_kib as f64, rust.rss_after_kib as f64),
    ));
}

/// The comparison lines: Rust against Node under the same harness, and the runtime loop floor.
/// CPU figures are the `/proc/<pid>/stat` ones, schedstat in parentheses.
pub fn ratios(rows: &[Row]) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(rust) = find(rows, "authorizer") {
        for style in ["seed", "careful"] {
            let Some(node) = find(rows, &format!("node-authorizer-{style}")) else {
                continue;
            };
            compare_authorizers(&mut lines, rust, node, style);
        }
    }
    for name in ["authorizer", "echo-current-thread"] {
        if let (Some(same), Some(cross)) =
            (find(rows, name), find(rows, &format!("{name}-cross-cpu")))
        {
            lines.push(format!(
                "{name} with the harness on the other CPU: {:.1} µs CPU/invocation vs {:.1} µs \
                 on the same CPU, p50 {:.0} vs {:.0} µs: waking a process across CPUs costs the \
                 function {:.1} µs per invocation on this machine",
                cross.cpu_per_invocation_us,
                same.cpu_per_invocation_us,
                cross.p50_us(),
                same.p50_us(),
                cross.cpu_per_invocation_us - same.cpu_per_invocation_us,
            ));
        }
    }
    if let Some(floor) = find(rows, "echo-current-thread") {
        if let Some(multi) = find(rows, "echo-multi-thread") {
            lines.push(format!(
                "runtime loop floor (echo on lambda_runtime): current_thread {:.1} µs CPU/invocation \
                 (schedstat {:.1}), multi-thread {:.1} µs (schedstat {:.1}) = {}",
                floor.cpu_per_invocation_us,
                floor.sched_cpu_per_invocation_us,
                multi.cpu_per_invocation_us,
                multi.sched_cpu_per_invocation_us,
                times(multi.cpu_per_invocation_us, floor.cpu_per_invocation_us),
            ));
        }
        for row in rows
            .iter()
            .filter(|row| row.kind == "rust" && row.placement == floor.placement)
        {
            lines.push(format!(
                "{}: {:.1} µs CPU/invocation, of which the runtime loop's floor ({:.1} µs) is {:.0}%; \
                 the function's own work {:.1} µs",
                row.name,
                row.cpu_per_invocation_us,
                floor.cpu_per_invocation_us,
                100.0 * floor.cpu_per_invocation_us / row.cpu_per_invocation_us,
                row.cpu_per_invocation_us - floor.cpu_per_invocation_us,
            ));
        }
    }
    lines
}

fn fmt_opt_kib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".to_owned(), |b| format!("{}", b / 1024))
}

pub fn markdown(
    machine: &Machine,
    settings: &Settings,
    rows: &[Row],
    ratios: &[String],
    node_seed: Option<&Value>,
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## Whole-process benchmark (`scripts/bench`, {})\n",
        settings.date
    );
    let _ = writeln!(md, "Machine: {}\n", machine.line());
    let _ = writeln!(
        md,
        "Each function is its release binary, run as a child process of `tools/bench`, which \
         serves the Lambda Runtime API on 127.0.0.1; DynamoDB Local runs on the same machine. \
         Events: the repository's `events/*.json`, changed per request only where they must be \
         (email, cookie, `requestId`, `timeEpoch`). \
         Cold start: exec to the first `/invocation/next` (median of {cold} processes); first \
         invocation: the first event's latency in each of them (median). Latency: event handed \
         out to response received, as the harness sees it (its own turns on the CPU included). CPU/invocation: the function \
         process's user+system time over the warm run ÷ invocations, from `/proc/<pid>/stat` \
         (10 ms ticks: ±10 ms ÷ n), and from `/proc/<pid>/task/*/schedstat` (ns, live threads \
         only). The harness's own CPU is in neither; its column shows what it spent per \
         invocation (building and checking events, serving the API). Peak RSS: `VmHWM` once \
         ready, then after the warm run. n: register and login {slow} (argon2id, 19 MiB, t=2, \
         is most of each call), the DynamoDB-backed refresh, logout and me {runs}, functions \
         without I/O {fast}. DynamoDB round trips are the README's numbers, counted by the \
         end-to-end tests (`tests/e2e`), not measured here. Other load: the cores that \
         processes other than the function, the harness and DynamoDB Local used during the warm \
         run (machine-wide busy time from `/proc/stat` minus theirs); above {quiet} the row ran \
         on a busy machine and its CPU and latency figures are inflated. Placement: {placement}.\n",
        cold = settings.cold_samples,
        slow = settings.slow_runs,
        runs = settings.runs,
        fast = settings.fast_runs,
        quiet = QUIET_CORES,
        placement = settings.placement,
    );
    let _ = writeln!(
        md,
        "| function | cold start to ready, median of {} (ms) | first invocation, median (µs) | n | p50 (µs) | p99 (µs) | DynamoDB round trips (documented) | CPU/invocation, /proc stat (µs) | CPU/invocation, schedstat (µs) | harness CPU/invocation (µs) | peak RSS init / after (MiB) | binary (KiB) | other load (cores) |",
        settings.cold_samples
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let _ = writeln!(
            md,
            "| {} | {:.2} | {:.0} | {} | {:.0} | {:.0} | {} | {:.1} | {:.1} | {:.1} | {:.1} / {:.1} | {} | {:.2} |",
            row.name,
            row.cold_ready_median_ms(),
            row.first_invocation_median_us(),
            row.n(),
            row.p50_us(),
            row.p99_us(),
            row.round_trips.unwrap_or("-"),
            row.cpu_per_invocation_us,
            row.sched_cpu_per_invocation_us,
            row.harness_cpu_per_invocation_us,
            mib(row.rss_init_kib),
            mib(row.rss_after_kib),
            fmt_opt_kib(row.binary_bytes),
            row.other_load_cores,
        );
    }
    md.push('\n');
    let busy: Vec<&str> = rows
        .iter()
        .filter(|row| row.other_load_cores > QUIET_CORES)
        .map(|row| row.name.as_str())
        .collect();
    if !busy.is_empty() {
        let _ = writeln!(
            md,
            "**Measured while other processes used more than {QUIET_CORES} cores: {}. Rerun on a quiet machine before comparing these rows.**\n",
            busy.join(", ")
        );
    }
    for row in rows {
        if let Some(note) = &row.note {
            let _ = writeln!(md, "- {}: {note}", row.name);
        }
    }
    md.push('\n');
    for line in ratios {
        let _ = writeln!(md, "- {line}");
    }
    if let Some(seed) = node_seed {
        let _ = writeln!(
            md,
            "\nSeed stack in-process (Node {}, jsonwebtoken {}, bcrypt {}), same claims as our access \
             tokens; other load meanwhile {:.2} cores{}:\n",
            seed["node"].as_str().unwrap_or("?"),
            seed["jsonwebtoken"].as_str().unwrap_or("?"),
            seed["bcrypt"].as_str().unwrap_or("?"),
            seed["other_load_cores"].as_f64().unwrap_or(f64::NAN),
            if seed["other_load_cores"].as_f64().unwrap_or(0.0) > QUIET_CORES {
                " (**busy machine: figures inflated**)"
            } else {
                ""
            },
        );
        let _ = writeln!(md, "| operation | µs per op | ops/s |");
        let _ = writeln!(md, "|---|---|---|");
        for op in seed["jwt"].as_array().into_iter().flatten() {
            let _ = writeln!(
                md,
                "| {} | {:.1} | {:.0} |",
                op["label"].as_str().unwrap_or("?"),
                op["us_per_op"].as_f64().unwrap_or(f64::NAN),
                op["ops_per_s"].as_f64().unwrap_or(f64::NAN),
            );
        }
        for op in seed["bcrypt_cost12"].as_array().into_iter().flatten() {
            let _ = writeln!(
                md,
                "| {} (median of {}) | {:.0} | {:.1} |",
                op["label"].as_str().unwrap_or("?"),
                op["runs"].as_u64().unwrap_or(0),
                op["median_us"].as_f64().unwrap_or(f64::NAN),
                1e6 / op["median_us"].as_f64().unwrap_or(f64::NAN),
            );
        }
        let jwt = seed["jwt"].as_array();
        let us = |name: &str| {
            jwt.into_iter()
                .flatten()
                .find(|op| op["name"] == name)
                .and_then(|op| op["us_per_op"].as_f64())
        };
        if let (Some(seed_verify), Some(careful_verify)) = (us("verify_seed"), us("verify_careful"))
        {
            let _ = writeln!(
                md,
                "\n- jsonwebtoken verify: secret as a string {seed_verify:.1} µs vs KeyObject {careful_verify:.1} µs = {:.1}×",
                seed_verify / careful_verify
            );
        }
        if let (Some(seed_sign), Some(careful_sign)) = (us("sign_seed"), us("sign_careful")) {
            let _ = writeln!(
                md,
                "- jsonwebtoken sign: secret as a string {seed_sign:.1} µs vs KeyObject {careful_sign:.1} µs = {:.1}×",
                seed_sign / careful_sign
            );
        }
    }
    md
}

pub fn json(
    machine: &Machine,
    settings: &Settings,
    rows: &[Row],
    ratios: &[String],
    node_seed: Option<&Value>,
) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "name": row.name,
                "kind": row.kind,
                "cold_start_ready_ms": {
                    "median": row.cold_ready_median_ms(),
                    "min": row.cold_ready_ms.iter().copied().fold(f64::INFINITY, f64::min),
                    "max": row.cold_ready_ms.iter().copied().fold(0.0, f64::max),
                    "samples": row.cold_ready_ms,
                },
                "first_invocation_us": {
                    "median": row.first_invocation_median_us(),
                    "samples": row.first_invocation_us,
                },
                "warm": {
                    "n": row.n(),
                    "p50_us": row.p50_us(),
                    "p90_us": percentile(&row.latencies_us, 90.0),
                    "p99_us": row.p99_us(),
                    "max_us": percentile(&row.latencies_us, 100.0),
                    "mean_us": mean(&row.latencies_us),
                },
                "cpu_per_invocation_us": row.cpu_per_invocation_us,
                "sched_cpu_per_invocation_us": row.sched_cpu_per_invocation_us,
                "harness_cpu_per_invocation_us": row.harness_cpu_per_invocation_us,
                "peak_rss_kib": { "init": row.rss_init_kib, "after_run": row.rss_after_kib },
                "binary_bytes": row.binary_bytes,
                "other_load_cores": row.other_load_cores,
                "dynamodb_round_trips_documented": row.round_trips,
                "placement": row.placement,
                "note": row.note,
            })
        })
        .collect();
    json!({
        "date": settings.date,
        "machine": {
            "cores": machine.cores,
            "model": machine.model,
            "kernel": machine.kernel,
        },
        "settings": {
            "runs": settings.runs,
            "slow_runs": settings.slow_runs,
            "fast_runs": settings.fast_runs,
            "cold_samples": settings.cold_samples,
            "placement": settings.placement,
        },
        "dynamodb_round_trips_source": "README (counted by the end-to-end tests' SDK interceptor), not measured by this benchmark",
        "functions": rows,
        "ratios": ratios,
        "node_seed_in_process": node_seed,
    })
}

#[cfg(test)]
mod tests {
    use super::{median, percentile};

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 500.0);
        assert_eq!(percentile(&values, 99.0), 990.0);
        assert_eq!(percentile(&values, 100.0), 1000.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
