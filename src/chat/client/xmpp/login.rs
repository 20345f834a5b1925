//! Logging in, client side, around SASL (see `sasl.rs`): the server's
//! header and features, the stream restart, resource binding (RFC 6120 §7),
//! the legacy session if the server insists, then the roster and initial
//! presence (RFC 6121 §2.2, §4.2).

use super::{Pending, State, XmppClient, elements};
use crate::chat::client::wire::{Cx, Update};
use crate::chat::jid::Jid;
use crate::chat::xmpp::stanza::ROSTER_NS;
use crate::chat::xmpp::write::El;
use crate::chat::xmpp::{BIND_NS, SESSION_NS};
use crate::framing::xml::Element;

impl XmppClient {
    pub(super) fn on_header(&mut self, cx: &mut Cx, attrs: &[(String, String)]) {
        let attr = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        if attr("version").is_none_or(|v| !v.starts_with("1.")) {
            let why = "the server's stream header has no version='1.0': it speaks pre-RFC Jabber, which this client does not".to_string();
            return self.fail(cx, why);
        }
        let text = format!(
            "the server opened its stream: from={} id={} (a fresh id for this stream){}",
            attr("from").unwrap_or("?"),
            attr("id").unwrap_or("?"),
            match self.state {
                State::Restarting => "; this is the restarted stream, after SASL",
                _ => "",
            }
        );
        cx.narrate("stream", &text);
    }

    pub(super) fn on_features(&mut self, cx: &mut Cx, features: &Element) {
        let names: Vec<String> = elements(features)
            .map(|f| format!("<{}/>", f.name))
            .collect();
        cx.narrate("features", &format!("stream features: {}", names.join(" ")));
        match self.state {
            State::Opening => self.start_sasl(cx, features),
            State::Restarting => self.bind(cx, features),
            _ => {}
        }
    }

    fn bind(&mut self, cx: &mut Cx, features: &Element) {
        if features.child("bind").is_none() {
            let why = "the server offers no resource binding after login (RFC 6120 §7)".to_string();
            return self.fail(cx, why);
        }
        // RFC 6121 §1.4 and RFC 3921: a <session/> feature without
        // <optional/> still asks for the old session step.
        self.session_required = features
            .child("session")
            .is_some_and(|s| &*s.namespace == SESSION_NS && s.child("optional").is_none());
        let mut bind = El::new("bind", BIND_NS);
        if let Some(r) = &self.login.resource {
            bind = bind.child(El::new("resource", BIND_NS).text(r));
        }
        let iq = El::stanza("iq").attr("type", "set").child(bind);
        self.request(cx, "bind", iq, Pending::Bind);
        self.state = State::Binding;
        let text = match &self.login.resource {
            Some(r) => format!("binding the resource {r:?} (RFC 6120 §7): this session's name"),
            None => {
                "binding a resource (RFC 6120 §7): the server picks this session's name".to_string()
            }
        };
        cx.narrate("bind", &text);
    }

    /// The answer to one of the login's iqs.
    pub(super) fn login_step(&mut self, cx: &mut Cx, why: Pending, result: &Element) {
        match why {
            Pending::Bind => {
                let jid = result
                    .child("bind")
                    .and_then(|b| b.child("jid"))
                    .map(Element::text)
                    .and_then(|j| Jid::parse(&j).ok());
                let Some(jid) = jid else {
                    return self.fail(cx, "the bind result carries no valid <jid/>".into());
                };
                cx.narrate(
                    "bind",
                    &format!("bound as {jid}: messages to {jid} reach this session only"),
                );
                self.jid = Some(jid);
                if self.session_required {
                    let iq = El::stanza("iq")
                        .attr("type", "set")
                        .child(El::new("session", SESSION_NS));
                    self.request(cx, "session", iq, Pending::Session);
                    cx.narrate(
                        "session",
                        "the server asks for the legacy session step (RFC 3921 §3): sending it",
                    );
                } else {
                    self.after_bind(cx);
                }
            }
            Pending::Session => self.after_bind(cx),
            Pending::Roster => {
                let items = super::incoming::roster_items(result);
                let text = format!(
                    "roster: {} contact(s); from now on the server pushes every change (RFC 6121 §2.1.6)",
                    items.len()
                );
                cx.narrate("roster", &text);
                cx.update(Update::Roster(items));
                cx.send(El::stanza("presence").xml());
                self.announced = true;
                cx.narrate(
                    "announce",
                    "initial presence sent (<presence/>, RFC 6121 §4.2): you are online; the server tells your friends and sends you theirs, and any offline messages",
                );
                self.go_online(cx);
            }
            _ => {}
        }
    }

    fn after_bind(&mut self, cx: &mut Cx) {
        if self.login.announce {
            let iq = El::stanza("iq")
                .attr("type", "get")
                .child(El::new("query", ROSTER_NS));
            self.request(cx, "roster", iq, Pending::Roster);
        } else {
            cx.narrate(
                "announce",
                "no roster and no presence: this session only sends, so it stays invisible and leaves offline messages for your next real login",
            );
            self.go_online(cx);
        }
    }

    fn go_online(&mut self, cx: &mut Cx) {
        self.state = State::Online;
        if let Some(jid) = self.jid.clone() {
            cx.update(Update::Online(jid));
        }
    }
}
