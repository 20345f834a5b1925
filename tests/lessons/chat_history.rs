//! The chat history lesson (lessons/26-chat-history.md): bob's laptop
//! talks, alice writes while bob is away, his phone syncs from the archive,
//! the server stops and the phone's database still answers.
//!
//! The lesson's number is its place in lessons/manifest.txt; until the
//! manifest lists it, it is not compiled in, and these tests say so and
//! check nothing.

use std::path::Path;

use super::*;

const ID: &str = "26-chat-history";

/// The lesson's number, if the manifest lists it.
fn number() -> Option<usize> {
    let n = catalog::by_id(ID).map(|l| l.number);
    if n.is_none() {
        eprintln!("lessons/{ID}.md is not in lessons/manifest.txt yet: not checked");
    }
    n
}

/// One person's files: a password file and data directories.
struct Desk {
    dir: tempfile::TempDir,
}

impl Desk {
    fn new() -> Desk {
        let d = Desk {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::write(d.path("pw"), "correct horse\n").expect("password file");
        d
    }

    fn path(&self, name: &str) -> String {
        self.dir
            .path()
            .join(name)
            .to_str()
            .expect("utf-8")
            .to_string()
    }
}

/// `socklab chat ACCOUNT` against the server on `port`, with its cache in `data`.
fn client(lab: &Lab, desk: &Desk, port: u16, account: &str, data: &str) -> Proc {
    let server = format!("127.0.0.1:{port}");
    let pw = desk.path("pw");
    lab.spawn(&[
        "chat",
        account,
        "--server",
        &server,
        "--password-file",
        &pw,
        "--data-dir",
        data,
    ])
}

fn wait_action(p: &mut Proc, action: &str, needle: &str) {
    util::chat::wait_chat(p, action, needle);
}

/// The lesson's session up to the answer: the server, the laptop, alice's
/// message while bob is away, the phone (with the cache in `phone`), then
/// the server stopped and the phone's history read offline.
fn session(lab: &Lab, desk: &Desk, phone: &str) {
    let data = desk.path("server");
    for user in ["alice", "bob"] {
        let pw = desk.path("pw");
        let added = lab.run(&[
            "chat",
            "adduser",
            user,
            "--password-file",
            &pw,
            "--data-dir",
            &data,
        ]);
        assert_eq!(added.code(), 0, "{}", added.stderr);
    }
    let (mut server, port) = lab.server("chat", &["serve", "--data-dir", &data]);
    server.wait_for("listen");
    let mut laptop = client(lab, desk, port, "bob@localhost", &desk.path("laptop"));
    laptop.write(b"/to alice\nhello from the laptop\n");
    wait_action(&mut laptop, "message_out", "hello from the laptop");
    laptop.write(b"/quit\n");
    laptop.finish();
    let (server_arg, pw, alice) = (
        format!("127.0.0.1:{port}"),
        desk.path("pw"),
        desk.path("alice"),
    );
    let sent = lab.run(&[
        "chat",
        "send",
        "alice@localhost",
        "bob",
        "are you there?",
        "--server",
        &server_arg,
        "--password-file",
        &pw,
        "--data-dir",
        &alice,
    ]);
    assert_eq!(sent.code(), 0, "{}", sent.stderr);
    let mut phone_run = client(lab, desk, port, "bob@localhost", phone);
    wait_action(&mut phone_run, "sync", "synced");
    phone_run.write(b"/quit\n");
    phone_run.finish();
    server.kill();
    let mut offline = client(lab, desk, port, "bob@localhost", phone);
    wait_action(&mut offline, "offline", "");
    offline.write(b"/history alice\n");
    wait_action(&mut offline, "history", "with alice@localhost");
    offline.write(b"/quit\n");
    offline.finish();
}

/// The row of 'are you there?' in a cache: (its row id, its archive id).
fn read_cache(dir: &str) -> (i64, i64) {
    let db = rusqlite::Connection::open(Path::new(dir).join("client/bob@localhost.db"))
        .expect("open the cache");
    db.query_row(
        "SELECT id, archive_id FROM messages WHERE body = 'are you there?'",
        [],
        |r| Ok((r.get(0)?, r.get::<_, String>(1)?)),
    )
    .map(|(row, id)| (row, id.parse().expect("a number")))
    .expect("the message is in the cache")
}

#[test]
fn lesson_26_chat_history() {
    let Some(n) = number() else { return };
    let lab = Lab::new(n);
    lab.assert_stuck_at(1, "socklab chat serve");
    let desk = Desk::new();
    let phone = desk.path("phone");
    session(&lab, &desk, &phone);
    lab.assert_stuck_at(6, "socklab lesson answer archive_id N");
    let (_, archive_id) = read_cache(&phone);
    lab.answer("archive_id", &archive_id.to_string());
    lab.assert_passes();
}

#[test]
fn lesson_26_the_phone_on_the_laptops_cache_or_the_row_id_for_the_archive_id() {
    let Some(n) = number() else { return };
    // One cache for both "devices": the sync finds everything there.
    let lab = Lab::new(n);
    let desk = Desk::new();
    session(&lab, &desk, &desk.path("laptop"));
    lab.assert_stuck_at(3, "a cache of its own");

    // The phone's own row number instead of the archive's.
    let lab = Lab::new(n);
    let desk = Desk::new();
    let phone = desk.path("phone");
    session(&lab, &desk, &phone);
    let (row, archive_id) = read_cache(&phone);
    assert_ne!(row, archive_id, "the session makes them differ");
    lab.answer("archive_id", &row.to_string());
    lab.assert_stuck_at(7, "Read the archive_id column, not the id column");
}
