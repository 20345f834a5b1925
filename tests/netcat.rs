//! nc's invocations as people type them from memory: each one works, or is
//! answered with socklab's equivalent by name (exit 2), never with clap's
//! generic "unexpected argument". And nc's -w, -q, -i, -d, -t, -4, -6, -n.

mod util;

use std::io::{Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;

use util::{DEADLINE, Finished, Proc, run};

fn socklab_text(args: &[&str]) -> Finished {
    let mut cmd = Command::new(util::bin());
    cmd.args(["--color", "never"]).args(args);
    run(&args.join(" "), cmd)
}

/// A usage error that says `says`.
fn answered(args: &[&str], says: &str) {
    let f = socklab_text(args);
    assert_eq!(f.code(), 2, "{args:?}: {}", f.stderr);
    assert!(
        f.stderr.contains(says),
        "{args:?} should say {says:?}:\n{}",
        f.stderr
    );
    assert!(!f.stderr.contains("unexpected argument"), "{}", f.stderr);
}

fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port().to_string();
    (l, port)
}

/// accept() with a deadline: a socklab that failed early must fail the
/// test, not hang it.
fn accept(l: &TcpListener) -> TcpStream {
    l.set_nonblocking(true).expect("nonblocking");
    let end = std::time::Instant::now() + DEADLINE;
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).expect("blocking");
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    std::time::Instant::now() < end,
                    "nobody connected within {DEADLINE:?}"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

fn timeout_event(f: &Finished) -> &serde_json::Value {
    f.find("timeout")
        .unwrap_or_else(|| panic!("no timeout event\n{}", f.stderr))
}

#[test]
fn listen_dash_p_and_dash_l_dash_p_listen_on_that_port() {
    for args in [
        &["listen", "-p", "0"][..],
        &["listen", "-l", "-p", "0"],
        &["listen", "-s", "127.0.0.1", "-p", "0"],
    ] {
        let mut server = Proc::socklab(args);
        let port = server.port();
        server.wait_for("listen");
        let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        c.write_all(b"hi\n").expect("write");
        drop(c);
        server.close_stdin();
        let f = server.finish();
        assert_eq!(f.code(), 0, "{args:?}: {}", f.stderr);
        assert_eq!(f.stdout_text(), "hi\n", "{args:?}");
    }
    answered(&["listen", "-s", "127.0.0.1", "127.0.0.1:0"], "given twice");
}

#[test]
fn connect_q_n_is_answered_with_quit_after() {
    answered(
        &["connect", "-q", "1", "127.0.0.1", "80"],
        "--quit-after 1s 127.0.0.1 80",
    );
    answered(&["connect", "-q", "1", "5288"], "nc's -q 1");
    answered(&["listen", "-q", "1", "5288"], "--quit-after");
}

#[test]
fn quit_after_closes_when_the_peer_stays_silent() {
    // nc -q 1: stdin ends, and the peer never closes; after the delay
    // socklab closes anyway, with exit 0.
    let (l, port) = listener();
    let mut client = Proc::socklab(&["connect", "--quit-after", "200ms", "127.0.0.1", &port]);
    let mut peer = accept(&l);
    client.feed(b"bye\n".to_vec());
    let f = client.finish();
    assert_eq!(f.code(), 0, "{}", f.stderr);
    assert!(
        timeout_event(&f)["what"]
            .as_str()
            .unwrap_or("")
            .contains("--quit-after")
    );
    let mut got = Vec::new();
    peer.set_read_timeout(Some(DEADLINE)).expect("timeout");
    peer.read_to_end(&mut got).expect("read");
    assert_eq!(got, b"bye\n", "what was typed went out before the close");
}

#[test]
fn x_with_a_proxy_is_answered_precisely() {
    answered(
        &["connect", "-x", "proxy.example:3128", "example.com", "80"],
        "hex dump and takes no value",
    );
    answered(
        &["connect", "-x", "10.0.0.1:1080", "example.com:80"],
        "does not go through proxies",
    );
    answered(
        &[
            "connect",
            "-X",
            "5",
            "-x",
            "10.0.0.1:1080",
            "example.com",
            "80",
        ],
        "CONNECT",
    );
}

#[test]
fn e_and_c_are_refused_by_design_with_the_safe_alternatives() {
    for args in [
        &["listen", "-e", "/bin/sh", "5288"][..],
        &["listen", "-p", "5288", "-c", "sh"],
        &["connect", "-e", "/bin/sh", "127.0.0.1", "80"],
        &["listen", "--sh-exec", "cat", "5288"],
    ] {
        answered(args, "refused by design");
        answered(args, "socklab listen --echo");
    }
}

#[test]
fn nc_without_a_verb_is_told_the_verb() {
    answered(&["-l", "-p", "5288"], "socklab listen 5288");
    answered(&["-lvp", "5288"], "socklab listen 5288");
    answered(&["127.0.0.1", "80"], "socklab connect 127.0.0.1 80");
    answered(&["connect", "-l", "5288"], "socklab listen");
}

#[test]
fn u_points_to_send_and_recv() {
    answered(&["connect", "-u", "127.0.0.1", "53"], "socklab send");
    answered(&["listen", "-u", "5300"], "socklab recv");
}

#[test]
fn dash_4_and_dash_6_choose_the_family() {
    let (l4, port4) = listener();
    let f = Proc::socklab(&["connect", "-4", "-d", "localhost", &port4]);
    let peer = accept(&l4);
    drop(peer);
    let f = f.finish();
    assert_eq!(f.code(), 0, "{}", f.stderr);
    let resolved = f.find("resolve").expect("resolve")["addrs"].clone();
    assert!(
        resolved
            .as_array()
            .expect("list")
            .iter()
            .all(|a| a.as_str().expect("addr").starts_with("127.")),
        "{resolved}"
    );

    let l6 = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).expect("bind ::1");
    let port6 = l6.local_addr().expect("addr").port().to_string();
    let f = Proc::socklab(&["connect", "-6", "-d", "::1", &port6]);
    let peer = accept(&l6);
    assert!(peer.peer_addr().expect("peer").is_ipv6());
    drop(peer);
    assert_eq!(f.finish().code(), 0);

    answered(&["connect", "-6", "127.0.0.1", "80"], "-6 asks for IPv6");
    answered(&["connect", "-4", "::1", "80"], "-4 asks for IPv4");

    // listen -6 binds ::1 by default.
    let mut server = Proc::socklab(&["listen", "-6", "0"]);
    let bind = server.wait_for("bind");
    assert!(
        bind["addr"].as_str().expect("addr").starts_with("[::1]:"),
        "{bind}"
    );
}

#[test]
fn dash_n_refuses_names() {
    answered(
        &["connect", "-n", "localhost", "80"],
        "-n means no name lookups",
    );
    let (l, port) = listener();
    let f = Proc::socklab(&["connect", "-n", "-d", "127.0.0.1", &port]);
    drop(accept(&l));
    assert_eq!(f.finish().code(), 0);
}

#[test]
fn dash_d_does_not_read_stdin() {
    let (l, port) = listener();
    let mut client = Proc::socklab(&["connect", "-d", "127.0.0.1", &port]);
    let mut peer = accept(&l);
    // stdin stays open and full of data; with -d nothing of it is read.
    client.write(b"not to be sent\n");
    peer.write_all(b"from the server\n").expect("write");
    drop(peer);
    let f = client.finish();
    assert_eq!(f.code(), 0, "{}", f.stderr);
    assert_eq!(f.stdout_text(), "from the server\n");
    assert!(f.find("write").is_none(), "nothing was sent:\n{}", f.stderr);
}

#[test]
fn dash_t_answers_telnet_negotiation() {
    let (l, port) = listener();
    let client = Proc::socklab(&["connect", "-t", "-d", "127.0.0.1", &port]);
    let mut peer = accept(&l);
    peer.set_read_timeout(Some(DEADLINE)).expect("timeout");
    // IAC DO ECHO: the server asks whether we will echo.
    peer.write_all(&[255, 253, 1]).expect("write");
    let mut answer = [0; 3];
    peer.read_exact(&mut answer).expect("an answer");
    assert_eq!(answer, [255, 252, 1], "IAC WONT ECHO");
    drop(peer);
    assert_eq!(client.finish().code(), 0);
}

#[test]
fn dash_i_sends_one_line_per_interval() {
    let (l, port) = listener();
    let mut client = Proc::socklab(&["connect", "-i", "150ms", "127.0.0.1", &port]);
    let mut peer = accept(&l);
    client.feed(b"one\ntwo\nthree\n".to_vec());
    let mut got = Vec::new();
    peer.set_read_timeout(Some(DEADLINE)).expect("timeout");
    peer.read_to_end(&mut got).expect("read");
    assert_eq!(got, b"one\ntwo\nthree\n");
    drop(peer);
    let f = client.finish();
    let writes: Vec<(&str, u64)> = f
        .events
        .iter()
        .filter(|e| e["step"] == "write")
        .map(|e| {
            (
                e["data"].as_str().unwrap_or(""),
                e["ts_us"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let lines: Vec<&str> = writes.iter().map(|(d, _)| *d).collect();
    assert_eq!(lines, ["one\n", "two\n", "three\n"], "one write per line");
    for pair in writes.windows(2) {
        // A lower bound only: a slow machine can only make it later.
        assert!(
            pair[1].1 - pair[0].1 >= 140_000,
            "lines closer than -i: {writes:?}"
        );
    }
}

#[test]
fn w_times_out_an_idle_connection_and_exits_0_as_nc() {
    // Measured with OpenBSD nc 1.219: an idle -w timeout exits 0, a connect
    // timeout 1 (tests/errors.rs connect_timeout_when_syns_go_unanswered).
    let (l, port) = listener();
    let mut client = Proc::socklab(&["connect", "-w", "300ms", "127.0.0.1", &port]);
    let _peer = accept(&l);
    client.wait_for("timeout");
    let f = client.finish();
    assert_eq!(f.code(), 0, "{}", f.stderr);
    assert!(
        timeout_event(&f)["what"]
            .as_str()
            .unwrap_or("")
            .contains("-w")
    );
    assert!(f.find("error").is_none(), "{}", f.stderr);
}

#[test]
fn idle_timeout_alone_is_still_an_error() {
    let (l, port) = listener();
    let client = Proc::socklab(&["connect", "--idle-timeout", "300ms", "127.0.0.1", &port]);
    let _peer = accept(&l);
    let f = client.finish();
    assert_eq!(f.code(), 1, "{}", f.stderr);
    assert_eq!(f.error_kind(), Some("idle_timeout"));
}

#[test]
fn listen_w_ends_an_idle_client() {
    let (mut server, port) = Proc::server("listen", &["-w", "300ms"]);
    let _client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    server.wait_for("timeout");
    let f = server.finish();
    assert_eq!(f.code(), 0, "{}", f.stderr);
}

#[test]
fn send_joins_the_words_of_a_message_as_echo_does() {
    let (mut recv, port) = Proc::server("recv", &["--count", "1"]);
    let f = Proc::socklab(&[
        "send",
        "--wait",
        "0",
        "127.0.0.1",
        &port.to_string(),
        "hello",
        "world",
    ])
    .finish();
    assert_eq!(f.code(), 0, "{}", f.stderr);
    recv.wait_for("datagram");
    let r = recv.finish();
    assert_eq!(r.stdout_text(), "hello world");
}

#[test]
fn ctrl_c_exits_130_and_says_so() {
    // A listener with a full accept queue: the connect below waits in its
    // handshake, as for a host that does not answer.
    let full =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    full.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind");
    full.listen(0).expect("listen");
    let addr = full.local_addr().expect("addr").as_socket().expect("inet");
    let _fill: Vec<TcpStream> = (0..3)
        .filter_map(|_| {
            TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)).ok()
        })
        .collect();
    let target = addr.to_string();
    for (args, ready) in [
        (&["listen", "0"][..], "listen"),
        (&["connect", &target], "connect"),
    ] {
        let mut p = Proc::socklab(args);
        p.wait_for(ready);
        let kill = Command::new("kill")
            .args(["-INT", &p.pid().to_string()])
            .status()
            .expect("kill");
        assert!(kill.success());
        let f = p.finish();
        assert_eq!(f.code(), 130, "{args:?}: {}", f.stderr);
        assert!(f.stderr.contains("Ctrl-C (SIGINT)"), "{}", f.stderr);
        assert_eq!(f.find("exit").expect("exit event")["code"], 130);
    }
}
