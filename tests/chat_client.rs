//! `socklab chat JID` and `socklab chat send` against real servers: socklab's
//! own (`chat serve`, over XMPP and over the JSON protocol) and Prosody 0.12,
//! with real peers on the other side (slixmpp, sendxmpp, another socklab
//! client). The client is driven by typed lines on stdin and followed
//! through its `--json` events, each wait bounded by a deadline.

mod util;

use serde_json::json;
use util::chat::{ChatServer, Client, PASSWORD, Prosody, Xmpp, chat_send};

/// Whether the client's events show a password, in clear or in PLAIN's base64.
fn leaks_password(events: &str, user: &str) -> bool {
    use base64::Engine as _;
    let plain = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{PASSWORD}"));
    events.contains(PASSWORD) || events.contains(&plain)
}

/// `chat send alice@localhost bob BODY`, which must succeed.
fn alice_to_bob(server: &ChatServer, body: &str, extra: &[&str]) {
    let sent = chat_send(
        server.port,
        server.data(),
        "alice@localhost",
        "bob",
        &[body],
        extra,
    );
    assert_eq!(sent.code(), 0, "{}", sent.stderr);
}

#[test]
fn the_client_logs_in_with_each_mechanism_and_talks_with_slixmpp() {
    let mut server = ChatServer::start(&["alice", "bob"], &[]);
    for mech in ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"] {
        let mut bob = Xmpp::login(server.port, "bob@localhost/phone", None);
        let mut alice = Client::login(
            server.port,
            "alice@localhost",
            server.data(),
            &["--mechanism", mech, "--resource", "laptop"],
        );
        alice.wait_chat("sasl", &format!("using {mech}"));
        let auth = server.wait_chat("auth", "alice");
        assert!(
            auth["text"].as_str().is_some_and(|t| t.contains(mech)),
            "{auth}"
        );
        alice.line("/to bob");
        let body = format!("hi bob via {mech}, 中午一起吃饭");
        alice.line(&body);
        let m = bob.wait_message(&body);
        assert_eq!(m["from"], "alice@localhost/laptop", "--resource: {m}");
        alice.wait_chat("message_out", &body);
        bob.cmd(json!({"cmd": "send", "to": "alice@localhost", "body": format!("好的 {mech}")}));
        alice.wait_stdout(&format!("bob → alice: 好的 {mech}\n"));
        let done = alice.quit();
        assert_eq!(done.code(), 0, "{}", done.stderr);
        assert!(
            !leaks_password(&done.stderr, "alice"),
            "{mech}: the password reached the events"
        );
        bob.quit();
        server.proc.seen.clear();
    }
}

#[test]
fn two_socklab_clients_add_and_accept_each_other() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut alice = Client::login(server.port, "alice@localhost", server.data(), &[]);
    let mut bob = Client::login(server.port, "bob@localhost", server.data(), &[]);
    alice.line("/add bob");
    alice.wait_chat("roster", "bob@localhost subscription=none, waiting");
    bob.wait_chat("subscribe", "/accept alice");
    bob.line("/roster");
    bob.wait_stdout(
        "friend requests waiting for your answer (/accept NAME or /deny NAME): alice\n",
    );
    bob.line("/accept alice");
    alice.wait_chat("subscription", "bob accepted");
    alice.wait_chat("presence", "bob is online");
    // Accepting asked back, so that they see each other.
    alice.wait_chat("subscribe", "/accept bob");
    alice.line("/accept bob");
    bob.wait_chat("presence", "alice is online");
    alice.wait_chat("roster", "bob@localhost subscription=both");
    alice.line("/who");
    alice.wait_stdout("online: bob [online]");
    alice.line("/roster");
    alice.wait_stdout("bob: both (you see each other), online");
    let done = bob.quit();
    assert_eq!(done.code(), 0, "{}", done.stderr);
    alice.wait_chat("presence", "bob went offline");
    assert_eq!(alice.quit().code(), 0);
}

#[test]
fn an_offline_message_shows_its_stamp_and_history_works_without_the_server() {
    let mut server = ChatServer::start(&["alice", "bob"], &[]);
    let sent = chat_send(
        server.port,
        server.data(),
        "alice@localhost",
        "bob",
        &["are", "you", "there?"],
        &[],
    );
    assert_eq!(
        sent.code(),
        0,
        "stored offline is accepted: {}",
        sent.stderr
    );
    server.wait_chat("offline_store", "alice");
    let mut bob = Client::login(server.port, "bob@localhost", server.data(), &[]);
    bob.wait_chat("message_in", "delivered late");
    bob.wait_stdout("alice → bob: are you there?\n");
    let out = bob.proc.stdout_now();
    let line = out
        .lines()
        .find(|l| l.ends_with("alice → bob: are you there?"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.starts_with("[20") && line.contains("Z] "),
        "the time it was sent: {line}"
    );
    bob.line("/to alice");
    bob.line("see you later");
    bob.wait_chat("message_out", "see you later");
    let (done, cache) = bob.stop();
    assert_eq!(done.code(), 0, "{}", done.stderr);
    // The server is gone: the client starts offline, and the cache answers.
    let port = server.port;
    let data = server.dir;
    server.proc.kill();
    let mut offline = Client::resume(cache, port, "bob@localhost", data.path(), &[]);
    offline.wait_chat("offline", "could not connect");
    offline.line("/history alice");
    offline.wait_chat("history", "2 message(s) with alice@localhost");
    let done = offline.quit();
    assert_eq!(
        done.code(),
        0,
        "only /history was asked, and it worked: {}",
        done.stderr
    );
    let history = done.stdout_text();
    let lines: Vec<&str> = history.lines().collect();
    assert!(
        lines[0].ends_with("alice → bob: are you there?"),
        "{history}"
    );
    assert!(
        lines[1].ends_with("bob → alice: see you later"),
        "{history}"
    );
}

#[test]
fn chat_send_exits_0_only_when_the_server_took_the_message() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut bob = Xmpp::login(server.port, "bob@localhost/phone", None);
    let ok = chat_send(
        server.port,
        server.data(),
        "alice@localhost",
        "bob@localhost",
        &["hello", "bob"],
        &[],
    );
    assert_eq!(ok.code(), 0, "{}", ok.stderr);
    bob.wait_message("hello bob");
    let unknown = chat_send(
        server.port,
        server.data(),
        "alice@localhost",
        "nobody",
        &["hello?"],
        &[],
    );
    assert_eq!(unknown.code(), 1);
    let error = unknown.find("error").expect("an error event");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("service-unavailable") && message.contains("nobody@localhost"),
        "{error}"
    );
    let wrong = tempfile::tempdir().expect("tempdir");
    std::fs::write(wrong.path().join(".pw-alice"), "not the password\n").expect("write");
    let refused = chat_send(
        server.port,
        wrong.path(),
        "alice@localhost",
        "bob",
        &["hi"],
        &[],
    );
    assert_eq!(refused.code(), 1);
    let error = refused.find("error").expect("an error event");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("wrong user name or password")),
        "{error}"
    );
    // Without MESSAGE: one message per stdin line.
    let keys = server.data().to_str().expect("utf-8").to_string();
    let pw = format!("{keys}/.pw-alice");
    let server_arg = format!("127.0.0.1:{}", server.port);
    let cache = tempfile::tempdir().expect("tempdir");
    let cache_arg = cache.path().to_str().expect("utf-8").to_string();
    let mut lines = util::Proc::socklab(&[
        "chat",
        "send",
        "alice@localhost",
        "bob",
        "--server",
        &server_arg,
        "--password-file",
        &pw,
        "--data-dir",
        &cache_arg,
    ]);
    lines.feed(b"first line\nsecond line\n".to_vec());
    assert_eq!(lines.finish().code(), 0);
    bob.wait_message("first line");
    bob.wait_message("second line");
    bob.quit();
}

#[test]
fn the_json_protocol_does_the_same_chat() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let json = ["--proto", "json"];
    let mut alice = Client::login(server.port, "alice@localhost", server.data(), &json);
    let mut bob = Client::login(server.port, "bob@localhost", server.data(), &json);
    alice.line("/add bob");
    bob.wait_chat("subscribe", "/accept alice");
    bob.line("/accept alice");
    alice.wait_chat("presence", "bob is online");
    alice.line("/to bob");
    alice.line("中午一起吃饭");
    bob.wait_stdout("alice → bob: 中午一起吃饭\n");
    let sent = chat_send(
        server.port,
        server.data(),
        "bob@localhost",
        "alice",
        &["好的"],
        &json,
    );
    assert_eq!(sent.code(), 0, "{}", sent.stderr);
    alice.wait_stdout("bob → alice: 好的\n");
    let unknown = chat_send(
        server.port,
        server.data(),
        "bob@localhost",
        "nobody",
        &["?"],
        &json,
    );
    assert_eq!(unknown.code(), 1, "{}", unknown.stderr);
    assert_eq!(bob.quit().code(), 0);
    let done = alice.quit();
    assert_eq!(done.code(), 0);
    assert!(
        !leaks_password(&done.stderr, "alice"),
        "the JSON login's password reached the events"
    );
}

#[test]
fn a_wrong_domain_is_a_stream_error_explained() {
    let server = ChatServer::start(&["alice"], &[]);
    let mut c = Client::start(server.port, "alice@example.org", server.data(), &[]);
    c.wait_chat("stream_error", "host-unknown");
    let done = c.proc.finish();
    assert_eq!(done.code(), 1);
}

#[test]
fn the_client_talks_to_prosody_and_a_slixmpp_user_there() {
    let prosody = Prosody::start("internal_hashed", &["alice", "bob"]);
    let mut bob = Xmpp::login(prosody.port, "bob@localhost/phone", None);
    assert!(bob.logged_in(), "slixmpp logs in to Prosody");
    let mut alice = Client::login(prosody.port, "alice@localhost", prosody.keys(), &[]);
    // Prosody stores SCRAM-SHA-1 keys, and offers PLAIN as well: the stronger wins.
    alice.wait_chat("sasl", "using SCRAM-SHA-1");
    alice.wait_chat("auth", "v= checked");
    alice.line("/to bob");
    alice.line("hello from socklab to prosody");
    bob.wait_message("hello from socklab to prosody");
    bob.cmd(json!({"cmd": "send", "to": "alice@localhost", "body": "hello back from slixmpp"}));
    alice.wait_stdout("bob → alice: hello back from slixmpp\n");
    let done = alice.quit();
    assert_eq!(done.code(), 0, "{}", done.stderr);
    // chat send with PLAIN, and Prosody's error for an unknown user.
    let plain = chat_send(
        prosody.port,
        prosody.keys(),
        "alice@localhost",
        "bob",
        &["plain hello"],
        &["--mechanism", "PLAIN"],
    );
    assert_eq!(plain.code(), 0, "{}", plain.stderr);
    bob.wait_message("plain hello");
    let unknown = chat_send(
        prosody.port,
        prosody.keys(),
        "alice@localhost",
        "nobody",
        &["?"],
        &[],
    );
    assert_eq!(unknown.code(), 1, "{}", unknown.stderr);
    let error = unknown.find("error").expect("an error event");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("service-unavailable")),
        "{error}"
    );
    bob.quit();
}

#[test]
fn sendxmpp_sends_with_plain_to_socklab_chat_serve() {
    util::require("sendxmpp");
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let bob = Client::login(server.port, "bob@localhost", server.data(), &[]);
    let rc = server.data().join("sendxmpprc");
    let config = format!(
        "username: alice\njserver: 127.0.0.1:{}\ncomponent: localhost\npassword: {PASSWORD}\n",
        server.port
    );
    std::fs::write(&rc, config).expect("write sendxmpprc");
    // sendxmpp refuses a config file others may read.
    std::fs::set_permissions(&rc, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let mut cmd = std::process::Command::new("sendxmpp");
    cmd.arg("-f").arg(&rc).arg("bob@localhost");
    let mut p = util::Proc::spawn("sendxmpp", cmd);
    p.feed(b"hello from sendxmpp".to_vec());
    let done = p.finish();
    assert_eq!(
        done.code(),
        0,
        "sendxmpp: {}{}",
        done.stderr,
        done.stdout_text()
    );
    bob.wait_stdout("alice → bob: hello from sendxmpp");
    let mut server = server;
    let auth = server.wait_chat("auth", "alice");
    assert!(
        auth["text"].as_str().is_some_and(|t| t.contains("PLAIN")),
        "{auth}"
    );
    assert_eq!(bob.quit().code(), 0);
}

/// Regression: the server handled a whole read before encoding what its
/// frames produced, so offline messages released by `<presence/>` met a
/// stream already closed by the `</stream:stream>` that followed in the
/// same read — deleted from the database, never written.
#[test]
fn offline_messages_reach_a_client_that_quits_right_after_logging_in() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    alice_to_bob(&server, "before you go", &[]);
    // Typed before the login ends: presence and the closing tag leave together.
    let mut bob = Client::start(server.port, "bob@localhost", server.data(), &[]);
    bob.line("/quit");
    let done = bob.proc.finish();
    assert_eq!(done.code(), 0, "{}", done.stderr);
    assert!(
        done.stdout_text().contains("alice → bob: before you go"),
        "lost: {}",
        done.stdout_text()
    );
}

/// Regression: JSON can carry U+001B, XML 1.0 cannot; the server wrote it
/// raw into the XMPP recipient's stream, which then broke (not-well-formed)
/// and lost the message.
#[test]
fn a_control_character_from_a_json_user_does_not_break_an_xmpp_stream() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut bob = Client::login(server.port, "bob@localhost", server.data(), &[]);
    alice_to_bob(&server, "esc\u{1b}[2Jhi", &["--proto", "json"]);
    bob.wait_stdout("alice → bob: esc\u{fffd}[2Jhi\n");
    // And bob's own line with a control character is refused before it is sent.
    bob.line("/to alice");
    bob.line("bell\u{7}");
    bob.wait_chat("notice", "U+0007");
    let done = bob.quit();
    assert_eq!(done.code(), 0, "the stream survived: {}", done.stderr);
}

#[test]
fn a_message_is_shown_escaped_on_a_terminal_and_exact_in_a_pipe() {
    util::require("script");
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let json = ["--proto", "json"];
    // JSON carries control characters (XML cannot): an offline message for bob.
    let send = || alice_to_bob(&server, "\u{1b}]0;pwned\u{7}hi", &json);
    send();
    let cache = tempfile::tempdir().expect("tempdir");
    let chat = format!(
        "{} -q --color never chat bob@localhost --proto json --server 127.0.0.1:{} --password-file {} --data-dir {}",
        util::bin(),
        server.port,
        server.data().join(".pw-bob").display(),
        cache.path().display()
    );
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-q", "-e", "-c", &chat, "/dev/null"]);
    let mut terminal = util::Proc::spawn("script", cmd);
    terminal.wait_stdout(b"alice \xe2\x86\x92 bob: ");
    terminal.write(b"/quit\n");
    let shown = terminal.finish().stdout;
    let text = String::from_utf8_lossy(&shown);
    assert!(
        !shown.contains(&0x1b),
        "a raw ESC reached the terminal: {text:?}"
    );
    assert!(
        text.contains("alice → bob: \\x1b]0;pwned\\x07hi"),
        "{text:?}"
    );
    // In a pipe the bytes are exact.
    send();
    let piped = Client::start(server.port, "bob@localhost", server.data(), &json);
    piped.wait_stdout("alice → bob: \u{1b}]0;pwned\u{7}hi\n");
    assert_eq!(piped.quit().code(), 0);
}

#[test]
fn quiet_leaves_the_conversation_and_its_news_on_stdout() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    alice_to_bob(&server, "quiet please", &[]);
    // A friend request waits for bob too: with -q it must still reach him.
    let mut alice = Client::login(server.port, "alice@localhost", server.data(), &[]);
    alice.line("/add bob");
    alice.wait_chat("roster", "bob@localhost subscription=none, waiting");
    let cache = tempfile::tempdir().expect("tempdir");
    let mut cmd = std::process::Command::new(util::bin());
    cmd.args([
        "-q",
        "--color",
        "never",
        "chat",
        "bob@localhost",
        "--server",
    ])
    .arg(format!("127.0.0.1:{}", server.port))
    .arg("--password-file")
    .arg(server.data().join(".pw-bob"))
    .arg("--data-dir")
    .arg(cache.path());
    let mut bob = util::Proc::spawn("socklab -q chat bob", cmd);
    bob.wait_stdout(b"alice \xe2\x86\x92 bob: quiet please\n");
    bob.wait_stdout(b"alice wants to be your friend");
    // A line with nobody to go to is news too: the person must learn why.
    bob.write(b"lost words\n");
    bob.wait_stdout(b"who is this for?");
    bob.write(b"/accept alice\n");
    alice.wait_chat("subscription", "bob accepted");
    alice.wait_chat("subscribe", "/accept bob");
    alice.line("/accept bob");
    bob.wait_stdout(b"alice accepted");
    bob.wait_stdout(b"alice is online");
    bob.write(b"/quit\n");
    let done = bob.finish();
    assert_eq!(done.code(), 0);
    assert_eq!(done.stderr, "", "no narration with -q");
    let out = done.stdout_text();
    assert!(out.starts_with("online as bob@localhost/"), "{out}");
    for step in ["write()", "<stream", "SASL", "sync", "roster push"] {
        assert!(
            !out.contains(step),
            "protocol detail {step:?} on stdout: {out}"
        );
    }
    assert_eq!(alice.quit().code(), 0);
}

#[test]
fn chat_without_an_account_or_with_an_empty_message_is_a_usage_error() {
    for (args, words) in [
        (&["chat"][..], "socklab chat alice@localhost"),
        (&["chat", "localhost"][..], "has no user name"),
        (
            &["chat", "send", "alice@localhost", "bob", " "][..],
            "the message is empty",
        ),
        (&["chat", "alice@localhost", "--server", "0"][..], "port 0"),
    ] {
        let done = util::run("socklab chat", util::socklab(args));
        assert_eq!(done.code(), 2, "{args:?}: {}", done.stderr);
        assert!(done.stderr.contains(words), "{args:?}: {}", done.stderr);
    }
}
