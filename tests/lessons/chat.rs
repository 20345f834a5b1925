//! Lessons 19 to 24: the chat. Each is run on loopback against a real
//! `socklab chat serve`, with the clients the page names (`socklab connect
//! --proto json` or telnet, `connect --proto xml`, the `socklab chat`
//! client, a relay in the middle), and must pass; an empty log fails (see
//! commands.rs), and so does each likely mistake, with advice naming it.
//! No session log may hold a password afterwards.

use base64::Engine as _;

use super::*;
use util::chat::{ChatServer, PASSWORD};

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
    fn chat_server(&self, extra: &[&str]) -> ChatServer {
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

    /// Asserts that no session log holds the password, PLAIN's base64 of it,
    /// or a SCRAM proof (`p=` in a client's final message).
    fn assert_no_secret_logged(&self) {
        let logs = self.all_logs();
        assert!(!logs.is_empty(), "nothing was logged");
        for user in ["alice", "bob"] {
            let b64 = plain_base64(user);
            assert!(!logs.contains(&b64), "PLAIN's base64 for {user} in a log");
            // Split between two reads, a prefix still gives most of it away.
            assert!(!logs.contains(&b64[..12]), "a part of {user}'s base64");
        }
        assert!(!logs.contains(PASSWORD), "the password in a log");
        for line in logs.lines().filter(|l| l.contains("<response")) {
            assert!(
                line.contains("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>•••"),
                "{line}"
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
