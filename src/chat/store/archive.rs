//! The message archive's SQL (XEP-0313 Message Archive Management): what
//! was said, kept per user so that any device can fetch the history, page by
//! page, and a client can sync its local cache with only what it lacks.

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params};

use super::Store;
use super::counts::CountKey;
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
    ///
    /// Stamps never go backwards in the archive: a message stamped earlier
    /// than the newest one (a clock stepped back) takes the newest stamp.
    /// So time order is id order, and a time range is an id range, found
    /// in the time index instead of read row by row (see [`Store::bounds`]).
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
        let wanted = m.delay.as_ref().map_or(now_ms, |d| d.stamp_ms);
        let newest: Option<i64> = self
            .db
            .prepare_cached("SELECT stamp_ms FROM archive ORDER BY id DESC LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?;
        let stamp = newest.map_or(wanted, |n| n.max(wanted));
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
                stamp,
            ])?;
        self.counts.added(owner, &with.to_string(), stamp);
        Ok(self.db.last_insert_rowid())
    }

    /// One page of `owner`'s archive. Every statement here reads an index
    /// range no longer than the page (the count aside, which is cached):
    /// the cost does not grow with the history.
    pub fn query_archive(&self, owner: &str, q: &Query) -> anyhow::Result<Page> {
        self.counts.forget_if_changed(&self.db)?;
        let Some((lo, hi)) = self.bounds(owner, q)? else {
            return Ok(Page {
                items: Vec::new(),
                complete: true,
                count: 0,
            });
        };
        let with = q.with.as_ref().map(|w| w.to_bare().to_string());
        let (filter, args) = Filter::new(owner, with.as_deref())
            .and("id >=", lo)
            .and("id <=", hi)
            .done();
        let count = self.count(owner, q, &filter, &args)?;
        let (filter, args) = Filter { filter, args }
            .and("id >", q.after)
            .and("id <", q.before)
            .done();
        // Backwards (a `before` page) reads the newest first, then flips.
        let backwards = q.before.is_some() || q.last_page;
        let max = q.max.max(1);
        let mut stmt = self.db.prepare_cached(&page_sql(&filter, backwards, max))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(&args), row)?;
        let mut items = Vec::new();
        for r in rows {
            // A row that no longer parses (edited by hand) is skipped, not fatal.
            if let Some(a) = self.archived(r?) {
                items.push(a);
            }
        }
        let more = items.len() > max;
        items.truncate(max);
        if backwards {
            items.reverse();
        }
        Ok(Page {
            items,
            complete: !more,
            count,
        })
    }

    /// The ids a query's time range covers, as (first, last); `None` for
    /// no bound; the outer `None` when no message is in the range. Stamps
    /// never go backwards (see [`Store::archive`]), so "from `start`" is
    /// "from the first id stamped at or after `start`": one look in the
    /// time index, instead of reading every row to compare its stamp.
    fn bounds(&self, owner: &str, q: &Query) -> anyhow::Result<Option<(Option<i64>, Option<i64>)>> {
        let one = |sql: &str, at: i64| -> anyhow::Result<Option<i64>> {
            Ok(self
                .db
                .prepare_cached(sql)?
                .query_row(params![owner, at], |r| r.get(0))
                .optional()?)
        };
        let lo = match q.start_ms {
            None => None,
            Some(s) => match one(
                "SELECT id FROM archive WHERE owner = ?1 AND stamp_ms >= ?2 ORDER BY stamp_ms, id LIMIT 1",
                s,
            )? {
                None => return Ok(None),
                found => found,
            },
        };
        let hi = match q.end_ms {
            None => None,
            Some(e) => match one(
                "SELECT id FROM archive WHERE owner = ?1 AND stamp_ms <= ?2 ORDER BY stamp_ms DESC, id DESC LIMIT 1",
                e,
            )? {
                None => return Ok(None),
                found => found,
            },
        };
        Ok(Some((lo, hi)))
    }

    /// How many messages match the query's filters (not its paging): the
    /// RSM `<count/>`. Counting reads the whole range, so the answer is
    /// kept, and kept right as messages are added (see [`Counts`]).
    fn count(&self, owner: &str, q: &Query, filter: &str, args: &[Value]) -> anyhow::Result<u64> {
        let key = CountKey {
            owner: owner.to_string(),
            with: q.with.as_ref().map(|w| w.to_bare().to_string()),
            start_ms: q.start_ms,
            end_ms: q.end_ms,
        };
        if let Some(n) = self.counts.get(&key) {
            return Ok(n);
        }
        let n: i64 = self
            .db
            .prepare_cached(&format!("SELECT count(*) FROM archive WHERE {filter}"))?
            .query_row(rusqlite::params_from_iter(args), |r| r.get(0))?;
        let n = n as u64;
        self.counts.put(key, n);
        Ok(n)
    }

    fn archived(&self, r: Row) -> Option<Archived> {
        let (id, with, dir, sender, recipient, kind, stanza_id, body, extra, stamp_ms) = r;
        let (Ok(with), Ok(from), Ok(to)) = (
            Jid::parse(&with),
            Jid::parse(&sender),
            Jid::parse(&recipient),
        ) else {
            return None;
        };
        Some(Archived {
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
        self.counts.clear();
        Ok(n as u64)
    }
}

/// A page: one more row than asked for, to know whether more follow.
fn page_sql(filter: &str, backwards: bool, max: usize) -> String {
    format!(
        "SELECT id, with_jid, direction, sender, recipient, kind, stanza_id, body, extra, stamp_ms
         FROM archive WHERE {filter} ORDER BY id {} LIMIT {}",
        if backwards { "DESC" } else { "ASC" },
        max + 1
    )
}

/// A WHERE clause and its parameters, one condition at a time.
struct Filter {
    filter: String,
    args: Vec<Value>,
}

impl Filter {
    fn new(owner: &str, with: Option<&str>) -> Filter {
        let mut f = Filter {
            filter: "owner = ?1".into(),
            args: vec![owner.to_string().into()],
        };
        if let Some(w) = with {
            f = f.cond("with_jid =", w.to_string().into());
        }
        f
    }

    fn cond(mut self, cond: &str, v: Value) -> Filter {
        self.args.push(v);
        self.filter
            .push_str(&format!(" AND {cond} ?{}", self.args.len()));
        self
    }

    /// `cond` with this id, if there is one.
    fn and(self, cond: &str, id: Option<i64>) -> Filter {
        match id {
            Some(id) => self.cond(cond, id.into()),
            None => self,
        }
    }

    fn done(self) -> (String, Vec<Value>) {
        (self.filter, self.args)
    }
}

type Row = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
);

fn row(r: &rusqlite::Row) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
