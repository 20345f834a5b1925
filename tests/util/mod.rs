//! Helpers for the integration tests: run the real socklab binary, follow its
//! JSON events with deadlines, feed its stdin and collect its stdout, and start
//! real peers (nc, socat, python3) on loopback.
//!
//! Synchronisation is always on something observable (an event, a socket in
//! the kernel's table, a process exit) and bounded by [`DEADLINE`]; there is no
//! bare sleep anywhere.

#![allow(dead_code)]

pub mod chat;
pub mod nginx;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The longest any single wait in a test may take. Generous, because CI
/// machines are slow and noisy; a healthy run never comes close.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_socklab")
}

/// A socklab command line with `--json` output and no colour.
pub fn socklab(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(["--json", "--color", "never"]).args(args);
    cmd
}

/// A running process whose stderr is JSON events (or text), whose stdout is
/// collected, and whose stdin we hold.
pub struct Proc {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<Value>,
    pub seen: Vec<Value>,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stdout_done: Option<JoinHandle<()>>,
    feeder: Option<JoinHandle<()>>,
}

/// What a finished process left behind.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub events: Vec<Value>,
    pub stderr: String,
}

impl Finished {
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn steps(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| e["step"].as_str())
            .collect()
    }
    pub fn find(&self, step: &str) -> Option<&Value> {
        self.events.iter().find(|e| e["step"] == step)
    }
    pub fn error_kind(&self) -> Option<&str> {
        self.find("error").and_then(|e| e["kind"].as_str())
    }
}

impl Proc {
    /// Starts `cmd` with piped stdin, stdout and stderr.
    pub fn spawn(name: &str, cmd: Command) -> Proc {
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let sink = stdout.clone();
        let mut p = Proc::spawn_with_stdout(name, cmd, move |data: &[u8]| {
            sink.lock().expect("stdout lock").extend_from_slice(data)
        });
        p.stdout = stdout;
        p
    }

    /// Starts `cmd` like [`Proc::spawn`], but hands each piece of its
    /// stdout to `sink` instead of keeping it: for gigabytes, checked as
    /// they pass.
    pub fn spawn_with_stdout(
        name: &str,
        mut cmd: Command,
        mut sink: impl FnMut(&[u8]) + Send + 'static,
    ) -> Proc {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdin = child.stdin.take();
        let mut out = child.stdout.take().expect("piped stdout");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stdout_done = Some(thread::spawn(move || {
            let mut buf = vec![0; 256 * 1024];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink(&buf[..n]);
            }
        }));
        let err = child.stderr.take().expect("piped stderr");
        let (tx, events) = channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let text = stderr.clone();
        thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
                let mut t = text.lock().expect("stderr lock");
                t.push_str(&line);
                t.push('\n');
            }
        });
        Proc {
            name: name.into(),
            child,
            stdin,
            events,
            seen: Vec::new(),
            stderr,
            stdout,
            stdout_done,
            feeder: None,
        }
    }

    /// Starts `socklab COMMAND [EXTRA...] 0` (a server on an OS-chosen
    /// loopback port) and returns it with the port it bound.
    pub fn server(command: &str, extra: &[&str]) -> (Proc, u16) {
        Proc::server_from(command, extra, socklab)
    }

    /// Like [`Proc::server`], with the command line built by `build`
    /// (to set an environment variable, say).
    pub fn server_from(
        command: &str,
        extra: &[&str],
        build: impl Fn(&[&str]) -> Command,
    ) -> (Proc, u16) {
        let mut args = vec![command];
        args.extend_from_slice(extra);
        args.push("0");
        let mut p = Proc::spawn(&args.join(" "), build(&args));
        let port = p.port();
        if command == "listen" {
            // bind() comes before listen(): a client connecting in between is refused.
            p.wait_for("listen");
        }
        (p, port)
    }

    /// Starts socklab with JSON events.
    pub fn socklab(args: &[&str]) -> Proc {
        Proc::spawn(&format!("socklab {}", args.join(" ")), socklab(args))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Takes every event that has arrived so far, without waiting.
    pub fn drain(&mut self) {
        while let Ok(v) = self.events.try_recv() {
            self.seen.push(v);
        }
    }

    /// Whether the process has exited (without waiting).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits until `pred` holds for the events seen so far; returns the
    /// index of the first event at which it held.
    pub fn wait_until(&mut self, what: &str, pred: impl Fn(&[Value]) -> bool) {
        let end = Instant::now() + DEADLINE;
        while !pred(&self.seen) {
            let v = self.next_event(what, end);
            self.seen.push(v);
        }
    }

    /// The next event, or a panic naming `what` once `end` has passed or
    /// the process has exited.
    fn next_event(&mut self, what: &str, end: Instant) -> Value {
        match self
            .events
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => {
                panic!(
                    "{}: no {what} within {DEADLINE:?}\n{}",
                    self.name,
                    self.stderr_text()
                )
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!(
                    "{}: exited before {what}\n{}",
                    self.name,
                    self.stderr_text()
                )
            }
        }
    }

    /// Waits for the first event with this step and returns it.
    pub fn wait_for(&mut self, step: &str) -> Value {
        self.wait_event(step, |e| e["step"] == step)
    }

    /// Waits for the first event (seen already, or to come) for which
    /// `pred` holds, and returns it. Each event is looked at once: a
    /// process that narrates 50,000 messages keeps the wait linear.
    pub fn wait_event(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(e) = self.seen.iter().find(|e| pred(e)) {
            return e.clone();
        }
        let end = Instant::now() + DEADLINE;
        loop {
            let v = self.next_event(what, end);
            let hit = pred(&v);
            self.seen.push(v);
            if hit {
                return self.seen.last().cloned().expect("just pushed");
            }
        }
    }

    /// Waits until `n` events with this step have been seen.
    pub fn wait_for_count(&mut self, step: &str, n: usize) {
        // Counted as events arrive, not by rescanning: a test with
        // thousands of events stays linear.
        let mut count = self.seen.iter().filter(|e| e["step"] == step).count();
        let end = Instant::now() + DEADLINE;
        while count < n {
            let v = self.next_event(&format!("{n} × {step} (seen {count})"), end);
            count += usize::from(v["step"] == step);
            self.seen.push(v);
        }
    }

    /// The port a `listen` or `recv` bound, from its `bind` event.
    pub fn port(&mut self) -> u16 {
        let bind = self.wait_for("bind");
        let addr: SocketAddr = bind["addr"]
            .as_str()
            .expect("bind addr")
            .parse()
            .expect("socket address");
        addr.port()
    }

    pub fn write(&mut self, data: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(data).expect("write to stdin");
        stdin.flush().expect("flush stdin");
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Writes `data` to stdin from a thread, then closes stdin.
    pub fn feed(&mut self, data: Vec<u8>) {
        let mut stdin = self.stdin.take().expect("stdin still open");
        self.feeder = Some(thread::spawn(move || {
            let _ = stdin.write_all(&data);
        }));
    }

    /// Waits until stdout contains `needle` (for peers that never exit by
    /// themselves, such as `nc -u -l`).
    pub fn wait_stdout(&self, needle: &[u8]) {
        self.wait_stdout_within(needle, DEADLINE);
    }

    /// [`Proc::wait_stdout`] with a longer deadline, for work whose size
    /// is the point (a 64 MiB file through a debug build on a shared machine).
    pub fn wait_stdout_within(&self, needle: &[u8], limit: Duration) {
        let end = Instant::now() + limit;
        loop {
            if self
                .stdout
                .lock()
                .expect("stdout lock")
                .windows(needle.len())
                .any(|w| w == needle)
            {
                return;
            }
            assert!(
                Instant::now() < end,
                "{}: stdout never contained {:?}\n{}",
                self.name,
                String::from_utf8_lossy(needle),
                self.stderr_text()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// What stdout has received so far.
    pub fn stdout_now(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().expect("stdout lock")).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Waits for the process to exit (killing it after the deadline, which
    /// fails the test) and collects everything it wrote.
    pub fn finish(mut self) -> Finished {
        self.stdin.take();
        let status = wait_exit(&mut self.child, DEADLINE).unwrap_or_else(|| {
            let _ = self.child.kill();
            panic!(
                "{}: still running after {DEADLINE:?}\n{}",
                self.name,
                self.stderr_text()
            )
        });
        if let Some(f) = self.feeder.take() {
            let _ = f.join();
        }
        if let Some(h) = self.stdout_done.take() {
            h.join().expect("stdout thread");
        }
        let stdout = std::mem::take(&mut *self.stdout.lock().expect("stdout lock"));
        // The stderr thread ends at EOF, which follows the exit.
        let end = Instant::now() + DEADLINE;
        while let Ok(v) = self
            .events
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            self.seen.push(v);
        }
        Finished {
            status,
            stdout,
            events: std::mem::take(&mut self.seen),
            stderr: self.stderr_text(),
        }
    }

    pub fn kill(mut self) -> Finished {
        let _ = self.child.kill();
        self.finish()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls for exit until `limit`. Polling a process for its exit is waiting on
/// an event with a deadline, not a sleep used as synchronisation.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > end {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs a command to completion with a deadline.
pub fn run(name: &str, cmd: Command) -> Finished {
    Proc::spawn(name, cmd).finish()
}

/// A loopback port that was free a moment ago, for peers that cannot report
/// the port they bound (nc, socat). socklab itself always binds port 0.
pub fn free_tcp_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind port 0");
    s.local_addr().expect("local addr").port()
}

/// Waits until some process listens on TCP `port` (read from /proc/net/tcp,
/// so that nothing connects to it and uses up a one-shot listener).
pub fn wait_tcp_listening(port: u16) {
    wait_in_proc_net(&["/proc/net/tcp", "/proc/net/tcp6"], port, "0A");
}

/// Waits until some process has bound UDP `port`.
pub fn wait_udp_bound(port: u16) {
    wait_in_proc_net(&["/proc/net/udp", "/proc/net/udp6"], port, "07");
}

fn wait_in_proc_net(files: &[&str], port: u16, state: &str) {
    let needle = format!(":{port:04X}");
    let end = Instant::now() + DEADLINE;
    loop {
        for f in files {
            let table = std::fs::read_to_string(f).unwrap_or_default();
            let found = table.lines().skip(1).any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.get(1).is_some_and(|a| a.ends_with(&needle)) && cols.get(3) == Some(&state)
            });
            if found {
                return;
            }
        }
        assert!(
            Instant::now() < end,
            "nothing bound port {port} within {DEADLINE:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Whether a program is installed (CI installs them; a developer may not have).
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A command line for a real peer (nc, socat, curl, telnet...), which must be
/// installed.
pub fn peer(program: &str, args: &[&str]) -> Command {
    require(program);
    let mut c = Command::new(program);
    c.args(args);
    c
}

/// A Python snippet run with the given arguments.
pub fn python(script: &str, args: &[&str]) -> Command {
    require("python3");
    let mut c = Command::new("python3");
    c.arg("-c").arg(script).args(args);
    c
}

/// Starts a Python server snippet that prints its port on its first line.
pub fn python_server(name: &str, script: &str, args: &[&str]) -> (Proc, u16) {
    let p = Proc::spawn(name, python(script, args));
    p.wait_stdout(b"\n");
    let port = p
        .stdout_now()
        .trim()
        .parse()
        .expect("the port on the first line");
    (p, port)
}

/// Python's http.server, speaking `version` (`HTTP/1.0` or `HTTP/1.1`),
/// serving `files` from a temporary directory.
pub fn python_http_server(
    version: &str,
    files: &[(&str, &[u8])],
) -> (Proc, tempfile::TempDir, u16) {
    const SERVER: &str = r#"
import http.server, sys, os
os.chdir(sys.argv[1])
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = sys.argv[2]
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).expect("write");
    }
    let root = dir.path().to_str().expect("utf-8").to_string();
    let (p, port) = python_server("http.server", SERVER, &[&root, version]);
    (p, dir, port)
}

/// Runs curl with these arguments; it must succeed.
pub fn curl(args: &[&str]) -> Finished {
    let f = run("curl", peer("curl", args));
    assert_eq!(f.code(), 0, "curl {args:?}: {}", f.stderr);
    f
}

/// Panics with a clear message when a required peer is missing: CI installs
/// every one of them, so a missing peer is a broken setup, not a reason to pass.
pub fn require(program: &str) {
    assert!(
        have(program),
        "{program} is not installed: run .ci/run's install step (apt-get install netcat-openbsd socat)"
    );
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Deterministic pseudo-random bytes (xorshift64*), so failures reproduce.
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(n);
    out
}

pub fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Splits a command line like a shell would, for the simple quoting lessons use.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() || any {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (None, c) => word.push(c),
        }
    }
    if !word.is_empty() || any {
        out.push(word);
    }
    out
}

/// Every socklab command line in a text: lines of code blocks (except
/// ```text blocks, which are pictures) and `inline code`.
pub fn commands(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut block: Option<bool> = None; // Some(is a text block)
    for line in text.lines() {
        if let Some(fence) = line.trim_start().strip_prefix("```") {
            block = match block {
                None => Some(fence.trim() == "text"),
                Some(_) => None,
            };
            continue;
        }
        let spans: Vec<&str> = match block {
            Some(true) => continue,
            Some(false) => vec![line],
            None => line.split('`').skip(1).step_by(2).collect(),
        };
        for span in spans {
            // A pipeline may hold several socklab commands; a command ends
            // at a redirection. (`client|server` without spaces is an
            // argument, not a pipe.)
            for part in span.split(" | ") {
                if let Some(at) = part.find("socklab ") {
                    let cmd = &part[at..];
                    let end = [" < ", " > ", " 2>"]
                        .iter()
                        .filter_map(|r| cmd.find(r))
                        .min()
                        .unwrap_or(cmd.len());
                    found.push(cmd[..end].to_string());
                }
            }
        }
    }
    found
}

/// Fills templates with their defaults: `{x.y|5288}` → `5288`.
pub fn fill_defaults(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(&rest[..open]);
        let inner = &rest[open + 1..open + close];
        out.push_str(inner.split_once('|').map_or("5288", |(_, d)| d));
        rest = &rest[open + close + 1..];
    }
    out + rest
}

/// Peak memory of a running process, in bytes (VmHWM in /proc/PID/status).
pub fn peak_memory(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib * 1024
}

/// CPU time a running process has used so far (user + system, from
/// /proc/PID/stat), to show that waiting costs nothing.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // The command name may hold spaces: the fields follow its closing ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..]
        .split(' ')
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}
