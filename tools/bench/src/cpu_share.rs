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
//! A child joins the cgroup by inheritance: the spawning thread steps into it for the spawn and
//! back out afterwards (a `pre_exec` hook would force fork + exec and cost the cold start).

use std::path::PathBuf;
use std::process::{Child, Command};

const CPU_CONTROLLER: &str = "/sys/fs/cgroup/cpu";

pub struct CpuShare {
    group: PathBuf,
    /// Where the harness's thread returns after a spawn.
    home: PathBuf,
    share: f64,
    period_us: u64,
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
    /// A cgroup of its own for this run, with the quota for `share` of one CPU.
    pub fn create(share: f64, period_us: u64) -> Result<Self, String> {
        if !(0.01..=16.0).contains(&share) || !(1_000..=1_000_000).contains(&period_us) {
            return Err(format!(
                "--cpu-share {share} / --cfs-period-us {period_us}: out of range"
            ));
        }
        let home = current_group()?;
        let group = home.join(format!("jwt-bench-{}", std::process::id()));
        std::fs::create_dir_all(&group).map_err(|e| {
            format!(
                "cannot create {} (the cpu controller needs root): {e}",
                group.display()
            )
        })?;
        let quota = ((share * period_us as f64).round() as u64).max(1_000);
        write(&group.join("cpu.cfs_period_us"), &period_us.to_string())?;
        write(&group.join("cpu.cfs_quota_us"), &quota.to_string())?;
        Ok(Self {
            group,
            home,
            share,
            period_us,
        })
    }

    /// For the log: what the functions run under.
    pub fn describe(&self) -> String {
        format!(
            "{:.4} of a CPU: a CFS quota of {} µs per {} µs period ({})",
            self.share,
            ((self.share * self.period_us as f64).round() as u64).max(1_000),
            self.period_us,
            self.group.display()
        )
    }

    /// Spawns `command` inside the cgroup.
    pub fn spawn(&self, command: &mut Command) -> std::io::Result<Child> {
        let me = thread_id();
        let step = |group: &PathBuf| {
            std::fs::write(group.join("tasks"), &me)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", group.display())))
        };
        step(&self.group)?;
        let child = command.spawn();
        step(&self.home)?;
        child
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        // Empty by now (every function process is killed before the run ends).
        let _ = std::fs::remove_dir(&self.group);
    }
}
