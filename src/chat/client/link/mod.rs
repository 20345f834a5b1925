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
//! `server.rs` has the connection's side of all this; `transfers.rs` the
//! attachments' HTTP connections, which share the loop (tokens from 2 on).

mod server;
mod transfers;

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};

use super::chat::{Chat, Input, Mode, Phase};
use super::wire::{Cx, Update, Wire};
use crate::framing::{FrameReader, JsonFraming, Limits, Role, codec};
use crate::net::conn::Conn;
use crate::net::stdin::StdinPump;
use crate::net::{Ready, readiness, wait};
use crate::trace::{Event, Level, Side, Tracer};

/// The connection's token (the one `handshake` registered it with).
const CONN: Token = Token(0);
const STDIN: Token = Token(1);
/// The first attachment transfer's token; each has its own.
const FIRST_TRANSFER: usize = 2;
/// Our connection's number in the events.
const CONN_ID: u64 = 1;
/// How long to wait for the server's goodbye.
pub const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for the TCP handshake.
const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// How long the login may take once connected: a peer that is not a chat
/// server (`socklab listen 5222`) never answers our header.
const LOGIN_WAIT: Duration = Duration::from_secs(30);

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
    login_by: Option<Instant>,
    buf: Vec<u8>,
    /// `-q` in an interactive chat: news goes to stdout (see `Cx::news`).
    news: bool,
    /// Attachments' HTTP connections under way.
    transfers: Vec<crate::chat::client::attach::Transfer>,
    /// The token (and connection number) for the next transfer.
    next_token: usize,
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
        let news = t.screen_is_quiet() && matches!(chat.mode, Mode::Interactive);
        Ok(Link {
            news,
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
            login_by: None,
            buf: vec![0; 64 * 1024],
            transfers: Vec::new(),
            next_token: FIRST_TRANSFER,
        })
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
            self.login_by = Some(Instant::now() + LOGIN_WAIT);
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
                .into_iter()
                .chain(self.login_by)
                .chain(self.transfers.iter().map(|x| x.deadline()))
                .min()
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
                    other => self.on_transfer(other, readable, writable),
                }
            }
            self.deadlines();
            self.transfer_deadlines();
        }
        self.abandon_transfers();
        let mut cx = Cx::new(self.t, None, &self.user, 0, false);
        self.chat.result(&mut cx)
    }

    /// A server that does not log us in, or does not say goodbye, in time.
    fn deadlines(&mut self) {
        let now = Instant::now();
        if self.chat.phase != Phase::Connecting {
            self.login_by = None;
        }
        if self.login_by.is_some_and(|at| at <= now) {
            self.login_by = None;
            let why = format!(
                "no login within {} s of connecting: is the server a chat server (socklab chat serve, Prosody)? Its first bytes would show in the read events",
                LOGIN_WAIT.as_secs()
            );
            self.narrate("timeout", &why);
            self.step(|wire, chat, cx| chat.on_update(Update::Failed(why), wire, cx));
        }
        if self.close_by.is_some_and(|at| at <= now) {
            self.close_by = None;
            let text = format!(
                "no goodbye from the server within {} s: closing the socket anyway",
                CLOSE_WAIT.as_secs()
            );
            self.narrate("close", &text);
            self.drop_conn();
        }
    }

    fn narrate(&mut self, action: &str, text: &str) {
        if self.news && action == "notice" {
            self.chat.print(text);
        }
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
            news,
            ..
        } = self;
        let base = conn.as_ref().map_or(0, |c| c.sent + c.queued() as u64);
        let id = conn.as_ref().map(|_| CONN_ID);
        let mut cx = Cx::new(t, id, user, base, *news);
        f(wire.as_mut(), chat, &mut cx);
        while !cx.updates.is_empty() {
            for u in std::mem::take(&mut cx.updates) {
                chat.on_update(u, wire.as_mut(), &mut cx);
            }
        }
        chat.pump(wire.as_mut(), &mut cx);
        for line in cx.news.take().unwrap_or_default() {
            chat.print(&line);
        }
        let out = std::mem::take(&mut cx.out);
        if let Some(c) = conn {
            c.queue(Rc::new(out));
        }
        // Written at once, so a message is in the cache as soon as the
        // socket has taken it (and `/history` on the next line shows it).
        self.flush();
        self.start_transfers();
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
