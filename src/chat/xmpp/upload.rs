//! The upload service (XEP-0363) as XMPP sees it: `upload.DOMAIN`, found
//! through service discovery (an item of the domain, with the identity
//! `store/file`, the feature `urn:xmpp:http:upload:0` and the largest file
//! in a form), answering slot requests with a PUT URL and a GET URL.

use super::iq::upload_jid;
use super::write::El;
use super::{DISCO_INFO_NS, DISCO_ITEMS_NS};
use crate::chat::core::StanzaError;
use crate::chat::files::{SlotError, UPLOAD_NS, request_slot};
use crate::chat::jid::Jid;
use crate::chat::session::Ctx;
use crate::framing::xml::{Element, Node};

const DATA_NS: &str = "jabber:x:data";

/// An iq addressed to `upload.DOMAIN`.
pub fn handle(cx: &mut Ctx, me: &Jid, iq: &Element, kind: &str) -> Result<(), StanzaError> {
    if matches!(kind, "result" | "error") {
        return Ok(());
    }
    let Some(files) = cx.config.files.clone() else {
        return Err(StanzaError::service_unavailable(
            "this server runs no file service",
        ));
    };
    let service = upload_jid(&cx.config.domain);
    let payload = iq.children.iter().find_map(|c| match c {
        Node::Element(e) => Some(e),
        Node::Text(_) => None,
    });
    let Some(payload) = payload else {
        return Err(StanzaError::new("bad-request", "modify", "the iq is empty"));
    };
    let answer = |child: El| {
        El::stanza("iq")
            .attr("type", "result")
            .attr_opt("id", iq.attr("id"))
            .attr("from", &service)
            .attr("to", me.to_string())
            .child(child)
            .xml()
    };
    let user = me.user().unwrap_or_default().to_string();
    match (kind, &*payload.namespace, payload.name.as_str()) {
        ("get", DISCO_INFO_NS, "query") => {
            let field = |var: &str, kind: Option<&str>, value: String| {
                El::new("field", DATA_NS)
                    .attr("var", var)
                    .attr_opt("type", kind)
                    .child(El::new("value", DATA_NS).text(value))
            };
            let form = El::new("x", DATA_NS)
                .attr("type", "result")
                .child(field("FORM_TYPE", Some("hidden"), UPLOAD_NS.to_string()))
                .child(field(
                    "max-file-size",
                    None,
                    files.max_file_size.to_string(),
                ));
            let q = El::new("query", DISCO_INFO_NS)
                .child(
                    El::new("identity", DISCO_INFO_NS)
                        .attr("category", "store")
                        .attr("type", "file")
                        .attr("name", "HTTP File Upload"),
                )
                .child(El::new("feature", DISCO_INFO_NS).attr("var", UPLOAD_NS))
                .child(El::new("feature", DISCO_INFO_NS).attr("var", DISCO_INFO_NS))
                .child(form);
            cx.send(answer(q));
        }
        ("get", DISCO_ITEMS_NS, "query") => cx.send(answer(El::new("query", DISCO_ITEMS_NS))),
        ("get", UPLOAD_NS, "request") => {
            let filename = payload.attr("filename").unwrap_or_default();
            let size = payload
                .attr("size")
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    StanzaError::new("bad-request", "modify", "the request needs a size in bytes")
                })?;
            let slot = request_slot(
                &cx.core.store,
                &files,
                &user,
                filename,
                size,
                payload.attr("content-type"),
            )
            .map_err(|e| slot_error(&e))?;
            cx.narrate("upload_slot", &user, &slot.narration(&user, filename, size));
            let s = El::new("slot", UPLOAD_NS)
                .child(El::new("put", UPLOAD_NS).attr("url", &slot.put_url))
                .child(El::new("get", UPLOAD_NS).attr("url", &slot.get_url));
            cx.send(answer(s));
        }
        _ => {
            return Err(StanzaError::service_unavailable(format!(
                "the upload service answers slot requests and disco, not <{}/>",
                payload.name
            )));
        }
    }
    Ok(())
}

/// A refused slot, as XEP-0363 §4.2 spells it.
fn slot_error(e: &SlotError) -> StanzaError {
    match e {
        SlotError::TooLarge { max } => StanzaError {
            app: Some(Box::new(
                El::new("file-too-large", UPLOAD_NS)
                    .child(El::new("max-file-size", UPLOAD_NS).text(max.to_string()))
                    .build(),
            )),
            ..StanzaError::new("not-acceptable", "modify", e.text())
        },
        SlotError::Quota { .. } => StanzaError::new("resource-constraint", "wait", e.text()),
        SlotError::Bad(_) => StanzaError::new("bad-request", "modify", e.text()),
        SlotError::Internal(_) => StanzaError::new("internal-server-error", "wait", e.text()),
    }
}
