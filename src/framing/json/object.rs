//! One JSON object as a frame holds it: the parsed value for the views
//! that read it (the message view, the narration), the exact text it came
//! as for stdout, and the keys it repeats.
//!
//! Parsing loses information that a faithful pipe must keep: serde_json
//! turns `12345678901234567890123` into `1.2345678901234568e22`, `-0` into
//! `-0.0`, `1E2` into `100.0`, and of a key given twice it keeps only the
//! last value. So stdout gets the object's own bytes, and the parse checks
//! for repeated keys as it goes: RFC 8259 §4 says names "SHOULD be
//! unique" and that parsers disagree about objects whose names are not
//! (most keep the last value, some the first, some refuse the object),
//! which is worth telling a learner who sees one.

use std::fmt;
use std::ops::{Deref, DerefMut, Range};

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};

/// Repeated keys named in a summary; the rest are counted.
const NAMED: usize = 8;

/// A parsed JSON object and where its text is in the frame. It reads as
/// the [`Value`] it holds (`object.get("body")`), for the code that only
/// wants the parsed view.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    value: Value,
    /// The object's text in the frame's wire bytes, from `{` to `}`.
    pub text: Range<usize>,
    /// Paths of keys found more than once in one object (`a.b`, `list[2].id`),
    /// the first few, and how many there were in all.
    pub duplicates: Vec<String>,
    pub duplicate_count: usize,
}

impl Deref for Object {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.value
    }
}

impl DerefMut for Object {
    fn deref_mut(&mut self) -> &mut Value {
        &mut self.value
    }
}

impl Object {
    /// Parses `payload`, which sits at `offset` in its frame.
    pub(crate) fn parse(payload: &[u8], offset: usize) -> serde_json::Result<Object> {
        let mut check = Check::default();
        let mut de = serde_json::Deserializer::from_slice(payload);
        let value = Checked(&mut check).deserialize(&mut de)?;
        de.end()?;
        Ok(Object {
            value,
            text: offset..offset + payload.len(),
            duplicates: check.named,
            duplicate_count: check.count,
        })
    }

    pub fn value(&self) -> &Value {
        &self.value
    }

    pub fn into_value(self) -> Value {
        self.value
    }

    /// The object's own bytes on a line: numbers, escapes and repeated
    /// keys exactly as sent. JSON allows line breaks only as whitespace
    /// between tokens (inside a string they must be escaped), so a line
    /// break in a length-framed object becomes a space and one object stays
    /// one line.
    pub fn output(&self, wire: &[u8]) -> Vec<u8> {
        let text = wire.get(self.text.clone()).unwrap_or_default().trim_ascii();
        let mut out: Vec<u8> = text
            .iter()
            .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
            .collect();
        out.push(b'\n');
        out
    }

    /// A note on the repeated keys, for the narration; empty if none.
    pub fn duplicates_note(&self) -> String {
        if self.duplicate_count == 0 {
            return String::new();
        }
        let names: Vec<String> = self
            .duplicates
            .iter()
            .map(|p| crate::trace::escape::preview(p.as_bytes(), 40))
            .collect();
        let more = self.duplicate_count - self.duplicates.len();
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let s = if self.duplicate_count > 1 { "s" } else { "" };
        format!(
            " — duplicate key{s} {}{more}: the view above keeps the last value, as serde_json and JavaScript do; RFC 8259 §4 says names should be unique, and other parsers keep the first value or refuse the object (stdout has the object as sent)",
            names.join(", ")
        )
    }
}

/// What the parse found so far: where it is, and the repeated keys.
#[derive(Default)]
struct Check {
    path: Vec<Step>,
    named: Vec<String>,
    count: usize,
}

enum Step {
    Key(String),
    Index(usize),
}

impl Check {
    fn repeated(&mut self, key: &str) {
        self.count += 1;
        if self.named.len() < NAMED {
            let mut path = String::new();
            for step in &self.path {
                match step {
                    Step::Key(k) if path.is_empty() => path.push_str(k),
                    Step::Key(k) => {
                        path.push('.');
                        path.push_str(k);
                    }
                    Step::Index(i) => path.push_str(&format!("[{i}]")),
                }
            }
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            self.named.push(path);
        }
    }
}

/// Builds the same [`Value`] serde_json would, noting repeated keys on the
/// way. Each key is looked up once (an entry), so the check costs no more
/// than the parse; serde_json's depth limit (128) still applies.
struct Checked<'c>(&'c mut Check);

impl<'de> DeserializeSeed<'de> for Checked<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let check = self.0;
        let mut items = Vec::new();
        loop {
            check.path.push(Step::Index(items.len()));
            let item = seq.next_element_seed(Checked(&mut *check));
            check.path.pop();
            match item? {
                Some(v) => items.push(v),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let check = self.0;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            check.path.push(Step::Key(key));
            let value = map.next_value_seed(Checked(&mut *check));
            let Some(Step::Key(key)) = check.path.pop() else {
                // The key pushed just above: never taken.
                return Err(serde::de::Error::custom("lost track of the key being read"));
            };
            match object.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value?);
                }
                Entry::Occupied(mut slot) => {
                    check.repeated(slot.key());
                    slot.insert(value?);
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repeated_keys_are_found_at_any_depth_and_the_last_value_kept() {
        let o = Object::parse(
            br#"{"a":1,"b":{"c":1,"c":2},"l":[{"id":1,"id":1}],"a":3}"#,
            0,
        )
        .expect("valid");
        assert_eq!(o.duplicates, ["b.c", "l[0].id", "a"]);
        assert_eq!(o.duplicate_count, 3);
        assert_eq!(*o.value(), json!({"a": 3, "b": {"c": 2}, "l": [{"id": 1}]}));
        assert!(o.duplicates_note().contains("RFC 8259"));
    }

    #[test]
    fn the_view_is_serde_jsons_and_stdout_is_the_text_as_sent() {
        let text = br#"{ "n": 12345678901234567890123, "z": -0, "e": 1E2, "s": "\u4e2d" }"#;
        let o = Object::parse(text, 0).expect("valid");
        assert_eq!(
            *o.value(),
            serde_json::from_slice::<Value>(text).expect("valid")
        );
        assert_eq!(o.output(text), [&text[..], b"\n"].concat());
        assert_eq!(o.duplicates_note(), "");
    }

    #[test]
    fn line_breaks_between_tokens_become_spaces_on_stdout() {
        let text = b"{\r\n  \"a\": 1\n}";
        let o = Object::parse(text, 0).expect("valid");
        assert_eq!(o.output(text), b"{    \"a\": 1 }\n");
    }

    #[test]
    fn errors_are_serde_jsons() {
        let e = Object::parse(b"{\"a\" 1}", 0).expect_err("malformed");
        assert_eq!((e.line(), e.column()), (1, 6));
        assert!(Object::parse(b"{} x", 0).is_err(), "trailing characters");
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(Object::parse(deep.as_bytes(), 0).is_err(), "depth limit");
    }
}
