//! Deadlines: a connection silent too long (`--idle-timeout`, or `-w` as nc
//! means it), an HTTP request head too slow (`--head-timeout`), a peer that
//! does not close after an error (the lingering close), and the whole
//! session's end some time after stdin ended (`--quit-after`, nc's `-q`).
//!
//! poll() sleeps until the soonest deadline. Finding it by looking at every
//! connection on every turn of the loop would make each event cost O(n) with
//! n connections, so deadlines live in a min-heap of (deadline, token), as in
//! libevent or nginx's timer tree. It is kept lazily: a connection's activity
//! moves its idle deadline later without touching the heap; when an entry
//! comes due, the connection's true deadline is computed, and the entry is
//! put back at that time if it has not passed. A connection has at most one
//! live entry ([`Conn::armed`]); entries left behind (a closed connection, a
//! deadline replaced by an earlier one) are skipped when they come out, and
//! the heap is rebuilt if they ever outnumber the live ones.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::rc::Rc;
use std::time::Instant;

use mio::Token;

use super::{Policy, Session};
use crate::framing::http;
use crate::net::conn::{Conn, LINGER};
use crate::net::error::{NetContext, NetError};
use crate::net::protocol::Inbound;
use crate::trace::Event;
use crate::trace::explain::Action;

#[derive(Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, Token)>>,
}

impl Timers {
    pub fn soonest(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    fn push(&mut self, at: Instant, token: Token) {
        self.heap.push(Reverse((at, token)));
    }

    /// The next entry whose time has come.
    fn pop_due(&mut self, now: Instant) -> Option<(Instant, Token)> {
        if self.soonest()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(entry)| entry)
    }
}

/// Which of a connection's deadlines it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Due {
    Linger,
    Head,
    Idle,
}

/// A connection's soonest deadline under the policy.
fn deadline(policy: &Policy, c: &Conn) -> Option<(Instant, Due)> {
    let head = policy
        .head_timeout
        .zip(c.inbound.as_deref().and_then(Inbound::head_since))
        .and_then(|(limit, since)| Some((since.checked_add(limit)?, Due::Head)));
    let idle = policy
        .idle_timeout
        .and_then(|limit| Some((c.last_activity.checked_add(limit)?, Due::Idle)));
    let linger = c.close_by.map(|at| (at, Due::Linger));
    [linger, head, idle]
        .into_iter()
        .flatten()
        .min_by_key(|d| d.0)
}

impl Session<'_> {
    /// Makes sure the heap holds the connection's soonest deadline. O(1)
    /// when nothing moved earlier, O(log n) otherwise.
    pub(super) fn schedule(&mut self, token: Token) {
        let Some(c) = self.conns.get_mut(&token) else {
            return;
        };
        let Some((at, _)) = deadline(&self.policy, c) else {
            return;
        };
        if c.armed.is_some_and(|armed| armed <= at) {
            return;
        }
        c.armed = Some(at);
        self.timers.push(at, token);
        if self.timers.heap.len() > 2 * self.conns.len() + 64 {
            let live = self.conns.iter().filter_map(|(t, c)| Some((c.armed?, *t)));
            self.timers.heap = live.map(Reverse).collect();
        }
    }

    /// Acts on every deadline that has passed.
    pub(super) fn expire(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        while let Some((at, token)) = self.timers.pop_due(now) {
            let Some(c) = self.conns.get_mut(&token) else {
                continue;
            };
            if c.armed != Some(at) {
                continue;
            }
            c.armed = None;
            match deadline(&self.policy, c) {
                Some((at, Due::Linger)) if at <= now => self.linger_expired(token)?,
                Some((at, Due::Head)) if at <= now => self.head_expired(token)?,
                Some((at, Due::Idle)) if at <= now => self.idle_expired(token)?,
                _ => {}
            }
            self.schedule(token);
        }
        Ok(())
    }

    fn linger_expired(&mut self, token: Token) -> anyhow::Result<()> {
        let id = self.conns.get(&token).map(|c| c.id);
        let millis = LINGER.as_millis() as u64;
        let what = "the peer did not close after the error; closing anyway (it may see a reset)";
        self.tracer
            .emit(self.side, id, Event::Timeout { what, millis });
        self.close(token);
        if !self.policy.keep_open {
            return Err(crate::exit::Silent(crate::exit::EXIT_FAILURE).into());
        }
        Ok(())
    }

    /// A request head is still incomplete: answer 408 and close, as nginx
    /// and Apache do.
    fn head_expired(&mut self, token: Token) -> anyhow::Result<()> {
        let Some(conn) = self.conns.get_mut(&token) else {
            return Ok(());
        };
        let millis = self.policy.head_timeout.unwrap_or_default().as_millis() as u64;
        let what =
            "the request head did not arrive in time: --head-timeout counts from its first byte";
        self.tracer
            .emit(self.side, Some(conn.id), Event::Timeout { what, millis });
        let cause = io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{millis} ms after its first byte"),
        );
        let message = format!(
            "{} sent only part of a request head in {millis} ms: answering 408 Request Timeout and closing",
            conn.peer
        );
        NetError::new(Action::Head, conn.peer, cause).emit_as(
            self.tracer,
            self.side,
            Some(conn.id),
            &message,
        );
        let body = format!(
            "socklab: the request head did not arrive within {millis} ms of its first byte\n"
        );
        let reply = http::response(
            408,
            "Request Timeout",
            "text/plain; charset=utf-8",
            body.as_bytes(),
            true,
        );
        conn.queue(Rc::new(reply));
        conn.linger_close();
        // The socket has long been writable: edge-triggered poll() will not
        // say so again, so the answer goes out now.
        self.on_ready(token, false, true)?;
        Ok(())
    }

    fn idle_expired(&mut self, token: Token) -> anyhow::Result<()> {
        let Some(conn) = self.conns.get(&token) else {
            return Ok(());
        };
        let millis = self.policy.idle_timeout.unwrap_or_default().as_millis() as u64;
        if self.policy.idle_ends {
            // nc -w: an idle connection is over, not failed (nc exits 0).
            let what = "no data either way (-w): the conversation is over, closing as nc -w does (--idle-timeout makes it an error)";
            self.tracer
                .emit(self.side, Some(conn.id), Event::Timeout { what, millis });
            self.close(token);
            return Ok(());
        }
        let between_requests = self.policy.http_server
            && conn.queued() == 0
            && !conn.inbound.as_deref().is_some_and(Inbound::mid_frame);
        if between_requests {
            // Closing an idle keep-alive connection is routine for an HTTP
            // server: the client opens a new one when it has a request.
            let what =
                "keep-alive connection idle (--idle-timeout): closing it, as HTTP servers do";
            self.tracer
                .emit(self.side, Some(conn.id), Event::Timeout { what, millis });
            self.close(token);
            return Ok(());
        }
        self.tracer.emit(
            self.side,
            Some(conn.id),
            Event::Timeout {
                what: "no data either way (--idle-timeout)",
                millis,
            },
        );
        let cause = io::Error::new(io::ErrorKind::TimedOut, format!("silent for {millis} ms"));
        let err = NetError::new(Action::Idle, conn.peer, cause);
        self.fail(token, err)?;
        Ok(())
    }
}

impl Session<'_> {
    /// Stdin ended: with `--quit-after`, the session has that long left.
    pub(super) fn arm_quit(&mut self) {
        if let Some(after) = self.policy.quit_after {
            self.quit_at = Instant::now().checked_add(after);
        }
    }

    /// Whether `--quit-after` has run out. Data still queued for a peer
    /// goes out first: the deadline moves on while any is left, so what
    /// was read from stdin is never cut off.
    pub(super) fn quit_due(&mut self) -> bool {
        let Some(at) = self.quit_at else {
            return false;
        };
        let now = Instant::now();
        if at > now {
            return false;
        }
        // A listener still waiting for its client: the time starts with it
        // (see Session::add), as nc -l reads stdin only once connected.
        if self.conns.is_empty() && self.listener.is_some() {
            self.quit_at = None;
            return false;
        }
        if self.conns.values().any(|c| c.queued() > 0) {
            self.quit_at = now.checked_add(QUIT_RECHECK);
            return false;
        }
        true
    }

    /// Closes every connection and ends the session (exit 0, as nc -q).
    pub(super) fn quit(mut self) -> anyhow::Result<()> {
        let millis = self.policy.quit_after.unwrap_or_default().as_millis() as u64;
        let what = "stdin ended this long ago (--quit-after, nc's -q): closing without waiting for the peer";
        self.tracer
            .emit(self.side, None, Event::Timeout { what, millis });
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            self.close(token);
        }
        self.stdout
            .finish()
            .or_else(super::quiet_if_gone)
            .net(Action::Stdout, "stdout")?;
        Ok(())
    }
}

/// How soon `--quit-after` looks again while data is still queued.
const QUIT_RECHECK: std::time::Duration = std::time::Duration::from_millis(20);
