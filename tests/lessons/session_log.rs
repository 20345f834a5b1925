//! The session log: bounded, and robust to what is in it.

use super::*;

impl Lab {
    fn log_path(&self) -> std::path::PathBuf {
        let id = catalog::by_number(self.lesson).expect("lesson").id;
        self.dir.path().join("sessions").join(format!("{id}.jsonl"))
    }

    /// The events in the lesson's log now (unreadable lines left out).
    fn log_events(&self) -> Vec<serde_json::Value> {
        let bytes = std::fs::read(self.log_path()).unwrap_or_default();
        bytes
            .split(|&b| b == b'\n')
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect()
    }

    /// Waits (bounded by the deadline) for an event in the lesson's log.
    fn wait_log(&self, what: &str, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let end = std::time::Instant::now() + util::DEADLINE;
        loop {
            if let Some(e) = self.log_events().into_iter().find(&pred) {
                return e;
            }
            assert!(
                std::time::Instant::now() < end,
                "no {what} in the session log after {:?}",
                util::DEADLINE
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

#[test]
fn ten_megabytes_into_a_lines_listener_keep_the_session_log_small() {
    let lab = Lab::new(9);
    // No --json: stderr would carry a million frame events. The port comes
    // from the session log itself.
    let mut cmd = Command::new(util::bin());
    cmd.args(["-q", "listen", "--proto", "lines", "0"])
        .env("SOCKLAB_STATE_DIR", lab.dir.path());
    let mut a = Proc::spawn("listen --proto lines", cmd);
    let pid = a.pid();
    let listening = lab.wait_log("listen", |e| e["step"] == "listen" && e["pid"] == pid);
    let port = port_of(&listening["addr"]);
    // 9 MB of 100-byte lines, then 1 MB of bare newlines: a frame per byte.
    let mut data = format!("{}\n", "x".repeat(99)).repeat(90_000).into_bytes();
    data.extend(std::iter::repeat_n(b'\n', 1_000_000));
    let frames = 90_000 + 1_000_000;
    let mut s =
        TcpStream::connect(("127.0.0.1", port.parse::<u16>().expect("port"))).expect("connect");
    s.write_all(&data).expect("write");
    s.shutdown(Shutdown::Write).expect("FIN");
    a.close_stdin();
    let a = a.finish();
    assert_eq!(a.code(), 0, "{}", a.stderr);
    assert_eq!(a.stdout.len(), data.len());
    // The old log took 177 bytes per byte received (1.77 GB for 10 MB).
    let size = std::fs::metadata(lab.log_path()).expect("log").len();
    assert!(size < 256 << 10, "a {size}-byte session log for 10 MB");
    // Every frame is still accounted for: recorded, or counted.
    let events = lab.log_events();
    let recorded = events.iter().filter(|e| e["step"] == "frame").count() as u64;
    let summary = events
        .iter()
        .rev()
        .find(|e| e["step"] == "log_summary")
        .expect("a summary");
    assert_eq!(
        summary["omitted"]["frame"].as_u64(),
        Some(frames - recorded)
    );
    let f = lab.check();
    assert!(
        f.stdout_text().contains("counted, not recorded one by one"),
        "{}",
        f.stdout_text()
    );
}

#[test]
fn a_200_megabyte_log_is_checked_in_bounded_memory() {
    let lab = Lab::new(3);
    {
        let file = std::fs::File::create(lab.log_path()).expect("log");
        let mut out = std::io::BufWriter::new(file);
        let mut written = 0;
        let mut ts = 1_000_000u64;
        while written < 200 << 20 {
            let line = format!(
                "{{\"v\":1,\"ts_us\":{ts},\"pid\":1,\"cmd\":\"listen\",\"side\":\"server\",\"conn\":1,\"step\":\"read\",\"n\":5,\"data\":\"hello\"}}\n"
            );
            out.write_all(line.as_bytes()).expect("write");
            written += line.len();
            ts += 1;
        }
        out.flush().expect("flush");
    }
    // Loading 200 MB as JSON values takes gigabytes; the check must fit in
    // 200 MB of address space, whatever the file's size.
    let mut c = Command::new("sh");
    c.args([
        "-c",
        "ulimit -v 200000 && exec \"$0\" lesson check",
        util::bin(),
    ])
    .env("SOCKLAB_STATE_DIR", lab.dir.path());
    let f = run("lesson check (200 MB log)", c);
    assert_eq!(f.code(), 1, "{}{}", f.stdout_text(), f.stderr);
    assert!(
        f.stdout_text().contains("only its first 9 MiB were read"),
        "{}",
        f.stdout_text()
    );
}

#[test]
fn one_invalid_byte_costs_one_line_of_the_log() {
    let lab = Lab::new(1);
    let demo = lab.run(&["demo"]);
    assert_eq!(demo.code(), 0, "{}", demo.stderr);
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(lab.log_path())
        .expect("log");
    log.write_all(b"{\"v\":1,\"ts_us\":1,\"step\":\"read\",\"data\":\"\xff\"}\n")
        .expect("append");
    lab.answer("port", &port_of(&demo.find("bind").expect("bind")["addr"]));
    let f = lab.check();
    assert_eq!(f.code(), 0, "{}{}", f.stdout_text(), f.stderr);
    assert!(
        f.stdout_text().contains("(1 unreadable line(s)"),
        "{}",
        f.stdout_text()
    );
}

#[test]
fn a_missing_or_unusable_sessions_directory_does_not_stop_a_command() {
    let lab = Lab::new(1);
    let sessions = lab.dir.path().join("sessions");
    std::fs::remove_dir_all(&sessions).expect("remove");
    // Missing: made again, and recorded in.
    let demo = lab.run(&["demo"]);
    assert_eq!(demo.code(), 0, "{}", demo.stderr);
    assert!(lab.log_events().iter().any(|e| e["step"] == "accept"));
    // Unusable (a file where the directory should be): one warning, and
    // the command runs unrecorded.
    std::fs::remove_dir_all(&sessions).expect("remove");
    std::fs::write(&sessions, b"").expect("a file");
    let demo = lab.run(&["demo"]);
    assert_eq!(demo.code(), 0, "{}", demo.stderr);
    assert_eq!(
        demo.stderr.matches("lesson logging is off").count(),
        1,
        "{}",
        demo.stderr
    );
}

#[test]
fn a_current_lesson_outside_the_state_directory_is_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let state = root.path().join("state");
    let socklab = |args: &[&str]| {
        let mut c = util::socklab(args);
        c.env("SOCKLAB_STATE_DIR", &state);
        run(&args.join(" "), c)
    };
    assert_eq!(socklab(&["lesson", "1"]).code(), 0);
    let progress = state.join("progress.json");
    let text = std::fs::read_to_string(&progress).expect("progress");
    for current in ["../../escaped", "/tmp/socklab-escaped"] {
        let p: serde_json::Value = serde_json::from_str(&text).expect("json");
        let mut p = p;
        p["current"] = current.into();
        std::fs::write(&progress, p.to_string()).expect("write");
        let demo = socklab(&["demo"]);
        assert_eq!(demo.code(), 0, "{}", demo.stderr);
        assert!(demo.stderr.contains("not a lesson name"), "{}", demo.stderr);
        let lessons = socklab(&["lessons"]);
        assert!(
            lessons.stderr.contains("socklab lesson reset"),
            "{}",
            lessons.stderr
        );
    }
    assert!(!root.path().join("escaped.jsonl").exists());
    assert!(!Path::new("/tmp/socklab-escaped.jsonl").exists());
}

#[test]
fn a_listener_left_running_from_the_last_lesson_counts_for_this_one() {
    // Lesson 2 ends with `socklab listen 5288`; lesson 3 starts with it.
    let lab = Lab::new(2);
    let (a, port) = lab.server("listen", &[]);
    let lab = Lab { lesson: 3, ..lab };
    assert_eq!(lab.run(&["lesson", "3"]).code(), 0);
    let accept = lab.conversation(a, port, || {});
    lab.answer("client_port", &port_of(&accept["peer"]));
    let f = lab.check();
    assert_eq!(f.code(), 0, "{}", f.stdout_text());
    assert!(
        f.stdout_text()
            .contains("started while lesson 2 was current"),
        "{}",
        f.stdout_text()
    );
    // What happened under lesson 3 is not in lesson 2's log.
    let lesson2 = Lab { lesson: 2, ..lab };
    assert!(
        !lesson2.log_events().iter().any(|e| e["step"] == "accept"),
        "the accept went to lesson 2's log"
    );
}

#[test]
fn a_command_started_before_any_lesson_is_recorded_once_one_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = util::socklab(&["listen", "0"]);
    cmd.env("SOCKLAB_STATE_DIR", dir.path());
    let mut a = Proc::spawn("listen", cmd);
    let port = a.port();
    a.wait_for("listen");
    let lab = Lab { dir, lesson: 3 };
    assert_eq!(lab.run(&["lesson", "3"]).code(), 0);
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    a.wait_for("accept");
    let listening = lab.wait_log("the carried listen", |e| e["step"] == "listen");
    assert_eq!(listening["carried"], true, "{listening}");
    assert!(listening["started_under"].is_null(), "{listening}");
    lab.wait_log("the accept", |e| e["step"] == "accept");
    drop(s);
}

#[test]
fn resetting_the_lesson_under_a_running_listener_keeps_it_counted() {
    let lab = Lab::new(3);
    let (mut a, port) = lab.server("listen", &[]);
    assert_eq!(lab.run(&["lesson", "reset"]).code(), 0);
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    a.wait_for("accept");
    lab.wait_log("the accept", |e| e["step"] == "accept");
    let listen = lab.wait_log("the listen, carried", |e| e["step"] == "listen");
    assert_eq!(listen["carried"], true, "{listen}");
    drop(s);
}
