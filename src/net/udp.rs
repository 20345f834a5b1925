//! `socklab send` and `socklab recv`: UDP, where there is no connection.
//!
//! The verbs differ from TCP's on purpose. A UDP socket does not listen or
//! accept; it receives whatever datagram anyone sends to its port, and each
//! datagram arrives whole or not at all, with its sender's address attached.
//! `recv` therefore never locks onto its first peer: every datagram is shown
//! with who sent it. `send` connects its socket, which sends nothing but lets
//! the kernel report an ICMP "port unreachable" back as ECONNREFUSED: the only
//! way UDP ever tells you that nobody is listening.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};

use super::error::{NetContext, NetError};
use super::output::{Output, reader_gone};
use super::protocol::{Framing, Inbound, InboundError, Outbound};
use super::socket::{bind_udp, connect_udp, source_addr};
use super::stdin::{Input, StdinPump};
use super::{interrupted, readiness, resolve_for, would_block};
use crate::addr::parse_port;
use crate::cli::{RecvArgs, SendArgs};
use crate::exit::UsageError;
use crate::framing::Role;
use crate::trace::explain::Action;
use crate::trace::{Data, Event, Level, Op, Side, Tracer};

const SOCKET: Token = Token(0);
const STDIN: Token = Token(1);
/// Room for the largest datagram there is (65,535 bytes of IP packet).
const DATAGRAM_BUF: usize = 65_536;
/// `--size` larger than this could never be a datagram anyway.
const MAX_SIZE: usize = 1 << 20;

/// `socklab recv`: bind, then show every datagram as it comes.
pub fn recv(args: &RecvArgs, t: &mut Tracer) -> anyhow::Result<()> {
    let lookup = args.lookup.lookup();
    let (host, port) = args.addr.bind_target_for(lookup).map_err(UsageError::new)?;
    let addrs = resolve_for(t, Side::Server, &host, port, lookup)?;
    let mut socket = bind_udp(t, Side::Server, addrs[0])?;
    let local = socket.local_addr()?;
    let waiting = format!(
        "waiting for datagrams on {local}: no listen(), no accept(), anyone may send to this port"
    );
    t.emit(Side::Server, None, Event::Note { text: &waiting });
    let mut inbound =
        Framing::from_args(&args.framing, Role::Server, local.to_string())?.map(|f| f.inbound());
    if inbound.is_some() {
        let text =
            "UDP keeps message boundaries: each datagram is decoded as one frame, on its own";
        t.emit(Side::Server, None, Event::Note { text });
    }
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut socket, SOCKET, Interest::READABLE | Interest::WRITABLE)
        .net(Action::Recv, local)?;
    let mut stdout = Output::stdout()?;
    let mut events = Events::with_capacity(16);
    let mut buf = vec![0; DATAGRAM_BUF];
    let mut replies: VecDeque<(SocketAddr, Vec<u8>, u64)> = VecDeque::new();
    let mut number = 0u64;
    loop {
        flush_replies(t, &socket, &mut replies)?;
        if args.count.is_some_and(|c| number >= c) && replies.is_empty() {
            return Ok(());
        }
        poll_retrying(&mut poll, &mut events, None).net(Action::Recv, local)?;
        if t.wants(Level::Detail) {
            events
                .iter()
                .for_each(|e| t.emit(Side::Server, None, readiness(e)));
        }
        while args.count.is_none_or(|c| number < c) {
            match socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    number += 1;
                    let data = &buf[..n];
                    t.emit(
                        Side::Server,
                        None,
                        Event::Datagram {
                            number,
                            from,
                            n,
                            data: Data(data),
                        },
                    );
                    if let Err(e) = show(t, Side::Server, &mut inbound, &mut stdout, data) {
                        return quiet_if_gone(e, t);
                    }
                    if args.echo {
                        replies.push_back((from, data.to_vec(), number));
                    }
                }
                Err(e) if would_block(&e) => {
                    t.emit(Side::Server, None, Event::WouldBlock { op: Op::Recv });
                    break;
                }
                Err(e) if interrupted(&e) => {}
                Err(e) => return Err(NetError::new(Action::Recv, local, e).into()),
            }
        }
    }
}

/// `--echo`: sends queued replies until the socket's buffer is full.
fn flush_replies(
    t: &mut Tracer,
    socket: &UdpSocket,
    replies: &mut VecDeque<(SocketAddr, Vec<u8>, u64)>,
) -> Result<(), NetError> {
    while let Some((to, data, number)) = replies.front() {
        match socket.send_to(data, *to) {
            Ok(n) => {
                let (to, number) = (*to, *number);
                t.emit(
                    Side::Server,
                    None,
                    Event::Sent {
                        number,
                        to,
                        n,
                        data: Data(data),
                    },
                );
                replies.pop_front();
            }
            Err(e) if would_block(&e) => {
                t.emit(Side::Server, None, Event::WouldBlock { op: Op::Send });
                return Ok(());
            }
            Err(e) if interrupted(&e) => {}
            Err(e) => {
                // A reply that cannot be sent (the sender vanished) is
                // reported, and the other senders are still served.
                NetError::new(Action::Send, to, e).emit(t, Side::Server, None);
                replies.pop_front();
            }
        }
    }
    Ok(())
}

/// What `send` sends: given on the command line, or read from stdin.
enum Payload {
    /// A MESSAGE argument (encoded by `--proto`, if any).
    Given(Vec<u8>),
    /// `--size N` filler, sent as it is.
    Pattern(Vec<u8>),
    Lines,
}

/// Shows a received datagram: decoded as one frame with `--proto`, else as
/// it is.
fn show(
    t: &mut Tracer,
    side: Side,
    inbound: &mut Option<Inbound>,
    out: &mut Output,
    data: &[u8],
) -> io::Result<()> {
    match inbound {
        Some(inbound) => match inbound.datagram(t, side, data, out) {
            Err(InboundError::Output(e)) => Err(e),
            _ => Ok(()),
        },
        None => out.write_whole(data),
    }
}

/// `socklab send HOST PORT [MESSAGE]`.
pub fn send(args: &SendArgs, t: &mut Tracer) -> anyhow::Result<()> {
    let (host, port, payload) = parse_send_args(args).map_err(UsageError::new)?;
    let framing = Framing::from_args(&args.framing, Role::Client, format!("{host}:{port}"))?;
    let addrs = resolve_for(t, Side::Client, &host, port, args.lookup.lookup())?;
    let addr = addrs[0];
    let source = source_addr(&addr, args.source, args.source_port);
    let mut socket = connect_udp(t, Side::Client, addr, source)?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut socket, SOCKET, Interest::READABLE | Interest::WRITABLE)
        .net(Action::Send, addr)?;
    let mut sender = Sender {
        socket,
        addr,
        pending: VecDeque::new(),
        sent: 0,
        replies: 0,
        stdout: Output::stdout()?,
        buf: vec![0; DATAGRAM_BUF],
        inbound: framing.as_ref().map(Framing::inbound),
        outbound: framing.as_ref().map(Framing::outbound),
    };
    let mut stdin = match payload {
        Payload::Given(data) => {
            sender.add(t, [data.as_slice(), b"\n"].concat(), true);
            None
        }
        Payload::Pattern(data) => {
            sender.pending.push_back(data);
            None
        }
        Payload::Lines => {
            let waker = Arc::new(Waker::new(poll.registry(), STDIN)?);
            Some((StdinPump::spawn(waker)?, Vec::new()))
        }
    };
    let mut events = Events::with_capacity(16);
    let mut deadline: Option<Instant> = None;
    loop {
        if !sender.send_pending(t)? {
            return Ok(());
        }
        if sender.pending.is_empty()
            && let Some((pump, partial)) = &mut stdin
        {
            match pump.try_next() {
                Some(Input::Data(chunk)) => {
                    let mut lines = VecDeque::new();
                    split_lines(partial, &chunk, &mut lines);
                    lines
                        .into_iter()
                        .for_each(|line| sender.add(t, line, false));
                    continue;
                }
                Some(Input::End) => {
                    t.emit(Side::Client, None, Event::InputEnd);
                    if !partial.is_empty() {
                        let line = std::mem::take(partial);
                        sender.add(t, line, false);
                    }
                    stdin = None;
                    continue;
                }
                Some(Input::Failed(e)) => {
                    return Err(NetError::new(Action::Stdin, "stdin", e).into());
                }
                None => {}
            }
        }
        if stdin.is_none() && sender.pending.is_empty() && deadline.is_none() {
            deadline = Instant::now().checked_add(args.wait);
        }
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if timeout == Some(Duration::ZERO) {
            if sender.replies == 0 {
                let text = format!(
                    "no reply within {} ms (--wait): UDP gives no receipt, so the datagram may have arrived or not",
                    args.wait.as_millis()
                );
                t.emit(Side::Client, None, Event::Note { text: &text });
            }
            return Ok(());
        }
        poll_retrying(&mut poll, &mut events, timeout).net(Action::Send, addr)?;
        if t.wants(Level::Detail) {
            events
                .iter()
                .for_each(|e| t.emit(Side::Client, None, readiness(e)));
        }
        if events
            .iter()
            .any(|e| e.token() == SOCKET && e.is_readable())
            && !sender.receive(t)?
        {
            return Ok(());
        }
    }
}

struct Sender {
    socket: UdpSocket,
    addr: SocketAddr,
    pending: VecDeque<Vec<u8>>,
    sent: u64,
    replies: u64,
    stdout: Output,
    buf: Vec<u8>,
    inbound: Option<Inbound>,
    outbound: Option<Outbound>,
}

impl Sender {
    /// Queues one datagram for a line of input, encoded by `--proto` when it
    /// takes input line by line. `argument`: the line came from the command
    /// line, where the newline was added and is not part of the message.
    fn add(&mut self, t: &mut Tracer, line: Vec<u8>, argument: bool) {
        match self.outbound.as_mut().filter(|o| o.by_line()) {
            Some(out) => {
                let mut encoded = out.encode(t, Side::Client, &line);
                encoded.bytes.extend(out.finish(t, Side::Client).bytes);
                if !encoded.bytes.is_empty() {
                    self.pending.push_back(encoded.bytes);
                }
            }
            None if argument => self.pending.push_back(line[..line.len() - 1].to_vec()),
            None => self.pending.push_back(line),
        }
    }

    /// Sends queued datagrams until done or the socket buffer is full.
    /// Returns false when stdout is gone and the command should stop.
    fn send_pending(&mut self, t: &mut Tracer) -> anyhow::Result<bool> {
        while let Some(data) = self.pending.front() {
            match self.socket.send(data) {
                Ok(n) => {
                    self.sent += 1;
                    let ev = Event::Sent {
                        number: self.sent,
                        to: self.addr,
                        n,
                        data: Data(data),
                    };
                    t.emit(Side::Client, None, ev);
                    self.pending.pop_front();
                }
                Err(e) if would_block(&e) => {
                    t.emit(Side::Client, None, Event::WouldBlock { op: Op::Send });
                    return Ok(true);
                }
                Err(e) if interrupted(&e) => {}
                Err(e) => return Err(NetError::new(Action::Send, self.addr, e).into()),
            }
            // Replies and "port unreachable" news may already be waiting.
            if !self.receive(t)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads replies. ECONNREFUSED here is the ICMP "port unreachable" that
    /// answered one of our datagrams: nobody is listening.
    fn receive(&mut self, t: &mut Tracer) -> anyhow::Result<bool> {
        loop {
            match self.socket.recv(&mut self.buf) {
                Ok(n) => {
                    self.replies += 1;
                    let data = &self.buf[..n];
                    let ev = Event::Datagram {
                        number: self.replies,
                        from: self.addr,
                        n,
                        data: Data(data),
                    };
                    t.emit(Side::Client, None, ev);
                    if let Err(e) = show(t, Side::Client, &mut self.inbound, &mut self.stdout, data)
                    {
                        quiet_if_gone(e, t)?;
                        return Ok(false);
                    }
                }
                Err(e) if would_block(&e) => return Ok(true),
                Err(e) if interrupted(&e) => {}
                Err(e) => return Err(NetError::new(Action::Send, self.addr, e).into()),
            }
        }
    }
}

/// Splits `[PORT] [MESSAGE]` after `HOST[:PORT]`, and picks the payload.
fn parse_send_args(args: &SendArgs) -> Result<(crate::addr::Host, u16, Payload), String> {
    let mut rest = args.rest.iter();
    let port_arg = if args.host.port.is_some() {
        None
    } else {
        Some(parse_port(
            rest.next()
                .ok_or("which port? write HOST PORT or HOST:PORT")?,
        )?)
    };
    // The words of a message are joined by spaces, as echo joins its
    // arguments: `send HOST PORT hello world` sends "hello world".
    let words: Vec<&str> = rest.map(String::as_str).collect();
    let joined = words.join(" ");
    let message = (!words.is_empty()).then_some(&joined);
    let (host, port) = args.host.clone().with_port(port_arg)?;
    if port == 0 {
        return Err("port 0 means \"any free port\" when binding; a datagram needs the real port of a receiver".into());
    }
    let payload = match (message, args.size) {
        (Some(_), Some(_)) => return Err("give a MESSAGE or --size, not both".into()),
        (Some(m), None) => Payload::Given(m.as_bytes().to_vec()),
        (None, Some(n)) if n > MAX_SIZE => {
            return Err(format!(
                "--size {n} is far beyond any datagram (an IP packet holds at most 65,535 bytes); try --size 65507 or --size 65508"
            ));
        }
        (None, Some(n)) => Payload::Pattern(pattern(n)),
        (None, None) => Payload::Lines,
    };
    Ok((host, port, payload))
}

/// `n` bytes of readable filler: `abcdefghijklmnopqrstuvwxyzabc...`.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Cuts complete lines (with their newline) out of stdin chunks: one line is
/// one datagram. A line longer than any datagram is sent as it is, so that
/// the kernel's EMSGSIZE can be seen and explained.
fn split_lines(partial: &mut Vec<u8>, chunk: &[u8], out: &mut VecDeque<Vec<u8>>) {
    for piece in chunk.split_inclusive(|&b| b == b'\n') {
        partial.extend_from_slice(piece);
        if piece.ends_with(b"\n") || partial.len() > DATAGRAM_BUF {
            out.push_back(std::mem::take(partial));
        }
    }
}

fn poll_retrying(
    poll: &mut Poll,
    events: &mut Events,
    timeout: Option<Duration>,
) -> io::Result<()> {
    loop {
        match poll.poll(events, timeout) {
            Err(e) if interrupted(&e) => continue,
            other => return other,
        }
    }
}

fn quiet_if_gone(e: io::Error, t: &mut Tracer) -> anyhow::Result<()> {
    if reader_gone(&e) {
        t.emit(
            Side::Server,
            None,
            Event::Note {
                text: "stdout was closed by its reader: stopping",
            },
        );
        Ok(())
    } else {
        Err(NetError::new(Action::Stdout, "stdout", e).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_is_one_datagram_whatever_the_chunks() {
        let mut partial = Vec::new();
        let mut out = VecDeque::new();
        split_lines(&mut partial, b"one\ntw", &mut out);
        split_lines(&mut partial, b"o\nthree", &mut out);
        assert_eq!(out, [b"one\n".to_vec(), b"two\n".to_vec()]);
        assert_eq!(partial, b"three");
    }

    #[test]
    fn pattern_is_readable_and_exact() {
        assert_eq!(pattern(28), b"abcdefghijklmnopqrstuvwxyzab");
        assert_eq!(pattern(65_507).len(), 65_507);
    }
}
