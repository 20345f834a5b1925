//! The client's local cache of chat records: one SQLite file per account.
//!
//! IM apps keep what was said in a database on the device (the tutorial's
//! point about IM SDKs): the history shows at once, without asking the
//! server, and still shows when the server cannot be reached. This is that
//! database for `socklab chat`. Every SQL statement is in this file and the
//! schema is in `cache.sql`; the rest of the client calls these methods.
//!
//! What "stored" means: a message we send is stored once its bytes have
//! been written to the socket (not when it was typed: a message that never
//! left is not history); a message we receive is stored on arrival, with the
//! time it was sent when the server says (`<delay/>`). Either may carry
//! its id in the server's archive; a message the sync brings that is here
//! already is recognised by that id, so nothing is stored twice.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

mod archive;
mod attachments;

pub use archive::Merged;
pub use attachments::Attachment;

use crate::chat::jid::Jid;
use crate::chat::model::{RosterItem, Subscription};

const SCHEMA: &str = include_str!("cache.sql");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// One message as the cache keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The other person's bare JID.
    pub peer: Jid,
    pub direction: Direction,
    pub body: String,
    /// Milliseconds since the Unix epoch.
    pub stamp_ms: i64,
    pub stanza_id: Option<String>,
    /// Its id in the server's archive (XEP-0313), when known.
    pub archive_id: Option<String>,
    /// Why the server refused it, if it did.
    pub error: Option<String>,
}

/// What storing a message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// A new row, with its number.
    New(i64),
    /// The row with this archive id was here already (the sync brought it).
    Already(i64),
}

pub struct Cache {
    db: Connection,
    path: PathBuf,
}

impl Cache {
    /// Where the cache of `owner` under `dir` is: `dir/client/alice@localhost.db`.
    pub fn location(dir: &Path, owner: &Jid) -> PathBuf {
        dir.join("client").join(format!("{}.db", owner.to_bare()))
    }

    /// Opens (creating if needed) the cache of `owner` under `dir`.
    pub fn open(dir: &Path, owner: &Jid) -> anyhow::Result<Cache> {
        let path = Cache::location(dir, owner);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| {
                format!("cannot create the cache directory {}", parent.display())
            })?;
        }
        let db = Connection::open(&path)
            .with_context(|| format!("cannot open the chat cache {}", path.display()))?;
        Cache::setup(db, path.clone())
            .with_context(|| format!("cannot use the chat cache {}", path.display()))
    }

    fn setup(db: Connection, path: PathBuf) -> anyhow::Result<Cache> {
        // Two clients of one account (a laptop and a script) share the file:
        // SQLite's lock makes the second wait a moment instead of failing.
        db.busy_timeout(Duration::from_secs(5))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        let version: i64 = db.pragma_query_value(None, "user_version", |r| r.get(0))?;
        // Version 2 added the attachments table; CREATE ... IF NOT EXISTS
        // below adds it to a version 1 file, so the upgrade is the schema.
        if version > 2 {
            anyhow::bail!(
                "the cache was written by a newer socklab (schema version {version}); use that version, or another --data-dir"
            );
        }
        db.execute_batch(SCHEMA)?;
        Ok(Cache { db, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores a message, unless its archive id is here already.
    pub fn add(&self, r: &Record) -> anyhow::Result<Stored> {
        if let Some(row) = self.by_archive_id(r.archive_id.as_deref())? {
            return Ok(Stored::Already(row));
        }
        insert(&self.db, r).map(Stored::New)
    }

    /// The row holding this archive id.
    fn by_archive_id(&self, id: Option<&str>) -> anyhow::Result<Option<i64>> {
        let Some(id) = id else { return Ok(None) };
        Ok(self
            .db
            .prepare_cached("SELECT id FROM messages WHERE archive_id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    /// Records the server's refusal of the message we sent with this id;
    /// false if no sent message has it.
    pub fn refused(&self, stanza_id: &str, error: &str) -> anyhow::Result<bool> {
        let n = self.db.execute(
            "UPDATE messages SET error = ?2 WHERE direction = 'out' AND stanza_id = ?1",
            params![stanza_id, error],
        )?;
        Ok(n > 0)
    }

    /// The last `n` messages with `peer`, oldest first.
    pub fn history(&self, peer: &Jid, n: usize) -> anyhow::Result<Vec<Record>> {
        let mut st = self.db.prepare(&format!(
            "SELECT {COLUMNS} FROM messages WHERE peer = ?1 ORDER BY stamp_ms DESC, id DESC LIMIT ?2"
        ))?;
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let rows = st.query_map(params![peer.to_bare().to_string(), limit], record)?;
        let mut out: Vec<Record> = rows
            .filter_map(Result::transpose)
            .collect::<Result<_, _>>()?;
        out.reverse();
        Ok(out)
    }

    /// Every message (with `peer`, if given) sent at or after `since_ms`,
    /// oldest first: `socklab chat history`.
    pub fn records(
        &self,
        peer: Option<&Jid>,
        since_ms: Option<i64>,
    ) -> anyhow::Result<Vec<Record>> {
        let mut st = self.db.prepare(&format!(
            "SELECT {COLUMNS} FROM messages WHERE (?1 IS NULL OR peer = ?1) AND stamp_ms >= ?2
             ORDER BY stamp_ms, id"
        ))?;
        let peer = peer.map(|p| p.to_bare().to_string());
        let rows = st.query_map(params![peer, since_ms.unwrap_or(i64::MIN)], record)?;
        Ok(rows
            .filter_map(Result::transpose)
            .collect::<Result<_, _>>()?)
    }

    /// Replaces the roster snapshot with what the server just sent.
    pub fn set_roster(&mut self, items: &[RosterItem], now_ms: i64) -> anyhow::Result<()> {
        let tx = self.db.transaction()?;
        tx.execute("DELETE FROM roster", [])?;
        for item in items {
            upsert(&tx, item, now_ms)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// One roster change (a push).
    pub fn roster_change(
        &self,
        item: &RosterItem,
        removed: bool,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        if removed {
            self.db.execute(
                "DELETE FROM roster WHERE contact = ?1",
                params![item.contact.to_string()],
            )?;
            return Ok(());
        }
        upsert(&self.db, item, now_ms)
    }

    /// The roster as last seen.
    pub fn roster(&self) -> anyhow::Result<Vec<RosterItem>> {
        let mut st = self
            .db
            .prepare("SELECT contact, name, subscription, ask FROM roster ORDER BY contact")?;
        let rows = st.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, bool>(3)?,
            ))
        })?;
        let mut items = Vec::new();
        for row in rows {
            let (contact, name, subscription, ask) = row?;
            // A row that no longer parses (edited by hand) is skipped, not fatal.
            let Ok(contact) = Jid::parse(&contact) else {
                continue;
            };
            let mut item = RosterItem::new(contact);
            item.name = name;
            item.subscription = Subscription::parse(&subscription);
            item.ask_out = ask;
            items.push(item);
        }
        Ok(items)
    }
}

/// The columns [`record`] reads.
const COLUMNS: &str = "peer, direction, body, stamp_ms, stanza_id, archive_id, error";

/// A row as a [`Record`]; `None` if its peer no longer parses (a row
/// edited by hand is skipped, not fatal).
fn record(row: &rusqlite::Row) -> rusqlite::Result<Option<Record>> {
    let Ok(peer) = Jid::parse(&row.get::<_, String>(0)?) else {
        return Ok(None);
    };
    let direction: String = row.get(1)?;
    Ok(Some(Record {
        peer,
        direction: if direction == "out" {
            Direction::Out
        } else {
            Direction::In
        },
        body: row.get(2)?,
        stamp_ms: row.get(3)?,
        stanza_id: row.get(4)?,
        archive_id: row.get(5)?,
        error: row.get(6)?,
    }))
}

fn insert(db: &Connection, r: &Record) -> anyhow::Result<i64> {
    db.prepare_cached(
        "INSERT INTO messages (peer, direction, body, stamp_ms, stanza_id, archive_id, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        r.peer.to_bare().to_string(),
        r.direction.name(),
        r.body,
        r.stamp_ms,
        r.stanza_id,
        r.archive_id,
        r.error
    ])?;
    Ok(db.last_insert_rowid())
}

fn upsert(db: &Connection, item: &RosterItem, now_ms: i64) -> anyhow::Result<()> {
    db.execute(
        "INSERT INTO roster (contact, name, subscription, ask, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (contact) DO UPDATE SET name = ?2, subscription = ?3, ask = ?4, updated_ms = ?5",
        params![
            item.contact.to_string(),
            item.name,
            item.subscription.name(),
            item.ask_out,
            now_ms
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(peer: &Jid, direction: Direction, body: &str, stamp_ms: i64) -> Record {
        Record {
            peer: peer.clone(),
            direction,
            body: body.into(),
            stamp_ms,
            stanza_id: Some(format!("id-{body}")),
            archive_id: None,
            error: None,
        }
    }

    #[test]
    fn history_is_per_peer_oldest_first_and_keeps_refusals() {
        let dir = tempfile::tempdir().expect("tempdir");
        let alice = Jid::bare("alice", "localhost");
        let bob = Jid::full("bob", "localhost", "phone");
        let carol = Jid::bare("carol", "localhost");
        let cache = Cache::open(dir.path(), &alice).expect("open");
        assert!(cache.path().ends_with("client/alice@localhost.db"));
        cache
            .add(&record(&bob, Direction::Out, "hi", 10))
            .expect("add");
        cache
            .add(&record(&carol, Direction::Out, "x", 11))
            .expect("add");
        cache
            .add(&record(&bob, Direction::In, "hello", 12))
            .expect("add");
        // A delayed message sent earlier sorts by when it was sent.
        cache
            .add(&record(&bob, Direction::In, "early", 5))
            .expect("add");
        assert!(cache.refused("id-hi", "service-unavailable").expect("mark"));
        assert!(!cache.refused("id-nope", "x").expect("mark"));
        let h = cache
            .history(&Jid::bare("bob", "localhost"), 10)
            .expect("history");
        let bodies: Vec<&str> = h.iter().map(|r| r.body.as_str()).collect();
        assert_eq!(bodies, ["early", "hi", "hello"]);
        assert_eq!(h[1].error.as_deref(), Some("service-unavailable"));
        assert_eq!(h[1].peer, Jid::bare("bob", "localhost"));
        let last = cache.history(&bob, 1).expect("history");
        assert_eq!(last[0].body, "hello");
        drop(cache);
        // Reopened: still there.
        let again = Cache::open(dir.path(), &alice).expect("reopen");
        assert_eq!(again.history(&bob, 10).expect("history").len(), 3);
    }

    #[test]
    fn the_roster_snapshot_follows_results_and_pushes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cache = Cache::open(dir.path(), &Jid::bare("alice", "localhost")).expect("open");
        let mut bob = RosterItem::new(Jid::bare("bob", "localhost"));
        bob.subscription = Subscription::Both;
        let carol = RosterItem::new(Jid::bare("carol", "localhost"));
        cache
            .set_roster(&[bob.clone(), carol.clone()], 1)
            .expect("set");
        cache.roster_change(&carol, true, 2).expect("remove");
        let mut dave = RosterItem::new(Jid::bare("dave", "localhost"));
        dave.ask_out = true;
        cache.roster_change(&dave, false, 3).expect("add");
        let items = cache.roster().expect("roster");
        assert_eq!(items, [bob, dave]);
    }
}
