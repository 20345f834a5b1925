//! Frame summaries for the narration, bounded.
//!
//! A frame may be a megabyte long; its narration line is for a person, who
//! reads the first few hundred characters and wants to know how much more
//! there was. So each summary shows a bounded part and ends with a count of
//! what it left out (`… 1,048,000 more bytes`), and building it costs
//! O(what is shown), not O(frame): the narration runs on the loop thread,
//! and a peer must not be able to stall a server by sending big frames.
//!
//! Summaries quote the peer: they travel as
//! [`Untrusted`](crate::trace::Untrusted) text and are escaped for display.

use serde_json::Value;

use super::json::Object;
use super::xml::{Element, Node};
use crate::trace::escape::{clip, more, preview};

/// Bytes of a JSON frame's summary: a chat message is shown whole.
const JSON: usize = 1000;

/// `s`, clipped to `max` characters, with a count of the bytes left out.
pub fn clipped(s: &str, max: usize) -> String {
    let (shown, left) = clip(s, max);
    format!("{shown}{}", more(left))
}

/// A JSON frame: the object in compact form when the frame is short;
/// otherwise its text as it came, clipped, with a count. Only the shown part
/// is ever looked at, so a huge object costs what a short one does. Keys
/// the object repeats are pointed out.
pub fn json(object: &Object, wire: &[u8]) -> String {
    let text = wire.get(object.text.clone()).unwrap_or_default();
    format!(
        "{}{}",
        json_view(object.value(), text),
        object.duplicates_note()
    )
}

fn json_view(value: &Value, text: &[u8]) -> String {
    if text.len() <= JSON {
        // The compact form is rarely longer than the text it came from
        // (`1E2` becomes `100.0`); the cap bounds it when it is.
        let mut compact = Capped(Vec::new());
        if serde_json::to_writer(&mut compact, value).is_ok()
            && let Ok(text) = String::from_utf8(compact.0)
        {
            return text;
        }
    }
    // At most four bytes a character: decode only what can be shown.
    let head = &text[..text.len().min(4 * JSON)];
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        // Cut inside a character: up to it. (serde_json accepted the
        // payload, so there is nothing else invalid in it.)
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
    };
    let (shown, _) = clip(valid, JSON);
    format!("{shown}{}", more(text.len() - shown.len()))
}

/// A writer that refuses to hold more than [`JSON`] bytes: serde_json stops
/// at the first refused write.
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + bytes.len() > JSON {
            return Err(std::io::Error::other("over the summary limit"));
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The text inside an element, quoted and escaped as a preview of at most
/// `max` characters, with a count of the text bytes left out. Only the
/// shown text is copied; the rest is only measured.
pub fn element_text(e: &Element, max: usize) -> String {
    let mut text = Text {
        shown: String::new(),
        chars: 0,
        left: 0,
        max,
    };
    text.collect(e);
    format!("{}{}", preview(text.shown.as_bytes(), max), more(text.left))
}

struct Text {
    shown: String,
    /// Characters in `shown`.
    chars: usize,
    /// Bytes of text not shown.
    left: usize,
    max: usize,
}

impl Text {
    fn collect(&mut self, e: &Element) {
        for node in &e.children {
            match node {
                Node::Element(child) => self.collect(child),
                Node::Text(t) if self.left > 0 => self.left += t.len(),
                Node::Text(t) => {
                    let (shown, rest) = clip(t, self.max - self.chars);
                    self.shown.push_str(shown);
                    self.chars += shown.chars().count();
                    self.left += rest;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The object of a frame whose text starts at `offset` of `wire`.
    fn object(wire: &[u8], offset: usize) -> Object {
        Object::parse(wire[offset..].trim_ascii_end(), offset).expect("valid")
    }

    #[test]
    fn a_short_object_is_shown_compact_and_whole() {
        let wire = b"{ \"from\": \"Vincent\", \"body\": \"\\u4e2d\\u5348\\u4e00\\u8d77\\u5403\\u996d\" }\n";
        assert_eq!(
            json(&object(wire, 0), wire),
            r#"{"from":"Vincent","body":"中午一起吃饭"}"#
        );
    }

    #[test]
    fn repeated_keys_are_pointed_out() {
        let wire = b"{\"a\":1,\"a\":2}\n";
        let shown = json(&object(wire, 0), wire);
        assert!(
            shown.starts_with(r#"{"a":2} — duplicate key "a": "#),
            "{shown}"
        );
    }

    #[test]
    fn a_huge_object_is_clipped_with_an_exact_count() {
        let body = "x".repeat(1 << 20);
        let v = json!({ "body": body });
        let line = format!("{v}\n");
        let shown = json(&object(line.as_bytes(), 0), line.as_bytes());
        let left = line.trim_end().len() - JSON;
        assert!(shown.starts_with("{\"body\":\"xxx"), "{}", &shown[..20]);
        assert!(shown.ends_with(&more(left)), "{}", &shown[JSON - 10..]);
        let framed = [
            &(line.len() as u32 - 1).to_be_bytes()[..],
            line.trim_end().as_bytes(),
        ]
        .concat();
        assert_eq!(
            json(&object(&framed, 4), &framed),
            shown,
            "the length prefix is not shown"
        );
    }

    #[test]
    fn element_text_is_clipped_across_children() {
        let e = Element {
            name: "body".into(),
            namespace: rxml::Namespace::none().clone(),
            attrs: vec![],
            children: vec![
                Node::Text("abc".into()),
                Node::Element(Element {
                    name: "b".into(),
                    namespace: rxml::Namespace::none().clone(),
                    attrs: vec![],
                    children: vec![Node::Text("defgh".into())],
                }),
                Node::Text("ijk".into()),
            ],
        };
        assert_eq!(element_text(&e, 5), "\"abcde\"… 6 more bytes");
        assert_eq!(element_text(&e, 40), "\"abcdefghijk\"");
    }
}
