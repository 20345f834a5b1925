//! Stanzas from the server, once logged in: messages (with their
//! `<delay/>` stamp when they waited offline), presence and subscription
//! requests, roster pushes, iqs, and the errors that come back for what we
//! sent. Every iq get or set the server sends gets exactly one answer (RFC
//! 6120 §8.2.3): a roster push its result, a ping its pong, anything else
//! `service-unavailable`.

use super::{Pending, XmppClient, elements};
use crate::chat::client::wire::{Cx, Refusal, Update};
use crate::chat::jid::Jid;
use crate::chat::model::{Delay, MessageKind, PresenceKind, RosterItem, Subscription};
use crate::chat::xmpp::stanza::{self, DELAY_NS, ROSTER_NS, STANZAS_NS};
use crate::chat::xmpp::write::El;
use crate::chat::xmpp::{PING_NS, STREAM_ERRORS_NS};
use crate::framing::xml::Element;

/// A stream error in words (RFC 6120 §4.9.3).
pub fn stream_error(e: &Element) -> String {
    let condition = elements(e)
        .find(|c| &*c.namespace == STREAM_ERRORS_NS && c.name != "text")
        .map_or("undefined-condition", |c| c.name.as_str());
    let text = e.child("text").map(Element::text).unwrap_or_default();
    let meaning = match condition {
        "host-unknown" => "the server does not serve this domain: check the part after @",
        "not-authorized" => "a stanza came before the login finished",
        "policy-violation" => {
            "the server's rules were broken (a stanza too big, too many failed logins...)"
        }
        "connection-timeout" => "the server gave up waiting",
        "conflict" => "another session took over this resource",
        "system-shutdown" => "the server is shutting down",
        "not-well-formed" | "invalid-xml" | "restricted-xml" => "the server could not read our XML",
        "unsupported-version" => "the server does not speak XMPP 1.0",
        _ => "the server ended the stream",
    };
    let said = if text.is_empty() {
        String::new()
    } else {
        format!(" (the server says \"{text}\")")
    };
    format!("stream error <{condition}/>: {meaning}{said}")
}

/// A stanza error's condition and text (RFC 6120 §8.3).
fn stanza_error(e: &Element) -> (String, String) {
    let error = e.child("error");
    let condition = error
        .and_then(|x| elements(x).find(|c| &*c.namespace == STANZAS_NS && c.name != "text"))
        .map_or("undefined-condition", |c| c.name.as_str());
    let text = error
        .and_then(|x| x.child("text"))
        .map(Element::text)
        .unwrap_or_default();
    (condition.to_string(), text)
}

/// The items of a roster query (RFC 6121 §2.1.2).
pub fn roster_items(iq: &Element) -> Vec<RosterItem> {
    let Some(query) = iq.child("query").filter(|q| &*q.namespace == ROSTER_NS) else {
        return Vec::new();
    };
    elements(query)
        .filter(|i| i.name == "item")
        .filter_map(|i| roster_item(i).map(|(item, _)| item))
        .collect()
}

/// One `<item/>`; true when it says the item was removed.
fn roster_item(i: &Element) -> Option<(RosterItem, bool)> {
    let contact = Jid::parse(i.attr("jid")?).ok()?;
    let mut item = RosterItem::new(contact);
    item.name = i.attr("name").filter(|n| !n.is_empty()).map(str::to_string);
    let subscription = i.attr("subscription").unwrap_or("none");
    item.subscription = Subscription::parse(subscription);
    item.ask_out = i.attr("ask") == Some("subscribe");
    item.groups = elements(i)
        .filter(|g| g.name == "group")
        .map(Element::text)
        .collect();
    Some((item, subscription == "remove"))
}

/// XEP-0203: when a delayed message was really sent.
fn delay(m: &crate::chat::model::Message) -> Option<Delay> {
    let d = m
        .extra
        .iter()
        .find(|x| x.name == "delay" && &*x.namespace == DELAY_NS)?;
    Some(Delay {
        stamp_ms: crate::chat::time::parse(d.attr("stamp")?)?,
        from: d.attr("from").unwrap_or_default().to_string(),
        reason: d.text(),
    })
}

impl XmppClient {
    fn sender(&self, e: &Element) -> Jid {
        e.attr("from")
            .and_then(|f| Jid::parse(f).ok())
            .unwrap_or_else(|| Jid::domain(self.domain()))
    }

    pub(super) fn on_stanza(&mut self, cx: &mut Cx, e: &Element) {
        match e.name.as_str() {
            "iq" => self.on_iq(cx, e),
            "message" => self.on_message(cx, e),
            "presence" => self.on_presence(cx, e),
            other => {
                let text =
                    format!("<{other}> from the server: not a stanza this client knows; ignored");
                cx.narrate("ignore", &text);
            }
        }
    }

    fn refusal(&self, e: &Element) -> Refusal {
        let (condition, text) = stanza_error(e);
        Refusal {
            stanza: e.name.clone(),
            peer: e.attr("from").and_then(|f| Jid::parse(f).ok()),
            id: e.attr("id").map(str::to_string),
            condition,
            text,
        }
    }

    fn on_message(&mut self, cx: &mut Cx, e: &Element) {
        if e.attr("type") == Some("error") {
            return cx.update(Update::Refused(self.refusal(e)));
        }
        if self.archive_result(cx, e) {
            return;
        }
        let from = self.sender(e);
        // Read before `stanza::message`, which drops stanza-ids (a client
        // must not be able to send one to the server).
        let archive_id = self.stanza_id(e);
        let Ok(mut m) = stanza::message(e, &from) else {
            return cx.narrate("ignore", "a message with a malformed address: ignored");
        };
        m.delay = delay(&m);
        if m.kind == MessageKind::Groupchat {
            return cx.narrate(
                "ignore",
                "a group chat message: this client has no rooms; ignored",
            );
        }
        cx.update(Update::Message(m, archive_id));
    }

    fn on_presence(&mut self, cx: &mut Cx, e: &Element) {
        if e.attr("type") == Some("error") {
            return cx.update(Update::Refused(self.refusal(e)));
        }
        let from = self.sender(e);
        match stanza::presence(e, &from) {
            Ok(p) if p.kind == PresenceKind::Probe => {
                cx.narrate(
                    "ignore",
                    "a presence probe: servers answer those, not clients",
                );
            }
            Ok(p) => cx.update(Update::Presence(p)),
            Err(err) => cx.narrate(
                "ignore",
                &format!("a presence the client cannot read: {}", err.text),
            ),
        }
    }

    fn on_iq(&mut self, cx: &mut Cx, e: &Element) {
        let id = e.attr("id").unwrap_or_default().to_string();
        match e.attr("type").unwrap_or_default() {
            "result" => match self.pending.remove(&id) {
                Some(Pending::Ping(ping)) => cx.update(Update::Pong(ping)),
                Some(Pending::RosterSet(_)) => {}
                Some(Pending::Archive(_)) => self.archive_fin(cx, e),
                Some(Pending::Slot) => self.slot_result(cx, e, &id),
                Some(why) => self.login_step(cx, why, e),
                None => cx.narrate(
                    "ignore",
                    &format!("a result for iq {id:?}, which we never sent"),
                ),
            },
            "error" => {
                let refusal = self.refusal(e);
                match self.pending.remove(&id) {
                    Some(Pending::Bind | Pending::Session | Pending::Roster) => {
                        let why = format!("the login failed at an iq: {}", refusal.explain());
                        self.fail(cx, why);
                    }
                    Some(Pending::RosterSet(who)) => cx.update(Update::Refused(Refusal {
                        stanza: "roster set".into(),
                        peer: Some(who),
                        ..refusal
                    })),
                    Some(Pending::Archive(_)) => {
                        self.archived.clear();
                        cx.update(Update::ArchiveRefused(Refusal {
                            stanza: "archive query".into(),
                            ..refusal
                        }));
                    }
                    Some(Pending::Slot) => XmppClient::slot_error(cx, e, refusal),
                    Some(Pending::Ping(_)) | None => cx.update(Update::Refused(refusal)),
                }
            }
            kind @ ("get" | "set") => self.answer_iq(cx, e, kind),
            other => cx.narrate("ignore", &format!("an iq of type {other:?}: ignored")),
        }
    }

    /// An iq request from the server (or routed from another user).
    fn answer_iq(&mut self, cx: &mut Cx, e: &Element, kind: &str) {
        let payload = elements(e).next();
        let ns = payload.map_or("", |p| &*p.namespace);
        let result = El::stanza("iq")
            .attr("type", "result")
            .attr_opt("id", e.attr("id"))
            .attr_opt("to", e.attr("from"));
        match (kind, ns) {
            ("set", ROSTER_NS) => {
                // RFC 6121 §2.1.6: only our own server may push, so a push
                // with a `from` that is not our account is a forgery.
                let mine = self.login.jid.to_bare();
                let from_ok = e
                    .attr("from")
                    .is_none_or(|f| Jid::parse(f).ok().is_some_and(|f| f == mine));
                let item = payload.and_then(|q| elements(q).find_map(roster_item));
                match (from_ok, item) {
                    (true, Some((item, removed))) => {
                        cx.send(result.xml());
                        cx.update(Update::RosterPush { item, removed });
                    }
                    _ => self.iq_error(
                        cx,
                        e,
                        "roster push refused: it must come from our own server and carry one item",
                    ),
                }
            }
            ("get", PING_NS) => {
                cx.send(result.xml());
                let text = format!(
                    "answered a ping from {} (XEP-0199): the server checks we are still here",
                    self.sender(e)
                );
                cx.narrate("iq", &text);
            }
            _ => self.iq_error(cx, e, "this client answers only roster pushes and pings"),
        }
    }

    fn iq_error(&mut self, cx: &mut Cx, e: &Element, why: &str) {
        let reply = El::stanza("iq")
            .attr("type", "error")
            .attr_opt("id", e.attr("id"))
            .attr_opt("to", e.attr("from"))
            .child(
                El::stanza("error")
                    .attr("type", "cancel")
                    .child(El::new("service-unavailable", STANZAS_NS))
                    .child(El::new("text", STANZAS_NS).text(why)),
            );
        cx.send(reply.xml());
        let what = elements(e).next().map_or(String::new(), |p| {
            format!(" <{} xmlns='{}'/>", p.name, p.namespace)
        });
        cx.narrate(
            "iq",
            &format!("answered an iq{what} with service-unavailable: {why}"),
        );
    }
}
