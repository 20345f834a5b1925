//! The GET of a received attachment. The answer must be `200 OK` (we ask
//! for no Range, so anything else is not the whole file); its body goes
//! straight to a `.part` file as it arrives, hashed on the way. The length
//! is checked twice: the HTTP codec will not read past `Content-Length`,
//! and once the body is complete, any byte still coming (we asked the
//! server to close after its answer) means the server sent more than it
//! promised. A body cut short, or too long, leaves no file: the `.part`
//! is removed, and only a whole, checked body takes its name in the
//! attachments folder.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::transfer::Finished;
use super::url::HttpUrl;
use super::{Done, hex, mib, place};
use crate::framing::http::{Field, Length, Part, Sample, Start, request_with};
use crate::trace::{Event, Side, Tracer};

/// After a whole body, how long to wait for the server's FIN before
/// keeping the file anyway (a server that ignores `Connection: close`).
pub const AFTER_END: Duration = Duration::from_secs(2);

pub struct Down {
    dir: PathBuf,
    /// The name from the URL, as sent (made safe when the file is kept).
    wire_name: String,
    part: Option<(File, PathBuf)>,
    status: Option<(u16, String)>,
    /// Content-Length, when the answer has one.
    promised: Option<u64>,
    /// `--max-download`: a body past this is refused, whatever it promised.
    max: u64,
    got: u64,
    hash: Sha256,
    ended: bool,
    said: Sample,
}

/// The request: GET, and `Connection: close`, so that the server's FIN
/// tells us nothing more is coming.
pub fn head(url: &HttpUrl) -> Vec<u8> {
    let close = [Field {
        name: "Connection".into(),
        value: "close".into(),
    }];
    request_with("GET", &url.path, &url.authority(), b"", "", &close)
}

pub fn narration(url: &HttpUrl, peer: SocketAddr) -> String {
    format!(
        "GET {} HTTP/1.1 to {peer}: downloading the attachment (no Range: the whole file)",
        url.path
    )
}

impl Down {
    pub fn new(dir: PathBuf, url: &HttpUrl, max: u64) -> Down {
        Down {
            dir,
            wire_name: url.file_name(),
            part: None,
            status: None,
            promised: None,
            max,
            got: 0,
            hash: Sha256::new(),
            ended: false,
            said: Sample::keeping(300),
        }
    }

    /// The whole body has arrived.
    pub fn ended(&self) -> bool {
        self.ended
    }

    fn ok(&self) -> bool {
        matches!(self.status, Some((200, _)))
    }

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
                if !self.ok() {
                    return None;
                }
                self.promised = match m.body_length() {
                    Length::Fixed(n) => Some(n),
                    Length::Chunked | Length::UntilClose => None,
                };
                if let Some(n) = self.promised.filter(|n| *n > self.max) {
                    return Some(Err(self.too_big(n)));
                }
                match place::part_file(&self.dir) {
                    Ok(p) => self.part = Some(p),
                    Err(e) => {
                        return Some(Err(format!(
                            "cannot write in the attachments folder {}: {e}",
                            self.dir.display()
                        )));
                    }
                }
                let promised = self.promised.map_or(
                    "no Content-Length (the body runs to the end)".to_string(),
                    |n| format!("Content-Length {n} ({})", mib(n)),
                );
                let text = format!(
                    "GET {}: 200 OK, {promised}: writing it to a .part file as it arrives",
                    url.path
                );
                t.emit(
                    Side::Client,
                    Some(id),
                    Event::Chat {
                        action: "download",
                        user,
                        text: &text,
                    },
                );
                None
            }
            Part::Body(_) => {
                let data = part.body(wire).unwrap_or_default();
                if !self.ok() {
                    self.said.push(data);
                    return None;
                }
                let Some((file, path)) = &mut self.part else {
                    return None;
                };
                if let Err(e) = file.write_all(data) {
                    return Some(Err(format!("cannot write {}: {e}", path.display())));
                }
                self.hash.update(data);
                self.got += data.len() as u64;
                if self.got > self.max {
                    return Some(Err(self.too_big(self.got)));
                }
                None
            }
            Part::End(_) => {
                let Some((code, reason)) = self.status.clone().filter(|_| self.ok()) else {
                    let (code, reason) = self.status.clone().unwrap_or((0, String::new()));
                    let said = String::from_utf8_lossy(self.said.bytes())
                        .trim()
                        .to_string();
                    let text = format!(
                        "the file service answered {code} {reason} (\"{said}\"): the link may have expired or be wrong; nothing was saved"
                    );
                    return Some(Err(text));
                };
                if self.promised.is_some_and(|p| p != self.got) {
                    return Some(Err(self.cut_short("the body ended early")));
                }
                self.ended = true;
                let text = format!(
                    "GET {}: {code} {reason}, {} bytes received, all that was promised",
                    url.path, self.got
                );
                t.emit(
                    Side::Client,
                    Some(id),
                    Event::Chat {
                        action: "download",
                        user,
                        text: &text,
                    },
                );
                None
            }
        }
    }

    /// Bytes arrived after the whole body: the server sent more than promised.
    pub fn after_end(&self, extra: usize) -> Option<Finished> {
        (extra > 0).then(|| {
            Err(format!(
                "the file service sent more than the {} bytes its Content-Length promised ({extra} more so far): the body is not what was announced, so nothing was saved",
                self.got
            ))
        })
    }

    /// A file over `--max-download`: refused before the disk fills.
    fn too_big(&self, n: u64) -> String {
        format!(
            "the file is {n} bytes or more ({}), over this client's --max-download of {} ({}): nothing was saved; run the client with a larger --max-download to accept it",
            mib(n),
            self.max,
            mib(self.max)
        )
    }

    /// Why an unfinished body was not kept.
    pub fn cut_short(&self, why: &str) -> String {
        let of = self.promised.map_or(String::new(), |p| {
            format!(" of the {p} promised (Content-Length)")
        });
        format!(
            "the download stopped after {} bytes{of}: {why}; the incomplete file was removed, nothing was saved",
            self.got
        )
    }

    /// The body is whole: the `.part` file takes a safe name in the folder.
    pub fn keep(&mut self) -> Finished {
        let Some((file, part)) = self.part.take() else {
            return Err("the download has no file to keep".into());
        };
        if let Err(e) = file.sync_all() {
            let _ = std::fs::remove_file(&part);
            return Err(format!("cannot write {}: {e}", part.display()));
        }
        drop(file);
        let name = place::local_name(&self.wire_name);
        let path = place::keep(&part, &self.dir, &name).map_err(|e| {
            let _ = std::fs::remove_file(&part);
            format!("cannot name the file in {}: {e}", self.dir.display())
        })?;
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        Ok(Done::Saved {
            name: self.wire_name.clone(),
            path,
            size: self.got,
            sha256: hex(&self.hash.clone().finalize()),
        })
    }

    /// A failed download leaves nothing behind.
    pub fn discard(self) {
        if let Some((file, part)) = self.part {
            drop(file);
            let _ = std::fs::remove_file(part);
        }
    }
}
