//! `--proto telnet` against the real telnet client (inetutils, driven
//! through a pseudo-terminal by util-linux `script`): its negotiation is
//! decoded, named and refused, and the client stays in line mode.
//!
//! telnet negotiates only when it believes it talks to a telnet server:
//! on port 23 (`telnet HOST`, no port), or on any port written with a dash
//! (`telnet -- HOST -PORT`, BSD telnet's way to force negotiation). The
//! second runs anywhere on an OS-chosen port; the first needs root and a
//! free port 23, which CI has.

mod util;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

use serde_json::Value;
use util::{DEADLINE, Proc, is_root, require};

/// The names of the options the server was asked about.
fn names(server: &Proc) -> Vec<String> {
    server
        .seen
        .iter()
        .filter(|e| e["step"] == "telnet")
        .map(|e| {
            format!(
                "{} {}",
                e["command"].as_str().unwrap_or(""),
                e["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Runs `telnet ARGS` in a pty against `server`, types a line, and checks
/// what the server saw.
fn talk(mut server: Proc, telnet_args: &str) {
    require("telnet");
    require("script");
    let mut cmd = Command::new("script");
    cmd.args([
        "-q",
        "-e",
        "-c",
        &format!("telnet {telnet_args}"),
        "/dev/null",
    ]);
    let mut client = Proc::spawn("telnet", cmd);
    server.wait_for("accept");
    // The client's opening offers, each answered.
    server.wait_until("the client's negotiation", |evs| {
        evs.iter()
            .any(|e| e["step"] == "telnet" && e["name"] == "TERMINAL-TYPE")
    });
    client.write(b"hello socklab\n");
    server.wait_until("the typed line", |evs| {
        evs.iter().any(|e| {
            e["step"] == "frame"
                && e["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("hello socklab"))
        })
    });
    let seen = names(&server);
    for asked in ["WILL TERMINAL-TYPE", "WILL NAWS", "DO SUPPRESS-GO-AHEAD"] {
        assert!(
            seen.iter().any(|s| s == asked),
            "{asked} not among {seen:?}"
        );
    }
    server.close_stdin();
    let client = client.finish();
    let f = server.finish();
    assert_eq!(f.code(), 0, "{}", f.stderr);
    assert_eq!(
        f.stdout_text(),
        "hello socklab\r\n",
        "data only: no negotiation bytes"
    );
    let telnet: Vec<&Value> = f.events.iter().filter(|e| e["step"] == "telnet").collect();
    for e in &telnet {
        let text = e.to_string();
        assert!(
            !text.contains('\u{fffd}'),
            "a telnet event with U+FFFD: {text}"
        );
        if e["command"] == "WILL" {
            let answer = e["answer"].as_str().unwrap_or("");
            assert!(answer.starts_with("IAC DONT "), "{text}");
        }
    }
    // Refused everything: the client stayed in line mode, so the line came
    // in one read, edited and ended by the client (character mode would
    // send each key as it is pressed).
    let line_read = f.events.iter().any(|e| {
        e["step"] == "read"
            && e["data"]
                .as_str()
                .is_some_and(|d| d.starts_with("hello socklab\r\n"))
    });
    assert!(line_read, "the line did not arrive whole:\n{}", f.stderr);
    assert!(
        client.stdout_text().contains("Connected to"),
        "{}",
        client.stdout_text()
    );
}

#[test]
fn real_telnet_negotiation_is_named_and_refused_on_any_port() {
    let (server, port) = Proc::server("listen", &["--proto", "telnet"]);
    talk(server, &format!("-- 127.0.0.1 -{port}"));
}

#[test]
fn real_telnet_on_port_23_negotiates_by_itself() {
    if !is_root() {
        eprintln!(
            "skipped: port 23 needs root (CI runs as root); the test on any port covers the codec"
        );
        return;
    }
    if TcpListener::bind("127.0.0.1:23").is_err() {
        eprintln!("skipped: 127.0.0.1:23 is taken by another program");
        return;
    }
    let mut server = Proc::socklab(&["listen", "--proto", "telnet", "23"]);
    server.wait_for("listen");
    talk(server, "127.0.0.1");
}

#[test]
fn text_narration_names_each_command_and_its_answer() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    // Text narration has no event to learn the port from: a port that
    // was free a moment ago, given as nc writes it.
    let mut cmd = Command::new(util::bin());
    cmd.args([
        "--color",
        "never",
        "listen",
        "--proto",
        "telnet",
        "-p",
        &port.to_string(),
    ]);
    let mut server = Proc::spawn("listen", cmd);
    util::wait_tcp_listening(port);
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(DEADLINE)).expect("timeout");
    // IAC DO ECHO, IAC SB NAWS 80x24 IAC SE, then a line.
    c.write_all(&[255, 253, 1, 255, 250, 31, 0, 80, 0, 24, 255, 240])
        .expect("write");
    c.write_all(b"hi\r\n").expect("write");
    let mut answer = [0; 3];
    c.read_exact(&mut answer).expect("answer");
    assert_eq!(answer, [255, 252, 1], "IAC WONT ECHO");
    c.shutdown(std::net::Shutdown::Write).expect("fin");
    server.close_stdin();
    let f = server.finish();
    for says in [
        "telnet IAC DO ECHO: the peer asks us to use ECHO (RFC 857)",
        "→ answered IAC WONT ECHO",
        "telnet IAC SB NAWS … IAC SE [80x24]",
        "\"hi\" (ended by CR LF)",
    ] {
        assert!(
            f.stderr.contains(says),
            "should say {says:?}:\n{}",
            f.stderr
        );
    }
}

#[test]
fn connect_refuses_a_servers_options_and_escapes_what_is_typed() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port().to_string();
    let mut client = Proc::socklab(&["connect", "--proto", "telnet", "127.0.0.1", &port]);
    let (mut server, _) = l.accept().expect("accept");
    server.set_read_timeout(Some(DEADLINE)).expect("timeout");
    // What telnetd says first: DO TERMINAL-TYPE, WILL ECHO, WILL SGA.
    server
        .write_all(&[255, 253, 24, 255, 251, 1, 255, 251, 3])
        .expect("write");
    server.write_all(b"welcome\r\n").expect("write");
    let mut answers = [0; 9];
    server.read_exact(&mut answers).expect("answers");
    assert_eq!(answers, [255, 252, 24, 255, 254, 1, 255, 254, 3]);
    // A byte 255 typed is sent as IAC IAC; LF as CR LF (the NVT's newline).
    client.feed(vec![b'a', 255, b'\n']);
    let mut typed = Vec::new();
    server.read_to_end(&mut typed).expect("read");
    assert_eq!(typed, [b'a', 255, 255, b'\r', b'\n']);
    drop(server);
    let f = client.finish();
    assert_eq!(f.code(), 0, "{}", f.stderr);
    assert_eq!(f.stdout_text(), "welcome\r\n");
}
