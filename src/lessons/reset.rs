//! `socklab lesson reset`: forget one lesson, or every lesson.
//!
//! Without a number, the current lesson is reset: its done mark, hints,
//! attempts and session log. Every lesson needs `--all`, and on a terminal
//! a confirmation (`--yes` skips it); when stdin is not a terminal nobody
//! can be asked, and the explicit `--all` is taken as meant. `--all` does
//! not read the progress file, so it is also the way out of a damaged one.

use std::io::{self, BufRead, IsTerminal, Write};

use anyhow::Context;

use super::catalog::{self, Lesson};
use super::out;
use super::progress::{Progress, State};

/// Resets one lesson.
pub fn one(state: &State, progress: &mut Progress, lesson: &Lesson) -> anyhow::Result<()> {
    progress.done.remove(lesson.id);
    progress.hints.remove(lesson.id);
    progress.attempts.remove(lesson.id);
    state.clear_log(lesson.id)?;
    state.save(progress)?;
    out(&format!(
        "Lesson {} is reset: not done, no hints seen, an empty session log. (`socklab lesson reset --all` resets every lesson.)\n",
        lesson.number
    ))
}

/// Resets every lesson, asking first when a person is at the terminal.
pub fn all(state: &State, yes: bool) -> anyhow::Result<()> {
    let stdin = io::stdin();
    if !yes && stdin.is_terminal() {
        eprint!(
            "Reset all {} lessons: every lesson's progress, hints and session log? [y/N] ",
            catalog::count()
        );
        let _ = io::stderr().flush();
        let mut answer = String::new();
        stdin
            .lock()
            .read_line(&mut answer)
            .context("cannot read the answer")?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES") {
            return out("Nothing was reset.\n");
        }
    }
    for lesson in catalog::all().map_err(|e| anyhow::anyhow!(e))? {
        state.clear_log(lesson.id)?;
    }
    match std::fs::remove_file(state.progress_path()) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(e)
                .with_context(|| format!("cannot remove {}", state.progress_path().display()));
        }
        _ => {}
    }
    out("Every lesson is reset. `socklab lesson next` starts from the beginning.\n")
}
