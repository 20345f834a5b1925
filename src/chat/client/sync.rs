//! The archive sync: after each login the client fetches, page by page,
//! what the server's archive (XEP-0313) holds after the point the last
//! sync reached, and stores what the cache lacks. Messages typed on
//! another device, or sent while this one was offline, then show in
//! `/history` like any other; and `/history` keeps working with the server
//! down, since it only reads the cache.
//!
//! The sync does not hold up the chat: each page is an answer like any
//! other, handled when it comes, and messages that arrive meanwhile are
//! shown and stored as usual. A message that comes both ways (live, and
//! in a page) is stored once: the cache knows it by its archive id, or by
//! its stanza id until it has one (see `cache/archive.rs`).

use super::cache::{Direction, Merged, Record};
use super::chat::{Chat, Mode};
use super::wire::{ArchivePage, Cx, Refusal, Wire};
use crate::chat::model::Message;
use crate::chat::store::now_ms;

/// Messages asked for per page.
pub const SYNC_PAGE: usize = 100;

/// A sync under way.
#[derive(Debug, Default)]
pub struct Sync {
    merged: Merged,
    pages: usize,
    /// The cursor was unknown to the server and the sync started over.
    restarted: bool,
}

impl Chat {
    /// Asks for the first page after where the last sync stopped.
    pub(super) fn start_sync(&mut self, wire: &mut dyn Wire, cx: &mut Cx) {
        let cursor = match self.cache.cursor() {
            Ok(c) => c,
            Err(e) => {
                let text = format!("cannot read the cache, so no archive sync: {e:#}");
                return cx.narrate("sync", &text);
            }
        };
        self.sync = Some(Sync::default());
        wire.archive(cx, cursor.as_deref(), SYNC_PAGE);
    }

    /// A page came: store it, and ask for the next one or say what it did.
    pub(super) fn archive_page(&mut self, page: ArchivePage, wire: &mut dyn Wire, cx: &mut Cx) {
        let Some(mut sync) = self.sync.take() else {
            return cx.narrate("ignore", "an archive page nobody asked for: ignored");
        };
        let records: Vec<Record> = page
            .items
            .into_iter()
            .filter_map(|(id, m)| self.archived_record(id, &m))
            .collect();
        let merged = match self.cache.merge_page(&records, page.last.as_deref()) {
            Ok(m) => m,
            Err(e) => {
                let text =
                    format!("the archive sync stopped: cannot store a page in the cache: {e:#}");
                return self.sync_failed(text, wire, cx);
            }
        };
        sync.merged.add(merged);
        sync.pages += 1;
        if !page.complete
            && let Some(last) = &page.last
        {
            let text = format!(
                "archive page {}: {} message(s), up to #{last}, now in the cache; asking for the next page",
                sync.pages,
                records.len()
            );
            cx.narrate("sync", &text);
            self.sync = Some(sync);
            return wire.archive(cx, Some(last), SYNC_PAGE);
        }
        cx.narrate("sync", &summary(sync.merged, sync.pages));
        if matches!(self.mode, Mode::Sync) {
            self.quit(wire, cx);
        }
    }

    /// The server would not answer the query.
    pub(super) fn archive_refused(&mut self, r: Refusal, wire: &mut dyn Wire, cx: &mut Cx) {
        let Some(sync) = self.sync.take() else { return };
        if r.condition == "item-not-found" && !sync.restarted {
            // The message the last sync stopped at is gone from the archive
            // (purged), or this is another server: start from the beginning;
            // what is here already is recognised, not stored twice.
            let text = format!(
                "the archive does not know where the last sync stopped ({}): syncing from its start",
                r.explain()
            );
            cx.narrate("sync", &text);
            if let Err(e) = self.cache.forget_cursor() {
                return self.sync_failed(format!("cannot reset the sync: {e:#}"), wire, cx);
            }
            self.sync = Some(Sync {
                restarted: true,
                ..sync
            });
            return wire.archive(cx, None, SYNC_PAGE);
        }
        let text = format!(
            "no archive sync: the server refused the archive query, {}; the cache holds only what this device saw",
            r.explain()
        );
        self.sync_failed(text, wire, cx);
    }

    fn sync_failed(&mut self, text: String, wire: &mut dyn Wire, cx: &mut Cx) {
        cx.narrate("sync", &text);
        if matches!(self.mode, Mode::Sync) {
            self.problems.push(text);
            self.quit(wire, cx);
        }
    }

    /// The connection went away during a sync.
    pub(super) fn sync_cut(&mut self, cx: &mut Cx) {
        if let Some(s) = self.sync.take() {
            let text = format!(
                "the archive sync stopped after {} page(s) with the connection; the next one resumes after the last page stored",
                s.pages
            );
            cx.narrate("sync", &text);
        }
    }

    /// An archived message as the cache keeps it: ours if we sent it.
    fn archived_record(&self, archive_id: String, m: &Message) -> Option<Record> {
        let body = m.body.clone()?;
        let outgoing = m.from.to_bare() == self.me.to_bare();
        Some(Record {
            peer: if outgoing {
                m.to.to_bare()
            } else {
                m.from.to_bare()
            },
            direction: if outgoing {
                Direction::Out
            } else {
                Direction::In
            },
            body,
            stamp_ms: m.delay.as_ref().map_or_else(now_ms, |d| d.stamp_ms),
            stanza_id: m.id.clone(),
            archive_id: Some(archive_id),
            error: None,
        })
    }
}

/// What a finished sync did, in words.
fn summary(m: Merged, pages: usize) -> String {
    if m.total() == 0 {
        return "synced 0 message(s) from the archive: it holds nothing after what the last sync fetched".into();
    }
    let mut text = format!(
        "synced {} message(s) from the archive in {pages} page(s) ({} were already here): {} new in the cache",
        m.total(),
        m.matched + m.already,
        m.new
    );
    if m.new > 0 {
        text.push_str(" (messages this device had never seen: typed on another device, or sent while it was offline)");
    }
    if m.matched > 0 {
        text.push_str(&format!(
            "; {} of those already here had no archive id yet (sent from this device, or received before their id was known) and now have it",
            m.matched
        ));
    }
    text
}
