//! The chat server's core: who is online, where a message goes, who sees
//! whose presence. No XML and no JSON here: the adapters hand in typed values
//! ([`model`](super::model)) and get back [`Delivery`]s to encode for each
//! session, so an XMPP user and a JSON user are the same to it, and every
//! rule can be tested without a socket.
//!
//! The rules are RFC 6121's: [`routing`] (messages and iqs, §8.5),
//! [`presence`] (broadcast, probes, unavailable, §4), [`roster`] (the friend
//! list and the subscription state machine, §2–§3). Each decision is
//! narrated as a `chat` event ("route alice@localhost/laptop →
//! bob@localhost/phone", "bob is offline: stored as offline message #3").

mod presence;
mod roster;
mod routing;

use std::collections::HashMap;

use super::jid::Jid;
use super::model::{Message, Presence, RosterItem};
use super::store::Store;
use crate::framing::xml::Element;
use crate::trace::{Event, Side, Tracer};

pub use roster::RosterUpdate;

/// A connected session, named by the server loop (its connection number).
pub type SessionId = u64;

/// Sessions one account may have at once (RFC 6120 §7.6.2.1 lets a server
/// refuse more with `resource-constraint`).
pub const MAX_RESOURCES: usize = 64;

/// What a session is told: the adapter of that session encodes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Outgoing {
    Message(Message),
    Presence(Presence),
    /// RFC 6121 §2.1.6: a roster changed; `removed` means the item is gone.
    RosterPush {
        item: RosterItem,
        removed: bool,
    },
    /// An iq routed between two XMPP sessions, `from` and `to` stamped.
    Iq(Element),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub to: SessionId,
    pub what: Outgoing,
}

/// A stanza error for the sender (RFC 6120 §8.3): the condition's name and
/// what it means here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StanzaError {
    pub condition: &'static str,
    /// `cancel`, `modify`, `auth`, `wait` (RFC 6120 §8.3.2).
    pub kind: &'static str,
    pub text: String,
    /// An application-specific condition (XEP-0363's `<file-too-large/>`).
    pub app: Option<Box<crate::framing::xml::Element>>,
}

impl StanzaError {
    pub fn new(
        condition: &'static str,
        kind: &'static str,
        text: impl Into<String>,
    ) -> StanzaError {
        StanzaError {
            condition,
            kind,
            text: text.into(),
            app: None,
        }
    }

    pub fn service_unavailable(text: impl Into<String>) -> StanzaError {
        StanzaError::new("service-unavailable", "cancel", text)
    }

    fn internal(e: anyhow::Error) -> StanzaError {
        StanzaError::new(
            "internal-server-error",
            "wait",
            format!("the server's database failed: {e:#}"),
        )
    }
}

/// One bound session as the core sees it.
#[derive(Clone, Debug)]
pub struct Session {
    pub jid: Jid,
    /// Sent its initial presence and not yet unavailable.
    pub available: bool,
    pub priority: i8,
    /// The last available presence it broadcast (what a probe is answered with).
    pub presence: Option<Presence>,
    /// Asked for the roster: gets roster pushes (RFC 6121 §2.1.6).
    pub interested: bool,
    /// Speaks XMPP (can receive routed iqs); JSON sessions cannot.
    pub xmpp: bool,
    /// Has an account in the database (anonymous logins do not).
    pub account: bool,
}

pub struct Core {
    pub domain: String,
    pub store: Store,
    sessions: HashMap<SessionId, Box<Session>>,
    /// User name → that user's bound sessions.
    online: HashMap<String, Vec<SessionId>>,
    /// Offline messages handed to a session, not yet written to its socket.
    offline_unwritten: HashMap<SessionId, Vec<i64>>,
    side: Side,
}

impl Core {
    pub fn new(store: Store) -> Core {
        Core {
            domain: store.domain().to_string(),
            store,
            sessions: HashMap::new(),
            online: HashMap::new(),
            offline_unwritten: HashMap::new(),
            side: Side::Server,
        }
    }

    pub fn session(&self, id: SessionId) -> Option<&Session> {
        self.sessions.get(&id).map(|s| &**s)
    }

    /// Bound sessions in all.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// The sessions of a user (bound, available or not).
    pub fn sessions_of(&self, user: &str) -> &[SessionId] {
        self.online.get(user).map_or(&[], Vec::as_slice)
    }

    fn narrate(&self, t: &mut Tracer, id: Option<SessionId>, action: &str, user: &str, text: &str) {
        t.emit(self.side, id, Event::Chat { action, user, text });
    }

    /// RFC 6120 §7: gives an authenticated user a full JID. `wanted` is the
    /// resource the client asked for; a taken or missing one is invented.
    pub fn bind(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        user: &str,
        wanted: Option<&str>,
        xmpp: bool,
    ) -> Result<Jid, StanzaError> {
        if self.sessions_of(user).len() >= MAX_RESOURCES {
            let text = format!(
                "{user} already has {MAX_RESOURCES} sessions: this server allows no more per account (each new one would be told every other one's presence)"
            );
            self.narrate(t, Some(id), "bind", user, &text);
            return Err(StanzaError::new("resource-constraint", "wait", text));
        }
        let taken = |r: &str| {
            self.sessions_of(user)
                .iter()
                .any(|s| self.sessions[s].jid.resource.as_deref() == Some(r))
        };
        let resource = match wanted {
            Some(r) if !taken(r) => r.to_string(),
            _ => {
                let base = wanted.unwrap_or(if xmpp { "xmpp" } else { "json" });
                (1..)
                    .map(|n| format!("{base}-{n}"))
                    .find(|r| !taken(r))
                    .unwrap_or_default()
            }
        };
        let jid = Jid::full(user, &self.domain, &resource);
        let why = match wanted {
            Some(r) if r == resource => "the resource it asked for".to_string(),
            Some(r) => format!("{r:?} was taken by another session, so the server chose one"),
            None => "the client asked for none, so the server chose one".to_string(),
        };
        self.narrate(
            t,
            Some(id),
            "bind",
            user,
            &format!("bound {jid}: {why}; messages to {jid} reach only this session"),
        );
        let account = self.store.user_exists(user).unwrap_or(false);
        self.sessions.insert(
            id,
            Box::new(Session {
                account,
                jid: jid.clone(),
                available: false,
                priority: 0,
                presence: None,
                interested: false,
                xmpp,
            }),
        );
        self.online.entry(user.to_string()).or_default().push(id);
        Ok(jid)
    }

    /// Everything queued for session `id` has been written to its socket:
    /// the offline messages it was given can be deleted.
    pub fn offline_written(&mut self, t: &mut Tracer, id: SessionId) {
        let Some(ids) = self.offline_unwritten.remove(&id) else {
            return;
        };
        if let Err(e) = self.store.delete_offline(&ids) {
            let text =
                format!("could not delete delivered offline messages: {e:#} (they may come again)");
            self.narrate(t, Some(id), "error", "", &text);
        }
    }

    /// The session ended (cleanly or not): it goes unavailable to everyone
    /// who saw it online (RFC 6121 §4.6.3), then is forgotten.
    pub fn unbind(&mut self, t: &mut Tracer, id: SessionId, out: &mut Vec<Delivery>) {
        let Some(session) = self.sessions.get(&id) else {
            return;
        };
        if session.available {
            let jid = session.jid.clone();
            let p = Presence::new(jid.clone(), None, super::model::PresenceKind::Unavailable);
            let reached = self.broadcast(t, id, p, out);
            // The client said no `<presence type='unavailable'/>` (Ctrl-C, a
            // dropped connection, or `</stream:stream>` alone): the server
            // says it for the session, or its contacts would see it online
            // for ever.
            let user = jid.user().unwrap_or_default().to_string();
            let text = format!(
                "{jid}'s session ended while it was available: the server sends its unavailable presence (RFC 6121 §4.6.3), to {reached} session(s) of contacts subscribed to {user}"
            );
            self.narrate(t, Some(id), "presence", &user, &text);
        }
        self.offline_unwritten.remove(&id);
        let Some(session) = self.sessions.remove(&id) else {
            return;
        };
        if let Some(user) = session.jid.user()
            && let Some(list) = self.online.get_mut(user)
        {
            list.retain(|s| *s != id);
            if list.is_empty() {
                self.online.remove(user);
            }
        }
    }

    /// The user's bare JID.
    fn bare(&self, user: &str) -> Jid {
        Jid::bare(user, &self.domain)
    }

    /// The local account a JID names, if it is one of ours.
    fn local_user<'j>(&self, jid: &'j Jid) -> Option<&'j str> {
        (jid.domain == self.domain).then_some(jid.user()).flatten()
    }
}
