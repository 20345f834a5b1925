//! The stanza being built, and what it costs in memory.
//!
//! A frame's bytes are bounded by `--max-frame`, but the tree built from
//! them is larger than the bytes: `<a/>` is 4 bytes on the wire and an
//! element of about a hundred bytes in memory. So the tree's size is counted
//! as it grows and held to [`TREE_FACTOR`] × `--max-frame`. It is counted
//! from lengths, not capacities, so that the count (and the error) is the
//! same however the bytes were cut into reads; capacities are trimmed as
//! each element closes, so what is kept matches what was counted.

use rxml::Namespace;

use super::stanza::{Element, Node};

/// A stanza's tree may take this many times `--max-frame` of memory.
pub const TREE_FACTOR: usize = 4;

/// The elements of the frame being read, outermost first.
#[derive(Default)]
pub(super) struct Tree {
    open: Vec<Element>,
    /// What the tree holds so far, in bytes.
    bytes: usize,
}

/// What closing an element gave.
pub(super) enum Closed {
    /// No element of the frame was open: the stream root closed.
    Root,
    /// An inner element, now a child of its parent.
    Inner,
    /// The frame's outermost element: the stanza is complete.
    Stanza(Element),
}

impl Tree {
    /// How many elements are open.
    pub(super) fn depth(&self) -> usize {
        self.open.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The element being filled, for naming it in an error.
    pub(super) fn innermost(&self) -> Option<&str> {
        self.open.last().map(|e| e.name.as_str())
    }

    pub(super) fn start(
        &mut self,
        name: String,
        namespace: Namespace<'static>,
        mut attrs: Vec<(String, String)>,
    ) {
        attrs.shrink_to_fit();
        let strings: usize = attrs.iter().map(|(n, v)| n.len() + v.len()).sum();
        self.bytes +=
            size_of::<Node>() + name.len() + attrs.len() * size_of::<(String, String)>() + strings;
        self.open.push(Element {
            name,
            namespace,
            attrs,
            children: Vec::new(),
        });
    }

    /// Text inside the open element, joined to the text just before it
    /// (rxml may hand one run of text over in several pieces). Text
    /// outside any element (whitespace between stanzas) belongs to no frame.
    pub(super) fn text(&mut self, text: String) {
        let Some(e) = self.open.last_mut() else {
            return;
        };
        self.bytes += text.len();
        match e.children.last_mut() {
            Some(Node::Text(t)) => t.push_str(&text),
            _ => {
                self.bytes += size_of::<Node>();
                e.children.push(Node::Text(text));
            }
        }
    }

    pub(super) fn end(&mut self) -> Closed {
        let Some(mut done) = self.open.pop() else {
            return Closed::Root;
        };
        trim_text(&mut done.children);
        done.children.shrink_to_fit();
        match self.open.last_mut() {
            Some(parent) => {
                trim_text(&mut parent.children);
                parent.children.push(Node::Element(done));
                Closed::Inner
            }
            None => {
                self.bytes = 0;
                Closed::Stanza(done)
            }
        }
    }
}

/// Gives back what a text that grew piece by piece reserved beyond its
/// length, once nothing more can join it. (The list of children is trimmed
/// only when its element closes: trimming before each push would make
/// every push reallocate.)
fn trim_text(children: &mut [Node]) {
    if let Some(Node::Text(t)) = children.last_mut() {
        t.shrink_to_fit();
    }
}
