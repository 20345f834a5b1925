//! The XMPP adapter: XML stanzas on a client stream (RFC 6120, RFC 6121)
//! ⇄ the chat core.
//!
//! ```text
//! stream.rs   XmppStream: one client's stream as a state machine — header,
//!             SASL, restart, bind — then stanzas to the core
//! iq.rs       the iqs the server answers itself: bind, session, roster,
//!             ping, disco; every other request gets service-unavailable
//! mam.rs      the message archive (XEP-0313): queries, pages, results
//! stanza.rs   <message>, <presence> ⇄ model values; error replies
//! upload.rs   the file upload service (XEP-0363): disco and slots
//! write.rs    element trees back to XML
//! ```

mod iq;
pub mod mam;
pub mod stanza;
mod stream;
mod upload;
pub mod write;

pub use stream::XmppStream;

use crate::framing::xml::{Element, Stanza};
use crate::framing::{Content, FrameReader, JsonFraming, Limits, Proto, Role, codec};

pub const STREAMS_NS: &str = crate::framing::xml::STREAMS_NS;
pub const STREAM_ERRORS_NS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
pub const SASL_NS: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
pub const BIND_NS: &str = "urn:ietf:params:xml:ns:xmpp-bind";
pub const SESSION_NS: &str = "urn:ietf:params:xml:ns:xmpp-session";
pub const PING_NS: &str = "urn:xmpp:ping";
pub const DISCO_INFO_NS: &str = "http://jabber.org/protocol/disco#info";
pub const DISCO_ITEMS_NS: &str = "http://jabber.org/protocol/disco#items";

/// Parses elements stored as XML text (an offline message's extensions).
/// Whatever does not parse is left out.
pub fn parse_elements(xml: &str) -> Vec<Element> {
    if xml.trim().is_empty() {
        return Vec::new();
    }
    let wire = format!(
        "<stream:stream xmlns='{}' xmlns:stream='{STREAMS_NS}'>{xml}",
        write::CLIENT_NS
    );
    let mut reader = FrameReader::new(
        codec(Proto::Xml, JsonFraming::Newline, Role::Server),
        Limits::default(),
    );
    reader.push(wire.as_bytes());
    let mut out = Vec::new();
    while let Ok(Some(frame)) = reader.next_frame() {
        if let Content::Xml(Stanza::Element(e)) = frame.content {
            out.push(e);
        }
    }
    out
}

/// Elements written as XML text, in the client namespace.
pub fn write_elements(elements: &[Element]) -> String {
    let mut s = String::new();
    for e in elements {
        write::write(e, write::CLIENT_NS, &mut s);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_survive_the_database() {
        let xml = "<active xmlns='http://jabber.org/protocol/chatstates'/><x xmlns='jabber:x:oob'><url>http://a/b</url></x>";
        let parsed = parse_elements(xml);
        assert_eq!(parsed.len(), 2);
        assert_eq!(write_elements(&parsed), xml);
    }
}
