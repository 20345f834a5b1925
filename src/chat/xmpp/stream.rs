//! One client's XMPP stream, server side, as a state machine with RFC 6120's
//! steps:
//!
//! ```text
//! Connected ──<stream:stream>──▶ Negotiating ──SASL success──▶ Authenticated
//!     (we answer with our header      (auth, challenge,          │ the client
//!      and the SASL mechanisms)        response...)               │ restarts the stream
//!                                                                 ▼
//!            Bound ◀──<iq><bind/></iq>── Restarted (we offer resource binding)
//!  (messages, presence, iqs)
//! ```
//!
//! Anything out of order ends the stream with a stream error (RFC 6120
//! §4.9): a stanza before authentication is `not-authorized`, broken XML is
//! `not-well-formed`, a DOCTYPE or comment is `restricted-xml`, a stanza over
//! the size limit is `policy-violation`. The error, then
//! `</stream:stream>`, then the connection closes; no other session notices.
//!
//! There is no STARTTLS here: socklab's chat runs on plain TCP on loopback so
//! that every byte can be watched. A real server requires TLS (RFC 6120 §5):
//! on a network, PLAIN's password and every message would be readable by
//! anyone on the path.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::stanza::{self, error_reply};
use super::write::El;
use super::{BIND_NS, SASL_NS, SESSION_NS, STREAM_ERRORS_NS, STREAMS_NS};
use crate::chat::core::{Outgoing, StanzaError};
use crate::chat::jid::Jid;
use crate::chat::sasl::{self, Condition, Mechanism, ServerExchange, ServerSettings, Step};
use crate::chat::session::{Ctx, Request};
use crate::framing::xml::{Element, Stanza};
use crate::framing::{ErrorKind, FrameError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Connected,
    Negotiating,
    Authenticated,
    Restarted,
    Bound,
    Closed,
}

pub struct XmppStream {
    state: State,
    header_sent: bool,
    exchange: Option<ServerExchange>,
    user: Option<String>,
    jid: Option<Jid>,
    failures: u32,
    pushes: u64,
}

impl Default for XmppStream {
    fn default() -> XmppStream {
        XmppStream {
            state: State::Connected,
            header_sent: false,
            exchange: None,
            user: None,
            jid: None,
            failures: 0,
            pushes: 0,
        }
    }
}

/// A fresh stream id (RFC 6120 §4.7.3): random, so streams cannot be confused.
fn stream_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl XmppStream {
    pub fn jid(&self) -> Option<&Jid> {
        self.jid.as_ref()
    }

    fn user(&self) -> &str {
        self.user.as_deref().unwrap_or_default()
    }

    /// A frame cut from the client's stream.
    pub fn on_stanza(&mut self, cx: &mut Ctx, stanza: &Stanza) {
        match stanza {
            Stanza::StreamOpen(attrs) => self.on_header(cx, attrs),
            Stanza::StreamClose => {
                cx.narrate(
                    "close",
                    self.user(),
                    "the client closed its stream (</stream:stream>): closing ours too",
                );
                let bytes = self.closing_bytes();
                cx.send(bytes);
                cx.request(Request::Close);
            }
            Stanza::Element(e) => self.on_element(cx, e),
        }
    }

    fn on_header(&mut self, cx: &mut Ctx, attrs: &[(String, String)]) {
        let attr = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        if let Some(to) = attr("to")
            && !to.eq_ignore_ascii_case(&cx.config.domain)
        {
            let text = format!("this server is {}, not {to}", cx.config.domain);
            return self.stream_error(cx, "host-unknown", &text);
        }
        if attr("version").is_none_or(|v| !v.starts_with("1.")) {
            return self.stream_error(
                cx,
                "unsupported-version",
                "this server speaks XMPP 1.0: the stream header needs version='1.0'",
            );
        }
        let (next, features) = match self.state {
            State::Connected | State::Negotiating => (State::Negotiating, self.sasl_features(cx)),
            State::Authenticated => (
                State::Restarted,
                El::new("features", STREAMS_NS)
                    .child(El::new("bind", BIND_NS))
                    .child(El::new("session", SESSION_NS).child(El::new("optional", SESSION_NS))),
            ),
            _ => {
                return self.stream_error(
                    cx,
                    "policy-violation",
                    "a stream may restart only after SASL success",
                );
            }
        };
        let restart = self.state == State::Authenticated;
        self.state = next;
        self.header_sent = false;
        self.send_header(cx);
        let features = stream_prefixed(&features.xml());
        cx.send(features.as_bytes());
        let text = if restart {
            "the client restarted the stream after SASL success (RFC 6120 §6.4.6): a new header, and now the features of a logged-in stream: resource binding".to_string()
        } else {
            let names: Vec<&str> = cx.config.mechanisms.iter().map(|m| m.name()).collect();
            format!(
                "stream opened: answered with our header (a fresh id) and the features — SASL mechanisms {}; no STARTTLS, since this is plain TCP on loopback (a real server requires TLS)",
                names.join(", ")
            )
        };
        cx.narrate("stream", self.user(), &text);
    }

    fn sasl_features(&self, cx: &Ctx) -> El {
        let mut mechs = El::new("mechanisms", SASL_NS);
        for m in &cx.config.mechanisms {
            mechs = mechs.child(El::new("mechanism", SASL_NS).text(m.name()));
        }
        El::new("features", STREAMS_NS).child(mechs)
    }

    fn send_header(&mut self, cx: &mut Ctx) {
        if self.header_sent {
            return;
        }
        self.header_sent = true;
        let header = format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='{STREAMS_NS}' id='{}' from='{}' version='1.0' xml:lang='en'>",
            stream_id(),
            crate::framing::xml::escape(&cx.config.domain)
        );
        cx.send(header.as_bytes());
    }

    fn on_element(&mut self, cx: &mut Ctx, e: &Element) {
        match self.state {
            State::Connected => self.stream_error(
                cx,
                "not-authorized",
                "open a stream first: <stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
            ),
            State::Negotiating if &*e.namespace == SASL_NS => self.on_sasl(cx, e),
            State::Negotiating => self.stream_error(
                cx,
                "not-authorized",
                &format!("<{}> before authentication: log in with SASL first (<auth mechanism='PLAIN'>…</auth>)", e.name),
            ),
            State::Authenticated => self.stream_error(
                cx,
                "not-authorized",
                "after SASL success the client must restart the stream (send a new <stream:stream> header)",
            ),
            State::Restarted if e.name == "iq" => self.on_bind(cx, e),
            State::Restarted => self.stream_error(
                cx,
                "not-authorized",
                &format!("<{}> before resource binding: bind a resource first (<iq type='set'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>)", e.name),
            ),
            State::Bound => self.on_stanza_bound(cx, e),
            State::Closed => {}
        }
    }

    // ---- SASL -------------------------------------------------------------

    fn on_sasl(&mut self, cx: &mut Ctx, e: &Element) {
        let data = match decode64(&e.text()) {
            Ok(d) => d,
            Err(why) => return self.sasl_failure(cx, Condition::IncorrectEncoding, &why),
        };
        let settings = ServerSettings::new(&cx.config.domain);
        let user = self.user().to_string();
        let step = match (e.name.as_str(), self.exchange.as_mut()) {
            ("auth", _) => {
                let name = e.attr("mechanism").unwrap_or_default();
                let mechanism = match Mechanism::choose(name, &cx.config.mechanisms) {
                    Ok(m) => m,
                    Err(f) => return self.sasl_failure(cx, f.condition, &f.reason),
                };
                let initial = data.as_deref();
                if let Some(d) = initial {
                    let text = format!(
                        "<auth mechanism='{name}'>: {}",
                        sasl::describe(mechanism, d)
                    );
                    cx.narrate("sasl", &user, &text);
                }
                let (exchange, step) = ServerExchange::start(&settings, mechanism, initial);
                self.exchange = Some(exchange);
                step
            }
            ("response", Some(x)) => {
                let d = data.unwrap_or_default();
                let text = format!("<response>: {}", sasl::describe(x.mechanism(), &d));
                cx.narrate("sasl", &user, &text);
                x.respond(&d)
            }
            ("abort", Some(x)) => x.abort(),
            (other, _) => {
                let text = format!("<{other}> is not a SASL step the client may send now");
                return self.sasl_failure(cx, Condition::MalformedRequest, &text);
            }
        };
        self.step(cx, step);
    }

    /// Carries out what the SASL exchange asks.
    fn step(&mut self, cx: &mut Ctx, step: Step) {
        match step {
            Step::NeedCredentials { username } => {
                let creds = cx.core.store.keys(&username).ok().flatten();
                self.user = Some(username);
                if let Some(x) = self.exchange.as_mut() {
                    let next = x.credentials(creds);
                    self.step(cx, next);
                }
            }
            Step::VerifyPlain {
                username, password, ..
            } => {
                let credentials = cx.core.store.keys(&username).ok().flatten();
                let text = format!(
                    "checking {username}'s password against the stored salted key (PBKDF2, on a worker thread so other sessions are not held up)"
                );
                cx.narrate("sasl", &username, &text);
                self.user = Some(username.clone());
                cx.request(Request::VerifyPlain {
                    user: username,
                    password,
                    credentials,
                });
            }
            Step::Challenge(bytes) => {
                if let Some(x) = &self.exchange {
                    let text = format!("<challenge>: {}", sasl::describe(x.mechanism(), &bytes));
                    cx.narrate("sasl", self.user(), &text);
                }
                let el = El::new("challenge", SASL_NS).text(encode64(&bytes));
                cx.send(el.xml());
            }
            Step::Success {
                username,
                additional,
            } => {
                let mechanism = self.exchange.as_ref().map(ServerExchange::mechanism);
                let how = match mechanism {
                    Some(Mechanism::Plain) => "the password crossed the wire base64-encoded, not encrypted — anyone who can read the socket can read it (see SCRAM)".to_string(),
                    Some(Mechanism::Scram(_)) => "the password never crossed the wire: the client proved it knows it (p=), and the server proved it holds the stored key (v=)".to_string(),
                    _ => "an anonymous login: a made-up name, no account".to_string(),
                };
                let name = mechanism.map_or("SASL", Mechanism::name);
                cx.narrate(
                    "auth",
                    &username,
                    &format!("{username} authenticated with {name}: {how}"),
                );
                self.user = Some(username);
                self.exchange = None;
                self.state = State::Authenticated;
                let el = El::new("success", SASL_NS);
                let el = match additional {
                    Some(a) => el.text(encode64(&a)),
                    None => el,
                };
                cx.send(el.xml());
            }
            Step::Failure(f) => self.sasl_failure(cx, f.condition, &f.reason),
        }
    }

    /// The worker finished checking a PLAIN password.
    pub fn verified(&mut self, cx: &mut Ctx, ok: bool) {
        if let Some(x) = self.exchange.as_mut() {
            let step = x.plain_verified(ok);
            self.step(cx, step);
        }
    }

    fn sasl_failure(&mut self, cx: &mut Ctx, condition: Condition, reason: &str) {
        self.exchange = None;
        self.failures += 1;
        let wrong = condition == Condition::NotAuthorized;
        let text = format!(
            "SASL failure <{}/>: {reason}{}",
            condition.name(),
            if wrong {
                " (answered after a delay, to slow down password guessing)"
            } else {
                ""
            }
        );
        let user = self.user.take().unwrap_or_default();
        cx.narrate("auth_failed", &user, &text);
        let el = El::new("failure", SASL_NS)
            .child(El::new(condition.name(), SASL_NS))
            .child(El::new("text", SASL_NS).text(reason));
        if wrong {
            cx.request(Request::Later(
                el.xml().into_bytes(),
                cx.config.failure_delay,
            ));
        } else {
            cx.send(el.xml());
        }
        if self.failures >= cx.config.max_auth_failures {
            let text = format!("{} failed logins on one connection", self.failures);
            self.stream_error(cx, "policy-violation", &text);
        }
    }

    // ---- binding and stanzas -------------------------------------------------

    fn on_bind(&mut self, cx: &mut Ctx, e: &Element) {
        let bind = e.child("bind").filter(|b| &*b.namespace == BIND_NS);
        let (Some(bind), Some("set")) = (bind, e.attr("type")) else {
            return self.stream_error(
                cx,
                "not-authorized",
                "the first stanza after login must bind a resource: <iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
            );
        };
        let wanted = bind.child("resource").map(Element::text);
        let wanted = wanted.filter(|r| !r.is_empty() && Jid::parse(&format!("x@y/{r}")).is_ok());
        let user = self.user().to_string();
        let jid = match cx.core.bind(cx.t, cx.id, &user, wanted.as_deref(), true) {
            Ok(jid) => jid,
            Err(err) => {
                let me = Jid::bare(&user, &cx.config.domain);
                cx.send(error_reply(e, &err, &me, &cx.config.domain).xml());
                return;
            }
        };
        let result = El::stanza("iq")
            .attr("type", "result")
            .attr_opt("id", e.attr("id"))
            .child(El::new("bind", BIND_NS).child(El::new("jid", BIND_NS).text(jid.to_string())));
        cx.send(result.xml());
        self.jid = Some(jid);
        self.state = State::Bound;
    }

    fn on_stanza_bound(&mut self, cx: &mut Ctx, e: &Element) {
        let Some(me) = self.jid.clone() else {
            return;
        };
        if &*e.namespace != super::write::CLIENT_NS {
            let text = format!(
                "<{}> in namespace {:?} is not a client stanza",
                e.name, &*e.namespace
            );
            return self.stream_error(cx, "unsupported-stanza-type", &text);
        }
        let mut out = Vec::new();
        let result = match e.name.as_str() {
            "message" => stanza::message(e, &me).and_then(|m| {
                cx.core
                    .message(cx.t, cx.id, m, super::write_elements, &mut out)
            }),
            "presence" => {
                stanza::presence(e, &me).and_then(|p| cx.core.presence(cx.t, cx.id, p, &mut out))
            }
            "iq" => super::iq::handle(cx, &me, e, &mut out),
            other => {
                let text = format!("<{other}> is not a stanza: XMPP has message, presence and iq");
                return self.stream_error(cx, "unsupported-stanza-type", &text);
            }
        };
        cx.deliveries.extend(out);
        if let Err(err) = result {
            self.refuse(cx, e, &me, &err);
        }
    }

    /// Answers a stanza with its error (never an error with an error).
    fn refuse(&mut self, cx: &mut Ctx, e: &Element, me: &Jid, err: &StanzaError) {
        if e.attr("type") == Some("error") {
            return;
        }
        let text = format!("<{}> refused: {} — {}", e.name, err.condition, err.text);
        cx.narrate("stanza_error", self.user(), &text);
        cx.send(error_reply(e, err, me, &cx.config.domain).xml());
    }

    /// What the core delivers to this session, as XML.
    pub fn encode(&mut self, what: &Outgoing, to: &Jid) -> Vec<u8> {
        if self.state == State::Closed {
            return Vec::new();
        }
        if matches!(what, Outgoing::RosterPush { .. }) {
            self.pushes += 1;
        }
        stanza::encode(what, to, self.pushes).xml().into_bytes()
    }

    // ---- ending ---------------------------------------------------------------

    /// A stream error (RFC 6120 §4.9): the condition, a text, our closing
    /// tag; then the connection closes.
    pub fn stream_error(&mut self, cx: &mut Ctx, condition: &str, text: &str) {
        if self.state == State::Closed {
            return;
        }
        self.send_header(cx);
        let el = El::new("error", STREAMS_NS)
            .child(El::new(condition, STREAM_ERRORS_NS))
            .child(El::new("text", STREAM_ERRORS_NS).text(text));
        let xml = stream_prefixed(&el.xml());
        cx.send(format!("{xml}</stream:stream>"));
        self.state = State::Closed;
        let line = format!(
            "stream error <{condition}/>: {text}; closing this connection (no other session is affected)"
        );
        let user = self.user().to_string();
        cx.narrate("stream_error", &user, &line);
        cx.request(Request::Close);
    }

    /// A framing error: the XML cannot be followed any more.
    pub fn on_frame_error(&mut self, cx: &mut Ctx, e: &FrameError) {
        let condition = match e.kind {
            ErrorKind::TooLarge => "policy-violation",
            ErrorKind::PeerClosedMidFrame => return,
            ErrorKind::Malformed => {
                let d = e.detail.to_ascii_lowercase();
                if d.contains("doctype")
                    || d.contains("comment")
                    || d.contains("processing instruction")
                {
                    "restricted-xml"
                } else {
                    "not-well-formed"
                }
            }
        };
        self.stream_error(cx, condition, &e.detail);
    }

    pub fn timed_out(&mut self, cx: &mut Ctx, secs: u64) {
        let text = format!("no login within {secs} s (--login-timeout)");
        cx.narrate(
            "timeout",
            "",
            &format!("{text}: closing, so that connections that never log in cannot pile up"),
        );
        self.stream_error(cx, "connection-timeout", &text);
    }

    /// What to send when the connection ends from the other side.
    pub fn closing_bytes(&mut self) -> Vec<u8> {
        if self.header_sent && self.state != State::Closed {
            self.state = State::Closed;
            b"</stream:stream>".to_vec()
        } else {
            Vec::new()
        }
    }
}

/// Our builder writes `<features xmlns='…streams'>`; on the wire the stream
/// namespace is spelled with its `stream:` prefix, as every client expects.
fn stream_prefixed(xml: &str) -> String {
    let decl = format!(" xmlns='{STREAMS_NS}'");
    let mut s = xml.replacen(&decl, "", 1);
    for name in ["features", "error"] {
        s = s
            .replacen(&format!("<{name}"), &format!("<stream:{name}"), 1)
            .replacen(&format!("</{name}>"), &format!("</stream:{name}>"), 1);
    }
    s
}

/// SASL data in an element: empty means none, `=` means empty (RFC 6120 §6.4.2).
fn decode64(text: &str) -> Result<Option<Vec<u8>>, String> {
    let text: String = text.split_ascii_whitespace().collect();
    match text.as_str() {
        "" => Ok(None),
        "=" => Ok(Some(Vec::new())),
        t => B64
            .decode(t)
            .map(Some)
            .map_err(|e| format!("the data is not base64 ({e})")),
    }
}

fn encode64(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "=".to_string()
    } else {
        B64.encode(bytes)
    }
}
