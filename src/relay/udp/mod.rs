//! The UDP relay: one listening socket facing the clients, and for each
//! client address a session with its own socket connected to the target, so
//! that replies find their way back to the right client. Sessions that stay
//! silent longer than `--udp-idle` are forgotten.
//!
//! Each datagram's fate (dropped, duplicated, held back to be reordered,
//! delayed) comes from [`Impairment::fate`], a pure function of the seed, the
//! direction and the datagram's number. Delayed datagrams wait in a timer
//! heap that sets poll()'s timeout; nothing sleeps.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

use super::fate::{Dir, Fate, Impairment};
use crate::net::error::{NetContext, NetError};
use crate::net::socket::connect_udp;
use crate::net::{interrupted, would_block};
use crate::trace::explain::Action;
use crate::trace::{Event, Side, Tracer};

const LISTENER: Token = Token(0);
/// A held (reordered) datagram goes out at the latest this long after it
/// came, even if no other datagram follows it.
const HOLD_MAX: Duration = Duration::from_millis(100);

struct Session {
    upstream: UdpSocket,
    token: Token,
    last: Instant,
    /// Datagrams seen per direction (their numbers start at 1).
    counts: [u64; 2],
    /// A datagram held back to be sent after the next one, per direction.
    held: [Option<(u64, Vec<u8>, u8)>; 2],
}

/// A datagram waiting for its time.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Instant,
    seq: u64,
    client: SocketAddr,
    dir: u8,
    /// `None`: release whatever is held in that direction.
    data: Option<Vec<u8>>,
}

pub struct UdpRelay<'t> {
    t: &'t mut Tracer,
    poll: Poll,
    listener: UdpSocket,
    target: SocketAddr,
    impairment: Impairment,
    idle: Duration,
    sessions: HashMap<SocketAddr, Session>,
    clients: HashMap<Token, SocketAddr>,
    next_token: usize,
    timers: BinaryHeap<Reverse<Due>>,
    seq: u64,
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
            sessions: HashMap::new(),
            clients: HashMap::new(),
            next_token: 1,
            timers: BinaryHeap::new(),
            seq: 0,
            buf: vec![0; 65_536],
        })
    }

    /// Relays until stopped (Ctrl-C).
    pub fn run(mut self) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(64);
        loop {
            let timeout = self
                .next_wakeup()
                .map(|at| at.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if interrupted(&e) {
                    continue;
                }
                return Err(e.into());
            }
            let tokens: Vec<Token> = events.iter().map(|e| e.token()).collect();
            for token in tokens {
                if token == LISTENER {
                    self.receive_from_clients()?;
                } else if let Some(client) = self.clients.get(&token).copied() {
                    self.receive_from_target(client);
                }
            }
            self.fire_timers();
            self.expire_sessions();
        }
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let timer = self.timers.peek().map(|Reverse(d)| d.at);
        let expiry = self.sessions.values().map(|s| s.last + self.idle).min();
        [timer, expiry].into_iter().flatten().min()
    }

    fn receive_from_clients(&mut self) -> anyhow::Result<()> {
        loop {
            match self.listener.recv_from(&mut self.buf) {
                Ok((n, client)) => {
                    let data = self.buf[..n].to_vec();
                    if !self.sessions.contains_key(&client) {
                        self.open_session(client)?;
                    }
                    self.route(Dir::Up, client, data);
                }
                Err(e) if would_block(&e) => return Ok(()),
                Err(e) if interrupted(&e) => {}
                Err(e) => {
                    NetError::new(Action::Recv, "the relay's port", e).emit(
                        self.t,
                        Side::Server,
                        None,
                    );
                    return Ok(());
                }
            }
        }
    }

    fn open_session(&mut self, client: SocketAddr) -> anyhow::Result<()> {
        let mut upstream = connect_udp(self.t, Side::Client, self.target, None)?;
        let token = Token(self.next_token);
        self.next_token += 1;
        self.poll
            .registry()
            .register(&mut upstream, token, Interest::READABLE)
            .net(Action::Send, self.target)?;
        let local = upstream.local_addr().net(Action::Send, self.target)?;
        let text = format!(
            "new session: {client} ⇄ relay ⇄ {} (from {local})",
            self.target
        );
        self.t.emit(Side::Server, None, Event::Note { text: &text });
        self.sessions.insert(
            client,
            Session {
                upstream,
                token,
                last: Instant::now(),
                counts: [0; 2],
                held: [None, None],
            },
        );
        self.clients.insert(token, client);
        Ok(())
    }

    fn receive_from_target(&mut self, client: SocketAddr) {
        loop {
            let Some(session) = self.sessions.get(&client) else {
                return;
            };
            match session.upstream.recv(&mut self.buf) {
                Ok(n) => {
                    let data = self.buf[..n].to_vec();
                    self.route(Dir::Down, client, data);
                }
                Err(e) if would_block(&e) => return,
                Err(e) if interrupted(&e) => {}
                Err(e) => {
                    // ECONNREFUSED: the target answered with ICMP, nobody
                    // listens there. Say so and keep the session.
                    NetError::new(Action::Send, self.target, e).emit(self.t, Side::Client, None);
                    return;
                }
            }
        }
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
        let Some(session) = self.sessions.get_mut(&client) else {
            return;
        };
        session.last = Instant::now();
        let i = dir as usize;
        session.counts[i] += 1;
        let number = session.counts[i];
        let n = data.len();
        match self.impairment.fate(dir, number) {
            Fate::Drop => self.narrate(dir, number, n, "dropped", Duration::ZERO, client),
            Fate::Deliver {
                copies,
                hold: true,
                delay,
            } if session.held[i].is_none() => {
                session.held[i] = Some((number, data, copies));
                let at = Instant::now() + delay + HOLD_MAX;
                self.schedule(at, client, dir, None);
                self.narrate(
                    dir,
                    number,
                    n,
                    "held back, to go after the next one",
                    Duration::ZERO,
                    client,
                );
            }
            Fate::Deliver { copies, delay, .. } => {
                let at = Instant::now() + delay;
                for _ in 0..copies {
                    self.schedule(at, client, dir, Some(data.clone()));
                }
                let fate = match (copies, delay.is_zero()) {
                    (2, _) => "duplicated",
                    (_, true) => "forwarded",
                    _ => "delayed",
                };
                self.narrate(dir, number, n, fate, delay, client);
                // A datagram held back goes out right after this one.
                if let Some((held, bytes, copies)) = self
                    .sessions
                    .get_mut(&client)
                    .and_then(|s| s.held[i].take())
                {
                    let len = bytes.len();
                    for _ in 0..copies {
                        self.schedule(at, client, dir, Some(bytes.clone()));
                    }
                    let fate = format!("released after #{number}: reordered");
                    self.narrate(dir, held, len, &fate, delay, client);
                }
            }
        }
        self.fire_timers();
    }

    fn schedule(&mut self, at: Instant, client: SocketAddr, dir: Dir, data: Option<Vec<u8>>) {
        self.seq += 1;
        self.timers.push(Reverse(Due {
            at,
            seq: self.seq,
            client,
            dir: (dir as usize) as u8,
            data,
        }));
    }

    /// Sends every datagram whose time has come, in time order.
    fn fire_timers(&mut self) {
        let now = Instant::now();
        while self.timers.peek().is_some_and(|Reverse(d)| d.at <= now) {
            let Some(Reverse(due)) = self.timers.pop() else {
                break;
            };
            let dir = if due.dir == 0 { Dir::Up } else { Dir::Down };
            let data = match due.data {
                Some(d) => d,
                None => {
                    // Nothing followed a held datagram in time: send it.
                    let Some((number, bytes, _)) = self
                        .sessions
                        .get_mut(&due.client)
                        .and_then(|s| s.held[due.dir as usize].take())
                    else {
                        continue;
                    };
                    self.narrate(
                        dir,
                        number,
                        bytes.len(),
                        "released: nothing came after it",
                        Duration::ZERO,
                        due.client,
                    );
                    bytes
                }
            };
            self.send(dir, due.client, &data);
        }
    }

    fn send(&mut self, dir: Dir, client: SocketAddr, data: &[u8]) {
        let result = match dir {
            Dir::Up => match self.sessions.get(&client) {
                Some(s) => s.upstream.send(data),
                None => return,
            },
            Dir::Down => self.listener.send_to(data, client),
        };
        if let Err(e) = result {
            // A full socket buffer drops the datagram, as a router would;
            // the narration says so.
            let action = if dir == Dir::Up {
                Action::Send
            } else {
                Action::Recv
            };
            let target = if dir == Dir::Up { self.target } else { client };
            if would_block(&e) {
                let text = format!(
                    "{} a datagram was dropped: the relay's send buffer is full",
                    dir.arrow()
                );
                self.t.emit(Side::Server, None, Event::Note { text: &text });
            } else {
                NetError::new(action, target, e).emit(self.t, Side::Server, None);
            }
        }
    }

    fn expire_sessions(&mut self) {
        let now = Instant::now();
        let old: Vec<SocketAddr> = self
            .sessions
            .iter()
            .filter(|(_, s)| now >= s.last + self.idle)
            .map(|(c, _)| *c)
            .collect();
        for client in old {
            if let Some(mut s) = self.sessions.remove(&client) {
                let _ = self.poll.registry().deregister(&mut s.upstream);
                self.clients.remove(&s.token);
                let text = format!(
                    "session for {client} closed after {} s without datagrams (--udp-idle)",
                    self.idle.as_secs()
                );
                self.t.emit(Side::Server, None, Event::Note { text: &text });
            }
        }
    }
}
