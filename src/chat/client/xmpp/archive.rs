//! The archive, client side (XEP-0313 Message Archive Management, paged with
//! XEP-0059): one query asks for our own archive after an id; the server
//! answers with one `<message>` per archived message, each a `<result>`
//! wrapping the original `<forwarded>` with its `<delay>` stamp, then the
//! iq result, whose `<fin>` says the page's last id and whether the
//! archive is complete.
//!
//! Live messages carry their archive id too, as a XEP-0359
//! `<stanza-id by='alice@localhost' id='…'/>`. A sender could put a forged
//! one in a message to us, and a server that does not know XEP-0359 would
//! pass it on; so an id is believed only when `by` is our own account and
//! the server has shown it keeps an archive (it answered a query).
//! Until then a message is stored without one, and the sync finds it by
//! its stanza id.

use super::{Pending, XmppClient, elements};
use crate::chat::client::wire::{ArchivePage, Cx, Update};
use crate::chat::jid::Jid;
use crate::chat::model::{Delay, Message};
use crate::chat::xmpp::mam::{FORWARD_NS, MAM_NS, RSM_NS, SID_NS};
use crate::chat::xmpp::stanza::{self, DELAY_NS};
use crate::chat::xmpp::write::El;
use crate::framing::xml::Element;

/// The child `name` in namespace `ns`.
fn child<'e>(e: &'e Element, name: &str, ns: &str) -> Option<&'e Element> {
    elements(e).find(|c| c.name == name && &*c.namespace == ns)
}

impl XmppClient {
    /// `<iq type='set'><query xmlns='urn:xmpp:mam:2' queryid='…'>` with the
    /// paging `<set/>`: no form, so the whole archive, every contact.
    pub(super) fn query_archive(&mut self, cx: &mut Cx, after: Option<&str>, max: usize) {
        let queryid = self.id("q");
        let mut set = El::new("set", RSM_NS).child(El::new("max", RSM_NS).text(max.to_string()));
        if let Some(a) = after {
            set = set.child(El::new("after", RSM_NS).text(a));
        }
        let query = El::new("query", MAM_NS)
            .attr("queryid", &queryid)
            .child(set);
        let iq = El::stanza("iq").attr("type", "set").child(query);
        self.request(cx, "mam", iq, Pending::Archive(queryid));
        self.archived.clear();
        let from = after.map_or("from its start".to_string(), |a| format!("after #{a}"));
        let text = format!(
            "asking the server's archive (XEP-0313) for our messages {from}, {max} at most: one <message><result> comes back per archived message, then <fin/> with the page's last id"
        );
        cx.narrate("sync", &text);
    }

    /// A `<message>` that carries a MAM `<result>`: kept for the page when
    /// it answers our query, from our own account. True if it was one.
    pub(super) fn archive_result(&mut self, cx: &mut Cx, e: &Element) -> bool {
        let Some(result) = child(e, "result", MAM_NS) else {
            return false;
        };
        let mine = self.login.jid.to_bare();
        let from_us = e
            .attr("from")
            .is_none_or(|f| Jid::parse(f).is_ok_and(|j| j == mine));
        let asked = self.pending.values().any(|p| match p {
            Pending::Archive(q) => result.attr("queryid").is_none_or(|r| r == q),
            _ => false,
        });
        if !from_us || !asked {
            let text = format!(
                "an archive result from {} that answers no query of ours: ignored (only our own account's archive answers us)",
                e.attr("from").unwrap_or("?")
            );
            cx.narrate("ignore", &text);
            return true;
        }
        match archived(result, &mine) {
            Some(item) => self.archived.push(item),
            None => cx.narrate(
                "ignore",
                "an archive result without an id, a <forwarded> message or a valid stamp: skipped",
            ),
        }
        true
    }

    /// The iq result that ends a page: `<fin complete='true'>` and the RSM
    /// `<last/>` to ask after next time.
    pub(super) fn archive_fin(&mut self, cx: &mut Cx, iq: &Element) {
        let fin = child(iq, "fin", MAM_NS);
        let complete = fin.and_then(|f| f.attr("complete")) == Some("true");
        let last = fin
            .and_then(|f| child(f, "set", RSM_NS))
            .and_then(|s| child(s, "last", RSM_NS))
            .map(Element::text);
        self.archive_known = true;
        let items = std::mem::take(&mut self.archived);
        cx.update(Update::Archive(ArchivePage {
            items,
            last,
            complete,
        }));
    }

    /// Our archive's id for a live message (XEP-0359), if we can trust it.
    pub(super) fn stanza_id(&self, e: &Element) -> Option<String> {
        if !self.archive_known {
            return None;
        }
        let mine = self.login.jid.to_bare().to_string();
        elements(e)
            .find(|c| {
                c.name == "stanza-id" && &*c.namespace == SID_NS && c.attr("by") == Some(&mine)
            })
            .and_then(|c| c.attr("id"))
            .map(str::to_string)
    }
}

/// One `<result id='…'><forwarded><delay stamp='…'/><message …/></forwarded>`.
fn archived(result: &Element, mine: &Jid) -> Option<(String, Message)> {
    let id = result.attr("id")?.to_string();
    let forwarded = child(result, "forwarded", FORWARD_NS)?;
    let stamp_ms = child(forwarded, "delay", DELAY_NS)
        .and_then(|d| d.attr("stamp"))
        .and_then(crate::chat::time::parse)?;
    let inner = elements(forwarded).find(|c| c.name == "message")?;
    let mut m = stanza::message(inner, mine).ok()?;
    m.delay = Some(Delay {
        stamp_ms,
        from: mine.domain.clone(),
        reason: "Archived".into(),
    });
    Some((id, m))
}
