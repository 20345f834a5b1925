//! Attachments, the client's side of XEP-0363 and XEP-0066: three separate
//! conversations, each narrated. To send a file, the client asks the chat
//! server for a slot (an iq, or a JSON `upload` object) and gets a PUT URL
//! and a GET URL; it uploads the file with an HTTP PUT on a second socket;
//! then it sends a message whose body is the GET URL, with the URL again in
//! `<x xmlns='jabber:x:oob'><url>` (JSON: `"url"`). A client receiving such
//! a message downloads the URL with an HTTP GET into its attachments folder.
//!
//! Both HTTP conversations run on the chat's own mio loop, beside the chat
//! connection, with socklab's HTTP framing reading the answers: the file is
//! streamed from disk to the socket a chunk at a time as the socket takes
//! it, and from the socket to disk as it arrives, so memory stays bounded
//! whatever the file's size.
//!
//! ```text
//! mod.rs       what a transfer is for (Job) and what it gave (Done)
//! url.rs       http:// URLs from the wire, and the same-host rule
//! place.rs     safe names in the attachments folder, .part files
//! transfer.rs  the HTTP connection on the loop: connect, write, read, deadline
//! upload.rs    the PUT: the head, the file in chunks, the answer
//! download.rs  the GET: the answer's body to a .part file, checked, kept
//! ```

mod download;
pub mod place;
pub mod transfer;
mod upload;
pub mod url;

use std::path::PathBuf;

use crate::chat::jid::Jid;

pub use transfer::Transfer;

/// Bytes read from the file per chunk of an upload.
const CHUNK: usize = 64 * 1024;
/// How long a transfer may go without a byte moving.
pub const IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// What a transfer is for.
#[derive(Clone, Debug)]
pub enum Job {
    /// PUT `path` to `put`; then send `get` to `to`.
    Upload {
        to: Jid,
        path: PathBuf,
        name: String,
        size: u64,
        put: String,
        get: String,
    },
    /// GET `url`, which `from` sent, into `dir`.
    Download {
        from: Jid,
        url: String,
        dir: PathBuf,
        /// `--max-download`: the most this file may be.
        max: u64,
    },
}

impl Job {
    /// The URL this job's HTTP request goes to.
    pub fn url(&self) -> &str {
        match self {
            Job::Upload { put, .. } => put,
            Job::Download { url, .. } => url,
        }
    }
}

/// What a finished transfer gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Done {
    /// The server stored the file: its bytes' SHA-256.
    Uploaded { sha256: String },
    /// The file is in the attachments folder, whole and checked.
    Saved {
        name: String,
        path: PathBuf,
        size: u64,
        sha256: String,
    },
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `5.0 MiB` beside a byte count, for people.
pub fn mib(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
}
