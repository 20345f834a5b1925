//! The archive's counts (XEP-0059 `<count/>`: how many messages match a
//! query, whatever page is asked for). Counting reads every matching index
//! entry, so a count taken once is kept, and kept exact, instead of being
//! taken again for every page: the only statement of an archive query whose
//! cost would grow with the history.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// What a count was asked about: the query's filters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct CountKey {
    pub owner: String,
    pub with: Option<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

/// Counts already taken, kept exact: each message archived adds one to
/// the counts whose filters it matches; a purge forgets them all, and so
/// does a change committed by another process (`socklab chat purge` while
/// the server runs), which SQLite's `data_version` reveals.
#[derive(Default)]
pub(super) struct Counts {
    known: RefCell<HashMap<CountKey, u64>>,
    version: Cell<Option<i64>>,
}

/// Counts kept at most: a client paging through many different ranges
/// cannot make the server hold memory for them.
const COUNTS_KEPT: usize = 1024;

impl Counts {
    pub(super) fn get(&self, key: &CountKey) -> Option<u64> {
        self.known.borrow().get(key).copied()
    }

    pub(super) fn put(&self, key: CountKey, n: u64) {
        let mut known = self.known.borrow_mut();
        if known.len() >= COUNTS_KEPT {
            known.clear();
        }
        known.insert(key, n);
    }

    pub(super) fn added(&self, owner: &str, with: &str, stamp_ms: i64) {
        for (k, n) in self.known.borrow_mut().iter_mut() {
            if k.owner == owner
                && k.with.as_deref().is_none_or(|w| w == with)
                && k.start_ms.is_none_or(|s| s <= stamp_ms)
                && k.end_ms.is_none_or(|e| stamp_ms <= e)
            {
                *n += 1;
            }
        }
    }

    pub(super) fn clear(&self) {
        self.known.borrow_mut().clear();
    }

    pub(super) fn forget_if_changed(&self, db: &rusqlite::Connection) -> anyhow::Result<()> {
        let now: i64 = db.pragma_query_value(None, "data_version", |r| r.get(0))?;
        if self.version.replace(Some(now)).is_some_and(|v| v != now) {
            self.clear();
        }
        Ok(())
    }
}
