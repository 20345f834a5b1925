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

/// How far a chunked body has been read. Offsets count from the start of
/// the message.
#[derive(Debug)]
pub(super) struct Chunks {
    /// Where the next line (a chunk size or a trailer field) begins.
    line: usize,
    /// How far the bytes have been searched for that line's end.
    scanned: usize,
    phase: Phase,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a chunk-size line.
    Size,
    /// Inside a chunk: its data is `start..end`, then CR LF.
    Data { start: usize, end: usize },
    /// After the last chunk: trailer fields from `start`, then an empty line.
    Trailers { start: usize, fields: usize },
}

impl Chunks {
    pub(super) fn new(body_start: usize) -> Chunks {
        Chunks {
            line: body_start,
            scanned: body_start,
            phase: Phase::Size,
        }
    }

    /// Reads as far as the bytes go, adding chunk data to `body`: the
    /// message's length once the last chunk and the trailers are in.
    pub(super) fn read(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        body: &mut Vec<u8>,
    ) -> Result<Option<usize>, FrameError> {
        loop {
            match self.phase {
                Phase::Size => {
                    let Some(line) = self.next_line(buf)? else {
                        return Ok(None);
                    };
                    let size = chunk_size(&buf[line.clone()], line.start)?;
                    let start = self.line;
                    self.phase = match start.checked_add(size) {
                        _ if size == 0 => Phase::Trailers { start, fields: 0 },
                        Some(end) if end.saturating_add(2) <= limits.max_frame => {
                            Phase::Data { start, end }
                        }
                        _ => return Err(too_large(limits)),
                    };
                }
                Phase::Data { start, end } => {
                    let Some(after) = buf.get(end..end + 2) else {
                        return Ok(None);
                    };
                    if after != b"\r\n" {
                        return Err(bad(
                            end,
                            "RFC 9112 §7.1: a chunk's data is followed by CR LF; these bytes run past the size the chunk announced",
                        ));
                    }
                    body.extend_from_slice(&buf[start..end]);
                    self.line = end + 2;
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
                        return Ok(Some(self.line));
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

fn too_large(limits: &Limits) -> FrameError {
    FrameError::too_large(
        "http",
        format!(
            "a chunk takes the message over the --max-frame limit of {} bytes",
            limits.max_frame
        ),
    )
    .answer_with(413)
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
fn chunk_size(line: &[u8], at: usize) -> Result<usize, FrameError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(bad(
            at,
            "RFC 9112 §7.1: a chunk begins with its size in hexadecimal digits (no sign, no 0x, no space before it)",
        ));
    }
    let size = line[..digits].iter().try_fold(0usize, |n, &d| {
        let digit = (d as char).to_digit(16)?;
        n.checked_mul(16)?.checked_add(digit as usize)
    });
    let Some(size) = size else {
        return Err(FrameError::too_large(
            "http",
            "a chunk size too big for any memory (RFC 9112 §7.1: sizes are checked for overflow)",
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

    fn read_all(body: &[u8], limits: &Limits) -> Result<Option<(usize, Vec<u8>)>, FrameError> {
        let mut c = Chunks::new(0);
        let mut out = Vec::new();
        c.read(body, limits, &mut out)
            .map(|end| end.map(|e| (e, out)))
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
    fn huge_sizes_cannot_overflow() {
        let e = read_all(b"ffffffffffffffffffff\r\n", &Limits::default()).expect_err("too big");
        assert_eq!(e.kind, crate::framing::ErrorKind::TooLarge);
        let e = read_all(b"fffffffffffffff0\r\n", &Limits::default()).expect_err("too big");
        assert!(e.detail.contains("--max-frame"), "{}", e.detail);
    }
}
