//! `/attachments` and `/open N`: what the cache remembers of the files sent
//! and received, numbered. `/open` shows where a file is, its size and
//! SHA-256 (to compare with the sender's), and the command that would open
//! it — it runs nothing: socklab never starts another program.

use super::cache::Direction;
use super::chat::Chat;
use super::wire::Cx;

impl Chat {
    /// `/attachments`.
    pub(super) fn show_attachments(&mut self, cx: &mut Cx) {
        let all = match self.cache.attachments() {
            Ok(a) => a,
            Err(e) => return cx.narrate("notice", &format!("cannot read the cache: {e:#}")),
        };
        if all.is_empty() {
            self.print("no attachments yet: /send PATH sends one; files sent to you are saved and listed here");
        }
        for a in &all {
            let who = match a.direction {
                Direction::In => format!("from {}", self.short(&a.peer)),
                Direction::Out => format!("to {}", self.short(&a.peer)),
            };
            let line = format!(
                "{}. {who}  {:?}  {} bytes  {}",
                a.n,
                a.name,
                a.size,
                a.path.display()
            );
            self.print(&line);
        }
    }

    /// `/open N`: what to open, never opened (socklab runs no programs).
    pub(super) fn open(&mut self, n: i64, cx: &mut Cx) {
        let all = self.cache.attachments().unwrap_or_default();
        let Some(a) = all.iter().find(|a| a.n == n) else {
            let text = format!("no attachment #{n}: /attachments lists them with their numbers");
            return cx.narrate("notice", &text);
        };
        let missing = if a.path.exists() {
            ""
        } else {
            " (the file is no longer there)"
        };
        let quoted = format!("'{}'", a.path.display().to_string().replace('\'', r"'\''"));
        let lines = [
            format!("{}. {:?}: {}{missing}", a.n, a.name, a.path.display()),
            format!("   {} bytes, sha256 {}", a.size, a.sha256),
            format!("   to open it: xdg-open {quoted}   (socklab itself runs no programs)"),
        ];
        for l in lines {
            self.print(&l);
        }
    }
}
