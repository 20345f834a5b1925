//! Attachments the tutorial's way (curriculum §10): XMPP carries no files,
//! so a client asks the server for a slot, uploads the file over HTTP, and
//! sends the link in a message; the friend downloads it. XMPP standardised
//! exactly that as XEP-0363 (HTTP File Upload) with XEP-0066 (the link, out
//! of band, in the message). Three separate conversations, each narrated:
//! the slot request over XMPP (or JSON), the upload over HTTP, the link in a
//! message.
//!
//! ```text
//! slots.rs   who may upload what: size limits, quotas, unguessable ids
//! names.rs   file names from the wire made safe for URLs and disks
//! http.rs    the HTTP service on the chat server's loop: PUT into a slot,
//!            GET (and Range) out of it, streamed to and from disk
//! range.rs   one byte range of a file (`curl -r`), RFC 9110 §14
//! ```

pub mod http;
pub mod names;
pub mod range;
pub mod slots;

pub use slots::{FilesConfig, Slot, SlotError, request_slot};

/// XEP-0363's namespace.
pub const UPLOAD_NS: &str = "urn:xmpp:http:upload:0";
/// XEP-0066's namespace for a URL in a message.
pub const OOB_NS: &str = "jabber:x:oob";

/// XEP-0066: a URL carried beside a message's body, `<x xmlns='jabber:x:oob'><url>…</url></x>`.
pub fn oob(url: &str) -> crate::framing::xml::Element {
    use crate::chat::xmpp::write::El;
    El::new("x", OOB_NS)
        .child(El::new("url", OOB_NS).text(url))
        .build()
}

/// The XEP-0066 URL among a message's extension elements.
pub fn oob_url(extra: &[crate::framing::xml::Element]) -> Option<String> {
    extra
        .iter()
        .find(|e| e.name == "x" && &*e.namespace == OOB_NS)
        .and_then(|x| x.child("url"))
        .map(|u| u.text())
}
