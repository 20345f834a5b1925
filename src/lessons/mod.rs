//! Lessons: pages that walk a learner through the curriculum, and checks that
//! look at what the learner really did.
//!
//! - [`catalog`]: the lessons compiled in from `lessons/` (markdown with TOML
//!   front matter: questions, hints, the check);
//! - [`check`]: the pattern engine that matches a check against events;
//! - [`progress`]: the state directory and the progress file;
//! - [`log`]: the session logs, bounded when written and when read;
//! - [`render`] and [`chart`]: what the learner sees; [`report`]: what a
//!   check says;
//! - [`reset`]: forgetting one lesson, or (asking first) all of them.
//!
//! While a lesson is current, every socklab command appends its events to that
//! lesson's session log (see `lib.rs`), so the learner never has to remember a
//! flag: they run the commands the lesson shows, then `socklab lesson check`.

pub mod answer;
pub mod catalog;
pub mod chart;
pub mod check;
pub mod log;
pub mod progress;
pub mod render;
pub mod report;
pub mod reset;

use std::io::{self, Write};

use anyhow::{Context, bail};
use colored::Colorize;

use crate::cli::{LessonAction, LessonArgs};

use crate::trace::{Event, Level, Side, Tracer};
use catalog::{Lesson, QuestionKind};
use log::writer::LessonLog;
use progress::{Progress, State};

/// Failed checks after which the runner suggests a hint.
const OFFER_HINT_AFTER: usize = 2;

/// Writes to stdout; a reader that went away (`| head`) is not an error.
pub(crate) fn out(text: &str) -> anyhow::Result<()> {
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
    if let Some(LessonAction::Reset { all: true, yes, .. }) = args.action {
        return reset::all(state, yes);
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
        (Some(LessonAction::Check), _) => report::check(state, &mut progress, color),
        (Some(LessonAction::Hint), _) => hint(state, &mut progress),
        (Some(LessonAction::Chart), _) => {
            let lesson = current(&progress)?;
            let log = state.read_log(lesson.id, |_| true)?;
            out(&format!(
                "Lesson {} · {}\n\n{}",
                lesson.number,
                lesson.meta.title,
                chart::draw(&log.events, lesson.meta.chart, color)
            ))
        }
        (Some(LessonAction::Answer { question, value }), _) => {
            answer(state, &progress, question, value)
        }
        (Some(LessonAction::Reset { number, .. }), _) => {
            let lesson = match number {
                Some(n) => catalog::by_number(*n).map_err(crate::UsageError::new)?,
                None => current(&progress).map_err(|_| {
                    crate::UsageError::new(
                        "no lesson is current: `socklab lesson reset N` resets lesson N, `socklab lesson reset --all` every lesson",
                    )
                })?,
            };
            reset::one(state, &mut progress, lesson)
        }
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
    let reading = answer::read(value, q.expects, q.unit.as_deref()).map_err(|why| {
        crate::UsageError::new(format!(
            "lesson {}, question {question}: {why}",
            lesson.number
        ))
    })?;
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
    let read_as = match reading {
        answer::Reading::Number(n) if answer::digits(n) != value.trim() => format!(
            " (read as {}{})",
            answer::show(n),
            q.unit
                .as_deref()
                .map(|u| format!(" {u}"))
                .unwrap_or_default()
        ),
        answer::Reading::YesNo(yes) => format!(" (read as {})", if yes { "yes" } else { "no" }),
        _ => String::new(),
    };
    // Shown as typed (escaped for the terminal), not as a Rust string:
    // `\r\n` stays `\r\n`.
    let shown = crate::trace::escape::line(value);
    out(&format!(
        "Recorded your answer to `{question}`: \"{shown}\"{read_as}. {then}\n"
    ))
}
