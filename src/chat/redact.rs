//! The chat's narration of frames that may carry a password: a SASL
//! `<auth>`/`<response>`, a JSON login. The masking itself is
//! [`crate::trace::redact::Redactor`], shared with the event files.

use super::xmpp::SASL_NS;
use crate::framing::xml::Stanza;
use crate::framing::{Content, Frame};
use crate::trace::{Data, Event, Level, Side, Tracer};

pub use crate::trace::redact::Redactor;

const MASK: &str = "•••";

/// Narrates one frame cut from a chat connection (a stanza, a JSON line),
/// server or client side: a frame that carries a password (SASL data, a
/// JSON login) is shown without it.
pub fn narrate_frame(t: &mut Tracer, side: Side, conn: Option<u64>, number: u64, frame: &Frame) {
    if !t.wants(Level::Step) {
        return;
    }
    let (text, secret) = match &frame.content {
        Content::Xml(Stanza::Element(e)) if &*e.namespace == SASL_NS => {
            let what = format!(
                "<{}> SASL data ({} bytes of base64; shown decoded below, secrets masked)",
                e.name,
                e.text().len()
            );
            (what, true)
        }
        Content::Json(v) if v.get("password").is_some() => {
            let mut v = v.clone();
            v["password"] = serde_json::json!(MASK);
            (v.to_string(), true)
        }
        _ => (frame.summary(), false),
    };
    let shown = if secret {
        Redactor::default().redact(&frame.wire).into_owned()
    } else {
        frame.wire.clone()
    };
    let proto = match &frame.content {
        Content::Json(_) => "json",
        Content::Http(_) => "http",
        _ => "xml",
    };
    t.emit(
        side,
        conn,
        Event::Frame {
            proto,
            number,
            n: frame.wire.len(),
            text: text.as_str().into(),
            data: Data(&shown),
        },
    );
}

impl crate::net::conn::Redact for Redactor {
    fn redact<'a>(&mut self, data: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        Redactor::redact(self, data)
    }
}
