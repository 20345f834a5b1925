//! The chat as the person sees it: who is online, who the current contact
//! is, what is printed, what goes into the cache. It hears the server as
//! [`Update`]s and acts through a [`Wire`], so it is the same for XMPP and
//! for JSON.
//!
//! Stdout is data: a received message is one line, `bob → alice: hi` (with
//! `[stamp] ` in front when it waited offline), and the answers to `/roster`,
//! `/who`, `/history` and `/help`. Everything else (presence, friend
//! requests, errors for what we sent) is narration on stderr, as `chat`
//! events, so `-q` leaves only the messages and `--json` makes them
//! machine-readable.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::cache::{Cache, Direction, Record, Stored};
use super::wire::{Cx, Refusal, Update, Wire};
use crate::chat::jid::Jid;
use crate::chat::model::{Message, RosterItem};
use crate::chat::store::now_ms;
use crate::net::output::Output;

/// What the client is for.
pub enum Mode {
    /// `socklab chat JID`: lines are messages and commands.
    Interactive,
    /// `socklab chat send`: `message`, or each stdin line, goes to `to`.
    /// With `file`, the file is sent (uploaded, then its link) after the message.
    Send {
        to: Jid,
        message: Option<String>,
        file: Option<String>,
    },
    /// `socklab chat history --sync`: log in, sync the cache with the
    /// archive, leave.
    Sync,
}

/// Where the conversation stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Phase {
    /// Logging in: typed lines wait.
    Connecting,
    Online,
    /// No server (it could not be reached, or went away): why.
    Offline(String),
    /// We asked to close; waiting for the server's goodbye.
    Closing,
    /// Nothing more to do.
    Done,
}

/// A line of input, or its end.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    Line(String),
    End,
}

pub struct Chat {
    pub(super) mode: Mode,
    /// Bare before the login, full after.
    pub(super) me: Jid,
    pub(super) cache: Cache,
    pub(super) out: Output,
    pub(super) phase: Phase,
    pub(super) current: Option<Jid>,
    pub(super) roster: BTreeMap<Jid, RosterItem>,
    /// Contacts online now: bare JID → resource → show.
    pub(super) present: BTreeMap<Jid, BTreeMap<String, Option<String>>>,
    /// Friend requests not yet answered.
    pub(super) requests: BTreeSet<Jid>,
    /// Lines typed before the login finished.
    pub(super) waiting: VecDeque<Input>,
    /// Messages sent, with where their bytes end on the connection: stored
    /// in the cache once the socket has taken them.
    pub(super) outbox: VecDeque<(u64, Record)>,
    /// `chat send`: the id of the ping that confirms the messages.
    pub(super) ack: Option<String>,
    /// Why the command did not fully succeed (the exit code is 1 if any).
    pub(super) problems: Vec<String>,
    /// The server ended its stream, or we gave up on it: send FIN.
    pub(super) ended: bool,
    /// The archive sync under way, if one is.
    pub(super) sync: Option<super::sync::Sync>,
    /// The chat server's address as connected to, and its name as given
    /// (--server): attachments are fetched from that host only.
    pub(super) server: Option<std::net::SocketAddr>,
    pub(super) server_name: String,
    /// `--max-download`: a received attachment bigger than this is refused.
    pub(super) max_download: u64,
    /// Upload slots asked for and not yet answered.
    pub(super) slots: Vec<super::attachments::PendingSlot>,
    /// Transfers for the loop to start.
    pub(super) jobs: VecDeque<super::attachments::Start>,
    /// Attachments whose link is queued, with where the message ends on
    /// the connection: recorded once it is written.
    pub(super) sent_files: VecDeque<(u64, super::cache::Attachment)>,
}

impl Chat {
    pub fn new(mode: Mode, me: Jid, cache: Cache, out: Output) -> Chat {
        Chat {
            mode,
            me,
            cache,
            out,
            phase: Phase::Connecting,
            current: None,
            roster: BTreeMap::new(),
            present: BTreeMap::new(),
            requests: BTreeSet::new(),
            waiting: VecDeque::new(),
            outbox: VecDeque::new(),
            ack: None,
            problems: Vec::new(),
            ended: false,
            sync: None,
            server: None,
            server_name: String::new(),
            max_download: u64::MAX,
            slots: Vec::new(),
            jobs: VecDeque::new(),
            sent_files: VecDeque::new(),
        }
    }

    /// No server to talk to: only what the cache knows.
    pub fn set_offline(&mut self, why: &str) {
        self.phase = Phase::Offline(why.to_string());
        let items = self.cache.roster().unwrap_or_default();
        self.roster = items.into_iter().map(|i| (i.contact.clone(), i)).collect();
    }

    /// Whether the stream is over (the server ended it, or we gave up on
    /// it): time to send FIN.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Whether we have asked the server to end the conversation.
    pub fn closing(&self) -> bool {
        matches!(self.phase, Phase::Closing | Phase::Done) || self.ended
    }

    /// Whether typed lines can still do something without a connection.
    pub fn wants_input(&self) -> bool {
        matches!(self.phase, Phase::Offline(_)) && matches!(self.mode, Mode::Interactive)
    }

    /// `bob` for a user of our domain, the bare JID for anyone else.
    pub(super) fn short(&self, j: &Jid) -> String {
        match (&j.local, j.domain == self.me.domain) {
            (Some(l), true) => l.clone(),
            _ => j.to_bare().to_string(),
        }
    }

    /// A line on stdout. A reader that went away (`| head`) is not an error
    /// worth stopping a chat for.
    pub(super) fn print(&mut self, line: &str) {
        let _ = self.out.write(format!("{line}\n").as_bytes());
    }

    /// One thing the server told us.
    pub fn on_update(&mut self, u: Update, wire: &mut dyn Wire, cx: &mut Cx) {
        match u {
            Update::Online(jid) => self.online(jid, wire, cx),
            Update::Roster(items) => {
                self.roster = items
                    .iter()
                    .map(|i| (i.contact.clone(), i.clone()))
                    .collect();
                if let Err(e) = self.cache.set_roster(&items, now_ms()) {
                    cx.narrate(
                        "cache",
                        &format!("could not save the roster in the cache: {e:#}"),
                    );
                }
            }
            Update::RosterPush { item, removed } => self.roster_push(item, removed, cx),
            Update::Presence(p) => self.presence(p, cx),
            Update::Message(m, archive_id) => self.message(m, archive_id, cx),
            Update::Archive(page) => self.archive_page(page, wire, cx),
            Update::ArchiveRefused(r) => self.archive_refused(r, wire, cx),
            Update::Refused(r) => self.refused(r, cx),
            Update::Slot { id, put, get } => self.slot(id, put, get, cx),
            Update::SlotRefused { id, refusal, max } => self.slot_refused(id, refusal, max, cx),
            Update::Pong(id) => {
                if self.ack.as_deref() == Some(id.as_str()) {
                    self.ack = None;
                    cx.narrate("ack", "the server answered our ping: it has handled every message sent before it, so they were delivered or stored for later");
                    self.quit(wire, cx);
                }
            }
            Update::Failed(why) => {
                self.problems.push(why);
                self.ended = true;
                self.phase = Phase::Done;
            }
            Update::Ended => {
                self.ended = true;
                if self.phase != Phase::Done && !matches!(self.phase, Phase::Closing) {
                    self.lost("the server ended the stream", cx);
                } else {
                    self.phase = Phase::Done;
                }
            }
        }
    }

    fn online(&mut self, jid: Jid, wire: &mut dyn Wire, cx: &mut Cx) {
        self.me = jid;
        self.phase = Phase::Online;
        let text = match &self.mode {
            Mode::Interactive => format!(
                "online as {}: {} contact(s) in your roster; type a message after /to NAME, or /help",
                self.me,
                self.roster.len()
            ),
            Mode::Send { to, .. } => format!("logged in as {}; sending to {to}", self.me),
            Mode::Sync => format!("logged in as {} to sync the local cache", self.me),
        };
        cx.narrate("online", &text);
        if let Mode::Send { message, file, .. } = &self.mode {
            // Without a file, the message then the end; with one, the end
            // comes once its link is out (see `transfer_done`).
            if file.is_none() && message.is_some() {
                self.waiting.push_front(Input::End);
            }
            if let Some(body) = message {
                self.waiting.push_front(Input::Line(body.clone()));
            }
        }
        self.pump(wire, cx);
        if let Mode::Send {
            to, file: Some(f), ..
        } = &self.mode
        {
            let (to, f) = (to.clone(), f.clone());
            self.send_file(&to, &f, wire, cx);
            self.pump(wire, cx);
        }
        if matches!(self.mode, Mode::Interactive | Mode::Sync) {
            self.start_sync(wire, cx);
        }
    }

    fn message(&mut self, m: Message, archive_id: Option<String>, cx: &mut Cx) {
        let Some(body) = m.body.clone() else {
            // Chat states (typing...) and receipts: nothing to show.
            return;
        };
        let stamp_ms = m.delay.as_ref().map_or_else(now_ms, |d| d.stamp_ms);
        let record = Record {
            peer: m.from.to_bare(),
            direction: Direction::In,
            body: body.clone(),
            stamp_ms,
            stanza_id: m.id.clone(),
            archive_id,
            error: None,
        };
        let stored = stored(self.cache.add(&record), record.archive_id.as_deref());
        let line = format!("{} → {}: {body}", self.short(&m.from), self.short(&m.to));
        let (shown, late) = match &m.delay {
            Some(d) => {
                let stamp = crate::chat::time::stamp(d.stamp_ms);
                let why = if d.reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", d.reason)
                };
                (
                    format!("[{stamp}] {line}"),
                    format!("; sent at {stamp}, delivered late (XEP-0203 <delay/>{why})"),
                )
            }
            None => (line.clone(), String::new()),
        };
        // `chat history --sync` prints the history afterwards, not this.
        if !matches!(self.mode, Mode::Sync) {
            self.print(&shown);
        }
        cx.narrate(
            "message_in",
            &format!("{line} (from {}{late}; {stored})", m.from),
        );
        // A link (XEP-0066) is an attachment to fetch; a sync for `chat
        // history` only records.
        if let Some(url) = crate::chat::files::oob_url(&m.extra)
            && !matches!(self.mode, Mode::Sync)
        {
            self.fetch(&m.from, &url, cx);
        }
    }

    fn refused(&mut self, r: Refusal, cx: &mut Cx) {
        let about = r
            .peer
            .as_ref()
            .map(|p| format!(" to {p}"))
            .unwrap_or_default();
        let text = format!(
            "the server refused our {}{about}: {}",
            r.stanza,
            r.explain()
        );
        if r.stanza == "message" {
            if let Some(id) = &r.id {
                for (_, rec) in self
                    .outbox
                    .iter_mut()
                    .filter(|(_, rec)| rec.stanza_id.as_ref() == Some(id))
                {
                    rec.error = Some(r.condition.clone());
                }
                let _ = self.cache.refused(id, &r.condition);
            }
            if matches!(self.mode, Mode::Send { .. }) {
                self.problems.push(text.clone());
            }
        }
        cx.narrate("refused", &text);
    }

    /// The socket has taken `sent` bytes: messages that ended before are
    /// written, and go into the cache now.
    pub fn written(&mut self, sent: u64, cx: &mut Cx) {
        while self.outbox.front().is_some_and(|(mark, _)| *mark <= sent) {
            let Some((_, rec)) = self.outbox.pop_front() else {
                break;
            };
            let stored = stored(self.cache.add(&rec), None);
            let text = format!(
                "{} → {}: {} (written to the socket; {stored})",
                self.short(&self.me),
                self.short(&rec.peer),
                rec.body
            );
            cx.narrate("message_out", &text);
        }
        self.files_written(sent, cx);
    }

    /// The connection is gone without a goodbye.
    pub fn lost(&mut self, why: &str, cx: &mut Cx) {
        self.ended = true;
        self.sync_cut(cx);
        if matches!(self.phase, Phase::Closing | Phase::Done) {
            self.phase = Phase::Done;
            return;
        }
        let unsent = self.outbox.len();
        let mut why = why.to_string();
        if unsent > 0 {
            why.push_str(&format!(
                "; {unsent} message(s) were never written, so not sent"
            ));
        }
        self.problems.push(why.clone());
        match self.mode {
            Mode::Interactive => {
                cx.narrate(
                    "offline",
                    &format!(
                        "offline: {why}. /history still works from the local cache; /quit to leave"
                    ),
                );
                self.phase = Phase::Offline(why);
            }
            Mode::Send { .. } | Mode::Sync => self.phase = Phase::Done,
        }
    }

    /// How the command ends: every problem seen, or success.
    pub fn result(mut self, cx: &mut Cx) -> anyhow::Result<()> {
        let _ = self.out.finish();
        if let Some((_, rec)) = self.outbox.front() {
            let text = format!(
                "{} message(s) never reached the socket (the first: {:?}): not sent, not stored",
                self.outbox.len(),
                rec.body
            );
            cx.narrate("unsent", &text);
        }
        match self.problems.first() {
            None => Ok(()),
            Some(first) if self.problems.len() == 1 => Err(anyhow::anyhow!("{first}")),
            Some(first) => Err(anyhow::anyhow!(
                "{first} (and {} more problem(s), narrated above)",
                self.problems.len() - 1
            )),
        }
    }
}

/// What storing a message did, in words.
fn stored(result: anyhow::Result<Stored>, archive_id: Option<&str>) -> String {
    let id = archive_id
        .map(|a| format!(" (archive #{a})"))
        .unwrap_or_default();
    match result {
        Ok(Stored::New(n)) => format!("stored in the cache as #{n}{id}"),
        Ok(Stored::Already(n)) => {
            format!("already in the cache as #{n}{id}: the archive sync brought it")
        }
        Err(e) => format!("NOT stored in the cache: {e:#}"),
    }
}
