//! `lines`: text lines ending in LF, or CR LF as telnet and most Internet text
//! protocols (SMTP, HTTP headers) send them. A last line without an ending
//! is still a line: the stream's end ends it, and the frame says so.

use super::{Codec, Content, FrameError, Limits, LineEnd};

#[derive(Default)]
pub struct Lines {
    /// Bytes already searched for a newline: not searched again.
    scanned: usize,
}

/// Finds the next LF at or after `from`; used by every line-based codec.
pub fn find_newline(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| from + i)
}

impl Codec for Lines {
    fn proto(&self) -> &'static str {
        "lines"
    }

    fn decode(&mut self, buf: &[u8], _: &Limits) -> Result<Option<(Content, usize)>, FrameError> {
        match find_newline(buf, self.scanned) {
            Some(nl) => {
                self.scanned = 0;
                let end = if nl > 0 && buf[nl - 1] == b'\r' {
                    LineEnd::CrLf
                } else {
                    LineEnd::Lf
                };
                Ok(Some((Content::Line { end }, nl + 1)))
            }
            None => {
                self.scanned = buf.len();
                Ok(None)
            }
        }
    }

    fn decode_eof(
        &mut self,
        buf: &[u8],
        _: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        self.scanned = 0;
        Ok((!buf.is_empty()).then_some((Content::Line { end: LineEnd::Eof }, buf.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::testing::{assert_any_split_same, decode_chunked};
    use crate::framing::{ErrorKind, FrameReader};

    fn reader() -> FrameReader {
        FrameReader::new(Box::new(Lines::default()), Limits::default())
    }

    fn lines(frames: &[crate::framing::Frame]) -> Vec<(String, bool)> {
        frames
            .iter()
            .map(|f| match &f.content {
                Content::Line { end } => (
                    String::from_utf8_lossy(f.line()).into_owned(),
                    *end == LineEnd::CrLf,
                ),
                other => panic!("not a line: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn lf_and_crlf_lines_at_every_split() {
        let frames = assert_any_split_same(reader, "hello\r\nworld\n中午一起吃饭\r\n\n".as_bytes());
        assert_eq!(
            lines(&frames),
            [
                ("hello".into(), true),
                ("world".into(), false),
                ("中午一起吃饭".into(), true),
                (String::new(), false)
            ]
        );
    }

    #[test]
    fn two_lines_in_one_read() {
        let mut r = reader();
        r.push(b"a\nb\n");
        assert!(r.next_frame().expect("ok").is_some());
        assert!(r.next_frame().expect("ok").is_some());
        assert!(r.next_frame().expect("ok").is_none());
    }

    #[test]
    fn a_last_line_without_an_ending_is_delivered_and_says_so() {
        let frames = assert_any_split_same(reader, b"done\r\nhalf");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].content, Content::Line { end: LineEnd::Eof });
        assert_eq!(frames[1].line(), b"half");
        assert!(
            frames[1]
                .summary()
                .contains("no line ending: the stream ended")
        );
        let out: Vec<u8> = frames.iter().flat_map(|f| f.output()).collect();
        assert_eq!(out, b"done\r\nhalf", "stdout gets the bytes as they came");
    }

    #[test]
    fn a_line_longer_than_the_limit_is_refused() {
        let limits = Limits {
            max_frame: 8,
            ..Limits::default()
        };
        let (_, err) = decode_chunked(
            FrameReader::new(Box::new(Lines::default()), limits),
            b"0123456789\n",
            1,
        );
        assert_eq!(err.expect("too long").kind, ErrorKind::TooLarge);
    }
}
