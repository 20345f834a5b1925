//! Frames cut from what arrives on a connection or in a datagram: every read
//! goes into a [`FrameReader`], each frame is narrated, recognised as a message
//! when it is one, written to stdout, and (for an HTTP server) answered.

use std::io;

use crate::framing::http;
use crate::framing::message::Assembler;
use crate::framing::{Content, Frame, FrameError, FrameReader, Proto, codec, telnet};
use crate::net::output::Output;
use crate::trace::{Data, Event, Side, Tracer};

use super::head::HeadClock;
use super::{Framing, emit_frame_error};

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
    /// An HTTP server's: since when a request head has been arriving.
    head: HeadClock,
    /// Wire bytes of the frames cut from the read being fed.
    framed: u64,
    /// An HTTP server answered a request that asked to close: what comes
    /// after it is not read (RFC 9112 §9.6).
    closing: bool,
    /// Whether bytes after that request have been narrated as ignored.
    ignored: bool,
}

impl Inbound {
    pub fn new(framing: Framing) -> Inbound {
        Inbound {
            reader: FrameReader::new(
                codec(framing.proto, framing.json, framing.role),
                framing.limits,
            ),
            framing,
            assembler: Assembler::default(),
            frames: 0,
            errors: 0,
            head: HeadClock::default(),
            framed: 0,
            closing: false,
            ignored: false,
        }
    }

    /// When the HTTP request head now arriving began (an HTTP server only).
    pub fn head_since(&self) -> Option<std::time::Instant> {
        self.head.since()
    }

    /// Whether bytes of an unfinished frame are buffered.
    pub fn mid_frame(&self) -> bool {
        self.reader.buffered() > 0
    }

    /// Lets go of the read buffer when it holds nothing, so that a quiet
    /// connection costs little; its capacity is what the largest burst
    /// needed. Only for codecs that keep no state between frames (XML keeps
    /// its open stream, an HTTP client the requests it awaits answers to).
    pub fn release_if_empty(&mut self) {
        let stateless = match self.framing.proto {
            Proto::Raw | Proto::Lines | Proto::Json | Proto::Telnet => true,
            Proto::Http => self.framing.answers_requests(),
            Proto::Xml => false,
        };
        if stateless && self.reader.buffered() == 0 {
            let f = &self.framing;
            self.reader = FrameReader::new(codec(f.proto, f.json, f.role), f.limits);
        }
    }

    /// Bytes just read: cut, narrate and deliver every whole frame.
    pub fn feed(
        &mut self,
        t: &mut Tracer,
        at: (Side, Option<u64>),
        data: &[u8],
        out: &mut Output,
        replies: &mut Vec<Reply>,
    ) -> Result<(), InboundError> {
        if self.closing {
            self.ignore(t, at, data.len());
            return Ok(());
        }
        self.reader.push(data);
        let mut cut = 0;
        loop {
            match self.reader.next_frame() {
                Ok(Some(frame)) => {
                    cut += 1;
                    self.deliver(t, at, &frame, out, replies)?;
                    if self.closing {
                        self.ignore(t, at, self.reader.buffered());
                        return Ok(());
                    }
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
        if self.framing.answers_requests() {
            self.head.observe(data, std::mem::take(&mut self.framed));
        }
        if self.framing.answers_requests() && self.reader.codec_mut().wants_continue() {
            let text = "the client asked before sending its body (Expect: 100-continue): answering HTTP/1.1 100 Continue";
            t.emit(at.0, at.1, Event::Note { text });
            replies.push(Reply {
                bytes: b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(),
                close: false,
            });
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

    /// Narrates, once, that bytes after a request that asked to close are
    /// not read.
    fn ignore(&mut self, t: &mut Tracer, at: (Side, Option<u64>), n: usize) {
        if n > 0 && !std::mem::replace(&mut self.ignored, true) {
            let text = "bytes came after a request that asked to close the connection: they are not read as requests, and the connection closes after the answer (RFC 9112 §9.6)";
            t.emit(at.0, at.1, Event::Note { text });
        }
    }

    /// The peer closed: what is buffered is a last frame or an unfinished one.
    pub fn finish(
        &mut self,
        t: &mut Tracer,
        at: (Side, Option<u64>),
        out: &mut Output,
        replies: &mut Vec<Reply>,
    ) -> Result<(), InboundError> {
        if self.closing {
            return Ok(());
        }
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
        // A last line or JSON object ends where the datagram ends: the
        // codecs deliver it at the end of input, so nothing is added.
        self.reader.push(data);
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
        self.framed += frame.wire.len() as u64;
        if let Content::Telnet(item) = &frame.content
            && let Some(answer) = telnet::answer::answer(item)
        {
            // A command is not data: it is named, answered, and kept off
            // stdout.
            telnet_command(t, (side, conn), item, &answer);
            if let Some((bytes, _)) = answer.reply {
                // A client's opening negotiation is a dozen commands in one
                // read: their answers go out together, in one write.
                match replies.last_mut() {
                    Some(last) if !last.close => last.bytes.extend_from_slice(&bytes),
                    _ => replies.push(Reply {
                        bytes,
                        close: false,
                    }),
                }
            }
            return Ok(());
        }
        self.frames += 1;
        let text = frame.summary();
        let proto = self.reader.proto();
        let ev = Event::Frame {
            proto,
            number: self.frames,
            n: frame.wire.len(),
            text: (&text).into(),
            data: Data(&frame.wire),
        };
        t.emit(side, conn, ev);
        let message = self.assembler.push(frame);
        if let Some(m) = &message {
            t.emit(
                side,
                conn,
                Event::Message {
                    from: (&m.from).into(),
                    to: (&m.to).into(),
                    body: (&m.body).into(),
                },
            );
        }
        // On a terminal a message reads as a chat line; a script gets the data.
        let shown = match &message {
            Some(m) if out.is_terminal() => format!("{}\n", m.line()).into_bytes(),
            _ => frame.output(),
        };
        // On a terminal a frame ends its line (in a pipe, the bytes as cut).
        out.write_whole(&shown).map_err(InboundError::Output)?;
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
            let reply = answer(request);
            self.closing = reply.close;
            replies.push(reply);
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
            let code = e.http_status.unwrap_or(match e.kind {
                crate::framing::ErrorKind::TooLarge => 413,
                _ => 400,
            });
            let body = format!("socklab could not read your request: {e}\n");
            replies.push(Reply {
                bytes: http::response(
                    code,
                    reason(code),
                    "text/plain; charset=utf-8",
                    body.as_bytes(),
                    true,
                ),
                close: true,
            });
        }
    }
}

/// Narrates a telnet command: its name, what it asks, what we answered.
fn telnet_command(
    t: &mut Tracer,
    (side, conn): (Side, Option<u64>),
    item: &telnet::Item,
    answer: &telnet::answer::Answer,
) {
    use telnet::{Item, names};
    let (command, option) = match *item {
        Item::Negotiate { verb, option } => (names::verb(verb), Some(option)),
        Item::Sub { option, .. } => ("SB", Some(option)),
        Item::Command(code) => (names::command(code).0, None),
        Item::Data { .. } => return,
    };
    let (name, rfc) = match option {
        Some(code) => (names::option(code).name, names::option(code).rfc),
        None => ("", "RFC 854"),
    };
    let params = match item {
        Item::Sub { option, params, .. } => Some(telnet::answer::params(*option, params)),
        _ => None,
    };
    t.emit(
        side,
        conn,
        Event::Telnet {
            command,
            option,
            name,
            rfc,
            meaning: &answer.meaning,
            params: params.as_deref().map(Into::into),
            answer: answer.reply.as_ref().map(|(_, name)| name.as_str()),
            why: &answer.why,
        },
    );
}

/// The reason phrases of the statuses socklab answers with (RFC 9110 §15).
fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Bad Request",
    }
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
    let code = if request.is_response() { 400 } else { 200 };
    let kind = "text/plain; charset=utf-8";
    // RFC 9110 §9.3.2: the answer to HEAD is the head a GET would get,
    // Content-Length included, and nothing after it.
    let head_only =
        matches!(request.start(), http::Start::Request { method, .. } if method == "HEAD");
    let bytes = if head_only {
        http::response_head(code, reason(code), kind, body.len(), close)
    } else {
        http::response(code, reason(code), kind, body.as_bytes(), close)
    };
    Reply { bytes, close }
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
}
