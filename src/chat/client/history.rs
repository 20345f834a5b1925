//! `socklab chat history alice@localhost [--with bob] [--since DATE]`: the
//! local cache, printed for scripts. It reads only the database on this
//! machine, so it works with the server down, or unreachable, or gone;
//! `--sync` first logs in and fetches from the server's archive what the
//! cache lacks (the same sync as after each login of `socklab chat`).
//!
//! One line per message, `2026-11-26 14:43 alice → bob: hi` (UTC), or with
//! `--json` one object per line, with the archive id and the stanza id.

use serde_json::json;

use super::cache::{Cache, Direction, Record};
use super::chat::Mode;
use crate::chat::jid::Jid;
use crate::cli::ChatHistoryArgs;
use crate::net::output::Output;
use crate::trace::{Event, Side, Tracer};

/// `socklab chat history JID`.
pub fn history(args: &ChatHistoryArgs, json: bool, t: &mut Tracer) -> anyhow::Result<()> {
    let (account, _) = super::account(&args.jid, &args.client)?;
    let peer = match &args.with {
        Some(w) => Some(super::contact(w, &account.domain)?),
        None => None,
    };
    // A sync that fails leaves the cache as it was: print that, then fail.
    let synced = if args.sync { sync(args, t) } else { Ok(()) };
    let dir = crate::chat::data_dir(args.client.data_dir.as_deref());
    if !Cache::location(&dir, &account).exists() {
        synced?;
        anyhow::bail!(
            "there is no local cache for {account} in {}: `socklab chat {account}` makes it at the first login (or give the --data-dir it used)",
            dir.display()
        );
    }
    let cache = Cache::open(&dir, &account)?;
    let records = cache.records(peer.as_ref(), args.since)?;
    let mut out = Output::stdout()?.unmarked();
    for r in &records {
        let line = if json {
            json_line(r, &account)
        } else {
            text_line(r, &account)
        };
        let _ = out.write(format!("{line}\n").as_bytes());
    }
    let _ = out.finish();
    let text = format!(
        "{} message(s){}{} from the local cache {} (no server needed)",
        records.len(),
        peer.map(|p| format!(" with {p}")).unwrap_or_default(),
        args.since
            .map(|s| format!(" since {}", crate::chat::time::stamp(s)))
            .unwrap_or_default(),
        cache.path().display()
    );
    let user = account.user().unwrap_or_default();
    t.emit(
        Side::Client,
        None,
        Event::Chat {
            action: "history",
            user,
            text: &text,
        },
    );
    synced
}

/// Logs in, syncs the cache with the archive, leaves.
fn sync(args: &ChatHistoryArgs, t: &mut Tracer) -> anyhow::Result<()> {
    let (login, addrs) = super::login(&args.jid, &args.client, false, t)?;
    let mut link = super::link(login, Mode::Sync, &args.client, t)?;
    link.connect(&addrs)?;
    link.run()
}

/// Who sent it and who got it.
fn ends<'a>(r: &'a Record, me: &'a Jid) -> (&'a Jid, &'a Jid) {
    match r.direction {
        Direction::Out => (me, &r.peer),
        Direction::In => (&r.peer, me),
    }
}

fn text_line(r: &Record, me: &Jid) -> String {
    let short = |j: &Jid| match (&j.local, j.domain == me.domain) {
        (Some(l), true) => l.clone(),
        _ => j.to_bare().to_string(),
    };
    let (from, to) = ends(r, me);
    let refused = r
        .error
        .as_ref()
        .map(|e| format!("  (refused: {e})"))
        .unwrap_or_default();
    format!(
        "{} {} → {}: {}{refused}",
        crate::chat::time::minute(r.stamp_ms),
        short(from),
        short(to),
        r.body
    )
}

fn json_line(r: &Record, me: &Jid) -> String {
    let (from, to) = ends(r, me);
    json!({
        "stamp": crate::chat::time::stamp(r.stamp_ms),
        "from": from.to_bare().to_string(),
        "to": to.to_bare().to_string(),
        "direction": r.direction.name(),
        "body": r.body,
        "id": r.stanza_id,
        "archive_id": r.archive_id,
        "error": r.error,
    })
    .to_string()
}
