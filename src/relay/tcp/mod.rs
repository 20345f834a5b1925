//! The TCP relay: each client accepted on the relay's port gets its own
//! connection to the target, and bytes are copied both ways. A FIN from
//! either side is passed on (shutdown(Write) on the other connection), so
//! half-closes work through the relay; a connection pair ends when both
//! directions have. A reset or any other failure is passed on as a reset
//! (`abort.rs`), never turned into a FIN.
//!
//! A TCP relay sees a byte stream, not packets, so it cannot lose or
//! reorder anything without corrupting the stream (the kernel's TCP has
//! already made it reliable). What it can change is how the bytes are cut
//! and when they go: `--slice N` forwards at most N bytes per write (with
//! TCP_NODELAY, so each slice leaves as its own segment), `--coalesce DUR`
//! gathers what arrives during DUR into one write, `--delay D±J` holds each
//! chunk (in order) before forwarding it. [`pair`] keeps what is on its way
//! and bounds it; this file is the loop.
//!
//! Every turn of the loop does a bounded amount of work: one round of reads
//! per ready socket, then the timers. A socket that still has bytes waits in
//! a list and is read again next turn without sleeping in poll(), so a busy
//! sender can neither starve the timers nor the other connections.

mod abort;
mod accept;
pub mod pair;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use super::fate::{Dir, Impairment};
use super::limits::TCP_RESUME;
use crate::net::conn::{self, ReadRound};
use crate::net::error::NetError;
use crate::net::socket::finish_connect;
use crate::net::{Ready, wait};
use crate::trace::Tracer;
use abort::Failure;
use pair::{Pair, Timers};

const LISTENER: Token = Token(0);

#[derive(Clone, Copy, Debug, Default)]
pub struct TcpOptions {
    pub slice: Option<usize>,
    pub coalesce: Option<Duration>,
    /// Only delay and jitter (and the seed for the jitter) apply to TCP.
    pub impairment: Impairment,
}

pub struct TcpRelay<'t> {
    t: &'t mut Tracer,
    poll: Poll,
    listener: TcpListener,
    target: SocketAddr,
    opts: TcpOptions,
    pairs: BTreeMap<u64, Pair>,
    next_id: u64,
    timers: Timers,
    /// Sockets that still had bytes when their turn ended. Readiness is
    /// edge-triggered: poll() will not report them again, so the loop reads
    /// them next turn without waiting.
    more: VecDeque<(u64, Dir)>,
    /// accept() found no descriptor free: try again at this time, or sooner
    /// when a pair closes.
    accept_retry: Option<Instant>,
    buf: Vec<u8>,
}

/// The token of a pair's socket: `Up` names the client's, `Down` the target's.
fn token_of(id: u64, side: Dir) -> Token {
    Token(1 + 2 * id as usize + side as usize)
}

fn pair_of(token: Token) -> (u64, Dir) {
    let n = token.0 - 1;
    let side = if n % 2 == 0 { Dir::Up } else { Dir::Down };
    ((n / 2) as u64, side)
}

impl<'t> TcpRelay<'t> {
    pub fn new(
        t: &'t mut Tracer,
        mut listener: TcpListener,
        target: SocketAddr,
        opts: TcpOptions,
    ) -> anyhow::Result<TcpRelay<'t>> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(TcpRelay {
            t,
            poll,
            listener,
            target,
            opts,
            pairs: BTreeMap::new(),
            next_id: 1,
            timers: Timers::new(),
            more: VecDeque::new(),
            accept_retry: None,
            buf: vec![0; 256 * 1024],
        })
    }

    /// Relays until stopped (Ctrl-C).
    pub fn run(mut self) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(256);
        loop {
            let timeout = self.timeout();
            let ready = wait(&mut self.poll, &mut events, timeout)?;
            for Ready {
                token,
                readable,
                writable,
            } in ready
            {
                if token == LISTENER {
                    self.accept_all();
                } else {
                    let (id, side) = pair_of(token);
                    self.on_ready(id, side, readable, writable);
                }
            }
            self.fire_timers();
            if self.accept_retry.is_some_and(|at| at <= Instant::now()) {
                self.accept_all();
            }
            self.read_more();
        }
    }

    /// How long poll() may sleep: not at all while sockets wait for another
    /// round, otherwise until the soonest timer.
    fn timeout(&self) -> Option<Duration> {
        if !self.more.is_empty() {
            return Some(Duration::ZERO);
        }
        let timer = self.timers.peek().map(|r| r.0.0);
        let soonest = [timer, self.accept_retry].into_iter().flatten().min()?;
        Some(soonest.saturating_duration_since(Instant::now()))
    }

    /// One more round of reads for each socket that had bytes left.
    fn read_more(&mut self) {
        for (id, side) in std::mem::take(&mut self.more) {
            if let Some(pair) = self.pairs.get_mut(&id) {
                pair.lane(side).more = false;
                self.turn(id, side, true);
            }
        }
    }

    fn on_ready(&mut self, id: u64, side: Dir, readable: bool, writable: bool) {
        let Some(pair) = self.pairs.get_mut(&id) else {
            return;
        };
        if side == Dir::Down
            && let Some(started) = pair.connecting
        {
            if !writable && !readable {
                return;
            }
            let t = &mut *self.t;
            match finish_connect(
                t,
                conn_side(Dir::Down),
                &pair.upstream.stream,
                self.target,
                started,
            ) {
                Ok(None) => return,
                Ok(Some(_)) => pair.connecting = None,
                Err(error) => {
                    self.fail(id, Failure { side, error });
                    self.settle(id);
                    return;
                }
            }
        }
        self.turn(id, side, readable);
    }

    /// Does what one socket's readiness allows, then sees whether the pair
    /// is finished.
    fn turn(&mut self, id: u64, side: Dir, readable: bool) {
        if let Err(f) = self.pump(id, side, readable) {
            self.fail(id, f);
        }
        self.settle(id);
    }

    /// Flushes both queues, reads one round from `side` if it is readable,
    /// passes FINs on, and resumes paused readers that have room again.
    fn pump(&mut self, id: u64, side: Dir, readable: bool) -> Result<(), Failure> {
        self.flush(id)?;
        if readable {
            self.read(id, side)?;
        }
        self.pass_fins(id);
        self.flush(id)?;
        self.resume(id);
        Ok(())
    }

    /// Writes what is queued on both sockets, except one that failed.
    fn flush(&mut self, id: u64) -> Result<(), Failure> {
        let Some(pair) = self.pairs.get_mut(&id) else {
            return Ok(());
        };
        for dir in [Dir::Down, Dir::Up] {
            // Bytes of `dir` go to the socket of the other side.
            let side = dir.reverse();
            if pair.failed != Some(side) && pair.can_write(dir) {
                let to = pair.conns(dir).1;
                to.flush(self.t, &mut drop)
                    .map_err(|error| Failure { side, error })?;
            }
        }
        Ok(())
    }

    /// One round of reads from one side, as much as there is room for. If
    /// the socket has more, it is read again next turn, or, when the relay
    /// holds too much of this direction, once some of it has gone out.
    fn read(&mut self, id: u64, dir: Dir) -> Result<(), Failure> {
        let TcpRelay {
            pairs,
            t,
            buf,
            opts,
            timers,
            more,
            ..
        } = self;
        let Some(pair) = pairs.get_mut(&id) else {
            return Ok(());
        };
        if pair.failed.is_some() {
            return Ok(());
        }
        let room = pair.room(dir);
        if room == 0 {
            pair.lane(dir).paused = true;
            return Ok(());
        }
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut taken = 0;
        let from = pair.conns(dir).0;
        let round = from
            .read_round(t, buf, &mut |_, _, data| {
                got.push(data.to_vec());
                taken += data.len();
                Ok(taken < room)
            })
            .map_err(|e| Failure {
                side: dir,
                error: match e {
                    conn::ReadFailure::Net(e) => e,
                    conn::ReadFailure::Deliver(e) => {
                        NetError::new(crate::trace::explain::Action::Read, "relay", e)
                    }
                },
            })?;
        for data in got {
            pair.route(t, timers, opts, dir, data);
        }
        if pair.can_write(dir) {
            let to = pair.conns(dir).1;
            to.flush(t, &mut drop).map_err(|error| Failure {
                side: dir.reverse(),
                error,
            })?;
        }
        if round == ReadRound::MoreLater {
            if pair.room(dir) == 0 {
                pair.lane(dir).paused = true;
            } else if !pair.lane(dir).more {
                pair.lane(dir).more = true;
                more.push_back((id, dir));
            }
        }
        Ok(())
    }

    /// A reader paused for want of room reads again once enough has gone
    /// out: written to the kernel (a writable event led here) or released
    /// by a timer.
    fn resume(&mut self, id: u64) {
        let Some(pair) = self.pairs.get_mut(&id) else {
            return;
        };
        for dir in [Dir::Up, Dir::Down] {
            if pair.lane(dir).paused && pair.in_flight(dir) < TCP_RESUME {
                let lane = pair.lane(dir);
                lane.paused = false;
                if !lane.more {
                    lane.more = true;
                    self.more.push_back((id, dir));
                }
            }
        }
    }

    /// When one side has sent FIN and everything it sent has been passed on,
    /// the relay sends FIN to the other side.
    fn pass_fins(&mut self, id: u64) {
        let Some(pair) = self.pairs.get_mut(&id) else {
            return;
        };
        if pair.failed.is_some() {
            return;
        }
        for dir in [Dir::Up, Dir::Down] {
            let drained = pair.drained(dir);
            let connected = pair.connecting.is_none();
            let (from, to) = pair.conns(dir);
            if from.peer_closed && drained && connected {
                to.finish_sending(true);
            }
        }
    }

    /// Ends the pair if it is done: both directions closed, or one side
    /// failed and what it sent before has gone out (then the other side is
    /// reset).
    fn settle(&mut self, id: u64) {
        let Some(pair) = self.pairs.get(&id) else {
            return;
        };
        if pair.failed.is_some() {
            self.abort_if_passed_on(id);
            return;
        }
        let done = pair.client.peer_closed
            && pair.upstream.peer_closed
            && pair.client.sending_done()
            && pair.upstream.sending_done();
        if done {
            if let Some(pair) = self.pairs.remove(&id) {
                pair.client.close(self.t, self.poll.registry());
                pair.upstream.close(self.t, self.poll.registry());
            }
            self.descriptors_freed();
        }
    }

    /// Moves chunks whose time has come into the queues, and sends them.
    fn fire_timers(&mut self) {
        let now = Instant::now();
        let mut touched = Vec::new();
        while self.timers.peek().is_some_and(|r| r.0.0 <= now) {
            let Some(std::cmp::Reverse((_, id, d))) = self.timers.pop() else {
                break;
            };
            let dir = if d == 0 { Dir::Up } else { Dir::Down };
            if let Some(pair) = self.pairs.get_mut(&id) {
                pair.release_due(self.t, dir, now);
                touched.push(id);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for id in touched {
            self.turn(id, Dir::Up, false);
        }
    }
}

/// The narration side of a pair's socket: the relay is the server to its
/// clients and a client of the target.
fn conn_side(side: Dir) -> crate::trace::Side {
    match side {
        Dir::Up => crate::trace::Side::Server,
        Dir::Down => crate::trace::Side::Client,
    }
}
