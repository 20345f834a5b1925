//! An HTTP message as socklab keeps it: the head as it arrived, once, with
//! the start line's parts and the header fields as spans into it, plus the
//! decoded body; and the two builders socklab sends (a request completed from
//! `GET /path`, a response with its length).

use crate::framing::summary::clipped;

pub(super) type Span = std::ops::Range<usize>;

/// A parsed request or response. The head is kept as it arrived, once, and
/// the start line's parts and the header fields are spans into it: parsing
/// a message allocates three times, not once per header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub(super) head: Vec<u8>,
    pub(super) start: StartSpans,
    pub(super) headers: Vec<(Span, Span)>,
    /// The body, with chunked transfer coding removed.
    pub body: Vec<u8>,
    pub chunked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum StartSpans {
    Request {
        method: Span,
        target: Span,
        minor: u8,
    },
    Response {
        minor: u8,
        code: u16,
        reason: Span,
    },
}

/// The start line of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start<'a> {
    Request {
        method: &'a str,
        target: &'a str,
        minor: u8,
    },
    Response {
        minor: u8,
        code: u16,
        reason: &'a str,
    },
}

impl Message {
    fn text(&self, span: &Span) -> &str {
        // httparse checked these parts are tokens or header text.
        std::str::from_utf8(&self.head[span.clone()]).unwrap_or_default()
    }

    pub fn start(&self) -> Start<'_> {
        match &self.start {
            StartSpans::Request {
                method,
                target,
                minor,
            } => Start::Request {
                method: self.text(method),
                target: self.text(target),
                minor: *minor,
            },
            StartSpans::Response {
                minor,
                code,
                reason,
            } => Start::Response {
                minor: *minor,
                code: *code,
                reason: self.text(reason),
            },
        }
    }

    pub fn is_response(&self) -> bool {
        matches!(self.start, StartSpans::Response { .. })
    }

    /// Header fields in order: name and raw value.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers
            .iter()
            .map(|(n, v)| (self.text(n), &self.head[v.clone()]))
    }

    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.header_at(name).map(|(v, _)| v)
    }

    /// A header's value and where it starts in the message, for pointing a
    /// caret at a value that is wrong.
    pub(super) fn header_at(&self, name: &str) -> Option<(&[u8], usize)> {
        self.headers
            .iter()
            .find(|(n, _)| self.head[n.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| (&self.head[v.clone()], v.start))
    }

    pub fn start_line(&self) -> String {
        match self.start() {
            Start::Request {
                method,
                target,
                minor,
            } => format!("{method} {target} HTTP/1.{minor}"),
            Start::Response {
                minor,
                code,
                reason,
            } => format!("HTTP/1.{minor} {code} {reason}"),
        }
    }

    pub fn summary(&self) -> String {
        let body = match (self.body.len(), self.chunked) {
            (0, _) => "no body".to_string(),
            (n, true) => format!("{n}-byte body in chunks"),
            (n, false) => format!("{n}-byte body"),
        };
        // Bounded: a start line may be as long as --max-header-bytes.
        let kind = self
            .header("content-type")
            .map(|t| format!(" of {}", clipped(&String::from_utf8_lossy(t), 100)))
            .unwrap_or_default();
        format!(
            "{} ({} headers, {body}{kind})",
            clipped(&self.start_line(), 200),
            self.headers.len()
        )
    }

    /// Whether the sender wants the connection closed after this message.
    pub fn wants_close(&self) -> bool {
        let (StartSpans::Request { minor, .. } | StartSpans::Response { minor, .. }) = self.start;
        match self.header("connection") {
            Some(v) if v.eq_ignore_ascii_case(b"close") => true,
            Some(v) if v.eq_ignore_ascii_case(b"keep-alive") => false,
            _ => minor == 0,
        }
    }
}

/// A request as socklab's client sends it: `GET /path`, or
/// `POST /path BODY` (sent as a form), completed with the headers a server
/// expects.
pub fn request(method: &str, target: &str, host: &str, body: &[u8], content_type: &str) -> Vec<u8> {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: socklab/{}\r\nAccept: */*\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    [head.as_bytes(), body].concat()
}

/// A complete response with a body and its length.
pub fn response(code: u16, reason: &str, content_type: &str, body: &[u8], close: bool) -> Vec<u8> {
    let connection = if close { "close" } else { "keep-alive" };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nServer: socklab/{}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n",
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    [head.as_bytes(), body].concat()
}
