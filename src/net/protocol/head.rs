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
//! The codec knows where the head ends but keeps it to itself, so the clock
//! looks for the empty line on its own (LF LF, or LF CR LF: bare LF line ends
//! are accepted too), in the bytes of the current request only: those after
//! the last frame cut. A frame is cut in the read that brings its last byte,
//! so the next request's bytes always begin inside the latest read.

use std::time::Instant;

#[derive(Debug, Default)]
pub struct HeadClock {
    /// Bytes read so far, and bytes that whole requests took.
    read: u64,
    framed: u64,
    /// When the first byte of the current head arrived; `None` between
    /// requests and once the head is complete.
    since: Option<Instant>,
    /// The head's empty line was seen: the body may still be coming.
    complete: bool,
    /// How far into an empty line the bytes so far are: 0 nothing, 1 after
    /// LF, 2 after LF CR.
    state: u8,
}

impl HeadClock {
    /// When the head now on its way began, if one is.
    pub fn since(&self) -> Option<Instant> {
        self.since
    }

    /// `data` was read, and `framed` bytes of it and what came before made
    /// whole requests.
    pub fn observe(&mut self, data: &[u8], framed: u64) {
        let start = self.read;
        self.read += data.len() as u64;
        let mut new = data;
        if framed > 0 {
            self.framed += framed;
            // The current request begins where the last one ended.
            let skip = self.framed.saturating_sub(start) as usize;
            new = data.get(skip..).unwrap_or_default();
            *self = HeadClock {
                read: self.read,
                framed: self.framed,
                ..HeadClock::default()
            };
        }
        if new.is_empty() || self.complete {
            return;
        }
        self.since.get_or_insert_with(Instant::now);
        for &b in new {
            self.state = match (self.state, b) {
                (1 | 2, b'\n') => {
                    self.complete = true;
                    self.since = None;
                    return;
                }
                (1, b'\r') => 2,
                (_, b'\n') => 1,
                _ => 0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_runs_from_the_first_byte_to_the_empty_line() {
        let mut c = HeadClock::default();
        assert!(c.since().is_none());
        c.observe(b"GET / HTTP/1.1\r\nHo", 0);
        let started = c.since().expect("running");
        c.observe(b"st: x\r", 0);
        assert_eq!(c.since(), Some(started), "more bytes do not restart it");
        c.observe(b"\n\r", 0);
        assert!(c.since().is_some());
        c.observe(b"\nbody", 0);
        assert!(c.since().is_none(), "the head is complete");
        c.observe(b"more body", 0);
        assert!(c.since().is_none(), "a body is not a head");
    }

    #[test]
    fn a_pipelined_request_starts_a_new_head() {
        let mut c = HeadClock::default();
        let one = b"GET /a HTTP/1.1\r\n\r\n";
        let mut read = one.to_vec();
        read.extend_from_slice(b"GET /b HT");
        c.observe(&read, one.len() as u64);
        assert!(c.since().is_some(), "the second head is on its way");
        c.observe(b"TP/1.1\n", 0);
        assert!(c.since().is_some());
        // The second request ends exactly at the end of a read: nothing is
        // coming.
        c.observe(b"\n", 9 + 8);
        assert!(c.since().is_none());
    }

    #[test]
    fn a_body_that_ended_a_read_is_not_a_head() {
        let mut c = HeadClock::default();
        c.observe(b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", 0);
        assert!(c.since().is_none());
        let total = b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd".len() as u64;
        c.observe(b"cd", total);
        assert!(c.since().is_none());
        c.observe(b"G", 0);
        assert!(c.since().is_some());
    }
}
