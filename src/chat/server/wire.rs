//! What one connection of the chat server is: the protocol it speaks
//! (chosen by its first byte, or HTTP on the file service's port), the
//! frame reader for it, and the state the loop keeps beside it.

use std::rc::Rc;
use std::time::Instant;

use super::SessionId;
use crate::chat::files::http::FileConn;
use crate::chat::json::JsonSession;
use crate::chat::xmpp::XmppStream;
use crate::framing::{FrameError, FrameReader, JsonFraming, Limits, Proto, Role, codec};
use crate::net::conn::Conn;
use crate::trace::{Event, Side, Tracer};

pub(super) enum Wire {
    /// Nothing but whitespace has arrived yet.
    Unknown,
    Xmpp(XmppStream, FrameReader),
    Json(JsonSession, FrameReader),
    /// The file service: HTTP, requests in, files out.
    Files(FileConn, FrameReader),
}

impl Wire {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Wire::Unknown => "unknown",
            Wire::Xmpp(..) => "xmpp",
            Wire::Json(..) => "json",
            Wire::Files(..) => "http",
        }
    }

    /// A file-service connection: HTTP from its first byte.
    pub(super) fn files(limits: Limits) -> Wire {
        let limits = Limits {
            max_frame: 64 * 1024,
            ..limits
        };
        let reader = FrameReader::new(
            codec(Proto::Http, JsonFraming::Newline, Role::Server),
            limits,
        );
        Wire::Files(FileConn::default(), reader)
    }
}

pub(super) struct Client {
    pub(super) conn: Conn,
    pub(super) wire: Wire,
    pub(super) frames: u64,
    /// Reading waits until then (a failed login's delay), and these bytes
    /// go out at that time.
    pub(super) paused: Option<(Instant, Vec<u8>)>,
    /// A password check is running on a worker: frames wait for it.
    pub(super) checking: bool,
    /// We are closing: FIN sent or about to be, the rest is discarded.
    pub(super) closing: Option<Instant>,
    /// The peer sent FIN: what it sent before is still handled (a login
    /// being checked, the frames behind it), then we close.
    pub(super) eof: bool,
    /// The login deadline; `None` once logged in.
    pub(super) login_by: Option<Instant>,
    /// Queued in `Server::dirty`.
    pub(super) dirty: bool,
}

/// On a connection's first bytes, picks the protocol from the first byte
/// that is not whitespace. Returns where that byte is in `data`, or `None`
/// while the protocol is still unknown (or refused).
pub(super) fn choose(
    conn: &mut Conn,
    t: &mut Tracer,
    wire: &mut Wire,
    data: &[u8],
    limits: Limits,
) -> Option<usize> {
    if !matches!(wire, Wire::Unknown) {
        return Some(0);
    }
    let at = data.iter().position(|b| !b.is_ascii_whitespace())?;
    let (name, why) = match data[at] {
        b'<' => {
            let reader = FrameReader::new(
                codec(Proto::Xml, JsonFraming::Newline, Role::Server),
                limits,
            );
            *wire = Wire::Xmpp(XmppStream::default(), reader);
            (
                "xmpp",
                "its first byte is '<': this client speaks XMPP, XML stanzas on a stream",
            )
        }
        b'{' => {
            let reader = FrameReader::new(
                codec(Proto::Json, JsonFraming::Newline, Role::Server),
                limits,
            );
            *wire = Wire::Json(JsonSession::default(), reader);
            (
                "json",
                "its first byte is '{': this client speaks the JSON protocol, one object per line",
            )
        }
        other => {
            let text = format!(
                "its first byte is {:?}, neither '<' (XMPP) nor '{{' (JSON): answering with how to talk to this server, then closing",
                other as char
            );
            t.emit(
                Side::Server,
                Some(conn.id),
                Event::Chat {
                    action: "protocol",
                    user: "",
                    text: &text,
                },
            );
            conn.queue(Rc::new(REFUSAL.as_bytes().to_vec()));
            conn.finish_sending(true);
            return None;
        }
    };
    t.emit(
        Side::Server,
        Some(conn.id),
        Event::Chat {
            action: "protocol",
            user: name,
            text: why,
        },
    );
    Some(at)
}

/// What a client that speaks neither protocol is told.
const REFUSAL: &str = "This is socklab's chat server. Speak XMPP (start with <stream:stream to='localhost' ...>) or the JSON protocol, one object per line:\n{\"type\":\"login\",\"user\":\"alice\",\"password\":\"...\"}\n";

pub(super) fn narrate_frame(
    t: &mut Tracer,
    id: SessionId,
    number: u64,
    frame: &crate::framing::Frame,
) {
    crate::chat::redact::narrate_frame(t, Side::Server, Some(id), number, frame);
}

pub(super) fn emit_error(t: &mut Tracer, id: SessionId, e: &FrameError) {
    crate::net::protocol::emit_frame_error(t, Side::Server, Some(id), e);
}
