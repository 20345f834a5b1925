//! The tutorial's own chat protocol: one JSON object per line.
//!
//! The curriculum's message is `{"from": "Vincent", "to": "Eli", "body":
//! "中午一起吃饭"}`; this grows it into a protocol a person can type into
//! `telnet` or `socklab connect --proto json`: log in, see the roster, add a
//! friend and accept one, set presence, send messages. Every object has a
//! `type` (a message may leave it out); errors come back as objects that say
//! what was wrong. docs/chat-protocol.md shows each action beside its XMPP
//! equivalent: the server translates, so JSON and XMPP users talk to each
//! other.

use serde_json::{Value, json};

use super::core::{Delivery, Outgoing, RosterUpdate, StanzaError};
use super::jid::{Jid, localpart};
use super::model::{Message, MessageKind, Presence, PresenceKind, RosterItem};
use super::sasl::Secret;
use super::session::{Ctx, Request};

enum State {
    /// Connected; waiting for `{"type":"login",...}`.
    Start,
    /// A password is being checked.
    Checking {
        user: String,
        resource: Option<String>,
    },
    /// Logged in as this full JID.
    Online(Jid),
}

pub struct JsonSession {
    state: State,
    failures: u32,
}

impl Default for JsonSession {
    fn default() -> JsonSession {
        JsonSession {
            state: State::Start,
            failures: 0,
        }
    }
}

/// One line of the protocol.
fn line(v: Value) -> Vec<u8> {
    let mut s = v.to_string().into_bytes();
    s.push(b'\n');
    s
}

fn error(what: &str, condition: &str, text: &str) -> Vec<u8> {
    line(json!({"type": "error", "for": what, "error": condition, "text": text}))
}

/// Refuses a request: an error object for the client, and the same
/// `stanza_error` narration an XMPP refusal gets, so that the server's
/// terminal shows why a typed line did nothing.
fn refuse(cx: &mut Ctx, user: &str, what: &str, condition: &str, text: &str) {
    let said = format!("{what:?} refused: {condition} — {text}");
    cx.narrate("stanza_error", user, &said);
    cx.send(error(what, condition, text));
}

fn text_field<'v>(v: &'v Value, name: &str) -> Option<&'v str> {
    v.get(name).and_then(Value::as_str)
}

impl JsonSession {
    pub fn jid(&self) -> Option<&Jid> {
        match &self.state {
            State::Online(j) => Some(j),
            _ => None,
        }
    }

    /// Who is logged in (or logging in) on this connection, if anyone.
    fn user(&self) -> &str {
        match &self.state {
            State::Start => "",
            State::Checking { user, .. } => user,
            State::Online(jid) => jid.user().unwrap_or_default(),
        }
    }

    /// One object from the client.
    pub fn on_object(&mut self, cx: &mut Ctx, v: &Value) {
        let kind = match text_field(v, "type") {
            Some(k) => k,
            None if v.get("body").is_some() => "message",
            None => {
                refuse(
                    cx,
                    self.user(),
                    "?",
                    "bad-request",
                    "every object needs a \"type\" (login, roster, add, accept, deny, remove, presence, who, history, upload, message, ping, logout), or a \"body\" for a message",
                );
                return;
            }
        };
        match (&self.state, kind) {
            (State::Start, "login") => self.login(cx, v),
            (State::Start, _) => refuse(
                cx,
                "",
                kind,
                "not-authorized",
                "log in first: {\"type\":\"login\",\"user\":\"alice\",\"password\":\"…\"}",
            ),
            (State::Checking { user, .. }, _) => refuse(
                cx,
                user,
                kind,
                "not-authorized",
                "wait for the answer to your login",
            ),
            (State::Online(jid), "login") => refuse(
                cx,
                jid.user().unwrap_or_default(),
                "login",
                "not-allowed",
                "you are already logged in",
            ),
            (State::Online(jid), _) => {
                let jid = jid.clone();
                if let Err(e) = self.online(cx, &jid, kind, v) {
                    let user = jid.user().unwrap_or_default();
                    refuse(cx, user, kind, e.condition, &e.text);
                }
            }
        }
    }

    fn login(&mut self, cx: &mut Ctx, v: &Value) {
        let (Some(user), Some(password)) = (text_field(v, "user"), text_field(v, "password"))
        else {
            cx.send(error(
                "login",
                "bad-request",
                "a login needs \"user\" and \"password\": {\"type\":\"login\",\"user\":\"alice\",\"password\":\"…\"}",
            ));
            return;
        };
        let user = match localpart(user.split('@').next().unwrap_or(user)) {
            Ok(u) => u,
            Err(why) => {
                cx.send(error("login", "bad-request", &why));
                return;
            }
        };
        let resource = text_field(v, "resource").map(str::to_string);
        let credentials = cx.core.store.keys(&user).ok().flatten();
        let text = format!(
            "{user} logs in over JSON: the password came as plain text on the socket (like XMPP's PLAIN); checking it against the stored salted key"
        );
        cx.narrate("auth", &user, &text);
        self.state = State::Checking {
            user: user.clone(),
            resource,
        };
        cx.request(Request::VerifyPlain {
            user,
            password: Secret::new(password),
            credentials,
        });
    }

    /// The password check finished.
    pub fn verified(&mut self, cx: &mut Ctx, ok: bool) {
        let State::Checking { user, resource } = std::mem::replace(&mut self.state, State::Start)
        else {
            return;
        };
        if !ok {
            self.failures += 1;
            let text = format!(
                "{user}: wrong user name or password (failure {} of {})",
                self.failures, cx.config.max_auth_failures
            );
            cx.narrate("auth_failed", &user, &text);
            let reply = error("login", "not-authorized", "wrong user name or password");
            cx.request(Request::Later(reply, cx.config.failure_delay));
            if self.failures >= cx.config.max_auth_failures {
                cx.request(Request::Close);
            }
            return;
        }
        let jid = match cx.core.bind(cx.t, cx.id, &user, resource.as_deref(), false) {
            Ok(jid) => jid,
            Err(e) => {
                cx.send(error("login", e.condition, &e.text));
                cx.request(Request::Close);
                return;
            }
        };
        cx.core.want_pushes(cx.id);
        cx.narrate("auth", &user, &format!("{user} authenticated (JSON login)"));
        cx.send(line(
            json!({"type": "logged_in", "jid": jid.to_string(), "user": user}),
        ));
        self.state = State::Online(jid.clone());
        // Logging in is also saying "I am here": initial presence.
        let p = Presence::new(jid, None, PresenceKind::Available);
        let mut out = Vec::new();
        let _ = cx.core.presence(cx.t, cx.id, p, &mut out);
        cx.deliveries.extend(out);
    }

    fn online(&mut self, cx: &mut Ctx, me: &Jid, kind: &str, v: &Value) -> Result<(), StanzaError> {
        let mut out: Vec<Delivery> = Vec::new();
        let domain = cx.config.domain.clone();
        let contact = |field: &str| -> Result<Jid, StanzaError> {
            let name = text_field(v, field).ok_or_else(|| {
                StanzaError::new(
                    "bad-request",
                    "modify",
                    format!("\"{kind}\" needs \"{field}\": who?"),
                )
            })?;
            address(name, &domain)
        };
        match kind {
            "message" => {
                let to = contact("to")?;
                // The tutorial's message says who it is from; the server
                // stamps the real sender over it (the core narrates that).
                let claimed = text_field(v, "from")
                    .and_then(|f| address(f, &domain).ok())
                    .filter(|f| f.to_bare() != me.to_bare())
                    .unwrap_or_else(|| me.clone());
                let mut m = Message {
                    from: claimed,
                    to,
                    kind: match text_field(v, "kind") {
                        Some(k) => MessageKind::parse(Some(k)),
                        None => MessageKind::Chat,
                    },
                    id: text_field(v, "id").map(str::to_string),
                    body: text_field(v, "body").map(str::to_string),
                    subject: None,
                    thread: None,
                    delay: None,
                    archive_id: None,
                    extra: Vec::new(),
                };
                if m.body.is_none() {
                    return Err(StanzaError::new(
                        "bad-request",
                        "modify",
                        "a message needs a \"body\"",
                    ));
                }
                if let Some(url) = text_field(v, "url") {
                    m.extra.push(crate::chat::files::oob(url));
                }
                cx.core
                    .message(cx.t, cx.id, m, |_| String::new(), &mut out)?;
            }
            "roster" => {
                let items = cx.core.roster_get(cx.id)?;
                let items: Vec<Value> = items.iter().map(|i| item(cx, i, false)).collect();
                cx.send(line(json!({"type": "roster", "items": items})));
            }
            "add" => {
                let to = contact("user")?;
                let update = RosterUpdate {
                    contact: to.clone(),
                    name: text_field(v, "name").map(str::to_string),
                    groups: Vec::new(),
                    remove: false,
                };
                cx.core.roster_set(cx.t, cx.id, update, &mut out)?;
                let p = Presence::new(me.clone(), Some(to), PresenceKind::Subscribe);
                cx.core.presence(cx.t, cx.id, p, &mut out)?;
            }
            "accept" | "deny" => {
                let to = contact("user")?;
                let verb = if kind == "accept" {
                    PresenceKind::Subscribed
                } else {
                    PresenceKind::Unsubscribed
                };
                cx.core.presence(
                    cx.t,
                    cx.id,
                    Presence::new(me.clone(), Some(to.clone()), verb),
                    &mut out,
                )?;
                // A friend request accepted is friendship both ways: ask back.
                let user = me.user().unwrap_or_default();
                let mine = cx.core.store.item(user, &to).ok().flatten();
                if kind == "accept" && !mine.is_some_and(|i| i.subscription.to() || i.ask_out) {
                    let p = Presence::new(me.clone(), Some(to), PresenceKind::Subscribe);
                    cx.core.presence(cx.t, cx.id, p, &mut out)?;
                }
            }
            "remove" => {
                let update = RosterUpdate {
                    contact: contact("user")?,
                    name: None,
                    groups: Vec::new(),
                    remove: true,
                };
                cx.core.roster_set(cx.t, cx.id, update, &mut out)?;
            }
            "presence" => {
                let available = v.get("available").and_then(Value::as_bool).unwrap_or(true);
                let mut p = Presence::new(
                    me.clone(),
                    None,
                    if available {
                        PresenceKind::Available
                    } else {
                        PresenceKind::Unavailable
                    },
                );
                p.show = text_field(v, "show").map(str::to_string);
                p.status = text_field(v, "status").map(str::to_string);
                cx.core.presence(cx.t, cx.id, p, &mut out)?;
            }
            "who" => {
                let online = who(cx, me);
                cx.send(line(json!({"type": "who", "online": online})));
            }
            "history" => {
                let q = history_query(v, &domain)?;
                let user = me.user().unwrap_or_default();
                let page = cx.core.store.query_archive(user, &q).map_err(|e| {
                    StanzaError::new("internal-server-error", "wait", format!("{e:#}"))
                })?;
                let items: Vec<Value> = page
                    .items
                    .iter()
                    .map(|a| message(&a.message, &domain))
                    .collect();
                let text = format!(
                    "archive query: {} of {} message(s)",
                    items.len(),
                    page.count
                );
                cx.narrate("archive_query", user, &text);
                cx.send(line(json!({
                    "type": "history",
                    "items": items,
                    "first": page.items.first().map(|a| a.id.to_string()),
                    "last": page.items.last().map(|a| a.id.to_string()),
                    "complete": page.complete,
                    "count": page.count,
                })));
            }
            "upload" => {
                let Some(files) = cx.config.files.clone() else {
                    return Err(StanzaError::service_unavailable(
                        "this server runs no file service",
                    ));
                };
                let name = text_field(v, "name").unwrap_or_default();
                let size = v.get("size").and_then(Value::as_u64).ok_or_else(|| {
                    StanzaError::new(
                        "bad-request",
                        "modify",
                        "\"upload\" needs \"size\": the file's length in bytes",
                    )
                })?;
                let user = me.user().unwrap_or_default();
                let slot = match crate::chat::files::request_slot(
                    &cx.core.store,
                    &files,
                    user,
                    name,
                    size,
                    text_field(v, "content_type"),
                ) {
                    Ok(slot) => slot,
                    Err(e) => {
                        cx.send(line(slot_refusal(&e)));
                        return Ok(());
                    }
                };
                cx.narrate("upload_slot", user, &slot.narration(user, name, size));
                cx.send(line(
                    json!({"type": "slot", "put": slot.put_url, "get": slot.get_url, "size": size}),
                ));
            }
            "ping" => cx.send(line(json!({"type": "pong"}))),
            "logout" => {
                cx.send(line(json!({"type": "bye"})));
                cx.request(Request::Close);
            }
            other => {
                return Err(StanzaError::new(
                    "bad-request",
                    "modify",
                    format!(
                        "unknown type {other:?}: use login, roster, add, accept, deny, remove, presence, who, history, upload, message, ping or logout"
                    ),
                ));
            }
        }
        cx.deliveries.extend(out);
        Ok(())
    }

    /// A line that is not a JSON object: say so; the next line is read as usual.
    pub fn on_frame_error(&mut self, cx: &mut Ctx, e: &crate::framing::FrameError) {
        let text = format!("{e}: each line must be one JSON object");
        cx.send(error("?", "bad-json", &text));
        if e.skip.is_none() {
            cx.request(Request::Close);
        }
    }

    /// No login within the time allowed.
    pub fn timed_out(&mut self, cx: &mut Ctx, secs: u64) {
        let text = format!("no login within {secs} s: closing (--login-timeout)");
        cx.narrate("timeout", "", &text);
        cx.send(error("login", "timeout", &text));
    }

    /// What the core delivers, as one line for this client.
    pub fn encode(&self, what: &Outgoing, domain: &str) -> Vec<u8> {
        match what {
            Outgoing::Message(m) => line(message(m, domain)),
            Outgoing::Presence(p) => line(presence(p, domain)),
            Outgoing::RosterPush { item: i, removed } => line(json!({
                "type": "roster_push",
                "removed": removed,
                "item": plain_item(i, domain),
            })),
            // JSON sessions get no iqs: the core answers for them.
            Outgoing::Iq(_) => Vec::new(),
        }
    }
}

/// `{"type":"history","with":"bob","after":"12","max":50}`: the archive
/// query of XEP-0313, in JSON.
fn history_query(v: &Value, domain: &str) -> Result<crate::chat::store::Query, StanzaError> {
    let bad = |t: String| StanzaError::new("bad-request", "modify", t);
    let id = |k: &str| -> Result<Option<i64>, StanzaError> {
        match v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| bad(format!("\"{k}\": {s:?} is not an archive id"))),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| bad(format!("\"{k}\" must be an archive id"))),
            Some(_) => Err(bad(format!("\"{k}\" must be an archive id"))),
        }
    };
    let time = |k: &str| -> Result<Option<i64>, StanzaError> {
        match text_field(v, k) {
            None => Ok(None),
            Some(s) => crate::chat::time::parse(s).map(Some).ok_or_else(|| {
                bad(format!(
                    "\"{k}\": {s:?} is not a date-time like 2026-11-01T00:00:00Z"
                ))
            }),
        }
    };
    Ok(crate::chat::store::Query {
        with: match text_field(v, "with") {
            Some(w) => Some(address(w, domain)?),
            None => None,
        },
        start_ms: time("start")?,
        end_ms: time("end")?,
        after: id("after")?,
        before: id("before")?,
        last_page: v.get("before") == Some(&Value::String(String::new())),
        max: v
            .get("max")
            .and_then(Value::as_u64)
            .map_or(crate::chat::xmpp::mam::DEFAULT_MAX, |m| {
                (m as usize).min(crate::chat::xmpp::mam::MAX_MAX)
            }),
    })
}

/// A refused slot with XMPP's conditions (XEP-0363 §4.2): `file-too-large`
/// carries the limit, as XMPP's `<max-file-size/>` does.
fn slot_refusal(e: &crate::chat::files::SlotError) -> Value {
    use crate::chat::files::SlotError;
    let condition = match e {
        SlotError::TooLarge { .. } => "file-too-large",
        SlotError::Quota { .. } => "resource-constraint",
        SlotError::Bad(_) => "bad-request",
        SlotError::Internal(_) => "internal-server-error",
    };
    let mut v = json!({"type": "error", "for": "upload", "error": condition, "text": e.text()});
    if let SlotError::TooLarge { max } = e {
        v["max_file_size"] = json!(max);
    }
    v
}

/// `bob` means `bob@DOMAIN`; a full JID is taken as it is.
fn address(name: &str, domain: &str) -> Result<Jid, StanzaError> {
    let full = if name.contains('@') {
        name.to_string()
    } else {
        format!("{name}@{domain}")
    };
    Jid::parse(&full)
        .map_err(|why| StanzaError::new("jid-malformed", "modify", format!("{name:?}: {why}")))
}

/// A JID as JSON users write it: `bob` for a local user.
fn short(j: &Jid, domain: &str) -> String {
    match (&j.local, j.domain == domain) {
        (Some(l), true) => l.clone(),
        _ => j.to_bare().to_string(),
    }
}

/// The tutorial's message object, with what XMPP adds.
pub fn message(m: &Message, domain: &str) -> Value {
    let mut v = json!({
        "type": "message",
        "from": short(&m.from, domain),
        "to": short(&m.to, domain),
        "body": m.body,
        "from_jid": m.from.to_string(),
    });
    if let Some(id) = &m.id {
        v["id"] = json!(id);
    }
    if let Some(d) = &m.delay {
        v["stamp"] = json!(crate::chat::time::stamp(d.stamp_ms));
        v["delayed"] = json!(d.reason);
    }
    if let Some(n) = m.archive_id {
        v["archive_id"] = json!(n.to_string());
    }
    if let Some(url) = crate::chat::files::oob_url(&m.extra) {
        v["url"] = json!(url);
    }
    v
}

pub fn presence(p: &Presence, domain: &str) -> Value {
    let from = short(&p.from, domain);
    match p.kind {
        PresenceKind::Available | PresenceKind::Unavailable => json!({
            "type": "presence",
            "from": from,
            "jid": p.from.to_string(),
            "available": p.kind == PresenceKind::Available,
            "show": p.show,
            "status": p.status,
        }),
        kind => {
            let name = kind.name().unwrap_or("presence");
            let hint = match kind {
                PresenceKind::Subscribe => format!(
                    "{from} wants to be your friend (see your presence): answer {{\"type\":\"accept\",\"user\":\"{from}\"}} or {{\"type\":\"deny\",\"user\":\"{from}\"}}"
                ),
                PresenceKind::Subscribed => format!("{from} accepted: you now see their presence"),
                PresenceKind::Unsubscribe => format!("{from} no longer wants to see your presence"),
                PresenceKind::Unsubscribed => format!("{from} does not let you see their presence"),
                _ => String::new(),
            };
            json!({"type": name, "from": from, "text": hint})
        }
    }
}

fn plain_item(i: &RosterItem, domain: &str) -> Value {
    json!({
        "user": short(&i.contact, domain),
        "jid": i.contact.to_string(),
        "name": i.name,
        "subscription": i.subscription.name(),
        "asked": i.ask_out,
    })
}

fn item(cx: &Ctx, i: &RosterItem, _removed: bool) -> Value {
    let mut v = plain_item(i, &cx.config.domain);
    let online = i
        .contact
        .user()
        .filter(|_| i.subscription.to())
        .map(|u| {
            cx.core
                .sessions_of(u)
                .iter()
                .filter_map(|s| cx.core.session(*s))
                .any(|s| s.available)
        })
        .unwrap_or(false);
    v["online"] = json!(online);
    v
}

/// The contacts whose presence the user sees and who are online now.
fn who(cx: &Ctx, me: &Jid) -> Vec<Value> {
    let user = me.user().unwrap_or_default();
    let roster = cx.core.store.roster(user).unwrap_or_default();
    let mut online = Vec::new();
    for i in roster.iter().filter(|i| i.subscription.to()) {
        let Some(u) = i.contact.user() else { continue };
        for s in cx
            .core
            .sessions_of(u)
            .iter()
            .filter_map(|s| cx.core.session(*s))
        {
            if let (true, Some(p)) = (s.available, &s.presence) {
                online.push(json!({"user": u, "jid": s.jid.to_string(), "show": p.show, "status": p.status}));
            }
        }
    }
    online
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_for_local_users() {
        let j = Jid::full("alice", "localhost", "laptop");
        assert_eq!(short(&j, "localhost"), "alice");
        assert_eq!(short(&j, "example.org"), "alice@localhost");
        assert_eq!(
            address("Bob", "localhost").expect("ok"),
            Jid::bare("bob", "localhost")
        );
        assert!(address("bo b", "localhost").is_err());
    }
}
