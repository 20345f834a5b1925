//! `json`: one JSON object per frame, in either of the two classic framings.
//!
//! - **newline** (NDJSON): each object on a line of its own. JSON never needs
//!   a raw newline inside a value, so the newline is an unambiguous end.
//! - **length**: a 4-byte big-endian length, then exactly that many bytes.
//!   Binary-safe and needs no scanning, but one lost byte desynchronises the
//!   stream for good.
//!
//! Objects only: a bare value at the end of a buffer is ambiguous (`12` may be
//! `123` with the `3` still in flight; `true` is complete but `t` is not),
//! and every message of a real protocol is an object anyway.
//!
//! A malformed object is skipped, not fatal: the framing (the newline, or the
//! length) says exactly where the next frame starts, so the stream can go on.
//!
//! A frame keeps the object's exact text beside its parsed view
//! ([`Object`]): stdout gets the text, so no number or repeated key is
//! lost on the way through.

mod object;

pub use object::Object;

use serde_json::Value;

use super::lines::find_newline;
use super::{Codec, Content, FrameError, JsonFraming, Limits};

pub struct Json {
    framing: JsonFraming,
    /// Newline framing: where the line being read begins. Blank lines
    /// before it are stepped over once, and counted into the next frame.
    line_start: usize,
    /// How far the bytes have been searched for LF.
    scanned: usize,
}

/// Bytes in the length prefix.
pub const PREFIX: usize = 4;

impl Json {
    pub fn new(framing: JsonFraming) -> Json {
        Json {
            framing,
            line_start: 0,
            scanned: 0,
        }
    }
}

/// Parses one frame's payload; `offset` is where the payload starts in the
/// frame, and `skip` the frame's whole length (to step over it on error).
fn object(payload: &[u8], offset: usize, skip: usize) -> Result<Object, FrameError> {
    match Object::parse(payload, offset) {
        Ok(o) if o.is_object() => Ok(o),
        Ok(other) => {
            let what = match other.value() {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            };
            Err(FrameError::malformed(
                "json",
                offset,
                format!("expected an object {{...}}, got {what}"),
            )
            .skipping(skip))
        }
        Err(e) => {
            let at = position(payload, e.line(), e.column());
            let detail = if e.is_eof() {
                "the object is not finished: each object must be complete within its frame"
                    .to_string()
            } else {
                e.to_string()
            };
            Err(FrameError::malformed("json", offset + at, detail).skipping(skip))
        }
    }
}

/// Byte offset of serde_json's (line, column), both 1-based.
fn position(payload: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = payload
        .split(|&b| b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    (line_start + column.saturating_sub(1)).min(payload.len())
}

impl Codec for Json {
    fn proto(&self) -> &'static str {
        "json"
    }

    fn decode(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        match self.framing {
            JsonFraming::Newline => loop {
                let Some(nl) = find_newline(buf, self.scanned) else {
                    self.scanned = buf.len();
                    return Ok(None);
                };
                let text = trim(buf, self.line_start..nl);
                if text.is_empty() {
                    // A blank line carries nothing: it becomes part of the
                    // next frame, and is never looked at again.
                    self.line_start = nl + 1;
                    self.scanned = nl + 1;
                    continue;
                }
                self.line_start = 0;
                self.scanned = 0;
                return object(&buf[text.clone()], text.start, nl + 1)
                    .map(|v| Some((Content::Json(v), nl + 1)));
            },
            JsonFraming::Length => {
                let Some(prefix) = buf.get(..PREFIX) else {
                    return Ok(None);
                };
                let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
                if len > limits.max_frame {
                    // Refuse at once: waiting for 4 GiB to arrive would
                    // be the attack.
                    return Err(FrameError::too_large(
                        "json",
                        format!(
                            "the length prefix announces {len} bytes, over the --max-frame limit of {} (is the peer sending newline-delimited JSON? try --json-framing newline)",
                            limits.max_frame
                        ),
                    ));
                }
                let Some(payload) = buf.get(PREFIX..PREFIX + len) else {
                    return Ok(None);
                };
                object(payload, PREFIX, PREFIX + len)
                    .map(|v| Some((Content::Json(v), PREFIX + len)))
            }
        }
    }

    fn decode_eof(
        &mut self,
        buf: &[u8],
        _: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        let detail = match self.framing {
            JsonFraming::Newline => {
                let text = trim(buf, self.line_start.min(buf.len())..buf.len());
                (self.line_start, self.scanned) = (0, 0);
                if text.is_empty() {
                    return Ok(None);
                }
                // A last object without its newline is still whole: it is
                // a frame (a datagram, or a file without a final newline).
                let payload = &buf[text.clone()];
                match serde_json::from_slice::<serde::de::IgnoredAny>(payload) {
                    Err(e) if e.is_eof() => format!(
                        "the stream ended in the middle of an object: {} bytes and no newline",
                        buf.len()
                    ),
                    _ => {
                        return object(payload, text.start, buf.len())
                            .map(|v| Some((Content::Json(v), buf.len())));
                    }
                }
            }
            JsonFraming::Length if buf.is_empty() => return Ok(None),
            JsonFraming::Length if buf.len() < PREFIX => {
                format!(
                    "the stream ended inside a length prefix ({} of 4 bytes)",
                    buf.len()
                )
            }
            JsonFraming::Length => {
                let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
                format!(
                    "the stream ended after {} of the {len} bytes the length prefix announced",
                    buf.len() - PREFIX
                )
            }
        };
        Err(FrameError::closed_mid_frame("json", buf.len(), detail))
    }
}

/// `span` without the ASCII whitespace at either end (JSON's whitespace,
/// and the CR of a CR LF line end).
fn trim(buf: &[u8], span: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let part = &buf[span.clone()];
    let lead = part.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let trail = part[lead..]
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_whitespace())
        .count();
    span.start + lead..span.end - trail
}

/// The wire form of one object: a line, or a length and the bytes.
pub fn encode(value: &Value, framing: JsonFraming) -> Vec<u8> {
    frame_text(value.to_string().as_bytes(), framing)
}

/// The wire form of an object's text, as it is (a typed line is sent as
/// typed, numbers and all).
pub fn frame_text(text: &[u8], framing: JsonFraming) -> Vec<u8> {
    match framing {
        JsonFraming::Newline => [text, b"\n"].concat(),
        JsonFraming::Length => [&(text.len() as u32).to_be_bytes()[..], text].concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::testing::{assert_any_split_same, decode_chunked};
    use crate::framing::{ErrorKind, FrameReader};
    use serde_json::json;

    fn reader(framing: JsonFraming) -> FrameReader {
        FrameReader::new(Box::new(Json::new(framing)), Limits::default())
    }

    fn message() -> Value {
        json!({"from": "Vincent", "to": "Eli", "body": "中午一起吃饭"})
    }

    fn values(frames: &[crate::framing::Frame]) -> Vec<Value> {
        frames
            .iter()
            .map(|f| match &f.content {
                Content::Json(v) => v.value().clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn both_framings_give_the_same_messages_at_every_split() {
        for framing in [JsonFraming::Newline, JsonFraming::Length] {
            let mut stream = encode(&message(), framing);
            stream.extend(encode(&json!({"n": 2}), framing));
            let frames = assert_any_split_same(|| reader(framing), &stream);
            assert_eq!(values(&frames), [message(), json!({"n": 2})], "{framing:?}");
        }
    }

    #[test]
    fn the_chinese_body_split_mid_character_decodes_right() {
        let wire = encode(&message(), JsonFraming::Newline);
        let mid = wire
            .windows(3)
            .position(|w| w == "午".as_bytes())
            .expect("午")
            + 1;
        let mut r = reader(JsonFraming::Newline);
        r.push(&wire[..mid]);
        assert_eq!(r.next_frame().expect("ok"), None);
        r.push(&wire[mid..]);
        assert_eq!(
            values(&[r.next_frame().expect("ok").expect("frame")]),
            [message()]
        );
    }

    #[test]
    fn a_bad_line_is_reported_with_its_position_and_skipped() {
        let (frames, err) =
            decode_chunked(reader(JsonFraming::Newline), b"{\"a\" 1}\n{\"b\":2}\n", 100);
        let err = err.expect("malformed");
        assert_eq!(err.kind, ErrorKind::Malformed);
        assert_eq!(err.at, 5, "{err:?}");
        assert!(err.pointer().ends_with("      ^"), "{}", err.pointer());
        assert!(frames.is_empty());
        // The reader stepped over the bad line: the next frame is fine.
        let mut r = reader(JsonFraming::Newline);
        r.push(b"{\"a\" 1}\n{\"b\":2}\n");
        assert!(r.next_frame().is_err());
        assert_eq!(
            values(&[r.next_frame().expect("ok").expect("frame")]),
            [json!({"b": 2})]
        );
    }

    #[test]
    fn bare_values_are_not_frames() {
        for (line, what) in [
            (&b"12\n"[..], "a number"),
            (b"[1]\n", "an array"),
            (b"\"s\"\n", "a string"),
        ] {
            let (_, err) = decode_chunked(reader(JsonFraming::Newline), line, 1);
            assert!(err.expect("not an object").detail.contains(what));
        }
    }

    #[test]
    fn a_huge_length_prefix_is_refused_before_waiting_for_it() {
        let mut r = reader(JsonFraming::Length);
        r.push(&[0xff, 0xff, 0xff, 0xff, b'{']);
        let err = r.next_frame().expect_err("too large");
        assert_eq!(err.kind, ErrorKind::TooLarge);
        assert!(err.detail.contains("--json-framing newline"));
    }

    #[test]
    fn eof_inside_a_frame_is_named_for_both_framings() {
        let (_, err) = decode_chunked(reader(JsonFraming::Newline), b"{\"a\":", 2);
        assert_eq!(err.expect("unfinished").kind, ErrorKind::PeerClosedMidFrame);
        let (_, err) = decode_chunked(reader(JsonFraming::Length), &[0, 0, 0, 9, b'{'], 2);
        let err = err.expect("unfinished");
        assert!(
            err.detail.contains("after 1 of the 9 bytes"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn a_last_object_without_a_newline_is_a_frame() {
        let frames =
            assert_any_split_same(|| reader(JsonFraming::Newline), b"{\"a\":1}\n {\"b\":2} ");
        assert_eq!(values(&frames), [json!({"a": 1}), json!({"b": 2})]);
        let (_, err) = decode_chunked(reader(JsonFraming::Newline), b"{\"a\":1} x", 3);
        assert_eq!(err.expect("not JSON").kind, ErrorKind::Malformed);
        let (_, err) = decode_chunked(reader(JsonFraming::Length), b"\n", 3);
        assert_eq!(
            err.expect("a lost byte").kind,
            ErrorKind::PeerClosedMidFrame
        );
    }

    #[test]
    fn errors_after_blank_lines_point_into_the_right_line() {
        let (_, err) = decode_chunked(reader(JsonFraming::Newline), b"\n \n  {\"a\" 1}\n", 1);
        let err = err.expect("malformed");
        assert_eq!(err.at, 10, "{err:?}: the caret under the 1");
    }

    #[test]
    fn blank_lines_between_objects_are_ignored() {
        let (frames, err) = decode_chunked(
            reader(JsonFraming::Newline),
            b"\n{\"a\":1}\n\n \n{\"b\":2}\n\n",
            1,
        );
        assert!(err.is_none(), "{err:?}");
        assert_eq!(values(&frames), [json!({"a": 1}), json!({"b": 2})]);
    }
}
