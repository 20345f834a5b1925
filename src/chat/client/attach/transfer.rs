//! One HTTP conversation of an attachment, on the chat's mio loop: a
//! second socket, connected without blocking (the loop goes on serving
//! the chat and stdin during the handshake), its request written as the
//! socket takes it, its answer cut into frames by socklab's HTTP codec
//! (a head, the body in pieces, the end).
//!
//! The loop calls [`Transfer::on_ready`] for the socket's readiness and
//! [`Transfer::on_timer`] at [`Transfer::deadline`]; either may finish the
//! transfer, with what it gave or why it failed, in words.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use mio::{Registry, Token};

use super::download::Down;
use super::upload::Up;
use super::url::HttpUrl;
use super::{Done, IDLE, Job};
use crate::framing::http::Part;
use crate::framing::{Content, FrameReader, Limits, Proto, Role, codec};
use crate::net::conn::{self, Conn, ReadFailure, ReadRound};
use crate::net::error::NetError;
use crate::net::socket::{finish_connect, start_connect};
use crate::trace::{Event, Side, Tracer};

/// A transfer's end: what it gave, or why it failed.
pub type Finished = Result<Done, String>;

pub(super) enum Way {
    Up(Up),
    Down(Down),
}

pub struct Transfer {
    pub job: Job,
    pub(super) url: HttpUrl,
    pub(super) conn: Conn,
    connected: bool,
    started: Instant,
    pub(super) reader: FrameReader,
    pub(super) way: Way,
    /// The account, for the events' `user` field.
    pub(super) user: String,
    buf: Vec<u8>,
}

impl Transfer {
    /// Starts the TCP handshake to `addr` (non-blocking) for `job`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        t: &mut Tracer,
        registry: &Registry,
        token: Token,
        id: u64,
        addr: SocketAddr,
        url: HttpUrl,
        job: Job,
        user: &str,
    ) -> Result<Transfer, String> {
        let way = match &job {
            Job::Upload { path, size, .. } => Way::Up(Up::open(path, *size)?),
            Job::Download { dir, max, .. } => Way::Down(Down::new(dir.clone(), &url, *max)),
        };
        let explain = |e: NetError| connect_failure(&e, addr);
        let mut stream = start_connect(t, Side::Client, addr, None).map_err(explain)?;
        conn::register(registry, &mut stream, token, addr).map_err(explain)?;
        Ok(Transfer {
            job,
            url,
            conn: Conn::new(id, Side::Client, token, stream, addr),
            connected: false,
            started: Instant::now(),
            reader: FrameReader::new(
                codec(Proto::Http, Default::default(), Role::Client),
                Limits::default(),
            ),
            way,
            user: user.to_string(),
            buf: vec![0; 64 * 1024],
        })
    }

    pub(super) fn narrate(&self, t: &mut Tracer, action: &str, text: &str) {
        let user = &self.user;
        t.emit(
            Side::Client,
            Some(self.conn.id),
            Event::Chat { action, user, text },
        );
    }

    pub fn conn_token(&self) -> Token {
        self.conn.token
    }

    /// When to give up if nothing moves.
    pub fn deadline(&self) -> Instant {
        match &self.way {
            Way::Down(d) if d.ended() => self.conn.last_activity + super::download::AFTER_END,
            _ => self.conn.last_activity + IDLE,
        }
    }

    /// The deadline passed.
    pub fn on_timer(&mut self) -> Option<Finished> {
        if Instant::now() < self.deadline() {
            return None;
        }
        match &mut self.way {
            Way::Down(d) if d.ended() => Some(d.keep()),
            _ => Some(Err(format!(
                "nothing moved on the HTTP connection to {} for {} s: gave up",
                self.conn.peer,
                IDLE.as_secs()
            ))),
        }
    }

    /// The socket is ready: finishes the handshake, writes, reads.
    pub fn on_ready(&mut self, t: &mut Tracer, readable: bool, writable: bool) -> Option<Finished> {
        if !self.connected {
            match finish_connect(
                t,
                Side::Client,
                &self.conn.stream,
                self.conn.peer,
                self.started,
            ) {
                Ok(Some(_)) => {
                    self.connected = true;
                    self.conn.last_activity = Instant::now();
                    self.begin(t);
                }
                Ok(None) => return None,
                Err(e) => return Some(Err(connect_failure(&e, self.conn.peer))),
            }
        }
        if let Some(done) = self.write(t, writable) {
            return Some(done);
        }
        if readable {
            return self.read(t);
        }
        None
    }

    /// Connected: the request goes out.
    fn begin(&mut self, t: &mut Tracer) {
        let (method, head) = match &self.way {
            Way::Up(up) => ("PUT", up.head(&self.url)),
            Way::Down(_) => ("GET", super::download::head(&self.url)),
        };
        self.reader.codec_mut().sent_request(method);
        let text = match &self.way {
            Way::Up(up) => up.narration(&self.url, self.conn.peer),
            Way::Down(_) => super::download::narration(&self.url, self.conn.peer),
        };
        let action = if method == "PUT" {
            "upload"
        } else {
            "download"
        };
        self.narrate(t, action, &text);
        self.conn.queue(Rc::new(head));
    }

    /// Writes what is queued, refilling an upload's chunks while the socket
    /// takes them.
    fn write(&mut self, t: &mut Tracer, _writable: bool) -> Option<Finished> {
        loop {
            if let Way::Up(up) = &mut self.way
                && let Err(why) = up.refill(&mut self.conn)
            {
                return Some(Err(why));
            }
            let before = self.conn.sent;
            if let Err(e) = self.conn.flush(t, &mut drop) {
                // The server may have answered (413) and closed before
                // taking the whole body: its answer says more than EPIPE.
                if let Some(done) = self.read(t) {
                    return Some(done);
                }
                return Some(Err(format!("writing to the file service failed: {e}")));
            }
            let more = matches!(&self.way, Way::Up(up) if !up.all_queued());
            if !more || self.conn.queued() > 0 || self.conn.sent == before {
                return None;
            }
        }
    }

    fn read(&mut self, t: &mut Tracer) -> Option<Finished> {
        loop {
            let Transfer {
                conn, reader, buf, ..
            } = self;
            let round = conn.read_round(t, buf, &mut |_, _, data| {
                reader.push(data);
                Ok(true)
            });
            if let Some(done) = self.frames(t) {
                return Some(done);
            }
            match round {
                Ok(ReadRound::MoreLater) => continue,
                Ok(ReadRound::Drained) => return None,
                Ok(ReadRound::PeerClosed) => return Some(self.peer_closed(t)),
                Err(ReadFailure::Net(e)) => {
                    return Some(Err(format!("reading from the file service failed: {e}")));
                }
                Err(ReadFailure::Deliver(_)) => return None,
            }
        }
    }

    /// Handles the whole frames that have arrived.
    fn frames(&mut self, t: &mut Tracer) -> Option<Finished> {
        loop {
            if let Way::Down(d) = &mut self.way
                && d.ended()
            {
                // Whatever follows the promised body is more than promised.
                return d.after_end(self.reader.buffered());
            }
            match self.reader.next_frame() {
                Ok(Some(frame)) => {
                    let Content::Http(part) = &frame.content else {
                        continue;
                    };
                    if let Some(done) = self.part(t, part, &frame.wire) {
                        return Some(done);
                    }
                }
                Ok(None) => return None,
                Err(e) => {
                    return Some(Err(format!(
                        "the file service's answer is not valid HTTP: {e}"
                    )));
                }
            }
        }
    }

    fn part(&mut self, t: &mut Tracer, part: &Part, wire: &[u8]) -> Option<Finished> {
        let (user, id) = (self.user.clone(), self.conn.id);
        match &mut self.way {
            Way::Up(up) => up.on_part(t, &user, id, &self.url, part, wire),
            Way::Down(d) => d.on_part(t, &user, id, &self.url, part, wire),
        }
    }

    /// The server closed the connection.
    fn peer_closed(&mut self, t: &mut Tracer) -> Finished {
        loop {
            match self.reader.finish() {
                Ok(Some(frame)) => {
                    if let Content::Http(part) = &frame.content
                        && let Some(done) = self.part(t, part, &frame.wire)
                    {
                        return done;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(match &self.way {
                        Way::Down(d) => d.cut_short(&e.to_string()),
                        Way::Up(_) => {
                            format!("the file service closed the connection mid-answer: {e}")
                        }
                    });
                }
            }
        }
        match &mut self.way {
            Way::Down(d) if d.ended() => d.keep(),
            Way::Down(d) => Err(d.cut_short("the connection closed")),
            Way::Up(_) => Err(format!(
                "the file service at {} closed the connection without answering the PUT",
                self.conn.peer
            )),
        }
    }

    /// Closes the socket (narrated: the totals), and removes what a failed
    /// download left.
    pub fn close(self, t: &mut Tracer, registry: &Registry) {
        if let Way::Down(d) = self.way {
            d.discard();
        }
        self.conn.close(t, registry);
    }
}

/// A failed connect in words, with what to do.
fn connect_failure(e: &NetError, addr: SocketAddr) -> String {
    let hint = if e.explanation().kind == "connection_refused" {
        ": nothing listens there — is the chat server running its file service (socklab chat serve, --http-port; not --no-files)?"
    } else {
        ""
    };
    format!("cannot connect to the file service at {addr}: {e}{hint}")
}
