//! What socklab answers to each telnet command, and why: it refuses every
//! option (RFC 854's default state for each is off, and a side may always
//! say no), so a client stays in line mode, sending whole lines it edited
//! itself, which is what a line-by-line narration can follow.
//!
//! Refusal cannot loop: a request to enable (DO, WILL) is answered with its
//! refusal (WONT, DONT); a refusal or a request to disable is not answered,
//! because the option is already off here, and RFC 854 says a party must
//! not acknowledge a request for the mode it is already in.

use super::Item;
use super::names::{self, AYT, DO, DONT, IAC, WILL, WONT};

/// socklab's reply to one telnet command.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    /// What the command asks for, in words.
    pub meaning: String,
    /// Bytes to send back, and their name (`IAC WONT ECHO`).
    pub reply: Option<(Vec<u8>, String)>,
    /// Why that answer (or why none).
    pub why: String,
}

/// The answer to a command frame; `None` for data.
pub fn answer(item: &Item) -> Option<Answer> {
    Some(match *item {
        Item::Data { .. } => return None,
        Item::Negotiate { verb, option } => negotiate(verb, option),
        Item::Sub { option, ended, .. } => {
            let o = names::option(option);
            let cut = if ended {
                ""
            } else {
                " (cut short by another command: no IAC SE)"
            };
            Answer {
                meaning: format!("parameters for {} ({}){cut}", o.name, o.what),
                reply: None,
                why: "socklab agreed to no option, so the parameters are only shown".into(),
            }
        }
        Item::Command(AYT) => Answer {
            meaning: names::command(AYT).1.into(),
            reply: Some((
                b"\r\n[socklab: yes, here]\r\n".to_vec(),
                "[socklab: yes, here]".into(),
            )),
            why: "RFC 854 asks for a visible sign that the other side is alive".into(),
        },
        Item::Command(code) => Answer {
            meaning: names::command(code).1.into(),
            reply: None,
            why: "noted: socklab passes the data on and acts on no command".into(),
        },
    })
}

fn negotiate(verb: u8, option: u8) -> Answer {
    let o = names::option(option);
    let rfc = if o.rfc.is_empty() {
        format!("option {option}")
    } else {
        o.rfc.to_string()
    };
    let (meaning, refusal) = match verb {
        DO => (
            format!("the peer asks us to use {} ({rfc}): {}", o.name, o.what),
            Some(WONT),
        ),
        WILL => (
            format!("the peer offers to use {} ({rfc}): {}", o.name, o.what),
            Some(DONT),
        ),
        WONT => (format!("the peer will not use {} (or stops)", o.name), None),
        _ => (format!("the peer asks us not to use {}", o.name), None),
    };
    match refusal {
        Some(reply) => Answer {
            meaning,
            reply: Some((
                vec![IAC, reply, option],
                format!("IAC {} {}", names::verb(reply), o.name),
            )),
            why: format!("refused, as socklab refuses every option: {}", o.off),
        },
        None => Answer {
            meaning,
            reply: None,
            why: format!(
                "nothing to answer: {} is off here already, and acknowledging it again could loop (RFC 854)",
                o.name
            ),
        },
    }
}

/// A subnegotiation's parameters in words, for the options whose format
/// socklab knows: NAWS is a width and a height, the text options (terminal
/// type, speed, X display) say IS "value" or SEND.
pub fn params(option: u8, params: &[u8]) -> String {
    match (option, params) {
        (31, [w1, w0, h1, h0]) => {
            let (w, h) = (
                u16::from_be_bytes([*w1, *w0]),
                u16::from_be_bytes([*h1, *h0]),
            );
            format!("{w}x{h}")
        }
        (24 | 32 | 35, [0, text @ ..]) => format!("IS {}", crate::trace::escape::preview(text, 60)),
        (24 | 32 | 35 | 36 | 39, [1, ..]) => "SEND".into(),
        (_, bytes) => crate::trace::escape::preview(bytes, 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_to_enable_are_refused_and_refusals_are_not_answered() {
        let a = answer(&Item::Negotiate {
            verb: DO,
            option: 24,
        })
        .expect("a command");
        assert_eq!(
            a.reply,
            Some((vec![IAC, WONT, 24], "IAC WONT TERMINAL-TYPE".into()))
        );
        assert!(a.meaning.contains("RFC 1091"), "{}", a.meaning);
        let a = answer(&Item::Negotiate {
            verb: WILL,
            option: 34,
        })
        .expect("a command");
        assert_eq!(a.reply.expect("refused").0, [IAC, DONT, 34]);
        for verb in [WONT, DONT] {
            let a = answer(&Item::Negotiate { verb, option: 1 }).expect("a command");
            assert_eq!(a.reply, None, "no loop");
        }
        let unknown = answer(&Item::Negotiate {
            verb: DO,
            option: 200,
        })
        .expect("a command");
        assert!(
            unknown.meaning.contains("option 200"),
            "{}",
            unknown.meaning
        );
    }

    #[test]
    fn known_parameters_read_as_words() {
        assert_eq!(params(31, &[0, 80, 0, 24]), "80x24");
        assert_eq!(params(24, b"\0XTERM"), "IS \"XTERM\"");
        assert_eq!(params(24, b"\x01"), "SEND");
        assert!(answer(&Item::Command(AYT)).expect("ayt").reply.is_some());
        assert!(
            answer(&Item::Data {
                text: vec![],
                end: super::super::DataEnd::Eof
            })
            .is_none()
        );
    }
}
