//! The head of an HTTP message: the request or status line and the header
//! fields, ending at the first empty line (RFC 9112 §2.1).
//!
//! [`HeadScan`] follows a head as it arrives, line by line, and remembers
//! where it stopped, so a head trickling in byte by byte costs linear time.
//! The outcome does not depend on how the bytes were cut into reads: the
//! start line is checked as soon as it is complete (a peer that does not
//! speak HTTP is caught at its first line), the size limit at every line,
//! and the whole head goes to httparse (the parser hyper uses) once, when
//! its empty line has arrived.
//!
//! httparse checks the grammar. Where each part sits (the spans a
//! [`Message`] keeps) is found here, by reading the head again, and every
//! part is compared with what httparse read. No offset is ever computed
//! from a pointer httparse hands back: a missing reason phrase, or one with
//! non-ASCII bytes (obs-text), comes back as a static `""` that is not in
//! the buffer at all.

use std::mem::MaybeUninit;

use super::super::lines::find_newline;
use super::super::{FrameError, Limits, Role};
use super::message::{Message, Span, StartSpans};
use super::{is_tchar, trim_ows};

/// How far a head has been read. Offsets count from the message's start.
#[derive(Debug, Default)]
pub(super) struct HeadScan {
    /// Where the line being read begins.
    line_start: usize,
    /// How far the bytes have been searched for LF.
    scanned: usize,
    /// Where the start line begins, once it has been read and checked.
    start_line: Option<usize>,
}

impl HeadScan {
    /// Reads the lines that arrived since the last call: the message and
    /// the head's length once its empty line is in, `Ok(None)` before.
    pub(super) fn scan(
        &mut self,
        role: Role,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Message, usize)>, FrameError> {
        while let Some(nl) = find_newline(buf, self.scanned) {
            let end = nl + 1;
            if end > limits.max_header_bytes {
                return Err(head_too_large(limits));
            }
            let line_start = std::mem::replace(&mut self.line_start, end);
            self.scanned = end;
            // httparse, like RFC 9112 §2.2, accepts a bare LF as a line end.
            let empty = matches!(&buf[line_start..nl], b"" | b"\r");
            match self.start_line {
                // RFC 9112 §2.2: empty lines before the start line are skipped.
                None if empty => {}
                None => {
                    check_start_line(role, &buf[..end], line_start)?;
                    self.start_line = Some(line_start);
                }
                Some(first) if empty => {
                    *self = HeadScan::default();
                    return parse(role, &buf[..end], first, limits).map(|m| Some((m, end)));
                }
                Some(_) => {}
            }
        }
        self.scanned = buf.len();
        if buf.len() > limits.max_header_bytes {
            return Err(head_too_large(limits));
        }
        Ok(None)
    }
}

fn head_too_large(limits: &Limits) -> FrameError {
    FrameError::too_large(
        "http",
        format!(
            "the head (start line and headers) is over {} bytes and has not ended: raise --max-header-bytes, or check that the peer speaks HTTP",
            limits.max_header_bytes
        ),
    )
    .answer_with(431)
}

/// Checks a start line as soon as it is complete. `upto` ends with it;
/// httparse skips the empty lines before it, and with no room for header
/// fields it stops after the start line: a good one is `Partial`.
fn check_start_line(role: Role, upto: &[u8], first: usize) -> Result<(), FrameError> {
    let result = match role {
        Role::Server => httparse::Request::new(&mut []).parse(upto).map(drop),
        Role::Client => httparse::Response::new(&mut []).parse(upto).map(drop),
    };
    result.map_err(|e| {
        FrameError::malformed("http", locate(upto, first, e), format!("{e} (httparse)"))
    })
}

/// Parses a complete head (it ends with its empty line).
fn parse(role: Role, head: &[u8], first: usize, limits: &Limits) -> Result<Message, FrameError> {
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
    let complete = |r: httparse::Result<usize>| match r {
        Ok(httparse::Status::Complete(n)) if n == head.len() => Ok(()),
        Ok(_) => Err(disagree(first)),
        Err(httparse::Error::TooManyHeaders) => Err(FrameError::too_large(
            "http",
            format!(
                "more than {} header fields: raise --max-headers",
                limits.max_headers
            ),
        )
        .answer_with(431)),
        Err(e) => Err(FrameError::malformed(
            "http",
            locate(head, first, e),
            format!("{e} (httparse)"),
        )),
    };
    let line = line_span(head, first);
    let (start, parsed) = match role {
        Role::Server => {
            let mut req = httparse::Request::new(&mut []);
            complete(config.parse_request_with_uninit_headers(&mut req, head, fields))?;
            (request_spans(head, line.clone(), &req), req.headers)
        }
        Role::Client => {
            let mut res = httparse::Response::new(&mut []);
            complete(config.parse_response_with_uninit_headers(&mut res, head, fields))?;
            (response_spans(head, line.clone(), &res), res.headers)
        }
    };
    let start = start.ok_or_else(|| disagree(first))?;
    let headers = header_spans(head, line.end, parsed).ok_or_else(|| disagree(first))?;
    Ok(Message {
        head: head.to_vec(),
        start,
        headers,
        // Known once RFC 9112 §6.3 has been applied to the head.
        length: super::Length::Fixed(0),
    })
}

/// httparse accepted the head but socklab reads it differently: refused,
/// since two readings of one message is what request smuggling exploits.
fn disagree(at: usize) -> FrameError {
    FrameError::malformed(
        "http",
        at,
        "this head can be read two ways (httparse and socklab disagree on where its parts are); send plain `name: value` lines ending in CR LF",
    )
}

/// The line starting at `from`, without its LF or CR LF.
fn line_span(head: &[u8], from: usize) -> Span {
    let nl = find_newline(head, from).unwrap_or(head.len());
    let end = if nl > from && head[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    from..end
}

/// Splits a span at its first space: the part before, and the rest after it.
fn split_space(head: &[u8], span: Span) -> Option<(Span, Span)> {
    let sp = head[span.clone()].iter().position(|&b| b == b' ')?;
    Some((span.start..span.start + sp, span.start + sp + 1..span.end))
}

/// `METHOD SP TARGET SP VERSION`, checked against httparse's reading.
fn request_spans(head: &[u8], line: Span, req: &httparse::Request) -> Option<StartSpans> {
    let (method, rest) = split_space(head, line)?;
    let (target, _version) = split_space(head, rest)?;
    let same = head[method.clone()] == *req.method?.as_bytes()
        && head[target.clone()] == *req.path?.as_bytes();
    same.then_some(StartSpans::Request {
        method,
        target,
        minor: req.version?,
    })
}

/// `HTTP/1.x SP CODE [SP REASON]`. The reason may be empty or hold
/// non-ASCII bytes (httparse then reports `""`), so only a non-empty one is
/// compared.
fn response_spans(head: &[u8], line: Span, res: &httparse::Response) -> Option<StartSpans> {
    let (_version, rest) = split_space(head, line)?;
    let (code, reason) =
        split_space(head, rest.clone()).unwrap_or((rest.clone(), rest.end..rest.end));
    let code_value: u16 = std::str::from_utf8(&head[code]).ok()?.parse().ok()?;
    let reason_seen = res.reason?;
    let same = code_value == res.code?
        && (reason_seen.is_empty() || head[reason.clone()] == *reason_seen.as_bytes());
    same.then_some(StartSpans::Response {
        minor: res.version?,
        code: code_value,
        reason,
    })
}

/// `name: value` lines from `from` to the empty line, checked one by one
/// against httparse's fields.
fn header_spans(
    head: &[u8],
    mut from: usize,
    parsed: &[httparse::Header],
) -> Option<Vec<(Span, Span)>> {
    let mut spans = Vec::with_capacity(parsed.len());
    // Step over the start line's LF.
    from = find_newline(head, from)? + 1;
    loop {
        let line = line_span(head, from);
        if line.is_empty() {
            break;
        }
        let colon = head[line.clone()].iter().position(|&b| b == b':')?;
        let name = line.start..line.start + colon;
        let value = trim_ows(head, line.start + colon + 1..line.end);
        let h = parsed.get(spans.len())?;
        if head[name.clone()] != *h.name.as_bytes() || head[value.clone()] != *head_value(h) {
            return None;
        }
        spans.push((name, value));
        from = find_newline(head, line.end)? + 1;
    }
    (spans.len() == parsed.len()).then_some(spans)
}

/// httparse's value, without the optional whitespace around it.
fn head_value<'a>(h: &httparse::Header<'a>) -> &'a [u8] {
    let v = h.value;
    let span = trim_ows(v, 0..v.len());
    &v[span]
}

/// Where in the head httparse's complaint is: the start line for errors
/// about it, else the first header line that is not `name: value`.
fn locate(head: &[u8], first: usize, e: httparse::Error) -> usize {
    let first_line_end = find_newline(head, first).unwrap_or(head.len());
    match e {
        httparse::Error::HeaderName | httparse::Error::HeaderValue | httparse::Error::NewLine => {
            let mut at = first_line_end + 1;
            while let Some(nl) = find_newline(head, at) {
                let line = &head[at..nl];
                match line.iter().position(|&b| b == b':') {
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
        _ => head[first..first_line_end]
            .iter()
            .position(|b| b.is_ascii_control() && *b != b'\r')
            .map_or(first, |i| first + i),
    }
}
