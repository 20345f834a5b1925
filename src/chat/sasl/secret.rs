//! `Secret`: a password that cannot end up in a log by accident.
//!
//! socklab narrates everything it does, and narration is built with `{:?}`
//! and `{}` all over the place. A password kept in a plain `String` is one
//! careless format string away from the terminal, the `--events` file and a
//! lesson's session log. A `Secret` prints as `••••••` in both Debug and
//! Display; the only way to the text is the explicit [`Secret::expose`].

use std::fmt;

/// What a secret looks like in any narration: the same six dots whatever
/// its length, so not even the length leaks.
pub const MASK: &str = "••••••";

/// A password (or any text that must never be printed).
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The text itself, for the code that hashes it. Never format this.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Secret {
        Secret(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Secret {
        Secret(text.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Secret({MASK})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Drop for Secret {
    /// Overwrites the bytes before the allocator gets them back, so a later
    /// allocation (or a core dump) does not find the password lying around.
    /// `black_box` keeps the compiler from dropping the "useless" writes.
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_debug_nor_display_shows_the_password() {
        let s = Secret::new("pencil");
        assert_eq!(format!("{s}"), MASK);
        assert_eq!(format!("{s:?}"), format!("Secret({MASK})"));
        assert!(!format!("{s:#?}").contains("pencil"));
        assert_eq!(s.expose(), "pencil");
    }
}
