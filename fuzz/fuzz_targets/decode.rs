//! Any bytes, cut into any pieces, into any codec: never a panic, never a
//! frame that claims bytes it was not given, never a buffer over the limit.
//!
//! The first input byte chooses the codec and role, the second the piece
//! size; the rest is the stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socklab::framing::{FrameReader, JsonFraming, Limits, Proto, Role, codec};

fuzz_target!(|data: &[u8]| {
    let [choice, chunk, stream @ ..] = data else { return };
    let (proto, framing) = match choice % 6 {
        0 => (Proto::Lines, JsonFraming::Newline),
        1 => (Proto::Http, JsonFraming::Newline),
        2 => (Proto::Xml, JsonFraming::Newline),
        3 => (Proto::Json, JsonFraming::Newline),
        4 => (Proto::Json, JsonFraming::Length),
        _ => (Proto::Raw, JsonFraming::Newline),
    };
    let role = if choice & 0x80 == 0 { Role::Server } else { Role::Client };
    // Small limits, so that the limit paths are reached too.
    let limits = Limits { max_frame: 4096, max_headers: 16, max_header_bytes: 1024, max_depth: 8 };
    let mut reader = FrameReader::new(codec(proto, framing, role), limits);
    let mut framed = 0;
    for piece in stream.chunks(usize::from(*chunk).max(1)) {
        reader.push(piece);
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => framed += frame.wire.len(),
                Ok(None) => break,
                Err(e) if e.skip.is_some() => continue,
                Err(_) => return,
            }
        }
        assert!(reader.buffered() <= limits.max_frame + piece.len(), "buffer over the limit");
    }
    while let Ok(Some(frame)) = reader.finish() {
        framed += frame.wire.len();
    }
    assert!(framed <= stream.len(), "frames claim {framed} bytes of {}", stream.len());
});
