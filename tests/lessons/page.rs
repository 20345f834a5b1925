//! A lesson page as a terminal shows it: prose at the terminal's real width,
//! code blocks whole at any width, so that a command pastes as it was shown.

use super::*;
use socklab::trace::wrap::columns;

const CHUNK_1: &str = "socklab frame encode --proto json --from Vincent --to Eli 中午一起吃饭 | socklab frame --proto json --chunk 1";

/// `socklab lesson 12` on a pseudo-terminal of `cols` columns.
fn page_on_a_terminal(lab: &Lab, cols: u16) -> String {
    let c = lab.on_a_terminal(&format!(
        "stty cols {cols} rows 40; {} --color never lesson 12",
        util::bin()
    ));
    let f = run("lesson 12 on a pty", c);
    assert_eq!(f.code(), 0, "{}", f.stderr);
    f.stdout_text().replace('\r', "")
}

#[test]
fn a_long_command_is_never_cut_at_any_width() {
    let lab = Lab::new(1);
    for cols in [80, 120, 200] {
        let page = page_on_a_terminal(&lab, cols);
        assert!(
            page.lines()
                .any(|l| l.trim_end() == format!("    {CHUNK_1}")),
            "{cols} columns:\n{page}"
        );
    }
    // Into a pipe too.
    let piped = lab.run(&["lesson", "12"]).stdout_text();
    assert!(piped.contains(&format!("    {CHUNK_1}\n")), "{piped}");
}

#[test]
fn prose_takes_the_terminals_real_width() {
    let lab = Lab::new(1);
    let widest = |page: &str| page.lines().map(|l| columns(l.trim_end())).max();
    let narrow = page_on_a_terminal(&lab, 80);
    let wide = page_on_a_terminal(&lab, 200);
    // Prose lines (not the long command) fit in 80 columns there...
    // (The path of the session log is one word: the terminal folds it.)
    let prose_80 = narrow
        .lines()
        .filter(|l| !l.starts_with("    ") && !l.starts_with("(recording"))
        .map(|l| columns(l.trim_end()))
        .max();
    assert!(prose_80 <= Some(80), "{prose_80:?}\n{narrow}");
    // ...and use more than the old fixed 100 on a 200-column terminal.
    assert!(widest(&wide) > Some(110), "{wide}");
}
