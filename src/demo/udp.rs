//! The UDP demo, side by side: a receiver (left) and a sender (right).
//!
//! Three sends become three datagrams, each received whole and on its own
//! (UDP keeps message boundaries, unlike TCP's stream); the receiver echoes
//! each one to whoever sent it; then the sender aims at a port where nobody
//! listens and learns it only because its socket is connected and the kernel
//! got an ICMP "port unreachable" back.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::bail;
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

use crate::net::error::NetError;
use crate::net::socket::{bind_udp, connect_udp};
use crate::net::{interrupted, would_block};
use crate::trace::explain::Action;
use crate::trace::{Data, Event, Op, Side, Tracer};

const SERVER: Token = Token(0);
const CLIENT: Token = Token(1);
const PROBE: Token = Token(2);
const MESSAGES: [&str; 3] = ["one", "two", "three"];
const LIMIT: Duration = Duration::from_secs(10);

pub fn run(t: &mut Tracer) -> anyhow::Result<()> {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut server = bind_udp(t, Side::Server, loopback)?;
    let server_addr = server.local_addr()?;
    let mut client = bind_udp(t, Side::Client, loopback)?;
    let client_addr = client.local_addr()?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut server, SERVER, Interest::READABLE)?;
    poll.registry()
        .register(&mut client, CLIENT, Interest::READABLE)?;

    t.emit(
        Side::Client,
        None,
        Event::Note {
            text: "three send() calls, no connection",
        },
    );
    for (i, msg) in MESSAGES.iter().enumerate() {
        let n = client.send_to(msg.as_bytes(), server_addr)?;
        let ev = Event::Sent {
            number: i as u64 + 1,
            to: server_addr,
            n,
            data: Data(msg.as_bytes()),
        };
        t.emit(Side::Client, None, ev);
    }

    let mut events = Events::with_capacity(16);
    let mut buf = vec![0; 65_536];
    let (mut received, mut echoed) = (0u64, 0u64);
    let deadline = Instant::now() + LIMIT;
    while echoed < MESSAGES.len() as u64 {
        wait(&mut poll, &mut events, deadline)?;
        for e in events.iter() {
            let (socket, side) = match e.token() {
                SERVER => (&server, Side::Server),
                _ => (&client, Side::Client),
            };
            loop {
                match socket.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        let number = if side == Side::Server {
                            &mut received
                        } else {
                            &mut echoed
                        };
                        *number += 1;
                        let data = Data(&buf[..n]);
                        t.emit(
                            side,
                            None,
                            Event::Datagram {
                                number: *number,
                                from,
                                n,
                                data,
                            },
                        );
                        if side == Side::Server {
                            let n = server.send_to(&buf[..n], from)?;
                            let ev = Event::Sent {
                                number: *number,
                                to: from,
                                n,
                                data: Data(&buf[..n]),
                            };
                            t.emit(Side::Server, None, ev);
                        }
                    }
                    Err(e) if would_block(&e) => {
                        t.emit(side, None, Event::WouldBlock { op: Op::Recv });
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    let _ = client_addr;

    t.emit(
        Side::Client,
        None,
        Event::Note {
            text: "now a datagram to a port where nobody listens",
        },
    );
    let closed = free_port()?;
    let mut probe = connect_udp(t, Side::Client, closed, None)?;
    poll.registry()
        .register(&mut probe, PROBE, Interest::READABLE)?;
    let msg = b"anyone there?";
    let n = probe.send(msg)?;
    t.emit(
        Side::Client,
        None,
        Event::Sent {
            number: 1,
            to: closed,
            n,
            data: Data(msg),
        },
    );
    loop {
        wait(&mut poll, &mut events, deadline)?;
        match probe.recv(&mut buf) {
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                // Not a failure of the demo: this is the lesson.
                NetError::new(Action::Send, closed, e).emit(t, Side::Client, None);
                break;
            }
            Err(e) if would_block(&e) => continue,
            other => bail!("expected \"port unreachable\" from {closed}, got {other:?}"),
        }
    }
    t.emit(
        Side::Server,
        None,
        Event::Note {
            text: "the receiver never knew: no connection, nothing to tell it",
        },
    );
    Ok(())
}

fn wait(poll: &mut Poll, events: &mut Events, deadline: Instant) -> anyhow::Result<()> {
    loop {
        match poll.poll(
            events,
            Some(deadline.saturating_duration_since(Instant::now())),
        ) {
            Err(e) if interrupted(&e) => continue,
            Err(e) => return Err(e.into()),
            Ok(()) if events.is_empty() => bail!("the demo did not finish within {LIMIT:?}"),
            Ok(()) => return Ok(()),
        }
    }
}

/// A loopback UDP port with nobody on it: bind port 0, note the port, close.
fn free_port() -> std::io::Result<SocketAddr> {
    let socket = UdpSocket::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    socket.local_addr()
}
