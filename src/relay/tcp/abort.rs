//! Passing a failure through the relay.
//!
//! A TCP connection ends in one of two ways: FIN, "I have sent everything",
//! or RST, "this connection is aborted" (a crash, a program that closed with
//! data unread, SO_LINGER 0). They mean opposite things to the receiver: a
//! transfer that ends with FIN is complete, one that ends with RST is not.
//! A relay that answered a reset from one side by closing the other side
//! normally would make a truncated transfer look complete. So when one side
//! of a pair fails (reset, or any other error), the relay passes on what
//! that side sent before failing, then resets the other side too: close()
//! with SO_LINGER 0 sends RST instead of FIN.

use super::TcpRelay;
use super::conn_side;
use crate::net::error::NetError;
use crate::relay::fate::Dir;
use crate::trace::{Event, Side};

/// A socket of a pair failed: `side` names which (`Up`: the client's,
/// `Down`: the target's).
pub struct Failure {
    pub side: Dir,
    pub error: NetError,
}

/// The narration of a failure being passed on.
pub fn passing_on(side: Dir, error: &NetError) -> String {
    let (who, other) = match side {
        Dir::Up => ("the client", "target"),
        Dir::Down => ("the target", "client"),
    };
    let what = match error.source.raw_os_error() {
        Some(libc::ECONNRESET) => format!("{who} reset the connection (ECONNRESET)"),
        _ => format!(
            "the connection with {who} failed ({})",
            error.explanation().kind
        ),
    };
    format!("{what}: resetting the {other}'s side too, so it sees the failure")
}

impl TcpRelay<'_> {
    /// One socket of the pair failed: say so, stop reading, forget what was
    /// on its way to that socket, and let what came from it go out first.
    pub(super) fn fail(&mut self, id: u64, Failure { side, error }: Failure) {
        error.emit(self.t, conn_side(side), Some(id));
        let Some(pair) = self.pairs.get_mut(&id) else {
            return;
        };
        if pair.failed.is_some() {
            // Both sides have failed: nobody is left to pass anything to.
            if let Some(pair) = self.pairs.remove(&id) {
                pair.client.reset(self.t, self.poll.registry());
                pair.upstream.reset(self.t, self.poll.registry());
            }
            self.descriptors_freed();
            return;
        }
        pair.failed = Some(side);
        pair.discard(side.reverse());
        let text = passing_on(side, &error);
        self.t
            .emit(Side::Server, Some(id), Event::Note { text: &text });
    }

    /// Once everything the failed side sent has been written to the other
    /// side, resets that side and ends the pair.
    pub(super) fn abort_if_passed_on(&mut self, id: u64) {
        let Some(pair) = self.pairs.get_mut(&id) else {
            return;
        };
        let Some(side) = pair.failed else {
            return;
        };
        // Bytes from the failed socket travel in the direction named by it.
        let passed_on = pair.drained(side) && pair.conns(side).1.queued() == 0;
        if !passed_on {
            return;
        }
        if let Some(pair) = self.pairs.remove(&id) {
            let (failed, survivor) = match side {
                Dir::Up => (pair.client, pair.upstream),
                Dir::Down => (pair.upstream, pair.client),
            };
            failed.close(self.t, self.poll.registry());
            survivor.reset(self.t, self.poll.registry());
        }
        self.descriptors_freed();
    }
}
