//! A protocol on a live stream: frames cut from what arrives, and what the
//! user types turned into the protocol's wire bytes.
//!
//! [`Inbound`] sits behind each connection's reads: every read goes into a
//! [`FrameReader`](crate::framing::FrameReader), and each frame cut out is narrated (`frame #1 (27 bytes)`),
//! recognised as an instant message when it is one, and written to stdout.
//! As an HTTP server it answers each request, keep-alive included. A bad frame
//! is narrated with a caret under the offending byte; json steps over it,
//! the other formats cannot find their boundaries again and stop.
//!
//! [`Outbound`] sits between stdin and the connections: with json, each line
//! must be an object and is framed as typed (newline or length prefix); with
//! http, a line like `GET /` or `POST /login a=1` becomes a complete request,
//! and `GET /x HTTP/1.1` starts a head typed line by line ([`typed`]); with
//! `--from`/`--to`, each line is a message's body. raw, lines and xml pass
//! what is typed through unchanged. An HTTP client sends each request when
//! the answer before it is complete, and its FIN when every answer is in
//! ([`exchange`]).

mod answer;
mod exchange;
mod head;
mod inbound;
mod incoming;
mod outbound;
mod typed;

pub use exchange::Piece;
pub use inbound::{Inbound, InboundError, Reply};
pub use outbound::{Encoded, Outbound};

use crate::cli::{FramingArgs, HttpClientArgs, StreamArgs};
use crate::exit::UsageError;
use crate::framing::http::Field;
use crate::framing::{FrameError, JsonFraming, Limits, Proto, Role};
use crate::trace::explain::explain_frame;
use crate::trace::{Event, Side, Tracer};

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
    /// An HTTP client's options.
    pub client: Client,
}

/// How an HTTP client sends what is typed.
#[derive(Clone, Debug, Default)]
pub struct Client {
    /// `-H`: header fields added to the short form `GET /path`.
    pub headers: Vec<Field>,
    /// `--pipeline`: send each request without waiting for the answer to
    /// the one before.
    pub pipeline: bool,
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
        if sender.is_some() && matches!(proto, Proto::Raw | Proto::Lines | Proto::Telnet) {
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
            client: Client::default(),
        }))
    }

    /// [`Framing::from_args`] for a connection, where nc's `-t` is another
    /// way to say `--proto telnet`.
    pub fn from_stream(
        args: &FramingArgs,
        stream: &StreamArgs,
        role: Role,
        host: impl Into<String>,
    ) -> Result<Option<Framing>, UsageError> {
        if !stream.telnet {
            return Framing::from_args(args, role, host);
        }
        match args.proto {
            None | Some(Proto::Telnet) => {}
            Some(other) => {
                return Err(UsageError::new(format!(
                    "-t answers telnet negotiation, which is --proto telnet; it cannot go with --proto {}",
                    other.name()
                )));
            }
        }
        let args = FramingArgs {
            proto: Some(Proto::Telnet),
            ..args.clone()
        };
        Framing::from_args(&args, role, host)
    }

    /// `connect`'s HTTP client options, which only mean something with
    /// `--proto http`.
    pub fn client_args(
        framing: Option<Framing>,
        args: &HttpClientArgs,
    ) -> Result<Option<Framing>, UsageError> {
        let given = !args.header.is_empty() || args.pipeline;
        match framing {
            Some(mut f) if f.proto == Proto::Http => {
                f.client = Client {
                    headers: args.header.clone(),
                    pipeline: args.pipeline,
                };
                Ok(Some(f))
            }
            _ if given => Err(UsageError::new(
                "-H and --pipeline shape the HTTP requests you type: add --proto http",
            )),
            other => Ok(other),
        }
    }

    /// An HTTP server answers requests itself instead of reading stdin.
    pub fn answers_requests(&self) -> bool {
        self.proto == Proto::Http && self.role == Role::Server
    }

    pub fn inbound(&self) -> Inbound {
        Inbound::new(self.clone())
    }

    pub fn outbound(&self) -> Outbound {
        Outbound::new(self.clone())
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
            message: (&message).into(),
            why: &why,
            next: &next,
            errno: None,
            pointer: (!pointer.is_empty()).then_some((&pointer).into()),
        },
    );
}
