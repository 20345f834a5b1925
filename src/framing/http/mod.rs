//! `http`: HTTP/1.1 messages (RFC 9112).
//!
//! A message is a head — a start line and header fields, ending at the first
//! empty line (`\r\n\r\n`) — and a body whose length the head announces:
//! `Content-Length: N`, or `Transfer-Encoding: chunked` (a series of
//! hex-sized chunks ending with a zero-sized one), or, for a response with
//! neither, "until the connection closes". Responses to HEAD, 1xx, 204 and
//! 304 have no body.
//!
//! - [`head`]: the head, read line by line as it arrives and parsed by
//!   httparse (the parser hyper uses) once it is complete;
//! - [`length`]: RFC 9112 §6.3, which says where the body ends, and refuses
//!   the shapes used for request smuggling;
//! - [`chunked`]: the chunked coding, to the letter of RFC 9112 §7.1;
//! - [`message`]: the head as kept, and the messages socklab builds;
//! - [`part`]: what a frame holds. A message comes out as its head, its
//!   body in pieces as the bytes arrive, then its end, so a body of any size
//!   streams through in memory bounded by one read: `--max-frame` bounds
//!   heads and chunk-size lines, never bodies.
//!
//! Every part remembers how far it has read, so a message trickling in byte
//! by byte costs linear time. Heads, ends and errors are the same however
//! the bytes were cut into reads; body pieces follow the reads, and their
//! data joined is the same.

use std::collections::VecDeque;

mod chunked;
mod head;
mod length;
mod message;
mod part;

pub use length::Length;
pub use message::{Field, Message, Start, request, request_with, response, response_head};
pub use part::{End, Part, Sample};

use super::{Codec, Content, FrameError, Limits, Role};
use chunked::{Chunks, Step};
use head::HeadScan;
use length::{Asked, body_length};
use message::Span;

/// Where the reader is in the current message. Every offset counts from
/// the first byte not yet cut into a frame.
enum State {
    /// Reading the head, up to its empty line.
    Head(HeadScan),
    /// A body delimited by Content-Length: `left` bytes still to come.
    Fixed { left: u64 },
    /// A chunked body.
    Chunked(Chunks),
    /// A response with no length: the body runs until the connection closes.
    UntilClose,
}

pub struct Http {
    role: Role,
    state: State,
    /// For a client: the requests sent and not yet answered.
    asked: VecDeque<Asked>,
    /// A request asked `Expect: 100-continue` and waits for its answer.
    expects_continue: bool,
    /// Body bytes of the current message so far, and the length its head
    /// announced (for naming an unfinished body).
    body: u64,
    announced: u64,
}

impl Http {
    pub fn new(role: Role) -> Http {
        Http {
            role,
            state: State::Head(HeadScan::default()),
            asked: VecDeque::new(),
            expects_continue: false,
            body: 0,
            announced: 0,
        }
    }
}

/// A token character (RFC 9110 §5.6.2): what names and methods are made of.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `span` without the optional whitespace (SP, HTAB) at either end.
fn trim_ows(s: &[u8], span: Span) -> Span {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let part = &s[span.clone()];
    let lead = part.iter().take_while(|b| ows(b)).count();
    let trail = part[lead..].iter().rev().take_while(|b| ows(b)).count();
    span.start + lead..span.end - trail
}

impl Codec for Http {
    fn proto(&self) -> &'static str {
        "http"
    }

    fn sent_request(&mut self, method: &str) {
        self.asked
            .push_back(match method.to_ascii_uppercase().as_str() {
                "HEAD" => Asked::Head,
                "CONNECT" => Asked::Connect,
                _ => Asked::Other,
            });
    }

    fn wants_continue(&mut self) -> bool {
        std::mem::take(&mut self.expects_continue)
    }

    fn decode(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        let result = self.next_part(buf, limits);
        if result.is_err() {
            // Nothing after a bad message can be trusted: a fresh head
            // scan is left behind.
            self.state = State::Head(HeadScan::default());
        }
        result.map(|part| part.map(|(part, n)| (Content::Http(part), n)))
    }

    fn decode_eof(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        let part = match &self.state {
            State::Head(_) if buf.is_empty() => return Ok(None),
            State::Head(_) => Err(FrameError::closed_mid_frame(
                "http",
                buf.len(),
                format!(
                    "the stream ended inside a message head ({} bytes, no empty line yet)",
                    buf.len()
                ),
            )),
            // The close is this body's end.
            State::UntilClose if buf.is_empty() => Ok(self.end(0, 0)),
            State::UntilClose | State::Fixed { left: 0 } => {
                return self.decode(buf, limits);
            }
            State::Fixed { .. } => Err(FrameError::closed_mid_frame(
                "http",
                buf.len(),
                format!(
                    "the stream ended after {} of the {} body bytes that Content-Length announced",
                    self.body, self.announced
                ),
            )),
            State::Chunked(_) => Err(FrameError::closed_mid_frame(
                "http",
                buf.len(),
                format!(
                    "the stream ended after {} bytes of chunk data, before the last (zero-sized) chunk and the empty line after it",
                    self.body
                ),
            )),
        };
        self.state = State::Head(HeadScan::default());
        part.map(|(part, n)| Some((Content::Http(part), n)))
    }
}

impl Http {
    /// The next head, body piece or end in `buf`, if there is one yet.
    fn next_part(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Part, usize)>, FrameError> {
        let max = limits.max_frame as u64;
        Ok(Some(match &mut self.state {
            State::Head(scan) => {
                let Some((mut head, end)) = scan.scan(self.role, buf, limits)? else {
                    return Ok(None);
                };
                head.length = self.body_state(&head, end, buf.len())?;
                (Part::Head(head), end)
            }
            State::Fixed { left: 0 } => self.end(0, 0),
            State::Fixed { left } => {
                let take = (buf.len() as u64).min(*left).min(max) as usize;
                if take == 0 {
                    return Ok(None);
                }
                *left -= take as u64;
                self.body += take as u64;
                (Part::Body(0..take), take)
            }
            State::UntilClose => {
                let take = buf.len().min(limits.max_frame);
                if take == 0 {
                    return Ok(None);
                }
                self.body += take as u64;
                (Part::Body(0..take), take)
            }
            State::Chunked(chunks) => match chunks.read(buf, limits)? {
                None => return Ok(None),
                Some(Step::Data { wire, data }) => {
                    self.body += data.len() as u64;
                    (Part::Body(data), wire)
                }
                Some(Step::Last { wire, trailers }) => self.end(wire, trailers),
            },
        }))
    }

    /// The message is complete: its end, `wire` bytes long, and a fresh
    /// head scan for the next one.
    fn end(&mut self, wire: usize, trailers: usize) -> (Part, usize) {
        self.state = State::Head(HeadScan::default());
        let body = std::mem::take(&mut self.body);
        (Part::End(End { body, trailers }), wire)
    }

    /// The head is in: how its body is delimited (RFC 9112 §6.3). `have`
    /// bytes have arrived, the head's `end` of them.
    fn body_state(
        &mut self,
        head: &Message,
        end: usize,
        have: usize,
    ) -> Result<Length, FrameError> {
        let asked = match head.start() {
            // An interim (1xx) answer comes before the final one to the
            // same request, which is still to come.
            Start::Response { code, .. } if code >= 200 => {
                self.asked.pop_front().unwrap_or(Asked::Other)
            }
            _ => Asked::Other,
        };
        let length = body_length(head, asked)?;
        let expect = head
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
        // Answered only if the body is really still to come.
        let arrived = (have - end) as u64;
        self.expects_continue = expect
            && match length {
                Length::Fixed(len) => arrived < len,
                Length::Chunked => true,
                Length::UntilClose => false,
            };
        (self.body, self.announced) = (0, 0);
        self.state = match length {
            Length::Fixed(len) => {
                self.announced = len;
                State::Fixed { left: len }
            }
            Length::Chunked => State::Chunked(Chunks::new()),
            Length::UntilClose => State::UntilClose,
        };
        Ok(length)
    }
}

#[cfg(test)]
mod tests;
