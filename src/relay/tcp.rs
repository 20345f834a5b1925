//! The TCP relay: each client accepted on the relay's port gets its own
//! connection to the target, and bytes are copied both ways. A FIN from
//! either side is passed on (shutdown(Write) on the other connection), so
//! half-closes work through the relay; a connection pair ends when both
//! directions have.
//!
//! A TCP relay sees a byte stream, not packets, so it cannot lose or
//! reorder anything without corrupting the stream (the kernel's TCP has
//! already made it reliable). What it can change is how the bytes are cut
//! and when they go: `--slice N` forwards at most N bytes per write (with
//! TCP_NODELAY, so each slice leaves as its own segment), `--coalesce DUR`
//! gathers what arrives during DUR into one write, `--delay D±J` holds each
//! chunk (in order) before forwarding it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use super::fate::{Dir, Fate, Impairment};
use crate::net::conn::{self, Conn, HIGH_WATER, ReadRound};
use crate::net::error::NetError;
use crate::net::socket::{finish_connect, start_connect};
use crate::net::{Ready, interrupted, wait, would_block};
use crate::trace::{Event, Side, Tracer};

const LISTENER: Token = Token(0);

#[derive(Clone, Copy, Debug, Default)]
pub struct TcpOptions {
    pub slice: Option<usize>,
    pub coalesce: Option<Duration>,
    /// Only delay and jitter (and the seed for the jitter) apply to TCP.
    pub impairment: Impairment,
}

/// A client's connection and the relay's connection to the target.
struct Pair {
    client: Conn,
    upstream: Conn,
    /// The handshake with the target is under way since this moment.
    connecting: Option<Instant>,
    /// Chunks waiting for their time, per direction (`--delay`).
    held: [VecDeque<(Instant, Vec<u8>)>; 2],
    /// Bytes being gathered, per direction (`--coalesce`), and how many reads.
    gather: [(Vec<u8>, u64); 2],
    gather_due: [Option<Instant>; 2],
    chunks: [u64; 2],
    last_due: [Instant; 2],
    /// Reads held back because the other side's queue is full.
    paused: [bool; 2],
}

impl Pair {
    fn conns(&mut self, dir: Dir) -> (&mut Conn, &mut Conn) {
        match dir {
            Dir::Up => (&mut self.client, &mut self.upstream),
            Dir::Down => (&mut self.upstream, &mut self.client),
        }
    }

    /// Nothing of this direction is still on its way through the relay.
    fn drained(&self, dir: Dir) -> bool {
        let i = dir as usize;
        self.held[i].is_empty() && self.gather[i].0.is_empty()
    }
}

pub struct TcpRelay<'t> {
    t: &'t mut Tracer,
    poll: Poll,
    listener: TcpListener,
    target: SocketAddr,
    opts: TcpOptions,
    pairs: BTreeMap<u64, Pair>,
    next_id: u64,
    timers: BinaryHeap<Reverse<(Instant, u64, u8)>>,
    buf: Vec<u8>,
}

fn token_of(id: u64, dir_side: usize) -> Token {
    Token(1 + 2 * id as usize + dir_side)
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
            timers: BinaryHeap::new(),
            buf: vec![0; 256 * 1024],
        })
    }

    /// Relays until stopped (Ctrl-C).
    pub fn run(mut self) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(256);
        loop {
            let timeout = self
                .timers
                .peek()
                .map(|Reverse((at, ..))| at.saturating_duration_since(Instant::now()));
            let ready = wait(&mut self.poll, &mut events, timeout)?;
            for Ready {
                token,
                readable,
                writable,
            } in ready
            {
                if token == LISTENER {
                    self.accept_all();
                    continue;
                }
                let id = (token.0 as u64 - 1) / 2;
                let dir = if (token.0 - 1) % 2 == 0 {
                    Dir::Up
                } else {
                    Dir::Down
                };
                self.on_ready(id, dir, readable, writable);
            }
            self.fire_timers();
        }
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    let id = self.next_id;
                    self.next_id += 1;
                    let local = stream.local_addr().unwrap_or(peer);
                    self.t.emit(
                        Side::Server,
                        Some(id),
                        Event::Accept {
                            peer,
                            local,
                            fd: stream.as_raw_fd(),
                        },
                    );
                    if let Err(e) = self.open(id, stream, peer) {
                        e.emit(self.t, Side::Client, Some(id));
                    }
                }
                Err(e) if would_block(&e) => return,
                Err(e) if interrupted(&e) => {}
                Err(e) => {
                    NetError::new(crate::trace::explain::Action::Accept, "the relay's port", e)
                        .emit(self.t, Side::Server, None);
                    return;
                }
            }
        }
    }

    fn open(
        &mut self,
        id: u64,
        mut stream: mio::net::TcpStream,
        peer: SocketAddr,
    ) -> Result<(), NetError> {
        let mut upstream = start_connect(self.t, Side::Client, self.target, None)?;
        let registry = self.poll.registry();
        conn::register(registry, &mut stream, token_of(id, 0), peer)?;
        conn::register(registry, &mut upstream, token_of(id, 1), self.target)?;
        let mut client = Conn::new(id, Side::Server, token_of(id, 0), stream, peer);
        let mut up = Conn::new(id, Side::Client, token_of(id, 1), upstream, self.target);
        if let Some(n) = self.opts.slice {
            // Each slice must leave as its own segment, not wait for Nagle.
            let _ = client.stream.set_nodelay(true);
            let _ = up.stream.set_nodelay(true);
            client.max_write = n;
            up.max_write = n;
        }
        let now = Instant::now();
        self.pairs.insert(
            id,
            Pair {
                client,
                upstream: up,
                connecting: Some(now),
                held: [VecDeque::new(), VecDeque::new()],
                gather: [(Vec::new(), 0), (Vec::new(), 0)],
                gather_due: [None, None],
                chunks: [0, 0],
                last_due: [now, now],
                paused: [false, false],
            },
        );
        Ok(())
    }

    fn on_ready(&mut self, id: u64, side: Dir, readable: bool, writable: bool) {
        // `side` names which socket: Up = the client's, Down = the target's.
        let Some(pair) = self.pairs.get_mut(&id) else {
            return;
        };
        if side == Dir::Down
            && let Some(started) = pair.connecting
        {
            if !writable && !readable {
                return;
            }
            match finish_connect(
                self.t,
                Side::Client,
                &pair.upstream.stream,
                self.target,
                started,
            ) {
                Ok(None) => return,
                Ok(Some(_)) => pair.connecting = None,
                Err(e) => {
                    e.emit(self.t, Side::Client, Some(id));
                    self.close(id);
                    return;
                }
            }
        }
        let result = self.pump(id, side, readable);
        if let Err(e) = result {
            e.emit(
                self.t,
                if side == Dir::Up {
                    Side::Server
                } else {
                    Side::Client
                },
                Some(id),
            );
            self.close(id);
            return;
        }
        self.finish_if_done(id);
    }

    /// Flushes both queues, then reads from `side` if it is readable, and
    /// passes FINs on.
    fn pump(&mut self, id: u64, side: Dir, readable: bool) -> Result<(), NetError> {
        self.flush(id)?;
        if readable {
            self.read(id, side)?;
        }
        // A paused reader resumes once the other side has room again.
        for dir in [Dir::Up, Dir::Down] {
            let Some(pair) = self.pairs.get_mut(&id) else {
                return Ok(());
            };
            let room = pair.conns(dir).1.queued() < HIGH_WATER / 2;
            if pair.paused[dir as usize] && room {
                pair.paused[dir as usize] = false;
                self.read(id, dir)?;
            }
        }
        self.pass_fins(id)?;
        self.flush(id)
    }

    fn flush(&mut self, id: u64) -> Result<(), NetError> {
        let Some(pair) = self.pairs.get_mut(&id) else {
            return Ok(());
        };
        pair.client.flush(self.t, &mut drop)?;
        if pair.connecting.is_none() {
            pair.upstream.flush(self.t, &mut drop)?;
        }
        Ok(())
    }

    /// Reads from one side and passes the bytes on, until the kernel has no
    /// more or the other side's queue is full.
    ///
    /// A pause is decided only after flushing the other side and finding it
    /// still full: that flush hit EAGAIN, so poll() will report the socket
    /// writable again and the read resumes then. Pausing with an empty queue
    /// would wait for an event that never comes (edge-triggered readiness
    /// fires on a change, and a socket that never blocked never changes).
    fn read(&mut self, id: u64, dir: Dir) -> Result<(), NetError> {
        loop {
            let TcpRelay {
                pairs,
                t,
                buf,
                opts,
                timers,
                ..
            } = self;
            let Some(pair) = pairs.get_mut(&id) else {
                return Ok(());
            };
            let mut got: Vec<Vec<u8>> = Vec::new();
            let (from, to) = pair.conns(dir);
            let room = HIGH_WATER.saturating_sub(to.queued());
            let mut taken = 0;
            let round = from
                .read_round(t, buf, &mut |_, _, data| {
                    got.push(data.to_vec());
                    taken += data.len();
                    Ok(taken < room)
                })
                .map_err(|e| match e {
                    conn::ReadFailure::Net(e) => e,
                    conn::ReadFailure::Deliver(e) => {
                        NetError::new(crate::trace::explain::Action::Read, "relay", e)
                    }
                })?;
            for data in got {
                route(t, timers, opts, id, pair, dir, data);
            }
            let can_write = dir == Dir::Down || pair.connecting.is_none();
            let (_, to) = pair.conns(dir);
            if can_write {
                to.flush(t, &mut drop)?;
            }
            if round != ReadRound::MoreLater {
                return Ok(());
            }
            if to.queued() >= HIGH_WATER / 2 {
                pair.paused[dir as usize] = true;
                return Ok(());
            }
        }
    }

    /// When one side has sent FIN and everything it sent has been passed on,
    /// the relay sends FIN to the other side.
    fn pass_fins(&mut self, id: u64) -> Result<(), NetError> {
        let Some(pair) = self.pairs.get_mut(&id) else {
            return Ok(());
        };
        for dir in [Dir::Up, Dir::Down] {
            let drained = pair.drained(dir);
            let connected = pair.connecting.is_none();
            let (from, to) = pair.conns(dir);
            if from.peer_closed && drained && connected {
                to.finish_sending(true);
            }
        }
        Ok(())
    }

    fn finish_if_done(&mut self, id: u64) {
        let Some(pair) = self.pairs.get(&id) else {
            return;
        };
        let done = pair.client.peer_closed
            && pair.upstream.peer_closed
            && pair.client.sending_done()
            && pair.upstream.sending_done();
        if done {
            self.close(id);
        }
    }

    fn close(&mut self, id: u64) {
        if let Some(pair) = self.pairs.remove(&id) {
            pair.client.close(self.t, self.poll.registry());
            pair.upstream.close(self.t, self.poll.registry());
        }
    }

    /// Moves chunks whose time has come into the queues.
    fn fire_timers(&mut self) {
        let now = Instant::now();
        let mut touched = Vec::new();
        while self
            .timers
            .peek()
            .is_some_and(|Reverse((at, ..))| *at <= now)
        {
            let Some(Reverse((_, id, d))) = self.timers.pop() else {
                break;
            };
            let dir = if d == 0 { Dir::Up } else { Dir::Down };
            let Some(pair) = self.pairs.get_mut(&id) else {
                continue;
            };
            let i = dir as usize;
            if pair.gather_due[i].is_some_and(|due| due <= now) {
                pair.gather_due[i] = None;
                let (bytes, reads) = std::mem::take(&mut pair.gather[i]);
                let fate = format!("coalesced {reads} read(s) into one write");
                pair.chunks[i] += 1;
                narrate(self.t, id, pair, dir, bytes.len(), &fate, 0);
                pair.conns(dir).1.queue(Rc::new(bytes));
            }
            while pair.held[i].front().is_some_and(|(due, _)| *due <= now) {
                if let Some((_, bytes)) = pair.held[i].pop_front() {
                    pair.conns(dir).1.queue(Rc::new(bytes));
                }
            }
            touched.push(id);
        }
        touched.dedup();
        for id in touched {
            if let Err(e) = self.pass_fins(id).and_then(|()| self.flush(id)) {
                e.emit(self.t, Side::Server, Some(id));
                self.close(id);
            } else {
                self.finish_if_done(id);
            }
        }
    }
}

/// Records what the relay did with chunk `number` of `dir`.
fn narrate(t: &mut Tracer, id: u64, pair: &Pair, dir: Dir, n: usize, fate: &str, millis: u64) {
    let number = pair.chunks[dir as usize];
    let client = pair.client.peer;
    t.emit(
        Side::Server,
        Some(id),
        Event::Relay {
            dir: dir.name(),
            number,
            n,
            fate,
            millis,
            client,
        },
    );
}

/// Sends one read's bytes on towards the other side: at once, gathered
/// (`--coalesce`) or held (`--delay`), and narrates what happens to them.
fn route(
    t: &mut Tracer,
    timers: &mut BinaryHeap<Reverse<(Instant, u64, u8)>>,
    opts: &TcpOptions,
    id: u64,
    pair: &mut Pair,
    dir: Dir,
    data: Vec<u8>,
) {
    let i = dir as usize;
    let now = Instant::now();
    if let Some(window) = opts.coalesce {
        pair.gather[i].0.extend_from_slice(&data);
        pair.gather[i].1 += 1;
        if pair.gather_due[i].is_none() {
            let due = now + window;
            pair.gather_due[i] = Some(due);
            timers.push(Reverse((due, id, i as u8)));
        }
        return;
    }
    let imp = opts.impairment;
    if imp.delay.is_zero() && imp.jitter.is_zero() {
        pair.chunks[i] += 1;
        if let Some(n) = opts.slice {
            let writes = data.len().div_ceil(n.max(1));
            let fate = format!("sliced into {writes} write(s) of at most {n} byte(s)");
            narrate(t, id, pair, dir, data.len(), &fate, 0);
        }
        pair.conns(dir).1.queue(Rc::new(data));
        return;
    }
    pair.chunks[i] += 1;
    let delay = match imp.fate(dir, pair.chunks[i]) {
        Fate::Deliver { delay, .. } => delay,
        Fate::Drop => imp.delay,
    };
    // A stream keeps its order: a chunk never overtakes the one before it.
    let due = (now + delay).max(pair.last_due[i]);
    pair.last_due[i] = due;
    let millis = due.saturating_duration_since(now).as_millis() as u64;
    narrate(t, id, pair, dir, data.len(), "delayed", millis);
    pair.held[i].push_back((due, data));
    timers.push(Reverse((due, id, i as u8)));
}
