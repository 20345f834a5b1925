//! The PUT of an upload (XEP-0363 §5): a head that says how long the body
//! is (the slot's size exactly: the server refuses any other length), then
//! the file, read from disk a chunk at a time, only while the socket's
//! queue is short. A fast disk and a slow network therefore cost one chunk
//! or so of memory, never the file. The answer is `201 Created`; anything
//! else is the server's refusal, which comes with its reason in the body.

use std::fs::File;
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;

use sha2::{Digest, Sha256};

use super::transfer::Finished;
use super::url::HttpUrl;
use super::{CHUNK, Done, hex, mib};
use crate::framing::http::{Field, Part, Sample, Start, request_with};
use crate::net::conn::Conn;
use crate::trace::{Event, Side, Tracer};

/// Refill the socket's queue while it holds less than this.
const LOW_WATER: usize = 4 * CHUNK;

pub struct Up {
    file: File,
    size: u64,
    /// File bytes queued on the connection so far.
    queued: u64,
    hash: Sha256,
    /// The answer's status line, once its head came.
    status: Option<(u16, String)>,
    said: Sample,
}

impl Up {
    pub fn open(path: &Path, size: u64) -> Result<Up, String> {
        let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(Up {
            file,
            size,
            queued: 0,
            hash: Sha256::new(),
            status: None,
            said: Sample::keeping(300),
        })
    }

    /// The request head: PUT, the slot's length, and `Connection: close`
    /// (one request on this connection).
    pub fn head(&self, url: &HttpUrl) -> Vec<u8> {
        let field = |name: &str, value: String| Field {
            name: name.into(),
            value,
        };
        let extra = [
            field("Content-Length", self.size.to_string()),
            field("Connection", "close".into()),
        ];
        request_with(
            "PUT",
            &url.path,
            &url.authority(),
            b"",
            "application/octet-stream",
            &extra,
        )
    }

    pub fn narration(&self, url: &HttpUrl, peer: SocketAddr) -> String {
        format!(
            "PUT {} HTTP/1.1 to {peer}: Content-Length {} ({}), the file streamed from disk {} KiB at a time as the socket takes it",
            url.path,
            self.size,
            mib(self.size),
            CHUNK / 1024
        )
    }

    pub fn all_queued(&self) -> bool {
        self.queued >= self.size
    }

    /// Queues the next chunks of the file while the connection's queue is short.
    pub fn refill(&mut self, conn: &mut Conn) -> Result<(), String> {
        while conn.queued() < LOW_WATER && !self.all_queued() {
            let want = CHUNK.min(usize::try_from(self.size - self.queued).unwrap_or(CHUNK));
            let mut chunk = vec![0; want];
            let n = self
                .file
                .read(&mut chunk)
                .map_err(|e| format!("reading the file failed after {} bytes: {e}", self.queued))?;
            if n == 0 {
                return Err(format!(
                    "the file ended after {} of the {} bytes it had when the slot was asked for: it changed while being sent; send it again",
                    self.queued, self.size
                ));
            }
            chunk.truncate(n);
            self.hash.update(&chunk);
            self.queued += n as u64;
            conn.queue(Rc::new(chunk));
        }
        Ok(())
    }

    /// One part of the server's answer.
    pub fn on_part(
        &mut self,
        t: &mut Tracer,
        user: &str,
        id: u64,
        url: &HttpUrl,
        part: &Part,
        wire: &[u8],
    ) -> Option<Finished> {
        match part {
            Part::Head(m) => {
                if let Start::Response { code, reason, .. } = m.start() {
                    self.status = Some((code, reason.to_string()));
                }
                None
            }
            Part::Body(_) => {
                self.said.push(part.body(wire).unwrap_or_default());
                None
            }
            Part::End(_) => {
                let (code, reason) = self.status.clone().unwrap_or((0, String::new()));
                let said = String::from_utf8_lossy(self.said.bytes())
                    .trim()
                    .to_string();
                if (200..300).contains(&code) && self.all_queued() {
                    let sha256 = hex(&self.hash.clone().finalize());
                    let text = format!(
                        "PUT {}: {code} {reason}, {} bytes uploaded (sha256 {sha256})",
                        url.path, self.size
                    );
                    t.emit(
                        Side::Client,
                        Some(id),
                        Event::Chat {
                            action: "upload",
                            user,
                            text: &text,
                        },
                    );
                    return Some(Ok(Done::Uploaded { sha256 }));
                }
                let text = format!("PUT {}: {code} {reason} — {said}", url.path);
                t.emit(
                    Side::Client,
                    Some(id),
                    Event::Chat {
                        action: "upload",
                        user,
                        text: &text,
                    },
                );
                Some(Err(refusal(code, &reason, &said)))
            }
        }
    }
}

/// The file service's refusal, with what to do.
fn refusal(code: u16, reason: &str, said: &str) -> String {
    let next = match code {
        413 => "the file is over the server's limit: send a smaller one",
        403 | 404 | 409 | 410 => {
            "the slot cannot be used (expired, used, or unknown): send the file again for a new slot"
        }
        500..=599 => "the server failed: try again later, and see its narration",
        _ => "see the server's reason",
    };
    let said = if said.is_empty() {
        String::new()
    } else {
        format!(" (the server says \"{said}\")")
    };
    format!("the file service refused the upload: {code} {reason}{said}; {next}")
}
