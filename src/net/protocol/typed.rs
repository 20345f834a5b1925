//! HTTP requests typed line by line, the two ways a person writes them.
//!
//! - The short form, `GET /path` or `POST /login a=1&b=2`: socklab writes
//!   the rest of the request (Host, User-Agent, Accept, the body's type and
//!   length), with any `-H 'Name: value'` fields added.
//! - A full request line, `GET /x HTTP/1.1`: it starts a head that is sent
//!   as typed, each line ended with CR LF as HTTP wants, up to the empty
//!   line that ends it (RFC 9112 §2.1). So any field can be tried:
//!   If-None-Match, Authorization, Cookie, Range. If the head announces a
//!   body, what is typed next is that body: `Content-Length: N` bytes
//!   exactly as typed, or with `Transfer-Encoding: chunked` lines of chunk
//!   sizes and data (CR LF added) up to the last chunk's empty line.

use crate::framing::http::{self, Field};

use super::exchange::Piece;

/// Where the typing is.
#[derive(Debug, Default)]
pub enum Typing {
    /// Between requests.
    #[default]
    Idle,
    /// Inside a typed head.
    Head { method: String, bytes: Vec<u8> },
    /// A typed head announced `left` more bytes of body.
    Body { left: u64 },
    /// A typed head announced a chunked body: the next line is a size
    /// (`data: false`), chunk data, or (`last`) a trailer or the end.
    Chunks { data: bool, last: bool },
}

/// What a typed line became.
pub enum Typed {
    /// Bytes to send: a whole request, or more of one.
    Piece(Piece),
    /// Taken into the head being typed: nothing to send yet.
    Held,
    /// An empty line between requests.
    Nothing,
    /// Not sent, and why.
    Refused(String),
}

/// A typed head that grows past this is not sent: it could never be read
/// by socklab's own server either (`--max-header-bytes`).
pub struct Settings<'a> {
    pub host: &'a str,
    pub headers: &'a [Field],
    pub max_head: usize,
}

impl Typing {
    /// Bytes of body still to come as they are typed (not line by line).
    pub fn body_left(&self) -> Option<u64> {
        match self {
            Typing::Body { left } => Some(*left),
            _ => None,
        }
    }

    /// `n` bytes of body were typed.
    pub fn body_typed(&mut self, n: u64) {
        if let Typing::Body { left } = self {
            *left -= n.min(*left);
            if *left == 0 {
                *self = Typing::Idle;
            }
        }
    }

    /// One typed line (without its line ending).
    pub fn line(&mut self, text: &str, s: &Settings) -> Typed {
        match std::mem::take(self) {
            Typing::Idle if text.trim().is_empty() => Typed::Nothing,
            Typing::Idle => match request_line(text) {
                Some(method) => {
                    *self = Typing::Head {
                        method,
                        bytes: crlf(text),
                    };
                    Typed::Held
                }
                None => match short_request(text, s) {
                    Ok((method, bytes)) => Typed::Piece(Piece::Request { method, bytes }),
                    Err(why) => Typed::Refused(why),
                },
            },
            Typing::Head { method, mut bytes } => {
                if text.is_empty() {
                    bytes.extend_from_slice(b"\r\n");
                    *self = body_after(&bytes);
                    return Typed::Piece(Piece::Request { method, bytes });
                }
                if let Err(why) = field_line(text) {
                    *self = Typing::Head { method, bytes };
                    return Typed::Refused(format!(
                        "{why}; the head typed so far is kept: go on with `Name: value` lines, then an empty line to send it"
                    ));
                }
                bytes.extend(crlf(text));
                if bytes.len() > s.max_head {
                    return Typed::Refused(format!(
                        "the typed head is over {} bytes (--max-header-bytes) and has not ended: it is not sent",
                        s.max_head
                    ));
                }
                *self = Typing::Head { method, bytes };
                Typed::Held
            }
            Typing::Chunks { data, last } => {
                *self = match (data, last) {
                    (_, true) if text.is_empty() => Typing::Idle,
                    (_, true) => Typing::Chunks { data, last },
                    (true, false) => Typing::Chunks {
                        data: false,
                        last: false,
                    },
                    (false, false) => {
                        let zero = text.split(';').next().is_some_and(|size| {
                            !size.is_empty() && size.trim_end().bytes().all(|b| b == b'0')
                        });
                        Typing::Chunks {
                            data: !zero,
                            last: zero,
                        }
                    }
                };
                Typed::Piece(Piece::More(crlf(text)))
            }
            // Whole lines never come while a body is typed: they are taken
            // byte by byte (see `body_typed`).
            body @ Typing::Body { .. } => {
                *self = body;
                Typed::Piece(Piece::More(crlf(text)))
            }
        }
    }

    /// The input ended: what was left unfinished, if anything.
    pub fn unfinished(&mut self) -> Option<String> {
        match std::mem::take(self) {
            Typing::Idle => None,
            Typing::Head { .. } => Some(
                "the input ended inside a typed head (no empty line after the header fields): it is not sent".into(),
            ),
            Typing::Body { left } => Some(format!(
                "the input ended {left} bytes short of the body the typed Content-Length announced: the server waits for the rest"
            )),
            Typing::Chunks { .. } => Some(
                "the input ended before the last chunk (a line `0`, then an empty line): the server waits for the rest".into(),
            ),
        }
    }
}

/// `text` and CR LF.
fn crlf(text: &str) -> Vec<u8> {
    [text.as_bytes(), b"\r\n"].concat()
}

/// `METHOD TARGET HTTP/x.y`: the method, if the line is a whole request line.
fn request_line(text: &str) -> Option<String> {
    let mut parts = text.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let token = !method.is_empty() && method.bytes().all(http::is_tchar);
    let version = version
        .strip_prefix("HTTP/")
        .is_some_and(|v| v.len() == 3 && v.as_bytes()[1] == b'.');
    (token && !target.is_empty() && version && parts.next().is_none()).then(|| method.to_string())
}

/// A header line: `name: value`, the name a token right before the colon.
fn field_line(text: &str) -> Result<(), String> {
    text.parse::<Field>()
        .map(drop)
        .map_err(|why| format!("{text:?} is not a header field line ({why})"))
}

/// How the body after a typed head is delimited, from what it says.
fn body_after(head: &[u8]) -> Typing {
    let text = String::from_utf8_lossy(head);
    let value = |name: &str| {
        text.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name)
                .then(|| v.trim().to_ascii_lowercase())
        })
    };
    if value("transfer-encoding").is_some_and(|v| v.trim_end().ends_with("chunked")) {
        return Typing::Chunks {
            data: false,
            last: false,
        };
    }
    match value("content-length").and_then(|v| v.parse::<u64>().ok()) {
        Some(left) if left > 0 => Typing::Body { left },
        _ => Typing::Idle,
    }
}

/// `GET /x` or `POST /login a=1&b=2` (or with a JSON body) → a request.
pub fn short_request(line: &str, s: &Settings) -> Result<(String, Vec<u8>), String> {
    let mut parts = line.splitn(3, ' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or("/");
    let body = parts.next().unwrap_or("").as_bytes();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "{method:?} is not an HTTP method (GET, POST, HEAD...)"
        ));
    }
    if !(target.starts_with('/') || target == "*" || target.starts_with("http://")) {
        return Err(format!(
            "{target:?} is not a request target: it starts with /"
        ));
    }
    let kind = if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    Ok((
        method.to_string(),
        http::request_with(method, target, s.host, body, kind, s.headers),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(headers: &[Field]) -> Settings<'_> {
        Settings {
            host: "h:1",
            headers,
            max_head: 16 * 1024,
        }
    }

    fn sent(t: Typed) -> Vec<u8> {
        match t {
            Typed::Piece(Piece::Request { bytes, .. } | Piece::More(bytes)) => bytes,
            Typed::Refused(why) => panic!("refused: {why}"),
            _ => panic!("nothing sent"),
        }
    }

    #[test]
    fn request_lines_become_requests() {
        let (m, bytes) = short_request(
            "POST /login username=zhangsan&password=123456",
            &settings(&[]),
        )
        .expect("valid");
        assert_eq!(m, "POST");
        let text = String::from_utf8(bytes).expect("text");
        assert!(
            text.starts_with("POST /login HTTP/1.1\r\nHost: h:1\r\n"),
            "{text}"
        );
        assert!(text.contains("Content-Length: 33\r\n") && text.contains("x-www-form-urlencoded"));
        assert!(short_request("get /", &settings(&[])).is_err());
        assert!(short_request("GET x", &settings(&[])).is_err());
    }

    #[test]
    fn header_options_replace_or_join_the_short_forms_fields() {
        let h: Vec<Field> = ["Accept: text/plain", "X-Trace: 1"]
            .iter()
            .map(|f| f.parse().expect("field"))
            .collect();
        let (_, bytes) = short_request("GET /x", &settings(&h)).expect("valid");
        let text = String::from_utf8(bytes).expect("text");
        assert!(text.contains("\r\nAccept: text/plain\r\n"), "{text}");
        assert!(!text.contains("*/*"), "{text}");
        assert!(text.ends_with("X-Trace: 1\r\n\r\n"), "{text}");
        assert!("Bad Name: x".parse::<Field>().is_err());
        assert!("X: a\rb".parse::<Field>().is_err());
    }

    #[test]
    fn a_typed_head_is_sent_as_typed_with_crlf_at_its_empty_line() {
        let s = settings(&[]);
        let mut t = Typing::default();
        assert!(matches!(t.line("GET /x HTTP/1.1", &s), Typed::Held));
        assert!(matches!(t.line("Host: example", &s), Typed::Held));
        assert!(matches!(t.line("Range: bytes=0-9", &s), Typed::Held));
        assert!(matches!(t.line("not a field", &s), Typed::Refused(_)));
        assert_eq!(
            sent(t.line("", &s)),
            b"GET /x HTTP/1.1\r\nHost: example\r\nRange: bytes=0-9\r\n\r\n"
        );
        assert!(matches!(t, Typing::Idle));
    }

    #[test]
    fn a_typed_body_follows_its_head() {
        let s = settings(&[]);
        let mut t = Typing::default();
        t.line("POST /x HTTP/1.1", &s);
        t.line("Content-Length: 5", &s);
        sent(t.line("", &s));
        assert_eq!(t.body_left(), Some(5));
        t.body_typed(5);
        assert!(matches!(t, Typing::Idle));
        t.line("POST /c HTTP/1.1", &s);
        t.line("Transfer-Encoding: chunked", &s);
        sent(t.line("", &s));
        for line in ["5", "hello", "0"] {
            assert_eq!(sent(t.line(line, &s)), crlf(line));
        }
        assert_eq!(sent(t.line("", &s)), b"\r\n");
        assert!(matches!(t, Typing::Idle));
        t.line("GET / HTTP/1.1", &s);
        assert!(t.unfinished().is_some());
    }
}
