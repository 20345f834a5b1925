//! What is typed, as a protocol's wire bytes: JSON objects framed as typed,
//! HTTP requests typed in short or in full ([`typed`](super::typed)), lines
//! turned into messages with `--from`/`--to`; raw, lines and xml pass
//! through.

use crate::framing::Proto;
use crate::framing::json::{self, Object};
use crate::framing::message::Message;
use crate::trace::{Event, Side, Tracer};

use super::Framing;
use super::exchange::Piece;
use super::typed::{Settings, Typed, Typing};

/// What to send for what was typed.
#[derive(Default)]
pub struct Encoded {
    /// Bytes to send as they are.
    pub bytes: Vec<u8>,
    /// HTTP requests, in order: they go out one answer at a time (see
    /// [`Exchange`](super::exchange::Exchange)).
    pub requests: Vec<Piece>,
}

impl Encoded {
    /// Everything, in order, as it would go on the wire.
    pub fn into_bytes(self) -> Vec<u8> {
        let mut bytes = self.bytes;
        for piece in self.requests {
            bytes.extend(piece.into_bytes());
        }
        bytes
    }
}

pub struct Outbound {
    framing: Framing,
    partial: Vec<u8>,
    lines: u64,
    /// telnet: the last byte typed was CR (a CR LF split across chunks).
    last_cr: bool,
    /// An HTTP request being typed.
    typing: Typing,
}

impl Outbound {
    pub fn new(framing: Framing) -> Outbound {
        Outbound {
            framing,
            partial: Vec::new(),
            lines: 0,
            last_cr: false,
            typing: Typing::default(),
        }
    }

    /// Whether input is taken line by line (each line one message).
    pub fn by_line(&self) -> bool {
        self.framing.sender.is_some() || matches!(self.framing.proto, Proto::Json | Proto::Http)
    }

    /// A chunk of input: complete lines are encoded, the rest waits; the
    /// body after a typed HTTP head goes as it is typed.
    pub fn encode(&mut self, t: &mut Tracer, side: Side, chunk: &[u8]) -> Encoded {
        if self.framing.proto == Proto::Telnet && self.framing.sender.is_none() {
            // The NVT's rules: a data byte 255 is doubled, a line ends CR LF.
            return Encoded {
                bytes: crate::framing::telnet::escape(chunk, &mut self.last_cr),
                ..Encoded::default()
            };
        }
        if !self.by_line() {
            return Encoded {
                bytes: chunk.to_vec(),
                ..Encoded::default()
            };
        }
        let mut encoded = Encoded::default();
        let mut rest = chunk;
        while !rest.is_empty() {
            if let Some(left) = self.typing.body_left() {
                let n = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                encoded.requests.push(Piece::More(rest[..n].to_vec()));
                self.typing.body_typed(n as u64);
                rest = &rest[n..];
                continue;
            }
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                self.partial.extend_from_slice(rest);
                break;
            };
            self.partial.extend_from_slice(&rest[..=nl]);
            rest = &rest[nl + 1..];
            let line = std::mem::take(&mut self.partial);
            self.encode_line(t, side, &line, &mut encoded);
        }
        encoded
    }

    /// The input ended: a last line without a newline is still a message.
    pub fn finish(&mut self, t: &mut Tracer, side: Side) -> Encoded {
        let mut encoded = Encoded::default();
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.encode_line(t, side, &line, &mut encoded);
        }
        if let Some(what) = self.typing.unfinished() {
            self.error(t, side, what);
        }
        encoded
    }

    fn encode_line(&mut self, t: &mut Tracer, side: Side, line: &[u8], out: &mut Encoded) {
        self.lines += 1;
        let text = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(line));
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let f = &self.framing;
        if f.proto == Proto::Http && f.sender.is_none() {
            let settings = Settings {
                host: &f.host,
                headers: &f.client.headers,
                max_head: f.limits.max_header_bytes,
            };
            match self.typing.line(text, &settings) {
                Typed::Piece(piece) => out.requests.push(piece),
                Typed::Held | Typed::Nothing => {}
                Typed::Refused(why) => self.refuse(t, side, why),
            }
            return;
        }
        if text.trim().is_empty() {
            return;
        }
        if let Some((from, to)) = &f.sender {
            let m = Message {
                from: from.clone(),
                to: to.clone(),
                body: text.to_string(),
            };
            let bytes = m.encode(f.proto, f.json, &f.host);
            match f.proto {
                Proto::Http => out.requests.push(Piece::Request {
                    method: "POST".into(),
                    bytes,
                }),
                _ => out.bytes.extend(bytes),
            }
            return;
        }
        match f.proto {
            Proto::Json => match Object::parse(text.trim_ascii().as_bytes(), 0) {
                Ok(o) if o.is_object() => {
                    if o.duplicate_count > 0 {
                        let text = format!(
                            "line {} sent as typed, but it repeats a key: {}",
                            self.lines,
                            o.duplicates.join(", ")
                        );
                        t.emit(side, None, Event::Note { text: &text });
                    }
                    out.bytes
                        .extend(json::frame_text(text.trim_ascii().as_bytes(), f.json));
                }
                Ok(_) => self.refuse(
                    t,
                    side,
                    "it is JSON but not an object: each message must be {...}".into(),
                ),
                Err(e) => self.refuse(t, side, format!("it is not JSON ({e})")),
            },
            _ => out.bytes.extend_from_slice(line),
        }
    }

    /// Narrates a typed line that was not sent.
    fn refuse(&self, t: &mut Tracer, side: Side, why: String) {
        self.error(t, side, format!("line {} was not sent: {why}", self.lines));
    }

    /// Narrates what was wrong with the input.
    fn error(&self, t: &mut Tracer, side: Side, message: String) {
        let next = match self.framing.proto {
            Proto::Json => {
                r#"type one JSON object per line, e.g. {"from":"Vincent","to":"Eli","body":"hi"}, or use --from and --to"#
            }
            _ => {
                "type a request line: `GET /path`, or `POST /login username=zhangsan&password=123456`; or a whole head: `GET /path HTTP/1.1`, header lines, an empty line"
            }
        };
        let ev = Event::Error {
            kind: "bad_input",
            message: (&message).into(),
            why: "",
            next,
            errno: None,
            pointer: None,
        };
        t.emit(side, None, ev);
    }
}
