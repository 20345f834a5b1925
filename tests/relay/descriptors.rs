//! Every socket is a file descriptor, and a process has a limit (`ulimit
//! -n`). A relay that runs out must refuse or postpone the one session that
//! cannot get a socket, say so, and keep serving the rest. Regression tests
//! for issue item 14, run under a deliberately low limit.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::Command;

use crate::util::{self, DEADLINE, Proc};
use crate::{narrated, relay_from};

/// A socklab command line that runs with at most `n` open descriptors.
fn limited(n: u32) -> impl Fn(&[&str]) -> Command {
    move |args| {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &format!("ulimit -n {n} && exec \"$@\""), "sh"])
            .arg(util::bin())
            .args(["--json", "--color", "never"])
            .args(args);
        cmd
    }
}

/// Sends `text` from `peer` through the relay and waits for its echo
/// (skipping older replies).
fn echoed(peer: &UdpSocket, port: u16, text: &str) -> bool {
    peer.set_read_timeout(Some(DEADLINE)).expect("timeout");
    peer.send_to(text.as_bytes(), ("127.0.0.1", port))
        .expect("send");
    let mut buf = [0u8; 64];
    while let Ok(n) = peer.recv(&mut buf) {
        if &buf[..n] == text.as_bytes() {
            return true;
        }
    }
    false
}

#[test]
fn a_udp_relay_out_of_descriptors_refuses_new_sessions_and_keeps_the_rest() {
    let (_echo, echo_port) = Proc::server("recv", &["--echo"]);
    let (mut relay, port) = relay_from(limited(16), echo_port, &["--udp", "--udp-idle", "1s"]);
    let peers: Vec<UdpSocket> = (0..24)
        .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind"))
        .collect();
    for p in &peers {
        p.send_to(b"hello", ("127.0.0.1", port)).expect("send");
    }
    relay.wait_until("a refused session", |evs| {
        narrated(evs, "no socket for a new session")
    });
    // The sessions that did open still work.
    assert!(echoed(&peers[0], port, "still here"));
    // Once the idle sessions expire, a refused peer gets a session.
    relay.wait_until("sessions expiring", |evs| {
        narrated(evs, "without datagrams (--udp-idle)")
    });
    assert!(
        echoed(&peers[23], port, "my turn"),
        "{}",
        relay.stderr_text()
    );
}

#[test]
fn a_tcp_relay_out_of_descriptors_postpones_accept_and_serves_the_waiting_client_later() {
    let (_echo, echo_port) = Proc::server("listen", &["-k", "--echo"]);
    let (mut relay, port) = relay_from(limited(14), echo_port, &[]);
    let mut clients: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    for c in &clients {
        c.set_read_timeout(Some(DEADLINE)).expect("timeout");
    }
    relay.wait_until("accept running out of descriptors", |evs| {
        evs.iter().any(|e| e["kind"] == "too_many_open_files")
    });
    relay.wait_until("the narration of what happens to the others", |evs| {
        narrated(evs, "the waiting clients stay in the listen queue")
    });
    let served = relay.seen.iter().filter(|e| e["step"] == "accept").count();
    assert!(
        (1..clients.len()).contains(&served),
        "some clients served, some waiting: {served}"
    );
    // The first client was served and still is.
    let mut buf = [0u8; 64];
    clients[0].write_all(b"ping").expect("write");
    clients[0].read_exact(&mut buf[..4]).expect("echo");
    assert_eq!(&buf[..4], b"ping");
    // When it leaves, its descriptors are free and a waiting client is
    // accepted without any new connection arriving to wake the relay.
    let first = clients.remove(0);
    first.shutdown(std::net::Shutdown::Write).expect("FIN");
    let mut rest = Vec::new();
    (&first).read_to_end(&mut rest).expect("the relay's FIN");
    // The listen queue is first come, first served.
    let next = &mut clients[served - 1];
    next.write_all(b"pong").expect("write");
    next.read_exact(&mut buf[..4]).unwrap_or_else(|e| {
        panic!(
            "no echo for the waiting client: {e}\n{}",
            relay.stderr_text()
        )
    });
    assert_eq!(&buf[..4], b"pong");
}
