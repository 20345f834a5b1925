//! The client's event loop: one `mio::Poll` for the connection to the
//! server and for stdin (read on a thread that wakes the loop, see
//! [`StdinPump`]).
//!
//! Bytes from the server go through a [`FrameReader`] (XML stanzas or JSON
//! lines); each frame is narrated, then handed to the [`Wire`], whose
//! [`Update`](super::wire::Update)s go to the [`Chat`], which may answer
//! through the wire; the bytes all that produced are queued on the
//! connection and flushed. Typed lines take the same path from the other
//! end.
//!
//! Ending, the RFC 6120 §4.4 way: whoever closes sends its closing tag and
//! waits for the other's; then FIN; then both FINs seen, the socket closes.
//! A server that does not answer within [`CLOSE_WAIT`] is not waited for.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};

use super::chat::{Chat, Input};
use super::wire::{Cx, Wire};
use crate::chat::redact::{Redactor, narrate_frame};
use crate::framing::{FrameReader, JsonFraming, Limits, Role, codec};
use crate::net::conn::{self, Conn, ReadFailure, ReadRound};
use crate::net::error::NetError;
use crate::net::stdin::StdinPump;
use crate::net::{Ready, readiness, wait};
use crate::trace::{Event, Level, Side, Tracer};

/// The connection's token (the one `handshake` registered it with).
const CONN: Token = Token(0);
const STDIN: Token = Token(1);
/// Our connection's number in the events.
const CONN_ID: u64 = 1;
/// How long to wait for the server's goodbye.
pub const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for the TCP handshake.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

pub struct Link<'t> {
    t: &'t mut Tracer,
    poll: Poll,
    conn: Option<Conn>,
    reader: FrameReader,
    wire: Box<dyn Wire>,
    chat: Chat,
    user: String,
    stdin: Option<StdinPump>,
    /// The part of a line typed so far.
    partial: Vec<u8>,
    frames: u64,
    close_by: Option<Instant>,
    buf: Vec<u8>,
}

impl<'t> Link<'t> {
    pub fn new(
        t: &'t mut Tracer,
        chat: Chat,
        wire: Box<dyn Wire>,
        user: &str,
    ) -> anyhow::Result<Link<'t>> {
        let reader = FrameReader::new(
            codec(wire.proto(), JsonFraming::Newline, Role::Client),
            Limits::default(),
        );
        Ok(Link {
            t,
            poll: Poll::new()?,
            conn: None,
            reader,
            wire,
            chat,
            user: user.to_string(),
            stdin: None,
            partial: Vec::new(),
            frames: 0,
            close_by: None,
            buf: vec![0; 64 * 1024],
        })
    }

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
                Ok(stream) => {
                    let mut conn = Conn::new(CONN_ID, Side::Client, CONN, stream, addr);
                    // The password crosses this connection: keep it out of
                    // the read and write events.
                    conn.redact = Some(
                        [Box::default(), Box::default()]
                            .map(|r: Box<Redactor>| r as Box<dyn conn::Redact>),
                    );
                    self.conn = Some(conn);
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
        e.emit(self.t, Side::Client, None);
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

    /// Starts reading stdin on its thread.
    pub fn read_stdin(&mut self) -> anyhow::Result<()> {
        let waker = Arc::new(Waker::new(self.poll.registry(), STDIN)?);
        self.stdin = Some(StdinPump::spawn(waker)?);
        Ok(())
    }

    /// Runs the conversation to its end; the result is the chat's.
    pub fn run(mut self) -> anyhow::Result<()> {
        if self.conn.is_some() {
            self.step(|wire, _, cx| wire.start(cx));
        }
        let mut events = Events::with_capacity(16);
        loop {
            self.settle();
            if self.conn.is_none()
                && !(self.chat.wants_input() && self.stdin.as_ref().is_some_and(|s| !s.ended()))
            {
                break;
            }
            let timeout = self
                .close_by
                .map(|at| at.saturating_duration_since(Instant::now()));
            let ready = wait(&mut self.poll, &mut events, timeout)?;
            if self.t.wants(Level::Detail) {
                for e in events.iter() {
                    self.t.emit(Side::Client, Some(CONN_ID), readiness(e));
                }
            }
            for Ready {
                token,
                readable,
                writable,
            } in ready
            {
                match token {
                    CONN => self.on_conn(readable, writable),
                    STDIN => self.on_stdin(),
                    _ => {}
                }
            }
            if self.close_by.is_some_and(|at| at <= Instant::now()) {
                self.close_by = None;
                let text = format!(
                    "no goodbye from the server within {} s: closing the socket anyway",
                    CLOSE_WAIT.as_secs()
                );
                self.narrate("close", &text);
                self.drop_conn();
            }
        }
        let mut cx = Cx {
            t: self.t,
            conn: None,
            user: &self.user,
            out: Vec::new(),
            updates: Vec::new(),
            base: 0,
        };
        self.chat.result(&mut cx)
    }

    fn narrate(&mut self, action: &str, text: &str) {
        self.t.emit(
            Side::Client,
            Some(CONN_ID),
            Event::Chat {
                action,
                user: &self.user,
                text,
            },
        );
    }

    /// Runs `f` with a context, lets the chat handle every update it
    /// produced, and queues the bytes for the server.
    fn step(&mut self, f: impl FnOnce(&mut dyn Wire, &mut Chat, &mut Cx)) {
        let Link {
            t,
            conn,
            wire,
            chat,
            user,
            ..
        } = self;
        let base = conn.as_ref().map_or(0, |c| c.sent + c.queued() as u64);
        let id = conn.as_ref().map(|_| CONN_ID);
        let mut cx = Cx {
            t,
            conn: id,
            user,
            out: Vec::new(),
            updates: Vec::new(),
            base,
        };
        f(wire.as_mut(), chat, &mut cx);
        while !cx.updates.is_empty() {
            for u in std::mem::take(&mut cx.updates) {
                chat.on_update(u, wire.as_mut(), &mut cx);
            }
        }
        chat.pump(wire.as_mut(), &mut cx);
        let out = std::mem::take(&mut cx.out);
        if let Some(c) = conn {
            c.queue(Rc::new(out));
        }
        // Written at once, so a message is in the cache as soon as the
        // socket has taken it (and `/history` on the next line shows it).
        self.flush();
    }

    fn on_conn(&mut self, readable: bool, writable: bool) {
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
    fn frames_ready(&mut self) {
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
    fn peer_closed(&mut self) {
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

    fn failed(&mut self, e: NetError) {
        e.emit(self.t, Side::Client, Some(CONN_ID));
        let why = e.to_string();
        self.step(|_, chat, cx| chat.lost(&why, cx));
        self.drop_conn();
    }

    /// Sends what is queued (and FIN, once the conversation is over), and
    /// closes when both directions are done.
    fn drop_conn(&mut self) {
        if let Some(mut c) = self.conn.take() {
            c.finish_sending(true);
            let _ = c.flush(self.t, &mut drop);
            self.written(c.sent);
            c.close(self.t, self.poll.registry());
        }
        self.close_by = None;
    }

    fn flush(&mut self) {
        let Some(c) = self.conn.as_mut() else { return };
        match c.flush(self.t, &mut drop) {
            Ok(()) => {
                let sent = c.sent;
                self.written(sent);
            }
            Err(e) => self.failed(e),
        }
    }

    fn written(&mut self, sent: u64) {
        let mut cx = Cx {
            t: self.t,
            conn: Some(CONN_ID),
            user: &self.user,
            out: Vec::new(),
            updates: Vec::new(),
            base: 0,
        };
        self.chat.written(sent, &mut cx);
    }

    /// After each turn: flush, and move the ending along.
    fn settle(&mut self) {
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

    fn on_stdin(&mut self) {
        while let Some(input) = self.stdin.as_mut().and_then(StdinPump::try_next) {
            match input {
                crate::net::stdin::Input::Data(data) => {
                    self.partial.extend_from_slice(&data);
                    if let Some(s) = &self.stdin {
                        s.recycle(data);
                    }
                    while let Some(at) = self.partial.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = self.partial.drain(..=at).collect();
                        self.line(&line[..line.len() - 1]);
                    }
                }
                crate::net::stdin::Input::End => {
                    self.t.emit(Side::Client, None, Event::InputEnd);
                    if !self.partial.is_empty() {
                        let line = std::mem::take(&mut self.partial);
                        self.line(&line);
                    }
                    self.step(|wire, chat, cx| chat.on_input(Input::End, wire, cx));
                }
                crate::net::stdin::Input::Failed(e) => {
                    let text = format!("cannot read stdin: {e}; leaving as at end of input");
                    self.narrate("notice", &text);
                    self.step(|wire, chat, cx| chat.on_input(Input::End, wire, cx));
                }
            }
        }
    }

    fn line(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_suffix('\r').unwrap_or(&text).to_string();
        self.step(|wire, chat, cx| chat.on_input(Input::Line(text), wire, cx));
    }
}
