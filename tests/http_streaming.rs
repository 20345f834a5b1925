//! HTTP bodies of any size stream through socklab in bounded memory, both
//! ways: a 1 GiB download from nginx with default flags, exact to the
//! byte, and a 200 MB upload from curl to `listen --proto http`. Memory is
//! the process's peak resident size (VmHWM), read while it still runs.

mod util;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use util::nginx::Nginx;
use util::{Proc, peak_memory, random_bytes};

const MIB: usize = 1 << 20;
/// What socklab may use, whatever the body's size.
const BOUND: usize = 64 * MIB;
/// Long transfers on a shared, slow machine get longer than the usual
/// deadline; a healthy run takes a fraction of it.
const TRANSFER: Duration = Duration::from_secs(240);

/// Block `i` of a test file: its number, then the same random MiB. A block
/// lost, repeated or moved shows as a wrong number.
fn block(i: u64, tail: &[u8]) -> Vec<u8> {
    [&i.to_le_bytes()[..], &tail[8..]].concat()
}

/// Counts stdout and checks it against the blocks as it passes.
struct Checker {
    seen: Arc<AtomicU64>,
    wrong: Arc<AtomicU64>,
}

impl Checker {
    fn sink(&self, tail: Vec<u8>) -> impl FnMut(&[u8]) + Send + 'static {
        let (seen, wrong) = (self.seen.clone(), self.wrong.clone());
        let mut at = 0u64;
        let mut current = (u64::MAX, Vec::new());
        move |mut data: &[u8]| {
            while !data.is_empty() {
                let i = at / MIB as u64;
                if current.0 != i {
                    current = (i, block(i, &tail));
                }
                let off = (at % MIB as u64) as usize;
                let n = data.len().min(MIB - off);
                if data[..n] != current.1[off..off + n] {
                    wrong.fetch_add(1, Ordering::Relaxed);
                }
                at += n as u64;
                data = &data[n..];
            }
            seen.store(at, Ordering::Relaxed);
        }
    }
}

/// Waits until `done` holds while `p` runs, with a deadline for long
/// transfers.
fn wait(p: &mut Proc, what: &str, done: impl Fn() -> bool) {
    let end = Instant::now() + TRANSFER;
    while !done() {
        assert!(!p.exited(), "{} exited before the {what}", p.name);
        assert!(Instant::now() < end, "no {what} within {TRANSFER:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_1_gib_download_from_nginx_is_exact_with_default_flags_in_bounded_memory() {
    let nginx = Nginx::start(&[], "");
    let tail = random_bytes(MIB, 3);
    let size = 1024 * MIB as u64;
    {
        use std::io::Write;
        let file = std::fs::File::create(nginx.root().join("big")).expect("create");
        let mut w = std::io::BufWriter::with_capacity(4 * MIB, file);
        for i in 0..1024 {
            w.write_all(&block(i, &tail)).expect("write the test file");
        }
        w.flush().expect("flush");
    }
    let checker = Checker {
        seen: Arc::new(AtomicU64::new(0)),
        wrong: Arc::new(AtomicU64::new(0)),
    };
    let port = nginx.port.to_string();
    let args = ["-q", "connect", "--proto", "http", "127.0.0.1", &port];
    let mut c = Proc::spawn_with_stdout("1 GiB download", util::socklab(&args), checker.sink(tail));
    // stdin stays open until the body is in: the process is still there
    // to be measured.
    c.write(b"GET /big\n");
    wait(&mut c, "whole body", || {
        checker.seen.load(Ordering::Relaxed) >= size
    });
    let peak = peak_memory(c.pid());
    c.close_stdin();
    let c = c.finish();
    std::fs::remove_file(nginx.root().join("big")).expect("remove the test file");
    assert_eq!(c.code(), 0, "{}", c.stderr);
    assert_eq!(checker.seen.load(Ordering::Relaxed), size);
    assert_eq!(checker.wrong.load(Ordering::Relaxed), 0, "bytes differ");
    eprintln!("1 GiB download: socklab peak memory {} MiB", peak / MIB);
    assert!(peak < BOUND, "peak memory {} MiB", peak / MIB);
}

#[test]
fn a_200_mb_upload_from_curl_to_listen_http_is_counted_in_bounded_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tail = random_bytes(MIB, 5);
    let path = dir.path().join("upload");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&path).expect("create");
        for i in 0..200 {
            f.write_all(&block(i, &tail)).expect("write");
        }
    }
    let checker = Checker {
        seen: Arc::new(AtomicU64::new(0)),
        wrong: Arc::new(AtomicU64::new(0)),
    };
    let mut server = Proc::spawn_with_stdout(
        "listen -k --proto http",
        util::socklab(&["listen", "-k", "--proto", "http", "0"]),
        checker.sink(tail),
    );
    let port = server.port();
    server.wait_for("listen");
    let url = format!("http://127.0.0.1:{port}/file");
    // -T: a PUT that streams the file, as a file service would receive it.
    let curl = util::curl(&["-sS", "-T", path.to_str().expect("utf-8"), &url]);
    assert!(
        curl.stdout_text().contains("body: 209715200 bytes"),
        "{}",
        curl.stdout_text()
    );
    wait(&mut server, "body on stdout", || {
        checker.seen.load(Ordering::Relaxed) >= 200 * MIB as u64
    });
    let peak = peak_memory(server.pid());
    let server = server.kill();
    assert_eq!(checker.wrong.load(Ordering::Relaxed), 0, "bytes differ");
    let put = server
        .events
        .iter()
        .find(|e| e["step"] == "frame")
        .expect("the PUT's head");
    assert!(
        put["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("PUT /file HTTP/1.1")),
        "{put}"
    );
    eprintln!("200 MB upload: listen peak memory {} MiB", peak / MIB);
    assert!(peak < BOUND, "peak memory {} MiB", peak / MIB);
}
