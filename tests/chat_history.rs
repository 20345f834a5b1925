//! The message archive (XEP-0313) from the outside: slixmpp pages through
//! it, socklab's client syncs its cache from it without duplicates, and a
//! `kill -9` in the middle of a burst loses no message that was routed.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde_json::{Value, json};
use util::chat::{ChatServer, Client, JsonClient, Prosody, Xmpp};

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

/// slixmpp's own page iterator: the bodies of each page, in the order it
/// asked for them.
fn mam_pages(alice: &mut Xmpp, query: Value) -> Vec<Vec<String>> {
    alice.proc.seen.clear();
    alice.cmd(query);
    let pages = alice.wait("mam_pages", |e| e["step"] == "mam_pages");
    pages["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(bodies)
        .collect()
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
    let forwards = mam_pages(
        &mut alice,
        json!({"cmd": "mam_pages", "with": "bob@localhost", "max": 2}),
    );
    assert_eq!(forwards.concat(), want, "{forwards:?}");
    assert_eq!(forwards[0], want[..2], "two per page: {forwards:?}");
    let backwards = mam_pages(
        &mut alice,
        json!({"cmd": "mam_pages", "with": "bob@localhost", "max": 3, "reverse": true}),
    );
    assert_eq!(
        backwards[0],
        want[4..],
        "the last page first: {backwards:?}"
    );
    assert_eq!(
        backwards[1],
        want[1..4],
        "then the one before: {backwards:?}"
    );
    assert_eq!(backwards[2], want[..1], "{backwards:?}");

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

/// The messages in a client's cache, oldest first: (body, archive id).
fn cached(cache: &Path, account: &str) -> Vec<(String, Option<String>)> {
    let db = rusqlite::Connection::open(cache.join(format!("client/{account}.db"))).expect("open");
    let mut st = db
        .prepare("SELECT body, archive_id FROM messages ORDER BY stamp_ms, id")
        .expect("select");
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect()
}

/// `socklab chat history ...` without `--json`: the lines a person reads.
fn history_text(args: &[&str]) -> util::Finished {
    let mut cmd = std::process::Command::new(util::bin());
    cmd.args(["--color", "never", "chat", "history"]).args(args);
    util::run("socklab chat history", cmd)
}

#[test]
fn the_client_syncs_what_another_device_and_the_offline_time_left_and_nothing_twice() {
    let mut server = ChatServer::start(&["alice", "bob"], &[]);
    let mut alice = JsonClient::login(server.port, "alice");
    // bob's laptop (XMPP) chats with alice.
    let mut laptop = Client::login(
        server.port,
        "bob@localhost",
        server.data(),
        &["--resource", "laptop"],
    );
    laptop.wait_chat("sync", "synced 0 message(s)");
    laptop.line("/to alice");
    laptop.line("typed on the laptop");
    alice.wait(|v| v["body"] == "typed on the laptop");
    alice.send(json!({"type": "message", "to": "bob", "body": "seen on the laptop"}));
    laptop.wait_chat("message_in", "seen on the laptop");
    let (done, laptop_cache) = laptop.stop();
    assert_eq!(done.code(), 0, "{}", done.stderr);
    // bob is offline: this waits in the server, and is in the archive.
    alice.send(json!({"type": "message", "to": "bob", "body": "while you were out"}));
    server.wait_chat("offline_store", "alice");

    // bob's phone (JSON protocol), a new device with an empty cache: the
    // offline message arrives live, the rest comes from the archive.
    let mut phone = Client::login(
        server.port,
        "bob@localhost",
        server.data(),
        &["--resource", "phone", "--proto", "json"],
    );
    phone.wait_stdout("alice → bob: while you were out");
    phone.wait_chat(
        "sync",
        "synced 3 message(s) from the archive in 1 page(s) (1 were already here): 2 new",
    );
    phone.line("/history alice");
    phone.wait_chat("history", "3 message(s) with alice@localhost");
    let (done, phone_cache) = phone.stop();
    let out = done.stdout_text();
    // The offline message as it arrived, then the three lines of /history.
    let history: Vec<&str> = out.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(history.len(), 4, "{out}");
    let history = &history[1..];
    for (line, want) in history.iter().zip([
        "bob → alice: typed on the laptop",
        "alice → bob: seen on the laptop",
        "alice → bob: while you were out",
    ]) {
        assert!(
            line.ends_with(want),
            "{line:?} should end with {want:?}\n{out}"
        );
    }

    // The laptop again: what it sent and received is recognised, the
    // offline message it never saw is new.
    let laptop_again = |cache| {
        Client::resume(
            cache,
            server.port,
            "bob@localhost",
            server.data(),
            &["--resource", "laptop"],
        )
    };
    let mut laptop = laptop_again(laptop_cache);
    let sync = laptop.wait_chat("sync", "synced");
    let text = sync["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(
            "synced 3 message(s) from the archive in 1 page(s) (2 were already here): 1 new"
        ) && text.contains("1 of those already here had no archive id yet"),
        "{text}"
    );
    let (_, laptop_cache) = laptop.stop();
    // And again: nothing new, nothing twice.
    let mut laptop = laptop_again(laptop_cache);
    laptop.wait_chat("sync", "synced 0 message(s)");
    let (_, laptop_cache) = laptop.stop();
    for cache in [laptop_cache.path(), phone_cache.path()] {
        let rows = cached(cache, "bob@localhost");
        let bodies: Vec<&str> = rows.iter().map(|(b, _)| b.as_str()).collect();
        assert_eq!(
            bodies,
            [
                "typed on the laptop",
                "seen on the laptop",
                "while you were out"
            ],
            "{}",
            cache.display()
        );
        let mut ids: Vec<&str> = rows.iter().filter_map(|(_, id)| id.as_deref()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 3, "each with its own archive id: {rows:?}");
    }

    // The server is gone; the cache still answers, for scripts too.
    server.proc.kill();
    let dir = laptop_cache.path().to_str().expect("utf-8").to_string();
    let text = history_text(&["bob@localhost", "--with", "alice", "--data-dir", &dir]);
    assert_eq!(text.code(), 0, "{}", text.stderr);
    let lines: Vec<String> = text.stdout_text().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].len() > 17
            && lines[0][..17].ends_with(' ')
            && lines[0].ends_with(" bob → alice: typed on the laptop"),
        "2026-11-26 14:43 bob → alice: …: {lines:?}"
    );
    let json = util::run(
        "chat history --json",
        util::socklab(&[
            "chat",
            "history",
            "bob@localhost",
            "--with",
            "alice",
            "--since",
            "2000-01-01",
            "--data-dir",
            &dir,
        ]),
    );
    assert_eq!(json.code(), 0, "{}", json.stderr);
    let objects: Vec<Value> = json
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(objects.len(), 3);
    assert_eq!(objects[2]["from"], "alice@localhost");
    assert_eq!(objects[2]["direction"], "in");
    assert!(objects[2]["archive_id"].is_string(), "{}", objects[2]);
    let later = util::run(
        "chat history --since",
        util::socklab(&[
            "chat",
            "history",
            "bob@localhost",
            "--since",
            "2999-01-01",
            "--data-dir",
            &dir,
        ]),
    );
    assert_eq!((later.code(), later.stdout_text()), (0, String::new()));
    let nobody = util::run(
        "chat history, no cache",
        util::socklab(&["chat", "history", "carol@localhost", "--data-dir", &dir]),
    );
    assert_eq!(nobody.code(), 1);
    assert!(
        nobody
            .stderr
            .contains("there is no local cache for carol@localhost"),
        "{}",
        nobody.stderr
    );
}

/// alice, logged in with the JSON protocol on a plain socket.
fn json_login(port: u16, user: &str) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(util::DEADLINE))
        .expect("timeout");
    let mut w = stream.try_clone().expect("clone");
    let login = json!({"type": "login", "user": user, "password": util::chat::PASSWORD});
    w.write_all(format!("{login}\n").as_bytes()).expect("login");
    let mut r = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    while !line.contains("\"logged_in\"") {
        line.clear();
        assert!(
            r.read_line(&mut line).expect("a line in time") > 0,
            "closed"
        );
    }
    stream
}

/// bob's archive with alice, as the server's database holds it.
fn archived_bodies(data: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(data.join("server.db")).expect("open");
    let mut st = db
        .prepare("SELECT body FROM archive WHERE owner = 'bob' AND with_jid = 'alice@localhost' ORDER BY id")
        .expect("select");
    st.query_map([], |r| r.get(0))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect()
}

#[test]
fn kill_9_mid_burst_loses_no_routed_message_and_the_sync_stores_each_once() {
    // More than the server can route before the kill: it dies mid-burst.
    const BURST: usize = 50_000;
    let mut server = ChatServer::start(&["alice", "bob"], &[]);
    let mut bob = Client::login(server.port, "bob@localhost", server.data(), &[]);
    bob.wait_chat("sync", "synced 0");
    // alice sends as fast as she can, one message per write, until the
    // server dies under her.
    let mut alice = json_login(server.port, "alice");
    let burst = std::thread::spawn(move || {
        (0..BURST)
            .take_while(|i| {
                let m = json!({"type": "message", "to": "bob", "body": format!("burst {i}")});
                alice.write_all(format!("{m}\n").as_bytes()).is_ok()
            })
            .count()
    });
    let received = |evs: &[Value]| evs.iter().filter(|e| e["action"] == "message_in").count();
    bob.proc
        .wait_until("20 messages of the burst", |evs| received(evs) >= 20);
    server.kill_and_restart(&[]);
    let written = burst.join().expect("the sender");
    bob.wait_chat("offline", "");
    let (_, cache) = bob.stop();
    let before = cached(cache.path(), "bob@localhost");
    let archive = archived_bodies(server.data());
    eprintln!(
        "the sender wrote {written} of {BURST}; bob had {} when the server was killed; the archive has {}",
        before.len(),
        archive.len()
    );
    // The server handles alice's messages in order and commits each turn
    // before writing any of it: the archive is the burst's beginning, and
    // holds every message bob got.
    let start: Vec<String> = (0..archive.len()).map(|i| format!("burst {i}")).collect();
    assert_eq!(archive, start, "the burst's first messages, each once");
    assert!(
        archive.len() < written,
        "killed mid-burst: the server had more to read"
    );
    assert!(before.len() >= 20);
    let got: Vec<&str> = before.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(got, start[..got.len()], "bob got nothing the archive lost");

    // bob logs in again: what was archived but never reached him comes
    // from the archive, and nothing is stored twice.
    let mut bob = Client::resume(cache, server.port, "bob@localhost", server.data(), &[]);
    bob.wait_chat("sync", &format!("synced {} message(s)", archive.len()));
    let (_, cache) = bob.stop();
    let after = cached(cache.path(), "bob@localhost");
    let bodies: Vec<&str> = after.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(bodies, start, "each routed message once, in order");
    assert!(
        after.iter().all(|(_, id)| id.is_some()),
        "all with their archive id"
    );
}

#[test]
fn archive_days_expires_old_messages_and_purge_empties_one_users_archive() {
    let mut server = ChatServer::start(&["alice", "bob"], &[]);
    let mut alice = JsonClient::login(server.port, "alice");
    let mut bob = JsonClient::login(server.port, "bob");
    for body in ["old 1", "old 2", "new"] {
        alice.send(json!({"type": "message", "to": "bob", "body": body}));
        bob.wait(|v| v["body"] == body);
    }
    // Ten days pass for two of them.
    let db = rusqlite::Connection::open(server.data().join("server.db")).expect("open");
    let aged = db
        .execute(
            "UPDATE archive SET stamp_ms = stamp_ms - 10 * 86400000 WHERE body LIKE 'old %'",
            [],
        )
        .expect("age");
    assert_eq!(aged, 4, "each message is in two archives");
    drop((alice, bob));
    server.kill_and_restart(&["--archive-days", "7"]);
    let expired = server.wait_chat("expire", "");
    assert!(
        expired["text"].as_str().is_some_and(
            |t| t.starts_with("retention (--archive-days 7): deleted 4 archived message(s)")
        ),
        "{expired}"
    );
    let history = |c: &mut JsonClient| {
        c.seen.clear();
        c.send(json!({"type": "history"}));
        c.wait(|v| v["type"] == "history")
    };
    let mut bob = JsonClient::login(server.port, "bob");
    let page = history(&mut bob);
    assert_eq!(page["count"], 1, "{page}");
    assert_eq!(page["items"][0]["body"], "new", "{page}");

    let data = server.data().to_str().expect("utf-8").to_string();
    let purge = |args: &[&str]| {
        let mut all = vec!["chat", "purge"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", &data]);
        util::run("chat purge", util::socklab(&all))
    };
    let none = purge(&["bob", "--older-than", "1"]);
    assert_eq!(none.code(), 0, "{}", none.stderr);
    assert!(
        none.stdout_text()
            .starts_with("deleted 0 archived message(s) of bob@localhost older than 1 day(s)"),
        "{}",
        none.stdout_text()
    );
    // While the server runs: it sees the change at its next query.
    let all = purge(&["bob"]);
    assert!(
        all.stdout_text()
            .starts_with("deleted 1 archived message(s) of bob@localhost: all of its archive"),
        "{}",
        all.stdout_text()
    );
    let page = history(&mut bob);
    assert_eq!(
        (
            page["count"].as_u64(),
            page["items"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0)),
        "{page}"
    );
    let mut alice = JsonClient::login(server.port, "alice");
    assert_eq!(history(&mut alice)["count"], 1, "alice keeps her copy");
    let carol = purge(&["carol"]);
    assert_eq!(carol.code(), 1);
    assert!(
        carol.stderr.contains("there is no user carol@localhost"),
        "{}",
        carol.stderr
    );
}

#[test]
fn chat_history_sync_fetches_the_archive_first_and_prints_the_cache_when_the_server_is_down() {
    let mut server = ChatServer::start(&["alice", "bob"], &[]);
    let mut alice = JsonClient::login(server.port, "alice");
    for body in ["one", "two"] {
        alice.send(json!({"type": "message", "to": "bob", "body": body}));
    }
    alice.send(json!({"type": "ping"}));
    alice.wait(|v| v["type"] == "pong");
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = cache.path().to_str().expect("utf-8").to_string();
    let pw = server.data().join(".pw-bob");
    let pw = pw.to_str().expect("utf-8").to_string();
    let sync = |port: u16| {
        let server = format!("127.0.0.1:{port}");
        util::run(
            "chat history --sync",
            util::socklab(&[
                "chat",
                "history",
                "bob@localhost",
                "--with",
                "alice",
                "--sync",
                "--server",
                &server,
                "--password-file",
                &pw,
                "--data-dir",
                &dir,
            ]),
        )
    };
    let first = sync(server.port);
    assert_eq!(first.code(), 0, "{}", first.stderr);
    let bodies: Vec<String> = first
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON")["body"].to_string())
        .collect();
    assert_eq!(bodies, ["\"one\"", "\"two\""], "{}", first.stdout_text());
    assert!(
        first.stderr.contains("synced 2 message(s)"),
        "{}",
        first.stderr
    );
    // The offline messages are still waiting for bob's next real login:
    // `--sync` announces no presence (it would have come before the query).
    server.wait_chat("archive_query", "bob");
    assert_eq!(server.count_chat("offline_deliver"), 0);
    let port = server.port;
    server.proc.kill();
    let down = sync(port);
    assert_eq!(down.code(), 1, "the sync failed: {}", down.stderr);
    assert_eq!(
        down.stdout_text().lines().count(),
        2,
        "the cache, printed anyway"
    );
    assert!(down.stderr.contains("could not connect"), "{}", down.stderr);
}

#[test]
fn the_client_syncs_from_prosodys_archive_too() {
    // Prosody's archive ids are opaque strings, not numbers: the sync
    // only ever asks "after" the last one it stored.
    let prosody = Prosody::start_with("internal_plain", &["alice", "bob"], &["mam"]);
    let mut alice = Xmpp::login(prosody.port, "alice@localhost/laptop", None);
    for body in ["one", "two", "three"] {
        alice.cmd(json!({"cmd": "send", "to": "bob@localhost", "body": body}));
    }
    alice.cmd(json!({"cmd": "iq_ping", "to": "localhost"}));
    alice.wait("pong", |e| e["step"] == "pong");
    let mut bob = Client::login(prosody.port, "bob@localhost", prosody.keys(), &[]);
    bob.wait_stdout("alice → bob: three");
    bob.wait_chat(
        "sync",
        "synced 3 message(s) from the archive in 1 page(s) (3 were already here)",
    );
    let (done, cache) = bob.stop();
    assert_eq!(done.code(), 0, "{}", done.stderr);
    let mut bob = Client::resume(cache, prosody.port, "bob@localhost", prosody.keys(), &[]);
    bob.wait_chat("sync", "synced 0 message(s)");
    let (_, cache) = bob.stop();
    let rows = cached(cache.path(), "bob@localhost");
    let bodies: Vec<&str> = rows.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(bodies, ["one", "two", "three"]);
    assert!(
        rows.iter()
            .all(|(_, id)| id.as_ref().is_some_and(|i| i.parse::<i64>().is_err())),
        "Prosody's own ids: {rows:?}"
    );
    alice.quit();
}
