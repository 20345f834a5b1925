//! The tutorial's socket call-flow chart, drawn in the terminal, with the steps
//! found in the session log lit.
//!
//! Server column: socket, bind, listen, accept, recv/send, close. Client
//! column: socket, connect, send/recv, close. The arrows join connect with
//! accept (the handshake), each send with the peer's recv, and close with the
//! peer's read() returning 0.

use colored::Colorize;
use serde_json::Value;

/// One box of the chart: its label and the (side, step) events that light it.
struct Box {
    label: &'static str,
    side: &'static str,
    steps: &'static [&'static str],
}

const fn b(label: &'static str, side: &'static str, steps: &'static [&'static str]) -> Option<Box> {
    Some(Box { label, side, steps })
}

/// Arrows between the columns: towards the server (`◀`) or the client (`▶`).
const W: usize = 36;
enum Arrow {
    None,
    ToServer(&'static str),
    ToClient(&'static str),
}

fn arrow(a: &Arrow) -> String {
    let (label, to_server) = match a {
        Arrow::None => return " ".repeat(W),
        Arrow::ToServer(l) => (*l, true),
        Arrow::ToClient(l) => (*l, false),
    };
    let fill = W - 2 - label.chars().count() - 2;
    let (left, right) = ("─".repeat(fill / 2), "─".repeat(fill - fill / 2));
    if to_server {
        format!("◀{left} {label} {right}─")
    } else {
        format!("─{left} {label} {right}▶")
    }
}

/// Rows: (server box, arrow, client box).
const ROWS: &[(Option<Box>, Arrow, Option<Box>)] = &[
    (
        b("socket()", "server", &["socket"]),
        Arrow::None,
        b("socket()", "client", &["socket"]),
    ),
    (b("bind()", "server", &["bind"]), Arrow::None, None),
    (b("listen()", "server", &["listen"]), Arrow::None, None),
    (
        b("accept()", "server", &["accept"]),
        Arrow::ToServer("handshake: SYN, SYN-ACK, ACK"),
        b("connect()", "client", &["connected"]),
    ),
    (
        b("recv()", "server", &["read"]),
        Arrow::ToServer("data"),
        b("send()", "client", &["write"]),
    ),
    (
        b("send()", "server", &["write"]),
        Arrow::ToClient("data"),
        b("recv()", "client", &["read"]),
    ),
    (
        b("close()", "server", &["close"]),
        Arrow::ToServer("FIN: read() returns 0"),
        b("close()", "client", &["shutdown", "close"]),
    ),
];

fn lit(b: &Box, events: &[Value]) -> bool {
    events
        .iter()
        .any(|e| e["side"] == b.side && b.steps.iter().any(|s| e["step"] == *s))
}

/// The chart as text; `color` decides how lit steps stand out (without
/// colour they are marked `[x]`, unlit ones `[ ]`).
pub fn draw(events: &[Value], color: bool) -> String {
    let cell = |b: &Option<Box>| -> String {
        let Some(b) = b else { return " ".repeat(14) };
        let on = lit(b, events);
        let text = format!("{} {:<10}", if on { "[x]" } else { "[ ]" }, b.label);
        match (color, on) {
            (true, true) => text.green().bold().to_string(),
            (true, false) => text.dimmed().to_string(),
            _ => text,
        }
    };
    let mut out = format!("{:<14}  {}  {}\n", "SERVER", " ".repeat(W), "CLIENT");
    for (server, a, client) in ROWS {
        out.push_str(format!("{}  {}  {}", cell(server), arrow(a), cell(client)).trim_end());
        out.push('\n');
    }
    let count = ROWS
        .iter()
        .flat_map(|(s, _, c)| [s, c])
        .flatten()
        .filter(|b| lit(b, events))
        .count();
    let total = ROWS.iter().flat_map(|(s, _, c)| [s, c]).flatten().count();
    out.push_str(&format!(
        "\n{count} of {total} steps seen in this lesson's session log.\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_in_the_log_are_lit_and_others_not() {
        let events = vec![
            json!({"side": "server", "step": "listen"}),
            json!({"side": "client", "step": "connected"}),
        ];
        let chart = draw(&events, false);
        assert!(chart.contains("[x] listen()"), "{chart}");
        assert!(chart.contains("[x] connect()"), "{chart}");
        assert!(chart.contains("[ ] accept()"), "{chart}");
        assert!(chart.contains("2 of 12 steps"), "{chart}");
    }
}
