//! `lines`: text lines ending in LF, or CR LF as telnet and most Internet text
//! protocols (SMTP, HTTP headers) send them.

use super::{Codec, Content, FrameError, Limits};

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
                let crlf = nl > 0 && buf[nl - 1] == b'\r';
                Ok(Some((Content::Line { crlf }, nl + 1)))
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
        if buf.is_empty() {
            return Ok(None);
        }
        Err(FrameError::closed_mid_frame(
            "lines",
            buf.len(),
            format!(
                "the stream ended in the middle of a line: {} bytes and no line ending (LF)",
                buf.len()
            ),
        ))
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
                Content::Line { crlf } => (String::from_utf8_lossy(f.line()).into_owned(), *crlf),
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
    fn eof_in_the_middle_of_a_line_is_named() {
        let (frames, err) = decode_chunked(reader(), b"done\nhalf", 3);
        assert_eq!(frames.len(), 1);
        let err = err.expect("unfinished line");
        assert_eq!(err.kind, ErrorKind::PeerClosedMidFrame);
        assert!(err.detail.contains("middle of a line"));
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
