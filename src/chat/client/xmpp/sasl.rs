//! SASL, client side (RFC 6120 §6): pick the mechanism, send `<auth/>`,
//! answer challenges, and check the server's `<success/>`.
//!
//! Mechanisms, strongest first: SCRAM-SHA-256, SCRAM-SHA-1 (the password
//! never crosses the wire, and the server proves it holds the account's
//! keys), then PLAIN (the password itself, base64-encoded). The client uses
//! only what the server offers: a server that does not list PLAIN never
//! sees the password. A SCRAM server that says `<success/>` without its
//! signature (`v=`) has not proved anything, so it is not trusted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::{State, XmppClient, elements};
use crate::chat::client::wire::Cx;
use crate::chat::sasl::{self, Mechanism, ScramClient, ScramHash, plain_initial};
use crate::chat::xmpp::SASL_NS;
use crate::chat::xmpp::write::El;
use crate::framing::xml::Element;

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
    pub(super) fn start_sasl(&mut self, cx: &mut Cx, features: &Element) {
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
