//! Durations and sizes as people type them on a command line: `5` (seconds,
//! as in `nc -w 5`), `500ms`, `1.5s`, `2m`; `1400`, `64k`, `1MiB`.
//!
//! Every number a command line accepts has a range, checked while clap parses
//! it: `duration_in`, `size_in` and `number_in` build clap value parsers
//! whose error names the range (`must be between 1ms and 24h`), so an absurd
//! value is a usage error (exit 2) before any code runs, and no later
//! `Instant + Duration` or allocation can be handed a number nobody meant.

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

pub const MILLISECOND: Duration = Duration::from_millis(1);
pub const SECOND: Duration = Duration::from_secs(1);
pub const MINUTE: Duration = Duration::from_secs(60);
pub const HOUR: Duration = Duration::from_secs(3600);
pub const DAY: Duration = Duration::from_secs(24 * 3600);

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * KIB;
pub const GIB: usize = 1024 * MIB;

/// Why a duration or a size could not be read.
enum Bad {
    /// Not written the way a duration or size is written: what to write.
    Syntax(String),
    /// A well-formed number too large for any range.
    TooLarge,
}

/// Parses a duration. A bare number is seconds, like netcat's `-w`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    read_duration(s).map_err(|bad| match bad {
        Bad::Syntax(why) => why,
        Bad::TooLarge => format!("{:?} is not a usable duration", s.trim()),
    })
}

fn read_duration(s: &str) -> Result<Duration, Bad> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        Bad::Syntax(format!("{s:?} is not a duration: write a number with an optional unit, like 5, 500ms, 1.5s or 2m"))
    })?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "us" | "µs" => 0.000_001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(Bad::Syntax(format!(
                "unknown unit {other:?} in {s:?}: use ms, s, m or h"
            )));
        }
    };
    Duration::try_from_secs_f64(value * scale).map_err(|_| Bad::TooLarge)
}

/// Parses a byte count: `1400`, `64k`/`64KiB` (×1024), `1M`/`1MiB`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    read_size(s).map_err(|bad| match bad {
        Bad::Syntax(why) => why,
        Bad::TooLarge => format!("{:?} is too large", s.trim()),
    })
}

fn read_size(s: &str) -> Result<usize, Bad> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: usize = match number.parse() {
        Ok(v) => v,
        // All digits, yet no usize: too many of them.
        Err(_) if !number.is_empty() => return Err(Bad::TooLarge),
        Err(_) => {
            return Err(Bad::Syntax(format!(
                "{s:?} is not a size: write a number of bytes, like 1400, 64k or 1MiB"
            )));
        }
    };
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => KIB,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => GIB,
        other => {
            return Err(Bad::Syntax(format!(
                "unknown unit {other:?} in {s:?}: use k, M or G"
            )));
        }
    };
    value.checked_mul(scale).ok_or(Bad::TooLarge)
}

/// A clap value parser for a duration from `min` to `max` inclusive.
pub fn duration_in(
    min: Duration,
    max: Duration,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |s| {
        let range = format!("between {} and {}", show_duration(min), show_duration(max));
        match read_duration(s) {
            Ok(d) if (min..=max).contains(&d) => Ok(d),
            Ok(_) | Err(Bad::TooLarge) => Err(format!("must be {range}")),
            Err(Bad::Syntax(why)) => Err(format!("{why}; it must be {range}")),
        }
    }
}

/// A clap value parser for a byte count from `min` to `max` inclusive.
pub fn size_in(
    min: usize,
    max: usize,
) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |s| {
        let range = format!("between {} and {}", show_size(min), show_size(max));
        match read_size(s) {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(_) | Err(Bad::TooLarge) => Err(format!("must be {range}")),
            Err(Bad::Syntax(why)) => Err(format!("{why}; it must be {range}")),
        }
    }
}

/// A clap value parser for a whole number from `min` to `max` inclusive.
pub fn number_in<T>(min: T, max: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    move |s| match s.trim().parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!("must be a whole number between {min} and {max}")),
    }
}

/// Adds a sentence to a value parser's error: why the range is what it is.
pub fn explained<T>(
    parser: impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static,
    why: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |s| parser(s).map_err(|e| format!("{e}: {why}"))
}

/// A duration in the largest unit that writes it whole: `1ms`, `60s` → `1m`.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    match () {
        _ if d.is_zero() => "0s".to_string(),
        _ if d.subsec_nanos() % 1_000_000 != 0 => format!("{}us", d.as_micros()),
        _ if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        _ if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        _ if ms % 1000 == 0 => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

/// A byte count in the largest binary unit that writes it whole: `1MiB`.
pub fn show_size(n: usize) -> String {
    match n {
        0 => "0".to_string(),
        _ if n % GIB == 0 => format!("{}GiB", n / GIB),
        _ if n % MIB == 0 => format!("{}MiB", n / MIB),
        _ if n % KIB == 0 => format!("{}KiB", n / KIB),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(
            parse_duration("-5ms")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(
            parse_duration("5 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1400"), Ok(1400));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }

    #[test]
    fn a_duration_out_of_range_names_the_range() {
        let timeout = duration_in(MILLISECOND, DAY);
        assert_eq!(timeout("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(timeout("24h"), Ok(DAY));
        for absurd in [
            "10000000000000000000",
            "99999999999999999999999999",
            "1e400",
            "0",
            "0.0001",
            "25h",
            "9999999999999h",
        ] {
            let err = timeout(absurd).expect_err(absurd);
            assert!(err.contains("between 1ms and 24h"), "{absurd}: {err}");
        }
        assert!(
            timeout("soon")
                .unwrap_err()
                .contains("not a duration: write")
        );
    }

    #[test]
    fn a_size_out_of_range_names_the_range() {
        let frame = size_in(1, GIB);
        assert_eq!(frame("1GiB"), Ok(GIB));
        for absurd in ["0", "2G", "99999999999999999999999", "9999999999999999G"] {
            let err = frame(absurd).expect_err(absurd);
            assert_eq!(err, "must be between 1 and 1GiB", "{absurd}");
        }
        assert!(frame("lots").unwrap_err().contains("it must be between"));
    }

    #[test]
    fn a_number_out_of_range_names_the_range() {
        let backlog = number_in::<i32>(1, 65535);
        assert_eq!(backlog("128"), Ok(128));
        for absurd in ["0", "-1", "65536", "4000000000", "1e3", "many"] {
            assert_eq!(
                backlog(absurd),
                Err("must be a whole number between 1 and 65535".into())
            );
        }
    }

    #[test]
    fn ranges_are_written_as_they_are_typed() {
        assert_eq!(show_duration(Duration::ZERO), "0s");
        assert_eq!(show_duration(MILLISECOND), "1ms");
        assert_eq!(show_duration(Duration::from_secs(90)), "90s");
        assert_eq!(show_duration(MINUTE), "1m");
        assert_eq!(show_duration(DAY), "24h");
        assert_eq!(show_duration(Duration::from_micros(5)), "5us");
        assert_eq!(show_size(16 * KIB), "16KiB");
        assert_eq!(show_size(1000), "1000");
        // Each form is one parse_duration / parse_size reads back.
        for d in [MILLISECOND, MINUTE, DAY, Duration::from_micros(5)] {
            assert_eq!(parse_duration(&show_duration(d)), Ok(d));
        }
        assert_eq!(parse_size(&show_size(GIB)), Ok(GIB));
    }
}
