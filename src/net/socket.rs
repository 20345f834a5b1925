//! The socket calls of the tutorial's flow chart, one function per step group,
//! each narrating what it does.
//!
//! Sockets are made with socket2 so that every call is visible (mio's own
//! `TcpListener::bind` does socket, setsockopt, bind and listen in one go, and
//! the learner would not see them), then handed to mio for the event loop.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::net::{TcpListener, TcpStream, UdpSocket};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::error::{NetContext, NetError};
use crate::trace::explain::Action;
use crate::trace::{Event, Family, Kind, Side, Tracer};

fn new_socket(
    t: &mut Tracer,
    side: Side,
    addr: &SocketAddr,
    kind: Kind,
) -> Result<Socket, NetError> {
    let (ty, proto) = match kind {
        Kind::Stream => (Type::STREAM, Protocol::TCP),
        Kind::Dgram => (Type::DGRAM, Protocol::UDP),
    };
    let socket = Socket::new(Domain::for_address(*addr), ty.nonblocking(), Some(proto))
        .net(Action::Bind, addr)?;
    t.emit(
        side,
        None,
        Event::Socket {
            family: Family::of(addr),
            kind,
            nonblocking: true,
            fd: socket.as_raw_fd(),
        },
    );
    Ok(socket)
}

fn bind(
    t: &mut Tracer,
    side: Side,
    socket: &Socket,
    addr: SocketAddr,
) -> Result<SocketAddr, NetError> {
    socket.bind(&SockAddr::from(addr)).net(Action::Bind, addr)?;
    let local = local_addr(socket).net(Action::Bind, addr)?;
    t.emit(
        side,
        None,
        Event::Bind {
            requested: addr,
            addr: local,
        },
    );
    Ok(local)
}

fn local_addr(socket: &Socket) -> std::io::Result<SocketAddr> {
    socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| std::io::Error::other("the socket has no IP address"))
}

/// socket() → setsockopt(SO_REUSEADDR) → bind() → listen(): a TCP server
/// socket, ready for accept().
pub fn listen_tcp(
    t: &mut Tracer,
    side: Side,
    addr: SocketAddr,
    backlog: i32,
) -> Result<(TcpListener, SocketAddr), NetError> {
    let socket = new_socket(t, side, &addr, Kind::Stream)?;
    socket.set_reuse_address(true).net(Action::Bind, addr)?;
    t.emit(
        side,
        None,
        Event::SetOption {
            option: "SO_REUSEADDR",
            value: 1,
        },
    );
    let local = bind(t, side, &socket, addr)?;
    socket.listen(backlog).net(Action::Listen, local)?;
    t.emit(
        side,
        None,
        Event::Listen {
            addr: local,
            backlog,
        },
    );
    Ok((TcpListener::from_std(socket.into()), local))
}

/// socket() → [bind(source)] → non-blocking connect(). Returns at once: the
/// handshake goes on in the kernel, and [`finish_connect`] checks its result
/// when poll() says the socket is writable.
pub fn start_connect(
    t: &mut Tracer,
    side: Side,
    addr: SocketAddr,
    source: Option<SocketAddr>,
) -> Result<TcpStream, NetError> {
    let socket = new_socket(t, side, &addr, Kind::Stream)?;
    if let Some(source) = source {
        bind(t, side, &socket, source)?;
    }
    let in_progress = match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => false,
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => true,
        Err(e) => return Err(NetError::new(Action::Connect, addr, e)),
    };
    let local = local_addr(&socket).net(Action::Connect, addr)?;
    t.emit(
        side,
        None,
        Event::Connect {
            kind: Kind::Stream,
            addr,
            local,
            in_progress,
        },
    );
    Ok(TcpStream::from_std(socket.into()))
}

/// After poll() reports the connecting socket writable: SO_ERROR says whether
/// the handshake worked. `Ok(None)` means it is still under way (a spurious
/// wake-up): wait for the next writable event.
pub fn finish_connect(
    t: &mut Tracer,
    side: Side,
    stream: &TcpStream,
    addr: SocketAddr,
    started: Instant,
) -> Result<Option<(SocketAddr, SocketAddr)>, NetError> {
    if let Some(e) = stream.take_error().net(Action::Connect, addr)? {
        return Err(NetError::new(Action::Connect, addr, e));
    }
    match stream.peer_addr() {
        Ok(peer) => {
            let local = stream.local_addr().net(Action::Connect, addr)?;
            let micros = started.elapsed().as_micros() as u64;
            t.emit(
                side,
                None,
                Event::Connected {
                    local,
                    peer,
                    micros,
                },
            );
            Ok(Some((local, peer)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(None),
        Err(e) => Err(NetError::new(Action::Connect, addr, e)),
    }
}

/// socket(SOCK_DGRAM) → bind(): a UDP socket that receives on `addr`.
pub fn bind_udp(t: &mut Tracer, side: Side, addr: SocketAddr) -> Result<UdpSocket, NetError> {
    let socket = new_socket(t, side, &addr, Kind::Dgram)?;
    bind(t, side, &socket, addr)?;
    Ok(UdpSocket::from_std(socket.into()))
}

/// socket(SOCK_DGRAM) → [bind(source)] → connect(): a UDP socket with a fixed
/// destination, which lets the kernel report "port unreachable" back to us.
pub fn connect_udp(
    t: &mut Tracer,
    side: Side,
    addr: SocketAddr,
    source: Option<SocketAddr>,
) -> Result<UdpSocket, NetError> {
    let socket = new_socket(t, side, &addr, Kind::Dgram)?;
    if let Some(source) = source {
        bind(t, side, &socket, source)?;
    }
    socket
        .connect(&SockAddr::from(addr))
        .net(Action::Send, addr)?;
    let local = local_addr(&socket).net(Action::Send, addr)?;
    t.emit(
        side,
        None,
        Event::Connect {
            kind: Kind::Dgram,
            addr,
            local,
            in_progress: false,
        },
    );
    Ok(UdpSocket::from_std(socket.into()))
}

/// The local address to bind before connecting, from `-s` and `-p`.
pub fn source_addr(
    target: &SocketAddr,
    ip: Option<std::net::IpAddr>,
    port: Option<u16>,
) -> Option<SocketAddr> {
    if ip.is_none() && port.is_none() {
        return None;
    }
    let unspecified: std::net::IpAddr = if target.is_ipv4() {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    };
    Some(SocketAddr::new(
        ip.unwrap_or(unspecified),
        port.unwrap_or(0),
    ))
}
