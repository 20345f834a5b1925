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
//!
//! The same loop also runs the file service (XEP-0363's HTTP side,
//! [`files::http`](super::files::http)) on its own listener: uploads into
//! slots and downloads out of them, streamed to and from disk.
//!
//! ```text
//! mod.rs     the loop: poll, accept, read
//! wire.rs    what a connection speaks (chosen by its first byte), and its state
//! pump.rs    frames → adapters → the core; deliveries encoded for their receivers
//! flush.rs   group commit, then writes; closing
//! timers.rs  login deadlines, failed-login delays, lingering closes, retention
//! ```

mod flush;
mod pump;
mod timers;
mod wire;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Poll, Token, Waker};

use super::core::{Core, SessionId};
use super::redact::Redactor;
use super::session::Config;

use super::worker::Workers;
use crate::framing::Limits;
use crate::net::conn::{self, Conn, ReadFailure, ReadRound};
use crate::net::error::NetError;
use crate::net::{Ready, interrupted, readiness, wait, would_block};
use crate::trace::explain::Action;
use crate::trace::{Event, Level, Op, Side, Tracer};

use wire::{Client, Wire, choose};

const LISTENER: Token = Token(0);
const WORKERS: Token = Token(1);
const FILES: Token = Token(2);
const FIRST_ID: u64 = 3;
/// Bytes per read.
const READ_BUF: usize = 64 * 1024;
/// Bytes waiting to be written to one session before it is judged not to
/// be reading, and closed.
pub const MAX_QUEUE: usize = 1 << 20;
/// After our FIN, how long to wait for the peer's before closing anyway.
const LINGER: Duration = Duration::from_secs(2);
/// A file-service connection with nothing to do for this long (or for
/// `--login-timeout`, if shorter) is closed.
const FILE_IDLE: Duration = Duration::from_secs(30);
/// Retry accept() this soon after running out of descriptors.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// What the server was told on the command line.
pub struct Options {
    pub config: Config,
    pub limits: Limits,
    pub login_timeout: Duration,
    /// `--archive-days`: archived messages are kept this long.
    pub archive_days: Option<u32>,
    /// The file service's listener (`--http-port`), when it runs.
    pub files: Option<(TcpListener, SocketAddr)>,
}

pub struct Server<'t> {
    poll: Poll,
    t: &'t mut Tracer,
    core: Core,
    opts: Options,
    listener: TcpListener,
    addr: SocketAddr,
    /// The file service's listener and address.
    files: Option<(TcpListener, SocketAddr)>,
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
        let mut opts = opts;
        let mut files = opts.files.take();
        if let Some((l, _)) = files.as_mut() {
            poll.registry()
                .register(l, FILES, mio::Interest::READABLE)?;
        }
        if let Some(files) = files.as_ref().and(opts.config.files.as_ref()) {
            let n = super::files::http::remove_partials(&files.dir);
            if n > 0 {
                let text = format!(
                    "removed {n} partial upload(s) left in {} by a previous run: no upload is under way at start",
                    files.dir.display()
                );
                t.emit(
                    Side::Server,
                    None,
                    Event::Chat {
                        action: "upload",
                        user: "",
                        text: &text,
                    },
                );
            }
        }
        let waker = Arc::new(Waker::new(poll.registry(), WORKERS)?);
        let workers = Workers::start(2, waker)?;
        Ok(Server {
            poll,
            t,
            core,
            opts,
            listener,
            addr,
            files,
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
                    LISTENER => self.accept_all(false),
                    FILES => self.accept_all(true),
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

    /// How long a file-service connection may be quiet: [`FILE_IDLE`], or
    /// `--login-timeout` if shorter (the same patience as for a login).
    fn file_idle(&self) -> Duration {
        self.opts.login_timeout.min(FILE_IDLE)
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

    /// Takes every waiting connection off a listener: the chat's, or the
    /// file service's.
    fn accept_all(&mut self, files: bool) {
        loop {
            let accepted = match (&self.files, files) {
                (Some((l, _)), true) => l.accept(),
                (None, true) => return,
                _ => self.listener.accept(),
            };
            match accepted {
                Ok((stream, peer)) => self.add(stream, peer, files),
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

    fn add(&mut self, mut stream: mio::net::TcpStream, peer: SocketAddr, files: bool) {
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
        // A chat connection must log in in time; a file-service one must
        // not sit idle (its deadline moves with its activity).
        let wait = if files {
            self.file_idle()
        } else {
            self.opts.login_timeout
        };
        let login_by = Instant::now() + wait;
        self.timers.push(Reverse((login_by, id)));
        let mut conn = Conn::new(id, Side::Server, Token(id as usize), stream, peer);
        // A chat stream may carry a password (PLAIN's base64, a JSON login):
        // its previews are masked, which means following every byte. The
        // file service's bytes are HTTP bodies that no login crosses; followed
        // byte by byte they moved at 50-115 MiB/s where python3's http.server
        // moves 900-1,800 (benches/files.sh). The session log still masks
        // their previews (trace::secrets).
        if !files {
            conn.redact = Some(
                [Box::default(), Box::default()].map(|r: Box<Redactor>| r as Box<dyn conn::Redact>),
            );
        }
        self.clients.insert(
            id,
            Box::new(Client {
                conn,
                wire: if files {
                    Wire::files(self.opts.limits)
                } else {
                    Wire::Unknown
                },
                frames: 0,
                paused: None,
                checking: false,
                closing: None,
                eof: false,
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
        // A file connection's bytes are handled a read at a time (the next
        // read waits for the loop's next turn): an upload's body then goes
        // to disk through one read's worth of buffer, not 16 reads' worth
        // (1 MiB) grown, filled and freed every turn, whose fresh pages
        // cost more in page faults than the copy itself.
        let files = matches!(wire, Wire::Files(..));
        let round = conn.read_round(t, &mut self.buf, &mut |conn, t, data| {
            if let Some(at) = choose(conn, t, wire, data, limits) {
                match wire {
                    Wire::Xmpp(_, r) | Wire::Json(_, r) | Wire::Files(_, r) => r.push(&data[at..]),
                    Wire::Unknown => {}
                }
            }
            Ok(!files)
        })?;
        self.pump(id);
        Ok(round)
    }
}
