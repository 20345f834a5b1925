//! When an HTTP request head began arriving, for the server's
//! `--head-timeout`.
//!
//! A request is a head (request line, header fields, an empty line) and a
//! body. A server that waits for the head as long as bytes keep coming can be
//! held forever by a client that sends one byte a second ("slowloris"), so
//! servers bound the head as a whole: nginx's `client_header_timeout`,
//! Apache's `RequestReadTimeout header=`. The clock starts at the head's
//! first byte and stops at its empty line; the body, whose size the head
//! announced, is then only subject to the idle timeout.
//!
//! The codec says where each head ends (it cuts it as a frame of its own),
//! so a head is on its way exactly when bytes wait in the reader and no
//! message is open: the clock is told so after each read.

use std::time::Instant;

#[derive(Debug, Default)]
pub struct HeadClock {
    /// When the first byte of the current head arrived; `None` between
    /// requests and while a body arrives.
    since: Option<Instant>,
}

impl HeadClock {
    /// When the head now on its way began, if one is.
    pub fn since(&self) -> Option<Instant> {
        self.since
    }

    /// After a read: whether bytes of a head wait for the rest of it.
    pub fn observe(&mut self, in_head: bool) {
        if in_head {
            self.since.get_or_insert_with(Instant::now);
        } else {
            self.since = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_runs_while_a_head_is_unfinished() {
        let mut c = HeadClock::default();
        assert!(c.since().is_none());
        c.observe(true);
        let started = c.since().expect("running");
        c.observe(true);
        assert_eq!(c.since(), Some(started), "more bytes do not restart it");
        c.observe(false);
        assert!(c.since().is_none(), "the head is complete");
    }
}
