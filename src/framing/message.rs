//! The instant-messaging view: a message from someone to someone, with a
//! body, in whichever protocol carries it.
//!
//! The same message, `{from: Vincent, to: Eli, body: 中午一起吃饭}`, is:
//! - json: `{"from":"Vincent","to":"Eli","body":"中午一起吃饭"}`
//! - xml:  `<message from="Vincent" to="Eli"><body>中午一起吃饭</body></message>`,
//!   or the tutorial's bare sequence `<from>…</from><to>…</to><body>…</body>`
//! - http: `POST /messages` with the JSON object as its body.

use serde_json::{Value, json};

use super::http::{Part, Sample};
use super::xml::{Element, Stanza, escape};
use super::{Content, Frame, JsonFraming, Proto, http, json as json_codec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub from: String,
    pub to: String,
    pub body: String,
}

impl Message {
    /// `Vincent → Eli: 中午一起吃饭`
    pub fn line(&self) -> String {
        format!("{} → {}: {}", self.from, self.to, self.body)
    }

    /// The message's exact bytes on the wire in `proto`.
    pub fn encode(&self, proto: Proto, framing: JsonFraming, host: &str) -> Vec<u8> {
        let object = json!({"from": self.from, "to": self.to, "body": self.body});
        match proto {
            Proto::Json => json_codec::encode(&object, framing),
            Proto::Xml => format!(
                "<message from=\"{}\" to=\"{}\"><body>{}</body></message>",
                escape(&self.from),
                escape(&self.to),
                escape(&self.body)
            )
            .into_bytes(),
            Proto::Http => http::request(
                "POST",
                "/messages",
                host,
                object.to_string().as_bytes(),
                "application/json",
            ),
            Proto::Lines | Proto::Raw => format!("{}\n", self.line()).into_bytes(),
            Proto::Telnet => {
                super::telnet::escape(format!("{}\n", self.line()).as_bytes(), &mut false)
            }
        }
    }

    fn from_object(v: &Value) -> Option<Message> {
        let field = |k: &str| v.get(k)?.as_str().map(str::to_string);
        Some(Message {
            from: field("from")?,
            to: field("to")?,
            body: field("body")?,
        })
    }

    fn from_element(e: &Element) -> Option<Message> {
        (e.name == "message").then(|| Message {
            from: e.attr("from").unwrap_or_default().to_string(),
            to: e.attr("to").unwrap_or_default().to_string(),
            body: e.child("body").map(Element::text).unwrap_or_default(),
        })
    }
}

/// Recognises messages in frames, including the bare XML sequence, whose
/// three frames make one message, and an HTTP body that comes in pieces.
#[derive(Default)]
pub struct Assembler {
    from: Option<String>,
    to: Option<String>,
    /// The start of the HTTP body being received: a message is small, so
    /// a body that does not fit is not one.
    body: Option<Sample>,
}

impl Assembler {
    pub fn push(&mut self, frame: &Frame) -> Option<Message> {
        match &frame.content {
            Content::Json(v) => Message::from_object(v),
            Content::Http(Part::Head(head)) => {
                // A body announced larger than a sample is not a message.
                let small = match head.body_length() {
                    http::Length::Fixed(n) => n <= Sample::KEEP as u64,
                    _ => true,
                };
                self.body = small.then(Sample::default);
                None
            }
            Content::Http(part @ Part::Body(_)) => {
                if let (Some(body), Some(data)) = (&mut self.body, part.body(&frame.wire)) {
                    body.push(data);
                }
                None
            }
            Content::Http(Part::End(_)) => self
                .body
                .take()
                .filter(Sample::is_whole)
                .and_then(|body| serde_json::from_slice::<Value>(body.bytes()).ok())
                .as_ref()
                .and_then(Message::from_object),
            Content::Xml(Stanza::Element(e)) => match e.name.as_str() {
                "from" => {
                    self.from = Some(e.text());
                    None
                }
                "to" => {
                    self.to = Some(e.text());
                    None
                }
                "body" if self.from.is_some() || self.to.is_some() => Some(Message {
                    from: self.from.take().unwrap_or_default(),
                    to: self.to.take().unwrap_or_default(),
                    body: e.text(),
                }),
                _ => Message::from_element(e),
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::testing::decode_chunked;
    use crate::framing::{FrameReader, Limits, Role, codec};

    fn vincent() -> Message {
        Message {
            from: "Vincent".into(),
            to: "Eli".into(),
            body: "中午一起吃饭".into(),
        }
    }

    #[test]
    fn the_same_message_round_trips_through_every_protocol() {
        for proto in [Proto::Json, Proto::Xml, Proto::Http] {
            for framing in [JsonFraming::Newline, JsonFraming::Length] {
                let wire = vincent().encode(proto, framing, "127.0.0.1:5288");
                let reader =
                    FrameReader::new(codec(proto, framing, Role::Server), Limits::default());
                let (frames, err) = decode_chunked(reader, &wire, 5);
                assert!(err.is_none(), "{proto:?}: {err:?}");
                let mut a = Assembler::default();
                let got: Vec<_> = frames.iter().filter_map(|f| a.push(f)).collect();
                assert_eq!(got, [vincent()], "{proto:?}");
            }
        }
    }

    #[test]
    fn the_bare_xml_sequence_makes_one_message() {
        let wire = "<from>Vincent</from><to>Eli</to><body>中午一起吃饭</body>".as_bytes();
        let reader = FrameReader::new(
            codec(Proto::Xml, JsonFraming::Newline, Role::Server),
            Limits::default(),
        );
        let (frames, _) = decode_chunked(reader, wire, 1);
        let mut a = Assembler::default();
        let got: Vec<_> = frames.iter().filter_map(|f| a.push(f)).collect();
        assert_eq!(got, [vincent()]);
        assert_eq!(got[0].line(), "Vincent → Eli: 中午一起吃饭");
    }
}
