//! `chatload`: the load generator behind `benches/chat.sh`. It logs in
//! thousands of XMPP sessions on one server on 127.0.0.1 (socklab or
//! Prosody: it speaks only what both understand), then has them exchange
//! messages, and prints what it measured as `KEY VALUE` lines on stdout
//! (progress goes to stderr):
//!
//! 1. logins, paced by `--concurrency` logins in progress, to `--checkpoint`
//!    sessions and then to `--sessions`; after each, a pause and the
//!    server's RSS (`/proc/PID/status`), so RSS per session is
//!    (RSS − RSS before the first login) / sessions;
//! 2. the server's CPU while every session sits idle;
//! 3. messages at a fixed total rate (`--rate`): delivery latency p50/p99;
//! 4. messages flat out, `--window` in flight per session: messages routed
//!    per second over a fixed window after a warm-up, and latency there;
//! 5. RSS again, once the traffic has stopped.
//!
//! Its own CPU is printed beside the server's, to show it is not the
//! bottleneck. A harness-less bench: `cargo bench --bench chatload -- run
//! --port P --pid PID`, or the binary `cargo bench --no-run` builds.
//! `accounts` creates the users both servers need (see accounts.rs).

mod accounts;
mod client;
mod driver;
mod phases;
mod procfs;
mod scram;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use client::{Creds, Sasl};
use driver::Driver;

#[derive(Parser)]
#[command(name = "chatload", about = "XMPP load generator for benches/chat.sh")]
// A later option wins: chat.sh puts a server's fixed settings after the user's.
#[command(args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create user0 … user{N-1} for one server
    Accounts(AccountsArgs),
    /// Log sessions in on a running server, send messages, print measurements
    Run(RunArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum ServerKind {
    Socklab,
    Prosody,
}

#[derive(clap::Args)]
struct AccountsArgs {
    #[arg(value_enum)]
    server: ServerKind,
    /// socklab: its --data-dir; Prosody: its data_path
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    #[arg(long, value_name = "N")]
    users: usize,
    #[arg(long, value_name = "PASSWORD", default_value = "benchpw1")]
    password: String,
    #[arg(long, value_name = "DOMAIN", default_value = "localhost")]
    domain: String,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The server's port on 127.0.0.1
    #[arg(long, value_name = "PORT")]
    port: u16,
    /// The server's process id, for its RSS and CPU time
    #[arg(long, value_name = "PID")]
    pid: u32,
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    sessions: usize,
    /// Also measure RSS when this many sessions are logged in
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    checkpoint: usize,
    /// Logins in progress at once
    #[arg(long, value_name = "N", default_value_t = 100)]
    concurrency: usize,
    #[arg(long, value_enum, default_value = "plain")]
    sasl: Sasl,
    #[arg(long, value_name = "PASSWORD", default_value = "benchpw1")]
    password: String,
    #[arg(long, value_name = "DOMAIN", default_value = "localhost")]
    domain: String,
    /// Quiet seconds before each RSS reading
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    settle: f64,
    /// Seconds over which idle CPU is measured
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    idle: f64,
    /// Messages per second, all sessions together, for the latency phase (0: skip)
    #[arg(long, value_name = "MSGS", default_value_t = 4_000)]
    rate: u64,
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    rate_secs: f64,
    /// Messages in flight per session in the flat-out phase
    #[arg(long, value_name = "N", default_value_t = 1)]
    window: u32,
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    warmup: f64,
    /// Length of the flat-out measurement (0: skip)
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    saturate_secs: f64,
}

fn main() -> std::process::ExitCode {
    // `cargo bench` runs every bench with `--bench`; this one needs its
    // own arguments and has nothing to do without them.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    if args.len() == 1 {
        eprintln!("chatload: run benches/chat.sh (or chatload --help)");
        return std::process::ExitCode::SUCCESS;
    }
    let cli = Cli::parse_from(args);
    let result = match cli.command {
        Command::Accounts(a) => match a.server {
            ServerKind::Socklab => accounts::socklab(&a.data_dir, &a.domain, a.users, &a.password),
            ServerKind::Prosody => accounts::prosody(&a.data_dir, &a.domain, a.users, &a.password),
        },
        Command::Run(r) => run(&r),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatload: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn run(a: &RunArgs) -> anyhow::Result<()> {
    procfs::check_nofile(a.sessions as u64 + 64)?;
    let creds = Creds {
        domain: a.domain.clone(),
        password: a.password.clone(),
        sasl: a.sasl,
        cache: Default::default(),
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, a.port));
    let mut d = Driver::new(addr, creds)?;
    let p = phases::Phases {
        pid: a.pid,
        settle: secs(a.settle),
    };
    p.logins(&mut d, a.sessions, a.checkpoint, a.concurrency)?;
    p.idle_cpu(&mut d, secs(a.idle))?;
    if a.rate > 0 && a.rate_secs > 0.0 {
        p.fixed_rate(&mut d, a.rate, secs(a.rate_secs))?;
    }
    if a.saturate_secs > 0.0 {
        p.flat_out(&mut d, a.window, secs(a.warmup), secs(a.saturate_secs))?;
    }
    if d.sent > 0 {
        p.idle(&mut d, p.settle)?;
        report("rss_kib_after_traffic", procfs::rss_kib(a.pid)?);
    }
    Ok(())
}

/// One measurement, as a `KEY VALUE` line on stdout.
fn report(key: &str, value: impl std::fmt::Display) {
    println!("{key} {value}");
}
