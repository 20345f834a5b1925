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

use super::{Codec, Content, FrameError, Limits};

/// The XMPP streams namespace of `<stream:stream>`.
pub const STREAMS_NS: &str = "http://etherx.jabber.org/streams";

/// A parsed element: local name, attributes (local names) and children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub namespace: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|c| match c {
            Node::Element(e) if e.name == name => Some(e),
            _ => None,
        })
    }

    /// All text inside, entities decoded.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            match c {
                Node::Text(t) => s.push_str(t),
                Node::Element(e) => s.push_str(&e.text()),
            }
        }
        s
    }
}

/// What an XML frame is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stanza {
    /// `<stream:stream ...>` opened (its attributes).
    StreamOpen(Vec<(String, String)>),
    /// A complete element.
    Element(Element),
    /// `</stream:stream>`: the peer ended its stream.
    StreamClose,
}

impl Stanza {
    /// One line for the narration, bounded however big the stanza is.
    pub fn summary(&self) -> String {
        use super::summary::{clipped, element_text};
        match self {
            Stanza::StreamOpen(attrs) => {
                let to = attrs
                    .iter()
                    .find(|(n, _)| n == "to")
                    .map(|(_, v)| format!(" to {}", clipped(v, 100)))
                    .unwrap_or_default();
                format!("<stream:stream>{to} opened: stanzas follow as its children")
            }
            Stanza::StreamClose => "</stream:stream>: the stream is closed".to_string(),
            Stanza::Element(e) => format!(
                "<{}> element, {} attribute(s), text {}",
                clipped(&e.name, 100),
                e.attrs.len(),
                element_text(e, 40)
            ),
        }
    }
}

#[derive(Default)]
pub struct Xml {
    parser: Parser,
    /// Bytes of the current frame already given to the parser.
    fed: usize,
    /// Bytes the parser's events have accounted for, in the current frame.
    used: usize,
    /// Elements open in the current frame (the one being built is last).
    open: Vec<Element>,
    /// Whether a `<stream:stream>` root is open: frames are then its children.
    in_stream: bool,
    /// Whether the current document has produced an event yet.
    started: bool,
}

impl Xml {
    /// Element depth at which a frame begins.
    fn frame_depth(&self) -> usize {
        usize::from(self.in_stream)
    }
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
        loop {
            if self.in_stream && self.open.is_empty() && self.fed == self.used {
                // Whitespace between stanzas (keep-alives) is stepped over
                // here, once, and counted into the next frame.
                let ws = buf[self.fed..]
                    .iter()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
                self.fed += ws;
                self.used += ws;
                match restart_ahead(&buf[self.fed..]) {
                    Ahead::Restart => {
                        // RFC 6120 §4.3.3: after SASL success (or STARTTLS)
                        // both sides start a new stream on the same socket,
                        // with a new header (and maybe an XML declaration).
                        // It is a new document: a fresh parser reads it.
                        self.in_stream = false;
                        self.restart();
                    }
                    Ahead::Undecided => return Ok(None),
                    Ahead::Stanza => {}
                }
            }
            if !self.started && !self.in_stream && self.fed == self.used {
                // XML allows whitespace before a document's root, and a
                // stream of bare stanzas has it between them; rxml wants the
                // root first, so it is stepped over here and counted into
                // the frame.
                let ws = buf[self.fed..]
                    .iter()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
                self.fed += ws;
                self.used += ws;
                if self.fed == buf.len() {
                    return Ok(None);
                }
            }
            let mut rest = &buf[self.fed..];
            let before = rest.len();
            let event = self.parser.parse(&mut rest, false);
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
            self.used += event.metrics().len();
            self.started = true;
            match event {
                Event::XmlDeclaration(..) => {}
                Event::StartElement(_, (ns, name), attrs) => {
                    let depth = self.open.len() + self.frame_depth();
                    if depth >= limits.max_depth {
                        return Err(FrameError::malformed(
                            "xml",
                            self.fed.saturating_sub(1),
                            format!("elements nest deeper than --max-depth {}", limits.max_depth),
                        ));
                    }
                    let attrs: Vec<(String, String)> = attrs
                        .iter()
                        .map(|((_, n), v)| (n.to_string(), v.to_string()))
                        .collect();
                    if depth == 0 && ns.as_str() == STREAMS_NS && name.as_str() == "stream" {
                        self.in_stream = true;
                        return Ok(Some(self.cut(Stanza::StreamOpen(attrs))));
                    }
                    self.open.push(Element {
                        name: name.to_string(),
                        namespace: ns.to_string(),
                        attrs,
                        children: Vec::new(),
                    });
                }
                Event::Text(_, text) => {
                    if let Some(e) = self.open.last_mut() {
                        e.children.push(Node::Text(text.to_string()));
                    }
                    // Text between stanzas (whitespace keep-alives) belongs
                    // to no frame; it is counted into the next one.
                }
                Event::EndElement(_) => match self.open.pop() {
                    None => {
                        // The stream root closed.
                        self.in_stream = false;
                        self.restart();
                        return Ok(Some(self.cut(Stanza::StreamClose)));
                    }
                    Some(done) => match self.open.last_mut() {
                        Some(parent) => parent.children.push(Node::Element(done)),
                        None => {
                            if !self.in_stream {
                                // A whole document: the next frame is a new one.
                                self.restart();
                            }
                            return Ok(Some(self.cut(Stanza::Element(done))));
                        }
                    },
                },
            }
        }
    }

    fn decode_eof(
        &mut self,
        buf: &[u8],
        _: &Limits,
    ) -> Result<Option<(Content, usize)>, FrameError> {
        if buf.trim_ascii().is_empty() && self.open.is_empty() {
            return Ok(None);
        }
        let open = self
            .open
            .last()
            .map(|e| format!(" inside <{}>", e.name))
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
    /// A fresh parser for the next document.
    fn restart(&mut self) {
        self.parser = Parser::new();
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

enum Ahead {
    /// A new stream header (or its XML declaration) comes next.
    Restart,
    /// Too few bytes to tell.
    Undecided,
    /// Anything else: a stanza, whitespace, the closing tag.
    Stanza,
}

/// Between two stanzas of a stream: does a new stream start here? Only the
/// spelling every client uses is recognised, `<?xml` or `<stream:stream`.
fn restart_ahead(rest: &[u8]) -> Ahead {
    if rest.is_empty() {
        return Ahead::Undecided;
    }
    for pattern in [&b"<?xml"[..], b"<stream:stream"] {
        let n = rest.len().min(pattern.len());
        if rest[..n] == pattern[..n] {
            return if n == pattern.len() {
                Ahead::Restart
            } else {
                Ahead::Undecided
            };
        }
    }
    Ahead::Stanza
}

/// Escapes text for an attribute value or element content.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::testing::{assert_any_split_same, decode_chunked};
    use crate::framing::{ErrorKind, FrameReader};

    fn reader() -> FrameReader {
        FrameReader::new(Box::new(Xml::default()), Limits::default())
    }

    fn stanzas(frames: &[crate::framing::Frame]) -> Vec<Stanza> {
        frames
            .iter()
            .map(|f| match &f.content {
                Content::Xml(s) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    const MESSAGE: &str =
        r#"<message from="Vincent" to="Eli"><body>一起吃饭 &amp; 聊天</body></message>"#;

    #[test]
    fn the_curriculum_message_at_every_split_with_entities_decoded() {
        let frames = assert_any_split_same(reader, MESSAGE.as_bytes());
        let s = stanzas(&frames);
        let [Stanza::Element(m)] = s.as_slice() else {
            panic!("not one element: {s:?}")
        };
        assert_eq!(m.attr("from"), Some("Vincent"));
        assert_eq!(
            m.child("body").map(Element::text).as_deref(),
            Some("一起吃饭 & 聊天")
        );
        assert_eq!(frames[0].wire, MESSAGE.as_bytes());
    }

    #[test]
    fn the_bare_sequence_is_three_frames() {
        let wire = "<from>Vincent</from><to>Eli</to>\n<body>一起吃饭</body>".as_bytes();
        let frames = assert_any_split_same(reader, wire);
        let names: Vec<String> = stanzas(&frames)
            .into_iter()
            .map(|s| match s {
                Stanza::Element(e) => e.name,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["from", "to", "body"]);
    }

    #[test]
    fn an_xmpp_stream_yields_its_children() {
        let wire = format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='{STREAMS_NS}' to='example.com'>{MESSAGE} <presence/></stream:stream>"
        );
        let frames = assert_any_split_same(reader, wire.as_bytes());
        let s = stanzas(&frames);
        assert!(
            matches!(&s[0], Stanza::StreamOpen(attrs) if attrs.iter().any(|(n, v)| n == "to" && v == "example.com"))
        );
        assert!(
            matches!(&s[1], Stanza::Element(e) if e.name == "message" && e.namespace == "jabber:client")
        );
        assert!(matches!(&s[2], Stanza::Element(e) if e.name == "presence"));
        assert_eq!(s[3], Stanza::StreamClose);
        let total: usize = frames.iter().map(|f| f.wire.len()).sum();
        assert_eq!(total, wire.len(), "frames account for every byte");
    }

    #[test]
    fn doctype_is_refused_in_words() {
        let (_, err) = decode_chunked(reader(), b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>", 5);
        let err = err.expect("refused");
        assert_eq!(err.kind, ErrorKind::Malformed);
        assert!(
            err.detail.contains("DOCTYPE is not allowed"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn mismatched_tags_are_malformed() {
        let (_, err) = decode_chunked(reader(), b"<a><b></a>", 1);
        assert_eq!(err.expect("malformed").kind, ErrorKind::Malformed);
    }

    #[test]
    fn depth_is_limited() {
        let deep = "<a>".repeat(40);
        let (_, err) = decode_chunked(reader(), deep.as_bytes(), 10);
        assert!(err.expect("too deep").detail.contains("--max-depth"));
    }

    #[test]
    fn eof_inside_a_stanza_names_the_open_element() {
        let (frames, err) = decode_chunked(reader(), b"<a/><message><body>hal", 4);
        assert_eq!(frames.len(), 1);
        let err = err.expect("unfinished");
        assert_eq!(err.kind, ErrorKind::PeerClosedMidFrame);
        assert!(err.detail.contains("inside <body>"), "{}", err.detail);
    }

    #[test]
    fn escape_round_trips() {
        let s = "<a b=\"x\">&'";
        let wire = format!("<t a=\"{}\">{}</t>", escape(s), escape(s));
        let (frames, err) = decode_chunked(reader(), wire.as_bytes(), 3);
        assert!(err.is_none(), "{err:?}");
        let got = stanzas(&frames);
        let [Stanza::Element(e)] = got.as_slice() else {
            panic!("not one element: {got:?}")
        };
        assert_eq!((e.attr("a"), e.text()), (Some(s), s.to_string()));
    }
}
