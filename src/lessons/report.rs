//! `socklab lesson check`: what a check says. Each step of the pattern with
//! its mark (✓ done, ✗ where the learner is stuck, with the advice, · not
//! reached, – not checked on a foreign side), notes on the log itself and on
//! commands carried over from another lesson, and once the check passes,
//! each prediction against what really happened.

use colored::Colorize;

use super::catalog::{self, Lesson, QuestionKind};
use super::check::{self, Outcome};
use super::log::reader::Log;
use super::progress::{Progress, State};
use super::{OFFER_HINT_AFTER, answer, current, log, next_undone, out, render};
use crate::Silent;

pub fn check(state: &State, progress: &mut Progress, color: bool) -> anyhow::Result<()> {
    let width = render::width();
    // A check item or its advice, wrapped under its mark (see render::hang):
    // `  ✓ 1. ` is 6 columns and the number's digits.
    let lines = |text: &mut String,
                 n: usize,
                 mark: &str,
                 body: &str,
                 f: fn(&str) -> colored::ColoredString| {
        let indent = 6 + n.to_string().len();
        let pad = " ".repeat(indent);
        for (i, line) in render::hang(body, indent, width).into_iter().enumerate() {
            let lead = if i == 0 && !mark.is_empty() {
                mark
            } else {
                &pad
            };
            let line = if color { f(&line).to_string() } else { line };
            text.push_str(&format!("{lead}{line}\n"));
        }
    };
    let lesson = current(progress)?;
    let needed = check::steps_needed(&lesson.meta.steps);
    let log = state.read_log(lesson.id, |step| {
        needed.as_ref().is_none_or(|n| n.contains(step))
    })?;
    let events = &log.events;
    let verdict = check::evaluate(&lesson.meta.steps, lesson.meta.foreign, events);
    let paint = |s: &str, f: fn(&str) -> colored::ColoredString| {
        if color {
            f(s).to_string()
        } else {
            s.to_string()
        }
    };
    let mut text = format!(
        "Checking lesson {} · {}\n\n",
        lesson.number, lesson.meta.title
    );
    for (i, (step, outcome)) in lesson.meta.steps.iter().zip(&verdict.outcomes).enumerate() {
        let n = i + 1;
        match outcome {
            Outcome::Passed => {
                let mark = format!("  {} {n}. ", paint("✓", |s| s.green()));
                lines(&mut text, n, &mark, &step.says, |s| s.normal());
            }
            Outcome::Skipped => {
                let says = format!("{} (not checked: that side was not socklab)", step.says);
                lines(&mut text, n, &format!("  – {n}. "), &says, |s| s.normal());
            }
            Outcome::Failed(advice) => {
                let mark = format!("  {} {n}. ", paint("✗", |s| s.red()));
                lines(&mut text, n, &mark, &step.says, |s| s.normal());
                lines(&mut text, n, "", advice, |s| s.yellow());
            }
            Outcome::NotReached => {
                lines(&mut text, n, &format!("  · {n}. "), &step.says, |s| {
                    s.dimmed()
                });
            }
        }
    }
    text.push_str(&paragraphs(&log_notes(&log, lesson.number), width));
    text.push_str(&carried_notes(events, lesson));
    if verdict.passed() {
        for q in lesson
            .meta
            .questions
            .iter()
            .filter(|q| q.kind == QuestionKind::Predict)
        {
            let said = events
                .iter()
                .rev()
                .find(|e| e["step"] == "answer" && e["question"] == q.id.as_str())
                .and_then(|e| e["value"].as_str());
            if let (Some(said), Some(truth)) = (said, &q.truth) {
                let report = prediction_report(q, said, &verdict.fill(truth));
                text.push_str(&paragraphs(&report, width));
            }
        }
        for reveal in lesson
            .meta
            .questions
            .iter()
            .filter_map(|q| q.reveal.as_ref())
        {
            text.push_str(&paragraphs(&format!("\n{reveal}\n"), width));
        }
        progress.done.insert(lesson.id.to_string());
        progress.attempts.remove(lesson.id);
        state.save(progress)?;
        text.push_str(&format!(
            "\n{} Lesson {} done.",
            paint("✓", |s| s.green()),
            lesson.number
        ));
        text.push_str(match next_undone(progress)? {
            Some(_) => " Next: `socklab lesson next`.\n",
            None => " That was the last lesson: well done.\n",
        });
        out(&text)
    } else {
        let attempts = progress.attempts.entry(lesson.id.to_string()).or_insert(0);
        *attempts += 1;
        if *attempts >= OFFER_HINT_AFTER && !lesson.meta.hints.is_empty() {
            text.push_str("\nStuck? `socklab lesson hint` shows a hint.\n");
        }
        state.save(progress)?;
        text.push_str("\nNot yet: do the step marked ✗, then run `socklab lesson check` again.\n");
        out(&text)?;
        Err(Silent(1).into())
    }
}

/// Each line of `text` wrapped to `width` (see [`render::hang`]).
fn paragraphs(text: &str, width: usize) -> String {
    let mut out = String::new();
    for line in text.split('\n') {
        out.push_str(&render::hang(line, 0, width).join("\n"));
        out.push('\n');
    }
    out.pop();
    out
}

/// "You predicted 2 GB/s (1,907.3 MiB/s); the log shows 2023.7 MiB/s:
/// within 10%...": the guess, as read, against the truth, judged by the
/// kind of question.
fn prediction_report(q: &catalog::Question, said: &str, truth: &str) -> String {
    let unit = q.unit.as_deref();
    let verdict = answer::judge(said, truth, q.expects, unit);
    let read_as = match answer::read(said, q.expects, unit) {
        Ok(answer::Reading::Number(n)) if answer::digits(n) != said.trim() => {
            format!(
                " ({}{})",
                answer::show(n),
                unit.map(|u| format!(" {u}")).unwrap_or_default()
            )
        }
        _ => String::new(),
    };
    let unit = match answer::read(truth, q.expects, None) {
        // The log writes 1 or 0.
        Ok(answer::Reading::YesNo(yes)) if !matches!(truth.trim(), "yes" | "no") => {
            format!(" ({})", if yes { "yes" } else { "no" })
        }
        _ => unit.map(|u| format!(" {u}")).unwrap_or_default(),
    };
    // Both come from the session log, which may quote a peer.
    let said = crate::trace::escape::line(said);
    // A truth that is no template is a fact of the protocol, not a measure.
    let source = match q.truth.as_deref() {
        Some(t) if t.contains('{') => "the log shows",
        _ => "the answer is",
    };
    format!("\nYou predicted \"{said}\"{read_as}; {source} \"{truth}\"{unit}: {verdict}.\n")
}

/// Which commands in the log were started under another lesson (or before
/// this one's log was reset) and kept running into it: their standing
/// steps were carried over (see [`log::follow`]).
fn carried_notes(events: &[serde_json::Value], lesson: &Lesson) -> String {
    let mut notes = String::new();
    let mut seen = std::collections::BTreeSet::new();
    let starts = events
        .iter()
        .filter(|e| e["carried"] == true && e["step"] == "start");
    for e in starts {
        let Some(pid) = e["pid"].as_u64().filter(|pid| seen.insert(*pid)) else {
            continue;
        };
        // From the log file: escaped like everything it quotes.
        let cmd = crate::trace::escape::line(e["cmd"].as_str().unwrap_or("a command")).into_owned();
        let n = lesson.number;
        let since =
            format!("what it did since lesson {n} began is in this lesson's log, and counts");
        let note = match e["started_under"].as_str() {
            Some(id) if id == lesson.id => format!(
                "(`socklab {cmd}` (pid {pid}) was started before this lesson's log was reset: what it had set up (a listening socket, connections) was carried into the fresh log, and counts.)"
            ),
            Some(id) => {
                let under = catalog::by_id(id).map_or("another lesson".to_string(), |l| {
                    format!("lesson {}", l.number)
                });
                format!(
                    "(`socklab {cmd}` (pid {pid}) was started while {under} was current and kept running into this lesson: {since}.)"
                )
            }
            None => format!(
                "(`socklab {cmd}` (pid {pid}) was started before any lesson was current: {since}.)"
            ),
        };
        notes.push('\n');
        for line in render::hang(&note, 0, render::width()) {
            notes.push_str(&line);
            notes.push('\n');
        }
    }
    notes
}

/// What the learner should know about the log itself: lines skipped,
/// events counted rather than recorded, a log that reached its cap.
fn log_notes(log: &Log, number: usize) -> String {
    let mut notes = String::new();
    if log.skipped > 0 {
        notes.push_str(&format!(
            "\n({} unreadable line(s) in the session log were skipped: not socklab events, or damaged.)\n",
            log.skipped
        ));
    }
    if log.summarised > 0 {
        notes.push_str(&format!(
            "\n(To keep the session log small, {} reads, writes, frames and the like past the first {} of each connection were counted, not recorded one by one.)\n",
            log.summarised,
            log::KEEP
        ));
    }
    if log.full {
        notes.push_str(&format!(
            "\n(The session log is full: socklab stopped recording at {} MiB, so what you did after that is not in it. `socklab lesson reset {number}` starts a fresh log.)\n",
            log::CAP >> 20
        ));
    } else if log.cut {
        notes.push_str(&format!(
            "\n(The session log is larger than socklab ever writes; only its first {} MiB were read. `socklab lesson reset {number}` starts a fresh log.)\n",
            log::READ_LIMIT >> 20
        ));
    }
    notes
}
