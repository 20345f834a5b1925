//! The iqs the server answers itself (RFC 6120 §8.2.3: every get and set
//! gets exactly one answer, a result or an error).
//!
//! - `session` (RFC 3921's legacy step, still sent by some clients): result;
//! - `jabber:iq:roster` get and set (RFC 6121 §2);
//! - `urn:xmpp:ping` (XEP-0199): result;
//! - `disco#info` and `disco#items` on the domain (XEP-0030): what this
//!   server is and can do;
//! - anything else addressed to the server: `service-unavailable`.
//!
//! An iq for another user's session is routed to it by the core.

use super::stanza::{ROSTER_NS, roster_item};
use super::write::El;
use super::{BIND_NS, DISCO_INFO_NS, DISCO_ITEMS_NS, PING_NS, SESSION_NS};
use crate::chat::core::{Delivery, RosterUpdate, StanzaError};
use crate::chat::jid::Jid;
use crate::chat::session::Ctx;
use crate::framing::xml::{Element, Node};

fn bad(text: impl Into<String>) -> StanzaError {
    StanzaError::new("bad-request", "modify", text)
}

/// The address of the file upload service: `upload.DOMAIN`.
pub fn upload_jid(domain: &str) -> String {
    format!("upload.{domain}")
}

/// Handles one iq from a bound session.
pub fn handle(
    cx: &mut Ctx,
    me: &Jid,
    e: &Element,
    out: &mut Vec<Delivery>,
) -> Result<(), StanzaError> {
    let kind = e.attr("type").unwrap_or_default();
    if !matches!(kind, "get" | "set" | "result" | "error") {
        return Err(bad(format!(
            "iq type {kind:?}: it must be get, set, result or error"
        )));
    }
    let to = super::stanza::to_of(e, me)?;
    if cx.config.files.is_some() && to == Jid::domain(&upload_jid(&cx.config.domain)) {
        return super::upload::handle(cx, me, e, kind);
    }
    let for_server =
        e.attr("to").is_none() || to == Jid::domain(&cx.config.domain) || to == me.to_bare();
    if !for_server {
        return cx.core.route_iq(cx.t, cx.id, e.clone(), &to, kind, out);
    }
    if matches!(kind, "result" | "error") {
        // Answers to our roster pushes: nothing to do.
        return Ok(());
    }
    if e.attr("id").is_none() {
        return Err(bad(
            "an iq needs an id, so that its answer can be matched to it",
        ));
    }
    let payloads: Vec<&Element> = e
        .children
        .iter()
        .filter_map(|c| match c {
            Node::Element(c) => Some(c),
            Node::Text(_) => None,
        })
        .collect();
    let [payload] = payloads.as_slice() else {
        return Err(bad(format!(
            "an iq {kind} carries exactly one child element; this one has {}",
            payloads.len()
        )));
    };
    let ns: &str = &payload.namespace;
    let result = |children: Option<El>| {
        let el = El::stanza("iq")
            .attr("type", "result")
            .attr_opt("id", e.attr("id"))
            .attr_opt("from", e.attr("to"))
            .attr("to", me.to_string());
        match children {
            Some(c) => el.child(c),
            None => el,
        }
        .xml()
    };
    let user = me.user().unwrap_or_default().to_string();
    match (kind, ns, payload.name.as_str()) {
        ("set", SESSION_NS, "session") => {
            cx.narrate("session", &user, "legacy session request (RFC 3921): nothing to do since RFC 6120, answered with a result");
            cx.send(result(None));
        }
        ("set", BIND_NS, _) => {
            return Err(StanzaError::new(
                "not-allowed",
                "cancel",
                "this session is already bound to a resource",
            ));
        }
        ("get", ROSTER_NS, "query") => {
            let items = cx.core.roster_get(cx.id)?;
            let mut query = El::new("query", ROSTER_NS);
            for item in &items {
                query = query.child(roster_item(item, false));
            }
            let text = format!(
                "roster get: {} contact(s) sent to {me}; it will get a push for every change",
                items.len()
            );
            cx.narrate("roster", &user, &text);
            cx.send(result(Some(query)));
        }
        ("set", ROSTER_NS, "query") => {
            let update = roster_update(payload)?;
            cx.core.roster_set(cx.t, cx.id, update, out)?;
            cx.send(result(None));
        }
        ("get", PING_NS, "ping") => cx.send(result(None)),
        ("set", super::mam::MAM_NS, "query") => super::mam::query(cx, me, e, payload)?,
        ("get", super::mam::MAM_NS, "query") => cx.send(super::mam::form(e, me)),
        ("get", DISCO_INFO_NS, "query") => {
            let mut q = El::new("query", DISCO_INFO_NS);
            if to == me.to_bare() {
                q = q.child(
                    El::new("identity", DISCO_INFO_NS)
                        .attr("category", "account")
                        .attr("type", "registered"),
                );
            } else {
                q = q.child(
                    El::new("identity", DISCO_INFO_NS)
                        .attr("category", "server")
                        .attr("type", "im")
                        .attr("name", "socklab"),
                );
                for f in [
                    DISCO_INFO_NS,
                    DISCO_ITEMS_NS,
                    PING_NS,
                    ROSTER_NS,
                    "urn:xmpp:delay",
                    "msgoffline",
                ] {
                    q = q.child(El::new("feature", DISCO_INFO_NS).attr("var", f));
                }
            }
            cx.send(result(Some(q)));
        }
        ("get", DISCO_ITEMS_NS, "query") => {
            let mut q = El::new("query", DISCO_ITEMS_NS);
            if cx.config.files.is_some() && to != me.to_bare() {
                // XEP-0363 §3: the upload service is an item of the domain.
                q = q.child(
                    El::new("item", DISCO_ITEMS_NS)
                        .attr("jid", upload_jid(&cx.config.domain))
                        .attr("name", "HTTP File Upload"),
                );
            }
            cx.send(result(Some(q)))
        }
        _ => {
            return Err(StanzaError::service_unavailable(format!(
                "this server does not answer <{} xmlns='{ns}'/> ({kind})",
                payload.name
            )));
        }
    }
    Ok(())
}

/// A roster set's one item (RFC 6121 §2.3.3).
fn roster_update(query: &Element) -> Result<RosterUpdate, StanzaError> {
    let items: Vec<&Element> = query
        .children
        .iter()
        .filter_map(|c| match c {
            Node::Element(c) if c.name == "item" => Some(c),
            _ => None,
        })
        .collect();
    let [item] = items.as_slice() else {
        return Err(bad(format!(
            "a roster set has exactly one <item/>; this one has {}",
            items.len()
        )));
    };
    let jid = item
        .attr("jid")
        .ok_or_else(|| bad("the roster item has no jid"))?;
    let contact =
        Jid::parse(jid).map_err(|why| StanzaError::new("jid-malformed", "modify", why))?;
    let remove = match item.attr("subscription") {
        None | Some("none" | "to" | "from" | "both") => false,
        Some("remove") => true,
        Some(other) => {
            return Err(bad(format!(
                "subscription={other:?} cannot be set by a client"
            )));
        }
    };
    let mut groups: Vec<String> = Vec::new();
    for g in item.children.iter().filter_map(|c| match c {
        Node::Element(g) if g.name == "group" => Some(g.text()),
        _ => None,
    }) {
        if g.is_empty() || groups.contains(&g) {
            return Err(bad("roster groups must be non-empty and not repeated"));
        }
        groups.push(g);
    }
    Ok(RosterUpdate {
        contact,
        name: item
            .attr("name")
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        groups,
        remove,
    })
}
