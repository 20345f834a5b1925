//! A reset passes through the relay as a reset: when one side aborts (RST),
//! the other must see ECONNRESET, not an orderly FIN that would make a
//! truncated transfer look complete. Regression tests for issue item 15.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use crate::util::{DEADLINE, Proc};
use crate::{narrated, relay};

/// close() with SO_LINGER 0: the kernel sends RST instead of FIN.
fn abort(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
    drop(stream);
}

/// Reads until the stream ends; returns what arrived and how it ended.
fn read_all(s: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    s.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let mut got = Vec::new();
    let end = s.read_to_end(&mut got).map(drop);
    (got, end)
}

#[test]
fn a_target_reset_reaches_the_client_as_a_reset() {
    let target = TcpListener::bind("127.0.0.1:0").expect("bind");
    let target_port = target.local_addr().expect("addr").port();
    let server = thread::spawn(move || {
        let (mut s, _) = target.accept().expect("accept");
        s.write_all(b"the first half").expect("write");
        abort(s);
    });
    let (relay, port) = relay(target_port, &[]);
    let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    server.join().expect("target thread");
    let (got, end) = read_all(&mut client);
    let err = end.expect_err("a reset, not a clean end of stream");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert!(
        b"the first half".starts_with(&got),
        "only bytes the target sent: {got:?}"
    );
    let relay = relay.kill();
    assert!(
        narrated(
            &relay.events,
            "the target reset the connection (ECONNRESET): resetting the client's side too, so it sees the failure"
        ),
        "{}",
        relay.stderr
    );
}

#[test]
fn a_client_reset_reaches_the_target_as_a_reset() {
    let target = TcpListener::bind("127.0.0.1:0").expect("bind");
    let target_port = target.local_addr().expect("addr").port();
    let (relay, port) = relay(target_port, &[]);
    let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (mut upstream, _) = target.accept().expect("accept");
    client.write_all(b"half a request").expect("write");
    let mut first = [0u8; 14];
    upstream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    upstream
        .read_exact(&mut first)
        .expect("the bytes before the reset");
    abort(client);
    let (_, end) = read_all(&mut upstream);
    let err = end.expect_err("a reset, not a clean end of stream");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    let relay = relay.kill();
    assert!(
        narrated(
            &relay.events,
            "the client reset the connection (ECONNRESET)"
        ),
        "{}",
        relay.stderr
    );
}

#[test]
fn socklab_connect_behind_the_relay_reports_the_reset() {
    let target = TcpListener::bind("127.0.0.1:0").expect("bind");
    let target_port = target.local_addr().expect("addr").port();
    thread::spawn(move || {
        let (mut s, _) = target.accept().expect("accept");
        let _ = s.write_all(b"partial\n");
        abort(s);
    });
    let (_relay, port) = relay(target_port, &[]);
    let mut c = Proc::socklab(&["connect", "127.0.0.1", &port.to_string()]);
    let c = {
        c.close_stdin();
        c.finish()
    };
    assert_eq!(c.code(), 1, "a reset is a failure: {}", c.stderr);
    assert_eq!(c.error_kind(), Some("connection_reset"), "{}", c.stderr);
}
