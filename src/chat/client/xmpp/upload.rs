//! The slot request of XEP-0363 §4, the client's side: an iq get to the
//! upload service with the file's name, size and type; the answer holds a
//! `<slot>` with the PUT URL and the GET URL, or an error — for a file
//! too large, `<file-too-large><max-file-size>` says the limit.
//!
//! The service is `upload.DOMAIN`: that is where socklab's server (and
//! Prosody's and ejabberd's usual set-up) puts it, and the address its
//! disco#items lists. A server without it answers service-unavailable,
//! which the chat explains.

use super::{Pending, XmppClient, elements};
use crate::chat::client::wire::{Cx, Refusal, Update};
use crate::chat::files::UPLOAD_NS;
use crate::chat::xmpp::write::El;
use crate::framing::xml::Element;

impl XmppClient {
    pub(super) fn ask_slot(&mut self, cx: &mut Cx, name: &str, size: u64) -> String {
        let service = format!("upload.{}", self.domain());
        let iq = El::stanza("iq")
            .attr("type", "get")
            .attr("to", &service)
            .child(
                El::new("request", UPLOAD_NS)
                    .attr("filename", name)
                    .attr("size", size.to_string())
                    .attr("content-type", "application/octet-stream"),
            );
        let id = self.request(cx, "slot", iq, Pending::Slot);
        let text = format!(
            "asking {service} for an upload slot: <request xmlns='{UPLOAD_NS}' filename={name:?} size='{size}'/> (XEP-0363 §4); the answer is a PUT URL and a GET URL"
        );
        cx.narrate("upload_slot", &text);
        id
    }

    /// The answer to a slot request.
    pub(super) fn slot_result(&mut self, cx: &mut Cx, iq: &Element, id: &str) {
        let slot = elements(iq).find(|e| e.name == "slot" && &*e.namespace == UPLOAD_NS);
        let url = |name: &str| {
            slot.and_then(|s| elements(s).find(|e| e.name == name))
                .and_then(|e| e.attr("url").map(str::to_string))
        };
        match (url("put"), url("get")) {
            (Some(put), Some(get)) => cx.update(Update::Slot {
                id: Some(id.to_string()),
                put,
                get,
            }),
            _ => cx.update(Update::SlotRefused {
                id: Some(id.to_string()),
                refusal: Refusal {
                    stanza: "upload slot request".into(),
                    peer: None,
                    id: Some(id.to_string()),
                    condition: "bad-request".into(),
                    text: "the answer holds no <slot> with a put and a get URL".into(),
                },
                max: None,
            }),
        }
    }

    /// The refusal of a slot request; `max` from `<file-too-large>`.
    pub(super) fn slot_error(cx: &mut Cx, iq: &Element, refusal: Refusal) {
        let max = iq
            .child("error")
            .and_then(|e| elements(e).find(|c| c.name == "file-too-large"))
            .and_then(|f| f.child("max-file-size"))
            .and_then(|m| m.text().trim().parse().ok());
        cx.update(Update::SlotRefused {
            id: refusal.id.clone(),
            refusal: Refusal {
                stanza: "upload slot request".into(),
                ..refusal
            },
            max,
        });
    }
}
