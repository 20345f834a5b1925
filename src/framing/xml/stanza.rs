//! What an XML frame holds: a stanza (an element with its attributes,
//! children and text), or the opening or closing of an XMPP stream.
//!
//! Namespace names are shared, not copied: every element in a namespace
//! holds the same `rxml::Namespace` (a reference-counted string) as the
//! declaration it comes from. A copy per element let a 984 KiB stanza with
//! an 8,000-byte default namespace and 250,000 empty children take 1.9 GiB.

use rxml::Namespace;

/// A parsed element: local name, namespace, attributes (local names) and
/// children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub namespace: Namespace<'static>,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Text, entities decoded; adjacent pieces are joined into one node.
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

    /// The heap memory this element holds, children included, from the
    /// capacities actually allocated. Namespace names are shared with the
    /// declaration they come from, so they are not counted here.
    pub fn heap_bytes(&self) -> usize {
        let attrs: usize = self
            .attrs
            .iter()
            .map(|(n, v)| n.capacity() + v.capacity())
            .sum();
        let children: usize = self
            .children
            .iter()
            .map(|c| match c {
                Node::Text(t) => t.capacity(),
                Node::Element(e) => e.heap_bytes(),
            })
            .sum();
        self.name.capacity()
            + self.attrs.capacity() * size_of::<(String, String)>()
            + attrs
            + self.children.capacity() * size_of::<Node>()
            + children
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
        use crate::framing::summary::{clipped, element_text};
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

/// Escapes text for an attribute value or element content.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
