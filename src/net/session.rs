//! The event loop of `listen` and `connect`: one thread, one `mio::Poll`, any
//! number of connections, stdin and stdout.
//!
//! Each turn of the loop asks poll() which sockets are ready, then for each one
//! does what its readiness allows until the kernel says WouldBlock: accept the
//! waiting clients, write what is queued, read what has arrived. Nothing
//! blocks except poll() itself (and writing stdout, which is where the data
//! is going anyway), so an idle session costs no CPU.
//!
//! Who gets which bytes:
//! - stdin chunks are queued on every open connection (with `-k`, every client
//!   gets every line, as ncat does); while a queue is over [`HIGH_WATER`] no
//!   more stdin is taken, so memory stays bounded;
//! - bytes read from a connection go to stdout, or back to the same
//!   connection (`--echo`), or nowhere (`--send-only`).
//!
//! When a connection is finished is a policy ([`Policy`]): by default our
//! input ending sends FIN and we keep reading until the peer's FIN. When the
//! peer's FIN comes first and stdin is a terminal, the conversation is over
//! for the person typing; when stdin is a pipe or file we keep sending it, as
//! the peer may only have half-closed.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Poll, Token, Waker};

use super::conn::{self, Conn, HIGH_WATER, ReadFailure, ReadRound};
use super::error::{NetContext, NetError};
use super::output::{Output, reader_gone};
use super::protocol::{Encoded, Framing, Inbound, InboundError, Outbound, Reply};
use super::stdin::{Input, StdinPump};
use super::{Ready, interrupted, readiness, wait, would_block};
use crate::cli::StreamArgs;
use crate::trace::explain::Action;
use crate::trace::{Event, Level, Op, Side, Tracer};

const LISTENER: Token = Token(0);
const STDIN: Token = Token(1);
const FIRST_CONN: usize = 2;
/// Bytes per read from a socket.
const READ_BUF: usize = 256 * 1024;
/// After a framing error and our FIN, how long to wait for the peer's FIN
/// before closing anyway (a "lingering close", as web servers do).
const LINGER: Duration = Duration::from_secs(2);

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
    /// `listen --proto http`: answer each request.
    pub http_server: bool,
}

impl Policy {
    pub fn from_stream(args: &StreamArgs) -> Policy {
        Policy {
            fin_on_eof: !args.no_shutdown,
            send_only: args.send_only,
            recv_only: args.recv_only,
            crlf: args.crlf,
            idle_timeout: args.idle_timeout,
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
    stdin: Option<StdinPump>,
    input_ended: bool,
    stdin_is_terminal: bool,
    stdout: Output,
    last_was_cr: bool,
    next_token: usize,
    /// Connections that still had data to read when their turn ended.
    more: Vec<Token>,
    /// Connections that stopped reading because their write queue is full.
    paused: Vec<Token>,
    buf: Vec<u8>,
    /// `--proto`: frames cut from each connection's reads.
    framing: Option<Framing>,
    /// `--proto`: what is typed, as the protocol's wire bytes.
    outbound: Option<Outbound>,
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
            stdin,
            input_ended: false,
            stdin_is_terminal: io::stdin().is_terminal(),
            stdout: Output::stdout()?,
            last_was_cr: false,
            next_token: FIRST_CONN,
            more: Vec::new(),
            paused: Vec::new(),
            buf: vec![0; READ_BUF],
            outbound: framing.as_ref().map(Framing::outbound),
            framing,
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
        Ok(())
    }

    /// Adds a connection whose handshake is complete.
    pub fn add(&mut self, mut stream: TcpStream, peer: SocketAddr) -> Result<(), NetError> {
        let token = Token(self.next_token);
        self.next_token += 1;
        conn::register(self.poll.registry(), &mut stream, token, peer)?;
        self.accepted += 1;
        let mut conn = Conn::new(self.accepted as u64, self.side, token, stream, peer);
        conn.inbound = self.framing.as_ref().map(Framing::inbound);
        // Nothing will ever be queued from stdin for this connection: it has
        // ended already, or (--recv-only) it is not read. A connection that
        // socklab answers itself (--echo, an HTTP server) stays open to reply.
        let no_input = self.input_ended || (!self.policy.reads_stdin() && !self.policy.answers());
        if no_input {
            conn.finish_sending(self.policy.fin_on_eof && !self.policy.recv_only);
        }
        self.conns.insert(token, conn);
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
                self.next_deadline()
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
                if self.on_ready(token, true, false)? == Flow::Stop {
                    return Ok(());
                }
            }
            // Writes may have made room in the queues for more input.
            self.pump_stdin()?;
            self.check_idle()?;
        }
    }

    /// Takes every finished handshake off the listen queue.
    fn accept_all(&mut self) -> anyhow::Result<()> {
        let first_new = self.next_token;
        loop {
            let Some((listener, addr)) = &self.listener else {
                return Ok(());
            };
            let addr = *addr;
            match listener.accept() {
                Ok((stream, peer)) => {
                    let full = self
                        .policy
                        .max_conns
                        .is_some_and(|max| self.conns.len() >= max);
                    if full {
                        let limit = self.policy.max_conns.unwrap_or_default();
                        self.tracer
                            .emit(self.side, None, Event::Refuse { peer, limit });
                        drop(stream);
                        continue;
                    }
                    let fd = stream.as_raw_fd();
                    let local = stream.local_addr().unwrap_or(addr);
                    let id = self.accepted as u64 + 1;
                    self.tracer
                        .emit(self.side, Some(id), Event::Accept { peer, local, fd });
                    self.add(stream, peer)?;
                    if !self.policy.keep_open {
                        if let Some((mut listener, addr)) = self.listener.take() {
                            let _ = self.poll.registry().deregister(&mut listener);
                            self.tracer
                                .emit(self.side, None, Event::StopListening { addr });
                        }
                    }
                }
                Err(e) if would_block(&e) => {
                    self.tracer
                        .emit(self.side, None, Event::WouldBlock { op: Op::Accept });
                    break;
                }
                Err(e) if interrupted(&e) => {}
                Err(e) => {
                    // A client that gave up before we accepted it, or no file
                    // descriptors left: say so, and keep serving the others.
                    NetError::new(Action::Accept, addr, e).emit(self.tracer, self.side, None);
                    break;
                }
            }
        }
        self.pump_stdin()?;
        // Only the connections just accepted may have something to send
        // already (a FIN, when stdin has ended): flushing all of them on
        // every accept would cost O(n²) over n clients.
        let new: Vec<Token> = self
            .conns
            .range(Token(first_new)..)
            .map(|(t, _)| *t)
            .collect();
        for token in new {
            if self.on_ready(token, false, true)? == Flow::Stop {
                break;
            }
        }
        Ok(())
    }

    /// Moves stdin chunks into the connections' queues while they have room.
    fn pump_stdin(&mut self) -> anyhow::Result<()> {
        loop {
            let open = self
                .conns
                .values()
                .filter(|c| c.sending == conn::Sending::Open);
            let fullest = open.map(Conn::queued).max();
            // Nobody to send to yet (listen waits for its first client), or
            // no room: leave the input where it is.
            if fullest.is_none_or(|q| q >= HIGH_WATER) {
                return Ok(());
            }
            let Some(stdin) = self.stdin.as_mut() else {
                return Ok(());
            };
            match stdin.try_next() {
                None => return Ok(()),
                Some(Input::Data(mut data)) => {
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
                Some(Input::End) => {
                    self.input_ended = true;
                    self.tracer.emit(self.side, None, Event::InputEnd);
                    if let Some(out) = self.outbound.as_mut() {
                        let encoded = out.finish(self.tracer, self.side);
                        self.send_encoded(encoded);
                    }
                    for conn in self.conns.values_mut() {
                        conn.finish_sending(self.policy.fin_on_eof);
                    }
                }
                Some(Input::Failed(e)) => {
                    return Err(NetError::new(Action::Stdin, "stdin", e).into());
                }
            }
            let tokens: Vec<Token> = self.conns.keys().copied().collect();
            for token in tokens {
                self.on_ready(token, false, true)?;
            }
        }
    }

    /// Queues protocol-encoded input on every connection, telling each
    /// connection's reader which requests went out.
    fn send_encoded(&mut self, encoded: Encoded) {
        let chunk = Rc::new(encoded.bytes);
        for conn in self.conns.values_mut() {
            if let Some(inbound) = conn.inbound.as_mut() {
                encoded.methods.iter().for_each(|m| inbound.sent_request(m));
            }
            conn.queue(chunk.clone());
        }
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
            if result.is_ok() && conn.queued() < HIGH_WATER / 2 {
                if let Some(i) = self.paused.iter().position(|t| *t == token) {
                    self.paused.swap_remove(i);
                    self.more.push(token);
                }
            }
        }
        if result.is_ok() && readable && !self.paused.contains(&token) {
            match self.read(token) {
                Ok(()) => {}
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
                // The framing error has been narrated where it happened.
                return Err(crate::Silent(crate::EXIT_FAILURE).into());
            }
        }
        Ok(Flow::Go)
    }

    fn read(&mut self, token: Token) -> Result<(), ReadFailure> {
        let Session {
            conns,
            tracer,
            buf,
            stdout,
            policy,
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
        // Replies, echoes, or a FIN decided while reading go out now: the
        // socket has long been writable, and edge-triggered poll() will not
        // say so again.
        if round == ReadRound::PeerClosed && policy.answers() {
            conn.finish_sending(true);
        }
        conn.flush(tracer, &mut drop)?;
        if conn.queued() >= HIGH_WATER {
            self.paused.push(token);
            return Ok(());
        }
        if round == ReadRound::MoreLater {
            self.more.push(token);
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
        c.peer_closed
            && (c.sending_done()
                || self.policy.recv_only
                || (self.stdin_is_terminal && self.policy.reads_stdin()))
    }

    fn close(&mut self, token: Token) {
        if let Some(conn) = self.conns.remove(&token) {
            conn.close(self.tracer, self.poll.registry());
        }
        self.more.retain(|t| *t != token);
        self.paused.retain(|t| *t != token);
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

    fn next_deadline(&self) -> Option<Duration> {
        let idle = self.policy.idle_timeout;
        let deadlines = self.conns.values().flat_map(|c| {
            [
                idle.and_then(|i| c.last_activity.checked_add(i)),
                c.close_by,
            ]
        });
        let soonest = deadlines.flatten().min()?;
        Some(soonest.saturating_duration_since(Instant::now()))
    }

    fn check_idle(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        let lingering: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| c.close_by.is_some_and(|t| t <= now))
            .map(|(t, _)| *t)
            .collect();
        for token in lingering {
            let id = self.conns.get(&token).map(|c| c.id);
            let millis = LINGER.as_millis() as u64;
            let what = "the peer did not close after the framing error; closing anyway (it may see a reset)";
            self.tracer
                .emit(self.side, id, Event::Timeout { what, millis });
            self.close(token);
            if !self.policy.keep_open {
                return Err(crate::Silent(crate::EXIT_FAILURE).into());
            }
        }
        let Some(idle) = self.policy.idle_timeout else {
            return Ok(());
        };
        let expired: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| now.duration_since(c.last_activity) >= idle)
            .map(|(t, _)| *t)
            .collect();
        for token in expired {
            let Some(conn) = self.conns.get(&token) else {
                continue;
            };
            let millis = idle.as_millis() as u64;
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
        }
        Ok(())
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
    for reply in replies {
        conn.queue(Rc::new(reply.bytes));
        if reply.close {
            conn.finish_sending(true);
        }
    }
    match result {
        Ok(()) => Ok(()),
        Err(InboundError::Output(e)) => Err(ReadFailure::Deliver(e)),
        Err(InboundError::Frame(_)) => {
            conn.inbound = None;
            conn.failed = true;
            conn.finish_sending(true);
            conn.close_by = Some(Instant::now() + LINGER);
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
