//! What reaches a terminal: a peer's escape sequences are shown, not obeyed.
//! A real pseudo-terminal comes from util-linux `script`.

mod util;

use std::process::Command;

use util::{Proc, require};

/// Runs `socklab connect --recv-only` to a server that sends `payload`, with
/// stdout on a pty (via `script`) or on a pipe, and returns what arrived.
fn receive(payload: &[u8], on_terminal: bool) -> Vec<u8> {
    receive_with(payload, on_terminal, "never")
}

/// Like [`receive`], with `--color WHEN`.
fn receive_with(payload: &[u8], on_terminal: bool, color: &str) -> Vec<u8> {
    let mut server = Proc::socklab(&["listen", "0"]);
    let port = server.port().to_string();
    server.wait_for("listen");
    let connect = format!(
        "{} -q --color {color} connect --recv-only 127.0.0.1 {port}",
        util::bin()
    );
    let client = if on_terminal {
        require("script");
        let mut c = Command::new("script");
        c.args(["-q", "-e", "-c", &connect, "/dev/null"]);
        Proc::spawn("script", c)
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &connect]);
        Proc::spawn("sh", c)
    };
    server.wait_for("accept");
    server.write(payload);
    server.close_stdin();
    let client = client.finish();
    assert_eq!(client.code(), 0, "{}", client.stderr);
    client.stdout
}

#[test]
fn escape_sequences_are_shown_escaped_on_a_terminal() {
    let out = receive(b"\x1b[2J\x1b]0;pwned\x07hi\n", true);
    let text = String::from_utf8_lossy(&out);
    assert!(
        !out.contains(&0x1b),
        "a raw ESC reached the terminal: {text:?}"
    );
    assert!(text.contains("\\x1b[2J"), "{text:?}");
    assert!(text.contains("\\x07hi"), "{text:?}");
}

#[test]
fn utf8_text_reaches_the_terminal_unchanged() {
    let out = receive("中午一起吃饭\n".as_bytes(), true);
    assert!(String::from_utf8_lossy(&out).contains("中午一起吃饭"));
}

#[test]
fn bytes_pass_untouched_into_a_pipe() {
    let payload: Vec<u8> = (0..=255u8).collect();
    assert_eq!(receive(&payload, false), payload);
}

/// `socklab ARGS 0` on a pty, with an event file to learn its port from.
fn on_pty_with_port(args: &str, step: &str) -> (Proc, u16, tempfile::TempDir) {
    require("script");
    let dir = tempfile::tempdir().expect("tempdir");
    let events = dir.path().join("events.jsonl");
    let mut c = Command::new("script");
    c.args([
        "-q",
        "-f",
        "-e",
        "-c",
        &format!(
            "stty cols 120 rows 40; {} --color never --events {} {args} 0",
            util::bin(),
            events.display()
        ),
        "/dev/null",
    ]);
    let p = Proc::spawn("script", c);
    let end = std::time::Instant::now() + util::DEADLINE;
    let port = loop {
        let text = std::fs::read_to_string(&events).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|e| e["step"] == step)
            .and_then(|e| e["addr"].as_str()?.rsplit(':').next()?.parse().ok());
        if let Some(port) = found {
            break port;
        }
        assert!(std::time::Instant::now() < end, "no {step} event");
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    (p, port, dir)
}

#[test]
fn received_lines_are_marked_on_a_terminal_and_not_in_a_pipe() {
    let out = receive(b"hello\nworld\n", true);
    let text = String::from_utf8_lossy(&out).replace('\r', "");
    assert!(text.contains("< hello\n< world\n"), "{text:?}");
    assert_eq!(receive(b"hello\nworld\n", false), b"hello\nworld\n");
    // With colour the gutter is dim; the data itself is not coloured.
    let out = receive_with(b"hello\n", true, "always");
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("\x1b[2m<\x1b[0m hello"), "{text:?}");
}

#[test]
fn the_largest_datagram_is_one_summary_line_on_a_terminal() {
    let (p, port, _dir) = on_pty_with_port("recv --count 1", "bind");
    let sent = util::run(
        "send --size 65507",
        util::socklab(&[
            "send",
            "--wait",
            "0",
            "--size",
            "65507",
            "127.0.0.1",
            &port.to_string(),
        ]),
    );
    assert_eq!(sent.code(), 0, "{}", sent.stderr);
    let f = p.finish();
    let text = f.stdout_text();
    // Narration and data share the pty: before, the data alone took 546 lines.
    assert!(
        text.lines().count() < 60,
        "{} lines:\n{text}",
        text.lines().count()
    );
    assert!(text.contains("65,507 bytes"), "{text}");
    assert!(text.contains("> FILE"), "how to see every byte:\n{text}");
}

#[test]
fn two_megabytes_of_zeros_leave_the_frame_narration_readable() {
    let (p, port, _dir) = on_pty_with_port("listen --proto raw", "listen");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    std::io::Write::write_all(&mut s, &vec![0u8; 2_000_000]).expect("send");
    s.shutdown(std::net::Shutdown::Write).expect("FIN");
    drop(s);
    let f = p.finish();
    let text = f.stdout_text();
    let frames = text.lines().filter(|l| l.contains("raw frame #")).count();
    let zeros = text.matches("\\x00").count();
    // Before: 8 MB of `\x00` on 67,000 lines. Now each read is one line
    // of stdout (about 16 `\x00`), beside the narration's previews (64 at
    // most per event).
    assert!(frames >= 2, "{text}");
    assert!(
        zeros <= 150 * frames,
        "{zeros} escaped zeros for {frames} frames"
    );
    assert!(
        text.lines().count() < 40 * frames,
        "{} lines",
        text.lines().count()
    );
}
