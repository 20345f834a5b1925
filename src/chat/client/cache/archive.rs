//! What the archive sync writes in the cache: the messages of a page from
//! the server's archive (XEP-0313), each stored once, and how far the sync
//! got.
//!
//! Each message from the archive is, in this order:
//! - **already here**: a row has its archive id (the sync brought it
//!   before, or it arrived live with its XEP-0359 stanza-id);
//! - **matched**: a row without an archive id is the same message — one
//!   this device sent (the server tells the sender no id), or received
//!   before its id was known — found by peer, direction, body and stanza
//!   id (or, with no stanza id, the nearest time within a day); it gets the
//!   archive id, so the next sync finds it by id;
//! - **new**: stored.
//!
//! The archive's time wins: a message already here takes the archive's
//! stamp (the server's clock, when it routed the message), so that every
//! device orders the history the same way, and a message received live
//! (stamped on arrival, perhaps seconds late) sorts among those the sync
//! brought.
//!
//! A page and the cursor after it are one transaction: a sync cut short
//! (the server killed, the laptop closed) resumes after the last page it
//! stored, and a page stored twice changes nothing. That is what makes
//! the sync idempotent.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Cache, Record, insert};

/// Where the cursor is kept in the `sync` table.
const CURSOR: &str = "archive";
/// How far apart the stamps of one message without a stanza id may be,
/// here and in the archive (clocks of two machines disagree).
const NEAR_MS: i64 = 24 * 3600 * 1000;

/// What merging a page did, message by message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    pub new: usize,
    /// Rows that were this message without knowing it: they have its id now.
    pub matched: usize,
    pub already: usize,
}

impl Merged {
    pub fn add(&mut self, other: Merged) {
        self.new += other.new;
        self.matched += other.matched;
        self.already += other.already;
    }

    pub fn total(&self) -> usize {
        self.new + self.matched + self.already
    }
}

impl Cache {
    /// The archive id the last sync stopped at; `None` before any sync.
    pub fn cursor(&self) -> anyhow::Result<Option<String>> {
        Ok(self
            .db
            .query_row("SELECT value FROM sync WHERE name = ?1", [CURSOR], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Stores a page of the archive (each record with its archive id) and
    /// moves the cursor to `last`, in one transaction.
    pub fn merge_page(&mut self, page: &[Record], last: Option<&str>) -> anyhow::Result<Merged> {
        let tx = self.db.transaction()?;
        let mut merged = Merged::default();
        for r in page {
            merge(&tx, r, &mut merged)?;
        }
        if let Some(last) = last {
            tx.execute(
                "INSERT INTO sync (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = ?2",
                params![CURSOR, last],
            )?;
        }
        tx.commit()?;
        Ok(merged)
    }

    /// Forgets the cursor: the next sync starts from the archive's start.
    pub fn forget_cursor(&self) -> anyhow::Result<()> {
        self.db
            .execute("DELETE FROM sync WHERE name = ?1", [CURSOR])?;
        Ok(())
    }
}

fn merge(db: &Connection, r: &Record, merged: &mut Merged) -> anyhow::Result<()> {
    let known: Option<i64> = db
        .prepare_cached("SELECT id FROM messages WHERE archive_id = ?1")?
        .query_row([&r.archive_id], |row| row.get(0))
        .optional()?;
    if let Some(row) = known {
        db.prepare_cached("UPDATE messages SET stamp_ms = ?2 WHERE id = ?1")?
            .execute(params![row, r.stamp_ms])?;
        merged.already += 1;
        return Ok(());
    }
    let peer = r.peer.to_bare().to_string();
    let same: Option<i64> = db
        .prepare_cached(
            "SELECT id FROM messages
             WHERE archive_id IS NULL AND peer = ?1 AND direction = ?2 AND body = ?3
               AND stanza_id IS ?4 AND (?4 IS NOT NULL OR abs(stamp_ms - ?5) <= ?6)
             ORDER BY abs(stamp_ms - ?5), id LIMIT 1",
        )?
        .query_row(
            params![
                peer,
                r.direction.name(),
                r.body,
                r.stanza_id,
                r.stamp_ms,
                NEAR_MS
            ],
            |row| row.get(0),
        )
        .optional()?;
    match same {
        Some(row) => {
            db.prepare_cached("UPDATE messages SET archive_id = ?2, stamp_ms = ?3 WHERE id = ?1")?
                .execute(params![row, r.archive_id, r.stamp_ms])?;
            merged.matched += 1;
        }
        None => {
            insert(db, r)?;
            merged.new += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Direction, Stored};
    use super::*;
    use crate::chat::jid::Jid;

    fn record(direction: Direction, body: &str, stanza: Option<&str>, stamp_ms: i64) -> Record {
        Record {
            peer: Jid::bare("bob", "localhost"),
            direction,
            body: body.into(),
            stamp_ms,
            stanza_id: stanza.map(str::to_string),
            archive_id: None,
            error: None,
        }
    }

    fn archived(r: Record, id: &str) -> Record {
        Record {
            archive_id: Some(id.into()),
            ..r
        }
    }

    fn bodies(cache: &Cache) -> Vec<(String, Option<String>)> {
        let bob = Jid::bare("bob", "localhost");
        let h = cache.history(&bob, 100).expect("history");
        h.into_iter().map(|r| (r.body, r.archive_id)).collect()
    }

    #[test]
    fn a_page_fills_in_what_is_here_stores_what_is_not_and_twice_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cache = Cache::open(dir.path(), &Jid::bare("alice", "localhost")).expect("open");
        // Sent from this device (no archive id), and received live with one.
        cache
            .add(&record(Direction::Out, "hi", Some("m1-x"), 1000))
            .expect("add");
        // Stamped on arrival, later than the archive's stamp (1001).
        let live = archived(record(Direction::In, "hello", Some("b7"), 5000), "2");
        assert!(matches!(cache.add(&live).expect("add"), Stored::New(_)));
        assert!(matches!(cache.add(&live).expect("add"), Stored::Already(_)));
        // No stanza id at all: found by body and time.
        cache
            .add(&record(Direction::In, "ok", None, 1002))
            .expect("add");
        assert_eq!(cache.cursor().expect("cursor"), None);
        let page = [
            archived(record(Direction::Out, "hi", Some("m1-x"), 1000), "1"),
            archived(record(Direction::In, "hello", Some("b7"), 1001), "2"),
            archived(record(Direction::In, "ok", None, 1003), "3"),
            archived(
                record(Direction::Out, "from my phone", Some("p1"), 1004),
                "4",
            ),
        ];
        let merged = cache.merge_page(&page, Some("4")).expect("merge");
        assert_eq!(
            merged,
            Merged {
                new: 1,
                matched: 2,
                already: 1
            }
        );
        assert_eq!(cache.cursor().expect("cursor").as_deref(), Some("4"));
        let want: Vec<(String, Option<String>)> = [
            ("hi", "1"),
            ("hello", "2"),
            ("ok", "3"),
            ("from my phone", "4"),
        ]
        .iter()
        .map(|(b, id)| (b.to_string(), Some(id.to_string())))
        .collect();
        assert_eq!(bodies(&cache), want, "in the archive's order");
        let again = cache.merge_page(&page, Some("4")).expect("merge");
        assert_eq!(again.already, 4);
        assert_eq!(bodies(&cache), want, "a page stored twice changes nothing");
    }

    #[test]
    fn matching_needs_the_same_body_and_the_same_direction() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cache = Cache::open(dir.path(), &Jid::bare("alice", "localhost")).expect("open");
        cache
            .add(&record(Direction::Out, "hi", Some("m1"), 1000))
            .expect("add");
        cache
            .add(&record(Direction::In, "ok", None, 1000))
            .expect("add");
        let page = [
            // A stanza id used again (another client, another day).
            archived(record(Direction::Out, "bye", Some("m1"), 9000), "1"),
            archived(record(Direction::Out, "ok", None, 1000), "2"),
            // The same words a week later are another message.
            archived(record(Direction::In, "ok", None, 1000 + 7 * NEAR_MS), "3"),
        ];
        let merged = cache.merge_page(&page, None).expect("merge");
        assert_eq!(merged.new, 3, "{merged:?}");
        assert_eq!(bodies(&cache).len(), 5);
        assert_eq!(cache.cursor().expect("cursor"), None, "no last, no move");
    }
}
