//! `socklab chat`: instant messaging, the half of the tutorial that is about
//! what sockets are for. A server (`chat serve`) that speaks XMPP and the
//! tutorial's JSON protocol on one port, its accounts, and a client.
//!
//! One model of a conversation, many wire formats:
//!
//! ```text
//! server.rs  the mio loop ──bytes──▶ framing/xml | framing/json ──frames──▶
//!            xmpp/ | json.rs (adapters: wire ⇄ typed values)
//!                      │
//!            core/  accounts, roster, presence, routing (no XML, no JSON)
//!                      │
//!            store/ one narrow API over SQLite (schema.sql)
//! ```
//!
//! Also: `jid.rs` (addresses), `model.rs` (the typed values), `sasl/` (PLAIN
//! and SCRAM), `worker.rs` (password checks off the loop), `session.rs` (what
//! an adapter may ask of the loop), `accounts.rs` (adduser...),
//! `retention.rs` (how long the archive keeps messages), `time.rs`,
//! and `client/`: `socklab chat JID` and `socklab chat send`, which speak
//! XMPP to this server or any other (Prosody, ejabberd), or the JSON protocol.

pub mod accounts;
pub mod client;
pub mod core;
pub mod files;
pub mod jid;
pub mod json;
pub mod model;
pub mod redact;
pub mod retention;
pub mod sasl;
pub mod server;
pub mod session;
pub mod store;
pub mod time;
pub mod worker;
pub mod xmpp;

use std::path::PathBuf;
use std::time::Duration;

use crate::UsageError;
use crate::cli::{ChatAction, ChatArgs, ChatServeArgs, DataArgs};
use crate::framing::Limits;
use crate::net::resolve_narrated;
use crate::net::socket::listen_tcp;
use crate::trace::{Side, Tracer};
use sasl::Mechanism;

/// Characters that must not appear in names: invisible formatters and
/// direction overrides, which would let one name look like another.
pub fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// Where the chat keeps its databases: `--data-dir`, or
/// `$XDG_DATA_HOME/socklab/chat` (`~/.local/share/socklab/chat`).
pub fn data_dir(explicit: Option<&std::path::Path>) -> PathBuf {
    match explicit {
        Some(d) => d.to_path_buf(),
        None => std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(std::env::temp_dir)
            .join("socklab/chat"),
    }
}

fn open_store(data: &DataArgs) -> anyhow::Result<store::Store> {
    let path = data_dir(data.data_dir.as_deref()).join("server.db");
    store::Store::open(&path, &data.domain)
}

/// The account commands: plain output on stdout, no sockets.
pub fn run_accounts(action: &ChatAction) -> anyhow::Result<()> {
    let message = match action {
        ChatAction::Adduser {
            name,
            password_file,
            data,
        } => {
            let store = open_store(data)?;
            let pw = accounts::read_password(
                password_file.as_deref(),
                &format!("password for {name}: "),
                true,
            )?;
            accounts::adduser(&store, name, &pw)?
        }
        ChatAction::Passwd {
            name,
            password_file,
            data,
        } => {
            let store = open_store(data)?;
            let pw = accounts::read_password(
                password_file.as_deref(),
                &format!("new password for {name}: "),
                true,
            )?;
            accounts::passwd(&store, name, &pw)?
        }
        ChatAction::Deluser { name, data } => accounts::deluser(&mut open_store(data)?, name)?,
        ChatAction::Users { data } => accounts::users(&open_store(data)?)?,
        ChatAction::Plain {
            name,
            password_file,
        } => {
            let pw = accounts::read_password(
                password_file.as_deref(),
                &format!("password for {name}: "),
                false,
            )?;
            let (element, explanation) = accounts::plain_auth(name, &pw);
            let width = terminal_size::terminal_size_of(std::io::stderr())
                .map_or(100, |(w, _)| w.0 as usize);
            for line in crate::trace::wrap::wrap(&explanation, width.saturating_sub(1)) {
                eprintln!("{line}");
            }
            element
        }
        ChatAction::Purge {
            name,
            older_than,
            data,
        } => retention::purge(&open_store(data)?, name, *older_than, store::now_ms())?,
        ChatAction::Serve(_) | ChatAction::Send(_) | ChatAction::History(_) => return Ok(()),
    };
    println!("{message}");
    Ok(())
}

/// `socklab chat serve`.
pub fn serve(args: &ChatServeArgs, t: &mut Tracer) -> anyhow::Result<()> {
    let mechanisms = mechanisms(&args.sasl, args.anonymous)?;
    let (host, port) = args.addr.bind_target().map_err(UsageError::new)?;
    let store = open_store(&args.data)?;
    let addrs = resolve_narrated(t, Side::Server, &host, port)?;
    let (listener, local) = listen_tcp(t, Side::Server, addrs[0], 1024)?;
    let config = session::Config {
        domain: args.data.domain.clone(),
        mechanisms,
        failure_delay: args.failure_delay,
        max_auth_failures: 3,
        files: None,
    };
    let mut config = config;
    // The file service listens beside the chat, on the same host.
    let files = if args.no_files {
        None
    } else {
        let mut addr = local;
        addr.set_port(
            args.http_port
                .unwrap_or(if port == 0 { 0 } else { DEFAULT_HTTP_PORT }),
        );
        // Its socket calls are the chat listener's again: narrated once (the
        // chat's), then one line for this one, so that `listen` in a
        // lesson's log is always the chat's.
        let (listener, files_addr) = listen_tcp(&mut Tracer::silent(), Side::Server, addr, 1024)?;
        config.files = Some(files::FilesConfig {
            base_url: format!("http://{files_addr}"),
            max_file_size: args.max_file_size as u64,
            quota: args.quota as u64,
            slot_ttl_ms: args.slot_ttl.as_millis() as i64,
            dir: data_dir(args.data.data_dir.as_deref()).join("files"),
        });
        let text = format!(
            "file service on http://{files_addr}: attachments are uploaded here (PUT into a slot) and fetched from here (GET), each up to {} (--max-file-size)",
            crate::units::show_size(args.max_file_size)
        );
        t.emit(
            Side::Server,
            None,
            crate::trace::Event::Chat {
                action: "serve",
                user: "",
                text: &text,
            },
        );
        Some((listener, files_addr))
    };
    let opts = server::Options {
        config,
        limits: Limits {
            max_frame: args.max_stanza,
            max_depth: 32,
            ..Limits::default()
        },
        login_timeout: args.login_timeout,
        archive_days: args.archive_days,
        files,
    };
    let text = format!(
        "chat server for {} on {local}: XMPP clients and JSON clients on this one port; data in {}",
        args.data.domain,
        data_dir(args.data.data_dir.as_deref()).display()
    );
    t.emit(
        Side::Server,
        None,
        crate::trace::Event::Chat {
            action: "serve",
            user: "",
            text: &text,
        },
    );
    let mut store = store;
    store.batch_writes();
    let core = core::Core::new(store);
    server::Server::new(t, core, opts, listener, local)?.run()
}

/// The mechanisms to offer, strongest first.
fn mechanisms(list: &str, anonymous: bool) -> anyhow::Result<Vec<Mechanism>> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let m = Mechanism::from_name(&name.to_ascii_uppercase()).ok_or_else(|| {
            UsageError::new(format!(
                "--sasl {name}: unknown mechanism; choose from SCRAM-SHA-256, SCRAM-SHA-1, PLAIN"
            ))
        })?;
        if !out.contains(&m) {
            out.push(m);
        }
    }
    if anonymous && !out.contains(&Mechanism::Anonymous) {
        out.push(Mechanism::Anonymous);
    }
    if out.is_empty() {
        return Err(UsageError::new("--sasl needs at least one mechanism").into());
    }
    out.sort_by_key(|m| Mechanism::ALL.iter().position(|a| a == m));
    Ok(out)
}

/// Default limits and timings.
pub const DEFAULT_PORT: u16 = 5222;
/// The file service's port unless told (XMPP servers commonly serve HTTP
/// on 5280).
pub const DEFAULT_HTTP_PORT: u16 = 5280;
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(60);

pub use self::run_chat as run;

/// `socklab chat ...` that talks on a socket (serve, the client, send),
/// or narrates (history); `json` is `--json` (history prints JSON lines).
pub fn run_chat(args: &ChatArgs, json: bool, t: &mut Tracer) -> anyhow::Result<()> {
    match (&args.action, &args.jid) {
        (Some(ChatAction::Serve(s)), _) => serve(s, t),
        (Some(ChatAction::Send(s)), _) => client::send(s, t),
        (Some(ChatAction::History(h)), _) => client::history(h, json, t),
        (Some(_), _) => Ok(()),
        (None, Some(jid)) => client::chat(jid, &args.client, t),
        (None, None) => Err(UsageError::new(
            "which account? `socklab chat alice@localhost` logs in and chats (--server HOST:PORT, default 127.0.0.1:5222); `socklab chat serve` runs a server; `socklab chat --help` lists the rest",
        )
        .into()),
    }
}
