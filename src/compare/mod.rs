//! `socklab compare`: the curriculum's TCP-against-UDP table, measured.
//!
//! The tutorial states the differences — connection or not, size limit,
//! reliability, speed — as facts to believe. Here each one is an experiment
//! run on loopback, now, in this process: the table prints what happened, and
//! every number is also an event (`measured`), so lessons can compare a
//! learner's prediction with the run. `--only NAME` runs one experiment and
//! narrates it step by step.

mod boundaries;
mod network;
mod pressure;
mod setup;
mod size;
mod speed;

use std::io::{self, Write};
use std::time::Duration;

use crate::cli::CompareArgs;
use crate::exit::UsageError;
use crate::trace::{Event, Side, Tracer};

/// One experiment's outcome: a row of the table.
#[derive(Debug, Default, serde::Serialize)]
pub struct Row {
    pub name: &'static str,
    pub tcp: Vec<String>,
    pub udp: Vec<String>,
    pub why: String,
}

/// What an experiment is given: where to narrate and record.
pub struct Ctx<'t> {
    t: &'t mut Tracer,
    experiment: &'static str,
    /// `--only`: narrate in full (the relay's own narration too).
    pub narrate: bool,
}

impl Ctx<'_> {
    /// A step of the experiment, for the narration.
    pub fn note(&mut self, text: &str) {
        self.t.emit(Side::Client, None, Event::Note { text });
    }

    /// A measured quantity, as an event lessons can check.
    pub fn measured(&mut self, key: &str, value: f64, unit: &str) -> f64 {
        let ev = Event::Measured {
            experiment: self.experiment,
            key,
            value,
            unit,
        };
        self.t.emit(Side::Client, None, ev);
        value
    }
}

type Run = fn(&mut Ctx) -> anyhow::Result<Row>;

/// The experiments, in the curriculum's order of differences.
pub const EXPERIMENTS: [(&str, &str, Run); 6] = [
    (
        "setup",
        "connection set-up: a closed port, and the time to a first reply",
        setup::run,
    ),
    (
        "boundaries",
        "message boundaries: three writes of 100 bytes",
        boundaries::run,
    ),
    (
        "size",
        "size: the largest datagram, and a 10 MiB message over TCP",
        size::run,
    ),
    (
        "pressure",
        "loss under pressure: a burst into a receiver that is not reading",
        pressure::run,
    ),
    (
        "network",
        "a bad network (the relay): loss, duplication, reordering",
        network::run,
    ),
    (
        "speed",
        "latency and throughput: ping-pong and bulk",
        speed::run,
    ),
];

/// `json`: the global `--json`, which also makes the rows JSON lines.
pub fn run(args: &CompareArgs, json: bool, t: &mut Tracer) -> anyhow::Result<()> {
    if args.list {
        let mut out = String::new();
        for (name, what, _) in EXPERIMENTS {
            out.push_str(&format!("{name:<11} {what}\n"));
        }
        return write_out(&out);
    }
    let chosen: Vec<_> = match &args.only {
        Some(name) => {
            let found = EXPERIMENTS
                .iter()
                .filter(|(n, ..)| n == name)
                .collect::<Vec<_>>();
            if found.is_empty() {
                let names: Vec<&str> = EXPERIMENTS.iter().map(|(n, ..)| *n).collect();
                return Err(UsageError::new(format!(
                    "no experiment {name:?}; they are: {}",
                    names.join(", ")
                ))
                .into());
            }
            found
        }
        None => EXPERIMENTS.iter().collect(),
    };
    let mut rows = Vec::new();
    for (name, what, run) in chosen {
        let text = format!("experiment {name}: {what}");
        t.emit(Side::Client, None, Event::Note { text: &text });
        let mut ctx = Ctx {
            t,
            experiment: name,
            narrate: args.only.is_some(),
        };
        let row = run(&mut ctx)?;
        if json {
            write_out(&format!("{}\n", serde_json::to_string(&row)?))?;
        } else if args.only.is_some() {
            write_out(&table(std::slice::from_ref(&row)))?;
        }
        rows.push(row);
    }
    if !json && args.only.is_none() {
        write_out(&format!(
            "socklab compare: TCP against UDP, measured on loopback just now\n\n{}",
            table(&rows)
        ))?;
    }
    Ok(())
}

fn write_out(text: &str) -> anyhow::Result<()> {
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Where a row's text starts: after the experiment's name and TCP/UDP.
const TEXT_COLUMN: usize = 17;
/// The width of the table when stdout is not a terminal.
const FILE_WIDTH: usize = 100;

/// The rows as text: one block per experiment, each line wrapped to the
/// terminal's width (never cut mid-word by the terminal), continued under
/// the text column.
fn table(rows: &[Row]) -> String {
    let width =
        terminal_size::terminal_size_of(io::stdout()).map_or(FILE_WIDTH, |(w, _)| w.0 as usize);
    table_for(rows, width)
}

fn table_for(rows: &[Row], width: usize) -> String {
    let block = |label: &str, tag: &str, text: &str| -> String {
        let pieces = crate::trace::wrap::wrap(text, width.saturating_sub(TEXT_COLUMN));
        let mut lines = String::new();
        for (i, piece) in pieces.iter().enumerate() {
            let (label, tag) = if i == 0 { (label, tag) } else { ("", "") };
            lines.push_str(&format!("{label:<11} {tag:<4} {piece}\n"));
        }
        lines
    };
    let mut out = String::new();
    for row in rows {
        let mut label = row.name;
        for (proto, lines) in [("TCP", &row.tcp), ("UDP", &row.udp)] {
            for (i, line) in lines.iter().enumerate() {
                out.push_str(&block(label, if i == 0 { proto } else { "" }, line));
                label = "";
            }
        }
        out.push_str(&block("", "why", &row.why));
        out.push('\n');
    }
    out
}

/// Microseconds, or milliseconds above 10 ms.
pub fn short(d: Duration) -> String {
    let us = d.as_micros();
    if us < 10_000 {
        format!("{us} µs")
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The median and 99th percentile of some durations.
pub fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

/// A TCP echo server on loopback, in a thread, for as long as the process
/// lives. Replies leave at once (TCP_NODELAY).
pub fn tcp_echo() -> io::Result<std::net::SocketAddr> {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 || stream.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok(addr)
}

/// A UDP echo server on loopback, in a thread.
pub fn udp_echo() -> io::Result<std::net::SocketAddr> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let addr = socket.local_addr()?;
    std::thread::spawn(move || {
        let mut buf = [0u8; 65_536];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], from);
        }
    });
    Ok(addr)
}

/// A loopback port with nobody on it (bound to port 0, then released).
pub fn closed_port(udp: bool) -> io::Result<std::net::SocketAddr> {
    if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_wraps_to_the_width_between_words() {
        let row = Row {
            name: "setup",
            tcp: vec!["refused in 45 µs: RST".into()],
            udp: vec!["no error".into()],
            why: "a long explanation ".repeat(12).trim_end().to_string(),
        };
        let text = table_for(&[row], 60);
        for line in text.lines() {
            assert!(
                crate::trace::wrap::columns(line) <= 60,
                "{line:?} is wider than 60"
            );
            assert!(!line.ends_with("explan"), "cut mid-word: {line:?}");
        }
        let why: Vec<&str> = text.lines().filter(|l| l.contains("explanation")).collect();
        assert!(why.len() > 2, "{text}");
        assert!(
            why[1].starts_with(&" ".repeat(TEXT_COLUMN)),
            "continued under the text: {text}"
        );
    }
}
