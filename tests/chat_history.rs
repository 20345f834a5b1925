//! The message archive (XEP-0313) from the outside: slixmpp pages through
//! it, socklab's client syncs its cache from it without duplicates, and a
//! `kill -9` in the middle of a burst loses no message that was routed.

mod util;

use serde_json::{Value, json};
use util::chat::{ChatServer, JsonClient, Xmpp};

/// alice (slixmpp) and bob (JSON) take turns: seven messages, each one
/// received before the next is sent, so the archive's order is the
/// conversation's; then carol says something to alice.
fn seven_messages(server: &ChatServer) -> Xmpp {
    let mut alice = Xmpp::login(server.port, "alice@localhost/laptop", None);
    let mut bob = JsonClient::login(server.port, "bob");
    for i in 0..7 {
        let body = format!("message {i}");
        if i % 2 == 0 {
            alice.cmd(json!({"cmd": "send", "to": "bob@localhost", "body": body}));
            bob.wait(|v| v["type"] == "message" && v["body"] == body);
        } else {
            bob.send(json!({"type": "message", "to": "alice", "body": body}));
            alice.wait_message(&body);
        }
    }
    let mut carol = JsonClient::login(server.port, "carol");
    carol.send(json!({"type": "message", "to": "alice", "body": "from carol"}));
    alice.wait_message("from carol");
    alice
}

fn bodies(results: &Value) -> Vec<String> {
    results
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["body"].as_str().expect("body").to_string())
        .collect()
}

fn mam(alice: &mut Xmpp, query: Value) -> Value {
    alice.proc.seen.clear();
    alice.cmd(query);
    alice.wait("a mam answer", |e| {
        e["step"] == "mam" || e["step"] == "iq_error"
    })
}

#[test]
fn slixmpp_pages_through_a_conversation_with_xep_0313() {
    let server = ChatServer::start(&["alice", "bob", "carol"], &[]);
    let mut alice = seven_messages(&server);
    let want: Vec<String> = (0..7).map(|i| format!("message {i}")).collect();

    // Page by page, two at a time, each page asked for after the last id.
    let mut got = Vec::new();
    let mut after: Option<String> = None;
    for page in 0..4 {
        let mut q = json!({"cmd": "mam", "with": "bob@localhost", "max": 2});
        if let Some(a) = &after {
            q["after"] = json!(a);
        }
        let fin = mam(&mut alice, q);
        assert_eq!(fin["step"], "mam", "page {page}: {fin}");
        let results = fin["results"].as_array().expect("results");
        assert_eq!(fin["first"], results[0]["id"], "page {page}: {fin}");
        assert_eq!(
            fin["last"],
            results[results.len() - 1]["id"],
            "page {page}: {fin}"
        );
        assert_eq!(fin["count"], "7", "page {page}: {fin}");
        assert_eq!(fin["complete"] == "true", page == 3, "page {page}: {fin}");
        for r in results {
            let mine = r["body"].as_str().is_some_and(|b| {
                b.trim_start_matches("message ")
                    .parse::<u32>()
                    .is_ok_and(|n| n % 2 == 0)
            });
            let from = if mine {
                "alice@localhost/laptop"
            } else {
                "bob@localhost/"
            };
            assert!(
                r["from"].as_str().is_some_and(|f| f.starts_with(from)),
                "{r}"
            );
            assert!(r["stamp"].as_str().is_some_and(|s| s.ends_with('Z')), "{r}");
        }
        got.extend(bodies(&fin["results"]));
        after = fin["last"].as_str().map(str::to_string);
    }
    assert_eq!(got, want, "in order, each once");

    // slixmpp's own iterator, forwards and backwards from the last page.
    alice.cmd(json!({"cmd": "mam_pages", "with": "bob@localhost", "max": 2}));
    let pages = alice.wait("mam_pages", |e| e["step"] == "mam_pages");
    let forwards: Vec<Vec<String>> = pages["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(bodies)
        .collect();
    assert_eq!(forwards.concat(), want, "{pages}");
    assert_eq!(forwards[0], want[..2], "two per page: {pages}");
    alice.proc.seen.clear();
    alice.cmd(json!({"cmd": "mam_pages", "with": "bob@localhost", "max": 3, "reverse": true}));
    let pages = alice.wait("mam_pages", |e| e["step"] == "mam_pages");
    let backwards: Vec<Vec<String>> = pages["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(bodies)
        .collect();
    assert_eq!(backwards[0], want[4..], "the last page first: {pages}");
    assert_eq!(backwards[1], want[1..4], "then the one before: {pages}");
    assert_eq!(backwards[2], want[..1], "{pages}");

    // `with` picks the conversation; without it, carol's message is there too.
    let all = mam(&mut alice, json!({"cmd": "mam", "max": 50}));
    let mut everything = want.clone();
    everything.push("from carol".into());
    assert_eq!(bodies(&all["results"]), everything, "{all}");
    let carol = mam(&mut alice, json!({"cmd": "mam", "with": "carol@localhost"}));
    assert_eq!(bodies(&carol["results"]), ["from carol"], "{carol}");

    // `start` and `end` (inclusive) pick a time range.
    let results = all["results"].as_array().expect("results").clone();
    let (start, end) = (&results[2]["stamp"], &results[4]["stamp"]);
    let range = mam(
        &mut alice,
        json!({"cmd": "mam", "with": "bob@localhost", "start": start, "end": end}),
    );
    let in_range: Vec<String> = results
        .iter()
        .filter(|r| r["stamp"].as_str() >= start.as_str() && r["stamp"].as_str() <= end.as_str())
        .map(|r| r["body"].as_str().expect("body").to_string())
        .collect();
    assert!(in_range.len() >= 3, "{in_range:?}");
    assert_eq!(bodies(&range["results"]), in_range, "{range}");

    // An id that is not in the archive is an error, not an empty page.
    let bad = mam(&mut alice, json!({"cmd": "mam", "after": "not-an-id"}));
    assert_eq!(bad["step"], "iq_error", "{bad}");
    assert_eq!(bad["condition"], "item-not-found", "{bad}");
    alice.quit();
}
