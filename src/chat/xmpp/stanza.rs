//! XMPP stanzas ⇄ the chat's typed values.
//!
//! Reading: a `<message>` or `<presence>` element becomes a
//! [`Message`](crate::chat::model::Message) or
//! [`Presence`](crate::chat::model::Presence); the children the core does not
//! need (chat states, receipts...) are kept as they are, in `extra`.
//! Writing: what the core delivers becomes the element the receiving client
//! expects, and a refused stanza becomes its error reply (RFC 6120 §8.3).

use super::write::{CLIENT_NS, El};
use crate::chat::core::{Outgoing, StanzaError};
use crate::chat::jid::Jid;
use crate::chat::model::{Delay, Message, MessageKind, Presence, PresenceKind, RosterItem};
use crate::framing::xml::{Element, Node};

pub const STANZAS_NS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
pub const ROSTER_NS: &str = "jabber:iq:roster";
pub const DELAY_NS: &str = "urn:xmpp:delay";

/// The text of a direct child in the client namespace.
fn child_text(e: &Element, name: &str) -> Option<String> {
    e.children.iter().find_map(|c| match c {
        Node::Element(c) if c.name == name && &*c.namespace == CLIENT_NS => Some(c.text()),
        _ => None,
    })
}

/// Children other than the ones the model has fields for.
fn extra(e: &Element, known: &[&str]) -> Vec<Element> {
    e.children
        .iter()
        .filter_map(|c| match c {
            Node::Element(c)
                if !(known.contains(&c.name.as_str()) && &*c.namespace == CLIENT_NS) =>
            {
                Some(c.clone())
            }
            _ => None,
        })
        .collect()
}

/// The `to` of a stanza; a missing one means the sender's own bare JID
/// (RFC 6120 §10.3).
pub fn to_of(e: &Element, sender: &Jid) -> Result<Jid, StanzaError> {
    match e.attr("to") {
        None => Ok(sender.to_bare()),
        Some(to) => Jid::parse(to).map_err(|why| {
            StanzaError::new("jid-malformed", "modify", format!("to={to:?}: {why}"))
        }),
    }
}

pub fn message(e: &Element, sender: &Jid) -> Result<Message, StanzaError> {
    Ok(Message {
        from: match e.attr("from") {
            Some(f) => Jid::parse(f).unwrap_or_else(|_| sender.clone()),
            None => sender.clone(),
        },
        to: to_of(e, sender)?,
        kind: MessageKind::parse(e.attr("type")),
        id: e.attr("id").map(str::to_string),
        body: child_text(e, "body"),
        subject: child_text(e, "subject"),
        thread: child_text(e, "thread"),
        delay: None,
        archive_id: None,
        // XEP-0359 §6: a stanza-id from a client is a forgery (only the
        // server assigns them): dropped.
        extra: extra(e, &["body", "subject", "thread"])
            .into_iter()
            .filter(|x| !(x.name == "stanza-id" && &*x.namespace == super::mam::SID_NS))
            .collect(),
    })
}

pub fn presence(e: &Element, sender: &Jid) -> Result<Presence, StanzaError> {
    let kind = PresenceKind::parse(e.attr("type")).ok_or_else(|| {
        StanzaError::new(
            "bad-request",
            "modify",
            format!(
                "presence type {:?} does not exist",
                e.attr("type").unwrap_or_default()
            ),
        )
    })?;
    let to = match e.attr("to") {
        None => None,
        Some(_) => Some(to_of(e, sender)?),
    };
    let priority = child_text(e, "priority")
        .and_then(|p| p.trim().parse::<i64>().ok())
        .map_or(0, |p| p.clamp(-128, 127) as i8);
    Ok(Presence {
        from: sender.clone(),
        to,
        kind,
        id: e.attr("id").map(str::to_string),
        show: child_text(e, "show"),
        status: child_text(e, "status"),
        priority,
        extra: extra(e, &["show", "status", "priority"]),
    })
}

pub fn encode_message(m: &Message) -> El {
    let kind = (m.kind != MessageKind::Normal).then(|| m.kind.name());
    let mut el = El::stanza("message")
        .attr("from", m.from.to_string())
        .attr("to", m.to.to_string())
        .attr_opt("type", kind)
        .attr_opt("id", m.id.as_deref())
        .text_child("subject", m.subject.as_deref())
        .text_child("body", m.body.as_deref())
        .text_child("thread", m.thread.as_deref());
    for x in &m.extra {
        el = el.element(x.clone());
    }
    if let Some(d) = &m.delay {
        el = el.child(delay(d));
    }
    if let Some(n) = m.archive_id {
        // XEP-0359: the id this message has in the recipient's archive.
        el = el.child(
            El::new("stanza-id", super::mam::SID_NS)
                .attr("by", m.to.to_bare().to_string())
                .attr("id", n.to_string()),
        );
    }
    el
}

pub fn delay(d: &Delay) -> El {
    El::new("delay", DELAY_NS)
        .attr("from", &d.from)
        .attr("stamp", crate::chat::time::stamp(d.stamp_ms))
        .text(&d.reason)
}

pub fn encode_presence(p: &Presence) -> El {
    let mut el = El::stanza("presence")
        .attr("from", p.from.to_string())
        .attr_opt("to", p.to.as_ref().map(Jid::to_string))
        .attr_opt("type", p.kind.name())
        .attr_opt("id", p.id.as_deref())
        .text_child("show", p.show.as_deref())
        .text_child("status", p.status.as_deref())
        .text_child(
            "priority",
            (p.priority != 0).then(|| p.priority.to_string()),
        );
    for x in &p.extra {
        el = el.element(x.clone());
    }
    el
}

/// A roster `<item/>` as RFC 6121 §2.1.2 shows it.
pub fn roster_item(item: &RosterItem, removed: bool) -> El {
    let subscription = if removed {
        "remove"
    } else {
        item.subscription.name()
    };
    let mut el = El::new("item", ROSTER_NS)
        .attr("jid", item.contact.to_string())
        .attr_opt("name", item.name.as_deref())
        .attr("subscription", subscription)
        .attr_opt("ask", (item.ask_out && !removed).then_some("subscribe"));
    for g in &item.groups {
        el = el.child(El::new("group", ROSTER_NS).text(g));
    }
    el
}

/// What the core delivers, as the element to send to `to`.
pub fn encode(what: &Outgoing, to: &Jid, push_id: u64) -> El {
    match what {
        Outgoing::Message(m) => encode_message(m),
        Outgoing::Presence(p) => encode_presence(p),
        Outgoing::RosterPush { item, removed } => El::stanza("iq")
            .attr("type", "set")
            .attr("id", format!("push{push_id}"))
            .attr("to", to.to_string())
            .child(El::new("query", ROSTER_NS).child(roster_item(item, *removed))),
        Outgoing::Iq(e) => {
            let mut el = El::stanza("iq");
            for (n, v) in &e.attrs {
                el = el.attr(n, v);
            }
            for c in &e.children {
                if let Node::Element(c) = c {
                    el = el.element(c.clone());
                }
            }
            el
        }
    }
}

/// The error reply to a stanza (RFC 6120 §8.3): same name and id, the
/// addresses swapped, and the condition with a text saying why.
pub fn error_reply(original: &Element, err: &StanzaError, sender: &Jid, server: &str) -> El {
    let from = original.attr("to").unwrap_or(server);
    El::stanza(&original.name)
        .attr("from", from)
        .attr("to", sender.to_string())
        .attr("type", "error")
        .attr_opt("id", original.attr("id"))
        .child({
            let e = El::stanza("error")
                .attr("type", err.kind)
                .child(El::new(err.condition, STANZAS_NS))
                .child(El::new("text", STANZAS_NS).text(&err.text));
            match &err.app {
                Some(app) => e.element((**app).clone()),
                None => e,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::testing::decode_chunked;
    use crate::framing::xml::Stanza;
    use crate::framing::{Content, FrameReader, JsonFraming, Limits, Proto, Role, codec};

    fn parse(xml: &str) -> Element {
        let wire = format!(
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>{xml}"
        );
        let r = FrameReader::new(
            codec(Proto::Xml, JsonFraming::Newline, Role::Server),
            Limits::default(),
        );
        let (frames, _) = decode_chunked(r, wire.as_bytes(), 7);
        match &frames[1].content {
            Content::Xml(Stanza::Element(e)) => e.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_message_keeps_its_extensions_and_loses_a_forged_from() {
        let alice = Jid::full("alice", "localhost", "laptop");
        let e = parse(
            "<message to='Bob@localhost' type='chat' id='m1'><body>hi &amp; bye</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
        );
        let m = message(&e, &alice).expect("valid");
        assert_eq!(m.to, Jid::bare("bob", "localhost"));
        assert_eq!(m.body.as_deref(), Some("hi & bye"));
        assert_eq!(m.extra.len(), 1);
        let out = encode_message(&m).xml();
        assert_eq!(
            out,
            "<message from='alice@localhost/laptop' to='bob@localhost' type='chat' id='m1'><body>hi &amp; bye</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>"
        );
    }

    #[test]
    fn presence_priority_and_show_are_read() {
        let alice = Jid::full("alice", "localhost", "laptop");
        let p = presence(
            &parse("<presence><show>away</show><priority>999</priority></presence>"),
            &alice,
        )
        .expect("valid");
        assert_eq!((p.show.as_deref(), p.priority), (Some("away"), 127));
        assert!(presence(&parse("<presence type='bogus'/>"), &alice).is_err());
    }

    #[test]
    fn error_replies_mirror_the_stanza() {
        let alice = Jid::full("alice", "localhost", "laptop");
        let e = parse("<message to='nobody@localhost' id='x1'><body>?</body></message>");
        let err = StanzaError::service_unavailable("there is no user nobody@localhost");
        assert_eq!(
            error_reply(&e, &err, &alice, "localhost").xml(),
            "<message from='nobody@localhost' to='alice@localhost/laptop' type='error' id='x1'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>there is no user nobody@localhost</text></error></message>"
        );
    }
}
