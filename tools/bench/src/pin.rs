//! CPU placement of the harness and the function processes.

use std::process::{Child, Command};
use std::str::FromStr;

/// Where the harness and the function process run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// Wherever the scheduler puts them.
    None,
    /// The harness and the function on the last CPU, taking turns as a small Lambda function
    /// and its Runtime API do on one vCPU; DynamoDB Local on CPU 0.
    Same,
    /// The function on the last CPU, the harness (and DynamoDB Local) on CPU 0: every event and
    /// every response is a wake-up across CPUs.
    Split,
}

impl FromStr for Pin {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(Pin::None),
            "same" => Ok(Pin::Same),
            "split" => Ok(Pin::Split),
            other => Err(format!("expected none, same or split, not {other}")),
        }
    }
}

impl Pin {
    pub fn label(self) -> &'static str {
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
    pub fn place_harness(self) -> Result<(), String> {
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
pub fn pin_threads(pid: u32, cpus: std::ops::RangeInclusive<usize>) -> Result<(), String> {
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
pub fn last_cpu() -> usize {
    crate::report::online_cpus().max(1) - 1
}

/// Spawns `command` on `pin`'s function CPUs. A child inherits the harness's affinity, so the
/// harness steps onto those CPUs for the spawn and back afterwards: a `pre_exec` hook would
/// force fork + exec instead of posix_spawn, and that cost would land in the cold start.
/// With `share`, the child also runs under that CPU quota.
pub fn spawn_on(
    command: &mut Command,
    pin: Pin,
    share: Option<&crate::cpu_share::CpuShare>,
) -> std::io::Result<Child> {
    let harness = current_affinity();
    set_affinity(0, pin.function_cpus())?;
    let child = match share {
        Some(share) => share.spawn(command),
        None => command.spawn(),
    };
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
