//! Stdin to every connection: with `-k`, every client gets every byte.
//!
//! Each chunk of stdin is queued on every open connection (shared, with `Rc`,
//! not copied), and written as each socket has room. Clients read at their
//! own pace, so their queues differ; what a client still has to receive
//! beyond the fastest one is its lag. The rules:
//!
//! - stdin is taken while at least one client has room (a queue under
//!   [`HIGH_WATER`]): the fast clients set the pace. When none has room,
//!   stdin waits, and the reader thread with it (back-pressure);
//! - a client whose lag passes `--max-lag` has stopped reading, or cannot
//!   keep up: it is dropped, with an explanation, so that the others keep
//!   receiving and memory stays bounded (at most `HIGH_WATER` + one chunk +
//!   `--max-lag` of distinct chunks, whatever the number of clients);
//! - a client alone is never behind anyone: a slow reader just slows the
//!   pipe, as without `-k`.
//!
//! A listener with no client holds what is typed until one connects, and
//! says so once (a person typing into `listen -k` sees no other sign).
//!
//! While a chunk waits for room, nothing here runs on the loop's turns: the
//! wait ends when a queue drains or a client arrives ([`Session::on_ready`],
//! [`Session::add`]), so a blocked stdin costs O(1) per event, not O(n).

use std::io;
use std::rc::Rc;

use mio::Token;

use super::{Session, lf_to_crlf};
use crate::net::conn::{Conn, HIGH_WATER, Sending};
use crate::net::error::NetError;
use crate::net::protocol::Encoded;
use crate::net::stdin::Input;
use crate::trace::Event;
use crate::trace::explain::Action;
use crate::trace::text::bytes;

impl Session<'_> {
    /// Moves stdin chunks into the connections' queues while they have room.
    pub(super) fn pump_stdin(&mut self) -> anyhow::Result<()> {
        loop {
            if self.stdin_blocked {
                return Ok(());
            }
            // -i: no more input is taken while paced lines wait.
            if !self.paced.is_empty() {
                self.release_paced()?;
                if !self.paced.is_empty() {
                    return Ok(());
                }
            }
            if !self.stdin.as_mut().is_some_and(|s| s.has_next()) {
                return Ok(());
            }
            // Nobody to send to yet (listen waits for its first client), or
            // no room: leave the input where it is.
            let emptiest = self.open().map(backlog).min();
            if emptiest.is_none_or(|q| q >= HIGH_WATER) {
                if emptiest.is_none() {
                    self.note_held_input();
                }
                self.stdin_blocked = true;
                return Ok(());
            }
            match self.stdin.as_mut().and_then(|s| s.try_next()) {
                None => return Ok(()),
                Some(Input::Data(data)) if self.policy.interval.is_some() => {
                    self.pace(data);
                    self.release_paced()?;
                    continue;
                }
                Some(Input::Data(data)) => self.queue_input(data),
                Some(Input::End) => {
                    self.input_ended = true;
                    self.tracer.emit(self.side, None, Event::InputEnd);
                    self.arm_quit();
                    if let Some(out) = self.outbound.as_mut() {
                        let encoded = out.finish(self.tracer, self.side);
                        self.send_encoded(encoded);
                    }
                    for conn in self.conns.values_mut() {
                        let fin = self.policy.fin_on_eof;
                        // An HTTP client's FIN waits for the answers due.
                        let now = match conn.inbound.as_mut() {
                            Some(i) => i.input_ended(self.tracer, (conn.side, Some(conn.id)), fin),
                            None => Some(fin),
                        };
                        if let Some(fin) = now {
                            conn.finish_sending(fin);
                        }
                    }
                }
                Some(Input::Failed(e)) => {
                    return Err(NetError::new(Action::Stdin, "stdin", e).into());
                }
            }
            self.drop_laggards();
            let tokens: Vec<Token> = self.conns.keys().copied().collect();
            for token in tokens {
                self.on_ready(token, false, true)?;
            }
        }
    }

    /// A listener with no client holds what is typed until one connects:
    /// said once, so that the person typing knows where their lines went.
    fn note_held_input(&mut self) {
        if self.listener.is_none() || self.held_noted {
            return;
        }
        if self.stdin.as_mut().is_some_and(|s| s.next_is_data()) {
            self.held_noted = true;
            let text = "no client is connected: what you type is held, and sent to the next client that connects";
            self.tracer.emit(self.side, None, Event::Note { text });
        }
    }

    /// Queues a chunk of input on every connection: with `-C` its line
    /// ends as CR LF, with `--proto` as the protocol's wire bytes.
    pub(super) fn queue_input(&mut self, mut data: Vec<u8>) {
        if self.policy.crlf {
            data = lf_to_crlf(&data, &mut self.last_was_cr);
        }
        if let Some(out) = self.outbound.as_mut() {
            let encoded = out.encode(self.tracer, self.side, &data);
            self.send_encoded(encoded);
        } else {
            let chunk = Rc::new(data);
            for conn in self.conns.values_mut() {
                conn.queue(chunk.clone());
            }
        }
    }

    /// The connections that still take stdin.
    fn open(&self) -> impl Iterator<Item = &Conn> {
        self.conns.values().filter(|c| c.sending == Sending::Open)
    }

    /// Queues protocol-encoded input on every connection; HTTP requests go
    /// through the connection's reader, which sends each in its turn.
    fn send_encoded(&mut self, encoded: Encoded) {
        let chunk = Rc::new(encoded.bytes);
        let mut requests = Some(encoded.requests).filter(|r| !r.is_empty());
        for conn in self.conns.values_mut() {
            conn.queue(chunk.clone());
            // Typed requests exist only with --proto http, on connect's
            // one connection.
            if let (Some(inbound), Some(requests)) = (conn.inbound.as_mut(), requests.take()) {
                let at = (conn.side, Some(conn.id));
                for bytes in inbound.send(self.tracer, at, requests) {
                    conn.queue(Rc::new(bytes));
                }
            }
        }
    }

    /// Drops every client more than `--max-lag` behind the fastest.
    fn drop_laggards(&mut self) {
        let Some(max_lag) = self.policy.max_lag else {
            return;
        };
        let Some(fastest) = self.open().map(Conn::queued).min() else {
            return;
        };
        let behind: Vec<Token> = self
            .open()
            .filter(|c| c.queued() - fastest > max_lag)
            .map(|c| c.token)
            .collect();
        for token in behind {
            let Some(c) = self.conns.get(&token) else {
                continue;
            };
            let lag = bytes(max_lag as u64);
            let cause = io::Error::other(format!(
                "it had {} more waiting than the fastest client",
                bytes((c.queued() - fastest) as u64)
            ));
            let message = format!(
                "{} fell more than {lag} behind (it is not reading): dropped so the others keep receiving; raise --max-lag",
                c.peer
            );
            NetError::new(Action::Lag, c.peer, cause).emit_as(
                self.tracer,
                self.side,
                Some(c.id),
                &message,
            );
            self.close(token);
        }
    }
}

/// What a connection has still to send: its queue, and typed HTTP requests
/// waiting for their turn. Stdin is taken only while it is under
/// [`HIGH_WATER`], so neither grows without bound.
pub(super) fn backlog(c: &Conn) -> usize {
    c.queued() + c.inbound.as_ref().map_or(0, |i| i.held())
}
