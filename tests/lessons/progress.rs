//! Progress, hints, answers and the chart.

use super::*;

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
        f.stderr.contains("damaged") && f.stderr.contains("socklab lesson reset --all"),
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
    // Which lesson is current cannot be read: resetting it says the way out.
    let f = lab.run(&["lesson", "reset"]);
    assert_eq!(f.code(), 1);
    assert!(
        f.stderr.contains("socklab lesson reset --all"),
        "{}",
        f.stderr
    );
    assert_eq!(lab.run(&["lesson", "reset", "--all"]).code(), 0);
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
fn a_udp_lesson_draws_the_udp_flow() {
    let lab = Lab::new(6);
    let before = lab.run(&["lesson", "chart"]).stdout_text();
    assert!(before.contains("UDP: no connection"), "{before}");
    assert!(!before.contains("accept()"), "{before}");
    let (mut a, port) = lab.server("recv", &[]);
    let sent = lab.run(&["send", "--wait", "0", "127.0.0.1", &port.to_string(), "hi"]);
    assert_eq!(sent.code(), 0, "{}", sent.stderr);
    a.wait_for("datagram");
    drop(a);
    let after = lab.run(&["lesson", "chart"]).stdout_text();
    for lit in ["[x] recvfrom()", "[x] sendto()", "[x] bind()"] {
        assert!(after.contains(lit), "{lit}:\n{after}");
    }
    assert!(
        !after.contains("listen()") && !after.contains("handshake"),
        "{after}"
    );
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

#[test]
fn answers_are_echoed_as_typed_and_numbers_as_read() {
    let lab = Lab::new(4);
    let f = lab.run(&["lesson", "answer", "line_end", "\\r\\n"]);
    assert_eq!(f.code(), 0, "{}", f.stderr);
    assert!(
        f.stdout_text().contains("`line_end`: \"\\r\\n\""),
        "{}",
        f.stdout_text()
    );
    let lab = Lab::new(18);
    let f = lab.run(&["lesson", "answer", "bulk", "2 GB/s"]);
    assert!(
        f.stdout_text()
            .contains("\"2 GB/s\" (read as 1,907.3 MiB/s)"),
        "{}",
        f.stdout_text()
    );
    // What cannot be read as the number asked for is refused, saying how
    // to write it, and is not recorded.
    let f = lab.run(&["lesson", "answer", "bulk", "fast"]);
    assert_eq!(f.code(), 2);
    assert!(f.stderr.contains("write a number"), "{}", f.stderr);
    let lab = Lab::new(13);
    let f = lab.run(&["lesson", "answer", "send_error", "no"]);
    assert!(
        f.stdout_text().contains("(read as no)"),
        "{}",
        f.stdout_text()
    );
}

/// Lesson 1 done, lesson 2 current with something in its log.
fn two_lessons_in() -> Lab {
    let lab = Lab::new(1);
    let demo = lab.run(&["demo"]);
    lab.answer("port", &port_of(&demo.find("bind").expect("bind")["addr"]));
    lab.assert_passes();
    let lab = Lab { lesson: 2, ..lab };
    assert_eq!(lab.run(&["lesson", "2"]).code(), 0);
    lab.answer("zero", "1234");
    lab
}

fn progress_of(lab: &Lab) -> serde_json::Value {
    let text = std::fs::read_to_string(lab.dir.path().join("progress.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}

#[test]
fn reset_without_a_number_resets_only_the_current_lesson() {
    let lab = two_lessons_in();
    let f = lab.run(&["lesson", "reset"]);
    assert_eq!(f.code(), 0, "{}", f.stderr);
    assert!(
        f.stdout_text().contains("Lesson 2 is reset"),
        "{}",
        f.stdout_text()
    );
    let p = progress_of(&lab);
    assert_eq!(p["done"], serde_json::json!(["01-sockets"]), "{p}");
    assert_eq!(p["current"], "02-addresses-and-ports");
    let log = lab.dir.path().join("sessions/02-addresses-and-ports.jsonl");
    assert!(!log.exists());
    assert!(lab.dir.path().join("sessions/01-sockets.jsonl").exists());
}

/// `socklab lesson reset ARGS` with stdin on a terminal, typing `typed`.
fn reset_on_a_terminal(lab: &Lab, args: &str, typed: &[u8]) -> Finished {
    let c = lab.on_a_terminal(&format!(
        "{} --color never lesson reset {args}",
        util::bin()
    ));
    let mut p = Proc::spawn("lesson reset on a pty", c);
    p.wait_stdout(b"[y/N]");
    p.write(typed);
    p.finish()
}

#[test]
fn reset_all_asks_first_on_a_terminal() {
    let lab = two_lessons_in();
    let f = reset_on_a_terminal(&lab, "--all", b"n\n");
    assert!(
        f.stdout_text().contains("Nothing was reset"),
        "{}",
        f.stdout_text()
    );
    assert_eq!(progress_of(&lab)["done"], serde_json::json!(["01-sockets"]));
    let f = reset_on_a_terminal(&lab, "--all", b"y\n");
    assert!(
        f.stdout_text().contains("Every lesson is reset"),
        "{}",
        f.stdout_text()
    );
    assert!(!lab.dir.path().join("progress.json").exists());
}

#[test]
fn reset_all_in_a_script_needs_no_answer() {
    let lab = two_lessons_in();
    // stdin is not a terminal here (a pipe): nobody to ask.
    let f = lab.run(&["lesson", "reset", "--all"]);
    assert_eq!(f.code(), 0, "{}", f.stderr);
    assert!(!lab.dir.path().join("progress.json").exists());
    // --yes skips the question on a terminal too.
    let lab = two_lessons_in();
    let c = lab.on_a_terminal(&format!(
        "{} lesson reset --all --yes < /dev/tty",
        util::bin()
    ));
    let f = run("reset --all --yes on a pty", c);
    assert!(
        f.stdout_text().contains("Every lesson is reset"),
        "{}",
        f.stdout_text()
    );
}
