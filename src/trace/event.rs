//! The `Event`: one value for every step socklab takes on a socket.
//!
//! Code that moves bytes never prints; it records an `Event` and hands it to the
//! [`Tracer`](super::Tracer). Renderers (coloured narration, JSON lines, the
//! lessons' event file, the hex dump) turn the same values into what a person or
//! a program reads. The JSON form of these variants is a stable interface,
//! documented in `docs/events.md`: add fields and variants, never rename them.

use std::net::SocketAddr;

use serde::{Serialize, Serializer};

use super::Untrusted;

/// Which end of the conversation an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The side that binds and waits: `listen`, `recv`, the demo's server.
    Server,
    /// The side that connects or sends: `connect`, `send`, the demo's client.
    Client,
    /// The person doing a lesson (their answers to its questions).
    Learner,
}

impl Side {
    pub fn label(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
            Side::Learner => "you",
        }
    }
}

/// How much a renderer wants to see. Each event has one level; a renderer
/// set to a level sees that level and every level below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Errors only (`--quiet` still shows these).
    Error,
    /// The steps of the call flow: socket, bind, listen, accept, connect, close.
    Step,
    /// Every read, write, datagram and WouldBlock.
    Data,
    /// Every readiness event that poll() reports (`-v`).
    Detail,
}

/// The address family a socket was created in (the first argument of socket()).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Family {
    #[serde(rename = "AF_INET")]
    Inet,
    #[serde(rename = "AF_INET6")]
    Inet6,
}

impl Family {
    pub fn of(addr: &SocketAddr) -> Family {
        if addr.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Family::Inet => "AF_INET",
            Family::Inet6 => "AF_INET6",
        }
    }
}

/// The socket type (the second argument of socket()).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// TCP: a reliable byte stream.
    #[serde(rename = "SOCK_STREAM")]
    Stream,
    /// UDP: independent datagrams.
    #[serde(rename = "SOCK_DGRAM")]
    Dgram,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Stream => "SOCK_STREAM",
            Kind::Dgram => "SOCK_DGRAM",
        }
    }
}

/// Which call would have blocked, or which half of a connection is shut down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Accept,
    Read,
    Write,
    Recv,
    Send,
}

impl Op {
    pub fn call(self) -> &'static str {
        match self {
            Op::Accept => "accept()",
            Op::Read => "read()",
            Op::Write => "write()",
            Op::Recv => "recv()",
            Op::Send => "send()",
        }
    }
}

/// Bytes carried by a read, write or datagram. Renderers that show data (the
/// narration, the hex dump) see all of it; the JSON form carries a preview of
/// the first [`Data::PREVIEW`] bytes so that an event file stays small during a
/// bulk transfer while lessons can still check that "hello" went across.
///
/// JSON strings hold text, and a peer's bytes need not be text: `data` is
/// the preview as UTF-8 (invalid bytes shown as U+FFFD, for a person), and
/// when that lost anything, `data_b64` beside it holds the preview's exact
/// bytes in base64, so a program never loses a byte.
#[derive(Clone, Copy, Debug)]
pub struct Data<'a>(pub &'a [u8]);

impl Data<'_> {
    pub const PREVIEW: usize = 256;

    /// The first [`Data::PREVIEW`] bytes; a UTF-8 character that the cut
    /// would split is left out whole, so that text stays text.
    pub fn preview(&self) -> &[u8] {
        let end = self.0.len().min(Data::PREVIEW);
        let head = &self.0[..end];
        match std::str::from_utf8(head) {
            Err(e) if end < self.0.len() && e.error_len().is_none() => &head[..e.valid_up_to()],
            _ => head,
        }
    }
}

impl Serialize for Data<'_> {
    /// Two fields, `data` and (only for bytes that are not UTF-8)
    /// `data_b64`: the events hold it with `#[serde(flatten)]`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        use serde::ser::SerializeMap;
        let preview = self.preview();
        let text = String::from_utf8_lossy(preview);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("data", &text)?;
        if let std::borrow::Cow::Owned(_) = text {
            let exact = base64::engine::general_purpose::STANDARD.encode(preview);
            map.serialize_entry("data_b64", &exact)?;
        }
        map.end()
    }
}

/// One step on a socket. The variant name is the JSON `step` field.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Event<'a> {
    /// The process began a command. Lessons use it to know who ran what.
    Start { command: &'a str, version: &'a str },
    /// A host name was turned into addresses (getaddrinfo).
    Resolve {
        host: &'a str,
        addrs: Vec<SocketAddr>,
    },
    /// socket(): the kernel made a new endpoint and gave it a file descriptor.
    Socket {
        family: Family,
        kind: Kind,
        nonblocking: bool,
        fd: i32,
    },
    /// setsockopt(): an option changed on the socket.
    SetOption { option: &'a str, value: i64 },
    /// bind(): the socket took a local address. `addr` is what the kernel
    /// really gave (port 0 is replaced by the chosen port).
    Bind {
        requested: SocketAddr,
        addr: SocketAddr,
    },
    /// listen(): the socket now accepts connections. The port is the real one.
    Listen { addr: SocketAddr, backlog: i32 },
    /// connect() was called. For TCP, `in_progress` says the handshake is
    /// running in the kernel (EINPROGRESS); for UDP nothing is sent: the socket
    /// only remembers its destination. `local` is the address the kernel gave.
    Connect {
        kind: Kind,
        addr: SocketAddr,
        local: SocketAddr,
        in_progress: bool,
    },
    /// SO_ERROR read 0 after the socket became writable: the handshake finished.
    Connected {
        local: SocketAddr,
        peer: SocketAddr,
        micros: u64,
    },
    /// accept(): a queued connection became a socket of its own.
    Accept {
        peer: SocketAddr,
        local: SocketAddr,
        fd: i32,
    },
    /// A connection was accepted and closed at once (`--max-conns`).
    Refuse { peer: SocketAddr, limit: usize },
    /// The listening socket was closed: no more clients will be accepted.
    StopListening { addr: SocketAddr },
    /// poll() reported readiness for one socket (`-v`).
    Poll {
        token: usize,
        readable: bool,
        writable: bool,
        read_closed: bool,
        write_closed: bool,
        error: bool,
    },
    /// A call returned EWOULDBLOCK/EAGAIN: the loop goes back to poll().
    WouldBlock { op: Op },
    /// read() returned n > 0 bytes from a stream.
    Read {
        n: usize,
        #[serde(flatten)]
        data: Data<'a>,
    },
    /// write() accepted n bytes into the kernel's send buffer.
    Write {
        n: usize,
        #[serde(flatten)]
        data: Data<'a>,
    },
    /// read() returned 0: the peer sent FIN, no more bytes will come.
    PeerClosed,
    /// Our own input (stdin) ended.
    InputEnd,
    /// shutdown(): one direction of the connection was closed (FIN sent).
    Shutdown { how: &'a str },
    /// close(): the descriptor was released. Totals for the connection.
    Close { sent: u64, received: u64 },
    /// A UDP datagram arrived.
    Datagram {
        number: u64,
        from: SocketAddr,
        n: usize,
        #[serde(flatten)]
        data: Data<'a>,
    },
    /// A UDP datagram was handed to the kernel.
    Sent {
        number: u64,
        to: SocketAddr,
        n: usize,
        #[serde(flatten)]
        data: Data<'a>,
    },
    /// A deadline passed (`-w`, `--idle-timeout`, `--wait`).
    Timeout { what: &'a str, millis: u64 },
    /// A remark that belongs in the narration but is not a socket call.
    Note { text: &'a str },
    /// Something failed. `kind` is a stable identifier from the explanation
    /// table; `why` and `next` are the plain-words explanation.
    Error {
        kind: &'a str,
        /// May quote a peer's bytes (a framing error) or a file's.
        message: Untrusted<'a>,
        why: &'a str,
        next: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        errno: Option<i32>,
        /// The offending bytes and a caret line under the position (framing).
        #[serde(skip_serializing_if = "Option::is_none")]
        pointer: Option<Untrusted<'a>>,
    },
    /// `socklab frame`: bytes handed to the codec, as a read would.
    Feed {
        n: usize,
        #[serde(flatten)]
        data: Data<'a>,
    },
    /// A frame was cut from the buffered bytes.
    Frame {
        proto: &'a str,
        number: u64,
        n: usize,
        /// A summary of the frame, quoting what the peer sent.
        text: Untrusted<'a>,
        #[serde(flatten)]
        data: Data<'a>,
    },
    /// After a read: bytes left in the buffer waiting for the rest of a
    /// frame; `cut` frames were cut from this read.
    Pending {
        proto: &'a str,
        buffered: usize,
        cut: usize,
    },
    /// A frame that is an instant message.
    Message {
        from: Untrusted<'a>,
        to: Untrusted<'a>,
        body: Untrusted<'a>,
    },
    /// What the relay did with datagram or chunk `number` going `dir`
    /// (`up`: client to target, `down`: back): forwarded, dropped,
    /// duplicated, held back and released (reordered), delayed, sliced,
    /// coalesced.
    Relay {
        dir: &'a str,
        number: u64,
        n: usize,
        fate: &'a str,
        millis: u64,
        client: SocketAddr,
    },
    /// `socklab scan`: what one port answered. `state`: `open` (SYN-ACK),
    /// `closed` (RST), `filtered` (no answer in time, or an ICMP error);
    /// `why` says which, in words; `micros`: from connect() to the answer.
    Port {
        addr: SocketAddr,
        state: &'a str,
        why: &'a str,
        micros: u64,
    },
    /// `socklab scan` finished: how many ports gave each answer.
    Scanned {
        ports: usize,
        open: usize,
        closed: usize,
        filtered: usize,
        millis: u64,
    },
    /// `--proto telnet`: a command the peer sent (RFC 854), by name, what
    /// it asks for, and what socklab answered.
    Telnet {
        /// `DO`, `DONT`, `WILL`, `WONT`, `SB` (a subnegotiation), or another
        /// command's name (`NOP`, `AYT`, `IP`, ...).
        command: &'a str,
        /// The option's number, for DO/DONT/WILL/WONT/SB.
        #[serde(skip_serializing_if = "Option::is_none")]
        option: Option<u8>,
        /// The option's name (`TERMINAL-TYPE`) and where it is defined.
        name: &'a str,
        rfc: &'a str,
        /// What the command asks for, in words.
        meaning: &'a str,
        /// A subnegotiation's parameters, decoded where socklab knows the
        /// option (NAWS: `80x24`), else escaped bytes.
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<Untrusted<'a>>,
        /// What socklab sent back (`IAC WONT TERMINAL-TYPE`), if anything,
        /// and why.
        #[serde(skip_serializing_if = "Option::is_none")]
        answer: Option<&'a str>,
        why: &'a str,
    },
    /// One measured quantity of a `socklab compare` experiment.
    Measured {
        experiment: &'a str,
        key: &'a str,
        value: f64,
        unit: &'a str,
    },
    /// A decision of the chat server or client: a login, a route, a
    /// message stored offline... `action` is a stable identifier, `user`
    /// the account concerned (may be empty), `text` the narration.
    Chat {
        action: &'a str,
        user: &'a str,
        text: &'a str,
    },
    /// The command finished with this exit code.
    Exit { code: i32 },
    /// The command line was rejected before anything ran (exit code 2).
    UsageError { message: &'a str },
    /// The learner answered a lesson question.
    Answer { question: &'a str, value: &'a str },
}

impl Event<'_> {
    /// The JSON `step` name, also the key for first-time explanations.
    pub fn step(&self) -> &'static str {
        match self {
            Event::Start { .. } => "start",
            Event::Resolve { .. } => "resolve",
            Event::Socket { .. } => "socket",
            Event::SetOption { .. } => "set_option",
            Event::Bind { .. } => "bind",
            Event::Listen { .. } => "listen",
            Event::Connect { .. } => "connect",
            Event::Connected { .. } => "connected",
            Event::Accept { .. } => "accept",
            Event::Refuse { .. } => "refuse",
            Event::StopListening { .. } => "stop_listening",
            Event::Poll { .. } => "poll",
            Event::WouldBlock { .. } => "would_block",
            Event::Read { .. } => "read",
            Event::Write { .. } => "write",
            Event::PeerClosed => "peer_closed",
            Event::InputEnd => "input_end",
            Event::Shutdown { .. } => "shutdown",
            Event::Close { .. } => "close",
            Event::Datagram { .. } => "datagram",
            Event::Sent { .. } => "sent",
            Event::Timeout { .. } => "timeout",
            Event::Note { .. } => "note",
            Event::Error { .. } => "error",
            Event::Exit { .. } => "exit",
            Event::UsageError { .. } => "usage_error",
            Event::Feed { .. } => "feed",
            Event::Frame { .. } => "frame",
            Event::Pending { .. } => "pending",
            Event::Message { .. } => "message",
            Event::Relay { .. } => "relay",
            Event::Measured { .. } => "measured",
            Event::Port { .. } => "port",
            Event::Scanned { .. } => "scanned",
            Event::Telnet { .. } => "telnet",
            Event::Answer { .. } => "answer",
            Event::Chat { .. } => "chat",
        }
    }

    pub fn level(&self) -> Level {
        match self {
            Event::Error { .. } | Event::UsageError { .. } => Level::Error,
            Event::Poll { .. } => Level::Detail,
            Event::WouldBlock { .. }
            | Event::Read { .. }
            | Event::Write { .. }
            | Event::Datagram { .. }
            | Event::Sent { .. }
            | Event::Feed { .. }
            | Event::Pending { .. }
            | Event::Relay { .. } => Level::Data,
            // A scan of a range is mostly closed ports: they are data; what
            // answered otherwise is a step.
            Event::Port { state, .. } if *state == "closed" => Level::Data,
            _ => Level::Step,
        }
    }
}
