//! `socklab chat serve`: the chat server's event loop.
//!
//! The same design as `socklab listen -k`: one thread, one `mio::Poll`, every
//! socket non-blocking and drained until WouldBlock. Each connection says
//! which protocol it speaks with its first byte — `<` is XMPP, `{` is the
//! JSON protocol — and from then on its reads go through that protocol's
//! framing ([`FrameReader`]) and adapter ([`xmpp`](super::xmpp),
//! [`json`](super::json)), which turn frames into calls on the
//! [`Core`]. What the core decides for *other* sessions comes back as
//! deliveries; the loop encodes each for its receiver's protocol, so a JSON
//! user and an XMPP user talk to each other.
//!
//! Limits, because anything that listens faces hostile peers: a stanza is at
//! most `--max-stanza` bytes; a connection must log in within
//! `--login-timeout`; a session that stops reading while stanzas pile up for
//! it (more than [`MAX_QUEUE`]) is closed, so it cannot make the server hold
//! memory for it; a wrong password is answered only after a delay.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Poll, Token, Waker};

use super::core::{Core, Delivery, Outgoing, SessionId};
use super::json::JsonSession;
use super::redact::Redactor;
use super::session::{Config, Ctx, Request};
use super::worker::Workers;
use super::xmpp::XmppStream;
use crate::framing::{Content, FrameError, FrameReader, JsonFraming, Limits, Proto, Role, codec};
use crate::net::conn::{self, Conn, ReadFailure, ReadRound};
use crate::net::error::NetError;
use crate::net::{Ready, interrupted, readiness, wait, would_block};
use crate::trace::explain::Action;
use crate::trace::{Event, Level, Op, Side, Tracer};

const LISTENER: Token = Token(0);
const WORKERS: Token = Token(1);
const FIRST_ID: u64 = 2;
/// Bytes per read.
const READ_BUF: usize = 64 * 1024;
/// Bytes waiting to be written to one session before it is judged not to
/// be reading, and closed.
pub const MAX_QUEUE: usize = 1 << 20;
/// After our FIN, how long to wait for the peer's before closing anyway.
const LINGER: Duration = Duration::from_secs(2);
/// Retry accept() this soon after running out of descriptors.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// What the server was told on the command line.
pub struct Options {
    pub config: Config,
    pub limits: Limits,
    pub login_timeout: Duration,
    /// `--archive-days`: archived messages are kept this long.
    pub archive_days: Option<u32>,
}

enum Wire {
    /// Nothing but whitespace has arrived yet.
    Unknown,
    Xmpp(XmppStream, FrameReader),
    Json(JsonSession, FrameReader),
}

impl Wire {
    fn name(&self) -> &'static str {
        match self {
            Wire::Unknown => "unknown",
            Wire::Xmpp(..) => "xmpp",
            Wire::Json(..) => "json",
        }
    }
}

struct Client {
    conn: Conn,
    wire: Wire,
    frames: u64,
    /// Reading waits until then (a failed login's delay), and these bytes
    /// go out at that time.
    paused: Option<(Instant, Vec<u8>)>,
    /// A password check is running on a worker: frames wait for it.
    checking: bool,
    /// We are closing: FIN sent or about to be, the rest is discarded.
    closing: Option<Instant>,
    /// The login deadline; `None` once logged in.
    login_by: Option<Instant>,
    /// Queued in `Server::dirty`.
    dirty: bool,
}

pub struct Server<'t> {
    poll: Poll,
    t: &'t mut Tracer,
    core: Core,
    opts: Options,
    listener: TcpListener,
    addr: SocketAddr,
    /// Boxed: the table is sized in powers of two, and empty slots of a
    /// big inline Client would cost as much as live ones.
    clients: HashMap<SessionId, Box<Client>>,
    next_id: u64,
    buf: Vec<u8>,
    workers: Workers,
    timers: BinaryHeap<Reverse<(Instant, SessionId)>>,
    /// Sessions with more to read than one turn took.
    more: Vec<SessionId>,
    /// accept() failed for lack of descriptors: retry at this time.
    accept_retry: Option<Instant>,
    /// Sessions with bytes to write at the end of this turn.
    dirty: Vec<SessionId>,
    /// When to look for archived messages older than `--archive-days`.
    expire_at: Option<Instant>,
}

impl<'t> Server<'t> {
    pub fn new(
        t: &'t mut Tracer,
        core: Core,
        opts: Options,
        mut listener: TcpListener,
        addr: SocketAddr,
    ) -> anyhow::Result<Server<'t>> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, mio::Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WORKERS)?);
        let workers = Workers::start(2, waker)?;
        Ok(Server {
            poll,
            t,
            core,
            opts,
            listener,
            addr,
            clients: HashMap::new(),
            next_id: FIRST_ID,
            buf: vec![0; READ_BUF],
            workers,
            timers: BinaryHeap::new(),
            more: Vec::new(),
            accept_retry: None,
            dirty: Vec::new(),
            expire_at: None,
        })
    }

    /// Serves until killed.
    pub fn run(mut self) -> anyhow::Result<()> {
        self.expire();
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = if self.more.is_empty() {
                self.next_timer()
            } else {
                Some(Duration::ZERO)
            };
            let ready = wait(&mut self.poll, &mut events, timeout)?;
            if self.t.wants(Level::Detail) {
                for e in events.iter() {
                    let conn = (e.token().0 as u64 >= FIRST_ID).then_some(e.token().0 as u64);
                    self.t.emit(Side::Server, conn, readiness(e));
                }
            }
            for Ready {
                token,
                readable,
                writable,
            } in ready
            {
                match token {
                    LISTENER => self.accept_all(),
                    WORKERS => self.verdicts(),
                    Token(id) => self.on_ready(id as u64, readable, writable),
                }
            }
            for id in std::mem::take(&mut self.more) {
                self.on_ready(id, true, false);
            }
            self.fire_timers();
            self.flush_dirty();
        }
    }

    fn next_timer(&self) -> Option<Duration> {
        let soonest = self
            .timers
            .peek()
            .map(|Reverse((at, _))| *at)
            .into_iter()
            .chain(self.accept_retry)
            .chain(self.expire_at)
            .min()?;
        Some(soonest.saturating_duration_since(Instant::now()))
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => self.add(stream, peer),
                Err(e) if would_block(&e) => {
                    self.t
                        .emit(Side::Server, None, Event::WouldBlock { op: Op::Accept });
                    return;
                }
                Err(e) if interrupted(&e) => {}
                Err(e) => {
                    // Out of descriptors (EMFILE) or a client that gave up:
                    // the queue may still hold connections, and poll() will
                    // not say so again, so try again shortly.
                    NetError::new(Action::Accept, self.addr, e).emit(self.t, Side::Server, None);
                    self.accept_retry = Some(Instant::now() + ACCEPT_RETRY);
                    return;
                }
            }
        }
    }

    fn add(&mut self, mut stream: mio::net::TcpStream, peer: SocketAddr) {
        let id = self.next_id;
        self.next_id += 1;
        let local = stream.local_addr().unwrap_or(self.addr);
        let fd = stream.as_raw_fd();
        self.t
            .emit(Side::Server, Some(id), Event::Accept { peer, local, fd });
        if let Err(e) = conn::register(self.poll.registry(), &mut stream, Token(id as usize), peer)
        {
            e.emit(self.t, Side::Server, Some(id));
            return;
        }
        let login_by = Instant::now() + self.opts.login_timeout;
        self.timers.push(Reverse((login_by, id)));
        let mut conn = Conn::new(id, Side::Server, Token(id as usize), stream, peer);
        conn.redact = Some(
            [Box::default(), Box::default()].map(|r: Box<Redactor>| r as Box<dyn conn::Redact>),
        );
        self.clients.insert(
            id,
            Box::new(Client {
                conn,
                wire: Wire::Unknown,
                frames: 0,
                paused: None,
                checking: false,
                closing: None,
                login_by: Some(login_by),
                dirty: false,
            }),
        );
    }

    fn on_ready(&mut self, id: SessionId, readable: bool, writable: bool) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let _ = writable;
        let waiting = client.paused.is_some() || client.checking;
        if readable && !waiting {
            match self.read(id) {
                Ok(ReadRound::MoreLater) => self.more.push(id),
                Ok(ReadRound::PeerClosed) => return self.peer_closed(id),
                Ok(ReadRound::Drained) => {}
                Err(ReadFailure::Net(e)) => return self.fail(id, e),
                Err(ReadFailure::Deliver(_)) => {}
            }
        }
        self.settle(id);
    }

    /// Reads what has arrived and handles every whole frame.
    fn read(&mut self, id: SessionId) -> Result<ReadRound, ReadFailure> {
        let Some(client) = self.clients.get_mut(&id) else {
            return Ok(ReadRound::Drained);
        };
        let Client { conn, wire, .. } = &mut **client;
        let limits = self.opts.limits;
        let t = &mut *self.t;
        let round = conn.read_round(t, &mut self.buf, &mut |conn, t, data| {
            if let Some(at) = choose(conn, t, wire, data, limits) {
                match wire {
                    Wire::Xmpp(_, r) | Wire::Json(_, r) => r.push(&data[at..]),
                    Wire::Unknown => {}
                }
            }
            // Stop reading while a whole stanza waits to be handled: the
            // reader's buffer stays small.
            Ok(true)
        })?;
        self.pump(id);
        Ok(round)
    }

    /// Handles the frames buffered for a session, until one needs to wait.
    fn pump(&mut self, id: SessionId) {
        let mut deliveries = Vec::new();
        loop {
            let Some(client) = self.clients.get_mut(&id) else {
                return;
            };
            if client.paused.is_some() || client.checking || client.closing.is_some() {
                break;
            }
            let mut reply = Vec::new();
            let mut requests = Vec::new();
            let mut cx = Ctx {
                t: self.t,
                core: &mut self.core,
                config: &self.opts.config,
                id,
                reply: &mut reply,
                deliveries: &mut deliveries,
                requests: &mut requests,
            };
            let more = match &mut client.wire {
                Wire::Unknown => false,
                Wire::Xmpp(stream, reader) => match reader.next_frame() {
                    Ok(Some(frame)) => {
                        client.frames += 1;
                        narrate_frame(cx.t, id, client.frames, &frame);
                        if let Content::Xml(stanza) = &frame.content {
                            stream.on_stanza(&mut cx, stanza);
                        }
                        true
                    }
                    Ok(None) => false,
                    Err(e) => {
                        emit_error(cx.t, id, &e);
                        stream.on_frame_error(&mut cx, &e);
                        false
                    }
                },
                Wire::Json(session, reader) => match reader.next_frame() {
                    Ok(Some(frame)) => {
                        client.frames += 1;
                        narrate_frame(cx.t, id, client.frames, &frame);
                        if let Content::Json(v) = &frame.content {
                            session.on_object(&mut cx, v);
                        }
                        true
                    }
                    Ok(None) => false,
                    Err(e) => {
                        emit_error(cx.t, id, &e);
                        let skip = e.skip.is_some();
                        session.on_frame_error(&mut cx, &e);
                        skip
                    }
                },
            };
            self.apply(id, reply, requests);
            // What this frame produced is encoded before the next frame is
            // handled: a `</stream:stream>` later in the same read must not
            // find the offline messages its `<presence/>` released unsent.
            self.dispatch(id, std::mem::take(&mut deliveries));
            if !more {
                break;
            }
        }
        if let Some(c) = self.clients.get_mut(&id)
            && let Wire::Xmpp(_, r) | Wire::Json(_, r) = &mut c.wire
        {
            r.release_if_idle();
        }
    }

    /// Queues a session's own replies and carries out its requests.
    fn apply(&mut self, id: SessionId, reply: Vec<u8>, requests: Vec<Request>) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if !reply.is_empty() {
            client.conn.queue(Rc::new(reply));
        }
        if client.login_by.is_some() && self.core.session(id).is_some() {
            client.login_by = None;
        }
        for request in requests {
            match request {
                Request::VerifyPlain {
                    password,
                    credentials,
                    ..
                } => {
                    client.checking = true;
                    self.workers.verify(id, password, credentials);
                }
                Request::Later(bytes, delay) => {
                    let at = Instant::now() + delay;
                    client.paused = Some((at, bytes));
                    self.timers.push(Reverse((at, id)));
                }
                Request::Close => {
                    if client.closing.is_none() {
                        let at = Instant::now()
                            + LINGER
                            + client.paused.as_ref().map_or(Duration::ZERO, |(at, _)| {
                                at.saturating_duration_since(Instant::now())
                            });
                        client.closing = Some(at);
                        self.timers.push(Reverse((at, id)));
                    }
                }
            }
        }
    }

    /// Password checks that have finished.
    fn verdicts(&mut self) {
        let verdicts: Vec<_> = self.workers.done().collect();
        for v in verdicts {
            let Some(client) = self.clients.get_mut(&v.id) else {
                continue;
            };
            client.checking = false;
            let mut reply = Vec::new();
            let mut requests = Vec::new();
            let mut deliveries = Vec::new();
            let mut cx = Ctx {
                t: self.t,
                core: &mut self.core,
                config: &self.opts.config,
                id: v.id,
                reply: &mut reply,
                deliveries: &mut deliveries,
                requests: &mut requests,
            };
            match &mut client.wire {
                Wire::Xmpp(s, _) => s.verified(&mut cx, v.ok),
                Wire::Json(s, _) => s.verified(&mut cx, v.ok),
                Wire::Unknown => {}
            }
            self.apply(v.id, reply, requests);
            self.dispatch(v.id, deliveries);
            // Frames that arrived during the check are handled now.
            self.pump(v.id);
            self.settle(v.id);
        }
    }

    /// Encodes each delivery for its receiver and queues it.
    fn dispatch(&mut self, from: SessionId, deliveries: Vec<Delivery>) {
        if deliveries.is_empty() {
            return;
        }
        let from_wire = self.clients.get(&from).map_or("", |c| c.wire.name());
        let mut touched = Vec::new();
        for Delivery { to, what } in deliveries {
            let Some(target) = self.clients.get_mut(&to) else {
                continue;
            };
            let Some(jid) = self.core.session(to).map(|s| s.jid.clone()) else {
                continue;
            };
            let bytes = match &mut target.wire {
                Wire::Xmpp(s, _) => s.encode(&what, &jid),
                Wire::Json(s, _) => s.encode(&what, &self.opts.config.domain),
                Wire::Unknown => continue,
            };
            if let Outgoing::Message(m) = &what
                && from_wire != target.wire.name()
                && !from_wire.is_empty()
            {
                let text = format!(
                    "translate for {}: {} speaks {}, so the message is re-encoded: {}",
                    m.to,
                    jid,
                    target.wire.name(),
                    String::from_utf8_lossy(&bytes).trim_end()
                );
                self.t.emit(
                    Side::Server,
                    Some(to),
                    Event::Chat {
                        action: "translate",
                        user: m.from.user().unwrap_or_default(),
                        text: &text,
                    },
                );
            }
            if !bytes.is_empty() {
                target.conn.queue(Rc::new(bytes));
                touched.push(to);
            }
        }
        for id in touched {
            self.settle(id);
        }
    }

    /// Marks a session as having something to write: it is written at the
    /// end of the loop's turn, after the database commits.
    fn settle(&mut self, id: SessionId) {
        if let Some(client) = self.clients.get_mut(&id)
            && !client.dirty
        {
            client.dirty = true;
            self.dirty.push(id);
        }
    }

    /// The end of a turn: commit what the turn wrote to the database, then
    /// send what it queued. Nothing reaches a socket before it is durable:
    /// a message whose recipient has it is in the archive, even after
    /// `kill -9`. (One commit per turn, not per message: group commit.)
    fn flush_dirty(&mut self) {
        if let Err(e) = self.core.store.commit() {
            let text =
                format!("the database could not commit: {e:#}; what this turn wrote may be lost");
            self.t.emit(
                Side::Server,
                None,
                Event::Chat {
                    action: "error",
                    user: "",
                    text: &text,
                },
            );
        }
        while let Some(id) = self.dirty.pop() {
            self.flush_one(id);
            if self.dirty.is_empty() {
                // Closing sessions may have made presence for others.
                let _ = self.core.store.commit();
            }
        }
    }

    /// Writes a session's queue and closes it if it is finished or hopeless.
    fn flush_one(&mut self, id: SessionId) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        client.dirty = false;
        if let Err(e) = client.conn.flush(self.t, &mut drop) {
            return self.fail(id, e);
        }
        if client.conn.queued() == 0 {
            self.core.offline_written(self.t, id);
        }
        if client.conn.queued() > MAX_QUEUE {
            let text = format!(
                "{} bytes of stanzas wait for this session and it is not reading them: closing it, so that it cannot make the server hold memory",
                client.conn.queued()
            );
            self.t.emit(
                Side::Server,
                Some(id),
                Event::Chat {
                    action: "drop_session",
                    user: "",
                    text: &text,
                },
            );
            return self.close(id);
        }
        if client.closing.is_some() && client.paused.is_none() {
            client.conn.finish_sending(true);
            if let Err(e) = client.conn.flush(self.t, &mut drop) {
                return self.fail(id, e);
            }
            if client.conn.peer_closed && client.conn.sending_done() {
                self.close(id);
            }
        }
    }

    /// The peer sent FIN: its stream is over. Ours ends after what is queued.
    fn peer_closed(&mut self, id: SessionId) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if let Wire::Xmpp(s, _) = &mut client.wire {
            let bytes = s.closing_bytes();
            if !bytes.is_empty() {
                client.conn.queue(Rc::new(bytes));
            }
        }
        client.conn.finish_sending(true);
        if client.closing.is_none() {
            let at = Instant::now() + LINGER;
            client.closing = Some(at);
            self.timers.push(Reverse((at, id)));
        }
        self.settle(id);
    }

    fn fail(&mut self, id: SessionId, e: NetError) {
        e.emit(self.t, Side::Server, Some(id));
        self.close(id);
    }

    /// Forgets a session: the core tells its contacts it went away.
    fn close(&mut self, id: SessionId) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        client.conn.close(self.t, self.poll.registry());
        let mut deliveries = Vec::new();
        self.core.unbind(self.t, id, &mut deliveries);
        self.dispatch(id, deliveries);
        self.more.retain(|s| *s != id);
        if self.accept_retry.is_some() {
            // A descriptor just came free.
            self.accept_retry = None;
            self.accept_all();
        }
    }

    /// Retention (`--archive-days`): deletes what has grown too old, and
    /// comes back in an hour. Committed at once: a deletion is a write like
    /// any other, and the next turn may be an hour away.
    fn expire(&mut self) {
        let Some(days) = self.opts.archive_days else {
            return;
        };
        let now = super::store::now_ms();
        let text = match super::retention::expire(&self.core.store, days, now)
            .and_then(|done| self.core.store.commit().map(|()| done))
        {
            Ok((n, cutoff)) => format!(
                "retention (--archive-days {days}): deleted {n} archived message(s) stamped before {}; the next look is in an hour",
                super::time::stamp(cutoff)
            ),
            Err(e) => format!("retention: the old archived messages could not be deleted: {e:#}"),
        };
        self.t.emit(
            Side::Server,
            None,
            Event::Chat {
                action: "expire",
                user: "",
                text: &text,
            },
        );
        self.expire_at = Some(Instant::now() + super::retention::CHECK_EVERY);
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        if self.expire_at.is_some_and(|at| at <= now) {
            self.expire();
        }
        if self.accept_retry.is_some_and(|at| at <= now) {
            self.accept_retry = None;
            self.accept_all();
        }
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(client) = self.clients.get_mut(&id) else {
                continue;
            };
            if let Some((when, _)) = &client.paused
                && *when <= now
                && let Some((_, bytes)) = client.paused.take()
            {
                client.conn.queue(Rc::new(bytes));
                self.pump(id);
                self.more.push(id);
            }
            let Some(client) = self.clients.get_mut(&id) else {
                continue;
            };
            if client.login_by.is_some_and(|at| at <= now) && client.closing.is_none() {
                client.login_by = None;
                let mut reply = Vec::new();
                let mut requests = Vec::new();
                let mut deliveries = Vec::new();
                let mut cx = Ctx {
                    t: self.t,
                    core: &mut self.core,
                    config: &self.opts.config,
                    id,
                    reply: &mut reply,
                    deliveries: &mut deliveries,
                    requests: &mut requests,
                };
                let secs = self.opts.login_timeout.as_secs();
                match &mut client.wire {
                    Wire::Xmpp(s, _) => s.timed_out(&mut cx, secs),
                    Wire::Json(s, _) => s.timed_out(&mut cx, secs),
                    Wire::Unknown => {
                        cx.narrate(
                            "timeout",
                            "",
                            &format!("nothing but silence for {secs} s: closing (--login-timeout)"),
                        );
                    }
                }
                requests.push(Request::Close);
                self.apply(id, reply, requests);
            }
            let Some(client) = self.clients.get_mut(&id) else {
                continue;
            };
            if client.closing.is_some_and(|at| at <= now) {
                self.close(id);
                continue;
            }
            self.settle(id);
        }
    }
}

/// On a connection's first bytes, picks the protocol from the first byte
/// that is not whitespace. Returns where that byte is in `data`, or `None`
/// while the protocol is still unknown (or refused).
fn choose(
    conn: &mut Conn,
    t: &mut Tracer,
    wire: &mut Wire,
    data: &[u8],
    limits: Limits,
) -> Option<usize> {
    if !matches!(wire, Wire::Unknown) {
        return Some(0);
    }
    let at = data.iter().position(|b| !b.is_ascii_whitespace())?;
    let (name, why) = match data[at] {
        b'<' => {
            let reader = FrameReader::new(
                codec(Proto::Xml, JsonFraming::Newline, Role::Server),
                limits,
            );
            *wire = Wire::Xmpp(XmppStream::default(), reader);
            (
                "xmpp",
                "its first byte is '<': this client speaks XMPP, XML stanzas on a stream",
            )
        }
        b'{' => {
            let reader = FrameReader::new(
                codec(Proto::Json, JsonFraming::Newline, Role::Server),
                limits,
            );
            *wire = Wire::Json(JsonSession::default(), reader);
            (
                "json",
                "its first byte is '{': this client speaks the JSON protocol, one object per line",
            )
        }
        other => {
            let text = format!(
                "its first byte is {:?}, neither '<' (XMPP) nor '{{' (JSON): answering with how to talk to this server, then closing",
                other as char
            );
            t.emit(
                Side::Server,
                Some(conn.id),
                Event::Chat {
                    action: "protocol",
                    user: "",
                    text: &text,
                },
            );
            conn.queue(Rc::new(REFUSAL.as_bytes().to_vec()));
            conn.finish_sending(true);
            return None;
        }
    };
    t.emit(
        Side::Server,
        Some(conn.id),
        Event::Chat {
            action: "protocol",
            user: name,
            text: why,
        },
    );
    Some(at)
}

/// What a client that speaks neither protocol is told.
const REFUSAL: &str = "This is socklab's chat server. Speak XMPP (start with <stream:stream to='localhost' ...>) or the JSON protocol, one object per line:\n{\"type\":\"login\",\"user\":\"alice\",\"password\":\"...\"}\n";

fn narrate_frame(t: &mut Tracer, id: SessionId, number: u64, frame: &crate::framing::Frame) {
    super::redact::narrate_frame(t, Side::Server, Some(id), number, frame);
}

fn emit_error(t: &mut Tracer, id: SessionId, e: &FrameError) {
    crate::net::protocol::emit_frame_error(t, Side::Server, Some(id), e);
}
