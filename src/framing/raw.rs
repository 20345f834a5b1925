//! `raw`: no framing at all. Each read is a frame, exactly as it came, so the
//! learner sees what TCP really delivers: writes merged and split at the
//! whim of the network and the kernel.

use super::{Codec, Content, FrameError, Limits};

pub struct Raw;

impl Codec for Raw {
    fn proto(&self) -> &'static str {
        "raw"
    }

    fn decode(&mut self, buf: &[u8], _: &Limits) -> Result<Option<(Content, usize)>, FrameError> {
        Ok((!buf.is_empty()).then_some((Content::Bytes, buf.len())))
    }
}
