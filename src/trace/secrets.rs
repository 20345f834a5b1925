//! Passwords kept out of the session logs and event files, whatever command
//! recorded them.
//!
//! The chat lessons have the learner log in by hand (a JSON login typed into
//! `socklab connect --proto json`, PLAIN's `<auth>` pasted into `connect
//! --proto xml`) and put `socklab relay` between a client and the server to
//! see what an eavesdropper sees. Those commands are not the chat: their
//! read and write events preview every byte, and PLAIN's base64 is the
//! password, `"password"` in a JSON login is the password itself, a SCRAM
//! `<response>` holds the proof. The chat server and client mask their own
//! previews ([`crate::chat::redact`]); the session log masks everyone's with
//! the same [`Redactor`], so no lesson log ever holds a password. What the
//! terminal shows is untouched: a relay's hex dump of the real bytes is the
//! eavesdropper's view, which is what the lesson is about.
//!
//! A chat stream's secret may be split between two reads, so each direction
//! of a connection that speaks a chat protocol (its first byte is `<` or
//! `{`, the bytes on which the chat server tells XMPP from JSON) has its
//! redactor, fed every recorded chunk in order. Any other stream (a file,
//! zeros, HTTP) cannot log in to the chat, and only what an event shows, its
//! first [`Data::PREVIEW`] bytes, is looked at: 256 bytes per event, where
//! feeding whole 64 KiB reads cost a quarter of a second of CPU per
//! connection in a 200 MB transfer. A frame, a datagram or an error's quote
//! is whole: a fresh redactor each, on what the event shows.

use std::collections::HashMap;

use super::redact::Redactor;
use super::{Data, Event, Record, Side, Untrusted};

/// What a masked event shows instead of a frame summary that quoted a
/// secret the redactor cannot find there (an XML element's text).
const MASKED_SUMMARY: &str =
    "a frame that carries a password or a SASL payload (masked in the session log)";

/// One direction of one connection, as far as secrets go.
enum Stream {
    /// It speaks XMPP or the JSON protocol: followed byte by byte.
    Chat(Redactor),
    /// Anything else: each event's preview is looked at on its own.
    Other,
}

/// The streams a process has recorded.
#[derive(Default)]
pub struct Secrets {
    streams: HashMap<(Side, Option<u64>, &'static str), Stream>,
}

/// The masked parts of one event.
pub struct Masked {
    data: Vec<u8>,
    text: Option<String>,
}

impl Secrets {
    /// The parts of `rec`'s event that must be masked before it is
    /// recorded; `None` when it holds no secret (record it as it is).
    pub fn mask(&mut self, rec: &Record) -> Option<Masked> {
        let key = |step| (rec.side, rec.conn, step);
        match rec.event {
            Event::Read { data, .. } | Event::Write { data, .. } | Event::Feed { data, .. }
                if !data.0.is_empty() =>
            {
                let stream =
                    self.streams
                        .entry(key(rec.event.step()))
                        .or_insert_with(|| match data.0.first() {
                            Some(b'<' | b'{') => Stream::Chat(Redactor::default()),
                            _ => Stream::Other,
                        });
                let masked = match stream {
                    Stream::Chat(redactor) => changed(data.0, redactor),
                    Stream::Other => changed(shown(data), &mut Redactor::default()),
                };
                masked.map(|data| Masked { data, text: None })
            }
            Event::Datagram { data, .. } | Event::Sent { data, .. } => {
                changed(shown(data), &mut Redactor::default())
                    .map(|data| Masked { data, text: None })
            }
            Event::Frame {
                proto, data, text, ..
            } => {
                let data = changed(shown(data), &mut Redactor::default())?;
                // A JSON summary is the object, compact: the redactor finds
                // "password" in it. Other summaries quote the secret with
                // nothing around it to find it by.
                let shown = raw(*text);
                let text = match *proto {
                    "json" => changed(shown.as_bytes(), &mut Redactor::default())
                        .map_or(shown, |t| lossy(&t)),
                    _ => MASKED_SUMMARY.to_string(),
                };
                Some(Masked {
                    data,
                    text: Some(text),
                })
            }
            Event::Error { pointer, .. } => {
                let quoted = raw((*pointer)?);
                let masked = changed(quoted.as_bytes(), &mut Redactor::default())?;
                Some(Masked {
                    data: Vec::new(),
                    text: Some(lossy(&masked)),
                })
            }
            Event::Close { .. } => {
                // The connection is over: its redactors with it.
                self.streams
                    .retain(|(side, conn, _), _| (*side, *conn) != (rec.side, rec.conn));
                None
            }
            _ => None,
        }
    }
}

impl Secrets {
    /// Calls `f` with `rec`, or, when it holds a secret, with a copy of it
    /// whose previews are masked: what every recording sink does.
    pub fn recording<R>(&mut self, rec: &Record, f: impl FnOnce(&Record) -> R) -> R {
        match self.mask(rec) {
            Some(m) => {
                let event = m.event(rec.event);
                f(&Record {
                    event: &event,
                    ..*rec
                })
            }
            None => f(rec),
        }
    }
}

impl Masked {
    /// `original` with its secret-bearing fields replaced.
    pub fn event<'a>(&'a self, original: &Event<'a>) -> Event<'a> {
        let data = Data(&self.data);
        let text = || Untrusted::new(self.text.as_deref().unwrap_or_default());
        match *original {
            Event::Read { n, .. } => Event::Read { n, data },
            Event::Write { n, .. } => Event::Write { n, data },
            Event::Feed { n, .. } => Event::Feed { n, data },
            Event::Datagram {
                number, from, n, ..
            } => Event::Datagram {
                number,
                from,
                n,
                data,
            },
            Event::Sent { number, to, n, .. } => Event::Sent {
                number,
                to,
                n,
                data,
            },
            Event::Frame {
                proto, number, n, ..
            } => Event::Frame {
                proto,
                number,
                n,
                text: text(),
                data,
            },
            Event::Error {
                kind,
                message,
                why,
                next,
                errno,
                ..
            } => Event::Error {
                kind,
                message,
                why,
                next,
                errno,
                pointer: Some(text()),
            },
            ref other => other.clone(),
        }
    }
}

/// The part of `data` an event shows.
fn shown<'a>(data: &Data<'a>) -> &'a [u8] {
    &data.0[..data.0.len().min(Data::PREVIEW)]
}

/// The bytes with their secrets masked, if they held any. (Bytes already
/// masked, as the chat's own events are, come back the same: no change.)
fn changed(bytes: &[u8], redactor: &mut Redactor) -> Option<Vec<u8>> {
    let masked = redactor.redact(bytes);
    (*masked != *bytes).then(|| masked.into_owned())
}

/// The exact text a peer sent: its JSON form (the display form escapes it).
fn raw(text: Untrusted) -> String {
    match serde_json::to_value(text) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn record<'a>(event: &'a Event<'a>, conn: Option<u64>) -> Record<'a> {
        Record {
            ts_us: 0,
            elapsed: Duration::ZERO,
            pid: 1,
            command: "relay",
            side: Side::Server,
            conn,
            event,
        }
    }

    /// What the log would record for `event` (its JSON line).
    fn logged(secrets: &mut Secrets, event: &Event, conn: Option<u64>) -> String {
        let rec = record(event, conn);
        let masked = secrets.mask(&rec);
        let line = match &masked {
            Some(m) => {
                let e = m.event(rec.event);
                crate::trace::json::to_line(&Record { event: &e, ..rec })
            }
            None => crate::trace::json::to_line(&rec),
        };
        String::from_utf8(line.expect("serialise")).expect("utf-8")
    }

    #[test]
    fn a_plain_payload_split_between_two_reads_never_reaches_the_log() {
        let auth = b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>";
        for cut in 0..auth.len() {
            let mut secrets = Secrets::default();
            let (a, b) = auth.split_at(cut);
            let mut lines = String::new();
            for part in [a, b] {
                let read = Event::Read {
                    n: part.len(),
                    data: Data(part),
                };
                lines.push_str(&logged(&mut secrets, &read, Some(1)));
            }
            assert!(!lines.contains("AGFsaWNl"), "cut {cut}: {lines}");
            assert!(!lines.contains("jZXQ"), "cut {cut}: {lines}");
        }
    }

    #[test]
    fn a_chat_secret_that_begins_past_a_preview_is_masked_in_the_next_one() {
        // The <auth> starts beyond the 256 bytes the first read's event
        // shows; the rest of its base64 opens the second read's.
        let mut secrets = Secrets::default();
        let first = format!(
            "<stream:stream to='localhost'>{}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNl",
            " ".repeat(300)
        );
        let second = b"AHNlY3JldA==</auth>";
        let mut lines = String::new();
        for part in [first.as_bytes(), &second[..]] {
            let read = Event::Read {
                n: part.len(),
                data: Data(part),
            };
            lines.push_str(&logged(&mut secrets, &read, Some(1)));
        }
        assert!(!lines.contains("AHNlY3JldA"), "{lines}");
    }

    #[test]
    fn another_stream_is_looked_at_only_where_its_events_show_it() {
        let mut secrets = Secrets::default();
        // Not a chat stream (its first byte): each preview on its own.
        let login = br#"hello {"type":"login","user":"alice","password":"secret"}"#;
        let read = Event::Read {
            n: login.len(),
            data: Data(login),
        };
        let line = logged(&mut secrets, &read, Some(2));
        assert!(!line.contains("secret"), "{line}");
        // A megabyte of zeros costs a preview's worth of looking, and is
        // recorded as it is.
        let zeros = vec![0u8; 1 << 20];
        let read = Event::Read {
            n: zeros.len(),
            data: Data(&zeros),
        };
        assert!(secrets.mask(&record(&read, Some(3))).is_none());
    }

    #[test]
    fn frames_lose_the_secret_in_their_data_and_their_summary() {
        let mut secrets = Secrets::default();
        let wire = br#"{"type":"login","user":"alice","password":"secret"}"#;
        let frame = Event::Frame {
            proto: "json",
            number: 1,
            n: wire.len(),
            text: Untrusted::new(r#"{"type":"login","user":"alice","password":"secret"}"#),
            data: Data(wire),
        };
        let line = logged(&mut secrets, &frame, Some(1));
        assert!(!line.contains("secret"), "{line}");
        assert!(line.contains(r#"\"user\":\"alice\""#), "{line}");
        // An XML summary quotes the element's text, with no marker to find.
        let wire = b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>";
        let frame = Event::Frame {
            proto: "xml",
            number: 2,
            n: wire.len(),
            text: Untrusted::new("<auth> element, 2 attribute(s), text \"AGFsaWNlAHNlY3JldA==\""),
            data: Data(wire),
        };
        let line = logged(&mut secrets, &frame, Some(1));
        assert!(!line.contains("AGFsaWNl"), "{line}");
        assert!(line.contains("masked in the session log"), "{line}");
    }

    #[test]
    fn ordinary_and_already_masked_events_are_recorded_as_they_are() {
        let mut secrets = Secrets::default();
        for data in [
            &b"<message><body>the password is not here</body></message>"[..],
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>•••</auth>"
                .as_bytes(),
        ] {
            let read = Event::Read {
                n: data.len(),
                data: Data(data),
            };
            assert!(secrets.mask(&record(&read, Some(1))).is_none());
        }
        let close = Event::Close {
            sent: 0,
            received: 0,
        };
        assert!(secrets.mask(&record(&close, Some(1))).is_none());
        assert!(secrets.streams.is_empty());
    }
}
