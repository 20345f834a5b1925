//! The generator's event loop: thousands of client sockets on one
//! `mio::Poll`, one thread, every socket non-blocking.
//!
//! Session `i` logs in as `user{i}`; sessions pair up (0 with 1, 2 with 3
//! …) and each sends to its partner's bare JID. A message's body carries its
//! send time, so the receiver knows its delivery latency, and the sender's
//! count of messages in flight drops when its partner receives one: that is
//! how the flat-out phase keeps a fixed window of messages in flight
//! (closed loop) instead of filling the server's queues without bound.
//!
//! Writes are gathered: whatever a turn of the loop queues for a session
//! goes out in one `write` at the end of the turn, so the generator makes
//! fewer system calls per message than the server it measures.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::client::{self, Creds, Login};

struct Session {
    stream: TcpStream,
    login: Login,
    connected: bool,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    /// Listed in `dirty`: has bytes to write at the end of this turn.
    dirty: bool,
    seq: u64,
}

pub struct Driver {
    poll: Poll,
    events: Events,
    addr: SocketAddr,
    creds: Creds,
    sessions: Vec<Session>,
    buf: Vec<u8>,
    epoch: Instant,
    dirty: Vec<usize>,
    /// Sessions whose login finished (the ping after presence answered).
    pub ready: usize,
    pub sent: u64,
    pub received: u64,
    /// Sent and not yet received, all sessions together.
    pub inflight: u64,
    /// Messages that did not carry our numbers (errors, for instance).
    pub strays: u64,
    /// Delivery latencies in microseconds, while recording.
    pub latencies: Option<Vec<u32>>,
    /// Each received message makes its sender send the next.
    pub saturating: bool,
}

impl Driver {
    pub fn new(addr: SocketAddr, creds: Creds) -> anyhow::Result<Driver> {
        Ok(Driver {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            addr,
            creds,
            sessions: Vec::new(),
            buf: vec![0; 64 * 1024],
            epoch: Instant::now(),
            dirty: Vec::new(),
            ready: 0,
            sent: 0,
            received: 0,
            inflight: 0,
            strays: 0,
            latencies: None,
            saturating: false,
        })
    }

    pub fn started(&self) -> usize {
        self.sessions.len()
    }

    /// Sessions that can send: an even number, so each has a partner.
    pub fn senders(&self) -> usize {
        self.ready & !1
    }

    /// Opens one more connection; its login runs as the socket answers.
    pub fn connect_one(&mut self) -> anyhow::Result<()> {
        let i = self.sessions.len();
        let mut stream = TcpStream::connect(self.addr)
            .with_context(|| format!("connect #{i} to {}", self.addr))?;
        stream.set_nodelay(true)?;
        self.poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        self.sessions.push(Session {
            stream,
            login: Login::new(format!("user{i}")),
            connected: false,
            inbuf: Vec::new(),
            out: Vec::new(),
            dirty: false,
            seq: 0,
        });
        Ok(())
    }

    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// One round: wait for readiness (at most `timeout`), handle it, write
    /// what the round queued.
    pub fn turn(&mut self, timeout: Duration) -> anyhow::Result<()> {
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<_> = self
            .events
            .iter()
            .map(|e| {
                (
                    e.token().0,
                    e.is_readable() || e.is_read_closed(),
                    e.is_writable(),
                )
            })
            .collect();
        for (i, readable, writable) in ready {
            if writable {
                self.on_writable(i)?;
            }
            if readable {
                self.on_readable(i)?;
            }
        }
        for i in std::mem::take(&mut self.dirty) {
            self.sessions[i].dirty = false;
            self.flush(i)?;
        }
        Ok(())
    }

    fn on_writable(&mut self, i: usize) -> anyhow::Result<()> {
        let s = &mut self.sessions[i];
        if !s.connected {
            if let Some(e) = s.stream.take_error()? {
                bail!("connect #{i} to {}: {e}", self.addr);
            }
            // A writable event can come before the handshake is done
            // (mio's docs): peer_addr() fails until it is.
            if s.stream.peer_addr().is_err() {
                return Ok(());
            }
            s.connected = true;
            Login::header(&self.creds.domain, &mut s.out);
        }
        self.flush(i)
    }

    fn on_readable(&mut self, i: usize) -> anyhow::Result<()> {
        loop {
            let s = &mut self.sessions[i];
            match s.stream.read(&mut self.buf) {
                Ok(0) => bail!(
                    "the server closed user{i}'s connection; last bytes: {}",
                    String::from_utf8_lossy(&s.inbuf)
                ),
                Ok(n) => s.inbuf.extend_from_slice(&self.buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => bail!("read from user{i}'s connection: {e}"),
            }
        }
        self.handle(i)
    }

    /// Moves the login on, or takes the messages out of what arrived.
    fn handle(&mut self, i: usize) -> anyhow::Result<()> {
        let s = &mut self.sessions[i];
        while !s.login.ready() {
            let used = s
                .login
                .feed(&s.inbuf, &self.creds, &mut s.out)
                .map_err(anyhow::Error::msg)?;
            if used == 0 {
                break;
            }
            s.inbuf.drain(..used);
            if s.login.ready() {
                self.ready += 1;
            }
        }
        if !s.out.is_empty() {
            self.mark(i);
        }
        let s = &mut self.sessions[i];
        if !s.login.ready() {
            return Ok(());
        }
        let mut at = 0;
        let mut got = Vec::new();
        while let Some((end, numbers)) = client::next_message(&s.inbuf[at..]) {
            at += end;
            got.push(numbers);
        }
        s.inbuf.drain(..at);
        for numbers in got {
            self.on_message(i, numbers);
        }
        Ok(())
    }

    fn on_message(&mut self, i: usize, numbers: Option<(u64, u64)>) {
        let Some((sent_us, _seq)) = numbers else {
            self.strays += 1;
            return;
        };
        let latency = self.now_us().saturating_sub(sent_us);
        self.received += 1;
        self.inflight = self.inflight.saturating_sub(1);
        if let Some(l) = &mut self.latencies {
            l.push(latency.min(u64::from(u32::MAX)) as u32);
        }
        if self.saturating {
            self.send(i ^ 1);
        }
    }

    /// Queues one message from session `i` to its partner.
    pub fn send(&mut self, i: usize) {
        let now = self.now_us();
        let s = &mut self.sessions[i];
        s.seq += 1;
        client::message(
            &mut s.out,
            &format!("user{}", i ^ 1),
            &self.creds.domain,
            now,
            s.seq,
        );
        self.sent += 1;
        self.inflight += 1;
        self.mark(i);
    }

    fn mark(&mut self, i: usize) {
        let s = &mut self.sessions[i];
        if !s.dirty {
            s.dirty = true;
            self.dirty.push(i);
        }
    }

    fn flush(&mut self, i: usize) -> anyhow::Result<()> {
        let s = &mut self.sessions[i];
        if !s.connected {
            return Ok(());
        }
        let mut done = 0;
        while done < s.out.len() {
            match s.stream.write(&s.out[done..]) {
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => bail!("write to user{i}'s connection: {e}"),
            }
        }
        s.out.drain(..done);
        Ok(())
    }
}
