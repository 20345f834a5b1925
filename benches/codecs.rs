//! Decode throughput of each codec on a stream of small messages, beside the
//! parser it wraps doing the same job with the least possible code around it
//! (serde_json per line or per length-prefixed payload, httparse per head
//! plus Content-Length, rxml over the whole stream), in the same run.
//!
//! The framing layer's cost is the ratio: socklab / raw. Target: within 2×.
//!
//!     cargo bench --bench codecs

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rxml::{Parse, Parser};
use socklab::framing::message::Message;
use socklab::framing::{FrameReader, JsonFraming, Limits, Proto, Role, codec};

const MESSAGES: usize = 10_000;
/// Bytes per push, as a socket read might deliver them.
const READ: usize = 64 * 1024;

fn message(i: usize) -> Message {
    Message {
        from: "Vincent".into(),
        to: format!("Eli{i}"),
        body: "中午一起吃饭 & see you at 12".into(),
    }
}

fn stream(proto: Proto, framing: JsonFraming) -> Vec<u8> {
    let mut s = Vec::new();
    if proto == Proto::Xml {
        s.extend_from_slice(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    }
    for i in 0..MESSAGES {
        s.extend(message(i).encode(proto, framing, "127.0.0.1:5288"));
    }
    s
}

/// socklab's way: push reads into a FrameReader, take frames out.
fn socklab(proto: Proto, framing: JsonFraming, data: &[u8]) -> usize {
    let mut reader = FrameReader::new(codec(proto, framing, Role::Server), Limits::default());
    let mut frames = 0;
    for piece in data.chunks(READ) {
        reader.push(piece);
        while let Some(f) = reader.next_frame().expect("valid") {
            black_box(&f);
            frames += 1;
        }
    }
    frames
}

fn raw_json_lines(data: &[u8]) -> usize {
    let mut n = 0;
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        black_box(serde_json::from_slice::<serde_json::Value>(line).expect("json"));
        n += 1;
    }
    n
}

fn raw_lines(data: &[u8]) -> usize {
    let mut n = 0;
    for line in data.split(|&b| b == b'\n') {
        black_box(line.to_vec());
        n += 1;
    }
    n
}

fn raw_json_length(mut data: &[u8]) -> usize {
    let mut n = 0;
    while data.len() >= 4 {
        let len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
        black_box(serde_json::from_slice::<serde_json::Value>(&data[4..4 + len]).expect("json"));
        data = &data[4 + len..];
        n += 1;
    }
    n
}

fn raw_http(data: &[u8]) -> usize {
    let mut pos = 0;
    let mut n = 0;
    while pos < data.len() {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(head) = req.parse(&data[pos..]).expect("http") else {
            panic!("partial")
        };
        let len: usize = req
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok())
            .unwrap_or(0);
        black_box(&req);
        pos += head + len;
        n += 1;
    }
    n
}

fn raw_xml(data: &[u8]) -> usize {
    let mut parser = Parser::new();
    let mut events = 0;
    let mut rest = data;
    let _ = parser.parse_all(&mut rest, false, |ev| {
        black_box(ev);
        events += 1;
    });
    events
}

fn bench(c: &mut Criterion) {
    type Raw = fn(&[u8]) -> usize;
    let cases: [(&str, Proto, JsonFraming, Raw); 4] = [
        (
            "json-newline",
            Proto::Json,
            JsonFraming::Newline,
            raw_json_lines,
        ),
        (
            "json-length",
            Proto::Json,
            JsonFraming::Length,
            raw_json_length,
        ),
        ("http", Proto::Http, JsonFraming::Newline, raw_http),
        ("xml", Proto::Xml, JsonFraming::Newline, raw_xml),
    ];
    for (name, proto, framing, raw) in cases {
        let data = stream(proto, framing);
        assert!(socklab(proto, framing, &data) >= MESSAGES);
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function("socklab", |b| {
            b.iter(|| socklab(proto, framing, black_box(&data)))
        });
        group.bench_function("raw", |b| b.iter(|| raw(black_box(&data))));
        group.finish();
    }
    let lines: Vec<u8> = (0..MESSAGES)
        .flat_map(|i| message(i).line().into_bytes().into_iter().chain([b'\n']))
        .collect();
    let mut group = c.benchmark_group("lines");
    group.throughput(Throughput::Bytes(lines.len() as u64));
    group.bench_function("socklab", |b| {
        b.iter(|| socklab(Proto::Lines, JsonFraming::Newline, black_box(&lines)))
    });
    group.bench_function("raw", |b| b.iter(|| raw_lines(black_box(&lines))));
    group.finish();
}

criterion_group! {
    name = codecs;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(codecs);
