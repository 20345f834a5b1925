//! Where a message or an iq goes (RFC 6121 §8.5).
//!
//! - To a full JID (`bob@localhost/phone`) that is online: that session.
//! - To a bare JID (`bob@localhost`), or a full JID that is not online: a
//!   `chat` or `normal` message goes to the session(s) with the highest
//!   non-negative priority; a `headline` to all of them; if none is
//!   available, `chat` and `normal` are stored offline and delivered at the
//!   next login (XEP-0160), a `headline` is dropped.
//! - To a user who does not exist: a `service-unavailable` error comes back.
//! - `from` is always stamped by the server with the sender's full JID, so
//!   a client cannot speak for someone else.

use super::{Core, Delivery, Outgoing, SessionId, StanzaError};
use crate::chat::jid::Jid;
use crate::chat::model::{Message, MessageKind};
use crate::framing::xml::Element;
use crate::trace::{Level, Tracer};

impl Core {
    /// A message sent by session `id`.
    pub fn message(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        mut m: Message,
        extra_xml: impl Fn(&[Element]) -> String,
        out: &mut Vec<Delivery>,
    ) -> Result<(), StanzaError> {
        let Some(sender) = self.session(id).map(|s| s.jid.clone()) else {
            return Err(StanzaError::new(
                "not-authorized",
                "auth",
                "log in before sending messages",
            ));
        };
        let claimed = std::mem::replace(&mut m.from, sender.clone());
        let from_user = sender.user().unwrap_or_default().to_string();
        if claimed != sender && claimed != Jid::domain(&self.domain) {
            let text = format!(
                "the message claimed to be from {claimed}; the server stamped the real sender, {sender} (a client cannot speak for someone else)"
            );
            self.narrate(t, Some(id), "stamp", &from_user, &text);
        }
        let to = m.to.clone();
        let Some(user) = self.local_user(&to).map(str::to_string) else {
            return Err(if to.domain != self.domain {
                StanzaError::new(
                    "remote-server-not-found",
                    "cancel",
                    format!(
                        "this server serves only {} and talks to no other servers (no federation)",
                        self.domain
                    ),
                )
            } else {
                StanzaError::service_unavailable("the server itself takes no messages")
            });
        };
        // A user with a session exists; only an offline one costs a query.
        let known = self.online.contains_key(&user)
            || self
                .store
                .user_exists(&user)
                .map_err(StanzaError::internal)?;
        if !known {
            return Err(StanzaError::service_unavailable(format!(
                "there is no user {} on this server",
                to.to_bare()
            )));
        }
        let xml = if m.extra.is_empty() {
            String::new()
        } else {
            extra_xml(&m.extra)
        };
        self.archive(t, id, &mut m, &from_user, &user, &xml)?;
        if to.resource.is_some()
            && let Some(&target) = self
                .sessions_of(&user)
                .iter()
                .find(|s| self.sessions[s].jid == to)
        {
            if t.wants(Level::Step) {
                let text = format!("route {sender} → {to}: to this one session");
                self.narrate(t, Some(id), "route", &from_user, &text);
            }
            out.push(Delivery {
                to: target,
                what: Outgoing::Message(m),
            });
            return Ok(());
        }
        self.route_bare(t, id, &from_user, user, m, &xml, out)
    }

    #[allow(clippy::too_many_arguments)]
    fn route_bare(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        from_user: &str,
        user: String,
        m: Message,
        xml: &str,
        out: &mut Vec<Delivery>,
    ) -> Result<(), StanzaError> {
        let to = m.to.to_bare();
        match m.kind {
            MessageKind::Error => {
                let text = format!(
                    "an error message for {to}, whose session is gone: dropped (errors are never answered or stored)"
                );
                self.narrate(t, Some(id), "drop", from_user, &text);
                return Ok(());
            }
            MessageKind::Groupchat => {
                return Err(StanzaError::service_unavailable(
                    "this server has no group chat rooms",
                ));
            }
            _ => {}
        }
        let available: Vec<(SessionId, i8)> = self
            .sessions_of(&user)
            .iter()
            .map(|s| (*s, &self.sessions[s]))
            .filter(|(_, s)| s.available && s.priority >= 0)
            .map(|(id, s)| (id, s.priority))
            .collect();
        let best = available.iter().map(|(_, p)| *p).max();
        let targets: Vec<SessionId> = available
            .iter()
            .filter(|(_, p)| m.kind == MessageKind::Headline || Some(*p) == best)
            .map(|(s, _)| *s)
            .collect();
        if targets.is_empty() {
            if m.kind == MessageKind::Headline {
                let text = format!("{to} is offline and headlines are not kept: dropped");
                self.narrate(t, Some(id), "drop", from_user, &text);
                return Ok(());
            }
            let number = self
                .store
                .store_offline(&user, &m, xml)
                .map_err(StanzaError::internal)?;
            let archived = m
                .archive_id
                .map(|a| format!(", #{a} in {user}'s archive"))
                .unwrap_or_default();
            let text = format!(
                "{user} is offline: stored as offline message #{number}{archived} (committed to the database before reading on); it is delivered when {user} logs in"
            );
            self.narrate(t, Some(id), "offline_store", from_user, &text);
            return Ok(());
        }
        if t.wants(Level::Step) {
            let names: Vec<String> = targets
                .iter()
                .map(|s| self.sessions[s].jid.to_string())
                .collect();
            let why = if targets.len() > 1 {
                "every session with the highest priority"
            } else {
                "the session with the highest priority"
            };
            let text = format!("route {} → {}: {why} of {to}", m.from, names.join(", "));
            self.narrate(t, Some(id), "route", from_user, &text);
        }
        for target in targets {
            out.push(Delivery {
                to: target,
                what: Outgoing::Message(m.clone()),
            });
        }
        Ok(())
    }

    /// XEP-0313: a chat or normal message with a body goes into the
    /// archive of each local account it concerns, the sender's copy and the
    /// recipient's; the recipient's id travels with the message.
    fn archive(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        m: &mut Message,
        from_user: &str,
        to_user: &str,
        xml: &str,
    ) -> Result<(), StanzaError> {
        if !matches!(m.kind, MessageKind::Chat | MessageKind::Normal) || m.body.is_none() {
            return Ok(());
        }
        let now = crate::chat::store::now_ms();
        let account = self.session(id).is_some_and(|s| s.account);
        let sender_copy = if account && from_user != to_user {
            Some(
                self.store
                    .archive(from_user, m, true, xml, now)
                    .map_err(StanzaError::internal)?,
            )
        } else {
            None
        };
        // The recipient's copy is always incoming: in their archive the
        // conversation is with the sender.
        let number = self
            .store
            .archive(to_user, m, false, xml, now)
            .map_err(StanzaError::internal)?;
        m.archive_id = Some(number);
        if t.wants(Level::Step) {
            // Each copy has its own number in its owner's archive.
            let text = format!(
                "archived: #{number} in {to_user}'s archive{} (XEP-0313), so any of their devices can fetch it later",
                sender_copy
                    .map(|n| format!(", #{n} in {from_user}'s"))
                    .unwrap_or_default()
            );
            self.narrate(t, Some(id), "archive", from_user, &text);
        }
        Ok(())
    }

    /// An iq for another user's session. `kind` is its type; requests that
    /// cannot be delivered get `service-unavailable`, answers are dropped.
    pub fn route_iq(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        mut iq: Element,
        to: &Jid,
        kind: &str,
        out: &mut Vec<Delivery>,
    ) -> Result<(), StanzaError> {
        let Some(sender) = self.session(id).map(|s| s.jid.clone()) else {
            return Err(StanzaError::new("not-authorized", "auth", "log in first"));
        };
        let request = matches!(kind, "get" | "set");
        let target = self.local_user(to).and_then(|user| {
            self.sessions_of(user)
                .iter()
                .copied()
                .find(|s| self.sessions[s].jid == *to)
        });
        let from_user = sender.user().unwrap_or_default().to_string();
        match target {
            Some(s) if self.sessions[&s].xmpp => {
                set_attr(&mut iq, "from", &sender.to_string());
                set_attr(&mut iq, "to", &to.to_string());
                let text = format!("route iq ({kind}) {sender} → {to}");
                self.narrate(t, Some(id), "route", &from_user, &text);
                out.push(Delivery {
                    to: s,
                    what: Outgoing::Iq(iq),
                });
                Ok(())
            }
            Some(_) if request => Err(StanzaError::service_unavailable(format!(
                "{to} is connected with the JSON protocol, which has no iq requests"
            ))),
            None if request => Err(StanzaError::service_unavailable(format!(
                "{to} is not connected, and the server answers no requests on its behalf"
            ))),
            _ => {
                let text = format!(
                    "an iq {kind} for {to}, which is not connected: dropped (answers are never answered)"
                );
                self.narrate(t, Some(id), "drop", &from_user, &text);
                Ok(())
            }
        }
    }
}

/// Sets (or replaces) an attribute.
pub fn set_attr(e: &mut Element, name: &str, value: &str) {
    match e.attrs.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => *v = value.to_string(),
        None => e.attrs.push((name.to_string(), value.to_string())),
    }
}
