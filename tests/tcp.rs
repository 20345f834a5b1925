//! TCP: `listen` and `connect` against each other on loopback.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;

use util::{Proc, random_bytes, sha256};

fn listener(extra: &[&str]) -> (Proc, u16) {
    Proc::server("listen", extra)
}

#[test]
fn sixteen_mib_each_way_arrive_intact() {
    let up = random_bytes(16 << 20, 1);
    let down = random_bytes(16 << 20, 2);
    let (mut server, port) = listener(&[]);
    let mut client = Proc::socklab(&["-q", "connect", "127.0.0.1", &port.to_string()]);
    server.feed(down.clone());
    client.feed(up.clone());
    let server = server.finish();
    let client = client.finish();
    assert_eq!(server.code(), 0, "{}", server.stderr);
    assert_eq!(client.code(), 0, "{}", client.stderr);
    assert_eq!(
        sha256(&server.stdout),
        sha256(&up),
        "client → server bytes differ"
    );
    assert_eq!(
        sha256(&client.stdout),
        sha256(&down),
        "server → client bytes differ"
    );
}

#[test]
fn half_close_sends_fin_and_still_gets_the_reply() {
    let (server, port) = listener(&["--echo"]);
    let mut client = Proc::socklab(&["connect", &format!("127.0.0.1:{port}")]);
    client.write(b"hi\n");
    client.close_stdin();
    let client = client.finish();
    assert_eq!(client.code(), 0, "{}", client.stderr);
    assert_eq!(client.stdout_text(), "hi\n");
    // Our FIN went out before the reply came back, and we still read it.
    let steps = client.steps();
    let shutdown = steps
        .iter()
        .position(|s| *s == "shutdown")
        .expect("shutdown step");
    let peer_closed = steps
        .iter()
        .position(|s| *s == "peer_closed")
        .expect("peer_closed step");
    assert!(shutdown < peer_closed, "{steps:?}");
    let server = server.finish();
    assert_eq!(server.code(), 0, "{}", server.stderr);
}

#[test]
fn events_follow_the_flow_chart_on_both_sides() {
    let (mut server, port) = listener(&[]);
    let mut client = Proc::socklab(&["connect", "127.0.0.1", &port.to_string()]);
    let connected = client.wait_for("connected");
    server.wait_for("accept");
    client.write(b"hello\n");
    server.wait_for("read");
    // The client closes first: its FIN, then the server's.
    client.close_stdin();
    server.wait_for("peer_closed");
    server.close_stdin();
    let (server, client) = (server.finish(), client.finish());
    assert_eq!(server.stdout_text(), "hello\n");
    let order = |steps: &[&str], want: &[&str]| {
        let mut it = steps.iter();
        for w in want {
            assert!(
                it.any(|s| s == w),
                "{w} missing or out of order in {steps:?}"
            );
        }
    };
    order(
        &server.steps(),
        &[
            "socket",
            "set_option",
            "bind",
            "listen",
            "accept",
            "read",
            "close",
            "exit",
        ],
    );
    // Where the first EAGAIN falls depends on whether the client connected
    // before the server's first accept(): only that it happens is certain.
    assert!(
        server.steps().contains(&"would_block"),
        "{:?}",
        server.steps()
    );
    order(
        &client.steps(),
        &[
            "socket",
            "connect",
            "connected",
            "write",
            "shutdown",
            "peer_closed",
            "close",
            "exit",
        ],
    );
    // The server's accept names the client's ephemeral port.
    let accept = server.find("accept").expect("accept");
    assert_eq!(accept["peer"], connected["local"]);
    let connect = client.find("connect").expect("connect");
    assert_eq!(
        connect["in_progress"], true,
        "a non-blocking connect returns EINPROGRESS"
    );
}

#[test]
fn listen_serves_one_client_then_stops_listening() {
    let (mut server, port) = listener(&[]);
    server.close_stdin();
    let client = Proc::socklab(&["connect", "127.0.0.1", &port.to_string()]);
    server.wait_for("stop_listening");
    let client = client.finish();
    let server = server.finish();
    assert_eq!(
        (server.code(), client.code()),
        (0, 0),
        "{}\n{}",
        server.stderr,
        client.stderr
    );
    let again = Proc::socklab(&["connect", "127.0.0.1", &port.to_string()]).finish();
    assert_eq!(again.code(), 1);
    assert_eq!(again.error_kind(), Some("connection_refused"));
}

#[test]
fn keep_open_serves_clients_concurrently_and_broadcasts_stdin() {
    let (mut server, port) = listener(&["-k"]);
    let p = port.to_string();
    let mut a = Proc::socklab(&["connect", "127.0.0.1", &p]);
    let mut b = Proc::socklab(&["connect", "127.0.0.1", &p]);
    a.wait_for("connected");
    b.wait_for("connected");
    server.wait_for_count("accept", 2);
    // Both are connected at once; each one's line reaches the server.
    a.write(b"from a\n");
    b.write(b"from b\n");
    server.wait_for_count("read", 2);
    // A line on the server's stdin goes to every client.
    server.write(b"to all\n");
    a.wait_for("read");
    b.wait_for("read");
    // The server's input ends: FIN to every client; theirs end too.
    server.close_stdin();
    a.close_stdin();
    b.close_stdin();
    server.wait_for_count("close", 2);
    let (a, b) = (a.finish(), b.finish());
    assert_eq!(a.stdout_text(), "to all\n");
    assert_eq!(b.stdout_text(), "to all\n");
    let server = server.kill();
    let out = server.stdout_text();
    assert!(
        out.contains("from a\n") && out.contains("from b\n"),
        "{out:?}"
    );
    let conns: Vec<_> = server
        .events
        .iter()
        .filter(|e| e["step"] == "accept")
        .map(|e| e["conn"].clone())
        .collect();
    assert_eq!(conns, [1, 2], "each client has its own connection number");
}

#[test]
fn max_conns_refuses_the_extra_client_and_keeps_serving() {
    let (mut server, port) = listener(&["-k", "--max-conns", "1"]);
    let p = port.to_string();
    let mut first = Proc::socklab(&["connect", "127.0.0.1", &p]);
    first.wait_for("connected");
    server.wait_for("accept");
    let second = Proc::socklab(&["connect", "127.0.0.1", &p]).finish();
    let refuse = server.wait_for("refuse");
    assert_eq!(refuse["limit"], 1);
    assert_eq!(
        second.code(),
        0,
        "the refused client sees an orderly close: {}",
        second.stderr
    );
    assert!(second.find("peer_closed").is_some());
    first.write(b"still here\n");
    // The read event is emitted before the bytes are written to stdout:
    // wait for stdout itself, or a kill in between loses them.
    server.wait_stdout(b"still here");
    drop(first);
    assert!(server.kill().stdout_text().contains("still here"));
}

#[test]
fn echo_answers_every_client() {
    let (_server, port) = listener(&["-k", "--echo"]);
    for msg in ["one\n", "two\n"] {
        let mut c = Proc::socklab(&["connect", "127.0.0.1", &port.to_string()]);
        c.write(msg.as_bytes());
        c.close_stdin();
        assert_eq!(c.finish().stdout_text(), msg);
    }
}

#[test]
fn ipv6_loopback_works() {
    let mut server = Proc::socklab(&["listen", "--echo", "[::1]:0"]);
    let port = server.port();
    // bind() comes before listen(): connecting in between is refused.
    server.wait_for("listen");
    let mut c = Proc::socklab(&["connect", &format!("[::1]:{port}")]);
    c.write(b"six\n");
    c.close_stdin();
    let c = c.finish();
    assert_eq!(c.stdout_text(), "six\n", "{}", c.stderr);
    assert_eq!(c.find("socket").expect("socket")["family"], "AF_INET6");
    assert_eq!(server.wait_for("bind")["addr"], format!("[::1]:{port}"));
}

#[test]
fn localhost_is_resolved_and_narrated() {
    let (_server, port) = listener(&["--echo"]);
    let mut c = Proc::socklab(&["connect", "localhost", &port.to_string()]);
    c.write(b"by name\n");
    c.close_stdin();
    let c = c.finish();
    assert_eq!(c.stdout_text(), "by name\n", "{}", c.stderr);
    let resolve = c.find("resolve").expect("resolve step");
    assert_eq!(resolve["host"], "localhost");
    assert!(
        resolve["addrs"][0]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1"))
    );
}

#[test]
fn listen_binds_loopback_by_default() {
    let (mut server, _) = listener(&[]);
    let bind = server.wait_for("bind");
    assert!(
        bind["addr"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{bind}"
    );
}

#[test]
fn crlf_turns_line_feeds_into_cr_lf() {
    let (mut server, port) = listener(&[]);
    server.close_stdin();
    let mut c = Proc::socklab(&["connect", "-C", "127.0.0.1", &port.to_string()]);
    c.write(b"a\nb\r\n");
    c.close_stdin();
    c.finish();
    assert_eq!(server.finish().stdout, b"a\r\nb\r\n");
}

#[test]
fn idle_timeout_closes_a_silent_connection_with_an_explanation() {
    let (server, port) = listener(&["--idle-timeout", "300ms"]);
    let client = Proc::socklab(&["connect", "127.0.0.1", &port.to_string()]);
    let server = server.finish();
    assert_eq!(server.code(), 1);
    assert_eq!(server.error_kind(), Some("idle_timeout"));
    assert!(server.find("timeout").is_some());
    // The client sees the server go away and ends normally.
    assert_eq!(client.finish().code(), 0);
}

#[test]
fn send_only_finishes_when_stdin_ends() {
    // The server keeps its own half open (its stdin stays open), so a client
    // that waited for the server's FIN would never finish.
    let (mut server, port) = listener(&[]);
    let mut c = Proc::socklab(&["connect", "--send-only", "127.0.0.1", &port.to_string()]);
    c.write(b"one way\n");
    c.close_stdin();
    let c = c.finish();
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert!(c.find("peer_closed").is_none(), "{:?}", c.steps());
    server.wait_for("peer_closed");
    server.close_stdin();
    assert_eq!(server.finish().stdout_text(), "one way\n");
}

#[test]
fn no_shutdown_keeps_our_half_open_until_the_peer_closes() {
    let (mut server, port) = listener(&[]);
    let mut c = Proc::socklab(&["connect", "--no-shutdown", "127.0.0.1", &port.to_string()]);
    c.write(b"x\n");
    c.close_stdin();
    c.wait_for("input_end");
    server.wait_for("read");
    // The server has not seen FIN: it closes first, then the client follows.
    server.close_stdin();
    let server = server.finish();
    assert!(
        server.find("peer_closed").is_none() || {
            let steps = server.steps();
            steps.iter().position(|s| *s == "shutdown")
                < steps.iter().position(|s| *s == "peer_closed")
        }
    );
    let c = c.finish();
    assert_eq!(c.code(), 0);
    assert!(
        c.find("shutdown").is_none(),
        "--no-shutdown never calls shutdown(Write)"
    );
}

#[test]
fn recv_only_ignores_stdin() {
    let (mut server, port) = listener(&[]);
    let mut c = Proc::socklab(&["connect", "--recv-only", "127.0.0.1", &port.to_string()]);
    c.write(b"never sent\n");
    server.wait_for("accept");
    server.write(b"to you\n");
    server.close_stdin();
    let c = c.finish();
    assert_eq!(c.stdout_text(), "to you\n");
    assert!(c.find("write").is_none(), "{:?}", c.steps());
    assert_eq!(server.finish().stdout_text(), "");
}

#[test]
fn stdout_closed_by_its_reader_ends_quietly_with_zero() {
    let (mut server, port) = listener(&[]);
    let mut c = util::socklab(&["-q", "connect", "127.0.0.1", &port.to_string()]);
    c.stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null());
    let mut child = c.spawn().expect("spawn");
    server.wait_for("accept");
    let mut out = child.stdout.take().expect("stdout");
    server.write(b"first\n");
    let mut first = [0u8; 6];
    out.read_exact(&mut first).expect("first line");
    drop(out);
    server.feed(vec![b'x'; 1 << 20]);
    let status = util::wait_exit(&mut child, util::DEADLINE).expect("client exits");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_plain_std_client_and_server_interoperate() {
    // The simplest peer there is: Rust's own blocking sockets.
    let (mut server, port) = listener(&[]);
    server.close_stdin();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(util::DEADLINE))
        .expect("read timeout");
    s.write_all(b"plain\n").expect("write");
    s.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("read");
    assert_eq!(server.finish().stdout_text(), "plain\n");
}

#[test]
fn hex_dump_shows_direction_offset_and_bytes() {
    let (server, port) = listener(&["--echo"]);
    let mut c = util::socklab(&["-x", "connect", "127.0.0.1", &port.to_string()]);
    c.args(["--json"]); // JSON keeps the narration out of the way; the dump is text.
    let mut c = Proc::spawn("connect -x", c);
    c.write(b"hi\n");
    c.close_stdin();
    let c = c.finish();
    assert!(c.stderr.contains("> 00000000  68 69 0a"), "{}", c.stderr);
    assert!(c.stderr.contains("< 00000000  68 69 0a"), "{}", c.stderr);
    assert!(c.stderr.contains("|hi.|"));
    server.finish();
}

#[test]
fn verbose_shows_each_poll_event() {
    let (server, port) = listener(&["--echo"]);
    let mut c = Proc::socklab(&["-v", "connect", "127.0.0.1", &port.to_string()]);
    c.write(b"v\n");
    c.close_stdin();
    let c = c.finish();
    let poll = c.find("poll").expect("-v emits poll events");
    assert!(poll["writable"].is_boolean());
    server.finish();
}

#[test]
fn an_idle_listener_uses_no_cpu() {
    let (server, _) = listener(&[]);
    let ticks = || -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.pid())).expect("stat");
        let after = &stat[stat.rfind(')').expect("comm") + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0)
    };
    let before = ticks();
    // A measurement window, not synchronisation: a busy loop would burn
    // about 100 ticks (one second of CPU) here.
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(
        ticks() - before <= 2,
        "an idle listener should sleep in poll()"
    );
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("a number")
}

#[test]
fn memory_stays_bounded_when_the_peer_does_not_read() {
    // The peer accepts and never reads: once the kernel buffers are full,
    // socklab must stop taking stdin instead of queueing 256 MiB.
    let peer = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = peer.local_addr().expect("addr").port().to_string();
    let mut c = Proc::socklab(&["connect", "127.0.0.1", &port]);
    let _held = peer.accept().expect("accept");
    c.feed(vec![b'x'; 256 << 20]);
    c.wait_until("a write that would block", |evs| {
        evs.iter()
            .any(|e| e["step"] == "would_block" && e["op"] == "write")
    });
    // A window to let an unbounded reader run away, not synchronisation.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let rss = rss_kib(c.pid());
    assert!(
        rss < 64 * 1024,
        "socklab holds {rss} KiB while its peer does not read"
    );
}

#[test]
fn echo_stops_reading_a_client_that_does_not_read_its_echoes() {
    let (server, port) = listener(&["--echo"]);
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_write_timeout(Some(std::time::Duration::from_secs(2)))
        .expect("timeout");
    let chunk = vec![b'e'; 1 << 20];
    let mut sent = 0usize;
    // Write until the server stops reading (our writes then time out).
    while sent < (512 << 20) && s.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
    assert!(
        sent < (512 << 20),
        "the server kept reading 512 MiB it could not echo"
    );
    let rss = rss_kib(server.pid());
    assert!(rss < 64 * 1024, "the echo server holds {rss} KiB");
}

#[test]
fn keep_open_serves_hundreds_of_clients_at_once() {
    // 900 stays under a default limit of 1,024 descriptors per process.
    const CLIENTS: usize = 900;
    let (mut server, port) = listener(&["-q", "-k", "--backlog", "1024"]);
    server.close_stdin();
    let clients: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    for (i, mut c) in clients.iter().enumerate() {
        c.write_all(format!("client {i}\n").as_bytes())
            .expect("write");
    }
    for c in &clients {
        c.shutdown(std::net::Shutdown::Write).expect("FIN");
    }
    // The server closes a connection once it has read the client's line
    // and FIN (its own FIN went out at accept: its stdin is closed).
    server.wait_for_count("close", CLIENTS);
    for mut c in clients {
        c.set_read_timeout(Some(util::DEADLINE)).expect("timeout");
        let mut rest = Vec::new();
        c.read_to_end(&mut rest)
            .expect("an orderly close, not a reset");
    }
    let out = server.kill().stdout_text();
    assert_eq!(out.lines().count(), CLIENTS, "every client's line arrived");
}

#[test]
fn lines_typed_before_any_client_are_held_and_the_narration_says_so() {
    let (mut server, port) = listener(&["-k"]);
    server.write(b"early\n");
    server.wait_until("a note that the input is held", |evs| {
        evs.iter()
            .any(|e| e["step"] == "note" && e["text"].as_str().is_some_and(|t| t.contains("held")))
    });
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut got = [0u8; 6];
    s.set_read_timeout(Some(util::DEADLINE)).expect("timeout");
    s.read_exact(&mut got).expect("the held line");
    assert_eq!(&got, b"early\n");
    // Said once, not for every line.
    server.write(b"more\n");
    let mut more = [0u8; 5];
    s.read_exact(&mut more).expect("the next line");
    let notes = server
        .seen
        .iter()
        .filter(|e| e["text"].as_str().is_some_and(|t| t.contains("held")))
        .count();
    assert_eq!(notes, 1);
}
