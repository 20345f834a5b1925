//! What the kernel says about a process: its resident memory
//! (`/proc/PID/status`, `VmRSS`) and the CPU time it has used
//! (`/proc/PID/stat`, utime + stime: every thread of the process together,
//! so socklab's password workers count too).

use std::time::Instant;

use anyhow::Context;

/// `/proc` counts CPU time in USER_HZ ticks, which Linux fixes at 100 per
/// second for user space on every architecture it runs on (the kernel's own
/// HZ may differ; /proc converts).
const TICKS_PER_SEC: f64 = 100.0;

/// Resident set size in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {path}: is the server still running?"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no VmRSS line in {path}"))
}

/// CPU seconds used so far (user + system).
pub fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: the
    // numbers start after the last ')'. utime and stime are fields 14, 15.
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (tick(11), tick(12)) {
        (Some(u), Some(s)) => Ok((u + s) / TICKS_PER_SEC),
        _ => anyhow::bail!("cannot read utime and stime from {path}"),
    }
}

/// Nanoseconds the process's main thread has waited on a run queue: ready
/// to run, but every core busy with something else
/// (`/proc/PID/task/PID/schedstat`, second field). On a shared machine this
/// tells a starved server from an idle one.
pub fn runqueue_wait_secs(pid: u32) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/task/{pid}/schedstat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    text.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse::<f64>().ok())
        .map(|ns| ns / 1e9)
        .with_context(|| format!("no wait time in {path}"))
}

/// CPU use of a process over an interval, and its main thread's time
/// waiting for a core, each as a percentage of the interval.
pub struct CpuMeter {
    pid: u32,
    start_cpu: f64,
    start_wait: f64,
    start: Instant,
}

impl CpuMeter {
    pub fn start(pid: u32) -> anyhow::Result<CpuMeter> {
        Ok(CpuMeter {
            pid,
            start_cpu: cpu_secs(pid)?,
            start_wait: runqueue_wait_secs(pid)?,
            start: Instant::now(),
        })
    }

    /// (CPU %, run-queue wait %) since `start`.
    pub fn percent(&self) -> anyhow::Result<(f64, f64)> {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let cpu = (cpu_secs(self.pid)? - self.start_cpu) / secs * 100.0;
        let wait = (runqueue_wait_secs(self.pid)? - self.start_wait) / secs * 100.0;
        Ok((cpu, wait))
    }
}

/// Checks that this process may open `need` descriptors. The bench script
/// raises the soft limit to the hard one (`ulimit -n`) before starting the
/// servers and the generator; raising it here would take `setrlimit`, an
/// unsafe call this crate forbids.
pub fn check_nofile(need: u64) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string("/proc/self/limits").context("cannot read /proc/self/limits")?;
    let soft = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    match soft {
        Some(n) if n < need => anyhow::bail!(
            "this process may open {n} descriptors and needs {need}: run `ulimit -n {need}` (or more) first"
        ),
        _ => Ok(()),
    }
}
