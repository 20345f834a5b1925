//! The UDP relay: one listening socket facing the clients, and for each
//! client address a session (`sessions.rs`) with its own socket connected to
//! the target, so that replies find their way back to the right client.
//!
//! Each datagram's fate (dropped, duplicated, held back to be reordered,
//! delayed) comes from [`Impairment::fate`], a pure function of the seed, the
//! direction and the datagram's number. Delayed datagrams wait in a bounded
//! queue (`queue.rs`) whose soonest entry sets poll()'s timeout; nothing
//! sleeps. Whatever the relay cannot hold or serve (a full delay queue, a
//! client with no session) is dropped, as UDP allows, and every drop is
//! narrated and counted.
//!
//! Every turn of the loop reads at most [`DATAGRAMS_PER_TURN`] datagrams
//! from each ready socket, so a flood on one socket can starve neither the
//! other sessions nor the timers.

mod queue;
mod sessions;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

use super::fate::{Dir, Fate, Impairment, deadline};
use super::limits::{DATAGRAMS_PER_TURN, UDP_SESSIONS};
use crate::net::error::NetError;
use crate::net::{interrupted, would_block};
use crate::trace::explain::Action;
use crate::trace::{Event, Side, Tracer};
use queue::{DelayQueue, Entry};
use sessions::{Refusal, Sessions};

const LISTENER: Token = Token(0);
/// A held (reordered) datagram goes out at the latest this long after it
/// came, even if no other datagram follows it.
const HOLD_MAX: Duration = Duration::from_millis(100);

pub struct UdpRelay<'t> {
    t: &'t mut Tracer,
    poll: Poll,
    listener: UdpSocket,
    target: SocketAddr,
    impairment: Impairment,
    idle: Duration,
    sessions: Sessions,
    queue: DelayQueue,
    /// Sockets that still had datagrams when their turn ended: readiness is
    /// edge-triggered, so they are read again next turn without waiting.
    more: Vec<Token>,
    buf: Vec<u8>,
}

impl<'t> UdpRelay<'t> {
    pub fn new(
        t: &'t mut Tracer,
        mut listener: UdpSocket,
        target: SocketAddr,
        impairment: Impairment,
        idle: Duration,
    ) -> anyhow::Result<UdpRelay<'t>> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(UdpRelay {
            t,
            poll,
            listener,
            target,
            impairment,
            idle,
            sessions: Sessions::new(idle, UDP_SESSIONS),
            queue: DelayQueue::default(),
            more: Vec::new(),
            // The largest UDP payload is 65,507 bytes over IPv4 and 65,527
            // over IPv6: every datagram fits whole.
            buf: vec![0; 65_536],
        })
    }

    /// Relays until stopped (Ctrl-C).
    pub fn run(mut self) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(256);
        loop {
            let timeout = if self.more.is_empty() {
                self.next_wakeup()
                    .map(|at| at.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if interrupted(&e) {
                    continue;
                }
                return Err(e.into());
            }
            let mut tokens = std::mem::take(&mut self.more);
            tokens.extend(events.iter().map(|e| e.token()));
            tokens.sort_unstable();
            tokens.dedup();
            for token in tokens {
                if token == LISTENER {
                    self.receive_from_clients();
                } else if let Some(client) = self.sessions.client_of(token) {
                    self.receive_from_target(token, client);
                }
            }
            self.fire_timers();
            let now = Instant::now();
            self.sessions.expire(self.t, self.poll.registry(), now);
        }
    }

    fn next_wakeup(&self) -> Option<Instant> {
        [self.queue.next(), self.sessions.next_expiry()]
            .into_iter()
            .flatten()
            .min()
    }

    fn receive_from_clients(&mut self) {
        for _ in 0..DATAGRAMS_PER_TURN {
            match self.listener.recv_from(&mut self.buf) {
                Ok((n, client)) => {
                    if self.sessions.contains(&client) || self.open_session(client, n) {
                        let data = self.buf[..n].to_vec();
                        self.route(Dir::Up, client, data);
                    }
                }
                Err(e) if would_block(&e) => return,
                Err(e) if interrupted(&e) => {}
                Err(e) => NetError::new(Action::Recv, "the relay's port", e).emit(
                    self.t,
                    Side::Server,
                    None,
                ),
            }
        }
        self.more.push(LISTENER);
    }

    /// Opens a session for a new client, or refuses it (narrated); true when
    /// the client has a session.
    fn open_session(&mut self, client: SocketAddr, n: usize) -> bool {
        match self
            .sessions
            .open(self.t, self.poll.registry(), self.target, client)
        {
            Ok(()) => {
                if let Some(dropped) = self.sessions.refused.recover() {
                    let text = format!(
                        "new sessions are accepted again; {dropped} datagram(s) from clients with no session were dropped meanwhile"
                    );
                    self.t.emit(Side::Server, None, Event::Note { text: &text });
                }
                true
            }
            Err(refusal) => {
                self.refuse(client, n, refusal);
                false
            }
        }
    }

    /// Drops the datagram of a client that gets no session, and says why.
    fn refuse(&mut self, client: SocketAddr, n: usize, refusal: Refusal) {
        let reason = match &refusal {
            Refusal::Full(cap) => {
                format!("no room for a new session (the relay keeps at most {cap})")
            }
            Refusal::NoSocket(e) => {
                format!("no socket for a new session ({})", e.explanation().kind)
            }
        };
        if self.sessions.refused.drop_one() {
            if let Refusal::NoSocket(e) = &refusal {
                e.emit(self.t, Side::Client, None);
            }
            let text = format!(
                "{client} gets {reason}: datagrams from new clients are dropped until sessions end (--udp-idle {} s); the existing sessions go on",
                self.idle.as_secs()
            );
            self.t.emit(Side::Server, None, Event::Note { text: &text });
        }
        // Number 0: the datagram belongs to no session.
        let fate = format!("dropped: {reason}");
        self.narrate(Dir::Up, 0, n, &fate, Duration::ZERO, client);
    }

    fn receive_from_target(&mut self, token: Token, client: SocketAddr) {
        for _ in 0..DATAGRAMS_PER_TURN {
            let Some(session) = self.sessions.get_mut(&client) else {
                return;
            };
            match session.upstream.recv(&mut self.buf) {
                Ok(n) => {
                    let data = self.buf[..n].to_vec();
                    self.route(Dir::Down, client, data);
                }
                Err(e) if would_block(&e) => return,
                Err(e) if interrupted(&e) => {}
                // ECONNREFUSED: the target answered an earlier datagram with
                // ICMP "port unreachable". Say so, keep the session, and
                // read on: datagrams may be queued behind the error.
                Err(e) => {
                    NetError::new(Action::Send, self.target, e).emit(self.t, Side::Client, None)
                }
            }
        }
        self.more.push(token);
    }

    fn narrate(
        &mut self,
        dir: Dir,
        number: u64,
        n: usize,
        fate: &str,
        delay: Duration,
        client: SocketAddr,
    ) {
        let millis = delay.as_millis() as u64;
        self.t.emit(
            Side::Server,
            None,
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

    /// Decides and carries out the fate of one datagram.
    fn route(&mut self, dir: Dir, client: SocketAddr, data: Vec<u8>) {
        self.sessions.touch(&client);
        let Some(session) = self.sessions.get_mut(&client) else {
            return;
        };
        let i = dir as usize;
        session.counts[i] += 1;
        let number = session.counts[i];
        let n = data.len();
        let now = Instant::now();
        match self.impairment.fate(dir, number) {
            Fate::Drop => self.narrate(dir, number, n, "dropped", Duration::ZERO, client),
            Fate::Deliver {
                copies,
                hold: true,
                delay,
            } if session.held[i].is_none() => {
                if !self.queue.has_room(0, 1) {
                    // No room for its deadline: it could be held forever.
                    return self.drop_full(dir, number, n, client);
                }
                session.held[i] = Some((number, data, copies));
                let at = deadline(now, delay.saturating_add(HOLD_MAX));
                self.queue.push(at, client, dir, Entry::Release(number));
                let fate = "held back, to go after the next one";
                self.narrate(dir, number, n, fate, Duration::ZERO, client);
            }
            Fate::Deliver { copies, delay, .. } => {
                let fate = match (copies, delay.is_zero()) {
                    (2, _) => "duplicated",
                    (_, true) => "forwarded",
                    _ => "delayed",
                };
                self.deliver(dir, client, (number, data, copies), delay, fate);
                // A datagram held back goes out right after this one.
                let held = self
                    .sessions
                    .get_mut(&client)
                    .and_then(|s| s.held[i].take());
                if let Some(held) = held {
                    let fate = format!("released after #{number}: reordered");
                    self.deliver(dir, client, held, delay, &fate);
                }
            }
        }
        self.fire_timers();
    }

    /// Queues the copies of one datagram to go out after `delay`, if the
    /// delay queue has room for them, and narrates what happened.
    fn deliver(
        &mut self,
        dir: Dir,
        client: SocketAddr,
        (number, data, copies): (u64, Vec<u8>, u8),
        delay: Duration,
        fate: &str,
    ) {
        let n = data.len();
        let copies = usize::from(copies);
        // Only a datagram that will really wait takes room in the queue.
        if !delay.is_zero() && !self.queue.has_room(n * copies, copies) {
            return self.drop_full(dir, number, n, client);
        }
        let at = deadline(Instant::now(), delay);
        for _ in 1..copies {
            let copy = Entry::Datagram(data.clone());
            self.queue.push(at, client, dir, copy);
        }
        self.queue.push(at, client, dir, Entry::Datagram(data));
        self.narrate(dir, number, n, fate, delay, client);
    }

    /// Drops a datagram that would wait in a full delay queue.
    fn drop_full(&mut self, dir: Dir, number: u64, n: usize, client: SocketAddr) {
        let held = self.queue.held();
        if self.queue.full.drop_one() {
            let text = format!(
                "the delay queue is full ({held} entries wait): datagrams that would wait are dropped until some go out"
            );
            self.t.emit(Side::Server, None, Event::Note { text: &text });
        }
        let fate = format!("dropped: delay queue full ({held} held)");
        self.narrate(dir, number, n, &fate, Duration::ZERO, client);
    }

    /// Sends every datagram whose time has come, in time order.
    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(due) = self.queue.pop_due(now) {
            let dir = due.dir();
            let data = match due.entry {
                Entry::Datagram(d) => d,
                Entry::Release(number) => {
                    // Nothing followed a held datagram in time: send it
                    // (unless it went out already, after the next one).
                    let Some((number, bytes, _)) = self
                        .sessions
                        .get_mut(&due.client)
                        .and_then(|s| s.held[dir as usize].take_if(|h| h.0 == number))
                    else {
                        continue;
                    };
                    let fate = "released: nothing came after it";
                    self.narrate(dir, number, bytes.len(), fate, Duration::ZERO, due.client);
                    bytes
                }
            };
            self.send(dir, due.client, &data);
        }
        if self.queue.full.active() && self.queue.has_room(self.buf.len(), 2) {
            let dropped = self.queue.full.recover().unwrap_or_default();
            let text = format!(
                "the delay queue has room again; {dropped} datagram(s) were dropped while it was full"
            );
            self.t.emit(Side::Server, None, Event::Note { text: &text });
        }
    }

    fn send(&mut self, dir: Dir, client: SocketAddr, data: &[u8]) {
        let result = match dir {
            Dir::Up => match self.sessions.get_mut(&client) {
                Some(s) => s.upstream.send(data),
                None => return,
            },
            Dir::Down => self.listener.send_to(data, client),
        };
        let Err(e) = result else {
            return;
        };
        if would_block(&e) {
            // A full socket buffer drops the datagram, as a router would.
            let text = format!(
                "{} a datagram was dropped: the relay's send buffer is full",
                dir.arrow()
            );
            self.t.emit(Side::Server, None, Event::Note { text: &text });
        } else if dir == Dir::Up {
            // The upstream socket's error, narrated as its side (the relay
            // as the target's client), as when its recv() reports it: an
            // ICMP "port unreachable" surfaces in either call, depending on
            // timing, and must read the same both ways.
            NetError::new(Action::Send, self.target, e).emit(self.t, Side::Client, None);
        } else {
            NetError::new(Action::Recv, client, e).emit(self.t, Side::Server, None);
        }
    }
}
