//! What is typed, as a protocol's wire bytes: JSON objects re-framed, request
//! lines completed into HTTP requests, lines turned into messages with
//! `--from`/`--to`; raw, lines and xml pass through.

use crate::framing::http;
use crate::framing::message::Message;
use crate::framing::{Proto, json};
use crate::trace::{Event, Side, Tracer};

use super::Framing;

/// What to send for what was typed.
#[derive(Default)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    /// HTTP methods of the requests built (the reader must know about HEAD).
    pub methods: Vec<String>,
}

pub struct Outbound {
    framing: Framing,
    partial: Vec<u8>,
    lines: u64,
    /// telnet: the last byte typed was CR (a CR LF split across chunks).
    last_cr: bool,
}

impl Outbound {
    pub fn new(framing: Framing) -> Outbound {
        Outbound {
            framing,
            partial: Vec::new(),
            lines: 0,
            last_cr: false,
        }
    }

    /// Whether input is taken line by line (each line one message).
    pub fn by_line(&self) -> bool {
        self.framing.sender.is_some() || matches!(self.framing.proto, Proto::Json | Proto::Http)
    }

    /// A chunk of input: complete lines are encoded, the rest waits.
    pub fn encode(&mut self, t: &mut Tracer, side: Side, chunk: &[u8]) -> Encoded {
        if self.framing.proto == Proto::Telnet && self.framing.sender.is_none() {
            // The NVT's rules: a data byte 255 is doubled, a line ends CR LF.
            return Encoded {
                bytes: crate::framing::telnet::escape(chunk, &mut self.last_cr),
                methods: Vec::new(),
            };
        }
        if !self.by_line() {
            return Encoded {
                bytes: chunk.to_vec(),
                methods: Vec::new(),
            };
        }
        let mut encoded = Encoded::default();
        for piece in chunk.split_inclusive(|&b| b == b'\n') {
            self.partial.extend_from_slice(piece);
            if piece.ends_with(b"\n") {
                let line = std::mem::take(&mut self.partial);
                self.encode_line(t, side, &line, &mut encoded);
            }
        }
        encoded
    }

    /// The input ended: a last line without a newline is still a message.
    pub fn finish(&mut self, t: &mut Tracer, side: Side) -> Encoded {
        let mut encoded = Encoded::default();
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.encode_line(t, side, &line, &mut encoded);
        }
        encoded
    }

    fn encode_line(&mut self, t: &mut Tracer, side: Side, line: &[u8], out: &mut Encoded) {
        self.lines += 1;
        let text = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(line));
        let text = text.strip_suffix('\r').unwrap_or(&text);
        if text.trim().is_empty() {
            return;
        }
        let f = &self.framing;
        if let Some((from, to)) = &f.sender {
            let m = Message {
                from: from.clone(),
                to: to.clone(),
                body: text.to_string(),
            };
            if f.proto == Proto::Http {
                out.methods.push("POST".into());
            }
            out.bytes.extend(m.encode(f.proto, f.json, &f.host));
            return;
        }
        let result = match f.proto {
            Proto::Json => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v) if v.is_object() => Ok(json::encode(&v, f.json)),
                Ok(_) => {
                    Err("it is JSON but not an object: each message must be {...}".to_string())
                }
                Err(e) => Err(format!("it is not JSON ({e})")),
            },
            Proto::Http => http_request(text, &f.host).map(|(method, bytes)| {
                out.methods.push(method);
                bytes
            }),
            _ => Ok(line.to_vec()),
        };
        match result {
            Ok(bytes) => out.bytes.extend(bytes),
            Err(why) => {
                let message = format!("line {} was not sent: {why}", self.lines);
                let next = match f.proto {
                    Proto::Json => {
                        r#"type one JSON object per line, e.g. {"from":"Vincent","to":"Eli","body":"hi"}, or use --from and --to"#
                    }
                    _ => {
                        "type a request line: `GET /path`, or `POST /login username=zhangsan&password=123456`"
                    }
                };
                let ev = Event::Error {
                    kind: "bad_input",
                    message: (&message).into(),
                    why: "",
                    next,
                    errno: None,
                    pointer: None,
                };
                t.emit(side, None, ev);
            }
        }
    }
}

/// `GET /x` or `POST /login a=1&b=2` (or with a JSON body) → a request.
fn http_request(line: &str, host: &str) -> Result<(String, Vec<u8>), String> {
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
    let kind = if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    Ok((
        method.to_string(),
        http::request(method, target, host, body, kind),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_become_requests() {
        let (m, bytes) =
            http_request("POST /login username=zhangsan&password=123456", "h:1").expect("valid");
        assert_eq!(m, "POST");
        let text = String::from_utf8(bytes).expect("text");
        assert!(
            text.starts_with("POST /login HTTP/1.1\r\nHost: h:1\r\n"),
            "{text}"
        );
        assert!(text.contains("Content-Length: 33\r\n") && text.contains("x-www-form-urlencoded"));
        assert!(http_request("get /", "h").is_err());
        assert!(http_request("GET x", "h").is_err());
    }
}
