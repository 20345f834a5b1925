//! The TCP demo: an echo server and a client in one mio loop.
//!
//! The script follows the tutorial's flow chart: the server makes its socket,
//! binds it and listens; the client connects (non-blocking: EINPROGRESS, then
//! writable); the server accepts; the client sends a line, the server echoes
//! it (RFC 862), the client reads the reply and sends FIN; the server reads 0,
//! sends its own FIN and closes; the client reads 0 and closes.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mio::{Events, Interest, Poll, Token};

use crate::net::conn::{Conn, ReadRound, Sending};
use crate::net::socket::{finish_connect, listen_tcp, start_connect};
use crate::net::{interrupted, readiness, would_block};
use crate::trace::{Event, Level, Op, Side, Tracer};

const LISTENER: Token = Token(0);
const CLIENT: Token = Token(1);
const SERVER: Token = Token(2);
const MESSAGE: &[u8] = b"hello, server\n";
/// The demo is on loopback: if it has not finished by then, something is wrong.
const LIMIT: Duration = Duration::from_secs(10);

pub fn run(t: &mut Tracer) -> anyhow::Result<()> {
    let note = |t: &mut Tracer, side, text: &str| t.emit(side, None, Event::Note { text });
    note(
        t,
        Side::Server,
        "one process plays both sides on loopback; the server echoes what it reads",
    );
    let (mut listener, addr) = listen_tcp(
        t,
        Side::Server,
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        128,
    )?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    match listener.accept() {
        Err(e) if would_block(&e) => {
            t.emit(Side::Server, None, Event::WouldBlock { op: Op::Accept })
        }
        other => bail!("accept() on a fresh listener should wait, got {other:?}"),
    }

    let started = Instant::now();
    let mut client_stream = start_connect(t, Side::Client, addr, None)?;
    poll.registry().register(
        &mut client_stream,
        CLIENT,
        Interest::READABLE | Interest::WRITABLE,
    )?;
    let mut connecting = Some(client_stream);
    let mut client: Option<Conn> = None;
    let mut server: Option<Conn> = None;
    let mut finished = (false, false);
    let mut events = Events::with_capacity(16);
    let mut buf = vec![0; 64 * 1024];
    let deadline = Instant::now() + LIMIT;

    while finished != (true, true) {
        if let Err(e) = poll.poll(
            &mut events,
            Some(deadline.saturating_duration_since(Instant::now())),
        ) {
            if interrupted(&e) {
                continue;
            }
            return Err(e.into());
        }
        if events.is_empty() {
            bail!("the demo did not finish within {LIMIT:?}");
        }
        for e in events.iter() {
            let side = if e.token() == CLIENT {
                Side::Client
            } else {
                Side::Server
            };
            if t.wants(Level::Detail) {
                t.emit(side, None, readiness(e));
            }
            match e.token() {
                LISTENER if server.is_none() => {
                    let (mut stream, peer) = listener.accept().context("accept")?;
                    let local = stream.local_addr()?;
                    t.emit(
                        Side::Server,
                        Some(1),
                        Event::Accept {
                            peer,
                            local,
                            fd: stream.as_raw_fd(),
                        },
                    );
                    poll.registry().register(
                        &mut stream,
                        SERVER,
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    server = Some(Conn::new(1, Side::Server, SERVER, stream, peer));
                }
                CLIENT if connecting.is_some() => {
                    let Some(stream) = connecting.take() else {
                        continue;
                    };
                    match finish_connect(t, Side::Client, &stream, addr, started)? {
                        None => connecting = Some(stream),
                        Some(_) => {
                            let mut conn = Conn::new(1, Side::Client, CLIENT, stream, addr);
                            conn.queue(Rc::new(MESSAGE.to_vec()));
                            conn.flush(t, &mut drop)?;
                            client = Some(conn);
                        }
                    }
                }
                CLIENT => {
                    if let Some(conn) = client.as_mut() {
                        conn.flush(t, &mut drop)?;
                        let round = conn.read_round(t, &mut buf, &mut |_, _, _| Ok(true))?;
                        // The whole echo is back: the client is done talking.
                        if conn.received == MESSAGE.len() as u64 && conn.sending == Sending::Open {
                            conn.finish_sending(true);
                            conn.flush(t, &mut drop)?;
                        }
                        if round == ReadRound::PeerClosed && conn.sending_done() {
                            if let Some(c) = client.take() {
                                c.close(t, poll.registry());
                            }
                            finished.1 = true;
                        }
                    }
                }
                SERVER => {
                    if let Some(conn) = server.as_mut() {
                        conn.flush(t, &mut drop)?;
                        let round = conn.read_round(t, &mut buf, &mut |conn, _, data| {
                            conn.queue(Rc::new(data.to_vec()));
                            Ok(true)
                        })?;
                        if round == ReadRound::PeerClosed {
                            conn.finish_sending(true);
                        }
                        conn.flush(t, &mut drop)?;
                        if round == ReadRound::PeerClosed && conn.sending_done() {
                            if let Some(c) = server.take() {
                                c.close(t, poll.registry());
                            }
                            finished.0 = true;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    note(
        t,
        Side::Client,
        "both sides closed: the client sent FIN first, so its side of the connection now waits in TIME_WAIT",
    );
    Ok(())
}
