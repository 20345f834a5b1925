//! Lessons 13 to 18: TCP against UDP, predicted then measured.

use super::*;

/// A compare lesson: running before predicting does not count; predicting,
/// then running, passes and reports the prediction against the run.
pub fn compare_lesson(number: usize, experiment: &str, question: &str, guess: &str) -> Lab {
    let lab = Lab::new(number);
    // The near miss: the experiment run before the prediction is named.
    assert_eq!(lab.run(&["compare", "--only", experiment]).code(), 0);
    lab.assert_stuck_at(1, "You ran the experiment before you predicted");
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
        flat(&f.stdout_text()).contains(&flat(text)),
        "the check should say {text:?}:\n{}",
        f.stdout_text()
    );
}

/// An estimate is reported with how close it came to what the log shows
/// (within 10%, a factor of 2, an order of magnitude, or how far off).
fn assert_estimate_judged(lab: &Lab, guess: &str, unit: Option<&str>) {
    let f = lab.check();
    let out = f.stdout_text();
    assert_eq!(f.code(), 0, "{out}");
    let truth = out
        .split("the log shows \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no truth reported:\n{out}"));
    let verdict = answer::judge(guess, truth, answer::Expects::Estimate, unit);
    let words = [
        "within 10%",
        "within a factor of 2",
        "the right order",
        "times too",
    ];
    assert!(
        words.iter().any(|w| verdict.contains(w)),
        "not judged as an estimate: {verdict}"
    );
    assert!(
        flat(&out).contains(&verdict),
        "expected {verdict:?} in:\n{out}"
    );
}

#[test]
fn lesson_13_setup() {
    // "no" is what the log's 0 means.
    let lab = compare_lesson(13, "setup", "send_error", "no");
    assert_passes_saying(
        &lab,
        "You predicted \"no\"; the log shows \"0\" (no): right",
    );
}

#[test]
fn lesson_14_boundaries() {
    let lab = compare_lesson(14, "boundaries", "recvs", "3");
    assert_passes_saying(&lab, "the log shows \"3\": right");
}

#[test]
fn lesson_15_size() {
    // The lessons' own way of writing it.
    let lab = compare_lesson(15, "size", "max", "65,507");
    assert_passes_saying(&lab, "the log shows \"65507\" bytes: right");
    assert_passes_saying(&lab, "65,535 − 8 = 65,527");
}

#[test]
fn lesson_16_pressure() {
    let lab = compare_lesson(16, "pressure", "received", "1,000");
    assert_estimate_judged(&lab, "1,000", None);
}

#[test]
fn lesson_18_speed() {
    let lab = compare_lesson(18, "speed", "bulk", "3000 MiB/s");
    assert_passes_saying(
        &lab,
        "You predicted \"3000 MiB/s\" (3,000 MiB/s); the log shows",
    );
    assert_estimate_judged(&lab, "3000 MiB/s", Some("MiB/s"));
}

#[test]
fn lesson_17_network_and_the_relay_by_hand() {
    let lab = compare_lesson(17, "network", "arrived", "450");
    lab.assert_stuck_at(4, "socklab relay --udp --loss 30% --seed 42");
    let (mut recv, port) = lab.server("recv", &[]);
    let _relay = lab.twenty_through_a_lossy_relay(port);
    // What the relay let through has reached the receiver.
    recv.wait_for("datagram");
    assert_estimate_judged(&lab, "450", None);
}
