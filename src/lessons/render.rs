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
        // The question is a paragraph of its own (in a list item, a long
        // one broke after the label with a stray indent), and the command
        // that answers it a code block, whole whatever the width.
        for q in &lesson.meta.questions {
            let when = match q.kind {
                QuestionKind::Predict => "predict, before you run the experiment",
                QuestionKind::Observe => "look in the narration",
            };
            let _ = writeln!(md, "Question `{}` ({when}):\n\n{}\n", q.id, q.ask);
            let _ = writeln!(md, "```\nsocklab lesson answer {} YOUR-ANSWER\n```\n", q.id);
        }
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
/// Prose is wrapped to the width; code blocks never are: a command split
/// over two lines no longer pastes (`--proto` loses its value, `json` runs
/// as a command). A line longer than the terminal is left for the terminal
/// to fold, and terminals (and tmux) copy a folded line back as one line.
pub fn to_terminal(md: &str, color: bool, width: usize) -> String {
    let skin = if color {
        MadSkin::default()
    } else {
        MadSkin::no_style()
    };
    let mut out = String::new();
    let mut prose = String::new();
    let mut code: Option<Vec<&str>> = None;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            match code.take() {
                None => {
                    out.push_str(&skin.text(&prose, Some(width)).to_string());
                    prose.clear();
                    code = Some(Vec::new());
                }
                Some(lines) => code_block(&skin, color, &lines, &mut out),
            }
            continue;
        }
        match code.as_mut() {
            Some(lines) => lines.push(line),
            None => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    if let Some(lines) = code {
        code_block(&skin, color, &lines, &mut out);
    }
    out.push_str(&skin.text(&prose, Some(width)).to_string());
    out
}

/// A code block as it is, indented so that commands to type stand out with
/// or without colour.
fn code_block(skin: &MadSkin, color: bool, lines: &[&str], out: &mut String) {
    for line in lines {
        out.push_str("    ");
        if color {
            let _ = write!(out, "{}", skin.inline_code.apply_to(*line));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// Lines of `text` for a terminal of `width` columns, after an indent of
/// `indent` columns (a mark such as `  ✓ 1. ` on the first line, spaces on
/// the others). A `code span` is never broken (a command cut in two would
/// not paste), nor is a word; one wider than the line goes on a line of its
/// own, for the terminal to fold.
pub fn hang(text: &str, indent: usize, width: usize) -> Vec<String> {
    use crate::trace::wrap::columns;
    let room = width.saturating_sub(indent).max(20);
    // Words, with the spaces inside code spans kept.
    let mut words: Vec<String> = Vec::new();
    let mut in_code = false;
    for piece in text.split(' ') {
        match words.last_mut() {
            Some(last) if in_code => {
                last.push(' ');
                last.push_str(piece);
            }
            _ => words.push(piece.to_string()),
        }
        if piece.matches('`').count() % 2 == 1 {
            in_code = !in_code;
        }
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in words {
        if !line.is_empty() && columns(&line) + 1 + columns(&word) > room {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    lines.push(line);
    lines
}

/// The width to render prose for: the terminal's, or 100 columns when
/// stdout is not a terminal (code is never wrapped either way).
pub fn width() -> usize {
    terminal_size::terminal_size_of(std::io::stdout()).map_or(100, |(w, _)| w.0 as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: &str = "socklab frame encode --proto json --from Vincent --to Eli 中午一起吃饭 | socklab frame --proto json --chunk 1";

    #[test]
    fn code_blocks_are_never_wrapped_whatever_the_width() {
        let md = format!(
            "Some prose that is long enough to be wrapped at forty columns.\n\n```\n{LONG}\n```\n\nMore prose.\n"
        );
        for color in [false, true] {
            for width in [40, 80, 120, 200] {
                let shown = to_terminal(&md, color, width);
                assert!(
                    shown.lines().any(|l| l.contains(LONG)),
                    "width {width}, colour {color}:\n{shown}"
                );
            }
        }
        // Prose still wraps.
        let shown = to_terminal(&md, false, 40);
        assert!(
            shown
                .lines()
                .all(|l| l.trim_end().chars().count() <= 40 || l.contains(LONG))
        );
    }

    #[test]
    fn hanging_lines_never_cut_a_code_span() {
        let text = "Now by hand: `socklab relay --udp --loss 30% --seed 42 5301 127.0.0.1:5300`, then send.";
        let lines = hang(text, 7, 40);
        assert_eq!(
            lines,
            [
                "Now by hand:",
                "`socklab relay --udp --loss 30% --seed 42 5301 127.0.0.1:5300`,",
                "then send."
            ]
        );
        assert_eq!(hang("short", 0, 80), ["short"]);
    }

    #[test]
    fn every_lessons_commands_survive_a_narrow_terminal() {
        for lesson in super::super::catalog::all().expect("lessons") {
            let shown = to_terminal(&page(lesson, 18), false, 60);
            let mut block = false;
            for line in lesson.body.lines() {
                if line.starts_with("```") {
                    block = !block;
                } else if block && !line.is_empty() {
                    assert!(
                        shown.lines().any(|l| l.trim_end() == format!("    {line}")),
                        "lesson {}: {line:?} was cut:\n{shown}",
                        lesson.number
                    );
                }
            }
        }
    }
}
