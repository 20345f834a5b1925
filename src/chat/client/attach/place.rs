//! Where a received attachment goes on disk. The name comes from the wire
//! (the URL's last segment, chosen by whoever sent the message), so it
//! never chooses the path: it is made safe by the same rule the server uses
//! for its URLs ([`safe`]: the last component only, letters, digits, `.`,
//! `_`, `-`, no leading dot, at most 100 characters), and the file always
//! lands inside the attachments folder. A name already there is never
//! overwritten: the second `photo.png` becomes `photo (2).png`.
//!
//! The bytes are first written to a `.part` file of our own naming; only a
//! download that arrived whole and checked takes its real name, with a
//! hard link (which fails rather than replace a file of the same name, so
//! two downloads finishing together cannot overwrite each other).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::chat::files::names::safe;

/// How many `name (N).ext` to try before giving up.
const TRIES: u32 = 10_000;

/// A file name made from a name from the wire.
pub fn local_name(wire: &str) -> String {
    safe(wire)
}

/// `photo.png`, `photo (2).png`, `photo (3).png`...
fn numbered(name: &str, n: u32) -> String {
    if n == 1 {
        return name.to_string();
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({n}).{ext}"),
        _ => format!("{name} ({n})"),
    }
}

/// A fresh `.part` file in `dir` for a download under way.
pub fn part_file(dir: &Path) -> io::Result<(fs::File, PathBuf)> {
    fs::create_dir_all(dir)?;
    loop {
        let path = dir.join(format!(
            ".download-{}.part",
            crate::chat::client::wire::random_tag()
        ));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Gives the finished `part` its name in `dir`: `name`, or the first
/// `name (N).ext` not taken. Returns the path it got.
pub fn keep(part: &Path, dir: &Path, name: &str) -> io::Result<PathBuf> {
    for n in 1..=TRIES {
        let dest = dir.join(numbered(name, n));
        match fs::hard_link(part, &dest) {
            Ok(()) => {
                fs::remove_file(part)?;
                return Ok(dest);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // A file system without hard links: rename, having checked.
            Err(_) if !dest.exists() => {
                fs::rename(part, &dest)?;
                return Ok(dest);
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "{TRIES} files named like {name:?} are there already"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_wire_stay_inside_the_folder() {
        for (wire, want) in [
            ("../../.bashrc", "bashrc"),
            ("/etc/passwd", "passwd"),
            ("..", "file"),
            ("", "file"),
            ("a\u{7}b\nc.txt", "a_b_c.txt"),
        ] {
            assert_eq!(local_name(wire), want, "{wire:?}");
        }
        assert!(local_name(&"y".repeat(5000)).len() <= 100);
    }

    #[test]
    fn a_second_file_of_the_same_name_is_numbered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut got = Vec::new();
        for body in ["one", "two", "three"] {
            let (_, part) = part_file(dir.path()).expect("part");
            fs::write(&part, body).expect("write");
            let kept = keep(&part, dir.path(), "photo.png").expect("keep");
            assert!(!part.exists());
            got.push(
                kept.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        assert_eq!(got, ["photo.png", "photo (2).png", "photo (3).png"]);
        assert_eq!(
            fs::read_to_string(dir.path().join("photo.png")).expect("read"),
            "one"
        );
        assert_eq!(numbered("README", 2), "README (2)");
    }
}
