//! `FrameReader`: the buffer between the socket and a codec.
//!
//! Bytes go in as they are read ([`FrameReader::push`]); frames come out
//! ([`FrameReader::next_frame`]) when the codec finds one. The reader owns the
//! buffer so that codecs stay pure; it drops consumed bytes lazily (only once
//! they are at least half the buffer), so feeding a stream one byte at a
//! time costs amortised O(1) per byte; it enforces `--max-frame` for every
//! codec; and it attaches the offending bytes to errors.
//!
//! A frame over the limit stops the stream whether it arrived in one read
//! or in many: the outcome never depends on how the bytes were cut.

use super::{Codec, Content, Frame, FrameError, Limits};

/// Bytes shown on each side of an error position.
const CONTEXT: usize = 24;

/// Buffer kept by a reader with nothing pending: a connection that once
/// received a 1 MiB frame does not hold a megabyte while it is idle.
const IDLE_CAPACITY: usize = 64 * 1024;

pub struct FrameReader {
    codec: Box<dyn Codec>,
    limits: Limits,
    buf: Vec<u8>,
    /// Where unconsumed bytes begin.
    start: usize,
}

impl FrameReader {
    pub fn new(codec: Box<dyn Codec>, limits: Limits) -> FrameReader {
        FrameReader {
            codec,
            limits,
            buf: Vec::new(),
            start: 0,
        }
    }

    pub fn proto(&self) -> &'static str {
        self.codec.proto()
    }

    pub fn codec_mut(&mut self) -> &mut dyn Codec {
        self.codec.as_mut()
    }

    /// Bytes received but not yet part of a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Between frames, gives the buffer's memory back: a quiet connection
    /// (an idle chat session among thousands) then holds no buffer at all.
    pub fn release_if_idle(&mut self) {
        if self.start == self.buf.len() {
            if self.buf.capacity() > 0 {
                self.buf = Vec::new();
                self.start = 0;
            }
            self.codec.idle();
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let pending = &self.buf[self.start..];
        match self.codec.decode(pending, &self.limits) {
            Ok(Some((_, n))) if n > self.limits.max_frame => {
                // It arrived whole, but is over the limit all the same: had
                // it come in pieces, the limit would have stopped it first.
                let e = FrameError::too_large(
                    self.codec.proto(),
                    format!(
                        "a {n}-byte frame, over the --max-frame limit of {} bytes; raise --max-frame if the peer really sends frames this big",
                        self.limits.max_frame
                    ),
                );
                Err(self.explain(e))
            }
            Ok(Some((content, n))) => Ok(Some(self.take(content, n))),
            Ok(None) if pending.len() > self.limits.max_frame => {
                let e = FrameError::too_large(
                    self.codec.proto(),
                    format!(
                        "{} bytes and still no complete frame, over the --max-frame limit of {} bytes; raise --max-frame if the peer really sends frames this big",
                        pending.len(),
                        self.limits.max_frame
                    ),
                );
                Err(self.explain(e))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(self.explain(e)),
        }
    }

    /// The stream has ended: what is left may be a last frame (an HTTP body
    /// that runs to the end) or an unfinished one (an error). Call until it
    /// returns `Ok(None)`.
    pub fn finish(&mut self) -> Result<Option<Frame>, FrameError> {
        let pending = &self.buf[self.start..];
        match self.codec.decode_eof(pending, &self.limits) {
            Ok(Some((content, n))) => Ok(Some(self.take(content, n))),
            Ok(None) => Ok(None),
            Err(e) => {
                let e = self.explain(e);
                // Nothing more can come: forget the unfinished bytes.
                self.start = self.buf.len();
                Err(e)
            }
        }
    }

    fn take(&mut self, content: Content, n: usize) -> Frame {
        let pending = &self.buf[self.start..];
        // A codec never claims bytes it was not given (the fuzz targets
        // check it); were one to, the frame is cut short, not a panic.
        debug_assert!(
            n <= pending.len(),
            "a codec claimed {n} of {} bytes",
            pending.len()
        );
        let wire = pending[..n.min(pending.len())].to_vec();
        self.start += wire.len();
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.buf.shrink_to(IDLE_CAPACITY);
        }
        Frame { wire, content }
    }

    /// Adds the bytes around the error; steps over them if the codec can
    /// resynchronise.
    fn explain(&mut self, mut e: FrameError) -> FrameError {
        let pending = &self.buf[self.start..];
        let at = e.at.min(pending.len());
        let from = at.saturating_sub(CONTEXT);
        let to = (at + CONTEXT).min(pending.len());
        e.context = pending[from..to].to_vec();
        e.caret = at - from;
        if let Some(skip) = e.skip {
            self.start += skip.min(pending.len());
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::lines::Lines;

    #[test]
    fn feeding_one_byte_at_a_time_stays_linear() {
        // 200,000 bytes of 9-byte lines, one byte per push: quadratic
        // rescanning or compaction would take minutes, linear takes ms.
        let input: Vec<u8> = b"12345678\n"
            .iter()
            .copied()
            .cycle()
            .take(9 * 22_222)
            .collect();
        let mut r = FrameReader::new(Box::new(Lines::default()), Limits::default());
        let started = std::time::Instant::now();
        let mut frames = 0;
        for b in &input {
            r.push(std::slice::from_ref(b));
            while r.next_frame().expect("valid").is_some() {
                frames += 1;
            }
        }
        assert_eq!(frames, 22_222);
        assert!(
            started.elapsed().as_secs() < 5,
            "took {:?}",
            started.elapsed()
        );
        assert!(
            r.buf.capacity() < 4096,
            "the buffer kept growing: {}",
            r.buf.capacity()
        );
    }

    #[test]
    fn an_unterminated_frame_over_the_limit_is_an_error_naming_the_flag() {
        let limits = Limits {
            max_frame: 10,
            ..Limits::default()
        };
        let mut r = FrameReader::new(Box::new(Lines::default()), limits);
        r.push(b"0123456789ab");
        let e = r.next_frame().expect_err("too large");
        assert_eq!(e.kind, crate::framing::ErrorKind::TooLarge);
        assert!(e.detail.contains("--max-frame"), "{}", e.detail);
    }

    #[test]
    fn a_frame_over_the_limit_stops_the_stream_however_it_arrived() {
        let limits = Limits {
            max_frame: 10,
            ..Limits::default()
        };
        let input = b"short\n0123456789abc\nnext\n";
        for chunk in [1, 7, input.len()] {
            let reader = FrameReader::new(Box::new(Lines::default()), limits);
            let (frames, err) = crate::framing::testing::decode_chunked(reader, input, chunk);
            assert_eq!(frames.len(), 1, "chunk {chunk}");
            let e = err.expect("too large");
            assert_eq!(
                (e.kind, e.skip),
                (crate::framing::ErrorKind::TooLarge, None)
            );
        }
    }

    #[test]
    fn an_idle_reader_gives_back_a_large_buffer() {
        let mut r = FrameReader::new(Box::new(Lines::default()), Limits::default());
        r.push(&[b'x'; 500_000]);
        r.push(b"\n");
        assert!(r.next_frame().expect("a line").is_some());
        assert!(r.buf.capacity() <= IDLE_CAPACITY, "{}", r.buf.capacity());
    }

    #[test]
    fn errors_point_at_the_offending_byte() {
        let mut e = FrameError::malformed("json", 5, "expected `:`");
        e.context = b"{\"a\" 1}".to_vec();
        e.caret = 5;
        assert_eq!(e.pointer(), "\"{\\\"a\\\" 1}\"\n        ^");
    }

    #[test]
    fn the_caret_counts_terminal_columns() {
        // 一起 takes four columns on a terminal, not two: the caret goes
        // under the 1.
        let mut e = FrameError::malformed("json", 8, "expected `:`");
        e.context = "{\"一起\" 1}".as_bytes().to_vec();
        e.caret = 10;
        assert_eq!(e.pointer(), "\"{\\\"一起\\\" 1}\"\n           ^");
    }
}
