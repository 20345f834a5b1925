//! Helpers for the chat tests: a `socklab chat serve` on an OS-chosen port
//! with a fresh data directory and accounts, real XMPP clients (slixmpp,
//! driven by tests/peers/slix.py), raw JSON clients, socklab's own chat
//! client driven line by line, and a Prosody server in a temporary
//! directory.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{DEADLINE, Finished, Proc, bin, socklab};

/// The password every test account gets.
pub const PASSWORD: &str = "correct horse";

/// The python that has slixmpp 1.17 (scripts/test makes it).
pub fn slixmpp_python() -> PathBuf {
    let venv = std::env::var_os("SOCKLAB_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".peers/venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/test creates it (python3 -m venv .peers/venv; pip install slixmpp==1.17.0)",
        python.display()
    );
    python
}

pub struct ChatServer {
    pub proc: Proc,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// The lesson state directory its events are recorded in, if any.
    pub state: Option<PathBuf>,
}

/// `socklab ARGS` with JSON events, recorded in the lessons of `state`
/// (a learner's `SOCKLAB_STATE_DIR`) when given.
pub fn socklab_in(args: &[&str], state: Option<&Path>) -> Command {
    let mut cmd = socklab(args);
    if let Some(dir) = state {
        cmd.env("SOCKLAB_STATE_DIR", dir);
    }
    cmd
}

impl ChatServer {
    /// A server with these accounts (password [`PASSWORD`]).
    pub fn start(users: &[&str], extra: &[&str]) -> ChatServer {
        ChatServer::start_in(users, extra, None)
    }

    /// The same, its events recorded in the current lesson of `state`.
    pub fn start_in(users: &[&str], extra: &[&str], state: Option<&Path>) -> ChatServer {
        let dir = tempfile::tempdir().expect("tempdir");
        for user in users {
            add_user(dir.path(), user);
        }
        let (proc, port) = ChatServer::launch(dir.path(), "0", extra, state);
        let state = state.map(Path::to_path_buf);
        ChatServer {
            proc,
            port,
            dir,
            state,
        }
    }

    fn launch(data: &Path, port: &str, extra: &[&str], state: Option<&Path>) -> (Proc, u16) {
        let data = data.to_str().expect("utf-8 path").to_string();
        let mut args = vec!["chat", "serve", port, "--data-dir", &data];
        args.extend_from_slice(extra);
        let mut p = Proc::spawn("chat serve", socklab_in(&args, state));
        p.wait_for("listen");
        let port = p.port();
        (p, port)
    }

    /// Kills the server (SIGKILL) and waits until it is gone; its data stays.
    pub fn kill(&mut self) {
        let old = std::mem::replace(
            &mut self.proc,
            Proc::spawn("placeholder", Command::new("true")),
        );
        old.kill();
    }

    /// Kills the server (SIGKILL) and starts a new one on the same data.
    pub fn kill_and_restart(&mut self, extra: &[&str]) {
        self.kill();
        let (proc, port) = ChatServer::launch(self.dir.path(), "0", extra, self.state.as_deref());
        self.proc = proc;
        self.port = port;
    }

    /// Kills the server (SIGKILL) and starts it again as a person would:
    /// the same command, so the same port and data (SO_REUSEADDR lets it
    /// bind at once).
    /// (The file service gets an OS-chosen port: on a fixed chat port its
    /// default is 5280, which another test or program may hold.)
    pub fn kill_and_restart_same(&mut self, extra: &[&str]) {
        self.kill();
        let port = self.port.to_string();
        let mut args = extra.to_vec();
        if !args.contains(&"--http-port") && !args.contains(&"--no-files") {
            args.extend(["--http-port", "0"]);
        }
        let (proc, _) = ChatServer::launch(self.dir.path(), &port, &args, self.state.as_deref());
        self.proc = proc;
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    /// Waits for a `chat` event with this action (and user, if given).
    pub fn wait_chat(&mut self, action: &str, user: &str) -> Value {
        let pred = |e: &Value| {
            e["step"] == "chat" && e["action"] == action && (user.is_empty() || e["user"] == user)
        };
        self.proc
            .wait_until(&format!("chat {action} {user}"), |evs| evs.iter().any(pred));
        self.proc
            .seen
            .iter()
            .find(|e| pred(e))
            .cloned()
            .expect("seen")
    }

    /// The file service's base URL (`http://127.0.0.1:PORT`), from the
    /// server's `serve` event that announces it.
    pub fn files_url(&mut self) -> String {
        let serve = self.wait_chat_text("serve", "file service on http://");
        let text = serve["text"].as_str().expect("text");
        let url = text["file service on ".len()..]
            .split(": ")
            .next()
            .expect("the URL before ': '");
        url.to_string()
    }

    /// Waits for a `chat` event with this action whose text contains `needle`.
    pub fn wait_chat_text(&mut self, action: &str, needle: &str) -> Value {
        wait_chat(&mut self.proc, action, needle)
    }

    /// Counts `chat` events with this action so far.
    pub fn count_chat(&self, action: &str) -> usize {
        self.proc
            .seen
            .iter()
            .filter(|e| e["step"] == "chat" && e["action"] == action)
            .count()
    }
}

/// Writes [`PASSWORD`] to `dir/.pw-USER` (what `--password-file` reads).
pub fn password_file(dir: &Path, user: &str) -> PathBuf {
    let pw = dir.join(format!(".pw-{user}"));
    std::fs::write(&pw, format!("{PASSWORD}\n")).expect("write password file");
    pw
}

pub fn add_user(data: &Path, user: &str) {
    let pw = password_file(data, user);
    let out = Command::new(bin())
        .args(["chat", "adduser", user, "--password-file"])
        .arg(&pw)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("run adduser");
    assert!(
        out.status.success(),
        "adduser {user}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A slixmpp client logged in as `jid`, driven by JSON commands.
pub struct Xmpp {
    pub proc: Proc,
}

impl Xmpp {
    pub fn login(port: u16, jid: &str, mech: Option<&str>) -> Xmpp {
        Xmpp::login_with(port, jid, PASSWORD, mech)
    }

    pub fn login_with(port: u16, jid: &str, password: &str, mech: Option<&str>) -> Xmpp {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/slix.py");
        let mut cmd = Command::new(slixmpp_python());
        cmd.arg(script).args([jid, password, &port.to_string()]);
        if let Some(m) = mech {
            cmd.args(["--mech", m]);
        }
        let mut proc = Proc::spawn(&format!("slixmpp {jid}"), cmd);
        proc.wait_until("session_start or failed_auth", |evs| {
            evs.iter()
                .any(|e| e["step"] == "session_start" || e["step"] == "failed_auth")
        });
        Xmpp { proc }
    }

    pub fn logged_in(&self) -> bool {
        self.proc.seen.iter().any(|e| e["step"] == "session_start")
    }

    pub fn cmd(&mut self, v: Value) {
        self.proc.write(format!("{v}\n").as_bytes());
    }

    /// Waits for an event matching `pred`, and returns it.
    pub fn wait(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.proc.wait_until(what, |evs| evs.iter().any(&pred));
        self.proc
            .seen
            .iter()
            .find(|e| pred(e))
            .cloned()
            .expect("seen")
    }

    pub fn wait_message(&mut self, body: &str) -> Value {
        self.wait(&format!("message {body:?}"), |e| {
            e["step"] == "message" && e["body"] == body
        })
    }

    pub fn quit(mut self) {
        self.cmd(serde_json::json!({"cmd": "quit"}));
        let _ = self.proc.finish();
    }
}

/// A raw JSON-protocol client on a TCP socket, with deadlines.
pub struct JsonClient {
    stream: TcpStream,
    pub reader: BufReader<TcpStream>,
    pub seen: Vec<Value>,
}

impl JsonClient {
    pub fn connect(port: u16) -> JsonClient {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        JsonClient {
            stream,
            reader,
            seen: Vec::new(),
        }
    }

    pub fn login(port: u16, user: &str) -> JsonClient {
        let mut c = JsonClient::connect(port);
        c.send(serde_json::json!({"type": "login", "user": user, "password": PASSWORD}));
        c.wait(|v| v["type"] == "logged_in");
        c
    }

    pub fn send(&mut self, v: Value) {
        self.stream
            .write_all(format!("{v}\n").as_bytes())
            .expect("write");
    }

    /// Sends FIN: nothing more from this client (`nc -N` at stdin's end).
    pub fn finish_sending(&mut self) {
        self.stream
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads lines until one matches (the read timeout is the deadline).
    pub fn wait(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return v.clone();
        }
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).unwrap_or_else(|e| {
                panic!(
                    "no matching line within {DEADLINE:?} ({e}); seen: {:?}",
                    self.seen
                )
            });
            assert!(n > 0, "the server closed; seen: {:?}", self.seen);
            let v: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"));
            self.seen.push(v.clone());
            if pred(&v) {
                return v;
            }
        }
    }

    /// Reads until the server closes the connection (or the deadline).
    pub fn wait_closed(&mut self) {
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) => {
                    if let Ok(v) = serde_json::from_str(&line) {
                        self.seen.push(v);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(e) => panic!("the server did not close within {DEADLINE:?}: {e}"),
            }
        }
    }
}

/// `socklab chat JID`, driven by typed lines, its events JSON lines on
/// stderr, its cache in its own directory.
pub struct Client {
    pub proc: Proc,
    pub cache: tempfile::TempDir,
}

impl Client {
    /// Starts a client of the server on `port`; `keys` holds `.pw-USER`.
    pub fn start(port: u16, jid: &str, keys: &Path, extra: &[&str]) -> Client {
        let cache = tempfile::tempdir().expect("tempdir");
        let proc = Client::spawn(port, jid, keys, cache.path(), extra, None);
        Client { proc, cache }
    }

    /// A client whose events are recorded in the current lesson of `state`,
    /// its cache in `cache` (a learner's one data directory, kept between runs).
    pub fn start_in(
        port: u16,
        jid: &str,
        keys: &Path,
        cache: &Path,
        extra: &[&str],
        state: &Path,
    ) -> Proc {
        Client::spawn(port, jid, keys, cache, extra, Some(state))
    }

    /// Starts a client and waits until it is online.
    pub fn login(port: u16, jid: &str, keys: &Path, extra: &[&str]) -> Client {
        let mut c = Client::start(port, jid, keys, extra);
        c.wait_chat("online", "");
        c
    }

    /// A client on a cache an earlier one left (see [`Client::stop`]).
    pub fn resume(
        cache: tempfile::TempDir,
        port: u16,
        jid: &str,
        keys: &Path,
        extra: &[&str],
    ) -> Client {
        let proc = Client::spawn(port, jid, keys, cache.path(), extra, None);
        Client { proc, cache }
    }

    fn spawn(
        port: u16,
        jid: &str,
        keys: &Path,
        cache: &Path,
        extra: &[&str],
        state: Option<&Path>,
    ) -> Proc {
        let user = jid.split('@').next().unwrap_or(jid);
        let server = format!("127.0.0.1:{port}");
        let pw = keys.join(format!(".pw-{user}"));
        let (pw, cache) = (path(&pw), path(cache));
        let mut args = vec!["chat", jid, "--server", &server, "--password-file", &pw];
        args.extend_from_slice(&["--data-dir", &cache]);
        args.extend_from_slice(extra);
        Proc::spawn(&format!("socklab chat {jid}"), socklab_in(&args, state))
    }

    /// Types one line.
    pub fn line(&mut self, line: &str) {
        self.proc.write(format!("{line}\n").as_bytes());
    }

    /// Waits for a `chat` event with this action whose text contains `needle`.
    pub fn wait_chat(&mut self, action: &str, needle: &str) -> Value {
        wait_chat(&mut self.proc, action, needle)
    }

    pub fn wait_stdout(&self, needle: &str) {
        self.proc.wait_stdout(needle.as_bytes());
    }

    /// `/quit`, then everything the client left behind.
    pub fn quit(self) -> Finished {
        self.stop().0
    }

    /// `/quit`; hands back the cache directory for a later client.
    pub fn stop(mut self) -> (Finished, tempfile::TempDir) {
        self.line("/quit");
        let Client { proc, cache } = self;
        (proc.finish(), cache)
    }
}

/// Waits for a `chat` event with this action whose text contains `needle`.
pub fn wait_chat(p: &mut Proc, action: &str, needle: &str) -> Value {
    let pred = |e: &Value| {
        e["step"] == "chat"
            && e["action"] == action
            && e["text"].as_str().is_some_and(|t| t.contains(needle))
    };
    p.wait_event(&format!("chat {action} {needle:?}"), pred)
}

fn path(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// `socklab chat send FROM TO [MESSAGE]` against the server on `port`.
pub fn chat_send(
    port: u16,
    keys: &Path,
    from: &str,
    to: &str,
    message: &[&str],
    extra: &[&str],
) -> Finished {
    let cache = tempfile::tempdir().expect("tempdir");
    let user = from.split('@').next().unwrap_or(from);
    let server = format!("127.0.0.1:{port}");
    let pw = path(&keys.join(format!(".pw-{user}")));
    let dir = path(cache.path());
    let mut args = vec!["chat", "send", from, to];
    args.extend_from_slice(message);
    args.extend_from_slice(&[
        "--server",
        &server,
        "--password-file",
        &pw,
        "--data-dir",
        &dir,
    ]);
    args.extend_from_slice(extra);
    super::run(&format!("socklab chat send {from} {to}"), socklab(&args))
}

/// Prosody 0.12 on loopback, configured in a temporary directory: plain
/// TCP, PLAIN allowed without TLS, c2s on an OS-chosen free port.
pub struct Prosody {
    pub proc: Proc,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Prosody {
    /// Starts Prosody with `authentication = AUTH` and these accounts
    /// (password [`PASSWORD`], files `.pw-USER` in `dir`).
    pub fn start(auth: &str, users: &[&str]) -> Prosody {
        Prosody::start_with(auth, users, &[])
    }

    /// The same, with more modules enabled (`"mam"`: the message archive).
    pub fn start_with(auth: &str, users: &[&str], modules: &[&str]) -> Prosody {
        super::require("prosody");
        super::require("prosodyctl");
        let dir = tempfile::tempdir().expect("tempdir");
        let d = path(dir.path());
        // A free port: bound, read, released (Prosody cannot report the port it bound).
        let port = super::free_tcp_port();
        std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
        std::fs::create_dir_all(dir.path().join("certs")).expect("certs dir");
        let extra: String = modules.iter().map(|m| format!(" \"{m}\";")).collect();
        let config = format!(
            r#"-- socklab test: Prosody on loopback, plain TCP, no TLS
run_as_root = true
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
certificates = "{d}/certs"
network_backend = "epoll"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "{auth}"
c2s_ports = {{ {port} }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_direct_tls_ports = {{}}
s2s_ports = {{}}
s2s_direct_tls_ports = {{}}
legacy_ssl_ports = {{}}
log = {{ {{ levels = {{ min = "info" }}, to = "console" }} }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "presence"; "message"; "offline"; "posix";{extra} }}
VirtualHost "localhost"
"#
        );
        let cfg = dir.path().join("prosody.cfg.lua");
        std::fs::write(&cfg, config).expect("write prosody config");
        for user in users {
            password_file(dir.path(), user);
            let out = Command::new("prosodyctl")
                .arg("--config")
                .arg(&cfg)
                .args(["register", user, "localhost", PASSWORD])
                .output()
                .expect("run prosodyctl");
            assert!(
                out.status.success(),
                "prosodyctl register {user}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut cmd = Command::new("prosody");
        cmd.arg("--config").arg(&cfg).arg("-F");
        let proc = Proc::spawn("prosody", cmd);
        wait_connectable(port, &proc);
        Prosody { proc, port, dir }
    }

    pub fn keys(&self) -> &Path {
        self.dir.path()
    }
}

/// Polls connect() until something accepts on `port` (Prosody prints no
/// event to wait for), failing with the process's output at the deadline.
fn wait_connectable(port: u16, proc: &Proc) {
    let end = std::time::Instant::now() + DEADLINE;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < end,
            "{} did not accept on port {port} within {DEADLINE:?}\n{}{}",
            proc.name,
            proc.stdout_now(),
            proc.stderr_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
