//! Attachments as the chat sees them: `/send PATH` (and `chat send
//! --file`) asks for a slot, hands the upload to the loop, then sends the
//! link; a message with a link (XEP-0066, JSON `"url"`) from the chat
//! server's own host is downloaded; `/attachments` and `/open N` show what
//! the cache remembers. The HTTP itself is in [`attach`](super::attach);
//! this is who asked for what, and what the person is told.
//!
//! Every failure is a sentence that says what to do, narrated as an
//! `attachment_error` event and printed (it answers something the person
//! did, or a message they got); in `chat send` it is also the exit's error.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::attach::url::HttpUrl;
use super::attach::{Done, Job, mib};
use super::cache::{Attachment, Direction};
use super::chat::{Chat, Input, Mode, Phase};
use super::wire::{Cx, Refusal, Wire};
use crate::chat::jid::Jid;
use crate::chat::store::now_ms;

/// A slot asked for and not yet answered.
pub struct PendingSlot {
    id: Option<String>,
    to: Jid,
    path: PathBuf,
    name: String,
    size: u64,
}

/// A transfer for the loop to start: the job, its URL, where to connect.
pub type Start = (Job, HttpUrl, SocketAddr);

/// Downloads that may wait for a free transfer slot; links past this are
/// shown, not fetched.
const MAX_WAITING: usize = 256;

impl Chat {
    /// `/send PATH`: the slot request, after the checks that need no server.
    pub(super) fn send_file(&mut self, to: &Jid, path: &str, wire: &mut dyn Wire, cx: &mut Cx) {
        if let Phase::Offline(why) = &self.phase {
            let text = format!("offline ({why}): {path} was not sent; files need the server");
            return self.file_problem(&text, cx);
        }
        let meta = match std::fs::metadata(path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => {
                let text = format!("{path} is not a file (a directory?): /send takes one file");
                return self.file_problem(&text, cx);
            }
            Err(e) => {
                let cwd = std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default();
                let text = format!(
                    "cannot send {path}: {e} (a relative path starts from {cwd}); check the path"
                );
                return self.file_problem(&text, cx);
            }
        };
        if meta.len() == 0 {
            let text = format!("{path} is empty: there is nothing to send");
            return self.file_problem(&text, cx);
        }
        let path = PathBuf::from(path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        let id = wire.request_slot(cx, &name, meta.len());
        self.slots.push(PendingSlot {
            id,
            to: to.to_bare(),
            path,
            name,
            size: meta.len(),
        });
    }

    /// The pending slot this answer is for: by id, or the oldest.
    fn take_slot(&mut self, id: Option<&str>) -> Option<PendingSlot> {
        let at = match id {
            Some(id) => self
                .slots
                .iter()
                .position(|s| s.id.as_deref() == Some(id))?,
            None if self.slots.is_empty() => return None,
            None => 0,
        };
        Some(self.slots.remove(at))
    }

    /// A slot came: the upload can start.
    pub(super) fn slot(&mut self, id: Option<String>, put: String, get: String, cx: &mut Cx) {
        let Some(s) = self.take_slot(id.as_deref()) else {
            return cx.narrate("ignore", "a slot we did not ask for: ignored");
        };
        let text = format!(
            "slot for {:?} ({} bytes): PUT it to {put}, then friends GET it from {get}",
            s.name, s.size
        );
        cx.narrate("upload_slot", &text);
        let target = HttpUrl::parse(&put).and_then(|u| {
            let addr = self.on_server(&u)?;
            Ok((u, addr))
        });
        match target {
            Ok((url, addr)) => {
                let job = Job::Upload {
                    to: s.to,
                    path: s.path,
                    name: s.name,
                    size: s.size,
                    put,
                    get,
                };
                self.jobs.push_back((job, url, addr));
            }
            Err(why) => {
                self.file_problem(&format!("the slot's PUT URL {put} is not used: {why}"), cx)
            }
        }
    }

    pub(super) fn slot_refused(
        &mut self,
        id: Option<String>,
        r: Refusal,
        max: Option<u64>,
        cx: &mut Cx,
    ) {
        let s = self.take_slot(id.as_deref());
        let what = s
            .as_ref()
            .map_or("the file".to_string(), |s| s.path.display().to_string());
        let size = s.as_ref().map_or(0, |s| s.size);
        let text = match (r.condition.as_str(), max) {
            ("not-acceptable" | "file-too-large", Some(max)) => format!(
                "{what} is {size} bytes ({}), more than this server takes: {max} bytes ({}) at most (its --max-file-size); send a smaller file",
                mib(size),
                mib(max)
            ),
            ("resource-constraint", _) => format!(
                "{what} would take you over your quota on the server: {}; delete old attachments on the server or ask its admin for a larger --quota",
                r.explain()
            ),
            ("service-unavailable" | "feature-not-implemented", _) => format!(
                "{what} was not sent: the server has no file service (XEP-0363): {}",
                r.explain()
            ),
            _ => format!(
                "{what} was not sent: the server refused the slot: {}",
                r.explain()
            ),
        };
        self.file_problem(&text, cx);
    }

    /// A transfer ended.
    pub fn transfer_done(
        &mut self,
        job: Job,
        result: Result<Done, String>,
        wire: &mut dyn Wire,
        cx: &mut Cx,
    ) {
        match (job, result) {
            (
                Job::Upload {
                    to,
                    path,
                    name,
                    size,
                    get,
                    ..
                },
                Ok(Done::Uploaded { sha256 }),
            ) => {
                if matches!(self.phase, Phase::Online) {
                    let id = wire.message(cx, &to, &get, Some(&get));
                    let record = super::cache::Record {
                        peer: to.clone(),
                        direction: Direction::Out,
                        body: get.clone(),
                        stamp_ms: now_ms(),
                        stanza_id: Some(id),
                        archive_id: None,
                        error: None,
                    };
                    let mark = cx.mark();
                    self.outbox.push_back((mark, record));
                    let path = std::fs::canonicalize(&path).unwrap_or(path);
                    let a = Attachment {
                        n: 0,
                        peer: to,
                        direction: Direction::Out,
                        name,
                        path,
                        size,
                        sha256,
                        url: get,
                        stamp_ms: now_ms(),
                    };
                    self.sent_files.push_back((mark, a));
                } else {
                    let text = format!(
                        "{} was uploaded, but the chat connection is gone: the link {get} was not sent",
                        path.display()
                    );
                    self.file_problem(&text, cx);
                }
                self.file_finished(wire, cx);
            }
            (Job::Upload { path, .. }, Err(why)) => {
                self.file_problem(&format!("{} was not sent: {why}", path.display()), cx);
            }
            (
                Job::Download { from, url, .. },
                Ok(Done::Saved {
                    name,
                    path,
                    size,
                    sha256,
                }),
            ) => {
                let a = Attachment {
                    n: 0,
                    peer: from.to_bare(),
                    direction: Direction::In,
                    name,
                    path,
                    size,
                    sha256,
                    url,
                    stamp_ms: now_ms(),
                };
                self.saved(a, cx);
            }
            (Job::Download { from, url, .. }, Err(why)) => {
                let text = format!(
                    "the attachment from {} ({url}) was not saved: {why}",
                    self.short(&from)
                );
                self.file_problem(&text, cx);
            }
            (_, Ok(_)) => {}
        }
    }

    /// `chat send --file`: once the link is out (or the file failed), end.
    fn file_finished(&mut self, wire: &mut dyn Wire, cx: &mut Cx) {
        if matches!(self.mode, Mode::Send { .. }) {
            self.waiting.push_back(Input::End);
            self.pump(wire, cx);
        }
    }

    fn saved(&mut self, a: Attachment, cx: &mut Cx) {
        let n = match self.cache.add_attachment(&a) {
            Ok(n) => format!("#{n} in /attachments"),
            Err(e) => format!("NOT recorded in the cache: {e:#}"),
        };
        let text = format!(
            "saved {}'s attachment {:?} to {} ({} bytes, sha256 {}; {n})",
            self.short(&a.peer),
            a.name,
            a.path.display(),
            a.size,
            a.sha256
        );
        cx.narrate("attachment_saved", &text);
        self.print(&text);
    }

    /// A message carried a link: fetch it if it is on the chat server's host.
    pub(super) fn fetch(&mut self, from: &Jid, url: &str, cx: &mut Cx) {
        let target = HttpUrl::parse(url).and_then(|u| {
            let addr = self.on_server(&u)?;
            Ok((u, addr))
        });
        match target {
            Ok(_) if self.jobs.len() >= MAX_WAITING => {
                let text = format!(
                    "{} sent a link, not fetched: {url}: {MAX_WAITING} downloads already wait their turn (a flood of links cannot make this client open thousands of connections)",
                    self.short(from)
                );
                cx.narrate("download", &text);
                self.print(&text);
            }
            Ok((u, addr)) => {
                let job = Job::Download {
                    from: from.clone(),
                    url: url.to_string(),
                    dir: self.cache.attachments_dir(),
                    max: self.max_download,
                };
                self.jobs.push_back((job, u, addr));
            }
            Err(why) => {
                let text = format!(
                    "{} sent a link, not fetched: {url}: {why}",
                    self.short(from)
                );
                cx.narrate("download", &text);
                self.print(&text);
            }
        }
    }

    /// Where to connect for `u`, if it is on the chat server's host.
    fn on_server(&self, u: &HttpUrl) -> Result<SocketAddr, String> {
        let Some(addr) = self.server else {
            return Err("not connected to a chat server".into());
        };
        u.on_server(addr, &self.server_name)
    }

    /// An attachment went wrong: said, printed, and for `chat send` the
    /// command's failure.
    fn file_problem(&mut self, text: &str, cx: &mut Cx) {
        cx.narrate("attachment_error", text);
        match self.mode {
            Mode::Send { .. } => {
                self.problems.push(text.to_string());
                if !self.closing() {
                    self.waiting.push_back(Input::End);
                }
            }
            _ => self.print(text),
        }
    }

    /// The links the socket has taken: `attachment_sent`, and the cache.
    pub(super) fn files_written(&mut self, sent: u64, cx: &mut Cx) {
        while self
            .sent_files
            .front()
            .is_some_and(|(mark, _)| *mark <= sent)
        {
            let Some((_, a)) = self.sent_files.pop_front() else {
                break;
            };
            let n = match self.cache.add_attachment(&a) {
                Ok(n) => format!("#{n} in /attachments"),
                Err(e) => format!("NOT recorded in the cache: {e:#}"),
            };
            let text = format!(
                "sent {:?} to {}: the message with its link {} (XEP-0066) is written to the socket ({} bytes, sha256 {}; {n})",
                a.name,
                self.short(&a.peer),
                a.url,
                a.size,
                a.sha256
            );
            cx.narrate("attachment_sent", &text);
        }
    }
}
