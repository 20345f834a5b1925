//! The archive client against a scripted server: the query's bytes, the
//! results kept only when they answer our query from our own account, the
//! page at `<fin/>`, and stanza-ids believed only once the server has shown
//! it keeps an archive.

use super::tests::{BIND_AND_SESSION, Script, id_of};
use crate::chat::client::wire::{ArchivePage, Update, Wire};

const MAM: &str = "urn:xmpp:mam:2";

fn result(queryid: &str, id: &str, from: &str, body: &str) -> String {
    format!(
        "<message from='{from}' to='alice@localhost/laptop'><result xmlns='{MAM}' queryid='{queryid}' id='{id}'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-11-26T14:43:0{id}.000Z'/><message xmlns='jabber:client' from='bob@localhost/phone' to='alice@localhost' type='chat' id='s{id}'><body>{body}</body></message></forwarded></result></message>"
    )
}

fn live(stanza_id: &str, by: &str) -> String {
    format!(
        "<message from='bob@localhost/phone' to='alice@localhost' type='chat' id='live'><body>now</body><stanza-id xmlns='urn:xmpp:sid:0' by='{by}' id='{stanza_id}'/></message>"
    )
}

#[test]
fn a_page_is_what_answers_our_query_from_our_account() {
    let (mut s, _) = Script::logged_in(BIND_AND_SESSION);
    // Before any archive answer, a stanza-id is not believed.
    let (_, updates) = s.say(&live("41", "alice@localhost"));
    assert!(
        matches!(updates.as_slice(), [Update::Message(_, None)]),
        "{updates:?}"
    );
    let sent = s.act(|c, cx| c.archive(cx, Some("7"), 100));
    assert!(
        sent.starts_with("<iq type='set' id='mam")
            && sent.contains(&format!("<query xmlns='{MAM}' queryid='q"))
            && sent.contains("<max>100</max><after>7</after>"),
        "{sent}"
    );
    let iq = id_of(&sent);
    let queryid = sent
        .split("queryid='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("queryid")
        .to_string();
    let mut server = result(&queryid, "8", "alice@localhost", "one");
    // Another user's forged result, and an answer to a query we never made.
    server.push_str(&result(&queryid, "9", "mallory@localhost", "forged"));
    server.push_str(&result("other", "9", "alice@localhost", "stray"));
    server.push_str(&result(&queryid, "9", "alice@localhost", "two"));
    let (_, updates) = s.say(&server);
    assert!(updates.is_empty(), "held until <fin/>: {updates:?}");
    let (_, updates) = s.say(&format!(
        "<iq type='result' id='{iq}'><fin xmlns='{MAM}'><set xmlns='http://jabber.org/protocol/rsm'><first>8</first><last>9</last><count>2</count></set></fin></iq>"
    ));
    let [
        Update::Archive(ArchivePage {
            items,
            last,
            complete,
        }),
    ] = updates.as_slice()
    else {
        panic!("{updates:?}")
    };
    assert_eq!((last.as_deref(), *complete), (Some("9"), false));
    let got: Vec<(&str, &str, Option<&str>)> = items
        .iter()
        .map(|(id, m)| {
            (
                id.as_str(),
                m.body.as_deref().unwrap_or(""),
                m.id.as_deref(),
            )
        })
        .collect();
    assert_eq!(got, [("8", "one", Some("s8")), ("9", "two", Some("s9"))]);
    let stamp = items[0]
        .1
        .delay
        .as_ref()
        .expect("the archive's stamp")
        .stamp_ms;
    assert_eq!(crate::chat::time::stamp(stamp), "2026-11-26T14:43:08.000Z");
    // Now the server is known to keep an archive: its stanza-ids count,
    // but only those it set for our account.
    let (_, updates) = s.say(&live("42", "alice@localhost"));
    assert!(
        matches!(updates.as_slice(), [Update::Message(_, Some(id))] if id == "42"),
        "{updates:?}"
    );
    let (_, updates) = s.say(&live("43", "bob@localhost"));
    assert!(
        matches!(updates.as_slice(), [Update::Message(_, None)]),
        "{updates:?}"
    );
}

#[test]
fn a_refused_query_says_why() {
    let (mut s, _) = Script::logged_in(BIND_AND_SESSION);
    let sent = s.act(|c, cx| c.archive(cx, None, 50));
    assert!(!sent.contains("<after>"), "from the start: {sent}");
    let iq = id_of(&sent);
    let (_, updates) = s.say(&format!(
        "<iq type='error' id='{iq}'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    let [Update::ArchiveRefused(r)] = updates.as_slice() else {
        panic!("{updates:?}")
    };
    assert_eq!(r.condition, "item-not-found");
}
