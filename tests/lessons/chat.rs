//! Lessons 19 to 24: the chat. Each is run on loopback against a real
//! `socklab chat serve`, with the clients the page names (`socklab connect
//! --proto json` or telnet, `connect --proto xml`, the `socklab chat`
//! client, a relay in the middle), and must pass; an empty log fails (see
//! commands.rs), and so does each likely mistake, with advice naming it.
//! No session log may hold a password afterwards.

use base64::Engine as _;

use super::*;
use util::chat::{ChatServer, Client, PASSWORD, wait_chat};

/// The XMPP stream header a learner types (RFC 6120 §4.2).
const HEADER: &str = "<stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\n";

/// PLAIN's `<auth/>` for `user` with the test password.
fn plain_auth(user: &str) -> String {
    format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>\n",
        plain_base64(user)
    )
}

fn plain_base64(user: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{PASSWORD}"))
}

impl Lab {
    /// A chat server with alice and bob, recorded in this lab's lesson.
    pub(super) fn chat_server(&self, extra: &[&str]) -> ChatServer {
        ChatServer::start_in(&["alice", "bob"], extra, Some(self.dir.path()))
    }

    /// Every session log of this lab, as text.
    fn all_logs(&self) -> String {
        let mut text = String::new();
        let dir = self.dir.path().join("sessions");
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        text
    }

    /// Asserts that the check passes, and that its report says `line` (a
    /// prediction against the truth).
    pub(super) fn assert_passes_reporting(&self, line: &str) {
        self.assert_passes();
        let report = flat(&self.check().stdout_text());
        assert!(report.contains(line), "{report}");
    }

    /// Asserts that no session log holds the password, PLAIN's base64 of it,
    /// or a SCRAM proof (`p=` in a client's final message).
    pub(super) fn assert_no_secret_logged(&self) {
        let logs = self.all_logs();
        assert!(!logs.is_empty(), "nothing was logged");
        for user in ["alice", "bob"] {
            let b64 = plain_base64(user);
            assert!(!logs.contains(&b64), "PLAIN's base64 for {user} in a log");
            // Split between two reads, a prefix still gives most of it away.
            assert!(!logs.contains(&b64[..12]), "a part of {user}'s base64");
        }
        assert!(!logs.contains(PASSWORD), "the password in a log");
        // A SCRAM proof: the <response> element's base64, or `,p=` decoded.
        let response = "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>";
        for (at, _) in logs.match_indices(response) {
            let after: String = logs[at + response.len()..].chars().take(40).collect();
            assert!(
                after.starts_with("•••"),
                "a SCRAM <response> in a log: {after}"
            );
        }
        for (at, _) in logs.match_indices(",p=") {
            let after: String = logs[at..].chars().take(40).collect();
            assert!(
                after[3..].starts_with('•'),
                "a SCRAM proof in a log: {after}"
            );
        }
    }
}

#[test]
fn no_session_log_holds_a_password_typed_by_hand_or_seen_by_a_relay() {
    // Any lesson: the log is masked whatever the lesson is.
    let lab = Lab::new(1);
    let server = lab.chat_server(&[]);
    let port = server.port.to_string();
    let mut relay = lab.spawn(&["relay", "0", &format!("127.0.0.1:{port}")]);
    let relay_port = relay.port().to_string();
    // PLAIN typed into connect --proto xml, through the relay.
    let mut c = lab.spawn(&["connect", "--proto", "xml", "127.0.0.1", &relay_port]);
    c.write(HEADER.as_bytes());
    c.wait_until("features", |evs| {
        evs.iter().any(|e| {
            e["step"] == "frame" && e["text"].as_str().is_some_and(|t| t.contains("PLAIN"))
        })
    });
    c.write(plain_auth("alice").as_bytes());
    c.wait_until("success", |evs| {
        evs.iter().any(|e| {
            e["step"] == "frame" && e["data"].as_str().is_some_and(|t| t.contains("<success"))
        })
    });
    c.close_stdin();
    c.finish();
    // A JSON login typed into connect --proto json.
    let mut j = lab.spawn(&["connect", "--proto", "json", "127.0.0.1", &port]);
    let login = serde_json::json!({"type": "login", "user": "bob", "password": PASSWORD});
    j.write(format!("{login}\n").as_bytes());
    j.wait_until("logged_in", |evs| {
        evs.iter().any(|e| {
            e["step"] == "frame" && e["text"].as_str().is_some_and(|t| t.contains("logged_in"))
        })
    });
    j.close_stdin();
    j.finish();
    relay.wait_for("close");
    lab.assert_no_secret_logged();
    drop(server);
}

/// A JSON login line for `user`.
fn json_login(user: &str) -> String {
    format!(
        "{}\n",
        serde_json::json!({"type": "login", "user": user, "password": PASSWORD})
    )
}

/// The tutorial's message, as alice types it in lesson 19.
const TUTORIAL: &str = "{\"from\":\"Vincent\",\"to\":\"bob\",\"body\":\"中午一起吃饭\"}\n";

impl Lab {
    /// Lesson 19's two clients: alice with `socklab connect --proto json`,
    /// bob with telnet, both logged in.
    fn json_chatters(&self, server: &mut ChatServer) -> (Proc, Proc) {
        require("telnet");
        let port = server.port.to_string();
        let mut alice = self.spawn(&["connect", "--proto", "json", "127.0.0.1", &port]);
        alice.write(json_login("alice").as_bytes());
        server.wait_chat("bind", "alice");
        let mut bob = Proc::spawn("telnet", peer("telnet", &["127.0.0.1", &port]));
        bob.write(json_login("bob").as_bytes());
        server.wait_chat("bind", "bob");
        (alice, bob)
    }
}

#[test]
fn lesson_19_a_chat_by_hand_with_the_json_protocol() {
    let lab = Lab::new(19);
    lab.assert_stuck_at(1, "socklab chat serve");
    let mut server = lab.chat_server(&[]);
    let port = server.port.to_string();
    lab.assert_stuck_at(2, &format!("socklab connect --proto json 127.0.0.1 {port}"));
    let (mut alice, mut bob) = lab.json_chatters(&mut server);
    lab.assert_stuck_at(6, "socklab lesson answer from NAME");
    lab.answer("from", "Vincent");
    alice.write(TUTORIAL.as_bytes());
    server.wait_chat("route", "alice");
    lab.assert_stuck_at(10, r#"{"to":"alice","body":"好的"}"#);
    // telnet: ASCII only (it mangles some bytes of Chinese text).
    bob.write(b"{\"to\":\"alice\",\"body\":\"ok, at noon\"}\n");
    server.wait_chat("route", "bob");
    lab.assert_passes_reporting("You predicted \"Vincent\"; the log shows \"alice\"");
    alice.close_stdin();
    alice.finish();
    drop(bob);
    lab.assert_no_secret_logged();
}

#[test]
fn lesson_19_a_message_without_the_tutorials_from() {
    let lab = Lab::new(19);
    let mut server = lab.chat_server(&[]);
    let (mut alice, _bob) = lab.json_chatters(&mut server);
    lab.answer("from", "alice");
    alice.write("{\"to\":\"bob\",\"body\":\"中午一起吃饭\"}\n".as_bytes());
    server.wait_chat("route", "alice");
    lab.assert_stuck_at(7, "without the tutorial's \"from\"");
}

#[test]
fn lesson_19_sending_while_bob_is_logged_out() {
    let lab = Lab::new(19);
    let mut server = lab.chat_server(&[]);
    let (mut alice, mut bob) = lab.json_chatters(&mut server);
    lab.answer("from", "alice");
    bob.write(b"{\"type\":\"logout\"}\n");
    server.proc.wait_until("bob's connection closed", |evs| {
        evs.iter().filter(|e| e["step"] == "close").count() >= 1
    });
    alice.write(TUTORIAL.as_bytes());
    server.wait_chat("offline_store", "alice");
    lab.assert_stuck_at(8, "stored the message for later");
}

#[test]
fn lesson_19_a_wrong_password() {
    let lab = Lab::new(19);
    let server = lab.chat_server(&["--failure-delay", "0s"]);
    let port = server.port.to_string();
    let mut alice = lab.spawn(&["connect", "--proto", "json", "127.0.0.1", &port]);
    alice.write(b"{\"type\":\"login\",\"user\":\"alice\",\"password\":\"wrong\"}\n");
    let mut server = server;
    server.wait_chat("auth_failed", "alice");
    lab.assert_stuck_at(3, "refused that login");
}

/// What `socklab chat plain USER` prints: the `<auth/>` line to paste.
fn chat_plain(server: &ChatServer, user: &str) -> String {
    let pw = server.data().join(format!(".pw-{user}"));
    let out = Command::new(util::bin())
        .args(["chat", "plain", user, "--password-file"])
        .arg(&pw)
        .output()
        .expect("socklab chat plain");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(line, plain_auth(user), "chat plain and base64 agree");
    line
}

/// Waits until `c` (a `connect --proto xml`) has cut a frame containing `needle`.
fn frame_with(c: &mut Proc, needle: &str) {
    c.wait_until(needle, |evs| {
        evs.iter()
            .any(|e| e["step"] == "frame" && e["data"].as_str().is_some_and(|d| d.contains(needle)))
    });
}

impl Lab {
    /// `socklab connect --proto xml` to `server`, logged in as alice with
    /// PLAIN (the stream header, the <auth/> line); returns it after <success/>.
    fn xml_login(&self, server: &ChatServer) -> Proc {
        let auth = chat_plain(server, "alice");
        let port = server.port.to_string();
        let mut c = self.spawn(&["connect", "--proto", "xml", "127.0.0.1", &port]);
        c.write(HEADER.as_bytes());
        frame_with(&mut c, "<mechanism>PLAIN</mechanism>");
        c.write(auth.as_bytes());
        frame_with(&mut c, "<success");
        c
    }
}

#[test]
fn lesson_20_an_xmpp_login_by_hand() {
    let lab = Lab::new(20);
    let mut server = lab.chat_server(&[]);
    let mut bob = util::chat::JsonClient::login(server.port, "bob");
    lab.assert_stuck_at(2, "socklab connect --proto xml 127.0.0.1");
    let mut c = lab.xml_login(&server);
    lab.assert_stuck_at(4, "send the stream header again");
    c.write(HEADER.as_bytes());
    frame_with(&mut c, "xmpp-bind");
    c.write(b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>terminal</resource></bind></iq>\n");
    frame_with(&mut c, "alice@localhost/terminal");
    // Bob writes before alice's presence: it waits for her.
    bob.send(serde_json::json!({"to": "alice", "body": "are you there?"}));
    server.wait_chat("offline_store", "bob");
    c.write(b"<presence/>\n");
    frame_with(&mut c, "are you there?");
    c.write(
        b"<message to='bob@localhost' type='chat'><body>hi bob, typed by hand</body></message>\n",
    );
    let m = bob.wait(|v| v["type"] == "message");
    assert_eq!(m["from_jid"], "alice@localhost/terminal");
    lab.assert_stuck_at(8, "</stream:stream>");
    c.write(b"</stream:stream>\n");
    c.close_stdin();
    c.finish();
    server.wait_chat("close", "alice");
    lab.answer("headers", "1");
    lab.assert_stuck_at(10, "Count them in B");
    lab.answer("headers", "two");
    lab.assert_passes();
    lab.assert_no_secret_logged();
}

#[test]
fn lesson_20_binding_without_restarting_the_stream() {
    let lab = Lab::new(20);
    let mut server = lab.chat_server(&[]);
    let mut c = lab.xml_login(&server);
    c.write(b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>terminal</resource></bind></iq>\n");
    server.wait_chat("stream_error", "alice");
    c.close_stdin();
    c.finish();
    lab.assert_stuck_at(
        4,
        "must restart the stream (RFC 6120 §6.4.6), and you sent a stanza first",
    );
}

#[test]
fn lesson_20_a_wrong_password_in_the_base64() {
    let lab = Lab::new(20);
    let mut server = lab.chat_server(&["--failure-delay", "0s"]);
    let port = server.port.to_string();
    let mut c = lab.spawn(&["connect", "--proto", "xml", "127.0.0.1", &port]);
    c.write(HEADER.as_bytes());
    frame_with(&mut c, "<mechanism>PLAIN</mechanism>");
    let wrong = base64::engine::general_purpose::STANDARD.encode("\0alice\0wonderland");
    c.write(
        format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{wrong}</auth>\n"
        )
        .as_bytes(),
    );
    server.wait_chat("auth_failed", "alice");
    lab.assert_stuck_at(3, "The server refused that <auth>");
    assert!(
        !lab.all_logs().contains(&wrong),
        "a wrong password is a password too"
    );
}

impl Lab {
    /// `socklab chat USER@localhost` recorded in this lab, its cache in
    /// `cache` (the learner's data directory), online.
    pub(super) fn chat_client(
        &self,
        server: &ChatServer,
        user: &str,
        cache: &std::path::Path,
    ) -> Proc {
        let jid = format!("{user}@localhost");
        let mut c = Client::start_in(
            server.port,
            &jid,
            server.data(),
            cache,
            &[],
            self.dir.path(),
        );
        wait_chat(&mut c, "online", "");
        c
    }
}

/// Types `line` into a chat client.
pub(super) fn say(c: &mut Proc, line: &str) {
    c.write(format!("{line}\n").as_bytes());
}

#[test]
fn lesson_21_friends_and_presence() {
    let lab = Lab::new(21);
    let mut server = lab.chat_server(&[]);
    let caches = tempfile::tempdir().expect("tempdir");
    let mut alice = lab.chat_client(&server, "alice", caches.path());
    let mut bob = lab.chat_client(&server, "bob", caches.path());
    lab.assert_stuck_at(2, "`/add bob`");
    say(&mut alice, "/add bob");
    wait_chat(&mut bob, "subscribe", "/accept alice");
    lab.assert_stuck_at(3, "socklab lesson answer state none|to|from|both");
    lab.answer("state", "from");
    say(&mut bob, "/accept alice");
    wait_chat(&mut alice, "subscribe", "/accept bob");
    lab.assert_stuck_at(5, "Terminal B: `/accept bob`");
    say(&mut alice, "/accept bob");
    wait_chat(
        &mut server.proc,
        "subscription",
        "bob is now subscribed to alice",
    );
    // Ctrl-C: no goodbye; the server must still tell alice.
    bob.kill();
    wait_chat(&mut alice, "presence", "bob went offline");
    lab.assert_stuck_at(7, "`socklab chat bob@localhost`");
    let _bob = lab.chat_client(&server, "bob", caches.path());
    wait_chat(&mut server.proc, "probe", "online now: alice@localhost/");
    lab.assert_passes_reporting(
        "You predicted \"from\"; the answer is \"to\": worth a second look",
    );
    say(&mut alice, "/quit");
    alice.finish();
    lab.assert_no_secret_logged();
}

#[test]
fn lesson_21_friends_already_from_an_earlier_try() {
    use util::chat::JsonClient;
    let lab = Lab::new(21);
    // Befriended before this lesson, on a server this lesson did not record.
    let mut server = ChatServer::start(&["alice", "bob"], &[]);
    let mut a = JsonClient::login(server.port, "alice");
    let mut b = JsonClient::login(server.port, "bob");
    a.send(serde_json::json!({"type": "add", "user": "bob"}));
    b.wait(|v| v["type"] == "subscribe");
    b.send(serde_json::json!({"type": "accept", "user": "alice"}));
    a.wait(|v| v["type"] == "subscribe");
    a.send(serde_json::json!({"type": "accept", "user": "bob"}));
    b.wait(|v| v["type"] == "roster_push" && v["item"]["subscription"] == "both");
    drop((a, b));
    server.state = Some(lab.dir.path().to_path_buf());
    server.kill_and_restart(&[]);
    let caches = tempfile::tempdir().expect("tempdir");
    let mut alice = lab.chat_client(&server, "alice", caches.path());
    say(&mut alice, "/add bob");
    wait_chat(&mut server.proc, "roster", "(subscription both)");
    lab.assert_stuck_at(2, "see each other already (from an earlier try)");
}

#[test]
fn lesson_21_bob_accepting_before_the_prediction() {
    let lab = Lab::new(21);
    let mut server = lab.chat_server(&[]);
    let caches = tempfile::tempdir().expect("tempdir");
    let mut alice = lab.chat_client(&server, "alice", caches.path());
    let mut bob = lab.chat_client(&server, "bob", caches.path());
    say(&mut alice, "/add bob");
    wait_chat(&mut bob, "subscribe", "/accept alice");
    say(&mut bob, "/accept alice");
    wait_chat(
        &mut server.proc,
        "subscription",
        "alice is now subscribed to bob",
    );
    lab.assert_stuck_at(3, "bob has accepted already, before you predicted");
}

/// `sqlite3 DB SQL`, as the page has the learner type it: its output.
fn sqlite3(db: &std::path::Path, sql: &str) -> String {
    let out = peer("sqlite3", &["-readonly"])
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

/// alice writes to bob with `socklab chat send` (she is not logged in otherwise).
fn alice_sends(server: &ChatServer, body: &str) {
    let sent = util::chat::chat_send(
        server.port,
        server.data(),
        "alice@localhost",
        "bob",
        &[body],
        &[],
    );
    assert_eq!(sent.code(), 0, "{}", sent.stderr);
}

/// Lesson 22's first steps with bob offline: the prediction, then alice's
/// message, stored.
fn predict_and_store(lab: &Lab, server: &mut ChatServer) {
    lab.answer("late_time", "yes");
    alice_sends(server, "are you there?");
    server.wait_chat("offline_store", "alice");
}

#[test]
fn lesson_22_offline_messages_survive_kill_9() {
    let lab = Lab::new(22);
    let mut server = lab.chat_server(&[]);
    let db = server.data().join("server.db");
    lab.assert_stuck_at(2, "socklab lesson answer late_time yes");
    lab.answer("late_time", "no");
    alice_sends(&server, "are you there?");
    server.wait_chat("offline_store", "alice");
    assert_eq!(
        sqlite3(&db, "SELECT owner, body FROM offline"),
        "bob|are you there?"
    );
    lab.assert_stuck_at(4, "in A: Ctrl-Z, then `kill -9 %1`");
    server.kill_and_restart_same(&[]);
    lab.assert_stuck_at(5, "`socklab chat bob@localhost`");
    let caches = tempfile::tempdir().expect("tempdir");
    let mut bob = lab.chat_client(&server, "bob", caches.path());
    wait_chat(&mut bob, "message_in", "delivered late");
    server.wait_chat("offline_deliver", "bob");
    lab.assert_stuck_at(6, "SELECT COUNT(*) FROM offline WHERE owner='bob'");
    let left = sqlite3(&db, "SELECT COUNT(*) FROM offline WHERE owner='bob'");
    lab.answer("left", &left);
    lab.assert_passes_reporting("You predicted \"no\"; the answer is \"yes\": worth a second look");
    say(&mut bob, "/quit");
    bob.finish();
    lab.assert_no_secret_logged();
}

#[test]
fn lesson_22_sending_while_bob_is_online() {
    let lab = Lab::new(22);
    let mut server = lab.chat_server(&[]);
    let caches = tempfile::tempdir().expect("tempdir");
    let _bob = lab.chat_client(&server, "bob", caches.path());
    lab.answer("late_time", "yes");
    alice_sends(&server, "are you there?");
    server.wait_chat("route", "alice");
    lab.assert_stuck_at(3, "bob is online, so the message went straight to him");
}

#[test]
fn lesson_22_bob_logging_in_before_the_kill() {
    let lab = Lab::new(22);
    let mut server = lab.chat_server(&[]);
    predict_and_store(&lab, &mut server);
    let caches = tempfile::tempdir().expect("tempdir");
    let mut bob = lab.chat_client(&server, "bob", caches.path());
    wait_chat(&mut bob, "message_in", "are you there?");
    lab.assert_stuck_at(4, "bob logged in before the server was killed");
}

#[test]
fn lesson_22_restarting_on_another_data_directory() {
    let lab = Lab::new(22);
    let mut server = lab.chat_server(&[]);
    predict_and_store(&lab, &mut server);
    server.kill();
    let _other = lab.chat_server(&[]);
    lab.assert_stuck_at(4, "is not the same one");
}

impl Lab {
    /// `socklab -x relay 0 127.0.0.1:PORT` in front of `server`, and its port.
    fn eavesdropper(&self, server: &ChatServer) -> (Proc, u16) {
        let target = format!("127.0.0.1:{}", server.port);
        let mut relay = self.spawn(&["-x", "relay", "0", &target]);
        let port = relay.port();
        (relay, port)
    }

    /// alice logs in through `port` with `extra` (a mechanism), and quits.
    fn alice_through(&self, server: &ChatServer, port: u16, extra: &[&str]) {
        let cache = tempfile::tempdir().expect("tempdir");
        let state = self.dir.path();
        let mut c = Client::start_in(
            port,
            "alice@localhost",
            server.data(),
            cache.path(),
            extra,
            state,
        );
        wait_chat(&mut c, "online", "");
        say(&mut c, "/quit");
        let done = c.finish();
        assert_eq!(done.code(), 0, "{}", done.stderr);
    }
}

/// The decoded payload of the first SASL element `name` the relay read.
fn sasl_payload(relay: &Proc, name: &str) -> String {
    let open = format!("<{name} xmlns='urn:ietf:params:xml:ns:xmpp-sasl'");
    let data = relay
        .seen
        .iter()
        .filter(|e| e["step"] == "read")
        .filter_map(|e| e["data"].as_str())
        .find(|d| d.contains(&open))
        .unwrap_or_else(|| panic!("the relay saw no <{name}>"));
    let b64 = data
        .split('>')
        .nth(1)
        .and_then(|t| t.split('<').next())
        .expect("payload");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    String::from_utf8(bytes).expect("utf-8")
}

#[test]
fn lesson_23_plain_against_scram_through_a_relay() {
    let lab = Lab::new(23);
    let server = lab.chat_server(&[]);
    lab.assert_stuck_at(2, "socklab -q -x relay 5223 127.0.0.1:");
    let (mut relay, port) = lab.eavesdropper(&server);
    lab.assert_stuck_at(3, "--mechanism PLAIN");
    lab.alice_through(&server, port, &["--mechanism", "PLAIN"]);
    relay.wait_for("close");
    // What the eavesdropper saw: the password, after one base64 -d.
    assert_eq!(sasl_payload(&relay, "auth"), format!("\0alice\0{PASSWORD}"));
    lab.assert_stuck_at(6, "socklab lesson answer replay yes");
    lab.answer("replay", "yes");
    lab.alice_through(&server, port, &[]);
    relay.wait_for_count("close", 4);
    let challenge = sasl_payload(&relay, "challenge");
    let i = challenge.rsplit("i=").next().expect("i=");
    assert!(challenge.contains(",s="), "{challenge}");
    lab.answer("iterations", i);
    lab.assert_passes_reporting("You predicted \"yes\"; the answer is \"no\": worth a second look");
    lab.assert_no_secret_logged();
}

#[test]
fn lesson_23_forgetting_mechanism_plain() {
    let lab = Lab::new(23);
    let mut server = lab.chat_server(&[]);
    let (_relay, port) = lab.eavesdropper(&server);
    lab.alice_through(&server, port, &[]);
    server.wait_chat("auth", "alice");
    lab.assert_stuck_at(5, "That login used SCRAM");
}

#[test]
fn lesson_23_logging_in_around_the_relay() {
    let lab = Lab::new(23);
    let mut server = lab.chat_server(&[]);
    let (_relay, _port) = lab.eavesdropper(&server);
    lab.alice_through(&server, server.port, &["--mechanism", "PLAIN"]);
    server.wait_chat("auth", "alice");
    lab.assert_stuck_at(3, "straight to the server, so nothing was in the middle");
}

impl Lab {
    /// `socklab chat alice@localhost` with its cache in `cache`, started
    /// while no server listens on `port`: it runs offline.
    fn offline_alice(&self, server: &ChatServer, port: u16, cache: &std::path::Path) -> Proc {
        let state = self.dir.path();
        let mut c = Client::start_in(port, "alice@localhost", server.data(), cache, &[], state);
        wait_chat(&mut c, "offline", "");
        c
    }
}

#[test]
fn lesson_24_the_chat_client_and_its_local_history() {
    let lab = Lab::new(24);
    let mut server = lab.chat_server(&[]);
    let data = tempfile::tempdir().expect("tempdir");
    let mut alice = lab.chat_client(&server, "alice", data.path());
    let mut bob = lab.chat_client(&server, "bob", data.path());
    say(&mut alice, "/to bob");
    say(&mut alice, "hi bob");
    wait_chat(&mut alice, "message_out", "hi bob");
    lab.assert_stuck_at(4, "`/to alice`");
    say(&mut bob, "/to alice");
    say(&mut bob, "好的, at noon");
    wait_chat(&mut alice, "message_in", "好的, at noon");
    say(&mut alice, "/history bob");
    wait_chat(&mut alice, "history", "2 message(s) with bob@localhost");
    lab.assert_stuck_at(6, "socklab lesson answer unsent yes");
    lab.answer("unsent", "yes");
    say(&mut alice, "/quit");
    alice.finish();
    let port = server.port;
    server.kill();
    let mut offline = lab.offline_alice(&server, port, data.path());
    say(&mut offline, "/history bob");
    wait_chat(&mut offline, "history", "2 message(s) with bob@localhost");
    offline.wait_stdout("alice → bob: hi bob\n".as_bytes());
    say(&mut offline, "/to bob");
    say(&mut offline, "are you there?");
    wait_chat(&mut offline, "notice", "was not sent");
    let db = data.path().join("client/alice@localhost.db");
    assert!(sqlite3(&db, ".schema messages").contains("stamp_ms"));
    assert_eq!(
        sqlite3(&db, "SELECT direction, body FROM messages ORDER BY id"),
        "out|hi bob\nin|好的, at noon"
    );
    lab.assert_stuck_at(11, ".schema");
    lab.answer("column", "stamp_ms");
    lab.assert_passes_reporting("You predicted \"yes\"; the answer is \"no\": worth a second look");
    say(&mut offline, "/quit");
    offline.finish();
    lab.assert_no_secret_logged();
}

/// Lesson 24 up to the prediction: alice and bob exchange a line each,
/// alice reads `/history bob` and quits; returns the server.
fn lesson_24_online_part(lab: &Lab, data: &std::path::Path) -> ChatServer {
    let server = lab.chat_server(&[]);
    let mut alice = lab.chat_client(&server, "alice", data);
    let mut bob = lab.chat_client(&server, "bob", data);
    say(&mut alice, "/to bob");
    say(&mut alice, "hi bob");
    say(&mut bob, "/to alice");
    say(&mut bob, "hi alice");
    wait_chat(&mut alice, "message_in", "hi alice");
    say(&mut alice, "/history bob");
    wait_chat(&mut alice, "history", "with bob@localhost");
    say(&mut alice, "/quit");
    alice.finish();
    lab.answer("unsent", "no");
    server
}

#[test]
fn lesson_24_restarting_alice_while_the_server_still_runs() {
    let lab = Lab::new(24);
    let data = tempfile::tempdir().expect("tempdir");
    let server = lesson_24_online_part(&lab, data.path());
    let _again = lab.chat_client(&server, "alice", data.path());
    lab.assert_stuck_at(7, "That client reached the server: it is still running");
}

#[test]
fn lesson_24_an_offline_client_on_another_cache() {
    let lab = Lab::new(24);
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = lesson_24_online_part(&lab, data.path());
    let port = server.port;
    server.kill();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let _offline = lab.offline_alice(&server, port, elsewhere.path());
    lab.assert_stuck_at(8, "That client opened another cache");
}

#[test]
fn a_chat_server_left_running_from_lesson_21_serves_lesson_22() {
    let lab = Lab::new(21);
    let mut server = lab.chat_server(&[]);
    assert_eq!(lab.run(&["lesson", "22"]).code(), 0);
    let lab = Lab { lesson: 22, ..lab };
    predict_and_store(&lab, &mut server);
    // Its `serve` line was carried into lesson 22's log, with its listen.
    lab.assert_stuck_at(4, "kill -9");
}

#[test]
fn lesson_19_typing_plain_text_instead_of_json() {
    let lab = Lab::new(19);
    let mut server = lab.chat_server(&[]);
    let port = server.port.to_string();
    let mut c = lab.spawn(&["connect", "127.0.0.1", &port]);
    c.write(b"login alice\n");
    server.wait_chat("protocol", "");
    c.close_stdin();
    c.finish();
    lab.assert_stuck_at(
        2,
        "neither an opening brace (JSON) nor `<` (XMPP). Every line must be one JSON object",
    );
}

#[test]
fn lesson_23_a_second_relay_for_the_scram_login_counts() {
    // The page offers `socklab --json relay …` to see a payload per line:
    // a learner restarts the relay between the two logins.
    let lab = Lab::new(23);
    let server = lab.chat_server(&[]);
    let (first, port) = lab.eavesdropper(&server);
    lab.alice_through(&server, port, &["--mechanism", "PLAIN"]);
    drop(first);
    lab.answer("replay", "no");
    let (_second, port) = lab.eavesdropper(&server);
    lab.alice_through(&server, port, &[]);
    lab.answer("iterations", "4096");
    lab.assert_passes();
}
