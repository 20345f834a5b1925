//! The lessons as text: every command they show parses with the real CLI,
//! and every check fails on an empty log.

use super::*;

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
