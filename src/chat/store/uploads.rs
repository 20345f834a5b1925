//! The attachment slots' SQL (XEP-0363): who may upload which file, and
//! what is stored. The bytes live in files, not in the database.

use rusqlite::{OptionalExtension, params};

use super::Store;

/// One slot, and the file once it has arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub owner: String,
    pub filename: String,
    pub size: u64,
    pub content_type: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub stored: bool,
}

impl Store {
    pub fn add_upload(&self, u: &Upload) -> anyhow::Result<()> {
        self.writing()?;
        self.db
            .prepare_cached(
                "INSERT INTO uploads (id, owner, filename, size, content_type, created_ms, expires_ms, stored)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                u.id,
                u.owner,
                u.filename,
                u.size as i64,
                u.content_type,
                u.created_ms,
                u.expires_ms,
                u.stored
            ])?;
        Ok(())
    }

    pub fn upload(&self, id: &str) -> anyhow::Result<Option<Upload>> {
        Ok(self
            .db
            .prepare_cached(
                "SELECT id, owner, filename, size, content_type, created_ms, expires_ms, stored
                 FROM uploads WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(Upload {
                    id: r.get(0)?,
                    owner: r.get(1)?,
                    filename: r.get(2)?,
                    size: r.get::<_, i64>(3)? as u64,
                    content_type: r.get(4)?,
                    created_ms: r.get(5)?,
                    expires_ms: r.get(6)?,
                    stored: r.get(7)?,
                })
            })
            .optional()?)
    }

    /// The file of slot `id` is complete on disk.
    pub fn upload_stored(&self, id: &str) -> anyhow::Result<()> {
        self.writing()?;
        self.db
            .prepare_cached("UPDATE uploads SET stored = 1 WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    /// Bytes a user has stored or promised (open slots that have not
    /// expired count: the upload may be under way).
    pub fn upload_usage(&self, owner: &str, now_ms: i64) -> anyhow::Result<u64> {
        let n: i64 = self.db.query_row(
            "SELECT coalesce(sum(size), 0) FROM uploads
             WHERE owner = ?1 AND (stored = 1 OR expires_ms > ?2)",
            params![owner, now_ms],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Slots that expired with no file: forgotten (returns their ids, so
    /// that partial files can be removed).
    pub fn expire_uploads(&self, now_ms: i64) -> anyhow::Result<Vec<String>> {
        let ids: Vec<String> = self
            .db
            .prepare_cached("SELECT id FROM uploads WHERE stored = 0 AND expires_ms <= ?1")?
            .query_map([now_ms], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if !ids.is_empty() {
            self.writing()?;
            self.db.execute(
                "DELETE FROM uploads WHERE stored = 0 AND expires_ms <= ?1",
                [now_ms],
            )?;
        }
        Ok(ids)
    }
}
