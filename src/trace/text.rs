//! The narration: events as coloured sentences on stderr.
//!
//! Each event becomes one line, prefixed by the time since start, the side and
//! the connection number, so a session reads like the tutorial's flow chart
//! coming alive. The first time a step appears it carries its one-line "why"
//! from [`explain`](super::explain). A bulk transfer would print a line per
//! read, so after the first [`SHOWN_PER_CONN`] reads and writes of a connection
//! the rest are summarised once a second (`-v` shows every one).
//!
//! Two layouts: lines (the default), and two columns, server on the left and
//! client on the right, which `socklab demo udp` uses to put both sides of a
//! conversation next to each other.
//!
//! Text from a peer arrives as [`Untrusted`](super::Untrusted) and is escaped
//! when it is formatted; as a second line of defence every line the sink
//! writes is escaped once more, so the only escape sequences that reach the
//! terminal are the colours the sink adds itself, whatever a future event
//! carries.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::time::{Duration, Instant};

use colored::{ColoredString, Colorize};

use super::escape::{self, preview};
use super::event::{Event, Level, Side};
use super::explain::why;
use super::wrap::{columns, wrap};
use super::{Record, Sink};

/// Reads and writes narrated one by one per connection before summarising.
pub const SHOWN_PER_CONN: u32 = 24;
/// How often a summary line is printed while data flows.
const SUMMARY_EVERY: Duration = Duration::from_secs(1);
/// Closed ports of a scan narrated one by one before they are only counted.
const CLOSED_PORTS_SHOWN: u32 = 5;
/// How many characters of data a narration line shows.
const PREVIEW_CHARS: usize = 60;
/// Where explanations start under a narration line (after time, side, conn).
const INDENT: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One line per event; explanations wrapped to this many characters
    /// (the terminal's width, or a generous default when not a terminal).
    Lines,
    /// Server left, client right, each column this many characters wide.
    Columns(usize),
}

enum Admit {
    Show,
    /// Show it, and say that what follows will be summarised.
    ShowLast,
    /// Show it, and say this about what follows.
    ShowLastWith(&'static str),
    Hide,
    Summary(String),
}

#[derive(Default)]
struct Throttle {
    shown: u32,
    reads: u64,
    read_bytes: u64,
    writes: u64,
    write_bytes: u64,
    last_summary: Option<Instant>,
}

pub struct TextSink {
    out: Box<dyn Write>,
    level: Level,
    layout: Layout,
    explained: HashSet<&'static str>,
    throttles: HashMap<(Side, Option<u64>), Throttle>,
    header_done: bool,
    width: usize,
}

impl TextSink {
    /// `level` is [`Level::Error`] for `--quiet`, [`Level::Data`] normally and
    /// [`Level::Detail`] for `-v`.
    pub fn new(out: Box<dyn Write>, level: Level, layout: Layout) -> TextSink {
        TextSink {
            out,
            level,
            layout,
            explained: HashSet::new(),
            throttles: HashMap::new(),
            header_done: false,
            width: terminal_size::terminal_size_of(io::stderr()).map_or(120, |(w, _)| w.0 as usize),
        }
    }

    fn verbose(&self) -> bool {
        self.level >= Level::Detail
    }

    /// Decides whether a read, write or WouldBlock gets a line of its own.
    fn admit(&mut self, rec: &Record) -> Admit {
        let key = (rec.side, rec.conn);
        let n = match rec.event {
            Event::Read { n, .. } | Event::Write { n, .. } => *n as u64,
            Event::WouldBlock { .. } => 0,
            Event::Port {
                state: "closed", ..
            } => return self.admit_closed_port(key),
            Event::Close { .. } => {
                // The close line carries the totals; forget the counters.
                self.throttles.remove(&key);
                return Admit::Show;
            }
            _ => return Admit::Show,
        };
        if self.verbose() {
            return Admit::Show;
        }
        let th = self.throttles.entry(key).or_default();
        if th.shown < SHOWN_PER_CONN {
            th.shown += 1;
            return if th.shown == SHOWN_PER_CONN {
                Admit::ShowLast
            } else {
                Admit::Show
            };
        }
        match rec.event {
            Event::Read { .. } => (th.reads, th.read_bytes) = (th.reads + 1, th.read_bytes + n),
            Event::Write { .. } => {
                (th.writes, th.write_bytes) = (th.writes + 1, th.write_bytes + n)
            }
            _ => {}
        }
        let now = Instant::now();
        if th.last_summary.is_some_and(|t| now - t < SUMMARY_EVERY) {
            return Admit::Hide;
        }
        th.last_summary = Some(now);
        Admit::Summary(format!(
            "… so far, not shown: {} reads ({}), {} writes ({})",
            th.reads,
            bytes(th.read_bytes),
            th.writes,
            bytes(th.write_bytes)
        ))
    }

    /// A scan of a range is mostly closed ports: the first few are shown,
    /// the rest only counted in the scan's last line (`-v` shows each).
    fn admit_closed_port(&mut self, key: (Side, Option<u64>)) -> Admit {
        if self.verbose() {
            return Admit::Show;
        }
        let th = self.throttles.entry(key).or_default();
        th.shown += 1;
        match th.shown {
            n if n < CLOSED_PORTS_SHOWN => Admit::Show,
            CLOSED_PORTS_SHOWN => Admit::ShowLastWith(
                "… further closed ports are counted in the last line, not shown (-v shows each)",
            ),
            _ => Admit::Hide,
        }
    }

    fn emit_lines(
        &mut self,
        rec: &Record,
        main: ColoredString,
        pre: &[String],
        extra: Vec<ColoredString>,
    ) -> io::Result<()> {
        let main = escaped(main);
        let pre: Vec<String> = pre.iter().map(|l| escape::line(l).into_owned()).collect();
        let extra: Vec<ColoredString> = extra.into_iter().map(escaped).collect();
        let mut text = String::new();
        match self.layout {
            Layout::Lines => {
                let conn = rec.conn.map(|c| format!("#{c}")).unwrap_or_default();
                let head = format!(
                    "{:>8.3} {:<6} {:<3}",
                    rec.elapsed.as_secs_f64(),
                    rec.side.label(),
                    conn
                );
                let head = match rec.side {
                    Side::Server => head.cyan(),
                    Side::Client => head.magenta(),
                    Side::Learner => head.normal(),
                };
                let mut pieces = wrap(&main.input, self.width.saturating_sub(INDENT)).into_iter();
                let first = pieces.next().unwrap_or_default();
                text.push_str(&format!("{head} {}\n", restyle(&main, &first)));
                for piece in pieces {
                    text.push_str(&format!("{:INDENT$}{}\n", "", restyle(&main, &piece)));
                }
                // Preformatted (a caret under an offending byte): never wrapped.
                for line in &pre {
                    text.push_str(&format!("{:INDENT$}  {line}\n", ""));
                }
                for line in extra {
                    for piece in wrap(&line.input, self.width.saturating_sub(INDENT)) {
                        text.push_str(&format!("{:INDENT$}{}\n", "", restyle(&line, &piece)));
                    }
                }
            }
            Layout::Columns(width) => {
                if !self.header_done {
                    self.header_done = true;
                    text.push_str(&format!(
                        "{} │ {}\n{}─┼─{}\n",
                        pad(&"server".cyan().bold(), "server", width),
                        "client".magenta().bold(),
                        "─".repeat(width),
                        "─".repeat(width)
                    ));
                }
                let mut all = vec![main];
                all.extend(pre.iter().map(|l| ColoredString::from(l.as_str())));
                all.extend(extra);
                for styled in all {
                    for piece in wrap(&styled.input, width) {
                        let cell = restyle(&styled, &piece);
                        match rec.side {
                            Side::Server => {
                                text.push_str(&format!("{} │\n", pad(&cell, &piece, width)))
                            }
                            Side::Client | Side::Learner => {
                                text.push_str(&format!("{} │ {cell}\n", " ".repeat(width)))
                            }
                        }
                    }
                }
            }
        }
        self.out.write_all(text.as_bytes())
    }
}

impl Sink for TextSink {
    fn level(&self) -> Level {
        self.level
    }

    fn record(&mut self, rec: &Record) -> io::Result<()> {
        let mut extra = Vec::new();
        let mut pre: Vec<String> = Vec::new();
        match self.admit(rec) {
            Admit::Show => {}
            Admit::ShowLast => extra.push(
                "… further reads and writes on this connection are summarised once a second (-v shows each one)"
                    .dimmed(),
            ),
            Admit::ShowLastWith(text) => extra.push(text.dimmed()),
            Admit::Hide => return Ok(()),
            Admit::Summary(line) => return self.emit_lines(rec, line.dimmed(), &[], Vec::new()),
        }
        let Some(main) = describe(rec.event) else {
            return Ok(());
        };
        let main = match rec.event {
            Event::Error {
                message,
                why,
                next,
                pointer,
                ..
            } => {
                if let Some(pointer) = pointer {
                    pre.extend(pointer.lines().map(|l| l.to_string()));
                }
                if !why.is_empty() {
                    extra.push(format!("why:  {why}").normal());
                }
                if !next.is_empty() {
                    extra.push(format!("next: {next}").normal());
                }
                format!("error: {message}").red().bold()
            }
            Event::Read { .. } | Event::Datagram { .. } | Event::Feed { .. } => main.green(),
            Event::Frame {
                proto: "http",
                data,
                ..
            } => {
                // The head as it came: status or request line, then headers.
                pre.extend(http_head(data.0));
                main.cyan().bold()
            }
            Event::Frame { .. } | Event::Message { .. } => main.cyan().bold(),
            Event::Telnet { answer, why, .. } => {
                match answer {
                    Some(answer) => extra.push(format!("→ answered {answer}: {why}").normal()),
                    None if !why.is_empty() => extra.push(format!("→ {why}").normal()),
                    None => {}
                }
                main.cyan().bold()
            }
            Event::Port { state: "open", .. } => main.green().bold(),
            Event::Port {
                state: "filtered", ..
            } => main.yellow(),
            Event::Pending { .. } => main.dimmed(),
            Event::Write { .. } | Event::Sent { .. } => main.yellow(),
            Event::WouldBlock { .. } | Event::Poll { .. } => main.dimmed(),
            Event::Timeout { .. } => main.red(),
            _ => main.bold(),
        };
        if self.level >= Level::Step
            && let Some(why) = why(rec.event)
            && self.explained.insert(rec.event.step_key())
        {
            extra.push(format!("why: {why}").dimmed());
        }
        self.emit_lines(rec, main, &pre, extra)
    }
}

/// The narration line for an event, without side and time.
pub fn describe(event: &Event) -> Option<String> {
    Some(match event {
        Event::Start { .. } | Event::Exit { .. } | Event::UsageError { .. } => return None,
        Event::Answer { question, value } => format!("answered {question}: {value}"),
        Event::Feed { n, data } => format!("push {n} bytes {}", preview(data.0, PREVIEW_CHARS)),
        Event::Frame {
            proto,
            number,
            n,
            text,
            ..
        } => format!("{proto} frame #{number} ({n} bytes): {text}"),
        Event::Pending { buffered: 0, .. } => return None,
        Event::Pending {
            buffered, cut: 0, ..
        } => format!("no complete frame yet: {buffered} bytes buffered"),
        Event::Pending { buffered, .. } => {
            format!("{buffered} bytes left buffered for the next frame")
        }
        Event::Message { from, to, body } => format!("message {from} → {to}: {body}"),
        Event::Relay {
            dir,
            number,
            n,
            fate,
            millis,
            client,
        } => {
            // Name both ends: the address is always the client's, and an
            // arrow before it alone read as "to the client" either way.
            let way = if *dir == "up" {
                format!("client {client} → target")
            } else {
                format!("target → client {client}")
            };
            let when = if *millis > 0 {
                format!(" by {millis} ms")
            } else {
                String::new()
            };
            format!("{way}, #{number} ({n} bytes): {fate}{when}")
        }
        Event::Measured {
            experiment,
            key,
            value,
            unit,
        } => format!("{experiment}: measured {}", measurement(key, *value, unit)),
        Event::Port {
            addr,
            state,
            why,
            micros,
        } => format!(
            "port {}: {state} — {why} ({})",
            addr.port(),
            micros_text(*micros)
        ),
        Event::Scanned {
            ports,
            open,
            closed,
            filtered,
            millis,
        } => format!(
            "scanned {ports} port(s) in {}: {open} open, {closed} closed, {filtered} filtered",
            millis_text(*millis)
        ),
        Event::Telnet {
            command,
            option,
            name,
            meaning,
            params,
            ..
        } => {
            let what = match (option, *command) {
                (Some(_), "SB") => format!("IAC SB {name} … IAC SE"),
                (Some(_), verb) => format!("IAC {verb} {name}"),
                (None, other) => format!("IAC {other}"),
            };
            let params = params.map(|p| format!(" [{p}]")).unwrap_or_default();
            format!("telnet {what}{params}: {meaning}")
        }
        Event::Resolve { host, addrs } => {
            let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            format!("resolve {host:?} → {}", list.join(", "))
        }
        Event::Socket {
            family,
            kind,
            nonblocking,
            fd,
        } => {
            let nb = if *nonblocking { " | SOCK_NONBLOCK" } else { "" };
            format!("socket({}, {}{nb}) = fd {fd}", family.name(), kind.name())
        }
        Event::SetOption { option, value } => format!("setsockopt({option}, {value})"),
        Event::Bind { requested, addr } => {
            if requested.port() == 0 {
                format!(
                    "bind({requested}) → the OS chose port {}: {addr}",
                    addr.port()
                )
            } else {
                format!("bind({addr})")
            }
        }
        Event::Listen { addr, backlog } => {
            format!("listen(backlog {backlog}): listening on {addr}")
        }
        Event::Connect {
            addr,
            local,
            in_progress,
            ..
        } => {
            if *in_progress {
                format!("connect({addr}) = EINPROGRESS: handshake under way from {local}")
            } else {
                format!("connect({addr}) = 0, local address {local}")
            }
        }
        Event::Connected {
            local,
            peer,
            micros,
        } => format!(
            "writable, SO_ERROR = 0: connected {local} → {peer} (handshake took {})",
            micros_text(*micros)
        ),
        Event::Accept { peer, local, fd } => {
            format!("accept() = fd {fd}: {peer} connected to {local}")
        }
        Event::Refuse { peer, limit } => format!(
            "refused {peer}: already serving {limit} client(s) (--max-conns {limit}); accepted and closed"
        ),
        Event::StopListening { addr } => {
            format!("close(listening socket {addr}): no more clients (-k keeps accepting)")
        }
        Event::Poll {
            token,
            readable,
            writable,
            read_closed,
            write_closed,
            error,
        } => {
            let mut what = Vec::new();
            for (on, name) in [
                (readable, "readable"),
                (writable, "writable"),
                (read_closed, "read-closed"),
                (write_closed, "write-closed"),
                (error, "error"),
            ] {
                if *on {
                    what.push(name);
                }
            }
            format!("poll() → token {token}: {}", what.join(" "))
        }
        Event::WouldBlock { op } => format!("{} = EAGAIN (would block): back to poll()", op.call()),
        Event::Read { n, data } => format!("read() = {n} bytes {}", preview(data.0, PREVIEW_CHARS)),
        Event::Write { n, data } => {
            format!("write() = {n} bytes {}", preview(data.0, PREVIEW_CHARS))
        }
        Event::PeerClosed => "read() = 0: the peer sent FIN (end of its data)".to_string(),
        Event::InputEnd => "stdin ended (EOF)".to_string(),
        Event::Shutdown { how } => format!("shutdown({how}): FIN sent"),
        Event::Close { sent, received } => format!(
            "close(): sent {}, received {}",
            bytes(*sent),
            bytes(*received)
        ),
        Event::Datagram {
            number,
            from,
            n,
            data,
        } => format!(
            "datagram #{number} from {from}: {n} bytes {}",
            preview(data.0, PREVIEW_CHARS)
        ),
        Event::Sent {
            number,
            to,
            n,
            data,
        } => format!(
            "send() datagram #{number} to {to}: {n} bytes {}",
            preview(data.0, PREVIEW_CHARS)
        ),
        Event::Timeout { what, millis } => format!("timeout: {what} ({})", millis_text(*millis)),
        Event::Note { text } => text.to_string(),
        Event::Chat { text, .. } => text.to_string(),
        Event::Error { .. } => String::new(),
    })
}

impl Event<'_> {
    /// The key under which a step's "why" is shown once: the step name, split
    /// where one step has several explanations.
    pub fn step_key(&self) -> &'static str {
        match self {
            Event::Connect {
                kind: super::Kind::Dgram,
                ..
            } => "connect_udp",
            Event::Connect {
                in_progress: true, ..
            } => "connect_in_progress",
            Event::SetOption {
                option: "SO_LINGER",
                ..
            } => "set_option_linger",
            Event::Port { state: "open", .. } => "port_open",
            Event::Port {
                state: "closed", ..
            } => "port_closed",
            Event::Port { .. } => "port_filtered",
            other => other.step(),
        }
    }
}

/// A measured quantity in words: `udp_send_error`, 0, `bool` → "udp send
/// error: no"; `tcp_rtt_p50_us`, 45, `µs` → "tcp rtt p50: 45 µs" (the key's
/// unit suffix is the unit, said once).
fn measurement(key: &str, value: f64, unit: &str) -> String {
    let mut name = key;
    for suffix in ["_us", "_ms", "_pct", "_mib_s"] {
        name = name.strip_suffix(suffix).unwrap_or(name);
    }
    let name = name.replace('_', " ");
    let shown = match unit {
        "bool" if value == 0.0 => "no".to_string(),
        "bool" => "yes".to_string(),
        _ if value.fract() == 0.0 && value.abs() < 1e15 => format!("{} {unit}", value as i64),
        _ => format!("{value:.1} {unit}"),
    };
    format!("{name}: {shown}")
}

/// The head lines of an HTTP message (at most 16), escaped for display.
fn http_head(wire: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    for line in wire.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if lines.len() == 16 {
            lines.push("…".to_string());
            break;
        }
        let shown = preview(line, 100);
        lines.push(shown[1..shown.len() - 1].replace("\"…", "…"));
    }
    lines
}

/// `1536` → `1.5 KiB`; exact below 1 KiB.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn micros_text(us: u64) -> String {
    if us < 10_000 {
        format!("{us} µs")
    } else {
        millis_text(us / 1000)
    }
}

fn millis_text(ms: u64) -> String {
    if ms < 10_000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// Pads a styled cell to `width` terminal columns.
fn pad(styled: &ColoredString, plain: &str, width: usize) -> String {
    format!(
        "{styled}{}",
        " ".repeat(width.saturating_sub(columns(plain)))
    )
}

/// The same styled text with every dangerous character escaped.
fn escaped(styled: ColoredString) -> ColoredString {
    match escape::line(&styled.input) {
        std::borrow::Cow::Borrowed(_) => styled,
        std::borrow::Cow::Owned(safe) => restyle(&styled, &safe),
    }
}

/// Gives `piece` the same colour and style as `like`.
fn restyle(like: &ColoredString, piece: &str) -> ColoredString {
    let mut s = ColoredString::from(piece);
    s.fgcolor = like.fgcolor;
    s.bgcolor = like.bgcolor;
    s.style = like.style;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::{FrameReader, JsonFraming, Limits, Proto, Role, codec};
    use crate::trace::{Data, Untrusted};
    use std::time::Instant;

    fn record(sink: &mut TextSink, event: &Event) {
        let rec = Record {
            ts_us: 0,
            elapsed: Duration::ZERO,
            pid: 1,
            command: "listen",
            side: Side::Server,
            conn: Some(1),
            event,
        };
        sink.record(&rec).expect("writes to a sink");
    }

    /// Cuts a one-line JSON message with a body of `len` bytes, then times
    /// narrating it (the frame line and the message line): the fastest of
    /// five, since a shared machine only ever adds time.
    fn narrate_json_message(len: usize) -> Duration {
        let body = "x".repeat(len);
        let wire = format!(
            "{}\n",
            serde_json::json!({"from": "a", "to": "b", "body": body})
        );
        let limits = Limits {
            max_frame: 4 << 20,
            ..Limits::default()
        };
        let mut reader = FrameReader::new(
            codec(Proto::Json, JsonFraming::Newline, Role::Server),
            limits,
        );
        reader.push(wire.as_bytes());
        let frame = reader.next_frame().expect("valid").expect("whole");
        let mut sink = TextSink::new(Box::new(io::sink()), Level::Data, Layout::Lines);
        let mut fastest = Duration::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            let text = frame.summary();
            let ev = Event::Frame {
                proto: "json",
                number: 1,
                n: frame.wire.len(),
                text: Untrusted::new(&text),
                data: Data(&frame.wire),
            };
            record(&mut sink, &ev);
            let ev = Event::Message {
                from: "a".into(),
                to: "b".into(),
                body: Untrusted::new(&body),
            };
            record(&mut sink, &ev);
            fastest = fastest.min(start.elapsed());
        }
        fastest
    }

    #[test]
    fn narrating_a_megabyte_frame_costs_what_a_kilobyte_one_does() {
        let small = narrate_json_message(1_000);
        let big = narrate_json_message(1 << 20);
        // Both show the same bounded summary; rendering the whole megabyte
        // (as before) cost thousands of times more.
        assert!(
            big < small * 10,
            "a 1 MiB frame took {big:?} to narrate, a 1 KB one {small:?}"
        );
    }

    /// A writer whose bytes the test can read afterwards.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_sink_escapes_whatever_an_event_carries() {
        let out = Shared::default();
        let mut sink = TextSink::new(Box::new(out.clone()), Level::Data, Layout::Lines);
        // Plain &str fields, not Untrusted: the sink's own escaping is what
        // keeps these off the terminal.
        record(
            &mut sink,
            &Event::Note {
                text: "a\x1b[2Jb\u{202e}c\nd",
            },
        );
        record(
            &mut sink,
            &Event::Answer {
                question: "q",
                value: "\u{9b}31m",
            },
        );
        let text = String::from_utf8(out.0.borrow().clone()).expect("UTF-8");
        assert!(text.contains("a\\x1b[2Jb\\u{202e}c\\nd"), "{text}");
        assert!(text.contains("answered q: \\u{9b}31m"), "{text}");
        assert!(
            !text.contains("\x1b[2J") && !text.contains('\u{202e}') && !text.contains('\u{9b}')
        );
    }

    #[test]
    fn relay_lines_name_who_sent_and_who_receives() {
        let client: std::net::SocketAddr = "127.0.0.1:46750".parse().expect("addr");
        let line = |dir| {
            describe(&Event::Relay {
                dir,
                number: 1,
                n: 5,
                fate: "dropped",
                millis: 0,
                client,
            })
            .expect("a line")
        };
        assert_eq!(
            line("up"),
            "client 127.0.0.1:46750 → target, #1 (5 bytes): dropped"
        );
        assert_eq!(
            line("down"),
            "target → client 127.0.0.1:46750, #1 (5 bytes): dropped"
        );
    }

    #[test]
    fn measurements_read_as_words_not_as_debug_output() {
        assert_eq!(
            measurement("udp_send_error", 0.0, "bool"),
            "udp send error: no"
        );
        assert_eq!(
            measurement("tcp_rtt_p50_us", 45.0, "µs"),
            "tcp rtt p50: 45 µs"
        );
        assert_eq!(
            measurement("tcp_bulk_mib_s", 812.25, "MiB/s"),
            "tcp bulk: 812.2 MiB/s"
        );
    }

    #[test]
    fn sizes_read_like_a_person_wrote_them() {
        assert_eq!(bytes(6), "6 bytes");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(16 * 1024 * 1024), "16.0 MiB");
    }
}
