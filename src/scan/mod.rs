//! `socklab scan HOST PORTS` (and nc's spelling, `connect -z`): a TCP
//! connect scan, narrated as a lesson in itself.
//!
//! For each port: socket(), a non-blocking connect() (the kernel sends a
//! SYN), then whatever comes back decides the port's state:
//!
//! - **SYN-ACK**: the handshake completes, the socket turns writable with
//!   SO_ERROR 0: *open*, a socket listens there. We close at once.
//! - **RST**: connect() fails with ECONNREFUSED: *closed*, the host is up
//!   but nothing listens on that port.
//! - **silence**: nothing within `--timeout`: *filtered*. A firewall that
//!   drops SYNs looks like this, and so does a host that is down. On
//!   loopback nothing filters packets, so every port is open or closed,
//!   with one exception worth knowing: a listener whose accept queue is full
//!   drops SYNs too, and is "filtered" to a scan.
//!
//! Many probes are in flight at once (`--parallel`, 256 by default) on one
//! mio loop, with a deadline each; since every probe gets the same timeout,
//! their deadlines come due in the order they started, and a queue in start
//! order is the whole timer. Work is linear in the ports scanned.

pub mod ports;
mod probe;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use crate::addr::Host;
use crate::cli::ScanArgs;
use crate::exit::{EXIT_FAILURE, Silent, UsageError};
use crate::net::error::NetContext;
use crate::net::{resolve_for, wait};
use crate::trace::explain::Action;
use crate::trace::{Event, Side, Tracer};
use probe::{Answer, Probe};

/// What one scan found, in port order for stdout.
#[derive(Default)]
struct Tally {
    open: Vec<u16>,
    closed: usize,
    filtered: usize,
}

pub fn run(args: &ScanArgs, t: &mut Tracer) -> anyhow::Result<()> {
    let host = scan_host(args)?;
    let ports = ports::expand(&args.ports);
    let addr = resolve_for(t, Side::Client, &host, 1, args.lookup.lookup())?[0];
    let parallel = if args.interval.is_some() {
        1
    } else {
        args.parallel
    };
    let intro = format!(
        "connect scan of {}: {} port(s), at most {parallel} at once, {} ms for each to answer. \
         Each probe is socket() + a non-blocking connect(): SYN-ACK = open, RST = closed, silence = filtered",
        addr.ip(),
        ports.len(),
        args.timeout.as_millis()
    );
    t.emit(Side::Client, None, Event::Note { text: &intro });
    if addr.ip().is_loopback() {
        let text = "on loopback no firewall drops packets: expect open or closed; only a listener whose accept queue is full stays silent (filtered)";
        t.emit(Side::Client, None, Event::Note { text });
    }
    let started = Instant::now();
    let tally = Scanner::new(args, addr, parallel)?.scan(t, &ports)?;
    let mut stdout = crate::net::output::Output::stdout()?;
    let mut list = tally.open.clone();
    list.sort_unstable();
    let text: String = list.iter().map(|p| format!("{p}\n")).collect();
    stdout
        .write(text.as_bytes())
        .or_else(|e| {
            if crate::net::output::reader_gone(&e) {
                Ok(())
            } else {
                Err(e)
            }
        })
        .net(Action::Stdout, "stdout")?;
    t.emit(
        Side::Client,
        None,
        Event::Scanned {
            ports: ports.len(),
            open: tally.open.len(),
            closed: tally.closed,
            filtered: tally.filtered,
            millis: started.elapsed().as_millis() as u64,
        },
    );
    // As nc -z: success when something answered.
    if tally.open.is_empty() {
        return Err(Silent(EXIT_FAILURE).into());
    }
    Ok(())
}

/// The host to scan: a host without a port (the ports are their own
/// argument).
fn scan_host(args: &ScanArgs) -> Result<Host, UsageError> {
    match (&args.host.host, args.host.port) {
        (Some(host), None) => Ok(host.clone()),
        (Some(host), Some(p)) => Err(UsageError::new(format!(
            "give the ports as their own argument: socklab scan {host} {p} (or a list: {p},{},{p}-{})",
            p.saturating_add(1),
            p.saturating_add(10)
        ))),
        (None, _) => Err(UsageError::new(format!(
            "{} is a port, not a host: write socklab scan 127.0.0.1 PORTS",
            args.host
        ))),
    }
}

struct Scanner {
    poll: Poll,
    addr: SocketAddr,
    parallel: usize,
    timeout: Duration,
    interval: Option<Duration>,
    /// Probes in flight, by token; tokens are never reused.
    flying: HashMap<Token, Probe>,
    /// Tokens in the order their probes started: also the order of their
    /// deadlines.
    deadlines: VecDeque<Token>,
    next_token: usize,
    next_start: Instant,
}

impl Scanner {
    fn new(args: &ScanArgs, addr: SocketAddr, parallel: usize) -> anyhow::Result<Scanner> {
        Ok(Scanner {
            poll: Poll::new()?,
            addr,
            parallel,
            timeout: args.timeout,
            interval: args.interval,
            flying: HashMap::new(),
            deadlines: VecDeque::new(),
            next_token: 0,
            next_start: Instant::now(),
        })
    }

    fn scan(mut self, t: &mut Tracer, ports: &[u16]) -> anyhow::Result<Tally> {
        let _ctrl_c = crate::interrupt::watch(self.poll.registry())?;
        let mut tally = Tally::default();
        let mut pending = ports.iter().copied();
        let mut events = Events::with_capacity(1024);
        let mut done = false;
        loop {
            done |= self.start_more(t, &mut pending, &mut tally)?;
            if done && self.flying.is_empty() {
                return Ok(tally);
            }
            // Probes answered already leave their entry behind: skipped
            // here, so the front is the soonest live deadline.
            while self
                .deadlines
                .front()
                .is_some_and(|tok| !self.flying.contains_key(tok))
            {
                self.deadlines.pop_front();
            }
            let now = Instant::now();
            let mut wake = self
                .deadlines
                .front()
                .and_then(|tok| self.flying.get(tok))
                .map(|p| p.deadline);
            if !done && self.flying.len() < self.parallel {
                wake = Some(wake.map_or(self.next_start, |w| w.min(self.next_start)));
            }
            let timeout = wake.map(|w| w.saturating_duration_since(now));
            for ready in wait(&mut self.poll, &mut events, timeout)? {
                if ready.token == crate::interrupt::TOKEN {
                    return Err(crate::interrupt::Interrupted.into());
                }
                if let Some(probe) = self.flying.get(&ready.token)
                    && let Some(answer) = probe.answer()
                {
                    self.finish(t, ready.token, answer, &mut tally);
                }
            }
            self.expire(t, &mut tally);
        }
    }

    /// Starts probes while there is room and it is time; true when no port
    /// is left to start.
    fn start_more(
        &mut self,
        t: &mut Tracer,
        pending: &mut impl Iterator<Item = u16>,
        tally: &mut Tally,
    ) -> anyhow::Result<bool> {
        while self.flying.len() < self.parallel && Instant::now() >= self.next_start {
            let Some(port) = pending.next() else {
                return Ok(true);
            };
            let target = SocketAddr::new(self.addr.ip(), port);
            let token = Token(self.next_token);
            self.next_token += 1;
            match Probe::start(self.poll.registry(), token, target, self.timeout)? {
                Ok(probe) => {
                    self.flying.insert(token, probe);
                    self.deadlines.push_back(token);
                }
                // Refused before connect() even returned (it happens on
                // loopback): the answer is already known.
                Err(answer) => report(t, target, answer, Duration::ZERO, tally),
            }
            if let Some(gap) = self.interval {
                self.next_start = Instant::now() + gap;
            }
        }
        Ok(false)
    }

    fn finish(&mut self, t: &mut Tracer, token: Token, answer: Answer, tally: &mut Tally) {
        if let Some(mut probe) = self.flying.remove(&token) {
            let _ = self.poll.registry().deregister(&mut probe.stream);
            report(t, probe.target, answer, probe.started.elapsed(), tally);
        }
    }

    /// Every probe whose deadline passed is filtered.
    fn expire(&mut self, t: &mut Tracer, tally: &mut Tally) {
        let now = Instant::now();
        while let Some(token) = self.deadlines.front().copied() {
            match self.flying.get(&token) {
                // Answered already: its entry is only skipped.
                None => {
                    self.deadlines.pop_front();
                }
                Some(p) if p.deadline <= now => {
                    self.deadlines.pop_front();
                    self.finish(t, token, Answer::Silence, tally);
                }
                Some(_) => break,
            }
        }
    }
}

/// Narrates one port's answer and counts it.
fn report(t: &mut Tracer, addr: SocketAddr, answer: Answer, took: Duration, tally: &mut Tally) {
    let (state, why) = answer.describe();
    match state {
        "open" => tally.open.push(addr.port()),
        "closed" => tally.closed += 1,
        _ => tally.filtered += 1,
    }
    let micros = took.as_micros() as u64;
    t.emit(
        Side::Client,
        None,
        Event::Port {
            addr,
            state,
            why: &why,
            micros,
        },
    );
}
