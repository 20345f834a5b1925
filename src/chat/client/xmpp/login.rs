//! Logging in, client side: the server's header and features, SASL with the
//! strongest mechanism both sides know (RFC 6120 §6), the stream restart,
//! resource binding (§7), the legacy session if the server insists, then the
//! roster and initial presence (RFC 6121 §2.2, §4.2).
//!
//! Mechanisms, strongest first: SCRAM-SHA-256, SCRAM-SHA-1 (the password
//! never crosses the wire, and the server proves it holds the account's
//! keys), then PLAIN (the password itself, base64-encoded). The client uses
//! only what the server offers: a server that does not list PLAIN never
//! sees the password.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Pending, State, XmppClient};
use crate::chat::client::wire::{Cx, Update};
use crate::chat::jid::Jid;
use crate::chat::sasl::{self, Mechanism, ScramClient, ScramHash, plain_initial};
use crate::chat::xmpp::stanza::ROSTER_NS;
use crate::chat::xmpp::write::El;
use crate::chat::xmpp::{BIND_NS, SASL_NS, SESSION_NS};
use crate::framing::xml::{Element, Node};

/// The mechanism in use.
pub enum Sasl {
    Plain,
    Scram {
        client: ScramClient,
        /// The server's `v=` has been checked.
        verified: bool,
    },
}

/// What this client can use, strongest first.
const PREFERENCE: [Mechanism; 3] = [
    Mechanism::Scram(ScramHash::Sha256),
    Mechanism::Scram(ScramHash::Sha1),
    Mechanism::Plain,
];

/// The element children of `e`.
pub fn elements(e: &Element) -> impl Iterator<Item = &Element> {
    e.children.iter().filter_map(|c| match c {
        Node::Element(c) => Some(c),
        Node::Text(_) => None,
    })
}

/// Picks the mechanism: the forced one if offered, else the strongest
/// offered. The error says what was offered and what to do.
pub fn choose(offered: &[String], forced: Option<Mechanism>) -> Result<Mechanism, String> {
    let list = offered.join(", ");
    if let Some(m) = forced {
        return if offered.iter().any(|o| o == m.name()) {
            Ok(m)
        } else {
            Err(format!(
                "--mechanism {}: the server does not offer it (it offers {list}); leave --mechanism out to use the strongest it offers",
                m.name()
            ))
        };
    }
    PREFERENCE
        .into_iter()
        .find(|m| offered.iter().any(|o| o == m.name()))
        .ok_or_else(|| {
            format!(
                "the server offers {list}, and this client speaks only SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN"
            )
        })
}

fn encode64(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "=".to_string()
    } else {
        B64.encode(bytes)
    }
}

impl XmppClient {
    pub(super) fn on_header(&mut self, cx: &mut Cx, attrs: &[(String, String)]) {
        let attr = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        if attr("version").is_none_or(|v| !v.starts_with("1.")) {
            let why = "the server's stream header has no version='1.0': it speaks pre-RFC Jabber, which this client does not".to_string();
            return self.fail(cx, why);
        }
        let text = format!(
            "the server opened its stream: from={} id={} (a fresh id for this stream){}",
            attr("from").unwrap_or("?"),
            attr("id").unwrap_or("?"),
            match self.state {
                State::Restarting => "; this is the restarted stream, after SASL",
                _ => "",
            }
        );
        cx.narrate("stream", &text);
    }

    pub(super) fn on_features(&mut self, cx: &mut Cx, features: &Element) {
        let names: Vec<String> = elements(features)
            .map(|f| format!("<{}/>", f.name))
            .collect();
        cx.narrate("features", &format!("stream features: {}", names.join(" ")));
        match self.state {
            State::Opening => self.start_sasl(cx, features),
            State::Restarting => self.bind(cx, features),
            _ => {}
        }
    }

    fn start_sasl(&mut self, cx: &mut Cx, features: &Element) {
        let offered: Vec<String> = features
            .child("mechanisms")
            .filter(|m| &*m.namespace == SASL_NS)
            .map(|m| elements(m).map(Element::text).collect())
            .unwrap_or_default();
        if offered.is_empty() {
            let why = if features.child("starttls").is_some() {
                "the server offers no SASL mechanism before TLS (STARTTLS), which this client does not speak: socklab chats on plain TCP so every byte can be watched; on Prosody set c2s_require_encryption = false (on loopback only)"
            } else {
                "the server offers no SASL mechanism: there is no way to log in"
            };
            return self.fail(cx, why.to_string());
        }
        let mechanism = match choose(&offered, self.login.mechanism) {
            Ok(m) => m,
            Err(why) => return self.fail(cx, why),
        };
        let why = match (self.login.mechanism, mechanism) {
            (Some(_), _) => "as --mechanism asks".to_string(),
            (None, Mechanism::Plain) => "the only one both sides know; the password will cross the wire base64-encoded, readable by anyone on the path without TLS".to_string(),
            (None, _) => "the strongest both sides know: the password never crosses the wire, and the server must prove it holds your keys".to_string(),
        };
        let text = format!(
            "the server offers {}; using {}: {why}",
            offered.join(", "),
            mechanism.name()
        );
        cx.narrate("sasl", &text);
        let user = self.login.user().to_string();
        let (sasl, initial) = match mechanism {
            Mechanism::Scram(hash) => {
                let mut client = match ScramClient::new(hash, &user, self.login.password.clone()) {
                    Ok(c) => c,
                    Err(e) => return self.fail(cx, e.to_string()),
                };
                let first = client.client_first();
                let verified = false;
                (Sasl::Scram { client, verified }, first)
            }
            _ => (Sasl::Plain, plain_initial("", &user, &self.login.password)),
        };
        let text = format!(
            "<auth mechanism='{}'>: {}",
            mechanism.name(),
            sasl::describe(mechanism, &initial)
        );
        cx.narrate("sasl", &text);
        let auth = El::new("auth", SASL_NS)
            .attr("mechanism", mechanism.name())
            .text(encode64(&initial));
        cx.send(auth.xml());
        self.sasl = Some(sasl);
        self.state = State::Negotiating;
    }

    pub(super) fn on_sasl(&mut self, cx: &mut Cx, e: &Element) {
        if e.name == "failure" {
            let why = sasl_failure(e, self.login.user());
            cx.narrate("auth_failed", &why);
            return self.fail(cx, why);
        }
        let data = e.text().split_ascii_whitespace().collect::<String>();
        let data = match data.as_str() {
            "" | "=" => Vec::new(),
            t => match B64.decode(t) {
                Ok(d) => d,
                Err(err) => {
                    let why = format!("the server's <{}> is not base64: {err}", e.name);
                    return self.fail(cx, why);
                }
            },
        };
        match e.name.as_str() {
            "challenge" => self.challenge(cx, &data),
            "success" => self.success(cx, &data),
            other => {
                let why = format!("<{other}> is not a SASL step a server sends");
                self.fail(cx, why);
            }
        }
    }

    fn challenge(&mut self, cx: &mut Cx, data: &[u8]) {
        cx.narrate(
            "sasl",
            &format!("<challenge>: {}", sasl::describe_scram(data)),
        );
        let reply = match self.sasl.as_mut() {
            Some(Sasl::Scram { client, verified }) if !*verified => {
                if data.starts_with(b"v=") || data.starts_with(b"e=") {
                    // Some servers send server-final as a challenge and
                    // expect an empty response before <success/>.
                    client.verify_server_final(data).map(|()| {
                        *verified = true;
                        Vec::new()
                    })
                } else {
                    client.client_final(data)
                }
                .map_err(|e| e.to_string())
            }
            Some(Sasl::Scram { .. }) => Err("a SASL challenge after the last step".to_string()),
            _ => Err("the server sent a SASL challenge, but PLAIN has no challenges".to_string()),
        };
        match reply {
            Ok(reply) => {
                cx.narrate(
                    "sasl",
                    &format!("<response>: {}", sasl::describe_scram(&reply)),
                );
                cx.send(El::new("response", SASL_NS).text(encode64(&reply)).xml());
            }
            Err(why) => self.fail(cx, why),
        }
    }

    fn success(&mut self, cx: &mut Cx, data: &[u8]) {
        if !data.is_empty() {
            cx.narrate(
                "sasl",
                &format!("<success>: {}", sasl::describe_scram(data)),
            );
        }
        let how = match self.sasl.as_mut() {
            Some(Sasl::Scram { client, verified }) => {
                let checked = if data.is_empty() {
                    Ok(())
                } else {
                    client.verify_server_final(data).map_err(|e| e.to_string())
                };
                match checked {
                    Ok(()) if !data.is_empty() || *verified => Ok("the password never crossed the wire, and the server proved it holds your keys (v= checked)"),
                    Ok(()) => Err("the server said <success/> without its SCRAM signature (v=): it has not proved that it holds your keys, so this client does not trust it".to_string()),
                    Err(why) => Err(why),
                }
            }
            _ => Ok(
                "the password crossed the wire base64-encoded: without TLS anyone on the path could read it",
            ),
        };
        let how = match how {
            Ok(how) => how,
            Err(why) => return self.fail(cx, why),
        };
        let text = format!("authenticated as {}: {how}", self.login.jid);
        cx.narrate("auth", &text);
        self.sasl = None;
        // RFC 6120 §6.4.6: after SASL success both sides start a new
        // stream on the same socket; the old one's features are void.
        self.state = State::Restarting;
        self.send_header(cx);
        cx.narrate(
            "stream",
            "restarting the stream (RFC 6120 §6.4.6): a new header on the same socket; the server answers with the features of a logged-in stream",
        );
    }

    fn bind(&mut self, cx: &mut Cx, features: &Element) {
        if features.child("bind").is_none() {
            let why = "the server offers no resource binding after login (RFC 6120 §7)".to_string();
            return self.fail(cx, why);
        }
        // RFC 6121 §1.4 and RFC 3921: a <session/> feature without
        // <optional/> still asks for the old session step.
        self.session_required = features
            .child("session")
            .is_some_and(|s| &*s.namespace == SESSION_NS && s.child("optional").is_none());
        let mut bind = El::new("bind", BIND_NS);
        if let Some(r) = &self.login.resource {
            bind = bind.child(El::new("resource", BIND_NS).text(r));
        }
        let iq = El::stanza("iq").attr("type", "set").child(bind);
        self.request(cx, "bind", iq, Pending::Bind);
        self.state = State::Binding;
        let text = match &self.login.resource {
            Some(r) => format!("binding the resource {r:?} (RFC 6120 §7): this session's name"),
            None => {
                "binding a resource (RFC 6120 §7): the server picks this session's name".to_string()
            }
        };
        cx.narrate("bind", &text);
    }

    /// The answer to one of the login's iqs.
    pub(super) fn login_step(&mut self, cx: &mut Cx, why: Pending, result: &Element) {
        match why {
            Pending::Bind => {
                let jid = result
                    .child("bind")
                    .and_then(|b| b.child("jid"))
                    .map(Element::text)
                    .and_then(|j| Jid::parse(&j).ok());
                let Some(jid) = jid else {
                    return self.fail(cx, "the bind result carries no valid <jid/>".into());
                };
                cx.narrate(
                    "bind",
                    &format!("bound as {jid}: messages to {jid} reach this session only"),
                );
                self.jid = Some(jid);
                if self.session_required {
                    let iq = El::stanza("iq")
                        .attr("type", "set")
                        .child(El::new("session", SESSION_NS));
                    self.request(cx, "session", iq, Pending::Session);
                    cx.narrate(
                        "session",
                        "the server asks for the legacy session step (RFC 3921 §3): sending it",
                    );
                } else {
                    self.after_bind(cx);
                }
            }
            Pending::Session => self.after_bind(cx),
            Pending::Roster => {
                let items = super::incoming::roster_items(result);
                let text = format!(
                    "roster: {} contact(s); from now on the server pushes every change (RFC 6121 §2.1.6)",
                    items.len()
                );
                cx.narrate("roster", &text);
                cx.update(Update::Roster(items));
                cx.send(El::stanza("presence").xml());
                self.announced = true;
                cx.narrate(
                    "presence",
                    "initial presence sent (<presence/>, RFC 6121 §4.2): you are online; the server tells your friends and sends you theirs, and any offline messages",
                );
                self.go_online(cx);
            }
            _ => {}
        }
    }

    fn after_bind(&mut self, cx: &mut Cx) {
        if self.login.announce {
            let iq = El::stanza("iq")
                .attr("type", "get")
                .child(El::new("query", ROSTER_NS));
            self.request(cx, "roster", iq, Pending::Roster);
        } else {
            cx.narrate(
                "presence",
                "no roster and no presence: this session only sends, so it stays invisible and leaves offline messages for your next real login",
            );
            self.go_online(cx);
        }
    }

    fn go_online(&mut self, cx: &mut Cx) {
        self.state = State::Online;
        if let Some(jid) = self.jid.clone() {
            cx.update(Update::Online(jid));
        }
    }
}

/// `<failure>` in words: the condition, what it means, the server's text.
fn sasl_failure(e: &Element, user: &str) -> String {
    let condition = elements(e)
        .find(|c| c.name != "text")
        .map_or("failure", |c| c.name.as_str());
    let text = e.child("text").map(Element::text).unwrap_or_default();
    let meaning = match condition {
        "not-authorized" => format!(
            "wrong user name or password for {user} (or no such account): check --password-file"
        ),
        "account-disabled" => "the account is disabled on the server".to_string(),
        "credentials-expired" => "the password has expired: change it on the server".into(),
        "mechanism-too-weak" | "encryption-required" => {
            "the server refuses this mechanism here: try another with --mechanism".into()
        }
        "invalid-mechanism" => "the server does not know that mechanism".into(),
        "temporary-auth-failure" => "the server could not check now: try again later".into(),
        _ => "the server refused the login".into(),
    };
    let said = if text.is_empty() {
        String::new()
    } else {
        format!(" (the server says \"{text}\")")
    };
    format!("login failed, SASL <{condition}/>: {meaning}{said}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_strongest_offered_mechanism_wins_and_plain_needs_an_offer() {
        let all = names(&["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"]);
        assert_eq!(choose(&all, None), Ok(Mechanism::Scram(ScramHash::Sha256)));
        let prosody = names(&["PLAIN", "SCRAM-SHA-1"]);
        assert_eq!(
            choose(&prosody, None),
            Ok(Mechanism::Scram(ScramHash::Sha1))
        );
        assert_eq!(
            choose(&prosody, Some(Mechanism::Plain)),
            Ok(Mechanism::Plain)
        );
        let scram_only = names(&["SCRAM-SHA-1"]);
        let e = choose(&scram_only, Some(Mechanism::Plain)).unwrap_err();
        assert!(
            e.contains("does not offer it") && e.contains("SCRAM-SHA-1"),
            "{e}"
        );
        let e = choose(&names(&["DIGEST-MD5", "X-OAUTH2"]), None).unwrap_err();
        assert!(e.contains("DIGEST-MD5, X-OAUTH2"), "{e}");
    }
}
