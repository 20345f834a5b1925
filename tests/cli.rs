//! The command line as a whole: help, version, completions.

mod util;

use std::process::Command;

fn socklab_text(args: &[&str]) -> util::Finished {
    let mut cmd = Command::new(util::bin());
    cmd.args(args);
    util::run(&args.join(" "), cmd)
}

#[test]
fn shell_completions_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let f = socklab_text(&["completions", shell]);
        assert_eq!(f.code(), 0, "{shell}: {}", f.stderr);
        for sub in [
            "listen", "connect", "send", "recv", "relay", "compare", "lesson",
        ] {
            assert!(
                f.stdout_text().contains(sub),
                "{shell} completions lack {sub}"
            );
        }
    }
}

#[test]
fn help_explains_exit_codes_and_version_prints() {
    let help = socklab_text(&["--help"]);
    assert_eq!(help.code(), 0);
    assert!(
        help.stdout_text().contains("Exit codes: 0 success"),
        "{}",
        help.stdout_text()
    );
    let version = socklab_text(&["--version"]);
    assert!(version.stdout_text().starts_with("socklab "));
    let none = socklab_text(&[]);
    assert_eq!(
        none.code(),
        2,
        "no subcommand is a usage error, with the help shown"
    );
}
