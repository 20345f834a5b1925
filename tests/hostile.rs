//! The hostile-input suite: the worst inputs the hardening issue found,
//! thrown at `listen -k` with every framing, while a well-behaved client
//! connects, sends one ordinary frame and must see it served — during the
//! attack, not after it. A quadratic codec, a frozen loop or a crash fails
//! the deadline.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;

use util::{DEADLINE, Proc};

/// Starts `listen -k --proto PROTO 0` (extra flags after) with stdin open.
/// Quiet: a million frames would make a million events, and the point here
/// is the server, not the test reading its narration.
fn server(proto: &str, extra: &[&str]) -> (Proc, u16) {
    let port = util::free_tcp_port();
    let port_text = port.to_string();
    let mut cmd = std::process::Command::new(util::bin());
    cmd.args(["-q", "--color", "never", "listen", "-k", "--proto", proto])
        .args(extra)
        .arg(&port_text);
    let p = Proc::spawn("hostile listen", cmd);
    util::wait_tcp_listening(port);
    (p, port)
}

/// Sends `bytes` from a thread on its own connection (the attacker), and
/// keeps the socket open until the server closes it.
fn attack(port: u16, bytes: Vec<u8>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            return;
        };
        let _ = s.set_read_timeout(Some(DEADLINE));
        for chunk in bytes.chunks(64 * 1024) {
            if s.write_all(chunk).is_err() {
                return;
            }
        }
        let mut sink = [0u8; 4096];
        while let Ok(n) = s.read(&mut sink) {
            if n == 0 {
                break;
            }
        }
    })
}

/// A well-behaved client sends `frame`; what the server writes to stdout
/// for it (`expect`) must appear within the deadline.
fn served(server: &mut Proc, port: u16, frame: &[u8], expect: &str) {
    let mut good = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    good.write_all(frame).expect("write");
    server.wait_stdout(expect.as_bytes());
}

#[test]
fn lines_a_megabyte_of_newlines_and_a_line_with_none() {
    let (mut s, port) = server("lines", &[]);
    let a = attack(port, vec![b'\n'; 1 << 20]);
    let b = attack(port, vec![b'x'; 3 << 20]);
    served(&mut s, port, b"hello\n", "hello");
    drop((a, b));
}

#[test]
fn json_blank_lines_one_huge_line_and_garbage() {
    let (mut s, port) = server("json", &[]);
    let a = attack(port, vec![b'\n'; 1 << 20]);
    let mut huge = b"{\"body\":\"".to_vec();
    huge.extend(vec![b'a'; 900_000]);
    huge.extend_from_slice(b"\"}\n");
    let b = attack(port, huge);
    let c = attack(port, b"{{{{ not json at all \x00\xff\n".repeat(20_000));
    served(
        &mut s,
        port,
        b"{\"from\":\"Vincent\",\"to\":\"Eli\",\"body\":\"hi\"}\n",
        "Vincent",
    );
    drop((a, b, c));
}

#[test]
fn json_length_prefix_announcing_four_gigabytes() {
    let (mut s, port) = server("json", &["--json-framing", "length"]);
    let a = attack(port, vec![0xff, 0xff, 0xff, 0xff, b'{']);
    let mut frame = 9u32.to_be_bytes().to_vec();
    frame.extend_from_slice(b"{\"ok\":1}\n");
    served(&mut s, port, &frame, "ok");
    drop(a);
}

#[test]
fn xml_namespace_amplification_deep_nesting_and_garbage() {
    let (mut s, port) = server("xml", &[]);
    let mut amp = format!("<r xmlns='urn:{}'>", "n".repeat(7_996)).into_bytes();
    amp.extend(b"<a/>".repeat(250_000));
    let a = attack(port, amp);
    let b = attack(port, b"<a>".repeat(100_000));
    let c = attack(port, b"<<<>>>&&&".repeat(10_000));
    served(
        &mut s,
        port,
        b"<message to='Eli'><body>hi</body></message>",
        "message",
    );
    drop((a, b, c));
}

#[test]
fn http_trickled_chunk_extensions_smuggling_and_a_huge_head() {
    let (s, port) = server("http", &[]);
    let mut chunks = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20_000 {
        chunks.extend_from_slice(b"1;ext=aaaaaaaaaaaaaaaaaaaaaaaa\r\nx\r\n");
    }
    let a = attack(port, chunks);
    let b = attack(
        port,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
            .to_vec(),
    );
    let c = attack(
        port,
        [
            b"GET / HTTP/1.1\r\n".as_slice(),
            &b"X-A: b\r\n".repeat(3_000),
            b"\r\n",
        ]
        .concat(),
    );
    // An HTTP server answers: the good client reads its 200 within the deadline.
    let mut good = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    good.set_read_timeout(Some(DEADLINE)).expect("timeout");
    good.write_all(b"GET /fine HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let _ = good.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("GET /fine"),
        "{answer}"
    );
    drop(s);
    drop((a, b, c));
}

#[test]
fn raw_a_flood_and_a_client_that_never_reads() {
    let (mut s, port) = server("raw", &[]);
    let a = attack(port, vec![0u8; 8 << 20]);
    let _never_reads = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    served(&mut s, port, b"still here", "still here");
    drop(a);
}
