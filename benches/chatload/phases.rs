//! The measurements, one method per phase, each driving the loop in
//! [`Driver`] until its time is up and reporting what it saw.
//!
//! Latency is measured from the send time the message carries to the moment
//! its receiver reads it, both on this process's monotonic clock. The
//! fixed-rate phase is open loop: messages leave on schedule whether or not
//! earlier ones have arrived, so a slow server shows as latency, not as a
//! politely lower rate.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::driver::Driver;
use super::procfs::{CpuMeter, rss_kib};
use super::report;

/// Give up on a login phase that makes no progress for this long.
const STALL: Duration = Duration::from_secs(30);

pub struct Phases {
    pub pid: u32,
    pub settle: Duration,
}

impl Phases {
    /// Runs the loop for `d`, sending nothing new.
    pub fn idle(&self, d: &mut Driver, dur: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        while start.elapsed() < dur {
            d.turn(
                dur.saturating_sub(start.elapsed())
                    .min(Duration::from_millis(100)),
            )?;
        }
        Ok(())
    }

    /// Logs in to `checkpoint`, then to `sessions`, reading RSS after each.
    pub fn logins(
        &self,
        d: &mut Driver,
        sessions: usize,
        checkpoint: usize,
        concurrency: usize,
    ) -> anyhow::Result<()> {
        let base = rss_kib(self.pid)?;
        report("sessions", sessions);
        report("rss_kib_before", base);
        let mut spent = Duration::ZERO;
        let mut targets = vec![sessions];
        if checkpoint > 0 && checkpoint < sessions {
            targets.insert(0, checkpoint);
        }
        for target in targets {
            let start = Instant::now();
            self.login_until(d, target, concurrency)?;
            spent += start.elapsed();
            eprintln!(
                "chatload: {target} sessions logged in ({:.1} s so far)",
                spent.as_secs_f64()
            );
            self.idle(d, self.settle)?;
            let rss = rss_kib(self.pid)?;
            report(&format!("rss_kib_at_{target}"), rss);
            let per = rss.saturating_sub(base) as f64 / target as f64;
            report(
                &format!("rss_kib_per_session_at_{target}"),
                format!("{per:.2}"),
            );
        }
        report(
            "logins_per_s",
            format!("{:.0}", sessions as f64 / spent.as_secs_f64()),
        );
        Ok(())
    }

    fn login_until(&self, d: &mut Driver, target: usize, concurrency: usize) -> anyhow::Result<()> {
        let mut progress = (d.ready, Instant::now());
        while d.ready < target {
            while d.started() < target && d.started() - d.ready < concurrency {
                d.connect_one()?;
            }
            d.turn(Duration::from_millis(10))?;
            if d.ready != progress.0 {
                progress = (d.ready, Instant::now());
            } else if progress.1.elapsed() > STALL {
                bail!(
                    "logins stalled: {} of {target} sessions logged in, none in {} s",
                    d.ready,
                    STALL.as_secs()
                );
            }
        }
        Ok(())
    }

    /// The server's CPU while nobody says anything.
    pub fn idle_cpu(&self, d: &mut Driver, dur: Duration) -> anyhow::Result<()> {
        let cpu = CpuMeter::start(self.pid)?;
        self.idle(d, dur)?;
        report("idle_cpu_pct", format!("{:.2}", cpu.percent()?.0));
        Ok(())
    }

    /// `rate` messages per second in total, round-robin over the senders.
    pub fn fixed_rate(&self, d: &mut Driver, rate: u64, dur: Duration) -> anyhow::Result<()> {
        let senders = d.senders();
        if senders == 0 {
            bail!("no pair of sessions to send messages between");
        }
        let (server, me) = (
            CpuMeter::start(self.pid)?,
            CpuMeter::start(std::process::id())?,
        );
        d.latencies = Some(Vec::with_capacity(
            (rate as f64 * dur.as_secs_f64()) as usize,
        ));
        let (start, mut queued, mut next) = (Instant::now(), 0u64, 0usize);
        let before = d.received;
        while start.elapsed() < dur {
            let due = (rate as f64 * start.elapsed().as_secs_f64()) as u64;
            while queued < due {
                d.send(next);
                next = (next + 1) % senders;
                queued += 1;
            }
            d.turn(Duration::from_millis(1))?;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let (server, me) = (server.percent()?, me.percent()?);
        let delivered = d.received - before;
        let lost = self.drain(d)?;
        report("rate_target", rate);
        report("rate_sent_per_s", format!("{:.0}", queued as f64 / elapsed));
        // Below the sent rate when the server falls behind.
        report(
            "rate_delivered_per_s",
            format!("{:.0}", delivered as f64 / elapsed),
        );
        cpu_report("rate", server, me);
        percentiles("rate", d.latencies.take().unwrap_or_default());
        report("rate_lost", lost);
        Ok(())
    }

    /// Every sender keeps `window` messages in flight; routed messages per
    /// second are counted over `dur`, after `warmup`.
    pub fn flat_out(
        &self,
        d: &mut Driver,
        window: u32,
        warmup: Duration,
        dur: Duration,
    ) -> anyhow::Result<()> {
        d.saturating = true;
        for i in 0..d.senders() {
            for _ in 0..window {
                d.send(i);
            }
        }
        self.idle(d, warmup)?;
        let (server, me) = (
            CpuMeter::start(self.pid)?,
            CpuMeter::start(std::process::id())?,
        );
        d.latencies = Some(Vec::new());
        let (start, before) = (Instant::now(), d.received);
        self.idle(d, dur)?;
        let (elapsed, routed) = (start.elapsed().as_secs_f64(), d.received - before);
        let (server, me) = (server.percent()?, me.percent()?);
        d.saturating = false;
        let latencies = d.latencies.take().unwrap_or_default();
        let lost = self.drain(d)?;
        report("sat_window", window);
        report("sat_msgs_per_s", format!("{:.0}", routed as f64 / elapsed));
        cpu_report("sat", server, me);
        percentiles("sat", latencies);
        report("sat_lost", lost);
        Ok(())
    }

    /// Waits for the messages still in flight; returns how many never came.
    fn drain(&self, d: &mut Driver) -> anyhow::Result<u64> {
        let start = Instant::now();
        while d.inflight > 0 && start.elapsed() < Duration::from_secs(30) {
            d.turn(Duration::from_millis(10))?;
        }
        if d.strays > 0 {
            eprintln!(
                "chatload: {} messages without our numbers (errors?)",
                d.strays
            );
        }
        Ok(d.inflight)
    }
}

/// CPU and run-queue wait of the server and of the generator.
fn cpu_report(prefix: &str, (cpu, wait): (f64, f64), (my_cpu, my_wait): (f64, f64)) {
    report(&format!("{prefix}_server_cpu_pct"), format!("{cpu:.1}"));
    report(&format!("{prefix}_server_wait_pct"), format!("{wait:.1}"));
    report(&format!("{prefix}_gen_cpu_pct"), format!("{my_cpu:.1}"));
    report(&format!("{prefix}_gen_wait_pct"), format!("{my_wait:.1}"));
}

fn percentiles(prefix: &str, mut us: Vec<u32>) {
    us.sort_unstable();
    let at = |q: f64| {
        let i = ((us.len() as f64 * q) as usize).min(us.len().saturating_sub(1));
        us.get(i).map_or(0.0, |v| f64::from(*v) / 1000.0)
    };
    report(&format!("{prefix}_samples"), us.len());
    report(&format!("{prefix}_p50_ms"), format!("{:.2}", at(0.50)));
    report(&format!("{prefix}_p99_ms"), format!("{:.2}", at(0.99)));
    report(&format!("{prefix}_max_ms"), format!("{:.2}", at(1.0)));
}
