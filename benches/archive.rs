//! Archive query latency (XEP-0313) on a 100,000-message history between
//! two users: the first page, the last page, a page in the middle (`after`
//! an id), a sync page (the whole archive `after` an id, as `socklab chat`
//! asks after login) and a time range. Target: p99 under 10 ms.
//!
//! Two ways: the store's query itself (`Store::query_archive`, what the
//! server's loop runs), and end to end, a JSON client asking a real
//! `socklab chat serve` over loopback and timing each answer's arrival.
//! Percentiles, not means: a chat server's loop serves everyone, and one
//! slow query is a stall for all of them.
//!
//!     cargo bench --bench archive [-- QUERIES]      (default 1000 per kind)

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use socklab::chat::accounts::adduser;
use socklab::chat::jid::Jid;
use socklab::chat::model::{Message, MessageKind};
use socklab::chat::sasl::Secret;
use socklab::chat::store::{Query, Store, now_ms};

const MESSAGES: usize = 100_000;
const PAGE: usize = 50;
const PASSWORD: &str = "bench";

/// 100,000 messages, alice and bob taking turns, one a second: each is
/// archived twice (the sender's copy and the recipient's), as the server
/// does when it routes them.
fn fill(path: &Path) -> anyhow::Result<Store> {
    let mut store = Store::open(path, "localhost")?;
    for user in ["alice", "bob"] {
        adduser(&store, user, &Secret::new(PASSWORD))?;
    }
    store.batch_writes();
    let start = now_ms() - MESSAGES as i64 * 1000;
    for i in 0..MESSAGES {
        let (from, to) = if i % 2 == 0 {
            ("alice", "bob")
        } else {
            ("bob", "alice")
        };
        let m = Message {
            from: Jid::full(from, "localhost", "laptop"),
            to: Jid::bare(to, "localhost"),
            kind: MessageKind::Chat,
            id: Some(format!("m{i}")),
            body: Some(format!("message {i}: 中午一起吃饭?")),
            subject: None,
            thread: None,
            delay: None,
            extra: Vec::new(),
            archive_id: None,
        };
        let at = start + i as i64 * 1000;
        store.archive(from, &m, true, "", at)?;
        store.archive(to, &m, false, "", at)?;
        if i % 10_000 == 9_999 {
            store.commit()?;
        }
    }
    store.commit()?;
    Ok(store)
}

/// The queries measured, by name; `mid` is an archive id in the middle of
/// alice's archive, `mid_ms` a time there.
fn queries(mid: i64, mid_ms: i64) -> Vec<(&'static str, Query, Value)> {
    let bob = Jid::bare("bob", "localhost");
    let base = Query {
        with: Some(bob),
        max: PAGE,
        ..Query::default()
    };
    vec![
        (
            "first page",
            base.clone(),
            json!({"type": "history", "with": "bob", "max": PAGE}),
        ),
        (
            "last page",
            Query {
                last_page: true,
                ..base.clone()
            },
            json!({"type": "history", "with": "bob", "max": PAGE, "before": ""}),
        ),
        (
            "middle page (after)",
            Query {
                after: Some(mid),
                ..base.clone()
            },
            json!({"type": "history", "with": "bob", "max": PAGE, "after": mid.to_string()}),
        ),
        (
            "sync page (no with, after)",
            Query {
                with: None,
                after: Some(mid),
                ..base.clone()
            },
            json!({"type": "history", "max": PAGE, "after": mid.to_string()}),
        ),
        (
            "time range (start)",
            Query {
                start_ms: Some(mid_ms),
                ..base.clone()
            },
            json!({"type": "history", "with": "bob", "max": PAGE,
                   "start": socklab::chat::time::stamp(mid_ms)}),
        ),
    ]
}

struct Stats {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    Stats {
        p50: at(0.50),
        p99: at(0.99),
        max: samples[samples.len() - 1],
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn report(how: &str, name: &str, s: &Stats) {
    let verdict = if s.p99 < Duration::from_millis(10) {
        "ok"
    } else {
        "MISSED"
    };
    println!(
        "{how:10} {name:28} p50 {:>10}  p99 {:>10}  max {:>10}  ({verdict}: target p99 < 10 ms)",
        ms(s.p50),
        ms(s.p99),
        ms(s.max)
    );
}

/// Times `n` runs of `f` after a few unmeasured ones.
fn measure(n: usize, mut f: impl FnMut()) -> Stats {
    for _ in 0..10 {
        f();
    }
    let samples = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    stats(samples)
}

/// `socklab chat serve` on the filled data directory, and its port.
fn serve(dir: &Path) -> anyhow::Result<(Child, u16)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["--json", "chat", "serve", "0", "--data-dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("stderr"))?;
    let mut lines = BufReader::new(stderr).lines();
    // The port is in the bind event; connecting works from the listen event on.
    let mut port = 0;
    loop {
        let line = lines
            .next()
            .ok_or_else(|| anyhow::anyhow!("the server exited"))??;
        let v: Value = serde_json::from_str(&line)?;
        if v["step"] == "bind" {
            let addr: std::net::SocketAddr = v["addr"].as_str().unwrap_or_default().parse()?;
            port = addr.port();
        }
        if v["step"] == "listen" {
            break;
        }
    }
    // The rest of the narration is read and dropped, so the server never
    // blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok((child, port))
}

/// One request line, and the answer line it gets.
fn ask(w: &mut TcpStream, r: &mut BufReader<TcpStream>, line: &[u8]) -> anyhow::Result<Value> {
    w.write_all(line)?;
    let mut answer = String::new();
    r.read_line(&mut answer)?;
    Ok(serde_json::from_str(&answer)?)
}

fn end_to_end(dir: &Path, n: usize, qs: &[(&str, Query, Value)]) -> anyhow::Result<()> {
    let (mut server, port) = serve(dir)?;
    let mut w = TcpStream::connect(("127.0.0.1", port))?;
    w.set_nodelay(true)?;
    let mut r = BufReader::new(w.try_clone()?);
    let login = json!({"type": "login", "user": "alice", "password": PASSWORD});
    w.write_all(format!("{login}\n").as_bytes())?;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            anyhow::bail!("the server closed before logging us in");
        }
        if line.contains("\"logged_in\"") {
            break;
        }
    }
    // Presence and friends' news may follow the login: a ping's pong is
    // the sign that everything before it has been read.
    w.write_all(b"{\"type\":\"ping\"}\n")?;
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        if line.contains("\"pong\"") {
            break;
        }
    }
    for (name, _, request) in qs {
        let line = format!("{request}\n").into_bytes();
        let check = ask(&mut w, &mut r, &line)?;
        anyhow::ensure!(
            check["type"] == "history"
                && check["items"].as_array().is_some_and(|i| i.len() == PAGE),
            "{name}: {check}"
        );
        let s = measure(n, || {
            let _ = ask(&mut w, &mut r, &line);
        });
        report("end to end", name, &s);
    }
    let _ = server.kill();
    let _ = server.wait();
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir()?;
    let t = Instant::now();
    let store = fill(&dir.path().join("server.db"))?;
    println!(
        "# archive queries: {MESSAGES} messages between alice and bob ({} archive rows), pages of {PAGE}, {n} queries each; filled in {:.1} s",
        2 * MESSAGES,
        t.elapsed().as_secs_f64()
    );
    let all = Query {
        max: 1,
        after: None,
        ..Query::default()
    };
    let count = store.query_archive("alice", &all)?.count;
    anyhow::ensure!(count == MESSAGES as u64, "alice's archive holds {count}");
    let middle = store.query_archive(
        "alice",
        &Query {
            start_ms: Some(now_ms() - MESSAGES as i64 * 500),
            max: 1,
            ..Query::default()
        },
    )?;
    let mid = &middle.items[0];
    let mid_ms = mid.message.delay.as_ref().map_or(0, |d| d.stamp_ms);
    let qs = queries(mid.id, mid_ms);
    for (name, q, _) in &qs {
        let page = store.query_archive("alice", q)?;
        anyhow::ensure!(
            page.items.len() == PAGE,
            "{name}: {} items",
            page.items.len()
        );
        let s = measure(n, || {
            let _ = store.query_archive("alice", q);
        });
        report("store", name, &s);
    }
    drop(store);
    end_to_end(dir.path(), n, &qs)
}
