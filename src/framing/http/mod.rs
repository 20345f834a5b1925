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
//! - [`message`]: what a frame holds, and the messages socklab builds.
//!
//! Every part remembers how far it has read, so a message trickling in byte
//! by byte costs linear time, and the frames and errors are the same
//! however the bytes were cut into reads.

use std::collections::VecDeque;

mod chunked;
mod head;
mod length;
mod message;

pub use message::{Message, Start, request, response, response_head};

use super::{Codec, Content, FrameError, Limits, Role};
use chunked::Chunks;
use head::HeadScan;
use length::{Asked, Length, body_length};
use message::Span;

enum State {
    /// Reading the head, up to its empty line.
    Head(HeadScan),
    /// Head parsed; the body follows it and the message ends at `end`.
    Body { head: Message, end: usize },
    /// Head parsed; chunks are being read.
    Chunked { head: Message, chunks: Chunks },
    /// A response with no length: the body runs until the connection closes.
    UntilClose { head: Message, body_start: usize },
}

pub struct Http {
    role: Role,
    state: State,
    /// For a client: the requests sent and not yet answered.
    asked: VecDeque<Asked>,
    /// A request asked `Expect: 100-continue` and waits for its answer.
    expects_continue: bool,
}

impl Http {
    pub fn new(role: Role) -> Http {
        Http {
            role,
            state: State::Head(HeadScan::default()),
            asked: VecDeque::new(),
            expects_continue: false,
        }
    }
}

/// A token character (RFC 9110 §5.6.2): what names and methods are made of.
fn is_tchar(b: u8) -> bool {
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
        // The state is taken out and put back while the message is
        // unfinished; an error leaves a fresh head scan behind.
        loop {
            self.state = match self.next_message() {
                State::Head(mut scan) => match scan.scan(self.role, buf, limits)? {
                    Some((head, end)) => self.body_state(head, end, buf.len(), limits)?,
                    None => {
                        self.state = State::Head(scan);
                        return Ok(None);
                    }
                },
                State::Body { mut head, end } if end <= buf.len() => {
                    head.body = buf[head_len(&head)..end].to_vec();
                    return Ok(Some((Content::Http(head), end)));
                }
                State::Chunked {
                    mut head,
                    mut chunks,
                } => match chunks.read(buf, limits, &mut head.body)? {
                    Some(end) => return Ok(Some((Content::Http(head), end))),
                    None => {
                        self.state = State::Chunked { head, chunks };
                        return Ok(None);
                    }
                },
                waiting @ (State::Body { .. } | State::UntilClose { .. }) => {
                    self.state = waiting;
                    return Ok(None);
                }
            };
        }
    }

    fn decode_eof(
        &mut self,
        buf: &[u8],
        _: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        match self.next_message() {
            State::UntilClose {
                mut head,
                body_start,
            } => {
                head.body = buf.get(body_start..).unwrap_or_default().to_vec();
                Ok(Some((Content::Http(head), buf.len())))
            }
            State::Head(_) if buf.is_empty() => Ok(None),
            State::Head(_) => Err(FrameError::closed_mid_frame(
                "http",
                buf.len(),
                format!(
                    "the stream ended inside a message head ({} bytes, no empty line yet)",
                    buf.len()
                ),
            )),
            State::Body { head, end } => {
                let start = head_len(&head);
                Err(FrameError::closed_mid_frame(
                    "http",
                    buf.len(),
                    format!(
                        "the stream ended after {} of the {} body bytes that Content-Length announced",
                        buf.len().saturating_sub(start),
                        end - start
                    ),
                ))
            }
            State::Chunked { .. } => Err(FrameError::closed_mid_frame(
                "http",
                buf.len(),
                "the stream ended before the last (zero-sized) chunk and the empty line after it",
            )),
        }
    }
}

/// The length of a parsed head, which is where its body starts.
fn head_len(m: &Message) -> usize {
    m.head.len()
}

impl Http {
    /// Ends the current message: the state it was in, and a fresh head scan.
    fn next_message(&mut self) -> State {
        std::mem::replace(&mut self.state, State::Head(HeadScan::default()))
    }

    /// The head is in: how its body is delimited (RFC 9112 §6.3).
    fn body_state(
        &mut self,
        head: Message,
        end: usize,
        have: usize,
        limits: &Limits,
    ) -> Result<State, FrameError> {
        let asked = match head.start() {
            // An interim (1xx) answer comes before the final one to the
            // same request, which is still to come.
            Start::Response { code, .. } if code >= 200 => {
                self.asked.pop_front().unwrap_or(Asked::Other)
            }
            _ => Asked::Other,
        };
        let length = body_length(&head, asked, end, limits)?;
        let expect = head
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
        // Answered only if the body is really still to come.
        self.expects_continue = expect
            && match length {
                Length::Fixed(len) => have < end + len,
                Length::Chunked => true,
                Length::UntilClose => false,
            };
        Ok(match length {
            Length::Fixed(len) => State::Body {
                head,
                end: end + len,
            },
            Length::Chunked => State::Chunked {
                head: Message {
                    chunked: true,
                    ..head
                },
                chunks: Chunks::new(end),
            },
            Length::UntilClose => State::UntilClose {
                head,
                body_start: end,
            },
        })
    }
}

#[cfg(test)]
mod tests;
