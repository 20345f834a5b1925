//! The seam between the client's loop and a wire protocol, the client-side
//! mirror of the server's adapters.
//!
//! The chat itself (what a typed line does, what is printed, what goes in
//! the cache) does not know whether it speaks XMPP or JSON. It calls a
//! [`Wire`] to act ("send this message to bob", "add carol") and hears back
//! [`Update`]s made of the same typed values the server uses
//! ([`model`](crate::chat::model)): a [`Message`], a [`Presence`], a
//! [`RosterItem`]. Each wire adapter turns those into bytes and back, and
//! narrates what it does as `chat` events.

use crate::chat::jid::Jid;
use crate::chat::model::{Message, Presence, RosterItem};
use crate::chat::sasl::{Mechanism, Secret};
use crate::framing::{Content, FrameError, Proto};
use crate::trace::{Event, Side, Tracer};

/// Six hex digits from the system's random source: a wire adapter's ids
/// carry them, so that they do not repeat across runs (the cache matches
/// an error, or the archive's copy of a message, to what we sent by id).
pub fn random_tag() -> String {
    let mut bytes = [0u8; 3];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who logs in, and how.
pub struct Login {
    /// The account, bare: `alice@localhost`.
    pub jid: Jid,
    pub password: Secret,
    pub resource: Option<String>,
    /// `--mechanism`: use this one or fail; `None`: the strongest offered.
    pub mechanism: Option<Mechanism>,
    /// Fetch the roster and send initial presence after logging in. Off for
    /// `chat send`: presence would make the server hand over the offline
    /// messages waiting for this account to a process that only sends.
    pub announce: bool,
}

impl Login {
    /// The account name, the part before @.
    pub fn user(&self) -> &str {
        self.jid.user().unwrap_or_default()
    }
}

/// What the server told us, in the chat's own terms.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// Logged in, bound, announced: this is our full JID.
    Online(Jid),
    /// The whole roster (the answer to a roster get).
    Roster(Vec<RosterItem>),
    /// One roster change (RFC 6121 §2.1.6).
    RosterPush {
        item: RosterItem,
        removed: bool,
    },
    Presence(Presence),
    /// A message, with its id in our archive (a XEP-0359 stanza-id) when
    /// the server gave one we can trust.
    Message(Message, Option<String>),
    /// A page of our archive (XEP-0313), the answer to [`Wire::archive`].
    Archive(ArchivePage),
    /// The archive query was refused: no archive, or an id it does not know.
    ArchiveRefused(Refusal),
    /// Something we sent was refused (RFC 6120 §8.3, or a JSON error object).
    Refused(Refusal),
    /// The answer to our ping with this id.
    Pong(String),
    /// An upload slot (XEP-0363): PUT the file to `put`, send `get`. `id`
    /// is what [`Wire::request_slot`] returned (JSON answers in order).
    Slot {
        id: Option<String>,
        put: String,
        get: String,
    },
    /// The slot was refused; `max` is the server's largest file, when the
    /// file was too large.
    SlotRefused {
        id: Option<String>,
        refusal: Refusal,
        max: Option<u64>,
    },
    /// The login or the stream failed for good: why, in words.
    Failed(String),
    /// The server ended its stream cleanly (`</stream:stream>`, `bye`).
    Ended,
}

/// A page of our archive, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchivePage {
    /// Each message with its archive id (opaque text); its time is its
    /// `delay` stamp.
    pub items: Vec<(String, Message)>,
    /// The id to ask for what comes after (the page's last).
    pub last: Option<String>,
    /// Nothing comes after this page.
    pub complete: bool,
}

/// A stanza error, for the chat to explain and to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// What was refused: message, presence, iq.
    pub stanza: String,
    /// Who the refused stanza was for, when the server says.
    pub peer: Option<Jid>,
    /// The refused stanza's id, when known.
    pub id: Option<String>,
    /// The RFC 6120 §8.3.3 condition: service-unavailable...
    pub condition: String,
    /// The server's own words, if any.
    pub text: String,
}

impl Refusal {
    /// The condition and the server's words, with what the condition means.
    pub fn explain(&self) -> String {
        let meaning = match self.condition.as_str() {
            "service-unavailable" => "there is no such user, or they cannot receive this",
            "item-not-found" | "recipient-unavailable" => "nobody by that address is there",
            "remote-server-not-found" => "that domain's server cannot be reached from this one",
            "jid-malformed" => "the address is not a valid JID",
            "not-authorized" | "forbidden" | "not-allowed" => "the server does not allow this",
            "resource-constraint" => "the server has no room for it now (a quota)",
            "not-acceptable" | "file-too-large" => "the server does not take it as it is",
            "policy-violation" => "the server's rules refuse it (too big, too fast...)",
            "internal-server-error" => "the server failed; trying again later may work",
            "bad-request" => "the server could not make sense of it",
            _ => "",
        };
        let mut s = self.condition.clone();
        if !meaning.is_empty() {
            s.push_str(&format!(" ({meaning})"));
        }
        if !self.text.is_empty() {
            s.push_str(&format!(": the server says \"{}\"", self.text));
        }
        s
    }
}

/// What a wire adapter gets for each step: the narration, the bytes to
/// send, and the updates to hand to the chat.
pub struct Cx<'a> {
    pub t: &'a mut Tracer,
    pub conn: Option<u64>,
    /// The account name, for the events' `user` field.
    pub user: &'a str,
    pub out: Vec<u8>,
    pub updates: Vec<Update>,
    /// Bytes already written or queued on the connection before `out`.
    pub base: u64,
    /// With `-q` in an interactive chat: the news narrated in this step
    /// (see [`NEWS`]), for the chat to print on stdout.
    pub news: Option<Vec<String>>,
}

/// The chat events a person must see even with `-q`: what happened to
/// their contacts, their requests and their lines. (Protocol steps, sync and
/// cache details stay narration.)
const NEWS: &[&str] = &[
    "notice",
    "online",
    "offline",
    "subscribe",
    "subscription",
    "presence",
    "refused",
    "add",
    "accept",
    "deny",
    "remove",
    "stream_error",
];

impl<'a> Cx<'a> {
    pub fn new(t: &'a mut Tracer, conn: Option<u64>, user: &'a str, base: u64, news: bool) -> Self {
        Cx {
            t,
            conn,
            user,
            out: Vec::new(),
            updates: Vec::new(),
            base,
            news: news.then(Vec::new),
        }
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.out.extend_from_slice(bytes.as_ref());
    }

    pub fn narrate(&mut self, action: &str, text: &str) {
        let user = self.user;
        self.t
            .emit(Side::Client, self.conn, Event::Chat { action, user, text });
        if let Some(news) = &mut self.news {
            if NEWS.contains(&action) {
                news.push(text.to_string());
            }
        }
    }

    pub fn update(&mut self, u: Update) {
        self.updates.push(u);
    }

    /// Where the bytes sent so far will end on the connection: once the
    /// socket has taken this many bytes, they have all been written.
    pub fn mark(&self) -> u64 {
        self.base + self.out.len() as u64
    }
}

/// A wire protocol, client side.
pub trait Wire {
    /// The framing of what the server sends.
    fn proto(&self) -> Proto;
    /// Connected: the first bytes (a stream header, a login).
    fn start(&mut self, cx: &mut Cx);
    /// One frame from the server.
    fn on_frame(&mut self, cx: &mut Cx, content: &Content);
    /// The server's bytes cannot be read any more.
    fn on_frame_error(&mut self, cx: &mut Cx, e: &FrameError) {
        cx.update(Update::Failed(format!(
            "the server sent bytes that are not the protocol: {e}"
        )));
    }
    /// Why this text cannot be sent as it is, if it cannot.
    fn cannot_carry(&self, _text: &str) -> Option<String> {
        None
    }
    /// Sends a chat message, with an attachment's URL (XEP-0066, JSON
    /// `"url"`) if given; returns the id it carries.
    fn message(&mut self, cx: &mut Cx, to: &Jid, body: &str, url: Option<&str>) -> String;
    /// Asks the server for an upload slot for a file; [`Update::Slot`] or
    /// [`Update::SlotRefused`] comes back, with the id returned here (if the
    /// protocol has ids).
    fn request_slot(&mut self, cx: &mut Cx, name: &str, size: u64) -> Option<String>;
    /// Adds a contact and asks to see their presence.
    fn add(&mut self, cx: &mut Cx, who: &Jid);
    /// Accepts a friend request; with `ask_back`, asks to see theirs too.
    fn accept(&mut self, cx: &mut Cx, who: &Jid, ask_back: bool);
    fn deny(&mut self, cx: &mut Cx, who: &Jid);
    fn remove(&mut self, cx: &mut Cx, who: &Jid);
    /// Asks for the page of our own archive after the message `after` (from
    /// the start: `None`), at most `max` messages: [`Update::Archive`] or
    /// [`Update::ArchiveRefused`] comes back.
    fn archive(&mut self, cx: &mut Cx, after: Option<&str>, max: usize);
    /// Asks the server for an answer; [`Update::Pong`] with `id` comes back
    /// after everything sent before it has been handled.
    fn ping(&mut self, cx: &mut Cx, id: &str);
    /// Ends our side of the conversation cleanly.
    fn close(&mut self, cx: &mut Cx);
}
