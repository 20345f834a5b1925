//! Compiles the lessons into the binary, so an installed socklab works anywhere.
//!
//! `lessons/manifest.txt` lists the lesson files in teaching order (one per
//! line, `#` starts a comment). This script turns it into a Rust array of
//! `(id, include_str!(file))` pairs in `$OUT_DIR/lessons.rs`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

fn main() {
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
