//! The tutorial's socket call-flow charts, drawn in the terminal, with the
//! steps found in the session log lit.
//!
//! TCP: the server column is socket, bind, listen, accept, recv/send, close;
//! the client's socket, connect, send/recv, close. The arrows join connect
//! with accept (the handshake), each send with the peer's recv, and close
//! with the peer's read() returning 0.
//!
//! UDP has no connection, so no listen, accept or handshake: the receiver
//! binds a port and calls recvfrom(), the sender calls sendto(), and each
//! datagram is an arrow of its own. A UDP program's socket is closed when it
//! exits (socklab's UDP commands narrate no close() of their own).
//!
//! Which chart is drawn follows the log: a process whose sockets were
//! SOCK_STREAM lights the TCP chart, one with SOCK_DGRAM the UDP chart, and
//! a log with both draws both. An empty log draws the lesson's own flow.

use std::collections::BTreeSet;

use colored::Colorize;
use serde::Deserialize;
use serde_json::Value;

/// A transport, and so a chart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    #[default]
    Tcp,
    Udp,
}

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

type Row = (Option<Box>, Arrow, Option<Box>);

/// TCP rows: (server box, arrow, client box).
const TCP: &[Row] = &[
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

/// UDP rows: the receiver (`recv`) on the left, the sender (`send`) on the right.
const UDP: &[Row] = &[
    (
        b("socket()", "server", &["socket"]),
        Arrow::None,
        b("socket()", "client", &["socket"]),
    ),
    (b("bind()", "server", &["bind"]), Arrow::None, None),
    (
        b("recvfrom()", "server", &["datagram"]),
        Arrow::ToServer("datagram"),
        b("sendto()", "client", &["sent"]),
    ),
    (
        b("sendto()", "server", &["sent"]),
        Arrow::ToClient("datagram (a reply)"),
        b("recvfrom()", "client", &["datagram"]),
    ),
    (
        b("close()", "server", &["close", "exit"]),
        Arrow::None,
        b("close()", "client", &["close", "exit"]),
    ),
];

/// The processes (pids) in the log that used sockets of this flow.
fn pids(events: &[Value], flow: Flow) -> BTreeSet<u64> {
    let kind = match flow {
        Flow::Tcp => "SOCK_STREAM",
        Flow::Udp => "SOCK_DGRAM",
    };
    events
        .iter()
        .filter(|e| e["step"] == "socket" && e["kind"] == kind)
        .filter_map(|e| e["pid"].as_u64())
        .collect()
}

fn lit(b: &Box, events: &[Value], pids: &BTreeSet<u64>) -> bool {
    events.iter().any(|e| {
        e["side"] == b.side
            && b.steps.iter().any(|s| e["step"] == *s)
            && e["pid"].as_u64().is_some_and(|p| pids.contains(&p))
    })
}

/// The charts as text: the flows the log shows, or `default` for an empty
/// log. `color` decides how lit steps stand out (without colour they are
/// marked `[x]`, unlit ones `[ ]`).
pub fn draw(events: &[Value], default: Flow, color: bool) -> String {
    let seen: Vec<Flow> = [Flow::Tcp, Flow::Udp]
        .into_iter()
        .filter(|f| !pids(events, *f).is_empty())
        .collect();
    let flows = if seen.is_empty() { vec![default] } else { seen };
    flows
        .iter()
        .map(|&flow| draw_one(events, flow, color))
        .collect::<Vec<_>>()
        .join("\n")
}

fn draw_one(events: &[Value], flow: Flow, color: bool) -> String {
    let (rows, title, server, client) = match flow {
        Flow::Tcp => (TCP, "TCP", "SERVER", "CLIENT"),
        Flow::Udp => (UDP, "UDP: no connection", "RECEIVER", "SENDER"),
    };
    let pids = pids(events, flow);
    let cell = |b: &Option<Box>| -> String {
        let Some(b) = b else { return " ".repeat(14) };
        let on = lit(b, events, &pids);
        let text = format!("{} {:<10}", if on { "[x]" } else { "[ ]" }, b.label);
        match (color, on) {
            (true, true) => text.green().bold().to_string(),
            (true, false) => text.dimmed().to_string(),
            _ => text,
        }
    };
    let mut out = format!("{title}\n\n{server:<14}  {}  {client}\n", " ".repeat(W));
    for (s, a, c) in rows {
        out.push_str(format!("{}  {}  {}", cell(s), arrow(a), cell(c)).trim_end());
        out.push('\n');
    }
    let boxes = || rows.iter().flat_map(|(s, _, c)| [s, c]).flatten();
    let count = boxes().filter(|b| lit(b, events, &pids)).count();
    out.push_str(&format!(
        "\n{count} of {} steps seen in this lesson's session log.\n",
        boxes().count()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(pid: u64, side: &str, step: &str) -> Value {
        json!({"pid": pid, "side": side, "step": step})
    }

    fn socket(pid: u64, side: &str, kind: &str) -> Value {
        json!({"pid": pid, "side": side, "step": "socket", "kind": kind})
    }

    #[test]
    fn steps_in_the_log_are_lit_and_others_not() {
        let events = vec![
            socket(1, "server", "SOCK_STREAM"),
            ev(1, "server", "listen"),
            socket(2, "client", "SOCK_STREAM"),
            ev(2, "client", "connected"),
        ];
        let chart = draw(&events, Flow::Tcp, false);
        assert!(chart.contains("[x] listen()"), "{chart}");
        assert!(chart.contains("[x] connect()"), "{chart}");
        assert!(chart.contains("[ ] accept()"), "{chart}");
        assert!(chart.contains("4 of 12 steps"), "{chart}");
        assert!(!chart.contains("UDP"), "{chart}");
    }

    #[test]
    fn a_udp_session_draws_the_udp_flow() {
        // socklab recv and socklab send: bind, one datagram each way, exit.
        let events = vec![
            socket(1, "server", "SOCK_DGRAM"),
            ev(1, "server", "bind"),
            socket(2, "client", "SOCK_DGRAM"),
            ev(2, "client", "sent"),
            ev(1, "server", "datagram"),
            ev(2, "client", "exit"),
        ];
        let chart = draw(&events, Flow::Tcp, false);
        assert!(chart.starts_with("UDP"), "{chart}");
        for lit in [
            "[x] recvfrom()",
            "[x] sendto()",
            "[x] bind()",
            "[x] close()",
        ] {
            assert!(chart.contains(lit), "{lit}: {chart}");
        }
        assert!(
            !chart.contains("listen()") && !chart.contains("accept()"),
            "{chart}"
        );
        assert!(!chart.contains("handshake"), "{chart}");
        assert!(chart.contains("6 of 9 steps"), "{chart}");
    }

    #[test]
    fn an_empty_log_draws_the_lessons_flow_and_both_draw_both() {
        assert!(draw(&[], Flow::Udp, false).starts_with("UDP"));
        assert!(draw(&[], Flow::Tcp, false).starts_with("TCP"));
        let both = vec![
            socket(1, "client", "SOCK_STREAM"),
            socket(2, "client", "SOCK_DGRAM"),
        ];
        let chart = draw(&both, Flow::Tcp, false);
        assert!(
            chart.contains("TCP\n") && chart.contains("UDP: no connection"),
            "{chart}"
        );
    }

    #[test]
    fn a_tcp_step_of_a_udp_process_does_not_light_the_tcp_chart() {
        // bind() of a UDP receiver is not the TCP server's bind().
        let events = vec![socket(1, "server", "SOCK_DGRAM"), ev(1, "server", "bind")];
        let chart = draw_one(&events, Flow::Tcp, false);
        assert!(chart.contains("[ ] bind()"), "{chart}");
    }
}
