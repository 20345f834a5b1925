//! The lessons as text: every command they show parses with the real CLI,
//! and every check fails on an empty log.

use super::*;

/// Every text of a lesson a learner reads: the page, hints, questions, what
/// the check says and every piece of advice it can give.
fn texts(lesson: &catalog::Lesson) -> Vec<String> {
    let meta = &lesson.meta;
    let mut texts = vec![lesson.body.to_string()];
    texts.extend(meta.hints.iter().cloned());
    for s in &meta.steps {
        texts.extend([s.says.clone(), s.stuck.clone()]);
        texts.extend(s.stuck_foreign.clone());
        texts.extend(s.near.iter().map(|n| n.advice.clone()));
    }
    texts.extend(meta.questions.iter().map(|q| q.ask.clone()));
    texts
}

#[test]
fn every_command_in_the_lessons_parses_with_the_real_cli() {
    let mut checked = 0;
    for lesson in catalog::all().expect("lessons") {
        let texts: Vec<String> = texts(lesson).iter().map(|t| fill_defaults(t)).collect();
        // A code block marks a command that must be refused with a shell
        // comment (`socklab listen 65536   # rejected: ...`); the same
        // command elsewhere is the same example.
        let rejected: Vec<String> = texts
            .iter()
            .flat_map(|t| commands(t))
            .filter_map(|line| {
                let (cmd, comment) = line.split_once(" #")?;
                comment.contains("rejected").then(|| cmd.trim().to_string())
            })
            .collect();
        for text in &texts {
            for line in commands(text) {
                let cmd = line
                    .split_once(" #")
                    .map_or(line.as_str(), |(c, _)| c)
                    .trim();
                let parsed = Cli::try_parse_from(words(cmd));
                // Prose may name a command without arguments: "`socklab listen` is listening".
                let w = words(cmd);
                if w.len() == 2 && Cli::command().find_subcommand(&w[1]).is_some() {
                    continue;
                }
                if rejected.iter().any(|r| r == cmd) {
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
fn no_check_item_hint_or_advice_shows_a_shell_comment() {
    // Outside a code block a `# comment` is not for the learner to read:
    // "`socklab listen 65536 # rejected`" leaked the test's marker.
    for lesson in catalog::all().expect("lessons") {
        for text in texts(lesson).iter().skip(1) {
            assert!(
                !text.contains(" # "),
                "lesson {}: a shell comment in {text:?}",
                lesson.number
            );
        }
    }
}

#[test]
fn no_page_states_the_answer_to_its_own_question() {
    let total = catalog::count();
    for (number, answers) in [
        (10, &["33"][..]),
        (
            11,
            &[
                "three frames",
                "so three",
                "three elements",
                "(<from>, <to>, <body>)",
            ][..],
        ),
        (12, &["three bytes", "3 bytes"][..]),
        (15, &["65,507", "65507", "65 507"][..]),
        (19, &["stamps", "never trusts"][..]),
        (20, &["two headers", "2 headers", "twice"][..]),
        (22, &["<delay", "XEP-0203", "is deleted", "are deleted"][..]),
        (23, &["4096", "4,096"][..]),
        // The PUT's port, and how many connections one attachment opens.
        (
            25,
            &["5280", "one new connection", "a single connection"][..],
        ),
    ] {
        let lesson = catalog::by_number(number).expect("lesson");
        let page = render::page(lesson, total);
        for answer in answers {
            assert!(
                !page.contains(answer),
                "lesson {number} gives its answer away: {answer:?} in\n{page}"
            );
        }
    }
}

#[test]
fn every_question_reads_on_one_line_at_120_columns() {
    let total = catalog::count();
    for lesson in catalog::all().expect("lessons") {
        let shown = render::to_terminal(&render::page(lesson, total), false, 120);
        for q in &lesson.meta.questions {
            // As shown: markdown's backticks are gone.
            let ask = q.ask.replace('`', "");
            assert!(
                shown.lines().any(|l| l.contains(ask.as_str())),
                "lesson {}: question {} is broken over lines:\n{shown}",
                lesson.number,
                q.id
            );
        }
    }
}

#[test]
fn the_wording_a_learner_tripped_on_is_fixed() {
    let body = |n: usize| catalog::by_number(n).expect("lesson").body;
    // Lesson 3 must not promise that plain nc closes: it needs -N.
    assert!(
        !body(3).contains("`nc 127.0.0.1 5288` works"),
        "{}",
        body(3)
    );
    assert!(body(3).contains("nc -N 127.0.0.1 5288"));
    // TIME_WAIT belongs to the side that sends FIN first.
    assert!(!body(5).contains("closes **first**"));
    assert!(body(5).contains("sends FIN first"));
    // The sender that never hears of ICMP is an unconnected one, not recv.
    assert!(!body(6).contains("`recv` without a connected socket"));
    assert!(body(6).contains("not connected"));
    // Lesson 7 shows `token 0`: it must say what a token is.
    assert!(
        body(7).contains("a number the program chose for each"),
        "{}",
        body(7)
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

#[test]
fn no_inline_command_is_split_over_two_lines() {
    // Prose keeps its source lines: a `socklab ...` span broken over two
    // lines would be copied as two commands.
    for lesson in catalog::all().expect("lessons") {
        let mut block = false;
        let mut open: Option<String> = None;
        for line in lesson.body.lines() {
            if line.starts_with("```") {
                block = !block;
                continue;
            }
            if block {
                continue;
            }
            for (i, piece) in line.split('`').enumerate() {
                if i == 0 {
                    if let Some(span) = open.as_mut() {
                        span.push(' ');
                        span.push_str(piece);
                        assert!(
                            !span.contains("socklab "),
                            "lesson {}: `{span}` is split over two lines",
                            lesson.number
                        );
                    }
                    continue;
                }
                open = match open.take() {
                    Some(_) => None,
                    None => Some(piece.to_string()),
                };
            }
            // A span still open at the end of the line continues on the next.
            if line.matches('`').count() % 2 == 0 {
                open = None;
            }
        }
    }
}
