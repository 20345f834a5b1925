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

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use super::slots::FilesConfig;
use crate::chat::session::{Ctx, Request};
use crate::chat::store::{Upload, now_ms};
use crate::framing::http::{Length, Message, Part};
use crate::framing::{Content, Frame};

/// Bytes read from disk per refill of a download.
const CHUNK: usize = 256 * 1024;

/// Where one connection of the file service is.
#[derive(Default)]
pub enum FileConn {
    /// Waiting for a request head.
    #[default]
    Idle,
    /// A PUT body is arriving into `part`.
    Upload {
        slot: Upload,
        file: File,
        part: PathBuf,
        written: u64,
    },
    /// A request was refused before its body: the body is read and dropped.
    Discard,
    /// A GET being sent: `left` more bytes from `file`.
    Download { file: File, left: u64 },
}

impl FileConn {
    /// Whether a response is still being sent (the next request waits).
    pub fn busy(&self) -> bool {
        matches!(self, FileConn::Download { .. })
    }

    /// Whether an accepted upload's body is being received.
    pub fn receiving(&self) -> bool {
        matches!(self, FileConn::Upload { .. })
    }

    /// One frame of the request.
    pub fn on_frame(&mut self, cx: &mut Ctx, frame: &Frame) {
        let Content::Http(part) = &frame.content else {
            return;
        };
        match part {
            Part::Head(head) => self.on_head(cx, head),
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
        let _ = head.wants_close();
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
        match head.body_length() {
            Length::Fixed(n) if n == slot.size => {}
            Length::Fixed(n) if n > slot.size => {
                let text = format!("the slot was for {} bytes and this body is {n}", slot.size);
                return self.refuse(cx, 413, "Content Too Large", &text, close);
            }
            Length::Fixed(n) => {
                let text = format!(
                    "the slot was for {} bytes and this body is {n}: the size must match",
                    slot.size
                );
                return self.refuse(cx, 400, "Bad Request", &text, close);
            }
            _ => {
                let text = format!(
                    "send the body with Content-Length: {} (the size the slot was given)",
                    slot.size
                );
                return self.refuse(cx, 411, "Length Required", &text, close);
            }
        }
        let part = files.dir.join(format!("{}.part", slot.id));
        let file = fs::create_dir_all(&files.dir).and_then(|()| {
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&part)
        });
        let file = match file {
            Ok(f) => f,
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
        *self = FileConn::Upload {
            slot,
            file,
            part,
            written: 0,
        };
    }

    fn on_body(&mut self, cx: &mut Ctx, data: &[u8]) {
        if let FileConn::Upload {
            file,
            written,
            part,
            ..
        } = self
        {
            if let Err(e) = file.write_all(data) {
                let _ = fs::remove_file(&*part);
                let text = format!("the server could not write the file: {e}");
                *self = FileConn::Discard;
                self.refuse(cx, 500, "Internal Server Error", &text, true);
                return;
            }
            *written += data.len() as u64;
        }
    }

    fn on_end(&mut self, cx: &mut Ctx) {
        match std::mem::take(self) {
            FileConn::Upload {
                slot,
                file,
                part,
                written,
            } => {
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
                    false,
                ));
            }
            FileConn::Discard | FileConn::Idle => {}
            d @ FileConn::Download { .. } => *self = d,
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
        let range = head.header("range").map(|r| parse_range(r, size));
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
        let mut head_text = format!(
            "HTTP/1.1 {code} {reason}\r\nServer: socklab/{}\r\nContent-Type: {}\r\nContent-Length: {len}\r\nContent-Disposition: attachment; filename=\"{}\"\r\nX-Content-Type-Options: nosniff\r\nAccept-Ranges: bytes\r\n",
            env!("CARGO_PKG_VERSION"),
            slot.content_type,
            slot.filename
        );
        if code == 206 {
            head_text.push_str(&format!(
                "Content-Range: bytes {from}-{}/{size}\r\n",
                from + len - 1
            ));
        }
        head_text.push_str(if close {
            "Connection: close\r\n\r\n"
        } else {
            "\r\n"
        });
        cx.send(head_text);
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
            *self = FileConn::Download { file, left: len };
        }
        if close {
            cx.request(Request::Close);
        }
    }

    /// More of a download, when the socket has room: at most [`CHUNK`].
    pub fn refill(&mut self) -> Option<Vec<u8>> {
        let FileConn::Download { file, left } = self else {
            return None;
        };
        let n = CHUNK.min(usize::try_from(*left).unwrap_or(CHUNK));
        let mut buf = vec![0; n];
        let got = match file.read(&mut buf) {
            Ok(0) | Err(_) => {
                // The file shrank under us: nothing more can be sent, and
                // the Content-Length promised more, so the client will see
                // the connection end short rather than a quiet lie.
                *self = FileConn::Idle;
                return None;
            }
            Ok(got) => got,
        };
        buf.truncate(got);
        *left -= got as u64;
        if *left == 0 {
            *self = FileConn::Idle;
        }
        Some(buf)
    }

    /// A request that can never be read (a smuggling shape, a head too
    /// large): answered with its status, then the connection closes.
    pub fn refuse_frame(&mut self, cx: &mut Ctx, e: &crate::framing::FrameError) {
        self.abandon();
        let code = e.http_status.unwrap_or(match e.kind {
            crate::framing::ErrorKind::TooLarge => 413,
            _ => 400,
        });
        if e.kind != crate::framing::ErrorKind::PeerClosedMidFrame {
            let text = format!("socklab could not read your request: {e}");
            self.refuse(cx, code, status_reason(code), &text, true);
        }
    }

    /// Nothing came for too long: 408, then the connection closes.
    pub fn timed_out(&mut self, cx: &mut Ctx, secs: u64) {
        self.abandon();
        let text =
            format!("nothing came for {secs} s: closing, so that idle connections cannot pile up");
        self.refuse(cx, 408, "Request Timeout", &text, true);
    }

    /// The connection ended: an unfinished upload leaves no file behind.
    pub fn abandon(&mut self) {
        if let FileConn::Upload { part, .. } = std::mem::take(self) {
            let _ = fs::remove_file(part);
        }
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
        *self = FileConn::Discard;
        if close {
            cx.request(Request::Close);
        }
    }
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

enum Range {
    /// Not one range socklab serves (several, or not bytes): the whole file.
    Ignore,
    /// First and last byte, inclusive.
    Bytes(u64, u64),
    Unsatisfiable,
}

/// RFC 9110 §14.1.2 for one range: `bytes=a-b`, `bytes=a-`, `bytes=-n`.
fn parse_range(value: &[u8], size: u64) -> Range {
    let Ok(v) = std::str::from_utf8(value) else {
        return Range::Ignore;
    };
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return Range::Ignore;
    };
    if spec.contains(',') {
        return Range::Ignore;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Range::Ignore;
    };
    let num = |s: &str| s.trim().parse::<u64>().ok();
    let (first, last) = match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => match num(b) {
            Some(0) | None => return Range::Unsatisfiable,
            Some(n) => (size.saturating_sub(n), size.saturating_sub(1)),
        },
        (false, true) => match num(a) {
            Some(a) => (a, size.saturating_sub(1)),
            None => return Range::Ignore,
        },
        (false, false) => match (num(a), num(b)) {
            (Some(a), Some(b)) if a <= b => (a, b.min(size.saturating_sub(1))),
            _ => return Range::Ignore,
        },
        (true, true) => return Range::Ignore,
    };
    if size == 0 || first >= size {
        Range::Unsatisfiable
    } else {
        Range::Bytes(first, last)
    }
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

    #[test]
    fn ranges_follow_rfc_9110() {
        let r = |s: &str| match parse_range(s.as_bytes(), 100) {
            Range::Bytes(a, b) => format!("{a}-{b}"),
            Range::Ignore => "all".into(),
            Range::Unsatisfiable => "416".into(),
        };
        assert_eq!(r("bytes=0-9"), "0-9");
        assert_eq!(r("bytes=90-"), "90-99");
        assert_eq!(r("bytes=-10"), "90-99");
        assert_eq!(r("bytes=50-500"), "50-99");
        assert_eq!(r("bytes=100-"), "416");
        assert_eq!(r("bytes=0-1,5-6"), "all");
        assert_eq!(r("items=0-1"), "all");
        assert_eq!(r("bytes=9-1"), "all");
    }
}
