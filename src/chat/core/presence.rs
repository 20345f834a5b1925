//! Presence: who is online, and who may know it (RFC 6121 §4).
//!
//! A session's first available presence ("initial presence") makes it
//! available: the server sends it to every contact subscribed to the user
//! (subscription `from` or `both`) and to the user's other sessions, then
//! answers the server's own probes — the current presence of every contact
//! the user is subscribed to (`to` or `both`) — and finally hands over what
//! waited for the login: subscription requests, then offline messages.
//! Unavailable presence, sent by the client or made up by the server when a
//! connection drops, goes to the same people.

use super::{Core, Delivery, Outgoing, SessionId, StanzaError};
use crate::chat::jid::Jid;
use crate::chat::model::{Presence, PresenceKind};
use crate::trace::Tracer;

impl Core {
    /// A presence stanza from session `id`.
    pub fn presence(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        mut p: Presence,
        out: &mut Vec<Delivery>,
    ) -> Result<(), StanzaError> {
        let Some(session) = self.session(id) else {
            return Err(StanzaError::new("not-authorized", "auth", "log in first"));
        };
        p.from = session.jid.clone();
        match (p.kind, p.to.clone()) {
            (PresenceKind::Available | PresenceKind::Unavailable, None) => {
                self.own_presence(t, id, p, out);
                Ok(())
            }
            (PresenceKind::Available | PresenceKind::Unavailable, Some(to)) => {
                self.directed(t, id, p, &to, out);
                Ok(())
            }
            (kind, Some(to)) if kind.is_subscription() => self.subscription(t, id, kind, &to, out),
            (kind, None) if kind.is_subscription() => Err(StanzaError::new(
                "bad-request",
                "modify",
                "a subscription request needs a `to`: whose presence do you ask for?",
            )),
            _ => {
                let text = "a probe or error presence from a client: the server sends probes itself, so it is ignored";
                let user = p.from.user().unwrap_or_default().to_string();
                self.narrate(t, Some(id), "drop", &user, text);
                Ok(())
            }
        }
    }

    /// Broadcast presence: available (initial or an update) or unavailable.
    fn own_presence(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        p: Presence,
        out: &mut Vec<Delivery>,
    ) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let user = session.jid.user().unwrap_or_default().to_string();
        let initial = !session.available && p.kind == PresenceKind::Available;
        if p.kind == PresenceKind::Available {
            session.available = true;
            session.priority = p.priority;
            session.presence = Some(p.clone());
        } else {
            session.available = false;
            session.presence = None;
        }
        let state = match (&p.kind, &p.show) {
            (PresenceKind::Unavailable, _) => "unavailable".to_string(),
            (_, Some(show)) => format!("available ({show})"),
            _ => "available".to_string(),
        };
        let what = if initial {
            "initial presence"
        } else {
            "presence"
        };
        let jid = p.from.clone();
        let reached = self.broadcast(t, id, p, out);
        let text = format!(
            "{what} of {jid}: {state}, sent to {reached} session(s) of contacts subscribed to {user}"
        );
        self.narrate(t, Some(id), "presence", &user, &text);
        if initial {
            self.after_login(t, id, &user, out);
        }
    }

    /// Sends `p` to the available sessions of every contact subscribed to
    /// the sender, and to the sender's own other sessions. Returns how many
    /// contact sessions it reached.
    pub(super) fn broadcast(
        &mut self,
        _t: &mut Tracer,
        id: SessionId,
        p: Presence,
        out: &mut Vec<Delivery>,
    ) -> usize {
        let user = p.from.user().unwrap_or_default().to_string();
        let roster = self.store.roster(&user).unwrap_or_default();
        let mut reached = 0;
        for item in roster.iter().filter(|i| i.subscription.from()) {
            let Some(contact) = self.local_user(&item.contact).map(str::to_string) else {
                continue;
            };
            for s in self.available_sessions(&contact) {
                reached += 1;
                self.deliver_presence(s, &p, out);
            }
        }
        for s in self.available_sessions(&user) {
            if s != id {
                self.deliver_presence(s, &p, out);
            }
        }
        reached
    }

    /// After initial presence: the contacts' presence (the server's probes,
    /// answered locally), pending subscription requests, offline messages.
    fn after_login(&mut self, t: &mut Tracer, id: SessionId, user: &str, out: &mut Vec<Delivery>) {
        let me = self.bare(user);
        let roster = self.store.roster(user).unwrap_or_default();
        let mut online = Vec::new();
        for item in roster.iter().filter(|i| i.subscription.to()) {
            let Some(contact) = self.local_user(&item.contact).map(str::to_string) else {
                continue;
            };
            for s in self.available_sessions(&contact) {
                if let Some(mut p) = self.sessions[&s].presence.clone() {
                    p.to = Some(me.clone());
                    online.push(p.from.to_string());
                    out.push(Delivery {
                        to: id,
                        what: Outgoing::Presence(p),
                    });
                }
            }
        }
        let subscribed = roster.iter().filter(|i| i.subscription.to()).count();
        let text = format!(
            "probe: of the {subscribed} contact(s) {user} is subscribed to, online now: {}",
            if online.is_empty() {
                "nobody".to_string()
            } else {
                online.join(", ")
            }
        );
        self.narrate(t, Some(id), "probe", user, &text);
        for request in self.store.pending_in(user).unwrap_or_default() {
            let text = format!(
                "{} asked to see {user}'s presence while {user} was away: delivering the request now",
                request.contact
            );
            self.narrate(t, Some(id), "subscription", user, &text);
            let p = Presence::new(request.contact, Some(me.clone()), PresenceKind::Subscribe);
            out.push(Delivery {
                to: id,
                what: Outgoing::Presence(p),
            });
        }
        self.deliver_offline(t, id, user, out);
    }

    fn deliver_offline(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        user: &str,
        out: &mut Vec<Delivery>,
    ) {
        let waiting = match self.store.offline(user) {
            Ok(w) => w,
            Err(e) => {
                let text = format!("could not read {user}'s offline messages: {e:#}");
                self.narrate(t, Some(id), "error", user, &text);
                return;
            }
        };
        let mut ids = Vec::new();
        for (offline, extra) in waiting {
            let mut m = offline.message;
            m.extra = crate::chat::xmpp::parse_elements(&extra);
            let text = format!(
                "delivering offline message #{} from {} (sent {}, stamped with a <delay/> so the client shows the real time)",
                offline.id,
                m.from,
                crate::chat::time::stamp(m.delay.as_ref().map_or(0, |d| d.stamp_ms))
            );
            self.narrate(t, Some(id), "offline_deliver", user, &text);
            ids.push(offline.id);
            out.push(Delivery {
                to: id,
                what: Outgoing::Message(m),
            });
        }
        // Deleted once the session has taken the bytes (see
        // `offline_written`): a connection that dies first gets them again
        // at the next login, rather than never.
        if !ids.is_empty() {
            self.offline_unwritten.insert(id, ids);
        }
    }

    /// Directed presence: to one JID only (RFC 6121 §4.6).
    fn directed(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        p: Presence,
        to: &Jid,
        out: &mut Vec<Delivery>,
    ) {
        let user = p.from.user().unwrap_or_default().to_string();
        let Some(target) = self.local_user(to).map(str::to_string) else {
            return;
        };
        let sessions: Vec<SessionId> = self
            .available_sessions(&target)
            .into_iter()
            .filter(|s| to.is_bare() || self.sessions[s].jid == *to)
            .collect();
        let text = format!(
            "directed presence {} → {to}: to {} session(s), not a broadcast",
            p.from,
            sessions.len()
        );
        self.narrate(t, Some(id), "presence", &user, &text);
        for s in sessions {
            self.deliver_presence(s, &p, out);
        }
    }

    /// The available sessions of a user.
    pub(super) fn available_sessions(&self, user: &str) -> Vec<SessionId> {
        self.sessions_of(user)
            .iter()
            .copied()
            .filter(|s| self.sessions[s].available)
            .collect()
    }

    pub(super) fn deliver_presence(&self, to: SessionId, p: &Presence, out: &mut Vec<Delivery>) {
        let mut p = p.clone();
        p.to = Some(self.sessions[&to].jid.clone());
        out.push(Delivery {
            to,
            what: Outgoing::Presence(p),
        });
    }
}
