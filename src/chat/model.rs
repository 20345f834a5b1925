//! The chat's typed values: what a message, a presence and a roster item
//! are, whichever wire format carried them.
//!
//! An XMPP client and a JSON client both end up here: the adapters
//! ([`xmpp`](super::xmpp), [`json`](super::json)) translate their bytes into
//! these values and back, and the [`core`](super::core) routes them without
//! knowing which protocol a person speaks. Extension elements that only XMPP
//! clients understand (chat states, receipts...) ride along in `extra`,
//! opaque to the core.

use super::jid::Jid;
use crate::framing::xml::Element;

/// XMPP's message types (RFC 6121 §5.2.2); they decide how a message to a
/// bare JID is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Normal,
    Chat,
    Groupchat,
    Headline,
    Error,
}

impl MessageKind {
    pub fn parse(s: Option<&str>) -> MessageKind {
        match s {
            Some("chat") => MessageKind::Chat,
            Some("groupchat") => MessageKind::Groupchat,
            Some("headline") => MessageKind::Headline,
            Some("error") => MessageKind::Error,
            // RFC 6121 §5.2.2: an unknown type is treated as normal.
            _ => MessageKind::Normal,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Normal => "normal",
            MessageKind::Chat => "chat",
            MessageKind::Groupchat => "groupchat",
            MessageKind::Headline => "headline",
            MessageKind::Error => "error",
        }
    }
}

/// A message, as routed: `from` is always what the server stamped.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub from: Jid,
    pub to: Jid,
    pub kind: MessageKind,
    pub id: Option<String>,
    pub body: Option<String>,
    pub subject: Option<String>,
    pub thread: Option<String>,
    /// XEP-0203: when it was really sent (offline messages carry it).
    pub delay: Option<Delay>,
    /// Extension elements (XMPP only), passed on untouched.
    pub extra: Vec<Element>,
    /// Its id in the recipient's archive (XEP-0313), shown to the recipient
    /// as a XEP-0359 stanza-id so that a client can sync by it.
    pub archive_id: Option<i64>,
}

/// XEP-0203 delayed delivery: the original time, and who delayed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delay {
    /// Milliseconds since the Unix epoch.
    pub stamp_ms: i64,
    pub from: String,
    pub reason: String,
}

/// Presence types (RFC 6121 §4.7.1): availability and the four subscription
/// verbs, plus the server's probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresenceKind {
    Available,
    Unavailable,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
    Probe,
    Error,
}

impl PresenceKind {
    pub fn parse(s: Option<&str>) -> Option<PresenceKind> {
        Some(match s {
            None => PresenceKind::Available,
            Some("unavailable") => PresenceKind::Unavailable,
            Some("subscribe") => PresenceKind::Subscribe,
            Some("subscribed") => PresenceKind::Subscribed,
            Some("unsubscribe") => PresenceKind::Unsubscribe,
            Some("unsubscribed") => PresenceKind::Unsubscribed,
            Some("probe") => PresenceKind::Probe,
            Some("error") => PresenceKind::Error,
            Some(_) => return None,
        })
    }

    /// The `type` attribute; `None` for available.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            PresenceKind::Available => return None,
            PresenceKind::Unavailable => "unavailable",
            PresenceKind::Subscribe => "subscribe",
            PresenceKind::Subscribed => "subscribed",
            PresenceKind::Unsubscribe => "unsubscribe",
            PresenceKind::Unsubscribed => "unsubscribed",
            PresenceKind::Probe => "probe",
            PresenceKind::Error => "error",
        })
    }

    pub fn is_subscription(self) -> bool {
        matches!(
            self,
            PresenceKind::Subscribe
                | PresenceKind::Subscribed
                | PresenceKind::Unsubscribe
                | PresenceKind::Unsubscribed
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Presence {
    pub from: Jid,
    /// `None`: broadcast to those subscribed to the sender.
    pub to: Option<Jid>,
    pub kind: PresenceKind,
    pub id: Option<String>,
    /// away, chat, dnd, xa (RFC 6121 §4.7.2.1); `None` is plain available.
    pub show: Option<String>,
    pub status: Option<String>,
    pub priority: i8,
    pub extra: Vec<Element>,
}

impl Presence {
    pub fn new(from: Jid, to: Option<Jid>, kind: PresenceKind) -> Presence {
        Presence {
            from,
            to,
            kind,
            id: None,
            show: None,
            status: None,
            priority: 0,
            extra: Vec::new(),
        }
    }
}

/// Subscription states of a roster item (RFC 6121 §2.1.2.5): whether the
/// owner sees the contact's presence (`to`), the contact sees the owner's
/// (`from`), both, or neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subscription {
    None,
    To,
    From,
    Both,
}

impl Subscription {
    pub fn name(self) -> &'static str {
        match self {
            Subscription::None => "none",
            Subscription::To => "to",
            Subscription::From => "from",
            Subscription::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Subscription {
        match s {
            "to" => Subscription::To,
            "from" => Subscription::From,
            "both" => Subscription::Both,
            _ => Subscription::None,
        }
    }

    /// Whether the owner receives the contact's presence.
    pub fn to(self) -> bool {
        matches!(self, Subscription::To | Subscription::Both)
    }

    /// Whether the contact receives the owner's presence.
    pub fn from(self) -> bool {
        matches!(self, Subscription::From | Subscription::Both)
    }

    pub fn with(to: bool, from: bool) -> Subscription {
        match (to, from) {
            (true, true) => Subscription::Both,
            (true, false) => Subscription::To,
            (false, true) => Subscription::From,
            (false, false) => Subscription::None,
        }
    }
}

/// One contact in a user's roster, with the subscription state both ways.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterItem {
    /// The contact's bare JID.
    pub contact: Jid,
    pub name: Option<String>,
    pub subscription: Subscription,
    /// The owner asked to see the contact's presence; no answer yet
    /// ("Pending Out", shown to clients as `ask='subscribe'`).
    pub ask_out: bool,
    /// The contact asked to see the owner's presence; the owner has not
    /// answered ("Pending In"). Never shown in the roster itself.
    pub ask_in: bool,
    /// A pending request from someone not in the roster is kept, but is
    /// not a roster item until the owner adds or approves them.
    pub in_roster: bool,
    pub groups: Vec<String>,
}

impl RosterItem {
    pub fn new(contact: Jid) -> RosterItem {
        RosterItem {
            contact,
            name: None,
            subscription: Subscription::None,
            ask_out: false,
            ask_in: false,
            in_roster: true,
            groups: Vec::new(),
        }
    }
}
