//! Explanations, kept in one place so that the narration, error messages and
//! lessons say the same thing.
//!
//! Two tables: [`why`] gives the one-line reason attached to a step the first
//! time it appears ("why does read() return 0?"); [`explain`] turns a failed
//! socket call into what happened, why, and what to do next, keyed by the call
//! and the errno.

use std::io;

use super::event::{Event, Kind};

/// The one-line "why" for a step, shown the first time the step appears.
pub fn why(event: &Event) -> Option<&'static str> {
    Some(match event {
        Event::Resolve { .. } => {
            "a name like localhost is looked up (in /etc/hosts or DNS) to get IP addresses; sockets only know addresses"
        }
        Event::Socket { .. } => {
            "socket() asks the kernel for a new endpoint; you get back a small number, a file descriptor, that names it in every later call"
        }
        Event::SetOption {
            option: "SO_LINGER",
            ..
        } => {
            "SO_LINGER with a timeout of 0 makes close() abort the connection: the kernel sends RST instead of FIN and drops unsent data, so the peer sees ECONNRESET, not an orderly end"
        }
        Event::SetOption { .. } => {
            "SO_REUSEADDR lets a restarted server bind its port at once, even while old connections on it wait out TIME_WAIT"
        }
        Event::Bind { .. } => {
            "bind() gives the socket its local address: which IP (which network interface) and which port (which program on this host)"
        }
        Event::Listen { .. } => {
            "listen() turns the socket into a listening one: the kernel now completes handshakes by itself and queues the new connections (the backlog) until accept() takes them"
        }
        Event::Connect {
            kind: Kind::Dgram, ..
        } => {
            "connect() on a UDP socket sends nothing: it records the destination, so send() needs no address and the kernel can report ICMP errors (nobody listening) back to us"
        }
        Event::Connect {
            in_progress: true, ..
        } => {
            "a non-blocking connect() returns EINPROGRESS at once: the kernel sends SYN, waits for SYN-ACK and answers ACK (the three-way handshake) while our loop waits in poll()"
        }
        Event::Connect { .. } => "connect() finished at once: the handshake was already done",
        Event::Connected { .. } => {
            "the socket became writable, and SO_ERROR = 0 says the handshake succeeded; the OS picked our local (ephemeral) port"
        }
        Event::Accept { .. } => {
            "accept() takes one finished handshake off the listen queue and returns a new socket just for that client; the listening socket keeps listening"
        }
        Event::Refuse { .. } => {
            "the handshake is done by the kernel before we can say no, so refusing means accepting and closing at once"
        }
        Event::StopListening { .. } => {
            "like nc, listen serves one client; closing the listening socket makes new connection attempts fail (use -k to keep accepting)"
        }
        Event::Poll { .. } => {
            "poll() (epoll on Linux) sleeps until the kernel says a socket is ready, so one thread can serve many sockets without spinning"
        }
        Event::WouldBlock { .. } => {
            "the socket is non-blocking: instead of putting the program to sleep, the call says EAGAIN (would block) and the loop goes back to poll()"
        }
        Event::Read { .. } => {
            "read() returns whatever bytes have arrived so far; TCP is a stream, so one read may hold several writes, or part of one"
        }
        Event::Write { .. } => {
            "write() copies bytes into the kernel's send buffer and returns; the kernel sends them and retransmits them if they are lost"
        }
        Event::PeerClosed => {
            "read() returning 0 is how the kernel says the peer sent FIN: it will send no more bytes (it may still read ours)"
        }
        Event::InputEnd => "our input ended (Ctrl-D on a terminal, or the end of a pipe or file)",
        Event::Shutdown { .. } => {
            "shutdown(Write) sends FIN: \"I am done sending\", while we can still read the peer's reply (a half-close)"
        }
        Event::Close { .. } => {
            "close() releases the descriptor; if we had not sent FIN yet the kernel sends it now. The side that sends FIN first waits in TIME_WAIT (about a minute)"
        }
        Event::Datagram { .. } => {
            "UDP keeps message boundaries: one send() is one datagram is one recv(), from whoever sent it; there is no connection"
        }
        Event::Sent { .. } => {
            "send() on UDP hands one whole datagram to the kernel; nothing tells us whether it arrives"
        }
        Event::Timeout { .. } => {
            "a deadline passed: a program that waits on the network needs limits, or a silent or slow peer holds it (and its resources) forever"
        }
        Event::Frame { .. } => {
            "TCP delivers a stream of bytes with no boundaries; the protocol says where each message ends, and the reader cuts it out of what it has buffered"
        }
        Event::Port { state: "open", .. } => {
            "open: our SYN was answered by SYN-ACK, so a socket listens there and its kernel completed the handshake (before any accept()); a connect scan then closes at once, so the program behind the port sees a client come and go"
        }
        Event::Port {
            state: "closed", ..
        } => {
            "closed: the SYN was answered by RST (ECONNREFUSED): the host is there, but no socket listens on this port"
        }
        Event::Port { .. } => {
            "filtered: no answer at all in time (or an ICMP error): a firewall dropped the SYN, or the host is down; on loopback no firewall sits by default, but a listener whose accept queue is full drops SYNs too, and silence looks the same"
        }
        Event::Telnet { .. } => {
            "telnet (RFC 854) mixes commands into the data: byte 255 (IAC, \"interpret as command\") starts one; DO/DONT/WILL/WONT negotiate options (each side asks or offers, the other agrees or refuses), SB … SE carries an option's parameters, and IAC IAC is a data byte 255"
        }
        Event::Pending { cut: 0, .. } => {
            "the bytes so far are not a whole frame: they stay buffered, and the next read may finish it"
        }
        _ => return None,
    })
}

/// Explains a framing error (see `framing::ErrorKind`): why no frame can come
/// of these bytes, and what to do.
pub fn explain_frame(kind: &str, proto: &str, recovered: bool) -> (String, String) {
    let after = if recovered {
        "The bad frame was skipped: its end is known, so the stream goes on."
    } else {
        "The connection is closed: after this the frame boundaries cannot be found again."
    };
    match kind {
        "frame_too_large" => (
            format!("the peer sent more than the limit allows for one {proto} frame; a limit keeps a peer from making socklab buffer without end. {after}"),
            "raise the limit the message names if the peer is honest, or check that both sides speak the same protocol".to_string(),
        ),
        "peer_closed_mid_frame" => (
            format!("the peer closed the connection before finishing a {proto} frame: the bytes received can never become one"),
            "look at the peer's side: it stopped in the middle of a message (a crash, a timeout, or a length it got wrong)".to_string(),
        ),
        _ => (
            format!("these bytes break the {proto} format at the caret, so they can never become a frame. {after}"),
            if proto == "json" {
                "check that both sides speak json with the same --json-framing (newline or length)".to_string()
            } else {
                format!("check that both sides speak {proto}")
            },
        ),
    }
}

/// Which socket operation failed: the errno alone does not say what to do
/// (EACCES from bind() and from send() mean different things).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Resolve,
    Bind,
    Listen,
    Connect,
    Accept,
    Read,
    Write,
    Send,
    Recv,
    Shutdown,
    Stdin,
    Stdout,
    Events,
    /// A connection stayed silent longer than `--idle-timeout`.
    Idle,
    /// An HTTP request head took longer than `--head-timeout`.
    Head,
    /// A `-k` client fell more than `--max-lag` behind the broadcast.
    Lag,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Resolve => "look up",
            Action::Bind => "bind",
            Action::Listen => "listen on",
            Action::Connect => "connect to",
            Action::Accept => "accept on",
            Action::Read => "read from",
            Action::Write => "write to",
            Action::Send => "send to",
            Action::Recv => "receive on",
            Action::Shutdown => "shut down",
            Action::Stdin => "read",
            Action::Stdout => "write",
            Action::Events => "write the event file",
            Action::Idle => "wait for data from",
            Action::Head => "wait for the request head from",
            Action::Lag => "keep sending to",
        }
    }
}

/// What went wrong, in plain words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// Stable identifier (the JSON `kind`), e.g. `connection_refused`.
    pub kind: &'static str,
    pub why: String,
    pub next: String,
}

/// Explains a failed call. `target` is the address or name involved, as the
/// user would write it (`127.0.0.1:5288`); its port, if any, is used in the
/// advice.
pub fn explain(action: Action, target: &str, err: &io::Error) -> Explanation {
    let port = target
        .rsplit(':')
        .next()
        .filter(|p| p.parse::<u16>().is_ok())
        .unwrap_or("PORT");
    let (kind, why, next) = match (action, err.raw_os_error()) {
        (Action::Resolve, _) => (
            "resolve_failed",
            format!("the name {target:?} could not be turned into an IP address: neither /etc/hosts nor DNS knows it"),
            "check the spelling, or give an IP address such as 127.0.0.1 or ::1".to_string(),
        ),
        (_, Some(libc::EADDRINUSE)) => (
            "address_in_use",
            format!("another socket already holds {target}: a server that is still running (an earlier socklab?), or a recent connection on that port waiting out TIME_WAIT on a socket without SO_REUSEADDR"),
            format!("see who holds it with `ss -ltnup 'sport = :{port}'`, stop that program, or pick another port (0 lets the OS choose a free one)"),
        ),
        (Action::Bind, Some(libc::EACCES)) => (
            "permission_denied",
            format!("ports below 1024 are reserved for the system: only root (or a program with CAP_NET_BIND_SERVICE) may bind port {port}"),
            "use a port above 1024, for example `socklab listen 5288`".to_string(),
        ),
        (Action::Bind, Some(libc::EADDRNOTAVAIL)) => (
            "address_not_available",
            format!("{target} is not an address of this machine, so no socket here can bind it"),
            "bind 127.0.0.1 (this machine only), 0.0.0.0 (every IPv4 address) or [::] (every IPv6 address)".to_string(),
        ),
        (Action::Send | Action::Recv, Some(libc::ECONNREFUSED)) => (
            "port_unreachable",
            format!("nobody is listening there: the host answered our datagram to {target} with an ICMP \"port unreachable\" message, which the kernel reports on a connected UDP socket as ECONNREFUSED"),
            format!("start a receiver first (`socklab recv {port}` in another terminal), or check the port"),
        ),
        (_, Some(libc::ECONNREFUSED)) => (
            "connection_refused",
            format!("nothing is listening on {target}: the host answered our SYN with RST (reset), which means \"no socket here accepts connections on that port\""),
            format!("start a listener first (`socklab listen {port}` in another terminal), or check the host and port"),
        ),
        (Action::Idle, _) => (
            "idle_timeout",
            format!("nothing was sent or received on the connection with {target} for longer than --idle-timeout allows ({err})"),
            "raise --idle-timeout; leave it out to wait as long as the peer likes (listen --proto http waits 60s unless told)".to_string(),
        ),
        (Action::Head, _) => (
            "head_timeout",
            format!("{target} began a request, and its head (request line and headers) was still not complete {err}; a client that trickles a byte at a time (slowloris) would otherwise hold a connection forever, so the server answers 408 Request Timeout and closes"),
            "raise --head-timeout if the client is honest but slow".to_string(),
        ),
        (Action::Lag, _) => (
            "fell_behind",
            format!("with -k every client gets every byte of stdin; {target} stopped reading, and what waited for it grew past --max-lag ({err}). Waiting for it would hold back every other client, and queueing without end would use up memory, so it was dropped"),
            "raise --max-lag if this client is only slow; one that never reads cannot be waited for".to_string(),
        ),
        (Action::Accept, Some(libc::EMFILE | libc::ENFILE)) => (
            "too_many_open_files",
            "every connection is a file descriptor, and the process (EMFILE: its RLIMIT_NOFILE, see `ulimit -n`) or the whole system (ENFILE) has none left; while none is free, accept() fails and new clients wait in the listen queue. socklab keeps serving the connections it has, and tries accept() again when one closes and every 100 ms".to_string(),
            "raise the limit in the shell that starts socklab (`ulimit -n 4096`), or cap the clients with --max-conns".to_string(),
        ),
        (_, Some(libc::ETIMEDOUT)) | (_, None) if err.kind() == io::ErrorKind::TimedOut => (
            "timed_out",
            format!("no answer from {target} in time: the SYN got no reply at all, so a firewall may be dropping packets or the host may be down ({err})"),
            "check the address; give more time with -w/--timeout".to_string(),
        ),
        (_, Some(libc::EHOSTUNREACH)) => (
            "host_unreachable",
            format!("no route to the host of {target}: a router or this machine's own table says that host cannot be reached"),
            "check the address and that the host is up; `ip route get ADDRESS` shows the route the kernel would use".to_string(),
        ),
        (_, Some(libc::ENETUNREACH)) => (
            "network_unreachable",
            format!("this machine has no route to the network of {target} (no default route, or the interface is down)"),
            "check `ip route`; to practise, use loopback: 127.0.0.1 or ::1".to_string(),
        ),
        (_, Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL)) => (
            "address_not_available",
            format!("the address {target} cannot be used from here (IPv6 disabled, or a source address that is not this machine's)"),
            "use 127.0.0.1, or check the -s/--source address".to_string(),
        ),
        (_, Some(libc::ECONNRESET)) => (
            "connection_reset",
            format!("the peer at {target} reset the connection (RST): it closed while our data was still unread, or it crashed"),
            "the conversation is over; connect again if you need to".to_string(),
        ),
        (_, Some(libc::EPIPE)) => (
            "broken_pipe",
            format!("we wrote to {target} after the connection was closed (EPIPE): the peer is gone"),
            "the conversation is over; connect again if you need to".to_string(),
        ),
        (_, Some(libc::EMSGSIZE)) => (
            "message_too_long",
            "a UDP datagram carries at most 65,507 bytes of data over IPv4 (65,535 minus 20 bytes of IP header and 8 of UDP header) and 65,527 over IPv6; this one was bigger, so the kernel refused it (EMSGSIZE)".to_string(),
            "send less per datagram (split the data), or use TCP, which is a stream with no message size limit".to_string(),
        ),
        (_, Some(libc::EMFILE | libc::ENFILE)) => (
            "too_many_open_files",
            format!("no file descriptor was left to {} {target}: every socket is a descriptor, and this process holds as many as its limit allows (EMFILE, see `ulimit -n`) or the whole system does (ENFILE)", action.verb()),
            "close connections you no longer need, or raise the limit in the shell that starts socklab (`ulimit -n 4096`)".to_string(),
        ),
        (Action::Stdin, _) => (
            "input_failed",
            format!("reading our own input failed: {err}"),
            "check what stdin is connected to".to_string(),
        ),
        (Action::Stdout, _) => (
            "output_failed",
            format!("writing received data to stdout failed: {err}"),
            "check where stdout goes (a full disk? a closed pipe?)".to_string(),
        ),
        (Action::Events, _) => (
            "events_file_failed",
            format!("the event file {target} could not be written: {err}"),
            "check the path and its permissions, or drop --events".to_string(),
        ),
        _ => (
            "os_error",
            format!("the kernel refused to {} {target}: {err}", action.verb()),
            "`man 2 socket` and friends list what this errno means".to_string(),
        ),
    };
    Explanation { kind, why, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn the_same_errno_means_different_things_for_different_calls() {
        let e = explain(Action::Connect, "127.0.0.1:9", &os(libc::ECONNREFUSED));
        assert_eq!(e.kind, "connection_refused");
        assert!(e.next.contains("socklab listen 9"), "{}", e.next);
        let e = explain(Action::Recv, "127.0.0.1:9", &os(libc::ECONNREFUSED));
        assert_eq!(e.kind, "port_unreachable");
        assert!(e.why.contains("nobody is listening there"));
        assert!(e.next.contains("socklab recv 9"));
    }

    #[test]
    fn every_listed_error_has_its_own_kind() {
        let cases = [
            (Action::Bind, libc::EADDRINUSE, "address_in_use"),
            (Action::Bind, libc::EACCES, "permission_denied"),
            (Action::Connect, libc::ETIMEDOUT, "timed_out"),
            (Action::Connect, libc::EHOSTUNREACH, "host_unreachable"),
            (Action::Connect, libc::ENETUNREACH, "network_unreachable"),
            (Action::Read, libc::ECONNRESET, "connection_reset"),
            (Action::Write, libc::EPIPE, "broken_pipe"),
            (Action::Send, libc::EMSGSIZE, "message_too_long"),
            (Action::Bind, libc::EADDRNOTAVAIL, "address_not_available"),
            (Action::Accept, libc::EMFILE, "too_many_open_files"),
            (Action::Accept, libc::ENFILE, "too_many_open_files"),
        ];
        for (action, code, kind) in cases {
            assert_eq!(explain(action, "127.0.0.1:80", &os(code)).kind, kind);
        }
        let timeout = io::Error::new(io::ErrorKind::TimedOut, "no answer within 1s");
        assert_eq!(explain(Action::Connect, "x:1", &timeout).kind, "timed_out");
        let slow = io::Error::new(io::ErrorKind::TimedOut, "10000 ms after its first byte");
        assert_eq!(explain(Action::Head, "x:1", &slow).kind, "head_timeout");
        let lag = io::Error::other("it had 4.0 MiB more waiting");
        assert_eq!(explain(Action::Lag, "x:1", &lag).kind, "fell_behind");
        let lookup = io::Error::other("failed to lookup address information");
        assert_eq!(
            explain(Action::Resolve, "nosuch.invalid", &lookup).kind,
            "resolve_failed"
        );
    }

    #[test]
    fn time_wait_is_for_the_side_that_sends_fin_first() {
        // Not "closes first": the demo's server calls close() first, after
        // the client's FIN, and it is the client that waits in TIME_WAIT.
        let close = why(&Event::Close {
            sent: 0,
            received: 0,
        })
        .expect("a why for close()");
        assert!(close.contains("sends FIN first"), "{close}");
        assert!(!close.contains("closes first"), "{close}");
    }

    #[test]
    fn address_in_use_names_the_port_in_its_advice() {
        let e = explain(Action::Bind, "127.0.0.1:5288", &os(libc::EADDRINUSE));
        assert!(e.next.contains("sport = :5288"), "{}", e.next);
    }
}
