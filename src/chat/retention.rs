//! How long the archive keeps messages. By default, for ever: the archive is
//! the history every device of a user syncs from. `socklab chat serve
//! --archive-days N` deletes what is older than N days when it starts and
//! every hour after; `socklab chat purge NAME [--older-than DAYS]` deletes
//! one user's archive (or its older part) from the command line, with the
//! server running or not (SQLite's lock makes the two take turns, and the
//! server notices the change: see `store/counts.rs`).
//!
//! A purge deletes the server's copy only: every device keeps what it has
//! already synced into its local cache.

use std::time::Duration;

use anyhow::bail;

use super::jid::localpart;
use super::store::Store;
use super::time::stamp;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// How often `--archive-days` looks for messages that have grown too old.
pub const CHECK_EVERY: Duration = Duration::from_secs(3600);

/// Deletes every user's archived messages older than `days` days; returns
/// how many, and the stamp they were older than.
pub fn expire(store: &Store, days: u32, now_ms: i64) -> anyhow::Result<(u64, i64)> {
    let cutoff = now_ms - i64::from(days) * DAY_MS;
    Ok((store.purge_archive(None, cutoff)?, cutoff))
}

/// `socklab chat purge NAME [--older-than DAYS]`: what it did, in words.
pub fn purge(
    store: &Store,
    name: &str,
    older_than: Option<u32>,
    now_ms: i64,
) -> anyhow::Result<String> {
    let name = localpart(name).map_err(anyhow::Error::msg)?;
    let account = format!("{name}@{}", store.domain());
    if !store.user_exists(&name)? {
        bail!("there is no user {account}: `socklab chat users` lists the accounts");
    }
    let kept = "its devices keep what they have synced";
    Ok(match older_than {
        None => {
            let n = store.purge_archive(Some(&name), i64::MAX)?;
            format!("deleted {n} archived message(s) of {account}: all of its archive ({kept})")
        }
        Some(days) => {
            let cutoff = now_ms - i64::from(days) * DAY_MS;
            let n = store.purge_archive(Some(&name), cutoff)?;
            format!(
                "deleted {n} archived message(s) of {account} older than {days} day(s), stamped before {} ({kept})",
                stamp(cutoff)
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::jid::Jid;
    use crate::chat::model::{Message, MessageKind};
    use crate::chat::sasl::{Credentials, Secret};

    #[test]
    fn purge_deletes_one_users_archive_or_its_older_part() {
        let s = Store::memory("localhost").expect("db");
        let creds = Credentials::from_salt(&Secret::new("x"), b"salt", 1000).expect("creds");
        for u in ["alice", "bob"] {
            s.add_user(u, &creds, 0).expect("add");
        }
        let now = 100 * DAY_MS;
        for (i, days_ago) in [10, 5, 1].iter().enumerate() {
            let m = Message {
                from: Jid::full("alice", "localhost", "r"),
                to: Jid::bare("bob", "localhost"),
                kind: MessageKind::Chat,
                id: Some(format!("m{i}")),
                body: Some(format!("{days_ago} days ago")),
                subject: None,
                thread: None,
                delay: None,
                archive_id: None,
                extra: Vec::new(),
            };
            let at = now - days_ago * DAY_MS;
            s.archive("alice", &m, true, "", at).expect("archive");
            s.archive("bob", &m, false, "", at).expect("archive");
        }
        let said = purge(&s, "Bob", Some(7), now).expect("purge");
        assert!(
            said.starts_with("deleted 1 archived message(s) of bob@localhost older than 7 day(s)"),
            "{said}"
        );
        assert_eq!(
            expire(&s, 3, now).expect("expire").0,
            3,
            "alice's two, bob's one"
        );
        let said = purge(&s, "bob", None, now).expect("purge");
        assert!(
            said.starts_with("deleted 1 archived message(s) of bob@localhost: all"),
            "{said}"
        );
        let e = purge(&s, "carol", None, now).expect_err("no carol");
        assert!(
            e.to_string().contains("there is no user carol@localhost"),
            "{e}"
        );
    }
}
