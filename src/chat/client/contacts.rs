//! Contacts: the roster (RFC 6121 §2) and who is online (§4), as the
//! server reports them — a roster result, then a push for every change,
//! presence broadcasts, friend requests — and as `/roster` and `/who` show
//! them. Offline, the roster is the last one the cache saw.

use super::chat::{Chat, Phase};
use super::wire::Cx;
use crate::chat::jid::Jid;
use crate::chat::model::{Presence, PresenceKind, RosterItem};
use crate::chat::store::now_ms;

impl Chat {
    pub(super) fn roster_push(&mut self, item: RosterItem, removed: bool, cx: &mut Cx) {
        let who = item.contact.clone();
        let text = if removed {
            self.roster.remove(&who);
            self.present.remove(&who);
            format!("roster push: {who} was removed")
        } else {
            let ask = if item.ask_out {
                ", waiting for their answer"
            } else {
                ""
            };
            let text = format!(
                "roster push: {who} subscription={}{ask} ({})",
                item.subscription.name(),
                subscription_words(&item)
            );
            self.roster.insert(who.clone(), item.clone());
            text
        };
        if let Err(e) = self.cache.roster_change(&item, removed, now_ms()) {
            cx.narrate("cache", &format!("could not save the roster change: {e:#}"));
        }
        cx.narrate("roster", &text);
    }

    pub(super) fn presence(&mut self, p: Presence, cx: &mut Cx) {
        let who = p.from.to_bare();
        let name = self.short(&who);
        if who == self.me.to_bare() {
            // The server reflects our own presence, and shows our other devices.
            if p.from != self.me {
                let state = if p.kind == PresenceKind::Unavailable {
                    "went offline"
                } else {
                    "is online"
                };
                cx.narrate(
                    "presence",
                    &format!("your other session {} {state}", p.from),
                );
            }
            return;
        }
        let text = match p.kind {
            PresenceKind::Available => {
                let resource = p.from.resource.clone().unwrap_or_default();
                self.present
                    .entry(who.clone())
                    .or_default()
                    .insert(resource, p.show.clone());
                let show = match (&p.show, &p.status) {
                    (Some(s), Some(t)) => format!(" ({s}: {t})"),
                    (Some(s), None) => format!(" ({s})"),
                    (None, Some(t)) => format!(" ({t})"),
                    (None, None) => String::new(),
                };
                format!("{name} is online{show} as {}", p.from)
            }
            PresenceKind::Unavailable => {
                if let Some(r) = self.present.get_mut(&who) {
                    r.remove(p.from.resource.as_deref().unwrap_or_default());
                    if r.is_empty() {
                        self.present.remove(&who);
                    }
                }
                format!("{name} went offline ({})", p.from)
            }
            PresenceKind::Subscribe => {
                self.requests.insert(who.clone());
                format!(
                    "{name} wants to be your friend (to see your presence): type /accept {name} or /deny {name}"
                )
            }
            PresenceKind::Subscribed => format!("{name} accepted: you now see {name}'s presence"),
            PresenceKind::Unsubscribe => format!("{name} no longer wants to see your presence"),
            PresenceKind::Unsubscribed => {
                self.present.remove(&who);
                format!("{name} refused or cancelled: you do not see {name}'s presence")
            }
            PresenceKind::Probe | PresenceKind::Error => return,
        };
        let action = match p.kind {
            PresenceKind::Subscribe => "subscribe",
            PresenceKind::Subscribed | PresenceKind::Unsubscribe | PresenceKind::Unsubscribed => {
                "subscription"
            }
            _ => "presence",
        };
        cx.narrate(action, &text);
    }

    fn status(&self, j: &Jid) -> String {
        if matches!(self.phase, Phase::Offline(_)) {
            return "presence unknown (offline)".into();
        }
        match self.present.get(j) {
            Some(r) => {
                let shows: Vec<&str> = r.values().flatten().map(String::as_str).collect();
                if shows.is_empty() {
                    "online".into()
                } else {
                    format!("online ({})", shows.join(", "))
                }
            }
            None if self.roster.get(j).is_some_and(|i| i.subscription.to()) => "offline".into(),
            None => "presence not shared with you".into(),
        }
    }

    pub(super) fn show_roster(&mut self) {
        let source = match self.phase {
            Phase::Offline(_) => " as last seen, from the local cache",
            _ => "",
        };
        let requests: Vec<String> = self.requests.iter().map(|j| self.short(j)).collect();
        if !requests.is_empty() {
            self.print(&format!(
                "friend requests waiting for your answer (/accept NAME or /deny NAME): {}",
                requests.join(", ")
            ));
        }
        let items: Vec<RosterItem> = self.roster.values().cloned().collect();
        if items.is_empty() {
            return self.print(&format!(
                "your roster is empty{source}: /add NAME adds a contact"
            ));
        }
        self.print(&format!("roster, {} contact(s){source}:", items.len()));
        for i in items {
            let asked = if i.ask_out {
                ", your request waits for an answer"
            } else {
                ""
            };
            let line = format!(
                "  {}: {} ({}){asked}, {}",
                self.short(&i.contact),
                i.subscription.name(),
                subscription_words(&i),
                self.status(&i.contact)
            );
            self.print(&line);
        }
    }

    pub(super) fn show_who(&mut self) {
        if let Phase::Offline(why) = &self.phase {
            let text = format!("offline ({why}): nobody's presence is known");
            return self.print(&text);
        }
        let online: Vec<String> = self
            .present
            .keys()
            .map(|j| format!("{} [{}]", self.short(j), self.status(j)))
            .collect();
        if online.is_empty() {
            self.print("nobody in your roster is online");
        } else {
            self.print(&format!("online: {}", online.join(", ")));
        }
    }
}

/// A subscription state in words (RFC 6121 §2.1.2.5).
pub fn subscription_words(item: &RosterItem) -> &'static str {
    use crate::chat::model::Subscription::*;
    match item.subscription {
        Both => "you see each other",
        To => "you see them, they do not see you",
        From => "they see you, you do not see them",
        None => "neither sees the other",
    }
}
