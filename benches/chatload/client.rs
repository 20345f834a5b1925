//! One load-generator session's side of XMPP, as pure code: bytes in, bytes
//! out, no socket. It knows just enough of RFC 6120 to log in and no more:
//!
//! ```text
//! header ─▶ </stream:features> ─▶ <auth PLAIN> ─▶ <success> ─▶ header (restart)
//!        ─▶ </stream:features> ─▶ <iq><bind/> ─▶ </iq> ─▶ <presence/> + ping
//!        ─▶ the ping's result: logged in ─▶ <message>s
//! ```
//!
//! There is no XML parser here, on purpose: the generator must cost far less
//! per message than the servers it measures, so it looks for the few end
//! tags it waits for (`</stream:features>`, `</message>`...) and takes the
//! body of each message as text. The ping after initial presence makes
//! "logged in" a reply the server sent, not a guess: both servers handle a
//! stream's stanzas in order, so its result means the presence was handled.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::scram::ScramSha1;

const STREAMS_NS: &str = "http://etherx.jabber.org/streams";
const SASL_NS: &str = "urn:ietf:params:xml:ns:xmpp-sasl";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sasl {
    /// `\0user\0password` in base64: the server checks the password itself
    Plain,
    /// SCRAM-SHA-1 (RFC 5802): the generator computes the proof
    ScramSha1,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Features,
    Challenge,
    Success,
    Restarted,
    Bind,
    Ping,
    Ready,
}

/// One session's login, from the first header to the ping's result.
pub struct Login {
    user: String,
    step: Step,
    scram: Option<ScramSha1>,
}

impl Login {
    pub fn new(user: String) -> Login {
        Login {
            user,
            step: Step::Features,
            scram: None,
        }
    }

    pub fn ready(&self) -> bool {
        self.step == Step::Ready
    }

    /// The stream header, sent first and again after SASL success.
    pub fn header(domain: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!("<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' xmlns='jabber:client' xmlns:stream='{STREAMS_NS}'>").as_bytes(),
        );
    }

    /// Handles what `input` holds for this step; returns how many bytes
    /// were used. Call again while it uses some and the session is not
    /// ready. `Err` is a refusal from the server, to report as it is.
    pub fn feed(&mut self, input: &[u8], cx: &Creds, out: &mut Vec<u8>) -> Result<usize, String> {
        if let Some(at) = find(input, b"<stream:error") {
            return Err(format!(
                "{}: stream error: {}",
                self.user,
                String::from_utf8_lossy(&input[at..])
            ));
        }
        let (end, step) = match self.step {
            Step::Features | Step::Restarted => {
                let Some(end) = find_end(input, b"</stream:features>") else {
                    return Ok(0);
                };
                if self.step == Step::Restarted {
                    out.extend_from_slice(b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>load</resource></bind></iq>");
                    (end, Step::Bind)
                } else {
                    (end, self.auth(cx, out))
                }
            }
            Step::Challenge => {
                let Some(end) = find_end(input, b"</challenge>") else {
                    return self.failure(input);
                };
                let text = between(&input[..end], b">", b"</challenge>");
                let first = B64
                    .decode(text)
                    .map_err(|e| format!("{}: challenge: {e}", self.user))?;
                let scram = self.scram.as_mut().ok_or("no SCRAM state")?;
                let fin = scram.client_final(&first, &cx.password)?;
                sasl_element(out, "response", "", &fin);
                (end, Step::Success)
            }
            Step::Success => {
                let Some(at) = find(input, b"<success") else {
                    return self.failure(input);
                };
                let Some(end) = element_end(input, at, b"</success>") else {
                    return Ok(0);
                };
                Login::header(&cx.domain, out);
                (end, Step::Restarted)
            }
            Step::Bind => {
                let Some(end) = find_end(input, b"</iq>") else {
                    return Ok(0);
                };
                if find(&input[..end], b"<jid>").is_none() {
                    return Err(format!(
                        "{}: bind failed: {}",
                        self.user,
                        String::from_utf8_lossy(&input[..end])
                    ));
                }
                out.extend_from_slice(
                    b"<presence/><iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
                );
                (end, Step::Ping)
            }
            Step::Ping => {
                let Some(at) = find(input, b"id='p1'").or_else(|| find(input, b"id=\"p1\"")) else {
                    return Ok(0);
                };
                let Some(end) = element_end(input, at, b"</iq>") else {
                    return Ok(0);
                };
                (end, Step::Ready)
            }
            Step::Ready => return Ok(0),
        };
        self.step = step;
        Ok(end)
    }

    /// The first SASL message for the chosen mechanism.
    fn auth(&mut self, cx: &Creds, out: &mut Vec<u8>) -> Step {
        match cx.sasl {
            Sasl::Plain => {
                let data = format!("\0{}\0{}", self.user, cx.password);
                sasl_element(out, "auth", " mechanism='PLAIN'", data.as_bytes());
                Step::Success
            }
            Sasl::ScramSha1 => {
                let mut scram = ScramSha1::new(&self.user, cx.cache.clone());
                sasl_element(
                    out,
                    "auth",
                    " mechanism='SCRAM-SHA-1'",
                    &scram.client_first(),
                );
                self.scram = Some(scram);
                Step::Challenge
            }
        }
    }

    /// A SASL `<failure>` is final; anything else means "wait for more".
    fn failure(&self, input: &[u8]) -> Result<usize, String> {
        match find(input, b"<failure") {
            Some(at) => Err(format!(
                "{}: login refused: {}",
                self.user,
                String::from_utf8_lossy(&input[at..])
            )),
            None => Ok(0),
        }
    }
}

/// What every session logs in with.
pub struct Creds {
    pub domain: String,
    pub password: String,
    pub sasl: Sasl,
    pub cache: super::scram::SaltCache,
}

fn sasl_element(out: &mut Vec<u8>, name: &str, attrs: &str, data: &[u8]) {
    let text = B64.encode(data);
    out.extend_from_slice(format!("<{name} xmlns='{SASL_NS}'{attrs}>{text}</{name}>").as_bytes());
}

/// One chat message: the body is `SENT_US SEQ`, the send time in
/// microseconds since the generator started, and a sequence number.
pub fn message(out: &mut Vec<u8>, to: &str, domain: &str, sent_us: u64, seq: u64) {
    use std::io::Write as _;
    let _ = write!(
        out,
        "<message to='{to}@{domain}' type='chat'><body>{sent_us} {seq}</body></message>"
    );
}

/// The next whole `<message>` in `input`: the bytes it ends at and its
/// body's numbers (`None` for a message that is not ours, such as an error).
pub fn next_message(input: &[u8]) -> Option<(usize, Option<(u64, u64)>)> {
    let end = find_end(input, b"</message>")?;
    let body = between(&input[..end], b"<body>", b"</body>");
    let text = std::str::from_utf8(body).unwrap_or_default();
    let mut numbers = text.split(' ').map(str::parse::<u64>);
    let parsed = match (numbers.next(), numbers.next()) {
        (Some(Ok(t)), Some(Ok(s))) => Some((t, s)),
        _ => None,
    };
    Some((end, parsed))
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Where `needle` ends in `hay`.
fn find_end(hay: &[u8], needle: &[u8]) -> Option<usize> {
    find(hay, needle).map(|at| at + needle.len())
}

/// The end of the element whose start tag contains `at`: after `/>` if
/// the tag closes itself, else after `close`.
fn element_end(hay: &[u8], at: usize, close: &[u8]) -> Option<usize> {
    let gt = at + hay[at..].iter().position(|&b| b == b'>')?;
    if hay[gt - 1] == b'/' {
        return Some(gt + 1);
    }
    find_end(&hay[gt..], close).map(|e| gt + e)
}

/// The bytes between the first `open` and the `close` after it (empty if
/// either is missing).
fn between<'a>(hay: &'a [u8], open: &[u8], close: &[u8]) -> &'a [u8] {
    let Some(start) = find_end(hay, open) else {
        return &[];
    };
    let len = find(&hay[start..], close).unwrap_or(0);
    &hay[start..start + len]
}
