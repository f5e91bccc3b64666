//! Lambda's CPU share, emulated: Lambda gives a function CPU in proportion to its memory (one
//! vCPU at 1,769 MB), enforced as a bandwidth quota. `--cpu-share F` runs every function process
//! in a cgroup (v1 `cpu` controller, as root) whose CFS quota is F × the period: F = 128/1769
//! lets a 128 MB function run about 7% of each period and sleep the rest.
//!
//! The period is `--cfs-period-us` (default 20 ms). Lambda does not publish its own; the
//! kernel's default is 100 ms. The period decides how a short burst is cut: a burst shorter than
//! the quota runs at full speed, a longer one waits (1 − F) × period per period it spans. With
//! 100 ms a 128 MB function's first 7 ms run free and the next wait 93 ms; 20 ms spreads the same
//! CPU evenly enough that what is measured is close to CPU ÷ share, the figure AWS's proportional
//! allocation implies. scripts/power-tune states the period in its report.
//!
//! Each process gets a cgroup of its own (Lambda gives each execution environment its own
//! share), fresh for the spawn, so nothing an earlier process used throttles the next one's
//! init. A child joins its cgroup by inheritance: the spawning thread steps into it for the
//! spawn and back out afterwards (a `pre_exec` hook would force fork + exec and cost the cold
//! start).

use std::path::PathBuf;
use std::process::{Child, Command};

const CPU_CONTROLLER: &str = "/sys/fs/cgroup/cpu";

pub struct CpuShare {
    /// This run's directory of per-process cgroups.
    base: PathBuf,
    /// Where the harness's thread returns after a spawn.
    home: PathBuf,
    share: f64,
    period_us: u64,
    spawned: std::sync::atomic::AtomicU64,
}

fn thread_id() -> String {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }.to_string()
}

fn write(path: &std::path::Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("{}: {e}", path.display()))
}

/// The harness's own cgroup in the `cpu` hierarchy (`/proc/self/cgroup`'s `cpu` line).
fn current_group() -> Result<PathBuf, String> {
    let table = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
    let relative = table
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':').skip(1);
            fields.next().zip(fields.next())
        })
        .find(|(controllers, _)| controllers.split(',').any(|c| c == "cpu"))
        .map(|(_, path)| path.trim_start_matches('/').to_owned())
        .ok_or("no cgroup v1 cpu controller (need /sys/fs/cgroup/cpu, as root)")?;
    Ok(PathBuf::from(CPU_CONTROLLER).join(relative))
}

impl CpuShare {
    /// A directory of cgroups for this run, each process's with the quota for `share` of one CPU.
    pub fn create(share: f64, period_us: u64) -> Result<Self, String> {
        if !(0.01..=16.0).contains(&share) || !(1_000..=1_000_000).contains(&period_us) {
            return Err(format!(
                "--cpu-share {share} / --cfs-period-us {period_us}: out of range"
            ));
        }
        let home = current_group()?;
        let base = home.join(format!("jwt-bench-{}", std::process::id()));
        std::fs::create_dir_all(&base).map_err(|e| {
            format!(
                "cannot create {} (the cpu controller needs root): {e}",
                base.display()
            )
        })?;
        Ok(Self {
            base,
            home,
            share,
            period_us,
            spawned: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn quota_us(&self) -> u64 {
        ((self.share * self.period_us as f64).round() as u64).max(1_000)
    }

    /// For the log: what the functions run under.
    pub fn describe(&self) -> String {
        format!(
            "{:.4} of a CPU each: a CFS quota of {} µs per {} µs period (cgroups under {})",
            self.share,
            self.quota_us(),
            self.period_us,
            self.base.display()
        )
    }

    /// Spawns `command` in a fresh cgroup of its own.
    pub fn spawn(&self, command: &mut Command) -> std::io::Result<Child> {
        let n = self
            .spawned
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let group = self.base.join(n.to_string());
        let failed = |e: String| std::io::Error::other(e);
        std::fs::create_dir_all(&group).map_err(|e| failed(format!("{}: {e}", group.display())))?;
        write(
            &group.join("cpu.cfs_period_us"),
            &self.period_us.to_string(),
        )
        .map_err(failed)?;
        write(
            &group.join("cpu.cfs_quota_us"),
            &self.quota_us().to_string(),
        )
        .map_err(failed)?;
        let me = thread_id();
        write(&group.join("tasks"), &me).map_err(failed)?;
        let child = command.spawn();
        if let Err(error) = write(&self.home.join("tasks"), &me) {
            // The harness must not stay throttled, nor a child run that nobody measures.
            if let Ok(mut child) = child {
                let _ = child.kill();
                let _ = child.wait();
            }
            return Err(failed(format!(
                "cannot leave the function's cgroup: {error}"
            )));
        }
        child
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        // Empty by now: every function process is killed and reaped before the run ends.
        for entry in std::fs::read_dir(&self.base)
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = std::fs::remove_dir(entry.path());
        }
        let _ = std::fs::remove_dir(&self.base);
    }
}
