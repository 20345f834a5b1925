//! Timestamps as XMPP writes them (XEP-0082): `2026-11-26T14:43:32.123Z`,
//! always UTC. Offline messages carry one in `<delay stamp='…'/>` so that a
//! client shows when a message was sent, not when it arrived.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch as an XEP-0082 date-time.
pub fn stamp(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return "1970-01-01T00:00:00.000Z".to_string();
    };
    // Milliseconds, always three digits, and a Z: XEP-0082's form.
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

/// Parses an XEP-0082 date-time (any offset) to milliseconds since the epoch.
pub fn parse(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// A day (`2026-11-01`, midnight UTC) or an XEP-0082 date-time, as
/// milliseconds since the epoch: what `--since` accepts.
pub fn parse_day(s: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(s.trim(), &format) {
        Ok(day) => {
            i64::try_from(day.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000).ok()
        }
        Err(_) => parse(s),
    }
}

/// `2026-11-26 14:43`, UTC: a stamp as a person reads it in a list.
pub fn minute(ms: i64) -> String {
    let mut s = stamp(ms);
    s.truncate(16);
    s.replace('T', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        assert_eq!(stamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(stamp(1_500), "1970-01-01T00:00:01.500Z");
        let ms = 1_795_000_000_123;
        assert_eq!(parse(&stamp(ms)), Some(ms));
        assert_eq!(
            parse("2026-11-26T15:43:32+01:00"),
            parse("2026-11-26T14:43:32Z")
        );
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse_day("2026-11-26"), parse("2026-11-26T00:00:00Z"));
        assert_eq!(
            parse_day("2026-11-26T14:43:32Z"),
            parse("2026-11-26T14:43:32Z")
        );
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(minute(ms), "2026-11-18 11:06");
    }
}
