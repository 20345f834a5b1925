//! Lessons 13 to 18: TCP against UDP, predicted then measured.

use super::*;

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
