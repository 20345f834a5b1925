//! `socklab connect`: the client side of the flow chart.
//!
//! resolve → socket() → non-blocking connect() (EINPROGRESS) → poll() until the
//! socket is writable → SO_ERROR tells whether the handshake worked → read and
//! write → close(). A name with several addresses is tried address by address,
//! each failure narrated.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::error::{NetContext, NetError};
use super::protocol::Framing;
use super::resolve_for;
use super::session::{Policy, Session};
use super::socket::{finish_connect, source_addr, start_connect};
use super::{interrupted, readiness};
use crate::cli::ConnectArgs;
use crate::exit::UsageError;
use crate::framing::Role;
use crate::trace::explain::Action;
use crate::trace::{Event, Level, Side, Tracer};

const CONNECTING: Token = Token(0);

pub fn run(args: &ConnectArgs, t: &mut Tracer) -> anyhow::Result<()> {
    if args.scan {
        return Err(UsageError::new(
            "-z scans: write socklab scan HOST PORTS (connect -z HOST PORTS is rewritten to it before parsing)",
        )
        .into());
    }
    if args.stream.udp {
        return Err(UsageError::new(
            "-u: UDP has no connection to open; send datagrams with `socklab send HOST PORT MESSAGE`",
        )
        .into());
    }
    let (host, port) = args
        .host
        .clone()
        .with_port(args.port)
        .map_err(UsageError::new)?;
    if port == 0 {
        return Err(UsageError::new(
            "port 0 means \"any free port\" when binding; a connection needs the real port of a listener",
        )
        .into());
    }
    let framing = Framing::from_stream(
        &args.framing,
        &args.stream,
        Role::Client,
        format!("{host}:{port}"),
    )?;
    let framing = Framing::client_args(framing, &args.http)?;
    let addrs = resolve_for(t, Side::Client, &host, port, args.lookup.lookup())?;
    // -w bounds the handshake as nc's does; --connect-timeout only that.
    let limit = args.connect_timeout.or(args.stream.timeout);
    let deadline = limit.and_then(|d| Instant::now().checked_add(d));
    let mut poll = Poll::new()?;
    let _ctrl_c = crate::interrupt::watch(poll.registry())?;
    let mut last_error = None;
    for (i, &addr) in addrs.iter().enumerate() {
        let source = source_addr(&addr, args.source, args.source_port);
        match handshake(&mut poll, t, addr, source, deadline, limit) {
            Ok(None) => return Err(crate::interrupt::Interrupted.into()),
            Ok(Some(stream)) => {
                let mut session = Session::new(
                    poll,
                    t,
                    Side::Client,
                    Policy::from_stream(&args.stream),
                    framing.clone(),
                )?;
                hand_over(stream, addr, &mut session)?;
                return session.run();
            }
            Err(e) if i + 1 < addrs.len() => {
                e.emit(t, Side::Client, None);
                t.emit(
                    Side::Client,
                    None,
                    Event::Note {
                        text: "trying the next address",
                    },
                );
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error
        .map(anyhow::Error::from)
        .unwrap_or_else(|| anyhow::anyhow!("no address to connect to")))
}

/// Moves the connected stream from the handshake's registration into the session.
fn hand_over(
    mut stream: TcpStream,
    addr: SocketAddr,
    session: &mut Session,
) -> Result<(), NetError> {
    session
        .registry()
        .deregister(&mut stream)
        .net(Action::Connect, addr)?;
    session.add(stream, addr)
}

/// One connection attempt: start it, then wait in poll() for the kernel to
/// finish (or fail) the three-way handshake. `None`: Ctrl-C came first.
pub(crate) fn handshake(
    poll: &mut Poll,
    t: &mut Tracer,
    addr: SocketAddr,
    source: Option<SocketAddr>,
    deadline: Option<Instant>,
    limit: Option<Duration>,
) -> Result<Option<TcpStream>, NetError> {
    let started = Instant::now();
    let mut stream = start_connect(t, Side::Client, addr, source)?;
    poll.registry()
        .register(
            &mut stream,
            CONNECTING,
            Interest::READABLE | Interest::WRITABLE,
        )
        .net(Action::Connect, addr)?;
    let mut events = Events::with_capacity(4);
    loop {
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if timeout == Some(Duration::ZERO) {
            let _ = poll.registry().deregister(&mut stream);
            let millis = limit.unwrap_or_default().as_millis() as u64;
            t.emit(
                Side::Client,
                None,
                Event::Timeout {
                    what: "connect (-w): the handshake did not finish",
                    millis,
                },
            );
            let cause = std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {millis} ms (-w)"),
            );
            return Err(NetError::new(Action::Connect, addr, cause));
        }
        if let Err(e) = poll.poll(&mut events, timeout) {
            if interrupted(&e) {
                continue;
            }
            return Err(NetError::new(Action::Connect, addr, e));
        }
        if t.wants(Level::Detail) {
            for e in events.iter() {
                t.emit(Side::Client, None, readiness(e));
            }
        }
        if events.iter().any(|e| e.token() == crate::interrupt::TOKEN) {
            return Ok(None);
        }
        if events
            .iter()
            .any(|e| e.token() == CONNECTING && (e.is_writable() || e.is_error()))
        {
            match finish_connect(t, Side::Client, &stream, addr, started) {
                Ok(Some(_)) => return Ok(Some(stream)),
                Ok(None) => continue,
                Err(e) => {
                    let _ = poll.registry().deregister(&mut stream);
                    return Err(e);
                }
            }
        }
    }
}
