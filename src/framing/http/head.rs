//! The head of an HTTP message, parsed by httparse: the request or status
//! line and the header fields, ending at the first empty line. A parse error
//! is turned into a position (for the caret under the offending byte).

use std::mem::MaybeUninit;

use super::super::lines::find_newline;
use super::super::{FrameError, Limits, Role};
use super::message::{Message, Span, StartSpans};

/// Parses the head at the start of `buf`: `Ok(None)` while it is incomplete.
pub(super) fn parse_head(
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
    // httparse hands back a static "" instead of a slice of the head for a
    // reason phrase that is missing or holds obs-text (bytes >= 0x80, such
    // as UTF-8): such a reason is found in the status line here.
    let within = |part: &[u8]| {
        let (at, start) = (part.as_ptr() as usize, head.as_ptr() as usize);
        at >= start && at + part.len() <= start + head.len()
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
                reason: match res.reason {
                    Some(r) if within(r.as_bytes()) => span(r.as_bytes()),
                    _ => reason_span(head),
                },
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

/// Where the reason phrase is in a head that httparse accepted as a
/// response: after `HTTP/1.1 200` and one space, to the end of the line
/// (httparse skips empty lines before the status line).
fn reason_span(head: &[u8]) -> Span {
    let line = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(head.len());
    let end = find_newline(head, line).unwrap_or(head.len());
    let end = if end > line && head[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    (line + "HTTP/1.1 200 ".len()).min(end)..end
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
