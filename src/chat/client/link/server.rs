//! The link's connection to the server: connecting (each address in turn,
//! narrated), reading and cutting frames, writing, and the ending — FIN
//! after the stream's end, close once both sides are done, or the loss of
//! the connection, which leaves the chat offline.

use std::net::SocketAddr;
use std::time::Instant;

use super::{CLOSE_WAIT, CONN, CONN_ID, CONNECT_WAIT, Link};
use crate::chat::client::wire::Cx;
use crate::chat::redact::{Redactor, narrate_frame};
use crate::net::conn::{self, Conn, ReadFailure, ReadRound};
use crate::net::error::NetError;
use crate::trace::{Event, Side};

impl Link<'_> {
    /// Connects to the first address that answers, narrating each attempt.
    pub fn connect(&mut self, addrs: &[SocketAddr]) -> Result<(), NetError> {
        let mut last = None;
        for (i, &addr) in addrs.iter().enumerate() {
            let deadline = Some(Instant::now() + CONNECT_WAIT);
            match crate::net::connect::handshake(
                &mut self.poll,
                self.t,
                addr,
                None,
                deadline,
                Some(CONNECT_WAIT),
            ) {
                Ok(None) => {
                    // Ctrl-C during the handshake (the chat client does
                    // not watch for it, so this is only for completeness).
                    let cause = std::io::Error::new(std::io::ErrorKind::Interrupted, "interrupted");
                    return Err(NetError::new(
                        crate::trace::explain::Action::Connect,
                        addr,
                        cause,
                    ));
                }
                Ok(Some(stream)) => {
                    let mut conn = Conn::new(CONN_ID, Side::Client, CONN, stream, addr);
                    // The password crosses this connection: keep it out of
                    // the read and write events.
                    conn.redact = Some(
                        [Box::default(), Box::default()]
                            .map(|r: Box<Redactor>| r as Box<dyn conn::Redact>),
                    );
                    self.conn = Some(conn);
                    self.chat.server = Some(addr);
                    return Ok(());
                }
                Err(e) if i + 1 < addrs.len() => {
                    e.emit(self.t, Side::Client, None);
                    self.t.emit(
                        Side::Client,
                        None,
                        Event::Note {
                            text: "trying the next address",
                        },
                    );
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            NetError::new(
                crate::trace::explain::Action::Connect,
                "the server",
                std::io::Error::other("no address"),
            )
        }))
    }

    /// No server: the chat goes on with what the cache knows.
    pub fn offline(&mut self, e: NetError) {
        let next = (e.explanation().kind == "connection_refused").then_some(
            "start the chat server (`socklab chat serve` in another terminal), or point at it with --server HOST:PORT",
        );
        e.emit_with(self.t, Side::Client, None, &e.to_string(), next);
        let why = e.to_string();
        let why = why.as_str();
        let text = format!(
            "offline: {why}. /history NAME shows past messages from the local cache; /quit leaves"
        );
        self.t.emit(
            Side::Client,
            None,
            Event::Chat {
                action: "offline",
                user: &self.user,
                text: &text,
            },
        );
        self.chat.set_offline(why);
    }

    pub(super) fn on_conn(&mut self, readable: bool, writable: bool) {
        if writable {
            self.flush();
        }
        if !readable || self.conn.is_none() {
            return;
        }
        loop {
            let Link {
                t,
                conn: Some(conn),
                reader,
                buf,
                ..
            } = self
            else {
                return;
            };
            let round = conn.read_round(t, buf, &mut |_, _, data| {
                reader.push(data);
                Ok(true)
            });
            self.frames_ready();
            match round {
                Ok(ReadRound::MoreLater) => continue,
                Ok(ReadRound::Drained) => return,
                Ok(ReadRound::PeerClosed) => return self.peer_closed(),
                Err(ReadFailure::Net(e)) => return self.failed(e),
                Err(ReadFailure::Deliver(_)) => return,
            }
        }
    }

    /// Handles every whole frame that has arrived.
    pub(super) fn frames_ready(&mut self) {
        loop {
            match self.reader.next_frame() {
                Ok(Some(frame)) => {
                    self.frames += 1;
                    narrate_frame(self.t, Side::Client, Some(CONN_ID), self.frames, &frame);
                    self.step(|wire, _, cx| wire.on_frame(cx, &frame.content));
                }
                Ok(None) => return,
                Err(e) => {
                    crate::net::protocol::emit_frame_error(self.t, Side::Client, Some(CONN_ID), &e);
                    if e.skip.is_none() {
                        self.step(|wire, _, cx| wire.on_frame_error(cx, &e));
                        return;
                    }
                }
            }
        }
    }

    /// The server sent FIN: nothing more will come.
    pub(super) fn peer_closed(&mut self) {
        if let Err(e) = self.reader.finish() {
            crate::net::protocol::emit_frame_error(self.t, Side::Client, Some(CONN_ID), &e);
        }
        if !self.chat.ended() {
            self.step(|_, chat, cx| {
                chat.lost(
                    "the server closed the connection (FIN) without ending the stream",
                    cx,
                )
            });
        }
        self.drop_conn();
    }

    pub(super) fn failed(&mut self, e: NetError) {
        e.emit(self.t, Side::Client, Some(CONN_ID));
        let why = e.to_string();
        self.step(|_, chat, cx| chat.lost(&why, cx));
        self.drop_conn();
    }

    /// Sends what is queued (and FIN, once the conversation is over), and
    /// closes when both directions are done.
    pub(super) fn drop_conn(&mut self) {
        if let Some(mut c) = self.conn.take() {
            c.finish_sending(true);
            let _ = c.flush(self.t, &mut drop);
            self.written(c.sent);
            c.close(self.t, self.poll.registry());
        }
        self.close_by = None;
    }

    pub(super) fn flush(&mut self) {
        let Some(c) = self.conn.as_mut() else { return };
        match c.flush(self.t, &mut drop) {
            Ok(()) => {
                let sent = c.sent;
                self.written(sent);
            }
            Err(e) => self.failed(e),
        }
    }

    pub(super) fn written(&mut self, sent: u64) {
        let mut cx = Cx::new(self.t, Some(CONN_ID), &self.user, 0, false);
        self.chat.written(sent, &mut cx);
    }

    /// After each turn: flush, and move the ending along.
    pub(super) fn settle(&mut self) {
        self.flush();
        let Some(c) = self.conn.as_mut() else { return };
        if self.chat.closing() && self.close_by.is_none() {
            self.close_by = Some(Instant::now() + CLOSE_WAIT);
        }
        if self.chat.ended() {
            c.finish_sending(true);
            self.flush();
        }
        if let Some(c) = self.conn.as_ref()
            && c.peer_closed
            && c.sending_done()
        {
            self.drop_conn();
        }
    }
}
