//! What reaches a terminal: a peer's escape sequences are shown, not obeyed.
//! A real pseudo-terminal comes from util-linux `script`.

mod util;

use std::process::Command;

use util::{Proc, require};

/// Runs `socklab connect --recv-only` to a server that sends `payload`, with
/// stdout on a pty (via `script`) or on a pipe, and returns what arrived.
fn receive(payload: &[u8], on_terminal: bool) -> Vec<u8> {
    let mut server = Proc::socklab(&["listen", "0"]);
    let port = server.port().to_string();
    server.wait_for("listen");
    let connect = format!("{} -q connect --recv-only 127.0.0.1 {port}", util::bin());
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
