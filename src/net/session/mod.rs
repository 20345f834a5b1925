//! The event loop of `listen` and `connect`: one thread, one `mio::Poll`, any
//! number of connections, stdin and stdout.
//!
//! Each turn of the loop asks poll() which sockets are ready, then for each one
//! does what its readiness allows until the kernel says WouldBlock: accept the
//! waiting clients ([`accept`]), write what is queued, read what has arrived.
//! Nothing blocks except poll() itself (and writing stdout, which is where the
//! data is going anyway), so an idle session costs no CPU, and the work of a
//! turn is the work of the sockets that are ready: nothing scans every
//! connection, so 10,000 quiet clients do not slow down the busy one.
//!
//! Who gets which bytes:
//! - stdin chunks are queued on every open connection ([`broadcast`]: with
//!   `-k`, every client gets every line, as ncat does); stdin is taken while
//!   some client has room, and a client that falls `--max-lag` behind the
//!   others is dropped, so memory stays bounded and the fast are not held back
//!   by the slow;
//! - bytes read from a connection go to stdout, or back to the same
//!   connection (`--echo`, an HTTP server's answers), or nowhere
//!   (`--send-only`). A connection whose replies pile up past [`HIGH_WATER`]
//!   is not read until they drain.
//!
//! When a connection is finished is a policy ([`Policy`]): by default our
//! input ending sends FIN and we keep reading until the peer's FIN. When the
//! peer's FIN comes first and stdin is a terminal, the conversation is over
//! for the person typing; when stdin is a pipe or file we keep sending it, as
//! the peer may only have half-closed. With `-k`, a client's FIN ends its
//! part of the broadcast: what is queued goes out, then FIN, then close, so a
//! client that comes and goes does not keep its descriptor.
//!
//! Deadlines (idle, an HTTP head, a lingering close, `--quit-after`) are in
//! [`deadlines`]; `-i` (one line of stdin per interval) is in [`pace`].

mod accept;
mod broadcast;
mod deadlines;
mod pace;

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, IsTerminal};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Poll, Token, Waker};

use super::conn::{self, Conn, HIGH_WATER, ReadFailure, ReadRound};
use super::error::{NetContext, NetError};
use super::output::{Output, reader_gone};
use super::protocol::{Framing, Inbound, InboundError, Outbound, Reply};
use super::stdin::StdinPump;
use super::{Ready, readiness, wait};
use crate::cli::StreamArgs;
use crate::trace::explain::Action;
use crate::trace::{Event, Level, Side, Tracer};
use deadlines::Timers;

const LISTENER: Token = Token(0);
const STDIN: Token = Token(1);
const FIRST_CONN: usize = 2;
/// Bytes per read from a socket.
const READ_BUF: usize = 256 * 1024;

/// What to do with the data and the two directions of each connection.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub keep_open: bool,
    pub max_conns: Option<usize>,
    pub echo: bool,
    pub fin_on_eof: bool,
    pub send_only: bool,
    pub recv_only: bool,
    pub crlf: bool,
    pub idle_timeout: Option<Duration>,
    /// The idle timeout came from `-w`: as in nc, it ends the conversation
    /// (exit 0) rather than failing it.
    pub idle_ends: bool,
    /// `--quit-after`: after stdin ends, how long to wait for the peer.
    pub quit_after: Option<Duration>,
    /// `-i`: send stdin one line at a time, this far apart.
    pub interval: Option<Duration>,
    /// `listen --proto http`: answer each request.
    pub http_server: bool,
    /// An HTTP server: how long a request head may take from its first byte.
    pub head_timeout: Option<Duration>,
    /// `-k`: how far (bytes) a client may fall behind the fastest one
    /// before it is dropped from the broadcast of stdin.
    pub max_lag: Option<usize>,
}

impl Policy {
    pub fn from_stream(args: &StreamArgs) -> Policy {
        Policy {
            fin_on_eof: !args.no_shutdown,
            send_only: args.send_only,
            recv_only: args.recv_only,
            crlf: args.crlf,
            // -w is nc's: a connect timeout and an idle one; --idle-timeout
            // alone is the idle part, and an error.
            idle_timeout: args.idle_timeout.or(args.timeout),
            idle_ends: args.idle_timeout.is_none() && args.timeout.is_some(),
            quit_after: args.quit_after,
            interval: args.interval,
            ..Policy::default()
        }
    }

    /// Whether each connection is answered by socklab itself (`--echo`, an
    /// HTTP server) rather than fed from stdin.
    fn answers(&self) -> bool {
        self.echo || self.http_server
    }

    fn reads_stdin(&self) -> bool {
        !self.answers() && !self.recv_only
    }
}

pub struct Session<'t> {
    poll: Poll,
    tracer: &'t mut Tracer,
    side: Side,
    policy: Policy,
    conns: BTreeMap<Token, Conn>,
    listener: Option<(TcpListener, SocketAddr)>,
    accepted: usize,
    /// accept() failed for want of descriptors (or another lasting reason):
    /// when to try again, and whether that was already narrated.
    accept_retry: Option<Instant>,
    accept_failing: bool,
    /// RLIMIT_NOFILE, to name it when it is reached.
    descriptor_limit: Option<u64>,
    stdin: Option<StdinPump>,
    /// A chunk of stdin waits and no client has room for it: nothing to do
    /// until a queue drains or a client arrives.
    stdin_blocked: bool,
    /// Typed input was held for want of a client, and the narration said so.
    held_noted: bool,
    input_ended: bool,
    stdin_is_terminal: bool,
    stdout: Output,
    last_was_cr: bool,
    next_token: usize,
    /// Connections that still had data to read when their turn ended.
    more: Vec<Token>,
    /// Each connection's soonest deadline.
    timers: Timers,
    buf: Vec<u8>,
    /// `--proto`: frames cut from each connection's reads.
    framing: Option<Framing>,
    /// `--proto`: what is typed, as the protocol's wire bytes.
    outbound: Option<Outbound>,
    /// `--quit-after`: when to close everything, once stdin has ended.
    quit_at: Option<Instant>,
    /// `-i`: lines of stdin not yet sent, and when the next may go.
    paced: VecDeque<Vec<u8>>,
    pace_next: Instant,
}

impl<'t> Session<'t> {
    pub fn new(
        poll: Poll,
        tracer: &'t mut Tracer,
        side: Side,
        mut policy: Policy,
        framing: Option<Framing>,
    ) -> anyhow::Result<Session<'t>> {
        policy.http_server = framing.as_ref().is_some_and(Framing::answers_requests);
        let stdin = if policy.reads_stdin() {
            let waker = Arc::new(Waker::new(poll.registry(), STDIN)?);
            Some(StdinPump::spawn(waker)?)
        } else {
            None
        };
        Ok(Session {
            poll,
            tracer,
            side,
            policy,
            conns: BTreeMap::new(),
            listener: None,
            accepted: 0,
            accept_retry: None,
            accept_failing: false,
            descriptor_limit: None,
            stdin,
            stdin_blocked: false,
            held_noted: false,
            input_ended: false,
            stdin_is_terminal: io::stdin().is_terminal(),
            stdout: Output::stdout()?,
            last_was_cr: false,
            next_token: FIRST_CONN,
            more: Vec::new(),
            timers: Timers::default(),
            buf: vec![0; READ_BUF],
            outbound: framing.as_ref().map(Framing::outbound),
            framing,
            quit_at: None,
            paced: VecDeque::new(),
            pace_next: Instant::now(),
        })
    }

    pub fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// Serves clients of this listening socket.
    pub fn listen(&mut self, mut listener: TcpListener, addr: SocketAddr) -> Result<(), NetError> {
        self.registry()
            .register(&mut listener, LISTENER, mio::Interest::READABLE)
            .net(Action::Listen, addr)?;
        self.listener = Some((listener, addr));
        self.descriptor_limit = accept::descriptor_limit();
        Ok(())
    }

    /// Adds a connection whose handshake is complete.
    pub fn add(&mut self, mut stream: TcpStream, peer: SocketAddr) -> Result<(), NetError> {
        let token = Token(self.next_token);
        self.next_token += 1;
        conn::register(self.poll.registry(), &mut stream, token, peer)?;
        self.accepted += 1;
        let mut conn = Conn::new(self.accepted as u64, self.side, token, stream, peer);
        conn.inbound = self.framing.as_ref().map(|f| Box::new(f.inbound()));
        // Nothing will ever be queued from stdin for this connection: it has
        // ended already, or (--recv-only) it is not read. A connection that
        // socklab answers itself (--echo, an HTTP server) stays open to reply.
        let no_input = self.input_ended || (!self.policy.reads_stdin() && !self.policy.answers());
        if no_input {
            conn.finish_sending(self.policy.fin_on_eof && !self.policy.recv_only);
        }
        if self.input_ended && self.quit_at.is_none() {
            self.arm_quit();
        }
        self.conns.insert(token, conn);
        // Its queue is empty: room for stdin that waited.
        self.stdin_blocked = false;
        self.schedule(token);
        Ok(())
    }

    /// Runs until every connection is finished (forever with `-k`).
    pub fn run(mut self) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(256);
        if self.listener.is_some() {
            self.accept_all()?;
        }
        self.pump_stdin()?;
        loop {
            if self.conns.is_empty() && self.listener.is_none() {
                self.stdout
                    .finish()
                    .or_else(quiet_if_gone)
                    .net(Action::Stdout, "stdout")?;
                return Ok(());
            }
            let timeout = if self.more.is_empty() {
                self.next_wake()
                    .map(|at| at.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            let ready = wait(&mut self.poll, &mut events, timeout)?;
            if self.tracer.wants(Level::Detail) {
                for e in events.iter() {
                    let conn = self.conns.get(&e.token()).map(|c| c.id);
                    self.tracer.emit(self.side, conn, readiness(e));
                }
            }
            for Ready {
                token,
                readable,
                writable,
            } in ready
            {
                match token {
                    crate::interrupt::TOKEN => return Err(crate::interrupt::Interrupted.into()),
                    LISTENER => self.accept_all()?,
                    STDIN => self.pump_stdin()?,
                    token => {
                        if self.on_ready(token, readable, writable)? == Flow::Stop {
                            return Ok(());
                        }
                    }
                }
            }
            for token in std::mem::take(&mut self.more) {
                let Some(conn) = self.conns.get_mut(&token) else {
                    continue;
                };
                conn.more = false;
                if self.on_ready(token, true, false)? == Flow::Stop {
                    return Ok(());
                }
            }
            // Writes may have made room in the queues for more input.
            self.pump_stdin()?;
            self.expire()?;
            if self.quit_due() {
                return self.quit();
            }
            self.retry_accept()?;
        }
    }

    /// When the loop must wake up even if no socket is ready.
    fn next_wake(&self) -> Option<Instant> {
        let pace = (!self.paced.is_empty()).then_some(self.pace_next);
        [self.timers.soonest(), self.accept_retry, self.quit_at, pace]
            .into_iter()
            .flatten()
            .min()
    }

    /// Handles readiness of one connection.
    fn on_ready(&mut self, token: Token, readable: bool, writable: bool) -> anyhow::Result<Flow> {
        let Some(conn) = self.conns.get_mut(&token) else {
            return Ok(Flow::Go);
        };
        let mut result = Ok(());
        if writable {
            let stdin = &self.stdin;
            result = conn.flush(self.tracer, &mut |buf| {
                if let Some(s) = stdin {
                    s.recycle(buf)
                }
            });
            if result.is_ok() {
                if conn.sending == conn::Sending::Open && conn.queued() < HIGH_WATER {
                    self.stdin_blocked = false;
                }
                if conn.paused && conn.queued() < HIGH_WATER / 2 {
                    conn.paused = false;
                    if !std::mem::replace(&mut conn.more, true) {
                        self.more.push(token);
                    }
                }
            }
        }
        if result.is_ok() && readable && !conn.paused {
            match self.read(token) {
                Ok(()) => {
                    // Reading may have released typed requests (an HTTP
                    // answer came): room for more input.
                    if self.conns.get(&token).is_some_and(|c| {
                        c.sending == conn::Sending::Open && broadcast::backlog(c) < HIGH_WATER
                    }) {
                        self.stdin_blocked = false;
                    }
                }
                Err(ReadFailure::Net(e)) => result = Err(e),
                Err(ReadFailure::Deliver(e)) if reader_gone(&e) => {
                    self.tracer.emit(
                        self.side,
                        None,
                        Event::Note {
                            text: "stdout was closed by its reader: stopping",
                        },
                    );
                    return Ok(Flow::Stop);
                }
                Err(ReadFailure::Deliver(e)) => {
                    return Err(NetError::new(Action::Stdout, "stdout", e).into());
                }
            }
        }
        if let Err(e) = result {
            return self.fail(token, e);
        }
        if self.finished(token) {
            let failed = self.conns.get(&token).is_some_and(|c| c.failed);
            self.close(token);
            if failed && !self.policy.keep_open {
                // The error has been narrated where it happened.
                return Err(crate::exit::Silent(crate::exit::EXIT_FAILURE).into());
            }
            return Ok(Flow::Go);
        }
        self.schedule(token);
        Ok(Flow::Go)
    }

    fn read(&mut self, token: Token) -> Result<(), ReadFailure> {
        let Session {
            conns,
            tracer,
            buf,
            stdout,
            policy,
            more,
            ..
        } = self;
        let Some(conn) = conns.get_mut(&token) else {
            return Ok(());
        };
        let echo = policy.echo;
        let discard = policy.send_only;
        let round = conn.read_round(tracer, buf, &mut |conn, t, data| {
            if conn.inbound.is_some() {
                frames(conn, t, stdout, |inbound, t, at, out, replies| {
                    inbound.feed(t, at, data, out, replies)
                })?;
                Ok(conn.queued() < HIGH_WATER)
            } else if echo {
                conn.queue(Rc::new(data.to_vec()));
                Ok(conn.queued() < HIGH_WATER)
            } else if discard || conn.failed {
                // After a framing error the rest is read and dropped, so
                // that the connection can still close in an orderly way.
                Ok(true)
            } else {
                stdout
                    .write(data)
                    .map(|()| true)
                    .map_err(ReadFailure::Deliver)
            }
        })?;
        if round == ReadRound::PeerClosed && conn.inbound.is_some() {
            frames(conn, tracer, stdout, |inbound, t, at, out, replies| {
                inbound.finish(t, at, out, replies)
            })?;
        }
        if round == ReadRound::PeerClosed {
            if policy.answers() {
                conn.finish_sending(true);
            } else if policy.keep_open {
                // With -k the peer's FIN ends its part of the broadcast: it
                // gets what is queued, then our FIN. Kept open, a client that
                // closed would hold its descriptor until stdin next had
                // something for it, which with an idle pipe is never.
                conn.finish_sending(policy.fin_on_eof);
            }
        }
        if round == ReadRound::Drained
            && let Some(inbound) = conn.inbound.as_mut()
        {
            inbound.release_if_empty();
        }
        // Replies, echoes, or a FIN decided while reading go out now: the
        // socket has long been writable, and edge-triggered poll() will not
        // say so again.
        conn.flush(tracer, &mut drop)?;
        if conn.queued() >= HIGH_WATER {
            conn.paused = true;
            return Ok(());
        }
        if round == ReadRound::MoreLater && !std::mem::replace(&mut conn.more, true) {
            more.push(token);
        }
        Ok(())
    }

    /// Whether both directions of a connection are done, by the policy.
    fn finished(&self, token: Token) -> bool {
        let Some(c) = self.conns.get(&token) else {
            return false;
        };
        if self.policy.send_only {
            return c.sending_done();
        }
        // An HTTP client with --no-shutdown: every answer is in, so the
        // connection is done without waiting for the server to close it.
        if c.sending_done() && c.inbound.as_ref().is_some_and(|i| i.closes_without_fin()) {
            return true;
        }
        c.peer_closed
            && (c.sending_done()
                || self.policy.recv_only
                || (self.stdin_is_terminal && self.policy.reads_stdin()))
    }

    /// Closes a connection. Its token may still be listed in `more` or the
    /// timer heap: tokens are never reused, so those entries find nothing.
    fn close(&mut self, token: Token) {
        if let Some(conn) = self.conns.remove(&token) {
            conn.close(self.tracer, self.poll.registry());
            self.descriptor_freed();
        }
    }

    /// A connection failed. With `-k` the others go on; otherwise the
    /// session ends with this error.
    fn fail(&mut self, token: Token, err: NetError) -> anyhow::Result<Flow> {
        let id = self.conns.get(&token).map(|c| c.id);
        if self.policy.keep_open {
            err.emit(self.tracer, self.side, id);
            self.close(token);
            Ok(Flow::Go)
        } else {
            self.close(token);
            Err(err.into())
        }
    }
}

/// Runs `step` on a connection's frame reader, queues the replies it made
/// (an HTTP server's responses), and turns a framing failure into an orderly
/// close: FIN now, the rest of the peer's bytes read and dropped.
fn frames(
    conn: &mut Conn,
    t: &mut Tracer,
    out: &mut Output,
    step: impl FnOnce(
        &mut Inbound,
        &mut Tracer,
        (Side, Option<u64>),
        &mut Output,
        &mut Vec<Reply>,
    ) -> Result<(), InboundError>,
) -> Result<(), ReadFailure> {
    let at = (conn.side, Some(conn.id));
    let Some(inbound) = conn.inbound.as_mut() else {
        return Ok(());
    };
    let mut replies = Vec::new();
    let result = step(inbound, t, at, out, &mut replies);
    let finish = inbound.take_finish();
    for reply in replies {
        conn.queue_reply(Rc::new(reply.bytes));
        if reply.close {
            conn.finish_sending(true);
        }
    }
    // An HTTP client whose input ended: the last answer is in.
    if let Some(fin) = finish {
        conn.finish_sending(fin);
    }
    match result {
        Ok(()) => Ok(()),
        Err(InboundError::Output(e)) => Err(ReadFailure::Deliver(e)),
        Err(InboundError::Frame(_)) => {
            conn.linger_close();
            Ok(())
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

fn quiet_if_gone(e: io::Error) -> io::Result<()> {
    if reader_gone(&e) { Ok(()) } else { Err(e) }
}

/// `-C`: turns each LF not already preceded by CR into CR LF. `last_was_cr`
/// carries the last byte across chunks, so a CRLF split between two reads of
/// stdin is not doubled.
pub fn lf_to_crlf(data: &[u8], last_was_cr: &mut bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    for &b in data {
        if b == b'\n' && !*last_was_cr {
            out.push(b'\r');
        }
        out.push(b);
        *last_was_cr = b == b'\r';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lf_becomes_crlf_once_even_across_chunks() {
        let mut cr = false;
        assert_eq!(lf_to_crlf(b"a\nb\r\n", &mut cr), b"a\r\nb\r\n");
        assert_eq!(lf_to_crlf(b"x\r", &mut cr), b"x\r");
        assert_eq!(lf_to_crlf(b"\ny\n", &mut cr), b"\ny\r\n");
    }
}
