//! Answers as people write them, and how close a prediction came.
//!
//! A learner types `65,507`, `65 507`, `64k`, `2 GB/s`, `three`, `no` or
//! `about 3000 MiB/s`; the log says `65507`, `2023.7` or `0`. Comparing the
//! two as strings calls a right answer wrong, so answers are read first:
//!
//! - a number may have thousands separators (`,` `_`, a space, a thin
//!   space) in groups of three, a decimal point (or a decimal comma when the
//!   comma is not a thousands separator), a word for a small number
//!   (`three`), a hedge before it (`about`, `~`) and a word after it
//!   (`3 datagrams`, `33 bytes`);
//! - with a unit (a question's `unit`: `bytes`, `MiB/s`), the number may
//!   carry its own unit, converted: `64k` is 65,536 bytes, `2 GB/s` is
//!   1,907.3 MiB/s, `16 Gbit/s` 1,907.3 MiB/s too. `k`, `KiB` and `K` are
//!   1,024 as in socklab's flags; `KB`, `MB` and `GB` are powers of 1,000;
//! - yes and no are `yes`/`no`, `y`/`n`, `true`/`false`, `1`/`0`.
//!
//! Estimates (a throughput, a count of losses) are not right or wrong: the
//! report says how close they came, as a ratio between the two numbers.

use std::fmt::Write as _;

use serde::Deserialize;

use crate::trace::escape::grouped;

/// What kind of answer a question expects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expects {
    /// Words, compared without case (`CRLF`, `client`).
    #[default]
    Text,
    /// One exact number: right or not.
    Number,
    /// A measured quantity: the report says how close the guess came.
    Estimate,
    /// Yes or no; the log writes 1 or 0.
    YesNo,
}

/// An answer as socklab understood it.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading {
    Number(f64),
    YesNo(bool),
    Text(String),
}

/// Words that may come before a number without changing it.
const HEDGES: &[&str] = &[
    "about",
    "around",
    "roughly",
    "approximately",
    "approx.",
    "approx",
    "maybe",
    "nearly",
    "~",
    "≈",
    "port",
];

const SMALL: &[&str] = &[
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve",
];

/// Reads `text` as `expects` says, in `unit` when the question has one.
/// `Err` says, for the learner, how to write the answer instead.
pub fn read(text: &str, expects: Expects, unit: Option<&str>) -> Result<Reading, String> {
    match expects {
        Expects::Text => Ok(Reading::Text(text.trim().to_lowercase())),
        Expects::YesNo => yes_no(text)
            .map(Reading::YesNo)
            .ok_or_else(|| format!("{text:?} is not a yes or a no: answer yes or no (or 1 or 0)")),
        Expects::Number | Expects::Estimate => number(text, unit).map(Reading::Number),
    }
}

fn yes_no(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "1" | "it does" | "an error" | "error" => Some(true),
        "no" | "n" | "false" | "0" | "it does not" | "no error" | "none" => Some(false),
        _ => None,
    }
}

/// A number as a person writes it, converted to `unit`.
pub fn number(text: &str, unit: Option<&str>) -> Result<f64, String> {
    let how = match unit {
        Some(u) => {
            format!("write a number, like 3000, 65,507 or 2.5, optionally with a unit ({u})")
        }
        None => "write a number, like 3, 1000 or 65,507".to_string(),
    };
    let mut rest = text.trim();
    let lower = rest.to_lowercase();
    for hedge in HEDGES {
        if lower.starts_with(hedge) {
            rest = rest[hedge.len()..].trim_start();
            break;
        }
    }
    let (value, after) = leading_number(rest).ok_or_else(|| format!("{text:?}: {how}"))?;
    let after = after.trim();
    let scale = match unit {
        Some(u) => scale_to(after, u).ok_or_else(|| {
            format!("{text:?}: socklab does not know the unit {after:?} here; {how}")
        })?,
        None => match after {
            "k" | "K" | "thousand" => 1e3,
            "M" | "million" => 1e6,
            // A count may name what it counts: `3 datagrams`.
            _ if after.chars().all(char::is_alphabetic) => 1.0,
            _ => return Err(format!("{text:?}: {how}")),
        },
    };
    Ok(value * scale)
}

/// The number at the start of `s`, and what follows it.
fn leading_number(s: &str) -> Option<(f64, &str)> {
    let lower = s.to_lowercase();
    for (n, word) in SMALL.iter().enumerate() {
        if let Some(after) = lower.strip_prefix(word)
            && !after.starts_with(char::is_alphabetic)
        {
            return Some((n as f64, &s[word.len()..]));
        }
    }
    // The digits and separators, up to the first character of a unit.
    let end = s
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || ",._ .\u{a0}\u{202f}".contains(c)))
        .map_or(s.len(), |(i, _)| i);
    let raw = s[..end].trim_end();
    let digits = plain_digits(raw)?;
    let value: f64 = digits.parse().ok()?;
    Some((value, &s[raw.len()..]))
}

/// `65,507` → `65507`; `1,5` → `1.5`; `65 507` → `65507`; `1.2.3` → none.
fn plain_digits(raw: &str) -> Option<String> {
    if raw.is_empty() || !raw.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (whole, fraction) = match raw.split_once('.') {
        Some((w, f)) if f.chars().all(|c| c.is_ascii_digit()) && !f.is_empty() => (w, Some(f)),
        Some(_) => return None,
        None => (raw, None),
    };
    let groups: Vec<&str> = whole.split([',', '_', ' ', '\u{a0}', '\u{202f}']).collect();
    let thousands = groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3);
    let all_digits = groups
        .iter()
        .all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_digit()));
    if !all_digits {
        return None;
    }
    let mut out = if thousands || groups.len() == 1 {
        groups.concat()
    } else if groups.len() == 2 && fraction.is_none() && whole.contains(',') {
        // A decimal comma: `1,5`.
        return Some(format!("{}.{}", groups[0], groups[1]));
    } else {
        return None;
    };
    if let Some(f) = fraction {
        let _ = write!(out, ".{f}");
    }
    Some(out)
}

/// The factor that turns a number written in `written` into `unit`.
fn scale_to(written: &str, unit: &str) -> Option<f64> {
    let per_second = unit.ends_with("/s");
    let written = written.trim().trim_end_matches('.');
    // Bytes (or bits) per unit, for the written unit and the question's.
    let (amount, rate) = match written.strip_suffix("/s").or(written.strip_suffix("ps")) {
        Some(w) => (w.trim(), true),
        None => (written, false),
    };
    if rate && !per_second {
        return None;
    }
    let from = if amount.is_empty() {
        return Some(1.0);
    } else {
        bytes_in(amount)?
    };
    let to = bytes_in(unit.trim_end_matches("/s"))?;
    Some(from / to)
}

/// How many bytes one `unit` is: `KiB` 1024, `MB` 1e6, `Gbit` 1e9 / 8.
fn bytes_in(unit: &str) -> Option<f64> {
    let u = unit.trim();
    let bits = u.ends_with("bit") || u.ends_with("bits") || (u.ends_with('b') && u.len() <= 2);
    let stem = u
        .trim_end_matches("bits")
        .trim_end_matches("bit")
        .trim_end_matches("bytes")
        .trim_end_matches("byte")
        .trim_end_matches(['B', 'b']);
    let scale = match stem {
        "" => 1.0,
        "k" | "K" | "Ki" | "ki" => 1024.0,
        "M" | "Mi" | "m" => 1024.0 * 1024.0,
        "G" | "Gi" | "g" => 1024.0 * 1024.0 * 1024.0,
        "kilo" => 1e3,
        "mega" => 1e6,
        "giga" => 1e9,
        _ => return None,
    };
    // `KB`, `MB`, `GB` (and kb, Mbit...) are decimal; `KiB`, `k`, `M` binary.
    let decimal =
        u.len() >= 2 && !stem.contains('i') && stem.len() == 1 && (u.ends_with('B') || bits);
    let scale = if decimal {
        match stem {
            "k" | "K" => 1e3,
            "M" | "m" => 1e6,
            "G" | "g" => 1e9,
            _ => scale,
        }
    } else {
        scale
    };
    Some(if bits { scale / 8.0 } else { scale })
}

/// The form in which an observed answer is compared with the log: a
/// number's digits when it reads as a plain number (`65,507`, `three`,
/// `33 bytes`), the trimmed lowercase text otherwise.
pub fn canonical(text: &str) -> String {
    match number(text, None) {
        Ok(n) => digits(n),
        Err(_) => text.trim().to_lowercase(),
    }
}

/// A number as plain digits (`65507`, `2.5`), as the log writes it.
pub fn digits(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// A number as the report shows it: `65,507`, `2,023.7`, `0.25`.
pub fn show(n: f64) -> String {
    let rounded = if n.abs() >= 100.0 || n.fract() == 0.0 {
        format!("{:.1}", n.abs())
    } else {
        format!("{:.2}", n.abs())
    };
    let rounded = rounded.trim_end_matches('0').trim_end_matches('.');
    let (whole, fraction) = rounded.split_once('.').unwrap_or((rounded, ""));
    let sign = if n < 0.0 { "-" } else { "" };
    // Beyond usize (no real prediction), the digits as they are.
    let whole = whole.parse().map_or_else(|_| whole.to_string(), grouped);
    match fraction {
        "" => format!("{sign}{whole}"),
        f => format!("{sign}{whole}.{f}"),
    }
}

/// The verdict on a prediction against what the log shows.
pub fn judge(said: &str, truth: &str, expects: Expects, unit: Option<&str>) -> String {
    let second_look = "worth a second look".to_string();
    match expects {
        Expects::Text => {
            if said.trim().eq_ignore_ascii_case(truth.trim()) {
                "right".into()
            } else {
                second_look
            }
        }
        Expects::YesNo => match (yes_no(said), yes_no(truth)) {
            (Some(a), Some(b)) if a == b => "right".into(),
            _ => second_look,
        },
        Expects::Number | Expects::Estimate => {
            let (Ok(guess), Ok(real)) = (number(said, unit), number(truth, None)) else {
                return second_look;
            };
            if same(guess, real) {
                return "right".into();
            }
            if expects == Expects::Number {
                return second_look;
            }
            closeness(guess, real)
        }
    }
}

/// Equal, allowing for the rounding of a number that was printed.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// How close an estimate came: within 10%, a factor of 2, an order of
/// magnitude, or how many times off.
fn closeness(guess: f64, real: f64) -> String {
    if guess <= 0.0 || real <= 0.0 {
        return "worth a second look".into();
    }
    let ratio = guess.max(real) / guess.min(real);
    let side = if guess > real { "high" } else { "low" };
    if ratio <= 1.1 {
        format!(
            "within 10% ({:.0}% {side}): a close estimate",
            (ratio - 1.0) * 100.0
        )
    } else if ratio <= 2.0 {
        format!(
            "within a factor of 2 ({:.0}% {side}): a good estimate",
            (guess / real - 1.0).abs() * 100.0
        )
    } else if ratio <= 10.0 {
        format!("the right order of magnitude ({ratio:.1} times too {side})")
    } else {
        format!("{ratio:.0} times too {side}: worth a second look")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> f64 {
        number(text, None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn in_unit(text: &str, unit: &str) -> f64 {
        number(text, Some(unit)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn numbers_are_read_as_people_write_them() {
        for (text, value) in [
            ("65507", 65507.0),
            ("65,507", 65507.0),
            ("65 507", 65507.0),
            ("65_507", 65507.0),
            ("65\u{202f}507", 65507.0),
            ("1,000,000", 1e6),
            ("2023.7", 2023.7),
            ("1,5", 1.5),
            ("three", 3.0),
            ("Three", 3.0),
            ("3 datagrams", 3.0),
            ("33 bytes", 33.0),
            ("about 450", 450.0),
            ("~450", 450.0),
            (" 42 ", 42.0),
            ("2k", 2000.0),
            ("65,50", 65.5),
        ] {
            assert_eq!(n(text), value, "{text}");
        }
    }

    #[test]
    fn what_is_not_one_number_is_refused_with_how_to_write_it() {
        for text in ["lots", "127.0.0.1", "1.2.3", "10 20", "", "-", "3 + 4"] {
            let err = number(text, None).expect_err(text);
            assert!(err.contains("write a number"), "{text}: {err}");
        }
    }

    #[test]
    fn units_are_converted_to_the_questions_unit() {
        assert_eq!(in_unit("64k", "bytes"), 65536.0);
        assert_eq!(in_unit("64 KiB", "bytes"), 65536.0);
        assert_eq!(in_unit("64 KB", "bytes"), 64000.0);
        assert_eq!(in_unit("65,507 bytes", "bytes"), 65507.0);
        assert_eq!(in_unit("3000", "MiB/s"), 3000.0);
        assert_eq!(in_unit("3000 MiB/s", "MiB/s"), 3000.0);
        assert_eq!(in_unit("2 GiB/s", "MiB/s"), 2048.0);
        let gb = in_unit("2 GB/s", "MiB/s");
        assert!((gb - 1907.35).abs() < 0.01, "{gb}");
        let gbit = in_unit("16 Gbit/s", "MiB/s");
        assert!((gbit - 1907.35).abs() < 0.01, "{gbit}");
        assert_eq!(in_unit("500 MB/s", "MiB/s"), 500e6 / 1048576.0);
        assert!(number("3 parsecs", Some("MiB/s")).is_err());
        assert!(number("3 MiB/s", Some("bytes")).is_err());
    }

    #[test]
    fn yes_and_no_in_their_usual_forms() {
        for (text, value) in [
            ("yes", true),
            ("Y", true),
            ("true", true),
            ("1", true),
            ("no", false),
            ("No", false),
            ("false", false),
            ("0", false),
        ] {
            assert_eq!(
                read(text, Expects::YesNo, None),
                Ok(Reading::YesNo(value)),
                "{text}"
            );
        }
        assert!(read("maybe", Expects::YesNo, None).is_err());
    }

    #[test]
    fn canonical_forms_compare_what_was_meant() {
        assert_eq!(canonical("65,507"), "65507");
        assert_eq!(canonical("three"), "3");
        assert_eq!(canonical(" CRLF "), "crlf");
        assert_eq!(canonical("127.0.0.1"), "127.0.0.1");
        assert_eq!(canonical("13 10"), "13 10");
    }

    #[test]
    fn predictions_are_judged_by_kind() {
        assert_eq!(judge("no", "0", Expects::YesNo, None), "right");
        assert_eq!(
            judge("yes", "0", Expects::YesNo, None),
            "worth a second look"
        );
        assert_eq!(judge("65,507", "65507", Expects::Number, None), "right");
        assert_eq!(
            judge("65535", "65507", Expects::Number, None),
            "worth a second look"
        );
        assert_eq!(judge("three", "3", Expects::Number, None), "right");
        let bulk = judge("3000 MiB/s", "2023.7", Expects::Estimate, Some("MiB/s"));
        assert!(
            bulk.starts_with("within a factor of 2 (48% high)"),
            "{bulk}"
        );
        let close = judge("2 GB/s", "2023.7", Expects::Estimate, Some("MiB/s"));
        assert!(close.starts_with("within 10% (6% low)"), "{close}");
        let order = judge("100", "450", Expects::Estimate, None);
        assert!(order.starts_with("the right order of magnitude"), "{order}");
        let far = judge("1", "31", Expects::Estimate, None);
        assert_eq!(far, "31 times too low: worth a second look");
    }

    #[test]
    fn numbers_are_shown_grouped() {
        assert_eq!(show(65507.0), "65,507");
        assert_eq!(show(2023.7), "2,023.7");
        assert_eq!(show(1907.3486), "1,907.3");
        assert_eq!(show(0.25), "0.25");
        assert_eq!(show(3.0), "3");
    }
}
