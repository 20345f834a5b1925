//! Taking clients off the relay's listen queue, and what to do when the
//! process has no file descriptor left for them.
//!
//! A client costs the relay two descriptors: the accepted socket and the
//! socket to the target. When none is left, accept() fails with EMFILE and
//! the client stays in the kernel's listen queue. The trap is readiness:
//! epoll is edge-triggered, so it reported the queue once and will not
//! again until another client arrives. A loop that just goes back to
//! poll() would leave the waiting clients there forever, even after
//! descriptors are freed. So the relay tries again by itself: when a pair
//! closes (which frees two), and on a short timer.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Instant;

use socket2::{Domain, Socket, Type};

use super::pair::Pair;
use super::{TcpRelay, conn_side, token_of};
use crate::net::conn::{self, Conn};
use crate::net::error::NetError;
use crate::net::socket::start_connect;
use crate::net::{interrupted, would_block};
use crate::relay::fate::{Dir, deadline};
use crate::relay::limits::ACCEPT_RETRY;
use crate::trace::explain::Action;
use crate::trace::{Event, Side};

impl TcpRelay<'_> {
    /// Accepts every client waiting in the listen queue.
    pub(super) fn accept_all(&mut self) {
        loop {
            // The descriptor for the connection to the target is set aside
            // before a client is taken off the queue: a client accepted with
            // nothing left to reach the target could only be turned away,
            // while one left in the queue is served once descriptors free up.
            let spare = match Socket::new(Domain::for_address(self.target), Type::STREAM, None) {
                Ok(spare) => spare,
                Err(e) => return self.postpone_accept(e),
            };
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    drop(spare);
                    self.accepted(stream, peer);
                }
                Err(e) if would_block(&e) => {
                    // Nobody is waiting: the next client wakes poll() again.
                    self.accept_retry = None;
                    return;
                }
                // A client that gave up while queued: on to the next one.
                Err(e) if interrupted(&e) || e.raw_os_error() == Some(libc::ECONNABORTED) => {}
                Err(e) => return self.postpone_accept(e),
            }
        }
    }

    /// accept() (or the spare socket) failed: leave the clients queued and
    /// try again later. Narrated once per stretch, not on every retry.
    fn postpone_accept(&mut self, e: std::io::Error) {
        let first = self.accept_retry.is_none();
        self.accept_retry = Some(deadline(Instant::now(), ACCEPT_RETRY));
        if first {
            NetError::new(Action::Accept, "the relay's port", e).emit(self.t, Side::Server, None);
            let text = format!(
                "the waiting clients stay in the listen queue: the relay accepts them when a connection pair closes, and tries again every {} ms",
                ACCEPT_RETRY.as_millis()
            );
            self.t.emit(Side::Server, None, Event::Note { text: &text });
        }
    }

    /// A pair closed and gave back its descriptors: if accept() had run out,
    /// try again at the end of this turn.
    pub(super) fn descriptors_freed(&mut self) {
        if self.accept_retry.is_some() {
            self.accept_retry = Some(Instant::now());
        }
    }

    fn accepted(&mut self, stream: mio::net::TcpStream, peer: SocketAddr) {
        if self.accept_retry.take().is_some() {
            let text = "descriptors are free again: accepting the clients that waited";
            self.t.emit(Side::Server, None, Event::Note { text });
        }
        let id = self.next_id;
        self.next_id += 1;
        let local = stream.local_addr().unwrap_or(peer);
        let fd = stream.as_raw_fd();
        self.t
            .emit(Side::Server, Some(id), Event::Accept { peer, local, fd });
        let client = Conn::new(id, Side::Server, token_of(id, Dir::Up), stream, peer);
        match self.connect_upstream(id) {
            Ok(upstream) => self.open(id, client, upstream),
            Err(error) => {
                error.emit(self.t, conn_side(Dir::Down), Some(id));
                self.refuse(client, &error);
            }
        }
    }

    /// Starts the connection to the target for pair `id`.
    fn connect_upstream(&mut self, id: u64) -> Result<Conn, NetError> {
        let stream = start_connect(self.t, conn_side(Dir::Down), self.target, None)?;
        Ok(Conn::new(
            id,
            Side::Client,
            token_of(id, Dir::Down),
            stream,
            self.target,
        ))
    }

    fn open(&mut self, id: u64, mut client: Conn, mut upstream: Conn) {
        let registry = self.poll.registry();
        let registered = conn::register(registry, &mut client.stream, client.token, client.peer)
            .map_err(|e| (Dir::Up, e))
            .and_then(|()| {
                conn::register(registry, &mut upstream.stream, upstream.token, self.target)
                    .map_err(|e| (Dir::Down, e))
            });
        if let Err((side, error)) = registered {
            error.emit(self.t, conn_side(side), Some(id));
            upstream.close(self.t, self.poll.registry());
            return self.refuse(client, &error);
        }
        if let Some(n) = self.opts.slice {
            // Each slice must leave as its own segment, not wait for Nagle.
            let _ = client.stream.set_nodelay(true);
            let _ = upstream.stream.set_nodelay(true);
            client.max_write = n;
            upstream.max_write = n;
        }
        let pair = Pair::new(id, client, upstream, Instant::now());
        self.pairs.insert(id, pair);
    }

    /// The relay cannot serve this client: reset it, so that it sees a
    /// failure rather than a connection that ends cleanly with no answer.
    fn refuse(&mut self, client: Conn, error: &NetError) {
        let text = format!(
            "the relay cannot serve {} ({}): resetting its connection, so it sees the failure",
            client.peer,
            error.explanation().kind
        );
        self.t
            .emit(Side::Server, Some(client.id), Event::Note { text: &text });
        client.reset(self.t, self.poll.registry());
    }
}
