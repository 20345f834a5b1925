//! Property: however a stream is cut into reads, the frames are the same —
//! and they are exactly the messages that were encoded.

use proptest::prelude::*;

use socklab::framing::message::{Assembler, Message};
use socklab::framing::{Content, Frame, FrameReader, JsonFraming, Limits, Proto, Role, codec};

/// Text with the characters that trouble parsers: quotes, brackets,
/// ampersands, backslashes, multi-byte UTF-8.
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z0-9 <>&\"'\\\\{}:,中午一起吃饭é😀]{0,24}")
        .expect("regex")
}

fn message() -> impl Strategy<Value = Message> {
    (text(), text(), text()).prop_map(|(from, to, body)| Message { from, to, body })
}

/// Cut points: up to 12 offsets, taken modulo the stream length.
fn cuts() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0usize..10_000, 0..12)
}

fn decode(
    proto: Proto,
    framing: JsonFraming,
    role: Role,
    stream: &[u8],
    cuts: &[usize],
) -> Vec<Frame> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut reader = FrameReader::new(codec(proto, framing, role), Limits::default());
    let mut frames = Vec::new();
    let mut start = 0;
    for end in points.into_iter().chain([stream.len()]) {
        reader.push(&stream[start..end]);
        start = end;
        while let Some(f) = reader.next_frame().expect("a valid stream never errors") {
            frames.push(f);
        }
    }
    while let Some(f) = reader.finish().expect("a valid stream ends cleanly") {
        frames.push(f);
    }
    frames
}

fn messages_of(frames: &[Frame]) -> Vec<Message> {
    let mut a = Assembler::default();
    frames.iter().filter_map(|f| a.push(f)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn json_any_chunking(msgs in proptest::collection::vec(message(), 1..6), cuts in cuts(), length in any::<bool>()) {
        let framing = if length { JsonFraming::Length } else { JsonFraming::Newline };
        let stream: Vec<u8> = msgs.iter().flat_map(|m| m.encode(Proto::Json, framing, "h")).collect();
        let frames = decode(Proto::Json, framing, Role::Server, &stream, &cuts);
        prop_assert_eq!(&frames, &decode(Proto::Json, framing, Role::Server, &stream, &[]));
        prop_assert_eq!(messages_of(&frames), msgs);
    }

    #[test]
    fn xml_any_chunking(msgs in proptest::collection::vec(message(), 1..6), cuts in cuts(), stream_root in any::<bool>()) {
        let mut stream = Vec::new();
        if stream_root {
            stream.extend_from_slice(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
        }
        for m in &msgs {
            stream.extend(m.encode(Proto::Xml, JsonFraming::Newline, "h"));
        }
        let frames = decode(Proto::Xml, JsonFraming::Newline, Role::Server, &stream, &cuts);
        prop_assert_eq!(&frames, &decode(Proto::Xml, JsonFraming::Newline, Role::Server, &stream, &[]));
        prop_assert_eq!(messages_of(&frames), msgs);
        prop_assert_eq!(frames.iter().map(|f| f.wire.len()).sum::<usize>(), stream.len());
    }

    #[test]
    fn http_any_chunking(msgs in proptest::collection::vec(message(), 1..5), cuts in cuts()) {
        let stream: Vec<u8> = msgs.iter().flat_map(|m| m.encode(Proto::Http, JsonFraming::Newline, "h")).collect();
        let frames = decode(Proto::Http, JsonFraming::Newline, Role::Server, &stream, &cuts);
        prop_assert_eq!(messages_of(&frames), msgs);
    }

    #[test]
    fn lines_any_chunking(lines in proptest::collection::vec("[^\n\r]{0,40}", 1..8), crlf in any::<bool>(), cuts in cuts()) {
        let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let stream: Vec<u8> = lines.iter().flat_map(|l| [l.as_bytes(), end].concat()).collect();
        let frames = decode(Proto::Lines, JsonFraming::Newline, Role::Server, &stream, &cuts);
        let got: Vec<String> = frames.iter().map(|f| match &f.content {
            Content::Line { .. } => String::from_utf8(f.line().to_vec()).expect("utf-8"),
            other => panic!("{other:?}"),
        }).collect();
        prop_assert_eq!(got, lines);
    }

    #[test]
    fn no_input_makes_any_codec_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), cuts in cuts()) {
        for proto in [Proto::Raw, Proto::Lines, Proto::Http, Proto::Xml, Proto::Json] {
            for role in [Role::Server, Role::Client] {
                let mut reader = FrameReader::new(codec(proto, JsonFraming::Length, role), Limits::default());
                let mut start = 0;
                let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
                points.sort_unstable();
                for end in points.into_iter().chain([bytes.len()]) {
                    reader.push(&bytes[start..end.max(start)]);
                    start = end.max(start);
                    while let Ok(Some(_)) = reader.next_frame() {}
                }
                while let Ok(Some(_)) = reader.finish() {}
            }
        }
    }
}
