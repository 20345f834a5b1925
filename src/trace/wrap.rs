//! Wrapping narration to the terminal's width, in one pass.
//!
//! A terminal column holds one Latin letter but half of a Chinese character:
//! CJK ideographs and most emoji are two columns wide, combining marks zero.
//! Wrapping counts columns (Unicode's East Asian Width, via `unicode-width`),
//! not characters, so `中午一起吃饭` does not overflow the line. Each character
//! is looked at once, so wrapping a long line costs what reading it costs.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Columns `text` takes on a terminal.
pub fn columns(text: &str) -> usize {
    text.width()
}

/// Splits `text` into lines of at most `width` columns, breaking at spaces
/// where it can and inside a word only when the word alone is too wide;
/// lines after the first are indented by two spaces (counted in the width).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(12);
    let mut lines = Lines {
        done: Vec::new(),
        line: String::new(),
        used: 0,
        width,
    };
    for word in text.split(' ') {
        if !lines.line.is_empty() && lines.used + 1 + columns(word) > lines.limit() {
            lines.push();
        }
        if !lines.line.is_empty() {
            lines.line.push(' ');
            lines.used += 1;
        }
        for c in word.chars() {
            let w = c.width().unwrap_or(0);
            if lines.used > 0 && lines.used + w > lines.limit() {
                lines.push();
            }
            lines.line.push(c);
            lines.used += w;
        }
    }
    if !lines.line.is_empty() || lines.done.is_empty() {
        lines.push();
    }
    lines.done
}

struct Lines {
    done: Vec<String>,
    line: String,
    /// Columns in `line`.
    used: usize,
    width: usize,
}

impl Lines {
    /// Columns available on the current line (two fewer after the first,
    /// for the indent).
    fn limit(&self) -> usize {
        if self.done.is_empty() {
            self.width
        } else {
            self.width - 2
        }
    }

    fn push(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.used = 0;
        if self.done.is_empty() {
            self.done.push(line);
        } else {
            self.done.push(format!("  {line}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn breaks_at_spaces_and_splits_long_words() {
        assert_eq!(wrap("aaa bbb ccc ddd", 12), vec!["aaa bbb ccc", "  ddd"]);
        assert_eq!(
            wrap("abcdefghijklmnopqrstuvwxyz", 12),
            vec!["abcdefghijkl", "  mnopqrstuv", "  wxyz"]
        );
        assert_eq!(wrap("", 12), vec![""]);
    }

    #[test]
    fn wide_characters_count_two_columns() {
        let lines = wrap("中午一起吃饭中午一起吃饭", 12);
        assert_eq!(lines, vec!["中午一起吃饭", "  中午一起吃", "  饭"]);
        assert!(lines.iter().all(|l| columns(l) <= 12), "{lines:?}");
    }

    #[test]
    fn wrapping_is_linear_in_the_length() {
        let time = |n: usize| {
            let text = "x".repeat(n);
            let start = Instant::now();
            for _ in 0..3 {
                std::hint::black_box(wrap(&text, 100));
            }
            start.elapsed()
        };
        let small = time(2_000);
        let big = time(200_000);
        // Linear: about 100 times; the old wrap was quadratic (thousands).
        assert!(
            big < small * 1000,
            "wrapping 100 times more text took {big:?} against {small:?}"
        );
    }
}
