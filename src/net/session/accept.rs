//! Taking clients off the listen queue, and what to do when accept() fails.
//!
//! The listening socket is registered edge-triggered: poll() reports it once
//! when clients arrive, and the loop must accept until WouldBlock. Leaving
//! the loop early on an error would leave clients in the queue with nothing
//! to report them again until yet another client arrives. So:
//!
//! - errors that belong to one client (it reset before we took it:
//!   ECONNABORTED, and the network errors Linux passes on from accept(), see
//!   accept(2)) are narrated, and accepting goes on;
//! - running out of file descriptors (EMFILE for the process, ENFILE for the
//!   system) or memory cannot be fixed by trying again at once: the clients
//!   wait in the queue, the connections we have are still served, and
//!   accept() is tried again when one of them closes and every
//!   [`ACCEPT_RETRY`]. Narrated once when it starts and once when it is over.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::Token;
use mio::net::TcpStream;

use super::{Flow, Session};
use crate::net::error::NetError;
use crate::net::{interrupted, would_block};
use crate::trace::explain::Action;
use crate::trace::{Event, Op};

/// How soon accept() is tried again after a failure nobody will report.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

impl Session<'_> {
    /// Takes every finished handshake off the listen queue.
    pub(super) fn accept_all(&mut self) -> anyhow::Result<()> {
        let first_new = self.next_token;
        while let Some((listener, addr)) = &self.listener {
            let addr = *addr;
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer, addr)?,
                Err(e) if would_block(&e) => {
                    self.accepting_again();
                    self.tracer
                        .emit(self.side, None, Event::WouldBlock { op: Op::Accept });
                    break;
                }
                Err(e) if interrupted(&e) => {}
                Err(e) if client_gave_up(&e) => {
                    NetError::new(Action::Accept, addr, e).emit(self.tracer, self.side, None);
                }
                Err(e) => {
                    self.accept_failed(addr, e);
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

    /// One accepted client: refused when full, otherwise served.
    fn admit(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        addr: SocketAddr,
    ) -> anyhow::Result<()> {
        if let Some(limit) = self.policy.max_conns.filter(|max| self.conns.len() >= *max) {
            self.tracer
                .emit(self.side, None, Event::Refuse { peer, limit });
            return Ok(());
        }
        let fd = stream.as_raw_fd();
        let local = stream.local_addr().unwrap_or(addr);
        let id = self.accepted as u64 + 1;
        self.tracer
            .emit(self.side, Some(id), Event::Accept { peer, local, fd });
        if let Err(e) = self.add(stream, peer) {
            // Registering with poll() failed (out of memory, or the
            // system's limit of watched descriptors): this client is lost,
            // the others are not.
            if !self.policy.keep_open {
                return Err(e.into());
            }
            e.emit(self.tracer, self.side, Some(id));
        }
        if !self.policy.keep_open
            && let Some((mut listener, addr)) = self.listener.take()
        {
            let _ = self.poll.registry().deregister(&mut listener);
            self.tracer
                .emit(self.side, None, Event::StopListening { addr });
        }
        Ok(())
    }

    /// accept() failed for a reason that trying again at once will not fix.
    fn accept_failed(&mut self, addr: SocketAddr, e: io::Error) {
        self.accept_retry = Some(Instant::now() + ACCEPT_RETRY);
        if self.accept_failing {
            return;
        }
        self.accept_failing = true;
        let retry = "not accepting for now; retrying when a connection closes, and every 100 ms";
        let message = match e.raw_os_error() {
            Some(libc::EMFILE) => {
                let limit = self
                    .descriptor_limit
                    .map_or("unknown".to_string(), |n| n.to_string());
                format!("out of file descriptors (EMFILE, limit {limit}): {retry}")
            }
            Some(libc::ENFILE) => {
                format!("the system is out of file descriptors (ENFILE): {retry}")
            }
            _ => format!("accept() on {addr} failed ({e}): {retry}"),
        };
        NetError::new(Action::Accept, addr, e).emit_as(self.tracer, self.side, None, &message);
    }

    /// The listen queue is empty: if accept() was failing, the episode is
    /// over (clients taken one by one as descriptors free up are part of it).
    fn accepting_again(&mut self) {
        self.accept_retry = None;
        if std::mem::take(&mut self.accept_failing) {
            self.tracer.emit(
                self.side,
                None,
                Event::Note {
                    text: "accept() works again: every client that waited in the listen queue has been taken",
                },
            );
        }
    }

    /// A connection closed: if accept() was failing for want of
    /// descriptors, one is free now.
    pub(super) fn descriptor_freed(&mut self) {
        if self.accept_retry.is_some() {
            self.accept_retry = Some(Instant::now());
        }
    }

    /// Tries accept() again if its time has come.
    pub(super) fn retry_accept(&mut self) -> anyhow::Result<()> {
        if self.accept_retry.is_some_and(|at| at <= Instant::now()) {
            self.accept_retry = None;
            self.accept_all()?;
        }
        Ok(())
    }
}

/// Errors of one client that Linux reports from accept(): the next client
/// in the queue is unaffected (see accept(2), "Error handling").
fn client_gave_up(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::EPROTO
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETUNREACH
                | libc::EPERM
        )
    )
}

/// This process's limit on open descriptors (RLIMIT_NOFILE, soft), read from
/// /proc (getrlimit would need `unsafe`). Read at the start: once the limit
/// is reached, opening /proc fails too.
pub(super) fn descriptor_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptor_limit_is_read() {
        assert!(descriptor_limit().is_some_and(|n| n > 0));
    }
}
