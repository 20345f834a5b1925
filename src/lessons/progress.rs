//! Where lessons keep their state: the progress file and the session logs.
//!
//! The state directory is `$XDG_STATE_HOME/socklab` (or `~/.local/state/socklab`);
//! `--state-dir` or `SOCKLAB_STATE_DIR` overrides it. It holds:
//! - `progress.json`: the current lesson, the lessons done, hint and attempt
//!   counts. Small and plain, so a person can read or delete it;
//! - `sessions/<lesson>.jsonl`: the events of the socklab commands run while
//!   that lesson was current (the same JSON lines as `--events`, bounded: see
//!   [`log`](super::log)). Checks read it.
//!
//! Everything here was written by a person or a program we do not control,
//! so it is checked before use: a progress file that is damaged, foreign or
//! huge is explained (with the way out, `socklab lesson reset`); a current
//! lesson that is not a plain lesson name (`../../x`, `/etc/x`) is damage,
//! and session logs are only ever named after the lessons compiled in, so no
//! progress file can make socklab write outside `sessions/`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::catalog;
use super::log::reader::{self, Log};

/// Written into every progress file; a file without it is not ours.
const FORMAT: &str = "socklab-progress-1";

/// A real progress file is a few hundred bytes; anything past this is not one.
const MAX_PROGRESS: u64 = 1 << 20;

/// The lesson state directory.
#[derive(Clone, Debug)]
pub struct State {
    pub dir: PathBuf,
}

impl State {
    /// `explicit` comes from `--state-dir` or `SOCKLAB_STATE_DIR`.
    pub fn locate(explicit: Option<&Path>) -> State {
        let dir = match explicit {
            Some(dir) => dir.to_path_buf(),
            None => std::env::var_os("XDG_STATE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
                .unwrap_or_else(std::env::temp_dir)
                .join("socklab"),
        };
        State { dir }
    }

    pub fn progress_path(&self) -> PathBuf {
        self.dir.join("progress.json")
    }

    pub fn log_path(&self, lesson: &str) -> PathBuf {
        self.dir.join("sessions").join(format!("{lesson}.jsonl"))
    }

    /// Explains an I/O error on `path` in the state directory, naming the
    /// usual cause (the state directory is a file) when it is the cause.
    fn failed(&self, doing: &str, path: &Path, e: io::Error) -> anyhow::Error {
        if self.dir.exists() && !self.dir.is_dir() {
            anyhow::anyhow!(
                "the lesson state directory {} is a file, not a directory: move it away, or point --state-dir (or SOCKLAB_STATE_DIR) somewhere else",
                self.dir.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot {doing} {}", path.display()))
        }
    }

    /// Reads the progress file; a missing file is a fresh start.
    pub fn load(&self) -> anyhow::Result<Progress> {
        let path = self.progress_path();
        let mut bytes = Vec::new();
        let read =
            fs::File::open(&path).and_then(|f| f.take(MAX_PROGRESS + 1).read_to_end(&mut bytes));
        match read {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Progress::default()),
            Err(e) => return Err(self.failed("read the lesson progress file", &path, e)),
        }
        let way_out = format!(
            "run `socklab lesson reset --all` to start the lessons afresh, or move {} away",
            path.display()
        );
        if bytes.len() as u64 > MAX_PROGRESS {
            bail!(
                "{} is larger than any lesson progress file (over {} bytes); {way_out}",
                path.display(),
                MAX_PROGRESS
            );
        }
        let progress: Progress = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "the lesson progress file {} is damaged ({e}); {way_out}",
                path.display()
            )
        })?;
        if progress.format != FORMAT {
            bail!(
                "{} was not written by this socklab (format {:?}, expected {FORMAT:?}); {way_out}",
                path.display(),
                progress.format
            );
        }
        if let Some(id) = progress.current.as_deref().filter(|id| !plain_name(id)) {
            bail!(
                "the lesson progress file {} is damaged: its current lesson {id:?} is not a lesson name; {way_out}",
                path.display()
            );
        }
        Ok(progress)
    }

    /// Writes the progress file atomically (write a temporary file, rename),
    /// so a crash never leaves half a file.
    pub fn save(&self, progress: &Progress) -> anyhow::Result<()> {
        fs::create_dir_all(&self.dir).map_err(|e| self.failed("create", &self.dir, e))?;
        let path = self.progress_path();
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(progress)?;
        fs::write(&tmp, text + "\n").with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, &path).with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(())
    }

    /// The session log of the current lesson, if one is current; socklab
    /// commands append their events to it. A damaged progress file turns
    /// logging off with a warning rather than stopping the command.
    pub fn active_log(&self) -> Option<PathBuf> {
        match self.current_lesson() {
            Ok(lesson) => lesson.map(|id| self.log_path(id)),
            Err(warning) => {
                eprintln!("socklab: {warning}");
                None
            }
        }
    }

    /// The id of the current lesson, as compiled in (never what the
    /// progress file says: a session log is named after it). `Err` is the
    /// warning to show when the progress file cannot say.
    pub fn current_lesson(&self) -> Result<Option<&'static str>, String> {
        let current = match self.load() {
            Ok(p) => p.current,
            // The error may quote the damaged file.
            Err(e) => {
                let e = crate::trace::escape::line(&format!("{e:#}")).into_owned();
                return Err(format!("lesson logging is off: {e}"));
            }
        };
        let Some(current) = current else {
            return Ok(None);
        };
        match catalog::by_id(&current) {
            Some(lesson) => Ok(Some(lesson.id)),
            None => Err(format!(
                "lesson logging is off: the current lesson {current:?} is not one of this socklab's lessons (`socklab lessons` lists them)"
            )),
        }
    }

    /// Creates the sessions directory, and gives the path of a lesson's log.
    pub fn prepare_log(&self, lesson: &str) -> anyhow::Result<PathBuf> {
        let path = self.log_path(lesson);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| self.failed("create", parent, e))?;
        }
        Ok(path)
    }

    /// The events recorded for a lesson whose step `wanted` accepts, in order
    /// of time, read in bounded memory (see [`reader`]).
    pub fn read_log(&self, lesson: &str, wanted: impl Fn(&str) -> bool) -> anyhow::Result<Log> {
        let path = self.log_path(lesson);
        reader::read(&path, wanted).map_err(|e| self.failed("read the session log", &path, e))
    }

    pub fn clear_log(&self, lesson: &str) -> anyhow::Result<()> {
        match fs::remove_file(self.log_path(lesson)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// Whether `id` can name a lesson (and so a file in `sessions/`): lowercase
/// letters, digits and dashes, like `03-tcp-two-terminals`.
fn plain_name(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What the learner has done so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    pub format: String,
    /// The lesson being worked on: its events are being recorded.
    pub current: Option<String>,
    pub done: BTreeSet<String>,
    /// Hints shown so far, per lesson.
    pub hints: BTreeMap<String, usize>,
    /// Failed checks, per lesson.
    pub attempts: BTreeMap<String, usize>,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            format: FORMAT.to_string(),
            current: None,
            done: BTreeSet::new(),
            hints: BTreeMap::new(),
            attempts: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> (tempfile::TempDir, State) {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::locate(Some(dir.path()));
        (dir, state)
    }

    #[test]
    fn progress_survives_a_restart() {
        let (_d, state) = state();
        assert_eq!(state.load().expect("fresh"), Progress::default());
        let mut p = Progress {
            current: Some("03-tcp".into()),
            ..Progress::default()
        };
        p.done.insert("01-sockets".into());
        p.hints.insert("03-tcp".into(), 2);
        state.save(&p).expect("save");
        assert_eq!(State::locate(Some(&state.dir)).load().expect("load"), p);
    }

    #[test]
    fn a_damaged_file_says_how_to_get_out() {
        let (_d, state) = state();
        fs::write(
            state.progress_path(),
            "{\"format\": \"socklab-progress-1\", \"current\": ",
        )
        .expect("write");
        let err = format!("{:#}", state.load().expect_err("damaged"));
        assert!(
            err.contains("damaged") && err.contains("socklab lesson reset"),
            "{err}"
        );
    }

    #[test]
    fn a_foreign_file_is_recognised() {
        let (_d, state) = state();
        fs::write(
            state.progress_path(),
            r#"{"format":"other-tool-9","current":null,"done":[],"hints":{},"attempts":{}}"#,
        )
        .expect("write");
        let err = format!("{:#}", state.load().expect_err("foreign"));
        assert!(err.contains("not written by this socklab"), "{err}");
        fs::write(state.progress_path(), r#"{"level": 3}"#).expect("write");
        assert!(
            format!("{:#}", state.load().expect_err("foreign")).contains("socklab lesson reset")
        );
    }

    #[test]
    fn a_current_lesson_that_is_a_path_is_damage() {
        let (_d, state) = state();
        for current in ["../../x", "/etc/passwd", "sessions/../../x", ""] {
            let p = Progress {
                current: Some(current.into()),
                ..Progress::default()
            };
            fs::write(
                state.progress_path(),
                serde_json::to_string(&p).expect("json"),
            )
            .expect("write");
            let err = format!("{:#}", state.load().expect_err(current));
            assert!(err.contains("not a lesson name"), "{current}: {err}");
            assert_eq!(state.active_log(), None);
        }
    }

    #[test]
    fn a_huge_or_binary_progress_file_is_explained() {
        let (_d, state) = state();
        fs::write(state.progress_path(), vec![b' '; 2 << 20]).expect("write");
        let err = format!("{:#}", state.load().expect_err("huge"));
        assert!(
            err.contains("larger than any lesson progress file"),
            "{err}"
        );
        fs::write(state.progress_path(), b"{\"format\": \"\xff\"}").expect("write");
        let err = format!("{:#}", state.load().expect_err("binary"));
        assert!(err.contains("damaged"), "{err}");
    }

    #[test]
    fn a_state_directory_that_is_a_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("state");
        fs::write(&file, b"").expect("write");
        let state = State::locate(Some(&file));
        let err = format!("{:#}", state.load().expect_err("a file"));
        assert!(err.contains("is a file, not a directory"), "{err}");
        let err = format!("{:#}", state.prepare_log("x").expect_err("a file"));
        assert!(err.contains("--state-dir"), "{err}");
        assert_eq!(state.active_log(), None);
    }
}
