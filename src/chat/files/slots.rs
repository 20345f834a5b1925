//! Upload slots (XEP-0363 §4): a client says what it wants to upload — a
//! name, a size, a type — and gets two URLs, one to PUT the file to and one
//! to GET it from. The server checks the size against the per-file limit and
//! the user's quota before promising anything, and the slot id is 128 random
//! bits, so a file can be fetched only by whoever was given its URL.

use super::names::safe;
use crate::chat::store::{Store, Upload, now_ms};

/// The file service's settings (`chat serve --http-port`, `--max-file-size`,
/// `--quota`).
#[derive(Clone, Debug)]
pub struct FilesConfig {
    /// `http://127.0.0.1:5280`: what the URLs start with.
    pub base_url: String,
    pub max_file_size: u64,
    /// What one user may store in all.
    pub quota: u64,
    /// How long a slot waits for its PUT.
    pub slot_ttl_ms: i64,
    /// Where the files are kept (`<data-dir>/files`).
    pub dir: std::path::PathBuf,
}

/// A promised upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub id: String,
    pub put_url: String,
    pub get_url: String,
}

impl Slot {
    /// What the server says when it gives a slot (XMPP and JSON alike).
    pub fn narration(&self, user: &str, filename: &str, size: u64) -> String {
        format!(
            "upload slot for {user}: {filename:?}, {size} bytes — PUT it to {}, and friends GET it from {} (the id in both is 128 random bits: only those given the URL can fetch it)",
            self.put_url, self.get_url
        )
    }
}

/// Why a slot was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotError {
    /// Over the per-file limit (XEP-0363 §4.2: `file-too-large`).
    TooLarge { max: u64 },
    /// Over the user's quota.
    Quota { used: u64, quota: u64 },
    /// A request that makes no sense (no name, size 0...).
    Bad(String),
    /// The database failed.
    Internal(String),
}

impl SlotError {
    pub fn text(&self) -> String {
        match self {
            SlotError::TooLarge { max } => format!(
                "the file is larger than this server accepts ({max} bytes at most: --max-file-size)"
            ),
            SlotError::Quota { used, quota } => format!(
                "this would take you over your quota: {used} of {quota} bytes are used (--quota)"
            ),
            SlotError::Bad(t) | SlotError::Internal(t) => t.clone(),
        }
    }
}

/// A fresh slot id: 128 bits from the system's random source, in hex.
fn slot_id() -> Result<String, SlotError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| SlotError::Internal(format!("no randomness for a slot id: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Checks a request and records the slot.
pub fn request_slot(
    store: &Store,
    cfg: &FilesConfig,
    user: &str,
    filename: &str,
    size: u64,
    content_type: Option<&str>,
) -> Result<Slot, SlotError> {
    if filename.trim().is_empty() {
        return Err(SlotError::Bad("the request has no file name".into()));
    }
    if size == 0 {
        return Err(SlotError::Bad(
            "the file is empty: there is nothing to upload".into(),
        ));
    }
    if size > cfg.max_file_size {
        return Err(SlotError::TooLarge {
            max: cfg.max_file_size,
        });
    }
    let now = now_ms();
    let used = store
        .upload_usage(user, now)
        .map_err(|e| SlotError::Internal(format!("{e:#}")))?;
    if used.saturating_add(size) > cfg.quota {
        return Err(SlotError::Quota {
            used,
            quota: cfg.quota,
        });
    }
    let content_type = content_type
        .filter(|t| t.len() < 128 && t.bytes().all(|b| b.is_ascii_graphic()) && t.contains('/'))
        .unwrap_or("application/octet-stream");
    let id = slot_id()?;
    let name = safe(filename);
    store
        .add_upload(&Upload {
            id: id.clone(),
            owner: user.to_string(),
            filename: name.clone(),
            size,
            content_type: content_type.to_string(),
            created_ms: now,
            expires_ms: now + cfg.slot_ttl_ms,
            stored: false,
        })
        .map_err(|e| SlotError::Internal(format!("{e:#}")))?;
    Ok(Slot {
        put_url: format!("{}/upload/{id}/{name}", cfg.base_url),
        get_url: format!("{}/files/{id}/{name}", cfg.base_url),
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::sasl::{Credentials, Secret};

    fn setup() -> (Store, FilesConfig) {
        let s = Store::memory("localhost").expect("db");
        let c = Credentials::from_salt(&Secret::new("x"), b"salt", 1000).expect("creds");
        s.add_user("alice", &c, 0).expect("add");
        let cfg = FilesConfig {
            base_url: "http://127.0.0.1:5280".into(),
            max_file_size: 1000,
            quota: 1500,
            slot_ttl_ms: 60_000,
            dir: std::env::temp_dir(),
        };
        (s, cfg)
    }

    #[test]
    fn slots_are_unguessable_named_safely_and_bounded() {
        let (s, cfg) = setup();
        let a =
            request_slot(&s, &cfg, "alice", "../../.bashrc", 10, Some("text/plain")).expect("slot");
        assert_eq!(a.id.len(), 32);
        assert!(
            a.put_url.ends_with("/bashrc") && a.get_url.contains(&a.id),
            "{a:?}"
        );
        let b = request_slot(&s, &cfg, "alice", "x", 10, None).expect("slot");
        assert_ne!(a.id, b.id);
        assert_eq!(
            request_slot(&s, &cfg, "alice", "big", 1001, None),
            Err(SlotError::TooLarge { max: 1000 })
        );
        request_slot(&s, &cfg, "alice", "y", 1000, None).expect("within quota");
        assert!(matches!(
            request_slot(&s, &cfg, "alice", "z", 900, None),
            Err(SlotError::Quota { .. })
        ));
        assert!(matches!(
            request_slot(&s, &cfg, "alice", "", 9, None),
            Err(SlotError::Bad(_))
        ));
        assert!(matches!(
            request_slot(&s, &cfg, "alice", "e", 0, None),
            Err(SlotError::Bad(_))
        ));
    }
}
