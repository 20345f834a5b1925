//! Where lessons keep their state: the progress file and the session logs.
//!
//! The state directory is `$XDG_STATE_HOME/socklab` (or `~/.local/state/socklab`);
//! `--state-dir` or `SOCKLAB_STATE_DIR` overrides it. It holds:
//! - `progress.json`: the current lesson, the lessons done, hint and attempt
//!   counts. Small and plain, so a person can read or delete it;
//! - `sessions/<lesson>.jsonl`: every event of every socklab command run while
//!   that lesson was current (the same JSON lines as `--events`). Checks read it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Written into every progress file; a file without it is not ours.
const FORMAT: &str = "socklab-progress-1";

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

    /// Reads the progress file; a missing file is a fresh start.
    pub fn load(&self) -> anyhow::Result<Progress> {
        let path = self.progress_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Progress::default()),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot read the lesson progress file {}", path.display())
                });
            }
        };
        let way_out = format!(
            "run `socklab lesson reset` to start the lessons afresh, or move {} away",
            path.display()
        );
        let progress: Progress = serde_json::from_str(&text).map_err(|e| {
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
        Ok(progress)
    }

    /// Writes the progress file atomically (write a temporary file, rename),
    /// so a crash never leaves half a file.
    pub fn save(&self, progress: &Progress) -> anyhow::Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
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
        match self.load() {
            Ok(p) => p.current.map(|id| self.log_path(&id)),
            Err(e) => {
                // The error may quote the damaged file.
                let e = crate::trace::escape::line(&format!("{e:#}")).into_owned();
                eprintln!("socklab: lesson logging is off: {e}");
                None
            }
        }
    }

    /// Opens (creating) the log for appending.
    pub fn prepare_log(&self, lesson: &str) -> anyhow::Result<PathBuf> {
        let path = self.log_path(lesson);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        Ok(path)
    }

    /// The events recorded for a lesson, in order of time. Lines that are not
    /// JSON objects (a torn write, a hand edit) are skipped and counted.
    pub fn read_log(&self, lesson: &str) -> anyhow::Result<(Vec<Value>, usize)> {
        let path = self.log_path(lesson);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let mut bad = 0;
        let mut events: Vec<Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| match serde_json::from_str::<Value>(l) {
                Ok(v) if v.is_object() => Some(v),
                _ => {
                    bad += 1;
                    None
                }
            })
            .collect();
        // Processes append concurrently; time orders them (stable for ties).
        events.sort_by_key(|e| e["ts_us"].as_u64().unwrap_or(0));
        Ok((events, bad))
    }

    pub fn clear_log(&self, lesson: &str) -> anyhow::Result<()> {
        match fs::remove_file(self.log_path(lesson)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
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
    fn the_log_is_read_in_time_order_and_torn_lines_are_counted() {
        let (_d, state) = state();
        let path = state.prepare_log("x").expect("log");
        fs::write(
            &path,
            "{\"ts_us\":2,\"step\":\"b\"}\n{\"ts_us\":1,\"step\":\"a\"}\n{\"ts_us\":3,\"st\n",
        )
        .expect("write");
        let (events, bad) = state.read_log("x").expect("read");
        assert_eq!(
            events
                .iter()
                .map(|e| e["step"].as_str().unwrap_or(""))
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(bad, 1);
    }
}
