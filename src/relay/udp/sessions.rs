//! The UDP relay's sessions: one per client address, each with its own
//! socket connected to the target, so that the target's replies come back
//! on that socket and the relay knows which client they are for.
//!
//! UDP has no connection and no goodbye, so a session ends when it has been
//! silent for `--udp-idle`. Finding the silent ones must not cost a look at
//! every session on every turn of the loop: a heap keeps each session's
//! earliest possible expiry, and a session that was active since is simply
//! put back with its new time when its entry comes up.
//!
//! Every session holds a socket, which is a file descriptor. A flood of
//! datagrams from distinct source ports would take all of them, so the
//! table has a cap, and a session that cannot get a socket (EMFILE) is
//! refused: its datagram is dropped, the rest go on.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};

use crate::net::error::{NetContext, NetError};
use crate::net::socket::connect_udp;
use crate::relay::fate::deadline;
use crate::relay::limits::Shedding;
use crate::trace::explain::Action;
use crate::trace::{Event, Side, Tracer};

pub struct Session {
    pub upstream: UdpSocket,
    token: Token,
    last: Instant,
    /// Datagrams seen per direction (their numbers start at 1).
    pub counts: [u64; 2],
    /// A datagram held back to be sent after the next one, per direction:
    /// its number, its bytes and how many copies to send.
    pub held: [Option<(u64, Vec<u8>, u8)>; 2],
}

/// Why a client got no session.
pub enum Refusal {
    /// The table already holds as many sessions as it may.
    Full(usize),
    /// No socket could be made for it (EMFILE, most likely).
    NoSocket(NetError),
}

pub struct Sessions {
    by_client: HashMap<SocketAddr, Session>,
    clients: HashMap<Token, SocketAddr>,
    /// Tokens 1, 2, ...: 0 is the relay's own port.
    next_token: usize,
    /// (earliest expiry, client), checked lazily.
    expiry: BinaryHeap<Reverse<(Instant, SocketAddr)>>,
    idle: Duration,
    cap: usize,
    /// Datagrams dropped because their client got no session.
    pub refused: Shedding,
}

impl Sessions {
    pub fn new(idle: Duration, cap: usize) -> Sessions {
        Sessions {
            by_client: HashMap::new(),
            clients: HashMap::new(),
            next_token: 1,
            expiry: BinaryHeap::new(),
            idle,
            cap,
            refused: Shedding::default(),
        }
    }

    pub fn get_mut(&mut self, client: &SocketAddr) -> Option<&mut Session> {
        self.by_client.get_mut(client)
    }

    pub fn contains(&self, client: &SocketAddr) -> bool {
        self.by_client.contains_key(client)
    }

    /// The client whose session socket has this token.
    pub fn client_of(&self, token: Token) -> Option<SocketAddr> {
        self.clients.get(&token).copied()
    }

    /// Notes activity: the session stays at least `--udp-idle` longer.
    pub fn touch(&mut self, client: &SocketAddr) {
        if let Some(s) = self.by_client.get_mut(client) {
            s.last = Instant::now();
        }
    }

    /// Opens a session for `client`, with a socket connected to `target`.
    pub fn open(
        &mut self,
        t: &mut Tracer,
        registry: &Registry,
        target: SocketAddr,
        client: SocketAddr,
    ) -> Result<(), Refusal> {
        if self.by_client.len() >= self.cap {
            return Err(Refusal::Full(self.cap));
        }
        let mut upstream = connect_udp(t, Side::Client, target, None).map_err(Refusal::NoSocket)?;
        let token = Token(self.next_token);
        registry
            .register(&mut upstream, token, Interest::READABLE)
            .net(Action::Send, target)
            .map_err(Refusal::NoSocket)?;
        self.next_token += 1;
        let local = upstream
            .local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string());
        let text = format!("new session: {client} ⇄ relay ⇄ {target} (from {local})");
        t.emit(Side::Server, None, Event::Note { text: &text });
        let now = Instant::now();
        let session = Session {
            upstream,
            token,
            last: now,
            counts: [0; 2],
            held: [None, None],
        };
        self.by_client.insert(client, session);
        self.clients.insert(token, client);
        self.expiry
            .push(Reverse((deadline(now, self.idle), client)));
        Ok(())
    }

    /// When the next session may expire.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.expiry.peek().map(|Reverse((at, _))| *at)
    }

    /// Forgets the sessions silent for `--udp-idle` by `now`.
    pub fn expire(&mut self, t: &mut Tracer, registry: &Registry, now: Instant) {
        while let Some(&Reverse((at, client))) = self.expiry.peek() {
            if at > now {
                return;
            }
            self.expiry.pop();
            let Some(session) = self.by_client.get(&client) else {
                continue;
            };
            let until = deadline(session.last, self.idle);
            if until > now {
                // Active since this entry was made: look again later.
                self.expiry.push(Reverse((until, client)));
                continue;
            }
            if let Some(mut s) = self.by_client.remove(&client) {
                let _ = registry.deregister(&mut s.upstream);
                self.clients.remove(&s.token);
                let text = format!(
                    "session for {client} closed after {} s without datagrams (--udp-idle)",
                    self.idle.as_secs()
                );
                t.emit(Side::Server, None, Event::Note { text: &text });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_capped_and_expiry_frees_room() {
        let target = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let target = target.local_addr().expect("addr");
        let poll = mio::Poll::new().expect("poll");
        let registry = poll.registry();
        let mut t = Tracer::silent();
        // Times below are computed, never waited for.
        let idle = Duration::from_secs(3600);
        let mut table = Sessions::new(idle, 2);
        let client = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        assert!(table.open(&mut t, registry, target, client(1)).is_ok());
        assert!(table.open(&mut t, registry, target, client(2)).is_ok());
        let third = table.open(&mut t, registry, target, client(3));
        assert!(matches!(third, Err(Refusal::Full(2))));
        let start = Instant::now();
        table.expire(&mut t, registry, start);
        assert!(table.contains(&client(1)), "not idle long enough yet");
        // Client 2 stays active; client 1 falls silent.
        let later = start + idle * 2;
        table.by_client.get_mut(&client(2)).expect("2").last = later;
        table.expire(&mut t, registry, later);
        assert!(!table.contains(&client(1)), "silent: expired");
        assert!(table.contains(&client(2)), "active since: kept");
        assert!(table.next_expiry().is_some_and(|at| at > later));
        assert!(table.open(&mut t, registry, target, client(3)).is_ok());
    }
}
