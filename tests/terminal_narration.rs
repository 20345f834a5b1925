//! What a peer can put on the terminal through the narration: nothing that
//! the terminal would obey. A JSON message, an XML stream header, HTTP header
//! values and reason phrases are narrated on stderr; here stderr is a real
//! pseudo-terminal (util-linux `script`), so the text sink believes it talks
//! to a person, and every character that reached the terminal is checked.
//!
//! The set of forbidden characters is written out here on its own, not taken
//! from the code under test: C0 controls (except the newline, carriage return
//! and tab that the terminal driver itself produces), DEL, C1 controls, the
//! bidirectional controls, line and paragraph separators, and invisible
//! formatters.

mod util;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use util::{DEADLINE, Finished, Proc, require};

/// Why a character must not reach a terminal raw, or `None` if it may.
fn forbidden(c: char) -> Option<&'static str> {
    Some(match c as u32 {
        0x0a | 0x0d | 0x09 => return None,
        0x00..=0x1f => "C0 control",
        0x7f => "DEL",
        0x80..=0x9f => "C1 control",
        0x202a..=0x202e | 0x2066..=0x2069 | 0x200e | 0x200f | 0x061c => "bidi control",
        0x2028 | 0x2029 => "line/paragraph separator",
        0x200b..=0x200d | 0x2060..=0x2064 | 0xfeff | 0x00ad | 0x180e => "invisible formatter",
        0xe0000..=0xe007f => "tag character",
        _ => return None,
    })
}

/// Panics naming the first forbidden character that reached the terminal.
/// `sgr`: colour was on, so `ESC [ digits m` (the sink's own colours) may
/// appear and are removed first.
fn assert_clean(out: &[u8], sgr: bool) {
    let text = std::str::from_utf8(out)
        .unwrap_or_else(|e| panic!("invalid UTF-8 reached the terminal ({e}): {out:?}"));
    let text = if sgr {
        strip_sgr(text)
    } else {
        text.to_string()
    };
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if let Some(what) = forbidden(c) {
            let near: String = chars[i.saturating_sub(60)..(i + 8).min(chars.len())]
                .iter()
                .collect();
            panic!(
                "a raw {what} U+{:04X} reached the terminal near {near:?}\n--- everything ---\n{text}",
                c as u32
            );
        }
    }
}

/// Removes SGR sequences (`ESC [ 1;36 m`): the colours the sink adds itself.
fn strip_sgr(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let params = &rest[at + 2..];
        let len = params
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(params.len());
        if params[len..].starts_with('m') {
            rest = &params[len + 1..];
        } else {
            out.push('\x1b');
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// `cmdline` (a shell command) with stdin, stdout and stderr on a pty.
fn on_pty(cmdline: &str) -> Proc {
    require("script");
    let mut c = Command::new("script");
    c.args(["-q", "-f", "-e", "-c", cmdline, "/dev/null"]);
    Proc::spawn("script", c)
}

/// The port in the first `listen` or `bind` event of an event file, read as
/// the process writes it (polled, with a deadline).
fn port_in(events: &Path, step: &str) -> u16 {
    let end = Instant::now() + DEADLINE;
    loop {
        let text = std::fs::read_to_string(events).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| e["step"] == step)
            .and_then(|e| e["addr"].as_str()?.rsplit(':').next()?.parse().ok());
        if let Some(port) = found {
            return port;
        }
        assert!(Instant::now() < end, "no {step} event within {DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `socklab ARGS 0` on a pty, with an event file to learn its port from.
fn server_on_pty(args: &str, step: &str) -> (Proc, u16, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = dir.path().join("events.jsonl");
    let p = on_pty(&format!(
        "{} --color never --events {} {args} 0",
        util::bin(),
        events.display()
    ));
    let port = port_in(&events, step);
    (p, port, dir)
}

/// Connects, sends `request`, half-closes, and reads what comes back.
fn exchange(port: u16, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(DEADLINE)).expect("timeout");
    s.write_all(request).expect("send");
    s.shutdown(Shutdown::Write).expect("half-close");
    let mut back = Vec::new();
    let _ = s.read_to_end(&mut back);
    back
}

fn finished(p: Proc) -> Finished {
    let f = p.finish();
    assert_clean(&f.stdout, false);
    f
}

/// A JSON message whose fields hold an OSC 52 clipboard write, a screen
/// clear, a C1 CSI, a right-to-left override and invisible formatters, some
/// as JSON `\u` escapes and some as raw UTF-8.
const HOSTILE_JSON: &str = "{\"from\":\"\\u001b]52;c;AAAA\\u0007\",\"to\":\"x\u{202e}\\u009b\u{200f}\u{2028}\u{200b}\u{feff}\\u007f\",\"body\":\"\\u001b[2J\\u001b]0;title\\u0007\"}\n";

#[test]
fn a_hostile_json_message_is_narrated_escaped_by_listen() {
    let (p, port, _dir) = server_on_pty("listen --proto json", "listen");
    exchange(port, HOSTILE_JSON.as_bytes());
    let f = finished(p);
    let text = f.stdout_text();
    assert!(
        text.contains("message \\x1b]52;c;AAAA\\x07 → x\\u{202e}"),
        "{text}"
    );
    assert!(text.contains("\\x1b[2J"), "{text}");
}

#[test]
fn a_hostile_json_message_is_shown_escaped_in_the_message_view() {
    let (p, port, _dir) = server_on_pty("listen --proto json --from me --to you", "listen");
    exchange(port, HOSTILE_JSON.as_bytes());
    let text = finished(p).stdout_text();
    // The chat line on stdout (not the narration's `message ...` line),
    // behind the `<` that marks received data on a terminal.
    let chat = "< \\x1b]52;c;AAAA\\x07 → x\\u{202e}\\u{9b}\\u{200f}\\u{2028}\\u{200b}\\u{feff}\\x7f: \\x1b[2J";
    assert!(text.lines().any(|l| l.starts_with(chat)), "{text}");
}

#[test]
fn a_hostile_xml_stream_header_is_narrated_escaped() {
    let (p, port, _dir) = server_on_pty("listen --proto xml", "listen");
    let wire = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' \
                to='&#x9b;2J&#x202e;evil\u{200f}&#x2028;&#xfeff;'>\
                <message from='&#x85;a' to='b\u{202e}'><body>&#x9b;31m hi&#x200b;</body></message>\
                </stream:stream>";
    exchange(port, wire.as_bytes());
    let text = finished(p).stdout_text();
    assert!(text.contains("to \\u{9b}2J\\u{202e}evil"), "{text}");
}

#[test]
fn a_hostile_http_request_is_narrated_escaped_by_listen() {
    let (p, port, _dir) = server_on_pty("listen --proto http", "listen");
    let request = "GET /\u{202e} HTTP/1.1\r\nHost: \u{9b}[2J\u{202e}\r\n\
                   Content-Type: text/\u{2066}plain\u{200f}\r\nX-Evil: \u{2028}\u{feff}\u{e0041}\r\n\
                   Connection: close\r\n\r\n";
    let answer = exchange(port, request.as_bytes());
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    let text = finished(p).stdout_text();
    assert!(text.contains("Host: \\u{9b}[2J\\u{202e}"), "{text}");
}

#[test]
fn a_hostile_http_response_is_narrated_escaped_by_connect() {
    let (mut server, port) = Proc::server("listen", &[]);
    let client = on_pty(&format!(
        "{} --color never connect --recv-only --proto http 127.0.0.1 {port}",
        util::bin()
    ));
    server.wait_for("accept");
    server.write(
        "HTTP/1.1 200 \u{202e}OK\u{9b}2J\r\nContent-Type: text/plain\u{200f}\u{85}\r\n\
         X-Evil: \u{2028}\u{feff}\u{200b}\u{ad}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
            .as_bytes(),
    );
    server.close_stdin();
    let f = finished(client);
    let text = f.stdout_text();
    assert_eq!(f.code(), 0, "{text}");
    assert!(text.contains("HTTP/1.1 200 \\u{202e}OK\\u{9b}2J"), "{text}");
}

#[test]
fn a_hostile_udp_datagram_is_previewed_escaped_by_recv() {
    let (p, port, _dir) = server_on_pty("recv --count 1", "bind");
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.send_to(
        "a\u{200f}b\u{2028}c\u{feff}\u{9b}2J".as_bytes(),
        ("127.0.0.1", port),
    )
    .expect("send");
    let text = finished(p).stdout_text();
    assert!(text.contains("a\\u{200f}b"), "{text}");
}

fn hostile_file() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(HOSTILE_JSON.as_bytes()).expect("write");
    f
}

#[test]
fn hostile_json_through_frame_is_narrated_escaped() {
    let file = hostile_file();
    let p = on_pty(&format!(
        "{} --color never frame --proto json < {}",
        util::bin(),
        file.path().display()
    ));
    let text = finished(p).stdout_text();
    assert!(text.contains("message \\x1b]52;c;AAAA\\x07"), "{text}");
}

#[test]
fn with_colour_on_only_the_sinks_own_colours_reach_the_terminal() {
    let file = hostile_file();
    let p = on_pty(&format!(
        "{} --color always frame --proto json < {}",
        util::bin(),
        file.path().display()
    ));
    let f = p.finish();
    assert_clean(&f.stdout, true);
}

#[test]
fn json_events_on_a_terminal_escape_c1_and_bidi_and_still_decode() {
    let file = hostile_file();
    let p = on_pty(&format!(
        "{} --json frame --proto json < {}",
        util::bin(),
        file.path().display()
    ));
    let text = finished(p).stdout_text();
    let line = text
        .lines()
        .find(|l| l.contains("\"step\":\"message\""))
        .unwrap_or_else(|| panic!("no message event: {text}"));
    assert!(
        line.contains("\\u202e") && line.contains("\\u009b"),
        "{line}"
    );
    let v: Value = serde_json::from_str(line.trim_end()).expect("still valid JSON");
    assert_eq!(v["from"], "\u{1b}]52;c;AAAA\u{7}");
    assert_eq!(
        v["to"],
        "x\u{202e}\u{9b}\u{200f}\u{2028}\u{200b}\u{feff}\u{7f}"
    );
}

#[test]
fn frame_encode_on_a_terminal_shows_invisible_characters_escaped() {
    let p = on_pty(&format!(
        "{} --color never frame encode --proto json '{{\"to\":\"a\u{200f}\u{2028}\u{feff}b\"}}'",
        util::bin()
    ));
    let text = finished(p).stdout_text();
    assert!(text.contains("a\\u{200f}\\u{2028}\\u{feff}b"), "{text}");
}
