//! Framing: how a protocol draws message boundaries on a TCP byte stream.
//!
//! A TCP stream has no boundaries of its own: one `read()` may hold half a
//! message or three of them. A protocol says where each message ends, and this
//! module cuts frames out of the bytes as they arrive.
//!
//! - [`Codec`]: one narrow trait, a file per format — [`raw`], [`lines`],
//!   [`http`], [`xml`], [`json`], [`telnet`]. A codec sees `&[u8]`, never a socket. Its
//!   contract (mini-redis's): `Ok(None)` means "need more bytes" and is not an
//!   error; `Err` is only for bytes that can never become a frame.
//! - [`FrameReader`]: owns the buffer, feeds the codec, enforces the size
//!   limit, and turns codec errors into messages that show the offending
//!   bytes with a caret under the position.
//! - [`message`]: the `{from, to, body}` view shared by json, xml and http.

pub mod http;
pub mod json;
pub mod lines;
pub mod message;
pub mod raw;
pub mod reader;
pub mod summary;
pub mod telnet;
pub mod xml;

use std::fmt;

pub use reader::FrameReader;

/// The protocols socklab can frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Proto {
    /// No framing: each read is shown as it came
    Raw,
    /// Text lines ending in LF or CR LF
    Lines,
    /// HTTP/1.1 messages: start line, headers, body by Content-Length or chunked
    Http,
    /// XML stanzas: each top-level element, or each child of <stream:stream>
    Xml,
    /// JSON objects, one per line or with a 4-byte length prefix
    Json,
    /// Telnet (RFC 854): commands named and refused, lines of data passed on
    Telnet,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Raw => "raw",
            Proto::Lines => "lines",
            Proto::Http => "http",
            Proto::Xml => "xml",
            Proto::Json => "json",
            Proto::Telnet => "telnet",
        }
    }
}

/// The two classic ways to delimit JSON messages on a stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum JsonFraming {
    /// One object per line (NDJSON)
    #[default]
    Newline,
    /// A 4-byte big-endian length, then that many bytes of JSON
    Length,
}

/// Which HTTP messages a side decodes: a server reads requests, a client
/// reads responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

/// Bounds on what a peer can make us buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame, in bytes (`--max-frame`).
    pub max_frame: usize,
    /// Most HTTP header fields (`--max-headers`).
    pub max_headers: usize,
    /// Largest HTTP header section, in bytes (`--max-header-bytes`).
    pub max_header_bytes: usize,
    /// Deepest XML element nesting (`--max-depth`).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_frame: 1 << 20,
            max_headers: 64,
            max_header_bytes: 16 * 1024,
            max_depth: 32,
        }
    }
}

/// One frame: its exact bytes on the wire and what they mean.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub wire: Vec<u8>,
    pub content: Content,
}

/// The decoded form of a frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// `raw`: bytes as they came.
    Bytes,
    /// `lines`: a line; its text is the wire bytes without the ending
    /// ([`Frame::line`]).
    Line { end: LineEnd },
    /// `json`: one object: its parsed view and where its text is.
    Json(json::Object),
    /// `http`: a message's head, a piece of its body, or its end.
    Http(http::Part),
    /// `xml`: one stanza, or the opening or closing of a stream.
    Xml(xml::Stanza),
    /// `telnet`: a run of data, or a command.
    Telnet(telnet::Item),
}

/// How a line ended on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnd {
    Lf,
    CrLf,
    /// The stream ended first: the last line had no line ending.
    Eof,
}

impl Frame {
    /// For a line: its text, without LF or CR LF.
    pub fn line(&self) -> &[u8] {
        let w = &self.wire;
        match self.content {
            Content::Line { end: LineEnd::Lf } => w.strip_suffix(b"\n").unwrap_or(w),
            Content::Line { end: LineEnd::CrLf } => w.strip_suffix(b"\r\n").unwrap_or(w),
            _ => w,
        }
    }

    /// A one-line description for the narration.
    pub fn summary(&self) -> String {
        match &self.content {
            Content::Bytes => crate::trace::escape::preview(&self.wire, 60),
            Content::Line { end } => {
                let text = self.line();
                let end = match end {
                    LineEnd::Lf => "ended by LF",
                    LineEnd::CrLf => "ended by CR LF",
                    LineEnd::Eof => "no line ending: the stream ended",
                };
                format!("{} ({end})", crate::trace::escape::preview(text, 60))
            }
            Content::Json(o) => summary::json(o, &self.wire),
            Content::Http(part) => part.summary(&self.wire),
            Content::Xml(s) => s.summary(),
            Content::Telnet(item) => item.summary(),
        }
    }

    /// What goes to stdout for this frame: the data, in a form a script can
    /// read. Raw bytes and lines go out exactly as they came (CR LF kept, a
    /// last line without an ending left without one), so `--proto lines`
    /// is a faithful pipe; a JSON object as it was sent, on a line of its
    /// own; a stanza on a line of its own; an HTTP body's data as it comes
    /// (chunked framing removed), and nothing for heads and ends.
    pub fn output(&self) -> Vec<u8> {
        match &self.content {
            Content::Bytes | Content::Line { .. } => self.wire.clone(),
            Content::Json(o) => o.output(&self.wire),
            Content::Http(part) => part.body(&self.wire).unwrap_or_default().to_vec(),
            Content::Xml(_) => {
                let trimmed = self.wire.trim_ascii();
                [trimmed, b"\n"].concat()
            }
            Content::Telnet(item) => item.output(),
        }
    }
}

/// Why bytes can never become a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The bytes break the protocol's grammar.
    Malformed,
    /// The frame would be larger than a limit.
    TooLarge,
    /// The stream ended inside a frame.
    PeerClosedMidFrame,
}

impl ErrorKind {
    /// Stable identifier (JSON `kind` of the error event).
    pub fn id(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed_frame",
            ErrorKind::TooLarge => "frame_too_large",
            ErrorKind::PeerClosedMidFrame => "peer_closed_mid_frame",
        }
    }
}

/// A framing error. Codecs fill in what and where; the [`FrameReader`],
/// which owns the bytes, adds the context shown under the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    pub kind: ErrorKind,
    pub proto: &'static str,
    /// What was wrong and what was expected, in plain words.
    pub detail: String,
    /// Byte offset of the problem, from the start of the frame.
    pub at: usize,
    /// For formats that can resynchronise (a bad JSON line): how many bytes
    /// to drop to reach the next frame. `None`: the stream cannot go on.
    pub skip: Option<usize>,
    /// The bytes around `at`, and the caret's position in them.
    pub context: Vec<u8>,
    pub caret: usize,
    /// For HTTP: the status a server answers with (400, 413, 431, 501).
    /// `None`: 413 when too large, else 400.
    pub http_status: Option<u16>,
}

impl FrameError {
    pub fn malformed(proto: &'static str, at: usize, detail: impl Into<String>) -> FrameError {
        FrameError::new(ErrorKind::Malformed, proto, at, detail)
    }

    pub fn too_large(proto: &'static str, detail: impl Into<String>) -> FrameError {
        FrameError::new(ErrorKind::TooLarge, proto, 0, detail)
    }

    pub fn closed_mid_frame(
        proto: &'static str,
        at: usize,
        detail: impl Into<String>,
    ) -> FrameError {
        FrameError::new(ErrorKind::PeerClosedMidFrame, proto, at, detail)
    }

    fn new(
        kind: ErrorKind,
        proto: &'static str,
        at: usize,
        detail: impl Into<String>,
    ) -> FrameError {
        FrameError {
            kind,
            proto,
            detail: detail.into(),
            at,
            skip: None,
            context: Vec::new(),
            caret: 0,
            http_status: None,
        }
    }

    /// The HTTP status a server should answer this error with.
    pub fn answer_with(mut self, status: u16) -> FrameError {
        self.http_status = Some(status);
        self
    }

    /// Marks the error as one the stream can step over.
    pub fn skipping(mut self, bytes: usize) -> FrameError {
        self.skip = Some(bytes);
        self
    }

    /// The offending bytes on one line and a caret under the position.
    pub fn pointer(&self) -> String {
        if self.context.is_empty() {
            return String::new();
        }
        let before = crate::trace::escape::preview(
            &self.context[..self.caret.min(self.context.len())],
            usize::MAX,
        );
        let all = crate::trace::escape::preview(&self.context, usize::MAX);
        // The preview is quoted: the caret goes under the first character
        // after the quote and everything before the position, counted in
        // terminal columns (a Chinese character takes two).
        let col = crate::trace::wrap::columns(&before).saturating_sub(1);
        format!("{all}\n{}^", " ".repeat(col))
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::Malformed => "malformed",
            ErrorKind::TooLarge => "oversized",
            ErrorKind::PeerClosedMidFrame => "unfinished",
        };
        write!(f, "{what} {} frame: {}", self.proto, self.detail)
    }
}

impl std::error::Error for FrameError {}

/// A codec: cuts frames off the front of a buffer.
pub trait Codec {
    fn proto(&self) -> &'static str;

    /// Tries to cut one frame off the front of `buf`. `Ok(None)`: not yet a
    /// whole frame. A codec may remember how far it has looked, so that
    /// feeding a stream one byte at a time stays linear; it forgets when it
    /// returns a frame.
    fn decode(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError>;

    /// The stream ended with `buf` left over. Default: leftover bytes are an
    /// unfinished frame.
    fn decode_eof(
        &mut self,
        buf: &[u8],
        _limits: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        if buf.is_empty() {
            Ok(None)
        } else {
            Err(FrameError::closed_mid_frame(
                self.proto(),
                buf.len(),
                format!(
                    "the stream ended after {} bytes of a frame that never finished",
                    buf.len()
                ),
            ))
        }
    }

    /// The reader holds no bytes and is letting its memory go: a codec
    /// that keeps state between frames may shrink it too.
    fn idle(&mut self) {}

    /// Told that we sent an HTTP request with this method (so a client knows
    /// that the answer to HEAD has no body). Other codecs ignore it.
    fn sent_request(&mut self, _method: &str) {}

    /// Whether a request head just asked `Expect: 100-continue` and its body
    /// has not come yet: the server should answer `100 Continue` now, or the
    /// client waits (curl, a full second). True once per request.
    fn wants_continue(&mut self) -> bool {
        false
    }
}

/// The codec for a protocol.
pub fn codec(proto: Proto, json: JsonFraming, role: Role) -> Box<dyn Codec> {
    match proto {
        Proto::Raw => Box::new(raw::Raw),
        Proto::Lines => Box::new(lines::Lines::default()),
        Proto::Http => Box::new(http::Http::new(role)),
        Proto::Xml => Box::new(xml::Xml::default()),
        Proto::Json => Box::new(json::Json::new(json)),
        Proto::Telnet => Box::new(telnet::Telnet::default()),
    }
}

/// Test helpers shared by the codec tests: feed a stream in every way.
#[cfg(test)]
pub mod testing {
    use super::*;

    /// Decodes `input` fed in pieces of `chunk` bytes; returns the frames
    /// and the error that stopped it, if any.
    pub fn decode_chunked(
        mut reader: FrameReader,
        input: &[u8],
        chunk: usize,
    ) -> (Vec<Frame>, Option<FrameError>) {
        let mut frames = Vec::new();
        for piece in input.chunks(chunk.max(1)) {
            reader.push(piece);
            loop {
                match reader.next_frame() {
                    Ok(Some(f)) => frames.push(f),
                    Ok(None) => break,
                    Err(e) => return (frames, Some(e)),
                }
            }
        }
        loop {
            match reader.finish() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => return (frames, None),
                Err(e) => return (frames, Some(e)),
            }
        }
    }

    /// A frame, or the consecutive pieces of one HTTP body joined: where a
    /// body is cut follows the reads, what it holds does not.
    #[derive(Debug, PartialEq)]
    pub enum Cut {
        Frame(Frame),
        Body { wire: Vec<u8>, data: Vec<u8> },
    }

    pub fn joined(frames: &[Frame]) -> Vec<Cut> {
        let mut cuts = Vec::new();
        for f in frames {
            let Content::Http(part @ http::Part::Body(_)) = &f.content else {
                cuts.push(Cut::Frame(f.clone()));
                continue;
            };
            let data = part.body(&f.wire).unwrap_or_default();
            match cuts.last_mut() {
                Some(Cut::Body { wire, data: d }) => {
                    wire.extend_from_slice(&f.wire);
                    d.extend_from_slice(data);
                }
                _ => cuts.push(Cut::Body {
                    wire: f.wire.clone(),
                    data: data.to_vec(),
                }),
            }
        }
        cuts
    }

    /// Asserts that every chunk size and every single split point give the
    /// same frames as feeding the whole input at once (HTTP body pieces
    /// joined).
    pub fn assert_any_split_same(make: impl Fn() -> FrameReader, input: &[u8]) -> Vec<Frame> {
        let (whole, err) = decode_chunked(make(), input, input.len());
        assert!(err.is_none(), "whole input failed: {err:?}");
        let expected = joined(&whole);
        for chunk in [1, 2, 3, 7] {
            let (frames, err) = decode_chunked(make(), input, chunk);
            assert!(err.is_none(), "chunk {chunk}: {err:?}");
            assert_eq!(joined(&frames), expected, "chunk size {chunk}");
        }
        for cut in 0..=input.len() {
            let mut r = make();
            let mut frames = Vec::new();
            for piece in [&input[..cut], &input[cut..]] {
                r.push(piece);
                while let Some(f) = r
                    .next_frame()
                    .unwrap_or_else(|e| panic!("split at {cut}: {e}"))
                {
                    frames.push(f);
                }
            }
            while let Some(f) = r
                .finish()
                .unwrap_or_else(|e| panic!("split at {cut}, eof: {e}"))
            {
                frames.push(f);
            }
            assert_eq!(joined(&frames), expected, "split at byte {cut}");
        }
        whole
    }
}
