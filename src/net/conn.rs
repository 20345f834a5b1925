//! One TCP connection inside the event loop: its socket, the bytes waiting to
//! be written to it, and the state of each direction.
//!
//! A TCP connection is two independent byte streams. Ours ends when we call
//! shutdown(Write) (FIN goes out); the peer's ends when read() returns 0 (its
//! FIN arrived). A connection is finished when both have ended, or when a
//! policy says the remaining direction does not matter (see `session`).
//!
//! Every call here is non-blocking and is retried only when poll() says the
//! socket is ready again; the `would_block` arms are where the loop "goes back
//! to poll".

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::Token;
use mio::net::TcpStream;

use super::error::{NetContext, NetError};
use super::{interrupted, would_block};
use crate::trace::explain::Action;
use crate::trace::{Data, Event, Level, Op, Side, Tracer};

/// Our sending half.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sending {
    /// More may be queued.
    Open,
    /// Nothing more will be queued: send FIN once the queue is empty.
    FinWhenFlushed,
    /// Nothing more will be queued, and FIN is not to be sent (`--no-shutdown`).
    Done,
    /// FIN has been sent.
    FinSent,
}

/// What happened during one round of reading.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadRound {
    /// Read until WouldBlock: wait for poll().
    Drained,
    /// Stopped early to be fair to other sockets, or because the write queue
    /// is full: try again without waiting for poll().
    MoreLater,
    /// The peer sent FIN.
    PeerClosed,
}

pub struct Conn {
    pub id: u64,
    pub side: Side,
    pub token: Token,
    pub stream: TcpStream,
    pub peer: SocketAddr,
    queue: VecDeque<(Rc<Vec<u8>>, usize)>,
    queued: usize,
    pub sending: Sending,
    pub peer_closed: bool,
    pub sent: u64,
    pub received: u64,
    pub last_activity: Instant,
    /// `--proto`: the frames being cut from this connection's reads.
    /// Boxed: a connection without `--proto` (or a chat session) pays one
    /// pointer for it, not the reader's whole state.
    pub inbound: Option<Box<super::protocol::Inbound>>,
    /// A framing error happened: the rest is read and dropped, then closed.
    pub failed: bool,
    /// After a framing error: close at this time even if the peer has not.
    pub close_by: Option<Instant>,
    /// Largest write() (`relay --slice`): more is sent in several writes.
    pub max_write: usize,
    /// Reading stopped because the write queue is full (see [`HIGH_WATER`]).
    pub paused: bool,
    /// Listed for another read without waiting for poll().
    pub more: bool,
    /// The deadline this connection has in the loop's timer heap, if any.
    pub armed: Option<Instant>,
    /// Rewrites what read and write events show (never the bytes
    /// themselves): the chat hides passwords with it.
    pub redact: Option<[Box<dyn Redact>; 2]>,
}

/// Masks secrets in the previews of the bytes a connection reads and writes.
pub trait Redact {
    fn redact<'a>(&mut self, data: &'a [u8]) -> std::borrow::Cow<'a, [u8]>;
}

/// Stop reading from a socket while this many bytes wait to be written to it
/// (echo mode): the peer must not be able to make us buffer without bound.
pub const HIGH_WATER: usize = 1 << 20;
/// Reads per readiness before giving other sockets a turn.
const READS_PER_TURN: usize = 16;
/// After an error of the peer's making (a bad frame, a request head too
/// slow), how long to wait for its FIN before closing anyway: a "lingering
/// close", as web servers do, so that our last words are not lost to a reset.
pub const LINGER: Duration = Duration::from_secs(2);

impl Conn {
    pub fn new(id: u64, side: Side, token: Token, stream: TcpStream, peer: SocketAddr) -> Conn {
        Conn {
            id,
            side,
            token,
            stream,
            peer,
            queue: VecDeque::new(),
            queued: 0,
            sending: Sending::Open,
            peer_closed: false,
            sent: 0,
            received: 0,
            last_activity: Instant::now(),
            inbound: None,
            failed: false,
            close_by: None,
            max_write: usize::MAX,
            paused: false,
            more: false,
            armed: None,
            redact: None,
        }
    }

    fn emit(&self, t: &mut Tracer, event: Event) {
        t.emit(self.side, Some(self.id), event);
    }

    /// Bytes waiting to be written.
    pub fn queued(&self) -> usize {
        self.queued
    }

    pub fn queue(&mut self, chunk: Rc<Vec<u8>>) {
        if !chunk.is_empty() && self.sending == Sending::Open {
            self.queued += chunk.len();
            self.queue.push_back((chunk, 0));
        }
    }

    /// Queues a protocol's own answer (an HTTP response, a telnet refusal):
    /// unlike stdin's data it still goes out after our input has ended
    /// (`--recv-only`, stdin at EOF), as long as FIN has not been sent.
    pub fn queue_reply(&mut self, chunk: Rc<Vec<u8>>) {
        if !chunk.is_empty() && self.sending != Sending::FinSent {
            self.queued += chunk.len();
            self.queue.push_back((chunk, 0));
        }
    }

    /// No more data will be queued. With `fin`, FIN is sent after the queue.
    pub fn finish_sending(&mut self, fin: bool) {
        if self.sending == Sending::Open {
            self.sending = if fin {
                Sending::FinWhenFlushed
            } else {
                Sending::Done
            };
        }
    }

    /// Gives up on what the peer sends after an error it caused: what is
    /// queued (an error reply) still goes out, then FIN; the rest of its bytes
    /// are read and dropped until its FIN, or [`LINGER`] passes.
    pub fn linger_close(&mut self) {
        self.inbound = None;
        self.failed = true;
        self.finish_sending(true);
        self.close_by = Some(Instant::now() + LINGER);
    }

    /// Whether our half is finished: FIN sent, or nothing more to send.
    pub fn sending_done(&self) -> bool {
        match self.sending {
            Sending::FinSent => true,
            Sending::Done => self.queued == 0,
            _ => false,
        }
    }

    /// Writes queued bytes until the queue is empty or the kernel's send
    /// buffer is full, then sends FIN if that was asked for. Fully written
    /// chunks that nobody else shares are handed to `spent` for reuse.
    pub fn flush(
        &mut self,
        t: &mut Tracer,
        spent: &mut dyn FnMut(Vec<u8>),
    ) -> Result<(), NetError> {
        while let Some((chunk, offset)) = self.queue.front_mut() {
            let end = chunk.len().min(offset.saturating_add(self.max_write));
            match self.stream.write(&chunk[*offset..end]) {
                Ok(n) => {
                    if t.wants(Level::Data) {
                        let bytes = &chunk[*offset..*offset + n];
                        let shown = match &mut self.redact {
                            Some([_, out]) => out.redact(bytes),
                            None => std::borrow::Cow::Borrowed(bytes),
                        };
                        let data = Data(&shown);
                        t.emit(self.side, Some(self.id), Event::Write { n, data });
                    }
                    *offset += n;
                    self.queued -= n;
                    self.sent += n as u64;
                    self.last_activity = Instant::now();
                    if *offset == chunk.len()
                        && let Some((chunk, _)) = self.queue.pop_front()
                        && let Ok(buf) = Rc::try_unwrap(chunk)
                    {
                        spent(buf);
                    }
                }
                Err(e) if would_block(&e) => {
                    self.emit(t, Event::WouldBlock { op: Op::Write });
                    return Ok(());
                }
                Err(e) if interrupted(&e) => {}
                Err(e) => return Err(NetError::new(Action::Write, self.peer, e)),
            }
        }
        // An idle connection keeps no buffer: a queue that once held many
        // chunks would otherwise keep its capacity while the peer is quiet.
        if self.queue.capacity() > 8 {
            self.queue = VecDeque::new();
        }
        if self.sending == Sending::FinWhenFlushed {
            self.shutdown_write(t)?;
        }
        Ok(())
    }

    fn shutdown_write(&mut self, t: &mut Tracer) -> Result<(), NetError> {
        match self.stream.shutdown(Shutdown::Write) {
            Ok(()) => {}
            // The peer already closed completely: there is nobody to tell.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
            Err(e) => return Err(NetError::new(Action::Shutdown, self.peer, e)),
        }
        self.sending = Sending::FinSent;
        self.emit(t, Event::Shutdown { how: "Write" });
        Ok(())
    }

    /// Reads what has arrived and passes each piece to `deliver`. Stops at
    /// WouldBlock, at the peer's FIN, after a fair number of reads, or when
    /// `deliver` returns false (no room for more).
    pub fn read_round(
        &mut self,
        t: &mut Tracer,
        buf: &mut [u8],
        deliver: &mut Deliver,
    ) -> Result<ReadRound, ReadFailure> {
        if self.peer_closed {
            return Ok(ReadRound::PeerClosed);
        }
        for _ in 0..READS_PER_TURN {
            match self.stream.read(buf) {
                Ok(0) => {
                    self.peer_closed = true;
                    self.emit(t, Event::PeerClosed);
                    return Ok(ReadRound::PeerClosed);
                }
                Ok(n) => {
                    self.received += n as u64;
                    self.last_activity = Instant::now();
                    if t.wants(Level::Data) {
                        let shown = match &mut self.redact {
                            Some([read, _]) => read.redact(&buf[..n]),
                            None => std::borrow::Cow::Borrowed(&buf[..n]),
                        };
                        t.emit(
                            self.side,
                            Some(self.id),
                            Event::Read {
                                n,
                                data: Data(&shown),
                            },
                        );
                    }
                    if !deliver(self, t, &buf[..n])? {
                        return Ok(ReadRound::MoreLater);
                    }
                }
                Err(e) if would_block(&e) => {
                    self.emit(t, Event::WouldBlock { op: Op::Read });
                    return Ok(ReadRound::Drained);
                }
                Err(e) if interrupted(&e) => {}
                Err(e) => return Err(ReadFailure::Net(NetError::new(Action::Read, self.peer, e))),
            }
        }
        Ok(ReadRound::MoreLater)
    }

    /// close() with SO_LINGER set to 0: instead of FIN the kernel sends RST
    /// and throws away anything still unsent, so the peer's next read fails
    /// with ECONNRESET rather than returning 0. This is how a relay passes a
    /// failure on instead of turning it into an orderly end of the stream.
    pub fn reset(self, t: &mut Tracer, registry: &mio::Registry) {
        if socket2::SockRef::from(&self.stream)
            .set_linger(Some(std::time::Duration::ZERO))
            .is_ok()
        {
            self.emit(
                t,
                Event::SetOption {
                    option: "SO_LINGER",
                    value: 0,
                },
            );
        }
        self.close(t, registry);
    }

    /// close(): emits the totals. The socket itself closes when dropped.
    pub fn close(self, t: &mut Tracer, registry: &mio::Registry) {
        let mut stream = self.stream;
        let _ = registry.deregister(&mut stream);
        t.emit(
            self.side,
            Some(self.id),
            Event::Close {
                sent: self.sent,
                received: self.received,
            },
        );
    }
}

/// Where read bytes go: stdout, back to the peer, a frame reader. Returns
/// false when there is no room for more for now.
pub type Deliver<'a> = dyn FnMut(&mut Conn, &mut Tracer, &[u8]) -> Result<bool, ReadFailure> + 'a;

/// Why reading stopped with an error: the socket failed, or the place the
/// bytes were going (stdout) did.
#[derive(Debug)]
pub enum ReadFailure {
    Net(NetError),
    Deliver(io::Error),
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            ReadFailure::Net(e) => e.fmt(f),
            ReadFailure::Deliver(e) => write!(f, "could not write received data: {e}"),
        }
    }
}

impl std::error::Error for ReadFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadFailure::Net(e) => Some(e),
            ReadFailure::Deliver(e) => Some(e),
        }
    }
}

impl From<NetError> for ReadFailure {
    fn from(e: NetError) -> ReadFailure {
        ReadFailure::Net(e)
    }
}

/// Registers a connection for both readiness kinds. mio is edge-triggered:
/// an event says "something changed", so each handler drains until WouldBlock
/// and interest never needs to be changed afterwards.
pub fn register(
    registry: &mio::Registry,
    stream: &mut TcpStream,
    token: Token,
    peer: SocketAddr,
) -> Result<(), NetError> {
    registry
        .register(
            stream,
            token,
            mio::Interest::READABLE | mio::Interest::WRITABLE,
        )
        .net(Action::Accept, peer)
}
