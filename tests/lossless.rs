//! Nothing a peer sends is lost or changed on the way to stdout or to the
//! `--json` events: JSON objects reach stdout as they were sent (issue 11,
//! item 5), event data that is not UTF-8 is kept exactly (item 7), and
//! plain text sent to an XML reader is named as not XML.

mod util;

use std::io::Write;
use std::net::TcpStream;

use base64::Engine as _;
use util::{Proc, python};

/// Objects as a Python program writes them, with what a parse would
/// change: big and negative-zero numbers, exponents, escapes, a key twice.
const SENDER: &str = r#"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b'{"n": 12345678901234567890123, "z": -0, "e": 1E2, "s": "\\u4e2d"}\n')
s.sendall(b'{"a":1,"b":{"c":1,"c":2},"a":3}\r\n')
s.shutdown(socket.SHUT_WR)
s.recv(1)
"#;

#[test]
fn json_objects_reach_stdout_as_sent_and_repeated_keys_are_named() {
    let (mut server, port) = Proc::server("listen", &["--proto", "json"]);
    server.close_stdin();
    let sender = util::run("python", python(SENDER, &[&port.to_string()]));
    assert_eq!(sender.code(), 0, "{}", sender.stderr);
    let server = server.finish();
    assert_eq!(server.code(), 0, "{}", server.stderr);
    assert_eq!(
        server.stdout_text(),
        "{\"n\": 12345678901234567890123, \"z\": -0, \"e\": 1E2, \"s\": \"\\u4e2d\"}\n{\"a\":1,\"b\":{\"c\":1,\"c\":2},\"a\":3}\n"
    );
    let frames: Vec<&str> = server
        .events
        .iter()
        .filter(|e| e["step"] == "frame")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(
        frames[1].contains("duplicate keys \"b.c\", \"a\""),
        "{}",
        frames[1]
    );
    assert!(!frames[0].contains("duplicate"), "{}", frames[0]);
}

#[test]
fn json_events_keep_bytes_that_are_not_utf8() {
    let (mut server, port) = Proc::server("listen", &[]);
    server.close_stdin();
    // A telnet negotiation (IAC DO ECHO) and Latin-1 text.
    let sent = b"\xff\xfd\x01caf\xe9\n";
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(sent).expect("write");
    drop(s);
    let server = server.finish();
    assert_eq!(server.stdout, sent);
    let read = server.find("read").expect("a read");
    assert_eq!(read["data"], "\u{fffd}\u{fffd}\u{1}caf\u{fffd}\n");
    let exact = base64::engine::general_purpose::STANDARD
        .decode(read["data_b64"].as_str().expect("data_b64"))
        .expect("base64");
    assert_eq!(exact, sent);
}

#[test]
fn plain_text_typed_to_an_xml_reader_is_named_not_xml() {
    let (mut server, port) = Proc::server("listen", &["--proto", "xml"]);
    server.close_stdin();
    let mut c = Proc::socklab(&["connect", "--proto", "xml", "127.0.0.1", &port.to_string()]);
    c.write(b"hello\n");
    c.finish();
    let server = server.finish();
    assert_eq!(server.code(), 1);
    let e = server.find("error").expect("an error");
    let message = e["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("malformed xml frame: this is not XML"),
        "{message}"
    );
}
