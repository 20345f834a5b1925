//! Attachments between chat clients, the tutorial's way: the sender asks
//! for a slot, PUTs the file over HTTP, sends the link (XEP-0066); the
//! receiver downloads it into its attachments folder. With socklab's client
//! on both ends (XMPP and JSON), with slixmpp on either end, with curl;
//! exact to the byte (SHA-256); names from the wire never choose the path;
//! a body shorter or longer than its Content-Length leaves no file; a link
//! to another host is not fetched; memory stays bounded for a 64 MiB file.

mod util;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use util::chat::{ChatServer, Client, JsonClient, Xmpp, chat_send};
use util::{peak_memory, random_bytes, sha256};

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write");
    p.to_str().expect("utf-8").to_string()
}

/// Where bob's client saves attachments (beside its cache database).
fn attachments(c: &Client, user: &str) -> PathBuf {
    c.cache
        .path()
        .join(format!("client/attachments/{user}@localhost"))
}

/// The names in a folder (none if it does not exist).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn text(e: &Value) -> String {
    e["text"].as_str().unwrap_or_default().to_string()
}

/// alice sends a ~5 MB file to bob, both socklab clients on `proto`.
fn client_to_client(proto: &str) {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let extra = ["--proto", proto];
    let mut alice = Client::login(server.port, "alice@localhost", server.data(), &extra);
    let mut bob = Client::login(server.port, "bob@localhost", server.data(), &extra);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = random_bytes(5_000_000, 11);
    let path = write(dir.path(), "photo.bin", &data);
    alice.line("/to bob");
    alice.line(&format!("/send {path}"));
    let slot = alice.wait_chat("upload_slot", "PUT it to http://");
    assert!(text(&slot).contains("/files/"), "{slot}");
    alice.wait_chat("upload", "201 Created, 5000000 bytes");
    alice.wait_chat("attachment_sent", "photo.bin");
    bob.wait_chat("download", "200 OK, Content-Length 5000000");
    let saved = bob.wait_chat("attachment_saved", "photo.bin");
    let want = attachments(&bob, "bob").join("photo.bin");
    let want = std::fs::canonicalize(&want).expect("saved file");
    assert!(
        text(&saved).contains(want.to_str().expect("utf-8")),
        "{saved}"
    );
    assert!(text(&saved).contains(&sha256(&data)), "{saved}");
    assert_eq!(sha256(&std::fs::read(&want).expect("read")), sha256(&data));
    bob.line("/attachments");
    bob.wait_stdout("1. from alice  \"photo.bin\"  5000000 bytes");
    bob.line("/open 1");
    bob.wait_stdout("to open it: xdg-open '");
    alice.line("/attachments");
    alice.wait_stdout("1. to bob  \"photo.bin\"  5000000 bytes");
    assert_eq!(bob.quit().code(), 0);
    assert_eq!(alice.quit().code(), 0);
}

#[test]
fn socklab_clients_send_a_file_exact_to_the_byte_over_xmpp() {
    client_to_client("xmpp");
}

#[test]
fn socklab_clients_send_a_file_exact_to_the_byte_over_json() {
    client_to_client("json");
}

/// A slot over JSON, filled with curl: the GET URL.
fn uploaded(c: &mut JsonClient, path: &str, size: usize) -> String {
    c.send(json!({"type": "upload", "name": "x.bin", "size": size}));
    let v = c.wait(|v| v["type"] == "slot" || v["type"] == "error");
    let put = v["put"].as_str().expect("put").to_string();
    util::curl(&["-s", "-f", "-T", path, &put]);
    v["get"].as_str().expect("get").to_string()
}

#[test]
fn a_name_from_the_wire_lands_safely_inside_the_attachments_folder() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut bob = Client::login(server.port, "bob@localhost", server.data(), &[]);
    let mut alice = JsonClient::login(server.port, "alice");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = random_bytes(1000, 3);
    let path = write(dir.path(), "rc", &data);
    let get = uploaded(&mut alice, &path, data.len());
    // The server ignores the name after the id: the sender picks it freely.
    let (base, _) = get.rsplit_once('/').expect("a name");
    // The same name twice: the second is numbered, the first kept.
    for name in [
        "..%2F..%2F.bashrc",
        "..%2F..%2F.bashrc",
        "%2Fetc%2Fpasswd",
        "..",
        "a%07b%0A",
    ] {
        let url = format!("{base}/{name}");
        alice.send(json!({"type": "message", "to": "bob", "body": url, "url": url}));
    }
    bob.proc.wait_until("5 saved", |evs| {
        evs.iter()
            .filter(|e| e["action"] == "attachment_saved")
            .count()
            == 5
    });
    let folder = attachments(&bob, "bob");
    assert_eq!(
        names(&folder),
        ["a_b_", "bashrc", "bashrc (2)", "file", "passwd"].map(String::from)
    );
    for n in names(&folder) {
        assert_eq!(
            sha256(&std::fs::read(folder.join(n)).expect("read")),
            sha256(&data)
        );
    }
    assert!(!bob.cache.path().join(".bashrc").exists());
    assert!(!bob.cache.path().join("client/.bashrc").exists());
    let saved = bob.wait_chat("attachment_saved", "../../.bashrc");
    assert!(
        text(&saved).contains("/attachments/bob@localhost/bashrc "),
        "{saved}"
    );
    bob.quit();
}

/// What the fake file servers below share: a listener on an OS-chosen
/// loopback port (printed first), each connection on a thread of its own
/// once `serve_each(serve)` runs, and `read_head(c)` for the request.
const PRELUDE: &str = r#"
import socket, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
def read_head(c):
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d: break
        req += d
    return req
def serve_each(serve):
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

/// One of the fake file servers: [`PRELUDE`], then its own `serve`.
fn fake_file_server(name: &str, serve: &str) -> (util::Proc, u16) {
    util::python_server(name, &format!("{PRELUDE}{serve}\nserve_each(serve)\n"), &[])
}

/// An HTTP server that lies about its bodies: `/short` promises 1000 bytes
/// and sends 500, `/long` promises 1000 and sends 1500; both then close.
const LIAR: &str = r#"
def serve(c):
    req = read_head(c)
    n = 500 if b"/short" in req else 1500
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * n)
    c.close()
"#;

#[test]
fn a_body_shorter_or_longer_than_promised_leaves_no_file() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut bob = Client::login(server.port, "bob@localhost", server.data(), &[]);
    let mut alice = JsonClient::login(server.port, "alice");
    let (liar, port) = fake_file_server("liar", LIAR);
    for (path, words) in [
        ("short", "stopped after 500 bytes of the 1000 promised"),
        (
            "long",
            "more than the 1000 bytes its Content-Length promised",
        ),
    ] {
        let url = format!("http://127.0.0.1:{port}/{path}/file.bin");
        alice.send(json!({"type": "message", "to": "bob", "body": url, "url": url}));
        let e = bob.wait_chat("attachment_error", words);
        assert!(text(&e).contains("nothing was saved"), "{e}");
    }
    // Nothing listening: refused, in words.
    let closed = util::free_tcp_port();
    let url = format!("http://127.0.0.1:{closed}/files/x/gone.bin");
    alice.send(json!({"type": "message", "to": "bob", "body": url, "url": url}));
    bob.wait_chat("attachment_error", "nothing listens there");
    assert!(
        names(&attachments(&bob, "bob")).is_empty(),
        "no file, not even a .part"
    );
    assert_eq!(
        bob.proc
            .seen
            .iter()
            .filter(|e| e["action"] == "attachment_saved")
            .count(),
        0
    );
    bob.quit();
    liar.kill();
}

#[test]
fn a_link_to_another_host_is_shown_not_fetched() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut bob = Client::login(server.port, "bob@localhost", server.data(), &[]);
    let mut alice = JsonClient::login(server.port, "alice");
    for url in [
        "http://192.0.2.7:5280/files/x/a.bin",
        "http://example.com/a.bin",
    ] {
        alice.send(json!({"type": "message", "to": "bob", "body": url, "url": url}));
        let e = bob.wait_chat("download", &format!("not fetched: {url}"));
        assert!(text(&e).contains("not the chat server's"), "{e}");
        bob.wait_stdout(&format!("not fetched: {url}"));
    }
    let done = bob.quit();
    let connects: Vec<&Value> = done
        .events
        .iter()
        .filter(|e| e["step"] == "connect")
        .collect();
    assert_eq!(connects.len(), 1, "only the chat connection: {connects:?}");
}

#[test]
fn slixmpp_sends_a_file_and_the_socklab_client_downloads_it() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut bob = Client::login(server.port, "bob@localhost", server.data(), &[]);
    let mut alice = Xmpp::login(server.port, "alice@localhost/laptop", None);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = random_bytes(700_000, 5);
    let path = write(dir.path(), "voice.ogg", &data);
    alice.cmd(json!({"cmd": "upload", "path": path, "content_type": "audio/ogg"}));
    let up = alice.wait("the upload", |e| {
        e["step"] == "uploaded" || e["step"] == "upload_error"
    });
    let url = up["url"].as_str().expect("url").to_string();
    alice.cmd(json!({"cmd": "send", "to": "bob@localhost", "body": url, "url": url}));
    bob.wait_chat("attachment_saved", "voice.ogg");
    let got = std::fs::read(attachments(&bob, "bob").join("voice.ogg")).expect("saved");
    assert_eq!(sha256(&got), sha256(&data));
    bob.quit();
    alice.quit();
}

#[test]
fn chat_send_file_reaches_slixmpp_and_curl_gets_the_same_bytes() {
    let server = ChatServer::start(&["alice", "bob"], &["--max-file-size", "1MiB"]);
    let mut bob = Xmpp::login(server.port, "bob@localhost/phone", None);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = random_bytes(300_000, 9);
    let path = write(dir.path(), "doc.pdf", &data);
    let done = chat_send(
        server.port,
        server.data(),
        "alice@localhost",
        "bob",
        &[],
        &["--file", &path],
    );
    assert_eq!(done.code(), 0, "{}", done.stderr);
    assert!(done.events.iter().any(|e| e["action"] == "attachment_sent"));
    let m = bob.wait("the link", |e| {
        e["step"] == "message" && e["url"].is_string()
    });
    let url = m["url"].as_str().expect("url");
    assert_eq!(m["body"], url, "the body is the link (XEP-0363 §6)");
    let out = dir.path().join("got");
    util::curl(&["-s", "-f", "-o", out.to_str().expect("utf-8"), url]);
    assert_eq!(
        sha256(&std::fs::read(&out).expect("curl's file")),
        sha256(&data)
    );
    // Too large: the server's limit, in words, and exit 1.
    let big = write(dir.path(), "big.bin", &random_bytes(2 << 20, 1));
    let done = chat_send(
        server.port,
        server.data(),
        "alice@localhost",
        "bob",
        &[],
        &["--file", &big],
    );
    assert_eq!(done.code(), 1, "{}", done.stderr);
    assert!(done.stderr.contains("(1.0 MiB) at most"), "{}", done.stderr);
    // A server without a file service: said, exit 1.
    let bare = ChatServer::start(&["alice", "bob"], &["--no-files"]);
    let done = chat_send(
        bare.port,
        bare.data(),
        "alice@localhost",
        "bob",
        &[],
        &["--file", &path],
    );
    assert_eq!(done.code(), 1, "{}", done.stderr);
    assert!(
        done.stderr.contains("the server has no file service"),
        "{}",
        done.stderr
    );
    // No such file: a usage error before any connection.
    let missing = dir.path().join("nope.bin");
    let done = chat_send(
        server.port,
        server.data(),
        "alice@localhost",
        "bob",
        &[],
        &["--file", missing.to_str().expect("utf-8")],
    );
    assert_eq!(done.code(), 2, "{}", done.stderr);
    assert!(
        done.stderr.contains("nope.bin") && done.stderr.contains("check the path"),
        "{}",
        done.stderr
    );
    bob.quit();
}

#[test]
fn a_64_mib_attachment_keeps_both_clients_memory_bounded() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut alice = Client::login(server.port, "alice@localhost", server.data(), &["-q"]);
    let bob = Client::login(server.port, "bob@localhost", server.data(), &["-q"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let size = 64 << 20;
    let data = random_bytes(size, 64);
    let path = write(dir.path(), "big.bin", &data);
    alice.line("/to bob");
    alice.line(&format!("/send {path}"));
    // 64 MiB through two debug builds and a server narrating every read:
    // more time than a message needs, still bounded.
    bob.proc
        .wait_stdout_within(b"saved alice's attachment \"big.bin\"", 4 * util::DEADLINE);
    let (up, down) = (peak_memory(alice.proc.pid()), peak_memory(bob.proc.pid()));
    eprintln!(
        "peak RSS: sender {} KiB, receiver {} KiB, file {} KiB",
        up >> 10,
        down >> 10,
        size >> 10
    );
    assert!(
        up < size / 2 && down < size / 2,
        "sender {up}, receiver {down} bytes at peak for a {size}-byte file"
    );
    let got = std::fs::read(attachments(&bob, "bob").join("big.bin")).expect("saved");
    assert_eq!(sha256(&got), sha256(&data));
    bob.quit();
    alice.quit();
}

/// A server that promises 10 GiB (`/big`), or sends without end and no
/// Content-Length (`/endless`): a disk-filler.
const FLOOD: &str = r#"
def serve(c):
    req = read_head(c)
    head = b"Content-Length: 10737418240\r\n" if b"/big" in req else b"Connection: close\r\n"
    try:
        c.sendall(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n")
        while True:
            c.sendall(b"\0" * 65536)
    except OSError:
        c.close()
"#;

#[test]
fn a_download_over_max_download_is_refused_before_it_fills_the_disk() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut bob = Client::login(
        server.port,
        "bob@localhost",
        server.data(),
        &["--max-download", "64k"],
    );
    let mut alice = JsonClient::login(server.port, "alice");
    let (flood, port) = fake_file_server("flood", FLOOD);
    for (path, words) in [
        ("big", "the file is 10737418240 bytes or more"),
        ("endless", "over this client's --max-download of 65536"),
    ] {
        let url = format!("http://127.0.0.1:{port}/{path}/file.bin");
        alice.send(json!({"type": "message", "to": "bob", "body": url, "url": url}));
        let e = bob.wait_chat("attachment_error", words);
        assert!(text(&e).contains("nothing was saved"), "{e}");
    }
    assert!(
        names(&attachments(&bob, "bob")).is_empty(),
        "no file, not even a .part"
    );
    bob.quit();
    flood.kill();
}

/// Answers each GET after 300 ms with a 2-byte body, and prints the most
/// connections it has seen open at once after each answer.
const SLOW: &str = r#"
lock = threading.Lock()
now = [0]; most = [0]
def serve(c):
    with lock:
        now[0] += 1; most[0] = max(most[0], now[0])
    read_head(c)
    time.sleep(0.3)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    c.close()
    with lock:
        now[0] -= 1
        print("most", most[0], flush=True)
"#;

#[test]
fn a_flood_of_links_opens_a_few_connections_at_a_time() {
    let server = ChatServer::start(&["alice", "bob"], &[]);
    let mut bob = Client::login(server.port, "bob@localhost", server.data(), &[]);
    let mut alice = JsonClient::login(server.port, "alice");
    let (slow, port) = fake_file_server("slow", SLOW);
    const LINKS: usize = 12;
    for i in 0..LINKS {
        let url = format!("http://127.0.0.1:{port}/files/{i}/f{i}.bin");
        alice.send(json!({"type": "message", "to": "bob", "body": url, "url": url}));
    }
    for i in 0..LINKS {
        bob.wait_chat("attachment_saved", &format!("\"f{i}.bin\""));
    }
    let out = slow.stdout_now();
    let most: usize = out
        .lines()
        .filter_map(|l| l.strip_prefix("most "))
        .filter_map(|n| n.parse().ok())
        .max()
        .expect("the server's counts");
    assert!(
        (2..=4).contains(&most),
        "{most} downloads at once (4 at most, and more than one)"
    );
    bob.quit();
    slow.kill();
}
