//! The client's JSON adapter: socklab's JSON protocol (one object per line,
//! see `chat/json.rs` for the server side), the same chat as XMPP with less
//! ceremony. A login is one object with the password in it (like XMPP's
//! PLAIN, it crosses the wire as it is); the server answers `logged_in` and
//! has already sent our presence. Names of users on the same domain are
//! short (`bob`), others are bare JIDs. The archive is
//! `{"type":"history","after":"12","max":100}`, answered by one object
//! with the page's messages (XEP-0313's query, without the XML).

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::wire::{ArchivePage, Cx, Login, Refusal, Update, Wire};
use crate::chat::jid::Jid;
use crate::chat::model::{
    Delay, Message, MessageKind, Presence, PresenceKind, RosterItem, Subscription,
};
use crate::framing::{Content, Proto};

pub struct JsonClient {
    login: Login,
    online: bool,
    closing: bool,
    /// Pings sent and not yet answered, oldest first: JSON pongs carry no id.
    pings: VecDeque<String>,
    /// Slot requests sent and not yet answered, oldest first (JSON
    /// answers carry no id, but come in order).
    slots: VecDeque<String>,
    next: u64,
    /// Random, so that our message ids do not repeat across runs (the
    /// cache matches a message to the archive's copy by id).
    tag: String,
}

impl JsonClient {
    pub fn new(login: Login) -> JsonClient {
        JsonClient {
            login,
            online: false,
            closing: false,
            pings: VecDeque::new(),
            slots: VecDeque::new(),
            next: 0,
            tag: super::wire::random_tag(),
        }
    }

    fn domain(&self) -> &str {
        &self.login.jid.domain
    }

    /// `bob` for a user of our domain, the bare JID otherwise.
    fn name(&self, j: &Jid) -> String {
        match (&j.local, j.domain == self.domain()) {
            (Some(l), true) => l.clone(),
            _ => j.to_bare().to_string(),
        }
    }

    /// The JID a name in a server object stands for.
    fn jid(&self, name: &str) -> Option<Jid> {
        if name.contains('@') {
            Jid::parse(name).ok()
        } else {
            Jid::parse(&format!("{name}@{}", self.domain())).ok()
        }
    }

    fn send(&self, cx: &mut Cx, v: Value) {
        let mut line = v.to_string();
        line.push('\n');
        cx.send(line);
    }

    fn on_object(&mut self, cx: &mut Cx, v: &Value) {
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let kind = text("type").unwrap_or("message");
        match kind {
            "logged_in" => {
                let jid = text("jid").and_then(|j| Jid::parse(j).ok());
                let Some(jid) = jid else {
                    return cx.update(Update::Failed("logged_in without a valid \"jid\"".into()));
                };
                cx.narrate(
                    "auth",
                    &format!("logged in as {jid}; the server has already announced our presence"),
                );
                if self.login.announce {
                    self.send(cx, json!({"type": "roster"}));
                }
                self.online = true;
                cx.update(Update::Online(jid));
            }
            "roster" => {
                let items = v["items"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|i| self.item(i)).collect())
                    .unwrap_or_default();
                cx.update(Update::Roster(items));
            }
            "roster_push" => {
                if let Some(item) = self.item(&v["item"]) {
                    let removed = v["removed"].as_bool().unwrap_or(false);
                    cx.update(Update::RosterPush { item, removed });
                }
            }
            "message" => {
                if let Some(m) = self.message_of(v) {
                    let archive_id = archive_id(v);
                    cx.update(Update::Message(m, archive_id));
                }
            }
            "history" => {
                let items = v["items"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|i| Some((archive_id(i)?, self.message_of(i)?)))
                            .collect()
                    })
                    .unwrap_or_default();
                cx.update(Update::Archive(ArchivePage {
                    items,
                    last: v.get("last").and_then(Value::as_str).map(str::to_string),
                    complete: v["complete"].as_bool().unwrap_or(true),
                }));
            }
            "presence" | "subscribe" | "subscribed" | "unsubscribe" | "unsubscribed" => {
                if let Some(p) = self.presence_of(v, kind) {
                    cx.update(Update::Presence(p));
                }
            }
            "slot" => {
                let id = self.slots.pop_front();
                match (text("put"), text("get")) {
                    (Some(put), Some(get)) => cx.update(Update::Slot {
                        id,
                        put: put.to_string(),
                        get: get.to_string(),
                    }),
                    _ => cx.narrate("ignore", "a slot without \"put\" and \"get\" URLs: ignored"),
                }
            }
            "pong" => {
                let id = self.pings.pop_front().unwrap_or_default();
                cx.update(Update::Pong(id));
            }
            "bye" => {
                cx.narrate("close", "the server said bye: the conversation is over");
                cx.update(Update::Ended);
            }
            "error" => self.on_error(cx, v),
            "who" => {}
            other => cx.narrate(
                "ignore",
                &format!("a {other:?} object: not one this client knows; ignored"),
            ),
        }
    }

    fn on_error(&mut self, cx: &mut Cx, v: &Value) {
        let field = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (what, condition, text) = (field("for"), field("error"), field("text"));
        if what == "history" {
            return cx.update(Update::ArchiveRefused(Refusal {
                stanza: "archive query".into(),
                peer: None,
                id: None,
                condition,
                text,
            }));
        }
        if what == "upload" {
            return cx.update(Update::SlotRefused {
                id: self.slots.pop_front(),
                refusal: Refusal {
                    stanza: "upload slot request".into(),
                    peer: None,
                    id: None,
                    condition,
                    text,
                },
                max: v.get("max_file_size").and_then(Value::as_u64),
            });
        }
        if what == "login" && !self.online {
            let why = match condition.as_str() {
                "not-authorized" => format!(
                    "login failed: wrong user name or password for {} (the server says \"{text}\")",
                    self.login.user()
                ),
                _ => format!("login failed, {condition}: {text}"),
            };
            cx.narrate("auth_failed", &why);
            return cx.update(Update::Failed(why));
        }
        cx.update(Update::Refused(Refusal {
            stanza: what,
            peer: None,
            id: None,
            condition,
            text,
        }));
    }

    fn item(&self, v: &Value) -> Option<RosterItem> {
        let jid = v
            .get("jid")
            .and_then(Value::as_str)
            .and_then(|j| Jid::parse(j).ok())?;
        let mut item = RosterItem::new(jid);
        item.name = v.get("name").and_then(Value::as_str).map(str::to_string);
        item.subscription = Subscription::parse(
            v.get("subscription")
                .and_then(Value::as_str)
                .unwrap_or("none"),
        );
        item.ask_out = v.get("asked").and_then(Value::as_bool).unwrap_or(false);
        Some(item)
    }

    fn message_of(&self, v: &Value) -> Option<Message> {
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let from = text("from_jid")
            .and_then(|j| Jid::parse(j).ok())
            .or_else(|| self.jid(text("from")?))?;
        let delay = text("stamp")
            .and_then(crate::chat::time::parse)
            .map(|stamp_ms| Delay {
                stamp_ms,
                from: self.domain().to_string(),
                reason: text("delayed").unwrap_or_default().to_string(),
            });
        Some(Message {
            from,
            to: self
                .jid(text("to")?)
                .unwrap_or_else(|| self.login.jid.clone()),
            kind: MessageKind::Chat,
            id: text("id").map(str::to_string),
            body: text("body").map(str::to_string),
            subject: None,
            thread: None,
            delay,
            // The attachment's URL, kept as XMPP keeps it (XEP-0066).
            extra: text("url")
                .map(|u| vec![crate::chat::files::oob(u)])
                .unwrap_or_default(),
            archive_id: None,
        })
    }

    fn presence_of(&self, v: &Value, kind: &str) -> Option<Presence> {
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let from = text("jid")
            .and_then(|j| Jid::parse(j).ok())
            .or_else(|| self.jid(text("from")?))?;
        let kind = match kind {
            "presence" if v["available"].as_bool() == Some(false) => PresenceKind::Unavailable,
            "presence" => PresenceKind::Available,
            other => PresenceKind::parse(Some(other))?,
        };
        let mut p = Presence::new(from, None, kind);
        p.show = text("show").map(str::to_string);
        p.status = text("status").map(str::to_string);
        Some(p)
    }
}

/// A message object's id in our archive (the server puts it there).
fn archive_id(v: &Value) -> Option<String> {
    match v.get("archive_id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Wire for JsonClient {
    fn proto(&self) -> Proto {
        Proto::Json
    }

    fn start(&mut self, cx: &mut Cx) {
        let mut login = json!({
            "type": "login",
            "user": self.login.user(),
            "password": self.login.password.expose(),
        });
        if let Some(r) = &self.login.resource {
            login["resource"] = json!(r);
        }
        self.send(cx, login);
        let text = format!(
            "logging in as {} with the JSON protocol: {{\"type\":\"login\",\"user\":\"{}\",\"password\":\"•••\"}} — the password crosses the wire as it is, like XMPP's PLAIN",
            self.login.jid,
            self.login.user()
        );
        cx.narrate("login", &text);
    }

    fn on_frame(&mut self, cx: &mut Cx, content: &Content) {
        if let Content::Json(v) = content {
            self.on_object(cx, v);
        }
    }

    fn message(&mut self, cx: &mut Cx, to: &Jid, body: &str, url: Option<&str>) -> String {
        self.next += 1;
        let id = format!("m{}-{}", self.next, self.tag);
        let mut m = json!({"type": "message", "to": self.name(to), "body": body, "id": id});
        if let Some(url) = url {
            m["url"] = json!(url);
        }
        self.send(cx, m);
        id
    }

    fn request_slot(&mut self, cx: &mut Cx, name: &str, size: u64) -> Option<String> {
        self.next += 1;
        let id = format!("s{}-{}", self.next, self.tag);
        self.slots.push_back(id.clone());
        self.send(
            cx,
            json!({"type": "upload", "name": name, "size": size, "content_type": "application/octet-stream"}),
        );
        let text = format!(
            "asking the server for an upload slot: {{\"type\":\"upload\",\"name\":{name:?},\"size\":{size}}} (XEP-0363's request in JSON); the answer is a PUT URL and a GET URL"
        );
        cx.narrate("upload_slot", &text);
        Some(id)
    }

    fn add(&mut self, cx: &mut Cx, who: &Jid) {
        self.send(cx, json!({"type": "add", "user": self.name(who)}));
        cx.narrate("add", &format!("adding {who} and asking to see their presence ({{\"type\":\"add\"}}); they must accept"));
    }

    fn accept(&mut self, cx: &mut Cx, who: &Jid, _ask_back: bool) {
        // The server asks back by itself when we do not see them yet.
        self.send(cx, json!({"type": "accept", "user": self.name(who)}));
        cx.narrate(
            "accept",
            &format!("accepting {who}'s request; the server asks back if you do not see them yet"),
        );
    }

    fn deny(&mut self, cx: &mut Cx, who: &Jid) {
        self.send(cx, json!({"type": "deny", "user": self.name(who)}));
        cx.narrate("deny", &format!("refusing {who}'s request"));
    }

    fn remove(&mut self, cx: &mut Cx, who: &Jid) {
        self.send(cx, json!({"type": "remove", "user": self.name(who)}));
        cx.narrate("remove", &format!("removing {who} from the roster"));
    }

    fn archive(&mut self, cx: &mut Cx, after: Option<&str>, max: usize) {
        let mut q = json!({"type": "history", "max": max});
        if let Some(a) = after {
            q["after"] = json!(a);
        }
        self.send(cx, q);
        let from = after.map_or("from its start".to_string(), |a| format!("after #{a}"));
        let text = format!(
            "asking the server's archive for our messages {from}, {max} at most ({{\"type\":\"history\"}}, XEP-0313's query in JSON): one object comes back with the page"
        );
        cx.narrate("sync", &text);
    }

    fn ping(&mut self, cx: &mut Cx, id: &str) {
        self.pings.push_back(id.to_string());
        self.send(cx, json!({"type": "ping"}));
    }

    fn close(&mut self, cx: &mut Cx) {
        if self.closing {
            return;
        }
        self.closing = true;
        self.send(cx, json!({"type": "logout"}));
        cx.narrate(
            "close",
            "logging out ({\"type\":\"logout\"}); waiting for the server's bye",
        );
    }
}
