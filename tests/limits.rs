//! A server under pressure: clients that trickle, clients that never read,
//! clients that come and go by the thousand, and a process out of file
//! descriptors. Each test is a regression test for one item of the
//! hardening issue, named after what must hold.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use util::{DEADLINE, Proc, random_bytes, sha256};

/// A socklab command line run with at most `fds` open descriptors
/// (RLIMIT_NOFILE), through the shell's `ulimit`.
fn limited(fds: u32) -> impl Fn(&[&str]) -> Command {
    move |args: &[&str]| {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!("ulimit -n {fds} && exec \"$0\" \"$@\""))
            .arg(util::bin())
            .args(["--json", "--color", "never"])
            .args(args);
        c
    }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(DEADLINE)).expect("read timeout");
    s
}

fn errors_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["step"] == "error" && e["kind"] == kind)
        .collect()
}

/// Makes sure this process (and the servers it starts) may open `n`
/// descriptors, raising the soft limit to the hard one if needed.
fn ensure_fds(n: u64) {
    let soft_hard = || -> (u64, u64) {
        let limits = std::fs::read_to_string("/proc/self/limits").expect("limits");
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .expect("open files line");
        let f: Vec<&str> = line.split_whitespace().collect();
        (f[3].parse().unwrap_or(0), f[4].parse().unwrap_or(u64::MAX))
    };
    let (soft, hard) = soft_hard();
    if soft < n {
        let pid = std::process::id().to_string();
        let _ = util::run(
            "prlimit",
            util::peer(
                "prlimit",
                &["--pid", &pid, &format!("--nofile={hard}:{hard}")],
            ),
        );
    }
    let (soft, _) = soft_hard();
    assert!(
        soft >= n,
        "this test needs {n} descriptors; the limit is {soft} (ulimit -n)"
    );
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .count()
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_trickled_request_head_gets_408_within_the_head_timeout() {
    // Slowloris: one byte every 50 ms keeps an idle timer from ever firing;
    // the head timeout counts from the head's first byte, whatever follows.
    let (mut server, port) =
        Proc::server("listen", &["-k", "--proto", "http", "--head-timeout", "1s"]);
    let mut s = connect(port);
    let mut trickle = s.try_clone().expect("clone");
    let writer = thread::spawn(move || {
        let end = Instant::now() + DEADLINE;
        for b in b"GET / HTTP/1.1\r\nX-Slow: "
            .iter()
            .chain([b'a'; 4096].iter())
        {
            // Pacing the attack, not synchronisation: the server's answer
            // ends this loop (the write fails once it has closed).
            if Instant::now() > end || trickle.write_all(&[*b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    });
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer:?}\n{}",
        server.stderr_text()
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    server.wait_until("head_timeout error", |evs| {
        !errors_of(evs, "head_timeout").is_empty()
    });
    let timeout = server
        .seen
        .iter()
        .find(|e| e["step"] == "timeout")
        .expect("timeout event");
    assert_eq!(timeout["millis"], 1000);
    let error = errors_of(&server.seen, "head_timeout")[0].clone();
    assert!(
        error["next"]
            .as_str()
            .is_some_and(|n| n.contains("--head-timeout")),
        "{error}"
    );
    drop(s);
    let _ = writer.join();
    // The server goes on serving.
    let ok = util::curl(&["-s", &format!("http://127.0.0.1:{port}/after")]);
    assert!(
        ok.stdout_text().contains("GET /after"),
        "{}",
        ok.stdout_text()
    );
}

#[test]
fn a_keep_alive_connection_between_requests_is_ended_by_the_idle_timeout() {
    // No head is on its way between requests, so no 408: the idle timeout
    // closes the connection with a plain FIN.
    let (mut server, port) = Proc::server(
        "listen",
        &[
            "-k",
            "--proto",
            "http",
            "--head-timeout",
            "200ms",
            "--idle-timeout",
            "1s",
        ],
    );
    let mut s = connect(port);
    s.write_all(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let all = String::from_utf8_lossy(&all);
    assert_eq!(all.matches("HTTP/1.1 ").count(), 1, "{all}");
    assert!(all.starts_with("HTTP/1.1 200 OK"), "{all}");
    // Closing a quiet keep-alive connection is routine, not an error.
    server.wait_for_count("close", 1);
    let timeout = server
        .seen
        .iter()
        .find(|e| e["step"] == "timeout")
        .expect("timeout event");
    assert!(
        timeout["what"]
            .as_str()
            .is_some_and(|w| w.contains("keep-alive")),
        "{timeout}"
    );
    assert_eq!(timeout["millis"], 1000);
    assert!(
        !server.seen.iter().any(|e| e["step"] == "error"),
        "{}",
        server.stderr_text()
    );
}

#[test]
fn a_client_that_never_reads_is_dropped_and_the_others_get_every_byte() {
    let (mut server, port) = Proc::server("listen", &["-k", "--max-lag", "1MiB"]);
    let slow = connect(port);
    server.wait_for_count("accept", 1);
    let mut fast = connect(port);
    server.wait_for_count("accept", 2);
    let reader = thread::spawn(move || {
        let mut got = Vec::new();
        fast.read_to_end(&mut got).expect("every byte, then FIN");
        got
    });
    let data = random_bytes(48 << 20, 9);
    server.feed(data.clone());
    let started = Instant::now();
    let got = reader.join().expect("reader");
    assert_eq!(got.len(), data.len(), "{}", server.stderr_text());
    assert_eq!(sha256(&got), sha256(&data));
    let rss = rss_kib(server.pid());
    eprintln!(
        "the fast client got {} MiB in {:?}; server RSS {rss} KiB",
        got.len() >> 20,
        started.elapsed()
    );
    assert!(rss < 64 * 1024, "the server holds {rss} KiB");
    let server = server.kill();
    let dropped = errors_of(&server.events, "fell_behind");
    assert_eq!(dropped.len(), 1, "{}", server.stderr);
    assert_eq!(dropped[0]["conn"], 1, "the slow client, not the fast one");
    assert!(
        dropped[0]["next"]
            .as_str()
            .is_some_and(|n| n.contains("--max-lag")),
        "{}",
        dropped[0]
    );
    drop(slow);
}

#[test]
fn a_lone_slow_client_is_slowed_down_never_dropped() {
    // Lag is counted against the fastest client: alone, a client that
    // stops reading only holds the pipe back, as without -k.
    let (mut server, port) = Proc::server("listen", &["-k", "--max-lag", "64k"]);
    let mut s = connect(port);
    server.wait_for("accept");
    let data = random_bytes(8 << 20, 3);
    server.feed(data.clone());
    server.wait_until("a write that would block", |evs| {
        evs.iter()
            .any(|e| e["step"] == "would_block" && e["op"] == "write")
    });
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("read");
    assert_eq!(sha256(&got), sha256(&data));
    let server = server.kill();
    assert!(
        errors_of(&server.events, "fell_behind").is_empty(),
        "{}",
        server.stderr
    );
}

#[test]
fn clients_waiting_while_out_of_descriptors_are_served_when_some_close() {
    const CLIENTS: usize = 100;
    let (mut server, port) = Proc::server_from("listen", &["-k", "--echo"], limited(48));
    let mut clients: Vec<Option<TcpStream>> = (0..CLIENTS).map(|_| Some(connect(port))).collect();
    server.wait_until("out of descriptors", |evs| {
        !errors_of(evs, "too_many_open_files").is_empty()
    });
    let accepted = |evs: &[Value]| evs.iter().filter(|e| e["step"] == "accept").count();
    let before = accepted(&server.seen);
    assert!(before < CLIENTS, "{before} accepted under a limit of 48");
    // Close ten served clients; ten waiting in the listen queue must be
    // taken without any new connection arriving to wake the listener.
    for c in clients.iter_mut().take(10) {
        c.take();
    }
    server.wait_for_count("accept", before + 10);
    // The first of them is really served.
    let mut waiting = clients[before].take().expect("a client that waited");
    waiting.write_all(b"ping\n").expect("write");
    let mut echo = [0u8; 5];
    waiting.read_exact(&mut echo).expect("echo");
    assert_eq!(&echo, b"ping\n");
    // Once per episode (until the listen queue is empty), not once per
    // retry nor per client.
    let told = errors_of(&server.seen, "too_many_open_files").len();
    assert_eq!(told, 1, "narrated {told} times");
    let error = errors_of(&server.seen, "too_many_open_files")[0].clone();
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("limit 48"), "{error}");
}

#[test]
fn clients_that_close_release_their_descriptors_while_stdin_stays_open() {
    // stdin is an open pipe that never sends: each client's FIN must still
    // end its connection, or 2,000 cycles exhaust a limit of 256.
    const CYCLES: usize = 2000;
    let (mut server, port) = Proc::server_from("listen", &["-k"], limited(256));
    for batch in 0..CYCLES / 100 {
        for _ in 0..100 {
            drop(connect(port));
        }
        server.wait_for_count("close", (batch + 1) * 100);
    }
    let fds = open_fds(server.pid());
    eprintln!("{fds} descriptors open after {CYCLES} connect/close cycles");
    assert!(fds < 32, "{fds} descriptors open after {CYCLES} cycles");
    let mut s = connect(port);
    server.wait_for_count("accept", CYCLES + 1);
    server.write(b"hello\n");
    let mut line = [0u8; 6];
    s.read_exact(&mut line).expect("broadcast");
    assert_eq!(&line, b"hello\n");
}

/// Time for `n` echo round trips on one connection.
fn round_trips(port: u16, n: usize) -> Duration {
    let mut s = connect(port);
    s.set_nodelay(true).expect("nodelay");
    let mut buf = [0u8; 2];
    let started = Instant::now();
    for _ in 0..n {
        s.write_all(b"x\n").expect("write");
        s.read_exact(&mut buf).expect("echo");
    }
    started.elapsed()
}

#[test]
fn a_loop_turn_costs_the_same_with_thousands_of_idle_connections() {
    // Every idle connection has a deadline (--idle-timeout): finding the
    // soonest must not scan them all on every turn of the loop.
    const IDLE: usize = 5000;
    const TRIPS: usize = 1000;
    ensure_fds(IDLE as u64 + 100);
    let (mut server, port) = Proc::server(
        "listen",
        &["-k", "--echo", "--idle-timeout", "1h", "--backlog", "4096"],
    );
    let few = round_trips(port, TRIPS);
    let idle: Vec<TcpStream> = (0..IDLE).map(|_| connect(port)).collect();
    server.wait_for_count("accept", IDLE + 1);
    let many = round_trips(port, TRIPS);
    let ratio = many.as_secs_f64() / few.as_secs_f64();
    eprintln!(
        "{TRIPS} round trips: {few:?} beside 1 connection, {many:?} beside {IDLE} (×{ratio:.2})"
    );
    assert!(
        ratio < 5.0,
        "{TRIPS} round trips took {few:?} beside 1 connection and {many:?} beside {IDLE} idle ones (×{ratio:.1})"
    );
    drop(idle);
}

#[test]
fn pipelined_requests_from_a_client_that_never_reads_stay_bounded() {
    let (server, port) = Proc::server("listen", &["-k", "-q", "--proto", "http"]);
    let mut s = connect(port);
    s.set_write_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let burst = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(4096);
    let mut sent = 0usize;
    let limit = 256 << 20;
    while sent < limit {
        match s.write(&burst) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("write: {e}"),
        }
    }
    assert!(
        sent < limit,
        "the server read 256 MiB of requests it could not answer"
    );
    let rss = rss_kib(server.pid());
    assert!(rss < 64 * 1024, "the server holds {rss} KiB");
}

#[test]
fn thousands_of_quiet_http_clients_cost_little_memory() {
    // Each client has sent one request of 8 KiB and then waits: its
    // buffers must not stay allocated while it is quiet.
    const CLIENTS: usize = 4000;
    ensure_fds(CLIENTS as u64 + 100);
    let (mut server, port) = Proc::server(
        "listen",
        &["-k", "-q", "--proto", "http", "--backlog", "4096"],
    );
    let base = rss_kib(server.pid());
    let request = format!(
        "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 8192\r\n\r\n{}",
        "a".repeat(8192)
    );
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let mut s = connect(port);
        s.write_all(request.as_bytes()).expect("write");
        clients.push(s);
    }
    // Each answer has arrived: the server is done with every request.
    for s in &mut clients {
        let mut head = [0u8; 15];
        s.read_exact(&mut head).expect("answer");
        assert_eq!(&head, b"HTTP/1.1 200 OK");
    }
    server.wait_for_count("accept", CLIENTS);
    let grown = rss_kib(server.pid()).saturating_sub(base);
    let per_client = grown * 1024 / CLIENTS as u64;
    eprintln!("{CLIENTS} quiet clients: {grown} KiB, {per_client} bytes each");
    assert!(
        per_client < 4096,
        "{per_client} bytes of memory per quiet client ({grown} KiB for {CLIENTS})"
    );
}

#[test]
fn the_new_limits_reject_values_out_of_range() {
    for args in [
        ["listen", "--proto", "http", "--head-timeout", "0", "0"].as_slice(),
        &["listen", "--head-timeout", "2h", "0"],
        &["listen", "-k", "--max-lag", "1k", "0"],
        &["listen", "-k", "--max-lag", "2G", "0"],
        &["listen", "--max-lag", "4MiB", "0"],
    ] {
        let f = util::run("socklab", util::socklab(args));
        assert_eq!(
            f.code(),
            2,
            "{args:?} should be a usage error: {}",
            f.stderr
        );
    }
}
