//! Datagrams waiting for their time (`--delay`, and held datagrams' release
//! deadlines), in a heap ordered by due time, bounded in count and bytes.
//!
//! A delay line holds everything that arrives during one delay: a sender at
//! 500 MB/s through `--delay 1s` would make it hold 500 MB. UDP has no flow
//! control to slow that sender down, so when the queue is full the relay
//! drops, like a router whose queue is full (netem's `limit` does the same);
//! the caller narrates each drop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::Instant;

use crate::relay::fate::Dir;
use crate::relay::limits::{ENTRY_COST, Shedding, UDP_HELD_BYTES, UDP_HELD_DATAGRAMS};

/// A datagram, or a release deadline, waiting for its time.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub struct Due {
    pub at: Instant,
    /// Keeps datagrams due at the same moment in the order they came.
    seq: u64,
    pub client: SocketAddr,
    dir: u8,
    /// `None`: release whatever the session holds back in that direction.
    pub data: Option<Vec<u8>>,
}

impl Due {
    pub fn dir(&self) -> Dir {
        if self.dir == 0 { Dir::Up } else { Dir::Down }
    }

    fn cost(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.len() + ENTRY_COST)
    }
}

#[derive(Default)]
pub struct DelayQueue {
    heap: BinaryHeap<Reverse<Due>>,
    seq: u64,
    /// What the datagrams in the heap cost, and how many there are.
    bytes: usize,
    datagrams: usize,
    /// Datagrams dropped because the queue was full.
    pub full: Shedding,
}

impl DelayQueue {
    /// Whether `copies` more datagrams of `n` bytes fit.
    pub fn has_room(&self, n: usize, copies: usize) -> bool {
        self.datagrams + copies <= UDP_HELD_DATAGRAMS
            && self.bytes + copies * (n + ENTRY_COST) <= UDP_HELD_BYTES
    }

    /// Datagrams waiting now.
    pub fn held(&self) -> usize {
        self.datagrams
    }

    pub fn push(&mut self, at: Instant, client: SocketAddr, dir: Dir, data: Option<Vec<u8>>) {
        self.seq += 1;
        let due = Due {
            at,
            seq: self.seq,
            client,
            dir: dir as u8,
            data,
        };
        if due.data.is_some() {
            self.bytes += due.cost();
            self.datagrams += 1;
        }
        self.heap.push(Reverse(due));
    }

    /// When the next datagram or deadline is due.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(d)| d.at)
    }

    /// The next entry whose time has come, if any.
    pub fn pop_due(&mut self, now: Instant) -> Option<Due> {
        if self.next()? > now {
            return None;
        }
        let Reverse(due) = self.heap.pop()?;
        if due.data.is_some() {
            self.bytes -= due.cost();
            self.datagrams -= 1;
        }
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_queue_is_bounded_in_bytes_and_count_and_gives_back_room() {
        let client: SocketAddr = "127.0.0.1:9".parse().expect("address");
        let now = Instant::now();
        let later = now + Duration::from_secs(1);
        let mut q = DelayQueue::default();
        let size = 32 << 10;
        let mut held = 0;
        while q.has_room(size, 1) {
            q.push(later, client, Dir::Up, Some(vec![0; size]));
            held += 1;
        }
        assert_eq!(held, UDP_HELD_BYTES / (size + ENTRY_COST));
        assert!(q.pop_due(now).is_none(), "nothing is due yet");
        assert!(q.pop_due(later).is_some_and(|d| d.data.is_some()));
        assert!(q.has_room(size, 1), "one datagram out, room for one");
        let mut empty = DelayQueue::default();
        for _ in 0..UDP_HELD_DATAGRAMS {
            empty.push(later, client, Dir::Down, Some(Vec::new()));
        }
        assert!(
            !empty.has_room(0, 1),
            "zero-length datagrams are bounded too"
        );
        empty.push(now, client, Dir::Down, None);
        assert_eq!(
            empty.held(),
            UDP_HELD_DATAGRAMS,
            "deadlines hold no datagram"
        );
        assert!(empty.pop_due(now).is_some_and(|d| d.data.is_none()));
    }
}
