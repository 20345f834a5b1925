//! Templates in a check: `{listening.addr.port}` is a field of the event an
//! earlier step matched, read with [`field`]; `{x.y|5288}` gives a default
//! for text shown to a person when the step has not matched yet.
//!
//! A reference to a skipped step (the foreign side) cannot be checked and
//! drops its condition; a reference to a field the matched event lacks
//! makes the condition false: a check never passes on what it could not see.
//!
//! A `{` followed by `"` opens a JSON object, not a template: advice can
//! quote a line of the chat's JSON protocol (`{"to":"bob","body":"hi"}`).

use std::collections::HashMap;

use serde_json::Value;

use super::Bound;
use crate::lessons::answer;
use crate::trace::escape;

/// A field of an event as text. Paths are dotted; `.port` and `.ip` take
/// apart an address string (`"127.0.0.1:5288"`), `.number` reads a
/// string as a person's number (`"65,507 bytes"` is `65507`), and `.hex`
/// as hex digits as a tool prints them (`"AB12 CD"` is `ab12cd`: a hash
/// copied from PowerShell or with its spaces is the same hash).
pub fn field(ev: &Value, path: &str) -> Option<String> {
    if let Some(inner) = path.strip_suffix(".number") {
        let text = field(ev, inner)?;
        return answer::number(&text, None).ok().map(answer::digits);
    }
    if let Some(inner) = path.strip_suffix(".hex") {
        let text = field(ev, inner)?;
        let hex: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        return (!hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex);
    }
    let mut v = ev;
    let mut parts = path.split('.');
    while let Some(part) = parts.next() {
        if let (Value::String(s), "port" | "ip") = (v, part) {
            let addr: std::net::SocketAddr = s.parse().ok()?;
            return parts.next().is_none().then(|| match part {
                "port" => addr.port().to_string(),
                _ => addr.ip().to_string(),
            });
        }
        v = v.get(part)?;
    }
    Some(match v {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        // 65507.0 reads as 65507, so that it compares with what a person types.
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    })
}

/// A template filled from the steps matched so far.
pub(super) enum Filled {
    Text(String),
    /// It refers to a skipped step (or an unmatched one): the caller drops
    /// the condition.
    Skipped,
    /// It refers to a field the matched event does not have.
    Missing,
}

/// Fills `{name.path}` templates.
pub(super) fn try_fill(
    template: &str,
    bindings: &HashMap<String, Bound>,
    events: &[Value],
) -> Filled {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        if json_at(rest, open) {
            out.push('{');
            rest = &rest[open + 1..];
            continue;
        }
        let Some(close) = rest[open..].find('}').map(|c| c + open) else {
            break;
        };
        let (reference, _default) = split_default(&rest[open + 1..close]);
        let (name, _) = reference.split_once('.').unwrap_or((reference, ""));
        match (bindings.get(name), resolve(reference, bindings, events)) {
            (_, Some(value)) => out.push_str(&value),
            (Some(Bound::Event { .. }), None) => return Filled::Missing,
            _ => return Filled::Skipped,
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Filled::Text(out)
}

/// Like [`try_fill`], for text shown to a person: an unresolved reference
/// becomes its default (`{listening.addr.port|5288}`) or `…`. What comes
/// from the log is escaped: an event may quote a peer.
pub(super) fn fill(template: &str, bindings: &HashMap<String, Bound>, events: &[Value]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if json_at(rest, open) {
            out.push_str(&rest[..=open]);
            rest = &rest[open + 1..];
            continue;
        }
        let Some(close) = rest[open..].find('}').map(|c| c + open) else {
            break;
        };
        out.push_str(&rest[..open]);
        let (reference, default) = split_default(&rest[open + 1..close]);
        match resolve(reference, bindings, events) {
            Some(value) => out.push_str(&escape::line(&value)),
            None => out.push_str(default.unwrap_or("…")),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether the `{` at `open` starts a JSON object (`{"to":…`): text.
fn json_at(text: &str, open: usize) -> bool {
    text[open + 1..].starts_with('"')
}

pub(super) fn split_default(inner: &str) -> (&str, Option<&str>) {
    match inner.split_once('|') {
        Some((r, d)) => (r, Some(d)),
        None => (inner, None),
    }
}

pub(super) fn resolve(
    reference: &str,
    bindings: &HashMap<String, Bound>,
    events: &[Value],
) -> Option<String> {
    let (name, path) = reference.split_once('.').unwrap_or((reference, ""));
    match bindings.get(name)? {
        Bound::Skipped => None,
        Bound::Event { count, .. } if path == "count" => Some(count.to_string()),
        Bound::Event { index, .. } => field(&events[*index], path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_take_addresses_apart() {
        let ev = json!({"addr": "[::1]:5288", "n": 3});
        assert_eq!(field(&ev, "addr.port").as_deref(), Some("5288"));
        assert_eq!(field(&ev, "addr.ip").as_deref(), Some("::1"));
        assert_eq!(field(&ev, "n").as_deref(), Some("3"));
        assert_eq!(field(&ev, "missing"), None);
        assert_eq!(field(&json!({"v": 65507.0}), "v").as_deref(), Some("65507"));
        assert_eq!(field(&json!({"v": 2.5}), "v").as_deref(), Some("2.5"));
        let answer = json!({"value": "33 bytes", "other": "lots"});
        assert_eq!(field(&answer, "value.number").as_deref(), Some("33"));
        assert_eq!(field(&answer, "other.number"), None);
        let hash = serde_json::json!({"value": "AB12 cd:EF"});
        assert_eq!(field(&hash, "value.hex").as_deref(), Some("ab12cdef"));
        let not_hex = serde_json::json!({"value": "xyz"});
        assert_eq!(field(&not_hex, "value.hex"), None);
    }

    #[test]
    fn a_json_object_in_advice_is_text_beside_a_template() {
        let (bindings, events) = (HashMap::new(), Vec::new());
        let advice = r#"type {"to":"bob","body":"hi"} on port {serving.addr.port|5222}"#;
        assert_eq!(
            fill(advice, &bindings, &events),
            r#"type {"to":"bob","body":"hi"} on port 5222"#
        );
        match try_fill(r#"~ {"type":"message"}"#, &bindings, &events) {
            Filled::Text(t) => assert_eq!(t, r#"~ {"type":"message"}"#),
            _ => panic!("a JSON object is not a template"),
        }
    }
}
