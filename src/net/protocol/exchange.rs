//! The HTTP client's side of a conversation: which typed requests go out
//! when, and when our half of the connection ends.
//!
//! HTTP/1.1 answers requests in the order they came, and a client knows
//! where each answer ends (its length, its last chunk), so it can tell when
//! everything it asked has been answered. Two rules follow:
//!
//! - a request goes out once the answer to the one before is complete,
//!   unless `--pipeline` is given. Pipelining (RFC 9112 §9.3.2) is allowed,
//!   but servers differ: Python's http.server reads one request, answers it
//!   and drops what else had arrived;
//! - when the input ends, our FIN waits until every request sent has its
//!   whole answer. Some servers stop sending the moment they see the FIN
//!   (nginx does: a half-closed client looks gone), which would cut the
//!   last answer short. With `--no-shutdown` the connection is closed then,
//!   without a FIN first.

use std::collections::VecDeque;

use crate::trace::{Event, Side, Tracer};

/// Typed requests, as they are to be sent.
#[derive(Debug)]
pub enum Piece {
    /// A request (its head, and its body if it came whole): it gets an
    /// answer.
    Request { method: String, bytes: Vec<u8> },
    /// More of the body of the request before it, as it was typed.
    More(Vec<u8>),
}

impl Piece {
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Piece::Request { bytes, .. } | Piece::More(bytes) => bytes,
        }
    }

    fn len(&self) -> usize {
        match self {
            Piece::Request { bytes, .. } | Piece::More(bytes) => bytes.len(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Exchange {
    pipeline: bool,
    /// Typed, not yet sent.
    waiting: VecDeque<Piece>,
    held: usize,
    /// Sent, and not yet answered in full.
    outstanding: usize,
    /// Requests sent so far, to number them in the narration.
    sent: u64,
    /// Our input ended: with FIN to follow, or not (`--no-shutdown`).
    ended: Option<bool>,
    /// What our half of the connection is to do now, told once.
    finish: Option<bool>,
    /// Nothing more will be sent.
    over: bool,
    /// The waiting rule was explained.
    told: bool,
}

type At = (Side, Option<u64>);

impl Exchange {
    pub fn new(pipeline: bool) -> Exchange {
        Exchange {
            pipeline,
            ..Exchange::default()
        }
    }

    /// Bytes typed and not sent yet.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Requests typed: adds them to the line, and gives back those that
    /// may go now.
    pub fn submit(&mut self, t: &mut Tracer, at: At, pieces: Vec<Piece>) -> Vec<Piece> {
        if self.over {
            let text = "a request typed after the server closed the connection is not sent";
            t.emit(at.0, at.1, Event::Note { text });
            return Vec::new();
        }
        for piece in pieces {
            self.held += piece.len();
            self.waiting.push_back(piece);
        }
        self.release(t, at)
    }

    /// What may go now: everything with `--pipeline`; otherwise up to the
    /// next request that would have to wait for an answer.
    fn release(&mut self, t: &mut Tracer, at: At) -> Vec<Piece> {
        let mut out = Vec::new();
        while let Some(piece) = self.waiting.front() {
            if let Piece::Request { method, .. } = piece {
                let method = method.clone();
                if self.outstanding > 0 && !self.pipeline {
                    self.explain_wait(t, at, &method);
                    break;
                }
                self.outstanding += 1;
                self.sent += 1;
                if self.outstanding > 1 {
                    let text = format!(
                        "--pipeline: request {} goes out before the answer to the one before it (RFC 9112 §9.3.2); the answers come back in order",
                        self.sent
                    );
                    t.emit(at.0, at.1, Event::Note { text: &text });
                } else if self.sent > 1 && !self.pipeline {
                    let text = format!(
                        "the answer before it is complete: sending request {} ({method})",
                        self.sent
                    );
                    t.emit(at.0, at.1, Event::Note { text: &text });
                }
            }
            if let Some(piece) = self.waiting.pop_front() {
                self.held -= piece.len();
                out.push(piece);
            }
        }
        out
    }

    fn explain_wait(&mut self, t: &mut Tracer, at: At, method: &str) {
        if std::mem::replace(&mut self.told, true) {
            return;
        }
        let text = format!(
            "request {} ({method}) waits until the answer to request {} is complete: HTTP/1.1 answers in order, and some servers (Python's http.server) read one request at a time and drop what came early; --pipeline sends without waiting",
            self.sent + 1,
            self.sent
        );
        t.emit(at.0, at.1, Event::Note { text: &text });
    }

    /// A final answer (not a 1xx) is complete: the next request may go.
    pub fn answered(&mut self, t: &mut Tracer, at: At) -> Vec<Piece> {
        self.outstanding = self.outstanding.saturating_sub(1);
        let out = self.release(t, at);
        self.maybe_over(t, at);
        out
    }

    /// Our input ended: `Some(fin)` if our half can finish now, `None` if
    /// it waits for answers (it is then told by [`Exchange::take_finish`]).
    pub fn input_ended(&mut self, t: &mut Tracer, at: At, fin: bool) -> Option<bool> {
        self.ended = Some(fin);
        if self.over {
            return Some(fin);
        }
        self.maybe_over(t, at);
        self.finish.take()
    }

    fn maybe_over(&mut self, t: &mut Tracer, at: At) {
        let Some(fin) = self.ended else {
            return;
        };
        if self.over || self.outstanding > 0 || !self.waiting.is_empty() {
            return;
        }
        self.over = true;
        self.finish = Some(fin);
        if self.sent > 0 {
            let text = if fin {
                "every request has its whole answer and the input ended: now our FIN"
            } else {
                "every request has its whole answer and the input ended: closing the connection (--no-shutdown: no FIN before it)"
            };
            t.emit(at.0, at.1, Event::Note { text });
        }
    }

    /// The server closed: requests still waiting will never be answered.
    pub fn peer_closed(&mut self, t: &mut Tracer, at: At) {
        if self.over {
            return;
        }
        self.over = true;
        let waiting = self
            .waiting
            .iter()
            .filter(|p| matches!(p, Piece::Request { .. }))
            .count();
        if waiting > 0 {
            let text = format!(
                "the server closed the connection: {waiting} typed request(s) not sent (a new connection would be needed)"
            );
            t.emit(at.0, at.1, Event::Note { text: &text });
        }
        self.waiting.clear();
        self.held = 0;
        // Our half ends too: nothing sent now could be answered.
        self.finish = Some(true);
    }

    /// What our half of the connection is to do, once decided.
    pub fn take_finish(&mut self) -> Option<bool> {
        self.finish.take()
    }

    /// The exchange is over and our half is to close without a FIN.
    pub fn closes_without_fin(&self) -> bool {
        self.over && self.ended == Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Tracer;

    fn get(path: &str) -> Piece {
        Piece::Request {
            method: "GET".into(),
            bytes: format!("GET {path} HTTP/1.1\r\n\r\n").into_bytes(),
        }
    }

    const AT: At = (Side::Client, Some(1));

    #[test]
    fn one_request_at_a_time_and_fin_after_the_last_answer() {
        let mut t = Tracer::silent();
        let mut x = Exchange::new(false);
        assert_eq!(x.submit(&mut t, AT, vec![get("/a"), get("/b")]).len(), 1);
        assert!(x.held() > 0);
        assert_eq!(x.input_ended(&mut t, AT, true), None, "an answer is due");
        assert_eq!(x.answered(&mut t, AT).len(), 1, "now /b");
        assert_eq!(x.take_finish(), None);
        assert!(x.answered(&mut t, AT).is_empty());
        assert_eq!(x.take_finish(), Some(true));
        assert!(!x.closes_without_fin());
    }

    #[test]
    fn pipelining_sends_everything_at_once() {
        let mut t = Tracer::silent();
        let mut x = Exchange::new(true);
        assert_eq!(x.submit(&mut t, AT, vec![get("/a"), get("/b")]).len(), 2);
        assert_eq!(x.held(), 0);
    }

    #[test]
    fn a_body_typed_later_follows_its_request_at_once() {
        let mut t = Tracer::silent();
        let mut x = Exchange::new(false);
        assert_eq!(x.submit(&mut t, AT, vec![get("/a")]).len(), 1);
        assert_eq!(
            x.submit(&mut t, AT, vec![Piece::More(b"body".to_vec())])
                .len(),
            1
        );
    }

    #[test]
    fn no_fin_means_a_close_once_answered() {
        let mut t = Tracer::silent();
        let mut x = Exchange::new(false);
        x.submit(&mut t, AT, vec![get("/a")]);
        assert_eq!(x.input_ended(&mut t, AT, false), None);
        x.answered(&mut t, AT);
        assert_eq!(x.take_finish(), Some(false));
        assert!(x.closes_without_fin());
    }

    #[test]
    fn a_server_that_closes_ends_the_exchange() {
        let mut t = Tracer::silent();
        let mut x = Exchange::new(false);
        x.submit(&mut t, AT, vec![get("/a"), get("/b")]);
        x.peer_closed(&mut t, AT);
        assert_eq!(x.held(), 0);
        assert_eq!(x.take_finish(), Some(true));
        assert!(x.submit(&mut t, AT, vec![get("/c")]).is_empty());
    }
}
