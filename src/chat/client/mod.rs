//! The chat client: `socklab chat alice@localhost` (a line chat),
//! `socklab chat send FROM TO MESSAGE` (one message, for scripts, like
//! sendxmpp) and `socklab chat history JID` (the local cache, for scripts). It speaks XMPP to any XMPP server — socklab's own, Prosody,
//! ejabberd — or socklab's JSON protocol (`--proto json`), narrating every
//! step of the login and of the conversation.
//!
//! ```text
//! mod.rs       the commands: account, password, cache, connect, run
//! history.rs   `chat history`: the cache printed (after a sync, with --sync)
//! link/        the mio loop: stdin and the connection (server.rs), frames in, bytes out
//! wire.rs      the Wire trait and the Updates it reports (typed values)
//! xmpp/        the XMPP client: stream, SASL, bind, roster, stanzas
//! json.rs      the JSON protocol client
//! chat.rs      the chat itself: what is printed and cached, how it ends
//! contacts.rs  the roster and who is online; /roster, /who
//! input.rs     what typed lines do; command.rs parses them
//! sync.rs      the archive sync after login: what the cache lacks, page by page
//! cache/       the local SQLite cache of chat records (schema: cache.sql)
//! attachments.rs  /send, links received and fetched: the chat's side
//! shelf.rs     /attachments and /open N, from the cache
//! attach/      the HTTP of attachments on the loop: PUT, GET, safe names
//! ```

mod attach;
mod attachments;
mod cache;
mod chat;
mod command;
mod contacts;
mod history;
mod input;
mod json;
mod link;
mod shelf;
mod sync;
mod wire;
mod xmpp;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::UsageError;
use crate::addr::Host;
use crate::chat::accounts::read_password;
use crate::chat::jid::Jid;
use crate::chat::sasl::{Mechanism, ScramHash};
use crate::cli::{ChatClientArgs, ChatMechanism, ChatProto, ChatSendArgs};
use crate::net::output::Output;
use crate::net::resolve_narrated;
use crate::trace::{Event, Side, Tracer};
use cache::Cache;
use chat::{Chat, Mode};
pub use history::history;
use link::Link;
use wire::{Login, Wire};

/// `socklab chat JID`.
pub fn chat(jid: &str, args: &ChatClientArgs, t: &mut Tracer) -> anyhow::Result<()> {
    let (login, addrs) = login(jid, args, true, t)?;
    let mut link = link(login, Mode::Interactive, args, t)?;
    if let Err(e) = link.connect(&addrs) {
        link.offline(e);
    }
    link.read_stdin()?;
    link.run()
}

/// `socklab chat send FROM TO MESSAGE...`.
pub fn send(args: &ChatSendArgs, t: &mut Tracer) -> anyhow::Result<()> {
    let message = (!args.message.is_empty()).then(|| args.message.join(" "));
    if message.as_deref().is_some_and(|m| m.trim().is_empty()) {
        return Err(UsageError::new(
            "the message is empty: give some words, or none to read messages from stdin",
        )
        .into());
    }
    // TO and the file are checked before the password is asked for.
    let to = contact(&args.to, &account(&args.from, &args.client)?.0.domain)?;
    let file = args.file.as_deref().map(check_file).transpose()?;
    // Without presence: see `Login::announce`.
    let (login, addrs) = login(&args.from, &args.client, false, t)?;
    let from_stdin = message.is_none() && file.is_none();
    let mode = Mode::Send { to, message, file };
    let mut link = link(login, mode, &args.client, t)?;
    link.connect(&addrs)?;
    if from_stdin {
        link.read_stdin()?;
    }
    link.run()
}

/// `--file PATH`: a file with something in it, or a usage error that says
/// what is wrong with the path.
fn check_file(path: &std::path::Path) -> anyhow::Result<String> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(UsageError::new(format!(
            "--file {shown}: not a file (a directory?); give one file"
        ))
        .into()),
        Ok(m) if m.len() == 0 => Err(UsageError::new(format!(
            "--file {shown}: the file is empty; there is nothing to send"
        ))
        .into()),
        Ok(_) => Ok(path.to_string_lossy().into_owned()),
        Err(e) => Err(UsageError::new(format!("--file {shown}: {e}; check the path")).into()),
    }
}

/// Who logs in, with which password, and where the server is.
fn login(
    jid: &str,
    args: &ChatClientArgs,
    announce: bool,
    t: &mut Tracer,
) -> anyhow::Result<(Login, Vec<SocketAddr>)> {
    let (account, resource) = account(jid, args)?;
    let addrs = server(args, t)?;
    let password = read_password(
        args.password_file.as_deref(),
        &format!("password for {account}: "),
        false,
    )?;
    let login = Login {
        jid: account,
        password,
        resource,
        mechanism: args.mechanism.map(mechanism),
        announce,
    };
    Ok((login, addrs))
}

/// The loop, with the chat, its cache and the wire for `--proto`.
fn link<'t>(
    login: Login,
    mode: Mode,
    args: &ChatClientArgs,
    t: &'t mut Tracer,
) -> anyhow::Result<Link<'t>> {
    let account = login.jid.clone();
    let cache = open_cache(args, &account, t)?;
    let mut chat = Chat::new(mode, account, cache, Output::stdout()?);
    chat.max_download = args.max_download as u64;
    chat.server_name = args
        .server
        .host
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let user = login.user().to_string();
    Link::new(t, chat, wire(args.proto, login), &user)
}

/// The account to log in as, and the resource: `--resource`, or the one in
/// the JID (`alice@localhost/laptop`).
fn account(jid: &str, args: &ChatClientArgs) -> anyhow::Result<(Jid, Option<String>)> {
    let parsed = Jid::parse(jid).map_err(|why| UsageError::new(format!("{jid}: {why}")))?;
    if parsed.local.is_none() {
        return Err(UsageError::new(format!(
            "{jid} has no user name: write NAME@DOMAIN, like alice@localhost"
        ))
        .into());
    }
    let resource = args.resource.clone().or_else(|| parsed.resource.clone());
    if let Some(r) = &resource {
        Jid::parse(&format!("x@y/{r}"))
            .map_err(|why| UsageError::new(format!("--resource {r:?}: {why}")))?;
    }
    Ok((parsed.to_bare(), resource))
}

/// `bob` is bob@DOMAIN; a JID is taken as it is.
fn contact(name: &str, domain: &str) -> anyhow::Result<Jid> {
    let full = if name.contains('@') {
        name.to_string()
    } else {
        format!("{name}@{domain}")
    };
    let j = Jid::parse(&full).map_err(|why| UsageError::new(format!("{name}: {why}")))?;
    if j.local.is_none() {
        return Err(UsageError::new(format!(
            "{name} is a server, not a person: write NAME or NAME@DOMAIN"
        ))
        .into());
    }
    Ok(j)
}

/// `--server`: HOST:PORT, or PORT on 127.0.0.1; resolved, narrated.
fn server(args: &ChatClientArgs, t: &mut Tracer) -> anyhow::Result<Vec<SocketAddr>> {
    let host = args
        .server
        .host
        .clone()
        .unwrap_or(Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let port = args.server.port.unwrap_or(crate::chat::DEFAULT_PORT);
    if port == 0 {
        return Err(UsageError::new("--server: port 0 means \"any free port\" when binding; give the port the server listens on").into());
    }
    resolve_narrated(t, Side::Client, &host, port)
}

fn open_cache(args: &ChatClientArgs, account: &Jid, t: &mut Tracer) -> anyhow::Result<Cache> {
    let cache = Cache::open(&crate::chat::data_dir(args.data_dir.as_deref()), account)?;
    let text = format!(
        "chat records go to the local cache {} (SQLite): every message sent and received, readable offline with /history",
        cache.path().display()
    );
    t.emit(
        Side::Client,
        None,
        Event::Chat {
            action: "cache",
            user: account.user().unwrap_or_default(),
            text: &text,
        },
    );
    Ok(cache)
}

fn mechanism(m: ChatMechanism) -> Mechanism {
    match m {
        ChatMechanism::ScramSha256 => Mechanism::Scram(ScramHash::Sha256),
        ChatMechanism::ScramSha1 => Mechanism::Scram(ScramHash::Sha1),
        ChatMechanism::Plain => Mechanism::Plain,
    }
}

fn wire(proto: ChatProto, login: Login) -> Box<dyn Wire> {
    match proto {
        ChatProto::Xmpp => Box::new(xmpp::XmppClient::new(login)),
        ChatProto::Json => Box::new(json::JsonClient::new(login)),
    }
}
