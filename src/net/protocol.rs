//! A protocol on a live stream: frames cut from what arrives, and what the
//! user types turned into the protocol's wire bytes.
//!
//! [`Inbound`] sits behind each connection's reads: every read goes into a
//! [`FrameReader`], and each frame cut out is narrated (`frame #1 (27 bytes)`),
//! recognised as an instant message when it is one, and written to stdout.
//! As an HTTP server it answers each request, keep-alive included. A bad frame
//! is narrated with a caret under the offending byte; json steps over it,
//! the other formats cannot find their boundaries again and stop.
//!
//! [`Outbound`] sits between stdin and the connections: with json, each line
//! must be an object and is re-framed (newline or length prefix); with http,
//! a line like `GET /` or `POST /login a=1` becomes a complete request; with
//! `--from`/`--to`, each line is a message's body. raw, lines and xml pass
//! what is typed through unchanged.

use std::io;

use crate::UsageError;
use crate::cli::FramingArgs;
use crate::framing::http;
use crate::framing::message::{Assembler, Message};
use crate::framing::{
    Content, Frame, FrameError, FrameReader, JsonFraming, Limits, Proto, Role, codec, json,
};
use crate::trace::explain::explain_frame;
use crate::trace::{Data, Event, Side, Tracer};

use super::output::Output;

/// The protocol settings of a command.
#[derive(Clone, Debug)]
pub struct Framing {
    pub proto: Proto,
    pub json: JsonFraming,
    pub limits: Limits,
    /// `--from` and `--to`: typed lines become messages.
    pub sender: Option<(String, String)>,
    pub role: Role,
    /// For HTTP requests' Host header.
    pub host: String,
}

impl Framing {
    /// `None` without `--proto`.
    pub fn from_args(
        args: &FramingArgs,
        role: Role,
        host: impl Into<String>,
    ) -> Result<Option<Framing>, UsageError> {
        let sender = args.from.clone().zip(args.to.clone());
        let Some(proto) = args.proto else {
            if sender.is_some() {
                return Err(UsageError::new(
                    "--from and --to build messages: add --proto json, xml or http",
                ));
            }
            return Ok(None);
        };
        if sender.is_some() && matches!(proto, Proto::Raw | Proto::Lines) {
            return Err(UsageError::new(
                "messages (--from/--to) are carried by --proto json, xml or http",
            ));
        }
        Ok(Some(Framing {
            proto,
            json: args.json_framing,
            limits: args.limits(),
            sender,
            role,
            host: host.into(),
        }))
    }

    /// An HTTP server answers requests itself instead of reading stdin.
    pub fn answers_requests(&self) -> bool {
        self.proto == Proto::Http && self.role == Role::Server
    }

    pub fn inbound(&self) -> Inbound {
        Inbound {
            reader: FrameReader::new(codec(self.proto, self.json, self.role), self.limits),
            framing: self.clone(),
            assembler: Assembler::default(),
            frames: 0,
            errors: 0,
        }
    }

    pub fn outbound(&self) -> Outbound {
        Outbound {
            framing: self.clone(),
            partial: Vec::new(),
            lines: 0,
        }
    }
}

/// Something to send back (an HTTP response), and whether to close after it.
pub struct Reply {
    pub bytes: Vec<u8>,
    pub close: bool,
}

/// Why reading frames stopped.
#[derive(Debug)]
pub enum InboundError {
    /// A frame error the stream cannot recover from (already narrated).
    Frame(FrameError),
    /// Writing stdout failed.
    Output(io::Error),
}

pub struct Inbound {
    reader: FrameReader,
    framing: Framing,
    assembler: Assembler,
    frames: u64,
    /// Bad frames seen (skipped or fatal).
    pub errors: u64,
}

impl Inbound {
    /// Bytes just read: cut, narrate and deliver every whole frame.
    pub fn feed(
        &mut self,
        t: &mut Tracer,
        at: (Side, Option<u64>),
        data: &[u8],
        out: &mut Output,
        replies: &mut Vec<Reply>,
    ) -> Result<(), InboundError> {
        self.reader.push(data);
        let mut cut = 0;
        loop {
            match self.reader.next_frame() {
                Ok(Some(frame)) => {
                    cut += 1;
                    self.deliver(t, at, &frame, out, replies)?;
                }
                Ok(None) => break,
                Err(e) => {
                    self.fail(t, at, &e, replies);
                    if e.skip.is_none() {
                        return Err(InboundError::Frame(e));
                    }
                }
            }
        }
        let proto = self.reader.proto();
        t.emit(
            at.0,
            at.1,
            Event::Pending {
                proto,
                buffered: self.reader.buffered(),
                cut,
            },
        );
        Ok(())
    }

    /// The peer closed: what is buffered is a last frame or an unfinished one.
    pub fn finish(
        &mut self,
        t: &mut Tracer,
        at: (Side, Option<u64>),
        out: &mut Output,
        replies: &mut Vec<Reply>,
    ) -> Result<(), InboundError> {
        loop {
            match self.reader.finish() {
                Ok(Some(frame)) => self.deliver(t, at, &frame, out, replies)?,
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.fail(t, at, &e, replies);
                    return Err(InboundError::Frame(e));
                }
            }
        }
    }

    /// One datagram is one frame: decoded on its own, start to end.
    pub fn datagram(
        &mut self,
        t: &mut Tracer,
        side: Side,
        data: &[u8],
        out: &mut Output,
    ) -> Result<(), InboundError> {
        self.reader = FrameReader::new(
            codec(self.framing.proto, self.framing.json, self.framing.role),
            self.framing.limits,
        );
        let mut ignored = Vec::new();
        self.reader.push(data);
        // A line or a JSON object ends where the datagram ends.
        let line_based = matches!(self.framing.proto, Proto::Lines)
            || (self.framing.proto == Proto::Json && self.framing.json == JsonFraming::Newline);
        if line_based && !data.ends_with(b"\n") {
            self.reader.push(b"\n");
        }
        loop {
            match self.reader.next_frame() {
                Ok(Some(frame)) => self.deliver(t, (side, None), &frame, out, &mut ignored)?,
                Ok(None) => break,
                Err(e) => {
                    self.fail(t, (side, None), &e, &mut ignored);
                    return Ok(());
                }
            }
        }
        // An error here is narrated; the next datagram starts afresh.
        match self.finish(t, (side, None), out, &mut ignored) {
            Err(InboundError::Output(e)) => Err(InboundError::Output(e)),
            _ => Ok(()),
        }
    }

    pub fn sent_request(&mut self, method: &str) {
        self.reader.codec_mut().sent_request(method);
    }

    fn deliver(
        &mut self,
        t: &mut Tracer,
        (side, conn): (Side, Option<u64>),
        frame: &Frame,
        out: &mut Output,
        replies: &mut Vec<Reply>,
    ) -> Result<(), InboundError> {
        self.frames += 1;
        let text = frame.summary();
        let proto = self.reader.proto();
        let ev = Event::Frame {
            proto,
            number: self.frames,
            n: frame.wire.len(),
            text: &text,
            data: Data(&frame.wire),
        };
        t.emit(side, conn, ev);
        let message = self.assembler.push(frame);
        if let Some(m) = &message {
            t.emit(
                side,
                conn,
                Event::Message {
                    from: &m.from,
                    to: &m.to,
                    body: &m.body,
                },
            );
        }
        // On a terminal a message reads as a chat line; a script gets the data.
        let mut shown = match &message {
            Some(m) if out.is_terminal() => format!("{}\n", m.line()).into_bytes(),
            _ => frame.output(),
        };
        if out.is_terminal() && !shown.is_empty() && !shown.ends_with(b"\n") {
            shown.push(b'\n');
        }
        out.write(&shown).map_err(InboundError::Output)?;
        if let Content::Http(response) = &frame.content
            && response.is_response()
            && response.wants_close()
        {
            let text = "the server will close the connection after this response (HTTP/1.0, or Connection: close): requests sent after it get no answer";
            t.emit(side, conn, Event::Note { text });
        }
        if self.framing.answers_requests()
            && let Content::Http(request) = &frame.content
        {
            replies.push(answer(request));
        }
        Ok(())
    }

    /// Narrates a frame error; an HTTP server also answers with an error status.
    fn fail(
        &mut self,
        t: &mut Tracer,
        (side, conn): (Side, Option<u64>),
        e: &FrameError,
        replies: &mut Vec<Reply>,
    ) {
        self.errors += 1;
        emit_frame_error(t, side, conn, e);
        if self.framing.answers_requests()
            && e.kind != crate::framing::ErrorKind::PeerClosedMidFrame
        {
            let (code, reason) = match e.kind {
                crate::framing::ErrorKind::TooLarge => (413, "Content Too Large"),
                _ => (400, "Bad Request"),
            };
            let body = format!("socklab could not read your request: {e}\n");
            replies.push(Reply {
                bytes: http::response(
                    code,
                    reason,
                    "text/plain; charset=utf-8",
                    body.as_bytes(),
                    true,
                ),
                close: true,
            });
        }
    }
}

/// Records a framing error with its explanation and the caret pointer.
pub fn emit_frame_error(t: &mut Tracer, side: Side, conn: Option<u64>, e: &FrameError) {
    let (why, next) = explain_frame(e.kind.id(), e.proto, e.skip.is_some());
    let message = e.to_string();
    let pointer = e.pointer();
    t.emit(
        side,
        conn,
        Event::Error {
            kind: e.kind.id(),
            message: &message,
            why: &why,
            next: &next,
            errno: None,
            pointer: (!pointer.is_empty()).then_some(pointer.as_str()),
        },
    );
}

/// What `socklab listen --proto http` answers: a plain-text account of the
/// request it received, form fields decoded (the curriculum's login form).
fn answer(request: &http::Message) -> Reply {
    let mut body = format!("socklab received: {}\n", request.start_line());
    body.push_str(&format!("headers: {}\n", request.header_count()));
    let kind = request
        .header("content-type")
        .map(|v| String::from_utf8_lossy(v).into_owned());
    body.push_str(&format!(
        "body: {} bytes{}\n",
        request.body.len(),
        kind.as_ref().map(|k| format!(" ({k})")).unwrap_or_default()
    ));
    if kind
        .as_deref()
        .is_some_and(|k| k.starts_with("application/x-www-form-urlencoded"))
    {
        for (name, value) in form_fields(&request.body) {
            body.push_str(&format!("form: {name} = {value}\n"));
        }
    }
    let close = request.wants_close();
    let status = if request.is_response() {
        (400, "Bad Request")
    } else {
        (200, "OK")
    };
    Reply {
        bytes: http::response(
            status.0,
            status.1,
            "text/plain; charset=utf-8",
            body.as_bytes(),
            close,
        ),
        close,
    }
}

/// Decodes `a=1&b=x+y%21` into pairs.
pub fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &[u8]| {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => {
                    match std::str::from_utf8(&s[i + 1..i + 3])
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                    {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut kv = pair.splitn(2, |&b| b == b'=');
            (
                decode(kv.next().unwrap_or_default()),
                decode(kv.next().unwrap_or_default()),
            )
        })
        .collect()
}

/// What to send for what was typed.
#[derive(Default)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    /// HTTP methods of the requests built (the reader must know about HEAD).
    pub methods: Vec<String>,
}

pub struct Outbound {
    framing: Framing,
    partial: Vec<u8>,
    lines: u64,
}

impl Outbound {
    /// Whether input is taken line by line (each line one message).
    pub fn by_line(&self) -> bool {
        self.framing.sender.is_some() || matches!(self.framing.proto, Proto::Json | Proto::Http)
    }

    /// A chunk of input: complete lines are encoded, the rest waits.
    pub fn encode(&mut self, t: &mut Tracer, side: Side, chunk: &[u8]) -> Encoded {
        if !self.by_line() {
            return Encoded {
                bytes: chunk.to_vec(),
                methods: Vec::new(),
            };
        }
        let mut encoded = Encoded::default();
        for piece in chunk.split_inclusive(|&b| b == b'\n') {
            self.partial.extend_from_slice(piece);
            if piece.ends_with(b"\n") {
                let line = std::mem::take(&mut self.partial);
                self.encode_line(t, side, &line, &mut encoded);
            }
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
        encoded
    }

    fn encode_line(&mut self, t: &mut Tracer, side: Side, line: &[u8], out: &mut Encoded) {
        self.lines += 1;
        let text = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(line));
        let text = text.strip_suffix('\r').unwrap_or(&text);
        if text.trim().is_empty() {
            return;
        }
        let f = &self.framing;
        if let Some((from, to)) = &f.sender {
            let m = Message {
                from: from.clone(),
                to: to.clone(),
                body: text.to_string(),
            };
            if f.proto == Proto::Http {
                out.methods.push("POST".into());
            }
            out.bytes.extend(m.encode(f.proto, f.json, &f.host));
            return;
        }
        let result = match f.proto {
            Proto::Json => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v) if v.is_object() => Ok(json::encode(&v, f.json)),
                Ok(_) => {
                    Err("it is JSON but not an object: each message must be {...}".to_string())
                }
                Err(e) => Err(format!("it is not JSON ({e})")),
            },
            Proto::Http => http_request(text, &f.host).map(|(method, bytes)| {
                out.methods.push(method);
                bytes
            }),
            _ => Ok(line.to_vec()),
        };
        match result {
            Ok(bytes) => out.bytes.extend(bytes),
            Err(why) => {
                let message = format!("line {} was not sent: {why}", self.lines);
                let next = match f.proto {
                    Proto::Json => {
                        r#"type one JSON object per line, e.g. {"from":"Vincent","to":"Eli","body":"hi"}, or use --from and --to"#
                    }
                    _ => {
                        "type a request line: `GET /path`, or `POST /login username=zhangsan&password=123456`"
                    }
                };
                let ev = Event::Error {
                    kind: "bad_input",
                    message: &message,
                    why: "",
                    next,
                    errno: None,
                    pointer: None,
                };
                t.emit(side, None, ev);
            }
        }
    }
}

/// `GET /x` or `POST /login a=1&b=2` (or with a JSON body) → a request.
fn http_request(line: &str, host: &str) -> Result<(String, Vec<u8>), String> {
    let mut parts = line.splitn(3, ' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or("/");
    let body = parts.next().unwrap_or("").as_bytes();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "{method:?} is not an HTTP method (GET, POST, HEAD...)"
        ));
    }
    if !(target.starts_with('/') || target == "*" || target.starts_with("http://")) {
        return Err(format!(
            "{target:?} is not a request target: it starts with /"
        ));
    }
    let kind = if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    Ok((
        method.to_string(),
        http::request(method, target, host, body, kind),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode() {
        assert_eq!(
            form_fields(b"username=zhangsan&password=123456"),
            [
                ("username".into(), "zhangsan".into()),
                ("password".into(), "123456".into())
            ]
        );
        assert_eq!(
            form_fields(b"a=x+y%21&b"),
            [("a".into(), "x y!".into()), ("b".into(), String::new())]
        );
        assert_eq!(form_fields(b"bad=%zz%"), [("bad".into(), "%zz%".into())]);
    }

    #[test]
    fn request_lines_become_requests() {
        let (m, bytes) =
            http_request("POST /login username=zhangsan&password=123456", "h:1").expect("valid");
        assert_eq!(m, "POST");
        let text = String::from_utf8(bytes).expect("text");
        assert!(
            text.starts_with("POST /login HTTP/1.1\r\nHost: h:1\r\n"),
            "{text}"
        );
        assert!(text.contains("Content-Length: 33\r\n") && text.contains("x-www-form-urlencoded"));
        assert!(http_request("get /", "h").is_err());
        assert!(http_request("GET x", "h").is_err());
    }
}
