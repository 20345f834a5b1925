//! Writing XML: an element tree back to bytes, with the escaping and the
//! namespace declarations it needs.
//!
//! A stanza's namespace is inherited from the stream (`jabber:client`), so
//! `<message>` needs no `xmlns`; a child in another namespace
//! (`<delay xmlns='urn:xmpp:delay'/>`) declares it. Text and attribute
//! values are escaped, so a body holding `</body>` stays text.

use std::borrow::Cow;

use crate::framing::xml::{Element, Node, escape};

/// Characters XML 1.0 cannot carry at all (§2.2), not even as `&#x1b;`:
/// the C0 controls other than tab, newline and carriage return, and
/// U+FFFE, U+FFFF. JSON can carry them, so a JSON user can send one.
pub fn forbidden(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Text as XML can carry it: a forbidden character becomes U+FFFD (the
/// replacement character, visible), because writing it would break the
/// receiver's whole stream (not-well-formed).
fn carried(text: &str) -> Cow<'_, str> {
    if text.contains(forbidden) {
        Cow::Owned(text.replace(forbidden, "\u{fffd}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The namespace of stanzas on a client stream.
pub const CLIENT_NS: &str = "jabber:client";

/// Appends `e` as XML; `parent_ns` is the namespace in scope.
pub fn write(e: &Element, parent_ns: &str, out: &mut String) {
    out.push('<');
    out.push_str(&e.name);
    if &*e.namespace != parent_ns {
        push_attr(out, "xmlns", &e.namespace);
    }
    for (name, value) in &e.attrs {
        push_attr(out, name, value);
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &e.children {
        match child {
            Node::Element(c) => write(c, &e.namespace, out),
            Node::Text(t) => out.push_str(&escape(&carried(t))),
        }
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

/// `e` as a string, in the client namespace.
pub fn to_string(e: &Element) -> String {
    let mut s = String::new();
    write(e, CLIENT_NS, &mut s);
    s
}

fn push_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("='");
    out.push_str(&escape(&carried(value)));
    out.push('\'');
}

/// A small builder for the elements the server writes.
pub struct El(Element);

impl El {
    pub fn new(name: &str, ns: &str) -> El {
        El(Element {
            name: name.into(),
            namespace: ns.to_owned().into(),
            attrs: Vec::new(),
            children: Vec::new(),
        })
    }

    /// A stanza (message, presence, iq) in the client namespace.
    pub fn stanza(name: &str) -> El {
        El::new(name, CLIENT_NS)
    }

    pub fn attr(mut self, name: &str, value: impl AsRef<str>) -> El {
        self.0.attrs.push((name.into(), value.as_ref().into()));
        self
    }

    pub fn attr_opt(self, name: &str, value: Option<impl AsRef<str>>) -> El {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    pub fn child(mut self, c: El) -> El {
        self.0.children.push(Node::Element(c.0));
        self
    }

    pub fn element(mut self, c: Element) -> El {
        self.0.children.push(Node::Element(c));
        self
    }

    pub fn text(mut self, t: impl AsRef<str>) -> El {
        self.0.children.push(Node::Text(t.as_ref().into()));
        self
    }

    /// A child `<name>text</name>` in this element's namespace.
    pub fn text_child(self, name: &str, text: Option<impl AsRef<str>>) -> El {
        match text {
            Some(t) => {
                let ns = self.0.namespace.to_string();
                self.child(El::new(name, &ns).text(t))
            }
            None => self,
        }
    }

    pub fn build(self) -> Element {
        self.0
    }

    pub fn xml(&self) -> String {
        to_string(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_cannot_carry_become_the_replacement_character() {
        let m = El::stanza("message")
            .attr("id", "a\u{1}b")
            .text_child("body", Some("esc\u{1b}[2J\ttab\u{ffff}"));
        assert_eq!(
            m.xml(),
            "<message id='a\u{fffd}b'><body>esc\u{fffd}[2J\ttab\u{fffd}</body></message>"
        );
    }

    #[test]
    fn namespaces_are_declared_where_they_change_and_text_is_escaped() {
        let m = El::stanza("message")
            .attr("to", "bob@localhost")
            .text_child("body", Some("</body> & <b>"))
            .child(El::new("delay", "urn:xmpp:delay").attr("stamp", "x"));
        assert_eq!(
            m.xml(),
            "<message to='bob@localhost'><body>&lt;/body&gt; &amp; &lt;b&gt;</body><delay xmlns='urn:xmpp:delay' stamp='x'/></message>"
        );
    }
}
