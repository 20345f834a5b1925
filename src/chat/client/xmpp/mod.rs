//! The client's XMPP adapter: one stream to the server, as a state machine
//! with RFC 6120's steps, seen from the client's side.
//!
//! ```text
//! Opening ──header, features──▶ Negotiating ──<success/>──▶ Restarting
//!  (we send our header)          (SASL: <auth>,             (a new header on the
//!                                 challenges, responses)     same socket, new features)
//!                                                                │ <bind/>
//!  Online ◀── roster get, <presence/> ◀── [session] ◀── Binding ◀┘
//!  (messages, presence, iqs; /quit: </stream:stream>) ──▶ Closing ──▶ Closed
//! ```
//!
//! ```text
//! mod.rs       the state, the frame dispatch, and what the chat asks for
//! login.rs     header, features, restart, bind, session, roster, presence
//! sasl.rs      the mechanism, <auth/>, challenges, <success/> checked
//! incoming.rs  messages, presence, iqs and errors from the server
//! archive.rs   the archive (XEP-0313): queries, results, stanza-ids
//! ```
//!
//! It works with any XMPP server, not only socklab's: nothing here depends
//! on socklab's server beyond RFC 6120 and RFC 6121 (the tests run it
//! against Prosody too).

mod archive;
#[cfg(test)]
mod archive_tests;
mod incoming;
mod login;
mod sasl;
#[cfg(test)]
mod tests;
mod upload;

use std::collections::HashMap;

use super::wire::{Cx, Login, Update, Wire};
use crate::chat::jid::Jid;
use crate::chat::model::Message;
use crate::chat::xmpp::stanza::ROSTER_NS;
use crate::chat::xmpp::write::{El, forbidden};
use crate::chat::xmpp::{PING_NS, SASL_NS, STREAMS_NS};
use crate::framing::xml::{Element, Node, Stanza};
use crate::framing::{Content, Proto};

/// The element children of `e`.
fn elements(e: &Element) -> impl Iterator<Item = &Element> {
    e.children.iter().filter_map(|c| match c {
        Node::Element(c) => Some(c),
        Node::Text(_) => None,
    })
}

#[derive(Debug)]
enum State {
    /// Our header is out; waiting for the server's header and features.
    Opening,
    /// SASL under way.
    Negotiating,
    /// SASL succeeded and we sent a new header; waiting for new features.
    Restarting,
    /// Binding a resource, the legacy session, the roster: see `Pending`.
    Binding,
    Online,
    /// We sent `</stream:stream>`; waiting for the server's.
    Closing,
    Closed,
}

/// What an iq we sent was for, by its id.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pending {
    Bind,
    Session,
    Roster,
    RosterSet(Jid),
    Ping(String),
    /// An archive query, by its queryid.
    Archive(String),
    /// An upload slot request (XEP-0363).
    Slot,
}

pub struct XmppClient {
    login: Login,
    state: State,
    sasl: Option<sasl::Sasl>,
    /// The server advertised `<session/>` without `<optional/>`.
    session_required: bool,
    /// Our full JID, once bound.
    jid: Option<Jid>,
    /// Initial presence sent: we are visible, so say goodbye when leaving.
    announced: bool,
    pending: HashMap<String, Pending>,
    next: u64,
    /// Random, so that our ids do not repeat across runs (the cache
    /// matches an error to the message by id).
    tag: String,
    /// The results of the archive query under way, until its `<fin/>`.
    archived: Vec<(String, Message)>,
    /// The server answered an archive query: it keeps one, so the
    /// stanza-ids it puts on messages can be believed.
    archive_known: bool,
}

impl XmppClient {
    pub fn new(login: Login) -> XmppClient {
        XmppClient {
            login,
            state: State::Opening,
            sasl: None,
            session_required: false,
            jid: None,
            announced: false,
            pending: HashMap::new(),
            next: 0,
            tag: super::wire::random_tag(),
            archived: Vec::new(),
            archive_known: false,
        }
    }

    fn domain(&self) -> &str {
        &self.login.jid.domain
    }

    fn id(&mut self, kind: &str) -> String {
        self.next += 1;
        format!("{kind}{}-{}", self.next, self.tag)
    }

    /// Sends an iq request and remembers what it was for.
    fn request(&mut self, cx: &mut Cx, kind: &str, iq: El, why: Pending) -> String {
        let id = self.id(kind);
        cx.send(iq.attr("id", &id).xml());
        self.pending.insert(id.clone(), why);
        id
    }

    /// `<stream:stream ...>`: a new XML document on the socket, from us.
    fn send_header(&mut self, cx: &mut Cx) {
        let header = format!(
            "<?xml version='1.0'?><stream:stream to='{}' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='{STREAMS_NS}'>",
            crate::framing::xml::escape(self.domain())
        );
        cx.send(header);
    }

    fn roster_set(&mut self, cx: &mut Cx, item: El, who: &Jid) {
        let iq = El::stanza("iq")
            .attr("type", "set")
            .child(El::new("query", ROSTER_NS).child(item));
        self.request(cx, "roster", iq, Pending::RosterSet(who.clone()));
    }

    fn presence_to(&self, cx: &mut Cx, who: &Jid, kind: &str) {
        let p = El::stanza("presence")
            .attr("to", who.to_string())
            .attr("type", kind);
        cx.send(p.xml());
    }

    /// The stream is over from our side too.
    fn fail(&mut self, cx: &mut Cx, why: String) {
        if !matches!(self.state, State::Closing | State::Closed) {
            cx.send("</stream:stream>");
            self.state = State::Closing;
        }
        cx.update(Update::Failed(why));
    }
}

impl Wire for XmppClient {
    fn proto(&self) -> Proto {
        Proto::Xml
    }

    fn start(&mut self, cx: &mut Cx) {
        self.send_header(cx);
        let text = format!(
            "opening an XML stream to {} (RFC 6120 §4.2): our header says who we want to talk to; the server answers with its own header and the features it offers",
            self.domain()
        );
        cx.narrate("stream", &text);
    }

    fn on_frame(&mut self, cx: &mut Cx, content: &Content) {
        let Content::Xml(stanza) = content else {
            return;
        };
        match stanza {
            Stanza::StreamOpen(attrs) => self.on_header(cx, attrs),
            Stanza::StreamClose => {
                let text = match self.state {
                    State::Closing => "the server closed its stream too: the conversation is over",
                    _ => {
                        "the server closed its stream (</stream:stream>): the conversation is over"
                    }
                };
                cx.narrate("close", text);
                if !matches!(self.state, State::Closing | State::Closed) {
                    // RFC 6120 §4.4: answer a closing tag with ours.
                    cx.send("</stream:stream>");
                }
                self.state = State::Closed;
                cx.update(Update::Ended);
            }
            Stanza::Element(e) if &*e.namespace == STREAMS_NS && e.name == "error" => {
                let why = incoming::stream_error(e);
                cx.narrate("stream_error", &why);
                self.fail(cx, why);
            }
            Stanza::Element(e) if &*e.namespace == STREAMS_NS && e.name == "features" => {
                self.on_features(cx, e)
            }
            Stanza::Element(e) if &*e.namespace == SASL_NS => self.on_sasl(cx, e),
            Stanza::Element(e) => self.on_stanza(cx, e),
        }
    }

    fn cannot_carry(&self, text: &str) -> Option<String> {
        let c = text.chars().find(|c| forbidden(*c))?;
        Some(format!(
            "it holds U+{:04X}, a control character XML 1.0 cannot carry (not even as &#x{:x};): the server would end the stream as not-well-formed",
            c as u32, c as u32
        ))
    }

    fn message(&mut self, cx: &mut Cx, to: &Jid, body: &str, url: Option<&str>) -> String {
        let id = self.id("m");
        let mut m = El::stanza("message")
            .attr("to", to.to_string())
            .attr("type", "chat")
            .attr("id", &id)
            .text_child("body", Some(body));
        if let Some(url) = url {
            // XEP-0066: the link again, out of band, so that a client
            // knows the body is an attachment and not words.
            use crate::chat::files::OOB_NS;
            m = m.child(El::new("x", OOB_NS).child(El::new("url", OOB_NS).text(url)));
        }
        cx.send(m.xml());
        id
    }

    fn request_slot(&mut self, cx: &mut Cx, name: &str, size: u64) -> Option<String> {
        Some(self.ask_slot(cx, name, size))
    }

    fn add(&mut self, cx: &mut Cx, who: &Jid) {
        let item = El::new("item", ROSTER_NS).attr("jid", who.to_string());
        self.roster_set(cx, item, who);
        self.presence_to(cx, who, "subscribe");
        let text = format!(
            "adding {who}: a roster set puts them in your contact list (RFC 6121 §2.3), and <presence type='subscribe'/> asks to see their presence (§3.1); they must accept"
        );
        cx.narrate("add", &text);
    }

    fn accept(&mut self, cx: &mut Cx, who: &Jid, ask_back: bool) {
        self.presence_to(cx, who, "subscribed");
        let mut text = format!(
            "accepting {who}'s request: <presence type='subscribed'/> lets them see your presence (RFC 6121 §3.1.4)"
        );
        if ask_back {
            self.presence_to(cx, who, "subscribe");
            text.push_str(
                "; and <presence type='subscribe'/> asks to see theirs, so you see each other",
            );
        }
        cx.narrate("accept", &text);
    }

    fn deny(&mut self, cx: &mut Cx, who: &Jid) {
        self.presence_to(cx, who, "unsubscribed");
        let text =
            format!("refusing {who}'s request: <presence type='unsubscribed'/> (RFC 6121 §3.2)");
        cx.narrate("deny", &text);
    }

    fn remove(&mut self, cx: &mut Cx, who: &Jid) {
        let item = El::new("item", ROSTER_NS)
            .attr("jid", who.to_string())
            .attr("subscription", "remove");
        self.roster_set(cx, item, who);
        let text = format!(
            "removing {who}: a roster set with subscription='remove' (RFC 6121 §2.5); the server also cancels the subscriptions both ways"
        );
        cx.narrate("remove", &text);
    }

    fn archive(&mut self, cx: &mut Cx, after: Option<&str>, max: usize) {
        self.query_archive(cx, after, max);
    }

    fn ping(&mut self, cx: &mut Cx, id: &str) {
        let iq = El::stanza("iq")
            .attr("type", "get")
            .attr("to", self.domain())
            .child(El::new("ping", PING_NS));
        self.request(cx, "ping", iq, Pending::Ping(id.to_string()));
    }

    fn close(&mut self, cx: &mut Cx) {
        if matches!(self.state, State::Closing | State::Closed) {
            return;
        }
        if self.announced {
            // RFC 6121 §4.6: say goodbye, so contacts see us leave at once.
            cx.send(El::stanza("presence").attr("type", "unavailable").xml());
        }
        cx.send("</stream:stream>");
        self.state = State::Closing;
        cx.narrate(
            "close",
            "closing our stream (</stream:stream>, RFC 6120 §4.4); waiting for the server's before closing the socket",
        );
    }
}
