//! How much the relay may hold, and what it does when it is full.
//!
//! A relay sits between a sender that may be as fast as the machine and a
//! receiver, or a delay, that is slower: whatever waits in between is
//! memory, and without a limit a fast sender makes the relay grow until the
//! process dies. TCP has flow control, so a full TCP relay simply stops
//! reading: the bytes wait in the kernel, the sender's window closes, and
//! the sender slows down (back-pressure). UDP has none, so a full UDP relay
//! must drop datagrams, as a router with a full queue does; but it says so.

use std::time::Duration;

/// TCP, per direction of one connection pair: the bytes the relay holds for
/// `--delay`, gathers for `--coalesce` and has queued for writing, together.
/// Linux lets a socket's send buffer grow to 4 MiB (`net.ipv4.tcp_wmem`),
/// so the relay holds as much as one more socket would. A delay line of D
/// that holds W bytes passes at most W per D (4 MiB at 200 ms: 20 MiB/s):
/// the bandwidth-delay product, the limit a real path with that window has.
pub const TCP_IN_FLIGHT: usize = 4 << 20;
/// A paused reader resumes once what is in flight drops under this, so that
/// reading restarts with room for a good run rather than one read.
pub const TCP_RESUME: usize = TCP_IN_FLIGHT / 2;
/// `--coalesce`: a gathered write goes out before its window ends when it
/// reaches this size. Waiting longer would only stall the sender: the write
/// is already as large as any the kernel takes in one go.
pub const GATHER_MAX: usize = TCP_IN_FLIGHT / 2;
/// What a held chunk or datagram costs beyond its bytes (its queue entry, its
/// timer, its allocation): a million 1-byte chunks are not 1 MB of memory.
pub const ENTRY_COST: usize = 64;

/// UDP: datagrams waiting for `--delay`, across all sessions.
pub const UDP_HELD_BYTES: usize = 4 << 20;
pub const UDP_HELD_DATAGRAMS: usize = 10_000;
/// UDP: sessions at once. Each holds a socket, so a flood of distinct source
/// ports would otherwise take every file descriptor the process may have.
pub const UDP_SESSIONS: usize = 4096;

/// Datagrams read from one socket per turn of the loop, before the other
/// sockets and the timers get their turn.
pub const DATAGRAMS_PER_TURN: usize = 64;
/// After accept() failed for want of a descriptor, try again this often
/// (and whenever a connection pair closes, which frees two).
pub const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// A stretch of time during which something is refused or dropped. Its
/// start and its end are narrated as steps; each drop in between is counted
/// and narrated at the data level, like any other datagram's fate.
#[derive(Debug, Default)]
pub struct Shedding {
    dropped: u64,
    active: bool,
}

impl Shedding {
    /// Counts one drop; true when it starts a new stretch.
    pub fn drop_one(&mut self) -> bool {
        self.dropped += 1;
        !std::mem::replace(&mut self.active, true)
    }

    /// The stretch is over: how many were dropped during it.
    pub fn recover(&mut self) -> Option<u64> {
        if !std::mem::replace(&mut self.active, false) {
            return None;
        }
        Some(std::mem::take(&mut self.dropped))
    }

    pub fn active(&self) -> bool {
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stretch_of_drops_is_announced_once_and_counted() {
        let mut s = Shedding::default();
        assert_eq!(s.recover(), None, "nothing to recover from");
        assert!(s.drop_one(), "the first drop starts a stretch");
        assert!(!s.drop_one());
        assert!(!s.drop_one());
        assert!(s.active());
        assert_eq!(s.recover(), Some(3));
        assert_eq!(s.recover(), None);
        assert!(s.drop_one(), "a new stretch");
        assert_eq!(s.recover(), Some(1));
    }
}
