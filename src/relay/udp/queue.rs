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

/// What waits in the queue.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub enum Entry {
    /// A datagram to send.
    Datagram(Vec<u8>),
    /// The deadline of the datagram held back (to be reordered) with this
    /// number: if it is still held then, it goes out.
    Release(u64),
}

/// An entry and when it is due.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub struct Due {
    pub at: Instant,
    /// Keeps entries due at the same moment in the order they came.
    seq: u64,
    pub client: SocketAddr,
    dir: u8,
    pub entry: Entry,
}

impl Due {
    pub fn dir(&self) -> Dir {
        if self.dir == 0 { Dir::Up } else { Dir::Down }
    }

    fn cost(&self) -> usize {
        match &self.entry {
            Entry::Datagram(d) => d.len() + ENTRY_COST,
            Entry::Release(_) => ENTRY_COST,
        }
    }
}

#[derive(Default)]
pub struct DelayQueue {
    heap: BinaryHeap<Reverse<Due>>,
    seq: u64,
    /// What the entries in the heap cost, and how many there are.
    bytes: usize,
    entries: usize,
    /// Datagrams dropped because the queue was full.
    pub full: Shedding,
}

impl DelayQueue {
    /// Whether `entries` more entries fit, carrying `bytes` of data in all.
    pub fn has_room(&self, bytes: usize, entries: usize) -> bool {
        self.entries + entries <= UDP_HELD_DATAGRAMS
            && self.bytes + bytes + entries * ENTRY_COST <= UDP_HELD_BYTES
    }

    /// Entries waiting now.
    pub fn held(&self) -> usize {
        self.entries
    }

    pub fn push(&mut self, at: Instant, client: SocketAddr, dir: Dir, entry: Entry) {
        self.seq += 1;
        let due = Due {
            at,
            seq: self.seq,
            client,
            dir: dir as u8,
            entry,
        };
        self.bytes += due.cost();
        self.entries += 1;
        self.heap.push(Reverse(due));
    }

    /// When the next entry is due.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(d)| d.at)
    }

    /// The next entry whose time has come, if any.
    pub fn pop_due(&mut self, now: Instant) -> Option<Due> {
        if self.next()? > now {
            return None;
        }
        let Reverse(due) = self.heap.pop()?;
        self.bytes -= due.cost();
        self.entries -= 1;
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
            q.push(later, client, Dir::Up, Entry::Datagram(vec![0; size]));
            held += 1;
        }
        assert_eq!(held, UDP_HELD_BYTES / (size + ENTRY_COST));
        assert!(q.pop_due(now).is_none(), "nothing is due yet");
        let first = q.pop_due(later).map(|d| d.entry);
        assert!(matches!(first, Some(Entry::Datagram(_))));
        assert!(q.has_room(size, 1), "one datagram out, room for one");
        // Empty datagrams and release deadlines take room too: a flood of
        // either is bounded.
        let mut q = DelayQueue::default();
        for n in 0..UDP_HELD_DATAGRAMS {
            let entry = if n % 2 == 0 {
                Entry::Datagram(Vec::new())
            } else {
                Entry::Release(n as u64)
            };
            q.push(later, client, Dir::Down, entry);
        }
        assert!(!q.has_room(0, 1));
        assert_eq!(q.held(), UDP_HELD_DATAGRAMS);
    }
}
