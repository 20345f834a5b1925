//! The archive's tests: pages in both directions, filters, exact counts,
//! stamps that never go backwards, and the query plans that keep a page's
//! cost independent of the history's length.

use super::*;
use crate::chat::sasl::{Credentials, Secret};

fn store_with(n: usize) -> Store {
    let s = Store::memory("localhost").expect("db");
    fill(&s, n);
    s
}

fn fill(s: &Store, n: usize) {
    let creds = Credentials::from_salt(&Secret::new("x"), b"salt", 1000).expect("creds");
    for u in ["alice", "bob", "carol"] {
        s.add_user(u, &creds, 0).expect("add");
    }
    for i in 0..n {
        let (from, to) = if i % 2 == 0 {
            ("alice", "bob")
        } else {
            ("bob", "alice")
        };
        let m = Message {
            id: Some(format!("m{i}")),
            ..chat(from, to, &format!("message {i}"))
        };
        s.archive("alice", &m, from == "alice", "", 1000 + i as i64)
            .expect("archive");
    }
    let m = chat("carol", "alice", "from carol");
    s.archive("alice", &m, false, "", 5000).expect("archive");
}

fn chat(from: &str, to: &str, body: &str) -> Message {
    Message {
        from: Jid::full(from, "localhost", "r"),
        to: Jid::bare(to, "localhost"),
        kind: MessageKind::Chat,
        id: None,
        body: Some(body.into()),
        subject: None,
        thread: None,
        delay: None,
        archive_id: None,
        extra: Vec::new(),
    }
}

fn bodies(p: &Page) -> Vec<String> {
    p.items
        .iter()
        .filter_map(|a| a.message.body.clone())
        .collect()
}

#[test]
fn pages_go_forwards_and_backwards_and_filter_by_contact_and_time() {
    let s = store_with(7);
    let bob = Jid::bare("bob", "localhost");
    let q = Query {
        with: Some(bob.clone()),
        max: 3,
        ..Query::default()
    };
    let p1 = s.query_archive("alice", &q).expect("page");
    assert_eq!(bodies(&p1), ["message 0", "message 1", "message 2"]);
    assert!(!p1.complete);
    assert_eq!(p1.count, 7);
    let p2 = s
        .query_archive(
            "alice",
            &Query {
                after: Some(p1.items[2].id),
                ..q.clone()
            },
        )
        .expect("page");
    assert_eq!(bodies(&p2), ["message 3", "message 4", "message 5"]);
    let last = s
        .query_archive(
            "alice",
            &Query {
                last_page: true,
                ..q.clone()
            },
        )
        .expect("page");
    assert_eq!(bodies(&last), ["message 4", "message 5", "message 6"]);
    let before = s
        .query_archive(
            "alice",
            &Query {
                before: Some(last.items[0].id),
                ..q.clone()
            },
        )
        .expect("page");
    assert_eq!(bodies(&before), ["message 1", "message 2", "message 3"]);
    let timed = Query {
        start_ms: Some(1002),
        end_ms: Some(1003),
        max: 10,
        ..Query::default()
    };
    assert_eq!(
        bodies(&s.query_archive("alice", &timed).expect("page")),
        ["message 2", "message 3"]
    );
    let all = s
        .query_archive(
            "alice",
            &Query {
                max: 100,
                ..Query::default()
            },
        )
        .expect("page");
    assert_eq!(all.items.len(), 8);
    assert!(all.complete);
    assert_eq!(s.purge_archive(Some("alice"), 1004).expect("purge"), 4);
}

#[test]
fn every_page_reads_an_index_in_order_never_a_sort() {
    // The plan is what makes a page cost the same in a history of ten
    // messages or of a million: read an index from a point, in order,
    // and stop after the page. A "TEMP B-TREE" would mean sorting every
    // matching row first.
    let s = store_with(7);
    for with in [Some("bob@localhost"), None] {
        for (lo, after, before) in [
            (None, None, None),
            (Some(2), Some(3), None),
            (None, None, Some(5)),
        ] {
            let (filter, args) = Filter::new("alice", with)
                .and("id >=", lo)
                .and("id >", after)
                .and("id <", before)
                .done();
            let sql = format!(
                "EXPLAIN QUERY PLAN {}",
                page_sql(&filter, before.is_some(), 50)
            );
            let mut stmt = s.db.prepare(&sql).expect("explain");
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(&args), |r| r.get::<_, String>(3))
                .expect("plan")
                .map(|r| r.expect("row"))
                .collect();
            let plan = plan.join("; ");
            assert!(!plan.contains("TEMP B-TREE"), "{filter}: {plan}");
            assert!(
                plan.contains("archive_by_with") || plan.contains("archive_by_owner"),
                "{filter}: {plan}"
            );
        }
    }
}

#[test]
fn counts_stay_exact_as_messages_come_and_go() {
    let s = store_with(7);
    let bob = Query {
        with: Some(Jid::bare("bob", "localhost")),
        max: 2,
        ..Query::default()
    };
    let everyone = Query {
        max: 2,
        ..Query::default()
    };
    assert_eq!(s.query_archive("alice", &bob).expect("q").count, 7);
    assert_eq!(s.query_archive("alice", &everyone).expect("q").count, 8);
    s.archive("alice", &chat("bob", "alice", "one more"), false, "", 6000)
        .expect("archive");
    s.archive("bob", &chat("bob", "alice", "one more"), true, "", 6000)
        .expect("archive");
    assert_eq!(s.query_archive("alice", &bob).expect("q").count, 8);
    assert_eq!(s.query_archive("alice", &everyone).expect("q").count, 9);
    assert_eq!(s.query_archive("bob", &everyone).expect("q").count, 1);
    s.purge_archive(Some("alice"), 1003).expect("purge");
    assert_eq!(s.query_archive("alice", &bob).expect("q").count, 5);
}

#[test]
fn stamps_never_go_backwards_so_time_ranges_are_exact() {
    let s = store_with(4);
    // A clock stepped back: the message takes the newest stamp (5000,
    // carol's), not 10.
    let id = s
        .archive("alice", &chat("bob", "alice", "late"), false, "", 10)
        .expect("archive");
    let range = |start, end| Query {
        start_ms: start,
        end_ms: end,
        max: 50,
        ..Query::default()
    };
    let at_5000 = s
        .query_archive("alice", &range(Some(5000), None))
        .expect("q");
    assert_eq!(bodies(&at_5000), ["from carol", "late"]);
    assert_eq!(at_5000.items[1].id, id);
    assert_eq!(at_5000.count, 2);
    let early = s
        .query_archive("alice", &range(Some(1001), Some(1002)))
        .expect("q");
    assert_eq!(bodies(&early), ["message 1", "message 2"]);
    assert_eq!(early.count, 2);
    let none = s
        .query_archive("alice", &range(Some(9000), None))
        .expect("q");
    assert!(none.items.is_empty() && none.complete && none.count == 0);
    let before_all = s.query_archive("alice", &range(None, Some(5))).expect("q");
    assert!(before_all.items.is_empty());
}

#[test]
fn a_purge_by_another_process_is_seen_in_the_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("server.db");
    let mut server = Store::open(&path, "localhost").expect("open");
    let creds = Credentials::from_salt(&Secret::new("x"), b"salt", 1000).expect("creds");
    for u in ["alice", "bob", "carol"] {
        server.add_user(u, &creds, 0).expect("add");
    }
    server.batch_writes();
    fill(&server, 5);
    server.commit().expect("commit");
    let q = Query {
        max: 1,
        ..Query::default()
    };
    assert_eq!(server.query_archive("alice", &q).expect("q").count, 6);
    let purge = Store::open(&path, "localhost").expect("open");
    assert_eq!(purge.purge_archive(Some("alice"), 1002).expect("purge"), 2);
    assert_eq!(server.query_archive("alice", &q).expect("q").count, 4);
}
