//! The chunked transfer coding (RFC 9112 §7.1): a body sent in pieces, each
//! announced by its size in hexadecimal, ending with a zero-sized chunk,
//! optional trailer fields and an empty line.
//!
//! ```text
//! 5;name=value␍␊      chunk-size [chunk-ext] CRLF
//! hello␍␊             chunk-data CRLF
//! 0␍␊                 last-chunk
//! Expires: never␍␊    trailer-section
//! ␍␊
//! ```
//!
//! The grammar is followed to the letter, because every laxness here (a
//! `+5` or a `0x5` as size, a bare LF, a space after the size) is a way for
//! two programs to disagree on where the body ends, which is how requests
//! are smuggled. [`Chunks`] remembers where it stopped, inside a size line,
//! a chunk or the trailers, so bytes trickling in are each looked at once.

use super::message::Span;
use super::{FrameError, Limits, is_tchar};
use crate::framing::lines::find_newline;

/// How far a chunked body has been read. Offsets count from the first byte
/// not yet handed out as a piece: chunk data goes out as it arrives, so a
/// chunk of a gigabyte costs no more memory than one of a few bytes.
#[derive(Debug)]
pub(super) struct Chunks {
    /// Where the next line (a chunk size or a trailer field), the CR LF
    /// after a chunk's data, or the data itself begins.
    line: usize,
    /// How far the bytes have been searched for that line's end.
    scanned: usize,
    phase: Phase,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a chunk-size line.
    Size,
    /// Inside a chunk: `left` bytes of its data still to come.
    Data { left: u64 },
    /// After a chunk's data: its CR LF.
    DataEnd,
    /// After the last chunk: trailer fields from `start`, then an empty line.
    Trailers { start: usize, fields: usize },
}

/// What the next piece of a chunked body is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// `wire` bytes to cut: the framing before some chunk data (the CR LF
    /// ending the chunk before, the size line), then the data, `data`.
    Data { wire: usize, data: Span },
    /// `wire` bytes to cut: the last chunk, `trailers` trailer fields and
    /// the empty line. The body is complete.
    Last { wire: usize, trailers: usize },
}

impl Chunks {
    pub(super) fn new() -> Chunks {
        Chunks {
            line: 0,
            scanned: 0,
            phase: Phase::Size,
        }
    }

    /// Reads as far as the bytes go: the next piece to cut, once there is
    /// chunk data to hand out (the framing before it waits for it), or
    /// the end. A piece is never over `--max-frame`.
    pub(super) fn read(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<Step>, FrameError> {
        loop {
            match self.phase {
                Phase::Size => {
                    let Some(line) = self.next_line(buf)? else {
                        return Ok(None);
                    };
                    let size = chunk_size(&buf[line.clone()], line.start)?;
                    self.phase = match size {
                        0 => Phase::Trailers {
                            start: self.line,
                            fields: 0,
                        },
                        left => Phase::Data { left },
                    };
                }
                Phase::Data { left } => {
                    let framing = self.line;
                    let have = buf.len() - framing;
                    if have == 0 {
                        return Ok(None);
                    }
                    // The framing counts towards the limit; if it fills it
                    // (a tiny --max-frame), it goes out alone.
                    let room = limits.max_frame.saturating_sub(framing);
                    let take = have
                        .min(room)
                        .min(usize::try_from(left).unwrap_or(usize::MAX));
                    let left = left - take as u64;
                    self.phase = if left == 0 {
                        Phase::DataEnd
                    } else {
                        Phase::Data { left }
                    };
                    (self.line, self.scanned) = (0, 0);
                    return Ok(Some(Step::Data {
                        wire: framing + take,
                        data: framing..framing + take,
                    }));
                }
                Phase::DataEnd => {
                    let Some(after) = buf.get(self.line..self.line + 2) else {
                        return Ok(None);
                    };
                    if after != b"\r\n" {
                        return Err(bad(
                            self.line,
                            "RFC 9112 §7.1: a chunk's data is followed by CR LF; these bytes run past the size the chunk announced",
                        ));
                    }
                    self.line += 2;
                    self.scanned = self.line;
                    self.phase = Phase::Size;
                }
                Phase::Trailers { start, fields } => {
                    let line = self.next_line(buf)?;
                    // The section so far: to the end of the line just read,
                    // or every byte there is while no line has ended.
                    let seen = if line.is_some() { self.line } else { buf.len() };
                    if seen - start > limits.max_header_bytes {
                        return Err(trailers_too_large(
                            "bytes, over --max-header-bytes",
                            limits.max_header_bytes,
                        ));
                    }
                    let Some(line) = line else {
                        return Ok(None);
                    };
                    if line.is_empty() {
                        return Ok(Some(Step::Last {
                            wire: self.line,
                            trailers: fields,
                        }));
                    }
                    check_trailer(&buf[line.clone()], line.start)?;
                    if fields + 1 > limits.max_headers {
                        return Err(trailers_too_large(
                            "fields, over --max-headers",
                            limits.max_headers,
                        ));
                    }
                    self.phase = Phase::Trailers {
                        start,
                        fields: fields + 1,
                    };
                }
            }
        }
    }

    /// The next line from `self.line`, searching only bytes not searched
    /// yet; it must end in CR LF.
    fn next_line(&mut self, buf: &[u8]) -> Result<Option<Span>, FrameError> {
        let Some(nl) = find_newline(buf, self.scanned.max(self.line)) else {
            self.scanned = buf.len();
            return Ok(None);
        };
        if nl == self.line || buf[nl - 1] != b'\r' {
            return Err(bad(
                nl,
                "RFC 9112 §7.1: every line of a chunked body ends with CR LF, not a bare LF",
            ));
        }
        let span = self.line..nl - 1;
        self.line = nl + 1;
        self.scanned = self.line;
        Ok(Some(span))
    }
}

fn bad(at: usize, detail: &str) -> FrameError {
    FrameError::malformed("http", at, detail).answer_with(400)
}

fn trailers_too_large(what: &str, limit: usize) -> FrameError {
    FrameError::too_large(
        "http",
        format!("the trailer section has more than {limit} {what}"),
    )
    .answer_with(431)
}

/// `chunk-size [chunk-ext]`: hexadecimal digits only, however many leading
/// zeros, with no room to overflow (RFC 9112 §7.1 asks recipients to
/// "anticipate potentially large hexadecimal numerals").
fn chunk_size(line: &[u8], at: usize) -> Result<u64, FrameError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(bad(
            at,
            "RFC 9112 §7.1: a chunk begins with its size in hexadecimal digits (no sign, no 0x, no space before it)",
        ));
    }
    let size = line[..digits].iter().try_fold(0u64, |n, &d| {
        let digit = (d as char).to_digit(16)?;
        n.checked_mul(16)?.checked_add(u64::from(digit))
    });
    let Some(size) = size else {
        return Err(FrameError::too_large(
            "http",
            "a chunk size over 2^64 bytes, too big for any body (RFC 9112 §7.1: sizes are checked for overflow)",
        )
        .answer_with(413));
    };
    check_extensions(&line[digits..], at + digits)?;
    Ok(size)
}

/// `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )`
/// (RFC 9112 §7.1.1). Whitespace is allowed only around `;` and `=`.
fn check_extensions(ext: &[u8], at: usize) -> Result<(), FrameError> {
    let skip_ws = |mut i: usize| {
        while ext.get(i).is_some_and(|&b| b == b' ' || b == b'\t') {
            i += 1;
        }
        i
    };
    let tokens = |i: usize| ext[i..].iter().take_while(|&&b| is_tchar(b)).count();
    let mut i = 0;
    loop {
        let ws = skip_ws(i);
        if ws == ext.len() && ws == i {
            return Ok(());
        }
        if ext.get(ws) != Some(&b';') {
            return Err(bad(
                at + ws,
                "RFC 9112 §7.1.1: after a chunk size comes CR LF or `;name=value` (an extension), nothing else",
            ));
        }
        i = skip_ws(ws + 1);
        let name = tokens(i);
        if name == 0 {
            return Err(bad(
                at + i,
                "RFC 9112 §7.1.1: a chunk extension needs a name (a token)",
            ));
        }
        i += name;
        let eq = skip_ws(i);
        if ext.get(eq) == Some(&b'=') {
            let v = skip_ws(eq + 1);
            i = match ext.get(v) {
                Some(b'"') => quoted_string_end(ext, v).ok_or_else(|| {
                    bad(
                        at + v,
                        "RFC 9112 §7.1.1: an unfinished or invalid quoted string in a chunk extension",
                    )
                })?,
                _ if tokens(v) > 0 => v + tokens(v),
                _ => {
                    return Err(bad(
                        at + v,
                        "RFC 9112 §7.1.1: a chunk extension's value is a token or a quoted string",
                    ));
                }
            };
        }
    }
}

/// Where the quoted string starting at `from` (a `"`) ends (RFC 9110 §5.6.4).
fn quoted_string_end(s: &[u8], from: usize) -> Option<usize> {
    let mut i = from + 1;
    loop {
        match *s.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => {
                let &escaped = s.get(i + 1)?;
                if !(escaped == b'\t' || escaped >= b' ') || escaped == 0x7f {
                    return None;
                }
                i += 2;
            }
            b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => i += 1,
            _ => return None,
        }
    }
}

/// A trailer field: `name:value`, a token right before the colon and no
/// control bytes in the value (RFC 9112 §5).
fn check_trailer(line: &[u8], at: usize) -> Result<(), FrameError> {
    let name = line.iter().take_while(|&&b| is_tchar(b)).count();
    if name == 0 || line.get(name) != Some(&b':') {
        return Err(bad(
            at + name,
            "RFC 9112 §5: a trailer field is `name: value`, the name a token right before the colon",
        ));
    }
    let value = &line[name + 1..];
    match value
        .iter()
        .position(|&b| (b < b' ' && b != b'\t') || b == 0x7f)
    {
        Some(bad_byte) => Err(bad(
            at + name + 1 + bad_byte,
            "RFC 9112 §5: a control byte in a trailer field's value",
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a whole chunked body as the frame reader would: each piece is
    /// cut off the front before reading on. The bytes cut and the data.
    fn read_all(body: &[u8], limits: &Limits) -> Result<Option<(usize, Vec<u8>)>, FrameError> {
        let mut c = Chunks::new();
        let (mut at, mut out) = (0, Vec::new());
        loop {
            match c.read(&body[at..], limits)? {
                Some(Step::Data { wire, data }) => {
                    out.extend_from_slice(&body[at..][data]);
                    at += wire;
                }
                Some(Step::Last { wire, .. }) => return Ok(Some((at + wire, out))),
                None => return Ok(None),
            }
        }
    }

    #[test]
    fn sizes_extensions_and_trailers_per_the_grammar() {
        let l = Limits::default();
        let wire = b"5;a=1;b=\"x y\" ; c\r\nhello\r\n0000\r\nX-T: 1\r\n\r\n";
        assert_eq!(
            read_all(wire, &l).expect("valid"),
            Some((wire.len(), b"hello".to_vec()))
        );
        for bad_wire in [
            &b"+5\r\nhello\r\n0\r\n\r\n"[..],
            b"0x5\r\nhello\r\n0\r\n\r\n",
            b" 5\r\nhello\r\n0\r\n\r\n",
            b"5 \r\nhello\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5;\r\nhello\r\n0\r\n\r\n",
            b"5;a=\"x\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhello!\r\n0\r\n\r\n",
            b"0\r\nBad Trailer: x\r\n\r\n",
            b"0\r\n\r\x0b\n",
        ] {
            let e = read_all(bad_wire, &l).expect_err("refused");
            assert!(e.detail.starts_with("RFC 9112 §"), "{}", e.detail);
            assert_eq!(e.http_status, Some(400));
        }
    }

    #[test]
    fn huge_sizes_cannot_overflow_and_large_ones_stream() {
        let e = read_all(b"ffffffffffffffffffff\r\n", &Limits::default()).expect_err("too big");
        assert_eq!(e.kind, crate::framing::ErrorKind::TooLarge);
        // Sixteen exabytes fit in 64 bits: the data streams as it comes.
        let mut c = Chunks::new();
        let step = c.read(b"fffffffffffffff0\r\nabc", &Limits::default());
        assert_eq!(
            step.expect("a size"),
            Some(Step::Data {
                wire: 21,
                data: 18..21
            })
        );
    }

    #[test]
    fn a_piece_never_exceeds_the_frame_limit() {
        let limits = Limits {
            max_frame: 4,
            ..Limits::default()
        };
        let wire = b"a\r\n0123456789\r\n0\r\n\r\n";
        let mut c = Chunks::new();
        let mut at = 0;
        let mut data = Vec::new();
        loop {
            match c.read(&wire[at..], &limits).expect("valid") {
                Some(Step::Data { wire: n, data: d }) => {
                    assert!(n <= 4, "a {n}-byte piece");
                    data.extend_from_slice(&wire[at..][d]);
                    at += n;
                }
                Some(Step::Last { wire: n, .. }) => {
                    assert_eq!(at + n, wire.len());
                    break;
                }
                None => panic!("stuck at {at}"),
            }
        }
        assert_eq!(data, b"0123456789");
    }
}
