//! Hostile peers against `socklab chat serve`: a session that never reads,
//! garbage, a huge stanza, a byte-a-second trickle before login, and
//! thousands of idle connections — while a well-behaved user goes on
//! chatting, unaffected.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;
use util::DEADLINE;
use util::chat::{ChatServer, JsonClient};

/// A well-behaved JSON user pings the server and gets the answer.
fn still_served(c: &mut JsonClient) {
    c.seen.clear();
    c.send(json!({"type": "ping"}));
    c.wait(|v| v["type"] == "pong");
}

#[test]
fn a_session_that_never_reads_is_closed_and_its_sender_goes_on() {
    let mut server = ChatServer::start(&["alice", "bob", "carol"], &[]);
    let mut alice = JsonClient::login(server.port, "alice");
    // bob logs in and then never reads another byte.
    let mut bob = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    let login = json!({"type": "login", "user": "bob", "password": util::chat::PASSWORD});
    bob.write_all(format!("{login}\n").as_bytes())
        .expect("login");
    server.wait_chat("auth", "bob");
    let body = "x".repeat(60_000);
    for _ in 0..400 {
        alice.send(json!({"to": "bob", "body": body}));
        if server
            .proc
            .seen
            .iter()
            .any(|e| e["action"] == "drop_session")
        {
            break;
        }
    }
    server.wait_chat("drop_session", "");
    still_served(&mut alice);
    let mut carol = JsonClient::login(server.port, "carol");
    alice.send(json!({"to": "carol", "body": "still here"}));
    carol.wait(|v| v["body"] == "still here");
    drop(bob);
}

#[test]
fn garbage_and_a_huge_stanza_end_only_their_own_stream() {
    let server = ChatServer::start(&["alice"], &["--max-stanza", "64k"]);
    let mut alice = JsonClient::login(server.port, "alice");
    let header = "<stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    let huge = format!(
        "{header}<message><body>{}</body></message>",
        "a".repeat(200_000)
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"\x00\xff\xfe garbage".to_vec(),
            "This is socklab's chat server",
        ),
        (format!("{header}<<<>>>").into_bytes(), "not-well-formed"),
        (huge.into_bytes(), "policy-violation"),
        (
            format!(
                "{header}<r xmlns='urn:{}'>{}",
                "n".repeat(8_000),
                "<a/>".repeat(30_000)
            )
            .into_bytes(),
            "policy-violation",
        ),
    ];
    for (bytes, expected) in cases {
        let mut c = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        c.set_read_timeout(Some(DEADLINE)).expect("timeout");
        let _ = c.write_all(&bytes);
        let mut answer = Vec::new();
        let _ = c.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.contains(expected), "{expected}: {answer}");
        still_served(&mut alice);
    }
}

#[test]
fn a_connection_that_never_logs_in_is_closed_at_the_login_timeout() {
    let mut server = ChatServer::start(&["alice"], &["--login-timeout", "1s"]);
    let mut alice = JsonClient::login(server.port, "alice");
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    slow.set_read_timeout(Some(DEADLINE)).expect("timeout");
    // A stream header that never ends: bytes keep coming, a login never does.
    let mut writer = slow.try_clone().expect("clone");
    let trickle = std::thread::spawn(move || {
        let _ = writer.write_all(b"<stream:stream to='localhost' version='1.0'");
        for _ in 0..100_000 {
            if writer.write_all(b" ").is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    server.wait_chat("timeout", "");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(String::from_utf8_lossy(&rest).contains("connection-timeout"));
    let _ = trickle.join();
    still_served(&mut alice);
}

#[test]
fn two_thousand_idle_connections_do_not_slow_a_chat_down() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut alice = JsonClient::login(server.port, "alice");
    let mut bob = JsonClient::login(server.port, "bob");
    let idle: Vec<TcpStream> = (0..2000)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port)).expect("connect"))
        .collect();
    for i in 0..20 {
        let body = format!("message {i}");
        alice.send(json!({"to": "bob", "body": body}));
        bob.wait(|v| v["body"] == body.as_str());
    }
    drop(idle);
}
