//! The XMPP client against a scripted server: the server's side is written
//! out as bytes, cut into frames by the real XML framing, and what the
//! client sends back is checked as bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::XmppClient;
use crate::chat::client::wire::{Cx, Login, Update, Wire};
use crate::chat::jid::Jid;
use crate::chat::sasl::{Mechanism, Secret};
use crate::framing::{FrameReader, JsonFraming, Limits, Proto, Role, codec};
use crate::trace::Tracer;

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='localhost' version='1.0'>";
const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";

pub(super) struct Script {
    pub(super) client: XmppClient,
    reader: FrameReader,
    t: Tracer,
}

impl Script {
    /// A client logging in as alice (password "pw"); returns what it sent first.
    fn start(mechanism: Option<Mechanism>, resource: Option<&str>) -> (Script, String) {
        let login = Login {
            jid: Jid::bare("alice", "localhost"),
            password: Secret::new("pw"),
            resource: resource.map(str::to_string),
            mechanism,
            announce: true,
        };
        let reader = FrameReader::new(
            codec(Proto::Xml, JsonFraming::Newline, Role::Client),
            Limits::default(),
        );
        let mut s = Script {
            client: XmppClient::new(login),
            reader,
            t: Tracer::silent(),
        };
        let sent = s.act(|client, cx| client.start(cx));
        (s, sent)
    }

    /// The client does `act`: what it sends.
    pub(super) fn act(&mut self, act: impl FnOnce(&mut XmppClient, &mut Cx)) -> String {
        self.run(|client, _, cx| act(client, cx)).0
    }

    /// The server says `xml`: what the client answers, and its updates.
    pub(super) fn say(&mut self, xml: &str) -> (String, Vec<Update>) {
        self.reader.push(xml.as_bytes());
        self.run(|client, reader, cx| {
            while let Some(frame) = reader.next_frame().expect("well-formed") {
                client.on_frame(cx, &frame.content);
            }
        })
    }

    /// Runs `f` with a context: what the client sent, and its updates.
    fn run(
        &mut self,
        f: impl FnOnce(&mut XmppClient, &mut FrameReader, &mut Cx),
    ) -> (String, Vec<Update>) {
        let mut cx = Cx::new(&mut self.t, None, "alice", 0, false);
        f(&mut self.client, &mut self.reader, &mut cx);
        (String::from_utf8(cx.out).expect("utf-8"), cx.updates)
    }

    /// Logs in with PLAIN and restarts; returns the post-login features' answer.
    pub(super) fn logged_in(features: &str) -> (Script, String) {
        let (mut s, _) = Script::start(Some(Mechanism::Plain), Some("laptop"));
        s.say(&format!("{HEADER}<stream:features><mechanisms xmlns='{SASL}'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"));
        s.say(&format!("<success xmlns='{SASL}'/>"));
        let (sent, _) = s.say(&format!("{HEADER}{features}"));
        (s, sent)
    }
}

/// The value of the first `id='…'` in `xml`.
pub(super) fn id_of(xml: &str) -> String {
    let at = xml.find("id='").expect("an id") + 4;
    xml[at..at + xml[at..].find('\'').expect("closing quote")].to_string()
}

fn failed(updates: &[Update]) -> String {
    updates
        .iter()
        .find_map(|u| match u {
            Update::Failed(why) => Some(why.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no failure in {updates:?}"))
}

pub(super) const BIND_AND_SESSION: &str = "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>";

#[test]
fn a_plain_login_binds_does_the_required_session_then_roster_and_presence() {
    let (mut s, sent) = Script::start(Some(Mechanism::Plain), Some("laptop"));
    assert!(
        sent.starts_with("<?xml version='1.0'?><stream:stream to='localhost' version='1.0'"),
        "{sent}"
    );
    let (sent, _) = s.say(&format!("{HEADER}<stream:features><mechanisms xmlns='{SASL}'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>"));
    let plain = B64.encode("\0alice\0pw");
    assert_eq!(
        sent,
        format!("<auth xmlns='{SASL}' mechanism='PLAIN'>{plain}</auth>")
    );
    let (sent, _) = s.say(&format!("<success xmlns='{SASL}'/>"));
    assert!(
        sent.starts_with("<?xml version='1.0'?><stream:stream to='localhost'"),
        "a restart: {sent}"
    );
    let (sent, _) = s.say(&format!("{HEADER}{BIND_AND_SESSION}"));
    assert!(
        sent.contains(
            "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>laptop</resource></bind>"
        ),
        "{sent}"
    );
    let (sent, _) = s.say(&format!("<iq type='result' id='{}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@localhost/laptop</jid></bind></iq>", id_of(&sent)));
    // <session/> without <optional/>: the server still wants the old step.
    assert!(
        sent.contains("<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>"),
        "{sent}"
    );
    let (sent, _) = s.say(&format!("<iq type='result' id='{}'/>", id_of(&sent)));
    assert!(sent.contains("<query xmlns='jabber:iq:roster'/>"), "{sent}");
    let (sent, updates) = s.say(&format!("<iq type='result' id='{}'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' name='Bob' subscription='both'/></query></iq>", id_of(&sent)));
    assert_eq!(sent, "<presence/>");
    let [Update::Roster(items), Update::Online(jid)] = updates.as_slice() else {
        panic!("{updates:?}")
    };
    assert_eq!((items.len(), items[0].name.as_deref()), (1, Some("Bob")));
    assert_eq!(jid.to_string(), "alice@localhost/laptop");
}

#[test]
fn an_optional_session_is_skipped() {
    let (mut s, sent) = Script::logged_in(
        "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session></stream:features>",
    );
    let (sent, _) = s.say(&format!("<iq type='result' id='{}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@localhost/laptop</jid></bind></iq>", id_of(&sent)));
    assert!(
        sent.contains("jabber:iq:roster") && !sent.contains("xmpp-session"),
        "{sent}"
    );
}

#[test]
fn a_scram_server_must_prove_itself_in_its_success() {
    for success in [
        format!("<success xmlns='{SASL}'/>"),
        format!(
            "<success xmlns='{SASL}'>{}</success>",
            B64.encode("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        ),
    ] {
        let (mut s, _) = Script::start(None, None);
        let (sent, _) = s.say(&format!("{HEADER}<stream:features><mechanisms xmlns='{SASL}'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"));
        assert!(
            sent.contains("mechanism='SCRAM-SHA-1'"),
            "the strongest offered: {sent}"
        );
        let b64 = &sent[sent.find('>').expect("tag") + 1..sent.find("</auth>").expect("end")];
        let first = String::from_utf8(B64.decode(b64).expect("base64")).expect("utf-8");
        let nonce = first.split("r=").nth(1).expect("nonce");
        let challenge = format!(
            "r={nonce}server,s={},i=4096",
            B64.encode("sixteen byte salt")
        );
        let (sent, _) = s.say(&format!(
            "<challenge xmlns='{SASL}'>{}</challenge>",
            B64.encode(&challenge)
        ));
        assert!(sent.starts_with("<response"), "{sent}");
        let (sent, updates) = s.say(&success);
        let why = failed(&updates);
        assert!(why.contains("v="), "{why}");
        assert!(
            !sent.contains("<stream:stream to="),
            "no restart with an unproven server: {sent}"
        );
        assert!(sent.ends_with("</stream:stream>"), "{sent}");
    }
}

#[test]
fn a_server_that_wants_tls_first_or_lacks_the_forced_mechanism_is_explained() {
    let (mut s, _) = Script::start(None, None);
    let (_, updates) = s.say(&format!("{HEADER}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"));
    assert!(
        failed(&updates).contains("c2s_require_encryption"),
        "{updates:?}"
    );
    let (mut s, _) = Script::start(Some(Mechanism::Plain), None);
    let (sent, updates) = s.say(&format!("{HEADER}<stream:features><mechanisms xmlns='{SASL}'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"));
    assert!(
        !sent.contains("<auth"),
        "PLAIN is never sent unoffered: {sent}"
    );
    assert!(
        failed(&updates).contains("does not offer it"),
        "{updates:?}"
    );
    let (mut s, _) = Script::start(None, None);
    s.say(&format!("{HEADER}<stream:features><mechanisms xmlns='{SASL}'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"));
    let (_, updates) = s.say(&format!(
        "<failure xmlns='{SASL}'><not-authorized/><text>nope</text></failure>"
    ));
    let why = failed(&updates);
    assert!(
        why.contains("wrong user name or password") && why.contains("nope"),
        "{why}"
    );
}

#[test]
fn roster_pushes_only_from_our_account_pings_and_other_iqs_are_answered() {
    let (mut s, _) = Script::logged_in(BIND_AND_SESSION);
    let push = "<query xmlns='jabber:iq:roster'><item jid='carol@localhost' subscription='none' ask='subscribe'/></query>";
    let (sent, updates) = s.say(&format!(
        "<iq type='set' id='p1' from='mallory@localhost'>{push}</iq>"
    ));
    assert!(
        updates.is_empty() && sent.contains("type='error'") && sent.contains("service-unavailable"),
        "{sent}"
    );
    let (sent, updates) = s.say(&format!("<iq type='set' id='p2'>{push}</iq>"));
    assert_eq!(sent, "<iq type='result' id='p2'/>");
    let [
        Update::RosterPush {
            item,
            removed: false,
        },
    ] = updates.as_slice()
    else {
        panic!("{updates:?}")
    };
    assert!(item.ask_out && item.contact == Jid::bare("carol", "localhost"));
    let (sent, _) =
        s.say("<iq type='get' id='g1' from='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert_eq!(sent, "<iq type='result' id='g1' to='localhost'/>");
    let (sent, _) = s.say(
        "<iq type='get' id='g2' from='bob@localhost/x'><query xmlns='jabber:iq:version'/></iq>",
    );
    assert!(
        sent.contains("id='g2'") && sent.contains("service-unavailable"),
        "RFC 6120 §8.2.3 wants an answer: {sent}"
    );
}

#[test]
fn messages_keep_their_delay_and_errors_say_which_message() {
    let (mut s, _) = Script::logged_in(BIND_AND_SESSION);
    let (_, updates) = s.say("<message from='bob@localhost/phone' to='alice@localhost' type='chat' id='m1'><body>hi &amp; bye</body><delay xmlns='urn:xmpp:delay' from='localhost' stamp='2026-11-26T14:43:32.123Z'>Offline storage</delay></message>");
    let [Update::Message(m, None)] = updates.as_slice() else {
        panic!("{updates:?}")
    };
    assert_eq!(m.body.as_deref(), Some("hi & bye"));
    let delay = m.delay.as_ref().expect("a delay");
    assert_eq!(
        crate::chat::time::stamp(delay.stamp_ms),
        "2026-11-26T14:43:32.123Z"
    );
    let (_, updates) = s.say("<message from='nobody@localhost' type='error' id='m7'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no such user</text></error></message>");
    let [Update::Refused(r)] = updates.as_slice() else {
        panic!("{updates:?}")
    };
    assert_eq!(
        (r.id.as_deref(), r.condition.as_str()),
        (Some("m7"), "service-unavailable")
    );
    assert!(r.explain().contains("no such user"), "{}", r.explain());
}

#[test]
fn a_stream_error_ends_the_stream_with_its_reason() {
    let (mut s, _) = Script::start(None, None);
    let (sent, updates) = s.say(&format!("{HEADER}<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>this server is example.org</text></stream:error></stream:stream>"));
    assert!(failed(&updates).contains("host-unknown"), "{updates:?}");
    assert!(updates.contains(&Update::Ended), "{updates:?}");
    assert_eq!(
        sent.matches("</stream:stream>").count(),
        1,
        "one closing tag: {sent}"
    );
}
