//! Lessons: pages that walk a learner through the curriculum, and checks that
//! look at what the learner really did.
//!
//! - [`catalog`]: the lessons compiled in from `lessons/` (markdown with TOML
//!   front matter: questions, hints, the check);
//! - [`check`]: the pattern engine that matches a check against events;
//! - [`progress`]: the state directory and the progress file;
//! - [`log`]: the session logs, bounded when written and when read;
//! - [`render`] and [`chart`]: what the learner sees.
//!
//! While a lesson is current, every socklab command appends its events to that
//! lesson's session log (see `lib.rs`), so the learner never has to remember a
//! flag: they run the commands the lesson shows, then `socklab lesson check`.

pub mod catalog;
pub mod chart;
pub mod check;
pub mod log;
pub mod progress;
pub mod render;

use std::io::{self, Write};

use anyhow::{Context, bail};
use colored::Colorize;

use crate::cli::{LessonAction, LessonArgs};
use crate::exit::Silent;
use crate::trace::{Event, Level, Side, Tracer};
use catalog::{Lesson, QuestionKind};
use check::Outcome;
use log::reader::Log;
use log::writer::LessonLog;
use progress::{Progress, State};

/// Failed checks after which the runner suggests a hint.
const OFFER_HINT_AFTER: usize = 2;

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn out(text: &str) -> anyhow::Result<()> {
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

fn lessons() -> anyhow::Result<&'static [Lesson]> {
    catalog::all().map_err(|e| anyhow::anyhow!(e))
}

/// The first lesson not yet done.
fn next_undone(progress: &Progress) -> anyhow::Result<Option<&'static Lesson>> {
    Ok(lessons()?.iter().find(|l| !progress.done.contains(l.id)))
}

fn current(progress: &Progress) -> anyhow::Result<&'static Lesson> {
    match progress.current.as_deref().and_then(catalog::by_id) {
        Some(lesson) => Ok(lesson),
        None => bail!(
            "no lesson is current: `socklab lesson next` starts the next one, `socklab lessons` lists them"
        ),
    }
}

/// `socklab lessons`
pub fn list(state: &State, color: bool) -> anyhow::Result<()> {
    let progress = state.load()?;
    let all = lessons()?;
    let next = next_undone(&progress)?.map(|l| l.id);
    let done = all.iter().filter(|l| progress.done.contains(l.id)).count();
    let mut text = format!("socklab lessons: {done} of {} done\n\n", all.len());
    for l in all {
        let (mark, title) = if progress.done.contains(l.id) {
            (
                "✓",
                if color {
                    l.meta.title.green().to_string()
                } else {
                    l.meta.title.clone()
                },
            )
        } else if Some(l.id) == next {
            (
                "→",
                if color {
                    l.meta.title.bold().to_string()
                } else {
                    l.meta.title.clone()
                },
            )
        } else {
            (" ", l.meta.title.clone())
        };
        let now = if progress.current.as_deref() == Some(l.id) {
            "   (current)"
        } else {
            ""
        };
        text.push_str(&format!(" {mark} {:>2}. {title}{now}\n", l.number));
    }
    text.push_str(match next {
        Some(_) => "\n`socklab lesson next` shows the next one; `socklab lesson N` any one.\n",
        None => "\nEvery lesson is done. `socklab lesson N` revisits one.\n",
    });
    out(&text)
}

/// `socklab lesson ...`
pub fn run(args: &LessonArgs, state: &State, color: bool) -> anyhow::Result<()> {
    // Resetting everything is the way out of a damaged progress file, so it
    // must not need to read it.
    if let Some(LessonAction::Reset { number: None }) = args.action {
        return reset(state, &mut Progress::default(), None);
    }
    let mut progress = state.load()?;
    match (&args.action, args.number) {
        (None, Some(n)) => {
            let lesson = catalog::by_number(n).map_err(crate::exit::UsageError::new)?;
            start(state, &mut progress, lesson, color)
        }
        (None, None) => {
            let lesson = match progress.current.as_deref().and_then(catalog::by_id) {
                Some(l) => l,
                None => next_undone(&progress)?.unwrap_or(&lessons()?[0]),
            };
            start(state, &mut progress, lesson, color)
        }
        (Some(LessonAction::Next), _) => match next_undone(&progress)? {
            Some(lesson) => start(state, &mut progress, lesson, color),
            None => out(
                "Every lesson is done. `socklab lessons` lists them; `socklab lesson N` revisits one.\n",
            ),
        },
        (Some(LessonAction::Check), _) => check(state, &mut progress, color),
        (Some(LessonAction::Hint), _) => hint(state, &mut progress),
        (Some(LessonAction::Chart), _) => {
            let lesson = current(&progress)?;
            let log = state.read_log(lesson.id, |_| true)?;
            out(&format!(
                "Lesson {} · {}\n\n{}",
                lesson.number,
                lesson.meta.title,
                chart::draw(&log.events, color)
            ))
        }
        (Some(LessonAction::Answer { question, value }), _) => {
            answer(state, &progress, question, value)
        }
        (Some(LessonAction::Reset { number }), _) => reset(state, &mut progress, *number),
    }
}

/// Shows a lesson and makes it current, so that its session is recorded.
fn start(
    state: &State,
    progress: &mut Progress,
    lesson: &Lesson,
    color: bool,
) -> anyhow::Result<()> {
    let log = state.prepare_log(lesson.id)?;
    progress.current = Some(lesson.id.to_string());
    state.save(progress)?;
    let md = render::page(lesson, lessons()?.len());
    let mut text = render::to_terminal(&md, color, render::width());
    text.push_str(&format!(
        "\n(recording this lesson's session in {})\n",
        log.display()
    ));
    out(&text)
}

fn check(state: &State, progress: &mut Progress, color: bool) -> anyhow::Result<()> {
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
            Outcome::Passed => text.push_str(&format!(
                "  {} {n}. {}\n",
                paint("✓", |s| s.green()),
                step.says
            )),
            Outcome::Skipped => text.push_str(&format!(
                "  – {n}. {} (not checked: that side was not socklab)\n",
                step.says
            )),
            Outcome::Failed(advice) => {
                text.push_str(&format!(
                    "  {} {n}. {}\n",
                    paint("✗", |s| s.red()),
                    step.says
                ));
                text.push_str(&format!("       {}\n", paint(advice, |s| s.yellow())));
            }
            Outcome::NotReached => {
                text.push_str(&format!("  · {n}. {}\n", paint(&step.says, |s| s.dimmed())))
            }
        }
    }
    text.push_str(&log_notes(&log, lesson.number));
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
                let truth = verdict.fill(truth);
                let verdict_word = if said.trim().eq_ignore_ascii_case(truth.trim()) {
                    "right"
                } else {
                    "worth a second look"
                };
                // Both come from the session log, which may quote a peer.
                let said = crate::trace::escape::line(said);
                text.push_str(&format!(
                    "\nYou predicted \"{said}\"; the log shows \"{truth}\": {verdict_word}.\n"
                ));
            }
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

fn hint(state: &State, progress: &mut Progress) -> anyhow::Result<()> {
    let lesson = current(progress)?;
    let hints = &lesson.meta.hints;
    if hints.is_empty() {
        return out(
            "This lesson has no hints: its page says every step. `socklab lesson` shows it again.\n",
        );
    }
    let shown = progress.hints.entry(lesson.id.to_string()).or_insert(0);
    let i = (*shown).min(hints.len() - 1);
    let last = i + 1 == hints.len();
    *shown = i + 1;
    state.save(progress)?;
    let more = if last {
        "That is the last hint."
    } else {
        "`socklab lesson hint` again for the next one."
    };
    out(&format!(
        "Hint {} of {}: {}\n{more}\n",
        i + 1,
        hints.len(),
        hints[i]
    ))
}

fn answer(state: &State, progress: &Progress, question: &str, value: &str) -> anyhow::Result<()> {
    let lesson = current(progress)?;
    let Some(q) = lesson.meta.questions.iter().find(|q| q.id == question) else {
        let ids: Vec<&str> = lesson
            .meta
            .questions
            .iter()
            .map(|q| q.id.as_str())
            .collect();
        return Err(crate::exit::UsageError::new(match ids.is_empty() {
            true => format!("lesson {} asks no questions", lesson.number),
            false => format!(
                "lesson {} has no question {question:?}; its questions are: {}",
                lesson.number,
                ids.join(", ")
            ),
        })
        .into());
    };
    let log = state.prepare_log(lesson.id)?;
    if log::writer::is_full(&log) {
        bail!(
            "the session log {} is full, so your answer cannot be recorded: `socklab lesson reset {}` starts a fresh log",
            log.display(),
            lesson.number
        );
    }
    let sink = LessonLog::open(&log, Level::Data)
        .with_context(|| format!("cannot write {}", log.display()))?;
    let mut tracer = Tracer::new("lesson");
    tracer.add(Box::new(sink));
    tracer.emit(Side::Learner, None, Event::Answer { question, value });
    let then = match q.kind {
        QuestionKind::Predict => "Now run the experiment and see.",
        QuestionKind::Observe => "`socklab lesson check` will compare it with the log.",
    };
    out(&format!(
        "Recorded your answer to {question:?}: {value:?}. {then}\n"
    ))
}

fn reset(state: &State, progress: &mut Progress, number: Option<usize>) -> anyhow::Result<()> {
    match number {
        Some(n) => {
            let lesson = catalog::by_number(n).map_err(crate::exit::UsageError::new)?;
            progress.done.remove(lesson.id);
            progress.hints.remove(lesson.id);
            progress.attempts.remove(lesson.id);
            state.clear_log(lesson.id)?;
            state.save(progress)?;
            out(&format!(
                "Lesson {n} is reset: not done, no hints seen, an empty session log.\n"
            ))
        }
        None => {
            for lesson in lessons()? {
                state.clear_log(lesson.id)?;
            }
            match std::fs::remove_file(state.progress_path()) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| {
                        format!("cannot remove {}", state.progress_path().display())
                    });
                }
                _ => {}
            }
            out("Every lesson is reset. `socklab lesson next` starts from the beginning.\n")
        }
    }
}
