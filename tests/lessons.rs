//! Lessons: every command they show parses, and every check fails on an empty
//! log, fails on a wrong session and passes on a reference session really run
//! on loopback (a check that cannot fail, or cannot pass, is a defect).

mod util;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;

use clap::{CommandFactory, Parser};
use socklab::cli::Cli;
use socklab::lessons::catalog;
use util::{Finished, Proc, commands, fill_defaults, peer, require, run, words};

/// A learner's state directory with one lesson made current.
struct Lab {
    dir: tempfile::TempDir,
    lesson: usize,
}

impl Lab {
    fn new(lesson: usize) -> Lab {
        let lab = Lab {
            dir: tempfile::tempdir().expect("tempdir"),
            lesson,
        };
        let shown = lab.run(&["lesson", &lesson.to_string()]);
        assert_eq!(shown.code(), 0, "{}", shown.stderr);
        lab
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = util::socklab(args);
        cmd.env("SOCKLAB_STATE_DIR", self.dir.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> Finished {
        run(&args.join(" "), self.command(args))
    }

    fn spawn(&self, args: &[&str]) -> Proc {
        Proc::spawn(&args.join(" "), self.command(args))
    }

    /// Starts `socklab COMMAND [EXTRA] 0` and returns it with its port.
    fn server(&self, command: &str, extra: &[&str]) -> (Proc, u16) {
        Proc::server_from(command, extra, |args| self.command(args))
    }

    fn answer(&self, question: &str, value: &str) {
        let f = self.run(&["lesson", "answer", question, value]);
        assert_eq!(f.code(), 0, "{}", f.stderr);
    }

    fn check(&self) -> Finished {
        self.run(&["lesson", "check"])
    }

    fn assert_passes(&self) {
        let f = self.check();
        assert_eq!(
            f.code(),
            0,
            "lesson {} should pass:\n{}{}",
            self.lesson,
            f.stdout_text(),
            f.stderr
        );
        assert!(
            f.stdout_text()
                .contains(&format!("Lesson {} done", self.lesson)),
            "{}",
            f.stdout_text()
        );
    }

    /// Asserts that the check fails at step `n` (1-based) with advice containing `says`.
    fn assert_stuck_at(&self, n: usize, says: &str) {
        let f = self.check();
        let out = f.stdout_text();
        assert_eq!(
            f.code(),
            1,
            "lesson {} should not pass:\n{out}",
            self.lesson
        );
        assert!(
            out.contains(&format!("✗ {n}.")),
            "lesson {}: expected to be stuck at step {n}:\n{out}",
            self.lesson
        );
        assert!(
            out.contains(says),
            "lesson {}: advice should say {says:?}:\n{out}",
            self.lesson
        );
        assert!(!out.contains('{'), "a template was left unfilled:\n{out}");
    }
}

fn port_of(addr: &serde_json::Value) -> String {
    let a: std::net::SocketAddr = addr
        .as_str()
        .expect("address")
        .parse()
        .expect("socket address");
    a.port().to_string()
}

// ---- the commands the lessons show ------------------------------------------

#[test]
fn every_command_in_the_lessons_parses_with_the_real_cli() {
    let mut checked = 0;
    for lesson in catalog::all().expect("lessons") {
        let meta = &lesson.meta;
        let mut texts = vec![lesson.body.to_string()];
        texts.extend(meta.hints.iter().cloned());
        texts.extend(
            meta.steps
                .iter()
                .flat_map(|s| [s.says.clone(), s.stuck.clone()]),
        );
        texts.extend(meta.questions.iter().map(|q| q.ask.clone()));
        for text in texts {
            // Templates in advice fall back to their default: {x.y|5288} → 5288.
            let text = fill_defaults(&text);
            for line in commands(&text) {
                let (cmd, comment) = line.split_once(" #").unwrap_or((&line, ""));
                let parsed = Cli::try_parse_from(words(cmd));
                // Prose may name a command without arguments: "`socklab listen` is listening".
                let w = words(cmd);
                if w.len() == 2 && Cli::command().find_subcommand(&w[1]).is_some() {
                    continue;
                }
                if comment.contains("rejected") {
                    assert!(
                        parsed.is_err(),
                        "lesson {}: `{cmd}` should be rejected",
                        lesson.number
                    );
                } else {
                    assert!(
                        parsed.is_ok(),
                        "lesson {}: `{cmd}` does not parse: {:?}",
                        lesson.number,
                        parsed.err()
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked > 40,
        "only {checked} commands found: is the extraction broken?"
    );
}

#[test]
fn every_check_fails_on_an_empty_log() {
    for lesson in catalog::all().expect("lessons") {
        let lab = Lab::new(lesson.number);
        let f = lab.check();
        assert_eq!(
            f.code(),
            1,
            "lesson {} passed with nothing done",
            lesson.number
        );
        assert!(f.stdout_text().contains("✗ 1."), "{}", f.stdout_text());
    }
}

// ---- lesson by lesson: a wrong session, then the reference session ----------

#[test]
fn lesson_1_what_a_socket_is() {
    let lab = Lab::new(1);
    let demo = lab.run(&["demo"]);
    assert_eq!(demo.code(), 0, "{}", demo.stderr);
    lab.answer("port", "1");
    lab.assert_stuck_at(5, "Your answer so far: \"1\"");
    let port = port_of(&demo.find("bind").expect("bind")["addr"]);
    lab.answer("port", &port);
    lab.assert_passes();
}

#[test]
fn lesson_2_addresses_and_ports() {
    let lab = Lab::new(2);
    let (mut zero, port) = lab.server("listen", &[]);
    zero.close_stdin();
    drop(zero);
    lab.answer("zero", &port.to_string());
    lab.assert_stuck_at(3, "socklab listen 65536");
    let rejected = lab.run(&["listen", "65536"]);
    assert_eq!(rejected.code(), 2);
    lab.assert_stuck_at(4, "socklab listen 80");
    if util::is_root() {
        // Root may bind a reserved port: the check accepts that bind instead.
        let free = (1000..1024)
            .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
            .expect("a free port < 1024");
        let mut low = lab.spawn(&["listen", &free.to_string()]);
        low.wait_for("listen");
    } else {
        assert_eq!(
            lab.run(&["listen", "80"]).error_kind(),
            Some("permission_denied")
        );
    }
    lab.answer("ip", "0.0.0.0");
    lab.assert_stuck_at(5, "Your answer so far: \"0.0.0.0\"");
    lab.answer("ip", "127.0.0.1");
    lab.assert_passes();
}

#[test]
fn lesson_3_tcp_in_two_terminals() {
    let lab = Lab::new(3);
    let (mut a, port) = lab.server("listen", &[]);
    // No client yet: the client may be any program, so the check waits at
    // A's accept(), and says what to run.
    lab.assert_stuck_at(3, &format!("A is waiting in accept(): nobody has connected yet. In terminal B run `socklab connect 127.0.0.1 {port}`"));
    let mut b = lab.spawn(&["connect", "127.0.0.1", &port.to_string()]);
    let accept = a.wait_for("accept");
    lab.assert_stuck_at(4, "Type a line in terminal B");
    b.write(b"hello\n");
    a.wait_for("read");
    a.write(b"hi B\n");
    b.wait_for("read");
    b.close_stdin();
    a.wait_for("peer_closed");
    a.close_stdin();
    a.finish();
    b.finish();
    lab.assert_stuck_at(9, "client_port");
    lab.answer("client_port", &port_of(&accept["peer"]));
    lab.assert_passes();
}

#[test]
fn lesson_3_accepts_a_foreign_client_and_checks_the_server_side() {
    let lab = Lab::new(3);
    let (mut a, port) = lab.server("listen", &[]);
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(util::DEADLINE)).expect("timeout");
    s.write_all(b"hello from a plain socket\n").expect("write");
    a.wait_for("read");
    a.write(b"hi\n");
    let mut reply = [0u8; 3];
    s.read_exact(&mut reply).expect("reply");
    s.shutdown(Shutdown::Write).expect("FIN");
    a.wait_for("peer_closed");
    a.close_stdin();
    a.finish();
    lab.answer(
        "client_port",
        &s.local_addr().expect("addr").port().to_string(),
    );
    let f = lab.check();
    assert_eq!(f.code(), 0, "{}", f.stdout_text());
    assert!(
        f.stdout_text()
            .contains("not checked: that side was not socklab")
    );
}

#[test]
fn lesson_4_telnet() {
    require("telnet");
    let lab = Lab::new(4);
    // Wrong: plain nc sends LF, not CR LF.
    let (mut a, port) = lab.server("listen", &[]);
    let mut nc = Proc::spawn("nc", peer("nc", &["-N", "127.0.0.1", &port.to_string()]));
    nc.write(b"hello\n");
    a.wait_for("read");
    nc.close_stdin();
    a.close_stdin();
    a.finish();
    nc.finish();
    lab.assert_stuck_at(3, "nc sends only LF");
    // Right: real telnet, reading its input from a pipe.
    let (mut a, port) = lab.server("listen", &[]);
    let mut telnet = Proc::spawn("telnet", peer("telnet", &["127.0.0.1", &port.to_string()]));
    telnet.write(b"hello\n");
    a.wait_until("a CRLF line", |evs| {
        evs.iter()
            .any(|e| e["step"] == "read" && e["data"] == "hello\r\n")
    });
    a.close_stdin();
    a.finish();
    drop(telnet);
    lab.answer("line_end", "\\r\\n");
    lab.assert_passes();
}

#[test]
fn lesson_5_closing() {
    let lab = Lab::new(5);
    let (mut a, port) = lab.server("listen", &[]);
    let mut b = lab.spawn(&["connect", "127.0.0.1", &port.to_string()]);
    b.write(b"bye\n");
    b.close_stdin();
    a.wait_for("peer_closed");
    a.close_stdin();
    a.finish();
    b.finish();
    lab.answer("first", "client");
    // Without the half-close experiment, the check stops there.
    lab.assert_stuck_at(8, "(sleep 2; echo world) | socklab listen 5288");
    // The half-close: B sends and closes its half at once; A answers after
    // B's FIN has arrived, and B still reads the answer.
    let (mut a, port) = lab.server("listen", &[]);
    let mut b = lab.spawn(&["connect", "127.0.0.1", &port.to_string()]);
    b.feed(b"hello\n".to_vec());
    a.wait_for("peer_closed");
    a.write(b"world\n");
    a.close_stdin();
    assert_eq!(b.finish().stdout_text(), "world\n");
    a.finish();
    lab.assert_passes();
}

#[test]
fn lesson_6_udp() {
    let lab = Lab::new(6);
    let (_a, port) = lab.server("recv", &[]);
    let target = format!("127.0.0.1:{port}");
    // Sending before predicting: the check wants the prediction first.
    lab.assert_stuck_at(2, "socklab lesson answer datagrams N");
    lab.answer("datagrams", "1");
    let mut burst = lab.spawn(&["send", "--wait", "0", &target]);
    burst.write(b"one\ntwo\nthree\n");
    burst.close_stdin();
    assert_eq!(burst.finish().code(), 0);
    lab.assert_stuck_at(4, "another sender");
    assert_eq!(
        lab.run(&["send", "--wait", "0", &target, "another sender"])
            .code(),
        0
    );
    let nobody = util::free_udp_port().to_string();
    assert_eq!(
        lab.run(&["send", "127.0.0.1", &nobody, "anyone?"])
            .error_kind(),
        Some("port_unreachable")
    );
    assert_eq!(
        lab.run(&["send", "--size", "65508", &target]).error_kind(),
        Some("message_too_long")
    );
    lab.assert_stuck_at(7, "--size 65507");
    assert_eq!(
        lab.run(&["send", "--wait", "0", "--size", "65507", &target])
            .code(),
        0
    );
    let f = lab.check();
    assert_eq!(f.code(), 0, "{}", f.stdout_text());
    assert!(
        f.stdout_text()
            .contains("You predicted \"1\"; the log shows \"3\""),
        "{}",
        f.stdout_text()
    );
}

#[test]
fn lesson_7_non_blocking() {
    let lab = Lab::new(7);
    // Without -v there are no poll events to see.
    let (mut a, port) = lab.server("listen", &[]);
    let mut b = lab.spawn(&["connect", "127.0.0.1", &port.to_string()]);
    b.wait_for("connected");
    drop(b);
    a.close_stdin();
    drop(a);
    lab.assert_stuck_at(3, "run it with -v");
    let (mut a, port) = lab.server("listen", &["-v"]);
    // As a person would: B connects once A says it is waiting (accept() =
    // EAGAIN), so A learns of B through poll().
    a.wait_until("accept() would block", |evs| {
        evs.iter()
            .any(|e| e["step"] == "would_block" && e["op"] == "accept")
    });
    let mut b = lab.spawn(&["-v", "connect", "127.0.0.1", &port.to_string()]);
    b.write(b"ready?\n");
    a.wait_for("read");
    b.close_stdin();
    a.wait_for("peer_closed");
    a.close_stdin();
    a.finish();
    b.finish();
    lab.answer("connect", "EINPROGRESS");
    lab.assert_passes();
}

// ---- progress ----------------------------------------------------------------

#[test]
fn progress_survives_a_restart_and_shows_in_the_list() {
    let lab = Lab::new(1);
    let demo = lab.run(&["demo"]);
    lab.answer("port", &port_of(&demo.find("bind").expect("bind")["addr"]));
    lab.assert_passes();
    let list = lab.run(&["lessons"]).stdout_text();
    assert!(list.contains("✓  1."), "{list}");
    assert!(list.contains("→  2."), "{list}");
    let next = lab.run(&["lesson", "next"]).stdout_text();
    assert!(next.contains("Lesson 2 of"), "{next}");
    let reset = lab.run(&["lesson", "reset", "1"]);
    assert_eq!(reset.code(), 0);
    assert!(lab.run(&["lessons"]).stdout_text().contains("→  1."));
}

#[test]
fn a_damaged_progress_file_is_explained_and_reset_gets_out() {
    let lab = Lab::new(1);
    let progress = lab.dir.path().join("progress.json");
    std::fs::write(&progress, b"\x00\x01 not json").expect("write");
    let f = lab.run(&["lessons"]);
    assert_eq!(f.code(), 1);
    assert!(
        f.stderr.contains("damaged") && f.stderr.contains("socklab lesson reset"),
        "{}",
        f.stderr
    );
    // A network command still works, with a warning instead of a log.
    let demo = lab.run(&["demo"]);
    assert_eq!(demo.code(), 0);
    assert!(
        demo.stderr.contains("lesson logging is off"),
        "{}",
        demo.stderr
    );
    assert_eq!(lab.run(&["lesson", "reset"]).code(), 0);
    assert!(!Path::new(&progress).exists());
    assert_eq!(lab.run(&["lessons"]).code(), 0);
}

#[test]
fn hints_are_progressive_and_offered_after_failed_checks() {
    let lab = Lab::new(3);
    assert!(!lab.check().stdout_text().contains("lesson hint"));
    assert!(lab.check().stdout_text().contains("`socklab lesson hint`"));
    let first = lab.run(&["lesson", "hint"]).stdout_text();
    let second = lab.run(&["lesson", "hint"]).stdout_text();
    assert!(
        first.starts_with("Hint 1 of") && second.starts_with("Hint 2 of"),
        "{first}{second}"
    );
}

#[test]
fn answering_an_unknown_question_lists_the_real_ones() {
    let lab = Lab::new(2);
    let f = lab.run(&["lesson", "answer", "colour", "blue"]);
    assert_eq!(f.code(), 2);
    assert!(f.stderr.contains("zero, ip"), "{}", f.stderr);
    assert_eq!(lab.run(&["lesson", "99"]).code(), 2);
}

#[test]
fn the_chart_lights_what_was_done() {
    let lab = Lab::new(1);
    let before = lab.run(&["lesson", "chart"]).stdout_text();
    assert!(before.contains("0 of 12 steps"), "{before}");
    lab.run(&["demo"]);
    let after = lab.run(&["lesson", "chart"]).stdout_text();
    assert!(
        after.contains("[x] accept()") && after.contains("12 of 12"),
        "{after}"
    );
}

// ---- the framing lessons -----------------------------------------------------

/// Runs a shell pipeline with the lab's state directory, the way a learner
/// would type it (the socklab on PATH is the one under test).
fn shell(lab: &Lab, line: &str) -> Finished {
    let dir = Path::new(util::bin())
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("sh");
    c.args(["-c", line])
        .env("PATH", path)
        .env("SOCKLAB_STATE_DIR", lab.dir.path());
    run(line, c)
}

#[test]
fn lesson_8_tcp_is_a_stream() {
    let lab = Lab::new(8);
    let (mut a, port) = lab.server("listen", &["--proto", "raw"]);
    a.close_stdin();
    lab.assert_stuck_at(2, "socklab lesson answer reads N");
    lab.answer("reads", "1");
    let big = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(big.path(), vec![0u8; 2_000_000]).expect("write");
    let b = shell(
        &lab,
        &format!(
            "socklab --json connect 127.0.0.1 {port} < {}",
            big.path().display()
        ),
    );
    assert_eq!(b.code(), 0, "{}", b.stderr);
    let a = a.finish();
    let reads = a.events.iter().filter(|e| e["step"] == "frame").count();
    assert!(reads >= 2, "2 MB in {reads} read(s)");
    let f = lab.check();
    assert_eq!(f.code(), 0, "{}", f.stdout_text());
    assert!(
        f.stdout_text()
            .contains(&format!("You predicted \"1\"; the log shows \"{reads}\"")),
        "{}",
        f.stdout_text()
    );
}

#[test]
fn lesson_9_lines() {
    require("telnet");
    let lab = Lab::new(9);
    // A keeps its side open, as it does when a person runs it in a terminal:
    // telnet quits as soon as the server closes.
    let (mut a, port) = lab.server("listen", &["-k", "--proto", "lines"]);
    let p = port.to_string();
    let mut telnet = Proc::spawn("telnet", peer("telnet", &["127.0.0.1", &p]));
    telnet.write(b"from telnet\n");
    a.wait_until("a CR LF line", |evs| {
        evs.iter().any(|e| {
            e["step"] == "frame" && e["text"].as_str().is_some_and(|t| t.contains("CR LF"))
        })
    });
    drop(telnet);
    lab.assert_stuck_at(3, &format!("echo plain | socklab connect 127.0.0.1 {p}"));
    let send_and_close = |bytes: &[u8]| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(bytes).expect("write");
        s.shutdown(Shutdown::Write).expect("FIN");
    };
    send_and_close(b"plain\n");
    a.wait_until("an LF line", |evs| {
        evs.iter().any(|e| {
            e["text"]
                .as_str()
                .is_some_and(|t| t.contains("(ended by LF)"))
        })
    });
    lab.assert_stuck_at(4, "printf 'no end'");
    send_and_close(b"no end");
    a.wait_until("the unterminated last line", |evs| {
        evs.iter().any(|e| {
            e["text"]
                .as_str()
                .is_some_and(|t| t.contains("(no line ending: the stream ended)"))
        })
    });
    lab.assert_passes();
}

#[test]
fn lesson_10_http() {
    require("curl");
    let lab = Lab::new(10);
    let (_a, port) = lab.server("listen", &["-k", "--proto", "http"]);
    let base = format!("http://127.0.0.1:{port}");
    let get = shell(&lab, &format!("curl -s {base}/hello"));
    assert!(
        get.stdout_text().contains("socklab received: GET /hello"),
        "{}",
        get.stdout_text()
    );
    lab.assert_stuck_at(3, "username=zhangsan&password=123456");
    let form = shell(
        &lab,
        &format!("curl -s -d 'username=zhangsan&password=123456' {base}/login"),
    );
    assert!(
        form.stdout_text().contains("form: username = zhangsan"),
        "{}",
        form.stdout_text()
    );
    lab.answer("length", "34");
    lab.assert_stuck_at(5, "Your answer so far: \"34\"");
    lab.answer("length", "33");
    lab.assert_passes();
}

#[test]
fn lesson_11_xml_stanzas() {
    let lab = Lab::new(11);
    let (mut a, port) = lab.server("listen", &["-k", "--proto", "xml"]);
    a.close_stdin();
    let p = port.to_string();
    let mut b = lab.spawn(&[
        "connect",
        "--proto",
        "xml",
        "--from",
        "Vincent",
        "--to",
        "Eli",
        "127.0.0.1",
        &p,
    ]);
    b.write("一起吃饭\n".as_bytes());
    b.close_stdin();
    b.finish();
    lab.assert_stuck_at(4, "<from>Vincent</from>");
    shell(
        &lab,
        &format!(
            "printf '<from>Vincent</from><to>Eli</to><body>一起吃饭</body>' | socklab connect 127.0.0.1 {p}"
        ),
    );
    lab.assert_stuck_at(5, "<message><body>oops</message>");
    shell(
        &lab,
        &format!("printf '<message><body>oops</message>' | socklab connect 127.0.0.1 {p}"),
    );
    lab.answer("frames", "3");
    lab.assert_passes();
}

#[test]
fn lesson_12_json_messages() {
    let lab = Lab::new(12);
    // A sender in the wrong framing: the listener refuses it.
    let (mut wrong, port) = lab.server(
        "listen",
        &["-k", "--proto", "json", "--json-framing", "length"],
    );
    wrong.close_stdin();
    let mut b = lab.spawn(&[
        "connect",
        "--proto",
        "json",
        "--from",
        "Vincent",
        "--to",
        "Eli",
        "127.0.0.1",
        &port.to_string(),
    ]);
    b.write("中午一起吃饭\n".as_bytes());
    b.close_stdin();
    b.finish();
    lab.assert_stuck_at(1, "socklab listen -k --proto json 5288");
    let (mut a, port) = lab.server("listen", &["-k", "--proto", "json"]);
    a.close_stdin();
    let mut b = lab.spawn(&[
        "connect",
        "--proto",
        "json",
        "--from",
        "Vincent",
        "--to",
        "Eli",
        "127.0.0.1",
        &port.to_string(),
    ]);
    b.write("中午一起吃饭\n".as_bytes());
    b.close_stdin();
    b.finish();
    lab.assert_stuck_at(2, "--json-framing length");
    let (mut l, port) = lab.server(
        "listen",
        &["-k", "--proto", "json", "--json-framing", "length"],
    );
    l.close_stdin();
    let mut b = lab.spawn(&[
        "connect",
        "--proto",
        "json",
        "--json-framing",
        "length",
        "--from",
        "Vincent",
        "--to",
        "Eli",
        "127.0.0.1",
        &port.to_string(),
    ]);
    b.write("中午一起吃饭\n".as_bytes());
    b.close_stdin();
    b.finish();
    lab.assert_stuck_at(3, "--chunk 1");
    let piped = shell(
        &lab,
        "socklab frame encode --proto json --from Vincent --to Eli 中午一起吃饭 | socklab frame --proto json --chunk 1",
    );
    assert_eq!(piped.code(), 0, "{}", piped.stderr);
    lab.answer("utf8", "3");
    lab.assert_passes();
}

// ---- TCP against UDP ----------------------------------------------------------

/// A compare lesson: running before predicting does not count; predicting,
/// then running, passes and reports the prediction against the run.
fn compare_lesson(number: usize, experiment: &str, question: &str, guess: &str) -> Lab {
    let lab = Lab::new(number);
    assert_eq!(lab.run(&["compare", "--only", experiment]).code(), 0);
    lab.assert_stuck_at(1, &format!("socklab lesson answer {question}"));
    lab.answer(question, guess);
    lab.assert_stuck_at(2, &format!("socklab compare --only {experiment}"));
    assert_eq!(lab.run(&["compare", "--only", experiment]).code(), 0);
    lab
}

/// The check passes and its report contains `text`.
fn assert_passes_saying(lab: &Lab, text: &str) {
    let f = lab.check();
    assert_eq!(f.code(), 0, "{}", f.stdout_text());
    assert!(
        f.stdout_text().contains(text),
        "the check should say {text:?}:\n{}",
        f.stdout_text()
    );
}

fn assert_reported(lab: &Lab, guess: &str) {
    assert_passes_saying(lab, &format!("You predicted \"{guess}\"; the log shows"));
}

#[test]
fn lesson_13_setup() {
    let lab = compare_lesson(13, "setup", "send_error", "1");
    assert_passes_saying(&lab, "You predicted \"1\"; the log shows \"0\"");
}

#[test]
fn lesson_14_boundaries() {
    let lab = compare_lesson(14, "boundaries", "recvs", "3");
    assert_passes_saying(&lab, "the log shows \"3\": right");
}

#[test]
fn lesson_15_size() {
    let lab = compare_lesson(15, "size", "max", "65535");
    assert_passes_saying(&lab, "the log shows \"65507\"");
}

#[test]
fn lesson_16_pressure() {
    let lab = compare_lesson(16, "pressure", "received", "1000");
    assert_reported(&lab, "1000");
}

#[test]
fn lesson_18_speed() {
    let lab = compare_lesson(18, "speed", "bulk", "100");
    assert_reported(&lab, "100");
}

#[test]
fn lesson_17_network_and_the_relay_by_hand() {
    let lab = compare_lesson(17, "network", "arrived", "450");
    lab.assert_stuck_at(4, "socklab relay --udp --loss 30% --seed 42");
    let (_recv, port) = lab.server("recv", &[]);
    let mut relay = lab.spawn(&[
        "relay",
        "--udp",
        "--loss",
        "30%",
        "--seed",
        "42",
        "0",
        &format!("127.0.0.1:{port}"),
    ]);
    let relay_port = relay.port();
    let mut s = lab.spawn(&["send", "--wait", "0", "127.0.0.1", &relay_port.to_string()]);
    s.write(
        (1..=20)
            .map(|i| format!("{i}\n"))
            .collect::<String>()
            .as_bytes(),
    );
    s.close_stdin();
    s.finish();
    relay.wait_for_count("relay", 20);
    assert_reported(&lab, "450");
}

// ---- the session log: bounded, and robust to what is in it --------------------

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
