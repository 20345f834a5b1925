//! One probe of a scan: a non-blocking connect() to one port, and what its
//! answer means.
//!
//! The socket is made with socket2 and connected without narration (a scan
//! of a thousand ports would be a thousand socket() lines); the port's
//! answer is the narration. The kernel's reply to our SYN shows up as:
//! writable with SO_ERROR 0 (SYN-ACK), SO_ERROR ECONNREFUSED (RST), another
//! SO_ERROR (an ICMP error, a local failure), or nothing at all.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::net::error::NetError;
use crate::trace::explain::Action;

pub struct Probe {
    pub stream: TcpStream,
    pub target: SocketAddr,
    pub started: Instant,
    pub deadline: Instant,
}

/// What came back.
#[derive(Debug)]
pub enum Answer {
    /// SYN-ACK: the handshake completed.
    Open,
    /// RST: connection refused.
    Refused,
    /// The kernel connected the socket to itself: nobody was listening, and
    /// our own ephemeral port happened to be the target (TCP's
    /// "simultaneous open" with itself).
    SelfConnect,
    /// Another error: an ICMP unreachable, or a local failure.
    Failed(io::Error),
    /// Nothing within the timeout.
    Silence,
}

impl Answer {
    /// The port's state and why, in words.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            Answer::Open => ("open", "SYN-ACK: something listens here".into()),
            Answer::Refused => ("closed", "RST: nobody listening".into()),
            Answer::SelfConnect => (
                "closed",
                "nobody listening: the kernel picked this very port as our own source port and connected the socket to itself".into(),
            ),
            Answer::Failed(e) => ("filtered", format!("no handshake: {e}")),
            Answer::Silence => ("filtered", "no answer in time: SYN dropped somewhere".into()),
        }
    }
}

impl Probe {
    /// socket() and connect(). The outer error is ours (out of
    /// descriptors: the scan cannot go on); the inner one is the port's
    /// answer when it came at once.
    pub fn start(
        registry: &Registry,
        token: Token,
        target: SocketAddr,
        timeout: Duration,
    ) -> Result<Result<Probe, Answer>, NetError> {
        let socket = Socket::new(
            Domain::for_address(target),
            Type::STREAM.nonblocking(),
            None,
        )
        .map_err(|e| NetError::new(Action::Connect, target, e))?;
        match socket.connect(&SockAddr::from(target)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Ok(Err(classify(e))),
        }
        let mut stream = TcpStream::from_std(socket.into());
        registry
            .register(&mut stream, token, Interest::WRITABLE | Interest::READABLE)
            .map_err(|e| NetError::new(Action::Connect, target, e))?;
        let started = Instant::now();
        Ok(Ok(Probe {
            stream,
            target,
            started,
            deadline: started + timeout,
        }))
    }

    /// The answer, once poll() has said something about the socket; `None`
    /// while the handshake is still under way.
    pub fn answer(&self) -> Option<Answer> {
        match self.stream.take_error() {
            Ok(Some(e)) => return Some(classify(e)),
            Err(e) => return Some(Answer::Failed(e)),
            Ok(None) => {}
        }
        match self.stream.peer_addr() {
            Ok(peer) if self.stream.local_addr().is_ok_and(|l| l == peer) => {
                Some(Answer::SelfConnect)
            }
            Ok(_) => Some(Answer::Open),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => None,
            Err(e) => Some(classify(e)),
        }
    }
}

fn classify(e: io::Error) -> Answer {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => Answer::Refused,
        Some(libc::ETIMEDOUT) => Answer::Silence,
        _ => Answer::Failed(e),
    }
}
