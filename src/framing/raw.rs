//! `raw`: no framing at all. Each read is a frame, exactly as it came, so the
//! learner sees what TCP really delivers: writes merged and split at the
//! whim of the network and the kernel. A read larger than `--max-frame` is
//! cut into frames of that size rather than refused: raw bytes have no
//! boundary to respect, and none may be lost.

use super::{Codec, Content, FrameError, Limits};

pub struct Raw;

impl Codec for Raw {
    fn proto(&self) -> &'static str {
        "raw"
    }

    fn decode(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        let n = buf.len().min(limits.max_frame.max(1));
        Ok((n > 0).then_some((Content::Bytes, n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::FrameReader;
    use crate::framing::testing::decode_chunked;

    #[test]
    fn a_read_over_the_limit_is_cut_into_frames_not_dropped() {
        let limits = Limits {
            max_frame: 4,
            ..Limits::default()
        };
        let (frames, err) =
            decode_chunked(FrameReader::new(Box::new(Raw), limits), b"0123456789", 10);
        assert!(err.is_none(), "{err:?}");
        let sizes: Vec<usize> = frames.iter().map(|f| f.wire.len()).collect();
        assert_eq!(sizes, [4, 4, 2]);
    }
}
