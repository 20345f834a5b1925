//! UDP: `send` and `recv` on loopback, where there is no connection.

mod util;

use std::net::UdpSocket;

use util::Proc;

fn receiver(extra: &[&str]) -> (Proc, u16) {
    Proc::server("recv", extra)
}

#[test]
fn three_sends_are_three_datagrams() {
    let (r, port) = receiver(&["--count", "3"]);
    let target = format!("127.0.0.1:{port}");
    let mut s = Proc::socklab(&["send", "--wait", "0", &target]);
    s.write(b"one\ntwo\nthree\n");
    s.close_stdin();
    assert_eq!(s.finish().code(), 0);
    let r = r.finish();
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let sizes: Vec<_> = r
        .events
        .iter()
        .filter(|e| e["step"] == "datagram")
        .map(|e| e["n"].clone())
        .collect();
    assert_eq!(sizes, [4, 4, 6], "one line, one datagram, boundaries kept");
    assert_eq!(r.stdout_text(), "one\ntwo\nthree\n");
}

#[test]
fn every_sender_is_seen_with_its_own_address() {
    let (r, port) = receiver(&["--count", "2"]);
    let a = UdpSocket::bind("127.0.0.1:0").expect("bind a");
    let b = UdpSocket::bind("127.0.0.1:0").expect("bind b");
    a.send_to(b"from a", ("127.0.0.1", port)).expect("send a");
    b.send_to(b"from b", ("127.0.0.1", port)).expect("send b");
    let r = r.finish();
    let from: Vec<String> = r
        .events
        .iter()
        .filter(|e| e["step"] == "datagram")
        .map(|e| e["from"].as_str().unwrap_or_default().to_string())
        .collect();
    let expected = [
        a.local_addr().expect("a").to_string(),
        b.local_addr().expect("b").to_string(),
    ];
    assert_eq!(from, expected, "recv never locks onto its first peer");
}

#[test]
fn echo_replies_reach_the_sender() {
    let (_r, port) = receiver(&["--echo"]);
    let s = Proc::socklab(&["send", "127.0.0.1", &port.to_string(), "ping"]).finish();
    assert_eq!(s.code(), 0, "{}", s.stderr);
    assert_eq!(s.stdout_text(), "ping");
    assert_eq!(s.find("datagram").expect("the reply")["n"], 4);
}

#[test]
fn nobody_listening_is_reported_from_icmp() {
    let port = util::free_udp_port();
    let s = Proc::socklab(&["send", "127.0.0.1", &port.to_string(), "anyone?"]).finish();
    assert_eq!(s.code(), 1);
    assert_eq!(s.error_kind(), Some("port_unreachable"));
    let why = s.find("error").expect("error")["why"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(why.contains("nobody is listening there"), "{why}");
}

#[test]
fn the_largest_ipv4_datagram_arrives_and_one_more_byte_is_refused() {
    let (r, port) = receiver(&["--count", "1"]);
    let p = port.to_string();
    let ok = Proc::socklab(&["send", "--size", "65507", "--wait", "0", "127.0.0.1", &p]).finish();
    assert_eq!(ok.code(), 0, "{}", ok.stderr);
    let r = r.finish();
    assert_eq!(r.find("datagram").expect("datagram")["n"], 65507);
    assert_eq!(r.stdout.len(), 65507);
    let big = Proc::socklab(&["send", "--size", "65508", "127.0.0.1", &p]).finish();
    assert_eq!(big.code(), 1);
    assert_eq!(big.error_kind(), Some("message_too_long"));
}

#[test]
fn no_reply_is_explained_not_an_error() {
    let (mut r, port) = receiver(&[]);
    let s = Proc::socklab(&[
        "send",
        "--wait",
        "100ms",
        "127.0.0.1",
        &port.to_string(),
        "quiet",
    ])
    .finish();
    assert_eq!(s.code(), 0);
    let note = s
        .events
        .iter()
        .find(|e| e["step"] == "note")
        .expect("a note");
    assert!(
        note["text"]
            .as_str()
            .is_some_and(|t| t.contains("no reply")),
        "{note}"
    );
    r.wait_for("datagram");
}

#[test]
fn ipv6_datagrams() {
    let mut r = Proc::socklab(&["recv", "--count", "1", "[::1]:0"]);
    let port = r.port();
    let s = Proc::socklab(&["send", "--wait", "0", &format!("[::1]:{port}"), "v6"]).finish();
    assert_eq!(s.code(), 0, "{}", s.stderr);
    assert_eq!(r.finish().stdout_text(), "v6");
}

#[test]
fn a_huge_size_is_a_usage_error() {
    let s = util::run(
        "send --size 2G",
        util::socklab(&["send", "--size", "2G", "127.0.0.1", "9"]),
    );
    assert_eq!(s.code(), 2);
    assert!(s.stderr.contains("65,535"), "{}", s.stderr);
}
