//! `socklab chat serve` with real XMPP clients (slixmpp 1.17) and JSON
//! clients: logins with each SASL mechanism, rosters and subscriptions,
//! presence, messages, offline storage across `kill -9`, the JSON gateway,
//! and the stream errors that end a misbehaving session without anyone else
//! noticing.

mod util;

use serde_json::json;
use util::chat::{ChatServer, JsonClient, Xmpp};

#[test]
fn slixmpp_logs_in_with_every_mechanism_and_messages_route() {
    let mut server = ChatServer::start(&["alice", "bob"], &[]);
    for mech in ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"] {
        let mut alice = Xmpp::login(server.port, "alice@localhost/laptop", Some(mech));
        let mut bob = Xmpp::login(server.port, "bob@localhost/phone", Some(mech));
        assert!(alice.logged_in() && bob.logged_in(), "{mech}");
        let auth = server.wait_chat("auth", "alice");
        assert!(
            auth["text"].as_str().is_some_and(|t| t.contains(mech)),
            "{auth}"
        );
        let body = format!("hi bob via {mech}, 中午一起吃饭");
        alice.cmd(json!({"cmd": "send", "to": "bob@localhost/phone", "body": body}));
        let m = bob.wait_message(&body);
        assert_eq!(
            m["from"], "alice@localhost/laptop",
            "from is stamped by the server"
        );
        alice.quit();
        bob.quit();
        server.proc.seen.clear();
    }
}

#[test]
fn a_wrong_password_fails_after_a_delay_and_passwords_never_reach_the_events() {
    use base64::Engine as _;
    let mut server = ChatServer::start(&["alice"], &["--failure-delay", "200ms"]);
    let started = std::time::Instant::now();
    let c = Xmpp::login_with(server.port, "alice@localhost", "wrong-Zq9", Some("PLAIN"));
    assert!(!c.logged_in());
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(200),
        "the failure waited"
    );
    server.wait_chat("auth_failed", "alice");
    let ok = Xmpp::login(server.port, "alice@localhost", Some("PLAIN"));
    assert!(ok.logged_in());
    server.wait_chat("auth", "alice");
    let events = server.proc.stderr_text();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for secret in [
        b64(&format!("\0alice\0{}", util::chat::PASSWORD)),
        b64("\0alice\0wrong-Zq9"),
        util::chat::PASSWORD.to_string(),
        "wrong-Zq9".to_string(),
    ] {
        assert!(!events.contains(&secret), "{secret} leaked into the events");
    }
    drop(c);
}

#[test]
fn subscriptions_presence_and_roster_pushes_follow_rfc_6121() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut alice = Xmpp::login(server.port, "alice@localhost/laptop", None);
    let mut bob = Xmpp::login(server.port, "bob@localhost/phone", None);
    alice.cmd(json!({"cmd": "roster_add", "jid": "bob@localhost", "name": "Bob"}));
    alice.wait("roster push", |e| {
        e["step"] == "roster_push" && e["items"]["bob@localhost"]["name"] == "Bob"
    });
    alice.cmd(json!({"cmd": "subscribe", "to": "bob@localhost"}));
    bob.wait("subscribe request", |e| {
        e["step"] == "subscribe" && e["from"] == "alice@localhost"
    });
    bob.cmd(json!({"cmd": "subscribed", "to": "alice@localhost"}));
    alice.wait("subscribed", |e| {
        e["step"] == "subscribed" && e["from"] == "bob@localhost"
    });
    // Now subscribed: alice sees bob's presence, and his changes.
    alice.wait("bob online", |e| {
        e["step"] == "presence" && e["from"] == "bob@localhost/phone"
    });
    bob.cmd(json!({"cmd": "presence", "show": "away", "status": "lunch"}));
    alice.wait("bob away", |e| {
        e["step"] == "presence" && e["show"] == "away" && e["status"] == "lunch"
    });
    alice.cmd(json!({"cmd": "roster"}));
    let r = alice.wait("roster", |e| e["step"] == "roster");
    assert_eq!(r["items"]["bob@localhost"]["subscription"], "to", "{r}");
    bob.cmd(json!({"cmd": "roster"}));
    let r = bob.wait("roster", |e| e["step"] == "roster");
    assert_eq!(r["items"]["alice@localhost"]["subscription"], "from", "{r}");
    bob.quit();
    alice.wait("bob unavailable", |e| {
        e["step"] == "presence" && e["type"] == "unavailable"
    });
    alice.quit();
}

#[test]
fn a_subscription_request_waits_for_an_offline_contact() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut alice = Xmpp::login(server.port, "alice@localhost/laptop", None);
    alice.cmd(json!({"cmd": "subscribe", "to": "bob@localhost"}));
    alice.wait("done", |e| e["step"] == "done" && e["cmd"] == "subscribe");
    let mut bob = Xmpp::login(server.port, "bob@localhost/phone", None);
    bob.wait("pending request", |e| {
        e["step"] == "subscribe" && e["from"] == "alice@localhost"
    });
    alice.quit();
    bob.quit();
}

#[test]
fn offline_messages_survive_kill_9_and_arrive_with_their_time() {
    let mut server = ChatServer::start(&["alice", "bob"], &[]);
    let mut alice = Xmpp::login(server.port, "alice@localhost/laptop", None);
    alice.cmd(json!({"cmd": "send", "to": "bob@localhost", "body": "are you there?"}));
    server.wait_chat("offline_store", "alice");
    alice.quit();
    server.kill_and_restart(&[]);
    let mut bob = Xmpp::login(server.port, "bob@localhost/phone", None);
    let m = bob.wait_message("are you there?");
    assert_eq!(m["from"], "alice@localhost/laptop");
    assert!(
        m["delay"].as_str().is_some_and(|d| d.starts_with("20")),
        "XEP-0203 stamp: {m}"
    );
    server.wait_chat("offline_deliver", "bob");
    bob.quit();
    // Delivered once: a second login gets nothing.
    let mut again = Xmpp::login(server.port, "bob@localhost/tablet", None);
    again.cmd(json!({"cmd": "roster"}));
    again.wait("roster", |e| e["step"] == "roster");
    assert!(!again.proc.seen.iter().any(|e| e["step"] == "message"));
    again.quit();
}

#[test]
fn json_and_xmpp_users_talk_through_the_gateway() {
    let mut server = ChatServer::start(&["alice", "bob"], &[]);
    let mut alice = Xmpp::login(server.port, "alice@localhost/laptop", None);
    let mut bob = JsonClient::login(server.port, "bob");
    bob.send(json!({"from": "Vincent", "to": "alice", "body": "中午一起吃饭"}));
    let m = alice.wait_message("中午一起吃饭");
    assert_eq!(
        m["from"], "bob@localhost/json-1",
        "the server stamps the real sender, not Vincent"
    );
    server.wait_chat("translate", "bob");
    alice.cmd(json!({"cmd": "send", "to": "bob@localhost", "body": "好的"}));
    let m = bob.wait(|v| v["type"] == "message");
    assert_eq!(
        (m["from"].as_str(), m["body"].as_str()),
        (Some("alice"), Some("好的"))
    );
    alice.quit();
}

#[test]
fn json_friends_add_accept_and_see_each_other() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut alice = JsonClient::login(server.port, "alice");
    let mut bob = JsonClient::login(server.port, "bob");
    alice.send(json!({"type": "add", "user": "bob"}));
    bob.wait(|v| v["type"] == "subscribe" && v["from"] == "alice");
    bob.send(json!({"type": "accept", "user": "alice"}));
    alice.wait(|v| v["type"] == "subscribed" && v["from"] == "bob");
    alice.wait(|v| v["type"] == "presence" && v["from"] == "bob" && v["available"] == true);
    // Accepting asked back: friendship both ways.
    alice.wait(|v| v["type"] == "subscribe" && v["from"] == "bob");
    alice.send(json!({"type": "accept", "user": "bob"}));
    bob.wait(|v| v["type"] == "presence" && v["from"] == "alice");
    bob.send(json!({"type": "who"}));
    let who = bob.wait(|v| v["type"] == "who");
    assert_eq!(who["online"][0]["user"], "alice", "{who}");
}

#[test]
fn errors_answer_the_sender_and_end_only_that_stream() {
    let server = ChatServer::start(&["alice"], &[]);
    let mut alice = Xmpp::login(server.port, "alice@localhost/laptop", None);
    alice.cmd(json!({"cmd": "send", "to": "nobody@localhost", "body": "hello?"}));
    let e = alice.wait("error", |e| e["step"] == "message" && e["type"] == "error");
    assert_eq!(e["error"], "service-unavailable");
    for (bytes, condition) in [
        (&b"<stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message to='a@localhost'><body>x</body></message>"[..], "not-authorized"),
        (b"<stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><a></b>", "not-well-formed"),
        (b"<!DOCTYPE x><stream:stream>", "restricted-xml"),
        (b"<stream:stream to='elsewhere.example' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", "host-unknown"),
    ] {
        let mut raw = JsonClient::connect(server.port);
        raw.send_raw(bytes);
        let text = read_all(raw);
        assert!(text.contains(&format!("<{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")), "{condition}: {text}");
        assert!(text.ends_with("</stream:stream>"), "{text}");
    }
    // Alice never noticed.
    alice.cmd(json!({"cmd": "iq_ping", "to": "localhost"}));
    alice.wait("pong", |e| e["step"] == "pong");
    alice.quit();
}

/// Everything the server sends until it closes.
fn read_all(c: JsonClient) -> String {
    use std::io::Read;
    let JsonClient { mut reader, .. } = c;
    let mut s = String::new();
    let _ = reader.read_to_string(&mut s);
    s
}

#[test]
fn a_login_typed_by_hand_through_connect_proto_xml_works() {
    let server = ChatServer::start(&["alice", "bob"], &["--sasl", "PLAIN"]);
    let mut bob = JsonClient::login(server.port, "bob");
    let pw = server.data().join(".pw-alice");
    let auth = std::process::Command::new(util::bin())
        .args(["chat", "plain", "alice", "--password-file"])
        .arg(&pw)
        .output()
        .expect("chat plain");
    let auth = String::from_utf8(auth.stdout).expect("utf-8");
    let mut c = util::Proc::socklab(&[
        "connect",
        "--proto",
        "xml",
        "127.0.0.1",
        &server.port.to_string(),
    ]);
    let header = "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\n";
    let frame_with = |c: &mut util::Proc, n: usize, needle: &str| {
        c.wait_until(needle, |evs| {
            evs.iter().filter(|e| e["step"] == "frame").count() >= n
                && evs.iter().any(|e| {
                    e["step"] == "frame" && e["data"].as_str().is_some_and(|d| d.contains(needle))
                })
        });
    };
    c.write(header.as_bytes());
    frame_with(&mut c, 2, "<mechanism>PLAIN</mechanism>");
    c.write(auth.as_bytes());
    frame_with(&mut c, 3, "<success");
    c.write(header.as_bytes());
    frame_with(&mut c, 5, "xmpp-bind");
    c.write(b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>typed</resource></bind></iq>\n");
    frame_with(&mut c, 6, "alice@localhost/typed");
    c.write(b"<presence/>\n<message to='bob@localhost' type='chat'><body>typed by hand</body></message>\n");
    let m = bob.wait(|v| v["type"] == "message");
    assert_eq!(
        (m["from_jid"].as_str(), m["body"].as_str()),
        (Some("alice@localhost/typed"), Some("typed by hand"))
    );
    c.write(b"</stream:stream>\n");
    c.close_stdin();
    let done = c.finish();
    assert_eq!(done.code(), 0, "{}", done.stderr);
}

#[test]
fn an_event_file_never_holds_a_password_typed_by_hand() {
    let server = ChatServer::start(&["alice"], &[]);
    let events = server.data().join("typed.jsonl");
    let events_arg = events.to_str().expect("utf-8").to_string();
    let mut c = util::Proc::socklab(&[
        "--events",
        &events_arg,
        "connect",
        "--proto",
        "json",
        "127.0.0.1",
        &server.port.to_string(),
    ]);
    let login = json!({"type": "login", "user": "alice", "password": util::chat::PASSWORD});
    c.write(format!("{login}\n").as_bytes());
    c.wait_until("logged in", |evs| {
        evs.iter().any(|e| {
            e["step"] == "frame" && e["text"].as_str().is_some_and(|t| t.contains("logged_in"))
        })
    });
    c.close_stdin();
    let _ = c.finish();
    let recorded = std::fs::read_to_string(&events).expect("event file");
    assert!(recorded.contains("\"step\":\"write\""), "{recorded}");
    assert!(
        !recorded.contains(util::chat::PASSWORD),
        "the password reached the event file"
    );
    assert!(
        recorded.contains("•••"),
        "the password is masked where it was"
    );
}

#[test]
fn a_login_and_a_message_sent_with_fin_at_once_are_handled_before_the_close() {
    // `printf '{login}\n{message}\n' | nc -N HOST PORT`: the whole session
    // in one segment, then FIN, while the password check is still running.
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut bob = JsonClient::login(server.port, "bob");
    let mut alice = JsonClient::connect(server.port);
    alice.send(json!({"type": "login", "user": "alice", "password": util::chat::PASSWORD}));
    alice.send(json!({"type": "message", "to": "bob", "body": "sent, then FIN"}));
    alice.finish_sending();
    let got = bob.wait(|v| v["type"] == "message");
    assert_eq!(got["body"], "sent, then FIN");
    let answers = read_all(alice);
    assert!(answers.contains("\"logged_in\""), "{answers}");
    // A wrong password with FIN at once gets its refusal (after the delay).
    let mut mallory = JsonClient::connect(server.port);
    mallory.send(json!({"type": "login", "user": "alice", "password": "wrong"}));
    mallory.finish_sending();
    let refused = read_all(mallory);
    assert!(refused.contains("\"error\""), "{refused}");
}
