//! `connect --proto http` against servers nobody here wrote: nginx and
//! Python's http.server, and a Python server that answers in chunks or
//! until it closes. Regression tests for issue 11's HTTP client items: a
//! typed head with header fields (1), bodies that stream whatever their
//! size (2), a FIN that waits for the answers (3), and one request at a
//! time unless `--pipeline` (4).

mod util;

use serde_json::Value;
use util::nginx::Nginx;
use util::{Finished, Proc, python_server, random_bytes, sha256};

fn frames(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["step"] == "frame").collect()
}

fn notes(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["step"] == "note")
        .filter_map(|e| e["text"].as_str())
        .collect()
}

/// `socklab connect --proto http [extra] 127.0.0.1 PORT` with `typed` as
/// its whole input.
fn client(port: u16, extra: &[&str], typed: &[u8]) -> Finished {
    let port = port.to_string();
    let mut args = vec!["connect", "--proto", "http"];
    args.extend_from_slice(extra);
    args.extend(["127.0.0.1", &port]);
    let mut c = Proc::socklab(&args);
    c.write(typed);
    c.finish()
}

#[test]
fn a_typed_head_with_host_and_range_gets_206_from_nginx() {
    let nginx = Nginx::start(&[("hello.txt", b"hello from nginx\n")], "");
    let c = client(
        nginx.port,
        &[],
        b"GET /hello.txt HTTP/1.1\nHost: localhost\nRange: bytes=6-9\n\n",
    );
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert_eq!(c.stdout_text(), "from");
    let f = frames(&c.events);
    assert!(
        f[0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("HTTP/1.1 206")),
        "{:?}",
        f[0]
    );
    let sent = c
        .events
        .iter()
        .find(|e| e["step"] == "write")
        .expect("a write");
    assert_eq!(
        sent["data"], "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nRange: bytes=6-9\r\n\r\n",
        "sent as typed, CR LF added"
    );
}

#[test]
fn header_options_add_fields_to_the_short_form() {
    let nginx = Nginx::start(&[("hello.txt", b"hello from nginx\n")], "");
    let c = client(
        nginx.port,
        &["-H", "Range: bytes=0-4", "-H", "X-Trace: 1"],
        b"GET /hello.txt\n",
    );
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert_eq!(c.stdout_text(), "hello");
    let usage = util::run(
        "bad -H",
        util::socklab(&[
            "connect",
            "--proto",
            "http",
            "-H",
            "no colon",
            "127.0.0.1",
            "1",
        ]),
    );
    assert_eq!(usage.code(), 2, "{}", usage.stderr);
}

#[test]
fn head_to_nginx_gets_the_head_and_no_body() {
    let nginx = Nginx::start(&[("page.html", &[b'x'; 5000])], "");
    let c = client(nginx.port, &[], b"HEAD /page.html\n");
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert_eq!(c.stdout, b"");
    let text = frames(&c.events)[0]["text"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        text.starts_with("HTTP/1.1 200") && text.contains("no body"),
        "{text}"
    );
}

#[test]
fn input_that_ends_at_once_never_cuts_an_nginx_answer_short() {
    // nginx stops sending to a client whose FIN it has seen: the FIN must
    // wait for the whole answer. 5 MB is also over the default
    // --max-frame, which once stopped the body altogether.
    let big = random_bytes(5_000_000, 11);
    let nginx = Nginx::start(&[("big", &big)], "");
    for run in 0..20 {
        let c = client(nginx.port, &[], b"GET /big\n");
        assert_eq!(c.code(), 0, "run {run}: {}", c.stderr);
        assert_eq!(c.stdout.len(), big.len(), "run {run}");
        assert!(c.stdout == big, "run {run}: the body differs");
        let shutdown = c.steps().iter().position(|s| *s == "shutdown");
        let done = notes(&c.events)
            .iter()
            .position(|n| n.starts_with("body complete: 5000000 bytes"));
        assert!(done.is_some() && shutdown.is_some(), "{:?}", c.steps());
    }
}

#[test]
fn no_shutdown_closes_once_every_answer_is_in() {
    // nginx keeps an idle keep-alive connection for 75 s: waiting for it
    // to close would outlast the test's deadline.
    let nginx = Nginx::start(&[("hello.txt", b"hello\n")], "keepalive_timeout 300s;");
    let c = client(
        nginx.port,
        &["--no-shutdown"],
        b"GET /hello.txt\nGET /hello.txt\n",
    );
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert_eq!(c.stdout_text(), "hello\nhello\n");
    assert!(!c.steps().contains(&"shutdown"), "no FIN: {:?}", c.steps());
    assert!(!c.steps().contains(&"peer_closed"), "{:?}", c.steps());
}

#[test]
fn requests_wait_for_answers_so_python_http_server_answers_them_all() {
    let files: &[(&str, &[u8])] = &[("a", b"A\n"), ("b", b"B\n"), ("c", b"C\n")];
    let (_py, _dir, port) = util::python_http_server("HTTP/1.1", files);
    let c = client(port, &[], b"GET /a\nGET /b\nGET /c\n");
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert_eq!(c.stdout_text(), "A\nB\nC\n");
    assert_eq!(frames(&c.events).len(), 3);
    let n = notes(&c.events);
    assert!(
        n.iter().any(|t| t.contains("waits until the answer")),
        "{n:?}"
    );
    assert!(n.iter().any(|t| t.contains("sending request 3")), "{n:?}");
}

#[test]
fn pipeline_sends_at_once_and_says_so() {
    let files: &[(&str, &[u8])] = &[("a", b"A\n"), ("b", b"B\n")];
    let (_py, _dir, port) = util::python_http_server("HTTP/1.1", files);
    let c = client(port, &["--pipeline"], b"GET /a\nGET /b\n");
    // Both requests are written before any answer is read.
    let steps = c.steps();
    let second_write = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == "write")
        .nth(1);
    let first_read = steps.iter().position(|s| *s == "read");
    assert!(
        second_write.is_some_and(|(i, _)| first_read.is_none_or(|r| i < r)),
        "{steps:?}"
    );
    let n = notes(&c.events);
    assert!(n.iter().any(|t| t.starts_with("--pipeline")), "{n:?}");
    assert!(c.stdout_text().starts_with("A\n"));
}

/// A server that reads one request head, answers `mode` (`chunked`: the
/// body in chunks of the sizes given, then a trailer; `close`: HTTP/1.0
/// with no length, the body running to the close), prints the body's
/// SHA-256 and waits for the client's FIN before closing.
const ANSWER: &str = r#"
import socket, sys, random, hashlib
mode, sizes = sys.argv[1], [int(n) for n in sys.argv[2].split(",")]
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
got = b""
while b"\r\n\r\n" not in got:
    got += c.recv(65536)
rng, h = random.Random(7), hashlib.sha256()
if mode == "chunked":
    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for n in sizes:
        data = rng.randbytes(n)
        h.update(data)
        c.sendall(b"%x;n=%d\r\n" % (n, n) + data + b"\r\n")
    c.sendall(b"0\r\nX-Done: yes\r\n\r\n")
    print(h.hexdigest(), flush=True)
    while c.recv(65536):
        pass
else:
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
    for n in sizes:
        data = rng.randbytes(n)
        h.update(data)
        c.sendall(data)
    print(h.hexdigest(), flush=True)
c.close()
"#;

fn streamed(mode: &str, sizes: &str) -> (Finished, String) {
    let (py, port) = python_server(mode, ANSWER, &[mode, sizes]);
    let c = client(port, &[], b"GET /\n");
    let out = py.finish();
    let digest = out.stdout_text().lines().nth(1).unwrap_or("").to_string();
    (c, digest)
}

#[test]
fn a_chunked_answer_over_the_frame_limit_streams_exactly() {
    let (c, digest) = streamed("chunked", "1,3000000,17,1048576,5");
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert_eq!(c.stdout.len(), 4_048_599);
    assert_eq!(sha256(&c.stdout), digest);
    let n = notes(&c.events);
    assert!(
        n.iter()
            .any(|t| t.starts_with("body complete: 4048599 bytes") && t.contains("1 trailer")),
        "{n:?}"
    );
}

#[test]
fn an_answer_that_runs_to_the_close_streams_exactly() {
    let (c, digest) = streamed("close", "2500000,1");
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert_eq!(c.stdout.len(), 2_500_001);
    assert_eq!(sha256(&c.stdout), digest);
    let text = frames(&c.events)[0]["text"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(text.contains("body until the connection closes"), "{text}");
}

#[test]
fn socklab_frame_shows_a_head_then_each_body_piece_then_the_end() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let mut p = Proc::socklab(&["frame", "--proto", "http", "--split-at", "52,60"]);
    p.write(wire);
    let f = p.finish();
    assert_eq!(f.code(), 0, "{}", f.stderr);
    assert_eq!(f.stdout_text(), "hello world");
    let texts: Vec<&str> = frames(&f.events)
        .iter()
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(texts[0].starts_with("HTTP/1.1 200 OK"), "{texts:?}");
    assert!(texts[1].starts_with("body piece: "), "{texts:?}");
    assert_eq!(
        texts.last().copied(),
        Some("end of message: 11 body bytes"),
        "{texts:?}"
    );
}
