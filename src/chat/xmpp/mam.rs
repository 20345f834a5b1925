//! Message Archive Management (XEP-0313, `urn:xmpp:mam:2`): a client asks
//! for its history — with one contact, in a time range — and gets it page
//! by page (XEP-0059 result set management: `max`, `after`, `before`).
//!
//! Each archived message comes back as its own `<message>` carrying a
//! `<result>` with the archive id and the original message `<forwarded>`
//! with its time; then the iq result says `fin`, with the first and last ids
//! of the page and whether the history is complete.

use super::stanza::{DELAY_NS, encode_message};
use super::write::El;
use crate::chat::core::StanzaError;
use crate::chat::jid::Jid;
use crate::chat::session::Ctx;
use crate::chat::store::{Page, Query};
use crate::framing::xml::{Element, Node};

pub const MAM_NS: &str = "urn:xmpp:mam:2";
pub const RSM_NS: &str = "http://jabber.org/protocol/rsm";
pub const FORWARD_NS: &str = "urn:xmpp:forward:0";
pub const DATA_NS: &str = "jabber:x:data";
pub const SID_NS: &str = "urn:xmpp:sid:0";
/// Results per page when the client does not say, and at most.
pub const DEFAULT_MAX: usize = 50;
pub const MAX_MAX: usize = 250;

fn bad(text: impl Into<String>) -> StanzaError {
    StanzaError::new("bad-request", "modify", text)
}

fn elements<'e>(e: &'e Element, name: &'e str) -> impl Iterator<Item = &'e Element> + 'e {
    e.children.iter().filter_map(move |c| match c {
        Node::Element(c) if c.name == name => Some(c),
        _ => None,
    })
}

/// Reads the query's form (with, start, end) and paging (max, after, before).
pub fn parse_query(query: &Element) -> Result<Query, StanzaError> {
    let mut q = Query {
        max: DEFAULT_MAX,
        ..Query::default()
    };
    if let Some(form) = elements(query, "x").find(|x| &*x.namespace == DATA_NS) {
        for field in elements(form, "field") {
            let value = elements(field, "value").next().map(Element::text);
            let Some(value) = value else { continue };
            match field.attr("var") {
                Some("with") => {
                    q.with = Some(Jid::parse(&value).map_err(|w| bad(format!("with: {w}")))?);
                }
                Some("start") => {
                    q.start_ms = Some(crate::chat::time::parse(&value).ok_or_else(|| {
                        bad(format!("start: {value:?} is not an XEP-0082 date-time"))
                    })?);
                }
                Some("end") => {
                    q.end_ms = Some(crate::chat::time::parse(&value).ok_or_else(|| {
                        bad(format!("end: {value:?} is not an XEP-0082 date-time"))
                    })?);
                }
                Some("FORM_TYPE") if value != MAM_NS => {
                    return Err(bad(format!("FORM_TYPE {value:?}: expected {MAM_NS}")));
                }
                _ => {}
            }
        }
    }
    if let Some(set) = elements(query, "set").find(|s| &*s.namespace == RSM_NS) {
        let id = |name: &str| -> Result<Option<Option<i64>>, StanzaError> {
            match elements(set, name).next() {
                None => Ok(None),
                Some(e) if e.text().trim().is_empty() => Ok(Some(None)),
                Some(e) => e
                    .text()
                    .trim()
                    .parse::<i64>()
                    .map(|n| Some(Some(n)))
                    .map_err(|_| {
                        StanzaError::new(
                            "item-not-found",
                            "cancel",
                            format!("no archived message has the id {:?}", e.text()),
                        )
                    }),
            }
        };
        if let Some(m) = elements(set, "max").next() {
            q.max = m
                .text()
                .trim()
                .parse::<usize>()
                .map_err(|_| bad("<max/> must be a number"))?
                .min(MAX_MAX);
        }
        q.after = id("after")?.flatten();
        match id("before")? {
            Some(Some(n)) => q.before = Some(n),
            Some(None) => q.last_page = true,
            None => {}
        }
    }
    Ok(q)
}

/// The messages of a page, one `<message>` each, to the asking session.
pub fn results(page: &Page, me: &Jid, queryid: Option<&str>) -> String {
    let mut out = String::new();
    for a in &page.items {
        let mut inner = a.message.clone();
        let stamp = inner.delay.take().map_or(0, |d| d.stamp_ms);
        inner.extra = super::parse_elements(&a.extra);
        inner.archive_id = None;
        let forwarded = El::new("forwarded", FORWARD_NS)
            .child(El::new("delay", DELAY_NS).attr("stamp", crate::chat::time::stamp(stamp)))
            .element(encode_message(&inner).build());
        let result = El::new("result", MAM_NS)
            .attr_opt("queryid", queryid)
            .attr("id", a.id.to_string())
            .child(forwarded);
        let m = El::stanza("message")
            .attr("from", me.to_bare().to_string())
            .attr("to", me.to_string())
            .child(result);
        out.push_str(&m.xml());
    }
    out
}

/// The `<fin/>` that ends the answer.
pub fn fin(page: &Page) -> El {
    let mut set = El::new("set", RSM_NS);
    if let (Some(first), Some(last)) = (page.items.first(), page.items.last()) {
        set = set
            .child(El::new("first", RSM_NS).text(first.id.to_string()))
            .child(El::new("last", RSM_NS).text(last.id.to_string()));
    }
    set = set.child(El::new("count", RSM_NS).text(page.count.to_string()));
    El::new("fin", MAM_NS)
        .attr_opt("complete", page.complete.then_some("true"))
        .child(set)
}

/// Handles `<query xmlns='urn:xmpp:mam:2'>` sent as a set; answers with the
/// results and the iq result.
pub fn query(cx: &mut Ctx, me: &Jid, iq: &Element, query: &Element) -> Result<(), StanzaError> {
    let q = parse_query(query)?;
    let user = me.user().unwrap_or_default().to_string();
    let page = cx
        .core
        .store
        .query_archive(&user, &q)
        .map_err(|e| StanzaError::new("internal-server-error", "wait", format!("{e:#}")))?;
    let text = format!(
        "archive query{}: {} of {} matching message(s), page {}",
        q.with
            .as_ref()
            .map(|w| format!(" with {w}"))
            .unwrap_or_default(),
        page.items.len(),
        page.count,
        if page.complete {
            "complete"
        } else {
            "with more to come (the client asks again with after=…)"
        }
    );
    cx.narrate("archive_query", &user, &text);
    cx.send(results(&page, me, query.attr("queryid")));
    let answer = El::stanza("iq")
        .attr("type", "result")
        .attr_opt("id", iq.attr("id"))
        .attr("to", me.to_string())
        .child(fin(&page));
    cx.send(answer.xml());
    Ok(())
}

/// `<query/>` sent as a get: the form a client may fill in (XEP-0313 §5.1).
pub fn form(iq: &Element, me: &Jid) -> String {
    let field = |var: &str, kind: &str| {
        El::new("field", DATA_NS)
            .attr("var", var)
            .attr("type", kind)
    };
    let x = El::new("x", DATA_NS)
        .attr("type", "form")
        .child(field("FORM_TYPE", "hidden").child(El::new("value", DATA_NS).text(MAM_NS)))
        .child(field("with", "jid-single"))
        .child(field("start", "text-single"))
        .child(field("end", "text-single"));
    El::stanza("iq")
        .attr("type", "result")
        .attr_opt("id", iq.attr("id"))
        .attr("to", me.to_string())
        .child(El::new("query", MAM_NS).child(x))
        .xml()
}
