//! Frames cut from what arrives on a connection or in a datagram: every read
//! goes into a [`FrameReader`], each frame is narrated, recognised as a message
//! when it is one, and written to stdout. HTTP messages come as a head, body
//! pieces and an end ([`incoming`](super::incoming)): an HTTP server answers
//! each request once its body is in, an HTTP client sends its next request
//! once an answer is complete ([`Exchange`]).

use std::io;

use crate::framing::message::{Assembler, Message};
use crate::framing::{Content, Frame, FrameError, FrameReader, Proto, codec, http, telnet};
use crate::net::output::Output;
use crate::trace::{Data, Event, Side, Tracer};

use super::answer::reason;
use super::exchange::{Exchange, Piece};
use super::head::HeadClock;
use super::incoming::Incoming;
use super::{Framing, emit_frame_error};

/// Something to send back (an HTTP response, or a request whose turn has
/// come), and whether to close after it.
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

pub(super) type At = (Side, Option<u64>);

pub struct Inbound {
    pub(super) reader: FrameReader,
    pub(super) framing: Framing,
    pub(super) assembler: Assembler,
    pub(super) frames: u64,
    /// Bad frames seen (skipped or fatal).
    pub errors: u64,
    /// An HTTP server's: since when a request head has been arriving.
    head: HeadClock,
    /// An HTTP server answered a request that asked to close: what comes
    /// after it is not read (RFC 9112 §9.6).
    pub(super) closing: bool,
    /// Whether bytes after that request have been narrated as ignored.
    ignored: bool,
    /// HTTP: the message between its head and its end.
    pub(super) incoming: Option<Incoming>,
    /// An HTTP client's requests and their answers.
    pub(super) exchange: Exchange,
    /// `socklab frame`: every HTTP body piece is a frame in the narration.
    pub(super) every_piece: bool,
}

impl Inbound {
    pub fn new(framing: Framing) -> Inbound {
        Inbound {
            reader: FrameReader::new(
                codec(framing.proto, framing.json, framing.role),
                framing.limits,
            ),
            exchange: Exchange::new(framing.client.pipeline),
            framing,
            assembler: Assembler::default(),
            frames: 0,
            errors: 0,
            head: HeadClock::default(),
            closing: false,
            ignored: false,
            incoming: None,
            every_piece: false,
        }
    }

    /// Narrates every HTTP body piece as a frame of its own (`socklab
    /// frame`, which shows how the codec cuts), not a summary now and then.
    pub fn narrating_every_piece(mut self) -> Inbound {
        self.every_piece = true;
        self
    }

    /// When the HTTP request head now arriving began (an HTTP server only).
    pub fn head_since(&self) -> Option<std::time::Instant> {
        self.head.since()
    }

    /// Whether a frame, or an HTTP message's body, is unfinished.
    pub fn mid_frame(&self) -> bool {
        self.reader.buffered() > 0 || self.incoming.is_some()
    }

    /// Lets go of the read buffer when it holds nothing, so that a quiet
    /// connection costs little; its capacity is what the largest burst
    /// needed. Only for codecs that keep no state between frames (XML keeps
    /// its open stream, an HTTP client the requests it awaits answers to,
    /// an HTTP server a body still arriving).
    pub fn release_if_empty(&mut self) {
        let stateless = match self.framing.proto {
            Proto::Raw | Proto::Lines | Proto::Json | Proto::Telnet => true,
            Proto::Http => self.framing.answers_requests() && self.incoming.is_none(),
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
        at: At,
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
            // A head is on its way when bytes wait and no message is open.
            self.head
                .observe(self.incoming.is_none() && self.reader.buffered() > 0);
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
    fn ignore(&mut self, t: &mut Tracer, at: At, n: usize) {
        if n > 0 && !std::mem::replace(&mut self.ignored, true) {
            let text = "bytes came after a request that asked to close the connection: they are not read as requests, and the connection closes after the answer (RFC 9112 §9.6)";
            t.emit(at.0, at.1, Event::Note { text });
        }
    }

    /// The peer closed: what is buffered is a last frame or an unfinished one.
    pub fn finish(
        &mut self,
        t: &mut Tracer,
        at: At,
        out: &mut Output,
        replies: &mut Vec<Reply>,
    ) -> Result<(), InboundError> {
        if self.closing {
            return Ok(());
        }
        let result = loop {
            match self.reader.finish() {
                Ok(Some(frame)) => self.deliver(t, at, &frame, out, replies)?,
                Ok(None) => break Ok(()),
                Err(e) => {
                    self.fail(t, at, &e, replies);
                    break Err(InboundError::Frame(e));
                }
            }
        };
        if self.http_client() {
            self.exchange.peer_closed(t, at);
        }
        result
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
        self.incoming = None;
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

    /// Typed HTTP requests: the bytes that may go now (the others wait for
    /// answers), each request made known to the codec as it goes.
    pub fn send(&mut self, t: &mut Tracer, at: At, requests: Vec<Piece>) -> Vec<Vec<u8>> {
        let ready = self.exchange.submit(t, at, requests);
        self.sending(ready)
    }

    pub(super) fn sending(&mut self, pieces: Vec<Piece>) -> Vec<Vec<u8>> {
        pieces
            .into_iter()
            .map(|piece| {
                if let Piece::Request { method, .. } = &piece {
                    self.reader.codec_mut().sent_request(method);
                }
                piece.into_bytes()
            })
            .collect()
    }

    /// Typed bytes waiting for their turn to be sent.
    pub fn held(&self) -> usize {
        self.exchange.held()
    }

    /// Our input ended: `Some(fin)` to finish our half now, `None` while
    /// answers are due (then [`Inbound::take_finish`] says when).
    pub fn input_ended(&mut self, t: &mut Tracer, at: At, fin: bool) -> Option<bool> {
        if !self.http_client() {
            return Some(fin);
        }
        self.exchange.input_ended(t, at, fin)
    }

    /// Whether this reads the answers to HTTP requests that we send.
    pub(super) fn http_client(&self) -> bool {
        self.framing.proto == Proto::Http && self.framing.role == crate::framing::Role::Client
    }

    /// Whether our half is to finish now, and with a FIN or not.
    pub fn take_finish(&mut self) -> Option<bool> {
        self.exchange.take_finish()
    }

    /// Every answer is in and `--no-shutdown` was given: the connection is
    /// done without waiting for the server to close it.
    pub fn closes_without_fin(&self) -> bool {
        self.exchange.closes_without_fin()
    }

    fn deliver(
        &mut self,
        t: &mut Tracer,
        at: At,
        frame: &Frame,
        out: &mut Output,
        replies: &mut Vec<Reply>,
    ) -> Result<(), InboundError> {
        if let Content::Http(part) = &frame.content {
            return self.http(t, at, frame, part, out, replies);
        }
        if let Content::Telnet(item) = &frame.content
            && let Some(answer) = telnet::answer::answer(item)
        {
            // A command is not data: it is named, answered, and kept off
            // stdout.
            telnet_command(t, at, item, &answer);
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
        self.narrate(t, at, frame);
        let message = self.recognise(t, at, frame);
        // On a terminal a message reads as a chat line; a script gets the data.
        let shown = match &message {
            Some(m) if out.is_terminal() => format!("{}\n", m.line()).into_bytes(),
            _ => frame.output(),
        };
        // On a terminal a frame ends its line (in a pipe, the bytes as cut).
        out.write_whole(&shown).map_err(InboundError::Output)
    }

    /// Gives the frame to the message view; narrates the message it
    /// completes, if any.
    pub(super) fn recognise(
        &mut self,
        t: &mut Tracer,
        (side, conn): At,
        frame: &Frame,
    ) -> Option<Message> {
        let message = self.assembler.push(frame)?;
        let ev = Event::Message {
            from: (&message.from).into(),
            to: (&message.to).into(),
            body: (&message.body).into(),
        };
        t.emit(side, conn, ev);
        Some(message)
    }

    /// The frame event: its number, size, summary and bytes.
    pub(super) fn narrate(&mut self, t: &mut Tracer, (side, conn): At, frame: &Frame) {
        self.frames += 1;
        let text = frame.summary();
        let ev = Event::Frame {
            proto: self.reader.proto(),
            number: self.frames,
            n: frame.wire.len(),
            text: (&text).into(),
            data: Data(&frame.wire),
        };
        t.emit(side, conn, ev);
    }

    /// Narrates a frame error; an HTTP server also answers with an error status.
    fn fail(&mut self, t: &mut Tracer, (side, conn): At, e: &FrameError, replies: &mut Vec<Reply>) {
        self.errors += 1;
        self.incoming = None;
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
