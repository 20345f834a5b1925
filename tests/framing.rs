//! Framing on real sockets, against real peers: curl, Python's http.server,
//! Python clients speaking JSON and XML one byte at a time.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;

use util::{Proc, python};

fn frames(events: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    events.iter().filter(|e| e["step"] == "frame").collect()
}

#[test]
fn curl_sends_several_requests_on_one_connection_to_listen_http() {
    let (server, port) = Proc::server("listen", &["--proto", "http"]);
    let base = format!("http://127.0.0.1:{port}");
    let (a, login) = (format!("{base}/a"), format!("{base}/login"));
    let curl = util::curl(&["-sv", &a, &login, "-d", "username=zhangsan&password=123456"]);
    assert!(
        curl.stderr.contains("Re-using existing connection"),
        "one connection: {}",
        curl.stderr
    );
    assert!(
        curl.stdout_text()
            .contains("socklab received: POST /login HTTP/1.1")
    );
    assert!(curl.stdout_text().contains("form: password = 123456"));
    let server = server.finish();
    assert_eq!(server.code(), 0, "{}", server.stderr);
    let f = frames(&server.events);
    assert_eq!(f.len(), 2);
    assert!(
        f[1]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("POST /login HTTP/1.1"))
    );
    assert_eq!(
        server.stdout_text(),
        "username=zhangsan&password=123456".repeat(2)
    );
}

fn python_http_server(version: &str) -> (Proc, tempfile::TempDir, u16) {
    util::python_http_server(version, &[("hello.txt", b"hello from python\n")])
}

#[test]
fn connect_http_talks_to_python_http_server_with_keep_alive() {
    let (_py, _dir, port) = python_http_server("HTTP/1.1");
    let mut c = Proc::socklab(&["connect", "--proto", "http", "127.0.0.1", &port.to_string()]);
    c.write(b"GET /hello.txt\nHEAD /hello.txt\nGET /missing\n");
    c.close_stdin();
    let c = c.finish();
    assert_eq!(c.code(), 0, "{}", c.stderr);
    let f = frames(&c.events);
    assert_eq!(
        f.len(),
        3,
        "three responses on one connection: {:?}",
        c.steps()
    );
    assert!(
        f[0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("HTTP/1.1 200") && t.contains("18-byte body"))
    );
    assert!(
        f[1]["text"].as_str().is_some_and(|t| t.contains("no body")),
        "HEAD: {}",
        f[1]["text"]
    );
    assert!(
        f[2]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("HTTP/1.1 404"))
    );
    assert!(c.stdout_text().starts_with("hello from python\n"));
}

#[test]
fn an_http_1_0_server_closing_after_one_answer_is_explained() {
    let (_py, _dir, port) = python_http_server("HTTP/1.0");
    let mut c = Proc::socklab(&["connect", "--proto", "http", "127.0.0.1", &port.to_string()]);
    c.write(b"GET /hello.txt\n");
    c.close_stdin();
    let c = c.finish();
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert_eq!(c.stdout_text(), "hello from python\n");
    let note = c.events.iter().find(|e| {
        e["step"] == "note" && e["text"].as_str().is_some_and(|t| t.contains("will close"))
    });
    assert!(note.is_some(), "{:?}", c.steps());
}

const JSON_CLIENT: &str = r#"
import socket, struct, sys, json
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for m in [{"from": "Vincent", "to": "Eli", "body": "中午一起吃饭"}, {"n": 2}]:
    b = json.dumps(m, ensure_ascii=False).encode()
    wire = b + b"\n" if mode == "newline" else struct.pack(">I", len(b)) + b
    for i in range(len(wire)):
        s.send(wire[i:i+1])
s.shutdown(socket.SHUT_WR)
s.recv(1)
"#;

#[test]
fn python_json_clients_in_both_framings_one_byte_at_a_time() {
    for mode in ["newline", "length"] {
        let (mut server, port) =
            Proc::server("listen", &["--proto", "json", "--json-framing", mode]);
        server.close_stdin();
        let client = util::run(
            "python json",
            python(JSON_CLIENT, &[&port.to_string(), mode]),
        );
        assert_eq!(client.code(), 0, "{}", client.stderr);
        let server = server.finish();
        assert_eq!(server.code(), 0, "{mode}: {}", server.stderr);
        assert_eq!(
            server.stdout_text(),
            "{\"from\": \"Vincent\", \"to\": \"Eli\", \"body\": \"中午一起吃饭\"}\n{\"n\": 2}\n",
            "{mode}: each object as Python sent it"
        );
        let m = server.find("message").expect("the message view");
        assert_eq!(
            (m["from"].as_str(), m["body"].as_str()),
            (Some("Vincent"), Some("中午一起吃饭"))
        );
    }
}

const XML_CLIENT: &str = r#"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
wire = ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' to='example.com'>"
        "<message from='Vincent' to='Eli'><body>一起吃饭 &amp; 聊天</body></message>"
        "<presence/></stream:stream>").encode()
for i in range(len(wire)):
    s.send(wire[i:i+1])
s.shutdown(socket.SHUT_WR)
s.recv(1)
"#;

#[test]
fn xml_stanzas_sent_byte_by_byte_are_cut_whole() {
    let (mut server, port) = Proc::server("listen", &["--proto", "xml"]);
    server.close_stdin();
    let client = util::run("python xml", python(XML_CLIENT, &[&port.to_string()]));
    assert_eq!(client.code(), 0, "{}", client.stderr);
    let server = server.finish();
    assert_eq!(server.code(), 0, "{}", server.stderr);
    let texts: Vec<String> = frames(&server.events)
        .iter()
        .map(|f| f["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(texts[0].contains("<stream:stream> to example.com opened"));
    assert!(texts[1].starts_with("<message>"));
    assert!(texts[3].contains("closed"));
    let m = server.find("message").expect("message view");
    assert_eq!(m["body"], "一起吃饭 & 聊天");
}

#[test]
fn the_message_view_sends_typed_lines_as_messages() {
    for proto in ["json", "xml", "http"] {
        let (mut server, port) = Proc::server("listen", &["--proto", proto]);
        server.close_stdin();
        let mut c = Proc::socklab(&[
            "connect",
            "--proto",
            proto,
            "--from",
            "Vincent",
            "--to",
            "Eli",
            "127.0.0.1",
            &port.to_string(),
        ]);
        c.write("中午一起吃饭\n".as_bytes());
        c.close_stdin();
        c.finish();
        let server = server.finish();
        let m = server
            .find("message")
            .unwrap_or_else(|| panic!("{proto}: no message: {:?}", server.steps()));
        assert_eq!(
            (m["from"].as_str(), m["to"].as_str(), m["body"].as_str()),
            (Some("Vincent"), Some("Eli"), Some("中午一起吃饭")),
            "{proto}"
        );
    }
}

#[test]
fn a_malformed_frame_closes_the_connection_cleanly_with_a_pointer() {
    let (mut server, port) =
        Proc::server("listen", &["--proto", "json", "--json-framing", "length"]);
    server.close_stdin();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(util::DEADLINE)).expect("timeout");
    // A huge length: the stream can never be resynchronised.
    s.write_all(&[0x7f, 0xff, 0xff, 0xff, b'{']).expect("write");
    let mut rest = Vec::new();
    let n = s
        .read_to_end(&mut rest)
        .expect("an orderly FIN, not a reset");
    assert_eq!(n, 0);
    drop(s);
    let server = server.finish();
    assert_eq!(server.code(), 1);
    let e = server.find("error").expect("error");
    assert_eq!(e["kind"], "frame_too_large");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("--max-frame"))
    );
    assert!(e["pointer"].as_str().is_some_and(|p| p.contains('^')));
}

#[test]
fn a_peer_that_never_closes_after_an_error_is_closed_after_a_linger() {
    let (mut server, port) = Proc::server("listen", &["--proto", "lines", "--max-frame", "4"]);
    server.close_stdin();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    // No newline: the line never ends, so the stream cannot be resynchronised.
    s.write_all(b"far too long").expect("write");
    // We never close: the server must not wait for us forever.
    let server = server.finish();
    assert_eq!(server.code(), 1);
    assert_eq!(server.error_kind(), Some("frame_too_large"));
    assert!(server.find("timeout").is_some(), "{:?}", server.steps());
    drop(s);
}

#[test]
fn a_malformed_request_gets_400_and_a_close() {
    let (server, port) = Proc::server("listen", &["--proto", "http"]);
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(util::DEADLINE)).expect("timeout");
    s.write_all(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request"), "{answer}");
    assert!(answer.contains("Connection: close"));
    drop(s);
    let server = server.finish();
    assert_eq!(server.error_kind(), Some("malformed_frame"));
}

#[test]
fn eof_in_the_middle_of_a_frame_is_named() {
    let (mut server, port) = Proc::server("listen", &["--proto", "json"]);
    server.close_stdin();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(b"{\"ok\":1}\n{\"half\":").expect("write");
    s.shutdown(std::net::Shutdown::Write).expect("FIN");
    let server = server.finish();
    assert_eq!(server.code(), 1);
    assert_eq!(server.error_kind(), Some("peer_closed_mid_frame"));
    assert_eq!(server.stdout_text(), "{\"ok\":1}\n");
}

#[test]
fn listen_lines_is_a_faithful_pipe_crlf_kept_and_the_last_line_delivered() {
    let (mut server, port) = Proc::server("listen", &["--proto", "lines"]);
    server.close_stdin();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let sent = "HELO a\r\nplain\n\r\n中午\r\nno ending".as_bytes();
    s.write_all(sent).expect("write");
    s.shutdown(std::net::Shutdown::Write).expect("FIN");
    let server = server.finish();
    assert_eq!(server.code(), 0, "{}", server.stderr);
    assert_eq!(server.stdout, sent, "stdout gets the bytes as they came");
    let f = frames(&server.events);
    assert_eq!(f.len(), 5);
    assert!(
        f[4]["text"]
            .as_str()
            .is_some_and(|t| t.contains("no line ending: the stream ended")),
        "{:?}",
        f[4]
    );
    assert!(
        f[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("ended by CR LF"))
    );
}

#[test]
fn recv_lines_passes_a_datagram_through_unchanged() {
    let (r, port) = Proc::server("recv", &["--proto", "lines", "--count", "1"]);
    let s = util::run(
        "send",
        util::socklab(&[
            "send",
            "--wait",
            "0",
            &format!("127.0.0.1:{port}"),
            "one\r\ntwo",
        ]),
    );
    assert_eq!(s.code(), 0, "{}", s.stderr);
    let r = r.finish();
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(r.stdout_text(), "one\r\ntwo");
}

#[test]
fn a_bad_json_line_is_skipped_and_the_stream_goes_on() {
    let (mut server, port) = Proc::server("listen", &["--proto", "json"]);
    server.close_stdin();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(b"{\"ok\":1}\n{\"bad\" 2}\n{\"ok\":3}\n")
        .expect("write");
    s.shutdown(std::net::Shutdown::Write).expect("FIN");
    let server = server.finish();
    assert_eq!(server.stdout_text(), "{\"ok\":1}\n{\"ok\":3}\n");
    assert_eq!(server.error_kind(), Some("malformed_frame"));
}

#[test]
fn a_datagram_is_one_frame() {
    let (r, port) = Proc::server("recv", &["--proto", "json", "--count", "2"]);
    let target = format!("127.0.0.1:{port}");
    for body in ["one", "two"] {
        let s = Proc::socklab(&[
            "send", "--wait", "0", "--proto", "json", "--from", "Vincent", "--to", "Eli", &target,
            body,
        ])
        .finish();
        assert_eq!(s.code(), 0, "{}", s.stderr);
    }
    let r = r.finish();
    let bodies: Vec<_> = r
        .events
        .iter()
        .filter(|e| e["step"] == "message")
        .map(|e| e["body"].clone())
        .collect();
    assert_eq!(bodies, ["one", "two"]);
}

#[test]
fn frame_gives_the_same_frames_for_any_split() {
    let input = "{\"from\":\"Vincent\",\"to\":\"Eli\",\"body\":\"中午一起吃饭\"}\n{\"n\":2}\n";
    let run = |extra: &[&str]| {
        let mut args = vec!["frame", "--proto", "json"];
        args.extend_from_slice(extra);
        let mut p = Proc::socklab(&args);
        p.write(input.as_bytes());
        p.finish()
    };
    let whole = run(&[]);
    assert_eq!(whole.code(), 0, "{}", whole.stderr);
    for extra in [
        &["--chunk", "1"][..],
        &["--split-at", "5,13"],
        &["--random-chunks", "--seed", "7"],
    ] {
        let f = run(extra);
        assert_eq!(f.stdout, whole.stdout, "{extra:?}");
        assert!(
            f.events.iter().filter(|e| e["step"] == "feed").count() > 1,
            "{extra:?} fed in pieces"
        );
    }
    // Cut in the middle of 午 (a three-byte character): same result.
    let mid = input.find('午').expect("午") + 1;
    assert_eq!(run(&["--split-at", &mid.to_string()]).stdout, whole.stdout);
}

#[test]
fn frame_encode_prints_the_exact_wire_bytes() {
    let f = util::run(
        "frame encode",
        util::socklab(&[
            "frame",
            "encode",
            "--proto",
            "json",
            "--json-framing",
            "length",
            "--from",
            "Vincent",
            "--to",
            "Eli",
            "hi",
        ]),
    );
    assert_eq!(f.code(), 0, "{}", f.stderr);
    let body = br#"{"from":"Vincent","to":"Eli","body":"hi"}"#;
    assert_eq!(&f.stdout[..4], &(body.len() as u32).to_be_bytes());
    assert_eq!(&f.stdout[4..], body);
    let bad = util::run(
        "frame encode bad",
        util::socklab(&["frame", "encode", "--proto", "json", "not json"]),
    );
    assert_eq!(bad.code(), 1);
    assert_eq!(bad.error_kind(), Some("bad_input"));
}

#[test]
fn a_frame_over_the_limit_names_the_flag() {
    let mut p = Proc::socklab(&["frame", "--proto", "lines", "--max-frame", "8"]);
    p.write(b"0123456789abcdef\n");
    let f = p.finish();
    assert_eq!(f.code(), 1);
    assert_eq!(f.error_kind(), Some("frame_too_large"));
    assert!(
        f.find("error").expect("error")["message"]
            .as_str()
            .is_some_and(|m| m.contains("--max-frame"))
    );
}

#[test]
fn a_large_upload_gets_100_continue_at_once() {
    let (server, port) = Proc::server("listen", &["--proto", "http", "--max-frame", "4MiB"]);
    let body = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(body.path(), vec![b'a'; 2_000_000]).expect("write");
    let (data, url) = (
        format!("@{}", body.path().display()),
        format!("http://127.0.0.1:{port}/up"),
    );
    let curl = util::curl(&["-sv", "-o", "/dev/null", "-d", &data, &url]);
    // Without the interim answer curl waits a second, then sends anyway.
    assert!(
        curl.stderr.contains("Expect: 100-continue"),
        "{}",
        curl.stderr
    );
    assert!(
        curl.stderr.contains("< HTTP/1.1 100 Continue"),
        "{}",
        curl.stderr
    );
    let server = server.finish();
    assert!(
        frames(&server.events)[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("2000000-byte body"))
    );
}

/// `socklab frame --proto http` with `input` on stdin.
fn frame_http(input: &[u8]) -> util::Finished {
    let mut p = Proc::socklab(&["frame", "--proto", "http"]);
    p.write(input);
    p.finish()
}

#[test]
fn a_status_line_without_a_reason_or_with_non_ascii_is_read_not_a_crash() {
    for (input, line) in [
        (&b"HTTP/1.1 200\r\n\r\n"[..], "HTTP/1.1 200 "),
        (
            "HTTP/1.1 200 Café\r\nContent-Length: 0\r\n\r\n".as_bytes(),
            "HTTP/1.1 200 Café",
        ),
        (
            b"HTTP/1.1 200 Caf\xe9\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 Caf\u{fffd}",
        ),
    ] {
        let f = frame_http(input);
        assert_eq!(f.code(), 0, "{}", f.stderr);
        let text = frames(&f.events)[0]["text"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(text.starts_with(line), "{text}");
    }
}

/// A server that answers every request with the same raw bytes, then closes.
const RAW_HTTP_SERVER: &str = r#"
import socket, sys
answer = bytes.fromhex(sys.argv[1])
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
got = b""
while b"\r\n\r\n" not in got:
    got += c.recv(4096)
c.sendall(answer)
c.close()
"#;

#[test]
fn connect_http_reads_a_reason_phrase_in_utf8_from_a_real_server() {
    let answer = "HTTP/1.1 200 Café\r\nContent-Length: 2\r\n\r\nhi".as_bytes();
    let hex: String = answer.iter().map(|b| format!("{b:02x}")).collect();
    let py = Proc::spawn("raw http server", python(RAW_HTTP_SERVER, &[&hex]));
    py.wait_stdout(b"\n");
    let port = py.stdout_now().trim().to_string();
    let mut c = Proc::socklab(&["connect", "--proto", "http", "127.0.0.1", &port]);
    c.write(b"GET /\n");
    let c = c.finish();
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert_eq!(c.stdout_text(), "hi");
    let f = frames(&c.events);
    assert!(
        f[0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("HTTP/1.1 200 Café")),
        "{:?}",
        f[0]
    );
}

/// Sends `request` to a fresh connection and reads until the server closes.
fn exchange(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(util::DEADLINE)).expect("timeout");
    s.write_all(request).expect("write");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)
        .expect("the server closes the connection after answering");
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn curl_head_against_listen_http_gets_a_head_and_no_body() {
    let (server, port) = Proc::server("listen", &["-k", "--proto", "http"]);
    let url = format!("http://127.0.0.1:{port}/");
    let curl = util::curl(&["-sSv", "-I", &url]);
    assert!(
        curl.stdout_text().starts_with("HTTP/1.1 200 OK"),
        "{}",
        curl.stdout_text()
    );
    assert!(
        !curl.stderr.contains("Excess") && !curl.stderr.contains("Leftovers"),
        "curl warned: {}",
        curl.stderr
    );
    let answer = exchange(
        port,
        b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let (head, after) = answer.split_once("\r\n\r\n").expect("a complete head");
    assert!(
        head.contains("Content-Length: ") && !head.contains("Content-Length: 0"),
        "{head}"
    );
    assert_eq!(after, "", "no body bytes after the head");
    server.kill();
}

#[test]
fn request_smuggling_shapes_get_400_naming_the_rule_and_a_close() {
    let (server, port) = Proc::server("listen", &["-k", "--proto", "http"]);
    for request in [
        &b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello"[..],
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let answer = exchange(port, request);
        let shown = String::from_utf8_lossy(request);
        assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{shown}\n→ {answer}");
        assert!(answer.contains("RFC 9112 §"), "{shown}\n→ {answer}");
        assert!(answer.contains("Connection: close"), "{answer}");
        assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "one answer only: {answer}");
    }
    server.kill();
}

#[test]
fn a_20_kb_head_gets_431() {
    let (server, port) = Proc::server("listen", &["-k", "--proto", "http"]);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let answer = exchange(port, request.as_bytes());
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{answer}"
    );
    assert!(answer.contains("--max-header-bytes"), "{answer}");
    server.kill();
}

#[test]
fn two_xml_namespace_amplifiers_cannot_exhaust_the_servers_memory() {
    // 984 KiB: an 8,000-byte default namespace inherited by 250,000 empty
    // elements. Copied into each element, it took 1,947 MiB per connection.
    let mut stanza = format!("<r xmlns='urn:{}'>", "n".repeat(7_996)).into_bytes();
    stanza.extend(b"<a/>".repeat(250_000));
    stanza.extend(b"</r>");
    let (mut server, port) = Proc::server("listen", &["-k", "--proto", "xml"]);
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let stanza = stanza.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                s.set_read_timeout(Some(util::DEADLINE)).expect("timeout");
                // The server may stop reading once it refuses the stanza.
                let _ = s.write_all(&stanza);
                let _ = s.shutdown(std::net::Shutdown::Write);
                let _ = s.read_to_end(&mut Vec::new());
            })
        })
        .collect();
    server.wait_for_count("error", 2);
    let peak = util::peak_memory(server.pid());
    for c in clients {
        c.join().expect("client");
    }
    let server = server.kill();
    let e = server.find("error").expect("error");
    assert_eq!(e["kind"], "frame_too_large", "{e}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("--max-frame")),
        "{e}"
    );
    assert!(
        peak < 64 * stanza.len(),
        "peak memory {} MiB for two {} KiB stanzas",
        peak >> 20,
        stanza.len() >> 10
    );
}
