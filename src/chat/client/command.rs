//! What a typed line means: a message for the current contact, or one of
//! the slash commands. Pure parsing, no I/O, so every form is unit-tested.
//!
//! A line that starts with `/` is a command; to send a message that starts
//! with a slash, double it (`//etc/hosts` sends `/etc/hosts`), as IRC
//! clients do.

/// Messages `/history` shows when no count is given.
pub const HISTORY_DEFAULT: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// A message for the current contact.
    Say(String),
    To(String),
    Roster,
    Add(String),
    Accept(String),
    Deny(String),
    Remove(String),
    Who,
    History(String, usize),
    /// `/send [NAME] PATH`: a file, to NAME or the current contact.
    Send(Option<String>, String),
    Attachments,
    Open(i64),
    Quit,
    Help,
    /// Nothing to do (an empty line).
    Nothing,
    /// A command typed wrong: what to type instead.
    Bad(String),
}

/// The `/help` text.
pub const HELP: &str = "\
a line without / is a message for the current contact
/to NAME        talk to NAME (bob means bob@YOUR-DOMAIN)
/roster         your contacts, their subscription and whether they are online
/add NAME       add NAME to your roster and ask to see their presence
/accept NAME    accept NAME's friend request (and ask back, so you see each other)
/deny NAME      refuse NAME's friend request
/remove NAME    remove NAME from your roster (and both subscriptions)
/who            contacts online now
/history NAME [N]  the last N (default 20) messages with NAME, from the local cache
/send PATH      send a file to the current contact: upload it (XEP-0363), send the link
/send NAME PATH send a file to NAME
/attachments    files sent and received, numbered, with where they are
/open N         attachment N's path, size, sha256 and the command to open it
/quit           close the stream cleanly and exit (so does end of input, Ctrl-D)
/help           this list
//text          send a message that starts with /";

pub fn parse(line: &str) -> Command {
    let line = line.trim_end_matches(['\r', '\n']);
    if let Some(rest) = line.strip_prefix("//") {
        return Command::Say(format!("/{rest}"));
    }
    let Some(rest) = line.strip_prefix('/') else {
        return if line.trim().is_empty() {
            Command::Nothing
        } else {
            Command::Say(line.to_string())
        };
    };
    let mut words = rest.split_whitespace();
    let verb = words.next().unwrap_or_default().to_ascii_lowercase();
    let args: Vec<&str> = words.collect();
    let one = |make: fn(String) -> Command, usage: &str| match args.as_slice() {
        [name] => make(name.to_string()),
        _ => Command::Bad(format!("usage: {usage}")),
    };
    match verb.as_str() {
        "to" => one(Command::To, "/to NAME"),
        "add" => one(Command::Add, "/add NAME"),
        "accept" => one(Command::Accept, "/accept NAME"),
        "deny" => one(Command::Deny, "/deny NAME"),
        "remove" => one(Command::Remove, "/remove NAME"),
        "roster" if args.is_empty() => Command::Roster,
        "who" if args.is_empty() => Command::Who,
        "quit" | "exit" if args.is_empty() => Command::Quit,
        "help" | "?" => Command::Help,
        "history" => match args.as_slice() {
            [name] => Command::History(name.to_string(), HISTORY_DEFAULT),
            [name, n] => match n.parse::<usize>() {
                Ok(n) if n > 0 => Command::History(name.to_string(), n),
                _ => Command::Bad(format!(
                    "/history {name} {n}: the count must be a number above 0"
                )),
            },
            _ => Command::Bad("usage: /history NAME [N]".into()),
        },
        "send" => match args.as_slice() {
            [path] => Command::Send(None, path.to_string()),
            [name, path] => Command::Send(Some(name.to_string()), path.to_string()),
            _ => Command::Bad("usage: /send PATH, or /send NAME PATH".into()),
        },
        "attachments" if args.is_empty() => Command::Attachments,
        "open" => match args.as_slice() {
            [n] => match n.parse::<i64>() {
                Ok(n) if n > 0 => Command::Open(n),
                _ => Command::Bad(format!("/open {n}: the number is one /attachments shows")),
            },
            _ => Command::Bad("usage: /open N (the number /attachments shows)".into()),
        },
        "roster" | "who" | "quit" | "exit" | "attachments" => {
            Command::Bad(format!("/{verb} takes no arguments"))
        }
        "" => Command::Bad("a lone / is not a command: /help lists them".into()),
        other => Command::Bad(format!(
            "/{other} is not a command: /help lists them (to send a message that starts with /, write //)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_messages_and_commands() {
        let cases = [
            ("hi bob", Command::Say("hi bob".into())),
            ("中午一起吃饭\r\n", Command::Say("中午一起吃饭".into())),
            ("//etc/hosts", Command::Say("/etc/hosts".into())),
            ("   ", Command::Nothing),
            ("/to bob", Command::To("bob".into())),
            ("/TO bob@localhost", Command::To("bob@localhost".into())),
            ("/roster", Command::Roster),
            ("/add bob", Command::Add("bob".into())),
            ("/accept alice", Command::Accept("alice".into())),
            ("/deny alice", Command::Deny("alice".into())),
            ("/remove bob", Command::Remove("bob".into())),
            ("/who", Command::Who),
            (
                "/history bob",
                Command::History("bob".into(), HISTORY_DEFAULT),
            ),
            ("/history bob 5", Command::History("bob".into(), 5)),
            ("/quit", Command::Quit),
            ("/help", Command::Help),
            ("/send a.png", Command::Send(None, "a.png".into())),
            (
                "/send bob /tmp/a.png",
                Command::Send(Some("bob".into()), "/tmp/a.png".into()),
            ),
            ("/attachments", Command::Attachments),
            ("/open 3", Command::Open(3)),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line), want, "{line:?}");
        }
    }

    #[test]
    fn mistakes_say_what_to_type() {
        for (line, words) in [
            ("/to", "usage: /to NAME"),
            ("/to bob carol", "usage: /to NAME"),
            ("/history bob zero", "must be a number"),
            ("/history bob 0", "must be a number"),
            ("/history", "usage: /history"),
            ("/roster now", "takes no arguments"),
            ("/msg bob hi", "/msg is not a command"),
            ("/", "lone /"),
            ("/send", "usage: /send"),
            ("/open x", "the number"),
            ("/open", "usage: /open"),
        ] {
            match parse(line) {
                Command::Bad(text) => assert!(text.contains(words), "{line:?}: {text}"),
                other => panic!("{line:?}: {other:?}"),
            }
        }
    }
}
