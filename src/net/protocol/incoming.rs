//! An HTTP message arriving: its head is a frame in the narration, its body
//! goes to stdout piece by piece as the bytes come, whatever its size, and
//! its end completes the exchange (a server answers, a client may send its
//! next request).
//!
//! A download of a gigabyte is thousands of reads: the narration says how
//! far the body is at most once a second (`body: N bytes so far…`) and when
//! it is complete, not a line per read. `socklab frame`, which exists to
//! show how bytes are cut, narrates every piece instead.

use std::time::{Duration, Instant};

use crate::framing::Frame;
use crate::framing::http::{End, Length, Message, Part, Sample};
use crate::net::output::Output;
use crate::trace::text::bytes;
use crate::trace::{Event, Tracer};

use super::answer::answer;
use super::inbound::{At, Inbound, InboundError, Reply};

/// How often a body on its way is narrated.
const PROGRESS: Duration = Duration::from_secs(1);

/// The message between its head and its end.
pub(super) struct Incoming {
    head: Message,
    /// The body's size and first bytes (a form, a JSON message).
    sample: Sample,
    /// When the body was last narrated.
    told: Instant,
    /// On a terminal, a small JSON body is held back until it is whole:
    /// if it is a message, it is shown as a chat line instead.
    hold: bool,
    /// The last body byte written: on a terminal a body that did not end
    /// its line gets a newline, so the prompt does not follow it.
    last: Option<u8>,
}

impl Inbound {
    pub(super) fn http(
        &mut self,
        t: &mut Tracer,
        at: At,
        frame: &Frame,
        part: &Part,
        out: &mut Output,
        replies: &mut Vec<Reply>,
    ) -> Result<(), InboundError> {
        match part {
            Part::Head(head) => {
                self.head_arrived(t, at, frame, head, out);
                Ok(())
            }
            Part::Body(_) => self.body_piece(t, at, frame, part, out),
            Part::End(end) => self.message_ended(t, at, frame, end, out, replies),
        }
    }

    fn head_arrived(
        &mut self,
        t: &mut Tracer,
        at: At,
        frame: &Frame,
        head: &Message,
        out: &Output,
    ) {
        self.narrate(t, at, frame);
        self.assembler.push(frame);
        if head.is_response() && head.wants_close() {
            let text = "the server will close the connection after this response (HTTP/1.0, or Connection: close): requests sent after it get no answer";
            t.emit(at.0, at.1, Event::Note { text });
        }
        let kind = |what: &[u8]| {
            head.header("content-type")
                .is_some_and(|k| k.windows(what.len()).any(|w| w.eq_ignore_ascii_case(what)))
        };
        let small =
            matches!(head.body_length(), Length::Fixed(n) if n > 0 && n <= Sample::KEEP as u64);
        let hold = out.is_terminal() && kind(b"json") && small;
        // Bytes are kept only where they are read again: a form a server
        // decodes in its answer, a body held back; otherwise only counted.
        let form = self.framing.answers_requests() && kind(b"x-www-form-urlencoded");
        let keep = if hold || form { Sample::KEEP } else { 0 };
        self.incoming = Some(Incoming {
            head: head.clone(),
            sample: Sample::keeping(keep),
            told: Instant::now(),
            hold,
            last: None,
        });
    }

    fn body_piece(
        &mut self,
        t: &mut Tracer,
        at: At,
        frame: &Frame,
        part: &Part,
        out: &mut Output,
    ) -> Result<(), InboundError> {
        let data = part.body(&frame.wire).unwrap_or_default();
        self.assembler.push(frame);
        if self.every_piece {
            self.narrate(t, at, frame);
        }
        let Some(body) = self.incoming.as_mut() else {
            return out.write(data).map_err(InboundError::Output);
        };
        body.sample.push(data);
        if !self.every_piece && body.told.elapsed() >= PROGRESS {
            body.told = Instant::now();
            let n = body.sample.total();
            let text = format!("body: {} so far…", size(n));
            t.emit(at.0, at.1, Event::Note { text: &text });
        }
        if body.hold || data.is_empty() {
            return Ok(());
        }
        body.last = data.last().copied();
        out.write(data).map_err(InboundError::Output)
    }

    fn message_ended(
        &mut self,
        t: &mut Tracer,
        at: At,
        frame: &Frame,
        end: &End,
        out: &mut Output,
        replies: &mut Vec<Reply>,
    ) -> Result<(), InboundError> {
        if self.every_piece {
            self.narrate(t, at, frame);
        } else if end.body > 0 {
            let trailers = match end.trailers {
                0 => String::new(),
                n => format!(", then {n} trailer field(s)"),
            };
            let text = format!("body complete: {}{trailers}", size(end.body));
            t.emit(at.0, at.1, Event::Note { text: &text });
        }
        let message = self.recognise(t, at, frame);
        let Some(body) = self.incoming.take() else {
            return Ok(());
        };
        let shown = match &message {
            Some(m) if body.hold => format!("{}\n", m.line()).into_bytes(),
            _ if body.hold => body.sample.bytes().to_vec(),
            _ => Vec::new(),
        };
        let last = shown.last().copied().or(body.last);
        out.write(&shown).map_err(InboundError::Output)?;
        if out.is_terminal() && last.is_some_and(|b| b != b'\n') {
            out.write(b"\n").map_err(InboundError::Output)?;
        }
        if self.framing.answers_requests() {
            let reply = answer(&body.head, &body.sample);
            self.closing = reply.close;
            replies.push(reply);
        }
        let final_answer = body.head.status().is_some_and(|code| code >= 200);
        if self.http_client() && final_answer {
            let next = self.exchange.answered(t, at);
            for bytes in self.sending(next) {
                replies.push(Reply {
                    bytes,
                    close: false,
                });
            }
        }
        Ok(())
    }
}

/// `5000000 bytes (4.8 MiB)`: exact, and readable when large.
fn size(n: u64) -> String {
    match bytes(n) {
        short if n < 1024 => short,
        readable => format!("{n} bytes ({readable})"),
    }
}
