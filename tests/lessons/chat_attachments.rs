//! The attachments lesson (lessons/25-chat-attachments.md): bob and alice
//! in `socklab chat`, alice's `/send` (a slot over XMPP, a PUT to the file
//! service, the link in a message), bob's client saving the file, and the
//! learner's `sha256sum` of it, really run on loopback. Each likely mistake
//! is a session of its own, and the check must name it: a file sent before
//! the predictions, a file that is not there, one over the server's limit,
//! bob offline, a hash that is not the saved file's (or only a piece of it),
//! a server with no file service.

use std::path::{Path, PathBuf};

use super::chat::say;
use super::*;
use util::chat::{ChatServer, wait_chat};

const ID: &str = "25-chat-attachments";

fn number() -> usize {
    catalog::by_id(ID)
        .unwrap_or_else(|| panic!("lessons/{ID}.md is not in lessons/manifest.txt"))
        .number
}

/// The learner's desk: the clients' data directory and the photo to send.
struct Desk {
    dir: tempfile::TempDir,
}

/// The photo's size: above the 100k limit of the near-miss server.
const PHOTO: usize = 300_000;

impl Desk {
    fn new() -> Desk {
        let d = Desk {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::write(d.photo(), util::random_bytes(PHOTO, 25)).expect("write the photo");
        d
    }

    fn photo(&self) -> PathBuf {
        self.dir.path().join("photo.jpg")
    }

    fn caches(&self) -> &Path {
        self.dir.path()
    }

    /// Where bob's client saves the photo: its attachments folder beside its
    /// database.
    fn saved(&self) -> PathBuf {
        self.caches()
            .join("client/attachments/bob@localhost/photo.jpg")
    }
}

/// `sha256sum FILE`'s hex, as the learner runs it.
fn sha256sum(file: &Path) -> String {
    let out = peer("sha256sum", &[])
        .arg(file)
        .output()
        .expect("sha256sum");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.split_whitespace().next().expect("a hash").to_string()
}

/// Both predictions, as a learner who has not read the reveal would make them.
fn predict(lab: &Lab) {
    lab.answer("connections", "2");
    lab.answer("port", "5222");
}

/// alice, logged in, sends the photo to bob with `/send`.
fn send_photo(alice: &mut Proc, desk: &Desk) {
    say(alice, "/to bob");
    say(alice, &format!("/send {}", desk.photo().display()));
    wait_chat(alice, "attachment_sent", "sha256");
}

/// A chat server (with `extra` flags), the desk, and bob then alice in
/// `socklab chat`, both online.
fn both_online(lab: &Lab, extra: &[&str]) -> (ChatServer, Desk, Proc, Proc) {
    let server = lab.chat_server(extra);
    let desk = Desk::new();
    let bob = lab.chat_client(&server, "bob", desk.caches());
    let alice = lab.chat_client(&server, "alice", desk.caches());
    (server, desk, bob, alice)
}

#[test]
fn lesson_25_attachments_three_conversations() {
    let lab = Lab::new(number());
    lab.assert_stuck_at(1, "socklab chat serve");
    let mut server = lab.chat_server(&[]);
    let files_port = server
        .files_url()
        .rsplit(':')
        .next()
        .expect("port")
        .to_string();
    lab.assert_stuck_at(2, "socklab lesson answer connections N");
    let desk = Desk::new();
    let mut bob = lab.chat_client(&server, "bob", desk.caches());
    let mut alice = lab.chat_client(&server, "alice", desk.caches());
    lab.answer("connections", "2");
    lab.assert_stuck_at(3, "socklab lesson answer port N");
    lab.answer("port", "5222");
    lab.assert_stuck_at(4, "`/send /tmp/photo.jpg`");
    send_photo(&mut alice, &desk);
    wait_chat(&mut bob, "attachment_saved", "sha256");
    lab.assert_stuck_at(10, "socklab lesson answer sha256 HEX");
    let hex = sha256sum(&desk.saved());
    assert_eq!(hex, sha256sum(&desk.photo()), "the saved file is the photo");
    // A hash copied in capitals (PowerShell's Get-FileHash prints them) is
    // the same hash.
    lab.answer("sha256", &hex.to_uppercase());
    lab.assert_passes_reporting(&format!(
        "You predicted \"5222\"; the log shows \"{files_port}\""
    ));
    lab.assert_passes_reporting("You predicted \"2\"; the answer is \"1\"");
    say(&mut alice, "/quit");
    say(&mut bob, "/quit");
    alice.finish();
    bob.finish();
    lab.assert_no_secret_logged();
}

#[test]
fn lesson_25_a_file_sent_before_the_predictions() {
    let lab = Lab::new(number());
    let (_server, desk, _bob, mut alice) = both_online(&lab, &[]);
    send_photo(&mut alice, &desk);
    lab.assert_stuck_at(2, "A file was sent before you predicted");
    // Predicting afterwards does not make that upload count: send again.
    predict(&lab);
    lab.assert_stuck_at(4, "`/send /tmp/photo.jpg`");
}

#[test]
fn lesson_25_a_file_that_is_not_there_and_one_over_the_limit() {
    let lab = Lab::new(number());
    let (_server, desk, _bob, mut alice) = both_online(&lab, &["--max-file-size", "100k"]);
    predict(&lab);
    say(&mut alice, "/to bob");
    let missing = desk.dir.path().join("nothing.jpg");
    say(&mut alice, &format!("/send {}", missing.display()));
    wait_chat(&mut alice, "attachment_error", "cannot send");
    lab.assert_stuck_at(4, "alice's client asked for no slot");
    say(&mut alice, &format!("/send {}", desk.photo().display()));
    wait_chat(&mut alice, "attachment_error", "--max-file-size");
    lab.assert_stuck_at(4, "A slot is refused before a byte of the file moves");
}

#[test]
fn lesson_25_bob_offline_then_back() {
    let lab = Lab::new(number());
    let mut server = lab.chat_server(&[]);
    let desk = Desk::new();
    let mut alice = lab.chat_client(&server, "alice", desk.caches());
    predict(&lab);
    send_photo(&mut alice, &desk);
    server.wait_chat("offline_store", "alice");
    lab.assert_stuck_at(7, "bob was offline");
    // Then what? He logs in, the message arrives, his client fetches it.
    let mut bob = lab.chat_client(&server, "bob", desk.caches());
    wait_chat(&mut bob, "attachment_saved", "sha256");
    lab.answer("sha256", &sha256sum(&desk.saved()));
    lab.assert_passes();
}

#[test]
fn lesson_25_a_hash_that_is_not_the_saved_files() {
    let lab = Lab::new(number());
    let (_server, desk, mut bob, mut alice) = both_online(&lab, &[]);
    predict(&lab);
    send_photo(&mut alice, &desk);
    wait_chat(&mut bob, "attachment_saved", "sha256");
    let hex = sha256sum(&desk.saved());
    // Another file's hash (the learner hashed the wrong one).
    let other = desk.dir.path().join("other.jpg");
    std::fs::write(&other, b"not the photo").expect("write");
    lab.answer("sha256", &sha256sum(&other));
    lab.assert_stuck_at(11, "is not the SHA-256 bob's client computed");
    // The first twelve digits only.
    lab.answer("sha256", &hex[..12]);
    lab.assert_stuck_at(11, "is a piece of the SHA-256");
    lab.answer("sha256", &hex);
    lab.assert_passes();
}

#[test]
fn lesson_25_a_server_without_its_file_service() {
    let lab = Lab::new(number());
    let _server = ChatServer::start_in(&["alice", "bob"], &["--no-files"], Some(lab.dir.path()));
    lab.assert_stuck_at(1, "it was started with --no-files");
}

/// `socklab connect --proto json` to the chat server, logged in as `user`:
/// the page's "By hand".
fn by_hand(lab: &Lab, server: &mut ChatServer, user: &str) -> Proc {
    let port = server.port.to_string();
    let mut c = lab.spawn(&["connect", "--proto", "json", "127.0.0.1", &port]);
    let login =
        serde_json::json!({"type": "login", "user": user, "password": util::chat::PASSWORD});
    c.write(format!("{login}\n").as_bytes());
    c.wait_stdout(b"\"logged_in\"");
    c
}

/// Asks for a slot by hand (`size` bytes for photo.jpg); its PUT and GET
/// URLs, from the frame the client read.
fn slot_by_hand(alice: &mut Proc, size: usize) -> (String, String) {
    let slots = |evs: &[serde_json::Value]| -> Vec<serde_json::Value> {
        evs.iter()
            .filter(|e| e["step"] == "frame")
            .filter_map(|e| serde_json::from_str(e["text"].as_str()?).ok())
            .filter(|v: &serde_json::Value| v["type"] == "slot")
            .collect()
    };
    let asked = slots(&alice.seen).len();
    let line = serde_json::json!({"type": "upload", "name": "photo.jpg", "size": size});
    alice.write(format!("{line}\n").as_bytes());
    alice.wait_until("a slot", |evs| slots(evs).len() > asked);
    let s = &slots(&alice.seen)[asked];
    let url = |k: &str| s[k].as_str().expect("a URL").to_string();
    (url("put"), url("get"))
}

/// `curl -T FILE PUT-URL`: the status code.
fn curl_put(file: &Path, url: &str) -> String {
    let out = peer(
        "curl",
        &["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T"],
    )
    .arg(file)
    .arg(url)
    .output()
    .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn lesson_25_by_hand_a_wrong_size_then_a_link_bob_saves() {
    // The page's "By hand": a slot for 1000 bytes, the 300000-byte photo
    // PUT into it (413), then the right size, the link in a message, and
    // bob's client saving it. The hash is right, but alice's client sent
    // nothing: the check wants the three conversations from the client.
    let lab = Lab::new(number());
    let mut server = lab.chat_server(&[]);
    let desk = Desk::new();
    let mut bob = lab.chat_client(&server, "bob", desk.caches());
    predict(&lab);
    let mut alice = by_hand(&lab, &mut server, "alice");
    let (put, _) = slot_by_hand(&mut alice, 1000);
    assert_eq!(curl_put(&desk.photo(), &put), "413");
    lab.assert_stuck_at(5, "The file service refused a request: 413");
    let (put, get) = slot_by_hand(&mut alice, PHOTO);
    assert_eq!(curl_put(&desk.photo(), &put), "201");
    let link = serde_json::json!({"to": "bob", "body": "a photo", "url": get});
    alice.write(format!("{link}\n").as_bytes());
    wait_chat(&mut bob, "attachment_saved", "sha256");
    lab.answer("sha256", &sha256sum(&desk.saved()));
    lab.assert_stuck_at(12, "alice's client sent none with it");
    alice.close_stdin();
    alice.finish();
}

#[test]
fn lesson_25_bob_by_hand_downloads_with_curl() {
    // bob reads the link in `connect --proto json` and fetches it with
    // curl: the GET counts, but no client saved the file.
    let lab = Lab::new(number());
    let mut server = lab.chat_server(&[]);
    let desk = Desk::new();
    let mut bob = by_hand(&lab, &mut server, "bob");
    let mut alice = lab.chat_client(&server, "alice", desk.caches());
    predict(&lab);
    send_photo(&mut alice, &desk);
    bob.wait_stdout(b"\"url\"");
    lab.assert_stuck_at(8, "bob's client has not asked for the file");
    let got = desk.dir.path().join("copy.jpg");
    let url = bob
        .stdout_now()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["url"].as_str().map(String::from))
        .expect("the message's url");
    let out = peer("curl", &["-sS", "-o"])
        .arg(&got)
        .arg(&url)
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sha256sum(&got),
        sha256sum(&desk.photo()),
        "curl got the photo"
    );
    lab.assert_stuck_at(9, "bob's client did not save the file");
    bob.close_stdin();
    bob.finish();
}
