//! A lesson as the learner reads it: its markdown, followed by its questions
//! and the exact list of what the check looks for (generated from the check
//! itself, so the page can never promise something the check does not do),
//! rendered for the terminal with termimad, or as plain text when piped.

use std::fmt::Write as _;

use termimad::MadSkin;

use super::catalog::{Lesson, QuestionKind};

/// The lesson page as markdown.
pub fn page(lesson: &Lesson, total: usize) -> String {
    let mut md = format!(
        "# Lesson {} of {total} · {}\n",
        lesson.number, lesson.meta.title
    );
    md.push_str(lesson.body.trim_end());
    md.push_str("\n\n");
    if !lesson.meta.questions.is_empty() {
        md.push_str("## Questions\n\n");
        for q in &lesson.meta.questions {
            let when = match q.kind {
                QuestionKind::Predict => "*Predict, before you run the experiment:*",
                QuestionKind::Observe => "*Look in the narration:*",
            };
            let _ = writeln!(md, "* {when} {}", q.ask);
            let _ = writeln!(
                md,
                "  answer with `socklab lesson answer {} YOUR-ANSWER`",
                q.id
            );
        }
        md.push('\n');
    }
    md.push_str("## What `socklab lesson check` looks for\n\n");
    let mut n = 0;
    for step in &lesson.meta.steps {
        n += 1;
        let _ = writeln!(md, "{n}. {}", step.says);
    }
    md.push_str(
        "\nWhile this lesson is current, every socklab command you run is recorded in its session log; \
         `socklab lesson check` reads it. Stuck? `socklab lesson hint`. The flow chart of what you did so far: \
         `socklab lesson chart`.\n",
    );
    md
}

/// Renders markdown for a terminal of `width` columns, or as plain text.
pub fn to_terminal(md: &str, color: bool, width: usize) -> String {
    let mut skin = if color {
        MadSkin::default()
    } else {
        MadSkin::no_style()
    };
    // Commands to type stand out by indentation, with or without colour.
    skin.code_block.left_margin = 4;
    skin.text(md, Some(width)).to_string()
}

/// The width to render for: the terminal's, at most 100 columns for reading.
pub fn width() -> usize {
    terminal_size::terminal_size_of(std::io::stdout()).map_or(100, |(w, _)| (w.0 as usize).min(100))
}
