//! Sockets and the event loop.
//!
//! - [`socket`]: the calls of the flow chart (socket, bind, listen, connect),
//!   each narrated;
//! - [`conn`] and [`session`]: a TCP connection and the mio loop that serves
//!   one or many of them with stdin and stdout;
//! - [`listen`], [`connect`]: the two TCP commands; [`udp`]: `send` and `recv`;
//! - [`stdin`], [`output`]: the process's own input and output;
//! - [`error`]: a failed call with enough context to explain it.

pub mod conn;
pub mod connect;
pub mod error;
pub mod listen;
pub mod output;
pub mod protocol;
pub mod session;
pub mod socket;
pub mod stdin;
pub mod udp;

use std::io;
use std::net::SocketAddr;

use crate::addr::{Host, Lookup, resolve};
use crate::exit::UsageError;
use crate::trace::explain::Action;
use crate::trace::{Event, Side, Tracer};
use error::NetContext;

/// The call could not complete without blocking: go back to poll().
pub fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// A signal arrived during the call: simply call again.
pub fn interrupted(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}

/// Resolves a host, narrating the lookup when it is a name.
pub fn resolve_narrated(
    t: &mut Tracer,
    side: Side,
    host: &Host,
    port: u16,
) -> anyhow::Result<Vec<SocketAddr>> {
    resolve_for(t, side, host, port, Lookup::default())
}

/// [`resolve_narrated`] under `-4`, `-6` and `-n`: a host the flags refuse
/// is a usage error; a name without an address of the family, a lookup
/// error.
pub fn resolve_for(
    t: &mut Tracer,
    side: Side,
    host: &Host,
    port: u16,
    lookup: Lookup,
) -> anyhow::Result<Vec<SocketAddr>> {
    lookup.check(host).map_err(UsageError::new)?;
    let addrs = resolve(host, port)
        .and_then(|a| lookup.filter(a))
        .net(Action::Resolve, host)?;
    if let Host::Name(name) = host {
        t.emit(
            side,
            None,
            Event::Resolve {
                host: name,
                addrs: addrs.clone(),
            },
        );
    }
    Ok(addrs)
}

/// The `-v` event for one readiness report from poll().
pub fn readiness(e: &mio::event::Event) -> Event<'static> {
    Event::Poll {
        token: e.token().0,
        readable: e.is_readable(),
        writable: e.is_writable(),
        read_closed: e.is_read_closed(),
        write_closed: e.is_write_closed(),
        error: e.is_error(),
    }
}

/// What poll() said about one socket.
#[derive(Clone, Copy, Debug)]
pub struct Ready {
    pub token: mio::Token,
    /// Readable, or closed for reading, or in error: a read will say which.
    pub readable: bool,
    pub writable: bool,
}

/// Sleeps in poll() until something is ready or `timeout` passes, and lists
/// what is ready (nothing, if a signal interrupted the wait).
pub fn wait(
    poll: &mut mio::Poll,
    events: &mut mio::Events,
    timeout: Option<std::time::Duration>,
) -> io::Result<Vec<Ready>> {
    match poll.poll(events, timeout) {
        Err(e) if interrupted(&e) => return Ok(Vec::new()),
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    Ok(events
        .iter()
        .map(|e| Ready {
            token: e.token(),
            readable: e.is_readable() || e.is_read_closed() || e.is_error(),
            writable: e.is_writable(),
        })
        .collect())
}
