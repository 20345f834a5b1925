//! The message archive's SQL (XEP-0313 Message Archive Management): what
//! was said, kept per user so that any device can fetch the history, page by
//! page, and a client can sync its local cache with only what it lacks.

use rusqlite::params;

use super::Store;
use crate::chat::jid::Jid;
use crate::chat::model::{Message, MessageKind};

/// One archived message, as one user's archive holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Archived {
    /// Orders the user's archive; the id clients page and sync with.
    pub id: i64,
    pub with: Jid,
    pub outgoing: bool,
    pub message: Message,
    /// The message's extension elements, as XML.
    pub extra: String,
}

/// What a query asks for (XEP-0313 §4.1, paged by XEP-0059).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub with: Option<Jid>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Only messages after (or before) this archive id.
    pub after: Option<i64>,
    pub before: Option<i64>,
    /// `before` with no id: the last page.
    pub last_page: bool,
    pub max: usize,
}

/// A page of results, oldest first, and whether it reaches the end.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub items: Vec<Archived>,
    pub complete: bool,
    /// How many messages match the query in all.
    pub count: u64,
}

impl Store {
    /// Archives a routed message for `owner` (its sender or its recipient).
    pub fn archive(
        &self,
        owner: &str,
        m: &Message,
        outgoing: bool,
        extra: &str,
        now_ms: i64,
    ) -> anyhow::Result<i64> {
        let with = if outgoing {
            m.to.to_bare()
        } else {
            m.from.to_bare()
        };
        self.writing()?;
        self.db
            .prepare_cached(
                "INSERT INTO archive (owner, with_jid, direction, sender, recipient, kind, stanza_id, body, extra, stamp_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                owner,
                with.to_string(),
                if outgoing { "out" } else { "in" },
                m.from.to_string(),
                m.to.to_string(),
                m.kind.name(),
                m.id,
                m.body,
                extra,
                m.delay.as_ref().map_or(now_ms, |d| d.stamp_ms),
            ])?;
        Ok(self.db.last_insert_rowid())
    }

    /// One page of `owner`'s archive.
    pub fn query_archive(&self, owner: &str, q: &Query) -> anyhow::Result<Page> {
        let mut filter = String::from("owner = ?1");
        let mut args: Vec<rusqlite::types::Value> = vec![owner.to_string().into()];
        let mut arg = |cond: &str, v: rusqlite::types::Value, filter: &mut String| {
            args.push(v);
            filter.push_str(&format!(" AND {cond} ?{}", args.len()));
        };
        if let Some(w) = &q.with {
            arg("with_jid =", w.to_bare().to_string().into(), &mut filter);
        }
        if let Some(s) = q.start_ms {
            arg("stamp_ms >=", s.into(), &mut filter);
        }
        if let Some(e) = q.end_ms {
            arg("stamp_ms <=", e.into(), &mut filter);
        }
        let count: i64 = self.db.query_row(
            &format!("SELECT count(*) FROM archive WHERE {filter}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let mut paged = filter.clone();
        let mut page_args = args.clone();
        if let Some(a) = q.after {
            page_args.push(a.into());
            paged.push_str(&format!(" AND id > ?{}", page_args.len()));
        }
        if let Some(b) = q.before {
            page_args.push(b.into());
            paged.push_str(&format!(" AND id < ?{}", page_args.len()));
        }
        // Backwards (a `before` page) reads the newest first, then flips.
        let backwards = q.before.is_some() || q.last_page;
        let order = if backwards { "DESC" } else { "ASC" };
        let max = q.max.max(1);
        let sql = format!(
            "SELECT id, with_jid, direction, sender, recipient, kind, stanza_id, body, extra, stamp_ms
             FROM archive WHERE {paged} ORDER BY id {order} LIMIT {}",
            max + 1
        );
        let mut stmt = self.db.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(page_args.iter()), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, i64>(9)?,
            ))
        })?;
        let mut items = Vec::new();
        for row in rows {
            let (id, with, dir, sender, recipient, kind, stanza_id, body, extra, stamp_ms) = row?;
            let (Ok(with), Ok(from), Ok(to)) = (
                Jid::parse(&with),
                Jid::parse(&sender),
                Jid::parse(&recipient),
            ) else {
                continue;
            };
            items.push(Archived {
                id,
                with,
                outgoing: dir == "out",
                message: Message {
                    from,
                    to,
                    kind: MessageKind::parse(Some(&kind)),
                    id: stanza_id,
                    body,
                    subject: None,
                    thread: None,
                    delay: Some(crate::chat::model::Delay {
                        stamp_ms,
                        from: self.domain.clone(),
                        reason: String::new(),
                    }),
                    extra: Vec::new(),
                    archive_id: Some(id),
                },
                extra,
            });
        }
        let more = items.len() > max;
        items.truncate(max);
        if backwards {
            items.reverse();
        }
        Ok(Page {
            items,
            complete: !more,
            count: count as u64,
        })
    }

    /// Deletes archived messages older than `before_ms` (all users, or one).
    pub fn purge_archive(&self, owner: Option<&str>, before_ms: i64) -> anyhow::Result<u64> {
        self.writing()?;
        let n = match owner {
            Some(o) => self.db.execute(
                "DELETE FROM archive WHERE owner = ?1 AND stamp_ms < ?2",
                params![o, before_ms],
            )?,
            None => self.db.execute(
                "DELETE FROM archive WHERE stamp_ms < ?1",
                params![before_ms],
            )?,
        };
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::sasl::{Credentials, Secret};

    fn store_with(n: usize) -> Store {
        let s = Store::memory("localhost").expect("db");
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
                from: Jid::full(from, "localhost", "r"),
                to: Jid::bare(to, "localhost"),
                kind: MessageKind::Chat,
                id: Some(format!("m{i}")),
                body: Some(format!("message {i}")),
                subject: None,
                thread: None,
                delay: None,
                archive_id: None,
                extra: Vec::new(),
            };
            s.archive("alice", &m, from == "alice", "", 1000 + i as i64)
                .expect("archive");
        }
        let m = Message {
            from: Jid::full("carol", "localhost", "r"),
            to: Jid::bare("alice", "localhost"),
            kind: MessageKind::Chat,
            id: None,
            body: Some("from carol".into()),
            subject: None,
            thread: None,
            delay: None,
            archive_id: None,
            extra: Vec::new(),
        };
        s.archive("alice", &m, false, "", 5000).expect("archive");
        s
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
}
