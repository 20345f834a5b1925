//! `http`: HTTP/1.1 messages (RFC 9112).
//!
//! A message is a head — a start line and header fields, ending at the first
//! empty line (`\r\n\r\n`) — and a body whose length the head announces:
//! `Content-Length: N`, or `Transfer-Encoding: chunked` (a series of
//! hex-sized chunks ending with a zero-sized one), or, for a response with
//! neither, "until the connection closes". Responses to HEAD, 1xx, 204 and
//! 304 have no body.
//!
//! The head is parsed by httparse (the parser hyper uses, in [`head`]): on a
//! message's first look the buffer goes straight to it, and while a head is
//! still incomplete only the new bytes are scanned for the empty line, so a
//! head trickling in byte by byte costs linear time. The body rules and the
//! chunk decoding around it are ours. [`message`] is what a frame holds.

use std::collections::VecDeque;

mod head;
mod message;

pub use message::{Message, Start, request, response};

use super::lines::find_newline;
use super::{Codec, Content, FrameError, Limits, Role};
use head::parse_head;

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
    /// A request asked `Expect: 100-continue` and waits for its answer.
    expects_continue: bool,
}

impl Http {
    pub fn new(role: Role) -> Http {
        Http {
            role,
            state: State::Head,
            scanned: 0,
            heads: VecDeque::new(),
            expects_continue: false,
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

    fn wants_continue(&mut self) -> bool {
        std::mem::take(&mut self.expects_continue)
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
                        let expect = head
                            .header("expect")
                            .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
                        self.state = self.body_rule(head, end, limits)?;
                        // Answered only if the body is really still to come.
                        self.expects_continue = expect
                            && match &self.state {
                                State::Body {
                                    body_start, len, ..
                                } => buf.len() < body_start + len,
                                State::Chunked { .. } => true,
                                _ => false,
                            };
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
        if let Some((te, at)) = head.header_at("transfer-encoding") {
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
                at,
                "unsupported Transfer-Encoding: only chunked is understood",
            ));
        }
        match head.header_at("content-length") {
            Some((v, at)) => {
                let len = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.trim().parse::<usize>().ok())
                    .ok_or_else(|| {
                        FrameError::malformed("http", at, "Content-Length is not a number")
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
    fn a_status_line_without_reason_or_with_non_ascii_reason_is_read() {
        // httparse gives these reasons as a static "" rather than a slice of
        // the head: locating them must not panic.
        for (wire, line) in [
            (&b"HTTP/1.1 204\r\n\r\n"[..], "HTTP/1.1 204 "),
            (b"HTTP/1.1 204 \r\n\r\n", "HTTP/1.1 204 "),
            (
                "HTTP/1.1 200 \u{202e}OK\u{9b}\r\nContent-Length: 0\r\n\r\n".as_bytes(),
                "HTTP/1.1 200 \u{202e}OK\u{9b}",
            ),
            (
                b"\r\nHTTP/1.0 200 caf\xc3\xa9\r\n\r\n",
                "HTTP/1.0 200 caf\u{e9}",
            ),
        ] {
            let (frames, err) = decode_chunked(client(), wire, wire.len());
            assert!(err.is_none(), "{err:?}");
            assert_eq!(messages(&frames)[0].start_line(), line);
        }
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
    fn expect_continue_is_signalled_once_while_the_body_is_pending() {
        let mut r = server();
        r.push(b"POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
        assert!(r.next_frame().expect("ok").is_none());
        assert!(r.codec_mut().wants_continue());
        assert!(!r.codec_mut().wants_continue(), "once");
        r.push(b"abc");
        assert!(r.next_frame().expect("ok").is_some());
        // With the body already there, no interim answer is needed.
        r.push(b"POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx");
        assert!(r.next_frame().expect("ok").is_some());
        assert!(!r.codec_mut().wants_continue());
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
    fn bad_length_and_encoding_values_point_at_the_value() {
        let wire = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n";
        let err = decode_chunked(server(), wire, 100).1.expect("malformed");
        assert_eq!(&wire[err.at..err.at + 6], b"banana", "{err:?}");
        let wire = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
        let err = decode_chunked(server(), wire, 100).1.expect("malformed");
        assert_eq!(&wire[err.at..err.at + 4], b"gzip", "{err:?}");
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
