//! What an HTTP frame holds: a message arrives as its head, then its body
//! in pieces as the bytes come, then its end.
//!
//! A body can be larger than any buffer should be (a 1 GiB download, a
//! file uploaded with PUT), so it is never gathered into one frame: each
//! piece is handed out as soon as its bytes have arrived, and a consumer
//! streams it wherever it goes (stdout, a file) in memory bounded by one
//! read. For a consumer the flow of one message is always
//!
//! ```text
//! Head(message)      start line, header fields, and how the body is delimited
//! Body(data) ...     zero or more pieces of the body, chunked coding removed
//! End(end)           the body is complete (its size; any trailer fields)
//! ```
//!
//! and a consumer that only wants a glimpse of the body (the narration, a
//! JSON message view, a form) keeps a bounded [`Sample`] of it.

use std::ops::Range;

use super::Message;

/// One frame of an HTTP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// The head. The frame's wire bytes are the head's bytes.
    Head(Message),
    /// Some of the body: these bytes of the frame's wire are body data.
    /// The rest of the wire is chunked framing (the size line before the
    /// data, the CR LF after the chunk before), so for a body delimited by
    /// Content-Length or by the close, the data is the whole frame.
    Body(Range<usize>),
    /// The message is complete. The frame's wire bytes are what followed
    /// the body's last data: for a chunked body, the last chunk, the
    /// trailers and the empty line; otherwise none at all.
    End(End),
}

/// How a message ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct End {
    /// Bytes of body data, chunked framing removed.
    pub body: u64,
    /// Trailer fields after a chunked body (RFC 9112 §7.1.2).
    pub trailers: usize,
}

impl Part {
    /// For a body piece, its data (`wire` is the frame's wire bytes).
    pub fn body<'w>(&self, wire: &'w [u8]) -> Option<&'w [u8]> {
        match self {
            Part::Body(data) => wire.get(data.clone()),
            _ => None,
        }
    }

    /// A one-line description of a body piece or an end for the
    /// narration; a head describes itself ([`Message::summary`]).
    pub fn summary(&self, wire: &[u8]) -> String {
        match self {
            Part::Head(m) => m.summary(),
            Part::Body(data) => {
                let bytes = wire.get(data.clone()).unwrap_or_default();
                let framing = wire.len() - bytes.len();
                let framing = if framing > 0 {
                    format!(" after {framing} bytes of chunk framing")
                } else {
                    String::new()
                };
                format!(
                    "body piece: {} bytes{framing}: {}",
                    bytes.len(),
                    crate::trace::escape::preview(bytes, 60)
                )
            }
            Part::End(end) => {
                let trailers = match end.trailers {
                    0 => String::new(),
                    1 => ", 1 trailer field".to_string(),
                    n => format!(", {n} trailer fields"),
                };
                format!("end of message: {} body bytes{trailers}", end.body)
            }
        }
    }
}

/// The first bytes of a body and its whole size: what a consumer keeps to
/// show or check a body, bounded whatever the body's size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    kept: Vec<u8>,
    total: u64,
    keep: usize,
}

impl Default for Sample {
    fn default() -> Sample {
        Sample::keeping(Sample::KEEP)
    }
}

impl Sample {
    /// Bytes kept by default: a form, a JSON message or an error page is
    /// whole.
    pub const KEEP: usize = 64 * 1024;

    /// A sample of at most `keep` bytes (0: only count).
    pub fn keeping(keep: usize) -> Sample {
        Sample {
            kept: Vec::new(),
            total: 0,
            keep,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        let room = self.keep - self.kept.len();
        self.kept.extend_from_slice(&data[..data.len().min(room)]);
        self.total += data.len() as u64;
    }

    /// The first bytes, as many as it keeps.
    pub fn bytes(&self) -> &[u8] {
        &self.kept
    }

    /// The body's size so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Whether every byte is kept.
    pub fn is_whole(&self) -> bool {
        self.total == self.kept.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_keeps_the_start_and_counts_the_rest() {
        let mut s = Sample::default();
        s.push(b"abc");
        assert!(s.is_whole());
        s.push(&vec![b'x'; Sample::KEEP]);
        assert_eq!(s.bytes().len(), Sample::KEEP);
        assert!(s.bytes().starts_with(b"abcx"));
        assert_eq!(s.total(), Sample::KEEP as u64 + 3);
        assert!(!s.is_whole());
    }
}
