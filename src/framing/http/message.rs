//! An HTTP message's head as socklab keeps it: the bytes as they arrived,
//! once, with the start line's parts and the header fields as spans into
//! them, and how its body is delimited (the body itself streams past in
//! pieces, see [`Part`](super::Part)); and the builders socklab sends (a
//! request completed from `GET /path`, a response with its length).

use super::Length;
use crate::framing::summary::clipped;

pub(super) type Span = std::ops::Range<usize>;

/// A parsed request or response head. The head is kept as it arrived,
/// once, and the start line's parts and the header fields are spans into
/// it: parsing a message allocates three times, not once per header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub(super) head: Vec<u8>,
    pub(super) start: StartSpans,
    pub(super) headers: Vec<(Span, Span)>,
    /// Where the body ends (RFC 9112 §6.3), known once the head is read.
    pub(super) length: Length,
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
        // Names and methods are tokens, so ASCII. A target or reason with
        // other bytes reads as "" here; `start_line` shows them lossily.
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

    /// How the body that follows the head is delimited.
    pub fn body_length(&self) -> Length {
        self.length
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartSpans::Response { code, .. } => Some(code),
            StartSpans::Request { .. } => None,
        }
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartSpans::Request { method, .. } => Some(self.text(method)),
            StartSpans::Response { .. } => None,
        }
    }

    pub fn is_response(&self) -> bool {
        matches!(self.start, StartSpans::Response { .. })
    }

    /// The `x` of `HTTP/1.x`.
    pub fn minor(&self) -> u8 {
        let (StartSpans::Request { minor, .. } | StartSpans::Response { minor, .. }) = self.start;
        minor
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
        self.fields()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v, at)| (v, at))
    }

    /// Every field: name, value, and where the value starts in the message.
    pub(super) fn fields(&self) -> impl Iterator<Item = (&str, &[u8], usize)> {
        self.headers
            .iter()
            .map(|(n, v)| (self.text(n), &self.head[v.clone()], v.start))
    }

    /// The start line as it came (a reason phrase in Latin-1, say, shown
    /// with replacement characters rather than dropped).
    pub fn start_line(&self) -> String {
        let lossy = |span: &Span| String::from_utf8_lossy(&self.head[span.clone()]);
        match &self.start {
            StartSpans::Request {
                method,
                target,
                minor,
            } => format!("{} {} HTTP/1.{minor}", lossy(method), lossy(target)),
            StartSpans::Response {
                minor,
                code,
                reason,
            } => format!("HTTP/1.{minor} {code} {}", lossy(reason)),
        }
    }

    pub fn summary(&self) -> String {
        let body = match self.length {
            Length::Fixed(0) => "no body".to_string(),
            Length::Fixed(n) => format!("{n}-byte body"),
            Length::Chunked => "body in chunks".to_string(),
            Length::UntilClose => "body until the connection closes".to_string(),
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
        match self.header("connection") {
            Some(v) if v.eq_ignore_ascii_case(b"close") => true,
            Some(v) if v.eq_ignore_ascii_case(b"keep-alive") => false,
            _ => self.minor() == 0,
        }
    }
}

/// A request as socklab's client sends it: `GET /path`, or
/// `POST /path BODY` (sent as a form), completed with the headers a server
/// expects.
pub fn request(method: &str, target: &str, host: &str, body: &[u8], content_type: &str) -> Vec<u8> {
    request_with(method, target, host, body, content_type, &[])
}

/// [`request`], with header fields of the user's (`-H`): one named like a
/// field socklab adds (Host, User-Agent, Accept, Content-Type) takes its
/// place, as curl's `-H` does; the others follow.
pub fn request_with(
    method: &str,
    target: &str,
    host: &str,
    body: &[u8],
    content_type: &str,
    extra: &[Field],
) -> Vec<u8> {
    let length = body.len().to_string();
    let mut fields: Vec<(&str, &str)> = vec![
        ("Host", host),
        ("User-Agent", concat!("socklab/", env!("CARGO_PKG_VERSION"))),
        ("Accept", "*/*"),
    ];
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        fields.push(("Content-Type", content_type));
        fields.push(("Content-Length", &length));
    }
    for f in extra {
        match fields
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&f.name))
        {
            Some(slot) => *slot = (&f.name, &f.value),
            None => fields.push((&f.name, &f.value)),
        }
    }
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (name, value) in fields {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    [head.as_bytes(), body].concat()
}

/// A header field given on the command line (`-H 'Name: value'`): a token
/// for a name, and a value without control characters, so that it cannot
/// end the head or smuggle a second field in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
}

impl std::str::FromStr for Field {
    type Err = String;

    fn from_str(s: &str) -> Result<Field, String> {
        let (name, value) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?} is not a header field: write it as 'Name: value'"))?;
        if name.is_empty() || !name.bytes().all(super::is_tchar) {
            return Err(format!(
                "{name:?} is not a header name: letters, digits and !#$%&'*+-.^_`|~ only, right before the colon"
            ));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(
                "a header value cannot hold control characters (CR and LF would end the field)"
                    .into(),
            );
        }
        Ok(Field {
            name: name.to_string(),
            value: value.to_string(),
        })
    }
}

/// A complete response with a body and its length.
pub fn response(code: u16, reason: &str, content_type: &str, body: &[u8], close: bool) -> Vec<u8> {
    let head = response_head(code, reason, content_type, body.len(), close);
    [head.as_slice(), body].concat()
}

/// The head of a response whose body is `len` bytes: all of the answer to
/// a HEAD request, whose Content-Length says what a GET would get
/// (RFC 9110 §9.3.2).
pub fn response_head(
    code: u16,
    reason: &str,
    content_type: &str,
    len: usize,
    close: bool,
) -> Vec<u8> {
    let connection = if close { "close" } else { "keep-alive" };
    format!(
        "HTTP/1.1 {code} {reason}\r\nServer: socklab/{}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\nConnection: {connection}\r\n\r\n",
        env!("CARGO_PKG_VERSION"),
    )
    .into_bytes()
}
