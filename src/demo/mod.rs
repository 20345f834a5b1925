//! `socklab demo`: a whole conversation in one terminal.
//!
//! One process plays both sides on loopback, in one event loop, with real
//! sockets: the narration shows the server's and the client's steps as they
//! happen, so the flow chart can be read before opening a second terminal.
//! `demo` (TCP) prints the two sides as labelled lines; `demo udp` puts them in
//! two columns, server left and client right.

mod tcp;
mod udp;

use std::io;
use std::thread;
use std::time::Duration;

use crate::cli::{DemoArgs, DemoKind};
use crate::trace::{Level, Record, Sink, Tracer};

pub fn run(args: &DemoArgs, t: &mut Tracer) -> anyhow::Result<()> {
    if let Some(pace) = args.pace {
        t.add(Box::new(Pace(pace)));
    }
    match args.kind {
        DemoKind::Tcp => tcp::run(t),
        DemoKind::Udp => udp::run(t),
    }
}

/// Width of each column in `demo udp`: half the terminal.
pub fn column_width() -> usize {
    let width = terminal_size::terminal_size_of(io::stderr())
        .map(|(w, _)| w.0 as usize)
        .unwrap_or(120);
    (width.saturating_sub(3) / 2).clamp(30, 90)
}

/// `--pace`: a view that waits after each step, so a person can watch the
/// conversation unfold. It delays only the narration's rhythm: each step has
/// already happened when it is shown.
struct Pace(Duration);

impl Sink for Pace {
    fn level(&self) -> Level {
        Level::Step
    }
    fn record(&mut self, _: &Record) -> io::Result<()> {
        thread::sleep(self.0);
        Ok(())
    }
}
