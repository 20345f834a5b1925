//! Helpers for the chat tests: a `socklab chat serve` on an OS-chosen port
//! with a fresh data directory and accounts, real XMPP clients (slixmpp,
//! driven by tests/peers/slix.py) and raw JSON clients.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{DEADLINE, Proc, bin, socklab};

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
}

impl ChatServer {
    /// A server with these accounts (password [`PASSWORD`]).
    pub fn start(users: &[&str], extra: &[&str]) -> ChatServer {
        let dir = tempfile::tempdir().expect("tempdir");
        for user in users {
            add_user(dir.path(), user);
        }
        let (proc, port) = ChatServer::launch(dir.path(), extra);
        ChatServer { proc, port, dir }
    }

    fn launch(data: &Path, extra: &[&str]) -> (Proc, u16) {
        let data = data.to_str().expect("utf-8 path").to_string();
        let mut args = vec!["chat", "serve", "0", "--data-dir", &data];
        args.extend_from_slice(extra);
        let mut p = Proc::spawn("chat serve", socklab(&args));
        p.wait_for("listen");
        let port = p.port();
        (p, port)
    }

    /// Kills the server (SIGKILL) and starts a new one on the same data.
    pub fn kill_and_restart(&mut self, extra: &[&str]) {
        let old = std::mem::replace(
            &mut self.proc,
            Proc::spawn("placeholder", Command::new("true")),
        );
        old.kill();
        let (proc, port) = ChatServer::launch(self.dir.path(), extra);
        self.proc = proc;
        self.port = port;
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

    /// Counts `chat` events with this action so far.
    pub fn count_chat(&self, action: &str) -> usize {
        self.proc
            .seen
            .iter()
            .filter(|e| e["step"] == "chat" && e["action"] == action)
            .count()
    }
}

pub fn add_user(data: &Path, user: &str) {
    let pw = data.join(format!(".pw-{user}"));
    std::fs::write(&pw, format!("{PASSWORD}\n")).expect("write password file");
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
