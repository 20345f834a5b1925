//! Compiles the lessons into the binary, so an installed socklab works anywhere,
//! and records what `socklab --version` says about the build (git commit,
//! rustc, target).
//!
//! `lessons/manifest.txt` lists the lesson files in teaching order (one per
//! line, `#` starts a comment). This script turns it into a Rust array of
//! `(id, include_str!(file))` pairs in `$OUT_DIR/lessons.rs`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

fn main() {
    build_info();
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("lessons");
    println!("cargo:rerun-if-changed={}", dir.display());
    let manifest = dir.join("manifest.txt");
    let text = fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    let mut out = String::from(
        "/// The lessons, in manifest order: (id, markdown source).\npub static SOURCES: &[(&str, &str)] = &[\n",
    );
    for line in text.lines() {
        let file = line.split('#').next().unwrap_or("").trim();
        if file.is_empty() {
            continue;
        }
        let path = dir.join(file);
        assert!(
            path.is_file(),
            "lessons/manifest.txt lists {file}, which does not exist"
        );
        println!("cargo:rerun-if-changed={}", path.display());
        let id = file.trim_end_matches(".md");
        writeln!(
            out,
            "    ({id:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write to a String");
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("lessons.rs");
    fs::write(&dest, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
}

/// `--version`'s build facts, as environment variables for `env!`. Each is
/// "unknown" when it cannot be found (a crate built outside a git checkout,
/// a rustc that does not answer), never a build failure.
fn build_info() {
    let run = |cmd: &str, args: &[&str]| -> Option<String> {
        let out = Command::new(cmd).args(args).output().ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
    };
    // The commit only: whether the tree had changes is not known here, as
    // the script does not rerun when a source file changes.
    let commit = run("git", &["rev-parse", "--short=12", "HEAD"]);
    // Rebuild when HEAD moves: a commit, a checkout. (In a worktree, HEAD is
    // in the worktree's git dir and the branch in the common one.)
    // Only files that exist: cargo reruns the script on every build for a
    // path that does not (packed-refs often does not).
    let mut watch = Vec::new();
    if let Some(dir) = run("git", &["rev-parse", "--git-dir"]) {
        watch.push(format!("{dir}/HEAD"));
    }
    if let (Some(common), Some(head)) = (
        run("git", &["rev-parse", "--git-common-dir"]),
        run("git", &["symbolic-ref", "-q", "HEAD"]),
    ) {
        watch.push(format!("{common}/{head}"));
        watch.push(format!("{common}/packed-refs"));
    }
    for path in watch.iter().filter(|p| Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={path}");
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = run(&rustc, &["--version"]);
    let target = env::var("TARGET").ok();
    let profile = env::var("PROFILE").ok();
    for (name, value) in [
        ("SOCKLAB_GIT_COMMIT", commit),
        ("SOCKLAB_RUSTC", version),
        ("SOCKLAB_TARGET", target),
        ("SOCKLAB_PROFILE", profile),
    ] {
        println!(
            "cargo:rustc-env={name}={}",
            value.unwrap_or_else(|| "unknown".into())
        );
    }
}
