//! `xml`: XMPP-style stanzas.
//!
//! XMPP opens one XML document per direction, `<stream:stream ...>`, and never
//! closes it until the conversation ends; each child of that root —
//! `<message>`, `<presence>`, `<iq>` — is one stanza, one frame. Without a
//! stream root, each top-level element is a frame, so the tutorial's bare
//! sequence `<from>Vincent</from><to>Eli</to><body>…</body>` is three frames.
//!
//! Parsing is incremental, by rxml: it is a push parser built for XMPP that
//! keeps a partial token when a buffer ends in the middle of a tag (or of a
//! UTF-8 character) and resumes when more bytes come, and every event says how
//! many input bytes it used, which is how frames are cut at exact offsets.
//! (quick-xml, the other well-kept choice, reads complete buffers: at the end
//! of the bytes so far it reports end of input and cannot resume mid-tag.)
//! rxml has no DTD support at all, so DOCTYPE is refused and entity-expansion
//! bombs cannot happen; the five predefined entities and character
//! references are decoded. Depth is limited by `--max-depth`.

use rxml::{Event, Parse, Parser};

mod stanza;
mod tree;

pub use stanza::{Element, Node, Stanza, escape};
pub use tree::TREE_FACTOR;

use super::{Codec, Content, FrameError, Limits};
use tree::{Closed, Tree};

/// The XMPP streams namespace of `<stream:stream>`.
pub const STREAMS_NS: &str = "http://etherx.jabber.org/streams";

/// The deepest nesting `--max-depth` can allow: dropping, comparing and
/// printing an element recurse once per level, and a thread's stack is
/// finite.
pub const DEPTH_CEILING: usize = 1024;

#[derive(Default)]
pub struct Xml {
    /// `None` while asleep (see [`Codec::idle`]): a parser is half a
    /// kilobyte before it reads anything and eight once it has.
    parser: Option<Box<Parser>>,
    /// Bytes of the current frame already given to the parser.
    fed: usize,
    /// Bytes the parser's events have accounted for, in the current frame.
    used: usize,
    /// The elements of the current frame, and what they cost.
    tree: Tree,
    /// Whether a `<stream:stream>` root is open: frames are then its children.
    in_stream: bool,
    /// Whether the current document has produced an event yet.
    started: bool,
    /// The open stream's header (its start tag), to bring a fresh parser
    /// back into the stream after [`Codec::idle`].
    header: Vec<u8>,
    /// The parser was let go while idle: the next bytes need a fresh one
    /// that has read `header`.
    asleep: bool,
}

/// How an XML declaration begins: `<?xml version='1.0'?>`.
const XML_DECLARATION: &[u8] = b"<?xml";

impl Xml {
    /// Element depth at which a frame begins.
    fn frame_depth(&self) -> usize {
        usize::from(self.in_stream)
    }

    /// Whether the next bytes begin a frame: no element of one is open and
    /// the parser holds nothing it has not reported (rxml reads no further
    /// than the event it returns).
    fn between_frames(&self) -> bool {
        self.fed == self.used && self.tree.depth() == 0 && (self.in_stream || !self.started)
    }
}

/// Bytes where a document should begin that cannot begin one.
fn not_xml(at: usize) -> FrameError {
    FrameError::malformed(
        "xml",
        at,
        "this is not XML: a stanza begins with `<`, and these bytes begin with plain text (is the peer speaking another protocol? --proto lines shows text line by line)",
    )
}

/// Maps rxml's complaint to words a learner can act on.
fn explain(e: &rxml::Error, frame: &[u8], at: usize) -> String {
    let text = e.to_string();
    // The error comes as soon as "<!D" arrives: look for any prefix.
    let doctype = frame
        .trim_ascii_start()
        .windows(3)
        .position(|w| w == b"<!D")
        .is_some_and(|i| {
            let rest = &frame.trim_ascii_start()[i + 2..];
            let n = rest.len().min(7);
            rest[..n].eq_ignore_ascii_case(&b"DOCTYPE"[..n])
        });
    if doctype {
        "DOCTYPE is not allowed: socklab (like XMPP) accepts no DTDs, which also rules out entity-expansion attacks".into()
    } else if frame[..at.min(frame.len())]
        .windows(4)
        .any(|w| w == b"<!--")
    {
        "comments are not allowed in stanzas (XMPP forbids them)".into()
    } else {
        format!(
            "{text}; expected well-formed XML (every tag closed in order, attributes quoted, & written as &amp;)"
        )
    }
}

impl Codec for Xml {
    fn proto(&self) -> &'static str {
        "xml"
    }

    fn decode(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        if std::mem::take(&mut self.asleep) {
            let header = std::mem::take(&mut self.header);
            self.restart_with(&header)?;
            self.header = header;
        }
        loop {
            if self.between_frames() {
                // XML allows whitespace before a document's root, a stream
                // of bare stanzas has it between them, and XMPP sends it as
                // a keep-alive: it is stepped over here and counted into
                // the next frame.
                let rest = buf.get(self.fed..).unwrap_or_default();
                let ws = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
                self.fed += ws;
                self.used += ws;
                let rest = &rest[ws..];
                if rest.is_empty() {
                    return Ok(None);
                }
                // A document begins with `<` (or a byte order mark): text
                // here is not XML at all, and waiting for a `<` that may
                // never come would only end in "unfinished".
                if !self.in_stream && !self.started && !matches!(rest[0], b'<' | 0xef) {
                    return Err(not_xml(self.fed));
                }
                // XMPP restarts the stream after SASL succeeds (RFC 6120
                // §6.4.6): a new stream header, often with its XML
                // declaration, inside the old stream. It begins a new
                // document; rxml is not shown the old one's end.
                if self.in_stream && XML_DECLARATION.starts_with(&rest[..rest.len().min(5)]) {
                    if rest.len() < XML_DECLARATION.len() {
                        return Ok(None);
                    }
                    self.in_stream = false;
                    self.restart();
                }
            }
            let mut rest = buf.get(self.fed..).unwrap_or_default();
            let before = rest.len();
            let event = self
                .parser
                .get_or_insert_with(Default::default)
                .parse(&mut rest, false);
            self.fed += before - rest.len();
            let event = match event {
                Ok(Some(ev)) => ev,
                Ok(None) => return Ok(None),
                Err(rxml::error::EndOrError::NeedMoreData) => {
                    if self.fed > limits.max_frame {
                        return Err(FrameError::too_large(
                            "xml",
                            format!(
                                "a stanza is over the --max-frame limit of {} bytes",
                                limits.max_frame
                            ),
                        ));
                    }
                    return Ok(None);
                }
                Err(rxml::error::EndOrError::Error(e)) => {
                    let at = self.fed.saturating_sub(1);
                    return Err(FrameError::malformed("xml", at, explain(&e, buf, at)));
                }
            };
            let len = event.metrics().len();
            self.used += len;
            self.started = true;
            let event_bytes = buf.get(self.used - len..self.used).unwrap_or_default();
            if let Some(frame) = self.apply(event, event_bytes, limits)? {
                return Ok(Some(frame));
            }
        }
    }

    /// Between stanzas of an open stream, a parser holds kilobytes of
    /// buffers for nothing; thousands of quiet XMPP sessions would keep
    /// megabytes. It is dropped here and rebuilt, from the stream's header,
    /// when the next bytes come.
    fn idle(&mut self) {
        if self.in_stream
            && self.fed == 0
            && self.used == 0
            && self.tree.depth() == 0
            && !self.header.is_empty()
        {
            self.parser = None;
            self.tree = Tree::default();
            self.asleep = true;
        }
    }

    fn decode_eof(
        &mut self,
        buf: &[u8],
        _: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        if buf.trim_ascii().is_empty() && self.tree.depth() == 0 {
            return Ok(None);
        }
        let open = self
            .tree
            .innermost()
            .map(|name| format!(" inside <{name}>"))
            .unwrap_or_default();
        Err(FrameError::closed_mid_frame(
            "xml",
            buf.len(),
            format!(
                "the stream ended in the middle of a stanza{open} ({} bytes of it)",
                buf.len()
            ),
        ))
    }
}

impl Xml {
    /// Builds the frame's tree from one event: the frame, when it is whole.
    fn apply(
        &mut self,
        event: Event,
        event_bytes: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        match event {
            Event::XmlDeclaration(..) => {}
            Event::StartElement(_, (ns, name), attrs) => {
                let depth = self.tree.depth() + self.frame_depth();
                let max_depth = limits.max_depth.min(DEPTH_CEILING);
                if depth >= max_depth {
                    return Err(FrameError::malformed(
                        "xml",
                        self.fed.saturating_sub(1),
                        format!(
                            "elements nest deeper than --max-depth {max_depth} (it can go up to {DEPTH_CEILING})"
                        ),
                    ));
                }
                let attrs: Vec<(String, String)> = attrs
                    .into_iter()
                    .map(|((_, n), v)| (n.as_str().to_owned(), v))
                    .collect();
                if ns.as_str() == STREAMS_NS && name.as_str() == "stream" && self.tree.depth() == 0
                {
                    if self.in_stream {
                        // A stream restart without an XML declaration: the
                        // header opens a new document, shown to a fresh
                        // parser.
                        self.restart_with(event_bytes)?;
                    }
                    self.in_stream = true;
                    self.header = event_bytes.to_vec();
                    return Ok(Some(self.cut(Stanza::StreamOpen(attrs))));
                }
                self.tree.start(name.as_str().to_owned(), ns, attrs);
            }
            Event::Text(_, text) => self.tree.text(text),
            Event::EndElement(_) => match self.tree.end() {
                Closed::Root if self.used == 0 => {
                    // The end of a header cut as its own frame: `<stream:stream …/>`.
                    return Err(FrameError::malformed(
                        "xml",
                        0,
                        "the stream header closed itself (`/>`): an XMPP stream opens with a start tag that stays open while the stanzas flow, and ends later with </stream:stream> (RFC 6120 §4.2)",
                    ));
                }
                Closed::Root => {
                    self.in_stream = false;
                    self.restart();
                    return Ok(Some(self.cut(Stanza::StreamClose)));
                }
                Closed::Inner => {}
                Closed::Stanza(done) => {
                    if !self.in_stream {
                        // A whole document: the next frame is a new one.
                        self.restart();
                    }
                    return Ok(Some(self.cut(Stanza::Element(done))));
                }
            },
        }
        let budget = limits.max_frame.saturating_mul(TREE_FACTOR);
        if self.tree.bytes() > budget {
            return Err(FrameError::too_large(
                "xml",
                format!(
                    "the stanza's elements and text take over {budget} bytes of memory ({TREE_FACTOR} × the --max-frame limit of {} bytes): many small elements cost far more than their bytes; raise --max-frame if the peer really sends such stanzas",
                    limits.max_frame
                ),
            ));
        }
        Ok(None)
    }

    /// A fresh parser that has read `header`, a stream's opening tag.
    fn restart_with(&mut self, header: &[u8]) -> Result<(), FrameError> {
        self.restart();
        self.started = true;
        // The header's bytes may begin with the whitespace that followed
        // an XML declaration (`<?xml version='1.0'?>\n<stream:stream …>`,
        // as many clients write it): the parser counts it into the start
        // tag's event, but a fresh parser without the declaration would
        // not take it.
        let mut rest = header.trim_ascii_start();
        match self
            .parser
            .get_or_insert_with(Default::default)
            .parse(&mut rest, false)
        {
            Ok(Some(Event::StartElement(..))) if rest.is_empty() => Ok(()),
            _ => Err(FrameError::malformed(
                "xml",
                self.used,
                "this stream header could not be read as the start of a new stream",
            )),
        }
    }

    /// A fresh parser for the next document.
    fn restart(&mut self) {
        self.parser = Some(Box::default());
        self.started = false;
    }

    /// Ends the current frame: its bytes are what the events used.
    fn cut(&mut self, stanza: Stanza) -> (Content, usize) {
        let n = self.used;
        self.fed -= n;
        self.used = 0;
        (Content::Xml(stanza), n)
    }
}

#[cfg(test)]
mod tests;
