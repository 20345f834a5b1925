//! The file service's HTTP (XEP-0363 §5): a PUT into a slot, a GET (or
//! HEAD, or a Range) out of it, on the chat server's own loop and with
//! socklab's own HTTP framing.
//!
//! Nothing is held whole in memory. An upload's body arrives in pieces
//! ([`Part::Body`]) and each piece is written to `files/<id>.part` as it
//! comes; the file takes its final name only once every byte the slot
//! promised is there. A download is read from disk a chunk at a time, when
//! the socket has room for more, so a slow reader makes the server read
//! slowly rather than buffer.
//!
//! The rules that keep the service honest: an upload needs a slot, matches
//! its size exactly, happens once, and before the slot expires; a file is
//! served only to whoever knows its URL (the id is 128 random bits), as an
//! attachment (`Content-Disposition`), never sniffed into something a
//! browser would run (`X-Content-Type-Options: nosniff`).
//!
//! And the rules that keep it alive: a connection that waits for a request
//! gets the idle time for the whole head, however slowly its bytes trickle
//! (a "slowloris" keeps a socket busy with one byte now and then); an
//! upload's body or a download may pause for the idle time between reads or
//! writes, no longer. Then 408, or for a download nobody reads, the close.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::range::{self, Range};
use super::slots::FilesConfig;
use crate::chat::session::{Ctx, Request};
use crate::chat::store::{Upload, now_ms};
use crate::framing::http::{Length, Message, Part};
use crate::framing::{Content, Frame};
use crate::trace::{Event, Side, Tracer};

/// Bytes read from disk per refill of a download.
const CHUNK: usize = 256 * 1024;
/// Chunks kept for reuse: what can be queued at once (the loop refills
/// while under 512 KiB wait, so at most three are out), and one more.
const SPARE: usize = 4;

/// What one connection of the file service is doing.
enum Stage {
    /// Waiting for a request head (or answered, and waiting for the next).
    Idle,
    /// A PUT body is arriving into `part`.
    Upload {
        slot: Upload,
        file: File,
        part: PathBuf,
        written: u64,
        /// The request said `Connection: close`.
        close: bool,
    },
    /// A GET being sent: `left` more bytes from `file`, of `len`.
    Download { file: File, left: u64, len: u64 },
}

/// One connection of the file service.
pub struct FileConn {
    stage: Stage,
    /// When the connection began waiting for its next request: the head
    /// must be whole within the idle time from then.
    waiting_since: Instant,
    /// The download's request said `Connection: close`: close once it is out.
    close_after: bool,
    /// Chunks of this download the socket has taken, to be filled again: a
    /// fresh 256 KiB buffer per refill is fresh pages, and their page
    /// faults cost more than reading the file into them.
    spare: Vec<Vec<u8>>,
}

impl Default for FileConn {
    fn default() -> FileConn {
        FileConn {
            stage: Stage::Idle,
            waiting_since: Instant::now(),
            close_after: false,
            spare: Vec::new(),
        }
    }
}

impl FileConn {
    /// Whether a response is still being sent (the next request waits).
    pub fn busy(&self) -> bool {
        matches!(self.stage, Stage::Download { .. })
    }

    /// Whether an accepted upload's body is being received.
    pub fn receiving(&self) -> bool {
        matches!(self.stage, Stage::Upload { .. })
    }

    /// When the connection has been quiet too long: the idle time after it
    /// began waiting for a request (a trickling head does not move this),
    /// or after the last byte moved (`last_activity`) during a body.
    pub fn deadline(&self, last_activity: Instant, idle: Duration) -> Instant {
        match self.stage {
            Stage::Idle => self.waiting_since + idle,
            Stage::Upload { .. } | Stage::Download { .. } => last_activity + idle,
        }
    }

    /// A download was sent whole to a request that asked to close after
    /// it: true once, when it is time to close.
    pub fn close_due(&mut self) -> bool {
        matches!(self.stage, Stage::Idle) && std::mem::take(&mut self.close_after)
    }

    /// The answer is out (or queued whole): the next request's head may
    /// take the idle time from now.
    fn answered(&mut self) {
        self.stage = Stage::Idle;
        self.spare = Vec::new();
        self.waiting_since = Instant::now();
    }

    /// One frame of the request.
    pub fn on_frame(&mut self, cx: &mut Ctx, frame: &Frame) {
        let Content::Http(part) = &frame.content else {
            return;
        };
        match part {
            Part::Head(head) => {
                self.on_head(cx, head);
                if matches!(self.stage, Stage::Idle) {
                    self.waiting_since = Instant::now();
                }
            }
            Part::Body(_) => {
                let data = part.body(&frame.wire).unwrap_or_default();
                self.on_body(cx, data);
            }
            Part::End(_) => self.on_end(cx),
        }
    }

    fn on_head(&mut self, cx: &mut Ctx, head: &Message) {
        let Some(files) = cx.config.files.clone() else {
            return;
        };
        let method = head.method().unwrap_or_default().to_string();
        let target = match head.start() {
            crate::framing::http::Start::Request { target, .. } => target.to_string(),
            _ => String::new(),
        };
        let close = head.wants_close();
        let Some((kind, id)) = route(&target) else {
            return self.refuse(
                cx,
                404,
                "Not Found",
                "no such file: file URLs are /files/ID/NAME, upload URLs /upload/ID/NAME",
                close,
            );
        };
        let slot = cx.core.store.upload(id).ok().flatten();
        match (method.as_str(), kind, slot) {
            ("PUT", Route::Upload, Some(slot)) => self.start_upload(cx, head, slot, &files),
            ("PUT", Route::Upload, None) => {
                self.refuse(cx, 403, "Forbidden", "no slot has this id: ask for a slot first (XEP-0363), then PUT to the URL it gives", true)
            }
            ("GET" | "HEAD", Route::Files, Some(slot)) if slot.stored => {
                self.start_download(cx, head, &slot, &files, method == "HEAD")
            }
            ("GET" | "HEAD", Route::Files, _) => self.refuse(cx, 404, "Not Found", "no file has this id (or it has not been uploaded yet)", close),
            (_, Route::Upload, _) => self.refuse(cx, 405, "Method Not Allowed", "an upload URL takes PUT", close),
            (_, Route::Files, _) => self.refuse(cx, 405, "Method Not Allowed", "a file URL takes GET or HEAD", close),
        }
    }

    fn start_upload(&mut self, cx: &mut Ctx, head: &Message, slot: Upload, files: &FilesConfig) {
        // A refused PUT's body would still be on its way: close rather than
        // read (and drop) what may be gigabytes.
        let close = true;
        if slot.stored {
            return self.refuse(
                cx,
                409,
                "Conflict",
                "this slot's file is already uploaded: a slot takes one file, once",
                close,
            );
        }
        if slot.expires_ms <= now_ms() {
            return self.refuse(
                cx,
                410,
                "Gone",
                "this slot expired before the upload began: ask for a new one",
                close,
            );
        }
        if let Err((code, reason, text)) = length_matches(head.body_length(), slot.size) {
            return self.refuse(cx, code, reason, &text, close);
        }
        let part = files.dir.join(format!("{}.part", slot.id));
        // create_new: a second PUT into the same slot while the first is
        // under way must not write into (and truncate) the same file.
        let file = fs::create_dir_all(&files.dir).and_then(|()| {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&part)
        });
        let file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = "an upload into this slot is under way on another connection: a slot takes one file, once";
                return self.refuse(cx, 409, "Conflict", text, close);
            }
            Err(e) => {
                let text = format!("the server cannot write the file: {e}");
                return self.refuse(cx, 500, "Internal Server Error", &text, true);
            }
        };
        let text = format!(
            "upload begins: PUT for slot {} ({:?}, {} bytes) — streamed to {} as it arrives, renamed when complete",
            slot.id,
            slot.filename,
            slot.size,
            part.display()
        );
        cx.narrate("upload", &slot.owner, &text);
        self.stage = Stage::Upload {
            slot,
            file,
            part,
            written: 0,
            close: head.wants_close(),
        };
    }

    fn on_body(&mut self, cx: &mut Ctx, data: &[u8]) {
        if let Stage::Upload {
            file,
            written,
            part,
            ..
        } = &mut self.stage
        {
            if let Err(e) = file.write_all(data) {
                let _ = fs::remove_file(&*part);
                let text = format!("the server could not write the file: {e}");
                self.stage = Stage::Idle;
                self.refuse(cx, 500, "Internal Server Error", &text, true);
                return;
            }
            *written += data.len() as u64;
        }
    }

    fn on_end(&mut self, cx: &mut Ctx) {
        let Stage::Upload {
            slot,
            file,
            part,
            written,
            close,
        } = std::mem::replace(&mut self.stage, Stage::Idle)
        else {
            return;
        };
        drop(file);
        let dest = part.with_extension("");
        let stored = fs::rename(&part, &dest)
            .map_err(anyhow::Error::from)
            .and_then(|()| cx.core.store.upload_stored(&slot.id));
        if let Err(e) = stored {
            let _ = fs::remove_file(&part);
            let text = format!("the server could not keep the file: {e:#}");
            return self.refuse(cx, 500, "Internal Server Error", &text, true);
        }
        let text = format!(
            "upload complete: {written} bytes into {} (a name the server chose, not the client's {:?}); 201 Created",
            dest.display(),
            slot.filename
        );
        cx.narrate("upload", &slot.owner, &text);
        let body = format!("stored {written} bytes\n");
        cx.send(crate::framing::http::response(
            201,
            "Created",
            "text/plain; charset=utf-8",
            body.as_bytes(),
            close,
        ));
        self.answered();
        if close {
            cx.request(Request::Close);
        }
    }

    fn start_download(
        &mut self,
        cx: &mut Ctx,
        head: &Message,
        slot: &Upload,
        files: &FilesConfig,
        head_only: bool,
    ) {
        let close = head.wants_close();
        let path = files.dir.join(&slot.id);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                let text = format!("the stored file cannot be read: {e}");
                return self.refuse(cx, 500, "Internal Server Error", &text, close);
            }
        };
        let size = slot.size;
        let range = head.header("range").map(|r| range::parse(r, size));
        let (code, reason, from, len) = match range {
            None | Some(Range::Ignore) => (200, "OK", 0, size),
            Some(Range::Bytes(a, b)) => (206, "Partial Content", a, b - a + 1),
            Some(Range::Unsatisfiable) => {
                let head = format!(
                    "HTTP/1.1 416 Range Not Satisfiable\r\nServer: socklab/{}\r\nContent-Range: bytes */{size}\r\nContent-Length: 0\r\n\r\n",
                    env!("CARGO_PKG_VERSION")
                );
                cx.narrate("download", &slot.owner, "a Range outside the file: 416");
                cx.send(head);
                if close {
                    cx.request(Request::Close);
                }
                return;
            }
        };
        if from > 0 && file.seek(SeekFrom::Start(from)).is_err() {
            return self.refuse(
                cx,
                500,
                "Internal Server Error",
                "the stored file cannot be read",
                close,
            );
        }
        cx.send(download_head(slot, code, reason, from, len, close));
        let text = format!(
            "download: {} {:?}, {len} of {size} bytes{} — read from disk a chunk at a time, as the socket takes them",
            if head_only { "HEAD" } else { "GET" },
            slot.filename,
            if code == 206 {
                format!(" from byte {from} (Range)")
            } else {
                String::new()
            }
        );
        cx.narrate("download", &slot.owner, &text);
        if !head_only && len > 0 {
            self.stage = Stage::Download {
                file,
                left: len,
                len,
            };
            // Closing now would cut the body short: the loop closes once
            // the last chunk is queued (`close_due`).
            self.close_after = close;
        } else if close {
            cx.request(Request::Close);
        }
    }

    /// More of a download, when the socket has room: at most [`CHUNK`].
    pub fn refill(&mut self) -> Option<Vec<u8>> {
        let Stage::Download { file, left, .. } = &mut self.stage else {
            return None;
        };
        let n = CHUNK.min(usize::try_from(*left).unwrap_or(CHUNK));
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.resize(n, 0);
        let got = match file.read(&mut buf) {
            Ok(0) | Err(_) => {
                // The file shrank under us: nothing more can be sent, and
                // the Content-Length promised more, so the client will see
                // the connection end short rather than a quiet lie.
                self.close_after = true;
                self.answered();
                return None;
            }
            Ok(got) => got,
        };
        buf.truncate(got);
        *left -= got as u64;
        if *left == 0 {
            self.answered();
        }
        Some(buf)
    }

    /// A chunk the socket has taken whole: kept for the next refill while
    /// the download lasts (as many as can be in flight), dropped after.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if self.busy() && buf.capacity() >= CHUNK && self.spare.len() < SPARE {
            self.spare.push(buf);
        }
    }

    /// A request that can never be read (a smuggling shape, a head too
    /// large): answered with its status, then the connection closes.
    pub fn refuse_frame(&mut self, cx: &mut Ctx, e: &crate::framing::FrameError) {
        self.abandon(cx.t, cx.id);
        let code = e.http_status.unwrap_or(match e.kind {
            crate::framing::ErrorKind::TooLarge => 413,
            _ => 400,
        });
        if e.kind != crate::framing::ErrorKind::PeerClosedMidFrame {
            let text = format!("socklab could not read your request: {e}");
            self.refuse(cx, code, status_reason(code), &text, true);
        }
    }

    /// Nothing came for too long: 408, then the connection closes. A
    /// download nobody reads is closed without one (its body is under way:
    /// there is no room for another answer).
    pub fn timed_out(&mut self, cx: &mut Ctx, secs: u64) {
        if let Stage::Download { left, len, .. } = self.stage {
            let text = format!(
                "download stalled: {} of {len} bytes sent, and the client has taken nothing for {secs} s: closing, so that a reader that went away cannot hold the connection",
                len - left
            );
            cx.narrate("download", "", &text);
            self.stage = Stage::Idle;
            return cx.request(Request::Close);
        }
        self.abandon(cx.t, cx.id);
        let text =
            format!("nothing came for {secs} s: closing, so that idle connections cannot pile up");
        self.refuse(cx, 408, "Request Timeout", &text, true);
    }

    /// The connection ended: an unfinished upload leaves no file behind.
    pub fn abandon(&mut self, t: &mut Tracer, conn: u64) {
        let Stage::Upload {
            slot,
            part,
            written,
            ..
        } = std::mem::replace(&mut self.stage, Stage::Idle)
        else {
            return;
        };
        let _ = fs::remove_file(&part);
        let text = format!(
            "upload abandoned: {written} of {} bytes arrived before the connection ended; {} is removed, and the slot takes the file again until it expires",
            slot.size,
            part.display()
        );
        t.emit(
            Side::Server,
            Some(conn),
            Event::Chat {
                action: "upload",
                user: &slot.owner,
                text: &text,
            },
        );
    }

    fn refuse(&mut self, cx: &mut Ctx, code: u16, reason: &str, text: &str, close: bool) {
        cx.narrate("file_refused", "", &format!("{code} {reason}: {text}"));
        let body = format!("{text}\n");
        cx.send(crate::framing::http::response(
            code,
            reason,
            "text/plain; charset=utf-8",
            body.as_bytes(),
            close,
        ));
        self.answered();
        if close {
            cx.request(Request::Close);
        }
    }
}

/// Whether a PUT's body is the size its slot was given; if not, the
/// status, its reason phrase and why.
fn length_matches(length: Length, size: u64) -> Result<(), (u16, &'static str, String)> {
    match length {
        Length::Fixed(n) if n == size => Ok(()),
        Length::Fixed(n) if n > size => Err((
            413,
            "Content Too Large",
            format!("the slot was for {size} bytes and this body is {n}"),
        )),
        Length::Fixed(n) => Err((
            400,
            "Bad Request",
            format!("the slot was for {size} bytes and this body is {n}: the size must match"),
        )),
        _ => Err((
            411,
            "Length Required",
            format!("send the body with Content-Length: {size} (the size the slot was given)"),
        )),
    }
}

/// The head of a download: the file as an attachment, never sniffed.
fn download_head(
    slot: &Upload,
    code: u16,
    reason: &str,
    from: u64,
    len: u64,
    close: bool,
) -> String {
    let mut head = format!(
        "HTTP/1.1 {code} {reason}\r\nServer: socklab/{}\r\nContent-Type: {}\r\nContent-Length: {len}\r\nContent-Disposition: attachment; filename=\"{}\"\r\nX-Content-Type-Options: nosniff\r\nAccept-Ranges: bytes\r\n",
        env!("CARGO_PKG_VERSION"),
        slot.content_type,
        slot.filename
    );
    if code == 206 {
        head.push_str(&format!(
            "Content-Range: bytes {from}-{}/{}\r\n",
            from + len - 1,
            slot.size
        ));
    }
    head.push_str(if close {
        "Connection: close\r\n\r\n"
    } else {
        "\r\n"
    });
    head
}

/// Partial uploads a previous run left behind (it was killed mid-upload):
/// at start no upload is under way, so each `.part` is garbage, and would
/// make its slot refuse the retry as "under way". Returns how many went.
pub fn remove_partials(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "part"))
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .count()
}

/// The reason phrases of the statuses the file service answers with.
fn status_reason(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Error",
    }
}

enum Route {
    Upload,
    Files,
}

/// `/upload/ID/NAME` or `/files/ID/NAME`: which, and the id (32 hex digits).
fn route(target: &str) -> Option<(Route, &str)> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let mut parts = path.trim_start_matches('/').splitn(3, '/');
    let kind = match parts.next()? {
        "upload" => Route::Upload,
        "files" => Route::Files,
        _ => return None,
    };
    let id = parts.next()?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some((kind, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_slot_by_32_hex_digits() {
        let id = "0123456789abcdef0123456789abcdef";
        assert!(matches!(route(&format!("/files/{id}/a.jpg")), Some((Route::Files, i)) if i == id));
        assert!(matches!(
            route(&format!("/upload/{id}/x")),
            Some((Route::Upload, _))
        ));
        assert!(route("/files/../etc/passwd").is_none());
        assert!(route("/files/123/x").is_none());
        assert!(route("/other").is_none());
    }
}
