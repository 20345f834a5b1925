//! The attachments the cache remembers: each file received (where it was
//! saved) or sent (where it was sent from), with its size and SHA-256, for
//! `/attachments` and `/open N`. The files themselves live in the
//! attachments folder beside the database ([`Cache::attachments_dir`]).

use std::path::PathBuf;

use rusqlite::params;

use super::{Cache, Direction};
use crate::chat::jid::Jid;

/// One attachment as the cache keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// Its number in `/attachments` (the row id).
    pub n: i64,
    pub peer: Jid,
    pub direction: Direction,
    /// The name as sent: shown, never used as a path.
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub url: String,
    pub stamp_ms: i64,
}

impl Cache {
    /// Where received files go: `dir/client/attachments/alice@localhost/`,
    /// beside the database `dir/client/alice@localhost.db`.
    pub fn attachments_dir(&self) -> PathBuf {
        let name = self
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = self.path.parent().map(PathBuf::from).unwrap_or_default();
        parent.join("attachments").join(name)
    }

    /// Records an attachment; its number.
    pub fn add_attachment(&self, a: &Attachment) -> anyhow::Result<i64> {
        self.db
            .prepare_cached(
                "INSERT INTO attachments (peer, direction, name, path, size, sha256, url, stamp_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                a.peer.to_bare().to_string(),
                a.direction.name(),
                a.name,
                a.path.to_string_lossy(),
                i64::try_from(a.size).unwrap_or(i64::MAX),
                a.sha256,
                a.url,
                a.stamp_ms
            ])?;
        Ok(self.db.last_insert_rowid())
    }

    /// Every attachment, oldest first.
    pub fn attachments(&self) -> anyhow::Result<Vec<Attachment>> {
        let mut st = self.db.prepare(
            "SELECT id, peer, direction, name, path, size, sha256, url, stamp_ms FROM attachments ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, i64>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (n, peer, direction, name, path, size, sha256, url, stamp_ms) = row?;
            // A row edited by hand that no longer parses is skipped.
            let Ok(peer) = Jid::parse(&peer) else {
                continue;
            };
            out.push(Attachment {
                n,
                peer,
                direction: if direction == "out" {
                    Direction::Out
                } else {
                    Direction::In
                },
                name,
                path: PathBuf::from(path),
                size: u64::try_from(size).unwrap_or_default(),
                sha256,
                url,
                stamp_ms,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_are_kept_numbered_beside_the_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let alice = Jid::bare("alice", "localhost");
        let cache = Cache::open(dir.path(), &alice).expect("open");
        assert!(
            cache
                .attachments_dir()
                .ends_with("client/attachments/alice@localhost")
        );
        let a = Attachment {
            n: 0,
            peer: Jid::full("bob", "localhost", "phone"),
            direction: Direction::In,
            name: "../../.bashrc".into(),
            path: cache.attachments_dir().join("bashrc"),
            size: 5,
            sha256: "ab".into(),
            url: "http://127.0.0.1:5280/files/x/bashrc".into(),
            stamp_ms: 7,
        };
        let n = cache.add_attachment(&a).expect("add");
        let all = cache.attachments().expect("list");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].n, n);
        assert_eq!(all[0].peer, Jid::bare("bob", "localhost"));
        assert_eq!(all[0].name, "../../.bashrc");
    }
}
