//! One client's connection through the TCP relay, the relay's own connection
//! to the target, and what travels between them.
//!
//! Bytes read from one side take one of three routes to the other side's
//! write queue: straight there, gathered for `--coalesce`, or held for
//! `--delay`. Whatever is on its way, on any route, counts against one limit
//! ([`TCP_IN_FLIGHT`]); over it, the relay stops reading from the sender and
//! TCP's flow control slows the sender down.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::rc::Rc;
use std::time::Instant;

use super::TcpOptions;
use crate::net::conn::Conn;
use crate::relay::fate::{Dir, Fate, deadline};
use crate::relay::limits::{ENTRY_COST, GATHER_MAX, TCP_IN_FLIGHT};
use crate::trace::{Event, Side, Tracer};

/// When a pair's direction has something due: (time, pair id, direction).
pub type Timers = BinaryHeap<Reverse<(Instant, u64, u8)>>;

pub struct Pair {
    pub id: u64,
    pub client: Conn,
    pub upstream: Conn,
    /// The handshake with the target is under way since this moment.
    pub connecting: Option<Instant>,
    /// What is on its way, per direction (index: `Dir as usize`).
    pub lanes: [Lane; 2],
    /// The socket that failed (`Up`: the client's, `Down`: the target's).
    /// What the relay already has from it still goes out to the other side,
    /// and then that side is reset too.
    pub failed: Option<Dir>,
}

/// One direction through the relay.
#[derive(Default)]
pub struct Lane {
    /// Chunks waiting for their time (`--delay`), in order.
    held: VecDeque<(Instant, Vec<u8>)>,
    /// What the held chunks cost: their bytes plus [`ENTRY_COST`] each.
    held_cost: usize,
    /// Bytes being gathered (`--coalesce`), from how many reads, until when.
    gather: Vec<u8>,
    gather_reads: u64,
    gather_due: Option<Instant>,
    /// Chunks seen, numbered from 1 in the narration.
    chunks: u64,
    /// When the last held chunk is due: a chunk never overtakes the one
    /// before it, whatever its jitter, or the stream would be reordered.
    last_due: Option<Instant>,
    /// Reading stopped because too much is on its way.
    pub paused: bool,
    /// Waiting in the loop's list of sockets to read again without poll().
    pub more: bool,
}

impl Lane {
    fn is_empty(&self) -> bool {
        self.held.is_empty() && self.gather.is_empty()
    }
}

impl Pair {
    pub fn new(id: u64, client: Conn, upstream: Conn, now: Instant) -> Pair {
        Pair {
            id,
            client,
            upstream,
            connecting: Some(now),
            lanes: [Lane::default(), Lane::default()],
            failed: None,
        }
    }

    /// The socket bytes of `dir` come from and the one they go to.
    pub fn conns(&mut self, dir: Dir) -> (&mut Conn, &mut Conn) {
        match dir {
            Dir::Up => (&mut self.client, &mut self.upstream),
            Dir::Down => (&mut self.upstream, &mut self.client),
        }
    }

    pub fn lane(&mut self, dir: Dir) -> &mut Lane {
        &mut self.lanes[dir as usize]
    }

    /// Nothing of this direction is still held or gathered in the relay.
    pub fn drained(&self, dir: Dir) -> bool {
        self.lanes[dir as usize].is_empty()
    }

    /// Everything of `dir` that the relay holds: held, gathered, queued.
    pub fn in_flight(&self, dir: Dir) -> usize {
        let lane = &self.lanes[dir as usize];
        let to = match dir {
            Dir::Up => &self.upstream,
            Dir::Down => &self.client,
        };
        lane.held_cost + lane.gather.len() + to.queued()
    }

    /// How many more bytes of `dir` the relay may take in now.
    pub fn room(&self, dir: Dir) -> usize {
        TCP_IN_FLIGHT.saturating_sub(self.in_flight(dir))
    }

    /// Whether the relay may write to the socket `dir`'s bytes go to.
    pub fn can_write(&self, dir: Dir) -> bool {
        dir == Dir::Down || self.connecting.is_none()
    }

    /// Nothing more can reach the socket that failed: forget what was on
    /// its way there.
    pub fn discard(&mut self, dir: Dir) {
        *self.lane(dir) = Lane::default();
    }

    /// Sends one read's bytes on: at once, gathered (`--coalesce`) or held
    /// (`--delay`), and narrates what happens to them.
    pub fn route(
        &mut self,
        t: &mut Tracer,
        timers: &mut Timers,
        opts: &TcpOptions,
        dir: Dir,
        data: Vec<u8>,
    ) {
        let now = Instant::now();
        let id = self.id;
        let lane = self.lane(dir);
        if let Some(window) = opts.coalesce {
            lane.gather.extend_from_slice(&data);
            lane.gather_reads += 1;
            // One timer per window: a write that goes out early leaves the
            // window running, so a fast sender adds no timers.
            if lane.gather_due.is_none() {
                let due = deadline(now, window);
                lane.gather_due = Some(due);
                timers.push(Reverse((due, id, dir as u8)));
            }
            if lane.gather.len() >= GATHER_MAX {
                let fate = format!(
                    "coalesced {} read(s) into one write, before the window ended: {} MiB gathered is as much as the relay gathers",
                    lane.gather_reads,
                    GATHER_MAX >> 20
                );
                self.release_gather(t, dir, &fate);
            }
            return;
        }
        lane.chunks += 1;
        let imp = opts.impairment;
        if imp.delay.is_zero() && imp.jitter.is_zero() {
            if let Some(n) = opts.slice {
                let writes = data.len().div_ceil(n.max(1));
                let fate = format!("sliced into {writes} write(s) of at most {n} byte(s)");
                self.narrate(t, dir, data.len(), &fate, 0);
            }
            self.conns(dir).1.queue(Rc::new(data));
            return;
        }
        let delay = match imp.fate(dir, lane.chunks) {
            Fate::Deliver { delay, .. } => delay,
            Fate::Drop => imp.delay,
        };
        let due = deadline(now, delay).max(lane.last_due.unwrap_or(now));
        lane.last_due = Some(due);
        lane.held_cost += data.len() + ENTRY_COST;
        let millis = due.saturating_duration_since(now).as_millis() as u64;
        let n = data.len();
        lane.held.push_back((due, data));
        timers.push(Reverse((due, id, dir as u8)));
        self.narrate(t, dir, n, "delayed", millis);
    }

    /// Moves what is due in `dir` into the write queue.
    pub fn release_due(&mut self, t: &mut Tracer, dir: Dir, now: Instant) {
        let lane = self.lane(dir);
        if lane.gather_due.is_some_and(|due| due <= now) {
            lane.gather_due = None;
            if !lane.gather.is_empty() {
                let fate = format!("coalesced {} read(s) into one write", lane.gather_reads);
                self.release_gather(t, dir, &fate);
            }
        }
        let lane = &mut self.lanes[dir as usize];
        let to = match dir {
            Dir::Up => &mut self.upstream,
            Dir::Down => &mut self.client,
        };
        while lane.held.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, bytes)) = lane.held.pop_front() {
                lane.held_cost -= bytes.len() + ENTRY_COST;
                to.queue(Rc::new(bytes));
            }
        }
    }

    fn release_gather(&mut self, t: &mut Tracer, dir: Dir, fate: &str) {
        let lane = self.lane(dir);
        let bytes = std::mem::take(&mut lane.gather);
        lane.gather_reads = 0;
        lane.chunks += 1;
        self.narrate(t, dir, bytes.len(), fate, 0);
        self.conns(dir).1.queue(Rc::new(bytes));
    }

    /// Records what the relay did with the latest chunk of `dir`.
    fn narrate(&self, t: &mut Tracer, dir: Dir, n: usize, fate: &str, millis: u64) {
        t.emit(
            Side::Server,
            Some(self.id),
            Event::Relay {
                dir: dir.name(),
                number: self.lanes[dir as usize].chunks,
                n,
                fate,
                millis,
                client: self.client.peer,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A pair whose two sockets are the ends of one loopback connection.
    fn pair() -> Pair {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let near = std::net::TcpStream::connect(addr).expect("connect");
        let (far, _) = listener.accept().expect("accept");
        let conn = |s: std::net::TcpStream, side| {
            let token = mio::Token(1);
            Conn::new(1, side, token, mio::net::TcpStream::from_std(s), addr)
        };
        Pair::new(
            1,
            conn(near, Side::Server),
            conn(far, Side::Client),
            Instant::now(),
        )
    }

    #[test]
    fn a_fast_sender_through_coalesce_adds_one_timer_per_window_and_stays_bounded() {
        let mut p = pair();
        let mut t = Tracer::silent();
        let mut timers = Timers::new();
        let opts = TcpOptions {
            coalesce: Some(Duration::from_secs(3600)),
            ..TcpOptions::default()
        };
        for _ in 0..64 {
            p.route(&mut t, &mut timers, &opts, Dir::Up, vec![7; 256 << 10]);
            assert!(p.lanes[0].gather.len() < GATHER_MAX, "written early");
        }
        assert_eq!(timers.len(), 1, "one window, one timer");
        assert_eq!(p.lanes[0].chunks, 8, "16 MiB in 2 MiB writes");
        assert!(p.in_flight(Dir::Up) >= 16 << 20, "queued, so counted");
        assert_eq!(p.room(Dir::Up), 0, "the reader must pause");
    }

    #[test]
    fn held_chunks_count_their_overhead() {
        let mut p = pair();
        let mut t = Tracer::silent();
        let mut timers = Timers::new();
        let mut opts = TcpOptions::default();
        opts.impairment.delay = Duration::from_secs(3600);
        let mut chunks = 0;
        while p.room(Dir::Down) > 0 {
            p.route(&mut t, &mut timers, &opts, Dir::Down, vec![1]);
            chunks += 1;
        }
        assert_eq!(chunks, TCP_IN_FLIGHT.div_ceil(1 + ENTRY_COST));
        p.release_due(
            &mut t,
            Dir::Down,
            Instant::now() + Duration::from_secs(7200),
        );
        assert!(p.drained(Dir::Down), "all due by then");
    }
}
