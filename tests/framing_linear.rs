//! Every codec is linear in its input, whatever the bytes and however they
//! are cut: 1 MB of the worst input we know for each codec, fed in 1-byte,
//! 7-byte and 64 KiB pieces, against 1 MB of ordinary traffic for the same
//! codec fed the same way. The claim is a ratio of two times measured in
//! this process, never an absolute time: a linear codec stays within a
//! small factor of ordinary traffic, a quadratic one (each newline
//! re-trimming the blank lines before it, a trickled chunk extension
//! rescanned from its start) is hundreds of times slower at this size.
//!
//! Some worst inputs are made of tiny frames (a megabyte of newlines is a
//! million lines), and a frame costs a small allocation however it is cut:
//! such an input is compared per frame as well, and passes if either ratio
//! is small. A codec quadratic in bytes or in frames fails both.
//!
//! All cases run in one test, one after the other, so that they do not
//! compete for the CPU with each other; a case that runs far past its bound
//! is stopped, so that a regression fails in seconds, not minutes.

use std::time::{Duration, Instant};

use socklab::framing::{FrameReader, JsonFraming, Limits, Proto, Role, codec};

const MB: usize = 1 << 20;

/// Limits high enough that no case stops early on a limit: the point is
/// the work per byte.
fn limits() -> Limits {
    Limits {
        max_frame: 64 * MB,
        max_headers: 4096,
        max_header_bytes: 64 * 1024,
        max_depth: 1000,
    }
}

#[derive(Clone, Copy, PartialEq)]
struct Codec {
    proto: Proto,
    json: JsonFraming,
    role: Role,
}

impl Codec {
    const fn new(proto: Proto, json: JsonFraming, role: Role) -> Codec {
        Codec { proto, json, role }
    }
}

const LINES: Codec = Codec::new(Proto::Lines, JsonFraming::Newline, Role::Server);
const RAW: Codec = Codec::new(Proto::Raw, JsonFraming::Newline, Role::Server);
const NDJSON: Codec = Codec::new(Proto::Json, JsonFraming::Newline, Role::Server);
const JSON_LENGTH: Codec = Codec::new(Proto::Json, JsonFraming::Length, Role::Server);
const HTTP_SERVER: Codec = Codec::new(Proto::Http, JsonFraming::Newline, Role::Server);
const HTTP_CLIENT: Codec = Codec::new(Proto::Http, JsonFraming::Newline, Role::Client);
const XML: Codec = Codec::new(Proto::Xml, JsonFraming::Newline, Role::Server);
const TELNET: Codec = Codec::new(Proto::Telnet, JsonFraming::Newline, Role::Server);

/// Repeats `unit` until the input is at least 1 MB, inside `open`/`close`.
fn fill(open: &str, unit: &[u8], close: &str) -> Vec<u8> {
    let mut v = open.as_bytes().to_vec();
    while v.len() + close.len() < MB {
        v.extend_from_slice(unit);
    }
    v.extend_from_slice(close.as_bytes());
    v
}

/// What feeding an input cost.
#[derive(Clone, Copy)]
struct Run {
    time: Duration,
    frames: usize,
    /// Whether it got to the end before its deadline.
    finished: bool,
}

/// Feeds `input` in `piece`-byte reads and takes every frame out, giving
/// up after `limit`.
fn decode(c: Codec, input: &[u8], piece: usize, limit: Duration) -> Run {
    let mut r = FrameReader::new(codec(c.proto, c.json, c.role), limits());
    let started = Instant::now();
    let mut frames = 0;
    for (i, p) in input.chunks(piece).enumerate() {
        r.push(p);
        while let Some(_f) = r.next_frame().unwrap_or_else(|e| panic!("{e}")) {
            frames += 1;
        }
        if i % 256 == 0 && started.elapsed() > limit {
            return Run {
                time: started.elapsed(),
                frames,
                finished: false,
            };
        }
    }
    while let Some(_f) = r.finish().unwrap_or_else(|e| panic!("at the end: {e}")) {
        frames += 1;
    }
    Run {
        time: started.elapsed(),
        frames,
        finished: true,
    }
}

/// Ordinary traffic for each codec: the messages it exists for.
fn ordinary(c: Codec) -> Vec<u8> {
    let json = br#"{"from":"Vincent","to":"Eli","body":"lunch at noon? see you there"}"#;
    match (c.proto, c.json, c.role) {
        (Proto::Lines | Proto::Raw, ..) => fill("", b"HELO client.example.net, ready when you are\r\n", ""),
        (Proto::Json, JsonFraming::Newline, _) => fill("", &[&json[..], b"\n"].concat(), ""),
        (Proto::Json, JsonFraming::Length, _) => {
            fill("", &[&(json.len() as u32).to_be_bytes()[..], json].concat(), "")
        }
        (Proto::Http, _, Role::Server) => fill(
            "",
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1:5288\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 33\r\n\r\nusername=zhangsan&password=123456",
            "",
        ),
        (Proto::Http, _, Role::Client) => fill(
            "",
            b"HTTP/1.1 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.12\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\nhello from python\n",
            "",
        ),
        (Proto::Telnet, ..) => fill("", b"HELO client.example.net, ready when you are\r\n", ""),
        (Proto::Xml, ..) => fill(
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
            b"<message from='vincent@example.net' to='eli@example.net'><body>lunch at noon?</body></message>",
            "</stream:stream>",
        ),
    }
}

/// The inputs that make each codec work hardest per byte.
fn worst_inputs() -> Vec<(&'static str, Codec, Vec<u8>)> {
    let long_value = "v".repeat(60);
    let header_lines: String = (0..800)
        .map(|i| format!("X-{i}: {long_value}\r\n"))
        .collect();
    let big_head = format!("GET / HTTP/1.1\r\n{header_lines}\r\n");
    let trailers: String = (0..1500).map(|i| format!("X-T{i}: t\r\n")).collect();
    let ext = format!("1;{}={}\r\na\r\n", "n".repeat(8000), "v".repeat(8000));
    let attrs: String = (0..5000).map(|i| format!(" a{i}='v'")).collect();
    let decls: String = (0..5000)
        .map(|i| format!(" xmlns:p{i}='urn:{i}'"))
        .collect();
    let deep = format!("{}{}", "<a>".repeat(900), "</a>".repeat(900));
    vec![
        ("lines: no newline at all", LINES, fill("", b"x", "\n")),
        ("lines: nothing but newlines", LINES, fill("", b"\n", "")),
        ("lines: CR LF only", LINES, fill("", b"\r\n", "")),
        ("raw: any bytes", RAW, fill("", b"\0\xff\n", "")),
        ("json: nothing but blank lines", NDJSON, fill("", b"\n", "{}\n")),
        ("json: whitespace-only lines", NDJSON, fill("", b" \t \r\n", "{}\n")),
        ("json: one 1 MB line", NDJSON, fill("{\"a\":\"", b"x", "\"}\n")),
        ("json: tiny objects", NDJSON, fill("", b"{}\n", "")),
        ("json length: tiny frames", JSON_LENGTH, fill("", b"\0\0\0\x02{}", "")),
        ("json length: one 1 MB frame", JSON_LENGTH, {
            let body = fill("{\"a\":\"", b"x", "\"}");
            [&(body.len() as u32).to_be_bytes()[..], &body].concat()
        }),
        ("http: 60 KB heads", HTTP_SERVER, fill("", big_head.as_bytes(), "")),
        ("http: bare-LF heads", HTTP_SERVER, fill("", b"GET / HTTP/1.1\nHost: x\nA: b\n\n", "")),
        ("http: empty lines before requests", HTTP_SERVER, fill("", b"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", "")),
        ("http: one-byte chunks", HTTP_SERVER, fill(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"1\r\na\r\n",
            "0\r\n\r\n",
        )),
        ("http: chunk extensions", HTTP_SERVER, fill(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            ext.as_bytes(),
            "0\r\n\r\n",
        )),
        ("http: trailers", HTTP_CLIENT, fill(
            "",
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n{trailers}\r\n").as_bytes(),
            "",
        )),
        ("telnet: one line of IAC IAC", TELNET, fill("", &[255, 255], "\r\n")),
        ("telnet: nothing but commands", TELNET, fill("", &[255, 241], "")),
        ("telnet: negotiations", TELNET, fill("", &[255, 251, 24, 255, 254, 31], "")),
        ("telnet: window sizes", TELNET, fill("", &[255, 250, 31, 0, 80, 0, 24, 255, 240], "")),
        ("telnet: a subnegotiation of IAC IAC", TELNET, {
            let sub = [&[255, 250, 24][..], &[255; 1000], &[255, 240]].concat();
            fill("", &sub, "")
        }),
        ("telnet: a command inside every line", TELNET, fill("", &[b'a', 255, 241], "\r\n")),
        ("telnet: CR without LF", TELNET, fill("", b"x\r", "\n")),
        ("xml: wide (many empty children)", XML, fill("<r>", b"<a/>", "</r>")),
        ("xml: deep", XML, fill("", deep.as_bytes(), "")),
        ("xml: many attributes", XML, fill("", format!("<e{attrs}/>").as_bytes(), "")),
        ("xml: many namespace declarations", XML, fill("", format!("<e{decls}/>").as_bytes(), "")),
        ("xml: long text", XML, fill("<t>", b"x&amp;", "</t>")),
        ("xml: whitespace between stanzas", XML, fill("", b" \n\t", "<a/>")),
    ]
}

/// The bound on both ratios. Linear codecs measure 0.1× to 5× here.
const BOUND: f64 = 10.0;

#[test]
fn every_codec_is_linear_in_its_input_whatever_the_bytes() {
    let mut report = String::new();
    let mut failures = Vec::new();
    for piece in [1, 7, 64 * 1024] {
        let mut baselines: Vec<(Codec, Run)> = Vec::new();
        for (name, c, input) in worst_inputs() {
            let base = match baselines.iter().find(|(b, _)| *b == c) {
                Some((_, run)) => *run,
                None => {
                    let run = decode(c, &ordinary(c), piece, Duration::MAX);
                    baselines.push((c, run));
                    run
                }
            };
            let limit = base.time.mul_f64(BOUND * 3.0) + Duration::from_millis(100);
            let worst = decode(c, &input, piece, limit);
            let per_byte = worst.time.as_secs_f64() / base.time.as_secs_f64().max(1e-6);
            let per_frame = if worst.frames > base.frames {
                per_byte * base.frames.max(1) as f64 / worst.frames as f64
            } else {
                per_byte
            };
            let ok = worst.finished && per_byte.min(per_frame) < BOUND;
            report.push_str(&format!(
                "{piece:>6}-byte pieces  {name:<36} {per_byte:>6.1}× per byte {per_frame:>6.1}× per frame  ({:?} vs {:?}, {} frames){}\n",
                worst.time,
                base.time,
                worst.frames,
                if worst.finished { "" } else { "  STOPPED" }
            ));
            if !ok {
                failures.push(format!("{name} in {piece}-byte pieces"));
            }
        }
    }
    eprintln!("{report}");
    assert!(failures.is_empty(), "not linear: {failures:?}\n{report}");
}
