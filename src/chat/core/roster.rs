//! The roster (the friend list) and presence subscriptions (RFC 6121 §2–§3).
//!
//! Seeing someone's presence takes their permission. Each side keeps a
//! roster item about the other with a subscription state: `to` (I see
//! them), `from` (they see me), `both` or `none`, plus whether a request is
//! waiting each way. The four presence verbs move those states:
//!
//! | sent by alice to bob | alice's item for bob     | bob's item for alice       |
//! |----------------------|--------------------------|----------------------------|
//! | `subscribe`          | asks (pending out)       | pending in: bob must answer |
//! | `subscribed`         | gains `from`             | gains `to`                 |
//! | `unsubscribe`        | loses `to`               | loses `from`               |
//! | `unsubscribed`       | loses `from`             | loses `to`                 |
//!
//! Every change is pushed to the owner's sessions that asked for the roster
//! ("roster push", §2.1.6), so all of a person's devices agree.

use super::{Core, Delivery, Outgoing, SessionId, StanzaError};
use crate::chat::jid::Jid;
use crate::chat::model::{Presence, PresenceKind, RosterItem, Subscription};
use crate::trace::Tracer;

/// A roster set from a client: add or change an item, or remove it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterUpdate {
    pub contact: Jid,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub remove: bool,
}

impl Core {
    /// The roster, for a session that asks; it will get pushes from now on.
    pub fn roster_get(&mut self, id: SessionId) -> Result<Vec<RosterItem>, StanzaError> {
        let session = self
            .sessions
            .get_mut(&id)
            .ok_or_else(|| StanzaError::new("not-authorized", "auth", "log in first"))?;
        session.interested = true;
        let user = session.jid.user().unwrap_or_default().to_string();
        self.store.roster(&user).map_err(StanzaError::internal)
    }

    /// Marks a session as wanting roster pushes without a roster get (JSON
    /// sessions are told about changes from the start).
    pub fn want_pushes(&mut self, id: SessionId) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.interested = true;
        }
    }

    pub fn roster_set(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        update: RosterUpdate,
        out: &mut Vec<Delivery>,
    ) -> Result<(), StanzaError> {
        let Some(me) = self.session(id).map(|s| s.jid.to_bare()) else {
            return Err(StanzaError::new("not-authorized", "auth", "log in first"));
        };
        let user = me.user().unwrap_or_default().to_string();
        let contact = update.contact.to_bare();
        if contact == me {
            return Err(StanzaError::new(
                "bad-request",
                "modify",
                "you are always in your own roster's thoughts: a roster item cannot be yourself",
            ));
        }
        let current = self
            .store
            .item(&user, &contact)
            .map_err(StanzaError::internal)?;
        if update.remove {
            let Some(item) = current.filter(|i| i.in_roster) else {
                return Err(StanzaError::new(
                    "item-not-found",
                    "modify",
                    format!("{contact} is not in your roster"),
                ));
            };
            // §2.5.2: removing a contact cancels both subscriptions.
            if item.subscription.to() || item.ask_out {
                self.subscription(t, id, PresenceKind::Unsubscribe, &contact, out)?;
            }
            if item.subscription.from() || item.ask_in {
                self.subscription(t, id, PresenceKind::Unsubscribed, &contact, out)?;
            }
            self.store
                .remove_item(&user, &contact)
                .map_err(StanzaError::internal)?;
            let text = format!("{user} removed {contact} from the roster (and both subscriptions)");
            self.narrate(t, Some(id), "roster", &user, &text);
            self.push(&user, item, true, out);
            return Ok(());
        }
        let mut item = current.unwrap_or_else(|| RosterItem::new(contact.clone()));
        item.in_roster = true;
        item.name = update.name;
        item.groups = update.groups;
        self.store
            .put_item(&user, &item)
            .map_err(StanzaError::internal)?;
        let text = format!(
            "{user}'s roster now has {contact}{} (subscription {}): pushed to {user}'s sessions",
            item.name
                .as_ref()
                .map(|n| format!(" as {n:?}"))
                .unwrap_or_default(),
            item.subscription.name()
        );
        self.narrate(t, Some(id), "roster", &user, &text);
        self.push(&user, item, false, out);
        Ok(())
    }

    /// Sends a roster push to every interested session of `owner`.
    fn push(&self, owner: &str, item: RosterItem, removed: bool, out: &mut Vec<Delivery>) {
        for s in self.sessions_of(owner) {
            if self.sessions[s].interested {
                out.push(Delivery {
                    to: *s,
                    what: Outgoing::RosterPush {
                        item: item.clone(),
                        removed,
                    },
                });
            }
        }
    }

    /// Reads and changes one relationship, and pushes it if it is shown.
    fn update_item(
        &mut self,
        owner: &str,
        contact: &Jid,
        out: &mut Vec<Delivery>,
        change: impl FnOnce(&mut RosterItem),
    ) -> Result<RosterItem, StanzaError> {
        let before = self
            .store
            .item(owner, contact)
            .map_err(StanzaError::internal)?;
        let mut item = before.clone().unwrap_or_else(|| RosterItem {
            in_roster: false,
            ..RosterItem::new(contact.clone())
        });
        change(&mut item);
        if Some(&item) != before.as_ref() {
            self.store
                .put_item(owner, &item)
                .map_err(StanzaError::internal)?;
            if item.in_roster {
                self.push(owner, item.clone(), false, out);
            }
        }
        Ok(item)
    }

    /// A subscription verb from session `id`'s user to `to` (§3).
    pub(super) fn subscription(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        kind: PresenceKind,
        to: &Jid,
        out: &mut Vec<Delivery>,
    ) -> Result<(), StanzaError> {
        let Some(me) = self.session(id).map(|s| s.jid.to_bare()) else {
            return Err(StanzaError::new("not-authorized", "auth", "log in first"));
        };
        let user = me.user().unwrap_or_default().to_string();
        let to = to.to_bare();
        let Some(contact) = self.local_user(&to).map(str::to_string) else {
            return Err(StanzaError::new(
                "remote-server-not-found",
                "cancel",
                format!("this server serves only {} (no federation)", self.domain),
            ));
        };
        let exists = self
            .store
            .user_exists(&contact)
            .map_err(StanzaError::internal)?;
        match kind {
            PresenceKind::Subscribe => {
                if !exists {
                    // §3.1.3: no such account: the answer is a refusal.
                    self.update_item(&user, &to, out, |i| i.ask_out = false)?;
                    let text = format!(
                        "{user} asked to see {to}'s presence, but there is no such user: answering unsubscribed"
                    );
                    self.narrate(t, Some(id), "subscription", &user, &text);
                    self.tell(
                        &user,
                        Presence::new(to.clone(), Some(me), PresenceKind::Unsubscribed),
                        out,
                    );
                    return Ok(());
                }
                let mine = self.update_item(&user, &to, out, |i| {
                    i.in_roster = true;
                    if !i.subscription.to() {
                        i.ask_out = true;
                    }
                })?;
                let theirs = self
                    .store
                    .item(&contact, &me)
                    .map_err(StanzaError::internal)?;
                if theirs.as_ref().is_some_and(|i| i.subscription.from()) {
                    // Already approved: the contact's server answers for them.
                    let text = format!(
                        "{contact} already lets {user} see their presence: the server answers subscribed itself"
                    );
                    self.narrate(t, Some(id), "subscription", &user, &text);
                    return self.subscription_as(
                        t,
                        id,
                        &contact,
                        PresenceKind::Subscribed,
                        &me,
                        out,
                    );
                }
                if mine.subscription.to() {
                    return Ok(());
                }
                self.update_item(&contact, &me, out, |i| i.ask_in = true)?;
                let online = self.available_sessions(&contact);
                let text = if online.is_empty() {
                    format!(
                        "{user} asks to see {contact}'s presence: {contact} is offline, so the request waits in the database and is delivered at their next login"
                    )
                } else {
                    format!(
                        "{user} asks to see {contact}'s presence: delivered to {contact}, who must answer subscribed or unsubscribed"
                    )
                };
                self.narrate(t, Some(id), "subscription", &user, &text);
                self.tell(
                    &contact,
                    Presence::new(me, Some(to), PresenceKind::Subscribe),
                    out,
                );
            }
            PresenceKind::Subscribed => {
                let mine = self.store.item(&user, &to).map_err(StanzaError::internal)?;
                if !mine.as_ref().is_some_and(|i| i.ask_in) {
                    let text = format!(
                        "{user} approved {to}, who had not asked: ignored (no pre-approval on this server)"
                    );
                    self.narrate(t, Some(id), "subscription", &user, &text);
                    return Ok(());
                }
                self.update_item(&user, &to, out, |i| {
                    i.ask_in = false;
                    i.in_roster = true;
                    i.subscription = Subscription::with(i.subscription.to(), true);
                })?;
                let text = format!(
                    "{user} lets {contact} see their presence: {contact} is now subscribed to {user}"
                );
                self.narrate(t, Some(id), "subscription", &user, &text);
                self.update_item(&contact, &me, out, |i| {
                    i.ask_out = false;
                    i.in_roster = true;
                    i.subscription = Subscription::with(true, i.subscription.from());
                })?;
                self.tell(
                    &contact,
                    Presence::new(me.clone(), Some(to.clone()), PresenceKind::Subscribed),
                    out,
                );
                // §3.1.5: the newly subscribed contact gets the current presence.
                for s in self.available_sessions(&user) {
                    if let Some(p) = self.sessions[&s].presence.clone() {
                        self.tell(&contact, p, out);
                    }
                }
            }
            PresenceKind::Unsubscribe => {
                self.update_item(&user, &to, out, |i| {
                    i.ask_out = false;
                    i.subscription = Subscription::with(false, i.subscription.from());
                })?;
                if exists {
                    self.update_item(&contact, &me, out, |i| {
                        i.ask_in = false;
                        i.subscription = Subscription::with(i.subscription.to(), false);
                    })?;
                    self.tell(
                        &contact,
                        Presence::new(me.clone(), Some(to.clone()), PresenceKind::Unsubscribe),
                        out,
                    );
                    self.unavailable_from(&contact, &user, out);
                }
                let text = format!("{user} no longer sees {to}'s presence");
                self.narrate(t, Some(id), "subscription", &user, &text);
            }
            PresenceKind::Unsubscribed => {
                self.update_item(&user, &to, out, |i| {
                    i.ask_in = false;
                    i.subscription = Subscription::with(i.subscription.to(), false);
                })?;
                if exists {
                    self.update_item(&contact, &me, out, |i| {
                        i.ask_out = false;
                        i.subscription = Subscription::with(false, i.subscription.from());
                    })?;
                    self.tell(
                        &contact,
                        Presence::new(me.clone(), Some(to.clone()), PresenceKind::Unsubscribed),
                        out,
                    );
                    self.unavailable_from(&user, &contact, out);
                }
                let text = format!("{user} does not (or no longer) let {to} see their presence");
                self.narrate(t, Some(id), "subscription", &user, &text);
            }
            _ => {}
        }
        Ok(())
    }

    /// The server acting for `who` (answering a request they approved long ago).
    fn subscription_as(
        &mut self,
        t: &mut Tracer,
        id: SessionId,
        who: &str,
        kind: PresenceKind,
        to: &Jid,
        out: &mut Vec<Delivery>,
    ) -> Result<(), StanzaError> {
        let who_jid = self.bare(who);
        let user = to.user().unwrap_or_default().to_string();
        self.update_item(&user, &who_jid, out, |i| {
            i.ask_out = false;
            i.subscription = Subscription::with(true, i.subscription.from());
        })?;
        self.tell(&user, Presence::new(who_jid, Some(to.clone()), kind), out);
        for s in self.available_sessions(who) {
            if let Some(p) = self.sessions[&s].presence.clone() {
                self.tell(&user, p, out);
            }
        }
        let _ = (t, id);
        Ok(())
    }

    /// Delivers a presence to every available session of `user`.
    fn tell(&self, user: &str, p: Presence, out: &mut Vec<Delivery>) {
        for s in self.available_sessions(user) {
            self.deliver_presence(s, &p, out);
        }
    }

    /// `viewer` may no longer see `owner`: tell the viewer's sessions that
    /// each of the owner's sessions is unavailable.
    fn unavailable_from(&self, owner: &str, viewer: &str, out: &mut Vec<Delivery>) {
        for s in self.available_sessions(owner) {
            let p = Presence::new(
                self.sessions[&s].jid.clone(),
                None,
                PresenceKind::Unavailable,
            );
            self.tell(viewer, p, out);
        }
    }
}
