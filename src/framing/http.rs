//! `http`: HTTP/1.1 messages (RFC 9112).
//!
//! A message is a head — a start line and header fields, ending at the first
//! empty line (`\r\n\r\n`) — and a body whose length the head announces:
//! `Content-Length: N`, or `Transfer-Encoding: chunked` (a series of
//! hex-sized chunks ending with a zero-sized one), or, for a response with
//! neither, "until the connection closes". Responses to HEAD, 1xx, 204 and
//! 304 have no body.
//!
//! The head is parsed by httparse (the parser hyper uses), only once the
//! empty line has arrived; finding that line, the body rules and the chunk
//! decoding around it are ours.

use std::collections::VecDeque;
use std::mem::MaybeUninit;

use super::lines::find_newline;
use super::{Codec, Content, FrameError, Limits, Role};

type Span = std::ops::Range<usize>;

/// A parsed request or response. The head is kept as it arrived, once, and
/// the start line's parts and the header fields are spans into it: parsing
/// a message allocates three times, not once per header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    head: Vec<u8>,
    start: StartSpans,
    headers: Vec<(Span, Span)>,
    /// The body, with chunked transfer coding removed.
    pub body: Vec<u8>,
    pub chunked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum StartSpans {
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
        self.headers
            .iter()
            .find(|(n, _)| self.head[n.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &self.head[v.clone()])
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
        let kind = self
            .header("content-type")
            .map(|t| format!(" of {}", String::from_utf8_lossy(t)))
            .unwrap_or_default();
        format!(
            "{} ({} headers, {body}{kind})",
            self.start_line(),
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

enum State {
    /// Waiting for the empty line that ends the head.
    Head,
    /// Head parsed; the body is `remaining` more bytes.
    Body {
        head: Message,
        body_start: usize,
        len: usize,
    },
    /// Head parsed; chunks are being read. `pos` is where the next chunk
    /// size line starts.
    Chunked { head: Message, pos: usize },
    /// A response with no length: the body runs until the connection closes.
    UntilClose { head: Message, body_start: usize },
}

pub struct Http {
    role: Role,
    state: State,
    scanned: usize,
    /// For a client: whether each request sent was HEAD (its answer has no body).
    heads: VecDeque<bool>,
}

impl Http {
    pub fn new(role: Role) -> Http {
        Http {
            role,
            state: State::Head,
            scanned: 0,
            heads: VecDeque::new(),
        }
    }
}

/// Where the head ends (just after the empty line), searching from `from`.
/// Jumps from LF to LF, which the compiler vectorises; an empty line is LF
/// right after LF, or after CR LF (httparse accepts bare LF line ends too).
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from.saturating_sub(3);
    while let Some(nl) = find_newline(buf, at) {
        let empty = match nl {
            0 => false,
            1 => buf[0] == b'\n',
            _ => buf[nl - 1] == b'\n' || (buf[nl - 1] == b'\r' && buf[nl - 2] == b'\n'),
        };
        if empty {
            return Some(nl + 1);
        }
        at = nl + 1;
    }
    None
}

impl Codec for Http {
    fn proto(&self) -> &'static str {
        "http"
    }

    fn sent_request(&mut self, method: &str) {
        self.heads.push_back(method.eq_ignore_ascii_case("HEAD"));
    }

    fn decode(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        loop {
            match &mut self.state {
                State::Head => {
                    // The first look at a message hands the buffer straight
                    // to httparse, which finds the head's end itself; when the
                    // head is still partial, later looks scan only the new
                    // bytes for the empty line, so a trickle stays linear.
                    let ready = self.scanned == 0 || find_head_end(buf, self.scanned).is_some();
                    if ready && let Some((head, end)) = parse_head(self.role, buf, limits)? {
                        self.scanned = 0;
                        if end > limits.max_header_bytes {
                            return Err(FrameError::too_large(
                                "http",
                                format!(
                                    "the head is {end} bytes, over --max-header-bytes {}",
                                    limits.max_header_bytes
                                ),
                            ));
                        }
                        self.state = self.body_rule(head, end, limits)?;
                        continue;
                    }
                    self.scanned = buf.len();
                    if buf.len() > limits.max_header_bytes {
                        return Err(FrameError::too_large(
                            "http",
                            format!(
                                "the head (start line and headers) is over {} bytes and has not ended: raise --max-header-bytes, or check that the peer speaks HTTP",
                                limits.max_header_bytes
                            ),
                        ));
                    }
                    return Ok(None);
                }
                State::Body {
                    body_start, len, ..
                } => {
                    let end = *body_start + *len;
                    if buf.len() < end {
                        return Ok(None);
                    }
                    let State::Body {
                        mut head,
                        body_start,
                        ..
                    } = std::mem::replace(&mut self.state, State::Head)
                    else {
                        unreachable!("matched above")
                    };
                    head.body = buf[body_start..end].to_vec();
                    return Ok(Some((Content::Http(head), end)));
                }
                State::Chunked { head, pos } => match next_chunk(buf, *pos, limits)? {
                    None => return Ok(None),
                    Some(Chunk::Data { start, len, next }) => {
                        if head.body.len() + len > limits.max_frame {
                            return Err(FrameError::too_large(
                                "http",
                                format!(
                                    "the chunked body is over the --max-frame limit of {} bytes",
                                    limits.max_frame
                                ),
                            ));
                        }
                        head.body.extend_from_slice(&buf[start..start + len]);
                        *pos = next;
                    }
                    Some(Chunk::Last { end }) => {
                        let State::Chunked { head, .. } =
                            std::mem::replace(&mut self.state, State::Head)
                        else {
                            unreachable!("matched above")
                        };
                        return Ok(Some((Content::Http(head), end)));
                    }
                },
                State::UntilClose { .. } => return Ok(None),
            }
        }
    }

    fn decode_eof(
        &mut self,
        buf: &[u8],
        _: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        match std::mem::replace(&mut self.state, State::Head) {
            State::UntilClose {
                mut head,
                body_start,
            } => {
                head.body = buf[body_start..].to_vec();
                Ok(Some((Content::Http(head), buf.len())))
            }
            State::Head if buf.is_empty() => Ok(None),
            State::Head => Err(FrameError::closed_mid_frame(
                "http",
                buf.len(),
                format!(
                    "the stream ended inside a message head ({} bytes, no empty line yet)",
                    buf.len()
                ),
            )),
            State::Body {
                body_start, len, ..
            } => Err(FrameError::closed_mid_frame(
                "http",
                buf.len(),
                format!(
                    "the stream ended after {} of the {len} body bytes that Content-Length announced",
                    buf.len() - body_start
                ),
            )),
            State::Chunked { .. } => Err(FrameError::closed_mid_frame(
                "http",
                buf.len(),
                "the stream ended before the last (zero-sized) chunk",
            )),
        }
    }
}

impl Http {
    /// Decides how the body of `head` is delimited (RFC 9112 §6.3).
    fn body_rule(
        &mut self,
        head: Message,
        end: usize,
        limits: &Limits,
    ) -> Result<State, FrameError> {
        let no_body = match head.start() {
            Start::Response { code, .. } => {
                let was_head = self.heads.pop_front().unwrap_or(false);
                was_head || code < 200 || code == 204 || code == 304
            }
            Start::Request { .. } => false,
        };
        if no_body {
            return Ok(State::Body {
                head,
                body_start: end,
                len: 0,
            });
        }
        if let Some(te) = head.header("transfer-encoding") {
            if te.to_ascii_lowercase().ends_with(b"chunked") {
                return Ok(State::Chunked {
                    head: Message {
                        chunked: true,
                        ..head
                    },
                    pos: end,
                });
            }
            return Err(FrameError::malformed(
                "http",
                0,
                "unsupported Transfer-Encoding: only chunked is understood",
            ));
        }
        match head.header("content-length") {
            Some(v) => {
                let len = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.trim().parse::<usize>().ok())
                    .ok_or_else(|| {
                        FrameError::malformed("http", 0, "Content-Length is not a number")
                    })?;
                if len > limits.max_frame {
                    return Err(FrameError::too_large(
                        "http",
                        format!(
                            "Content-Length announces {len} bytes, over the --max-frame limit of {}",
                            limits.max_frame
                        ),
                    ));
                }
                Ok(State::Body {
                    head,
                    body_start: end,
                    len,
                })
            }
            None if head.is_response() => Ok(State::UntilClose {
                head,
                body_start: end,
            }),
            None => Ok(State::Body {
                head,
                body_start: end,
                len: 0,
            }),
        }
    }
}

enum Chunk {
    Data {
        start: usize,
        len: usize,
        next: usize,
    },
    Last {
        end: usize,
    },
}

/// Reads the chunk whose size line starts at `pos`.
fn next_chunk(buf: &[u8], pos: usize, limits: &Limits) -> Result<Option<Chunk>, FrameError> {
    let Some(nl) = find_newline(buf, pos) else {
        return Ok(None);
    };
    let line = buf[pos..nl].strip_suffix(b"\r").unwrap_or(&buf[pos..nl]);
    let size_text = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    let size = std::str::from_utf8(size_text)
        .ok()
        .and_then(|s| usize::from_str_radix(s, 16).ok())
        .ok_or_else(|| {
            FrameError::malformed("http", pos, "expected a chunk size in hexadecimal")
        })?;
    if size > limits.max_frame {
        return Err(FrameError::too_large(
            "http",
            format!(
                "a chunk of {size} bytes is over --max-frame {}",
                limits.max_frame
            ),
        ));
    }
    let start = nl + 1;
    if size == 0 {
        // Trailer fields, then an empty line.
        let mut at = start;
        loop {
            let Some(nl) = find_newline(buf, at) else {
                return Ok(None);
            };
            if buf[at..nl]
                .strip_suffix(b"\r")
                .unwrap_or(&buf[at..nl])
                .is_empty()
            {
                return Ok(Some(Chunk::Last { end: nl + 1 }));
            }
            at = nl + 1;
        }
    }
    let Some(after) = buf.get(start + size..start + size + 2) else {
        return Ok(None);
    };
    if after != b"\r\n" {
        return Err(FrameError::malformed(
            "http",
            start + size,
            "expected CR LF after the chunk data",
        ));
    }
    Ok(Some(Chunk::Data {
        start,
        len: size,
        next: start + size + 2,
    }))
}

/// Parses the head at the start of `buf`: `Ok(None)` while it is incomplete.
fn parse_head(
    role: Role,
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(Message, usize)>, FrameError> {
    let head = buf;
    // The usual limit fits on the stack, a larger one is allocated; either
    // way the slots are left uninitialised (httparse's safe API for it):
    // zeroing 64 of them cost more than parsing a small head.
    let mut stack = [const { MaybeUninit::<httparse::Header>::uninit() }; 64];
    let mut heap = Vec::new();
    let fields: &mut [MaybeUninit<httparse::Header>] = if limits.max_headers <= stack.len() {
        &mut stack[..limits.max_headers]
    } else {
        heap.resize_with(limits.max_headers, MaybeUninit::uninit);
        &mut heap
    };
    let config = httparse::ParserConfig::default();
    let too_many = |_| {
        FrameError::too_large(
            "http",
            format!(
                "more than {} header fields: raise --max-headers",
                limits.max_headers
            ),
        )
    };
    // The head is complete (it ends in an empty line), so httparse either
    // parses it or says what is wrong: `Partial` cannot happen here.
    let check = |r: httparse::Result<usize>| match r {
        Ok(httparse::Status::Complete(n)) => Ok(Some(n)),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(too_many(())),
        Err(e) => Err(FrameError::malformed(
            "http",
            locate(head, e),
            format!("{e} (httparse)"),
        )),
    };
    let span = |part: &[u8]| {
        let from = part.as_ptr() as usize - head.as_ptr() as usize;
        from..from + part.len()
    };
    let (start, fields, end) = match role {
        Role::Server => {
            let mut req = httparse::Request::new(&mut []);
            let Some(end) =
                check(config.parse_request_with_uninit_headers(&mut req, head, fields))?
            else {
                return Ok(None);
            };
            let start = StartSpans::Request {
                method: req.method.map_or(0..0, |m| span(m.as_bytes())),
                target: req.path.map_or(0..0, |p| span(p.as_bytes())),
                minor: req.version.unwrap_or(1),
            };
            (
                start,
                req.headers
                    .iter()
                    .map(|h| (span(h.name.as_bytes()), span(h.value)))
                    .collect(),
                end,
            )
        }
        Role::Client => {
            let mut res = httparse::Response::new(&mut []);
            let Some(end) =
                check(config.parse_response_with_uninit_headers(&mut res, head, fields))?
            else {
                return Ok(None);
            };
            let start = StartSpans::Response {
                minor: res.version.unwrap_or(1),
                code: res.code.unwrap_or(0),
                reason: res.reason.map_or(0..0, |r| span(r.as_bytes())),
            };
            (
                start,
                res.headers
                    .iter()
                    .map(|h| (span(h.name.as_bytes()), span(h.value)))
                    .collect(),
                end,
            )
        }
    };
    let message = Message {
        head: head[..end].to_vec(),
        start,
        headers: fields,
        body: Vec::new(),
        chunked: false,
    };
    Ok(Some((message, end)))
}

/// Where in the head httparse's complaint is: the start line for errors
/// about it, else the first header line that is not `name: value`.
fn locate(head: &[u8], e: httparse::Error) -> usize {
    let first_line_end = find_newline(head, 0).unwrap_or(head.len());
    match e {
        httparse::Error::HeaderName | httparse::Error::HeaderValue | httparse::Error::NewLine => {
            let mut at = first_line_end + 1;
            while let Some(nl) = find_newline(head, at) {
                let line = &head[at..nl];
                let name_end = line.iter().position(|&b| b == b':');
                match name_end {
                    None if line.trim_ascii().is_empty() => break,
                    None => return at,
                    Some(n) => {
                        if let Some(bad) = line[..n].iter().position(|b| !is_tchar(*b)) {
                            return at + bad;
                        }
                    }
                }
                at = nl + 1;
            }
            first_line_end
        }
        _ => head[..first_line_end]
            .iter()
            .position(|b| b.is_ascii_control() && *b != b'\r')
            .unwrap_or(0),
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::testing::{assert_any_split_same, decode_chunked};
    use crate::framing::{ErrorKind, FrameReader};

    fn server() -> FrameReader {
        FrameReader::new(Box::new(Http::new(Role::Server)), Limits::default())
    }
    fn client() -> FrameReader {
        FrameReader::new(Box::new(Http::new(Role::Client)), Limits::default())
    }

    fn messages(frames: &[crate::framing::Frame]) -> Vec<Message> {
        frames
            .iter()
            .map(|f| match &f.content {
                Content::Http(m) => m.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    const FORM: &[u8] = b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 33\r\n\r\nusername=zhangsan&password=123456";

    #[test]
    fn the_curriculum_form_and_a_get_on_one_connection_at_every_split() {
        let mut stream = FORM.to_vec();
        stream.extend_from_slice(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
        let ms = messages(&assert_any_split_same(server, &stream));
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].body, b"username=zhangsan&password=123456");
        assert_eq!(ms[0].start_line(), "POST /login HTTP/1.1");
        assert_eq!(ms[1].body, b"");
    }

    #[test]
    fn a_long_head_fed_one_byte_at_a_time_stays_linear() {
        // 15 KiB of headers, one byte per push: quadratic re-parsing would
        // take over 10^8 steps; the scan for the empty line takes 15,000.
        let fields: String = (0..500)
            .map(|i| format!("X-Field-{i:03}: {}\r\n", "v".repeat(16)))
            .collect();
        let head = format!("GET / HTTP/1.1\r\n{fields}\r\n");
        let started = std::time::Instant::now();
        let limits = Limits {
            max_headers: 600,
            ..Limits::default()
        };
        let mut r = FrameReader::new(Box::new(Http::new(Role::Server)), limits);
        let mut frames = 0;
        for b in head.as_bytes() {
            r.push(std::slice::from_ref(b));
            frames += usize::from(r.next_frame().expect("valid").is_some());
        }
        assert_eq!(frames, 1);
        assert!(
            started.elapsed().as_secs() < 2,
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn bare_lf_heads_parse_the_same_at_every_split() {
        let ms = messages(&assert_any_split_same(
            server,
            b"GET /lf HTTP/1.1\nHost: x\n\nGET /b HTTP/1.1\n\n",
        ));
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].start_line(), "GET /lf HTTP/1.1");
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let ms = messages(&assert_any_split_same(client, wire));
        assert_eq!(ms[0].body, b"hello world");
        assert!(ms[0].chunked);
    }

    #[test]
    fn a_response_without_length_runs_to_the_close() {
        let (frames, err) = decode_chunked(client(), b"HTTP/1.0 200 OK\r\n\r\nall of it", 4);
        assert!(err.is_none());
        assert_eq!(messages(&frames)[0].body, b"all of it");
    }

    #[test]
    fn head_and_204_responses_have_no_body() {
        let mut r = client();
        r.codec_mut().sent_request("HEAD");
        r.push(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(
            messages(&[r.next_frame().expect("ok").expect("frame")])[0].body,
            b""
        );
        assert!(r.next_frame().expect("ok").is_some());
    }

    #[test]
    fn malformed_heads_point_at_the_bad_byte() {
        let (_, err) = decode_chunked(
            server(),
            b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
            100,
        );
        let err = err.expect("malformed");
        assert_eq!(err.kind, ErrorKind::Malformed);
        assert_eq!(err.at, 28, "{err:?}");
    }

    #[test]
    fn limits_name_their_flags() {
        let many: String = (0..70).map(|i| format!("X-{i}: v\r\n")).collect();
        let (_, err) = decode_chunked(
            server(),
            format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes(),
            50,
        );
        assert!(err.expect("too many").detail.contains("--max-headers"));
        let (_, err) = decode_chunked(server(), &vec![b'a'; 20_000], 1000);
        assert!(err.expect("too big").detail.contains("--max-header-bytes"));
        let (_, err) = decode_chunked(
            server(),
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
            100,
        );
        assert!(err.expect("too big").detail.contains("--max-frame"));
    }

    #[test]
    fn eof_mid_body_is_named() {
        let (_, err) = decode_chunked(server(), &FORM[..FORM.len() - 5], 10);
        let err = err.expect("unfinished");
        assert_eq!(err.kind, ErrorKind::PeerClosedMidFrame);
        assert!(err.detail.contains("28 of the 33"), "{}", err.detail);
    }

    #[test]
    fn built_messages_parse_back() {
        let req = request(
            "POST",
            "/login",
            "h:1",
            b"a=1",
            "application/x-www-form-urlencoded",
        );
        let ms = messages(&assert_any_split_same(server, &req));
        assert_eq!(ms[0].header("content-length"), Some(&b"3"[..]));
        let res = response(200, "OK", "text/plain", b"hi", false);
        let ms = messages(&assert_any_split_same(client, &res));
        assert!(!ms[0].wants_close());
    }
}
