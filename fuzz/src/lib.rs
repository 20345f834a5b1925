//! What every fuzz target checks, whatever the codec: a stream of any bytes
//! is decoded whole, then in 1-byte and 7-byte reads, and
//!
//! - nothing panics (overflow checks and debug assertions are on);
//! - every frame is the next bytes of the input, never more than were
//!   given, never over `--max-frame`, and never empty but for the end of
//!   an HTTP message whose body ended with its last data;
//! - what the reader still holds is exactly the input not yet framed, and
//!   never more than the limit plus one read;
//! - every error and frame can be narrated (message, pointer, summary,
//!   stdout form);
//! - the reads give the same frames and errors as the whole input, up to
//!   the first "too large" (a frame over the limit is refused when it
//!   arrives whole and when it arrives in pieces, but in pieces it is
//!   refused before its later bytes are seen). HTTP body pieces follow the
//!   reads, so consecutive pieces are compared joined: the same bytes, the
//!   same body data;
//! - content invariants: an HTTP message is a head, body pieces and an end,
//!   in that order; a piece's data is within its frame (the whole frame
//!   unless the body is chunked); an end counts exactly the data of the
//!   pieces before it; a line's stdout form is its bytes, a JSON object's
//!   is its own text; an XML stanza's tree stays within a small multiple
//!   of its bytes.
//!
//! Limits are small, so that inputs of a few kilobytes reach every limit.

use socklab::framing::http::{Length, Part};
use socklab::framing::telnet;
use socklab::framing::xml::{Stanza, TREE_FACTOR};
use socklab::framing::{
    Content, ErrorKind, Frame, FrameError, FrameReader, JsonFraming, Limits, Proto, Role, codec,
};

pub const LIMITS: Limits = Limits {
    max_frame: 8192,
    max_headers: 24,
    max_header_bytes: 2048,
    max_depth: 12,
};

/// A codec and the side that reads with it.
#[derive(Clone, Copy)]
pub struct Target {
    pub proto: Proto,
    pub json: JsonFraming,
    pub role: Role,
}

impl Target {
    pub const fn new(proto: Proto, json: JsonFraming, role: Role) -> Target {
        Target { proto, json, role }
    }
}

/// A client's requests, in order, so that the answers to HEAD (no body)
/// and CONNECT (a tunnel) are read as such; later answers are to GET.
const SENT: [&str; 4] = ["GET", "HEAD", "GET", "CONNECT"];

#[derive(Debug, PartialEq)]
enum Step {
    Frame(Frame),
    /// Consecutive HTTP body pieces, joined: their bytes and their data.
    Body { wire: Vec<u8>, data: Vec<u8> },
    Error(ErrorKind),
}

/// Where an HTTP stream is: between messages, or inside one whose body
/// is chunked or not and has had `data` bytes so far.
#[derive(Default)]
struct Message {
    open: Option<(bool, u64)>,
}

/// Runs every check on `data` as a stream for `target`.
pub fn check(target: Target, data: &[u8]) {
    let whole = run(target, data, data.len().max(1));
    for piece in [1, 7] {
        let cut = run(target, data, piece);
        if target.proto == Proto::Raw {
            // Raw frames are the reads themselves: only the bytes must agree.
            assert_eq!(wire(&whole), wire(&cut), "{piece}-byte reads");
        } else {
            same_until_too_large(&whole, &cut, piece);
        }
    }
}

fn wire(steps: &[Step]) -> Vec<u8> {
    steps
        .iter()
        .flat_map(|s| match s {
            Step::Frame(f) => f.wire.clone(),
            Step::Body { wire, .. } => wire.clone(),
            Step::Error(_) => Vec::new(),
        })
        .collect()
}

fn same_until_too_large(whole: &[Step], cut: &[Step], piece: usize) {
    let too_large = |s: &[Step]| {
        s.iter()
            .position(|x| *x == Step::Error(ErrorKind::TooLarge))
            .unwrap_or(s.len())
    };
    let (a, b) = (too_large(whole), too_large(cut));
    if a == whole.len() && b == cut.len() {
        assert_eq!(whole, cut, "{piece}-byte reads differ from the whole input");
    } else {
        let n = a.min(b);
        assert_eq!(
            whole[..n],
            cut[..n],
            "{piece}-byte reads differ before a limit"
        );
    }
}

fn run(t: Target, data: &[u8], piece: usize) -> Vec<Step> {
    let mut r = FrameReader::new(codec(t.proto, t.json, t.role), LIMITS);
    if t.proto == Proto::Http && t.role == Role::Client {
        SENT.iter().for_each(|m| r.codec_mut().sent_request(m));
    }
    let mut steps = Vec::new();
    let mut message = Message::default();
    // Where the next frame must begin in `data`, and how much was pushed.
    let (mut at, mut given) = (0, 0);
    for p in data.chunks(piece) {
        r.push(p);
        given += p.len();
        loop {
            let answer = r.next_frame();
            match record(answer, data, (&mut at, given), &mut message, &mut steps) {
                Next::More => {}
                Next::Wait => break,
                Next::Stop => return steps,
            }
        }
        // Between reads the chat server lets an idle reader give its memory
        // back (an XMPP parser sleeps between stanzas): the frames that follow
        // must be the same as if it had not.
        r.release_if_idle();
        assert_eq!(
            r.buffered(),
            given - at,
            "the reader holds other bytes than the unframed ones"
        );
        assert!(
            r.buffered() <= LIMITS.max_frame + p.len(),
            "{} bytes buffered, over the limit",
            r.buffered()
        );
    }
    while let Next::More = record(r.finish(), data, (&mut at, given), &mut message, &mut steps) {}
    steps
}

/// What the reader's last answer means for the loop asking it.
enum Next {
    More,
    Wait,
    Stop,
}

/// Checks and records one answer of the reader.
fn record(
    answer: Result<Option<Frame>, FrameError>,
    data: &[u8],
    (at, given): (&mut usize, usize),
    message: &mut Message,
    steps: &mut Vec<Step>,
) -> Next {
    match answer {
        Ok(Some(f)) => {
            claim(&f, data, at, given, message);
            push(steps, f);
            Next::More
        }
        Ok(None) => Next::Wait,
        Err(e) => {
            narrate(&e);
            message.open = None;
            steps.push(Step::Error(e.kind));
            match e.skip {
                Some(n) => {
                    *at = (*at + n).min(given);
                    Next::More
                }
                None => Next::Stop,
            }
        }
    }
}

/// Records a frame, joining an HTTP body piece to the one before it.
fn push(steps: &mut Vec<Step>, f: Frame) {
    let Content::Http(part @ Part::Body(_)) = &f.content else {
        steps.push(Step::Frame(f));
        return;
    };
    let piece = part.body(&f.wire).unwrap_or_default();
    match steps.last_mut() {
        Some(Step::Body { wire, data }) => {
            wire.extend_from_slice(&f.wire);
            data.extend_from_slice(piece);
        }
        _ => steps.push(Step::Body {
            data: piece.to_vec(),
            wire: f.wire,
        }),
    }
}

/// A frame is the next bytes of the input, and its content fits them.
fn claim(f: &Frame, data: &[u8], at: &mut usize, given: usize, message: &mut Message) {
    let n = f.wire.len();
    let empty_end = matches!(f.content, Content::Http(Part::End(_))) && message.open.is_some();
    assert!(n > 0 || empty_end, "an empty frame");
    assert!(n <= LIMITS.max_frame, "a {n}-byte frame over the limit");
    assert!(*at + n <= given, "a frame claims bytes it was not given");
    assert_eq!(f.wire, data[*at..*at + n], "a frame is not the next bytes");
    *at += n;
    // A body fed a byte at a time is thousands of pieces: each is checked,
    // but narrated (summary, stdout form) only when it opens its body,
    // which exercises the same code at a fraction of the cost.
    let later_piece = matches!(f.content, Content::Http(Part::Body(_)))
        && message.open.is_some_and(|(_, seen)| seen > 0);
    if later_piece {
        return http_part(part_of(f), &f.wire, message);
    }
    let _ = f.summary();
    let out = f.output();
    match &f.content {
        Content::Bytes | Content::Line { .. } => assert_eq!(out, f.wire, "stdout is not the bytes"),
        Content::Http(part) => {
            assert_eq!(Some(&out[..]), part.body(&f.wire).or(Some(b"")), "stdout");
            http_part(part, &f.wire, message)
        }
        Content::Json(o) => assert_eq!(out.last(), Some(&b'\n'), "{o:?}"),
        Content::Xml(Stanza::Element(e)) => {
            // A node is ~100 bytes: `x<a/>` (5 bytes) is two of them.
            let bytes = e.heap_bytes();
            assert!(bytes <= 48 * n + 1024, "a {bytes}-byte tree for {n} bytes");
            assert!(
                bytes <= 2 * TREE_FACTOR * LIMITS.max_frame,
                "a {bytes}-byte tree"
            );
        }
        Content::Telnet(item) => {
            // Commands never reach stdout; data is the wire bytes minus
            // escapes, so never longer than them.
            assert!(out.len() <= n, "telnet output longer than its frame");
            if !matches!(item, telnet::Item::Data { .. }) {
                assert!(out.is_empty(), "a command reached stdout");
            }
            let _ = telnet::answer::answer(item);
        }
        Content::Xml(_) => {}
    }
}

fn part_of(f: &Frame) -> &Part {
    match &f.content {
        Content::Http(part) => part,
        other => panic!("not HTTP: {other:?}"),
    }
}

/// An HTTP frame fits where the message is: a head opens it, pieces carry
/// data within their frame, an end counts the data and closes it.
fn http_part(part: &Part, wire: &[u8], message: &mut Message) {
    match (part, message.open.as_mut()) {
        (Part::Head(m), None) => {
            let _ = (m.start_line(), m.headers().count(), m.wants_close());
            message.open = Some((m.body_length() == Length::Chunked, 0));
        }
        (Part::Body(range), Some((chunked, seen))) => {
            assert!(range.end <= wire.len(), "body data outside its frame");
            assert!(
                *chunked || *range == (0..wire.len()),
                "a piece of a body that is not chunked is all data"
            );
            *seen += range.len() as u64;
        }
        (Part::End(end), Some((_, seen))) => {
            assert_eq!(end.body, *seen, "the end miscounts the body");
            message.open = None;
        }
        (part, open) => panic!("{part:?} out of order (a message open: {})", open.is_some()),
    }
}

fn narrate(e: &FrameError) {
    assert!(!e.detail.is_empty(), "an error that says nothing");
    let _ = (e.to_string(), e.pointer());
}
