//! The chat server's memory: one SQLite database, one narrow API.
//!
//! Every SQL statement the server runs is in this file (the schema is in
//! `schema.sql`, readable with `sqlite3`); the rest of the chat code calls
//! methods and never sees SQL. SQLite runs in WAL mode with
//! `synchronous = NORMAL`: a committed transaction survives the process
//! being killed (`kill -9`) because it is already in the write-ahead log
//! the kernel holds; only a power cut could lose the last commits.
//!
//! The database is opened by one process at a time for writing; SQLite's
//! own locking makes a second server (or `socklab chat adduser` while one
//! runs) wait briefly rather than corrupt anything.

mod archive;
mod counts;
mod uploads;

pub use archive::{Archived, Page, Query};
pub use uploads::Upload;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use super::jid::Jid;
use super::model::{Delay, Message, MessageKind, RosterItem, Subscription};
use super::sasl::{Credentials, ScramKeys};

const SCHEMA: &str = include_str!("schema.sql");

/// An account, as `socklab chat users` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    pub name: String,
    pub created_ms: i64,
    pub contacts: u64,
    pub offline: u64,
}

/// A message waiting for its recipient, with its database id.
#[derive(Clone, Debug, PartialEq)]
pub struct Offline {
    pub id: i64,
    pub message: Message,
}

pub struct Store {
    db: Connection,
    domain: String,
    /// Writes join one transaction until [`Store::commit`] (the server's
    /// group commit); otherwise each statement commits on its own.
    batch: bool,
    in_tx: std::cell::Cell<bool>,
    /// Archive counts already taken (see `counts.rs`).
    counts: counts::Counts,
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path, domain: &str) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        }
        let db = Connection::open(path)
            .with_context(|| format!("cannot open the chat database {}", path.display()))?;
        Store::setup(db, domain)
            .with_context(|| format!("cannot use the chat database {}", path.display()))
    }

    /// A database in memory, for tests.
    pub fn memory(domain: &str) -> anyhow::Result<Store> {
        Store::setup(Connection::open_in_memory()?, domain)
    }

    fn setup(db: Connection, domain: &str) -> anyhow::Result<Store> {
        db.busy_timeout(Duration::from_secs(5))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = db.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > 1 {
            anyhow::bail!(
                "the database was written by a newer socklab (schema version {version}); use that version, or another --data-dir"
            );
        }
        db.execute_batch(SCHEMA)?;
        Ok(Store {
            db,
            domain: domain.to_string(),
            batch: false,
            in_tx: std::cell::Cell::new(false),
            counts: counts::Counts::default(),
        })
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// From now on, writes are gathered into one transaction per
    /// [`Store::commit`]: many messages, one commit.
    pub fn batch_writes(&mut self) {
        self.batch = true;
    }

    /// Opens the batch's transaction before a write, if it is not open.
    fn writing(&self) -> anyhow::Result<()> {
        if self.batch && !self.in_tx.get() {
            self.db.execute_batch("BEGIN")?;
            self.in_tx.set(true);
        }
        Ok(())
    }

    /// Commits what the batch wrote. After this returns, the writes survive
    /// the process being killed.
    pub fn commit(&self) -> anyhow::Result<()> {
        if self.in_tx.replace(false) {
            self.db.execute_batch("COMMIT")?;
        }
        Ok(())
    }

    // ---- accounts ---------------------------------------------------------

    /// Creates an account; false if the name is taken.
    pub fn add_user(&self, name: &str, keys: &Credentials, now_ms: i64) -> anyhow::Result<bool> {
        self.writing()?;
        let n = self.db.execute(
            "INSERT OR IGNORE INTO users (name, salt, iterations, sha1_stored_key, sha1_server_key,
                 sha256_stored_key, sha256_server_key, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                name,
                keys.salt,
                keys.iterations,
                keys.sha1.stored_key,
                keys.sha1.server_key,
                keys.sha256.stored_key,
                keys.sha256.server_key,
                now_ms
            ],
        )?;
        Ok(n == 1)
    }

    /// Replaces an account's keys (a new password); false if there is no such account.
    pub fn set_keys(&self, name: &str, keys: &Credentials) -> anyhow::Result<bool> {
        self.writing()?;
        let n = self.db.execute(
            "UPDATE users SET salt = ?2, iterations = ?3, sha1_stored_key = ?4, sha1_server_key = ?5,
                 sha256_stored_key = ?6, sha256_server_key = ?7 WHERE name = ?1",
            params![
                name,
                keys.salt,
                keys.iterations,
                keys.sha1.stored_key,
                keys.sha1.server_key,
                keys.sha256.stored_key,
                keys.sha256.server_key
            ],
        )?;
        Ok(n == 1)
    }

    /// Deletes an account with its roster and offline messages, and removes
    /// it from everyone else's roster; false if there was none.
    pub fn delete_user(&mut self, name: &str) -> anyhow::Result<bool> {
        self.writing()?;
        let n = self
            .db
            .execute("DELETE FROM users WHERE name = ?1", [name])?;
        let bare = format!("{name}@{}", self.domain);
        self.db
            .execute("DELETE FROM roster WHERE contact = ?1", [&bare])?;
        Ok(n == 1)
    }

    pub fn user_exists(&self, name: &str) -> anyhow::Result<bool> {
        Ok(self
            .db
            .prepare_cached("SELECT 1 FROM users WHERE name = ?1")?
            .exists([name])?)
    }

    pub fn keys(&self, name: &str) -> anyhow::Result<Option<Credentials>> {
        Ok(self
            .db
            .prepare_cached(
                "SELECT salt, iterations, sha1_stored_key, sha1_server_key, sha256_stored_key,
                        sha256_server_key FROM users WHERE name = ?1",
            )?
            .query_row([name], |r| {
                Ok(Credentials {
                    salt: r.get(0)?,
                    iterations: r.get(1)?,
                    sha1: ScramKeys {
                        stored_key: r.get(2)?,
                        server_key: r.get(3)?,
                    },
                    sha256: ScramKeys {
                        stored_key: r.get(4)?,
                        server_key: r.get(5)?,
                    },
                })
            })
            .optional()?)
    }

    pub fn users(&self) -> anyhow::Result<Vec<UserRow>> {
        let mut stmt = self.db.prepare(
            "SELECT name, created_ms,
                    (SELECT count(*) FROM roster r WHERE r.owner = u.name AND r.in_roster = 1),
                    (SELECT count(*) FROM offline o WHERE o.owner = u.name)
             FROM users u ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(UserRow {
                name: r.get(0)?,
                created_ms: r.get(1)?,
                contacts: r.get::<_, i64>(2)? as u64,
                offline: r.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- rosters ----------------------------------------------------------

    /// The owner's roster: the items shown to clients (no bare pending requests).
    pub fn roster(&self, owner: &str) -> anyhow::Result<Vec<RosterItem>> {
        self.items(owner, "AND in_roster = 1")
    }

    /// Requests to see the owner's presence that the owner has not answered.
    pub fn pending_in(&self, owner: &str) -> anyhow::Result<Vec<RosterItem>> {
        self.items(owner, "AND ask_in = 1")
    }

    fn items(&self, owner: &str, filter: &str) -> anyhow::Result<Vec<RosterItem>> {
        let sql = format!(
            "SELECT contact, name, subscription, ask_out, ask_in, in_roster, groups
             FROM roster WHERE owner = ?1 {filter} ORDER BY contact"
        );
        let mut stmt = self.db.prepare_cached(&sql)?;
        let rows = stmt.query_map([owner], row_item)?;
        Ok(rows.filter_map(Result::ok).flatten().collect())
    }

    /// One relationship, roster item or pending request.
    pub fn item(&self, owner: &str, contact: &Jid) -> anyhow::Result<Option<RosterItem>> {
        Ok(self
            .db
            .prepare_cached(
                "SELECT contact, name, subscription, ask_out, ask_in, in_roster, groups
                 FROM roster WHERE owner = ?1 AND contact = ?2",
            )?
            .query_row(params![owner, contact.to_string()], row_item)
            .optional()?
            .flatten())
    }

    /// Writes an item (insert or replace). An item that says nothing any
    /// more (not in the roster, no request) is deleted instead.
    pub fn put_item(&self, owner: &str, item: &RosterItem) -> anyhow::Result<()> {
        if !item.in_roster && !item.ask_in {
            return self.remove_item(owner, &item.contact);
        }
        let groups = serde_json::to_string(&item.groups)?;
        self.writing()?;
        self.db
            .prepare_cached(
                "INSERT OR REPLACE INTO roster
                     (owner, contact, name, subscription, ask_out, ask_in, in_roster, groups)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                owner,
                item.contact.to_string(),
                item.name,
                item.subscription.name(),
                item.ask_out,
                item.ask_in,
                item.in_roster,
                groups
            ])?;
        Ok(())
    }

    pub fn remove_item(&self, owner: &str, contact: &Jid) -> anyhow::Result<()> {
        self.writing()?;
        self.db
            .prepare_cached("DELETE FROM roster WHERE owner = ?1 AND contact = ?2")?
            .execute(params![owner, contact.to_string()])?;
        Ok(())
    }

    // ---- offline messages -------------------------------------------------

    /// Stores a message for an offline user; returns its number. It is
    /// committed before this returns, with whatever the batch held: the
    /// server reads no further stanza before the message is safe.
    pub fn store_offline(&self, owner: &str, m: &Message, extra_xml: &str) -> anyhow::Result<i64> {
        self.writing()?;
        let stamp = m.delay.as_ref().map_or_else(now_ms, |d| d.stamp_ms);
        self.db
            .prepare_cached(
                "INSERT INTO offline (owner, sender, kind, stanza_id, body, subject, thread, extra, stamp_ms, archive_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                owner,
                m.from.to_string(),
                m.kind.name(),
                m.id,
                m.body,
                m.subject,
                m.thread,
                extra_xml,
                stamp,
                m.archive_id
            ])?;
        let id = self.db.last_insert_rowid();
        self.commit()?;
        Ok(id)
    }

    /// The owner's waiting messages, oldest first, with the XML of their
    /// extensions (parsed by the caller).
    pub fn offline(&self, owner: &str) -> anyhow::Result<Vec<(Offline, String)>> {
        let mut stmt = self.db.prepare_cached(
            "SELECT id, sender, kind, stanza_id, body, subject, thread, extra, stamp_ms, archive_id
             FROM offline WHERE owner = ?1 ORDER BY id",
        )?;
        let owner_jid = Jid::bare(owner, &self.domain);
        let domain = self.domain.clone();
        let rows = stmt.query_map([owner], |r| {
            let sender: String = r.get(1)?;
            let kind: String = r.get(2)?;
            Ok((
                r.get::<_, i64>(0)?,
                sender,
                kind,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, Option<i64>>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, sender, kind, stanza_id, body, subject, thread, extra, stamp_ms, archive_id) =
                row?;
            // A row that no longer parses (edited by hand) is skipped, not fatal.
            let Ok(from) = Jid::parse(&sender) else {
                continue;
            };
            let message = Message {
                from,
                to: owner_jid.clone(),
                kind: MessageKind::parse(Some(&kind)),
                id: stanza_id,
                body,
                subject,
                thread,
                delay: Some(Delay {
                    stamp_ms,
                    from: domain.clone(),
                    reason: "Offline storage".into(),
                }),
                extra: Vec::new(),
                archive_id,
            };
            out.push((Offline { id, message }, extra));
        }
        Ok(out)
    }

    /// Forgets delivered offline messages.
    pub fn delete_offline(&self, ids: &[i64]) -> anyhow::Result<()> {
        self.writing()?;
        let mut stmt = self
            .db
            .prepare_cached("DELETE FROM offline WHERE id = ?1")?;
        for id in ids {
            stmt.execute([id])?;
        }
        Ok(())
    }

    pub fn offline_count(&self, owner: &str) -> anyhow::Result<u64> {
        let n: i64 = self.db.query_row(
            "SELECT count(*) FROM offline WHERE owner = ?1",
            [owner],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}

/// A roster row; `None` if the stored contact no longer parses as a JID.
fn row_item(r: &rusqlite::Row) -> rusqlite::Result<Option<RosterItem>> {
    let contact: String = r.get(0)?;
    let Ok(contact) = Jid::parse(&contact) else {
        return Ok(None);
    };
    let groups: String = r.get(6)?;
    Ok(Some(RosterItem {
        contact,
        name: r.get(1)?,
        subscription: Subscription::parse(&r.get::<_, String>(2)?),
        ask_out: r.get(3)?,
        ask_in: r.get(4)?,
        in_roster: r.get(5)?,
        groups: serde_json::from_str(&groups).unwrap_or_default(),
    }))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Credentials {
        let k = ScramKeys {
            stored_key: vec![1; 20],
            server_key: vec![2; 20],
        };
        Credentials {
            salt: vec![3; 16],
            iterations: 4096,
            sha1: k.clone(),
            sha256: k,
        }
    }

    #[test]
    fn accounts_are_created_once_and_deleted_with_their_data() {
        let mut s = Store::memory("localhost").expect("db");
        assert!(s.add_user("alice", &keys(), 1).expect("add"));
        assert!(!s.add_user("alice", &keys(), 2).expect("add"), "taken");
        assert!(s.add_user("bob", &keys(), 1).expect("add"));
        let bob = Jid::bare("bob", "localhost");
        s.put_item("alice", &RosterItem::new(bob.clone()))
            .expect("put");
        let alice = Jid::bare("alice", "localhost");
        s.put_item("bob", &RosterItem::new(alice)).expect("put");
        assert_eq!(s.keys("alice").expect("keys"), Some(keys()));
        assert!(s.delete_user("alice").expect("delete"));
        assert_eq!(s.keys("alice").expect("keys"), None);
        assert!(s.roster("alice").expect("roster").is_empty());
        assert!(
            s.roster("bob").expect("roster").is_empty(),
            "gone from bob's roster too"
        );
    }

    #[test]
    fn roster_items_round_trip_and_pending_requests_stay_hidden() {
        let s = Store::memory("localhost").expect("db");
        s.add_user("alice", &keys(), 1).expect("add");
        let mut item = RosterItem::new(Jid::bare("bob", "localhost"));
        item.name = Some("Bob".into());
        item.subscription = Subscription::To;
        item.groups = vec!["Friends".into()];
        s.put_item("alice", &item).expect("put");
        let mut request = RosterItem::new(Jid::bare("carol", "localhost"));
        request.in_roster = false;
        request.ask_in = true;
        s.put_item("alice", &request).expect("put");
        assert_eq!(s.roster("alice").expect("roster"), [item]);
        assert_eq!(s.pending_in("alice").expect("pending"), [request.clone()]);
        request.ask_in = false;
        s.put_item("alice", &request).expect("put");
        assert!(s.pending_in("alice").expect("pending").is_empty());
    }

    #[test]
    fn offline_messages_keep_order_and_time() {
        let s = Store::memory("localhost").expect("db");
        s.add_user("bob", &keys(), 1).expect("add");
        for body in ["one", "two"] {
            let m = Message {
                from: Jid::full("alice", "localhost", "laptop"),
                to: Jid::bare("bob", "localhost"),
                kind: MessageKind::Chat,
                id: Some(format!("id-{body}")),
                body: Some(body.into()),
                subject: None,
                thread: None,
                delay: None,
                archive_id: None,
                extra: Vec::new(),
            };
            s.store_offline("bob", &m, "").expect("store");
        }
        let got = s.offline("bob").expect("offline");
        let bodies: Vec<_> = got.iter().map(|(o, _)| o.message.body.clone()).collect();
        assert_eq!(bodies, [Some("one".into()), Some("two".into())]);
        assert!(got[0].0.message.delay.is_some());
        s.delete_offline(&[got[0].0.id]).expect("delete");
        assert_eq!(s.offline_count("bob").expect("count"), 1);
    }
}
